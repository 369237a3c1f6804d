"""The ``deadlock`` lesson: two workers, two locks, taken in opposite orders.

``@t1,t2 deadlock``: the two meet (:class:`~doer.lessons.lesson_locks.Meeting`);
t1, whose name sorts first, takes lock A, and t2 lock B; each waits until
the other holds its first lock, then reaches for its second (t2 waits, too,
until t1 is reaching): t1 for B, which t2 holds, and t2 for A, which t1
holds. Neither can go on: a cycle, a deadlock, on every run and any machine,
one CPU too, as no step is left to timing.
``.locks`` draws it while it lasts. Every wait has a timeout (30 s, ``deadlock
5``: 5 s); the first whose time is up gives up and lets go, and the other
takes the lock it let go of (:mod:`doer.lessons.lesson_locks` says how both
answers stay true)::

    [t1 thread 4242] gave up on B after 30 s: t2 holds it; let go of A
    [t2 thread 4242] got A after 30 s, when t1 let go: a timeout broke the cycle

``deadlock ordered``: both take A, then B. With one order for all, whoever
holds B already holds A: nobody holds B while waiting for A, and no cycle can
form. A ``deadlock`` sent to one worker alone waits a moment for another
(:data:`MEETING_S`), then says what to type.

What there is to share is decided from what the worker's kind declares
(``doer.own_memory``), never from its name:

- threads share the locks of their process: :func:`deadlock`;
- tasks of one event loop share that loop's pair of ``asyncio.Lock`` and
  wait by awaiting (:func:`deadlock_awaiting`): deadlocked, they leave the
  loop free;
- a process, a subinterpreter or a Ray actor has A and B of its own: it takes
  both at once, and says so.
"""

from __future__ import annotations

import math
from typing import Any

from doer.lessons.lesson_locks import (
    LoopPair,
    Meeting,
    Taken,
    ThreadPair,
    this_loop,
    threads,
    worker_name,
)

#: The message, as typed.
MESSAGE = "deadlock"

#: How long a lesson lock is waited for, by default: time enough to look (``.locks``).
TIMEOUT_S = 30.0

#: How long a worker sent ``deadlock`` waits for a second one (less, for a shorter timeout).
MEETING_S = 2.0

USAGE = "deadlock [S] [ordered]: S seconds to wait for each lock (30 by default)"


def deadlock(doer: Any, first: Any = None, second: Any = None) -> str:
    """``deadlock [S] [ordered]``, in a thread (or a worker with memory of its own)."""
    seconds, ordered = parse_how(first, second)
    me = worker_name()
    room = _room(doer, me)
    pair = threads()
    if doer.own_memory:  # A and B are this process's (or interpreter's) own
        return _alone_in_its_memory(doer, pair, me, seconds, room)
    meeting = pair.meet(me, min(seconds, MEETING_S))
    if meeting is None:
        return nobody_came_text(min(seconds, MEETING_S), "@t1,t2")
    try:
        return _crossed(pair, meeting, me, seconds, ordered, room)
    finally:
        pair.leave(me, meeting)


def _crossed(
    pair: ThreadPair, meeting: Meeting, me: str, seconds: float, ordered: bool, room: int
) -> str:
    """Take the two locks in this worker's order, a step at a time with the other.

    Crossed: each takes its first lock, waits until the other holds its own,
    then reaches for its second; the one that took B first reaches once the
    leader does, so the leader's deadline comes first, and it gives up first.
    Ordered: the other reaches for A once the leader holds it; the leader
    takes B once the other waits for A, so that the answers can say who waited.
    """
    partner, leads = meeting.partner(me), meeting.leads(me)
    first, second = order_of(leads, ordered)
    if ordered and not leads:
        pair.until(lambda: _holds_or_left(meeting, partner), seconds)
    taken = pair.take(me, first, seconds, meeting)
    if not taken.got:
        return taken_text(taken, partner, meeting, ordered, leads, room)
    if not ordered:
        pair.until(lambda: _holds_or_left(meeting, partner), seconds)
    if ordered == leads:
        pair.until(lambda: _reaches_or_left(pair, meeting, partner, first), seconds)
    taken = pair.take(me, second, seconds, meeting)
    return taken_text(taken, partner, meeting, ordered, leads, room)


async def deadlock_awaiting(doer: Any, first: Any = None, second: Any = None) -> str:
    """``deadlock [S] [ordered]`` for a task: the same steps on the event loop's own
    terms (``asyncio.Lock``, ``asyncio.wait_for``). Two tasks deadlocked await for
    ever, or until their timeout: the loop runs every other task meanwhile."""
    seconds, ordered = parse_how(first, second)
    me = worker_name()
    room = _room(doer, me)
    pair = this_loop()
    meeting = await pair.meet(me, min(seconds, MEETING_S))
    if meeting is None:
        return nobody_came_text(min(seconds, MEETING_S), "@a,a2")
    try:
        return await _crossed_awaiting(pair, meeting, me, seconds, ordered, room)
    finally:
        pair.leave(me, meeting)


async def _crossed_awaiting(
    pair: LoopPair, meeting: Meeting, me: str, seconds: float, ordered: bool, room: int
) -> str:
    """:func:`_crossed`, awaiting."""
    partner, leads = meeting.partner(me), meeting.leads(me)
    first, second = order_of(leads, ordered)
    if ordered and not leads:
        await pair.until(lambda: _holds_or_left(meeting, partner), seconds)
    taken = await pair.take(me, first, seconds, meeting)
    if not taken.got:
        return taken_text(taken, partner, meeting, ordered, leads, room)
    if not ordered:
        await pair.until(lambda: _holds_or_left(meeting, partner), seconds)
    if ordered == leads:
        await pair.until(lambda: _reaches_or_left(pair, meeting, partner, first), seconds)
    taken = await pair.take(me, second, seconds, meeting)
    return taken_text(taken, partner, meeting, ordered, leads, room)


