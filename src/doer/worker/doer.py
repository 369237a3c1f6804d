"""The worker: the ``Doer`` loop (its built-in handlers: :mod:`doer.worker.builtin_handlers`).

A :class:`Doer` takes :class:`~doer.base.protocol.Request` records from an inbox and
puts answers on an outbox. It never prints: the start and end events, every
reply and every error travel back on the outbox, so the console stays the only
writer to the terminal.

The loop has three phases::

    on start  -> Started event (state, pid, ...)       Doer.started()
    running   -> one Reply or Failure per Request,     Doer.respond(request)
                 in order
    on end    -> Ended event (final state, pid), for   Doer.respond(request) too
                 ``exit`` or a handler's sys.exit()

A handler that raises becomes a :class:`~doer.base.protocol.Failure`; the loop goes
on. The inbox and outbox are plain callables (``receive()`` and ``send(record)``)
so the same class runs over ``queue.SimpleQueue`` in a thread or over pipes in a
process, and only the two queues differ. :class:`AsyncDoer` is the same loop as
a coroutine, for a worker that is an asyncio task; a Ray actor, called rather
than fed from a queue, runs it one batch at a time (:meth:`Doer.serve`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from types import CoroutineType
from typing import Any

from doer.base.errors import HandlerError
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
)
from doer.worker.builtin_handlers import AWAITING_HANDLERS, _current_task_name

# The built-in handlers; importable from here too, as they always were.
from doer.worker.builtin_handlers import BUILTIN_HANDLERS as BUILTIN_HANDLERS
from doer.worker.builtin_handlers import BUILTIN_MESSAGES as BUILTIN_MESSAGES
from doer.worker.builtin_handlers import gil_text as gil_text
from doer.worker.builtin_handlers import whoami as whoami

Handler = Callable[..., Any]
"""A handler is called as ``handler(doer, *values)`` and returns the reply."""


class Doer:
    """The worker loop, the same in a thread or a process (AsyncDoer runs it as a task).

    Args:
        receive: blocks for the next :class:`Request`; raises ``EOFError`` or
            ``OSError`` when the console has gone away.
        send: puts one record on the response queue.
        state: the initial state.
        kind: the kind's name (``"thread"``, ``"process"``...), reported by
            ``whoami`` and the start event.
        start_method: the multiprocessing start method, or ``None`` for a thread.
        handlers: extra or replacement handlers by action name.
        own_memory: what the kind declares: True if the worker's memory is its
            own (a process, a Ray actor), False if it shares the memory of the
            process that started it (a thread, a task). The lessons decide
            from it, never from the kind's name.
        node: where on a cluster the worker runs (a Ray actor's ``node 8c225365
            on vm (192.0.2.2)``), said by ``whoami`` and the start event; None
            for a worker on the console's machine.
        interpreter: the id of the subinterpreter it runs in (the interpreter
            kind), said by ``whoami``; None in a process's main interpreter.
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
        node: str | None = None,
        interpreter: int | None = None,
    ) -> None:
        self.receive = receive
        self.send = send
        self.state = state
        self.kind = kind
        self.start_method = start_method
        self.own_memory = own_memory
        self.node = node
        self.interpreter = interpreter
        self.handlers: dict[str, Handler] = {**BUILTIN_HANDLERS, **(handlers or {})}
        #: What a handler measured as it ran, for a timed reply to carry after its
        #: ``(started, ended)``: ``work`` leaves ``(began, slot, *seconds running in
        #: each slot)`` here. Stale samples (from before the request started) are
        #: never sent: see :meth:`_reply`.
        self.samples: tuple[float, ...] = ()

    @property
    def own_process(self) -> bool:
        """Whether the worker has a process of its own, which ``die`` and ``segfault``
        may end: memory of its own, and not a subinterpreter of the console's process."""
        return self.own_memory and self.interpreter is None

    def run(self) -> None:
        """Start, serve until the end (``exit``, a handler's ``sys.exit()``), say so.

        When the console goes away (the inbox or outbox raises ``EOFError`` or
        ``OSError``) it returns at once: nobody is left to tell.
        """
        try:
            self.send(self.started())
            ended = self.serve(self._inbox())
            if ended is not None:
                self._send_safely(ended)
        except (EOFError, OSError):
            pass  # the queues closed: nobody is left to tell

    def serve(self, requests: Iterable[Request]) -> Ended | None:
        """Answer ``requests`` in order, sending each answer, until the end.

        Returns the end event (for ``exit``, or a handler's ``sys.exit()``),
        unsent: its kind sends it as it must. What came after it is left
        unanswered, as in every kind. None if the requests ran out first (a Ray
        actor's batch).
        """
        respond, send = self.respond, self._send_safely
        for request in requests:
            record = respond(request)
            if type(record) is Ended:
                return record
            send(record)
        return None

    def _inbox(self) -> Iterator[Request]:
        """The requests as they arrive; one that cannot be read here is answered
        with a Failure at once (it is the oldest one pending)."""
        receive, send = self.receive, self._send_safely
        while True:
            try:
                yield receive()
            except UnreadableRequest as exc:
                send(Failure(OLDEST_PENDING, str(exc)))

    def respond(self, request: Request) -> Reply | Failure | Ended:
        """The one record that answers ``request``: its reply, or a failure; the end
        event for ``exit``, or for a handler that called ``sys.exit()``.

        An ``async def`` handler's coroutine is run to its end first, on an event
        loop of its own (an :class:`AsyncDoer` awaits it on its own loop).
        """
        message = request.message
        if type(message) is str and message == "exit":
            return self.ended(request.id)
        reply = self.answer(request)
        if type(reply) is Reply and type(reply.value) is CoroutineType:
            return self._run_coroutine(request, reply)
        return reply

    def started(self) -> Started:
        """The start event: where the loop runs, and the state it starts with."""
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
            self.node,
        )

    def ended(self, exit_id: int = 0, reason: str = "") -> Ended:
        """The end event: ``exit_id`` is the ``exit`` request's (0: it ended another
        way, and ``reason`` says which)."""
        return Ended(exit_id, self.state, os.getpid(), reason)

    def _exited(self, exc: SystemExit) -> Ended:
        """The end event of a loop whose handler called ``sys.exit()``: the worker
        ends, as a program would."""
        return self.ended(0, f"a handler called sys.exit({exc.code!r})")

    def _run_coroutine(self, request: Request, called: Reply) -> Reply | Failure | Ended:
        """An ``async def`` handler, in a thread or a process: run on a loop of its own.

        (An asyncio worker awaits it on its loop instead: :class:`AsyncDoer`.)
        """
        import asyncio  # only for a worker given async handlers

        return asyncio.run(self._awaited(request, called))

    async def _awaited(self, request: Request, called: Reply) -> Reply | Failure | Ended:
        """The answer to ``request`` once its handler's coroutine has run."""
        before = self.state
        started = time.monotonic() if request.timed else 0.0
        try:
            value = await called.value
        except Exception as exc:
            return Failure(request.id, f"{type(exc).__name__}: {exc}")
        except SystemExit as exc:
            return self._exited(exc)
        return self._reply(request, value, before, started)

    def answer(self, request: Request) -> Reply | Failure | Ended:
        """The reply to one request; a handler's exception becomes a Failure, and its
        ``sys.exit()`` the end event."""
        before = self.state
        started = time.monotonic() if request.timed else 0.0
        try:
            value = self._dispatch(request.message)
        except Exception as exc:
            return Failure(request.id, f"{type(exc).__name__}: {exc}")
        except SystemExit as exc:
            return self._exited(exc)
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
        names = [name for name in (*self.handlers, "exit") if name != action]  # ("exit",)
        # difflib's ratio is 2 * matches / (both lengths), and the matches are at most
        # the shorter length: a word over twice as long as every name is under 2/3 alike
        # to each, below the cutoff. (A message of 150 kB would otherwise cost the
        # worker milliseconds of difflib.) In whole numbers: no rounding at the edge.
        longest = max(map(len, names), default=0)
        if not action or len(action) > 2 * longest or any(c.isspace() for c in action):
            return ""  # not a word typed (a whole line sent as one string): no typo of a name
        import difflib

        matches = difflib.get_close_matches(action, names, n=1, cutoff=DID_YOU_MEAN_CUTOFF)
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


