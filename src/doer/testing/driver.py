"""The one pexpect driver of the ``doer`` console: start it in a pty, talk to it, end it.

:class:`PtyConsole` starts ``doer ARGS`` (or a command line that runs it)
behind a pty of a given size, with a given environment and echo, and drives
it: wait for a pattern or for the prompt, type a line and take what the
console printed before its next prompt, end it with whatever keys end it
(``.quit``, Ctrl-D), wait for its exit, and end what still runs. Everything
the console printed is kept (:attr:`PtyConsole.raw`) for a failure to show. A
wait that fails raises an AssertionError that says what was awaited and shows
what came, or, when the console exited first, its exit status and last lines.
(Whether a process it started is left running is :mod:`doer.base.procfs`'s to say.)

It is built in layers, a job each: :class:`PtyProcess` starts the command in
its pty and waits for its exit; :class:`PtyOutput` keeps what it printed and
waits for what it prints; :class:`PtyConsole` types to it and ends it.

Each user keeps what is its own on top of it: the pytest plugin's
``doer_console`` (line mode, a fixed prompt, the workers it started, the
transcript in a failure's report); doer's end-to-end tests
(``tests/support/pty_helpers.py``: matching on the screen's text with escape codes
stripped, the current worker's prompt); its benchmarks (``scripts/benchmarks``:
timing keys and answers).

pexpect is imported when a console starts, not with this module: the plugin
imports this module in every test session, and pexpect comes only with doer's
``pytest`` extra.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pexpect

#: The shell's prompt, ``doer NAME KIND PID>``, without the space after it
#: (prompt-toolkit draws that as a cursor move).
SHELL_PROMPT = r"doer \S+ \w+ \d+>"
#: How many of its last lines a console that exited shows.
LAST_LINES = 10
#: The most read from the pty at once.
READ_SIZE = 65536
#: How often a wait for a process's exit looks again.
POLL_S = 0.002

#: Escape sequences (CSI, OSC, charset, single-character) and the other bytes
#: prompt-toolkit uses to draw: carriage returns and backspaces.
_ANSI = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])"
)
_DRAWING = re.compile(r"\r| ?\x08")  # prompt-toolkit parks the cursor with " \b"


def strip_ansi(text: str) -> str:
    """``text`` without escape codes, carriage returns and backspaces: what it says."""
    return _DRAWING.sub("", _ANSI.sub("", text))


def doer_command() -> str:
    """The ``doer`` installed beside this Python (the venv it runs in), else the PATH's."""
    beside = Path(sys.executable).with_name("doer")
    return str(beside) if beside.exists() else shutil.which("doer") or "doer"


def terminal_env(*, colour: bool = False, **more: str) -> dict[str, str]:
    """This process's environment, set for a console that draws the same way every
    run (``docs/testing.md``): ``TERM=xterm``, no cursor-position requests, and
    ``NO_COLOR`` unless ``colour``; then ``more``."""
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    if not colour:
        env["NO_COLOR"] = "1"
    env.update(more)
    return env


