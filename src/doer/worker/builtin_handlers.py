"""The messages every worker understands, whatever its kind: ``ping``, ``set-state``,
``get-state``, ``whoami``, ``sleep``, and the lessons (:mod:`doer.lessons.handlers`).

A handler is called as ``handler(doer, *values)`` with the worker's
:class:`~doer.worker.doer.Doer`, and returns the reply. ``exit`` is no
handler: the loop itself ends on it.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from doer.base.protocol import message_text, value_text
from doer.lessons.handlers import (
    AWAITING_LESSON_HANDLERS,
    LESSON_HANDLERS,
    answer_room,
    gil_enabled,
)

if TYPE_CHECKING:
    from doer.worker.doer import Doer, Handler


def ping(doer: Doer) -> str:
    return "pong"


def set_state(doer: Doer, value: Any) -> str:
    doer.state = value
    return f"new state: {value_text(value)}"


def get_state(doer: Doer) -> str:
    return f"state: {value_text(doer.state)}"


def whoami(doer: Doer) -> str:
    """``pid 4250, ppid 4242, MainThread 4250, by fork, GIL on``: where it runs.

    Then the thread that runs the handler, by name and by the operating
    system's id (``ps -L``): a process's main thread has the process's pid. A
    forkserver's child is a fork of the server, not of the console: its ppid
    is the server's, and it says so. With its tag, the answer fits a line of
    80 columns (:func:`~doer.lessons.handlers.answer_room`): with long pids and names,
    the shortest form that fits.
    """
    pid, thread_id = os.getpid(), threading.get_native_id()
    forkserver = doer.start_method == "forkserver"
    ppid = f"ppid {os.getppid()}" + (" (the forkserver)" if forkserver else "")
    node = getattr(doer, "node", None)  # a Ray actor's: node 8c225365 on vm (192.0.2.2)
    if node is not None:  # the thread is Ray's, not one a class would look for
        forms = [[f"pid {pid}", ppid, node], [f"pid {pid}", node]]
    else:
        task = _current_task_name()
        tasks = [f"task {task}"] if task else []
        method = [f"by {doer.start_method}"] if doer.start_method and not forkserver else []
        thread = f"{threading.current_thread().name} {thread_id}"
        short_thread = f"thread {thread_id}"
        gil = gil_text()
        interpreter = getattr(doer, "interpreter", None)
        if interpreter is not None:  # a subinterpreter: its id, and its GIL (PEP 684)
            where = f"interpreter {interpreter}"
            gil = "its own GIL" if gil_enabled() else gil
            forms = [
                [f"pid {pid}", ppid, where, thread, gil],
                [f"pid {pid}", where, thread, gil],
                [f"pid {pid}", where, short_thread, gil],
                [f"pid {pid}", where, gil],
            ]
        else:
            # The last resort keeps what the kind is about: a forkserver child's parent.
            kept = ppid if forkserver else short_thread
            forms = [
                [f"pid {pid}", ppid, thread, *tasks, *method, gil],
                [f"pid {pid}", ppid, short_thread, *tasks, *method, gil],
                [f"pid {pid}", ppid, short_thread, *tasks, gil],
                [f"pid {pid}", kept, *tasks, gil],
            ]
    room = answer_room(doer.kind, pid)
    texts = [", ".join(form) for form in forms]
    return next((text for text in texts if len(text) <= room), texts[-1])


def gil_text() -> str:
    """``GIL on``, or ``GIL off`` on a free-threaded Python (3.13t and later can tell)."""
    return "GIL on" if gil_enabled() else "GIL off: threads run in parallel"


def _current_task_name() -> str | None:
    """The name of the asyncio task running this handler, if any."""
    asyncio = sys.modules.get("asyncio")  # not imported: not in a task (and no cost)
    if asyncio is None:
        return None
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop runs in this thread
        return None
    return None if task is None else task.get_name()


def _seconds(seconds: Any) -> float:
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds < 0
    ):
        raise ValueError(f"sleep takes seconds >= 0, not {message_text(seconds)}")
    return float(seconds)


def sleep(doer: Doer, seconds: Any) -> str:
    time.sleep(_seconds(seconds))
    return f"slept {seconds} s"


async def sleep_awaiting(doer: Doer, seconds: Any) -> str:
    """``sleep`` for an asyncio worker: it awaits, so the event loop runs on meanwhile."""
    import asyncio

    await asyncio.sleep(_seconds(seconds))
    return f"slept {seconds} s"


BUILTIN_HANDLERS: dict[str, Handler] = {
    "ping": ping,
    "set-state": set_state,
    "get-state": get_state,
    "whoami": whoami,
    "sleep": sleep,
    **LESSON_HANDLERS,
}
"""The messages every worker understands, besides ``exit`` (handled by the loop)."""

BUILTIN_MESSAGES: tuple[str, ...] = (*BUILTIN_HANDLERS, "exit")

AWAITING_HANDLERS: dict[str, Handler] = {"sleep": sleep_awaiting, **AWAITING_LESSON_HANDLERS}
"""What an asyncio worker answers by awaiting, in place of the handlers above: its event
loop runs on meanwhile."""