def run_where_it_loads(
    receive: Callable[[], Request], send: Callable[[Any], None], state: Any, **options: Any
) -> None:
    """Make a :class:`Doer` (``options`` as it takes them) and run it to its end.

    For a worker whose handler modules load where it runs (a process, a
    subinterpreter): if they do not load there, the end event says so instead,
    as the worker's only record.
    """
    try:
        doer = Doer(receive, send, state, **options)
    except HandlerError as exc:
        send(Ended(0, state, os.getpid(), f"its handlers did not load: {exc}"))
        return
    doer.run()


_new_tuple = tuple.__new__

#: How alike (difflib's ratio) an unknown message's name and a handler's must be
#: for the answer to ask whether that handler was meant. Above 2/3: see
#: :meth:`Doer._did_you_mean`.
DID_YOU_MEAN_CUTOFF = 0.75
assert DID_YOU_MEAN_CUTOFF > 2 / 3, "_did_you_mean skips words over twice a name's length"

#: What most handlers give: no coroutine, and no need to ask asyncio whether it is one.
_PLAIN_VALUES = frozenset({str, int, float, bool, bytes, tuple, list, dict, type(None)})


class AsyncDoer(Doer):
    """The same loop as a coroutine, for a worker that is an asyncio task.

    ``receive`` is awaited. A handler that is a coroutine function is awaited,
    so ``sleep`` and ``deadlock`` (:data:`~doer.worker.builtin_handlers.AWAITING_HANDLERS`)
    let the event loop (and the prompt, in the shell) run on; any
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
            handlers={**AWAITING_HANDLERS, **(handlers or {})},
            own_memory=own_memory,
        )
        self.receive_async = receive
        self.receive_now = receive_now

    async def run_async(self) -> None:
        """Start, serve until the end, say so: :meth:`Doer.run`, awaiting."""
        self.send(self.started())
        self._send_safely(await self._serve_async())

    async def _serve_async(self) -> Ended:
        """:meth:`Doer.serve` over the awaited inbox, until the end; return the end event.

        A handler's call is awaited only if it gave a coroutine: the others
        are answered without a coroutine of their own (the hot path).
        """
        import asyncio  # loaded already: this runs on an event loop

        receive, respond, send = self.receive_async, self.respond, self._send_safely
        receive_now = self.receive_now
        iscoroutine = asyncio.iscoroutine
        while True:
            waiting = receive_now() if receive_now is not None else None
            request = waiting if waiting is not None else await receive()
            record = respond(request)
            if (
                type(record) is Reply
                and type(record.value) not in _PLAIN_VALUES  # asking asyncio is slow for a str
                and iscoroutine(record.value)
            ):
                record = await self._awaited(request, record)
            if type(record) is Ended:
                return record
            send(record)

    def _run_coroutine(self, request: Request, called: Reply) -> Reply:
        """Left as it is: :meth:`_serve_async` awaits it, on the worker's own loop."""
        return called


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
