"""Benchmark: what doer adds on top of the bare mechanisms it is built on.

Run with ``make bench``. It prints one table, every number measured in the
same run, each next to a baseline measured alongside it:

``ask`` round trip (p50 and p99, microseconds)
    ``Worker.ask("ping")`` against a bare echo over the same transport: a
    thread echoing between two ``queue.Queue`` for the thread kind, a child
    process echoing between two one-way ``multiprocessing.Pipe`` for the
    process kind (once per start method measured: the default and ``spawn``).
    The ratio shows the cost of doer's own layers (the ``Request``/``Reply``
    records, the reply-reader thread, the ``Pending`` future). Target: at most
    1.3x the baseline, checked on p50 and on p99 alike.

Launch to first prompt (milliseconds)
    ``doer --kind ...`` started in a pty, from spawn until the prompt
    (``doer KIND PID>``) is drawn, against ``python -c "import prompt_toolkit;
    print(...)"`` started the same way, until its line appears: importing
    prompt-toolkit is the floor a prompt-toolkit console cannot go below.
    The marker line is timed rather than the end of the process, so that
    interpreter shutdown does not pad the baseline. Both run with bytecode
    caching on, as after a normal install (see :func:`pty_env`). Target: at
    most the import time + 30 ms.

Key echo with a long line (milliseconds)
    ``doer --kind thread`` in a pty of 24 rows by 80 columns (where a wrapped
    line costs most), a line of 60,000 characters typed into it in 512-byte
    writes, then one key at a time: from sending the key until the console
    has drawn it. The baseline is the same key typed on an empty line, in the
    same console, in interleaved rounds. Target: median at most 100 ms (it was
    about 70 ms at 60,000 characters and grew with the line before the shell
    drew long lines short; see ``doer.input_line``).

Stopping 32 workers at once (milliseconds)
    32 workers of every kind (threads, tasks, processes by fork, forkserver
    and spawn), each with a request just answered, stopped by
    ``doer.stop_all`` (every ``exit`` sent first, one wait), against the same
    32 stopped one after another with ``Worker.stop``: the wait then adds up
    every worker's end. What ``.quit`` does with many workers. Target: well
    under a second (at most 500 ms); median of the rounds.

Plain mode throughput (lines a second)
    100,000 lines (``ping`` and ``set-state i``, in turn) piped into ``doer``
    per kind, every answer counted in the transcript, against the library
    doing the same round trips with ``Worker.ask`` (the floor plain mode is
    built on: 20,000 of them, a rate). Target: at least 30,000 lines a second.

A typed round trip through a pty (milliseconds)
    pexpect types ``ping`` into ``doer --kind K`` at 24x80 and waits for
    ``pong`` and the prompt after it; p50 and p99 over 200, next to the same
    console's ``.wait`` (a command answered by the console itself). Target:
    p50 at most 5 ms, p99 at most 20 ms.

The lessons' shapes (the GIL and a race, five runs)
    The GIL lesson: ``work`` given to two thread workers at once, against the
    same given to two process workers; the time from the first handler's
    start to the last one's end. Target: the threads take at least 1.6 times
    as long, in each of five runs (the GIL lets one run at a time; the
    processes run on two cores). The race lesson: ``race 100000`` on two
    threads at once, five runs, against ``race 100000 lock``. Target: updates
    lost in every run without the lock, none with it.

Why it is measured this way: the machine is small (2 cores) and shared, so its
speed drifts within a run. Every subject is started once and warmed up, then
the bench runs several rounds; in each round the doer subject and its baseline
run back to back (which one goes first alternates), and the table reports the
median over the rounds of each per-round percentile. Noise then falls on both
sides alike and one slow round cannot decide a verdict. Where the scheduler
places the partners is not noise of that kind (it sticks to a pair for the
whole run), so each round-trip comparison is made twice, pinned the same way
for doer and its baseline: both ends on one CPU, and the worker on one CPU
with the caller on the other (see :func:`placements`). The launches are
interleaved in the same way and reported as medians. Every process started is
stopped, joined or killed before the script ends.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import multiprocessing
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pexpect

import doer

ROUNDS = 10
ROUND_TRIPS = 2_000  # measured per subject and round: 20,000 per subject in all
WARMUP = 2_000  # once per subject, before the first round
REWARM = 200  # at the start of every round, not measured
RATIO_TARGET = 1.3

LAUNCHES = 15
LAUNCH_TARGET_MS = 30.0
LAUNCH_TIMEOUT_S = 10.0
QUIT_ATTEMPTS = 5

PROMPT = (
    r"doer \S+ \w+ \d+>"  # without the trailing space: prompt-toolkit draws it as a cursor move
)
IMPORTED = "prompt_toolkit imported"
DOER_SCRIPT = str(Path(sys.executable).with_name("doer"))

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|.)")

# The message a raw baseline echoes: the same shape as doer's Request(id, "ping").
RAW_MESSAGE = (1, "ping")


# --- subjects: things that do one round trip ---------------------------------------


@dataclass
class Subject:
    """Something that does one round trip per call, and how to stop it."""

    label: str
    round_trip: Callable[[], object]
    stop: Callable[[], None]


def raw_thread() -> Subject:
    """A bare thread echoing from one ``queue.Queue`` to another."""
    requests: queue.Queue[Any] = queue.Queue()
    responses: queue.Queue[Any] = queue.Queue()

    def echo() -> None:
        while (message := requests.get()) is not None:
            responses.put(message)

    thread = threading.Thread(target=echo, name="bench-raw-echo", daemon=True)
    thread.start()
    put, get = requests.put, responses.get

    def round_trip() -> object:
        put(RAW_MESSAGE)
        return get()

    def stop() -> None:
        requests.put(None)
        thread.join(5.0)

    return Subject("queue.Queue ping-pong", round_trip, stop)


def echo_pipe(requests: Connection, responses: Connection) -> None:
    """The body of the raw child process: echo until ``None`` (module level, to pickle)."""
    while (message := requests.recv()) is not None:
        responses.send(message)


def raw_pipe(start_method: str) -> Subject:
    """A bare child process echoing from one one-way ``Pipe`` to another."""
    context = multiprocessing.get_context(start_method)
    child_requests, requests = context.Pipe(duplex=False)
    responses, child_responses = context.Pipe(duplex=False)
    process = context.Process(
        target=echo_pipe, args=(child_requests, child_responses), name="bench-raw-echo", daemon=True
    )
    process.start()
    child_requests.close()
    child_responses.close()
    send, recv = requests.send, responses.recv

    def round_trip() -> object:
        send(RAW_MESSAGE)
        return recv()

    def stop() -> None:
        with contextlib.suppress(OSError):
            requests.send(None)
        process.join(5.0)
        if process.is_alive():
            process.kill()
            process.join(5.0)
        requests.close()
        responses.close()

    return Subject(f"Pipe ping-pong ({start_method})", round_trip, stop)


def doer_worker(kind: str, start_method: str | None = None, *, default: bool = False) -> Subject:
    """A doer worker answering ``ping``, through the public ``ask``."""
    worker = doer.start(kind, start_method=start_method)
    worker.wait_started(30.0)
    ask = worker.ask

    def round_trip() -> object:
        return ask("ping")

    label = kind
    if start_method is not None:
        label += f" ({start_method}, the default)" if default else f" ({start_method})"
    return Subject(label, round_trip, worker.stop)


# --- round trips ---------------------------------------------------------------------


def sample(round_trip: Callable[[], object], count: int) -> list[int]:
    """``count`` round trips, each timed on its own, in nanoseconds."""
    now = time.perf_counter_ns
    samples = [0] * count
    for i in range(count):
        start = now()
        round_trip()
        samples[i] = now() - start
    return samples


def percentile(samples: Sequence[int], fraction: float) -> int:
    """The nearest-rank percentile of ``samples`` (``fraction`` 0.99 is p99)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Percentiles:
    """Per-round p50 and p99 of one subject, in nanoseconds."""

    p50: list[int] = field(default_factory=list)
    p99: list[int] = field(default_factory=list)

    def add(self, samples: Sequence[int]) -> None:
        self.p50.append(percentile(samples, 0.50))
        self.p99.append(percentile(samples, 0.99))


