"""What a person at the prompt feels: a typed round trip, and a key typed on a long line.

Typed round trip (per kind: thread, process, asyncio)
    pexpect types ``ping`` into ``doer --kind K`` in a 24x80 pty and waits for
    ``pong``, then for the prompt drawn after it: milliseconds from the send.
    The baseline is the same console's ``.wait`` (answered by the console
    itself: what drawing a line and its answer costs without a worker), typed
    in turn with ``ping``, :data:`TYPED_ROUND_TRIPS` of each. Targets: p50 at
    most :data:`TYPED_P50_MS`, p99 at most :data:`TYPED_P99_MS` (nearest rank:
    the second slowest of 200).

Key echo with a long line
    ``doer --kind thread`` at 24x80 (where a wrapped line costs most), a line
    of :data:`LONG_LINE_CHARS` characters typed into it in 512-byte writes
    (as a paste without bracketed paste arrives), then one key at a time:
    from sending the key until it is drawn. The baseline is the same keys on
    an empty line, in the same console, in interleaved rounds (which goes
    first alternates). Target: median at most :data:`LONG_LINE_TARGET_MS`.
    The line is written without blocking and the screen read meanwhile
    (:meth:`doer.testing.driver.PtyConsole.send_in_chunks`): a blocking write hung the
    bench and the console, each writing into a full pty.
"""

from __future__ import annotations

import time

import doer
from benchmarks.common import (
    DOER_SCRIPT,
    Row,
    first_line,
    median,
    not_measured,
    percentile,
    verdict,
)
from benchmarks.terminal import (
    FAILURES,
    PROMPT,
    START_THEN_PROMPT,
    Keys,
    clear_line,
    close,
    spawn_in_pty,
    time_keys,
)
from doer.testing.driver import PtyConsole

TYPED_ROUND_TRIPS = 200
TYPED_P50_MS, TYPED_P99_MS = 5.0, 20.0

LONG_LINE_ROUNDS = 3
LONG_LINE_CHARS = 60_000
LONG_LINE_TARGET_MS = 100.0
KEYS_PER_ROUND = 15


# --- a typed round trip ------------------------------------------------------------------


def typed_round_trips(kind: str) -> tuple[list[float], list[float]]:
    """Milliseconds from typing a line to its answer and the prompt after it: ping, .wait."""
    console = spawn_in_pty([DOER_SCRIPT, "--kind", kind], rows=24, columns=80)
    try:
        console.expect(START_THEN_PROMPT)
        times: dict[str, list[float]] = {"ping": [], ".wait": []}
        answers = {"ping": r"\] pong", ".wait": r"wait: off"}
        for _ in range(TYPED_ROUND_TRIPS):
            for line, answer in answers.items():
                started = time.perf_counter()
                console.sendline(line)
                console.expect(answer)
                console.expect(PROMPT)
                times[line].append((time.perf_counter() - started) * 1000)
        return times["ping"], times[".wait"]
    finally:
        close(console)


def typed_rows(kind: str) -> list[Row]:
    measure = f"typed ping -> pong -> prompt, pty 24x80, {kind}"
    try:
        pings, commands = typed_round_trips(kind)
    except FAILURES as exc:
        return [not_measured(measure, first_line(exc), f"<= {TYPED_P50_MS:.0f} ms")]
    rows = []
    for name, fraction, target in (("p50", 0.50, TYPED_P50_MS), ("p99", 0.99, TYPED_P99_MS)):
        mine, base = percentile(pings, fraction), percentile(commands, fraction)
        rows.append(
            Row(
                f"{measure}, {name}",
                f"{mine:.1f} ms",
                f"{base:.1f} ms  .wait (the console alone)",
                f"{mine / base:.2f}x",
                f"<= {target:.0f} ms",
                verdict(mine <= target),
            )
        )
    return rows


# --- a key typed on a long line ------------------------------------------------------------


def type_long_line(console: PtyConsole) -> None:
    """Type :data:`LONG_LINE_CHARS` characters, then wait until all of them are taken."""
    line = ("abcdefghij" * (LONG_LINE_CHARS // 10 + 1))[:LONG_LINE_CHARS]
    console.send_in_chunks(line, timeout=60)
    console.send("Z")
    console.expect_exact("Z", timeout=60)  # drawn once every key before it was taken


def long_line_echoes() -> tuple[list[float], list[float]]:
    """Milliseconds to echo a key on the long line, and on an empty line."""
    on_long, on_empty = [], []
    keys = Keys()
    console = spawn_in_pty([DOER_SCRIPT, "--kind", "thread"], rows=24, columns=80)
    try:
        console.expect(START_THEN_PROMPT)
        for round_number in range(LONG_LINE_ROUNDS):
            long_first = round_number % 2 == 0
            for long_line in (long_first, not long_first):
                clear_line(console)
                if long_line:
                    type_long_line(console)
                    on_long += time_keys(console, keys.take(KEYS_PER_ROUND))
                else:
                    on_empty += time_keys(console, keys.take(KEYS_PER_ROUND))
        clear_line(console)
    finally:
        close(console)
    return on_long, on_empty


def long_line_rows() -> list[Row]:
    measure = f"key echo, {LONG_LINE_CHARS:,}-character line, 24x80"
    target = f"<= {LONG_LINE_TARGET_MS:.0f} ms"
    try:
        on_long, on_empty = long_line_echoes()
    except FAILURES as exc:
        return [not_measured(measure, first_line(exc), target)]
    rows = []
    for name, pick in (("p50", median), ("max", max)):
        mine, base = pick(on_long), pick(on_empty)
        rows.append(
            Row(
                f"{measure}, {name}",
                f"{mine:.1f} ms",
                f"{base:.1f} ms  empty line",
                f"{mine / base:.1f}x",
                target if name == "p50" else "",
                verdict(mine <= LONG_LINE_TARGET_MS) if name == "p50" else "",
            )
        )
    return rows


def run() -> list[Row]:
    rows = []
    for kind in doer.KINDS:
        rows += typed_rows(kind)
    return rows + long_line_rows()
