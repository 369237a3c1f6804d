"""The lesson messages: handlers that show how a thread, a process and a task differ.

They run in the worker, like every handler, and each answer explains itself
in a short clause when the result is the surprising one. This module's
globals are the point of several lessons: a thread or a task shares them with
the console and with every other thread or task of its process; a process
worker has its own copies (a forked one starts with the console's values, a
spawned one with none of them)::

    COUNTER   incr and race add to it; .peek shows the console's view of it
    MARK      the console's .mark sets it; inherited shows what a worker sees

Every answer fits a line of 80 columns after the longest tag the lessons plan
for (``[doer-12 process 1234567] ``): :func:`answer_room`.

What a lesson decides about memory it decides from what the worker's kind
declares (``doer.own_memory``), never from the kind's name: a new kind cannot
get it wrong.

Kept free of imports a process worker would not otherwise pay for: ``ctypes``
is imported only by ``segfault``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, NamedTuple

from doer.base.protocol import value_text

#: Added to by ``incr`` and ``race``: one counter per process.
COUNTER = 0

#: Set by the console's ``.mark``; ``inherited`` answers what a worker sees of it.
MARK: Any = None

#: What ``race N lock`` takes for each increment.
COUNTER_LOCK = threading.Lock()

#: ``race`` releases the GIL (``time.sleep(0)``) between a read and its write
#: once in this many increments: the switch point that makes a lost update
#: show on every run rather than now and then. Forced, the switch always
#: comes: once they all race, every racer but one loses all its increments
#: (less what the first did alone before the others began). ``race N
#: natural`` forces none.
SWITCH_EVERY = 100

#: ``work`` with no count: about a second of pure-Python arithmetic on the
#: 2-core machine doer is developed on (11.5 million steps a second there).
#: ``DOER_WORK_STEPS`` sets another, for a faster or slower machine.
WORK_STEPS = int(os.environ.get("DOER_WORK_STEPS") or 12_000_000)

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

#: The exit status of a process worker told to ``die``.
DIE_EXIT_CODE = 3


def answer_room(kind: str, pid: int = 1_234_567) -> int:
    """The columns an answer has on a line of 80 after the longest tag the lessons
    plan for: a name like ``doer-12``, the kind, and a 7-digit pid, or ``pid``
    (``[doer-12 process 1234567] ``)."""
    return 80 - len(f"[doer-12 {kind} {pid}] ")


class Round:
    """The racers of one ``race``, in this process: the last to finish reports.

    Racers that overlap in time form a round. The first to start notes the
    counter; each adds its increments when it ends; the last to end compares
    what the counter should be with what it is.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.racing = 0
        self.racers = 0
        self.start = 0
        self.done = 0

    def begin(self) -> None:
        with self.lock:
            if self.racing == 0:
                self.start, self.done, self.racers = COUNTER, 0, 0
            self.racing += 1
            self.racers += 1

    def end(self, increments: int) -> tuple[int, int, int, int]:
        """Add ``increments``; return (racers still running, racers in the round,
        increments made in the round, increments the counter shows), read
        together under the lock."""
        with self.lock:
            self.done += increments
            self.racing -= 1
            return self.racing, self.racers, self.done, COUNTER - self.start


_round = Round()


def incr(doer: Any) -> str:
    """Add 1 to this process's counter and answer it, and whose counter it is."""
    global COUNTER
    COUNTER += 1
    if doer.own_memory:
        return f"counter: {COUNTER} (this process's own)"
    return f"counter: {COUNTER} (the console's, one for all its threads)"  # tasks run in one


def race(doer: Any, increments: Any = 100_000, how: Any = None) -> str:
    """``race N``: N unprotected read-modify-write increments of the counter.

    Between a read and its write another thread may run. Left to itself, with
    the GIL, it rarely does: a thread is switched out between bytecodes that
    end a loop or call, not between a read and the write after it. So ``race
    N`` forces a switch there every :data:`SWITCH_EVERY` increments, and racing
    threads lose updates on every run, about as many every run. ``race N
    natural`` forces none: what this interpreter does on its own (with the
    GIL off, a lot is lost). ``race N lock`` takes :data:`COUNTER_LOCK` for
    each increment and loses none.
    """
    count = _count(increments, "race")
    if how not in (None, "lock", "natural"):
        raise ValueError(f"race N [lock|natural], not {how!r}")
    _round.begin()
    try:
        if how == "lock":
            _increment_locked(count)
        elif how == "natural":
            _increment_naturally(count)
        else:
            _increment_racily(count)
    finally:
        still_racing, racers, total, counted = _round.end(count)
    if still_racing:
        return f"{count:,} done; {still_racing} racing on: the last to end sums up"
    return race_text(total - counted, total, racers, how, own_memory=doer.own_memory)


def race_text(lost: int, total: int, racers: int, how: str | None, *, own_memory: bool) -> str:
    """The last racer's answer: how many increments of the round were lost, and why::

    100,000 of 200,000 lost: read, forced switch, write
    0 of 200,000 lost (with the GIL, rarely any)
    0 of 200,000 lost: the lock took turns
    0 of 100,000 lost: its counter is its own
    """
    if own_memory:
        why = "its counter is its own"
    elif racers == 1:
        why = "no other racer overlapped"
    elif how == "natural":
        expected = "with the GIL, rarely any" if gil_enabled() else "GIL off: expect a lot"
        return f"{lost:,} of {total:,} lost ({expected})"
    elif how == "lock":
        why = "the lock took turns"
    else:  # the switch point (SWITCH_EVERY) makes every racer but one lose all
        why = "read, forced switch, write" if lost else "no update overwritten"
    return f"{lost:,} of {total:,} lost: {why}"


