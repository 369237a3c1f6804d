"""The console's side of one worker: send requests, read answers, track what waits.

::

    caller thread(s)                                  worker (thread | process | task)
      tell(msg) ── Request(id, msg) ──> request queue ──> Doer loop
         │ registers a Pending(id)                          │
         ▼                                                  ▼
      Pending.result() <── resolve ── reply reader <── response queue
                                      (thread "doer-N-replies")
                                            │
                                            └──> listener(worker, record)   (the shell)

Who reads the response queue: exactly one thread at a time, the caller of
``ask()`` inline or the reply-reader thread for good (:mod:`doer.client.replies` says
when and why). Whoever reads hands each record to :meth:`Worker._deliver`,
which resolves the request's :class:`Pending` and passes the record to the
optional listener; the shell's listener passes it to the event loop that
prints it.

Every request gets exactly one answer: its reply, its error, or, if the worker
ends or dies first, a :class:`~doer.base.protocol.Failure` saying so.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

from doer.base.protocol import (
    OLDEST_PENDING,
    Died,
    Ended,
    Failure,
    Note,
    ParseError,
    Record,
    Reply,
    Request,
    Started,
    message_summary,
    parse_line,
)
from doer.client.replies import ReplyReader
from doer.kinds import Link, open_link
from doer.worker.doer import Handler

Listener = Callable[["Worker", Record], None]

_UNSET: Any = object()

#: Held while a waiter makes a Pending's lock: two waiters must not make two.
_MAKING_LOCKS = threading.Lock()


class WorkerError(Exception):
    """The worker answered a request with an error (a handler raised, say)."""


class WorkerGone(Exception):
    """The worker has ended or died; it cannot take or answer requests."""


class Pending:
    """One request waiting for its answer: a small future.

    Whoever waits for an answer not yet in blocks on a plain lock, held until
    the answer arrives: the cheapest wake-up CPython offers (cheaper than
    ``threading.Event``). The lock is made only then: most answers are in
    before anyone waits for them (a request read inline, answers drained after
    a burst), and the round trip is the hot path of the whole console.
    """

    __slots__ = (
        "_blocks_its_loop",
        "_done",
        "_record",
        "answered_at",
        "bytes_back",
        "bytes_out",
        "message",
        "request_id",
        "sent_at",
    )

    def __init__(
        self, request_id: int, message: Any, blocks_its_loop: Callable[[], bool] | None = None
    ) -> None:
        self.request_id = request_id
        self.message = message
        # For an asyncio worker: True on the loop the worker runs on, where
        # waiting would block the loop the answer needs. None for other kinds.
        self._blocks_its_loop = blocks_its_loop
        self._record: Any = _UNSET
        #: When it was sent and when its answer came (``time.perf_counter()``; 0: not
        #: yet): a line sent to several workers prints its answers in that order,
        #: and ``.trace`` shows the round trip.
        self.sent_at = time.perf_counter()
        self.answered_at = 0.0
        #: Its size pickled, and its answer's (None: not pickled, for a thread or task).
        self.bytes_out: int | None = None
        self.bytes_back: int | None = None
        self._done: threading.Lock | None = None  # held until the answer; made by a waiter

    def __repr__(self) -> str:
        return f"<Pending {self.request_id} {message_summary(self.message)!r} done={self.done()}>"

    def summary(self) -> str:
        """``request 3 (sleep 2)``: how messages about this request name it."""
        return f"request {self.request_id} ({message_summary(self.message)})"

    def done(self) -> bool:
        return self._record is not _UNSET

    def timeout_error(self, timeout: float | None) -> TimeoutError:
        return TimeoutError(f"no answer to {self.summary()} within {timeout or 0:g} s")

    def resolve(self, record: Reply | Failure | Ended) -> None:
        """Give this request its answer. Called once, by the reply reader.

        The answer is set before the lock is looked at: a waiter that made its
        lock too late to be released here finds the answer when it looks again.
        """
        self.answered_at = time.perf_counter()
        self._record = record
        done = self._done
        if done is not None:
            done.release()

    def wait(self, timeout: float | None = None) -> Reply | Failure | Ended:
        """Block until the answer arrives and return it.

        Raises:
            TimeoutError: no answer within ``timeout`` seconds. The request stays
                pending; its answer may still come.
        """
        if self._record is _UNSET:
            if self._blocks_its_loop is not None and self._blocks_its_loop():
                raise RuntimeError(
                    "waiting here would block the event loop the worker runs on, and its"
                    " answer needs that loop: await the Pending instead"
                )
            done = self._waited_on()
            if self._record is _UNSET:  # answered since: the lock may never be released
                if not done.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
                    raise self.timeout_error(timeout)
                done.release()  # leave it open for any other waiter
        record: Reply | Failure | Ended = self._record
        return record

    def _waited_on(self) -> threading.Lock:
        """The lock a waiter blocks on, made (held) by the first waiter."""
        with _MAKING_LOCKS:
            if self._done is None:
                done = threading.Lock()
                done.acquire()
                self._done = done
            return self._done

    def result(self, timeout: float | None = None) -> Any:
        """The reply's value (an ``exit`` request gives the Ended event).

        Raises:
            TimeoutError: as :meth:`wait`.
            WorkerError: the worker answered with an error.
        """
        return _value(self.wait(timeout))

    def __await__(self) -> Generator[Any, None, Any]:
        """``await pending``: the reply's value, without blocking the event loop.

        For code running on an event loop (an asyncio worker's own loop above
        all, where :meth:`result` would wait for the loop it blocks). The wait
        runs in the loop's default executor.

        Raises:
            WorkerError: the worker answered with an error.
        """
        import asyncio

        record = yield from asyncio.get_running_loop().run_in_executor(None, self.wait).__await__()
        return _value(record)


#: Short lines parsed already, and their messages. A program sends the same few
#: lines again and again (``"ping"``), and parsing one costs more than a thread
#: worker's whole send: remembered, ``tell("ping")`` is as fast as a message
#: parsed already. Only an immutable message is kept: two requests must not
#: share a list that a handler may change.
_TYPED: dict[str, Any] = {}
_TYPED_LINES = 1024
_TYPED_LINE_CHARS = 80


def _as_typed(message: Any) -> Any:
    """``message`` as the library sends it: a string is a line as typed at the prompt.

    The same string means the same thing in a script as at the console:
    ``w.ask("sleep 5")`` sleeps, as ``sleep 5`` typed does.

    Raises:
        ParseError: the string is no message as typed (an unclosed quote, an
            empty line); the error quotes it.
    """
    if not isinstance(message, str):
        return message
    typed = _TYPED.get(message, _UNSET)
    if typed is _UNSET:
        typed = _parse(message)
        if len(message) <= _TYPED_LINE_CHARS and _immutable(typed):
            if len(_TYPED) >= _TYPED_LINES:
                _TYPED.clear()
            _TYPED[message] = typed
    return typed


def _parse(line: str) -> Any:
    """:func:`parse_line`, whose error says the string was read as a typed line."""
    try:
        return parse_line(line)
    except ParseError as exc:
        raise ParseError(
            f"{message_summary(line)!r} cannot be sent: {exc} (a string is read as a line"
            " typed at the prompt; parsed=True sends it as it is)"
        ) from None


def _immutable(message: Any) -> bool:
    """True for a message nothing can change: of the values a line parses to, the
    hashable ones (strings, numbers, tuples of them) are exactly those."""
    try:
        hash(message)
    except TypeError:  # a list, a dict, a set, or a tuple holding one
        return False
    return True


def _value(record: Reply | Failure | Ended) -> Any:
    if type(record) is Reply:
        return record.value
    if type(record) is Failure:
        raise WorkerError(record.error)
    return record


class Worker:
    """A running worker, as the console and library users see it.

    Create one with :func:`start`. ``ask`` sends a message and waits for the
    reply; ``tell`` sends without waiting and returns a :class:`Pending`;
    ``stop`` sends ``exit``, waits for the end event and joins.

    A message that is a string is a line as typed at the console's prompt,
    parsed the same way (:func:`~doer.base.protocol.parse_line`): ``"sleep 5"``
    sends ``("sleep", 5)``, and ``"'a b'"`` the one string ``a b``. Anything
    else is sent as it is, and so is a string with ``parsed=True``: the
    console's own messages, parsed already, go that way (parsing ``a b`` again
    would split it).
    """

    def __init__(
        self, link: Link, listener: Listener | None = None, *, asked_at: float | None = None
    ) -> None:
        self._link = link
        self._listener = listener
        self._ids = itertools.count(1)
        self._pending: dict[int, Pending] = {}
        # Guards ended against a request being added as the worker ends, and a
        # walk over _pending. Taking one answer out of _pending needs no lock
        # (a dict pop is atomic), so the reader, answering thousands a second,
        # does not contend with the thread sending them.
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # requests go out in id order
        self._started = threading.Event()
        self.started: Started | None = None
        self.ended: Ended | Died | None = None
        self.state: Any = None
        #: When the worker was asked to start (``time.perf_counter()``), and how
        #: many seconds after that its start event arrived (None until it has).
        self.asked_at = time.perf_counter() if asked_at is None else asked_at
        self.ready_after: float | None = None
        #: What its kind said while it started (a Ray cluster starting), in order.
        self.notes: list[Note] = []
        self._exit_id: int | None = None  # the exit request of stop(), once sent
        # Why doer killed it, when it did so on its own (it did not end when asked):
        # its death then says that, not only the signal that a stranger could have sent.
        self._killed_because: str | None = None
        self._replies = ReplyReader(link.name, link, self._deliver, self)
        # Only a worker on an event loop can be waited for on the wrong thread: the
        # others skip the check on every round trip.
        self._on_a_loop = link.kind == "asyncio"
        if listener is not None:
            self._replies.start()

    def __repr__(self) -> str:
        return f"<Worker {self.name} {self.kind} pid={self.pid} alive={self.alive}>"

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Worker:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_async()

    async def stop_async(self, timeout: float = 5.0) -> Ended | Died | None:
        """:meth:`stop`, awaited: for code on an event loop (an asyncio worker's own)."""
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, self.stop, timeout)

    # --- what it is -------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._link.name

    @property
    def kind(self) -> str:
        return self._link.kind

    @property
    def pid(self) -> int:
        return self._link.pid

    @property
    def start_method(self) -> str | None:
        return self._link.start_method

    @property
    def alive(self) -> bool:
        """True until the worker has ended or died."""
        return self.ended is None and self._link.is_alive()

    @property
    def pending(self) -> int:
        """How many requests are still waiting for their answer."""
        return len(self._pending)

    def wait_started(self, timeout: float | None = None) -> Started:
        """Block until the start event has arrived and return it.

        Raises:
            TimeoutError: it did not come within ``timeout`` seconds.
            WorkerGone: the worker died before it started.
        """
        self._refuse_to_block_the_workers_loop("wait_started()")
        reading = self._replies.reading
        if not self._started.is_set() and reading.acquire(blocking=False):
            try:
                if self._replies.thread is None:  # nobody else reads: read until the event
                    self._replies.read_inline(self._started.is_set, timeout)
            finally:
                reading.release()
        if not self._started.wait(timeout):
            raise TimeoutError(f"{self.name} did not start within {timeout or 0:g} s")
        if self.started is None:
            if isinstance(self.ended, Ended) and self.ended.reason:  # it said why
                raise WorkerGone(f"{self.name} did not start: {self.ended.reason}")
            raise WorkerGone(f"{self.name} died before it started: {self._end_text()}")
        return self.started

    # --- talking to it ----------------------------------------------------------

    def tell(self, message: Any, *, timed: bool = False, parsed: bool = False) -> Pending:
        """Send ``message`` without waiting; its answer arrives on the returned Pending.

        ``timed``: the reply says when its handler started and ended (``Reply.times``).
        ``parsed``: send a string as it is, not as a typed line (see :class:`Worker`).

        Raises:
            WorkerGone: the worker has ended or died.
            ParseError: a string that is no message as typed (an unclosed quote):
                nothing was sent.
            ValueError: the message could not be sent (it does not pickle).
        """
        if not parsed:
            message = _as_typed(message)
        try:
            return self._send(message, timed)
        finally:
            # Its answer may come at any time, so the reply reader must be running
            # (it also keeps both pipes flowing when many requests are in flight).
            if self._replies.thread is None:
                self._replies.start()

    def _send(self, message: Any, timed: bool = False) -> Pending:
        with self._send_lock:
            with self._lock:
                if self.ended is not None:
                    raise WorkerGone(f"{self.name} has {self._end_text()}")
                blocks = self._link.would_block_its_loop if self._on_a_loop else None
                pending = Pending(next(self._ids), message, blocks)
                self._pending[pending.request_id] = pending
            try:
                pending.bytes_out = self._link.send(Request(pending.request_id, message, timed))
            except Exception as exc:
                with self._lock:
                    self._pending.pop(pending.request_id, None)
                raise self._send_failed(exc) from None
        return pending

    def tell_many(
        self, messages: list[Any], *, timed: bool = False, parsed: bool = False
    ) -> list[Pending]:
        """:meth:`tell` for several messages, in order: all are sent or none.

        A process worker gets them in one write to its pipe rather than one
        write each (plain mode sends the lines waiting to be read this way, and
        ``.repeat`` its copies).

        Raises:
            WorkerGone: the worker has ended or died (none was sent).
            ParseError: a string that is no message as typed: none was sent.
            ValueError: a message could not be sent (it does not pickle): none was.
        """
        if not parsed:
            messages = [_as_typed(message) for message in messages]
        # The reader first: while a long write fills the request pipe, the worker
        # may fill the response pipe, and only a reader already running empties it.
        if self._replies.thread is None:
            self._replies.start()
        return self._send_many(messages, timed)

    def _send_many(self, messages: list[Any], timed: bool) -> list[Pending]:
        with self._send_lock:
            with self._lock:
                if self.ended is not None:
                    raise WorkerGone(f"{self.name} has {self._end_text()}")
                blocks = self._link.would_block_its_loop if self._on_a_loop else None
                pendings = [Pending(next(self._ids), message, blocks) for message in messages]
                for pending in pendings:
                    self._pending[pending.request_id] = pending
            requests = [Request(pending.request_id, pending.message, timed) for pending in pendings]
            try:
                sizes = self._link.send_many(requests)
            except Exception as exc:
                with self._lock:
                    for pending in pendings:
                        self._pending.pop(pending.request_id, None)
                raise self._send_failed(exc) from None
        for pending, size in zip(pendings, sizes, strict=True):
            pending.bytes_out = size
        return pendings

    def _send_failed(self, exc: Exception) -> WorkerGone | ValueError:
        """What a failed send raises: the worker is gone, or the message does not pickle."""
        if isinstance(exc, EOFError | OSError):
            return WorkerGone(f"{self.name} has gone: {exc}")
        return ValueError(f"the message could not be sent: {type(exc).__name__}: {exc}")

    def ask(self, message: Any, timeout: float | None = None, *, parsed: bool = False) -> Any:
        """Send ``message`` and return the reply (``parsed``: as :meth:`tell`).

        Raises:
            TimeoutError: no reply within ``timeout`` seconds.
            WorkerError: the worker answered with an error.
            WorkerGone: the worker has ended or died.
            ParseError, ValueError: as :meth:`tell`.
        """
        if self._on_a_loop:
            self._refuse_to_block_the_workers_loop("ask()")
        pending = self._request(message if parsed else _as_typed(message), timeout)
        if not pending.done():  # it waited the timeout already
            raise pending.timeout_error(timeout)
        return pending.result(0)

    def request(
        self,
        message: Any,
        timeout: float | None = None,
        *,
        timed: bool = False,
        parsed: bool = False,
    ) -> Pending:
        """Send ``message`` and wait up to ``timeout`` for its answer; return its Pending.

        :meth:`ask` without the raising: the Pending comes back answered or,
        after the timeout, still pending (a reply reader then delivers its late
        answer). Plain mode's round trip: read inline when nobody else reads.

        Raises:
            WorkerGone, ParseError, ValueError: as :meth:`tell`.
        """
        if self._on_a_loop:
            self._refuse_to_block_the_workers_loop("request()")
        return self._request(message if parsed else _as_typed(message), timeout, timed)

    def _request(self, message: Any, timeout: float | None, timed: bool = False) -> Pending:
        """:meth:`request`, for a caller that has checked where it runs, and a message
        parsed already."""
        pending = self._ask_inline(message, timeout, timed)
        if pending is None:
            pending = self.tell(message, timed=timed, parsed=True)
            try:
                pending.wait(timeout)
            except TimeoutError:
                pass  # still pending: the reply reader delivers it when it comes
        return pending

    def _ask_inline(
        self, message: Any, timeout: float | None, timed: bool = False
    ) -> Pending | None:
        """Send ``message`` and read its answer in this thread, if nobody else reads.

        While the worker is used one request at a time (the common case, and
        the hot path) there is no reply-reader thread: the caller reads its own
        answer, which saves a thread hand-off on every round trip. Returns None
        when that is not possible (a reader runs, or requests are in flight),
        else the Pending, answered unless ``timeout`` passed first. Then, or if
        the wait is interrupted (Ctrl-C), a reply reader is started, so the late
        answer is still delivered. With one request in flight the pipes cannot
        fill, so reading only after sending cannot deadlock.
        """
        reading = self._replies.reading
        if self._replies.thread is not None or not reading.acquire(blocking=False):
            return None
        try:
            if self._replies.thread is not None or self._pending:
                return None
            pending = self._send(message, timed)
            try:
                self._replies.read_inline(pending.done, timeout)
            finally:
                if not pending.done():
                    self._replies.start()  # it waits for `reading`, released below
            return pending
        finally:
            reading.release()

    def stop(self, timeout: float = 5.0) -> Ended | Died | None:
        """Send ``exit``, wait for the end event, join; kill what will not end.

        Requests sent before are answered first (the queue is FIFO). What has
        not ended after ``timeout`` is killed as :func:`stop_all` does (a process
        dies, a task is cancelled) and given :data:`KILLED_WITHIN_S` more, at
        most ``timeout`` again, to be seen ending. Returns the end record, or
        None if a thread or task is stuck in a handler and could not be stopped
        (a thread cannot be killed): the wait is then over, not started again.
        """
        if self.ended is None:
            self._refuse_to_block_the_workers_loop("stop()")
            self.ask_to_stop()
            if not self.wait_ended(timeout) and self._kill_overdue_once(timeout):
                self.wait_ended(min(timeout, KILLED_WITHIN_S))
        reader = self._replies.thread
        if reader is not None and self.ended is not None:
            reader.join(timeout)  # it ends once it has delivered the end (and closed the link)
        if reader is None or not reader.is_alive():
            self._link.join(timeout)
            self._link.close()
        return self.ended

    def wait_ended(self, timeout: float | None = None) -> bool:
        """Wait until the worker's end has been delivered; False if ``timeout`` passed first."""
        reader = self._replies.thread
        if reader is not None:
            reader.join(timeout)
        return self.ended is not None

    def ask_to_stop(self) -> None:
        """Send ``exit`` (once), without waiting: :meth:`stop` then waits for the end.

        To stop many workers at once, ask each first, then stop each: they all
        wind down together, and the total wait is the slowest one's, not the sum.
        """
        with self._send_lock:
            if self._exit_id is not None:
                return
            self._exit_id = 0
        try:
            self._exit_id = self.tell("exit", parsed=True).request_id
        except WorkerGone:
            self._replies.start()  # it reads the end of a worker that has gone

    def details(self) -> list[str]:
        """Lines of what only its kind knows, for ``.status`` (a Ray worker's cluster
        and log file); none for the other kinds."""
        details = getattr(self._link, "details", None)
        return details() if details is not None else []

    @property
    def shared(self) -> bool:
        """True for a Ray worker several consoles share: ``.quit`` leaves it running."""
        return bool(getattr(self._link, "shared", False))

    def leave(self) -> None:
        """Ask to stop, but leave a shared worker running for the others: its link
        ends (with an end event that says so) and the actor lives on; on the
        console's private cluster, which ends with the console, it is ended at
        once. Any other worker is asked to stop (:meth:`ask_to_stop`)."""
        if not self.shared:
            self.ask_to_stop()
            return
        with self._send_lock:
            if self._exit_id is not None:
                return
            self._exit_id = 0  # no exit: stop() now only waits for the end
        self._link.detach()  # type: ignore[attr-defined]  # a RayLink: shared is its own
        self._replies.start()

    def peek(self) -> tuple[bool, Any]:
        """``(live, state)`` without asking the worker: see :meth:`doer.kinds.Link.peek`."""
        return self._link.peek()

    @property
    def transport(self) -> str:
        """The queue or pipe its records travel on: ``queue.SimpleQueue``, ``Pipe``..."""
        return self._link.transport

    def kill(self) -> bool:
        """Kill a process worker at once (SIGKILL), or cancel an asyncio task (at its
        next ``await``). Returns False for a thread: it cannot be killed."""
        return self._link.kill()

    def _kill_overdue_once(self, waited: float) -> bool:
        """:meth:`_kill_overdue`, unless it was done already (by :func:`stop_all`,
        whose death line says the timeout it gave)."""
        return self._killed_because is None and self._kill_overdue(waited)

    def _kill_overdue(self, waited: float) -> bool:
        """Kill a worker that was asked to stop and did not within ``waited`` seconds;
        its death line then says so, rather than a bare ``killed by SIGKILL``."""
        done = "doer cancelled its task" if self.kind == "asyncio" else "doer killed it"
        self._killed_because = f"did not end {waited:g} s after being asked; {done}"
        return self.kill()

    def unanswered(self) -> list[Pending]:
        """The requests sent and not answered yet, oldest first (not stop()'s ``exit``)."""
        with self._lock:
            waiting = dict(self._pending)
        waiting.pop(self._exit_id or 0, None)
        return [waiting[request_id] for request_id in sorted(waiting)]

    def _refuse_to_block_the_workers_loop(self, what: str) -> None:
        """An asyncio worker's answers need its event loop: waiting on it would hang.

        Raises:
            RuntimeError: called on the event loop the worker runs on.
        """
        if self._link.would_block_its_loop():
            raise RuntimeError(
                f"{what} would block the event loop {self.name} runs on, and its answer"
                " needs that loop: there, use await worker.tell(...)"
            )

    # --- what the reader delivers ----------------------------------------------

    def _deliver(self, record: Record) -> None:
        kind = type(record)
        if kind is Reply or kind is Failure:
            self._answer(record)  # type: ignore[arg-type]
        elif kind is Note:
            self.notes.append(record)  # type: ignore[arg-type]
            self._notify(record)
        elif kind is Started:
            self.ready_after = time.perf_counter() - self.asked_at
            self.started = record  # type: ignore[assignment]
            self.state = record.state  # type: ignore[union-attr]
            self._started.set()
            self._notify(record)
        else:
            self._end(record)  # type: ignore[arg-type]

    def _answer(self, record: Reply | Failure) -> None:
        if record.request_id == OLDEST_PENDING:
            with self._lock:
                if self._pending:
                    record = record._replace(request_id=min(self._pending))
        pending = self._pending.pop(record.request_id, None)
        if type(record) is Reply and record.state:
            self.state = record.state[0]
        if pending is not None:
            pending.bytes_back = self._link.received_bytes  # read by this thread, just now
            pending.resolve(record)
        if self._listener is not None:
            self._notify(record)

    def _end(self, record: Ended | Died) -> None:
        if isinstance(record, Died) and self._killed_because and _by_doer(record.reason):
            record = Died(self._killed_because)
        with self._lock:
            self.ended = record
            waiting, self._pending = self._pending, {}
        if isinstance(record, Ended):
            self.state = record.state
        self._started.set()
        exit_request = waiting.pop(record.request_id, None) if isinstance(record, Ended) else None
        # How it died is said once, by the Died record that follows (and in
        # Worker.ended): a line of 80 columns has no room for it twice.
        why = "the worker ended" if isinstance(record, Ended) else "the worker died"
        # stop()'s own exit needs no failure line when the worker ends another way:
        # that end is said once, by its own record.
        stop_request = waiting.pop(self._exit_id, None) if self._exit_id else None
        if stop_request is not None:
            stop_request.resolve(Failure(stop_request.request_id, why))
        for request_id in sorted(waiting):
            summary = message_summary(waiting[request_id].message)
            failure = Failure(request_id, f"request {request_id} ({summary}) unanswered: {why}")
            waiting[request_id].resolve(failure)
            self._notify(failure)
        if exit_request is not None:
            exit_request.resolve(record)  # type: ignore[arg-type]
        self._notify(record)

    def _notify(self, record: Record) -> None:
        if self._listener is None:
            return
        try:
            self._listener(self, record)
        except Exception:  # the listener is the console's code: never let it kill the reader
            # Imported here: logging costs a worker process ~10 ms to import at boot.
            import logging

            logging.getLogger(__name__).exception("the reply listener failed on %r", record)

    def _end_text(self) -> str:
        if isinstance(self.ended, Died):
            return f"died ({self.ended.reason})"
        if isinstance(self.ended, Ended) and self.ended.reason:
            return f"ended: {self.ended.reason}"
        return "ended"


