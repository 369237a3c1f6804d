"""Plain mode: the console without prompt-toolkit, for pipes and ``--script`` files.

Each line is echoed as ``> line``, then its answer (or a timeout) is printed,
before the next line's echo, so the output is a transcript that can go into
handouts, docs and tests. The text is the interactive shell's, without colours
or escape codes. The exit status is 0 only if every line went well: no error
reply, no timeout, no bad line, no dead worker.

Lines are *sent* ahead of their answers, though, while more lines are already
waiting to be read::

    stdin ──> LineSource ──> message lines ──> worker.tell_many() ──> worker
                                  │                                      │
                                  ▼                                      ▼
                       in flight: deque of               answers, in order, on each
                       (line, worker, Pending) ──>       Pending ──> echo + answer printed

Message lines for one worker are gathered and sent together, then join the
lines in flight; anything else (a
dot-command, a line for several workers, a bad line) first prints every line
in flight, then runs as before. When no further line can be read without
waiting (a program typing one line at a time), every line in flight is printed
before reading: it never waits for input with an answer unprinted. The
transcript is the same as one line at a time; only the waiting overlaps.
"""

from __future__ import annotations

import contextlib
import os
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import BinaryIO, NamedTuple, TextIO

from doer.base.protocol import Died, Ended, Failure, Note, Record, Reply, Started
from doer.client.worker import Pending, Worker, WorkerGone, stop_all
from doer.console.render import (
    STOPPING_RAY_CLUSTER,
    Fragments,
    creating_line,
    echo_line,
    error_line,
    failed_text,
    is_unknown_message,
    late_answer_line,
    late_text,
    note_line,
    plain,
    record_line,
    stuck_text,
    trace_line,
)
from doer.console.session import (
    Console,
    Kill,
    Quit,
    Repeat,
    Reset,
    Restart,
    Settings,
    Spawned,
    Stop,
    repeat_summary,
)
from doer.console.syntax import Blank, Command, Invalid, Message, interpret
from doer.console.transcript import json_text
from doer.frontends.jsonl import JsonLines
from doer.frontends.readahead import LineSource

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_GONE = 141  # 128 + SIGPIPE, as a shell reports a pipeline cut short


#: The most lines in flight at once: enough to keep a worker busy, few enough
#: that the answers waiting to be printed stay small.
MAX_IN_FLIGHT = 1000

#: The most lines for one worker sent together (one write to a process's pipe).
SENT_TOGETHER = 64

#: The most lines kept in the runner's buffer before they are written out.
BUFFERED_LINES = 256

#: Messages after which the worker is gone: lines after them wait for their
#: answer, so that a line sent to an ended worker says so, as one at a time.
ENDS_THE_WORKER = frozenset({"exit", "die", "segfault"})


class OutputGone(Exception):
    """Whoever read the transcript has gone (``doer ... | head``)."""


class InFlight(NamedTuple):
    """A message line sent, its answer not printed yet."""

    line: str
    worker: Worker
    pending: Pending


class Late(NamedTuple):
    """A request reported late (or whose wait was cut short): its answer is printed
    when it comes, marked late, before the next line's."""

    worker: Worker
    pending: Pending
    line: str


#: The ``--jsonl`` type of each record a worker sends.
RECORD_TYPES: dict[type, str] = {
    Reply: "reply",
    Failure: "error",
    Started: "started",
    Ended: "ended",
    Died: "died",
    Note: "note",
}


