"""Line mode, in-process: a prompt, a line, its answers, the prompt again; plain text only.

The end-to-end tests with real clients (pexpect, REPLWrapper, expect) are in
``e2e/test_third_party_clients.py``; here the runner reads from a list of lines and writes to
a string, so the order of what it prints can be checked exactly.
"""

from __future__ import annotations

import io
import os
import re
import termios
from collections.abc import Iterator

import pytest

from doer.client.worker import Worker
from doer.console.session import Settings
from doer.frontends.lines import LineRunner, run_lines
from doer.frontends.terminal import echo_is_on, wants_line_mode


class Keyboard(io.BytesIO):
    """Lines typed at a terminal in line mode; ``None`` stands for a Ctrl-C."""

    def __init__(self, *lines: str | None) -> None:
        super().__init__()
        self.lines: Iterator[str | None] = iter(lines)

    def readline(self, size: int | None = -1) -> bytes:
        line = next(self.lines, "")
        if line is None:
            raise KeyboardInterrupt
        return line.encode()


def run(*lines: str | None, **settings: object) -> tuple[int, str]:
    out = io.StringIO()
    runner = LineRunner(Settings(**settings), Keyboard(*lines), out)  # type: ignore[arg-type]
    status = runner.line_mode_status(runner.run(runner.prompted_lines()))
    return status, re.sub(r"\d+", "N", out.getvalue())


def test_the_prompt_comes_after_each_line_s_answers_and_nothing_is_echoed() -> None:
    status, text = run("ping\n", "set-state hola\n", "get-state\n")
    assert status == 0
    assert text == (
        "creating doer from process N\n"
        "[wN thread N] on start: state: None, pid: N\n"
        "doer wN thread N> [wN thread N] pong\n"
        "doer wN thread N> [wN thread N] new state: hola\n"
        "doer wN thread N> [wN thread N] state: hola\n"
        "doer wN thread N> \n"  # Ctrl-D: the prompt's line is ended
        "[wN thread N] on end: state: hola, pid: N\n"
    )


def test_a_fixed_prompt_is_written_as_given_and_prompt_alone_brings_back_the_usual_one() -> None:
    _, text = run(".prompt 'X> '\n", "ping\n", ".prompt\n", "ping\n", prompt=None)
    assert (
        "doer wN thread N> X> [wN thread N] pong\nX> doer wN thread N> [wN thread N] pong\n" in text
    )


def test_the_prompt_setting_from_the_command_line_is_the_first_prompt() -> None:
    _, text = run("ping\n", prompt="[p]> ")
    assert "[wN thread N] on start: state: None, pid: N\n[p]> [wN thread N] pong\n[p]> \n" in text


def test_wait_off_is_refused_with_the_reason_and_the_console_carries_on() -> None:
    status, text = run(".wait off\n", ".wait\n", "ping\n")
    assert status == 0, "an error on one line is not the session's failure"
    assert "error: wait stays on: this terminal cannot show an answer above a prompt" in text
    assert "wait: on\n" in text
    assert "[wN thread N] pong" in text


def test_ctrl_c_at_the_prompt_gives_a_fresh_prompt() -> None:
    _, text = run(None, "ping\n")
    assert "doer wN thread N> \ndoer wN thread N> [wN thread N] pong\n" in text


def test_errors_are_one_line_each() -> None:
    _, text = run('set-state "oops\n', ".nope\n", "ping\n")
    assert "doer wN thread N> error: cannot split the line: no closing quotation\n" in text
    assert "doer wN thread N> error: unknown command .nope (.help lists the commands)\n" in text


@pytest.mark.parametrize(
    ("term", "wanted"),
    [("dumb", True), ("unknown", True), ("", True), (None, True), ("xterm", False)],
)
def test_a_dumb_or_missing_term_means_line_mode(term: str | None, wanted: bool) -> None:
    primary, secondary = os.openpty()
    try:
        with os.fdopen(secondary, "r", closefd=False) as terminal:
            environ = {} if term is None else {"TERM": term}
            assert wants_line_mode(terminal, environ) is wanted
    finally:
        os.close(primary)
        os.close(secondary)


def test_a_terminal_with_its_echo_off_means_line_mode() -> None:
    primary, secondary = os.openpty()
    try:
        with os.fdopen(secondary, "r", closefd=False) as terminal:
            assert echo_is_on(terminal)
            attributes = termios.tcgetattr(secondary)
            attributes[3] &= ~termios.ECHO
            termios.tcsetattr(secondary, termios.TCSANOW, attributes)
            assert not echo_is_on(terminal)
            assert wants_line_mode(terminal, {"TERM": "xterm"})
    finally:
        os.close(primary)
        os.close(secondary)


def test_a_line_as_long_as_a_terminal_keeps_is_refused_not_sent_cut() -> None:
    status, text = run("set-state " + "x" * 5000 + "\n", "get-state\n")
    assert status == 0
    assert "error: line too long for a terminal in line mode: it keeps N,N bytes" in text
    assert "[wN thread N] state: None\n" in text, "the state was not changed by a cut line"