@dataclass(frozen=True)
class Placement:
    """The CPUs a comparison runs on: the worker's (thread or process) and the caller's."""

    label: str
    worker_cpus: frozenset[int]
    caller_cpus: frozenset[int]


@functools.cache  # read once, before anything is pinned: pinning narrows the affinity
def placements() -> list[Placement]:
    """Both ends on one CPU (a hand-off is a context switch), then on two (a cross-CPU wake-up).

    Where the scheduler puts two busy-waiting partners decides the round trip:
    on this machine a bare Pipe ping-pong takes about 15 us when both ends share
    a CPU and about 60 us when they are woken on different ones, and a pair
    keeps whichever placement it happened to start with, so leaving them free
    compares a lucky pair with an unlucky one. Each comparison is therefore
    measured with both ends pinned to one CPU, and again with the worker pinned
    to one CPU and the caller to another: the same placement for doer and for
    its baseline, every time.
    """
    if not hasattr(os, "sched_setaffinity"):
        return [Placement("any CPU", frozenset(), frozenset())]
    allowed = sorted(os.sched_getaffinity(0))
    last = frozenset({allowed[-1]})
    one = Placement("1 CPU", last, last)
    if len(allowed) == 1:
        return [one]
    return [one, Placement("2 CPUs", last, frozenset({allowed[0]}))]


