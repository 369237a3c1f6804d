"""Lines sent to workers without waiting: a line to each of its workers, ``.repeat``'s
copies round by round, and the last line sent, which ``.timeline`` draws.

The front ends wait for the answers, each its own way; what is sent, and what
could not be, is decided here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from doer.base.protocol import Failure, message_summary
from doer.client.worker import MailboxFull, NotPicklable, Pending, Worker, WorkerGone
from doer.console.registry import Registry
from doer.console.render.fragments import Fragments, note_line
from doer.console.render.timing import repeat_line
from doer.console.syntax import Message
from doer.lessons import handlers as lessons

if TYPE_CHECKING:
    from doer.console.outcomes import Repeat

#: The most ``.repeat`` sends at once: each request waits in memory for its answer.
MAX_REPEAT = 100_000

#: How many copies ``.repeat`` sends a worker at once, before the next worker's
#: turn (and, in the shell, before the loop draws answers and reads keys).
REPEATED_AT_ONCE = 250


class Run(NamedTuple):
    """The last line sent to workers, for ``.timeline``: how it was typed, and each
    worker it went to with its pending answer."""

    line: str
    sent: list[tuple[Worker, Pending]]


class RepeatRound(NamedTuple):
    """How far :meth:`Sender.send_repeated` has got, after one round of sending."""

    #: Each worker's requests sent so far (the same dict from round to round).
    sent: dict[Worker, list[Pending]]
    #: How many copies each worker was to get by now.
    copies: int
    #: What could not be sent in this round, with the worker to tag it with.
    errors: list[tuple[str, Worker | None]]
    #: The workers whose bounded mailbox had no room this round (only when sending
    #: does not wait for room): the next round is theirs once room has come.
    full: tuple[Worker, ...] = ()
    #: The workers sent no more (gone, or the message does not pickle), so far.
    refused: frozenset[Worker] = frozenset()


class Sender:
    """Sends lines to the registry's workers, and keeps the last one for ``.timeline``."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        #: The last line sent to workers (``.timeline`` draws it).
        self.last_run: Run | None = None

    def tell_each(
        self, message: Message, workers: list[Worker], *, wait_for_room: bool = True
    ) -> tuple[list[tuple[Worker, Pending]], list[tuple[str, Worker | None]]]:
        """Send ``message`` to each of ``workers`` without waiting for answers, timed,
        and keep the line for ``.timeline``.

        A worker with a bounded mailbox that is full: the line waits for room if
        ``wait_for_room`` (plain mode: its input is a pipe, whose writer then
        waits too), else it is not sent to that worker (the shell).

        Returns what was sent, and an error for each worker it could not go to
        (ended; its mailbox full; or, for a process, a message that does not
        pickle), with the worker to tag it with when there are several.
        """
        sent: list[tuple[Worker, Pending]] = []
        errors: list[tuple[str, Worker | None]] = []
        for worker in workers:
            try:
                pending = worker.tell(message.message, timed=True, parsed=True, block=wait_for_room)
                sent.append((worker, pending))
            except MailboxFull as exc:
                errors.append((str(exc), None))
            except WorkerGone:
                errors.append((self.registry.gone_text(worker), None))
            except NotPicklable as exc:  # for a process, not for a thread
                errors.append((str(exc), worker if len(workers) > 1 else None))
        self.remember(message, sent)
        return sent, errors

    def remember(self, message: Message, sent: list[tuple[Worker, Pending]]) -> None:
        """Keep the line just sent, with its answers to come, for ``.timeline``."""
        if sent:
            to = f"@{','.join(message.to)} " if message.to else ""
            self.last_run = Run(to + message_summary(message.message), sent)

    def send_repeated(self, repeat: Repeat, *, wait_for_room: bool = True) -> Iterator[RepeatRound]:
        """Send ``.repeat``'s copies to each of its workers in turn, :data:`REPEATED_AT_ONCE`
        at a time (one write each to a process), yielding after every round.

        A worker with a bounded mailbox gets what fits: with ``wait_for_room``
        (plain mode) each copy waits for room; without (the shell), a worker
        whose mailbox is full is in the round's ``full``, and the caller waits
        for its room before asking for the next round. A worker that has gone,
        or that cannot be sent the message (it does not pickle), is sent no
        more; the error is in the round's ``errors``, as :meth:`tell_each`
        words it.
        """
        workers = self.registry.targets(repeat.message.to)
        message = repeat.message.message
        sent: dict[Worker, list[Pending]] = {worker: [] for worker in workers}
        refused: set[Worker] = set()
        while True:
            to_send = {
                worker: repeat.times - len(sent[worker])
                for worker in workers
                if worker not in refused and len(sent[worker]) < repeat.times
            }
            if not to_send:
                return
            errors: list[tuple[str, Worker | None]] = []
            full: list[Worker] = []
            for worker, left in to_send.items():
                count = min(REPEATED_AT_ONCE, left)
                room = None if wait_for_room else worker.room
                if room is not None:
                    count = min(count, room)
                    if count == 0:
                        full.append(worker)
                        continue
                try:
                    sent[worker] += worker.tell_many([message] * count, parsed=True)
                except WorkerGone:
                    errors.append((self.registry.gone_text(worker), None))
                    refused.add(worker)
                except NotPicklable as exc:
                    errors.append((str(exc), worker if len(workers) > 1 else None))
                    refused.add(worker)
            copies = min(len(pendings) for pendings in sent.values())
            yield RepeatRound(sent, copies, errors, tuple(full), frozenset(refused))


def crowded_note(message: Message, sent: list[tuple[Worker, Pending]]) -> list[Fragments]:
    """A note for a line that asks more processes to ``work`` than there are CPUs to
    run them (the console's threads and tasks are one process: they take turns on
    its GIL): some wait for a CPU, and the machine, not the GIL, is the
    bottleneck. Empty for any other line. A front end prints it as it sends the
    line (after :meth:`Sender.tell_each`)."""
    words = message.message if type(message.message) is tuple else (message.message,)
    if not words or words[0] != "work":
        return []
    text = lessons.crowded_text(len({worker.pid for worker, _ in sent}))
    return [] if text is None else [note_line(text)]


def repeat_summary(worker: Worker, pendings: list[Pending]) -> Fragments:
    """``.repeat``'s last line for ``worker``: how many answers, how fast, from the
    first request sent to the last answer in (those not answered are not counted)."""
    done = [pending for pending in pendings if pending.done()]
    errors = sum(isinstance(pending.wait(0), Failure) for pending in done)
    took = max((pending.answered_at for pending in done), default=0.0) - pendings[0].sent_at
    return repeat_line(worker, len(done), errors, max(took, 0.0))
