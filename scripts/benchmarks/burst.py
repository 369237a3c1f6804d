"""A burst on screen: ``.repeat 10000 ping`` in a 24x80 pty, and keys typed during it.

What is measured, per kind (thread, process), in one console each:

the burst
    ``.repeat 10000 ping`` typed into ``doer --kind K``; the clock runs from
    sending the line until the console's summary line
    (``10,000 answers in 412 ms, 24,272 per second``) has been drawn, and the
    output read meanwhile must hold all 10,000 ``pong`` lines. The console's
    own figure (from its first request sent to its last answer received, not
    drawn) is printed beside the wall-clock one; the verdict is on the
    wall-clock median (target: all answers on screen within :data:`TARGET_S`).
    The baseline is the library without a screen: :data:`BURST` ``Worker.tell
    ("ping")`` then every answer awaited, in the bench's own process, in the
    same rounds. (Rather than ``.repeat 1 ping``: the question is what drawing
    10,000 lines costs over carrying them, and the library is the carrying.)
keys during the burst
    while the burst prints, keys are typed one at a time, each
    :data:`KEY_GAP_S` after the previous one was drawn (faster than a person
    types, for more samples in a burst of a fraction of a second), from
    letters that cannot appear in the output
    (:class:`benchmarks.terminal.Keys`); milliseconds from sending a key to
    seeing it drawn. The baseline is the same on the idle prompt after the
    burst. Target: p99 at most :data:`KEY_TARGET_MS`.

:data:`ROUNDS` rounds per kind, each a burst with its keys, the keys on the
idle prompt, and the library's burst. Until the console has ``.repeat`` (it is
checked first, through plain mode), the rows say ``n/a`` and why.
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from dataclasses import dataclass, field

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
    START_THEN_PROMPT,
    Keys,
    clear_line,
    close,
    spawn_in_pty,
    time_keys,
)
from doer.testing.driver import PtyConsole, strip_ansi

BURST = 10_000
ROUNDS = 4
KINDS = ("thread", "process")
TARGET_S = 1.0
KEY_TARGET_MS = 50.0
KEY_GAP_S = 0.02
KEYS_PER_BURST = 40  # at most; fewer when the burst is quick
IDLE_KEYS = 15
BURST_TIMEOUT_S = 60.0

SUMMARY = re.compile(r"([\d,]+) answers in ([\d.,]+) (ms|s), ([\d,]+) per second")
PONG = "] pong"


def repeat_missing() -> str | None:
    """None when the console has ``.repeat``; else why not (its own words)."""
    try:
        done = subprocess.run(
            [DOER_SCRIPT, "--kind", "thread"],
            input=b".repeat 3 ping\n",
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return first_line(exc)
    output = done.stdout.decode(errors="replace")
    if SUMMARY.search(output):
        return None
    errors = [line for line in output.splitlines() if line.startswith("error")]
    return errors[0] if errors else "no summary line after .repeat 3 ping"


# --- one burst on screen -----------------------------------------------------------------


@dataclass
class Burst:
    """One ``.repeat`` seen through the pty."""

    wall_s: float  # sending the line -> the summary drawn
    console_s: float  # the console's own figure
    answers: int  # the summary's count
    pongs_drawn: int  # pong lines in what was drawn
    key_ms: list[float] = field(default_factory=list)


def seconds_of(number: str, unit: str) -> float:
    value = float(number.replace(",", ""))
    return value / 1000 if unit == "ms" else value


class BurstWatch:
    """Reads a burst's output as it comes, types keys into it, and notes what it sees."""

    def __init__(self, console: PtyConsole, keys: Keys) -> None:
        self.console = console
        self.keys = keys
        self.drawn: list[str] = []
        self.summary: re.Match[str] | None = None
        self.key_ms: list[float] = []
        self._key: str | None = None  # typed, not drawn yet
        self._key_sent_at = 0.0
        self._next_key_at = 0.0
        self._tail = ""

    def run(self) -> Burst:
        """Send the burst, read until its summary is drawn (and the last key typed)."""
        started = time.perf_counter()
        self.console.sendline(f".repeat {BURST} ping")
        self._next_key_at = started + KEY_GAP_S
        deadline = started + BURST_TIMEOUT_S
        wall_s = 0.0
        while self.summary is None or self._key is not None:
            now = time.perf_counter()
            if now > deadline:
                raise AssertionError(f"no summary {BURST_TIMEOUT_S:g} s after .repeat")
            if self.summary is None:
                self._maybe_type(now)
            self._read()
            if self.summary is not None and not wall_s:
                wall_s = time.perf_counter() - started
        count, number, unit, _ = self.summary.groups()
        text = strip_ansi("".join(self.drawn))
        return Burst(
            wall_s,
            seconds_of(number, unit),
            int(count.replace(",", "")),
            text.count(PONG),
            self.key_ms,
        )

    def _maybe_type(self, now: float) -> None:
        if self._key is None and now >= self._next_key_at and len(self.key_ms) < KEYS_PER_BURST:
            self._key = self.keys.take(1)
            self.console.send(self._key)
            self._key_sent_at = time.perf_counter()

    def _read(self) -> None:
        chunk = self.console.read(timeout=0.005)
        if chunk is None:
            raise AssertionError("the console ended during the burst")
        if not chunk:
            return
        seen_at = time.perf_counter()
        self.drawn.append(chunk)
        if self._key is not None and self._key in chunk:
            self.key_ms.append((seen_at - self._key_sent_at) * 1000)
            self._key, self._next_key_at = None, seen_at + KEY_GAP_S
        if self.summary is None:
            self.summary = SUMMARY.search(strip_ansi(self._tail + chunk))
            self._tail = chunk[-400:]