def test_a_line_one_byte_short_of_what_a_terminal_keeps_is_sent_and_one_that_long_is_not() -> None:
    """The boundary, in bytes. A terminal keeps 4,095 bytes of a line (the 4,096th is
    its newline) and drops the rest: a line of exactly 4,095 is what is left of a
    longer one as likely as not, so it is refused, in one line that says why; one
    byte shorter cannot have been cut, and goes whole. Bytes, not characters: a
    line of 4,095 bytes in two-byte characters is only 2,053 characters long,
    and the terminal cut it all the same."""
    kept = 4095  # what a Linux terminal keeps: the fact, not the module's constant
    head = "set-state "
    longest = head + "x" * (kept - 1 - len(head))
    as_long = head + "y" * (kept - len(head))
    as_long_in_bytes = head + "é" * ((kept - len(head)) // 2) + "z"
    assert [len(line.encode()) for line in (longest, as_long, as_long_in_bytes)] == [
        4094,
        4095,
        4095,
    ]
    assert len(as_long_in_bytes) == 2053
    lines = [longest, "get-state", as_long, as_long_in_bytes, "get-state"]
    out = io.StringIO()
    runner = LineRunner(Settings(prompt="P> "), Keyboard(*(line + "\n" for line in lines)), out)

    status = runner.line_mode_status(runner.run(runner.prompted_lines()))

    assert status == 0
    # What each line brought between its prompt and the next. A long answer is
    # shown as its start and its length: 4,084 x's, after "new state: " 4,095.
    said = [re.sub(r"^\[w1 thread \d+\] ", "", part) for part in out.getvalue().split("P> ")[1:]]
    refused = (
        "error: line too long for a terminal in line mode: it keeps 4,095 bytes of a line"
        " and drops the rest, so it was not sent (pipe the lines in, or use the shell,"
        " for longer ones)\n"
    )
    assert said[0].startswith("new state: xxx") and said[0].endswith("… (4,095 characters)\n")
    assert said[1].startswith("state: xxx") and said[1].endswith("… (4,091 characters)\n")
    assert said[2:4] == [refused, refused], "each refused in one line"
    assert said[4] == said[1], "neither cut line changed the state"


def test_ctrl_d_after_some_text_sends_it_on_a_line_of_its_own() -> None:
    _, text = run("ping")  # no newline: the terminal hands over the text at Ctrl-D
    assert "doer wN thread N> \n[wN thread N] pong\n" in text


def test_ctrl_c_while_restart_waits_for_the_worker_stops_it_at_once_and_carries_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stop = Worker.stop
    interrupted: list[float | None] = []

    def stop_interrupted_once(self: Worker, timeout: float | None = 5.0) -> object:
        if not interrupted:
            interrupted.append(timeout)
            raise KeyboardInterrupt  # Ctrl-C while waiting for the worker to end
        return stop(self, timeout)

    monkeypatch.setattr(Worker, "stop", stop_interrupted_once)
    status, text = run(".restart process\n", "ping\n")
    assert status == 0
    assert "[wN process N] on start: state: None" in text
    assert "[wN process N] pong\n" in text
    assert "is stuck in a handler" not in text


@pytest.mark.parametrize(
    ("jsonl", "echo_while_running"),
    [pytest.param(False, True, id="line-mode"), pytest.param(True, False, id="jsonl")],
)
def test_line_mode_leaves_the_terminal_s_settings_as_it_found_them(
    monkeypatch: pytest.MonkeyPatch, jsonl: bool, echo_while_running: bool
) -> None:
    """With ``--jsonl`` the terminal's echo is turned off while doer runs (each line
    of its output is a record); when it exits, the user's shell must get the terminal
    back as it was, or what they type next is not shown. Plain line mode leaves the
    terminal alone. In a pty, read and restored the way ``run_lines`` does it for
    ``doer --line-mode [--jsonl]``: its stdin is the terminal."""
    primary, secondary = os.openpty()
    try:
        before = termios.tcgetattr(secondary)
        assert before[3] & termios.ECHO, "a fresh pty echoes"
        # Typed before doer reads: a line, then Ctrl-D (the terminal's end of input).
        os.write(primary, b"ping\n\x04")
        echo_seen: list[bool] = []
        run = LineRunner.run

        def run_noting_the_echo(self: LineRunner, lines: Iterator[bytes]) -> int:
            echo_seen.append(echo_is_on(terminal))  # what the terminal was while doer ran
            return run(self, lines)

        monkeypatch.setattr(LineRunner, "run", run_noting_the_echo)
        out = io.StringIO()
        monkeypatch.setattr("sys.stdout", out)
        with os.fdopen(secondary, "r", closefd=False) as terminal:
            monkeypatch.setattr("sys.stdin", terminal)
            status = run_lines(Settings(), jsonl=jsonl)

        assert status == 0
        assert "pong" in out.getvalue(), out.getvalue()
        assert echo_seen == [echo_while_running]
        assert termios.tcgetattr(secondary) == before, "the terminal is not as it was"
    finally:
        os.close(primary)
        os.close(secondary)
