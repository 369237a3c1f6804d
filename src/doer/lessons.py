"""The lesson messages: handlers that show how a thread, a process and a task differ.

They run in the worker, like every handler, and each answer explains itself
in a short clause when the result is the surprising one. This module's
globals are the point of several lessons: a thread or a task shares them with
the console and with every other thread or task of its process; a process
worker has its own copies (a forked one starts with the console's values, a
spawned one with none of them)::

    COUNTER   incr and race add to it; .peek shows the console's view of it
    MARK      the console's .mark sets it; inherited shows what a worker sees

Kept free of imports a process worker would not otherwise pay for: ``ctypes``
is imported only by ``segfault``.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from doer.protocol import value_text

#: Added to by ``incr`` and ``race``: one counter per process.
COUNTER = 0

#: Set by the console's ``.mark``; ``inherited`` answers what a worker sees of it.
MARK: Any = None

#: What ``race N lock`` takes for each increment.
COUNTER_LOCK = threading.Lock()

#: ``race`` releases the GIL (``time.sleep(0)``) between a read and its write
#: once in this many increments: the switch point that makes a lost update
#: show on every run rather than now and then.
SWITCH_EVERY = 100

#: ``work`` with no count: about a second of pure-Python arithmetic on the
#: 2-core machine doer is developed on (11.5 million steps a second there).
#: ``DOER_WORK_STEPS`` sets another, for a faster or slower machine.
WORK_STEPS = int(os.environ.get("DOER_WORK_STEPS") or 12_000_000)

#: The exit status of a process worker told to ``die``.
DIE_EXIT_CODE = 3


class Round:
    """The racers of one ``race``, in this process: the last to finish reports.

    Racers that overlap in time form a round. The first to start notes the
    counter; each adds its increments when it ends; the last to end compares
    what the counter should be with what it is.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.racing = 0
        self.start = 0
        self.done = 0

    def begin(self) -> None:
        with self.lock:
            if self.racing == 0:
                self.start, self.done = COUNTER, 0
            self.racing += 1

    def end(self, increments: int) -> tuple[int, int, int]:
        """Add ``increments``; return (racers still running, increments made in the
        round, increments the counter shows), read together under the lock."""
        with self.lock:
            self.done += increments
            self.racing -= 1
            return self.racing, self.done, COUNTER - self.start


_round = Round()


def incr(doer: Any) -> str:
    """Add 1 to this process's counter and answer it."""
    global COUNTER
    COUNTER += 1
    if doer.kind == "process":
        return f"counter: {COUNTER} (this process's own)"
    return f"counter: {COUNTER} (one for the console and its threads and tasks)"


def race(doer: Any, increments: Any = 100_000, how: Any = None) -> str:
    """``race N``: N unprotected read-modify-write increments of the counter.

    Between each read and its write another thread may run (a switch point
    every :data:`SWITCH_EVERY`): threads that race lose updates. ``race N
    lock`` takes :data:`COUNTER_LOCK` for each increment and loses none.
    """
    count = _count(increments, "race")
    if how not in (None, "lock"):
        raise ValueError(f"race takes N and, if you like, lock: race 100000 lock, not {how!r}")
    _round.begin()
    try:
        if how == "lock":
            _increment_locked(count)
        else:
            _increment_racily(count)
    finally:
        still_racing, total, counted = _round.end(count)
    if still_racing:
        return f"{count:,} done; {still_racing} racing on: the last one to end sums up"
    lost = total - counted
    if doer.kind == "process":
        why = "its counter is its own"
    elif lost:
        why = "read, switch, overwrite"
    else:
        why = "the lock took turns" if how else "no other racer overlapped"
    return f"{lost:,} of {total:,} increments lost: {why}"  # fits 80 columns with its tag


def _increment_racily(count: int) -> None:
    global COUNTER
    for step in range(count):
        value = COUNTER
        if step % SWITCH_EVERY == 0:
            time.sleep(0)  # the switch point: the GIL is free, another thread may run
        COUNTER = value + 1


def _increment_locked(count: int) -> None:
    global COUNTER
    for step in range(count):
        with COUNTER_LOCK:
            value = COUNTER
            if step % SWITCH_EVERY == 0:
                time.sleep(0)  # the same switch point: the others wait at the lock
            COUNTER = value + 1


def work(doer: Any, steps: Any = None) -> str:
    """``work [N]``: N steps of pure-Python arithmetic; answer wall and CPU time.

    The CPU time is this thread's own (``time.thread_time``): a thread that
    waited for the GIL shows a wall time well above it.
    """
    count = _count(WORK_STEPS if steps is None else steps, "work")
    wall_start, cpu_start = time.monotonic(), time.thread_time()
    checksum = _crunch(count)
    wall, cpu = time.monotonic() - wall_start, time.thread_time() - cpu_start
    del checksum  # computed so that the work cannot be skipped; the same for every run
    text = f"{wall:.2f} s wall, {cpu:.2f} s CPU"
    if doer.kind == "asyncio":
        return f"{text}: its event loop was blocked {wall:.2f} s"
    if wall > 1.4 * cpu and wall - cpu > 0.05:
        waited = "for the GIL" if doer.kind == "thread" else "for a CPU"
        return f"{text}: {wall - cpu:.2f} s waiting {waited}"
    return f"{text} for {count:,} steps"


def _crunch(steps: int) -> int:
    """A fixed, deterministic CPU-bound job: the same answer for the same count."""
    total = 0
    for step in range(steps):
        total = (total * 31 + step) % 1_000_003
    return total


def crash(doer: Any) -> str:
    """Raise in the handler: the worker answers with the error and lives on."""
    raise RuntimeError("raised on purpose; the worker lives on")


class Died(BaseException):
    """Raised by ``die`` in a thread or a task: not an ``Exception``, so no handler
    guard catches it, and the worker's loop ends with it."""


def die(doer: Any) -> str:
    """End the worker abruptly: a process exits at once, a thread's or a task's loop
    ends with an exception it does not catch."""
    if doer.kind in ("process", "ray"):
        os._exit(DIE_EXIT_CODE)  # no end event, no clean-up: as a crash would
    raise Died("raised by die")


def segfault(doer: Any) -> str:
    """Crash a process worker with SIGSEGV; refuse in a thread or a task, and say why."""
    if doer.kind not in ("process", "ray"):
        return "refused: it would end the console, whose process it shares"
    import ctypes

    ctypes.string_at(0)  # reads address 0: the kernel sends SIGSEGV
    return "still alive?"  # pragma: no cover - the line above never returns


def inherited(doer: Any) -> str:
    """What this worker sees of the console's ``.mark``, and why."""
    seen = "not set" if MARK is None else f"mark: {value_text(MARK)}"
    if doer.kind == "ray":
        return f"{seen} (a Ray worker process: nothing of the console's is there)"
    if doer.kind != "process":
        return f"{seen} (live: the console's own memory)"
    if doer.start_method == "fork":
        return f"{seen} (a copy, made when the console forked it)"
    return f"{seen} ({doer.start_method}: a fresh interpreter, nothing copied)"


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
