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
from typing import Any

from doer.base.protocol import value_text
from doer.lessons.deadlock import MESSAGE as DEADLOCK
from doer.lessons.deadlock import deadlock, deadlock_awaiting

# What work measures, and how its answer says it; importable from here too.
from doer.lessons.measure import MAX_SLOTS as MAX_SLOTS
from doer.lessons.measure import SCHEDSTAT as SCHEDSTAT
from doer.lessons.measure import SLOT_S as SLOT_S
from doer.lessons.measure import Spent as Spent
from doer.lessons.measure import clocks, crunch
from doer.lessons.measure import crowded_text as crowded_text
from doer.lessons.measure import running_samples as running_samples
from doer.lessons.measure import work_text as work_text

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

#: ``work`` with no count: twelve million steps of pure-Python arithmetic, about
#: a second on a core that runs that many a second. ``DOER_WORK_STEPS`` sets
#: another, for a faster or slower machine.
WORK_STEPS = int(os.environ.get("DOER_WORK_STEPS") or 12_000_000)

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
    if doer.own_memory and not doer.own_process:  # a subinterpreter: its modules are its own
        return f"counter: {COUNTER} (this interpreter's own)"
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
    842,272 of 2,000,000 lost: GIL off, they ran at once
    0 of 200,000 lost: the lock took turns
    0 of 100,000 lost: its counter is its own
    """
    if own_memory:
        why = "its counter is its own"
    elif racers == 1:
        why = "no other racer overlapped"
    elif how == "natural" and gil_enabled():
        return f"{lost:,} of {total:,} lost (with the GIL, rarely any)"
    elif how == "natural":  # no switch is needed: the racers read and write at once
        why = "GIL off, they ran at once" if lost else "GIL off, yet none crossed"
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
    of its process was running Python): :func:`~doer.lessons.measure.work_text`
    says which. As it
    goes, ``work`` counts its steps in slots of :data:`~doer.lessons.measure.SLOT_S` and leaves the
    time it ran in each on ``doer.samples``, which a timed reply carries to
    ``.timeline``.
    """
    count = _count(WORK_STEPS if steps is None else steps, "work")
    before = clocks()
    checksum, began, done = crunch(count)
    after = clocks()
    del checksum  # computed so that the work cannot be skipped; the same for every run
    spent = Spent.between(before, after)
    doer.samples = running_samples(began, done, count, spent.cpu)
    # With the GIL off (3.13t and later), a thread waits for no GIL: off CPU, it
    # waited for a CPU, as a process does; and the answer says the GIL is off.
    gil_off = not gil_enabled() and not doer.own_memory
    event_loop = doer.kind == "asyncio"
    text = work_text(spent, count, own_memory=doer.own_memory or gil_off, event_loop=event_loop)
    return f"{text} (GIL off)" if gil_off else text


def crash(doer: Any) -> str:
    """Raise in the handler: the worker answers with the error and lives on."""
    raise RuntimeError("raised on purpose; the worker lives on")


class Died(BaseException):
    """Raised by ``die`` in a thread or a task: not an ``Exception``, so no handler
    guard catches it, and the worker's loop ends with it."""


def die(doer: Any) -> str:
    """End the worker abruptly: a process exits at once, a thread's, a task's or a
    subinterpreter's loop ends with an exception it does not catch (exiting the
    process would end the console too)."""
    if doer.own_process:
        os._exit(DIE_EXIT_CODE)  # no end event, no clean-up: as a crash would
    raise Died("raised by die")


#: ``segfault``'s answer in a thread or a task: it points at the demo that shows why.
SEGFAULT_REFUSED = "refused: it would end the console; see segfault thread"
#: ``segfault``'s answer in a subinterpreter: its memory is its own, its process is not.
SEGFAULT_REFUSED_INTERPRETER = "refused: this interpreter's process is the console's"


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
    if not doer.own_process:
        return SEGFAULT_REFUSED_INTERPRETER
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
    if not doer.own_process:
        return "(a fresh interpreter: its modules are its own)"
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
    DEADLOCK: deadlock,
}

#: The lessons a task answers on its event loop's own terms, by awaiting (an
#: ``AsyncDoer`` takes these in place of the ones above).
AWAITING_LESSON_HANDLERS = {DEADLOCK: deadlock_awaiting}
