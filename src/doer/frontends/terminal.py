"""The terminal doer runs on: whether to draw on it, and its echo.

Light on purpose: the command line asks :func:`wants_line_mode` before it
chooses a front end, and the shell must not pay for line mode to ask.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, TextIO

#: What ``TERM`` says when the terminal cannot move its cursor, or says nothing.
DUMB_TERMS = ("", "dumb", "unknown")


def wants_line_mode(stdin: TextIO, environ: dict[str, str] | None = None) -> bool:
    """True when the terminal is dumb, or its echo is off: a program is typing."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("TERM", "") in DUMB_TERMS:
        return True
    return not echo_is_on(stdin)


def echo_is_on(stdin: TextIO) -> bool:
    """Whether the terminal on ``stdin`` echoes what is typed (True if that cannot be told)."""
    terminal = _terminal(stdin)
    if terminal is None:
        return True
    import termios

    return bool(terminal[1][3] & termios.ECHO)


@contextlib.contextmanager
def echo_off(stdin: TextIO) -> Iterator[None]:
    """Turn a terminal's echo off, and back to what it was on the way out."""
    terminal = _terminal(stdin)
    if terminal is None:  # not a terminal (a pipe, with --line-mode): nothing echoes
        yield
        return
    import termios

    fd, before = terminal
    quiet = list(before)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
    try:
        yield
    finally:
        try:
            termios.tcsetattr(fd, termios.TCSADRAIN, before)
        except (OSError, termios.error):  # the terminal has gone
            pass


def _terminal(stdin: TextIO) -> tuple[int, list[Any]] | None:
    """The file descriptor of the terminal on ``stdin`` and its attributes; None when
    there is none (a pipe, a StringIO, a system without termios)."""
    try:
        import termios
    except ImportError:
        return None
    try:
        fd = stdin.fileno()
        return fd, termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):
        return None
