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

The :class:`Worker` is made of parts, each in a module of its own, and what
this module offered before is importable from here still:

- :mod:`doer.client.talking`: sending requests and waiting for answers;
- :mod:`doer.client.stopping`: stopping one worker, or many
  (:func:`stop_all`, :data:`KILLED_WITHIN_S`);
- :mod:`doer.client.restarting`: a fresh worker put in the place of one that
  ended, as its supervisor (:mod:`doer.client.supervision`) says;
- :mod:`doer.client.ledger`: the requests in flight, and what the end does to them;
- :mod:`doer.client.pending`: :class:`Pending`, one request's answer to come;
- :mod:`doer.client.replies`: the one reader of the response queue;
- :mod:`doer.client.as_typed`: a string read as a typed line.

This module keeps what the worker is (its kind's declarations, through its
link) and what the reader delivers: the start event, the answers, the end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, overload

from doer.base.errors import MailboxFull, NotPicklable, WorkerError, WorkerGone
from doer.base.protocol import (
    OLDEST_PENDING,
    Died,
    Ended,
    Failure,
    Note,
    Record,
    Reply,
    Started,
)
from doer.client.as_typed import _TYPED as _TYPED  # the typed-line cache: its tests look here
from doer.client.as_typed import _TYPED_LINES as _TYPED_LINES
from doer.client.as_typed import as_typed as _as_typed  # noqa: F401 - its old name, for them
from doer.client.ledger import Ledger
from doer.client.pending import Pending
from doer.client.replies import ReplyReader
from doer.client.restarting import Restarting
from doer.client.stopping import KILLED_WITHIN_S, Stopping, stop_all
from doer.client.supervision import (
    MAX_RESTARTS,
    WITHIN_S,
    RestartPolicy,
    Supervisor,
)
from doer.client.talking import Talking
from doer.kinds import Link, open_link
from doer.worker.doer import Handler

#: The names this module has always offered, wherever they are defined now.
__all__ = [
    "KILLED_WITHIN_S",
    "Listener",
    "MailboxFull",
    "NotPicklable",
    "Pending",
    "Worker",
    "WorkerError",
    "WorkerGone",
    "start",
    "stop_all",
]

Listener = Callable[["Worker", Record], None]

T = TypeVar("T")


