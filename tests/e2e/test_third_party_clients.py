"""End to end with the clients testers use, at their defaults: what docs/programs.md promises.

No special environment here (no ``PROMPT_TOOLKIT_NO_CPR``, no wide window, no
``NO_COLOR``, pexpect's own ``delaybeforesend``): each client is used as
docs/programs.md's "Driving doer from tests" says. Every test runs ``ping``,
``set-state 5``, ``get-state`` and ``whoami`` on a process worker, leaves with
``.quit``, and checks that the answers come back clean and that the worker is
gone. The example programs that page shows are run by the transcript check
(``test_docs.py``); these tests say what each client must get.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pexpect
import pytest
from pexpect.popen_spawn import PopenSpawn
from pexpect.replwrap import REPLWrapper

from support.pty_helpers import DOER, START_EVENT, wait_gone, worker_pid_of

ROOT = Path(__file__).resolve().parent.parent.parent
LINES = {
    "ping": "pong",
    "set-state 5": "new state: 5",
    "get-state": "state: 5",
    "whoami": "pid {pid}, ppid {ppid}",
}
CPR_WARNING = "your terminal doesn't support cursor position requests"
ESCAPE = "\x1b"


def client_env(tmp_path: Path, term: str | None = "inherited") -> dict[str, str]:
    """The test runner's own environment, with doer first on the PATH and history kept aside."""
    env = dict(os.environ)
    env["PATH"] = str(Path(DOER).parent) + os.pathsep + env.get("PATH", "")
    env["XDG_STATE_HOME"] = str(tmp_path)
    if term is None:
        env.pop("TERM", None)
    elif term != "inherited":
        env["TERM"] = term
    return env


def expected(line: str, worker_pid: int, console_pid: int) -> str:
    return LINES[line].format(pid=worker_pid, ppid=console_pid)


@pytest.mark.parametrize("term", ["inherited", "dumb", "xterm", None])
def test_pexpect_spawn_at_its_defaults_gets_each_answer_after_its_line(
    tmp_path: Path, term: str | None
) -> None:
    child = pexpect.spawn(
        "doer --kind process --no-color", env=client_env(tmp_path, term), encoding="utf-8"
    )
    log: list[str] = []
    child.logfile_read = _Collect(log)
    try:
        child.expect(START_EVENT, timeout=10)
        worker_pid = int(child.match.group(5))
        for line in LINES:  # the first round trip included: no wait on the terminal
            child.sendline(line)
            child.expect(rf"\[w1 process {worker_pid}\] ([^\r\n\x1b]*)", timeout=10)
            answer = child.match.group(1)
            assert answer.startswith(expected(line, worker_pid, child.pid)), answer
        child.sendline(".quit")
        child.expect(pexpect.EOF, timeout=10)
    finally:
        child.close(force=True)
    output = "".join(log)
    assert child.exitstatus == 0, output
    assert CPR_WARNING not in output
    assert output.count("\x1b[6n") <= 1, "the terminal is asked where its cursor is once at most"
    if term in ("dumb", None):
        assert ESCAPE not in output, f"line mode writes text only: {output!r}"
    wait_gone(worker_pid)


def test_repl_wrapper_sets_its_prompt_and_gets_each_answer_from_run_command(
    tmp_path: Path,
) -> None:
    child = pexpect.spawn(
        "doer --kind process", env=client_env(tmp_path), encoding="utf-8", echo=False
    )
    repl = REPLWrapper(child, r"doer w1 process \d+> ", ".prompt {0}")
    try:
        whoami = repl.run_command("whoami", timeout=10)
        worker_pid = int(re.match(r"\[w1 process (\d+)\] ", whoami).group(1))  # type: ignore[union-attr]
        for line in LINES:
            answer = repl.run_command(line, timeout=10)
            want = f"[w1 process {worker_pid}] {expected(line, worker_pid, child.pid)}"
            assert answer.startswith(want), answer
            assert answer.count("\n") == 1 and ESCAPE not in answer, repr(answer)
        child.sendline(".quit")
        child.expect(pexpect.EOF, timeout=10)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    wait_gone(worker_pid)


def test_repl_wrapper_with_a_fixed_prompt_needs_no_prompt_change(tmp_path: Path) -> None:
    child = pexpect.spawn(
        "doer --wait --prompt 'X> '", env=client_env(tmp_path), encoding="utf-8", echo=False
    )
    try:
        repl = REPLWrapper(child, "X> ", None)
        assert re.fullmatch(r"\[w1 thread \d+\] pong\r\n", repl.run_command("ping", timeout=10))
        child.sendline(".quit")
        child.expect(pexpect.EOF, timeout=10)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_popen_spawn_drives_plain_mode_over_pipes(tmp_path: Path) -> None:
    child = PopenSpawn("doer --kind process", env=client_env(tmp_path), encoding="utf-8")
    child.expect(START_EVENT, timeout=10)
    worker_pid = int(child.match.group(5))
    for line in LINES:
        child.sendline(line)
        child.expect_exact(f"> {line}\n", timeout=10)
        child.expect(rf"\[w1 process {worker_pid}\] ([^\n]*)\n", timeout=10)
        assert child.match.group(1).startswith(expected(line, worker_pid, child.pid))
    child.sendline(".quit")
    child.expect(pexpect.EOF, timeout=10)
    assert child.wait() == 0
    assert ESCAPE not in str(child.before)
    wait_gone(worker_pid)


@pytest.mark.skipif(shutil.which("script") is None, reason="script(1) is not installed")
def test_script_with_term_dumb_gives_a_plain_transcript(tmp_path: Path) -> None:
    typed = "".join(f"{line}\n" for line in LINES) + ".quit\n"
    result = subprocess.run(
        ["script", "-qec", "doer --kind process", "/dev/null"],
        input=typed.encode(),
        capture_output=True,
        env=client_env(tmp_path, "dumb"),
        timeout=30,
        check=False,
    )
    output = result.stdout.decode().replace("\r\n", "\n")
    assert result.returncode == 0, output
    assert ESCAPE not in output
    worker_pid = worker_pid_of(output)
    answers = re.findall(
        rf"doer w1 process {worker_pid}> \[w1 process {worker_pid}\] ([^\n]*)", output
    )
    assert [answer.split(", ppid")[0] for answer in answers[:4]] == [
        "pong",
        "new state: 5",
        "state: 5",
        f"pid {worker_pid}",
    ], output
    wait_gone(worker_pid)


@pytest.mark.skipif(shutil.which("expect") is None, reason="Tcl expect is not installed")
def test_tcl_expect_runs_the_readme_example(tmp_path: Path) -> None:
    result = subprocess.run(
        ["expect", str(ROOT / "examples" / "doer.exp")],
        capture_output=True,
        env=client_env(tmp_path),
        timeout=30,
        check=False,
    )
    output = result.stdout.decode()
    assert result.returncode == 0, output + result.stderr.decode()
    lines = output.replace("\r\n", "\n").splitlines()
    assert lines[:3] == ["ping -> pong", "set-state 5 -> new state: 5", "get-state -> state: 5"]
    assert lines[3].startswith("whoami -> pid ")


class _Collect:
    """A pexpect log that keeps everything the console wrote."""

    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, text: str) -> None:
        self.into.append(text)

    def flush(self) -> None:
        pass
