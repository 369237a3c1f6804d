"""The lessons name the true cause, on any machine, and every answer fits 80 columns.

``work`` tells a wait for a CPU (the kernel's run queue) from a wait for the
GIL; the tests pin the workers to one CPU and to two (``os.sched_setaffinity``,
which new threads and processes inherit) and check what only the true cause
can produce, so they hold on a busy machine too. ``.timeline`` shades each
bar by how much of the time the worker was running: its shape is checked on
synthetic samples and on a real run. Then the wordings: the forced and the
natural race, ``.peek`` as the console's own line, ``incr`` by the memory a
kind declares, the segfault of a process's second thread, and forkserver.
Widths are checked with the longest tag the lessons plan for (a name like
``doer-12`` and a 7-digit pid), the machine's pids being shorter.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import pytest

import doer
from doer import Died, Failure, Reply
from doer.console.render import peek_lines, plain, running_shares, timeline_lines
from doer.console.session import Console, Settings
from doer.console.syntax import interpret
from doer.lessons import handlers as lessons
from doer.lessons import measure
from doer.lessons.handlers import Spent, race_text, work_text
from doer.worker import builtin_handlers as worker_module
from doer.worker.doer import Doer
from support.helpers import (
    Kind,
    WorkerFactory,
    cpu_seconds,
    pid_is_gone,
    stat_fields,
    wait_until,
)
from support.pty_helpers import DOER, console_env
from support.shell_helpers import driven_shell

T = 30.0

#: Enough work for each wait to pass the thresholds (MIN_WAIT_S) with room to
#: spare, little enough to keep the tests quick: about 0.13 s of CPU here.
WORK = 1_500_000

#: Whether the kernel says how long a thread waited for a CPU.
HAS_SCHEDSTAT = os.path.exists(lessons.SCHEDSTAT.format(thread=threading.get_native_id()))


def longest_tag(kind: str) -> str:
    """The longest tag the lessons plan for: a worker named like ``doer-12``, a 7-digit pid."""
    return f"[doer-12 {kind} 1234567] "


def fits(kind: str, answer: str) -> bool:
    return len(longest_tag(kind) + answer) <= 80


@pytest.fixture
def make_forked() -> Iterator[WorkerFactory]:
    """Process workers started by fork: they inherit the test's CPU affinity."""
    factory = WorkerFactory(Kind("process", "fork"))
    yield factory
    factory.stop_all()


@pytest.fixture
def counter() -> Iterator[None]:
    """The console-side globals of the lessons, put back after the test."""
    saved = lessons.MARK, lessons.COUNTER
    yield
    lessons.MARK, lessons.COUNTER = saved


@contextmanager
def pinned(count: int) -> Iterator[set[int]]:
    """Run this thread, and the threads and processes it starts meanwhile, on
    ``count`` CPUs; the affinity is put back after (workers started inside keep it)."""
    saved = os.sched_getaffinity(0)
    if len(saved) < count:
        pytest.skip(f"needs {count} usable CPUs, has {len(saved)}")
    cpus = set(sorted(saved)[:count])
    os.sched_setaffinity(0, cpus)
    try:
        yield cpus
    finally:
        os.sched_setaffinity(0, saved)


def work_together(workers: list[doer.Worker], steps: int = WORK) -> list[Reply]:
    """Give every worker ``work`` at once, timed; their replies, in the order sent."""
    pendings = [worker.tell(("work", steps), timed=True) for worker in workers]
    records = [pending.wait(T) for pending in pendings]
    assert all(isinstance(record, Reply) for record in records), records
    return records  # type: ignore[return-value]


class Answer(NamedTuple):
    """What a ``work`` answer says, in seconds (0 for a wait it does not mention)."""

    cpu: float
    for_a_cpu: float
    for_the_gil: float


