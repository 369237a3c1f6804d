"""What the workers' records print in plain mode: answers (late ones marked), starts and
ends, the trace, and the requests never answered."""

from __future__ import annotations

import weakref
from typing import NamedTuple

from doer.base.protocol import Died, Ended, Failure, Note, Record, Reply, Restarted, Started
from doer.client.supervision import restarted_record
from doer.client.worker import Pending, Worker, WorkerGone
from doer.console.render import (
    AsItWas,
    is_unknown_message,
    late_answer_line,
    late_text,
    note_line,
    plain,
    record_line,
    trace_line,
)
from doer.console.session import Console
from doer.frontends.plain.output import Writer

#: The ``--jsonl`` type of each record a worker sends.
RECORD_TYPES: dict[type, str] = {
    Reply: "reply",
    Failure: "error",
    Started: "started",
    Ended: "ended",
    Died: "died",
    Note: "note",
    Restarted: "restarted",
}


class Late(NamedTuple):
    """A request reported late (or whose wait was cut short): its answer is printed
    when it comes, marked late, before the next line's."""

    worker: Worker
    pending: Pending
    line: str


class Records:
    """Prints the records of the workers of ``console`` through ``writer``.

    ``strict`` (``--strict``): an ``unknown message`` answer fails the run too.
    """

    def __init__(self, console: Console, writer: Writer, *, strict: bool) -> None:
        self.console = console
        self.writer = writer
        self.strict = strict
        self._late: list[Late] = []  # timed out, answer may still come
        # Requests whose wait was cut short as the run ended (a signal, Ctrl-C): each
        # is printed as it is settled when the workers stop, never dropped unsaid.
        self._cut_short: list[Late] = []
        # The workers whose end was printed. Weak: a stopped worker is let go, and
        # an id() could be reused by a later worker.
        self._reported_end: weakref.WeakSet[Worker] = weakref.WeakSet()
        # A restarted worker: how many of its restarts were printed, and the pid its
        # lines carry until the next is (its answers from before keep the old one).
        self._restarts_shown: weakref.WeakKeyDictionary[Worker, int] = weakref.WeakKeyDictionary()
        self._pids: weakref.WeakKeyDictionary[Worker, int] = weakref.WeakKeyDictionary()

    def show(
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
            self.writer.ok = False
        if self._pids and pending is not None:  # restarts before it was sent come first
            self.report_restarts(worker, before=pending.sent_at)
        tagged_as = self._as_it_was(worker)
        fragments = record_line(tagged_as, record, replaced=self.console.is_replaced(worker))
        if late and pending is not None:
            fragments = late_answer_line(fragments, pending.summary())
        text = plain(fragments)
        jsonl = self.writer.jsonl
        if jsonl is not None:  # the hot path of --jsonl: positional, no keywords
            type_ = RECORD_TYPES.get(type(record), "note")
            text = jsonl.answer(type_, text, tagged_as, line, pending, late)
        self.writer.put(text, flush)
        if isinstance(record, Ended):
            self._reported_end.add(worker)

    def trace(self, worker: Worker, pending: Pending) -> None:
        """With ``.trace on``, say how the request crossed to the worker and back."""
        if self.console.settings.trace:
            self.writer.write(
                trace_line(worker, worker.transport, pending),
                worker=worker,
                request_id=pending.request_id,
                pending=pending,
            )

    def started(self, worker: Worker) -> None:
        """Wait for ``worker``'s start event and print it."""
        try:
            started = worker.wait_started(self.console.start_timeout(worker))
        except (TimeoutError, WorkerGone) as exc:
            self._write_notes(worker)
            # It says why it did not start: its end need not say it again.
            self.writer.fail(str(exc))
            if worker.ended is not None:
                self._reported_end.add(worker)
            return
        self._write_notes(worker)
        if worker.restart_policy.supervised:
            self._pids[worker] = started.pid
        if not self.writer.quiet:
            self.writer.write(record_line(worker, started), type_="started", worker=worker)

    def _write_notes(self, worker: Worker) -> None:
        """What its kind said while it started (``starting a private Ray cluster``)."""
        for note in worker.notes:
            self.writer.write(record_line(worker, note), worker=worker)

    def _as_it_was(self, worker: Worker) -> Worker | AsItWas:
        """``worker`` as its lines tag it: with the pid it had before a restart not yet
        printed (the answers and failures of the worker that died)."""
        if not self._pids:  # no worker with a restart policy: the hot path
            return worker
        pid = self._pids.get(worker)
        if pid is None or pid == worker.pid:
            return worker
        return AsItWas(worker.name, worker.kind, pid, worker.started)

    def report_restarts(self, worker: Worker, before: float | None = None) -> None:
        """Print the restarts of ``worker`` not printed yet (those done ``before``, on
        ``time.perf_counter()``, if given), the last followed by the start of the
        fresh worker it made; without ``before``, once a restart under way is done."""
        if not worker.restart_policy.supervised:
            return
        if before is None:
            worker.wait_restarted(self.console.start_timeout(worker))
        restarts = worker.restarts
        shown = self._restarts_shown.get(worker, 0)
        new = [r for r in restarts[shown:] if before is None or r.done_at < before]
        if not new:
            return
        self._restarts_shown[worker] = shown + len(new)
        for restart in new:
            was = AsItWas(worker.name, worker.kind, restart.old_pid, worker.started)
            line = record_line(was, restarted_record(restart, worker.restart_policy))
            self.writer.write(line, type_="restarted", worker=was)
        if worker.ended is None and len(restarts) == shown + len(new):
            self.started(worker)

    def report_end(self, worker: Worker) -> None:
        """Print how the worker ended, once, if it ended without being asked to (after
        the restarts it had, if any)."""
        self.report_restarts(worker)
        end = worker.ended
        if end is None or worker in self._reported_end:
            return
        self._reported_end.add(worker)
        if isinstance(end, Died):
            self.writer.ok = False
        elif self.writer.quiet:
            return  # -c: an end that was asked for is no answer to a line
        replaced = self.console.is_replaced(worker)
        self.writer.write(
            record_line(worker, end, replaced=replaced),
            type_=RECORD_TYPES[type(end)],
            worker=worker,
        )
        if worker.gave_up is not None:  # its supervisor's last word
            self.writer.write(record_line(worker, Note(worker.gave_up)), worker=worker)

    def late(self, worker: Worker, pending: Pending, line: str) -> None:
        """Say that ``pending`` has no answer yet: news, not an error (the status counts it)."""
        self.writer.ok = False
        self.writer.write(
            note_line(late_text(pending, self.console.settings.timeout), worker),
            type_="late",
            worker=worker,
            request_id=pending.request_id,
            line=line,
            pending=pending,
        )
        self._late.append(Late(worker, pending, line))

    def late_behind(self, worker: Worker, pendings: list[Pending], line: str) -> None:
        """Requests queued behind one reported late: each is printed if it comes."""
        self._late += [Late(worker, pending, line) for pending in pendings]

    def any_late(self) -> bool:
        """Whether an answer may still come to a request reported late or cut short."""
        return bool(self._late or self._cut_short)

    def print_late_answers(self) -> None:
        """Print the answers that came to requests reported late, or whose wait was cut
        short, each marked as late on its own line (in line mode it lands among the
        next line's answers: the mark tells them apart)."""
        still_cut_short = []
        for late in self._cut_short:
            if late.pending.done():
                self.show(late.worker, late.pending.wait(0), line=late.line, pending=late.pending)
            else:
                still_cut_short.append(late)
        self._cut_short = still_cut_short
        still_late = []
        for late in self._late:
            if late.pending.done():
                record = late.pending.wait(0)
                self.show(late.worker, record, line=late.line, pending=late.pending, late=True)
            else:
                still_late.append(late)
        self._late = still_late

    def cut_short(self, in_flight: dict[int, str], line: str) -> None:
        """Keep every request still unanswered that no line in flight or late stands for:
        those whose wait the end of the run cut short (a signal or Ctrl-C while a line,
        a many-worker line or a ``.repeat`` waited). ``in_flight``: the line of each
        request in flight, by the id of its Pending; ``line``: the last line carried out.
        """
        tracked = set(in_flight) | {id(late.pending) for late in self._late}
        self._cut_short = [
            Late(worker, pending, in_flight.get(id(pending), line))
            for worker in self.console.workers.values()
            for pending in worker.unanswered()
            if id(pending) not in tracked
        ]

    def never_answered(self) -> None:
        """Say, for each request reported late or cut short, that it was never answered."""
        for late in self._late + self._cut_short:
            self.writer.fail(
                f"{late.pending.summary()} was never answered",
                request_id=late.pending.request_id,
            )
