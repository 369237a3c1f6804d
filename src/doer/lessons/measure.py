"""What the ``work`` lesson measures, and how its answer says it.

``work`` crunches numbers in the worker and answers how its wall time went:
on a CPU (this thread's own CPU time), waiting for a CPU (the kernel's count
of its time on a run queue, from :data:`SCHEDSTAT`) or, in a thread or a
task, waiting for the GIL (the rest). As it goes it counts its steps in slots
of :data:`SLOT_S`, which a timed reply carries to ``.timeline``.
"""

from __future__ import annotations

import os
import threading
import time
from typing import NamedTuple

#: ``work`` looks at the clock once per this many steps: a fraction of a
#: millisecond of arithmetic, so the looking costs well under 1% of the work.
CHECK_EVERY = 4096

#: ``work`` counts its steps in slots of this much wall time: ``.timeline``
#: shades each character by the share of it the worker was running.
SLOT_S = 0.01

#: At most this many slots travel back with a reply: a longer run's slots are
#: merged in pairs (a 90 s run: slots of 160 ms) and its reply stays small.
MAX_SLOTS = 1000

#: A wait is said only when it is at least this long and this share of the CPU
#: time: smaller ones are noise (a thread that competes with a process only,
#: for one CPU, waits a millisecond or two for the GIL while the console's own
#: threads run). Relative to the CPU time, not the wall time: on a crowded
#: machine the wall time grows with the waits for a CPU, and a wait for the
#: GIL as long as a tenth of the work is still there to be said.
MIN_WAIT_S = 0.02
MIN_WAIT_SHARE = 0.1

#: Where the kernel tells how long a thread has run and waited to run (on a run
#: queue: for a CPU), in nanoseconds: ``on-CPU waiting slices``. Linux only.
SCHEDSTAT = "/proc/self/task/{thread}/schedstat"


class Clocks(NamedTuple):
    """This thread's clocks at one moment, in seconds."""

    wall: float
    cpu: float
    #: Time spent on a run queue, waiting for a CPU, since the thread began; None
    #: where the kernel does not say (no schedstat file).
    queued: float | None


class Spent(NamedTuple):
    """How a thread spent a stretch of wall time, in seconds."""

    wall: float
    cpu: float
    #: Of the rest, the time it waited for a CPU; None: unknown.
    queued: float | None

    @classmethod
    def between(cls, before: Clocks, after: Clocks) -> Spent:
        queued = None
        if before.queued is not None and after.queued is not None:
            queued = after.queued - before.queued
        return cls(after.wall - before.wall, after.cpu - before.cpu, queued)


def clocks() -> Clocks:
    return Clocks(time.monotonic(), time.thread_time(), _queued_so_far())


