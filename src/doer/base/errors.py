"""doer's exceptions, in one place.

Each is also importable from the module that raises it (``doer.client.worker``,
``doer.base.protocol``, ``doer.worker.handler_modules``): those names stay.

A ``ValueError`` is what the console reports as a one-line error: the
exceptions for a bad argument derive from it (:class:`ParseError`,
:class:`HandlerError`, :class:`NotPicklable`), so an ``except ValueError``
catches them all, and each can still be told apart.

Not here: ``doer.lessons.handlers.Died``, which the ``die`` lesson raises to end
a thread's or a task's loop. It is not an error of doer's, and its class name
is part of what the lesson shows (``died: uncaught Died in its thread``).
"""

from __future__ import annotations


class WorkerError(Exception):
    """The worker answered a request with an error (a handler raised, say)."""


class WorkerGone(Exception):
    """The worker has ended or died; it cannot take or answer requests."""


class MailboxFull(Exception):
    """A worker's mailbox (``mailbox=N``: at most N requests pending) had no room: the
    request was not sent. Raised by ``tell(..., block=False)`` at once, and by a
    ``tell`` or ``ask`` whose ``room_timeout`` passed first."""


class NotPicklable(ValueError):
    """A message could not be sent: it does not pickle (a process worker's messages
    travel pickled; a thread's or a task's do not). Nothing was sent."""


class ParseError(ValueError):
    """A typed line that cannot become a message; the text is the one-line error."""


class UnreadableRequest(Exception):
    """Raised by a worker's inbox when a request arrived but could not be decoded."""


class HandlerError(ValueError):
    """A handler module could not be loaded; the text is the one-line reason."""


class ActorDidNotStart(Exception):
    """A Ray worker's cluster was joined, but its actor failed as it started; the
    text is the one line that says why (Ray's account is a page)."""
