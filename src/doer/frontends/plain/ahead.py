"""Lines sent ahead of their answers, and printed in the order they were read.

Message lines for one worker are gathered while more lines are waiting to be
read, and sent together (one write to a process's pipe); they then wait in
flight, and are printed, each with its answer, before anything else is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import NamedTuple, Protocol

from doer.base.protocol import Record
from doer.client.worker import NotPicklable, Pending, Worker, WorkerGone
from doer.console.session import Console
from doer.console.syntax import Message
from doer.frontends.plain.records import Records

#: The most lines in flight at once: enough to keep a worker busy, few enough
#: that the answers waiting to be printed stay small.
MAX_IN_FLIGHT = 1000

#: The most lines for one worker sent together (one write to a process's pipe).
SENT_TOGETHER = 64

#: Messages after which the worker is gone: lines after them wait for their
#: answer, so that a line sent to an ended worker says so, as one at a time.
ENDS_THE_WORKER = frozenset({"exit", "die", "segfault"})


class Waits(Protocol):
    """How the front end waits for an answer (line mode: Ctrl-C stops waiting)."""

    def wait_for(self, pending: Pending, timeout: float | None = None) -> Record: ...


class Runner(Waits, Protocol):
    """What the lines sent ahead ask of the runner: to wait for an answer, and to carry
    out a message line the usual way, when the lines gathered cannot go together."""

    def one_at_a_time(self, line: str, message: Message) -> None: ...


class InFlight(NamedTuple):
    """A message line sent, its answer not printed yet."""

    line: str
    worker: Worker
    pending: Pending


class SentAhead:
    """The lines gathered to be sent together, and those in flight, for ``runner``;
    each is printed through ``records`` (and echoed by their writer)."""

    def __init__(self, console: Console, records: Records, *, runner: Runner) -> None:
        self.console = console
        self.records = records
        self.writer = records.writer
        self.runner = runner
        #: Whether the next line can be read without waiting; never, unless the
        #: lines say otherwise (LineSource): then each line is answered first.
        self.more_ready: Callable[[], bool] = lambda: False
        self._in_flight: deque[InFlight] = deque()
        # Lines taken to be sent together, not sent yet: (line, worker, message).
        self._unsent: list[tuple[str, Worker, Message]] = []

    def has_lines(self) -> bool:
        """Whether any line is gathered or in flight."""
        return bool(self._in_flight or self._unsent)

    def take(self, line: str, message: Message) -> bool:
        """Take a line for one worker to be sent without waiting, if more lines wait
        behind it.

        Lines for the same worker are gathered (at most :data:`SENT_TOGETHER`)
        and sent together when the run of them ends: one write to a process
        worker's pipe for all of them. Returns False, having taken nothing,
        when the line is to be carried out the usual way: several workers, a
        name no worker has, a worker gone, or nothing in flight and no next
        line to send.
        """
        if len(message.to) > 1 or not (self._in_flight or self._unsent or self.more_ready()):
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
            self.send_unsent()
        self._unsent.append((line, worker, message))
        if len(self._unsent) >= SENT_TOGETHER or not self.more_ready():
            self.send_unsent()
        return True

    def send_unsent(self) -> None:
        """Send the lines gathered by :meth:`take`; they join the lines in flight.

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
        except (NotPicklable, WorkerGone):
            for line, _, message in unsent:
                self.print_all()
                self.runner.one_at_a_time(line, message)
            return
        for (line, _, _), pending in zip(unsent, pendings, strict=True):
            self._in_flight.append(InFlight(line, worker, pending))
        self.console.remember(unsent[-1][2], [(worker, pendings[-1])])
        while len(self._in_flight) >= MAX_IN_FLIGHT:
            self.print_oldest()

    def print_all(self) -> None:
        """Send the lines gathered, then print every line in flight with its answer, in
        the order they were read."""
        self.send_unsent()
        self.print_in_flight()
        self.writer.flush()

    def print_in_flight(self, timeout: float | None = None) -> None:
        """Print every line in flight with its answer, each waited for at most ``timeout``
        (by default, the console's); the lines gathered and not sent stay unsent."""
        while self._in_flight:
            self.print_oldest(timeout)

    def print_answered(self) -> None:
        """Print the lines in flight already answered, up to the first that is not."""
        while self._in_flight and self._in_flight[0].pending.done():
            self.print_oldest()

    def lines_in_flight(self) -> dict[int, str]:
        """The line of each request in flight, by the id of its Pending."""
        return {id(entry.pending): entry.line for entry in self._in_flight}

    def print_oldest(self, timeout: float | None = None) -> None:
        """Print the oldest line in flight and its answer, waiting for it if need be
        (``timeout``: by default, the console's)."""
        line, worker, pending = self._in_flight.popleft()
        if self.records.any_late():
            self.records.print_late_answers()
        self.writer.echo(line, flush=False)
        if not pending.done():
            self.writer.flush()  # what is answered shows while this one is awaited
        try:
            record = self.runner.wait_for(pending, timeout)
        except TimeoutError:
            self.records.late(worker, pending, line)
            return
        if self.records.any_late():
            self.records.print_late_answers()  # they came while this one was awaited: first
        self.records.show(worker, record, flush=False, line=line, pending=pending)
        self.records.trace(worker, pending)
        if worker.ended is not None and not self._has_in_flight(worker):
            self.records.report_end(worker)  # after its last line: it may be that line's answer

    def _has_in_flight(self, worker: Worker) -> bool:
        return any(entry.worker is worker for entry in self._in_flight)


def _action(message: object) -> object:
    """The first word of a message: ``sleep`` of ``("sleep", 2)``."""
    return message[0] if type(message) is tuple and message else message
