"""``.repeat N LINE`` in the shell: the copies sent by a task of their own, each answer
printed as it comes, then each worker's rate."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from doer.client.worker import Pending, Worker
from doer.console.render import Fragments, error_line, failed_text, note_line
from doer.console.session import Console, repeat_summary
from doer.frontends.shell.screen import Screen
from doer.frontends.shell.shown import Shown
from doer.frontends.shell.waits import Waits

if TYPE_CHECKING:
    from doer.console.outcomes import Repeat


class Repeats:
    """The ``.repeat``\\ s of a shell: those still sending, and those whose answers are
    still to be shown."""

    def __init__(self, console: Console, screen: Screen, shown: Shown, waits: Waits) -> None:
        self.console = console
        self.screen = screen
        self.shown = shown
        self.waits = waits
        self._repeats: list[tuple[Worker, list[Pending]]] = []  # each worker's copies sent
        self._sending: set[asyncio.Task[None]] = set()  # still sending
        # Each .repeat still sending: its copies sent so far, and all it is to send.
        self._progress: dict[asyncio.Task[None], tuple[int, int]] = {}

    def progress(self) -> tuple[int, int] | None:
        """The copies sent so far and the copies to send, over every ``.repeat`` still
        sending (the toolbar shows them); None when none is."""
        if not self._progress:
            return None
        sent, times = zip(*self._progress.values(), strict=True)
        return sum(sent), sum(times)

    def all_shown(self) -> bool:
        """Whether every ``.repeat``'s answers and rate have been shown."""
        return not self._repeats

    async def sending_done(self) -> None:
        """Wait until every ``.repeat`` has sent its copies."""
        if self._sending:
            await asyncio.wait(self._sending)

    async def stop_sending(self) -> None:
        """Stop every ``.repeat`` still sending (``.quit``, ``.reset``): what it has sent
        is waited for."""
        sending = list(self._sending)
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)

    async def repeat(self, repeat: Repeat) -> None:
        """``.repeat N LINE``: send the line N times without waiting for answers.

        The sending runs as a task of its own, so the prompt is back at once
        (with ``.wait off``) and keys typed meanwhile echo. It lets the loop
        run after every round of copies (:meth:`Console.send_repeated`), so
        that answers print while it goes on. Each answer prints as it comes;
        once a worker's last answer is shown, so is its rate. With ``.wait
        on``, the prompt comes back after the last rate.
        """
        sending = asyncio.get_running_loop().create_task(self._send(repeat))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)
        sending.add_done_callback(self._sent_all)
        if self.console.settings.wait:
            await sending
            await self.waits.until(self.all_shown, at_most=None)

    def done(self) -> list[Fragments]:
        """The rate of each ``.repeat`` whose answers have all been shown; forget those."""
        lines = []
        for worker, pendings in list(self._repeats):
            last = pendings[-1].request_id
            if self.shown.answers_shown(worker) >= last or worker.ended is not None:
                self._repeats.remove((worker, pendings))
                lines.append(repeat_summary(worker, pendings))
        return lines

    async def _send(self, repeat: Repeat) -> None:
        try:
            sent = await self._send_rounds(repeat)
        except Exception as exc:  # a bug of doer's: one line, not a traceback over the prompt
            self.screen.print(error_line(failed_text(".repeat", exc)))
            return
        for worker, pendings in sent.items():
            if pendings:
                self._repeats.append((worker, pendings))
                self._watch(worker, pendings, -1)
        self.screen.print_lines(self.done())  # all answered and shown already: say so now

    async def _send_rounds(self, repeat: Repeat) -> dict[Worker, list[Pending]]:
        """Send the line ``repeat.times`` times to each of its workers, in turn, letting
        the loop run between rounds, and waiting (off the loop) for room in a full
        bounded mailbox."""
        said_full: set[Worker] = set()
        this = asyncio.current_task()
        assert this is not None  # a coroutine run as a task (repeat())
        for round_ in self.console.send_repeated(repeat, wait_for_room=False):
            copies_sent = sum(map(len, round_.sent.values()))
            # A worker sent no more (it has gone) is to get no more than it got.
            to_send = sum(
                len(pendings) if worker in round_.refused else repeat.times
                for worker, pendings in round_.sent.items()
            )
            self._progress[this] = (copies_sent, to_send)
            for text, about in round_.errors:
                self.screen.print(error_line(text, about))
            for worker, pendings in round_.sent.items():
                if pendings:
                    self.shown.sent(worker, pendings[-1].request_id)  # what .quit waits for
            self.screen.redraw()  # the toolbar's pending count, and the .repeat's progress
            try:
                await asyncio.sleep(0)  # answers print, keys echo
                for worker in round_.full:
                    if worker not in said_full:
                        said_full.add(worker)
                        sent = len(round_.sent[worker])
                        self.screen.print(note_line(full_text(worker, sent, repeat.times)))
                    await _room_in(worker)
            except asyncio.CancelledError:  # .quit: what was sent is waited for
                said = f".repeat stopped: {round_.copies:,} of {repeat.times:,} sent"
                self.screen.print(note_line(said))
                raise
        return round_.sent

    def _sent_all(self, sending: asyncio.Task[None]) -> None:
        self._progress.pop(sending, None)
        self.screen.redraw()  # the toolbar without the .repeat's progress

    def _watch(self, worker: Worker, pendings: list[Pending], shown_before: int) -> None:
        """Say once if a ``.repeat``'s answers stop coming for the timeout."""
        if not any(repeat[1] is pendings for repeat in self._repeats):
            return  # all shown
        shown = self.shown.answers_shown(worker)
        if shown == shown_before:
            waiting = next((pending for pending in pendings if not pending.done()), None)
            if waiting is not None:
                self.shown.warn_if_late(worker, waiting)
                return
        loop = asyncio.get_running_loop()
        loop.call_later(self.console.settings.timeout, self._watch, worker, pendings, shown)


def full_text(worker: Worker, sent: int, times: int) -> str:
    """``slow's mailbox is full (5): .repeat sends as room comes (5 of 50)``."""
    return (
        f"{worker.name}'s mailbox is full ({worker.mailbox}): .repeat sends as room comes"
        f" ({sent:,} of {times:,})"
    )


async def _room_in(worker: Worker) -> None:
    """Wait, off the loop, until ``worker``'s bounded mailbox has room (or it has ended).

    A short wait at a time: a thread of the loop's executor never blocks for
    ever (the interpreter joins those threads at exit), and a cancelled
    ``.repeat`` (``.quit``) stops between two."""
    loop = asyncio.get_running_loop()
    while not await loop.run_in_executor(None, worker.wait_for_room, 0.25):
        pass
