"""The asyncio kind: the Doer runs as a task on an event loop, in the console's process.

Runs entirely in the console's process. In the shell the task runs on the very
event loop that runs the prompt: ``sleep`` awaits, so the prompt stays live,
while a handler that blocks freezes the prompt until it returns (the lesson of
this kind). Started from code with no running event loop (a script), the
worker gets a loop of its own in a thread named ``NAME-loop``; a console with
no loop of its own (plain mode) runs all its tasks on one :class:`SharedLoop`.

Requests travel on an ``asyncio.Queue``, which the task awaits. Requests sent
from another thread reach the loop through a :class:`~doer.base.handoff.Handoff`:
one wake-up of the loop for all the requests sent meanwhile, not one each.
The console's reply reader is a thread (one at a time, as for every kind):
the task puts each reply straight on a ``queue.SimpleQueue`` that the reader
blocks on (thread-safe, and putting never blocks the loop). Waiting for each
reply with ``run_coroutine_threadsafe`` would cost a task and two wake-ups of
the loop a round trip, where the queue costs none; a task moving each reply
from an ``asyncio.Queue`` to the reader's, one more hop.
Called on the loop's own thread, :meth:`AsyncioLink.receive` would wait for
itself, and is refused.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from doer.base.handoff import Handoff
from doer.base.protocol import Request
from doer.kinds import Handlers, Link
from doer.worker.doer import AsyncDoer

_GONE = object()  # put on the response queue when the task has ended

#: How long a restart waits for the event loop to start the fresh task there.
REOPEN_WITHIN_S = 30.0

#: A task's memory is the console's: the lessons say so (see Doer's ``own_memory``).
OWN_MEMORY = False


class AsyncioLink(Link):
    """A worker that is an asyncio task: requests on an ``asyncio.Queue``, replies on a
    ``queue.SimpleQueue``."""

    kind = "asyncio"
    own_memory = OWN_MEMORY
    own_process = False
    killable = True  # cancelled: it ends at its next await
    on_event_loop = True
    #: What the transport is, as ``.trace`` names it; nothing is pickled on it.
    transport = "asyncio.Queue"

    def __init__(self, name: str, state: Any, handlers: Handlers) -> None:
        self.name = name
        self.pid = os.getpid()
        self._own_thread: threading.Thread | None = None
        try:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()  # the thread the loop runs in
        except RuntimeError:  # no loop here: give the worker one of its own
            self._loop = asyncio.new_event_loop()
            self._own_thread = threading.Thread(
                target=self._run_own_loop, name=f"{name}-loop", daemon=True
            )
            self._own_thread.start()
            assert self._own_thread.ident is not None  # set once started
            self._loop_thread = self._own_thread.ident
        self._ended = threading.Event()
        self._released = False  # the reader has let the link go (release())
        self._task: asyncio.Task[None] | None = None
        self._handed_over: queue.SimpleQueue[Any] = queue.SimpleQueue()  # replies, for the reader
        self._sent: Handoff[Request] = Handoff(self._loop, self._put_requests)
        started = self._in_loop(self._start, state, handlers)
        started.result()  # the queues exist before the first send

    # --- on the loop ------------------------------------------------------------

    def _start(self, state: Any, handlers: Handlers) -> None:
        self._requests: asyncio.Queue[Request] = asyncio.Queue()
        doer = AsyncDoer(
            self._requests.get,
            self._handed_over.put,
            state,
            handlers=handlers,
            receive_now=self._waiting_request,
            own_memory=OWN_MEMORY,
        )
        self._doer = doer
        # Cancelled with its loop too (the shell has ended): the callback still runs.
        self._task = self._loop.create_task(doer.run_async(), name=f"{self.name}-task")
        self._task.add_done_callback(self._task_done)

    def _put_requests(self, requests: list[Request]) -> None:
        for request in requests:
            self._requests.put_nowait(request)

    def _waiting_request(self) -> Request | None:
        """The next request if one waits (no exception when none does: one an ask)."""
        requests = self._requests
        return requests.get_nowait() if requests.qsize() else None

    def _task_done(self, task: asyncio.Task[None]) -> None:
        """On the loop, once the task is done: say so, and stop a loop of its own if the
        reader has already let it go (:meth:`release`).

        The task hands over its end record before it is done, so the reader may
        release the link first: then close() found the task still running, and
        stopping the loop is left to this. Each side sets its flag before it
        looks at the other's, so one of them always stops the loop.
        """
        self._ended.set()
        self._handed_over.put(_GONE)
        if self._released and self._own_thread is not None:
            self._loop.stop()

    def _in_loop(self, function: Any, *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``function(*args)`` on the loop: now if this is its thread, else soon."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function(*args))
            except BaseException as exc:
                future.set_exception(exc)

        if self._on_loop_thread():
            run()
        else:
            try:
                self._loop.call_soon_threadsafe(run)
            except RuntimeError:  # the loop has closed (the shell has ended): so has the task
                raise EOFError("its event loop has closed") from None
        return future

    def _on_loop_thread(self) -> bool:
        """True when called on the worker's loop, as it runs (checked on every send:
        comparing thread ids costs less than asking asyncio, which raises when no
        loop runs in the calling thread)."""
        return threading.get_ident() == self._loop_thread and self._loop.is_running()

    # --- the Link surface -------------------------------------------------------

    def send(self, request: Request) -> None:
        if self._ended.is_set():
            raise EOFError("the worker's task has ended")
        if self._on_loop_thread():
            self._sent.deliver_now()  # any sent from other threads first: order is kept
            self._requests.put_nowait(request)
            return
        try:
            self._sent.put(request)
        except RuntimeError:  # the loop has closed (the shell has ended): so has the task
            raise EOFError("its event loop has closed") from None

    def would_block_its_loop(self) -> bool:
        return self._on_loop_thread()

    def receive(self, timeout: float | None = None) -> Any:
        if self._on_loop_thread():
            raise RuntimeError(
                "an asyncio worker's answers cannot be waited for on its own event loop:"
                " there, use await worker.tell(...)"
            )
        record = self._next_reply(timeout)
        if record is _GONE:
            self._handed_over.put(_GONE)  # every later receive() sees the end too
            raise EOFError
        return record

    def _next_reply(self, timeout: float | None) -> Any:
        """The next reply handed over; a loop closed without ending its tasks is the end.

        A loop can be closed without its tasks cancelled (``run_until_complete``
        then ``close``): nothing would ever hand over the end, so look again
        every half second.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.5 if deadline is None else min(max(deadline - time.monotonic(), 0), 0.5)
            try:
                return self._handed_over.get(timeout=wait)
            except queue.Empty:
                if self._loop.is_closed():
                    return _GONE
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError from None

    def is_alive(self) -> bool:
        return not self._ended.is_set()

    def join(self, timeout: float | None = None) -> None:
        self._ended.wait(timeout)

    def peek(self) -> tuple[bool, Any]:
        """The task's state, read from memory the console shares with it: live."""
        return True, self._doer.state

    def kill(self) -> bool:
        """Cancel the task: it ends at its next ``await``, not in the middle of a handler."""
        if self._task is not None and not self._ended.is_set():
            try:
                self._loop.call_soon_threadsafe(self._task.cancel)
            except RuntimeError:  # its loop has closed: the task will never run again
                pass
        return True

    def end_reason(self) -> str:
        task = self._task
        if task is None or not task.done():
            return "its task is still running"
        if task.cancelled():
            return "its task was cancelled"
        error = task.exception()
        return f"its task raised {type(error).__name__}: {error}" if error else "its task ended"

    def _run_own_loop(self) -> None:
        """The body of the worker's own loop thread: run until the task has ended."""
        self._loop.run_forever()
        self._loop.close()

    def reopen(self, opener: Callable[[], Link]) -> Link:
        """A restart's fresh task on the same loop as this one, when the loop is not its
        own (the shell's, or the tasks' shared one): there, a blocking handler holds
        up the prompt, and that is the lesson. A task with a loop of its own gets a
        new one."""
        if self._own_thread is not None or self._loop.is_closed():
            return opener()
        if threading.get_ident() == self._loop_thread:
            return opener()

        async def on_the_loop() -> Link:
            return opener()

        # Bounded: a loop that has stopped (the shell ending) never runs it; the
        # restart then fails, and says why.
        return asyncio.run_coroutine_threadsafe(on_the_loop(), self._loop).result(REOPEN_WITHIN_S)

    def release(self) -> None:
        """The reply reader has delivered the end: the loop of its own can go.

        A task stuck in a blocking handler ends after ``stop()`` has given up
        on it: its loop thread must not outlive it. If the task is not quite
        done yet (its end record comes first), :meth:`_task_done` stops the loop.
        """
        self._released = True
        self.close()

    def close(self) -> None:
        """Stop and join the worker's own loop thread, once its task has ended."""
        if self._own_thread is None or not self._ended.is_set():
            return
        try:
            self._loop.call_soon_threadsafe(self._loop.stop)
        except RuntimeError:
            pass  # already stopped and closed
        if self._own_thread is not threading.current_thread():
            self._own_thread.join(5.0)


class SharedLoop:
    """One event loop in a thread of its own, for every asyncio worker a console starts
    where no loop runs (plain mode, a script): tasks of one console share one loop,
    as they do on the shell's, so that ``@a,a2 work`` shows a blocked loop holding
    up the other task rather than two loops taking turns on the GIL.

    The thread is a daemon on purpose: a task stuck in a blocking handler keeps
    its loop from ever stopping, and the console leaves it behind (as it does a
    stuck thread) rather than hang at exit.
    """

    def __init__(self, name: str = "asyncio-loop") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` run on the loop (started if need be): its result."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name=self.name, daemon=True
            )
            self._thread.start()

        async def call_on_loop() -> Any:
            return function(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(call_on_loop(), self._loop).result()

    def close(self, timeout: float = 1.0) -> bool:
        """Stop the loop and join its thread once its tasks are done; False if a task
        stuck in a handler keeps it running (it is left behind: see above)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return True
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            return False
        loop.close()
        self._loop = self._thread = None
        return True


def loop_runs_here() -> bool:
    """True when called in a thread whose event loop runs (the shell's)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
