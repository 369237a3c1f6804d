"""The lessons, through the library, on every kind they apply to.

Timing-based lessons are checked on their shape (threads wait for the GIL;
threads racing lose updates, a lock loses none), never on absolute times, and
nothing here sleeps to synchronise. The console's side of the lessons (``.peek``,
``.timeline``, ``.trace``) is in ``test_render.py`` for the words and in the
pty tests of ``test_e2e.py``; plain mode runs every lesson in ``test_docs.py``
(``docs/classroom.doer``).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import doer
from doer import Died, Failure, Reply
from doer.lessons import handlers as lessons
from support.helpers import Kind, WorkerFactory, pid_is_gone, wait_until
from support.pty_helpers import run_doer

T = 30.0

#: Kinds whose worker runs in the test's own process, sharing its memory.
IN_PROCESS = ("thread", "asyncio")


@pytest.fixture
def mark() -> Iterator[None]:
    """The console-side globals of the lessons, put back after the test."""
    saved = lessons.MARK, lessons.COUNTER
    yield
    lessons.MARK, lessons.COUNTER = saved


# --- memory -----------------------------------------------------------------------


def test_incr_adds_to_one_counter_per_process(
    make_worker: WorkerFactory, kind: Kind, mark: None
) -> None:
    first, second = make_worker(), make_worker()
    before = lessons.COUNTER

    answers = [first.ask("incr", timeout=T), second.ask("incr", timeout=T)]

    counts = [int(re.match(r"counter: (\d+) ", answer)[1]) for answer in answers]  # type: ignore[index]
    if kind.kind in IN_PROCESS:  # one counter: the test's own, which both add to
        assert counts == [before + 1, before + 2], answers
        assert before + 2 == lessons.COUNTER
        assert answers[0].endswith("(the console's, one for all its threads)")
    else:  # each its own copy; the test's is untouched
        assert counts[0] == counts[1], answers
        assert before == lessons.COUNTER
        owner = "interpreter" if kind.kind == "interpreter" else "process"
        assert answers[0].endswith(f"(this {owner}'s own)")


def test_peek_reads_a_thread_s_live_state_and_a_process_s_copy(worker: doer.Worker) -> None:
    worker.ask(("set-state", "hola!"), timeout=T)

    live, state = worker.peek()

    if worker.kind in IN_PROCESS:
        assert (live, state) == (True, "hola!")
    else:  # the console's memory holds what it was started with
        assert (live, state) == (False, 42)
    assert worker.state == "hola!", "what the worker last reported, either way"


def test_inherited_is_live_for_a_thread_a_copy_for_fork_and_nothing_for_a_fresh_interpreter(
    make_worker: WorkerFactory, kind: Kind, mark: None
) -> None:
    lessons.MARK = 5
    worker = make_worker()
    lessons.MARK = 6  # after the start: only a worker that shares memory sees it

    seen = worker.ask("inherited", timeout=T)

    if kind.kind in IN_PROCESS:
        assert seen == "mark: 6 (live: the console's own memory)"
    elif kind.kind == "interpreter":  # its modules are its own, imported afresh
        assert seen == "not set (a fresh interpreter: its modules are its own)"
    elif kind.start_method == "fork":
        assert seen == "mark: 5 (a copy, made when the console forked it)"
    elif kind.start_method == "forkserver":  # a fork of the server, which began fresh
        assert seen == "not set (forked by the forkserver, which began fresh)"
    else:
        assert seen == f"not set ({kind.start_method}: a fresh interpreter, nothing copied)"


# --- a race -----------------------------------------------------------------------


def race(workers: list[doer.Worker], *message: object) -> list[str]:
    """Send the same race to every worker at once; their answers, in the order sent."""
    pendings = [worker.tell(("race", *message)) for worker in workers]
    return [pending.result(T) for pending in pendings]


def summary(answers: list[str]) -> tuple[int, int, str]:
    """(lost, expected, why) from the answer of the last racer to end."""
    [last] = [answer for answer in answers if " lost" in answer]
    found = re.fullmatch(r"([\d,]+) of ([\d,]+) lost: (.*)", last)
    assert found, last
    return int(found[1].replace(",", "")), int(found[2].replace(",", "")), found[3]


@pytest.mark.parametrize("attempt", range(2))  # the shape must hold every time, not once in a while
def test_two_threads_racing_lose_updates_and_a_lock_loses_none(
    make_thread: WorkerFactory, attempt: int
) -> None:
    workers = [make_thread(), make_thread()]

    lost, expected, why = summary(race(workers, 100_000))
    assert expected == 200_000
    assert lost > 0 and why == "read, forced switch, write"

    lost, expected, why = summary(race(workers, 100_000, "lock"))
    assert (lost, expected, why) == (0, 200_000, "the lock took turns")


def test_two_processes_racing_lose_nothing_as_they_share_nothing(
    make_process_worker: WorkerFactory,
) -> None:
    answers = race([make_process_worker(), make_process_worker()], 100_000)

    assert answers == ["0 of 100,000 lost: its counter is its own"] * 2


async def test_two_tasks_on_one_loop_take_turns_and_lose_nothing() -> None:
    """On one event loop a task runs until it awaits: a race never overlaps another."""
    first, second = doer.start("asyncio", name="a1"), doer.start("asyncio", name="a2")
    try:
        answers = [await first.tell(("race", 20_000)), await second.tell(("race", 20_000))]
    finally:
        await first.stop_async()
        await second.stop_async()
    assert answers == ["0 of 20,000 lost: no other racer overlapped"] * 2


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (("race", 0), "race takes a whole number from 1"),
        (("race", "many"), "race takes a whole number from 1"),
        (("race", 10, "loudly"), r"race N \[lock\|natural\]"),
        (("work", -1), "work takes a whole number from 1"),
        (("work", True), "work takes a whole number from 1"),
    ],
)
def test_a_bad_count_is_an_error_answer(
    make_thread: WorkerFactory, message: tuple[object, ...], error: str
) -> None:
    with pytest.raises(doer.WorkerError, match=f"ValueError: {error}"):
        make_thread().ask(message, timeout=T)


# --- the GIL and the event loop ---------------------------------------------------
# Which wait a thread's work answer names (a CPU, the GIL) is in test_lessons_truth.py,
# with the workers pinned to one CPU and to two.

WORK = 2_000_000  # about a fifth of a second here: enough to overlap, quick to run


def test_two_processes_working_run_side_by_side_and_never_wait_for_a_gil(
    make_process_worker: WorkerFactory,
) -> None:
    """Each process has its own interpreter: its answer never blames the GIL.

    Whether the two finish in half the time of two threads depends on two
    cores being free, which a test suite running beside it cannot promise:
    ``make bench`` measures that (the GIL row), next to the threads.
    """
    workers = [make_process_worker(), make_process_worker()]
    pendings = [worker.tell(("work", WORK), timed=True) for worker in workers]
    records = [pending.wait(T) for pending in pendings]

    assert all(isinstance(record, Reply) for record in records), records
    spans = [record.times[:2] for record in records if isinstance(record, Reply)]
    assert max(start for start, _ in spans) < min(end for _, end in spans), "side by side"
    for record in records:
        assert isinstance(record, Reply) and "GIL" not in record.value, record


async def test_work_on_an_asyncio_worker_blocks_its_loop_and_says_so() -> None:
    worker = doer.start("asyncio", name="blocker")  # a task on this very loop
    try:
        started = time.monotonic()
        pending = worker.tell(("work", WORK))
        loop_was_free = time.monotonic() - started  # tell() returned at once
        text = await pending
    finally:
        await worker.stop_async()
    found = re.fullmatch(r"[\d.]+ s CPU: its event loop was blocked ([\d.]+) s", text)
    assert found, text
    wall = float(found[1])
    assert loop_was_free < wall


# --- what work measures, computed from given clocks ------------------------------


def test_a_cpu_wait_the_kernel_counts_past_the_time_off_cpu_is_capped_at_that_time() -> None:
    """The kernel's run-queue count and the two clocks are read at slightly
    different moments, so the count can exceed wall minus CPU by a little. The
    thread cannot have waited for a CPU longer than it was off one: the wait
    said is the time off CPU, and no (negative) GIL wait is made of the rest."""
    spent = lessons.Spent(wall=1.0, cpu=0.5, queued=0.52)

    text = lessons.work_text(spent, 1000, own_memory=False, event_loop=False)

    assert text == "1.00 s wall, 0.50 s CPU: 0.50 s waiting for a CPU"


def test_the_samples_of_a_long_work_merge_slots_in_pairs_and_still_span_the_whole_run() -> None:
    """Past MAX_SLOTS slots, pairs are merged so the reply stays small: each merged
    slot lasts twice as long, or ``.timeline`` would draw the run at half its length.
    Given 1.5 times as many slots as travel (a 15 s run), pairs make 750 of 20 ms."""
    slots = lessons.MAX_SLOTS * 3 // 2
    done = [10] * slots  # ten steps in each 10 ms slot
    cpu = 12.0

    began, slot, *running = lessons.running_samples(100.0, done, 10 * slots, cpu)

    assert began == 100.0
    assert len(running) == slots // 2 <= lessons.MAX_SLOTS
    assert slot == 2 * lessons.SLOT_S
    assert len(running) * slot == pytest.approx(slots * lessons.SLOT_S), "as long as it ran"
    assert sum(running) == pytest.approx(cpu), "and it ran as long as its CPU time"


# --- timed requests ----------------------------------------------------------------


def test_a_timed_reply_says_when_its_handler_ran_on_the_machine_wide_clock(
    worker: doer.Worker,
) -> None:
    before = time.monotonic()
    record = worker.tell(("sleep", 0.05), timed=True).wait(T)
    after = time.monotonic()

    assert isinstance(record, Reply)
    started, ended = record.times
    assert before <= started < ended <= after, (before, record.times, after)
    assert ended - started >= 0.05
    assert worker.tell("ping").wait(T) == Reply(2, "pong"), "untimed: no times"


# --- crashes ----------------------------------------------------------------------


def test_crash_is_an_error_answer_and_the_worker_lives_on(worker: doer.Worker) -> None:
    record = worker.tell("crash").wait(T)

    assert record == Failure(1, "RuntimeError: raised on purpose; the worker lives on")
    assert worker.ask("ping", timeout=T) == "pong"


def test_die_ends_the_worker_abruptly_and_the_console_says_how(
    make_worker: WorkerFactory, kind: Kind, capfd: pytest.CaptureFixture[str]
) -> None:
    worker, bystander = make_worker(), make_worker()
    dying = worker.tell("die")

    assert dying.wait(T) == Failure(1, "request 1 (die) unanswered: the worker died")
    if kind.kind == "process":
        assert worker.ended == Died("exit code 3")
        wait_until(lambda: pid_is_gone(worker.pid), T, "the process to exit")
    elif kind.kind == "thread":
        assert worker.ended == Died("uncaught Died in its thread: raised by die")
    elif kind.kind == "interpreter":  # its loop ends; the process is the console's
        assert worker.ended == Died("uncaught Died in its interpreter: raised by die")
    else:
        assert worker.ended == Died("its task raised Died: raised by die")
    assert bystander.ask("ping", timeout=T) == "pong", "every other worker carries on"
    assert "Traceback" not in capfd.readouterr().err, "nothing is printed over the prompt"


def test_segfault_kills_a_process_and_is_refused_where_it_would_kill_the_console(
    make_worker: WorkerFactory, kind: Kind
) -> None:
    worker = make_worker()
    record = worker.tell("segfault").wait(T)

    if kind.kind == "process":
        assert isinstance(record, Failure)
        assert worker.ended == Died("killed by SIGSEGV")
    else:
        refused = lessons.SEGFAULT_REFUSED
        if kind.kind == "interpreter":  # its memory is its own, not its process
            refused = lessons.SEGFAULT_REFUSED_INTERPRETER
        assert record == Reply(1, refused)
        assert worker.ask("ping", timeout=T) == "pong"


def test_a_lock_can_be_handed_over_by_a_thread_but_not_pickled_by_a_process(
    worker: doer.Worker,
) -> None:
    record = worker.tell("get-lock").wait(T)

    if worker.kind in IN_PROCESS:
        assert isinstance(record, Reply) and type(record.value).__name__ == "lock"
    else:
        assert record == Failure(1, "answer not sent: cannot pickle '_thread.lock' object")
        assert worker.ask("ping", timeout=T) == "pong"


# --- plain mode: the console's side of the lessons ---------------------------------


def test_the_console_side_of_the_lessons_in_plain_mode(tmp_path: Path) -> None:
    """.peek, .mark and inherited, .trace and .timeline print what they mean, in a
    transcript (``docs/classroom.doer`` runs them all too, checked against the plan)."""
    lines = b"".join(
        [
            b".mark 5\n",
            b".spawn p process --start-method fork\n",
            b".mark 6\n",
            b"@w1,p set-state 7\n",
            b".peek\n.peek p\n",
            b"@w1,p inherited\n",
            b".trace on\n@p ping\n.trace off\n",
            b"@w1,p work 1000000\n.timeline\n",
        ]
    )
    done = run_doer([], tmp_path, stdin=lines)
    out = done.stdout.decode()
    p = int(re.findall(r"\[p process (\d+)\] on start", out)[0])
    me = int(re.findall(r"creating doer from process (\d+)", out)[0])

    assert "[console] w1's state: 7 (live: its memory is the console's)\n" in out
    assert "[console] p's state: None (the console's copy; p said 7)\n" in out
    assert f"[w1 thread {me}] mark: 6 (live: the console's own memory)\n" in out
    assert f"[p process {p}] mark: 5 (a copy, made when the console forked it)\n" in out
    piped = rf"\[p process {p}\] Pipe: \d+ B pickled out, \d+ B back; [\d.,]+ (µs|ms|s)\n"
    assert re.search(piped, out)
    timeline = out.split("> .timeline\n")[1].splitlines()
    assert timeline[0].startswith("timeline of @w1,p work 1000000 (one character: ")
    assert [row.split()[:2] for row in timeline[1:3]] == [["w1", "thread"], ["p", "process"]]
    assert all(set(row) & set("█▓▒░") for row in timeline[1:3]), timeline
    assert timeline[4] == "█ running all the time, ▓▒░ part of it, · not running", timeline
    assert done.returncode == 0, out + done.stderr.decode()


def test_a_forked_worker_s_segfault_writes_nothing_where_the_console_s_faulthandler_writes(
    tmp_path: Path,
) -> None:
    """A console running with faulthandler (pytest, ``-X faulthandler``) would pass it
    to a forked worker, whose crash would then write a traceback over the prompt."""
    import faulthandler

    with open(tmp_path / "faults", "w+") as faults:
        faulthandler.enable(file=faults)
        try:
            worker = doer.start("process", start_method="fork")
            worker.tell("segfault").wait(T)
            assert worker.stop(T) == Died("killed by SIGSEGV")
        finally:
            faulthandler.enable(file=sys.__stderr__)  # as pytest had it, on stderr
        faults.seek(0)
        assert faults.read() == ""


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.614, "0.61"),
        (9.994, "9.99"),
        (9.996, "10.0"),
        (12.25, "12.2"),
        (99.96, "100"),
        (123.4, "123"),
    ],
)
def test_work_s_seconds_keep_three_figures_once_rounded(seconds: float, shown: str) -> None:
    from doer.lessons.measure import _seconds

    assert _seconds(seconds) == shown
