"""The soak run (``make soak``): the loss and fuzz checks at full size.

Not part of ``make test``: every test here is marked ``soak``, which the default
run deselects (``-m "not soak"`` in pyproject.toml). It takes a few minutes.

- 100,000 pipelined messages through the library API, on every kind, and
  through plain mode (thread and process): each answered exactly once, in order;
- hypothesis with many more examples of random lines in plain mode;
- a few thousand lines of random keys in a real terminal, with a fresh seed
  each run (printed; set DOER_FUZZ_SEED to replay one);
- a million lines piped into ``doer --mailbox 100``: every one answered, and
  the console's memory flat (its peak read from /proc).
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from doer.base.protocol import Reply
from support.fuzz import LINES, check_plain_mode, fuzz_the_terminal
from support.helpers import Recorder, WorkerFactory
from support.pty_helpers import (
    DOER,
    assert_each_answered_once_in_order,
    console_env,
    numbered_lines,
    run_piped,
)

pytestmark = [pytest.mark.soak, pytest.mark.timeout(600)]

COUNT = 100_000


def test_a_hundred_thousand_pipelined_tells_are_answered_once_each_in_order(
    make_worker: WorkerFactory,
) -> None:
    recorder = Recorder()
    worker = make_worker(listener=recorder)

    pendings = [worker.tell(("set-state", n)) for n in range(COUNT)]

    for n, pending in enumerate(pendings):
        answer = pending.result(timeout=60)
        assert answer == f"new state: {n}", f"request {pending.request_id} got {answer!r}"
    assert worker.pending == 0
    assert worker.state == COUNT - 1
    worker.stop()  # joins the reply reader: the listener has seen everything
    answered = [record.request_id for record in recorder.records if type(record) is Reply]
    assert answered == [pending.request_id for pending in pendings]


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_a_hundred_thousand_lines_piped_into_plain_mode_are_each_answered_once_in_order(
    tmp_path: Path, kind: str
) -> None:
    status, stdout, stderr = run_piped(kind, numbered_lines(COUNT), tmp_path, timeout=300)

    assert "Traceback" not in stdout + stderr
    assert stderr == ""
    assert status == 0, stdout[-2000:]
    assert_each_answered_once_in_order(stdout, kind, COUNT)


@settings(
    max_examples=500,
    deadline=None,
    database=None,  # fresh examples every soak run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=LINES)
def test_many_batches_of_random_lines_in_plain_mode_each_get_one_answer(
    tmp_path: Path, lines: list[bytes]
) -> None:
    check_plain_mode(lines, tmp_path)


def test_three_thousand_lines_of_random_keys_leave_the_console_answering_ping(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("DOER_FUZZ_SEED", random.randrange(2**32)))
    fuzz_the_terminal(tmp_path, lines=3000, seed=seed)


MILLION = 1_000_000
#: The console's peak memory, once its buffers of lines in flight have filled (by
#: the 100,000th line), may grow by at most this much over the rest of the million.
FLAT_KIB = 5 * 1024


def test_a_million_lines_piped_into_a_bounded_mailbox_keep_the_console_s_memory_flat(
    tmp_path: Path,
) -> None:
    """Backpressure through plain mode: ``doer --mailbox 100`` reads no faster than
    its worker answers, so a producer a pipe away waits, and the console's peak RSS
    (``VmHWM`` in /proc) is the same after a million lines as after 100,000."""
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as stdout, err.open("wb") as stderr:  # files: never a pipe left full
        console = subprocess.Popen(
            [DOER, "--mailbox", "100"],
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
            env=console_env(tmp_path),
        )
    assert console.stdin is not None
    chunk = b"ping\n" * 10_000
    peaks = {}
    try:
        for written in range(0, MILLION, len(chunk) // 5):
            if written == 100_000:
                peaks["at 100,000"] = peak_kib(console.pid)
            console.stdin.write(chunk)  # waits while the console is behind: backpressure
        console.stdin.flush()
        peaks["at 1,000,000"] = peak_kib(console.pid)  # its last lines still in the pipe
        console.stdin.close()
        status = console.wait(timeout=120)
    finally:
        if console.poll() is None:  # failed on the way: no console left behind
            console.kill()
            console.wait()
    stderr_text = err.read_text()

    assert status == 0 and stderr_text == "", stderr_text
    with out.open("rb") as answers:
        assert sum(line.endswith(b"] pong\n") for line in answers) == MILLION
    grew = peaks["at 1,000,000"] - peaks["at 100,000"]
    assert grew <= FLAT_KIB, f"peak RSS grew by {grew / 1024:.1f} MiB: {peaks}"


def peak_kib(pid: int) -> int:
    """A live process's peak resident memory so far, in KiB (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise LookupError(f"no VmHWM for process {pid}")
