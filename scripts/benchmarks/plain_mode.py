"""Plain mode throughput: 100,000 piped lines per kind, the transcript checked line by line.

What is measured: ``doer --kind K`` (thread, process, asyncio) given
:data:`LINES` lines on a pipe, ``set-state 0``, ``ping``, ``set-state 2``,
``ping``... in turn, its transcript read from a pipe as it comes (in 64 kB
reads, each stamped with its arrival time). Lines a second: the lines answered
over the time from the first byte of output to the arrival of the last
answer. (Starting the clock at the first output, not at the launch, leaves
the interpreter's start out of a throughput figure; were the output buffered
in blocks, the first block's lines would count for free: a few hundred of
100,000.)

The guarantee is checked strictly, not by counting: after the start lines,
the transcript must be exactly ``> LINE`` then that line's one answer
(``[w1 K PID] new state: N`` or ``[w1 K PID] pong``), for every line, in order,
and the console must exit with status 0. The first line out of place is
reported, and the row fails.

A run that has not finished after :data:`CAP_S` seconds is stopped (SIGTERM:
the console stops its worker and exits), and its rate is the lines answered
in order until then: under the target for certain, and measured all the
same, without the whole bench waiting on it.

The baseline is the library doing the same: the same messages (parsed as the
console parses them) sent with ``Worker.tell`` without waiting, then every
answer awaited in order; the ceiling plain mode's pipelining is built on. It
is a rate, measured on the first :data:`LIBRARY_MESSAGES` of them (as well
measured, and sooner). :data:`ROUNDS` rounds per kind, plain mode and the
library back to back (which goes first alternates); medians. Target: at least
:data:`TARGET` lines a second per kind.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import re
import select
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO

import doer
from benchmarks.common import DOER_SCRIPT, Row, median, per_second, rate, verdict

LINES = 100_000
TARGET = 30_000
CAP_S = 12.0
ROUNDS = 2
LIBRARY_MESSAGES = 20_000
KINDS = ("thread", "process", "asyncio")

START_LINE = re.compile(rb"^(\[w1 \w+ \d+\]) on start: ")


def script() -> list[str]:
    """The lines piped in: ``set-state 0``, ``ping``, ``set-state 2``, ``ping``..."""
    return [("ping" if n % 2 else f"set-state {n}") for n in range(LINES)]


def expected_answer(tag: bytes, line: str) -> bytes:
    answer = "pong" if line == "ping" else f"new state: {line.split()[1]}"
    return tag + b" " + answer.encode()


# --- one run of plain mode --------------------------------------------------------------


@dataclass
class Transcript:
    """What a console wrote, as it arrived: the bytes and, per read, when and how far."""

    data: bytearray = field(default_factory=bytearray)
    arrivals: list[float] = field(default_factory=list)  # perf_counter() of each read
    ends: list[int] = field(default_factory=list)  # len(data) after each read

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        self.arrivals.append(time.perf_counter())
        self.ends.append(len(self.data))

    def arrival_of(self, offset: int) -> float:
        """When the byte at ``offset`` arrived."""
        return self.arrivals[bisect.bisect_right(self.ends, offset)]


@dataclass
class PlainRun:
    """Lines answered in order, the seconds they took, and what went wrong (None: nothing)."""

    answered: int
    seconds: float
    cut: bool = False
    problem: str | None = None

    @property
    def rate(self) -> float:
        return rate(self.answered, self.seconds)


def feed(stdin: IO[bytes], data: bytes) -> None:
    """Write every line, then close: the console's end of input (a thread of its own)."""
    with contextlib.suppress(BrokenPipeError, OSError):
        stdin.write(data)
    with contextlib.suppress(BrokenPipeError, OSError):
        stdin.close()


