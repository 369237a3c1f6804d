"""Driving the console through a pty, as a person's terminal would, for the screen rows.

The console is driven by :class:`doer.testing.driver.PtyConsole`, the driver of
the pytest plugin and of doer's end-to-end tests, with the settings
``docs/testing.md`` calls deterministic (``TERM=xterm``, no cursor-position
requests, no colour) and the echo a terminal has (a pty with its echo off
would put doer in line mode). The driver writes a long line without blocking,
reading the console's drawing between writes (a blocking write into a full
pty hung the bench and the console, each writing into a full pty). What this
module adds, each for a wrong match met on this machine:

- :class:`Keys`: keys that cannot appear in anything the console draws
  (letters from U+00C0 on), each one new, so its first appearance is its echo;
- :func:`clear_line`: what was drawn before a measurement is read and
  forgotten (:meth:`~doer.testing.driver.PtyConsole.read_until_quiet`), so it
  cannot be taken for what the measurement waits for.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pexpect

from doer.testing.driver import SHELL_PROMPT, PtyConsole, strip_ansi, terminal_env

#: The console's usual prompt, without the trailing space (drawn as a cursor move).
PROMPT = SHELL_PROMPT
START_THEN_PROMPT = r"on start.*?" + PROMPT
TIMEOUT_S = 10.0
QUIT_ATTEMPTS = 5
#: What driving a console raises when it does not do what was awaited: the driver's
#: failed waits, a pty that has gone, a program that could not be started, keys run out.
FAILURES = (AssertionError, OSError, RuntimeError, pexpect.ExceptionPexpect)


def last_line(output: str) -> str:
    """The last non-empty line of ``output``, escape codes removed: usually the error."""
    lines = [line.strip() for line in strip_ansi(output.replace("\r", "\n")).splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "no output"


def spawn_in_pty(argv: Sequence[str], rows: int = 40, columns: int = 250) -> PtyConsole:
    """``argv`` (the console, or a program to compare it with) in a pty of ``rows`` x
    ``columns``, with the echo a terminal has."""
    return PtyConsole(
        env=terminal_env(), rows=rows, columns=columns, timeout=TIMEOUT_S, command=argv
    )


def quit_console(console: PtyConsole) -> None:
    """Wait for the start event and the prompt drawn after it, then Ctrl-D until it ends.

    Before the prompt is up a Ctrl-D can be taken by the terminal itself
    (docs/testing.md), hence the wait and the retries.

    Raises:
        AssertionError: no start event, or the console would not end.
    """
    console.expect(START_THEN_PROMPT)
    if not console.end("\x04", attempts=QUIT_ATTEMPTS, timeout=1.0):
        raise AssertionError(f"still running {QUIT_ATTEMPTS} s after Ctrl-D")


def close(console: PtyConsole) -> None:
    """End the console however it can be: ``.quit!``, then the pty closed, then a kill."""
    console.end(".quit!\r", timeout=5.0)
    console.close()


def clear_line(console: PtyConsole) -> None:
    """Ctrl-C (the line is emptied), then wait until the screen is quiet."""
    console.send("\x03")
    console.expect(PROMPT)
    console.read_until_quiet()


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


def time_keys(console: PtyConsole, keys: str) -> list[float]:
    """Type each of ``keys`` in turn; milliseconds from sending each to seeing it drawn."""
    times = []
    for key in keys:
        start = time.perf_counter_ns()
        console.send(key)
        console.expect_exact(key)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times