def parsed(answer: str) -> Answer:
    found = re.fullmatch(r"[\d.]+ s wall, ([\d.]+) s CPU(.*)", answer)
    assert found, answer
    cpu, rest = float(found[1]), found[2]
    both = re.fullmatch(r": waited ([\d.]+) s CPU, ([\d.]+) s GIL", rest)
    if both:
        return Answer(cpu, float(both[1]), float(both[2]))
    one = re.fullmatch(r": ([\d.]+) s waiting for (a CPU|the GIL)", rest)
    if one:
        seconds = float(one[1])
        return Answer(cpu, seconds, 0.0) if one[2] == "a CPU" else Answer(cpu, 0.0, seconds)
    assert re.fullmatch(r" for [\d,]+ steps", rest), answer
    return Answer(cpu, 0.0, 0.0)


# --- work: a CPU or the GIL --------------------------------------------------------


@pytest.mark.skipif(not HAS_SCHEDSTAT, reason="the kernel does not count run-queue waits here")
def test_a_thread_sharing_one_cpu_with_a_process_waited_for_the_cpu_never_the_gil(
    make_thread: WorkerFactory, make_forked: WorkerFactory
) -> None:
    """The reversed GIL run explains itself: on one CPU, a thread and a process take
    turns on the CPU, and each says it waited for one."""
    with pinned(1) as cpus:
        thread, process = make_thread(), make_forked()
        os.sched_setaffinity(process.pid, cpus)  # forked from here: it has them already
        answers = [reply.value for reply in work_together([thread, process])]

    assert "GIL" not in answers[0], answers
    assert parsed(answers[0]).for_a_cpu > 0, answers
    assert answers[1].endswith(" s waiting for a CPU"), answers


@pytest.mark.skipif(not HAS_SCHEDSTAT, reason="the kernel does not count run-queue waits here")
def test_two_threads_on_two_cpus_waited_for_the_gil_and_took_turns(
    make_thread: WorkerFactory,
) -> None:
    """Each thread waited for the GIL while the other ran, however busy the machine:
    the kernel counts the time it was blocked, not waiting on a run queue, which
    only the other thread holding the GIL explains (a wait for a CPU comes on
    top). And their samples never have both running at once: one runs Python
    at a time."""
    with pinned(2):
        first, second = make_thread(), make_thread()
        replies = work_together([first, second], 2 * WORK)

    for reply in replies:  # each blocked, off any run queue, while the other held the GIL
        assert parsed(reply.value).for_the_gil > 0, reply.value
    step = 0.05
    start = min(reply.times[0] for reply in replies)
    running = [whole_characters(reply, start, step) for reply in replies]
    together = sorted(set(running[0]) & set(running[1]))
    assert together, "the two ran side by side"
    # One runs Python at a time: their shares add up to one, give or take what a
    # share is estimated from (steps counted where a look at the clock ends them,
    # at the run's average CPU time a step): two processes on two CPUs make two.
    sums = [running[0][cell] + running[1][cell] for cell in together]
    assert sum(sums) / len(sums) <= 1.1 and max(sums) <= 1.5, running
    rows = list(zip((first, second), replies, strict=True))
    drawn = [plain(line) for line in timeline_lines("@t1,t2 work", rows)]
    assert drawn[-1] == "█ running all the time, ▓▒░ part of it, · not running"


def whole_characters(reply: Reply, start: float, step: float) -> dict[int, float]:
    """The share of each character the handler ran, by the character's place on
    the axis, for the characters it was under way all through."""
    first = int((reply.times[0] - start) / step)
    shares = running_shares(reply.times, start, step)
    return {
        first + number: share
        for number, share in enumerate(shares)
        if reply.times[0] <= start + (first + number) * step
        and start + (first + number + 1) * step <= reply.times[1]
    }


#: The CPU time in an answer is rounded to hundredths: half of one, either way.
SAID_TO = 0.005
#: Calls of work until the burner has run during one (a busy machine may starve it).
ATTEMPTS = 20