def order_of(leads: bool, ordered: bool) -> tuple[str, str]:
    """The order this worker takes the locks in: A first if it leads, or if
    ``ordered`` (one order for all), else B first."""
    return ("A", "B") if leads or ordered else ("B", "A")


def _holds_or_left(meeting: Meeting, partner: str) -> bool:
    """The other holds the lock it takes first (or has gone)."""
    return partner in meeting.holding or partner in meeting.left


def _reaches_or_left(
    pair: ThreadPair | LoopPair, meeting: Meeting, partner: str, mine: str
) -> bool:
    """The other waits for the lock this worker holds (or has gone)."""
    wait = pair.waits.get(partner)
    return (wait is not None and wait.lock == mine) or partner in meeting.left


def _alone_in_its_memory(doer: Any, pair: ThreadPair, me: str, seconds: float, room: int) -> str:
    """A worker with memory of its own: its A and B are nobody else's. It takes both,
    at once, and says why nothing deadlocked."""
    try:
        for lock in ("A", "B"):
            taken = pair.take(me, lock, seconds, None)
            if not taken.got:  # another thread of its own holds it
                return taken_text(taken, None, None, False, True, room)
    finally:
        pair.leave(me, None)
    return own_memory_text(doer, room)


# --- the answers ----------------------------------------------------------------------


def parse_how(first: Any, second: Any) -> tuple[float, bool]:
    """(seconds, ordered) from ``deadlock [S] [ordered]``, in either order.

    Raises:
        ValueError: anything else (the usage).
    """
    seconds, ordered = None, False
    for value in (first, second):
        if value is None:
            continue
        if value == "ordered" and not ordered:
            ordered = True
        elif seconds is None and _is_seconds(value):
            seconds = float(value)
        else:
            raise ValueError(f"{USAGE}, not {value!r}")
    return (TIMEOUT_S if seconds is None else seconds), ordered


def _is_seconds(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and 0 < value <= 3600
    )


def _room(doer: Any, name: str) -> int:
    """The columns an answer has on a line of 80 after this worker's tag, with a pid of
    7 digits: the same answer then on every machine, whatever its pids."""
    return 80 - len(f"[{name} {doer.kind} 1234567] ")


def _fitting(forms: list[str], room: int) -> str:
    """The first of ``forms`` that fits ``room`` columns, else the last."""
    return next((form for form in forms if len(form) <= room), forms[-1])


def seconds_text(seconds: float) -> str:
    """``30 s``, ``2.5 s``: a wait, to a tenth of a second."""
    return f"{round(seconds, 1):g} s"


def nobody_came_text(seconds: float, two: str) -> str:
    """A ``deadlock`` sent to one worker: a deadlock takes two."""
    return f"nobody else came within {seconds_text(seconds)}: try {two} deadlock"


def taken_text(
    taken: Taken,
    partner: str | None,
    meeting: Meeting | None,
    ordered: bool,
    leads: bool,
    room: int,
) -> str:
    """What a worker says once its last wait ended: how, and why.

    ::

        gave up on B after 30 s: t2 holds it; let go of A
        got A after 30 s, when t1 let go: a timeout broke the cycle
        took A, then B; t2 waited for A: one order for all, no cycle
        took A once t1 let go, then B: one order for all, no cycle
    """
    waited = seconds_text(taken.waited)
    if not taken.got:
        why = f": {taken.holder} holds it" if taken.holder else ""
        let_go = f"; let go of {' and '.join(taken.let_go)}" if taken.let_go else ""
        return _fitting([f"gave up on {taken.lock} after {waited}{why}{let_go}"], room)
    gave_up = None if meeting is None or partner is None else meeting.gave_up.get(partner)
    if gave_up is not None:  # the other's timeout broke the cycle
        return _fitting(
            [
                f"got {taken.lock} after {waited}, when {partner} let go:"
                " a timeout broke the cycle",
                f"got {taken.lock} after {waited}: {partner} let go at its timeout",
                f"got {taken.lock} after {waited}, once {partner} let go",
            ],
            room,
        )
    if ordered and partner is not None:
        whys = ["one order for all, no cycle", "one order, no cycle", "no cycle"]
        if leads:
            forms = [f"took A, then B; {partner} waited for A: {why}" for why in whys]
        else:
            forms = [f"took A once {partner} let go, then B: {why}" for why in whys]
        return _fitting([*forms, f"took A, then B: {whys[0]}"], room)
    if meeting is not None and partner in meeting.left:  # it went without giving up: killed
        return f"got {taken.lock} after {waited}, once {partner} let go"
    first = "B" if taken.lock == "A" else "A"
    return f"took {first}, then {taken.lock}"


def own_memory_text(doer: Any, room: int) -> str:
    """Why nothing deadlocked where the memory is the worker's own, and what sharing a
    lock between processes would take."""
    if not doer.own_process:  # a subinterpreter: its modules, and so its locks, are its own
        return "no deadlock: A and B are this interpreter's own"
    if getattr(doer, "node", None) is not None:  # a Ray actor: maybe on another machine
        return "no deadlock: A and B are this actor's own"
    return _fitting(
        [
            "no deadlock: own A and B (to share: a multiprocessing.Lock)",
            "no deadlock: A and B are this process's own",
        ],
        room,
    )
