"""The lessons' shapes: the GIL and a race, five runs each, through the library.

The GIL lesson
    ``work`` of :data:`WORK_STEPS` steps given to two thread workers at once,
    against the same given to two process workers; the time from the first
    handler's start to the last one's end (the handlers' own clock, from
    ``tell(..., timed=True)``). Target: the threads take at least
    :data:`GIL_TARGET` times as long, in each of :data:`RUNS` runs (the GIL
    lets one run at a time; the processes run on two cores). The steps are
    the lesson's own default (about a second here): what the class sees. (A
    third of it saved 8 s of the bench, but a shorter run is more at the mercy
    of whatever else the machine does for a moment.)
The race lesson
    ``race 100000`` on two threads at once, :data:`RUNS` runs, against
    ``race 100000 lock``. Target: updates lost in every run without the lock,
    none with it.
"""

from __future__ import annotations

import re
from typing import Any

import doer
from benchmarks.common import Row, median, verdict
from doer.lessons import handlers as lessons

RUNS = 5
GIL_TARGET = 1.6
WORK_STEPS = lessons.WORK_STEPS  # the lesson's default (DOER_WORK_STEPS sets another)
RACE_INCREMENTS = 100_000


def span_of(workers: list[doer.Worker], message: Any) -> float:
    """Seconds from the first handler's start to the last one's end, all sent at once."""
    pendings = [worker.tell(message, timed=True) for worker in workers]
    records = [pending.wait(60) for pending in pendings]
    # A timed reply's times begin (started, ended); work's own samples follow them.
    times = [record.times[:2] for record in records if isinstance(record, doer.Reply)]
    if len(times) != len(workers) or not all(times):
        raise RuntimeError(f"work was not answered with its times: {records}")
    return max(end for _, end in times) - min(start for start, _ in times)


def lost_in(answers: list[str]) -> int:
    """The updates lost, from the answer that sums up the whole race
    (``100,000 of 200,000 lost: ...``). A racer that ends while no other runs
    sums up too, over what it alone did: the summary over the most updates counts."""
    summaries = [re.match(r"([\d,]+) of ([\d,]+) lost", answer) for answer in answers]
    counts = [
        (int(found[2].replace(",", "")), int(found[1].replace(",", "")))
        for found in summaries
        if found
    ]
    _, lost = max(counts)
    return lost


def race(threads: list[doer.Worker], message: Any) -> int:
    return lost_in([pending.result(60) for pending in [w.tell(message) for w in threads]])


def run() -> list[Row]:
    threads = [doer.start("thread", name=f"gil-t{n}") for n in (1, 2)]
    processes = [doer.start("process", name=f"gil-p{n}") for n in (1, 2)]
    try:
        for worker in threads + processes:
            worker.ask("ping", timeout=30)
        thread_spans, process_spans, lost, lost_locked = [], [], [], []
        for _ in range(RUNS):
            thread_spans.append(span_of(threads, ("work", WORK_STEPS)))
            process_spans.append(span_of(processes, ("work", WORK_STEPS)))
            lost.append(race(threads, ("race", RACE_INCREMENTS)))
            lost_locked.append(race(threads, ("race", RACE_INCREMENTS, "lock")))
    finally:
        doer.stop_all(threads + processes)
    ratios = [t / p for t, p in zip(thread_spans, process_spans, strict=True)]
    return [
        Row(
            f"GIL lesson: @t1,t2 work {WORK_STEPS:,} vs @p1,p2",
            f"{median(thread_spans):.2f} s  two threads",
            f"{median(process_spans):.2f} s  two processes",
            f"{median(ratios):.2f}x ({', '.join(f'{ratio:.2f}' for ratio in ratios)})",
            f">= {GIL_TARGET}x each run",
            verdict(min(ratios) >= GIL_TARGET),
        ),
        Row(
            f"race lesson: lost updates, 2 threads x {RACE_INCREMENTS:,}",
            ", ".join(f"{n:,}" for n in lost),
            ", ".join(f"{n:,}" for n in lost_locked) + "  with the lock",
            "",
            "> 0 each run; 0 locked",
            verdict(all(n > 0 for n in lost) and not any(lost_locked)),
        ),
    ]
