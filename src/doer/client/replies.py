"""Reading one worker's response queue: exactly one reader at a time.

Whoever holds :attr:`ReplyReader.reading` reads, and nobody else:

- **inline**, while the worker is used one request at a time through
  ``Worker.ask()`` (the hot path): the caller reads its own answer, with no
  thread hand-off, so a round trip costs little more than the bare queue or
  pipe;
- **the reply-reader thread** (``doer-N-replies``), as soon as anything else
  happens (``tell()``, a listener, a timed-out request). It takes over for good
  and drains the queue until the worker ends, so a worker can never block on a
  full response pipe while the console blocks on a full request pipe (the
  classic two-pipe deadlock).

Either way every record goes to one ``deliver`` callback (the Worker's
bookkeeping). A worker that vanishes shows up as a :class:`~doer.base.protocol.Died`
record, an answer that cannot be read as a :class:`~doer.base.protocol.Failure`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from doer.base.protocol import OLDEST_PENDING, Died, Failure, Record
from doer.kinds import Link


class Ends(Protocol):
    """What a reader reads for: it has ``ended`` (None until the end is delivered)."""

    ended: Any


class ReplyReader:
    """The one reader of a worker's response queue.

    Args:
        name: the worker's name; the reader thread is ``NAME-replies``.
        link: the worker's link, to receive from.
        deliver: called with every record, in order, by whoever reads.
        owner: what it reads for; once its ``ended`` is set, reading stops.
            (An attribute, not a callback: it is checked on every round trip.)
    """

    def __init__(
        self, name: str, link: Link, deliver: Callable[[Record], None], owner: Ends
    ) -> None:
        self._name = name
        self._link = link
        self._deliver = deliver
        self._owner = owner
        #: Held by whoever reads: an inline reader, or the reader thread for good.
        self.reading = threading.Lock()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()  # the thread is started once

    @property
    def thread(self) -> threading.Thread | None:
        """The reader thread, once started."""
        return self._thread

    def start(self) -> None:
        """Start the reader thread, once; from then on it does all the reading."""
        if self._thread is not None:  # the common case, on every tell(): no lock
            return
        with self._starting:
            if self._thread is not None:
                return
            thread = threading.Thread(
                target=self._run,
                name=f"{self._name}-replies",
                # A daemon so that a library user who forgets stop() can still
                # exit; stop() joins it on every normal path.
                daemon=True,
            )
            thread.start()
            # Published only once started: a signal (Ctrl-C) raised inside start()
            # must not leave a thread that stop() cannot join. If it did start,
            # it holds `reading`, and a second reader would wait for it to end.
            self._thread = thread

    def switch_to(self, link: Link) -> None:
        """Read ``link`` from now on: a fresh worker took the place of the one that ended
        (a restart). Called by whoever reads, between two records."""
        self._link = link

    def _run(self) -> None:
        """Deliver every record from the worker until it ends or dies, then release the link.

        Releasing here, not only in ``Worker.stop()``, frees what only the end
        frees (an asyncio worker's own loop thread) even when ``stop()`` gave
        up on a worker that ended later.
        """
        with self.reading:
            while self._owner.ended is None:
                self._deliver(self.receive())
        self._link.release()

    def read_inline(self, done: Callable[[], bool], timeout: float | None) -> None:
        """Read and deliver records until ``done()``, the end, or ``timeout``.

        The caller holds :attr:`reading`.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done() and self._owner.ended is None:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            try:
                record = self.receive(remaining)
            except TimeoutError:
                return
            self._deliver(record)

    def receive(self, timeout: float | None = None) -> Record:
        """The next record from the worker; a vanished worker gives a Died record.

        Raises:
            TimeoutError: nothing came within ``timeout`` seconds.
        """
        try:
            record: Record = self._link.receive(timeout)
        except TimeoutError:  # first: TimeoutError is an OSError too
            raise
        except (EOFError, OSError):
            return Died(self._link.end_reason())
        except Exception as exc:  # an answer that did not unpickle here
            return Failure(OLDEST_PENDING, f"the answer could not be read: {exc}")
        return record
