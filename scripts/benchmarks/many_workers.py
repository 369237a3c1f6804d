"""Many workers: a console of 32 workers, and stopping 32 workers through the library.

A console of 32 workers (what a class does with ``.spawn``)
    lines piped into ``doer --kind process --start-method M --name p1``
    (plain mode): ``.spawn pN process --start-method M`` for 15 more process
    workers, ``.spawn tN thread`` for 16 thread workers, ``@all ping``, then
    ``.quit``. The time is the whole run's wall time, from launch to exit,
    and the run must have all 32 ``pong`` lines and exit status 0. Target: at
    most :data:`TARGET_S` with fork; spawn and forkserver are reported. The
    baseline is the same console with its one worker (``ping``, ``.quit``):
    the fixed cost of a console, so the difference is what the other 31
    workers add. (The console rather than the library with ``doer.start``:
    the issue's figure is what a class sees, the console's own start-up and
    ``.quit`` included.) :data:`ROUNDS` rounds, the four runs in an order
    shifted each round; medians.

Stopping 32 workers at once (the library)
    32 workers of every kind (threads, tasks, processes by fork, forkserver
    and spawn), each with a request just answered, stopped by
    ``doer.stop_all`` (every ``exit`` sent first, one wait), against the same
    32 stopped one after another with ``Worker.stop``: the wait then adds up
    every worker's end. What ``.quit`` does with many workers. Target: at most
    :data:`STOP_TARGET_MS`; median of :data:`STOP_ROUNDS` rounds, the two
    ways alternating.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import doer
from benchmarks.common import DOER_SCRIPT, Row, median, quartiles, verdict

PROCESSES = 16
THREADS = 16
ROUNDS = 3
TARGET_S = 2.0
METHODS = ("fork", "spawn", "forkserver")  # the target is on fork; the others reported

STOP_WORKERS = 32
STOP_ROUNDS = 2
STOP_TARGET_MS = 500.0
STOP_KINDS = [
    ("thread", None),
    ("asyncio", None),
    ("process", "fork"),
    ("process", "forkserver"),
    ("process", "spawn"),
]


# --- a console of 32 workers -------------------------------------------------------------


@dataclass
class Console:
    """One plain-mode run: its arguments, its lines, and the pongs it must print."""

    label: str
    args: list[str]
    lines: list[str]
    pongs: int
    seconds: list[float] = field(default_factory=list)
    problem: str | None = None


def many(method: str) -> Console:
    spawns = [f".spawn p{n} process --start-method {method}" for n in range(2, PROCESSES + 1)]
    spawns += [f".spawn t{n} thread" for n in range(1, THREADS + 1)]
    return Console(
        f"{PROCESSES} process ({method}) + {THREADS} thread workers, @all ping, .quit",
        ["--kind", "process", "--start-method", method, "--name", "p1"],
        [*spawns, "@all ping", ".quit"],
        PROCESSES + THREADS,
    )


def one() -> Console:
    return Console(
        "one worker: ping, .quit",
        ["--kind", "process", "--start-method", "fork"],
        ["ping", ".quit"],
        1,
    )


def run_console(console: Console) -> None:
    """Run it once; add its wall time, or say what went wrong."""
    started = time.perf_counter()
    done = subprocess.run(
        [DOER_SCRIPT, *console.args],
        input="".join(line + "\n" for line in console.lines).encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    seconds = time.perf_counter() - started
    pongs = done.stdout.count(b"] pong\n")
    if done.returncode != 0 or pongs != console.pongs:
        console.problem = f"{pongs} pongs of {console.pongs}, exit status {done.returncode}"
    else:
        console.seconds.append(seconds)


def seconds_text(seconds: list[float]) -> str:
    q1, q3 = quartiles(seconds)
    return f"{median(seconds):.2f} s (IQR {q1:.2f}-{q3:.2f})"


def console_rows() -> list[Row]:
    baseline = one()
    subjects = [many(method) for method in METHODS]
    runs = [baseline, *subjects]
    for round_number in range(ROUNDS):
        shift = round_number % len(runs)
        for console in runs[shift:] + runs[:shift]:
            if console.problem is None:
                run_console(console)
    if baseline.problem is not None:
        base_text, base = f"n/a ({baseline.problem})", None
    else:
        base = median(baseline.seconds)
        base_text = f"{base:.2f} s  {baseline.label}"
    rows = []
    for console in subjects:
        targeted = "(fork)" in console.label
        target = f"<= {TARGET_S:g} s" if targeted else "reported"
        measure = f"many workers: {console.label}"
        if console.problem is not None:
            rows.append(Row(measure, f"FAILED: {console.problem}", base_text, "", target, "MISS"))
            continue
        mine = median(console.seconds)
        extra = "" if base is None else f"{mine - base:+.2f} s"
        result = verdict(mine <= TARGET_S) if targeted else ""
        rows.append(Row(measure, seconds_text(console.seconds), base_text, extra, target, result))
    return rows


# --- stopping 32 workers ------------------------------------------------------------------


def started_workers() -> list[doer.Worker]:
    """32 workers of every kind, started and each with one request answered."""
    workers = []
    for number in range(STOP_WORKERS):
        kind, method = STOP_KINDS[number % len(STOP_KINDS)]
        workers.append(doer.start(kind, start_method=method, name=f"stop-{number}"))
    for worker in workers:
        worker.ask("ping", timeout=30)
    return workers


def time_stops(stop: Callable[[list[doer.Worker]], object]) -> float:
    """Milliseconds ``stop`` takes to end 32 freshly started workers."""
    workers = started_workers()
    try:
        started = time.perf_counter()
        stop(workers)
        return (time.perf_counter() - started) * 1000
    finally:
        doer.stop_all(workers)  # a no-op when stop did its job


def one_after_another(workers: list[doer.Worker]) -> None:
    for worker in workers:
        worker.stop()


def stop_rows() -> list[Row]:
    together: list[float] = []
    in_turn: list[float] = []
    ways: list[tuple[list[float], Callable[[list[doer.Worker]], object]]] = [
        (together, doer.stop_all),
        (in_turn, one_after_another),
    ]
    for round_number in range(STOP_ROUNDS):
        for times, stop in ways if round_number % 2 == 0 else reversed(ways):
            times.append(time_stops(stop))
    mine, base = median(together), median(in_turn)
    return [
        Row(
            f"stop {STOP_WORKERS} workers of every kind (library)",
            f"{mine:.0f} ms  doer.stop_all",
            f"{base:.0f} ms  one stop() after another",
            f"{mine / base:.2f}x",
            f"<= {STOP_TARGET_MS:.0f} ms",
            verdict(mine <= STOP_TARGET_MS),
        )
    ]


def run() -> list[Row]:
    return console_rows() + stop_rows()
