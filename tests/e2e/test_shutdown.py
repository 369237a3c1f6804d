"""Every way out ends cleanly: documented status, worker gone, not a warning printed.

The consoles here run in Python's development mode (``PYTHONDEVMODE=1``) with
every warning shown, so a leaked file, pipe or semaphore (``ResourceWarning``),
a ``resource_tracker`` complaint or a traceback on the way out would reach
stderr (plain mode) or the terminal (the shell), where the tests look for them.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from support.pty_helpers import (
    Terminal,
    feed,
    held,
    plain_console,
    wait_gone,
    wait_until_asleep,
)

WARNING_WORDS = ("Traceback", "Warning", "leaked", "resource_tracker")


@pytest.fixture(autouse=True)
def development_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDEVMODE", "1")
    monkeypatch.setenv("PYTHONWARNINGS", "always")


def assert_quiet(text: str) -> None:
    found = [word for word in WARNING_WORDS if word in text]
    assert not found, f"{found} in the output:\n{text}"


# --- plain mode ---------------------------------------------------------------------


Ending = Callable[[subprocess.Popen[bytes], int], None]


def end_of_input(console: subprocess.Popen[bytes], worker: int) -> None:
    pass  # communicate() below closes stdin


def quit_now(console: subprocess.Popen[bytes], worker: int) -> None:
    assert console.stdin is not None
    console.stdin.write(b".quit!\n")
    console.stdin.flush()


def worker_dies_first(console: subprocess.Popen[bytes], worker: int) -> None:
    os.kill(worker, signal.SIGKILL)
    wait_gone(worker, timeout=2.0)


def signal_ending(sig: signal.Signals) -> Ending:
    def send(console: subprocess.Popen[bytes], worker: int) -> None:
        os.kill(console.pid, sig)

    return send


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        # Status 1 where the run ends normally: the answer to `sleep 3` was late.
        (end_of_input, 1),
        (quit_now, 1),
        (worker_dies_first, 1),
        (signal_ending(signal.SIGINT), 130),
        (signal_ending(signal.SIGTERM), 143),
        (signal_ending(signal.SIGHUP), 129),
    ],
    ids=["end-of-input", "quit-now", "worker-died-first", "SIGINT", "SIGTERM", "SIGHUP"],
)
def test_plain_mode_ends_every_way_with_its_status_and_no_warning(
    tmp_path: Path, ending: Ending, status: int
) -> None:
    console = plain_console(tmp_path, "--kind", "process", "--timeout", "0.2")
    try:
        before, worker = feed(console, b"ping\nsleep 3\n", until=r"no answer yet to request 2")
        wait_until_asleep(worker)
        ending(console, worker)
        out, err = console.communicate(timeout=10)
    finally:
        if console.poll() is None:
            console.kill()
            console.communicate()
    assert console.returncode == status, before + out.decode() + err.decode()
    assert err.decode() == ""
    assert_quiet(before + out.decode())
    wait_gone(worker, timeout=1.0)


# --- the shell ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "status"),
    [(".quit", 0), ("ctrl-d", 0), (".quit!", 0), ("SIGTERM", 143), ("SIGHUP", 129)],
)
def test_the_shell_ends_every_way_with_its_status_and_no_warning(
    tmp_path: Path, how: str, status: int
) -> None:
    # spawn: the start method with the most to clean up (resource tracker, a fresh
    # interpreter); fork exits are covered by test_e2e and test_no_worker_left.
    term = Terminal(["--kind", "process", "--start-method", "spawn"], tmp_path)
    try:
        term.start()
        term.ask("ping", "pong")
        with held(term.worker_pid):  # a request is pending whichever way the shell ends
            term.sendline("whoami")
            if how == "ctrl-d":
                term.expect_prompt()
                term.send("\x04")
            elif how.startswith("."):
                term.sendline(how)
            else:
                os.kill(term.console_pid, signal.Signals[how])
            if how in (".quit", "ctrl-d"):
                term.expect_text("waiting for 1 pending request(s)")
        term.expect_eof()
        assert term.exit_status() == status
        assert_quiet(term.text)
        wait_gone(term.worker_pid, timeout=1.0)
    finally:
        term.close()
