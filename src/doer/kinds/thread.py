"""The thread kind: the Doer runs in a thread of the console's own process.

Runs entirely in the console's process: the worker shares the console's pid
and memory, and is reached by two ``queue.SimpleQueue``: the queue without
``maxsize`` or ``task_done``, which doer uses none of, written in C where
``queue.Queue`` is Python over a lock and two conditions.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from typing import Any

from doer.base.protocol import Request
from doer.kinds import Handlers, Link
from doer.worker.doer import Doer

_GONE = object()  # put on a thread worker's response queue when its loop has returned

#: A thread's memory is the console's: the lessons say so (see Doer's ``own_memory``).
OWN_MEMORY = False


class ThreadLink(Link):
    """A worker running in a thread of this process, reached by two ``queue.SimpleQueue``.

    The thread is a daemon on purpose: a thread cannot be killed, so a worker
    stuck in a handler must not keep the interpreter from exiting. Every normal
    path (``stop()``, ``.quit``) still sends ``exit`` and joins it.
    """

    kind = "thread"
    own_memory = OWN_MEMORY
    own_process = False
    killable = False  # Python cannot end a thread from outside: that is the lesson
    #: What the transport is, as ``.trace`` names it; nothing is pickled on it.
    transport = "queue.SimpleQueue"

    def __init__(self, name: str, state: Any, handlers: Handlers) -> None:
        self.name = name
        self.pid = os.getpid()
        self._uncaught: BaseException | None = None  # what ended the loop, if it raised
        self._requests: queue.SimpleQueue[Request] = queue.SimpleQueue()
        self._responses: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._doer = doer = Doer(
            self._requests.get, self._responses.put, state, handlers=handlers, own_memory=OWN_MEMORY
        )
        self._thread = threading.Thread(
            target=self._run, args=(doer,), name=f"{name}-worker", daemon=True
        )
        self._thread.start()

    def _run(self, doer: Doer) -> None:
        try:
            doer.run()
        except BaseException as exc:
            # Kept for end_reason(), not raised: an uncaught exception in a thread
            # is printed by threading.excepthook, over the prompt.
            self._uncaught = exc
        finally:
            self._responses.put(_GONE)

    def send(self, request: Request) -> None:
        self._requests.put(request)

    def receive(self, timeout: float | None = None) -> Any:
        try:
            record = self._responses.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if record is _GONE:
            self._responses.put(_GONE)  # every later receive() sees the end too
            raise EOFError
        return record

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def peek(self) -> tuple[bool, Any]:
        """The worker's state, read from memory the console shares with it: live."""
        return True, self._doer.state

    def details(self) -> list[str]:
        """``GIL off`` on a free-threaded Python (3.13t and later) that runs without it."""
        gil_enabled = getattr(sys, "_is_gil_enabled", None)
        if gil_enabled is None or gil_enabled():
            return []
        return ["GIL off: its threads run in parallel with the console's"]

    def kill(self) -> bool:
        """A thread cannot be killed from outside: that is the lesson. Returns False."""
        return False

    def end_reason(self) -> str:
        self._thread.join(1.0)  # its end was just put on the queue: it is ending
        if self._uncaught is not None:
            error = self._uncaught
            return f"uncaught {type(error).__name__} in its thread: {error}"
        return "the worker thread stopped" if not self.is_alive() else "the worker thread hangs"
