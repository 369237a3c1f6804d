"""Workers started and stopped by the shell: ``.restart``, ``.reset``, ``.stop``, ``.quit``,
and the waits for their starts and ends.

Stopping waits for the workers' pending requests first, at most as long as
asked, and Ctrl-C stops the wait; then every request left unanswered is
counted and said. The blocking part (joining the workers) runs off the event
loop, so replies keep printing meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING

from doer.client.worker import Worker, stop_all
from doer.console.kind_facts import can_be_killed
from doer.console.render import STOPPING_RAY_CLUSTER, error_line, note_line, stuck_text
from doer.console.session import Console
from doer.frontends.shell.screen import Screen
from doer.frontends.shell.shown import Shown
from doer.frontends.shell.waits import Waits

if TYPE_CHECKING:
    from doer.console.outcomes import Kill, Restart


class Lifecycle:
    """Starts and stops the workers of ``console`` for the shell."""

    def __init__(self, console: Console, screen: Screen, shown: Shown, waits: Waits) -> None:
        self.console = console
        self.screen = screen
        self.shown = shown
        self.waits = waits

    async def wait_for_start(self, worker: Worker | None = None) -> None:
        """With ``.wait on``, show the prompt only once the worker's start is printed.

        Start-up is a program's line zero: its first prompt then comes after the
        start event, as every later prompt comes after its line's answers. A
        person (``.wait off``) gets the prompt at once, while the worker boots.
        """
        starting = worker or self.console.worker
        if starting is None or not self.console.settings.wait:
            return
        await self.waits.until(
            lambda: self.shown.start_shown(starting),
            at_most=self.console.start_timeout(starting),
        )

    def killed(self, kill: Kill) -> None:
        """``.kill``: the worker was killed, or told why not, as its lines say. A
        process or a task ends of it: its end is shown when the reply reader sees
        it, and waited for as an answer is; a thread goes on."""
        if kill.ends:
            self.shown.will_end(kill.worker)
        for fragments in kill.lines:
            self.screen.print(fragments)

    async def restart(self, restart: Restart) -> None:
        """Stop the worker (waiting at most the timeout), then start the one asked for."""
        old = self.console.workers.get(restart.name)
        if old is not None:
            self.shown.quitting = True  # the old worker's end needs no ".restart" hint
            try:
                # A worker is often restarted because it hangs: wait at most the timeout.
                stuck = await self.stop([old], wait=True, at_most=self.console.settings.timeout)
            finally:
                self.shown.quitting = False
            # It answers when it can: its lines must not look like the new one's.
            for worker in stuck:
                self.console.leave_behind(worker)
        await self.wait_for_start(self.console.relaunch(restart))

    async def reset(self) -> None:
        """``.reset``: end every worker as ``.quit`` does (waiting for their pending
        requests; Ctrl-C stops waiting), then start the first one afresh.

        A shared Ray worker is left running for the others, as ``.quit`` leaves
        it. A thread stuck in a handler is left behind: what it answers later is
        shown, marked as replaced.
        """
        running = self.console.running()
        shared = [worker for worker in running if worker.shared]
        own = [worker for worker in running if not worker.shared]
        self.shown.quitting = True  # their ends need no ".restart" hint
        try:
            stuck = await self.stop(own, wait=True)
            stuck += await self.stop(shared, wait=True, leave=True)
        finally:
            self.shown.quitting = False
        for worker in stuck:
            self.console.leave_behind(worker)
        await self.wait_for_start(self.console.start_afresh())

    async def quit(self, *, wait: bool) -> None:
        """Stop every worker, after their pending requests if ``wait`` (not after ``.quit!``)."""
        self.shown.quitting = True
        running = self.console.running()
        for worker in await self.stop(running, wait=wait, leave=True):
            self.console.leave_behind(worker)
        if self.console.ray_cluster_runs():
            self.screen.print(note_line(STOPPING_RAY_CLUSTER))
            await asyncio.get_running_loop().run_in_executor(None, self.console.stop_ray_cluster)

    async def stop(
        self,
        workers: list[Worker],
        *,
        wait: bool,
        at_most: float | None = None,
        leave: bool = False,
    ) -> list[Worker]:
        """Stop ``workers`` together, after their pending requests if ``wait``; return
        those stuck in a handler (each said so).

        Waiting lasts ``at_most`` seconds (None: until they are answered) and
        can be cut short with Ctrl-C. Every request not answered is said so: a
        count of those dropped and of those a thread still answers later
        (:func:`stopped_waiting_text`), and each dropped one's own failure
        line. ``leave``: the console is quitting, and leaves shared Ray workers
        running.
        """
        workers = [worker for worker in workers if worker.ended is None]
        if not workers:
            return []
        total = sum(worker.pending for worker in workers)
        answered_all = True
        if total:
            if wait:
                said = f"waiting for {total} pending request(s); Ctrl-C stops waiting"
                self.screen.print(note_line(said))
                answered_all = await self.waits.until(
                    lambda: all(self.shown.all_answers_shown(worker) for worker in workers),
                    at_most,
                )
            else:
                answered_all = False
            if answered_all:
                self.screen.print(note_line(f"all {total} pending request(s) answered"))
            else:
                said = stopped_waiting_text(workers, total, leaving=leave)
                self.screen.print(note_line(said))
        # Answered all: the workers end at once. Otherwise give them a moment, then kill.
        timeout = self.console.settings.timeout if answered_all else 0.2
        # stop_all() blocks until the end events: run it off the loop so replies keep printing.
        stuck = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(stop_all, workers, timeout, leave_shared=leave)
        )
        for worker in stuck:
            self.screen.print(error_line(stuck_text(worker.name, worker.kind)))
        return stuck


def stopped_waiting_text(workers: list[Worker], total: int, *, leaving: bool) -> str:
    """What becomes of the requests of ``workers`` still pending when the shell stops
    waiting for them (``total`` were pending when it began).

    A process is killed and a task cancelled: what they have not answered is
    dropped (each request then says so on a line of its own). A thread cannot
    be stopped: it still answers what it was sent, later, unless the console is
    ``leaving`` (nothing is shown after it has gone).
    """
    left = sum(worker.pending for worker in workers)
    to_come = 0 if leaving else sum(w.pending for w in workers if not can_be_killed(w.kind))
    parts = [f"{total - left} of {total} answered"]
    if left - to_come:
        parts.append(f"{left - to_come} dropped")
    if to_come:
        parts.append(f"{to_come} still to come")
    return "stopped waiting: " + ", ".join(parts)