# --- the library's burst -------------------------------------------------------------------


def library_burst_s(worker: doer.Worker) -> float:
    """Seconds to ``tell`` :data:`BURST` pings and have every answer: no screen."""
    started = time.perf_counter()
    pendings = [worker.tell("ping") for _ in range(BURST)]
    for pending in pendings:
        pending.wait(60.0)
    return time.perf_counter() - started


# --- per kind --------------------------------------------------------------------------------


@dataclass
class KindBursts:
    bursts: list[Burst] = field(default_factory=list)
    idle_key_ms: list[float] = field(default_factory=list)
    library_s: list[float] = field(default_factory=list)


def measure_kind(kind: str) -> KindBursts:
    measured = KindBursts()
    keys = Keys()
    console = spawn_in_pty([DOER_SCRIPT, "--kind", kind], rows=24, columns=80)
    worker = doer.start(kind, name="bench-burst")
    try:
        console.expect(START_THEN_PROMPT)
        worker.ask("ping", timeout=30)
        console.read_until_quiet()
        for _ in range(ROUNDS):
            measured.bursts.append(BurstWatch(console, keys).run())
            clear_line(console)  # the keys typed during the burst
            measured.idle_key_ms += time_keys(console, keys.take(IDLE_KEYS))
            clear_line(console)
            measured.library_s.append(library_burst_s(worker))
    finally:
        worker.stop()
        close(console)
    return measured


def burst_measure(kind: str) -> str:
    return f"burst on screen, .repeat {BURST:,} ping, pty 24x80, {kind}"


def kind_rows(kind: str, measured: KindBursts) -> list[Row]:
    bursts = measured.bursts
    wall = median([burst.wall_s for burst in bursts])
    console = median([burst.console_s for burst in bursts])
    library = median(measured.library_s)
    short = [b for b in bursts if b.answers != BURST or b.pongs_drawn != BURST]
    drawn = f"all {BURST:,} drawn" if not short else f"{short[0].pongs_drawn:,} pongs drawn"
    keys = [ms for burst in bursts for ms in burst.key_ms] or [math.nan]
    key_p50, key_p99 = median(keys), percentile(keys, 0.99)
    idle_p50, idle_p99 = median(measured.idle_key_ms), percentile(measured.idle_key_ms, 0.99)
    return [
        Row(
            burst_measure(kind),
            f"{wall * 1000:.0f} ms (console {console * 1000:.0f} ms), {drawn}",
            f"{library * 1000:.0f} ms  Worker.tell x {BURST:,}, drained",
            f"{wall / library:.1f}x",
            f"all on screen <= {TARGET_S:g} s",
            verdict(not short and wall <= TARGET_S),
        ),
        Row(
            f"key echo during the burst, {kind}, p99",
            f"{key_p99:.1f} ms (p50 {key_p50:.1f}, {len(keys)} keys)",
            f"{idle_p99:.1f} ms  idle prompt (p50 {idle_p50:.1f})",
            f"{key_p99 / idle_p99:.1f}x",
            f"<= {KEY_TARGET_MS:.0f} ms",
            verdict(key_p99 <= KEY_TARGET_MS),  # False for nan: no key was timed
        ),
    ]


def unmeasured_rows(kind: str, reason: str) -> list[Row]:
    keys_target = f"<= {KEY_TARGET_MS:.0f} ms"
    return [
        not_measured(burst_measure(kind), reason, f"all on screen <= {TARGET_S:g} s"),
        not_measured(f"key echo during the burst, {kind}, p99", reason, keys_target),
    ]


def run() -> list[Row]:
    missing = repeat_missing()
    rows = []
    for kind in KINDS:
        if missing is not None:
            rows += unmeasured_rows(kind, f"no .repeat yet: {missing}")
            continue
        try:
            rows += kind_rows(kind, measure_kind(kind))
        except FAILURES as exc:
            rows += unmeasured_rows(kind, first_line(exc))
    return rows
