"""Talking to a worker: send requests, and wait for their answers (:class:`Talking`,
which :class:`~doer.client.worker.Worker` is made of).

A message that is a string is a line as typed at the console's prompt
(:mod:`doer.client.as_typed`), unless sent with ``parsed=True``. Each request
sent is written in the worker's :class:`~doer.client.ledger.Ledger` first,
and its answer arrives on the :class:`~doer.client.pending.Pending` it gets.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from doer.base.errors import MailboxFull, NotPicklable, WorkerGone
from doer.base.protocol import Request
from doer.client.as_typed import as_typed
from doer.client.pending import Pending

if TYPE_CHECKING:
    from doer.client.ledger import Ledger
    from doer.client.replies import ReplyReader
    from doer.client.supervision import Supervisor
    from doer.kinds import Link


class Talking:
    """Sending requests to a worker and waiting for their answers.

    Part of :class:`~doer.client.worker.Worker`, which gives it the worker's
    link, reply reader and ledger.
    """

    if TYPE_CHECKING:
        _link: Link
        _replies: ReplyReader
        _ledger: Ledger
        _send_lock: threading.Lock  # requests go out in id order
        _held: list[Request] | None  # while it restarts: requests for the fresh worker
        _supervisor: Supervisor | None
        _on_a_loop: bool  # only then can a caller be on the loop its answer needs

        @property
        def name(self) -> str: ...
        def _end_text(self) -> str: ...
        def _refuse_to_block_the_workers_loop(self, what: str) -> None: ...

    def tell(
        self,
        message: Any,
        *,
        timed: bool = False,
        parsed: bool = False,
        block: bool = True,
        room_timeout: float | None = None,
    ) -> Pending:
        """Send ``message`` without waiting for its answer, which arrives on the
        returned Pending.

        ``timed``: the reply says when its handler started and ended (``Reply.times``).
        ``parsed``: send a string as it is, not as a typed line (see :mod:`doer.client.as_typed`).
        A worker with a bounded mailbox (``mailbox=N``) takes at most N requests
        pending: a ``tell`` waits for room, at most ``room_timeout`` seconds
        (None: as long as it takes), or not at all with ``block=False``.

        Raises:
            MailboxFull: no room in its mailbox (``block=False``, or ``room_timeout``
                passed): nothing was sent.
            WorkerGone: the worker has ended or died.
            ParseError: a string that is no message as typed (an unclosed quote):
                nothing was sent.
            NotPicklable: the message does not pickle (a ValueError): nothing was sent.
        """
        if not parsed:
            message = as_typed(message)
        try:
            return self._send(message, timed, 0.0 if not block else room_timeout)
        finally:
            # Its answer may come at any time, so the reply reader must be running
            # (it also keeps both pipes flowing when many requests are in flight).
            if self._replies.thread is None:
                self._replies.start()

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
            NotPicklable: a message does not pickle (a ValueError): none was sent.
        """
        if not parsed:
            messages = [as_typed(message) for message in messages]
        # The reader first: while a long write fills the request pipe, the worker
        # may fill the response pipe, and only a reader already running empties it.
        if self._replies.thread is None:
            self._replies.start()
        if self._ledger.bound is not None:  # one at a time, each as room comes
            return [self._send(message, timed) for message in messages]
        return self._send_many(messages, timed)

    def _send(
        self,
        message: Any,
        timed: bool = False,
        room_timeout: float | None = None,
        *,
        past_the_bound: bool = False,
    ) -> Pending:
        """Send one request. In a bounded mailbox, wait for room first (at most
        ``room_timeout``), unless ``past_the_bound`` (the ``exit`` of ``stop()``)."""
        ledger = self._ledger
        reserved = ledger.bound is not None and not past_the_bound
        if reserved:
            if self._on_a_loop and self._link.would_block_its_loop():
                room_timeout = 0.0  # waiting would block the loop that makes room
            # Room is waited for before the send lock is taken: the reply reader, which
            # makes room, takes that lock to restart a worker.
            if not ledger.reserve(room_timeout):
                raise MailboxFull(self._full_text())
        added = False
        try:
            with self._send_lock:
                pending = ledger.add(message, reserved=reserved)
                added = True
                return self._sent(pending, message, timed)
        finally:
            if reserved and not added:  # Ctrl-C while waiting for the lock: give it back
                ledger.unreserve()

    def _sent(self, pending: Pending | None, message: Any, timed: bool) -> Pending:
        """Send the request ``pending`` stands for, under the send lock (None: the
        ledger has closed, the worker has gone)."""
        if pending is None:
            raise WorkerGone(f"{self.name} has {self._end_text()}")
        request = Request(pending.request_id, message, timed)
        if self._held is not None:  # it restarts: the fresh worker gets it
            self._held.append(request)
            return pending
        try:
            pending.bytes_out = self._link.send(request)
        except Exception as exc:
            if self._may_restart(exc):  # it died, and is not read dead yet
                self._held = [request]  # for the fresh worker, or failed if none comes
                return pending
            self._ledger.withdraw([pending])
            raise self._send_failed(exc) from None
        return pending

    def _may_restart(self, error: Exception) -> bool:
        """Whether a send that failed with ``error`` is to wait for a restart: the
        worker is gone and has a supervisor that may restart it."""
        supervisor = self._supervisor
        gone = isinstance(error, EOFError | OSError)
        return gone and supervisor is not None and not supervisor.stopping

    def _send_many(self, messages: list[Any], timed: bool) -> list[Pending]:
        with self._send_lock:
            pendings = self._ledger.add_many(messages)
            if pendings is None:
                raise WorkerGone(f"{self.name} has {self._end_text()}")
            requests = [Request(pending.request_id, pending.message, timed) for pending in pendings]
            if self._held is not None:  # it restarts: the fresh worker gets them
                self._held.extend(requests)
                return pendings
            try:
                sizes = self._link.send_many(requests)
            except Exception as exc:
                if self._may_restart(exc):
                    # Some may have gone through before it died: none is sent again (it
                    # would run twice). Each is answered once, when its death is read.
                    return pendings
                self._ledger.withdraw(pendings)
                raise self._send_failed(exc) from None
        for pending, size in zip(pendings, sizes, strict=True):
            pending.bytes_out = size
        return pendings

    def _full_text(self) -> str:
        """``w1's mailbox is full (10 pending): not sent``."""
        return f"{self.name}'s mailbox is full ({self._ledger.bound} pending): not sent"

    def _send_failed(self, exc: Exception) -> WorkerGone | NotPicklable:
        """What a failed send raises: the worker is gone, or the message does not pickle."""
        if isinstance(exc, EOFError | OSError):
            return WorkerGone(f"{self.name} has gone: {exc}")
        return NotPicklable(f"the message could not be sent: {type(exc).__name__}: {exc}")

    def ask(self, message: Any, timeout: float | None = None, *, parsed: bool = False) -> Any:
        """Send ``message`` and return the reply (``parsed``: as :meth:`tell`).

        Raises:
            TimeoutError: no reply within ``timeout`` seconds.
            WorkerError: the worker answered with an error.
            WorkerGone: the worker has ended or died.
            MailboxFull: its bounded mailbox had no room within ``timeout``.
            ParseError, NotPicklable: as :meth:`tell`.
        """
        if self._on_a_loop:
            self._refuse_to_block_the_workers_loop("ask()")
        pending = self._request(message if parsed else as_typed(message), timeout)
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
            WorkerGone, ParseError, NotPicklable: as :meth:`tell`.
        """
        if self._on_a_loop:
            self._refuse_to_block_the_workers_loop("request()")
        return self._request(message if parsed else as_typed(message), timeout, timed)

    def _request(self, message: Any, timeout: float | None, timed: bool = False) -> Pending:
        """:meth:`request`, for a caller that has checked where it runs, and a message
        parsed already."""
        pending = self._ask_inline(message, timeout, timed)
        if pending is None:
            began = time.monotonic()
            pending = self.tell(message, timed=timed, parsed=True, room_timeout=timeout)
            if timeout is not None:  # the wait for room counts: one timeout in all
                timeout = max(timeout - (time.monotonic() - began), 0.0)
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
        if self._ledger.bound is not None:
            # Waiting for room while holding `reading` would keep out the reader
            # that makes it: a bounded mailbox is always read by the reader thread.
            return None
        if self._replies.thread is not None or not reading.acquire(blocking=False):
            return None
        try:
            if self._replies.thread is not None or self._ledger:
                return None
            pending = self._send(message, timed, timeout)
            try:
                self._replies.read_inline(pending.done, timeout)
            finally:
                if not pending.done():
                    self._replies.start()  # it waits for `reading`, released below
            return pending
        finally:
            reading.release()
