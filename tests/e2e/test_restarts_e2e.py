"""Restart policies end to end: a death storm piped into plain mode, and a worker
restarted and given up on in a terminal at 80x24."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from support.helpers import CONSOLE_KINDS, wait_until
from support.pty_helpers import Terminal, feed, plain_console, run_doer, wait_gone, worker_pid_of


def test_a_death_storm_is_stopped_by_the_budget_and_no_process_is_left(tmp_path: Path) -> None:
    """1,000 ``segfault`` lines piped to a process worker under ``on-failure``: three
    restarts, then it is given up on; every later line is one error at once."""
    done = run_doer(
        ["--kind", "process", "--restart", "on-failure", "--within", "60"],
        tmp_path,
        stdin=b"segfault\n" * 1000,
        timeout=60,
    )
    out = done.stdout.decode()
    pids = [int(pid) for pid in re.findall(r"on start: state: None, pid: (\d+)", out)]

    assert done.returncode == 1 and done.stderr == b"", done.stderr.decode()
    assert (
        len(re.findall(r"restarted \(\d of 3 in 60 s\) after it died: killed by SIGSEGV", out)) == 3
    )
    assert out.count("] gave up: 3 restarts in 60 s spent its budget") == 1
    assert out.count("unanswered: the worker died") == 4  # one a death: none lost, none twice
    assert out.count("error: the worker has ended; .restart starts a fresh one") == 996
    assert len(set(pids)) == 4
    for pid in pids:
        wait_gone(pid)


def test_in_a_terminal_a_crash_is_restarted_twice_then_given_up_on(
    launch: Callable[..., Terminal],
) -> None:
    term = launch("--kind", "process", "--restart", "on-failure", "--max-restarts", "2")
    first = worker_pid_of(term.text)
    for number in (1, 2):
        term.sendline("segfault")
        term.expect_text(f"restarted ({number} of 2 in 5 s) after it died: killed by SIGSEGV")
        term.expect(r"on start: state: None, pid: \d+")
        term.expect(r"doer w1 process \d+> ")  # the prompt names the fresh pid
    term.sendline("segfault")
    term.expect_text("died: killed by SIGSEGV")
    term.expect_text("gave up: 2 restarts in 5 s spent its budget")
    term.expect_text("doer (no worker)> ")
    term.sendline(".quit")
    term.expect_eof()
    assert term.exit_status() == 0
    wait_gone(first)


def test_a_script_s_line_after_killing_a_supervised_worker_goes_on_after_its_restart(
    launch: Callable[..., Terminal], tmp_path: Path
) -> None:
    """``-i --script``: the line after ``.kill`` waits for what the kill makes happen,
    which is a restart here, not an end: it runs once the restart is shown, not after
    the 60 s timeout."""
    script = tmp_path / "lesson.doer"
    script.write_text(".spawn p1 process --restart always\n.kill p1\n@p1 ping\n")
    term = launch("-i", "--script", str(script), "--timeout", "60")  # after the script
    assert "restarted (1 of 3 in 5 s) after it died: killed by SIGKILL" in term.text
    assert re.search(r"\[p1 process \d+\] pong", term.text), term.text
    term.sendline(".quit")
    term.expect_eof()


def test_plain_mode_s_kill_of_a_supervised_worker_restarts_it(tmp_path: Path) -> None:
    done = run_doer(
        ["--kind", "process", "--restart", "on-failure"], tmp_path, stdin=b".kill\nping\n"
    )
    out = done.stdout.decode()
    assert "restarted (1 of 3 in 5 s) after it died: killed by SIGKILL" in out, out
    assert re.search(r"\] pong\n", out) and done.returncode == 0, out


def test_plain_mode_says_a_restart_from_outside_before_the_fresh_worker_s_answer(
    tmp_path: Path,
) -> None:
    """Killed from outside between two lines: the restart line comes before the next
    answer, which carries the fresh pid, in text and in --jsonl alike."""
    console = plain_console(tmp_path, "--kind", "process", "--restart", "on-failure", "--jsonl")
    try:
        before, dead = feed(console, b"ping\n", r'"type":"reply"')
        os.kill(dead, signal.SIGKILL)
        wait_until(lambda: _children(console.pid) - {dead}, 10, "the fresh worker")
        assert console.stdin is not None
        console.stdin.write(b"ping\n")
        console.stdin.close()
        out = before + (console.stdout.read().decode() if console.stdout else "")
    finally:
        console.wait(10)
    # Where the second line's echo falls among them depends on when it was read.
    records = [json.loads(line) for line in out.splitlines()]
    records = [record for record in records if record["type"] != "input"]
    kinds = [record["type"] for record in records]
    assert kinds[-4:-1] == ["restarted", "started", "reply"], out
    restarted, started, reply = records[-4:-1]
    assert restarted["worker"]["pid"] == dead and f"[w1 process {dead}]" in restarted["text"]
    fresh = started["worker"]["pid"]
    assert reply["worker"]["pid"] == fresh != dead and f"[w1 process {fresh}] pong" in reply["text"]


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (a console's workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.mark.parametrize("kind", CONSOLE_KINDS)
def test_plain_mode_restarts_every_kind_of_worker_that_dies(kind: str, tmp_path: Path) -> None:
    done = run_doer(["--kind", kind, "--restart", "on-failure"], tmp_path, stdin=b"die\nping\n")
    out = done.stdout.decode()
    assert re.search(rf"\[w1 {kind} \d+\] restarted \(1 of 3 in 5 s\) after it died: ", out), out
    assert re.search(rf"\[w1 {kind} \d+\] pong\n", out), out
    assert done.returncode == 1 and done.stderr == b""  # the die's request failed


@pytest.mark.parametrize("kind", ["thread", "asyncio"])
def test_in_a_terminal_a_thread_or_task_whose_loop_dies_is_restarted(
    kind: str, launch: Callable[..., Terminal]
) -> None:
    """Same pid (the console's), a fresh loop: the restart line, then the fresh start."""
    term = launch("--kind", kind, "--restart", "on-failure")
    term.sendline("die")
    term.expect_text("restarted (1 of 3 in 5 s) after it died: ")
    term.expect(r"on start: state: None, pid: \d+")
    term.expect(rf"doer w1 {kind} \d+> ")
    term.sendline("ping")
    term.expect_text("pong")
    term.sendline(".quit")
    term.expect_eof()
    assert term.exit_status() == 0
