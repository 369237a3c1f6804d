"""Driving the interactive shell in-process: keys through a pipe, the screen as text.

:func:`driven_shell` starts a :class:`~doer.frontends.shell.Shell` in the test's event
loop with prompt-toolkit's pipe input and a plain-text output, and stops it
(Ctrl-D, then the worker) afterwards. Every wait is for an event with a
deadline that fails loudly, showing the screen.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import struct
import termios
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session
from prompt_toolkit.history import History, InMemoryHistory
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output.plain_text import PlainTextOutput

from doer.client.worker import Worker
from doer.console.session import Console, Mailbox, Settings
from doer.frontends.shell import Shell

DEADLINE = 10.0


@dataclass
class Driven:
    """A shell running in the test's event loop, with its keyboard and its screen."""

    shell: Shell
    keys: PipeInput
    screen: io.StringIO
    task: asyncio.Task[int]

    @property
    def console(self) -> Console:
        return self.shell.console

    def text(self) -> str:
        return self.screen.getvalue()

    def type(self, text: str) -> None:
        self.keys.send_text(text)

    async def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while not condition():
            if loop.time() > deadline:
                pytest.fail(f"timed out waiting for {what}; the screen shows:\n{self.text()}")
            await asyncio.sleep(0.005)

    async def replaced(self, old: Worker | None) -> Worker:
        """Wait until the current worker is a fresh one in ``old``'s place; return it."""
        await self.wait_for(
            lambda: self.console.worker is not old and self.console.worker is not None,
            "a new worker",
        )
        new = self.console.worker
        assert new is not None
        return new

    async def wait_for_text(self, needle: str, after: int = 0) -> int:
        """Wait until ``needle`` is on the screen after offset ``after``; return its end."""
        await self.wait_for(lambda: needle in self.text()[after:], repr(needle))
        return self.text().index(needle, after) + len(needle)

    def unread(self) -> int:
        """How many bytes of typed keys the shell has not read yet."""
        waiting = fcntl.ioctl(self.keys.fileno(), termios.FIONREAD, struct.pack("i", 0))
        return int(struct.unpack("i", waiting)[0])

    async def type_in_chunks(self, text: str, chunk: int = 4096) -> None:
        """Type ``text`` a chunk at a time, each once the shell has taken the one before.

        The shell reads the pipe and handles the keys it read in one go, in this
        event loop: once the pipe is empty, every key sent so far has been handled.
        (One write of it all would block this loop, and with it the reader, once
        the pipe is full.)
        """
        for start in range(0, len(text), chunk):
            self.type(text[start : start + chunk])
            await self.wait_for(lambda: self.unread() == 0, "the shell to read the keys")


@asynccontextmanager
async def driven_shell(
    kind: str = "thread", history: History | None = None, **settings: object
) -> AsyncIterator[Driven]:
    with create_pipe_input() as keys:
        screen = io.StringIO()
        with create_app_session(input=keys, output=PlainTextOutput(screen)):
            mailbox = Mailbox()
            console = Console(Settings(kind=kind, state=42, **settings), listener=mailbox.put)  # type: ignore[arg-type]
            console.start()
            session: PromptSession[str] = PromptSession(history=history or InMemoryHistory())
            shell = Shell(console, mailbox, color=False, session=session)
            task = asyncio.create_task(shell.run())
            driven = Driven(shell, keys, screen, task)
            try:
                await driven.wait_for_text("on start: state: 42")
                yield driven
            finally:
                if not task.done():
                    keys.send_text("\x03\x04")  # Ctrl-C clears the line, Ctrl-D ends
                    await asyncio.wait_for(task, DEADLINE)
                console.stop_all()