def _queued_so_far() -> float | None:
    """How long this thread has waited on a run queue for a CPU, as the kernel counts
    it (its schedstat's second field); None where the kernel does not say."""
    try:
        with open(SCHEDSTAT.format(thread=threading.get_native_id()), "rb") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def usable_cpus() -> int:
    """How many CPUs this process (and the workers it starts, which inherit it) may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux: every CPU there is
        return os.cpu_count() or 1


def crowded_text(processes: int) -> str | None:
    """What to say when one line asks workers in ``processes`` processes to ``work`` at
    once and fewer CPUs are usable: the machine is the bottleneck, not the GIL. The
    threads and tasks of one process count once (under the GIL they take turns, one
    CPU's worth); None when they fit."""
    cpus = usable_cpus()
    if processes <= cpus:
        return None
    on = f"{cpus} CPU{'s' if cpus > 1 else ''}"
    return f"note: {processes} processes to work on {on}: some wait for a CPU, not the GIL"


def work_text(spent: Spent, steps: int, *, own_memory: bool, event_loop: bool) -> str:
    """``work``'s answer: wall and CPU time, and what the rest went on, each wait said
    only when it is there (:data:`MIN_WAIT_S`, :data:`MIN_WAIT_SHARE`)::

        0.67 s wall, 0.67 s CPU for 12,000,000 steps
        2.18 s wall, 0.61 s CPU: 1.57 s waiting for a CPU
        2.18 s wall, 0.61 s CPU: 1.57 s waiting for the GIL
        2.18 s wall, 0.61 s CPU: waited 0.80 s CPU, 0.77 s GIL
        2.18 s wall, 0.61 s CPU: 1.57 s waiting (CPU or GIL)
        0.66 s CPU: its event loop was blocked 0.66 s

    A worker with memory of its own (a process) runs no other Python thread
    doing work: off CPU, it waited for a CPU. A thread or a task shares its
    process's GIL: the time the kernel had it on a run queue was for a CPU,
    the rest for the GIL; without the kernel's count, it cannot be told apart.
    Each fits :func:`answer_room`.
    """
    wall, cpu = _seconds(spent.wall), _seconds(spent.cpu)
    if event_loop:  # the lesson of a task: nothing else on its loop ran meanwhile
        return f"{cpu} s CPU: its event loop was blocked {wall} s"
    head = f"{wall} s wall, {cpu} s CPU"
    off_cpu = max(spent.wall - spent.cpu, 0.0)
    if own_memory:
        for_a_cpu, for_the_gil, unknown = off_cpu, 0.0, 0.0
    elif spent.queued is None:
        for_a_cpu, for_the_gil, unknown = 0.0, 0.0, off_cpu
    else:
        for_a_cpu = min(max(spent.queued, 0.0), off_cpu)
        for_the_gil, unknown = off_cpu - for_a_cpu, 0.0

    def said(seconds: float) -> bool:
        return seconds >= MIN_WAIT_S and seconds >= MIN_WAIT_SHARE * spent.cpu

    if said(unknown):
        return f"{head}: {_seconds(unknown)} s waiting (CPU or GIL)"
    if said(for_a_cpu) and said(for_the_gil):
        return f"{head}: waited {_seconds(for_a_cpu)} s CPU, {_seconds(for_the_gil)} s GIL"
    if said(for_a_cpu):
        return f"{head}: {_seconds(for_a_cpu)} s waiting for a CPU"
    if said(for_the_gil):
        return f"{head}: {_seconds(for_the_gil)} s waiting for the GIL"
    return f"{head} for {steps:,} steps"


def _seconds(seconds: float) -> str:
    """``0.61``, ``12.2``, ``123``: three figures at most, so that answers keep their width."""
    # Decide on the rounded value: 9.996 rounds to 10.00, to be shown as 10.0.
    if round(seconds, 2) < 10:
        return f"{seconds:.2f}"
    return f"{seconds:.1f}" if round(seconds, 1) < 100 else f"{seconds:.0f}"


def crunch(steps: int) -> tuple[int, float, list[int]]:
    """A fixed, deterministic CPU-bound job: the same checksum for the same count.

    Returns the checksum, when it began (``time.monotonic()``) and how many
    steps were done in each :data:`SLOT_S` of wall time from then. The clock
    is read once per :data:`CHECK_EVERY` steps, whose steps are counted in
    the slot they end in.
    """
    clock = time.monotonic
    total = 0
    done: list[int] = []
    began = clock()
    for first in range(0, steps, CHECK_EVERY):
        last = min(first + CHECK_EVERY, steps)
        for step in range(first, last):
            total = (total * 31 + step) % 1_000_003
        slot = int((clock() - began) / SLOT_S)
        if slot >= len(done):  # slots with no step done stay 0: it was not running then
            done.extend([0] * (slot + 1 - len(done)))
        done[slot] += last - first
    return total, began, done


def running_samples(began: float, done: list[int], steps: int, cpu: float) -> tuple[float, ...]:
    """``(began, slot, *seconds running in each slot)``, from the steps done in each.

    A step takes the same CPU time whenever it runs, so a slot's share of the
    steps is its share of the CPU time. Slots are merged in pairs until there
    are at most :data:`MAX_SLOTS`. Empty when there is nothing to tell.
    """
    if not done or steps <= 0 or cpu <= 0:
        return ()
    per_step = cpu / steps
    running = [count * per_step for count in done]
    slot = SLOT_S
    while len(running) > MAX_SLOTS:
        running = [sum(running[i : i + 2]) for i in range(0, len(running), 2)]
        slot *= 2
    return (began, slot, *running)