class PlainRunner:
    """Runs lines against a console and writes the transcript, in the order of the lines."""

    #: Why ``.wait off`` cannot be done here: every answer is awaited, one line at a time.
    WAITS_BECAUSE = "plain mode answers one line at a time"

    def __init__(
        self, settings: Settings, out: TextIO, *, jsonl: bool = False, quiet: bool = False
    ) -> None:
        self.console = Console(settings, always_waits=self.WAITS_BECAUSE)
        #: ``--jsonl``: each line goes out as a JSON object (:mod:`doer.frontends.jsonl`).
        self.jsonl = JsonLines() if jsonl else None
        #: ``-c``: only what answers the lines; no echo, no start, no ordinary end.
        self.quiet = quiet
        #: ``--strict``: an ``unknown message`` answer fails the run too.
        self.strict = settings.strict
        self.console.columns = lambda: 80  # a transcript is read on a screen, or printed
        # .save keeps every line written; --jsonl writes records, whose text is the line.
        self._record = self.console.transcript.add
        if jsonl:
            self.console.transcript.shown = json_text
        self.out = out
        self.ok = True
        self._in_flight: deque[InFlight] = deque()
        # Lines taken to be sent together, not sent yet: (line, worker, message).
        self._unsent: list[tuple[str, Worker, Message]] = []
        self._buffer: list[str] = []  # lines written, not yet flushed
        # Whether the next line can be read without waiting; never, unless the
        # lines say otherwise (LineSource): then each line is answered first.
        self._more_ready: Callable[[], bool] = lambda: False
        self._late: list[Late] = []  # timed out, answer may still come
        # Requests whose wait was cut short as the run ended (a signal, Ctrl-C): each
        # is printed as it is settled when the workers stop, never dropped unsaid.
        self._cut_short: list[Late] = []
        self._line = ""  # the line being carried out (what a one-at-a-time answer answers)
        # The workers whose end was printed. Weak: a stopped worker is let go, and
        # an id() could be reused by a later worker.
        self._reported_end: weakref.WeakSet[Worker] = weakref.WeakSet()
        self._quit_now = False  # .quit! stops the worker without waiting
        self._output_gone = False

    def write(
        self,
        fragments: Fragments,
        *,
        flush: bool = True,
        type_: str = "note",
        worker: Worker | None = None,
        request_id: int | None = None,
        line: str | None = None,
        pending: Pending | None = None,
        late: bool = False,
    ) -> None:
        """Write one line of the transcript; ``flush=False`` keeps it in this runner's
        buffer, which a later :meth:`flush` writes out (before anything waits).

        The rest says what the line is, for ``--jsonl`` (:meth:`JsonLines.line`):
        its type, the worker, request and typed line it is about, the request's times.

        The buffer is the runner's own, not the stream's: with ``PYTHONUNBUFFERED``
        set, every write to ``sys.stdout`` would be a system call.

        Raises:
            OutputGone: the reader closed the pipe; later writes do nothing.
        """
        text = plain(fragments)
        if self.jsonl is not None:
            text = self.jsonl.line(
                type_,
                text,
                worker=worker,
                request_id=request_id,
                line=line,
                pending=pending,
                late=late,
            )
        self._put(text, flush)

    def _put(self, text: str, flush: bool) -> None:
        """Buffer one line of output, as it goes out; flush as :meth:`write` says."""
        self._buffer.append(text)
        self._record(text)
        if flush or len(self._buffer) >= BUFFERED_LINES:
            self.flush()

    def flush(self) -> None:
        """Write out the lines buffered.

        Raises:
            OutputGone: as :meth:`write`.
        """
        if self._output_gone:
            self._buffer.clear()
            return
        if not self._buffer:
            return
        text = "\n".join(self._buffer) + "\n"
        self._buffer.clear()
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self._gone()

    def _gone(self) -> None:
        self._output_gone = True
        _silence(self.out)
        raise OutputGone from None

    def echo(self, line: str, *, flush: bool = True) -> None:
        """Show the line being carried out: ``> ping``, so the transcript reads alone."""
        if self.quiet:
            return
        self._put(plain(echo_line(line)) if self.jsonl is None else self.jsonl.input(line), flush)

    def fail(
        self, text: str, about: Worker | None = None, *, request_id: int | None = None
    ) -> None:
        self.ok = False
        self.write(error_line(text, about), type_="error", worker=about, request_id=request_id)

    def late(self, worker: Worker, pending: Pending, line: str) -> None:
        """Say that ``pending`` has no answer yet: news, not an error (the status counts it)."""
        self.ok = False
        self.write(
            note_line(late_text(pending, self.console.settings.timeout), worker),
            type_="late",
            worker=worker,
            request_id=pending.request_id,
            line=line,
            pending=pending,
        )
        self._late.append(Late(worker, pending, line))

    def run(self, lines: Iterable[bytes]) -> int:
        """Carry out every line; return the exit status.

        ``lines`` with a ``ready()`` method (a :class:`LineSource`) are sent ahead
        of their answers while ``ready()`` says more are there; other lines are
        answered one at a time.
        """
        self._more_ready = getattr(lines, "ready", self._more_ready)
        if not self.quiet:
            self.write(creating_line())
        interrupted = output_gone = False
        # Any way out but the end of the lines (Ctrl-C, or SIGTERM/SIGHUP raised as
        # SystemExit by the cli) gives the worker 1 s, not the --timeout, to stop.
        quick = True
        try:
            self._start()
            for number, raw in enumerate(lines, 1):
                if not self._run_line(number, raw):
                    break
                if (self._in_flight or self._unsent) and not self._more_ready():
                    self._print_in_flight()  # before reading waits: nothing left unsaid
            self._print_in_flight()
            quick = self._quit_now
        except KeyboardInterrupt:
            interrupted = True
        except OutputGone:
            output_gone = True  # nobody reads the answers: stop, quietly and quickly
        finally:
            self._finish(quick=quick, interrupted=interrupted)
        if output_gone or self._output_gone:
            return EXIT_OUTPUT_GONE
        if interrupted:
            return EXIT_INTERRUPTED
        return EXIT_OK if self.ok else EXIT_FAILED

    def _run_line(self, number: int, raw: bytes) -> bool:
        """Carry out one line; False when the line was ``.quit``."""
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            self._print_in_flight()
            self.fail(f"line {number} is not valid UTF-8 ({exc.reason} at byte {exc.start})")
            return True
        self._line = line
        what = interpret(line)
        if isinstance(what, Blank):
            return True
        if isinstance(what, Message) and self._send_ahead(line, what):
            return True
        self._print_in_flight()
        self._print_late_answers()
        self.echo(line)
        if isinstance(what, Invalid):
            self.fail(what.error)
        elif isinstance(what, Command):
            return self._command(what)
        elif isinstance(what, Message):
            self._message(what)
        return True

    def _command(self, command: Command) -> bool:
        """Carry out a dot-command; False when it was ``.quit``."""
        try:
            outcome = self.console.carry_out(command)
        except ValueError as exc:
            self.fail(str(exc))
            return True
        except Exception as exc:  # a bug of doer's: one line, and the console goes on
            self.fail(failed_text(command.name, exc))
            return True
        if isinstance(outcome, Quit):
            self._quit_now = not outcome.wait
            return False
        if isinstance(outcome, Repeat):
            self._repeat(outcome)
            return True
        if isinstance(outcome, Restart):
            old = self.console.workers.get(outcome.name)
            if old is not None:
                for worker in self._stop([old]):  # its late lines must not look like the new one's
                    self.console.leave_behind(worker)
            self._started(self.console.relaunch(outcome))
        elif isinstance(outcome, Spawned):
            for worker in outcome.workers:  # they boot together; their starts print in order
                self._started(worker)
        elif isinstance(outcome, Reset):
            self._reset()
        elif isinstance(outcome, Stop):
            self._stop([outcome.worker])
        elif isinstance(outcome, Kill):
            for fragments in outcome.lines:
                self.write(fragments, worker=outcome.worker)
            if outcome.worker.kind != "thread":  # it ends: collect and report its end now
                outcome.worker.stop(self.console.settings.timeout)
                self._report_end(outcome.worker)
        else:
            for fragments in outcome:
                self.write(fragments, type_="output")
        return True

    def _reset(self) -> None:
        """``.reset``: stop every worker as ``.quit`` does, then start the first afresh."""
        for worker in self._stop(list(self.console.workers.values()), leave=True):
            self.console.leave_behind(worker)  # its late lines must not look like the new one's
        self._started(self.console.start_afresh())

    def _message(self, message: Message) -> None:
        """Send ``message`` to its workers, then print every answer, in arrival order."""
        try:
            workers = self.console.targets(message.to)
        except ValueError as exc:
            self.fail(str(exc))
            return
        if len(workers) == 1:  # the common case, and the hot path
            self._ask_one(workers[0], message)
            return
        sent, errors = self.console.tell_each(message, workers)
        for text, about in errors:
            self.fail(text, about)
        for note in self.console.crowded_note(message, sent):
            self.write(note)
        deadline = time.monotonic() + self.console.settings.timeout
        answered = []
        for worker, pending in sent:
            try:
                self.wait_for(pending, max(deadline - time.monotonic(), 0))
                answered.append((worker, pending))
            except TimeoutError:
                self.late(worker, pending, self._line)
        self._print_late_answers()  # answers come in order: any late ones came first
        for worker, pending in sorted(answered, key=lambda sent: sent[1].answered_at):
            self._show(worker, pending.wait(0), line=self._line, pending=pending)
            self._trace(worker, pending)
        for worker, _ in sent:
            self._report_end(worker)

    def _send_ahead(self, line: str, message: Message) -> bool:
        """Take a line for one worker to be sent without waiting, if more lines wait
        behind it.

        Lines for the same worker are gathered (at most :data:`SENT_TOGETHER`)
        and sent together when the run of them ends: one write to a process
        worker's pipe for all of them. Returns False, having taken nothing,
        when the line is to be carried out the usual way: several workers, a
        name no worker has, a worker gone, or nothing in flight and no next
        line to send.
        """
        if len(message.to) > 1 or not (self._in_flight or self._unsent or self._more_ready()):
            return False
        if _action(message.message) in ENDS_THE_WORKER:
            return False
        try:
            [worker] = self.console.targets(message.to)
        except ValueError:
            return False
        if worker.ended is not None:
            return False
        if self._unsent and self._unsent[0][1] is not worker:
            self._send_unsent()
        self._unsent.append((line, worker, message))
        if len(self._unsent) >= SENT_TOGETHER or not self._more_ready():
            self._send_unsent()
        return True

    def _send_unsent(self) -> None:
        """Send the lines gathered by :meth:`_send_ahead`; they join the lines in flight.

        If they cannot go together (the worker has gone, or one of them does
        not pickle: then none was sent), each is carried out the usual way,
        in its turn, and says what happened to it.
        """
        unsent, self._unsent = self._unsent, []
        if not unsent:
            return
        worker = unsent[0][1]
        try:
            pendings = worker.tell_many(
                [message.message for _, _, message in unsent], timed=True, parsed=True
            )
        except (ValueError, WorkerGone):
            for line, _, message in unsent:
                self._print_in_flight()
                self._line = line
                self.echo(line)
                self._message(message)
            return
        for (line, _, _), pending in zip(unsent, pendings, strict=True):
            self._in_flight.append(InFlight(line, worker, pending))
        self.console.remember(unsent[-1][2], [(worker, pendings[-1])])
        while len(self._in_flight) >= MAX_IN_FLIGHT:
            self._print_oldest()

    def _print_in_flight(self) -> None:
        """Print every line in flight with its answer, in the order they were read."""
        self._send_unsent()
        while self._in_flight:
            self._print_oldest()
        self.flush()

    def _print_oldest(self, timeout: float | None = None) -> None:
        """Print the oldest line in flight and its answer, waiting for it if need be
        (``timeout``: by default, the console's)."""
        line, worker, pending = self._in_flight.popleft()
        if self._late or self._cut_short:
            self._print_late_answers()
        self.echo(line, flush=False)
        if not pending.done():
            self.flush()  # what is answered shows while this one is awaited
        try:
            record = self.wait_for(pending, timeout)
        except TimeoutError:
            self.late(worker, pending, line)
            return
        if self._late or self._cut_short:
            self._print_late_answers()  # they came while this one was awaited: first
        self._show(worker, record, flush=False, line=line, pending=pending)
        self._trace(worker, pending)
        if worker.ended is not None and not self._has_in_flight(worker):
            self._report_end(worker)  # after its last line: it may be that line's answer

    def _has_in_flight(self, worker: Worker) -> bool:
        return any(entry.worker is worker for entry in self._in_flight)

    def _repeat(self, repeat: Repeat) -> None:
        """``.repeat N LINE``: send it N times to each worker, print every answer as it
        came, then each worker's rate."""
        for round_ in self.console.send_repeated(repeat):
            for text, about in round_.errors:
                self.fail(text, about)
        workers = list(round_.sent)
        sent = [(worker, pendings) for worker, pendings in round_.sent.items() if pendings]
        answered: list[tuple[Worker, Pending]] = []
        for worker, pendings in sent:
            for number, pending in enumerate(pendings):
                try:  # the timeout counts from the answer before: a worker that stalls
                    self.wait_for(pending)
                except TimeoutError:
                    self.late(worker, pending, self._line)
                    self._late += [
                        Late(worker, later, self._line) for later in pendings[number + 1 :]
                    ]
                    break  # the rest wait behind it: each is printed if it comes
                answered.append((worker, pending))
        self._print_late_answers()  # answers come in order: any late ones came first
        if len(sent) > 1:
            answered.sort(key=lambda each: each[1].answered_at)
        for worker, pending in answered:
            self._show(worker, pending.wait(0), flush=False, line=self._line, pending=pending)
        for worker, pendings in sent:
            self.write(repeat_summary(worker, pendings), flush=False, worker=worker)
        for worker in workers:
            self._report_end(worker)
        self.flush()

    def _ask_one(self, worker: Worker, message: Message) -> None:
        """Send ``message`` to ``worker``, wait for its answer, and print it."""
        try:
            pending, late = self.request(worker, message.message)
        except WorkerGone:
            self.fail(self.console.gone_text(worker))
            return
        except ValueError as exc:  # it does not pickle
            self.fail(str(exc))
            return
        self.console.remember(message, [(worker, pending)])
        if late is not None:
            self.late(worker, pending, self._line)
            return
        record = pending.wait(0)
        self._print_late_answers()  # answers come in order: any late ones came first
        self._show(worker, record, line=self._line, pending=pending)
        self._trace(worker, pending)
        self._report_end(worker)

    def _trace(self, worker: Worker, pending: Pending) -> None:
        """With ``.trace on``, say how the request crossed to the worker and back."""
        if self.console.settings.trace:
            self.write(
                trace_line(worker, worker.transport, pending),
                worker=worker,
                request_id=pending.request_id,
                pending=pending,
            )

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

    def _show(
        self,
        worker: Worker,
        record: Record,
        *,
        flush: bool = True,
        line: str | None = None,
        pending: Pending | None = None,
        late: bool = False,
    ) -> None:
        """Print ``record`` from ``worker``: the answer to ``pending`` (typed as ``line``),
        if it is one; ``late``: an answer that came after its request was reported late."""
        if isinstance(record, Failure) or (self.strict and is_unknown_message(record)):
            self.ok = False
        fragments = record_line(worker, record, replaced=self.console.is_replaced(worker))
        if late and pending is not None:
            fragments = late_answer_line(fragments, pending.summary())
        text = plain(fragments)
        if self.jsonl is not None:  # the hot path of --jsonl: positional, no keywords
            type_ = RECORD_TYPES.get(type(record), "note")
            text = self.jsonl.answer(type_, text, worker, line, pending, late)
        self._put(text, flush)
        if isinstance(record, Ended):
            self._reported_end.add(worker)

    def _report_end(self, worker: Worker) -> None:
        """Print how the worker ended, once, if it ended without being asked to."""
        end = worker.ended
        if end is None or worker in self._reported_end:
            return
        self._reported_end.add(worker)
        if isinstance(end, Died):
            self.ok = False
        elif self.quiet:
            return  # -c: an end that was asked for is no answer to a line
        replaced = self.console.is_replaced(worker)
        self.write(
            record_line(worker, end, replaced=replaced),
            type_=RECORD_TYPES[type(end)],
            worker=worker,
        )

    def _print_late_answers(self) -> None:
        """Print the answers that came to requests reported late, or whose wait was cut
        short, each marked as late on its own line (in line mode it lands among the
        next line's answers: the mark tells them apart)."""
        still_cut_short = []
        for late in self._cut_short:
            if late.pending.done():
                self._show(late.worker, late.pending.wait(0), line=late.line, pending=late.pending)
            else:
                still_cut_short.append(late)
        self._cut_short = still_cut_short
        still_late = []
        for late in self._late:
            if late.pending.done():
                record = late.pending.wait(0)
                self._show(late.worker, record, line=late.line, pending=late.pending, late=True)
            else:
                still_late.append(late)
        self._late = still_late

    def _start(self) -> None:
        """Start the command line's worker."""
        self._started(self.console.start())

    def _started(self, worker: Worker) -> None:
        """Wait for ``worker``'s start event and print it."""
        try:
            started = worker.wait_started(self.console.start_timeout(worker))
        except (TimeoutError, WorkerGone) as exc:
            self._write_notes(worker)
            self.fail(str(exc))  # it says why it did not start: its end need not say it again
            if worker.ended is not None:
                self._reported_end.add(worker)
            return
        self._write_notes(worker)
        if not self.quiet:
            self.write(record_line(worker, started), type_="started", worker=worker)

    def _write_notes(self, worker: Worker) -> None:
        """What its kind said while it started (``starting a private Ray cluster``)."""
        for note in worker.notes:
            self.write(record_line(worker, note), worker=worker)

    def _stop(
        self, workers: list[Worker], quick: bool = False, leave: bool = False
    ) -> list[Worker]:
        """Stop ``workers`` together and print how each ended; return those stuck.
        ``leave``: plain mode is ending, and leaves shared Ray workers running."""
        timeout = 1.0 if quick else self.console.settings.timeout
        stuck = stop_all(workers, timeout, leave_shared=leave)
        self._print_late_answers()
        for worker in workers:
            if worker in stuck:
                self.fail(stuck_text(worker.name, worker.kind))
            self._report_end(worker)
        return stuck

    def _finish(self, quick: bool, interrupted: bool = False) -> None:
        """Print what is left, stop every worker, and say what was never answered.

        The workers are stopped even when the output has gone.
        """
        # Lines left in flight by Ctrl-C: those answered, then the workers' ends, then
        # the rest (answered or failed as their workers stopped; else late). Lines
        # gathered but not sent yet are dropped, as lines not read yet are.
        with contextlib.suppress(OutputGone):
            while self._in_flight and self._in_flight[0].pending.done():
                self._print_oldest()
            if interrupted:
                self.fail("interrupted")
        self._cut_short = self._awaited_unprinted()
        with contextlib.suppress(OutputGone):
            # Every worker, the ended ones too: one may have died since its last line,
            # and its death is reported (and makes the status 1).
            self._stop(list(self.console.workers.values()), quick, leave=True)
        self.console.close_shared_loop()
        if self.console.ray_cluster_runs():
            with contextlib.suppress(OutputGone):
                self.write(note_line(STOPPING_RAY_CLUSTER))
            self.console.stop_ray_cluster()
        with contextlib.suppress(OutputGone):
            while self._in_flight:
                self._print_oldest(timeout=0.0)
            for late in self._late + self._cut_short:
                self.fail(
                    f"{late.pending.summary()} was never answered",
                    request_id=late.pending.request_id,
                )
            self.flush()

    def _awaited_unprinted(self) -> list[Late]:
        """The requests still unanswered that no line in flight or late stands for: those
        whose wait the end of the run cut short (a signal or Ctrl-C while a line, a
        many-worker line or a ``.repeat`` waited)."""
        tracked = {id(entry.pending) for entry in self._in_flight}
        tracked.update(id(late.pending) for late in self._late)
        lines = {id(entry.pending): entry.line for entry in self._in_flight}
        return [
            Late(worker, pending, lines.get(id(pending), self._line))
            for worker in self.console.workers.values()
            for pending in worker.unanswered()
            if id(pending) not in tracked
        ]


def _action(message: object) -> object:
    """The first word of a message: ``sleep`` of ``("sleep", 2)``."""
    return message[0] if type(message) is tuple and message else message


def _silence(out: TextIO) -> None:
    """Point ``out`` at /dev/null, so that flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor (a StringIO): nothing to flush
        pass


class ScriptFirst:
    """The lines of a script, then those of a stream (``-i --script FILE`` on a pipe),
    as one :class:`LineSource`: the script's lines are all there at once."""

    def __init__(self, script: list[bytes], then: LineSource) -> None:
        self._script = deque(script)
        self._then = then

    def __iter__(self) -> ScriptFirst:
        return self

    def __next__(self) -> bytes:
        if self._script:
            return self._script.popleft()
        return next(self._then)

    def ready(self) -> bool:
        """True if the next line (or the end) can be had without waiting."""
        return bool(self._script) or self._then.ready()


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