def _by_doer(reason: str) -> bool:
    """Whether a death's reason is one doer's own kill or cancel would give (not, say,
    a crash that came first)."""
    return "kill" in reason or "cancel" in reason


def start(
    kind: str = "thread",
    state: Any = None,
    *,
    start_method: str | None = None,
    handlers: Mapping[str, Handler] | None = None,
    name: str | None = None,
    listener: Listener | None = None,
    address: str | None = None,
    shared: bool = False,
) -> Worker:
    """Start a worker and return its :class:`Worker` handle.

    Args:
        kind: ``"thread"``, ``"process"``, ``"asyncio"`` or ``"ray"``.
        state: the worker's initial state.
        start_method: for a process: ``"fork"``, ``"spawn"`` or ``"forkserver"``
            (default: the platform's default).
        handlers: extra handlers by action name, called as ``handler(doer, *values)``.
            For a process they must be picklable (module-level functions).
        name: the worker's name (default ``doer-N``).
        listener: called in the reply-reader thread with ``(worker, record)`` for
            every record the worker sends (and for the failures made for requests
            it can no longer answer).
        address: for a Ray worker, the cluster to join (``host:port``, ``auto``,
            ``ray://host:port``); None starts a private one on this machine.
        shared: for a Ray worker, a named actor several consoles share (see
            :class:`doer.kinds.ray_actor.link.RayLink`).

    Raises:
        ValueError: an unknown kind or start method.
    """
    asked_at = time.perf_counter()
    link = open_link(
        kind,
        state,
        start_method=start_method,
        handlers=handlers,
        name=name,
        address=address,
        shared=shared,
    )
    return Worker(link, listener, asked_at=asked_at)


