"""What a program driving doer pays: a one-shot ``doer -c ping``, and ``--jsonl``'s throughput.

**One shot.** ``doer -c ping`` launched with pipes, from the spawn to the
process's exit (its worker started, asked, answered, stopped), next to
``python -c "import prompt_toolkit"`` launched and waited for the same way:
the cost of a console's import, which a one-shot run should not pay, since it
never draws a prompt. :data:`LAUNCHES` rounds, the two programs in turn (the
order alternates); the verdict is on the median of the per-round differences
(target: at most :data:`ONE_SHOT_TARGET_MS` more than the import), the
figures shown are each program's median. Bytecode is cached, as after an
install, by one untimed launch of each.

**JSON lines.** ``doer --jsonl --kind K`` given the plain mode group's
100,000 piped lines, read as they come; lines a second from the first byte of
output to the last answer's arrival, measured the same way as plain mode's
row (:mod:`benchmarks.plain_mode`), next to plain mode on the same kind in the
same round. Every record must parse and the replies must answer the lines in
order, or the row fails. Target: at least :data:`JSONL_TARGET` times plain
mode's rate.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from benchmarks.common import DOER_SCRIPT, Row, median, per_second, rate, verdict
from benchmarks.plain_mode import KINDS, LINES, ROUNDS, fed_console, plain_run, script

LAUNCHES = 10
ONE_SHOT_TARGET_MS = 40.0
JSONL_TARGET = 0.9


# --- one shot ----------------------------------------------------------------------------


def _launch_ms(argv: list[str]) -> float:
    """Milliseconds from spawning ``argv`` (pipes, no input) to its exit.

    Raises:
        RuntimeError: it did not exit with status 0.
    """
    started = time.perf_counter()
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    took = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr.decode()[-200:]}")
    return took


def one_shot_row() -> Row:
    doer_argv = [DOER_SCRIPT, "-c", "ping"]
    import_argv = [sys.executable, "-c", "import prompt_toolkit"]
    measure = "doer -c ping, launch to exit"
    baseline_label = 'python -c "import prompt_toolkit"'
    try:
        for argv in (doer_argv, import_argv):  # untimed: bytecode cached, as installed
            _launch_ms(argv)
        doer_ms, import_ms, differences = [], [], []
        for round_number in range(LAUNCHES):
            pair = [doer_argv, import_argv][:: -1 if round_number % 2 else 1]
            times = {tuple(argv): _launch_ms(argv) for argv in pair}
            doer_ms.append(times[tuple(doer_argv)])
            import_ms.append(times[tuple(import_argv)])
            differences.append(doer_ms[-1] - import_ms[-1])
    except RuntimeError as exc:
        return Row(measure, f"n/a ({exc})", baseline_label, "", "", "n/a")
    more = median(differences)
    return Row(
        measure,
        f"{median(doer_ms):.0f} ms",
        f"{median(import_ms):.0f} ms  {baseline_label}",
        f"{more:+.0f} ms",
        f"<= +{ONE_SHOT_TARGET_MS:.0f} ms",
        verdict(more <= ONE_SHOT_TARGET_MS),
    )


# --- JSON lines -----------------------------------------------------------------------------


def jsonl_run(kind: str, lines: list[str]) -> tuple[float, str | None]:
    """One ``--jsonl`` console fed every line: its rate, and what went wrong (None: nothing)."""
    transcript, cut, status, _ = fed_console(["--jsonl", "--kind", kind], lines)
    if cut or status != 0:
        return 0.0, f"exit status {status}" + (" (stopped at the cap)" if cut else "")
    output = bytes(transcript.data)
    problem = _check(output, lines)
    last_reply = output.rfind(b'"type":"reply"')
    seconds = transcript.arrival_of(last_reply) - transcript.arrivals[0]
    return rate(len(lines), seconds), problem


def _check(output: bytes, lines: list[str]) -> str | None:
    """Whether every record parses and each line has its one reply, in order."""
    replies = []
    for number, line in enumerate(output.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            return f"line {number} is not JSON: {line[:80]!r}"
        if record["type"] == "reply":
            replies.append(record["line"])
    if replies != lines:
        return f"{len(replies):,} replies for {len(lines):,} lines, or out of order"
    return None


def jsonl_row(kind: str, lines: list[str]) -> Row:
    plain_rates: list[float] = []
    jsonl_rates: list[float] = []
    measure = f"--jsonl, {LINES:,} piped lines, {kind}"
    target = f">= {JSONL_TARGET:g}x plain"
    for round_number in range(ROUNDS):
        if round_number % 2:
            plain_rates.append(plain_run(kind, lines).rate)
        mine, problem = jsonl_run(kind, lines)
        if problem is not None:
            return Row(measure, f"broken: {problem}", "", "", target, "MISS")
        jsonl_rates.append(mine)
        if not round_number % 2:
            plain_rates.append(plain_run(kind, lines).rate)
    mine, base = median(jsonl_rates), median(plain_rates)
    ratio = mine / base if base else 0.0
    return Row(
        measure,
        per_second(mine),
        f"{per_second(base)}  plain mode",
        f"{ratio:.2f}x",
        target,
        verdict(ratio >= JSONL_TARGET),
    )


def run() -> list[Row]:
    lines = script()
    return [one_shot_row(), *(jsonl_row(kind, lines) for kind in KINDS)]
