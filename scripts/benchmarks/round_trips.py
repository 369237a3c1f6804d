"""``ask`` round trips per kind, next to a raw echo over the same primitive, pinned.

What is measured: ``Worker.ask("ping")`` for the thread kind, the process
kind by fork, forkserver and spawn, and the asyncio kind, each next to the raw
echo of :mod:`benchmarks.echoes` over the same primitive (``queue.Queue``,
``Pipe`` by the same start method, an asyncio task reached the same way).
Every round trip is timed on its own (``perf_counter_ns``); a round is
:data:`SAMPLES` of them per subject.

How, against the noise of a small shared machine:

- placement: where the scheduler puts two partners decides a round trip (on
  this machine a bare Pipe ping-pong takes about 15 us with both ends on one
  CPU and about 60 us across two), and a pair keeps the placement it started
  with. So every comparison is made twice, pinned the same way for doer and
  its baseline: both ends on one CPU, then the worker on one CPU and the
  caller on the other (:func:`placements`);
- rounds: :data:`GROUPS` groups of :data:`ROUNDS_PER_GROUP` short rounds. In
  each round doer and its baseline take turns in blocks of :data:`BLOCK`
  round trips (a few milliseconds; which goes first alternates), so a slow
  moment of the machine falls on both. (Whole rounds back to back, tried
  first, let a burst of other work land on one side only.)
- p50: each round gives one ratio, doer's p50 over the baseline's; the
  verdict is on the median of the :data:`GROUPS` x :data:`ROUNDS_PER_GROUP`
  per-round ratios (target :data:`RATIO_TARGET`), their interquartile range
  printed beside it, and the result says in how many groups the median of
  the group's rounds held (the issue's "holding in 5 runs of 5");
- p99: a round's p99 is its 4th slowest round trip, too few to estimate a
  tail: per-round p99 ratios spread from 0.7 to 1.6 on a quiet machine, and
  their median moved across the target from run to run. So the p99 figures
  and the verdict are on all the rounds pooled (:data:`GROUPS` x
  :data:`ROUNDS_PER_GROUP` x :data:`SAMPLES` round trips per subject: the
  80th slowest), and each group, pooled the same way, gives one ratio for
  the spread and for the count of groups that held.

Every subject is started once (processes first, while the bench runs no other
thread) and stopped at the end of the group.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing import forkserver, resource_tracker
from typing import TypeVar

from benchmarks.common import Row, median, percentile, pinned, ratio_with_spread, verdict
from benchmarks.echoes import (
    Subject,
    asyncio_echo,
    doer_worker,
    pin_process,
    pipe_echo,
    queue_echo,
)

GROUPS = 5
ROUNDS_PER_GROUP = 5
SAMPLES = 320  # timed round trips per subject and round
BLOCK = 40  # doer and its baseline take turns every BLOCK round trips
BLOCK_WARMUP = 3  # untimed, at the start of every block
WARMUP = 500  # untimed, once per subject before the first round
RATIO_TARGET = 1.3

T = TypeVar("T")


@dataclass(frozen=True)
class Placement:
    """The CPUs a comparison runs on: the echoing end's and the caller's."""

    label: str
    worker_cpus: frozenset[int]
    caller_cpus: frozenset[int]


@functools.cache  # read once, before anything is pinned: pinning narrows the affinity
def placements() -> tuple[Placement, ...]:
    """Both ends on one CPU (a hand-off is a context switch), then on two (a cross-CPU wake-up)."""
    if not hasattr(os, "sched_getaffinity"):
        return (Placement("any CPU", frozenset(), frozenset()),)
    allowed = sorted(os.sched_getaffinity(0))
    last = frozenset({allowed[-1]})
    one = Placement("1 CPU", last, last)
    if len(allowed) == 1:
        return (one,)
    return one, Placement("2 CPUs", last, frozenset({allowed[0]}))


@dataclass
class Comparison:
    """A doer worker and the raw echo it is measured against, on one placement,
    and every round's round trips of each, in nanoseconds."""

    doer: Subject
    raw: Subject
    placement: Placement
    doer_rounds: list[list[int]] = field(default_factory=list)
    raw_rounds: list[list[int]] = field(default_factory=list)


# --- the subjects ---------------------------------------------------------------------


def subjects() -> list[tuple[Callable[[], Subject], Callable[[], Subject]]]:
    """(doer, raw) starters: processes by each start method first, then thread and asyncio."""
    available = multiprocessing.get_all_start_methods()
    methods = [method for method in ("fork", "forkserver", "spawn") if method in available]
    pairs: list[tuple[Callable[[], Subject], Callable[[], Subject]]] = [
        (functools.partial(doer_worker, "process", method), functools.partial(pipe_echo, method))
        for method in methods
    ]
    pairs.append((functools.partial(doer_worker, "thread"), queue_echo))
    pairs.append((functools.partial(doer_worker, "asyncio"), asyncio_echo))
    return pairs


def start_helpers_unpinned() -> None:
    """Start multiprocessing's forkserver and resource tracker before anything is pinned.

    They live as long as the bench, and a forkserver's children take its CPUs:
    started from a pinned thread, every later forkserver worker would be pinned.
    """
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods or "spawn" in methods:
        resource_tracker.ensure_running()
    if "forkserver" in methods:
        forkserver.ensure_running()


