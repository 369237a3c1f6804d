"""Pipelined throughput per kind: 100,000 ``tell``s, then every answer drained.

What is measured, per kind (thread; process by fork, the default; asyncio):
messages a second, from the first send to the last answer received.

doer
    ``worker.tell("ping")`` :data:`MESSAGES` times, without waiting, then
    ``pending.wait()`` on each in order. The answers are read meanwhile by
    the worker's reply-reader thread (``tell`` starts it), which resolves each
    ``Pending``; every answer is checked to be ``pong`` after the clock stops.
raw
    the primitive of :mod:`benchmarks.echoes` doing the same: the caller sends
    :data:`MESSAGES` messages while a receiver thread of the bench drains the
    echoes. The receiver is needed, not a courtesy: with nothing reading, a
    Pipe's two buffers fill and both ends block (the classic two-pipe
    deadlock), and the queues would only grow.

The start method does not change a running worker's pipe, so the process kind
is measured once, by fork (the round-trip rows cover every start method).

Placement decides these figures even more than it decides a round trip:
measured unpinned, doer's thread kind came out at 0.6x raw in one run and
1.2x in the next. Pinned, it is 0.5x with everything on one CPU (threads
taking turns at the GIL, where raw's tight loops waste nothing) and 1.4x
with the worker's side on one CPU and the caller's on the other (where raw's
three threads fight over the GIL across CPUs). So, as for the round trips,
each kind is measured on both placements of
:func:`benchmarks.round_trips.placements`, the same for doer and raw: the
worker (its thread, process or event loop) started on the worker's CPU, the
sender and the receiver (doer's reply reader, raw's receiver thread) on the
caller's.

:data:`ROUNDS` rounds per kind and placement, doer and raw back to back
(which goes first alternates); the verdict is on the median of the per-round
ratios (target: at least :data:`TARGET` of raw), their spread printed
beside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import doer
from benchmarks.common import Row, median, per_second, pinned, rate, ratio_with_spread, verdict
from benchmarks.echoes import (
    RAW_MESSAGE,
    DoerWorker,
    Echo,
    asyncio_echo,
    doer_worker,
    pin_process,
    pipe_echo,
    queue_echo,
)
from benchmarks.round_trips import Placement, placements

MESSAGES = 100_000
WARMUP = 2_000
ROUNDS = 2
TARGET = 0.8

#: The kinds measured, and the raw echo each is measured against.
KINDS: list[tuple[str, str | None, Callable[[], Echo]]] = [
    ("thread", None, queue_echo),
    ("process", "fork", lambda: pipe_echo("fork")),
    ("asyncio", None, asyncio_echo),
]


class WrongAnswer(Exception):
    """An answer was not ``pong``: the rate would not be of the work asked for."""


def doer_seconds(worker: doer.Worker, count: int) -> float:
    """Seconds to ``tell`` ``count`` pings and have every answer.

    Raises:
        WrongAnswer: an answer was not ``pong``.
    """
    tell = worker.tell
    started = time.perf_counter()
    pendings = [tell("ping") for _ in range(count)]
    for pending in pendings:
        pending.wait(60.0)
    seconds = time.perf_counter() - started
    wrong = [pending.result(0) for pending in pendings if pending.result(0) != "pong"]
    if wrong:
        raise WrongAnswer(f"{len(wrong)} answers were not pong: {wrong[0]!r}")
    return seconds


def raw_seconds(echo: Echo, count: int) -> float:
    """Seconds to send ``count`` messages while a receiver thread drains the echoes."""
    receive = echo.receive

    def drain() -> None:
        for _ in range(count):
            receive()

    receiver = threading.Thread(target=drain, name="bench-receiver")
    receiver.start()  # it blocks until the first echo
    send = echo.send
    started = time.perf_counter()
    for _ in range(count):
        send(RAW_MESSAGE)
    receiver.join()
    return time.perf_counter() - started


def start_pinned(
    kind: str, start_method: str | None, start_raw: Callable[[], Echo], placement: Placement
) -> tuple[DoerWorker, Echo]:
    """doer's worker and the raw echo, started on the placement's worker CPU."""
    with pinned(placement.worker_cpus):
        mine = doer_worker(kind, start_method)
        raw = start_raw()
    for subject in (mine, raw):
        pin_process(subject.pid, placement.worker_cpus)
    return mine, raw


def measure(mine: DoerWorker, raw: Echo) -> tuple[list[float], list[float]]:
    """Messages a second of doer and raw, round by round (the caller already placed)."""
    worker = mine.worker
    doer_seconds(worker, WARMUP)  # it starts the reply reader, on the caller's CPU
    raw_seconds(raw, WARMUP)
    doer_rates, raw_rates = [], []
    for round_number in range(ROUNDS):
        doer_first = round_number % 2 == 1
        if doer_first:
            doer_rates.append(rate(MESSAGES, doer_seconds(worker, MESSAGES)))
        raw_rates.append(rate(MESSAGES, raw_seconds(raw, MESSAGES)))
        if not doer_first:
            doer_rates.append(rate(MESSAGES, doer_seconds(worker, MESSAGES)))
    return doer_rates, raw_rates


def kind_row(
    kind: str, start_method: str | None, start_raw: Callable[[], Echo], placement: Placement
) -> Row:
    mine, raw = start_pinned(kind, start_method, start_raw, placement)
    try:
        with pinned(placement.caller_cpus):
            doer_rates, raw_rates = measure(mine, raw)
    finally:
        mine.stop()
        raw.stop()
    ratios = [d / r for d, r in zip(doer_rates, raw_rates, strict=True)]
    return Row(
        f"pipelined, {MESSAGES:,} tells, {mine.label}, {placement.label}",
        per_second(median(doer_rates)),
        f"{per_second(median(raw_rates))}  {raw.label}",
        ratio_with_spread(median(ratios), ratios),
        f">= {TARGET}x",
        verdict(median(ratios) >= TARGET),
    )


def run() -> list[Row]:
    return [
        kind_row(kind, method, start_raw, placement)
        for kind, method, start_raw in KINDS
        for placement in placements()
    ]