def stop_all(
    workers: list[Worker], timeout: float = 5.0, *, leave_shared: bool = False
) -> list[Worker]:
    """Stop ``workers`` together; return those stuck in a handler (left running).

    ``leave_shared``: a shared Ray worker is left running for the other
    consoles (:meth:`Worker.leave`) rather than ended: what leaving does.

    Every ``exit`` is sent first, so the workers wind down side by side: the
    wait is the slowest one's, not the sum (32 workers stop in a few tens of
    ms). What is still running after ``timeout`` is killed, all at once: a
    process dies, a task is cancelled (it ends at its next ``await``), and
    they are given one more second, together, to be seen ending. A thread, or
    a task stuck in a handler that blocks, cannot be ended: it is returned.
    """
    for worker in workers:
        if leave_shared:
            worker.leave()
        else:
            worker.ask_to_stop()
    _wait_ended(workers, timeout)
    running = [worker for worker in workers if worker.ended is None]
    killed = [worker for worker in running if worker._kill_overdue(timeout)]  # not a thread
    _wait_ended(killed, KILLED_WITHIN_S)
    for worker in workers:  # join and close; what is stuck is not waited for again
        worker.stop(0.0 if worker.ended is None else KILLED_WITHIN_S)
    return [worker for worker in workers if worker.ended is None]


#: How long a killed process or a cancelled task is given to be seen ending.
KILLED_WITHIN_S = 1.0


def _wait_ended(workers: list[Worker], timeout: float) -> None:
    """Wait until every one of ``workers`` has ended, or ``timeout`` has passed for all."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.wait_ended(max(deadline - time.monotonic(), 0))