class PtyProcess:
    """A command in a pty, driven by pexpect: started, then waited for, ended, and how it
    ended said. :class:`PtyConsole` is the one to use; its arguments are these.

    Attributes:
        child: the pexpect child (``pid``, ``child_fd``, the exit statuses).
        timeout: seconds a wait lasts unless it is told otherwise.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None,
        rows: int,
        columns: int,
        echo: bool,
        timeout: float,
        preexec_fn: Callable[[], None] | None,
    ) -> None:
        import pexpect

        self.timeout = timeout
        self.child: pexpect.spawn[str] = pexpect.spawn(
            argv[0],
            list(argv[1:]),
            env=dict(os.environ if env is None else env),
            encoding="utf-8",
            codec_errors="replace",
            dimensions=(rows, columns),
            echo=echo,
            timeout=timeout,
            preexec_fn=preexec_fn,
        )
        self.child.delaybeforesend = None  # each key goes when it is sent
        # close() sleeps 0.1 s by default "to give the kernel time": the driver
        # waits for the exit itself (wait_exit), and close() ends what still runs.
        self.child.delayafterclose = 0.0
        self.child.ptyproc.delayafterclose = 0.0  # type: ignore[attr-defined]  # not in the stubs

    def wait_exit(self, timeout: float = 2.0) -> bool:
        """Give the process up to ``timeout`` seconds to exit (reaping it); whether it has."""
        deadline = time.monotonic() + timeout
        while self.child.isalive():
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)  # a poll with a deadline, not a synchronisation
        return True

    def close(self) -> int | None:
        """Close the pty, ending the process if it still runs (hang-up, interrupt,
        then kill); its exit status, None if a signal ended it."""
        self.child.close(force=True)
        status: int | None = self.child.exitstatus
        return status

    def exit_status(self, timeout: float = 2.0) -> int | None:
        """The exit status once the process has exited, waited for up to ``timeout``
        seconds, then :meth:`close`."""
        self.wait_exit(timeout)
        return self.close()

    def how_it_ended(self, timeout: float = 2.0) -> str:
        """``status N`` or ``signal NAME``, once the process has exited.

        Its pty closes as it exits, so that is within moments of the end of its
        output; a process that closed its output and lingers is ended after
        ``timeout``.
        """
        if not self.wait_exit(timeout):
            self.child.close(force=True)
        if self.child.signalstatus is not None:
            return f"signal {signal.Signals(self.child.signalstatus).name}"
        return f"status {self.child.exitstatus}"


class PtyOutput(PtyProcess):
    """What a command in a pty printed, kept whole, and the waits for what it prints.

    A wait takes what it matched and what came before it; what came after is
    left for the next one.

    Attributes:
        prompt: what :meth:`expect_prompt` waits for, a regex.
        before: what came before the last match of a wait.
        ended: whether the command's output has ended (its pty closed).
    """

    def __init__(self, argv: Sequence[str], *, prompt: str, **process: Any) -> None:
        super().__init__(argv, **process)
        self.prompt = prompt
        self.before = ""
        self.ended = False
        self._log: list[str] = []  # joined when read (a long burst is many pieces)
        self._pending = ""  # read, and not yet taken by a wait or a read

    @property
    def raw(self) -> str:
        """Everything the console printed so far, as printed (escape codes and all).

        Settable, for a caller that read some of it itself.
        """
        if len(self._log) > 1:
            self._log[:] = ["".join(self._log)]
        return self._log[0] if self._log else ""

    @raw.setter
    def raw(self, text: str) -> None:
        self._log[:] = [text]

    def _read(self, timeout: float) -> str | None:
        """Read from the pty, waiting up to ``timeout``: ``""`` if nothing came, None at
        the end of its output. What is read is kept in :attr:`raw`."""
        import pexpect

        try:
            chunk = self.child.read_nonblocking(READ_SIZE, timeout=timeout)
        except pexpect.TIMEOUT:
            return ""
        except pexpect.EOF:
            self.ended = True
            return None
        self._log.append(chunk)
        return chunk

    def read(self, timeout: float = 0.0) -> str | None:
        """What the console printed that no wait has taken, waiting up to ``timeout``
        for something: ``""`` if nothing came, None once its output has ended."""
        if self._pending:
            chunk, self._pending = self._pending, ""
            return chunk
        return self._read(timeout)

    def read_until_quiet(self, quiet_s: float = 0.1) -> None:
        """Read until nothing has come for ``quiet_s``, and leave it for no wait to take:
        what was drawn before cannot then be taken for what comes after."""
        self._pending = ""
        while self._read(quiet_s):
            pass

    def _wait_for(
        self, find: Callable[[str], tuple[int, int] | None], timeout: float | None, what: str
    ) -> None:
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            found = find(self._pending)
            if found is not None:
                start, end = found
                self.before, self._pending = self._pending[:start], self._pending[end:]
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {what} from the console within {wait:g} s:\n{self.raw}")
            chunk = self._read(remaining)
            if chunk is None:
                # It exited (a bad option, a file it cannot read, no Ray): say so
                # now, not when the timeout runs out.
                raise AssertionError(self.exited())
            self._pending += chunk

    def expect(
        self, pattern: str | re.Pattern[str], timeout: float | None = None, *, what: str = ""
    ) -> re.Match[str]:
        """Wait for ``pattern`` (a regex) in what the console prints; the match.

        A pattern given as a string is read as pexpect reads it: ``.`` matches a
        newline too. What came before the match is :attr:`before`; what came
        after it is left for the next wait.

        Raises:
            AssertionError: it did not come within ``timeout`` seconds (default:
                :attr:`timeout`), saying ``what`` was awaited, or the console's
                output ended first.
        """
        regex = re.compile(pattern, re.DOTALL) if isinstance(pattern, str) else pattern
        matched: list[re.Match[str]] = []

        def find(text: str) -> tuple[int, int] | None:
            match = regex.search(text)
            if match is None:
                return None
            matched.append(match)
            return match.span()

        self._wait_for(find, timeout, what or f"/{regex.pattern}/")
        return matched[0]

    def expect_exact(self, text: str, timeout: float | None = None, *, what: str = "") -> str:
        """Wait for the exact ``text``; what came before it. Raises as :meth:`expect`."""

        def find(pending: str) -> tuple[int, int] | None:
            start = pending.find(text)
            return None if start < 0 else (start, start + len(text))

        self._wait_for(find, timeout, what or repr(text))
        return self.before

    def expect_prompt(self, timeout: float | None = None) -> str:
        """Wait for the prompt; what the console printed before it."""
        self.expect(self.prompt, timeout, what="prompt")
        return self.before

    def expect_end(self, timeout: float | None = None) -> bool:
        """Read until the console's output ends; whether it did within ``timeout``."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._pending = ""
        while not self.ended:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._read(remaining)
        return True

    def exited(self) -> str:
        """Why nothing more will come: how the console ended, and its last lines
        (what went wrong is near the end of what it printed)."""
        last = [line for line in self.raw.replace("\r", "").split("\n") if line]
        said = "\n".join(f"    {line}" for line in last[-LAST_LINES:]) or "    (nothing)"
        return f"the console exited with {self.how_it_ended()}; its last lines:\n{said}"


