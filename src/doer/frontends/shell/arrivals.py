"""The records the reply readers hand over, shown above the prompt a batch at a time."""

from __future__ import annotations

import asyncio
from collections import deque

from doer.base.protocol import Record
from doer.client.worker import Worker
from doer.console.render import Fragments, error_line, failed_text
from doer.frontends.shell.repeat import Repeats
from doer.frontends.shell.screen import Screen
from doer.frontends.shell.shown import Shown
from doer.frontends.shell.waits import Waits

#: The most records drawn in one go: the keys typed during a burst wait for no more.
SHOWN_AT_ONCE = 250


class Arrivals:
    """Shows the records handed over, in order; after each batch, the rates of the
    ``.repeat``\\ s now answered, and the wait for them ends if it can."""

    def __init__(self, screen: Screen, shown: Shown, waits: Waits, repeats: Repeats) -> None:
        self.screen = screen
        self.shown = shown
        self.waits = waits
        self.repeats = repeats
        self._to_show: deque[tuple[Worker, Record]] = deque()  # handed over, not yet shown
        self._showing = False  # a batch of them is due to be shown

    def take(self, records: list[tuple[Worker, Record]]) -> None:
        """Records handed over from the reply readers: show them, a batch at a time.

        A burst (``.repeat 10000 ping``) arrives faster than lines can be drawn
        one by one; drawn :data:`SHOWN_AT_ONCE` at a time, with the prompt
        erased and redrawn once per batch, and the loop free between batches
        for the keys typed meanwhile.
        """
        self._to_show += records
        if not self._showing:
            self._show_some()

    def _show_some(self) -> None:
        batch = [self._to_show.popleft() for _ in range(min(SHOWN_AT_ONCE, len(self._to_show)))]
        self._showing = bool(self._to_show)
        if self._showing:
            asyncio.get_running_loop().call_soon(self._show_some)  # after the keys waiting
        self.show_all(batch)

    def show_all(self, records: list[tuple[Worker, Record]]) -> None:
        """Print records from workers, in order, then redraw the prompt and toolbar once."""
        lines: list[Fragments] = []
        for worker, record in records:
            try:
                lines += self.shown.lines_for(worker, record)
            except Exception as exc:  # doer's own bug: one line, not a traceback over the prompt
                lines.append(error_line(failed_text(f"printing {type(record).__name__}", exc)))
        lines += self.repeats.done()
        self.screen.print_lines(lines)
        self.waits.shown()
        self.screen.redraw()  # the prompt and toolbar show pid, state, pending
