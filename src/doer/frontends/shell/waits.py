"""The shell's waits between prompts: until records have been shown, Ctrl-C, or a timeout.

What a wait waits for is a condition on what has been shown (a line's
answers, a worker's start), checked each time a batch of records has been
shown: the reply readers never wait for the shell, and the shell never polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prompt_toolkit.input import Input

from doer.frontends.shell.keys import typed_ahead


class Waits:
    """One wait at a time, on the keys of ``keys``."""

    def __init__(self, keys: Input) -> None:
        self._keys = keys
        # What the wait waits for, checked each time a record has been shown.
        self._waiter: tuple[Callable[[], bool], asyncio.Event] | None = None
        self._interrupted: asyncio.Event | None = None  # set by Ctrl-C while until() waits

    def shown(self) -> None:
        """Records have been shown: the wait ends if what it waits for holds now."""
        if self._waiter is not None and self._waiter[0]():
            self._waiter[1].set()

    def interrupt(self) -> None:
        """Ctrl-C between prompts (a SIGINT from outside): :meth:`until` stops waiting."""
        if self._interrupted is not None:
            self._interrupted.set()

    async def briefly(self, condition: Callable[[], bool], at_most: float) -> None:
        """Wait until ``condition`` holds after a record is shown, for ``at_most`` seconds.

        Keys are not read meanwhile: whatever is typed, Ctrl-C included, waits
        in the terminal for the next prompt, as if typed there.
        """
        if condition():
            return
        met = asyncio.Event()
        self._waiter = (condition, met)
        try:
            await asyncio.wait_for(met.wait(), at_most)
        except TimeoutError:
            pass
        finally:
            self._waiter = None

    async def until(self, condition: Callable[[], bool], at_most: float | None) -> bool:
        """Wait until ``condition`` holds after a record is shown (True), or Ctrl-C, or
        ``at_most`` seconds (None: no limit).

        The terminal is raw, so Ctrl-C arrives as a key: keys are read while
        waiting. Any other key is kept for the next prompt, as typed ahead.
        """
        met = asyncio.Event()
        self._waiter = (condition, met)
        interrupted = self._interrupted = asyncio.Event()
        try:
            if condition():
                return True
            with typed_ahead(self._keys, on_ctrl_c=interrupted.set):
                waits = [
                    asyncio.ensure_future(met.wait()),
                    asyncio.ensure_future(interrupted.wait()),
                ]
                _, unfinished = await asyncio.wait(
                    waits, timeout=at_most, return_when=asyncio.FIRST_COMPLETED
                )
                for task in unfinished:
                    task.cancel()
            return met.is_set()
        finally:
            self._waiter = None
            self._interrupted = None
