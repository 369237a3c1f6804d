"""The deadlock lesson, through the library: two workers, two locks, opposite orders.

Threads deadlock on every run, and the lesson locks' records show the cycle
while it lasts; the timeout ends it, with one worker giving up and the other
taking the lock let go of, and both answers true; ``deadlock ordered`` never
deadlocks; processes (and every kind with memory of its own) have locks of
their own. Nothing sleeps to synchronise: the tests wait for the records or
the answers, and the lesson's short timeout argument keeps them quick. The
console's drawing of the records (``.locks``) is tested at the end, on records
made by hand; the shell's, in ``tests/shell/test_locks.py``.
"""

from __future__ import annotations

import os
import re
import time

import pytest

import doer
from doer.console.render import NOTHING_HELD, locks_lines, plain
from doer.lessons import lesson_locks
from doer.lessons.deadlock import MEETING_S, parse_how
from doer.lessons.lesson_locks import Seen, Wait, cycles
from support.helpers import Kind, WorkerFactory

T = 30.0

#: The lesson's timeout in these tests: long enough for two threads to meet and be
#: seen deadlocked on a busy machine, short enough to wait for.
TIMEOUT = 1

#: Kinds whose workers share the console's memory, and so its lesson locks.
IN_PROCESS = ("thread", "asyncio")


def deadlocked(names: list[str]) -> bool:
    """Wait until the threads ``names`` deadlock (woken by each change of the records)."""
    pair = lesson_locks.threads()
    return pair.until(lambda: cycles(pair.holders, pair.waits) == [names], T)


async def deadlocked_on_this_loop(names: list[str]) -> bool:
    """Wait until the tasks ``names`` of this event loop deadlock."""
    pair = lesson_locks.this_loop()
    return await pair.until(lambda: cycles(pair.holders, pair.waits) == [names], T)


# --- threads deadlock, and a timeout ends it --------------------------------------


def test_two_threads_deadlock_with_a_cycle_the_records_show_until_the_timeout_ends_it(
    make_thread: WorkerFactory,
) -> None:
    first, second = make_thread(), make_thread()
    leader, other = sorted([first.name, second.name])
    began = time.monotonic()

    pendings = [first.tell(("deadlock", TIMEOUT)), second.tell(("deadlock", TIMEOUT))]

    assert deadlocked([leader, other]), "the two never deadlocked"
    [pair] = lesson_locks.seen()
    assert pair.holders == {"A": leader, "B": other}
    assert {name: wait.lock for name, wait in pair.waits.items()} == {leader: "B", other: "A"}
    answers = {
        worker.name: pending.result(T)
        for worker, pending in zip([first, second], pendings, strict=True)
    }
    assert time.monotonic() - began >= TIMEOUT  # they waited until the timeout, no less
    assert re.fullmatch(
        rf"gave up on B after 1(\.\d)? s: {other} holds it; let go of A", answers[leader]
    ), answers[leader]
    # The longest form that fits a line of 80 after the tag: a doer-N tag leaves less room.
    assert re.fullmatch(
        rf"got A after 1(\.\d)? s(, when {leader} let go: a timeout broke the cycle"
        rf"|: {leader} let go at its timeout|, once {leader} let go)",
        answers[other],
    ), answers[other]
    assert all(len(f"[{name} thread {os.getpid()}] {answers[name]}") <= 80 for name in answers)
    assert lesson_locks.seen() == []  # nothing held, nothing waited for


