"""One request waiting for its answer: :class:`Pending`, a small future."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from doer.base.errors import WorkerError
from doer.base.protocol import Ended, Failure, Reply, message_summary

_UNSET: Any = object()

#: Held while a waiter makes a Pending's lock: two waiters must not make two.
_MAKING_LOCKS = threading.Lock()


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
        # For a worker on an event loop: True on the loop the worker runs on, where
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
        if not self.answered_at:  # a bounded ledger took it as it gave the place back
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


def _value(record: Reply | Failure | Ended) -> Any:
    if type(record) is Reply:
        return record.value
    if type(record) is Failure:
        raise WorkerError(record.error)
    return record
