"""Handing things from other threads to an event loop, many for one wake-up.

``loop.call_soon_threadsafe`` wakes the loop up (a write to its self-pipe, a
system call) every time it is called. When things arrive faster than the loop
takes them — 10,000 requests sent to an asyncio worker, 10,000 answers to
print above the prompt — that is one system call and one callback each. A
:class:`Handoff` wakes the loop once for everything put since it last ran:
the first ``put`` schedules a callback, later ones only join the batch it will
take. Order is kept.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    """Items put from any thread, given to ``deliver`` on ``loop``, in batches, in order.

    No lock: a deque's ``append`` and ``popleft`` are atomic, and the loop
    clears :attr:`_scheduled` *before* it takes the items, so an item put
    meanwhile is either taken by that run or schedules another (at worst an
    extra run that finds nothing).

    Args:
        loop: the loop ``deliver`` runs on.
        deliver: called on the loop with the items put since its last call.
        context: the context ``deliver`` runs in (prompt-toolkit finds its
            application through one).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[list[T]], None],
        context: contextvars.Context | None = None,
    ) -> None:
        self._loop = loop
        self._deliver = deliver
        self._context = context
        self._items: deque[T] = deque()
        self._scheduled = False

    def put(self, item: T) -> None:
        """Add ``item``; the loop gets it with whatever else comes before it runs.

        Raises:
            RuntimeError: the loop is closed (nothing will ever take the item).
        """
        self._items.append(item)
        if self._scheduled:
            return
        self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._run, context=self._context)
        except RuntimeError:  # nothing will take them
            self._items.clear()
            raise

    def deliver_now(self) -> None:
        """On the loop: deliver what waits at once (before something put there directly)."""
        self._run()

    def _run(self) -> None:
        self._scheduled = False
        items = self._items
        taken = [items.popleft() for _ in range(len(items))]
        if taken:
            self._deliver(taken)
