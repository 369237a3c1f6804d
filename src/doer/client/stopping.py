"""Stopping workers: one (:class:`Stopping`, which :class:`~doer.client.worker.Worker`
is made of), or many at once (:func:`stop_all`).

A worker is asked to stop with ``exit``; what has not ended after a timeout
is killed (a process dies, a task is cancelled) and given
:data:`KILLED_WITHIN_S` more to be seen ending. A thread cannot be killed: a
thread stuck in a handler is left running, and said to be.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Self, TypeVar

from doer.base.errors import WorkerGone
from doer.base.protocol import Died, Ended

if TYPE_CHECKING:
    from doer.client.ledger import Ledger
    from doer.client.pending import Pending
    from doer.client.replies import ReplyReader
    from doer.client.supervision import Supervisor
    from doer.kinds import Link

#: How long a killed process or a cancelled task is given to be seen ending.
KILLED_WITHIN_S = 1.0


class Stopping:
    """How a worker stops: asked (``exit``), waited for, killed if it will not end.

    Part of :class:`~doer.client.worker.Worker`, which gives it the worker's
    link, reply reader and ledger.
    """

    if TYPE_CHECKING:
        ended: Ended | Died | None
        _link: Link
        _replies: ReplyReader
        _ledger: Ledger
        _supervisor: Supervisor | None
        _resender: threading.Thread | None  # sends what was held for a restarted worker

        def tell(self, message: Any, *, timed: bool = False, parsed: bool = False) -> Pending: ...
        def _send(
            self,
            message: Any,
            timed: bool = False,
            room_timeout: float | None = None,
            *,
            past_the_bound: bool = False,
        ) -> Pending: ...
        def _refuse_to_block_the_workers_loop(self, what: str) -> None: ...

    # Why doer killed it, when it did so on its own (it did not end when asked): its
    # death then says that, not only the signal that a stranger could have sent.
    _killed_because: str | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_async()

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
        resender = self._resender
        if resender is not None and self.ended is not None:
            resender.join(timeout)  # its worker has ended: its sends fail at once
        if reader is None or not reader.is_alive():
            self._link.join(timeout)
            self._link.close()
        return self.ended

    async def stop_async(self, timeout: float = 5.0) -> Ended | Died | None:
        """:meth:`stop`, awaited: for code on an event loop (an asyncio worker's own)."""
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, self.stop, timeout)

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
        self._for_good()
        if not self._ledger.claim_exit():
            return
        try:
            # Past a full mailbox's bound: a stop never waits for room.
            self._ledger.exit_id = self._send("exit", past_the_bound=True).request_id
        except WorkerGone:
            pass
        finally:
            self._replies.start()  # it reads the end (that of a worker gone, too)

    @property
    def shared(self) -> bool:
        """True for a worker several consoles share (a named Ray actor): ``.quit``
        leaves it running."""
        return self._link.shared

    def leave(self) -> None:
        """Ask to stop, but leave a shared worker running for the others: its link
        ends (with an end event that says so) and the worker lives on (on the
        console's private cluster, which ends with the console, it is ended at
        once). Any other worker is asked to stop (:meth:`ask_to_stop`)."""
        if not self.shared:
            self.ask_to_stop()
            return
        self._for_good()
        if not self._ledger.claim_exit():  # no exit: stop() now only waits for the end
            return
        self._link.detach()
        self._replies.start()

    @property
    def killable(self) -> bool:
        """Whether :meth:`kill` ends it: a process at once, a task at its next
        ``await``; not a thread, which Python cannot kill from outside."""
        return self._link.killable

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
        self._for_good()
        done = "doer cancelled its task" if self._link.on_event_loop else "doer killed it"
        self._killed_because = f"did not end {waited:g} s after being asked; {done}"
        return self.kill()

    def _for_good(self) -> None:
        """It is being stopped: under any restart policy, it is not restarted."""
        if self._supervisor is not None:
            self._supervisor.stopping = True

    def _death(self, died: Died) -> Died:
        """How ``died`` is said: by doer's own kill of an overdue worker, with why."""
        if self._killed_because and _by_doer(died.reason):
            return Died(self._killed_because)
        return died


def _by_doer(reason: str) -> bool:
    """Whether a death's reason is one doer's own kill or cancel would give (not, say,
    a crash that came first)."""
    return "kill" in reason or "cancel" in reason


W = TypeVar("W", bound=Stopping)


def stop_all(workers: list[W], timeout: float = 5.0, *, leave_shared: bool = False) -> list[W]:
    """Stop ``workers`` together; return those stuck in a handler (left running).

    ``leave_shared``: a shared Ray worker is left running for the other
    consoles (:meth:`Stopping.leave`) rather than ended: what leaving does.

    Every ``exit`` is sent first, so the workers wind down side by side: the
    wait is the slowest one's, not the sum. What is still running after
    ``timeout`` is killed, all at once: a process dies, a task is cancelled
    (it ends at its next ``await``), and they are given
    :data:`KILLED_WITHIN_S` more, together, to be seen ending. A thread, or a
    task stuck in a handler that blocks, cannot be ended: it is returned.
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


def _wait_ended(workers: list[W], timeout: float) -> None:
    """Wait until every one of ``workers`` has ended, or ``timeout`` has passed for all."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.wait_ended(max(deadline - time.monotonic(), 0))