class PtyConsole(PtyOutput):
    """``doer ARGS`` in a pty, driven by pexpect: what it prints is read and awaited
    (:class:`PtyOutput`), lines are typed to it, and it is ended with keys.

    Args:
        args: the console's arguments.
        env: its whole environment (default: this process's); :func:`terminal_env`
            gives one that draws the same way every run.
        rows: the pty's height.
        columns: the pty's width.
        echo: the pty's echo. On, as a terminal has it: doer runs its shell. Off,
            as a program typing has it: doer runs in line mode, and each line
            typed is written into :attr:`raw` as a terminal would show it.
        timeout: seconds a wait lasts unless it is told otherwise.
        prompt: what :meth:`expect_prompt` waits for, a regex.
        command: the command line to run instead of ``doer ARGS`` (a shell that
            runs doer, or a program to compare it with).
        preexec_fn: run in the new process before it starts the command.

    Attributes:
        child: the pexpect child (``pid``, ``child_fd``, the exit statuses).
        before: what came before the last match of a wait.
        ended: whether the console's output has ended (its pty closed).
    """

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        rows: int = 24,
        columns: int = 80,
        echo: bool = True,
        timeout: float = 10.0,
        prompt: str = SHELL_PROMPT,
        command: Sequence[str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.args = list(args)
        self.echo = echo
        argv = [doer_command(), *self.args] if command is None else list(command)
        super().__init__(
            argv,
            prompt=prompt,
            env=env,
            rows=rows,
            columns=columns,
            echo=echo,
            timeout=timeout,
            preexec_fn=preexec_fn,
        )

    # --- typing --------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Type ``text`` as it is: keys, control characters, escape sequences."""
        self.child.send(text)

    def sendline(self, line: str) -> None:
        """Type ``line`` and Enter (a carriage return, as a terminal sends it)."""
        self.child.send(line + "\r")
        if not self.echo:  # nothing echoes it: written down as a terminal would show it
            self._log.append(line + "\n")

    def ask(self, line: str, timeout: float | None = None) -> str:
        """Type ``line``; what the console printed before its next prompt."""
        self.sendline(line)
        return self.expect_prompt(timeout)

    def send_in_chunks(self, data: str, chunk: int = 512, timeout: float | None = None) -> None:
        """Write ``data`` as a terminal delivers a big paste: ``chunk`` bytes a write.

        A pty holds a few kB each way: a writer that never reads blocks both sides
        once the console, drawing what it is given, fills the other way. So the
        writes never block, and what the console prints is read between them (kept
        in :attr:`raw`, left for no wait to take).

        Raises:
            AssertionError: not all of it was taken within ``timeout`` seconds
                (default: :attr:`timeout`), or the console ended first.
        """
        fd = self.child.child_fd
        payload = data.encode()
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        try:
            sent = 0
            while sent < len(payload):
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"the console took {sent:,} of {len(payload):,} bytes in {wait:g} s"
                    )
                readable, writable, _ = select.select([fd], [fd], [], 0.05)
                if readable and self.read() is None:
                    raise AssertionError(
                        f"the console ended when it had taken {sent:,} of {len(payload):,} bytes"
                    )
                if writable:
                    with contextlib.suppress(BlockingIOError):
                        sent += os.write(fd, payload[sent : sent + chunk])
        finally:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)

    # --- the end -------------------------------------------------------------------

    def end(
        self, keys: str, *, attempts: int = 1, timeout: float | None = None, settle: float = 2.0
    ) -> bool:
        """Type ``keys`` (``.quit`` and Enter, Ctrl-D...) until the console ends.

        Each attempt waits ``timeout`` seconds (default: :attr:`timeout`) for its
        output to end, then ``settle`` seconds for its process to exit. A key can
        be lost (a Ctrl-D typed before the prompt is up is the terminal's own, or
        while an answer is printed), hence ``attempts``.

        Returns:
            Whether it has ended: False if it still runs, or if the keys could
            not be typed.
        """
        for _ in range(attempts):
            if not self.child.isalive():
                return True
            try:
                self.send(keys)
            except OSError:
                return False
            if self.expect_end(timeout):
                self.wait_exit(settle)
                return True
        return False
