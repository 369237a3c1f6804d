"""Narrowing the terminal keeps what was printed and draws the prompt once.

Most terminals today (tmux among them) rewrap their lines when they are made
narrower: a row wider than the new width becomes two, and the screen scrolls
up a row for it. prompt-toolkit then erases its prompt from where it thinks
the prompt begins, which the extra rows have moved: a copy of the prompt
stays above the fresh one, and lines scroll off the screen at every resize.
The console's rows (the toolbar, the line being typed) leave room for that.

A plain pty does not rewrap, so this runs the console in tmux, at 80x24, and
narrows it to 70 columns and back twice, as a teacher fitting a projector
would. Without tmux it is skipped.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from doer.frontends.shell import slack_columns
from support.pty_helpers import DOER, TIMEOUT_S

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Tmux:
    """One console in a private tmux server, its screen read as text."""

    def __init__(self, tmp_path: Path, width: int = 80, height: int = 24) -> None:
        self.socket = str(tmp_path / "tmux.socket")
        env = f"XDG_STATE_HOME={shlex.quote(str(tmp_path))}"
        command = f"env -u PROMPT_TOOLKIT_NO_CPR -u NO_COLOR {env} {shlex.quote(DOER)} --no-history"
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), command)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-u", "-f", os.devnull, "-S", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=True,
        )
        return done.stdout

    def lines(self, history: bool = False) -> list[str]:
        """The screen's lines (and the ones scrolled off it, with ``history``)."""
        start = ["-S", "-"] if history else []
        return self.tmux("capture-pane", "-p", *start).rstrip("\n").split("\n")

    def scrolled_off(self) -> int:
        return int(self.tmux("display-message", "-p", "#{history_size}"))

    def wait_for(self, condition: Callable[[list[str]], bool], what: str) -> list[str]:
        """Wait until the screen's lines meet ``condition``; return them."""
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            lines = self.lines()
            if condition(lines):
                return lines
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; the screen shows:\n" + "\n".join(lines))
            time.sleep(0.01)

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=TIMEOUT_S
        )


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    session = Tmux(tmp_path)
    try:
        yield session
    finally:
        session.close()


PROMPT = re.compile(r"^doer w1 thread (\d+)> ")


def _prompt_rows(lines: list[str]) -> list[str]:
    return [line for line in lines if PROMPT.match(line)]


def test_narrowing_and_widening_keeps_the_screen_and_draws_the_prompt_once(tmux: Tmux) -> None:
    tmux.wait_for(lambda lines: "· .help" in lines[-1], "the prompt and its toolbar")
    tmux.tmux("send-keys", "ping", "Enter")
    tmux.wait_for(lambda lines: any(line.endswith("] pong") for line in lines), "pong")
    typed = "set-state " + "x" * 60  # two rows: longer than 80 columns with the prompt
    tmux.tmux("send-keys", typed)
    tmux.wait_for(
        lambda lines: any(line.startswith("x" * 10) for line in lines), "the line, on two rows"
    )
    before, scrolled = tmux.lines(), tmux.scrolled_off()

    def drawn_within(width: int) -> Callable[[list[str]], bool]:
        """The prompt redrawn for ``width``: its first row wraps where the slack begins."""
        wraps_at = width - slack_columns(width)

        def redrawn(lines: list[str]) -> bool:
            rows = [line for line in _prompt_rows(lines) if "set-state" in line]
            return [len(row) for row in rows] == [wraps_at]

        return redrawn

    for _ in range(2):  # four resizes (tmux takes a quarter of a second over each)
        tmux.tmux("resize-window", "-x", "70")
        tmux.wait_for(drawn_within(70), "the prompt redrawn at 70 columns")
        tmux.tmux("resize-window", "-x", "80")
        tmux.wait_for(drawn_within(80), "the prompt redrawn at 80 columns")

    tmux.wait_for(lambda lines: lines == before, "the screen as it was before the resizes")
    everything = tmux.lines(history=True)
    assert tmux.scrolled_off() == scrolled, "lines scrolled off:\n" + "\n".join(everything)
    assert len([line for line in everything if "set-state" in line]) == 1, everything
    assert len([line for line in everything if "· running: " in line]) == 1, everything
