"""What the shell has sent each worker and shown of it, and the lines a record prints.

A wait between prompts (:mod:`~doer.frontends.shell.waits`) is for something
to have been *shown*, not merely received: a line's answers, a worker's start
or end. This keeps the count, per worker.
"""

from __future__ import annotations

import weakref

from doer.base.protocol import Died, Ended, Failure, Record, Reply, Restarted, Started
from doer.client.worker import Pending, Worker
from doer.console.render import (
    AsItWas,
    Fragments,
    Tagged,
    ended_hint,
    late_text,
    note_line,
    record_line,
    trace_line,
)
from doer.console.session import Console
from doer.frontends.shell.screen import Screen


class Shown:
    """The record of what was sent and shown, per worker of ``console``."""

    def __init__(self, console: Console, screen: Screen) -> None:
        self.console = console
        self.screen = screen
        #: True while the shell ends workers itself: their ends need no ".restart" hint.
        self.quitting = False
        # Per worker: the last request id sent, the last one whose answer was
        # printed, and whether its start was printed. Weak: a replaced worker is
        # let go (and an id() could be reused by a later worker).
        self._last_sent: weakref.WeakKeyDictionary[Worker, int] = weakref.WeakKeyDictionary()
        self._answers_shown: weakref.WeakKeyDictionary[Worker, int] = weakref.WeakKeyDictionary()
        self._start_shown: weakref.WeakSet[Worker] = weakref.WeakSet()
        # Workers whose end was printed, and those a .kill will end (a process, a
        # task): a script's next line waits for their ends, as it does for answers.
        self._end_shown: weakref.WeakSet[Worker] = weakref.WeakSet()
        self._ending: weakref.WeakSet[Worker] = weakref.WeakSet()
        self._traced: dict[tuple[Worker, int], Pending] = {}  # .trace on: sent, not answered
        # The pid of each restarted worker's latest start shown: its lines until the
        # next start are that worker's (shown after its restart, they keep its pid).
        self._pids: weakref.WeakKeyDictionary[Worker, int] = weakref.WeakKeyDictionary()

    def sent(self, worker: Worker, request_id: int, traced: Pending | None = None) -> None:
        """Requests up to ``request_id`` were sent to ``worker``; ``traced``: the request
        whose answer is followed by its trace (``.trace on``)."""
        self._last_sent[worker] = request_id
        if traced is not None:
            self._traced[worker, request_id] = traced

    def will_end(self, worker: Worker) -> None:
        """``worker`` was killed: its end is to be shown."""
        self._ending.add(worker)

    def answers_shown(self, worker: Worker) -> int:
        """The id of the last request of ``worker`` whose answer was shown (0: none)."""
        return self._answers_shown.get(worker, 0)

    def all_answers_shown(self, worker: Worker) -> bool:
        """Whether the answer to the last request sent to ``worker`` was shown (or it ended)."""
        last = self._last_sent.get(worker, 0)
        return worker.ended is not None or self.answers_shown(worker) >= last

    def start_shown(self, worker: Worker) -> bool:
        """Whether ``worker``'s start was shown (or it has ended: none is to come)."""
        return worker in self._start_shown or worker.ended is not None

    def settled(self, worker: Worker) -> bool:
        """Whether ``worker``'s start, every answer, and its end if it has ended or
        been killed, have been shown."""
        end_shown = worker in self._end_shown
        return (
            self.start_shown(worker)
            and self.all_answers_shown(worker)
            and (end_shown or (worker.ended is None and worker not in self._ending))
        )

    def lines_for(self, worker: Worker, record: Record) -> list[Fragments]:
        """The lines a record prints, with what the shell keeps track of updated."""
        replaced = self.console.is_replaced(worker)
        lines = [record_line(self._as_it_was(worker, record), record, replaced=replaced)]
        if isinstance(record, Restarted):
            self._ending.discard(worker)  # killed, and restarted: no end is to come
        if isinstance(record, Reply | Failure):
            shown = self._answers_shown.get(worker, 0)
            self._answers_shown[worker] = max(shown, record.request_id)
            traced = self._traced.pop((worker, record.request_id), None)
            if traced is not None:
                lines.append(trace_line(worker, worker.transport, traced))
        elif isinstance(record, Started | Died):
            self._start_shown.add(worker)
        ended = isinstance(record, Ended | Died)
        if ended:
            self._end_shown.add(worker)
        if ended and not self.quitting and worker is self.console.worker:
            lines.append(ended_hint(self.console.name_if_needed(worker)))
        return lines

    def _as_it_was(self, worker: Worker, record: Record) -> Tagged:
        """``worker`` as ``record``'s line tags it: a restarted worker's line printed
        after the restart, but from before it, with the pid it had then."""
        if isinstance(record, Started):
            self._pids[worker] = record.pid
        pid = self._pids.get(worker)
        if pid is None or pid == worker.pid or not worker.restarts:
            return worker
        return AsItWas(worker.name, worker.kind, pid, worker.started)

    def warn_if_late(self, worker: Worker, pending: Pending) -> None:
        """Say that ``pending`` has no answer yet, unless it has one or its worker ended."""
        if pending.done() or worker.ended is not None:
            return
        replaced = self.console.is_replaced(worker)
        timeout = self.console.settings.timeout
        text = late_text(pending, timeout)
        # News, not an error: a long sleep is late on purpose (plain mode's status counts it).
        self.screen.print(note_line(text, worker, replaced=replaced))
