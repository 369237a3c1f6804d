"""The worker: the recipe's ``Doer`` loop, and its built-in handlers.

A :class:`Doer` takes :class:`~doer.base.protocol.Request` records from an inbox and
puts answers on an outbox. It never prints: the start and end events, every
reply and every error travel back on the outbox, so the console stays the only
writer to the terminal.

The loop has three phases, as in the recipe::

    on start  -> Started event (state, pid, ...)
    running   -> one Reply or Failure per Request, in order
    on end    -> Ended event (final state, pid)

A handler that raises becomes a :class:`~doer.base.protocol.Failure`; the loop goes
on. The inbox and outbox are plain callables (``receive()`` and ``send(record)``)
so the same class runs over ``queue.SimpleQueue`` in a thread or over pipes in a
process: that is the recipe's two-import switch. :class:`AsyncDoer` is the same
loop as a coroutine, for a worker that is an asyncio task.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from types import CoroutineType
from typing import Any

from doer.base.protocol import (
    OLDEST_PENDING,
    UNKNOWN_MESSAGE,
    Ended,
    Failure,
    Reply,
    Request,
    Started,
    UnreadableRequest,
    message_text,
    value_text,
)
from doer.lessons.handlers import LESSON_HANDLERS, answer_room, gil_enabled

Handler = Callable[..., Any]
"""A handler is called as ``handler(doer, *values)`` and returns the reply."""


class Doer:
    """The worker loop, the same in a thread or a process (AsyncDoer runs it as a task).

    Args:
        receive: blocks for the next :class:`Request`; raises ``EOFError`` or
            ``OSError`` when the console has gone away.
        send: puts one record on the response queue.
        state: the initial state (the recipe's ``42``).
        kind: ``"thread"``, ``"process"`` or ``"asyncio"``, reported by ``whoami`` and events.
        start_method: the multiprocessing start method, or ``None`` for a thread.
        handlers: extra or replacement handlers by action name.
        own_memory: what the kind declares: True if the worker's memory is its
            own (a process, a Ray actor), False if it shares the memory of the
            process that started it (a thread, a task). The lessons decide
            from it, never from the kind's name.
    """

    def __init__(
        self,
        receive: Callable[[], Request],
        send: Callable[[Any], None],
        state: Any = None,
        *,
        kind: str = "thread",
        start_method: str | None = None,
        handlers: Mapping[str, Handler] | None = None,
        own_memory: bool = False,
    ) -> None:
        self.receive = receive
        self.send = send
        self.state = state
        self.kind = kind
        self.start_method = start_method
        self.own_memory = own_memory
        self.handlers: dict[str, Handler] = {**BUILTIN_HANDLERS, **(handlers or {})}
        #: What a handler measured as it ran, for a timed reply to carry after its
        #: ``(started, ended)``: ``work`` leaves ``(began, slot, *seconds running in
        #: each slot)`` here. Stale samples (from before the request started) are
        #: never sent: see :meth:`_reply`.
        self.samples: tuple[float, ...] = ()

    def run(self) -> None:
        """Start, serve until ``exit`` or until the console goes away, end."""
        exit_id, reason = 0, "the console went away"
        try:
            self.send(self._started())
            exit_id = self._serve()
            reason = ""
        except SystemExit as exc:  # a handler called sys.exit(): end as the recipe would
            reason = f"a handler called sys.exit({exc.code!r})"
        except (EOFError, OSError):
            return  # the queues closed: nobody is left to tell
        try:
            self._send_safely(Ended(exit_id, self.state, os.getpid(), reason))
        except (EOFError, OSError):
            pass

    def _serve(self) -> int:
        """Answer requests until ``exit``; return the id of the ``exit`` request.

        Exit conditions:
        - an ``exit`` message: return its id;
        - the inbox raises ``EOFError``/``OSError``: the console is gone;
        - a handler raises ``SystemExit``: it asked the worker to stop.
        """
        receive, answer, send = self.receive, self.answer, self._send_safely
        while True:
            try:
                request = receive()
            except UnreadableRequest as exc:
                send(Failure(OLDEST_PENDING, str(exc)))
                continue
            message = request.message
            if type(message) is str and message == "exit":
                return request.id
            reply = answer(request)
            if type(reply) is Reply and type(reply.value) is CoroutineType:
                reply = self._run_coroutine(request, reply)
            send(reply)

    def _run_coroutine(self, request: Request, called: Reply) -> Reply | Failure:
        """An ``async def`` handler, in a thread or a process: run on a loop of its own.

        (An asyncio worker awaits it on its loop instead: :class:`AsyncDoer`.)
        """
        import asyncio  # only for a worker given async handlers

        return asyncio.run(self._awaited(request, called))

    async def _awaited(self, request: Request, called: Reply) -> Reply | Failure:
        """The reply to ``request`` once its handler's coroutine has run."""
        before = self.state
        started = time.monotonic() if request.timed else 0.0
        try:
            value = await called.value
        except Exception as exc:
            return Failure(request.id, f"{type(exc).__name__}: {exc}")
        return self._reply(request, value, before, started)

    def answer(self, request: Request) -> Reply | Failure:
        """The reply to one request; a handler's exception becomes a Failure."""
        before = self.state
        started = time.monotonic() if request.timed else 0.0
        try:
            value = self._dispatch(request.message)
        except Exception as exc:
            return Failure(request.id, f"{type(exc).__name__}: {exc}")
        return self._reply(request, value, before, started)

    def _reply(self, request: Request, value: Any, before: Any, started: float) -> Reply:
        """The reply carrying ``value``, the new state if the handler changed it, and
        when it ran (``started`` until now) if the request is timed, followed by
        the samples its handler took (:attr:`samples`) if it took them while this
        request ran: samples that began before it are an earlier request's.

        Written out rather than split into calls: every line typed at the console
        is a timed request, and this is its round trip's path."""
        if request.timed:
            samples = self.samples
            if samples and samples[0] >= started:
                times: tuple[float, ...] = (started, time.monotonic(), *samples)
            else:
                times = (started, time.monotonic())
        else:
            times = ()
        state = () if self.state is before else (self.state,)
        return _new_tuple(Reply, (request.id, value, state, times))  # Reply(...), a call less

    def _dispatch(self, message: Any) -> Any:
        if type(message) is str:
            action, values = message, ()
        elif type(message) is tuple and message and type(message[0]) is str:
            action, values = message[0], message[1:]
        else:
            return UNKNOWN_MESSAGE + message_text(message)
        handler = self.handlers.get(action)
        if handler is None:
            return UNKNOWN_MESSAGE + message_text(message) + self._did_you_mean(action)
        try:
            return handler(self, *values)
        except TypeError:
            _check_arity(action, handler, values)
            raise

    def _did_you_mean(self, action: str) -> str:
        """`` (did you mean ping?)`` for ``pign``: the handler of this worker whose name
        ``action`` is most likely a typo of; empty if none is close.

        Only on the unknown-message path: difflib is imported then, not as a worker starts.
        """
        if not action or any(character.isspace() for character in action):
            return ""  # not a word typed (a whole line sent as one string): no typo of a name
        import difflib

        names = [name for name in (*self.handlers, "exit") if name != action]  # ("exit",)
        matches = difflib.get_close_matches(action, names, n=1, cutoff=0.75)
        return f" (did you mean {matches[0]}?)" if matches else ""

    def _send_safely(self, record: Any) -> None:
        """Send ``record``; if it cannot be sent (it does not pickle), say so instead."""
        try:
            self.send(record)
        except (EOFError, BrokenPipeError):
            raise
        except Exception as exc:
            request_id = getattr(record, "request_id", 0)
            # Short, for a line of 80 columns: the error itself says why
            # ("cannot pickle '_thread.lock' object").
            self.send(Failure(request_id, f"answer not sent: {exc}"))

    def _started(self) -> Started:
        thread = threading.current_thread()
        return Started(
            self.kind,
            os.getpid(),
            os.getppid(),
            thread.name,
            threading.get_native_id(),
            self.start_method,
            self.state,
            _current_task_name(),
        )


_new_tuple = tuple.__new__

#: What most handlers give: no coroutine, and no need to ask asyncio whether it is one.
_PLAIN_VALUES = frozenset({str, int, float, bool, bytes, tuple, list, dict, type(None)})


class AsyncDoer(Doer):
    """The same loop as a coroutine, for a worker that is an asyncio task.

    ``receive`` is awaited. A handler that is a coroutine function is awaited,
    so ``sleep`` lets the event loop (and the prompt, in the shell) run on; any
    other handler is called as it is, and blocks the event loop until it
    returns. That is the lesson of this kind, so it is not hidden.

    Args:
        receive: a coroutine function that returns the next :class:`Request`.
        send: puts one record on the response queue (does not block).
        state, handlers, own_memory: as for :class:`Doer`.
        receive_now: the next request if one is there, else None: asked
            first, it spares a coroutine per request while requests wait. It
            changes nothing else: awaiting an ``asyncio.Queue``'s ``get()`` does
            not yield to the loop either while the queue holds something.
    """

    def __init__(
        self,
        receive: Callable[[], Awaitable[Request]],
        send: Callable[[Any], None],
        state: Any = None,
        *,
        handlers: Mapping[str, Handler] | None = None,
        receive_now: Callable[[], Request | None] | None = None,
        own_memory: bool = False,
    ) -> None:
        super().__init__(
            receive,  # type: ignore[arg-type]  # awaited by run_async, never called by run
            send,
            state,
            kind="asyncio",
            handlers={"sleep": sleep_awaiting, **(handlers or {})},
            own_memory=own_memory,
        )
        self.receive_async = receive
        self.receive_now = receive_now

    async def run_async(self) -> None:
        """Start, serve until ``exit``, end: :meth:`Doer.run`, awaiting."""
        exit_id = 0
        try:
            self.send(self._started())
            exit_id = await self._serve_async()
            reason = ""
        except SystemExit as exc:
            reason = f"a handler called sys.exit({exc.code!r})"
        self._send_safely(Ended(exit_id, self.state, os.getpid(), reason))

    async def _serve_async(self) -> int:
        """Answer requests until ``exit``; return the id of the ``exit`` request.

        A handler's call is awaited only if it gave a coroutine: the others
        are answered without a coroutine of their own (the hot path).
        """
        import asyncio  # loaded already: this runs on an event loop

        receive, answer, send = self.receive_async, self.answer, self._send_safely
        receive_now = self.receive_now
        iscoroutine = asyncio.iscoroutine
        while True:
            waiting = receive_now() if receive_now is not None else None
            request = waiting if waiting is not None else await receive()
            message = request.message
            if type(message) is str and message == "exit":
                return request.id
            reply = answer(request)
            if (
                type(reply) is Reply
                and type(reply.value) not in _PLAIN_VALUES  # asking asyncio is slow for a str
                and iscoroutine(reply.value)
            ):
                reply = await self._awaited(request, reply)
            send(reply)


def _check_arity(action: str, handler: Handler, values: tuple[Any, ...]) -> None:
    """Raise a clear usage error if ``values`` do not fit ``handler``'s signature.

    Only called after a ``TypeError``, so the common path pays nothing for it
    (not even the import of ``inspect``).
    """
    import inspect

    try:
        inspect.signature(handler).bind(None, *values)
    except TypeError:
        wanted = [p for p in inspect.signature(handler).parameters.values()][1:]
        usage = " ".join([action, *(p.name.upper() for p in wanted)])
        raise TypeError(f"usage: {usage} (got {len(values)} value(s))") from None
    except ValueError:  # no signature to inspect (a builtin): keep the original error
        pass


# --- the built-in handlers -----------------------------------------------------


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
        # The last resort keeps what the kind is about: a forkserver child's parent.
        kept = ppid if forkserver else short_thread
        gil = gil_text()
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