def place_caller(cpus: frozenset[int]) -> None:
    """Run the calling thread (and what it starts from now on) on ``cpus``."""
    if cpus:
        os.sched_setaffinity(0, cpus)


@dataclass
class Comparison:
    """A doer subject and the baseline it is measured against, on one placement."""

    doer: Subject
    raw: Subject
    placement: Placement
    doer_times: Percentiles = field(default_factory=Percentiles)
    raw_times: Percentiles = field(default_factory=Percentiles)


def measure_once(subject: Subject, times: Percentiles) -> None:
    sample(subject.round_trip, REWARM)
    gc.collect()
    times.add(sample(subject.round_trip, ROUND_TRIPS))


def run_rounds(comparisons: Sequence[Comparison]) -> None:
    """Warm every subject up, then measure the pairs back to back, round by round."""
    for comparison in comparisons:
        place_caller(comparison.placement.caller_cpus)
        sample(comparison.doer.round_trip, WARMUP)
        sample(comparison.raw.round_trip, WARMUP)
    for round_number in range(ROUNDS):
        for comparison in comparisons:
            place_caller(comparison.placement.caller_cpus)
            runs = [
                (comparison.raw, comparison.raw_times),
                (comparison.doer, comparison.doer_times),
            ]
            if round_number % 2:
                runs.reverse()
            for subject, times in runs:
                measure_once(subject, times)


def start_methods() -> list[str]:
    """The platform's default start method, then ``spawn`` if that is not it."""
    default = multiprocessing.get_start_method()
    return [default] if default == "spawn" else [default, "spawn"]


def round_trip_comparisons(stack: contextlib.ExitStack) -> list[Comparison]:
    """Start every round-trip subject on its placement; ``stack`` stops them all.

    Threads and processes keep the CPUs of the thread that started them. The
    processes are started first, while this process has no other thread:
    forking a process that runs threads is what the console never does.
    """

    def started(subject: Subject) -> Subject:
        stack.callback(subject.stop)
        return subject

    default = multiprocessing.get_start_method()
    processes: list[Comparison] = []
    for method in start_methods():
        for placement in placements():
            place_caller(placement.worker_cpus)
            doer_subject = started(doer_worker("process", method, default=method == default))
            processes.append(Comparison(doer_subject, started(raw_pipe(method)), placement))
    threads: list[Comparison] = []
    for placement in placements():
        place_caller(placement.worker_cpus)
        threads.append(Comparison(started(doer_worker("thread")), started(raw_thread()), placement))
    return threads + processes


# --- launch to first prompt ---------------------------------------------------------


class LaunchError(Exception):
    """The program did not show what was expected (it crashed, or hung)."""


