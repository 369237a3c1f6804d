"""The lesson locks A and B of this interpreter, and who holds and who waits for which.

``deadlock`` (:mod:`doer.lessons.deadlock`) takes them; the console's ``.locks``
draws them. They live in this module's globals, so they are shared where the
module is:

- the threads of a process share one pair, two ``threading.Lock``
  (:class:`ThreadPair`);
- the tasks of one event loop share a pair of ``asyncio.Lock``
  (:class:`LoopPair`): a task waits for one by awaiting, and the loop runs on;
- a process, a subinterpreter or a Ray actor has the module to itself (imported
  afresh, or a copy made by a fork, which :func:`_afresh_in_a_child` empties):
  its A and B are its own, and so are its records. The console reads only
  those of its own process.

Every change is recorded under one guard, by worker name, as it happens: who
holds A and B, who waits for which and until when, and the meeting of the
two workers a line like ``@t1,t2 deadlock`` sends. :func:`seen` reads it all
at once::

    holders  {"A": "t1", "B": "t2"}
    waits    {"t1": Wait("B", since, until), "t2": Wait("A", since, until)}
    cycle    t1 waits for B, held by t2, who waits for A, held by t1

Every wait has a deadline. When one passes, who gives up is decided under the
guard, so that the two answers of a deadlock are true together: in a cycle,
the waiter whose deadline came first gives up and lets go of what it holds;
another whose deadline passed a moment later waits on for that (up to the
first's deadline and :data:`GRACE_S`), then takes the lock let go. Left to
the timers, both could give up at once, each blaming the other for a lock it
had just let go of.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

#: The lesson locks, in the one order that cannot deadlock (``deadlock ordered``).
NAMES = ("A", "B")

#: How long a waiter whose deadline has passed waits on for a lock about to be let go
#: of: one just let go of, or one held by the waiter of its cycle whose time was up first.
GRACE_S = 1.0

#: The guard of every record here: held for a few lines at a time, never across a wait
#: for a lesson lock (a thread's condition releases it while it waits).
_guard = threading.Lock()


@dataclass(frozen=True)
class Wait:
    """A worker waiting for lesson lock ``lock``, from ``since`` until ``until``
    (``time.monotonic()``); ``extended``: past its deadline, waiting on a moment."""

    lock: str
    since: float
    until: float
    extended: bool = False


@dataclass
class Meeting:
    """The two workers one ``deadlock`` line sends, in the order they came.

    The one whose name sorts first leads (``t1`` of ``@t1,t2``): it takes A
    first. Not the first to come: which thread runs first is the scheduler's
    choice, and the lesson says who took which lock the same way on every run.
    """

    names: list[str]
    #: Who holds the lock it takes first.
    holding: set[str] = field(default_factory=set)
    #: Who has let go of everything and gone.
    left: set[str] = field(default_factory=set)
    #: Who gave up on which lock.
    gave_up: dict[str, str] = field(default_factory=dict)

    def leads(self, name: str) -> bool:
        return name == min(self.names)

    def partner(self, name: str) -> str:
        """The other of the two (the meeting is full)."""
        return self.names[1] if self.names[0] == name else self.names[0]


@dataclass(frozen=True)
class Taken:
    """How a wait for a lesson lock ended: ``got`` it or not, after ``waited`` seconds;
    who held it when the waiter gave up (None: nobody, or it was got)."""

    lock: str
    got: bool
    waited: float
    holder: str | None = None
    #: What the waiter let go of as it gave up.
    let_go: tuple[str, ...] = ()


class Pair:
    """Lesson locks A and B of one place, and the records of who holds and who waits.

    The records change only under the guard, through these methods, and each
    change wakes whoever waits for one (:meth:`changed`: how, the subclass
    says). :class:`ThreadPair` and :class:`LoopPair` wait, each in its way.
    """

    #: The locks, by name (a subclass makes them).
    locks: dict[str, Any]

    def __init__(self, place: str) -> None:
        self.place = place
        self.holders: dict[str, str] = {}  # lock -> the worker that holds it
        self.waits: dict[str, Wait] = {}  # worker -> the lock it waits for
        self.open: Meeting | None = None  # one worker has come, and waits for another

    def changed(self) -> None:
        """Wake whoever waits for a change of the records (called under the guard)."""

    # --- under the guard ------------------------------------------------------------

    def _arrive(self, name: str) -> Meeting:
        """Join the meeting that waits for a second worker, or open one."""
        meeting = self.open
        if meeting is None:
            meeting = self.open = Meeting([name])
        else:
            meeting.names.append(name)
            self.open = None
        self.changed()
        return meeting

    def _met(self, meeting: Meeting) -> bool:
        """Whether a second worker came; if not, the meeting closes (nobody else came)."""
        if len(meeting.names) == 2:
            return True
        if self.open is meeting:
            self.open = None
        return False

    def _wait_for(self, name: str, lock: str, seconds: float) -> None:
        now = time.monotonic()
        self.waits[name] = Wait(lock, now, now + seconds)
        self.changed()

    def _took(self, name: str, lock: str, meeting: Meeting | None) -> Taken:
        wait = self.waits.pop(name)
        self.holders[lock] = name
        if meeting is not None:
            meeting.holding.add(name)
        self.changed()
        return Taken(lock, True, time.monotonic() - wait.since)

    def _after_deadline(self, name: str, lock: str, *, free: bool) -> float | None:
        """Once ``name``'s wait for ``lock`` has passed its deadline: how many seconds
        more to wait, or None: give up. A waiter waits on once at most.

        It waits on for a lock just let go of (``free``), which is about to be
        its own; and for a lock held in a cycle (:func:`cycle_of`) where another's
        deadline came first: that one gives up, and lets go.
        """
        wait = self.waits[name]
        if wait.extended:
            return None
        if free:
            more = GRACE_S
        else:
            cycle = cycle_of(self.holders, self.waits, name)
            first = None if cycle is None else gives_up_first(cycle, self.waits)
            if first is None or first == name:
                return None
            more = max(self.waits[first].until - time.monotonic(), 0.0) + GRACE_S
        self.waits[name] = Wait(lock, wait.since, time.monotonic() + more, extended=True)
        self.changed()
        return more

    def _gave_up(self, name: str, lock: str, meeting: Meeting | None) -> Taken:
        """``name`` gives up on ``lock``: it lets go of what it holds, at once."""
        wait = self.waits.pop(name)
        holder = self.holders.get(lock)
        let_go = self._let_go_all(name)
        if meeting is not None:
            meeting.gave_up[name] = lock
        self.changed()
        return Taken(lock, False, time.monotonic() - wait.since, holder, let_go)

    def _let_go_all(self, name: str) -> tuple[str, ...]:
        held = tuple(lock for lock in NAMES if self.holders.get(lock) == name)
        for lock in reversed(held):
            del self.holders[lock]
            self.locks[lock].release()
        return held

    def leave(self, name: str, meeting: Meeting | None) -> None:
        """``name`` is done: it lets go of what it holds, and waits for nothing."""
        with _guard:
            self.waits.pop(name, None)
            self._let_go_all(name)
            if meeting is not None:
                meeting.left.add(name)
                self._met(meeting)  # closes it, if nobody else came
            self.changed()


class ThreadPair(Pair):
    """The lesson locks of the threads of this process: two ``threading.Lock``."""

    def __init__(self) -> None:
        super().__init__("threads")
        self.locks = {name: threading.Lock() for name in NAMES}
        self._condition = threading.Condition(_guard)

    def changed(self) -> None:
        self._condition.notify_all()

    def until(self, holds: Callable[[], bool], seconds: float) -> bool:
        """Wait until ``holds()`` (asked under the guard) is true, ``seconds`` at most."""
        with self._condition:
            return self._condition.wait_for(holds, max(seconds, 0.0))

    def meet(self, name: str, seconds: float) -> Meeting | None:
        """Meet another worker sent ``deadlock``, waiting ``seconds`` at most for one to
        come; None if nobody did."""
        with self._condition:
            meeting = self._arrive(name)
            self._condition.wait_for(lambda: len(meeting.names) == 2, seconds)
            return meeting if self._met(meeting) else None

    def take(self, name: str, lock: str, seconds: float, meeting: Meeting | None) -> Taken:
        """Wait for ``lock``, ``seconds`` at most, then give up (and let go of the rest)."""
        taking = self.locks[lock]
        with _guard:
            self._wait_for(name, lock, seconds)
        got = taking.acquire(timeout=seconds)
        while True:
            with _guard:
                if got:
                    return self._took(name, lock, meeting)
                more = self._after_deadline(name, lock, free=not taking.locked())
                if more is None:
                    return self._gave_up(name, lock, meeting)
            got = taking.acquire(timeout=more)


class LoopPair(Pair):
    """The lesson locks of the tasks of one event loop: two ``asyncio.Lock``, made on
    the loop, and waited for by awaiting."""

    def __init__(self, place: str) -> None:
        import asyncio

        super().__init__(place)
        self.locks = {name: asyncio.Lock() for name in NAMES}
        self._change = asyncio.Event()

    def changed(self) -> None:
        import asyncio

        self._change.set()  # wakes every task that waits for this change
        self._change = asyncio.Event()

    async def until(self, holds: Callable[[], bool], seconds: float) -> bool:
        """Wait until ``holds()`` (asked under the guard) is true, ``seconds`` at most."""
        import asyncio

        deadline = time.monotonic() + seconds
        while True:
            with _guard:
                if holds():
                    return True
                change = self._change
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(change.wait(), left)
            except TimeoutError:
                pass  # asked once more, then False

    async def meet(self, name: str, seconds: float) -> Meeting | None:
        """:meth:`ThreadPair.meet`, awaiting."""
        with _guard:
            meeting = self._arrive(name)
        await self.until(lambda: len(meeting.names) == 2, seconds)
        with _guard:
            return meeting if self._met(meeting) else None

    async def take(self, name: str, lock: str, seconds: float, meeting: Meeting | None) -> Taken:
        """:meth:`ThreadPair.take`, awaiting (``asyncio.wait_for``)."""
        taking = self.locks[lock]
        with _guard:
            self._wait_for(name, lock, seconds)
        more: float | None = seconds
        while True:
            got = await _acquired(taking, more or 0.0)
            with _guard:
                if got:
                    return self._took(name, lock, meeting)
                more = self._after_deadline(name, lock, free=not taking.locked())
                if more is None:
                    return self._gave_up(name, lock, meeting)


async def _acquired(lock: asyncio.Lock, seconds: float) -> bool:
    import asyncio

    try:
        await asyncio.wait_for(lock.acquire(), seconds)
    except TimeoutError:
        return False
    return True


def cycle_of(holders: Mapping[str, str], waits: Mapping[str, Wait], name: str) -> list[str] | None:
    """The workers of the cycle ``name`` waits in, from ``name`` on: each waits for a
    lock the next one holds, and the last for one ``name`` holds. None: no cycle
    (a lock on the way is free, its holder waits for nothing, or the chain runs
    into a cycle ``name`` is not part of)."""
    chain = [name]
    while True:
        wait = waits.get(chain[-1])
        holder = None if wait is None else holders.get(wait.lock)
        if holder is None or (holder in chain and holder != name):
            return None
        if holder == name:
            return chain
        chain.append(holder)


def cycles(holders: Mapping[str, str], waits: Mapping[str, Wait]) -> list[list[str]]:
    """Every cycle of waits, once each, from the member that gives up first."""
    found: list[list[str]] = []
    for name in sorted(waits):
        cycle = cycle_of(holders, waits, name)
        if cycle is not None and not any(set(cycle) == set(other) for other in found):
            first = cycle.index(gives_up_first(cycle, waits))
            found.append(cycle[first:] + cycle[:first])
    return found


def gives_up_first(cycle: list[str], waits: Mapping[str, Wait]) -> str:
    """The member of ``cycle`` whose deadline comes first (then by name): it gives up."""
    return min(cycle, key=lambda name: (waits[name].until, name))


# --- where the pairs are ------------------------------------------------------------


_threads = ThreadPair()
_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopPair] = weakref.WeakKeyDictionary()


def threads() -> ThreadPair:
    """The lesson locks the threads of this process share."""
    return _threads


def this_loop() -> LoopPair:
    """The lesson locks the tasks of the running event loop share (made on first use)."""
    import asyncio

    loop = asyncio.get_running_loop()
    with _guard:
        pair = _loops.get(loop)
        if pair is None:
            pair = _loops[loop] = LoopPair("tasks")
    return pair


def _afresh_in_a_child() -> None:
    """In a child forked from this process: empty locks and records of its own.

    A fork copies the locks as they were, held ones too, by threads the child
    does not have: nothing would ever let go of them there. (CPython does the
    same for its own locks at a fork.)
    """
    global _guard, _threads
    _guard = threading.Lock()
    _threads = ThreadPair()
    _loops.clear()


if hasattr(os, "register_at_fork"):
    try:
        os.register_at_fork(after_in_child=_afresh_in_a_child)
    except RuntimeError:  # pragma: no cover - a Python that refuses it here
        pass


# --- what the console reads ---------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """The records of one pair, read at once: who holds which lock, and who waits for
    which; ``now`` is when (``time.monotonic()``)."""

    place: str
    holders: dict[str, str]
    waits: dict[str, Wait]
    now: float

    def cycles(self) -> list[list[str]]:
        return cycles(self.holders, self.waits)


def seen() -> list[Seen]:
    """The pairs of this process in which a lock is held or waited for: the threads'
    first, then each event loop's."""
    with _guard:
        now = time.monotonic()
        pairs: list[Pair] = [_threads, *_loops.values()]
        return [
            Seen(pair.place, dict(pair.holders), dict(pair.waits), now)
            for pair in pairs
            if pair.holders or pair.waits
        ]


def anyone_waits() -> bool:
    """Whether any worker of this process waits for a lesson lock now."""
    with _guard:
        return bool(_threads.waits) or any(pair.waits for pair in _loops.values())


def worker_name() -> str:
    """The name of the worker whose handler runs here: its task's, its thread's, or (in
    a process's main thread) its process's name, without the suffix its kind gives
    it (``a-task``, ``t1-worker``, ``p1-worker``)."""
    asyncio = sys.modules.get("asyncio")  # not imported: not in a task
    task = None
    if asyncio is not None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no event loop runs in this thread
            task = None
    if task is not None:
        return str(task.get_name()).removesuffix("-task")
    thread = threading.current_thread()
    multiprocessing = sys.modules.get("multiprocessing")  # imported in a process worker
    if (
        multiprocessing is not None
        and thread is threading.main_thread()
        and multiprocessing.parent_process() is not None
    ):
        return str(multiprocessing.current_process().name).removesuffix("-worker")
    return thread.name.removesuffix("-worker")
