"""Nothing lost: every message piped into plain mode is answered exactly once, in order.

``seq``-style input of ``set-state N`` lines goes through the real ``doer``
command behind pipes. The output is read while the input is written
(``communicate`` does both), since a pipe holds only 64 KiB and the console
would otherwise block on a full stdout while the test blocks on a full stdin.

The library-level version (10,000 ``tell()`` calls in flight) lives in
``test_client.py``; the 100,000-message versions of both run in ``make soak``
(``test_soak.py``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pty_helpers import DOER, START_EVENT, assert_no_traceback, console_env

KINDS = ["thread", "process"]


def numbered_lines(count: int) -> bytes:
    return "".join(f"set-state {n}\n" for n in range(count)).encode()


def run_piped(kind: str, stdin: bytes, state_home: Path, timeout: float) -> tuple[int, str, str]:
    """Run ``doer --kind KIND`` with ``stdin`` piped in; return status, stdout, stderr."""
    console = subprocess.Popen(
        [DOER, "--kind", kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=console_env(state_home),
    )
    try:
        out, err = console.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        console.kill()
        out, err = console.communicate()
        pytest.fail(
            f"doer --kind {kind} did not finish within {timeout:g} s; "
            f"the last output was:\n{out.decode(errors='replace')[-2000:]}"
        )
    return console.returncode, out.decode(), err.decode()


def assert_each_answered_once_in_order(stdout: str, kind: str, count: int) -> None:
    """The transcript is: creating line, start event, then ``> set-state N`` and
    ``[kind pid] new state: N`` for every N in order, then the end event. Nothing
    else, nothing missing, nothing twice."""
    started = re.search(START_EVENT, stdout)
    assert started is not None, f"no start event in:\n{stdout[:2000]}"
    pid = int(started.group(4))
    tag = f"[{kind} {pid}]"
    lines = stdout.splitlines()
    assert lines[0].startswith("creating doer from process ")
    assert lines[1] == f"{tag} on start: state: None, pid: {pid}"
    body = lines[2:-1]
    assert lines[-1] == f"{tag} on end: state: {count - 1}, pid: {pid}", lines[-3:]
    echoes = body[0::2]
    answers = body[1::2]
    # Find the first difference instead of comparing 20,000 lines in one assert message.
    for n in range(count):
        assert n < len(echoes), f"only {len(echoes)} of {count} lines were echoed"
        assert echoes[n] == f"> set-state {n}", f"line {n} was echoed as {echoes[n]!r}"
        assert n < len(answers), f"only {len(answers)} of {count} lines were answered"
        assert answers[n] == f"{tag} new state: {n}", f"line {n} was answered {answers[n]!r}"
    assert len(body) == 2 * count, f"{len(body) - 2 * count} extra lines after the last answer"


@pytest.mark.parametrize("kind", KINDS)
def test_ten_thousand_lines_piped_into_plain_mode_are_each_answered_once_in_order(
    tmp_path: Path, kind: str
) -> None:
    count = 10_000
    status, stdout, stderr = run_piped(kind, numbered_lines(count), tmp_path, timeout=30)

    assert_no_traceback(stdout, stderr)
    assert stderr == ""
    assert status == 0, stdout[-2000:]
    assert_each_answered_once_in_order(stdout, kind, count)
