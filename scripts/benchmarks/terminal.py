"""Driving the console through a pty, as a person's terminal would, for the screen rows.

The settings are those ``docs/testing.md`` calls deterministic (``TERM=xterm``,
no cursor-position requests, no colour), with the echo a terminal has (a pty
with its echo off would put doer in line mode). What this module adds to
pexpect, each for a hang or a wrong match met on this machine:

- :func:`send_reading`: writing a lot into a pty while the console draws a lot
  back blocks both sides once the pty's few kB fill (the bench hung in
  ``write`` while doer hung in its own); so the writes are non-blocking and
  the output is read between them;
- :class:`Keys`: keys that cannot appear in anything the console draws
  (letters from U+00C0 on), each one new, so its first appearance is its echo;
- :func:`read_until_quiet`: what was drawn before a measurement is read and
  forgotten, so it cannot be taken for what the measurement waits for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import select
import time
from collections.abc import Sequence
from typing import TypeAlias

import pexpect

#: A console in a pty, read as text.
Child: TypeAlias = "pexpect.spawn[str]"

#: The console's usual prompt, without the trailing space (drawn as a cursor move).
PROMPT = r"doer \S+ \w+ \d+>"
START_THEN_PROMPT = r"on start.*?" + PROMPT
TIMEOUT_S = 10.0
QUIT_ATTEMPTS = 5

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|.)")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def last_line(output: str) -> str:
    """The last non-empty line of ``output``, escape codes removed: usually the error."""
    lines = [line.strip() for line in strip_ansi(output).replace("\r", "\n").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "no output"


def pty_env() -> dict[str, str]:
    """The environment of a console in a pty: the bench's, plus the deterministic settings."""
    env = dict(os.environ)
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", NO_COLOR="1")
    return env


def spawn_in_pty(argv: Sequence[str], rows: int = 40, columns: int = 250) -> Child:
    """``argv`` in a pty of ``rows`` x ``columns``, with the echo a terminal has."""
    child = pexpect.spawn(
        argv[0],
        list(argv[1:]),
        env=pty_env(),
        encoding="utf-8",
        codec_errors="replace",
        dimensions=(rows, columns),
        echo=True,
        timeout=TIMEOUT_S,
    )
    child.delaybeforesend = None
    # close() sleeps 0.1 s by default "to give the kernel time": the bench waits
    # for the console's end instead (wait()), and close(force=True) kills what still runs.
    child.ptyproc.delayafterclose = 0.0  # type: ignore[attr-defined]  # not in the stubs
    return child


def quit_console(child: Child) -> None:
    """Wait for the start event and the prompt drawn after it, then Ctrl-D until it ends.

    Before the prompt is up a Ctrl-D can be taken by the terminal itself
    (docs/testing.md), hence the wait and the retries.

    Raises:
        pexpect.TIMEOUT: no start event, or the console would not end.
    """
    child.expect(START_THEN_PROMPT)
    for _ in range(QUIT_ATTEMPTS):
        child.sendcontrol("d")
        if child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=1.0) == 0:
            child.wait()
            return
    raise pexpect.TIMEOUT(f"still running {QUIT_ATTEMPTS} s after Ctrl-D")


def close(child: Child) -> None:
    """End the console however it can be: ``.quit!``, then the pty closed, then a kill."""
    if child.isalive():
        with contextlib.suppress(OSError, pexpect.ExceptionPexpect):
            child.send(".quit!\r")
            if child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=5) == 0:
                child.wait()
    child.close(force=True)


def read_until_quiet(child: Child, quiet_s: float = 0.1) -> None:
    """Read until nothing has come for ``quiet_s``, and forget it all."""
    with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
        while True:
            child.read_nonblocking(1 << 20, timeout=quiet_s)
    child.buffer = ""


def clear_line(child: Child) -> None:
    """Ctrl-C (the line is emptied), then wait until the screen is quiet."""
    child.sendcontrol("c")
    child.expect(PROMPT)
    read_until_quiet(child)


def send_reading(child: Child, data: str, chunk: int = 512) -> None:
    """Write ``data`` in chunks without ever blocking, reading the output between writes.

    A blocking write into a full pty waits for the console to read, while the
    console may be waiting for the bench to read what it drew: both hang. So
    the pty is made non-blocking for the writes, and whatever can be read is
    read (and dropped) whenever a write cannot go on.

    Raises:
        pexpect.TIMEOUT: the console took nothing for :data:`TIMEOUT_S`.
    """
    fd = child.child_fd
    payload = data.encode()
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        sent, stalled_since = 0, time.monotonic()
        while sent < len(payload):
            readable, writable, _ = select.select([fd], [fd], [], 0.05)
            if readable:
                _read_available(child)
            if writable:
                written = _write_some(fd, payload[sent : sent + chunk])
                if written:
                    sent, stalled_since = sent + written, time.monotonic()
            if time.monotonic() - stalled_since > TIMEOUT_S:
                raise pexpect.TIMEOUT(f"the console took nothing for {TIMEOUT_S:g} s")
    finally:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags)


def _write_some(fd: int, data: bytes) -> int:
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    except OSError as exc:
        if exc.errno == errno.EAGAIN:
            return 0
        raise


def _read_available(child: Child) -> None:
    with contextlib.suppress(pexpect.TIMEOUT):
        child.read_nonblocking(1 << 20, timeout=0)


class Keys:
    """Keys to time the echo of: each new, and none able to appear in the console's output.

    Letters from U+00C0 on: not in anything doer prints (ASCII tags, numbers,
    ``pong``), not part of an escape sequence, and each typed once, so the
    first time one is seen after it was sent is its echo.
    """

    FIRST, LAST = 0x00C0, 0x024F  # Latin-1 Supplement letters to Latin Extended-B

    def __init__(self) -> None:
        self._next = self.FIRST

    def take(self, count: int) -> str:
        """``count`` keys never handed out before.

        Raises:
            RuntimeError: they have all been used (a console types at most a few hundred).
        """
        if self._next + count > self.LAST + 1:
            raise RuntimeError("out of distinct keys to type")
        keys = "".join(chr(code) for code in range(self._next, self._next + count))
        self._next += count
        return keys


def time_keys(child: Child, keys: str) -> list[float]:
    """Type each of ``keys`` in turn; milliseconds from sending each to seeing it drawn."""
    times = []
    for key in keys:
        start = time.perf_counter_ns()
        child.send(key)
        child.expect_exact(key)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times
