"""What plain mode does with a dot-command's outcome: the one place that decides it.

Plain mode is an :class:`~doer.console.outcomes.OutcomeHandler`: each kind of
outcome :meth:`~doer.console.session.Console.outcome_of` returns has its
method here, ``on_<kind>``, and :func:`~doer.console.outcomes.handle` picks
it. Where the console cannot go on by itself (a worker's start or stop, a
``.repeat``'s answers), plain mode blocks, and prints what each step made
happen before the next line is read.
"""

from __future__ import annotations

from typing import Protocol

from doer.client.worker import Pending, Worker
from doer.console import outcomes
from doer.console.session import Console, repeat_summary
from doer.frontends.plain.ahead import Waits
from doer.frontends.plain.output import Writer
from doer.frontends.plain.records import Records


class Runner(Waits, Protocol):
    """What the outcomes ask of the runner: the line it carries out, and to wait for
    answers and for workers to stop (line mode: Ctrl-C cuts either wait short)."""

    line: str

    def stop(
        self, workers: list[Worker], quick: bool = False, leave: bool = False
    ) -> list[Worker]: ...


class Outcomes(outcomes.OutcomeHandler[bool]):
    """What each kind of outcome asks of plain mode; each method returns False when
    the run is to end."""

    def __init__(
        self, console: Console, writer: Writer, records: Records, *, runner: Runner
    ) -> None:
        self.console = console
        self.writer = writer
        self.records = records
        self.runner = runner
        self.quit_now = False  # .quit! stops the workers without waiting

    def on_said(self, said: outcomes.Said) -> bool:
        for fragments in said.lines:
            self.writer.write(fragments, type_="output")
        return True

    def on_refused(self, refused: outcomes.Refused) -> bool:
        self.writer.fail(refused.error)
        return True

    def on_quit(self, quit: outcomes.Quit) -> bool:
        self.quit_now = not quit.wait
        return False

    def on_restart(self, restart: outcomes.Restart) -> bool:
        old = self.console.workers.get(restart.name)
        if old is not None:
            # Stuck in a handler: its late lines must not look like the new one's.
            for worker in self.runner.stop([old]):
                self.console.leave_behind(worker)
        self.records.started(self.console.relaunch(restart))
        return True

    def on_spawned(self, spawned: outcomes.Spawned) -> bool:
        for worker in spawned.workers:  # they boot together; their starts print in order
            self.records.started(worker)
        return True

    def on_reset(self, reset: outcomes.Reset) -> bool:
        """``.reset``: stop every worker as ``.quit`` does, then start the first afresh."""
        for worker in self.runner.stop(list(self.console.workers.values()), leave=True):
            self.console.leave_behind(worker)  # its late lines must not look like the new one's
        self.records.started(self.console.start_afresh())
        return True

    def on_stop(self, stop: outcomes.Stop) -> bool:
        self.runner.stop([stop.worker])
        return True

    def on_kill(self, kill: outcomes.Kill) -> bool:
        for fragments in kill.lines:
            self.writer.write(fragments, worker=kill.worker)
        worker = kill.worker
        if kill.ends and worker.restart_policy.supervised:  # it is restarted, or given up on
            worker.wait_after_restarts(kill.restarts, self.console.start_timeout(worker))
            self.records.report_end(worker)
        elif kill.ends:  # it ends: collect and report its end now
            worker.stop(self.console.settings.timeout)
            self.records.report_end(worker)
        return True

    def on_repeat(self, repeat: outcomes.Repeat) -> bool:
        """``.repeat N LINE``: send it N times to each worker, print every answer as it
        came, then each worker's rate."""
        line = self.runner.line
        for round_ in self.console.send_repeated(repeat):
            for text, about in round_.errors:
                self.writer.fail(text, about)
        workers = list(round_.sent)
        sent = [(worker, pendings) for worker, pendings in round_.sent.items() if pendings]
        answered: list[tuple[Worker, Pending]] = []
        for worker, pendings in sent:
            for number, pending in enumerate(pendings):
                try:  # the timeout counts from the answer before: a worker that stalls
                    self.runner.wait_for(pending)
                except TimeoutError:
                    self.records.late(worker, pending, line)
                    # the rest wait behind it: each is printed if it comes
                    self.records.late_behind(worker, pendings[number + 1 :], line)
                    break
                answered.append((worker, pending))
        self.records.print_late_answers()  # answers come in order: any late ones came first
        if len(sent) > 1:
            answered.sort(key=lambda each: each[1].answered_at)
        for worker, pending in answered:
            answer = pending.wait(0)
            self.records.show(worker, answer, flush=False, line=line, pending=pending)
        for worker, pendings in sent:
            self.writer.write(repeat_summary(worker, pendings), flush=False, worker=worker)
        for worker in workers:
            self.records.report_end(worker)
        self.writer.flush()
        return True
