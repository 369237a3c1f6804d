"""What was sent to one worker and waits for its answer: the :class:`Ledger`.

Every request gets exactly one answer: its reply, its error, or, if the worker
ends or dies first, a :class:`~doer.base.protocol.Failure` saying so, given
here when the end is delivered (:meth:`Ledger.close`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from doer.base.protocol import Died, Ended, Failure, message_summary
from doer.client.pending import Pending


class Ledger:
    """The requests sent to one worker and not answered yet, by id (from 1, in order).

    Args:
        blocks_its_loop: for a worker on an event loop, whether the caller is on
            that loop (each :class:`Pending` refuses to be waited for there);
            None for the other kinds, which skip the check.
    """

    def __init__(
        self, blocks_its_loop: Callable[[], bool] | None = None, bound: int | None = None
    ) -> None:
        self._ids = itertools.count(1)
        self._waiting: dict[int, Pending] = {}
        self._blocks_its_loop = blocks_its_loop
        # Guards closing against a request being added as the worker ends, and a
        # walk over the requests. Taking one answered request out needs no lock
        # (a dict pop is atomic), so the reader, answering thousands a second,
        # does not contend with the thread sending them.
        self._lock = threading.Lock()
        self._closed = False
        #: At most this many requests pending (a bounded mailbox); None: no bound.
        self.bound = bound
        # Bounded only: a sender waits on it for room, and reserves its place first
        # (``reserve``), so that senders racing for the last place cannot both take it.
        self._room = threading.Condition(self._lock) if bound is not None else None
        self._reserved = 0
        #: The id of the ``exit`` that ``stop()`` sent, once sent; 0 while it is
        #: being sent, or when none will be (a shared worker left running).
        self.exit_id: int | None = None

    def __len__(self) -> int:
        """How many requests wait for their answer."""
        return len(self._waiting)

    def reserve(self, timeout: float | None) -> bool:
        """Bounded only: wait up to ``timeout`` (None: for ever; 0: not at all) until one
        more request fits, and reserve its place for the :meth:`add` that follows.
        False: no room came in time (nothing reserved). True at once once closed
        (the add then says the worker has gone)."""
        room = self._room
        assert room is not None
        with room:
            if not room.wait_for(self._fits, timeout):
                return False
            self._reserved += 1
        return True

    def _fits(self) -> bool:
        """Bounded only, under the lock: one more request fits (or, closed, none ever
        will, and whoever waits is to learn it)."""
        assert self.bound is not None
        return self._closed or len(self._waiting) + self._reserved < self.bound

    def room(self) -> int | None:
        """Bounded only: how many more requests fit now (places reserved count as
        taken); None: no bound."""
        if self.bound is None:
            return None
        with self._lock:
            return max(self.bound - len(self._waiting) - self._reserved, 0)

    def wait_for_room(self, timeout: float | None) -> bool:
        """Bounded only: wait up to ``timeout`` until one more request fits (or the
        ledger is closed), without reserving it; False if none came in time."""
        room = self._room
        assert room is not None
        with room:
            return room.wait_for(self._fits, timeout)

    def _freed(self, count: int = 1) -> None:
        """Bounded only: ``count`` places were freed; wake the senders waiting for room."""
        room = self._room
        if room is not None:
            with room:
                room.notify(count)

    def unreserve(self) -> None:
        """Give back a place :meth:`reserve` kept, for a request not added after all."""
        with self._lock:
            self._reserved -= 1
            if self._room is not None:
                self._room.notify()

    def add(self, message: Any, *, reserved: bool = True) -> Pending | None:
        """A Pending for ``message``, now waiting; None once the worker's end has
        closed the ledger (nothing is added then). In a bounded ledger, the caller
        has reserved its place (:meth:`reserve`), unless ``reserved`` is False: the
        ``exit`` of ``stop()``, which never waits for room."""
        with self._lock:
            if self._room is not None and reserved:
                self._reserved -= 1
            if self._closed:
                return None
            pending = Pending(next(self._ids), message, self._blocks_its_loop)
            self._waiting[pending.request_id] = pending
        return pending

    def add_many(self, messages: list[Any]) -> list[Pending] | None:
        """:meth:`add` for several messages, in order: all, or none once closed."""
        blocks = self._blocks_its_loop
        with self._lock:
            if self._closed:
                return None
            pendings = [Pending(next(self._ids), message, blocks) for message in messages]
            for pending in pendings:
                self._waiting[pending.request_id] = pending
        return pendings

    def withdraw(self, pendings: list[Pending]) -> None:
        """Forget ``pendings``: they were never sent after all."""
        with self._lock:
            for pending in pendings:
                self._waiting.pop(pending.request_id, None)
            if self._room is not None:
                self._room.notify(len(pendings))

    def claim_exit(self) -> bool:
        """True the first time only: the caller is the one to send (or not) the
        ``exit`` of ``stop()``, and sets :attr:`exit_id`."""
        with self._lock:
            if self.exit_id is not None:
                return False
            self.exit_id = 0
            return True

    def take(self, request_id: int) -> Pending | None:
        """The request ``request_id``, answered: out of the ledger (None: none waits).

        Bounded, its answer's time is taken before its place is given back: a
        request sent into that place is sent after it (``sent_us`` and
        ``answered_us`` in ``--jsonl`` show a bound kept).
        """
        if self._room is None:
            return self._waiting.pop(request_id, None)
        pending = self._waiting.get(request_id)
        if pending is not None:
            pending.answered_at = time.perf_counter()
            del self._waiting[request_id]
        self._freed()
        return pending

    def oldest(self, failure: Failure) -> Failure:
        """A failure to read a request, which knows no id
        (:data:`~doer.base.protocol.OLDEST_PENDING`), as the oldest request's: the
        worker reads them in order."""
        with self._lock:
            if self._waiting:
                return failure._replace(request_id=min(self._waiting))
        return failure

    def unanswered(self) -> list[Pending]:
        """The requests sent and not answered yet, oldest first (not stop()'s ``exit``)."""
        with self._lock:
            waiting = dict(self._waiting)
        waiting.pop(self.exit_id or 0, None)
        return [waiting[request_id] for request_id in sorted(waiting)]

    def close(self, end: Ended | Died, notify: Callable[[Failure], None]) -> None:
        """The worker has ended (or died): answer every request still waiting, and add
        no more.

        Its ``exit`` request gets the end event itself, last. Every other one
        gets a failure that says it went unanswered, passed to ``notify`` as it
        is given; stop()'s own ``exit``, when the worker ended another way, gets
        one too but not ``notify``'s: that end is said once, by its own record.
        """
        with self._lock:
            self._closed = True
            waiting, self._waiting = self._waiting, {}
            if self._room is not None:
                self._room.notify_all()  # nothing will fit now: senders learn it has gone
        self.answer_unanswered(waiting, end, notify)

    def take_all(self) -> dict[int, Pending]:
        """Take out every request waiting, leaving the ledger open: they were sent to a
        worker that has ended, and a fresh one takes its place (a restart). The caller
        answers them (:meth:`answer_unanswered`)."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
            if self._room is not None:
                self._room.notify_all()
        return waiting

    def put_back(self, pending: Pending) -> None:
        """Wait again for ``pending``'s answer (it was taken out with the rest, but it
        never reached the worker that ended: the fresh one answers it)."""
        with self._lock:
            self._waiting[pending.request_id] = pending

    def answer_unanswered(
        self, waiting: dict[int, Pending], end: Ended | Died, notify: Callable[[Failure], None]
    ) -> None:
        """Answer ``waiting``, requests the worker will never answer, as :meth:`close` says."""
        ended = end if isinstance(end, Ended) else None
        exit_request = waiting.pop(ended.request_id, None) if ended is not None else None
        # How it died is said once, by the Died record that follows (and in
        # Worker.ended): a line of 80 columns has no room for it twice.
        why = "the worker ended" if ended is not None else "the worker died"
        stop_request = waiting.pop(self.exit_id, None) if self.exit_id else None
        if stop_request is not None:
            stop_request.resolve(Failure(stop_request.request_id, why))
        for request_id in sorted(waiting):
            summary = message_summary(waiting[request_id].message)
            failure = Failure(request_id, f"request {request_id} ({summary}) unanswered: {why}")
            waiting[request_id].resolve(failure)
            notify(failure)
        if exit_request is not None and ended is not None:
            exit_request.resolve(ended)
