"""Restarting a worker: what a :class:`~doer.client.worker.Worker` does when its
supervisor (:mod:`doer.client.supervision`) says a worker that ended is to be
started again (:class:`Restarting`, which the Worker is made of).

The reply reader runs the restart, between two records::

    death read ──> requests held from now on (send lock)
               ──> what the dead worker had pending: each answered, "unanswered"
               ──> old link joined and released; a fresh one opened, same options
               ──> the reader reads the fresh link; the listener hears "restarted"
               ──> thread NAME-resend sends what was held, in order, then sends
                   go straight to the fresh worker again

The resender is a thread of its own: while it writes, the reader must go on
reading the fresh worker's answers, or with more held than a pipe holds both
pipes fill and each side waits for the other.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from doer.base.protocol import Died, Ended, Failure, Record, Request
from doer.client.stopping import KILLED_WITHIN_S
from doer.client.supervision import Restart, RestartPolicy, Supervisor

if TYPE_CHECKING:
    from doer.client.ledger import Ledger
    from doer.client.pending import Pending
    from doer.client.replies import ReplyReader
    from doer.kinds import Link


class Restarting:
    """How a supervised worker is restarted in its own place, behind the same handle.

    Part of :class:`~doer.client.worker.Worker`, which gives it the worker's
    link, reply reader, ledger and send lock, and calls :meth:`_supervise` as it
    is made.
    """

    if TYPE_CHECKING:
        name: str
        ended: Ended | Died | None
        started: Any
        asked_at: float
        ready_after: float | None
        _link: Link
        _replies: ReplyReader
        _ledger: Ledger
        _send_lock: threading.Lock
        _started: threading.Event

        def _ended(self, record: Ended | Died) -> None: ...
        def _notify(self, record: Record) -> None: ...
        def _send_failed(self, exc: Exception) -> Exception: ...

    def _supervise(self, supervisor: Supervisor | None) -> None:
        """Set up, in the Worker's ``__init__``: restarted as ``supervisor`` says, if any."""
        #: Restarts it when it dies, as its policy says (None: never).
        self._supervisor = supervisor if supervisor and supervisor.policy.supervised else None
        #: While it restarts: the requests sent meanwhile, for the fresh worker.
        self._held: list[Request] | None = None
        self._restarts_begun = 0  # which restart a resender sends the held requests of
        self._resender: threading.Thread | None = None
        # Whether a restart is under way, and a condition notified when one is over
        # or the worker has ended: what wait_restarted and wait_after_restarts wait on.
        self._restarting = False
        self._lives = threading.Condition()

    @property
    def restart_policy(self) -> RestartPolicy:
        """When it is restarted (``never`` for a worker started without a policy)."""
        supervisor = self._supervisor
        return supervisor.policy if supervisor is not None else RestartPolicy()

    @property
    def restarts(self) -> list[Restart]:
        """Its restarts so far, oldest first."""
        supervisor = self._supervisor
        return list(supervisor.restarts) if supervisor is not None else []

    @property
    def gave_up(self) -> str | None:
        """Why its supervisor gave up restarting it (None: it did not)."""
        supervisor = self._supervisor
        return supervisor.gave_up if supervisor is not None else None

    def wait_restarted(self, timeout: float | None = None) -> bool:
        """Wait until no restart is under way; False if ``timeout`` passed first."""
        with self._lives:
            return self._lives.wait_for(lambda: not self._restarting, timeout)

    def wait_after_restarts(self, count: int, timeout: float | None = None) -> bool:
        """Wait until it has been restarted more than ``count`` times in all, or has
        ended (a kill, say, then its restart); False if ``timeout`` passed first."""
        with self._lives:
            return self._lives.wait_for(
                lambda: self.ended is not None or len(self.restarts) > count, timeout
            )

    def _restart_begins(self) -> None:
        with self._lives:
            self._restarting = True

    def _restart_over(self) -> None:
        """A restart is done, or the worker has ended: wake whoever waits for either."""
        with self._lives:
            self._restarting = False
            self._lives.notify_all()

    def _restart(self, end: Ended | Died, supervisor: Supervisor) -> None:
        """Put a fresh worker in the place of the one that ended with ``end``.

        Run by the reply reader, which reads the fresh worker's records next.
        Requests sent meanwhile are held, and sent to the fresh worker once it
        is there; what the old one had pending is answered now, as at any end.
        """
        self._restart_begins()
        # Before any request is answered: whoever waits for the start from then on
        # waits for the fresh worker's.
        self.started = None
        self._started.clear()
        with self._send_lock:
            # stop() since the death was read: the exit it sent went to the dead
            # worker, and the worker ends for good.
            stopped = supervisor.stopping
            if not stopped:
                unanswered = self._begin_restart()
        if stopped:
            self._ended(end)
            return
        self._ledger.answer_unanswered(unanswered, end, self._notify)
        old = self._link
        old.join(KILLED_WITHIN_S)  # it has ended: this reaps a process
        old.release()
        try:
            fresh = old.reopen(supervisor.opener)
        except Exception as exc:  # its handlers no longer load, a fork refused...
            supervisor.failed_to_restart(exc)
            self._ended(end)
            return
        self.asked_at, self.ready_after = time.perf_counter(), None
        with self._send_lock:
            self._link = fresh
            restart = self._restarts_begun
        self._replies.switch_to(fresh)
        self._notify(supervisor.restarted(end, old.pid))  # its new pid: once it has started
        # Not sent by this thread: while many are written, the fresh worker's answers
        # must be read, or both pipes fill and each side waits for the other.
        self._resender = threading.Thread(
            target=self._send_held,
            args=(fresh, restart),
            name=f"{self.name}-resend",
            daemon=True,  # it may wait on a worker that hangs: it must not hold up an exit
        )
        self._resender.start()
        self._restart_over()

    def _begin_restart(self) -> dict[int, Pending]:
        """Under the send lock, as a restart begins: hold what is sent from now on, and
        take out what the dead worker had pending (to be answered as unanswered).

        From here, a resender of the restart before stops, and leaves what it has
        not sent to be answered with the rest the dead worker had.
        """
        self._restarts_begun += 1
        # What was sent and not answered is the dead worker's; what is held (a send
        # that found it dead) is the fresh one's.
        held = {request.id for request in self._held or ()}
        self._held = self._held or []
        unanswered = self._ledger.take_all()
        for request_id in held:
            self._ledger.put_back(unanswered.pop(request_id))
        return unanswered

    def _send_held(self, fresh: Link, restart: int) -> None:
        """The resender: send ``fresh`` what was sent while it restarted, in order, and
        what is sent while these go, until nothing is held; then sends go straight
        to it again. One that does not pickle is answered with a failure. If the
        fresh worker dies meanwhile, what was not sent is held again for the next
        one (or, once that restart has begun, answered with the rest)."""
        while True:
            with self._send_lock:
                if self._restarts_begun != restart or not self._held:
                    if self._restarts_begun == restart:
                        self._held = None
                    return
                batch, self._held = self._held, []
            for number, request in enumerate(batch):
                try:
                    fresh.send(request)
                except (EOFError, OSError):
                    with self._send_lock:
                        if self._restarts_begun == restart and self._held is not None:
                            self._held[:0] = batch[number:]
                    return
                except Exception as exc:
                    self._fail_unsendable(request, exc)

    def _fail_unsendable(self, request: Request, error: Exception) -> None:
        """Answer ``request``, held for a restart, with why it cannot be sent."""
        failure = Failure(request.id, str(self._send_failed(error)))
        pending = self._ledger.take(request.id)
        if pending is not None:
            pending.resolve(failure)
        self._notify(failure)
