"""Restart policies: a worker that dies is started again, within a budget.

The ideas are Erlang/OTP's. A worker's :class:`RestartPolicy` says when it is
restarted:

- ``never`` (the default): a worker that dies stays dead, as it always did;
- ``on-failure``: restarted when it dies (a crash, a kill, a loop ended by an
  uncaught exception), not when it ends as asked (``exit``, a handler's
  ``sys.exit()``);
- ``always``: restarted whenever it ends on its own, ``exit`` included.

``stop()`` (``.stop``, ``.quit``) ends a worker for good under every policy:
it is the supervisor itself stopping its worker, as OTP's supervisor never
restarts a child it terminated. Otherwise ``always`` would leave no way to
stop one.

The budget is OTP's restart intensity: at most ``max_restarts`` restarts
within any ``within_s`` seconds. A death that would be one more is not
restarted: the supervisor gives up, says so, and the worker stays dead. doer's
default is 3 in 5 s (OTP's is 1 in 5 s): enough to ride out a crash or two in
class, few enough that a worker dying on every message is given up on at
once.

A restart is a fresh worker: a new process (a new pid) or a new thread, the
state it was first given, its handler modules loaded again. What the dead
one had pending is failed, each request with its line; what is sent while
it restarts waits for the new one (or fails with a line if it does not come).

The supervisor is doer's, the same for every kind, a Ray actor's included:
Ray's own ``max_restarts`` would restart the actor inside Ray, out of the
console's sight, and keep its name and handle, so a class could not see the
death, the fresh process, or the budget run out; here every kind shows them
the same way.

:class:`Supervisor` keeps one worker's policy, its restarts, and how to open a
new link; :class:`~doer.client.worker.Worker` asks it what to do with each end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from doer.base.protocol import Died, Ended, Restarted

if TYPE_CHECKING:
    from doer.kinds import Link

#: The policies, as typed after ``--restart``.
WHEN = ("never", "on-failure", "always")
#: The default budget: at most this many restarts within this many seconds.
MAX_RESTARTS = 3
WITHIN_S = 5.0


class RestartPolicy(NamedTuple):
    """When a worker is restarted (:data:`WHEN`), and the budget: at most
    ``max_restarts`` restarts within any ``within_s`` seconds."""

    when: str = "never"
    max_restarts: int = MAX_RESTARTS
    within_s: float = WITHIN_S

    @classmethod
    def checked(
        cls, when: str, max_restarts: int = MAX_RESTARTS, within_s: float = WITHIN_S
    ) -> RestartPolicy:
        """A policy from what was typed or passed.

        Raises:
            ValueError: not a policy, or a budget that is not a whole number >= 0
                and a time > 0.
        """
        if when not in WHEN:
            raise ValueError(f"no restart policy {when!r}: choose {', '.join(WHEN)}")
        if type(max_restarts) is not int or max_restarts < 0:
            raise ValueError(f"--max-restarts takes a whole number >= 0, not {max_restarts!r}")
        if max_restarts == 0 and when != "never":
            raise ValueError(f"--restart {when} with --max-restarts 0 would never restart")
        if not 0 < within_s < float("inf"):
            raise ValueError(f"--within takes a number of seconds > 0, not {within_s!r}")
        return cls(when, max_restarts, float(within_s))

    @property
    def supervised(self) -> bool:
        """Whether a worker under it is ever restarted."""
        return self.when != "never" and self.max_restarts > 0

    def wants(self, end: Ended | Died) -> bool:
        """Whether this end calls for a restart (the budget aside)."""
        if self.when == "always":
            return True
        return self.when == "on-failure" and isinstance(end, Died)

    def budget_text(self) -> str:
        """``3 in 5 s``."""
        return f"{self.max_restarts} in {self.within_s:g} s"

    def text(self) -> str:
        """``on-failure (3 in 5 s)``, or ``never``: how ``.workers`` and ``.status`` say it."""
        return self.when if not self.supervised else f"{self.when} ({self.budget_text()})"


class Restart(NamedTuple):
    """One restart: when (``time.time()``), why (how the worker ended), the pids
    before and after (0: the fresh worker has not said it started yet), which of
    the budget's restarts it was, and when it was done on ``time.perf_counter()``
    (the clock a Pending's ``sent_at`` is on)."""

    at: float
    why: str
    old_pid: int
    new_pid: int
    number: int
    done_at: float = 0.0


def restarted_record(restart: Restart, policy: RestartPolicy) -> Restarted:
    """The line that says ``restart``: ``restarted (2 of 3 in 5 s) after it died:
    killed by SIGSEGV`` (the budget first: a line too long for the screen loses
    the end of why)."""
    budget = f"{restart.number} of {policy.max_restarts} in {policy.within_s:g} s"
    return Restarted(f"restarted ({budget}) after it {restart.why}")


def end_text(end: Ended | Died) -> str:
    """How a worker ended, as a restart line says it: ``died: killed by SIGSEGV``,
    ``ended: exit``."""
    if isinstance(end, Died):
        return f"died: {end.reason}"
    return f"ended: {end.reason}" if end.reason else "ended: exit"


class Supervisor:
    """One worker's restarts: its policy, the restarts so far, and how to open a new link.

    Args:
        policy: when to restart, and the budget.
        opener: opens a fresh link of the same name, kind and options (its
            handler modules loaded again).
        clock: ``time.monotonic``; a test may give its own.
    """

    def __init__(
        self,
        policy: RestartPolicy,
        opener: Callable[[], Link],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.opener = opener
        self._clock = clock
        self._recent: list[float] = []  # when the restarts of the budget's window began
        #: Every restart, oldest first.
        self.restarts: list[Restart] = []
        #: Why it was given up on (None: it was not).
        self.gave_up: str | None = None
        #: Set by ``stop()``: the worker is being stopped for good.
        self.stopping = False

    def should_restart(self, end: Ended | Died) -> bool:
        """Whether ``end`` is to be followed by a restart: the policy wants it, the
        worker is not being stopped, and the budget allows one more. When only the
        budget says no, :attr:`gave_up` says why."""
        if self.stopping or not self.policy.wants(end):
            return False
        now = self._clock()
        self._recent = [at for at in self._recent if now - at < self.policy.within_s]
        if len(self._recent) >= self.policy.max_restarts:
            count = len(self._recent)
            self.gave_up = (
                f"gave up: {count} restart{'' if count == 1 else 's'}"
                f" in {self.policy.within_s:g} s spent its budget"
            )
            return False
        self._recent.append(now)
        return True

    def restarted(self, end: Ended | Died, old_pid: int) -> Restarted:
        """Note a restart done (its new pid: 0 until :meth:`fresh_started`); the line
        that says it."""
        restart = Restart(
            time.time(), end_text(end), old_pid, 0, len(self._recent), time.perf_counter()
        )
        self.restarts.append(restart)
        return restarted_record(restart, self.policy)

    def fresh_started(self, pid: int) -> None:
        """The worker (the first, or a fresh one) has said it started, as process
        ``pid``: the last restart's new pid is that one. (Not the pid its link knows
        as it opens: for a Ray actor, that is its driver's.)"""
        if self.restarts and not self.restarts[-1].new_pid:
            self.restarts[-1] = self.restarts[-1]._replace(new_pid=pid)

    def failed_to_restart(self, error: Exception) -> str:
        """Why the worker stays dead: its restart itself failed."""
        self.gave_up = f"gave up: its restart failed: {error}"
        return self.gave_up
