"""doer: a console for a long-lived worker that runs as a thread, a process or an asyncio task.

The library API, used by the console itself, by tests and by anyone in a
notebook. A string is a message as typed at the console's prompt (quote a
string with spaces to send it as one message: ``"'a b'"``)::

    >>> import doer
    >>> w = doer.start("process", state=42)
    >>> w.ask("ping")
    'pong'
    >>> w.ask("set-state hola!")     # the message ("set-state", "hola!")
    'new state: hola!'
    >>> w.tell("ping").result()      # send now, collect later
    'pong'
    >>> w.kind, w.alive, w.state
    ('process', True, 'hola!')
    >>> doer.stop_all([w])           # many at once: every exit sent first, one wait
    []
"""

from __future__ import annotations

from doer.base.protocol import Died, Ended, Failure, ParseError, Reply, Request, Started, parse_line
from doer.client.worker import Pending, Worker, WorkerError, WorkerGone, start, stop_all
from doer.kinds import KINDS, START_METHODS
from doer.worker.doer import BUILTIN_MESSAGES, Doer
from doer.worker.handler_modules import HandlerError, handler

__version__ = "0.1.0"

__all__ = [
    "BUILTIN_MESSAGES",
    "KINDS",
    "START_METHODS",
    "Died",
    "Doer",
    "Ended",
    "Failure",
    "HandlerError",
    "ParseError",
    "Pending",
    "Reply",
    "Request",
    "Started",
    "Worker",
    "WorkerError",
    "WorkerGone",
    "__version__",
    "handler",
    "parse_line",
    "start",
    "stop_all",
]