def test_the_deadlock_waits_for_no_luck_however_late_the_other_takes_its_first_lock(
    make_thread: WorkerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduler that runs the leader first, all the way: the other takes B only once
    the leader reaches for B, or after a while. The leader must not reach for B until
    the other holds it, else it would take A and B both, and nothing would deadlock."""
    first, second = make_thread(), make_thread()
    leader, other = sorted([first.name, second.name])
    pair = lesson_locks.threads()
    take = pair.take

    def late_to_take_b(name: str, lock: str, seconds: float, meeting: object) -> object:
        if name == other and lock == "B":  # its first lock, as late as can be
            pair.until(lambda: leader in pair.waits or pair.holders.get("B") == leader, 0.3)
        return take(name, lock, seconds, meeting)  # type: ignore[arg-type]

    monkeypatch.setattr(pair, "take", late_to_take_b)

    pendings = {worker.name: worker.tell(("deadlock", TIMEOUT)) for worker in (first, second)}

    answers = {name: pending.result(T) for name, pending in pendings.items()}
    assert answers[leader].startswith("gave up on B after 1"), answers
    assert answers[other].startswith("got A after 1"), answers


@pytest.mark.parametrize("attempt", range(3))  # the same two answers on every run
def test_the_one_whose_name_sorts_first_takes_a_first_and_gives_up_first(
    make_thread: WorkerFactory, attempt: int
) -> None:
    workers = [make_thread(), make_thread()]
    leader = min(worker.name for worker in workers)

    pendings = [worker.tell(("deadlock", 0.3)) for worker in reversed(workers)]

    answers = {
        worker.name: pending.result(T)
        for worker, pending in zip(reversed(workers), pendings, strict=True)
    }
    gave_up = [name for name, answer in answers.items() if answer.startswith("gave up on B")]
    got = [name for name, answer in answers.items() if answer.startswith("got A after")]
    assert (gave_up, len(got)) == ([leader], 1), answers


def test_deadlock_ordered_takes_a_then_b_in_both_and_never_deadlocks(
    make_thread: WorkerFactory,
) -> None:
    first, second = make_thread(), make_thread()
    leader, other = sorted([first.name, second.name])
    began = time.monotonic()

    answers = {
        worker.name: pending.result(T)
        for worker, pending in [
            (first, first.tell(("deadlock", "ordered", 5))),
            (second, second.tell(("deadlock", 5, "ordered"))),  # either order of the two
        ]
    }

    assert time.monotonic() - began < 5  # no timeout was needed
    assert re.fullmatch(
        rf"took A, then B; {other} waited for A: (one order( for all)?, )?no cycle", answers[leader]
    ), answers
    assert re.fullmatch(
        rf"took A once {leader} let go, then B: (one order( for all)?, )?no cycle", answers[other]
    ), answers
    assert lesson_locks.seen() == []


# --- one worker alone, and memory of its own ---------------------------------------


def test_deadlock_alone_says_nobody_came_or_that_its_locks_are_its_own(
    make_worker: WorkerFactory, kind: Kind
) -> None:
    worker = make_worker()
    began = time.monotonic()

    answer = worker.ask(("deadlock", 0.3), timeout=T)

    if kind.kind in IN_PROCESS:  # it waited for a second worker, a moment, and says what to type
        assert re.fullmatch(r"nobody else came within 0\.3 s: try @(t1,t2|a,a2) deadlock", answer)
        assert time.monotonic() - began >= 0.3
    elif kind.kind == "interpreter":
        assert answer == "no deadlock: A and B are this interpreter's own"
    else:
        assert answer.startswith("no deadlock: "), answer
        assert "multiprocessing.Lock" in answer or "this process's own" in answer
    assert lesson_locks.seen() == []


def test_two_processes_take_their_own_locks_at_once_and_nothing_deadlocks(
    make_process_worker: WorkerFactory,
) -> None:
    workers = [make_process_worker(), make_process_worker()]
    began = time.monotonic()

    answers = [pending.result(T) for pending in [worker.tell("deadlock") for worker in workers]]

    assert time.monotonic() - began < MEETING_S  # no partner waited for: the 2 s of a meeting
    for answer in answers:
        assert answer in (
            "no deadlock: own A and B (to share: a multiprocessing.Lock)",
            "no deadlock: A and B are this process's own",  # the short form, for a long tag
        )
    assert lesson_locks.seen() == []  # the console's own records: untouched


# --- tasks, on their event loop's own terms -----------------------------------------


async def test_two_tasks_deadlock_on_their_loop_s_locks_and_the_loop_runs_on() -> None:
    a, a2, a3 = (doer.start("asyncio", name=name) for name in ("a", "a2", "a3"))
    try:
        pendings = [a.tell(("deadlock", TIMEOUT)), a2.tell(("deadlock", TIMEOUT))]
        assert await deadlocked_on_this_loop(["a", "a2"]), "the two tasks never deadlocked"
        [pair] = lesson_locks.seen()
        assert pair.place == "tasks"
        assert await a3.tell("ping") == "pong"  # the loop is free while the two wait
        answers = [await pending for pending in pendings]
    finally:
        for worker in (a, a2, a3):
            await worker.stop_async()
    assert re.fullmatch(r"gave up on B after 1(\.\d)? s: a2 holds it; let go of A", answers[0])
    assert answers[1].startswith("got A after 1")
    assert answers[1].endswith(", when a let go: a timeout broke the cycle")
    assert lesson_locks.seen() == []


async def test_a_task_killed_in_a_deadlock_lets_go_and_the_other_goes_on_at_once() -> None:
    a, a2 = doer.start("asyncio", name="a"), doer.start("asyncio", name="a2")
    try:
        began = time.monotonic()
        pendings = [a.tell(("deadlock", T)), a2.tell(("deadlock", T))]
        assert await deadlocked_on_this_loop(["a", "a2"]), "the two tasks never deadlocked"
        a.kill()  # cancelled at its await: it lets go of A on its way out
        answer = await pendings[1]
        assert time.monotonic() - began < T / 2  # long before its own timeout
    finally:
        for worker in (a, a2):
            await worker.stop_async()
    assert answer.startswith("got A after ") and answer.endswith(", once a let go"), answer
    assert lesson_locks.seen() == []  # what the killed task held and waited for: let go


# --- what the lesson takes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "how"),
    [
        ((), (30.0, False)),
        ((5,), (5.0, False)),
        (("ordered",), (30.0, True)),
        ((0.5, "ordered"), (0.5, True)),
        (("ordered", 2), (2.0, True)),
    ],
)
def test_deadlock_takes_seconds_and_ordered_in_either_order(
    values: tuple[object, ...], how: tuple[float, bool]
) -> None:
    assert parse_how(*values, *[None] * (2 - len(values))) == how


@pytest.mark.parametrize("bad", [0, -1, True, "sideways", float("nan"), 3601])
def test_a_bad_argument_is_an_error_answer_with_the_usage(
    make_thread: WorkerFactory, bad: object
) -> None:
    with pytest.raises(doer.WorkerError, match=r"ValueError: deadlock \[S\] \[ordered\]"):
        make_thread().ask(("deadlock", bad), timeout=T)


# --- who gives up: decided under the guard, so both answers are true -------------------


def deadlocked_pair(first_until: float, second_until: float) -> lesson_locks.Pair:
    """Records of t1 holding A and waiting for B, t2 holding B and waiting for A, each
    until the given deadline, as the guard sees them when both deadlines have passed."""
    pair = lesson_locks.Pair("threads")
    pair.holders = {"A": "t1", "B": "t2"}
    pair.waits = {"t1": Wait("B", 0.0, first_until), "t2": Wait("A", 0.0, second_until)}
    return pair


def test_when_both_deadlines_have_passed_only_the_first_gives_up_the_other_waits_on() -> None:
    now = time.monotonic()
    pair = deadlocked_pair(now - 0.002, now - 0.001)  # t1's came first, by a hair

    # t2 is first to look: its time is up too, but t1's came first, so t2 waits on for it.
    more = pair._after_deadline("t2", "A", free=False)
    assert more is not None and lesson_locks.GRACE_S <= more <= lesson_locks.GRACE_S + 0.01
    # t1 looks: it gives up, lets go of A, and says who holds what it gave up on.
    assert pair._after_deadline("t1", "B", free=False) is None
    pair.locks = {"A": _Held(), "B": _Held()}
    gave_up = pair._gave_up("t1", "B", None)
    assert (gave_up.holder, gave_up.let_go) == ("t2", ("A",))
    assert pair.holders == {"B": "t2"} and pair.locks["A"].released  # type: ignore[attr-defined]
    # A is free: t2, waiting on, takes it; it did not give up, and says so.
    assert pair._took("t2", "A", None).got
    assert pair.holders == {"A": "t2", "B": "t2"} and pair.waits == {}


class _Held:
    """A lock that is held: what ``_gave_up`` lets go of."""

    def __init__(self) -> None:
        self.released = False

    def release(self) -> None:
        self.released = True


def test_a_waiter_past_its_deadline_waits_a_moment_for_a_lock_just_let_go_of() -> None:
    now = time.monotonic()
    pair = deadlocked_pair(now + 10, now - 0.001)
    del pair.holders["A"]  # t1 let go of A a moment before t2 looked

    assert pair._after_deadline("t2", "A", free=True) == lesson_locks.GRACE_S


def test_a_waiter_not_in_a_cycle_gives_up_at_its_deadline() -> None:
    pair = lesson_locks.Pair("threads")
    pair.holders = {"A": "t1"}
    pair.waits = {"t2": Wait("A", 0.0, time.monotonic() - 0.001)}  # t1 waits for nothing

    assert pair._after_deadline("t2", "A", free=False) is None


def test_a_cycle_is_found_from_any_of_its_members_and_reported_once() -> None:
    holders = {"A": "t1", "B": "t2"}
    waits = {"t1": Wait("B", 0.0, 5.0), "t2": Wait("A", 0.0, 4.0), "t3": Wait("A", 0.0, 1.0)}

    assert lesson_locks.cycle_of(holders, waits, "t1") == ["t1", "t2"]
    assert lesson_locks.cycle_of(holders, waits, "t3") is None  # it waits, outside the cycle
    assert cycles(holders, waits) == [["t2", "t1"]]  # from t2, whose deadline comes first


# --- the console's drawing: .locks ---------------------------------------------------


def drawn(seen: list[Seen], unseen: tuple[str, ...] | list[str] = ()) -> list[str]:
    return [plain(line) for line in locks_lines(seen, list(unseen))]


def test_locks_draws_holders_waiters_and_the_cycle_and_how_it_ends() -> None:
    seen = Seen(
        "threads",
        {"A": "t1", "B": "t2"},
        {"t1": Wait("B", 0.0, 27.5), "t2": Wait("A", 0.0, 27.6)},
        now=0.0,
    )

    assert drawn([seen], ["p1", "p2"]) == [
        "t1 holds A, waits for B (held by t2)",
        "t2 holds B, waits for A (held by t1)",
        "a cycle — deadlock: t1 gives up on B in 27.5 s (its timeout), letting go of A",
        "p1 and p2 have their own A and B, in memory the console cannot read",
    ]


def test_locks_with_nothing_held_says_so_in_one_line() -> None:
    assert drawn([]) == [NOTHING_HELD]
    assert drawn([], ["p1"])[1] == "p1 has its own A and B, in memory the console cannot read"


def test_locks_names_the_tasks_loop_and_fits_80_columns_with_long_names() -> None:
    long, longer = "a" * 16, "b" * 16
    tasks = Seen(
        "tasks", {"A": long, "B": longer}, {long: Wait("B", 0, 3), longer: Wait("A", 0, 4)}, 0.0
    )
    unseen = [f"process-{number:02}" for number in range(9)]

    lines = drawn([tasks], unseen)

    assert lines[0] == "tasks of one event loop (asyncio.Lock A and B; the loop runs on):"
    assert all(len(line) < 80 for line in lines), lines
    assert any(line.startswith("  ") for line in lines)  # a long line wrapped, indented
    assert "and 3 more have their own A and B" in " ".join(line.strip() for line in lines)