class _FromLink(Generic[T]):
    """An attribute of a Worker that is its link's, of the same name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, worker: None, owner: type) -> _FromLink[T]: ...
    @overload
    def __get__(self, worker: Worker, owner: type) -> T: ...
    def __get__(self, worker: Worker | None, owner: type) -> _FromLink[T] | T:
        if worker is None:
            return self
        value: T = getattr(worker._link, self._name)
        return value


class Worker(Talking, Stopping, Restarting):
    """A running worker, as the console and library users see it.

    Create one with :func:`start`. ``ask`` sends a message and waits for the
    reply; ``tell`` sends without waiting and returns a :class:`Pending`;
    ``stop`` sends ``exit``, waits for the end event and joins
    (:class:`~doer.client.stopping.Stopping`).

    A message that is a string is a line as typed at the console's prompt,
    parsed the same way (:func:`~doer.base.protocol.parse_line`): ``"sleep 5"``
    sends ``("sleep", 5)``, and ``"'a b'"`` the one string ``a b``. Anything
    else is sent as it is, and so is a string with ``parsed=True``: the
    console's own messages, parsed already, go that way (parsing ``a b`` again
    would split it).
    """

    def __init__(
        self,
        link: Link,
        listener: Listener | None = None,
        *,
        asked_at: float | None = None,
        supervisor: Supervisor | None = None,
        mailbox: int | None = None,
    ) -> None:
        self._link = link
        self._listener = listener
        # Only a worker on an event loop can be waited for on the wrong thread: the
        # others skip the check on every round trip.
        self._on_a_loop = link.on_event_loop
        self._ledger = Ledger(link.would_block_its_loop if self._on_a_loop else None, mailbox)
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
        self._replies = ReplyReader(link.name, link, self._deliver, self)
        self._supervise(supervisor)
        # A supervised worker's end is read as soon as it comes, so that it is
        # restarted then, not when someone next asks it something.
        if listener is not None or self._supervisor is not None:
            self._replies.start()

    def __repr__(self) -> str:
        return f"<Worker {self.name} {self.kind} pid={self.pid} alive={self.alive}>"

    # --- what it is: its link's, read afresh (a Ray worker's pid changes as it starts) ---

    name = _FromLink[str]()
    kind = _FromLink[str]()
    pid = _FromLink[int]()
    #: The start method it was started with; None for a kind that has none.
    start_method = _FromLink[str | None]()
    #: What its kind declares (:class:`doer.kinds.Link` says what each means): its
    #: memory is its own; its process is its own; it is a task on an event loop; its
    #: start may take this long however short a timeout; the queue or pipe its records
    #: travel on.
    own_memory = _FromLink[bool]()
    own_process = _FromLink[bool]()
    on_event_loop = _FromLink[bool]()
    slow_start_s = _FromLink[float]()
    transport = _FromLink[str]()

    @property
    def alive(self) -> bool:
        """True until the worker has ended or died."""
        return self.ended is None and self._link.is_alive()

    @property
    def mailbox(self) -> int | None:
        """The most requests it takes pending (a bounded mailbox); None: no bound."""
        return self._ledger.bound

    @property
    def room(self) -> int | None:
        """How many more requests its bounded mailbox takes now; None: no bound."""
        return self._ledger.room()

    def wait_for_room(self, timeout: float | None = None) -> bool:
        """Wait until its bounded mailbox has room for one more request (or it has
        ended); False if ``timeout`` passed first. True at once without a bound."""
        if self._ledger.bound is None:
            return True
        return self._ledger.wait_for_room(timeout)

    @property
    def pending(self) -> int:
        """How many requests are still waiting for their answer."""
        return len(self._ledger)

    def details(self) -> list[str]:
        """Lines of what only its kind knows, for ``.status`` (a Ray worker's cluster
        and log file); none for the other kinds."""
        return self._link.details()

    def peek(self) -> tuple[bool, Any]:
        """``(live, state)`` without asking the worker: see :meth:`doer.kinds.Link.peek`."""
        return self._link.peek()

    def unanswered(self) -> list[Pending]:
        """The requests sent and not answered yet, oldest first (not stop()'s ``exit``)."""
        return self._ledger.unanswered()

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

    def _refuse_to_block_the_workers_loop(self, what: str) -> None:
        """A worker's answers on an event loop need that loop: waiting on it would hang.

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
            if self._supervisor is not None:
                self._supervisor.fresh_started(record.pid)  # type: ignore[union-attr]
            self.state = record.state  # type: ignore[union-attr]
            self._started.set()
            self._notify(record)
        else:
            self._end(record)  # type: ignore[arg-type]

    def _answer(self, record: Reply | Failure) -> None:
        if record.request_id == OLDEST_PENDING:
            record = self._ledger.oldest(record)  # type: ignore[arg-type]  # a Failure
        pending = self._ledger.take(record.request_id)
        if type(record) is Reply and record.state:
            self.state = record.state[0]
        if pending is not None:
            pending.bytes_back = self._link.received_bytes  # read by this thread, just now
            pending.resolve(record)
        if self._listener is not None:
            self._notify(record)

    def _end(self, record: Ended | Died) -> None:
        if isinstance(record, Died):
            record = self._death(record)
        supervisor = self._supervisor
        if supervisor is not None and supervisor.should_restart(record):
            self._restart(record, supervisor)
            return
        self._ended(record)

    def _ended(self, record: Ended | Died) -> None:
        """The worker has ended for good: every request still waiting is answered."""
        with self._send_lock:  # a request held for a restart that failed is answered too
            self._held = None
        self.ended = record  # before the ledger closes: a send it refuses says how it ended
        if isinstance(record, Ended):
            self.state = record.state
        self._started.set()
        self._ledger.close(record, self._notify)
        self._notify(record)
        if self.gave_up is not None:  # the line after its death: no restart is to come
            self._notify(Note(self.gave_up))
        self._restart_over()

    def _notify(self, record: Record) -> None:
        if self._listener is None:
            return
        try:
            self._listener(self, record)
        except Exception:  # the listener is the console's code: never let it kill the reader
            # Imported here: a worker process that imports this module does not pay
            # for logging at every start.
            import logging

            logging.getLogger(__name__).exception("the reply listener failed on %r", record)

    def _end_text(self) -> str:
        if isinstance(self.ended, Died):
            gave_up = f"; {self.gave_up}" if self.gave_up else ""
            return f"died ({self.ended.reason}{gave_up})"
        if isinstance(self.ended, Ended) and self.ended.reason:
            return f"ended: {self.ended.reason}"
        return "ended"


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
    restart: str = "never",
    max_restarts: int = MAX_RESTARTS,
    within: float = WITHIN_S,
    reload_handlers: Callable[[], Mapping[str, Handler] | None] | None = None,
    mailbox: int | None = None,
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
        restart: ``"never"``, ``"on-failure"`` or ``"always"``: whether a worker
            that ends is started again (:mod:`doer.client.supervision`), at most
            ``max_restarts`` times within any ``within`` seconds.
        reload_handlers: gives a restart's handlers (the console loads your
            handler modules again); by default a restart has ``handlers``.
        mailbox: at most this many requests pending (a bounded mailbox): a
            ``tell`` waits for room, or raises :class:`~doer.base.errors.MailboxFull`
            (see :meth:`~doer.client.talking.Talking.tell`); None: no bound.

    Raises:
        ValueError: an unknown kind or start method, a bad restart policy, or a
            mailbox that is not a whole number >= 1.
    """
    asked_at = time.perf_counter()
    policy = RestartPolicy.checked(restart, max_restarts, within)
    check_mailbox(mailbox)

    def opened(given: Mapping[str, Handler] | None) -> Link:
        return open_link(
            kind,
            state,
            start_method=start_method,
            handlers=given,
            name=name,
            address=address,
            shared=shared,
        )

    def reopened() -> Link:  # a restart's
        return opened(handlers if reload_handlers is None else reload_handlers())

    link = opened(handlers)
    name = link.name  # a restart keeps the name it was given (doer-N if none was)
    supervisor = Supervisor(policy, reopened) if policy.supervised else None
    return Worker(link, listener, asked_at=asked_at, supervisor=supervisor, mailbox=mailbox)


def check_mailbox(mailbox: int | None) -> None:
    """Raises ValueError: a mailbox bound that is not a whole number >= 1."""
    if mailbox is not None and (type(mailbox) is not int or mailbox < 1):
        raise ValueError(f"a mailbox takes a whole number >= 1 of requests, not {mailbox!r}")