def test_work_counts_the_cpu_time_of_its_own_thread_not_of_its_process() -> None:
    """The CPU time ``work`` answers is its thread's own: another thread of the same
    process burning CPU meanwhile adds nothing to it, though the process's CPU time
    grows by all of it. (With the process's CPU time, two threads taking turns at
    the GIL each answer the time of both, and never seem to wait for it.)

    ``work`` runs here, in the test's own thread, so that the test can read the
    very clock it should read before and after: what it answers must lie within
    what this thread used around the call, on a busy machine too (a clock of CPU
    time does not count the waits for a CPU). The burner hashes, which releases
    the GIL: it takes a CPU, or a share of one, without holding the work up.
    """
    burning, stop = threading.Event(), threading.Event()

    def burn() -> None:
        chunk = bytes(16 << 20)  # some 10-40 ms of hashing with the GIL released
        while not stop.is_set():
            hashlib.sha256(chunk)
            burning.set()

    burner = threading.Thread(target=burn, name="burner", daemon=True)
    burner.start()
    try:
        assert burning.wait(T), "the burner began"
        # On a busy machine the burner may get no CPU during one call: the last
        # check tells the two clocks apart only once it has, so call again until
        # it did. The answer is checked on every call.
        for _ in range(ATTEMPTS):
            process_before, thread_before = time.process_time(), time.thread_time()
            answer = lessons.work(SimpleNamespace(own_memory=False, kind="thread"), WORK)
            thread_used = time.thread_time() - thread_before
            process_used = time.process_time() - process_before
            said = parsed(answer).cpu
            # Within this thread's CPU time around the call, less only the call's own
            # bookkeeping (reading the clocks, writing the answer): well under 5 ms.
            assert thread_used - 0.005 - SAID_TO <= said <= thread_used + SAID_TO, (
                f"{answer!r}: this thread used {thread_used:.3f} s, "
                f"the process {process_used:.3f} s"
            )
            if process_used - thread_used > 0.02:
                break
    finally:
        stop.set()
        burner.join(T)

    # The burner ran meanwhile: the process used far more than this thread.
    assert process_used - thread_used > 0.02, (process_used, thread_used)


@pytest.mark.skipif(not HAS_SCHEDSTAT, reason="the kernel does not count run-queue waits here")
def test_a_thread_sharing_one_cpu_with_two_busy_processes_says_it_waited_for_a_cpu_only() -> None:
    """The wait for a CPU is the kernel's count of the time the thread sat on a run
    queue, not of the time it ran: on one CPU beside two processes that never stop,
    a thread runs about a third of the time and waits on the queue the other two
    thirds, twice as long as it ran, and hardly for the GIL (no other thread of
    this process works meanwhile). Counted from the time it ran, half the wait
    would be put down to the GIL; from another thread's count, all of it.
    """
    hog = [sys.executable, "-S", "-c", "while True: pass"]
    with pinned(1):  # the hogs inherit this thread's single CPU
        hogs = [subprocess.Popen(hog) for _ in range(2)]
        try:
            wait_until(  # past the interpreter's start: in the loop, burning
                lambda: all(cpu_seconds(each.pid) >= 0.05 for each in hogs), T, "hogs burn"
            )
            # In a thread of its own, as a worker's: the process's first thread
            # (this one, blocked in join meanwhile) does not wait on a run queue.
            answers: list[str] = []
            doer_ = SimpleNamespace(own_memory=False, kind="thread")
            runner = threading.Thread(target=lambda: answers.append(lessons.work(doer_, WORK)))
            runner.start()
            runner.join(T)
        finally:
            for each in hogs:
                each.kill()
                each.wait()

    [answer] = answers
    said = parsed(answer)
    # A fair share is a third: waited twice as long as it ran. A busier machine
    # only lengthens the wait; the count of the time it ran would be 1x.
    assert said.for_a_cpu >= 1.4 * said.cpu, answer
    # Under pytest-xdist this process has threads of its own (execnet's), which a
    # busy machine can wake meanwhile: a few hundredths for the GIL may be true.
    # Put down to the GIL, the wait for a CPU would be half the waiting or more.
    assert said.for_the_gil <= 0.1 * said.for_a_cpu, answer