def start_comparisons(stack: contextlib.ExitStack) -> list[Comparison]:
    """Start every subject on its placement; ``stack`` stops them all."""
    start_helpers_unpinned()
    comparisons = []
    for start_doer, start_raw in subjects():
        for placement in placements():
            with pinned(placement.worker_cpus):
                pair = []
                for start in (start_doer, start_raw):
                    subject = start()
                    stack.callback(subject.stop)
                    pin_process(subject.pid, placement.worker_cpus)
                    pair.append(subject)
            comparisons.append(Comparison(pair[0], pair[1], placement))
    return comparisons


# --- the rounds -----------------------------------------------------------------------


def timed(round_trip: Callable[[], object], count: int, into: list[int]) -> None:
    """``count`` round trips, each timed on its own, appended to ``into`` in nanoseconds."""
    now, append = time.perf_counter_ns, into.append
    for _ in range(count):
        start = now()
        round_trip()
        append(now() - start)


def untimed(round_trip: Callable[[], object], count: int) -> None:
    for _ in range(count):
        round_trip()


def measure_round(comparison: Comparison, round_number: int) -> None:
    """One round: doer and its baseline in alternating blocks, one p50 and p99 each.

    Blocks of :data:`BLOCK` round trips take a few milliseconds, shorter than
    the bursts of other work on a shared machine, so a burst falls on both
    subjects rather than on one; the first round trips of a block (the
    partner waking from a longer sleep) are not timed.
    """
    samples: dict[str, list[int]] = {"raw": [], "doer": []}
    with pinned(comparison.placement.caller_cpus):
        for block in range(SAMPLES // BLOCK):
            order = [("raw", comparison.raw), ("doer", comparison.doer)]
            if (round_number + block) % 2:
                order.reverse()
            for name, subject in order:
                untimed(subject.round_trip, BLOCK_WARMUP)
                timed(subject.round_trip, BLOCK, samples[name])
    comparison.raw_rounds.append(samples["raw"])
    comparison.doer_rounds.append(samples["doer"])


def run_rounds(comparisons: Sequence[Comparison]) -> None:
    """Warm every subject up, then measure every comparison, round after round."""
    for comparison in comparisons:
        with pinned(comparison.placement.caller_cpus):
            untimed(comparison.doer.round_trip, WARMUP)
            untimed(comparison.raw.round_trip, WARMUP)
    for round_number in range(GROUPS * ROUNDS_PER_GROUP):
        gc.collect()  # not in the middle of a round: a full collection would land on one side
        for comparison in comparisons:
            measure_round(comparison, round_number)


# --- the rows -------------------------------------------------------------------------


@dataclass
class Figures:
    """One percentile of a comparison, as the row shows it: doer's figure and the
    baseline's (nanoseconds), the ratio judged, the ratios whose spread is shown,
    and one ratio per group."""

    doer: float
    raw: float
    ratio: float
    spread: list[float]
    group_ratios: list[float]


def in_groups(values: Sequence[T]) -> list[Sequence[T]]:
    """Consecutive rounds, :data:`ROUNDS_PER_GROUP` at a time."""
    return [values[i : i + ROUNDS_PER_GROUP] for i in range(0, len(values), ROUNDS_PER_GROUP)]


def pooled(rounds: Sequence[list[int]]) -> list[int]:
    return [sample for one_round in rounds for sample in one_round]


def p50_figures(comparison: Comparison) -> Figures:
    """Per round, then the median of the rounds."""
    doer = [percentile(samples, 0.50) for samples in comparison.doer_rounds]
    raw = [percentile(samples, 0.50) for samples in comparison.raw_rounds]
    ratios = [mine / base for mine, base in zip(doer, raw, strict=True)]
    groups = [median(group) for group in in_groups(ratios)]
    return Figures(median(doer), median(raw), median(ratios), ratios, groups)


def p99_figures(comparison: Comparison) -> Figures:
    """On all the rounds pooled; per group, pooled, for the spread."""
    doer = percentile(pooled(comparison.doer_rounds), 0.99)
    raw = percentile(pooled(comparison.raw_rounds), 0.99)
    groups = [
        percentile(pooled(mine), 0.99) / percentile(pooled(base), 0.99)
        for mine, base in zip(
            in_groups(comparison.doer_rounds), in_groups(comparison.raw_rounds), strict=True
        )
    ]
    return Figures(doer, raw, doer / raw, groups, groups)


def comparison_rows(comparison: Comparison) -> list[Row]:
    rows = []
    for name, figures in (("p50", p50_figures(comparison)), ("p99", p99_figures(comparison))):
        held = sum(ratio <= RATIO_TARGET for ratio in figures.group_ratios)
        rows.append(
            Row(
                f"ask {name}, {comparison.doer.label}, {comparison.placement.label}",
                f"{figures.doer / 1000:.1f} us",
                f"{figures.raw / 1000:.1f} us  {comparison.raw.label}",
                ratio_with_spread(figures.ratio, figures.spread),
                f"<= {RATIO_TARGET:.1f}x",
                f"{verdict(figures.ratio <= RATIO_TARGET)} ({held}/{GROUPS} groups)",
            )
        )
    return rows


def run() -> list[Row]:
    with contextlib.ExitStack() as stack:
        comparisons = start_comparisons(stack)
        run_rounds(comparisons)
    return [row for comparison in comparisons for row in comparison_rows(comparison)]
