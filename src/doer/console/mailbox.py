"""Holding workers' records until the shell's event loop can take them."""

from __future__ import annotations

import threading

from doer.base.protocol import Record
from doer.client.worker import Listener, Worker


class Mailbox:
    """Holds records from workers until the shell's event loop is ready for them.

    The first worker is started before prompt-toolkit is imported (so a forked
    worker starts small and the first prompt is not delayed), which means its
    first records can arrive before there is an event loop to hand them to.
    ``put`` is the listener given to workers; ``attach`` flushes what was kept
    and forwards everything after it, in order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[tuple[Worker, Record]] = []
        self._forward: Listener | None = None

    def put(self, worker: Worker, record: Record) -> None:
        """The listener given to workers: keep ``record``, or forward it if attached."""
        with self._lock:
            forward = self._forward
            if forward is None:
                self._kept.append((worker, record))
                return
            # Forwarded under the lock, so a detach() cannot slip between the
            # check and the hand-over (forwarding only schedules: it is quick).
            forward(worker, record)

    def detach(self) -> None:
        """Keep records again, until the next :meth:`attach` (the shell's loop has ended)."""
        with self._lock:
            self._forward = None

    def attach(self, forward: Listener) -> None:
        """Forward what was kept to ``forward``, then every record after it, in order."""
        with self._lock:
            for worker, record in self._kept:
                forward(worker, record)
            self._kept.clear()
            self._forward = forward
