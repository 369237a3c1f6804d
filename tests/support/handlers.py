"""Extra worker handlers for the tests.

They live in a module of their own, at module level, so that a process worker
can unpickle them by name: a ``spawn`` or ``forkserver`` child imports this
module (``support.handlers``) through the ``sys.path`` it inherits from the test run (pytest puts
``tests/`` on it). Keep the imports light: every spawned worker pays for them.

A console started with ``--handlers`` this file (:data:`FILE`), or a Ray
actor given it, knows ``gate PATH`` (:func:`gate_awaiting`): a request held
pending until the test creates PATH.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

from doer.worker.doer import Doer, Handler
from doer.worker.handler_modules import handler

#: This file, for ``doer --handlers`` and ``HandlerModules``.
FILE = os.path.abspath(__file__)

#: How long a gate waits for its file before it gives up (fails loudly, never hangs).
GATE_DEADLINE_S = 10.0


def boom(doer: Doer) -> str:
    raise RuntimeError("boom")


def add_one_to_text(doer: Doer) -> Any:
    one: Any = 1
    return one + "a"  # a TypeError raised inside a handler that was called correctly


def quit_now(doer: Doer, code: Any = 2) -> str:
    sys.exit(code)


def unpicklable(doer: Doer) -> Any:
    return lambda: "a lambda does not pickle"


def restore_sigint(doer: Doer) -> str:
    """Undo the worker's SIGINT guard (to show what the guard is for)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return "SIGINT restored"


def gate(doer: Doer, path: str) -> str:
    """Block until ``path`` exists: a test holds the worker here while it queues requests.

    Polls with a deadline so that a test that forgets to open the gate fails
    instead of hanging.
    """
    deadline = time.monotonic() + GATE_DEADLINE_S
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gate {path} was not opened within {GATE_DEADLINE_S} s")
        time.sleep(0.002)  # a poll interval, not a synchronisation
    return f"passed {os.path.basename(path)}"


async def gate_awaiting(doer: Doer, path: str) -> str:
    """``gate`` for a console or a Ray actor: it awaits, as ``sleep`` does, so on an
    asyncio worker the loop (and the prompt it runs) goes on meanwhile."""
    import asyncio  # here: a worker that never awaits a gate does not pay for it

    deadline = time.monotonic() + GATE_DEADLINE_S
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gate {path} was not opened within {GATE_DEADLINE_S} s")
        await asyncio.sleep(0.002)  # a poll interval, not a synchronisation
    return f"passed {os.path.basename(path)}"


handler("gate")(gate_awaiting)  # as @doer.handler("gate"): --handlers FILE loads it


def exit_now(doer: Doer, code: int = 7) -> str:
    """End the worker process at once, as a crash in C code would: no Ended event."""
    os._exit(code)


def segfault(doer: Doer) -> str:
    """Crash the worker process with SIGSEGV (the default action: no handler runs)."""
    signal.signal(signal.SIGSEGV, signal.SIG_DFL)  # pytest's faulthandler, inherited by fork
    os.kill(os.getpid(), signal.SIGSEGV)
    raise AssertionError("SIGSEGV did not end the worker")


def close_replies(doer: Doer) -> str:
    """Close the worker's end of its response pipe: its queues break from inside."""
    import inspect

    responses = inspect.getclosurevars(doer.send).nonlocals["responses"]
    responses.close()
    return "the response pipe is closed"


def close_replies_and_wait(doer: Doer, path: str) -> str:
    """Close the response pipe, then stay alive at a gate: the queues break, the process lives."""
    close_replies(doer)
    return gate(doer, path)


#: How long ``close-replies-then-exit`` lives on after its pipe closed: what a process
#: whose exit takes a moment (atexit work, a large memory to free) shows the console.
SLOW_EXIT_S = 0.2


def close_replies_then_exit(doer: Doer, code: int = 5) -> str:
    """Close the response pipe, then exit a moment later: the console reads the end of
    the pipe before the exit code is there to read."""
    close_replies(doer)
    time.sleep(SLOW_EXIT_S)
    os._exit(code)


def _explode() -> None:
    raise RuntimeError("this object refuses to be unpickled")


class Unreadable:
    """Pickles fine here, fails to unpickle in the worker."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_explode, ())


HANDLERS: dict[str, Handler] = {
    "boom": boom,
    "add-one-to-text": add_one_to_text,
    "quit": quit_now,
    "unpicklable": unpicklable,
    "restore-sigint": restore_sigint,
    "gate": gate,
    "exit-now": exit_now,
    "segfault": segfault,
    "close-replies": close_replies,
    "close-replies-and-wait": close_replies_and_wait,
    "close-replies-then-exit": close_replies_then_exit,
}


def double(doer: Doer, value: Any) -> Any:
    return value * 2
