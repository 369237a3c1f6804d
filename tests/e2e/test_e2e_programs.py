"""End to end through a real pty: what a program driving the shell meets.

A test engineer's first script spawns ``doer`` under pexpect with colour on
and waits for ``\\[w1 thread \\d+\\] pong`` in the raw output; it must match
without stripping escape codes. And a program's lines are not the user's: with
``--no-history`` (or ``DOER_NO_HISTORY``) the shell writes no history file.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from doer.testing.plugin import DrivenConsole
from support.pty_helpers import DOER, TIMEOUT_S, Terminal, console_env

Launch = Callable[..., Terminal]  # the conftest fixture `launch`

#: A colour or style code (SGR): ``\x1b[0;38;5;71;1m``.
SGR = r"\x1b\[[0-9;]*m"


# --- colour codes around a line, not inside it -----------------------------------------


def test_with_colour_on_the_pattern_a_pexpect_user_writes_matches_the_raw_output(
    tmp_path: Path,
) -> None:
    child = pexpect.spawn(
        DOER,
        ["--kind", "thread"],
        env=console_env(tmp_path, no_color=False),  # TERM=xterm, no NO_COLOR
        encoding="utf-8",
        dimensions=(40, 250),
        timeout=TIMEOUT_S,
    )
    child.delaybeforesend = None
    child.logfile_read = raw = io.StringIO()
    try:
        # Colour is on: the start event is preceded by its colour code.
        child.expect(rf"{SGR}\[w1 thread \d+\] on start: ")
        child.expect(r"doer w1 thread \d+>")
        child.sendline("ping")
        child.expect(r"\[w1 thread \d+\] pong")
        child.sendline("nosuch")
        child.expect(r"\[w1 thread \d+\] unknown message nosuch")
        child.sendline(".quit")
        child.expect(pexpect.EOF)
    except pexpect.TIMEOUT:
        pytest.fail(f"a pattern did not match the raw output:\n{raw.getvalue()!r}", pytrace=False)
    finally:
        child.close(force=True)


# --- no history file for a program -------------------------------------------------------


def _type_recall_and_quit(term: Terminal) -> None:
    """Type ``ping``, recall it with Up and send it again, then ``.quit``."""
    term.ask("ping", "pong")
    term.send("\x1b[A\r")  # Up, Enter: the session's own history recalls the line
    term.expect(re.escape(f"doer w1 thread {term.worker_pid}> ping"))
    term.expect(re.escape(f"[w1 thread {term.worker_pid}] pong"))
    term.expect_prompt()
    term.sendline(".quit")
    term.expect_eof()
    assert term.exit_status() == 0


@pytest.mark.parametrize("how", ["--no-history", "DOER_NO_HISTORY=1"])
def test_no_history_keeps_the_lines_in_memory_and_writes_no_file(
    launch: Launch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how.startswith("DOER_NO_HISTORY"):
        monkeypatch.setenv("DOER_NO_HISTORY", "1")  # the console's environment is this one's
        term = launch()
    else:
        monkeypatch.delenv("DOER_NO_HISTORY", raising=False)
        term = launch(how)

    _type_recall_and_quit(term)
    assert not (tmp_path / "doer").exists(), list((tmp_path / "doer").rglob("*"))
    assert "history is not saved" not in term.text  # asked for, so nothing to warn of


def test_without_the_flag_the_history_file_is_written(
    launch: Launch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOER_NO_HISTORY", raising=False)
    term = launch()

    _type_recall_and_quit(term)
    assert "+ping" in (tmp_path / "doer" / "history").read_text()


def test_the_pytest_plugin_s_console_writes_no_history(
    doer_console: Callable[..., DrivenConsole], tmp_path: Path
) -> None:
    console = doer_console("--kind", "thread", env={"XDG_STATE_HOME": str(tmp_path)})
    # Today the plugin gets line mode, which keeps no history: the flag guards the
    # day it gets the shell, so it is checked on the command line itself.
    arguments = [os.fsdecode(arg) for arg in console.child.args[1:]]  # bytes, whatever stubs say
    assert "--no-history" in arguments, arguments
    assert console.answer("ping") == "pong"
    assert console.quit() == 0
    assert not (tmp_path / "doer").exists()