def read_transcript(process: subprocess.Popen[bytes], cap_s: float) -> tuple[Transcript, bool]:
    """Read the console's output to its end; SIGTERM it after ``cap_s``. (transcript, cut)."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    transcript, cut = Transcript(), False
    deadline = time.monotonic() + cap_s
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0 and not cut:
            process.send_signal(signal.SIGTERM)
            cut, deadline = True, time.monotonic() + 10.0
            continue
        if wait <= 0:
            process.kill()  # it would not end after SIGTERM: the row says so below
            break
        if not select.select([fd], [], [], wait)[0]:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        transcript.add(chunk)
    return transcript, cut


def check(transcript: Transcript, lines: list[str]) -> tuple[int, int, str | None]:
    """How many lines were echoed and answered in order, the offset after the last
    answer, and the first thing out of place (None: every line was answered)."""
    output = bytes(transcript.data).split(b"\n")
    first_echo = next((i for i, line in enumerate(output) if line.startswith(b"> ")), None)
    starts = [START_LINE.match(line) for line in output[:first_echo]]
    tags = [match.group(1) for match in starts if match]
    if first_echo is None or not tags:
        return 0, 0, "no start line, or no line echoed"
    offset = sum(len(line) + 1 for line in output[:first_echo])
    for number, line in enumerate(lines):
        at = first_echo + 2 * number
        expected = [f"> {line}".encode(), expected_answer(tags[0], line)]
        got = output[at : at + 2]
        if got != expected:
            return number, offset, f"line {number + 1}: expected {expected}, got {got}"
        offset += len(expected[0]) + len(expected[1]) + 2
    return len(lines), offset, None


def finish(process: subprocess.Popen[bytes]) -> int:
    """The console's exit status, once it has ended (killed if it will not)."""
    assert process.stdout is not None
    process.stdout.close()
    try:
        return process.wait(10.0)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def fed_console(args: list[str], lines: list[str]) -> tuple[Transcript, bool, int, str]:
    """``doer ARGS`` fed every line on a pipe, its output read as it comes: the
    transcript, whether it was cut at :data:`CAP_S`, the exit status and stderr."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [DOER_SCRIPT, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        data = "".join(line + "\n" for line in lines).encode()
        writer = threading.Thread(target=feed, args=(process.stdin, data), name="bench-feed")
        writer.start()
        try:
            transcript, cut = read_transcript(process, CAP_S)
        finally:
            writer.join(10.0)
            status = finish(process)
        errors.seek(0)
        stderr = errors.read().decode(errors="replace").strip()
    return transcript, cut, status, stderr


def plain_run(kind: str, lines: list[str]) -> PlainRun:
    """One console fed every line; its rate and whether its transcript held."""
    transcript, cut, status, stderr = fed_console(["--kind", kind], lines)
    if not transcript.arrivals:
        return PlainRun(0, 0.0, problem=f"no output, exit status {status}: {stderr[-200:]}")
    answered, offset, problem = check(transcript, lines)
    seconds = transcript.arrival_of(max(offset - 1, 0)) - transcript.arrivals[0]
    if cut:
        return PlainRun(answered, seconds, cut=True)
    if problem is None and status != 0:
        problem = f"exit status {status}" + (f": {stderr.splitlines()[-1]}" if stderr else "")
    return PlainRun(answered, seconds, problem=problem)


# --- the library doing the same -----------------------------------------------------------


def library_rate(kind: str, messages: list[object]) -> float:
    """Messages a second: every message told without waiting, then each awaited.

    Raises:
        doer.WorkerError: an answer was an error.
    """
    with doer.start(kind, name="bench-library") as worker:
        worker.ask("ping", timeout=30)
        tell = worker.tell
        started = time.perf_counter()
        pendings = [tell(message) for message in messages]
        for pending in pendings:
            pending.wait(60.0)
        seconds = time.perf_counter() - started
        for pending in pendings:
            pending.result(0)  # raises on an error answer
    return rate(len(messages), seconds)


# --- the rows -----------------------------------------------------------------------------


def kind_row(kind: str, lines: list[str], messages: list[object]) -> Row:
    runs: list[PlainRun] = []
    library: list[float] = []
    for round_number in range(ROUNDS):
        if round_number % 2:
            library.append(library_rate(kind, messages))
        runs.append(plain_run(kind, lines))
        if not round_number % 2:
            library.append(library_rate(kind, messages))
    measure = f"plain mode, {LINES:,} piped lines, {kind}"
    base = median(library)
    baseline = f"{per_second(base)}  Worker.tell, drained"
    target = f">= {TARGET:,}/s"
    broken = [run for run in runs if run.problem is not None]
    if broken:
        return Row(measure, f"transcript broken: {broken[0].problem}", baseline, "", target, "MISS")
    mine = median([run.rate for run in runs])
    figure = per_second(mine)
    cut = [run for run in runs if run.cut]
    if cut:
        figure += f" (stopped at {CAP_S:g} s: {cut[0].answered:,} answered)"
    return Row(measure, figure, baseline, f"{mine / base:.2f}x", target, verdict(mine >= TARGET))


def run() -> list[Row]:
    lines = script()
    messages = [doer.parse_line(line) for line in lines[:LIBRARY_MESSAGES]]  # as doer parses
    return [kind_row(kind, lines, messages) for kind in KINDS]