def test_where_the_kernel_cannot_tell_a_thread_says_it_waited_for_a_cpu_or_the_gil(
    make_thread: WorkerFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(measure, "SCHEDSTAT", str(tmp_path / "no-such-file-{thread}"))

    answers = [reply.value for reply in work_together([make_thread(), make_thread()])]

    assert any(answer.endswith(" s waiting (CPU or GIL)") for answer in answers), answers
    assert not any(re.search(r"for (a CPU|the GIL)|waited", answer) for answer in answers)


@pytest.mark.parametrize(
    ("spent", "own_memory", "said"),
    [
        (Spent(2.18, 0.61, 0.80), False, "2.18 s wall, 0.61 s CPU: waited 0.80 s CPU, 0.77 s GIL"),
        (Spent(2.18, 0.61, 1.55), False, "2.18 s wall, 0.61 s CPU: 1.55 s waiting for a CPU"),
        (Spent(2.18, 0.61, 0.01), False, "2.18 s wall, 0.61 s CPU: 1.56 s waiting for the GIL"),
        (Spent(2.18, 0.61, None), False, "2.18 s wall, 0.61 s CPU: 1.57 s waiting (CPU or GIL)"),
        # A crowded machine: most of the wait was for a CPU; the GIL's is a
        # tenth of the work, small beside the wall time, and still said.
        (Spent(1.22, 0.15, 1.04), False, "1.22 s wall, 0.15 s CPU: waited 1.04 s CPU, 0.03 s GIL"),
        (Spent(2.18, 0.61, None), True, "2.18 s wall, 0.61 s CPU: 1.57 s waiting for a CPU"),
        (Spent(2.18, 0.61, 0.0), True, "2.18 s wall, 0.61 s CPU: 1.57 s waiting for a CPU"),
        (Spent(0.67, 0.66, 0.01), False, "0.67 s wall, 0.66 s CPU for 9,000,000 steps"),
        (Spent(99.9, 50.2, 49.7), True, "99.9 s wall, 50.2 s CPU: 49.7 s waiting for a CPU"),
    ],
)
def test_work_says_each_wait_only_when_it_is_there_and_fits_80_columns(
    spent: Spent, own_memory: bool, said: str
) -> None:
    answer = work_text(spent, 9_000_000, own_memory=own_memory, event_loop=False)

    assert answer == said
    assert fits("process" if own_memory else "thread", answer)


def test_a_task_says_its_loop_was_blocked_in_80_columns() -> None:
    answer = work_text(Spent(12.34, 10.5, None), 1, own_memory=False, event_loop=True)

    assert answer == "10.5 s CPU: its event loop was blocked 12.3 s"
    assert fits("asyncio", answer)


def test_more_processes_asked_to_work_than_cpus_get_a_note_from_the_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    console = Console(Settings())
    message = interpret("@t1,t2,p1,p2 work")
    # Only the pids matter: the console's threads (and tasks) are one process.
    t1, t2, p1, p2 = (SimpleNamespace(pid=pid) for pid in (100, 100, 201, 202))
    sent: Any = [(worker, None) for worker in (t1, t2, p1, p2)]

    [note] = [plain(line) for line in console.crowded_note(message, sent)]

    assert note == "note: 3 processes to work on 2 CPUs: some wait for a CPU, not the GIL"
    assert len(note) <= 80
    assert console.crowded_note(message, sent[:3]) == [], "two processes fit on two CPUs"
    assert console.crowded_note(interpret("@t1,t2,p1,p2 ping"), sent) == [], "only work"


CROWDED = "note: 2 processes to work on 1 CPU: some wait for a CPU, not the GIL"


def test_plain_mode_prints_the_note_before_the_answers_on_one_cpu(tmp_path: Path) -> None:
    """Both front ends print it: here plain mode, its console pinned to one CPU."""
    lines = b".spawn p1 process\n@w1,p1 work 20000\n@w1,p1 ping\n"
    done = subprocess.run(
        [DOER],
        input=lines,
        capture_output=True,
        env=console_env(tmp_path),
        timeout=30,
        check=False,
        preexec_fn=lambda: os.sched_setaffinity(0, {0}),
    )
    out = done.stdout.decode()
    assert f"> @w1,p1 work 20000\n{CROWDED}\n" in out, out
    assert out.count("note: ") == 1, "only for work"


async def test_the_shell_prints_the_note_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    async with driven_shell("thread") as d:
        d.type(".spawn p1 process\r")
        await d.wait_for_text("[p1 process ")
        d.type("@w1,p1 work 20000\r")
        await d.wait_for_text(CROWDED)


def test_a_timed_work_reply_carries_its_samples_and_a_later_reply_none(
    make_thread: WorkerFactory,
) -> None:
    """The samples ``work`` leaves on its Doer go with its own timed reply only."""
    worker = make_thread()
    worker.tell(("work", 200_000)).wait(T)  # untimed: its samples stay behind, stale

    ping = worker.tell("ping", timed=True).wait(T)
    work = worker.tell(("work", 200_000), timed=True).wait(T)

    assert isinstance(ping, Reply) and len(ping.times) == 2, ping
    assert isinstance(work, Reply) and len(work.times) > 4, work
    started, ended, began, slot, *running = work.times
    assert started <= began < ended and slot == lessons.SLOT_S
    assert 0 < sum(running) <= ended - started


# --- the timeline's shading ---------------------------------------------------------


class Shown(NamedTuple):
    name: str
    kind: str
    pid: int


def sampled(start: float, end: float, running: list[float], slot: float = 0.01) -> Reply:
    """A timed reply whose handler ran ``running[i]`` seconds in slot ``i``."""
    return Reply(1, "done", (), (start, end, start, slot, *running))


def test_threads_taking_turns_shade_half_and_processes_side_by_side_shade_full() -> None:
    """Each character is 50 ms: threads that alternate every 5 ms each ran half of it."""
    turns = [0.005] * 100  # half of every 10 ms slot, for 1 s
    alternating = [
        (Shown("t1", "thread", 1), sampled(10.0, 11.0, turns)),
        (Shown("t2", "thread", 1), sampled(10.0, 11.0, turns)),
    ]
    overlapping = [
        (Shown("p1", "process", 2), sampled(20.0, 21.0, [0.01] * 100)),
        (Shown("p2", "process", 3), sampled(20.0, 21.0, [0.01] * 100)),
    ]

    halves = [plain(line) for line in timeline_lines("@t1,t2 work", alternating)]
    fulls = [plain(line) for line in timeline_lines("@p1,p2 work", overlapping)]
    plain_text = [plain(line) for line in timeline_lines("@t1,t2 work", alternating, blocks=False)]

    assert halves[1] == "t1 thread " + "▒" * 20 + "  1.00 s"
    assert halves[2] == "t2 thread " + "▒" * 20 + "  1.00 s"
    assert fulls[1] == "p1 process " + "█" * 20 + "  1.00 s"
    assert halves[-1] == fulls[-1] == "█ running all the time, ▓▒░ part of it, · not running"
    assert plain_text[1] == "t1 thread " + "+" * 20 + "  1.00 s"
    assert plain_text[-1] == "# running all the time, =+- part of it, . not running"
    assert all(len(line) <= 80 for line in halves + fulls + plain_text)


def test_a_sampled_bar_is_dark_where_the_worker_ran_and_dotted_where_it_waited() -> None:
    """Ran the first 0.25 s, waited the next 0.25 s, ran the last: three stretches."""
    running = [0.01] * 25 + [0.0] * 25 + [0.01] * 25
    rows = [(Shown("w", "thread", 1), sampled(5.0, 5.75, running))]
    [_, row, *_] = [plain(line) for line in timeline_lines("work", rows)]

    assert row == "w thread " + "█" * 5 + "·" * 5 + "█" * 5 + "  750 ms"


def test_a_sampled_bar_that_ran_all_the_time_is_as_dark_at_its_ends() -> None:
    """A bar that starts and ends mid-character: those characters are shaded by the
    part of them the handler was under way, not by the whole character."""
    rows = [
        (Shown("t1", "thread", 1), sampled(10.0, 11.5, [0.01] * 150)),
        (Shown("t2", "thread", 1), sampled(10.025, 11.475, [0.01] * 145)),
    ]

    lines = [plain(line) for line in timeline_lines("@t1,t2 work", rows)]

    assert lines[0].endswith("(one character: 50 ms)")
    assert lines[2] == "t2 thread " + "█" * 30 + "  1.45 s"


def test_a_timeline_without_samples_draws_solid_bars_and_says_they_are_not_all_running() -> None:
    rows = [(Shown("t1", "thread", 1), Reply(1, "slept 1 s", (), (1.0, 2.0)))]

    lines = [plain(line) for line in timeline_lines("sleep 1", rows)]

    assert lines[1] == "t1 thread " + "█" * 20 + "  1.00 s"
    assert lines[-1] == "█ busy with the request, running or not (work shows which)"


# --- the race: forced, and natural ---------------------------------------------------


def race(workers: list[doer.Worker], *message: object) -> str:
    """The answer of the last racer to end."""
    pendings = [worker.tell(("race", *message)) for worker in workers]
    [last] = [text for text in (pending.result(T) for pending in pendings) if " lost" in text]
    return str(last)


def test_the_forced_race_loses_about_all_but_one_racer_s_increments_and_says_why(
    make_thread: WorkerFactory, counter: None
) -> None:
    """Once both race, each switch point overwrites the other's increments: all but
    one racer's are lost, less what the first did before the second began."""
    workers = [make_thread(), make_thread()]

    answer = race(workers, 50_000)

    found = re.fullmatch(r"([\d,]+) of 100,000 lost: read, forced switch, write", answer)
    assert found, answer
    assert 0 < int(found[1].replace(",", "")) <= 50_000, answer


def test_the_natural_race_says_what_to_expect_of_this_interpreter(
    make_thread: WorkerFactory, counter: None
) -> None:
    """With the GIL (3.11), no switch falls between a read and its write."""
    workers = [make_thread(), make_thread()]

    answer = race(workers, 2_000_000, "natural")

    found = re.fullmatch(r"([\d,]+) of 4,000,000 lost(.*)", answer)
    assert found, answer
    assert found[2] in (" (with the GIL, rarely any)", ": no other racer overlapped"), answer
    assert int(found[1].replace(",", "")) < 40_000, "rarely anything"


def test_work_with_the_gil_off_says_so_and_puts_no_wait_down_to_a_gil(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a free-threaded build there is no GIL to wait for: a thread that did not
    run waited for a CPU, as a process does, and the answer says the GIL is off."""
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    clocks = iter([measure.Clocks(0.0, 0.0, 0.0), measure.Clocks(2.0, 0.5, 0.1)])
    monkeypatch.setattr(lessons, "clocks", lambda: next(clocks))  # 1.5 s off CPU

    answer = lessons.work(SimpleNamespace(own_memory=False, kind="thread"), 1000)

    assert answer == "2.00 s wall, 0.50 s CPU: 1.50 s waiting for a CPU (GIL off)"


@pytest.mark.parametrize(
    ("gil", "said"),
    [
        (True, "12 of 200,000 lost (with the GIL, rarely any)"),
        (False, "12 of 200,000 lost: GIL off, they ran at once"),
    ],
)
def test_the_natural_race_s_answer_follows_the_gil(
    monkeypatch: pytest.MonkeyPatch, gil: bool, said: str
) -> None:
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: gil, raising=False)

    assert race_text(12, 200_000, 2, "natural", own_memory=False) == said


@pytest.mark.parametrize(
    ("lost", "racers", "how", "own_memory", "kind"),
    [
        (1_000_000, 2, None, False, "thread"),
        (0, 2, "lock", False, "asyncio"),
        (0, 1, None, False, "asyncio"),
        (0, 2, None, True, "process"),
        (1_999_999, 2, "natural", False, "thread"),
    ],
)
def test_every_race_answer_fits_80_columns(
    lost: int, racers: int, how: str | None, own_memory: bool, kind: str
) -> None:
    assert fits(kind, race_text(lost, 2_000_000, racers, how, own_memory=own_memory))
    assert fits(kind, "1,000,000 done; 1 racing on: the last to end sums up")


# --- .peek is the console's -----------------------------------------------------------


class Peeked(NamedTuple):
    name: str
    kind: str
    pid: int
    state: object


def test_peek_cuts_a_long_state_to_fit_80_columns() -> None:
    long = "x" * 100
    worker = Peeked("doer-12", "process", 1234567, long)

    lines = [plain(line) for line in peek_lines(worker, False, long + "y", 1234)]  # type: ignore[arg-type]

    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].startswith("[console] doer-12's state: xxx") and "…" in lines[0]


# --- memory as the kind declares it --------------------------------------------------


@pytest.mark.parametrize(("kind", "own_memory"), [("ray", True), ("process", False), ("new", True)])
def test_incr_race_and_inherited_answer_from_the_memory_a_kind_declares(
    kind: str, own_memory: bool, counter: None
) -> None:
    """Not from the kind's name: a Ray actor's counter is its own; a kind that says
    it shares the console's memory is answered so, whatever it is called."""
    doer_ = Doer(None, None, kind=kind, own_memory=own_memory)  # type: ignore[arg-type]

    counted = lessons.incr(doer_)
    raced = lessons.race(doer_, 10)
    seen = lessons.inherited(doer_)

    assert counted.endswith("(this process's own)" if own_memory else "one for all its threads)")
    assert raced.endswith("its counter is its own") == own_memory, raced
    assert ("live: the console's own memory" in seen) != own_memory, seen


def test_each_kind_declares_its_memory_where_it_builds_its_doer() -> None:
    from doer.kinds import asyncio_task, thread
    from doer.kinds.process import child

    assert (thread.OWN_MEMORY, asyncio_task.OWN_MEMORY, child.OWN_MEMORY) == (False, False, True)


def test_each_answer_about_memory_fits_80_columns(
    counter: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lessons, "os", SimpleNamespace(getpid=lambda: 1234567))
    lessons.COUNTER = 9_998
    shared = Doer(None, None, kind="asyncio")  # type: ignore[arg-type]
    own = Doer(None, None, kind="process", start_method="spawn", own_memory=True)  # type: ignore[arg-type]
    lessons.MARK = "a mark long enough to be cut where the line would wrap, and more"

    answers = [
        ("asyncio", lessons.incr(shared)),
        ("process", lessons.incr(own)),
        ("asyncio", lessons.inherited(shared)),
        ("asyncio", lessons.segfault(shared)),
    ]
    for method in ("fork", "spawn", "forkserver"):
        own.start_method = method
        answers.append(("process", lessons.inherited(own)))

    assert all(fits(kind, answer) for kind, answer in answers), answers


# --- a thread's segfault, shown on a process ---------------------------------------


def test_segfault_thread_on_a_process_ends_the_whole_process(make_forked: WorkerFactory) -> None:
    """Its second thread reads address 0: the main thread, waiting for it, goes too,
    as the console would with a thread of its own that did it."""
    process = make_forked()

    record = process.tell(("segfault", "thread")).wait(T)

    assert record == Failure(1, "request 1 (segfault thread) unanswered: the worker died")
    assert process.ended == Died("killed by SIGSEGV")
    wait_until(lambda: pid_is_gone(process.pid), T, "the process to be gone")


def test_segfault_in_a_thread_is_refused_and_points_at_the_demo(
    make_thread: WorkerFactory,
) -> None:
    thread = make_thread()

    assert thread.ask(("segfault", "thread"), timeout=T) == lessons.SEGFAULT_REFUSED
    assert "segfault thread" in lessons.SEGFAULT_REFUSED
    with pytest.raises(doer.WorkerError, match="segfault takes nothing, or thread"):
        thread.ask(("segfault", "sideways"), timeout=T)
    assert thread.ask("ping", timeout=T) == "pong"


# --- forkserver ----------------------------------------------------------------------


@pytest.fixture
def make_forkserved() -> Iterator[WorkerFactory]:
    factory = WorkerFactory(Kind("process", "forkserver"))
    yield factory
    factory.stop_all()


def test_a_forkserver_child_says_its_parent_is_the_server_and_it_was_forked_from_it(
    make_forkserved: WorkerFactory, counter: None
) -> None:
    child = make_forkserved()
    server = stat_fields(child.pid)[1]

    who = child.ask("whoami", timeout=T)
    seen = child.ask("inherited", timeout=T)

    assert f", ppid {server} (the forkserver), " in who, who
    assert int(server) != os.getpid()
    assert seen == "not set (forked by the forkserver, which began fresh)"


def fake_where(
    monkeypatch: pytest.MonkeyPatch, pids: tuple[int, int, int], thread: str, task: str | None
) -> None:
    """whoami sees ``pids`` (its pid, its parent's, its thread's), the thread and the task."""
    pid, ppid, thread_id = pids
    fake_os = SimpleNamespace(getpid=lambda: pid, getppid=lambda: ppid)
    monkeypatch.setattr(worker_module, "os", fake_os)
    named = SimpleNamespace(name=thread)
    fake_threading = SimpleNamespace(get_native_id=lambda: thread_id, current_thread=lambda: named)
    monkeypatch.setattr(worker_module, "threading", fake_threading)
    monkeypatch.setattr(worker_module, "_current_task_name", lambda: task)


LONG_PIDS = (1234567, 1234500, 1234589)


@pytest.mark.parametrize(
    ("kind", "method", "thread", "task", "said"),
    [
        (
            "thread",
            None,
            "doer-12-worker",
            None,
            "pid 1234567, ppid 1234500, thread 1234589, GIL on",
        ),
        (
            "asyncio",
            None,
            "doer-12-loop",
            "doer-12-task",
            "pid 1234567, thread 1234589, task doer-12-task, GIL on",
        ),
        (
            "process",
            "spawn",
            "MainThread",
            None,
            "pid 1234567, ppid 1234500, thread 1234589, GIL on",
        ),
        (
            "process",
            "forkserver",
            "MainThread",
            None,
            "pid 1234567, ppid 1234500 (the forkserver), GIL on",
        ),
    ],
)
def test_whoami_fits_80_columns_with_7_digit_pids(
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    method: str | None,
    thread: str,
    task: str | None,
    said: str,
) -> None:
    fake_where(monkeypatch, LONG_PIDS, thread, task)
    answer = worker_module.whoami(Doer(None, None, kind=kind, start_method=method))  # type: ignore[arg-type]

    assert answer == said
    assert fits(kind, answer)


def test_whoami_says_all_where_there_is_room(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_where(monkeypatch, (4250, 4242, 4250), "MainThread", None)

    answer = worker_module.whoami(Doer(None, None, kind="process", start_method="fork"))  # type: ignore[arg-type]

    assert answer == "pid 4250, ppid 4242, MainThread 4250, by fork, GIL on"
