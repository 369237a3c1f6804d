"""doer: a console for long-lived workers: threads, processes, asyncio tasks, Ray actors.

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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what a type checker sees: the names, imported
    from doer.base.errors import NotPicklable
    from doer.base.protocol import (
        Died,
        Ended,
        Failure,
        ParseError,
        Reply,
        Request,
        Started,
        parse_line,
    )
    from doer.client.worker import (
        Pending,
        Worker,
        WorkerError,
        WorkerGone,
        start,
        stop_all,
    )
    from doer.kinds import (
        KINDS,
        START_METHODS,
    )
    from doer.worker.doer import (
        BUILTIN_MESSAGES,
        Doer,
    )
    from doer.worker.handler_modules import (
        HandlerError,
        handler,
    )

__version__ = "0.1.0"

#: Where each name of the API lives. Loaded on first use (PEP 562): a worker's
#: interpreter imports ``doer.kinds.process.child`` and so this package, and must
#: not pay for the library, the kinds' registry and the rest at every start.
_HOMES = {
    "doer.base.protocol": [
        "Died",
        "Ended",
        "Failure",
        "ParseError",
        "Reply",
        "Request",
        "Started",
        "parse_line",
    ],
    # Where it is defined: ``except doer.NotPicklable`` loads no more than that.
    "doer.base.errors": ["MailboxFull", "NotPicklable"],
    "doer.client.worker": ["Pending", "Worker", "WorkerError", "WorkerGone", "start", "stop_all"],
    "doer.kinds": ["KINDS", "START_METHODS"],
    "doer.worker.doer": ["BUILTIN_MESSAGES", "Doer"],
    "doer.worker.handler_modules": ["HandlerError", "handler"],
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "BUILTIN_MESSAGES",
    "KINDS",
    "START_METHODS",
    "Died",
    "Doer",
    "Ended",
    "Failure",
    "HandlerError",
    "MailboxFull",
    "NotPicklable",
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


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'doer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once found, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME_OF})