def gil_enabled() -> bool:
    """Whether this interpreter runs with the GIL (3.13t and later can run without)."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return is_enabled is None or bool(is_enabled())


def _increment_racily(count: int) -> None:
    global COUNTER
    for step in range(count):
        value = COUNTER
        if step % SWITCH_EVERY == 0:
            time.sleep(0)  # the switch point: the GIL is free, another thread may run
        COUNTER = value + 1


def _increment_naturally(count: int) -> None:
    global COUNTER
    for _ in range(count):
        value = COUNTER
        COUNTER = value + 1  # a switch between these two lines is left to the interpreter


def _increment_locked(count: int) -> None:
    global COUNTER
    for step in range(count):
        with COUNTER_LOCK:
            value = COUNTER
            if step % SWITCH_EVERY == 0:
                time.sleep(0)  # the same switch point: the others wait at the lock
            COUNTER = value + 1


def work(doer: Any, steps: Any = None) -> str:
    """``work [N]``: N steps of pure-Python arithmetic; answer wall and CPU time, and
    what the rest of the wall time was spent waiting for.

    The CPU time is this thread's own (``time.thread_time``). Off CPU, a
    thread waited either for a CPU (the kernel had it on a run queue: the
    machine was busy) or, in a thread or a task, for the GIL (another thread
    of its process was running Python): :func:`work_text` says which. As it
    goes, ``work`` counts its steps in slots of :data:`SLOT_S` and leaves the
    time it ran in each on ``doer.samples``, which a timed reply carries to
    ``.timeline``.
    """
    count = _count(WORK_STEPS if steps is None else steps, "work")
    before = _clocks()
    checksum, began, done = _crunch(count)
    after = _clocks()
    del checksum  # computed so that the work cannot be skipped; the same for every run
    spent = Spent.between(before, after)
    doer.samples = running_samples(began, done, count, spent.cpu)
    return work_text(spent, count, own_memory=doer.own_memory, event_loop=doer.kind == "asyncio")


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


def _clocks() -> Clocks:
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


def _crunch(steps: int) -> tuple[int, float, list[int]]:
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


def crash(doer: Any) -> str:
    """Raise in the handler: the worker answers with the error and lives on."""
    raise RuntimeError("raised on purpose; the worker lives on")


class Died(BaseException):
    """Raised by ``die`` in a thread or a task: not an ``Exception``, so no handler
    guard catches it, and the worker's loop ends with it."""


def die(doer: Any) -> str:
    """End the worker abruptly: a process exits at once, a thread's or a task's loop
    ends with an exception it does not catch."""
    if doer.own_memory:
        os._exit(DIE_EXIT_CODE)  # no end event, no clean-up: as a crash would
    raise Died("raised by die")


#: ``segfault``'s answer in a thread or a task: it points at the demo that shows why.
SEGFAULT_REFUSED = "refused: it would end the console; see segfault thread"


def segfault(doer: Any, where: Any = None) -> str:
    """Crash a process worker with SIGSEGV; refuse in a thread or a task, and say why.

    ``segfault thread`` shows what the refusal spares the console: a second
    thread of the process reads address 0, and the whole process goes, the
    main thread that waits for it too, as the console would with a thread of
    its own that did it.
    """
    if where not in (None, "thread"):
        raise ValueError(f"segfault takes nothing, or thread: not {where!r}")
    if not doer.own_memory:
        return SEGFAULT_REFUSED
    if where == "thread":
        crasher = threading.Thread(target=_read_address_zero, name="segfaulting", daemon=True)
        crasher.start()
        crasher.join()  # never returns: this thread goes with the process
    else:
        _read_address_zero()
    return "still alive?"  # pragma: no cover - the process is gone by now


def _read_address_zero() -> None:
    import ctypes

    ctypes.string_at(0)  # reads address 0: the kernel sends SIGSEGV to the process


def inherited(doer: Any) -> str:
    """What this worker sees of the console's ``.mark``, and why."""
    why = _inherited_why(doer)
    if MARK is None:
        return f"not set {why}"
    room = answer_room(doer.kind, os.getpid()) - len(f"mark:  {why}")
    return f"mark: {_clipped(value_text(MARK), room)} {why}"


def _inherited_why(doer: Any) -> str:
    if not doer.own_memory:
        return "(live: the console's own memory)"
    if doer.start_method == "fork":
        return "(a copy, made when the console forked it)"
    if doer.start_method == "forkserver":  # the server is fresh; its child, a fork of it
        return "(forked by the forkserver, which began fresh)"
    if doer.start_method is not None:
        return f"({doer.start_method}: a fresh interpreter, nothing copied)"
    return f"(a {doer.kind} worker: nothing of the console's is there)"


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def get_lock(doer: Any) -> Any:
    """Answer a ``threading.Lock``: a thread can hand it over; a process cannot pickle it."""
    return threading.Lock()


def _count(value: Any, action: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**9:
        raise ValueError(f"{action} takes a whole number from 1 to 1,000,000,000, not {value!r}")
    return value


#: The lesson messages, by name, as every worker knows them.
LESSON_HANDLERS = {
    "incr": incr,
    "race": race,
    "work": work,
    "crash": crash,
    "die": die,
    "segfault": segfault,
    "inherited": inherited,
    "get-lock": get_lock,
}