@dataclass
class Launch:
    """A program started in a pty, and the line that says it is ready."""

    label: str
    argv: list[str]
    ready: str  # a regex
    quit_with_ctrl_d: bool
    times_ms: list[float] = field(default_factory=list)
    error: str | None = None


def pty_env(scratch: Path) -> dict[str, str]:
    """The environment docs/testing.md calls deterministic, plus two things of the bench's own.

    History goes under ``scratch``, never in ``~``. Bytecode is cached under
    ``scratch`` too: where ``PYTHONDONTWRITEBYTECODE`` is set (as in this
    project's sessions) every launch would compile doer's modules again, while
    prompt-toolkit's come precompiled from its install; a user's install has
    both cached. The untimed first launch of each program fills the cache.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",
        NO_COLOR="1",
        XDG_STATE_HOME=str(scratch / "state"),
        PYTHONPYCACHEPREFIX=str(scratch / "pycache"),
    )
    return env


def last_line(output: str) -> str:
    """The last non-empty line of ``output``, escape codes removed: usually the error."""
    lines = [line.strip() for line in _ANSI.sub("", output).replace("\r", "\n").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1] if lines else "no output"


def spawn_in_pty(
    argv: Sequence[str], env: dict[str, str], rows: int = 40, columns: int = 250
) -> pexpect.spawn:
    """``argv`` in a pty with the echo a terminal has (echo off would mean line mode)."""
    child = pexpect.spawn(
        argv[0],
        list(argv[1:]),
        env=env,
        encoding="utf-8",
        codec_errors="replace",
        dimensions=(rows, columns),
        echo=True,
        timeout=LAUNCH_TIMEOUT_S,
    )
    child.delaybeforesend = None
    return child


def time_launch(launch: Launch, env: dict[str, str]) -> float:
    """Milliseconds from spawning ``launch`` in a pty to its ready line.

    Raises:
        LaunchError: it ended or hung before the ready line, or would not end.
    """
    start = time.perf_counter_ns()
    child = spawn_in_pty(launch.argv, env)
    try:
        child.expect(launch.ready)
        elapsed_ms = (time.perf_counter_ns() - start) / 1e6
        if launch.quit_with_ctrl_d:
            quit_console(child)
        else:
            child.expect(pexpect.EOF)
    except pexpect.EOF:
        raise LaunchError(last_line(str(child.before))) from None
    except pexpect.TIMEOUT:
        raise LaunchError(f"no /{launch.ready}/ within {LAUNCH_TIMEOUT_S:g} s") from None
    finally:
        child.close(force=True)
    return elapsed_ms


def quit_console(child: pexpect.spawn) -> None:
    """Wait for the start event and the prompt drawn after it, then send Ctrl-D.

    The first prompt can come before the start event. Printing the event puts
    the terminal in cooked mode for a moment, and a Ctrl-D sent then is taken by
    the terminal as end-of-file and never reaches the console; so wait until the
    prompt is back, and send Ctrl-D again if the console still runs.

    Raises:
        LaunchError: no start event, or the console would not end.
    """
    try:
        child.expect(r"on start.*?" + PROMPT)
    except pexpect.TIMEOUT:
        raise LaunchError(f"no start event within {LAUNCH_TIMEOUT_S:g} s") from None
    for _ in range(QUIT_ATTEMPTS):
        child.sendcontrol("d")
        if child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=1.0) == 0:
            return
    raise LaunchError(f"still running {QUIT_ATTEMPTS} s after Ctrl-D")


def launches() -> list[Launch]:
    """The baseline first, then the consoles to compare with it."""
    import_code = f"import prompt_toolkit; print({IMPORTED!r})"
    baseline = Launch(
        'python -c "import prompt_toolkit"',
        [sys.executable, "-c", import_code],
        re.escape(IMPORTED),
        quit_with_ctrl_d=False,
    )
    consoles = [
        ["--kind", "thread"],
        ["--kind", "process"],
        ["--kind", "process", "--start-method", "spawn"],
    ]
    return [
        baseline,
        *(Launch(f"doer {' '.join(a)}", [DOER_SCRIPT, *a], PROMPT, True) for a in consoles),
    ]


def run_launches(subjects: Sequence[Launch]) -> None:
    """One untimed launch each (it fills the caches), then interleaved timed ones."""
    with tempfile.TemporaryDirectory(prefix="doer-bench-") as scratch:
        (Path(scratch) / "state").mkdir()
        env = pty_env(Path(scratch))
        for launch in subjects:
            try:
                time_launch(launch, env)
            except (LaunchError, OSError, pexpect.ExceptionPexpect) as exc:
                launch.error = str(exc) or type(exc).__name__
        working = [launch for launch in subjects if launch.error is None]
        for repeat in range(LAUNCHES):
            shift = repeat % max(1, len(working))
            for launch in working[shift:] + working[:shift]:
                try:
                    launch.times_ms.append(time_launch(launch, env))
                except (LaunchError, OSError, pexpect.ExceptionPexpect) as exc:
                    launch.error = str(exc) or type(exc).__name__
                    working.remove(launch)


# --- key echo with a long line -------------------------------------------------------

ECHO_ROUNDS = 5
ECHO_LINE_CHARS = 60_000
ECHO_TARGET_MS = 100.0
ECHO_KEYS_PER_ROUND = 15


def echo_keys(group: int) -> str:
    """The keys of one group: letters from U+00C0 on, a new set for every group.

    None of them is in the line typed before them, none can be part of an escape
    sequence (ESC [ K, ESC [ ? 25 l ...), and none was typed in an earlier group:
    any of those would match before the key's own echo.
    """
    first = 0xC0 + group * ECHO_KEYS_PER_ROUND
    return "".join(chr(code) for code in range(first, first + ECHO_KEYS_PER_ROUND))


@dataclass
class EchoTimes:
    """Milliseconds from sending a key to seeing it drawn, on an empty and a long line."""

    empty_line: list[float] = field(default_factory=list)
    long_line: list[float] = field(default_factory=list)
    error: str | None = None


def time_keys(child: pexpect.spawn, keys: str) -> list[float]:
    """Type each of ``keys``; how long each took to be drawn."""
    times = []
    for key in keys:
        start = time.perf_counter_ns()
        child.send(key)
        child.expect_exact(key)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def type_long_line(child: pexpect.spawn) -> None:
    """Type :data:`ECHO_LINE_CHARS` characters as a paste without bracketed paste arrives."""
    line = ("abcdefghij" * (ECHO_LINE_CHARS // 10 + 1))[:ECHO_LINE_CHARS]
    for start in range(0, len(line), 512):
        child.send(line[start : start + 512])
        with contextlib.suppress(pexpect.TIMEOUT):
            child.read_nonblocking(1 << 20, timeout=0)  # read as we go: a pty holds a few kB
    child.send("Z")
    child.expect_exact("Z", timeout=60)  # drawn once every key before it was taken


def clear_line(child: pexpect.spawn) -> None:
    """Ctrl-C, then wait until the screen is quiet, and forget what it showed.

    What was drawn before must not be taken for the echo of a key typed next.
    """
    child.sendcontrol("c")
    child.expect(PROMPT)
    with contextlib.suppress(pexpect.TIMEOUT):
        while True:
            child.read_nonblocking(1 << 20, timeout=0.1)
    child.buffer = ""


def run_echo() -> EchoTimes:
    times = EchoTimes()
    with tempfile.TemporaryDirectory(prefix="doer-bench-") as scratch:
        (Path(scratch) / "state").mkdir()
        child = spawn_in_pty([DOER_SCRIPT, "--kind", "thread"], pty_env(Path(scratch)), 24, 80)
        try:
            child.expect(r"on start.*?" + PROMPT)
            for round_number in range(ECHO_ROUNDS):
                long_first = round_number % 2 == 0
                for turn, long_line in enumerate((long_first, not long_first)):
                    keys = echo_keys(round_number * 2 + turn)
                    clear_line(child)
                    if long_line:
                        type_long_line(child)
                        times.long_line += time_keys(child, keys)
                    else:
                        times.empty_line += time_keys(child, keys)
            clear_line(child)
            child.sendcontrol("d")
            child.expect(pexpect.EOF)
        except (OSError, pexpect.ExceptionPexpect, LaunchError) as exc:
            times.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        finally:
            child.close(force=True)
    return times


def echo_rows(times: EchoTimes) -> list[Row]:
    label = f"key echo, {ECHO_LINE_CHARS:,}-character line, 24x80"
    target = f"<= {ECHO_TARGET_MS:.0f} ms"
    if times.error is not None or not times.long_line or not times.empty_line:
        return [(label, f"n/a ({times.error})", "", "", target, "n/a")]
    rows: list[Row] = []
    for name, pick in (("p50", statistics.median), ("max", max)):
        mine, base = pick(times.long_line), pick(times.empty_line)
        rows.append(
            (
                f"{label}, {name}",
                f"{mine:.1f} ms",
                f"{base:.1f} ms  empty line",
                f"{mine / base:.1f}x",
                target if name == "p50" else "",
                verdict(mine <= ECHO_TARGET_MS) if name == "p50" else "",
            )
        )
    return rows


# --- stopping many workers ------------------------------------------------------------

STOP_WORKERS = 32
STOP_ROUNDS = 5
STOP_TARGET_MS = 500.0
STOP_KINDS = [
    ("thread", None),
    ("asyncio", None),
    ("process", "fork"),
    ("process", "forkserver"),
    ("process", "spawn"),
]


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


def run_stops() -> tuple[list[float], list[float]]:
    together, in_turn = [], []
    for round_number in range(STOP_ROUNDS):
        pair = [(together, doer.stop_all), (in_turn, one_after_another)]
        for times, stop in pair if round_number % 2 == 0 else reversed(pair):
            times.append(time_stops(stop))
    return together, in_turn


def stop_rows(together: list[float], in_turn: list[float]) -> list[Row]:
    mine, base = statistics.median(together), statistics.median(in_turn)
    return [
        (
            f"stop {STOP_WORKERS} workers of every kind",
            f"{mine:.0f} ms",
            f"{base:.0f} ms  one after another",
            f"{mine / base:.2f}x",
            f"<= {STOP_TARGET_MS:.0f} ms",
            verdict(mine <= STOP_TARGET_MS),
        )
    ]


# --- what a person feels: plain mode, a typed round trip -------------------------------

PLAIN_LINES = 100_000
PLAIN_TARGET = 30_000
LIBRARY_ASKS = 20_000  # a rate: fewer asks than lines measure it as well, and sooner
TYPED_ROUND_TRIPS = 200
TYPED_P50_MS, TYPED_P99_MS = 5.0, 20.0


def plain_rate(kind: str) -> tuple[float, float]:
    """Lines a second through plain mode, and ask()s a second through the library."""
    lines = [("ping" if n % 2 else f"set-state {n}") for n in range(PLAIN_LINES)]
    started = time.perf_counter()
    done = subprocess.run(
        [DOER_SCRIPT, "--kind", kind],
        input="".join(line + "\n" for line in lines).encode(),
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    answers = done.stdout.count(b"] pong\n") + done.stdout.count(b"] new state: ")
    if answers != PLAIN_LINES:
        return float("nan"), float("nan")
    messages = [doer.parse_line(line) for line in lines[:LIBRARY_ASKS]]
    with doer.start(kind) as worker:
        worker.ask("ping", timeout=30)
        started = time.perf_counter()
        for message in messages:
            worker.ask(message, timeout=30)
        library = time.perf_counter() - started
    return PLAIN_LINES / elapsed, LIBRARY_ASKS / library


def typed_round_trips(kind: str, scratch: Path) -> tuple[list[float], list[float]]:
    """Milliseconds from typing a line to its answer and the prompt after it: ping, .wait."""
    child = spawn_in_pty([DOER_SCRIPT, "--kind", kind], pty_env(scratch), rows=24, columns=80)
    try:
        child.expect(r"on start.*?" + PROMPT)
        times: dict[str, list[float]] = {"ping": [], ".wait": []}
        answers = {"ping": r"\] pong", ".wait": r"wait: off"}
        for _ in range(TYPED_ROUND_TRIPS):
            for line, answer in answers.items():
                started = time.perf_counter()
                child.send(line + "\r")
                child.expect(answer)
                child.expect(PROMPT)
                times[line].append((time.perf_counter() - started) * 1000)
        return times["ping"], times[".wait"]
    finally:
        if child.isalive():
            child.send(".quit!\r")
            child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=5)
        child.close(force=True)


def feel_rows(scratch: Path) -> list[Row]:
    rows: list[Row] = []
    for kind in doer.KINDS:
        plain, library = plain_rate(kind)
        rows.append(
            (
                f"plain mode, {PLAIN_LINES:,} piped lines, {kind}",
                f"{plain:,.0f} lines/s",
                f"{library:,.0f}/s  Worker.ask",
                f"{plain / library:.2f}x",
                f">= {PLAIN_TARGET:,}/s",
                verdict(plain >= PLAIN_TARGET),
            )
        )
    for kind in doer.KINDS:
        pings, commands = typed_round_trips(kind, scratch)
        for name, pick in (("p50", 0.50), ("p99", 0.99)):
            mine = sorted(pings)[int(pick * (len(pings) - 1))]
            base = sorted(commands)[int(pick * (len(commands) - 1))]
            target = TYPED_P50_MS if name == "p50" else TYPED_P99_MS
            rows.append(
                (
                    f"typed ping -> pong -> prompt, pty 24x80, {kind}, {name}",
                    f"{mine:.1f} ms",
                    f"{base:.1f} ms  .wait (the console alone)",
                    f"{mine / base:.2f}x",
                    f"<= {target:.0f} ms",
                    verdict(mine <= target),
                )
            )
    return rows


# --- the lessons' shapes ----------------------------------------------------------------

LESSON_RUNS = 5
GIL_TARGET = 1.6


def span_of(workers: list[doer.Worker], message: Any) -> float:
    """Seconds from the first handler's start to the last one's end, all sent at once."""
    pendings = [worker.tell(message, timed=True) for worker in workers]
    times = [pending.wait(60).times for pending in pendings]  # type: ignore[union-attr]
    return max(end for _, end in times) - min(start for start, _ in times)


def lost_in(answers: list[str]) -> int:
    [last] = [answer for answer in answers if "increments lost" in answer]
    return int(last.split(" of ")[0].replace(",", ""))


def run_lessons() -> tuple[list[float], list[float], list[int], list[int]]:
    """Five GIL runs (threads, processes) and five races (without, with the lock)."""
    threads = [doer.start("thread", name=f"gil-t{n}") for n in (1, 2)]
    processes = [doer.start("process", name=f"gil-p{n}") for n in (1, 2)]
    try:
        for worker in threads + processes:
            worker.ask("ping", timeout=30)
        thread_spans, process_spans, lost, lost_locked = [], [], [], []
        for _ in range(LESSON_RUNS):
            thread_spans.append(span_of(threads, "work"))
            process_spans.append(span_of(processes, "work"))
            lost.append(
                lost_in([p.result(60) for p in [w.tell(("race", 100_000)) for w in threads]])
            )
            lost_locked.append(
                lost_in(
                    [p.result(60) for p in [w.tell(("race", 100_000, "lock")) for w in threads]]
                )
            )
        return thread_spans, process_spans, lost, lost_locked
    finally:
        doer.stop_all(threads + processes)


def lesson_rows(
    thread_spans: list[float], process_spans: list[float], lost: list[int], lost_locked: list[int]
) -> list[Row]:
    ratios = [t / p for t, p in zip(thread_spans, process_spans, strict=True)]
    runs = ", ".join(f"{ratio:.2f}" for ratio in ratios)
    race_ok = all(n > 0 for n in lost) and not any(lost_locked)
    return [
        (
            "GIL lesson: @t1,t2 work vs @p1,p2 work",
            f"{statistics.median(thread_spans):.2f} s",
            f"{statistics.median(process_spans):.2f} s  two processes",
            f"{statistics.median(ratios):.2f}x ({runs})",
            f">= {GIL_TARGET}x each run",
            verdict(min(ratios) >= GIL_TARGET),
        ),
        (
            "race lesson: lost updates, 2 threads x 100,000",
            ", ".join(f"{n:,}" for n in lost),
            ", ".join(f"{n:,}" for n in lost_locked) + "  with the lock",
            "",
            "> 0 each run; 0 locked",
            verdict(race_ok),
        ),
    ]


# --- the table -----------------------------------------------------------------------


Row = tuple[str, str, str, str, str, str]
HEADER: Row = ("measure", "doer", "baseline", "vs baseline", "target", "result")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def round_trip_rows(comparison: Comparison) -> list[Row]:
    rows: list[Row] = []
    for name in ("p50", "p99"):
        mine = statistics.median(getattr(comparison.doer_times, name)) / 1000
        base = statistics.median(getattr(comparison.raw_times, name)) / 1000
        ratio = mine / base
        rows.append(
            (
                f"ask {name}, {comparison.doer.label}, {comparison.placement.label}",
                f"{mine:.1f} us",
                f"{base:.1f} us  {comparison.raw.label}",
                f"{ratio:.2f}x",
                f"<= {RATIO_TARGET:.2f}x",
                verdict(ratio <= RATIO_TARGET),
            )
        )
    return rows


def launch_rows(baseline: Launch, subjects: Sequence[Launch]) -> list[Row]:
    if baseline.error is not None or not baseline.times_ms:
        base_text, base = f"n/a ({baseline.error})", None
    else:
        base = statistics.median(baseline.times_ms)
        base_text = f"{base:.1f} ms  {baseline.label}"
    target = f"<= +{LAUNCH_TARGET_MS:.0f} ms"
    rows: list[Row] = []
    for launch in subjects:
        label = f"first prompt, {launch.label}"
        if launch.error is not None or not launch.times_ms:
            reason = f"n/a (console not available: {launch.error})"
            rows.append((label, reason, base_text, "", target, "n/a"))
            continue
        mine = statistics.median(launch.times_ms)
        extra = "" if base is None else f"{mine - base:+.1f} ms"
        result = "n/a" if base is None else verdict(mine - base <= LAUNCH_TARGET_MS)
        rows.append((label, f"{mine:.1f} ms", base_text, extra, target, result))
    return rows


def print_table(rows: Sequence[Row]) -> None:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]
    for row in [HEADER, tuple("-" * width for width in widths), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def main() -> int:
    print(
        f"doer {doer.__version__} bench: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
        f"round trips: {ROUNDS} rounds x {ROUND_TRIPS} per subject after {WARMUP} warm-up, "
        f"median of per-round percentiles; launches: median of {LAUNCHES}",
        flush=True,
    )
    started = time.perf_counter()
    pinnable = hasattr(os, "sched_getaffinity")
    everywhere = frozenset(os.sched_getaffinity(0)) if pinnable else frozenset()
    with contextlib.ExitStack() as stack:
        stack.callback(place_caller, everywhere)
        comparisons = round_trip_comparisons(stack)
        run_rounds(comparisons)
    round_trips_s = time.perf_counter() - started
    subjects = launches()
    run_launches(subjects)
    launches_s = time.perf_counter() - started - round_trips_s
    echo = run_echo()
    echo_s = time.perf_counter() - started - round_trips_s - launches_s
    stops = run_stops()
    stops_s = time.perf_counter() - started - round_trips_s - launches_s - echo_s
    shapes = run_lessons()
    with tempfile.TemporaryDirectory() as scratch:
        feel = feel_rows(Path(scratch))
    rows = [row for comparison in comparisons for row in round_trip_rows(comparison)]
    rows += launch_rows(subjects[0], subjects[1:])
    rows += echo_rows(echo)
    rows += stop_rows(*stops)
    rows += lesson_rows(*shapes)
    rows += feel
    print_table(rows)
    print(
        f"(round trips {round_trips_s:.1f} s, launches {launches_s:.1f} s, key echo "
        f"{echo_s:.1f} s, stops {stops_s:.1f} s;"
        " the ask targets are checked on p50 and p99 alike)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
