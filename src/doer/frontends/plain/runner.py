"""The plain runner: the lines read and carried out in turn, and the end of the run."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import BinaryIO, TextIO

from doer.base.protocol import Record
from doer.client.worker import NotPicklable, Pending, Worker, WorkerGone, stop_all
from doer.console.outcomes import handle
from doer.console.render import STOPPING_RAY_CLUSTER, creating_line, note_line, stuck_text
from doer.console.session import Console, Settings
from doer.console.syntax import Blank, Command, Invalid, Message, interpret
from doer.console.transcript import json_text
from doer.frontends.plain.ahead import SentAhead
from doer.frontends.plain.outcomes import Outcomes
from doer.frontends.plain.output import OutputGone, Writer
from doer.frontends.plain.records import Records
from doer.frontends.readahead import LineSource, ScriptFirst

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_GONE = 141  # 128 + SIGPIPE, as a shell reports a pipeline cut short


class PlainRunner:
    """Runs lines against a console and writes the transcript, in the order of the lines.

    It reads and carries out the lines, and waits: for an answer, for workers
    to stop (line mode makes Ctrl-C cut a wait short). The rest is its parts':
    :class:`~doer.frontends.plain.output.Writer` writes,
    :class:`~doer.frontends.plain.records.Records` says what records print,
    :class:`~doer.frontends.plain.ahead.SentAhead` sends lines ahead and
    prints them in order, :class:`~doer.frontends.plain.outcomes.Outcomes`
    takes the dot-commands' outcomes.
    """

    #: Why ``.wait off`` cannot be done here: every answer is awaited, one line at a time.
    WAITS_BECAUSE = "plain mode answers one line at a time"
    #: What writes the transcript (line mode: a writer for a terminal, with a prompt).
    WRITER: type[Writer] = Writer

    def __init__(
        self, settings: Settings, out: TextIO, *, jsonl: bool = False, quiet: bool = False
    ) -> None:
        self.console = Console(settings, always_waits=self.WAITS_BECAUSE)
        self.console.columns = lambda: 80  # a transcript is read on a screen, or printed
        # .save keeps every line written; --jsonl writes records, whose text is the line.
        if jsonl:
            self.console.transcript.shown = json_text
        self.writer = self.WRITER(out, self.console.transcript.add, jsonl=jsonl, quiet=quiet)
        self.records = Records(self.console, self.writer, strict=settings.strict)
        self.ahead = SentAhead(self.console, self.records, runner=self)
        self.outcomes = Outcomes(self.console, self.writer, self.records, runner=self)
        #: The line being carried out: what its answers answer.
        self.line = ""

    @property
    def out(self) -> TextIO:
        """Where the transcript goes."""
        return self.writer.out

    def run(self, lines: Iterable[bytes]) -> int:
        """Carry out every line; return the exit status.

        ``lines`` with a ``ready()`` method (a :class:`LineSource`) are sent ahead
        of their answers while ``ready()`` says more are there; other lines are
        answered one at a time.
        """
        self.ahead.more_ready = getattr(lines, "ready", self.ahead.more_ready)
        if not self.writer.quiet:
            self.writer.write(creating_line())
        interrupted = output_gone = False
        # Any way out but the end of the lines (Ctrl-C, or SIGTERM/SIGHUP raised as
        # SystemExit by the cli) gives the worker 1 s, not the --timeout, to stop.
        quick = True
        try:
            self.records.started(self.console.start())
            for number, raw in enumerate(lines, 1):
                if not self._run_line(number, raw):
                    break
                if self.ahead.has_lines() and not self.ahead.more_ready():
                    self.ahead.print_all()  # before reading waits: nothing left unsaid
            self.ahead.print_all()
            quick = self.outcomes.quit_now
        except KeyboardInterrupt:
            interrupted = True
        except OutputGone:
            output_gone = True  # nobody reads the answers: stop, quietly and quickly
        finally:
            self._finish(quick=quick, interrupted=interrupted)
        if output_gone or self.writer.gone:
            return EXIT_OUTPUT_GONE
        if interrupted:
            return EXIT_INTERRUPTED
        return EXIT_OK if self.writer.ok else EXIT_FAILED

    def _run_line(self, number: int, raw: bytes) -> bool:
        """Carry out one line; False when the line was ``.quit``."""
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            self.ahead.print_all()
            self.writer.fail(f"line {number} is not valid UTF-8 ({exc.reason} at byte {exc.start})")
            return True
        self.line = line
        what = interpret(line)
        if isinstance(what, Blank):
            return True
        if isinstance(what, Message) and self.ahead.take(line, what):
            return True
        self.ahead.print_all()
        self.records.print_late_answers()
        self.writer.echo(line)
        if isinstance(what, Invalid):
            self.writer.fail(what.error)
        elif isinstance(what, Command):
            return handle(self.console.outcome_of(what), self.outcomes)
        elif isinstance(what, Message):
            self._message(what)
        return True

    def one_at_a_time(self, line: str, message: Message) -> None:
        """Carry out a message line that could not be sent ahead, in its turn."""
        self.line = line
        self.writer.echo(line)
        self._message(message)

    def _message(self, message: Message) -> None:
        """Send ``message`` to its workers, then print every answer, in arrival order."""
        try:
            workers = self.console.targets(message.to)
        except ValueError as exc:
            self.writer.fail(str(exc))
            return
        if len(workers) == 1:  # the common case, and the hot path
            self._ask_one(workers[0], message)
            return
        sent, errors = self.console.tell_each(message, workers)
        for text, about in errors:
            self.writer.fail(text, about)
        for note in self.console.crowded_note(message, sent):
            self.writer.write(note)
        deadline = time.monotonic() + self.console.settings.timeout
        answered = []
        for worker, pending in sent:
            try:
                self.wait_for(pending, max(deadline - time.monotonic(), 0))
                answered.append((worker, pending))
            except TimeoutError:
                self.records.late(worker, pending, self.line)
        self.records.print_late_answers()  # answers come in order: any late ones came first
        for worker, pending in sorted(answered, key=lambda sent: sent[1].answered_at):
            self.records.show(worker, pending.wait(0), line=self.line, pending=pending)
            self.records.trace(worker, pending)
        for worker, _ in sent:
            self.records.report_end(worker)

    def _ask_one(self, worker: Worker, message: Message) -> None:
        """Send ``message`` to ``worker``, wait for its answer, and print it."""
        try:
            pending, late = self.request(worker, message.message)
        except WorkerGone:
            self.writer.fail(self.console.gone_text(worker))
            return
        except NotPicklable as exc:
            self.writer.fail(str(exc))
            return
        self.console.remember(message, [(worker, pending)])
        if late is not None:
            self.records.late(worker, pending, self.line)
            return
        record = pending.wait(0)
        self.records.print_late_answers()  # answers come in order: any late ones came first
        self.records.show(worker, record, line=self.line, pending=pending)
        self.records.trace(worker, pending)
        self.records.report_end(worker)

    def request(self, worker: Worker, message: object) -> tuple[Pending, TimeoutError | None]:
        """Send ``message`` and wait for its answer, up to the timeout; the error
        that says why it is late, if it is.

        This thread reads the answer itself while nobody else reads: no thread
        hand-off on each line, which is plain mode's throughput.
        """
        timeout = self.console.settings.timeout
        pending = worker.request(message, timeout, timed=True, parsed=True)
        return pending, None if pending.done() else pending.timeout_error(timeout)

    def wait_for(self, pending: Pending, timeout: float | None = None) -> Record:
        """The answer to ``pending``.

        Raises:
            TimeoutError: none within ``timeout`` (by default, the console's).
        """
        return pending.wait(self.console.settings.timeout if timeout is None else timeout)

    def stop(self, workers: list[Worker], quick: bool = False, leave: bool = False) -> list[Worker]:
        """Stop ``workers`` together and print how each ended; return those stuck.
        ``leave``: plain mode is ending, and leaves shared Ray workers running."""
        timeout = 1.0 if quick else self.console.settings.timeout
        stuck = stop_all(workers, timeout, leave_shared=leave)
        self.records.print_late_answers()
        for worker in workers:
            if worker in stuck:
                self.writer.fail(stuck_text(worker.name, worker.kind))
            self.records.report_end(worker)
        return stuck

    def _finish(self, quick: bool, interrupted: bool = False) -> None:
        """Print what is left, stop every worker, and say what was never answered.

        The workers are stopped even when the output has gone.
        """
        # Lines left in flight by Ctrl-C: those answered, then the workers' ends, then
        # the rest (answered or failed as their workers stopped; else late). Lines
        # gathered but not sent yet are dropped, as lines not read yet are.
        with contextlib.suppress(OutputGone):
            self.ahead.print_answered()
            if interrupted:
                self.writer.fail("interrupted")
        self.records.cut_short(self.ahead.lines_in_flight(), self.line)
        with contextlib.suppress(OutputGone):
            # Every worker, the ended ones too: one may have died since its last line,
            # and its death is reported (and makes the status 1).
            self.stop(list(self.console.workers.values()), quick, leave=True)
        self.console.close_shared_loop()
        if self.console.ray_cluster_runs():
            with contextlib.suppress(OutputGone):
                self.writer.write(note_line(STOPPING_RAY_CLUSTER))
            self.console.stop_ray_cluster()
        with contextlib.suppress(OutputGone):
            self.ahead.print_in_flight(timeout=0.0)
            self.records.never_answered()
            self.writer.flush()


def run_plain(
    stream: BinaryIO,
    out: TextIO,
    settings: Settings,
    *,
    jsonl: bool = False,
    quiet: bool = False,
    first: list[bytes] | None = None,
) -> int:
    """Run plain mode over the lines of ``stream``; return the exit status.

    ``jsonl``: each line as a JSON object (``--jsonl``); ``quiet``: only what
    answers the lines (``-c``); ``first``: lines to run before the stream's
    (``-i --script FILE``).
    """
    lines = LineSource(stream)
    runner = PlainRunner(settings, out, jsonl=jsonl, quiet=quiet)
    return runner.run(lines if first is None else ScriptFirst(first, lines))
