"""No worker is left behind when the console is killed.

The console is killed with SIGKILL while its worker is busy with ``sleep 30``
(the console cannot clean up, and a busy worker reads no end of file from its
request pipe: only its own watch of its parent can end it), and with SIGTERM
and SIGHUP (it must stop and reap its worker and exit with 128 + the signal),
in three places:

- as the session leader of a pty, as pexpect starts it. When a session leader
  dies the kernel hangs up the terminal and SIGHUP kills the foreground group,
  worker included, so this case alone would hide a worker that does not watch
  its console (docs/testing.md, "A session leader hides orphans");
- under a shell in a pty (``sh -c 'doer ...; ...'``), as a user runs it: the
  terminal outlives the console, and only the worker's own watch ends it;
- behind pipes in a session of its own (plain mode), with no terminal at all.

The worker's pid comes from its start event; it must be gone (not even a
zombie) within 1 s of the console's end. For SIGKILL the test adopts orphans
(``child_subreaper``) and reaps the worker itself once it has exited.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.pty_helpers import (
    DOER,
    START_EVENT,
    Terminal,
    assert_alive,
    child_subreaper,
    console_env,
    read_until,
    wait_gone,
    wait_until_asleep,
)

METHODS = ["spawn", "fork"]

#: How long the worker may outlive its console.
GONE_WITHIN_S = 1.0


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for term in started:
        term.close()


def kill_console(term: Terminal, sig: signal.Signals) -> int:
    """Send ``sig`` to the console; return its exit status (128 + N if a signal killed it)."""
    os.kill(term.console_pid, sig)
    if term.via_shell:
        return int(term.expect(r"console-exit=(\d+)(?=\D)").group(1))
    term.expect_eof()
    code = term.exit_status()
    killed_by = term.child.signalstatus
    return 128 + killed_by if killed_by is not None else (code if code is not None else -1)


def start_in_terminal(
    terminals: list[Terminal], tmp_path: Path, method: str, *, under_shell: bool
) -> Terminal:
    term = Terminal(
        ["--kind", "process", "--start-method", method], tmp_path, via_shell=under_shell
    )
    terminals.append(term)
    term.start()
    if under_shell:
        assert term.console_pid != term.child.pid, "the shell leads the session, not doer"
    else:
        assert term.console_pid == term.child.pid
    assert_alive(term.worker_pid)
    return term


def make_busy(term: Terminal) -> None:
    """Give the worker a long request: a busy worker reads no end of file from its console."""
    term.sendline("sleep 30")
    wait_until_asleep(term.worker_pid)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("under_shell", [False, True], ids=["session-leader", "under-a-shell"])
def test_a_console_killed_with_sigkill_in_a_terminal_leaves_no_worker(
    tmp_path: Path, terminals: list[Terminal], under_shell: bool, method: str
) -> None:
    """The worker is busy (``sleep 30``) when its console dies: only its watch can end it."""
    with child_subreaper():
        term = start_in_terminal(terminals, tmp_path, method, under_shell=under_shell)
        make_busy(term)
        status = kill_console(term, signal.SIGKILL)
        wait_gone(term.worker_pid, GONE_WITHIN_S)
    assert status == 128 + signal.SIGKILL


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda sig: sig.name)
@pytest.mark.parametrize("under_shell", [False, True], ids=["session-leader", "under-a-shell"])
def test_sigterm_and_sighup_in_a_terminal_stop_the_worker_and_exit_cleanly(
    tmp_path: Path,
    terminals: list[Terminal],
    under_shell: bool,
    sig: signal.Signals,
    method: str,
) -> None:
    """No orphan adoption here: the console must have stopped and reaped its worker itself."""
    term = start_in_terminal(terminals, tmp_path, method, under_shell=under_shell)
    worker = term.worker_pid

    status = kill_console(term, sig)
    wait_gone(worker, GONE_WITHIN_S)

    assert status == 128 + sig
    # A clean exit: the worker was told to stop and said so; nothing blew up on the way.
    assert f"[w1 process {worker}] on end: state: None, pid: {worker}\n" in term.text, term.text
    assert "Traceback" not in term.text, term.text


def test_sigterm_in_a_terminal_while_the_worker_is_busy(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    """The console does not wait for a long request: it gives the worker 1 s, then kills it."""
    term = start_in_terminal(terminals, tmp_path, "spawn", under_shell=True)
    worker = term.worker_pid
    make_busy(term)

    started = time.monotonic()
    status = kill_console(term, signal.SIGTERM)
    took = time.monotonic() - started
    wait_gone(worker, GONE_WITHIN_S)

    assert status == 128 + signal.SIGTERM
    assert took < 3.0, f"the console took {took:.1f} s to leave"
    assert "Traceback" not in term.text, term.text


# --- several process workers --------------------------------------------------------


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=lambda sig: sig.name
)
def test_a_console_killed_with_several_busy_process_workers_leaves_none(
    tmp_path: Path, terminals: list[Terminal], sig: signal.Signals
) -> None:
    """One worker of each start method, all busy: whatever ends the console ends them all."""
    with child_subreaper():
        term = start_in_terminal(terminals, tmp_path, "spawn", under_shell=True)
        workers = [term.worker_pid]
        for name, method in (("f", "fork"), ("fs", "forkserver")):
            term.sendline(f".spawn {name} process --start-method {method}")
            started = term.expect(rf"\[{name} process (\d+)\] on start: state: None, pid: \1\D")
            workers.append(int(started.group(1)))
        term.sendline("@all sleep 30")
        for pid in workers:
            wait_until_asleep(pid)

        status = kill_console(term, sig)
        for pid in workers:
            wait_gone(pid, GONE_WITHIN_S)
    assert status == 128 + sig
    assert "Traceback" not in term.text, term.text


# --- no terminal at all --------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_a_console_killed_behind_pipes_leaves_no_worker(tmp_path: Path, method: str) -> None:
    with child_subreaper():
        console = subprocess.Popen(
            [DOER, "--kind", "process", "--start-method", method],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=console_env(tmp_path),
            start_new_session=True,  # no terminal, no process group to take the worker along
        )
        try:
            started = re.search(START_EVENT, read_until(console, START_EVENT + r".*\n"))
            assert started is not None
            worker = int(started.group(5))
            assert worker != console.pid
            assert console.stdin is not None
            console.stdin.write(b"sleep 30\n")
            console.stdin.flush()
            wait_until_asleep(worker)  # busy: it reads no end of file from its console

            console.kill()
            assert console.wait(timeout=5) == -signal.SIGKILL
            wait_gone(worker, GONE_WITHIN_S)
        finally:
            if console.poll() is None:
                console.kill()
            console.communicate(timeout=5)
