"""The library API on every kind of worker: ask, tell, stop, kill, and what comes back.

Most tests run once per kind (thread, process-fork, process-spawn,
process-forkserver) through the ``worker`` / ``make_worker`` fixtures; the
ones about killing, pickling and signals run on the process kinds only.

A test that needs the worker busy while it queues more requests holds it in
the ``gate`` handler, which blocks until the test creates a file: no sleeps,
and no guessing how long "busy" lasts.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import doer
import doer.client.stopping
from doer import Died, Ended, Failure, Reply, WorkerError, WorkerGone
from support.handlers import HANDLERS, Unreadable
from support.helpers import (
    THREAD,
    Kind,
    Recorder,
    WorkerFactory,
    pid_is_gone,
    wait_until,
)

#: Generous: a reply comes in well under a millisecond; only a failing test waits this long.
T = 10.0

#: The kinds whose worker runs in the test's own process.
IN_PROCESS = ("thread", "asyncio", "interpreter")

# --- every kind ------------------------------------------------------------------


def test_ask_returns_the_reply_to_each_builtin_message(worker: doer.Worker) -> None:
    assert worker.ask("ping", timeout=T) == "pong"
    assert worker.ask(("set-state", "hola!"), timeout=T) == "new state: hola!"
    assert worker.ask("get-state", timeout=T) == "state: hola!"
    assert worker.ask(("sleep", 0), timeout=T) == "slept 0 s"
    assert worker.ask("foo", timeout=T) == "unknown message foo"
    assert worker.pending == 0


def test_tell_returns_a_pending_that_resolves_to_the_reply(worker: doer.Worker) -> None:
    pending = worker.tell("ping")

    assert pending.result(timeout=T) == "pong"
    assert pending.done()
    assert pending.wait(timeout=0) == Reply(pending.request_id, "pong")


def test_ten_thousand_pipelined_tells_are_answered_once_each_in_order(
    make_worker: WorkerFactory,
) -> None:
    recorder = Recorder()
    worker = make_worker(listener=recorder)
    count = 10_000

    pendings = [worker.tell(("set-state", n)) for n in range(count)]

    assert [pending.result(timeout=T) for pending in pendings] == [
        f"new state: {n}" for n in range(count)
    ]
    assert worker.pending == 0
    assert worker.state == count - 1
    worker.stop()  # joins the reply reader: the listener has seen everything
    answered = [record.request_id for record in recorder.records if type(record) is Reply]
    assert answered == [pending.request_id for pending in pendings]


def test_many_told_at_once_are_answered_once_each_in_order(worker: doer.Worker) -> None:
    """tell_many: one write to a process's pipe, far more than the pipe holds."""
    count = 20_000  # about 600 kB pickled: ten times a pipe's buffer

    pendings = worker.tell_many([("set-state", n) for n in range(count)])

    assert [pending.result(timeout=T) for pending in pendings] == [
        f"new state: {n}" for n in range(count)
    ]
    assert [pending.request_id for pending in pendings] == list(
        range(pendings[0].request_id, pendings[0].request_id + count)
    )
    assert worker.ask("ping", timeout=T) == "pong"


def test_many_told_at_once_to_a_worker_gone_raise_worker_gone(worker: doer.Worker) -> None:
    worker.stop()
    with pytest.raises(doer.WorkerGone):
        worker.tell_many(["ping", "ping"])


def test_many_told_at_once_are_all_sent_or_none_when_one_does_not_pickle(
    make_process_worker: WorkerFactory,
) -> None:
    worker = make_process_worker()

    with pytest.raises(ValueError, match="could not be sent"):
        worker.tell_many(["ping", threading.Lock(), "ping"])

    assert worker.pending == 0  # none was sent, none waits
    assert worker.ask("get-state", timeout=T) == "state: 42"


def test_callers_on_several_threads_each_get_their_own_reply(worker: doer.Worker) -> None:
    def caller(name: str) -> list[str]:
        values = [f"{name}-{n}" for n in range(100)]
        replies = [worker.ask(("set-state", value), timeout=T) for value in values]
        expected = [f"new state: {value}" for value in values]
        return [reply for reply, wanted in zip(replies, expected, strict=True) if reply != wanted]

    with ThreadPoolExecutor(max_workers=4) as pool:
        wrong = [reply for replies in pool.map(caller, "abcd") for reply in replies]

    assert wrong == []


def _reply_readers(worker: doer.Worker) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == f"{worker.name}-replies"]


def test_ask_one_at_a_time_needs_no_reply_reader_thread(worker: doer.Worker) -> None:
    for _ in range(3):
        assert worker.ask("ping", timeout=T) == "pong"
    assert _reply_readers(worker) == []


def test_tell_starts_the_reply_reader_and_ask_still_works_after_it(worker: doer.Worker) -> None:
    assert worker.tell("ping").result(timeout=T) == "pong"
    assert _reply_readers(worker) == [f"{worker.name}-replies"]
    assert worker.ask(("set-state", "after"), timeout=T) == "new state: after"


def test_a_timed_out_ask_hands_its_late_answer_to_the_reply_reader(
    make_worker: WorkerFactory, tmp_path: Path
) -> None:
    recorder = Recorder()
    worker = make_worker(handlers=HANDLERS)
    gate = tmp_path / "open"
    with pytest.raises(TimeoutError, match=r"no answer to request 1 \(gate .*\) within 0.05 s"):
        worker.ask(("gate", str(gate)), timeout=0.05)
    assert _reply_readers(worker) == [f"{worker.name}-replies"]
    worker._listener = recorder  # see the late reply arrive without a second ask
    gate.touch()
    wait_until(lambda: any(type(r) is Reply for r in recorder.records), T, "the late reply")
    assert worker.ask("ping", timeout=T) == "pong"


def test_asks_racing_a_tell_from_another_thread_all_get_their_own_answers(
    worker: doer.Worker,
) -> None:
    start = threading.Barrier(2)

    def teller() -> list[object]:
        start.wait()
        pendings = [worker.tell(("set-state", f"t{n}")) for n in range(200)]
        return [p.result(timeout=T) for p in pendings]

    with ThreadPoolExecutor(max_workers=1) as pool:
        told = pool.submit(teller)
        start.wait()
        asked = [worker.ask(("set-state", f"a{n}"), timeout=T) for n in range(200)]
    assert asked == [f"new state: a{n}" for n in range(200)]
    assert told.result() == [f"new state: t{n}" for n in range(200)]


def test_an_idle_worker_killed_without_a_reader_is_seen_dead_by_the_next_ask(
    make_process_worker: WorkerFactory,
) -> None:
    worker = make_process_worker()
    assert worker.ask("ping", timeout=T) == "pong"
    worker.kill()
    wait_until(lambda: pid_is_gone(worker.pid), T, "the killed worker to exit")
    with pytest.raises((WorkerGone, WorkerError), match=r"worker died|gone"):
        worker.ask("ping", timeout=T)
    assert worker.stop() == Died("killed by SIGKILL")


def test_whoami_reports_the_pid_the_thread_the_start_method_and_the_gil(
    worker: doer.Worker, kind: Kind
) -> None:
    text = worker.ask("whoami", timeout=T)

    if kind.kind == "interpreter":  # the console's pid, its interpreter, its thread, its GIL
        said = re.fullmatch(r"pid (\d+), interpreter (\d+), thread (\d+), its own GIL", text)
        assert said, text
        assert int(said[1]) == worker.pid == os.getpid()
        assert worker.started is not None and int(said[3]) == worker.started.thread_id
        assert int(said[2]) > 0, "not the main interpreter (id 0)"
        return
    # The longest form that fits a line of 80 with its tag (the names here are long):
    # the thread by name and id, or by id alone; the start method when there is room;
    # a forkserver's child keeps its parent before its thread.
    found = re.fullmatch(
        r"pid (\d+), (?:ppid (\d+)( \(the forkserver\))?, )?(?:(?:(\S+) )?(\d+), )?(.*)GIL on",
        text,
    )
    assert found, text
    pid, ppid, by_server, thread, tid, rest = found.groups()
    assert int(pid) == worker.pid
    assert worker.started is not None
    if tid is None:  # only where the parent took the room
        assert by_server, text
        return
    assert int(tid) == worker.started.thread_id
    if kind.kind in IN_PROCESS:
        assert ppid is None or (worker.pid, int(ppid)) == (os.getpid(), os.getppid())
        assert rest == (f"task {worker.name}-task, " if kind.kind == "asyncio" else "")
        return
    assert thread in ("MainThread", "thread") and int(tid) == worker.pid, "the main thread's id"
    if kind.start_method == "forkserver":  # its parent is the server, and it says so
        assert ppid is not None and int(ppid) != os.getpid() and by_server, text
    else:
        assert ppid is None or int(ppid) == os.getpid()
        assert rest in (f"by {kind.start_method}, ", ""), text


def test_the_start_event_carries_the_initial_state_and_the_workers_pid(
    worker: doer.Worker, kind: Kind
) -> None:
    started = worker.wait_started(timeout=T)

    assert started == worker.started
    assert (started.kind, started.pid, started.start_method, started.state) == (
        kind.kind,
        worker.pid,
        kind.start_method,
        42,
    )
    if kind.kind in IN_PROCESS:
        assert started.ppid == os.getppid()
    elif kind.start_method == "forkserver":
        assert started.ppid != os.getpid()  # its parent is the fork server
    else:
        assert started.ppid == os.getpid()


def test_the_start_event_names_the_thread_by_its_os_id_and_the_task_and_times_the_start(
    worker: doer.Worker, kind: Kind
) -> None:
    started = worker.wait_started(timeout=T)

    if kind.kind == "process":  # the loop runs in the process's main thread, whose id is its pid
        assert (started.thread_name, started.thread_id) == ("MainThread", worker.pid)
    else:
        assert started.thread_id in {thread.native_id for thread in threading.enumerate()}
    assert started.task == (f"{worker.name}-task" if kind.kind == "asyncio" else None)
    assert worker.ready_after is not None and 0 < worker.ready_after < T


def test_stop_all_stops_several_workers_at_once_and_leaves_none(make_worker: WorkerFactory) -> None:
    workers = [make_worker(state=n) for n in range(4)]
    pendings = [worker.tell("ping") for worker in workers]
    workers[0].ask_to_stop()  # asked already: stop_all does not send a second exit

    assert doer.stop_all(workers, timeout=T) == []

    assert [pending.result(0) for pending in pendings] == ["pong"] * 4, "answered before exit"
    for worker in workers:
        assert isinstance(worker.ended, Ended) and worker.ended.reason == ""
        assert not worker.alive
    # make_worker's teardown checks that no thread or process of theirs is left.


def test_stop_all_kills_a_process_that_does_not_end_and_returns_a_stuck_thread(
    make_worker: WorkerFactory, kind: Kind, tmp_path: Path
) -> None:
    stuck, idle = make_worker(handlers=HANDLERS), make_worker()
    gate = tmp_path / "gate"
    # A thread is held by a gate (it cannot be killed); the others by a long
    # sleep (a task awaits it, and is cancelled there).
    killable = kind.kind not in ("thread", "interpreter")  # an interpreter runs in a thread
    stuck.tell(("sleep", 30) if killable else ("gate", str(gate)))

    left = doer.stop_all([stuck, idle], timeout=0.2)

    assert isinstance(idle.ended, Ended)
    if not killable:  # returned, still running; it ends once its handler returns
        assert left == [stuck]
        gate.touch()
        assert stuck.stop(T) is not None
    else:  # a process is killed, a task cancelled at its await
        assert left == []
        assert isinstance(stuck.ended, Died), stuck.ended


#: The timeout handed to stop_all in the tests of its deadlines.
SHARED_DEADLINE_S = 0.3


class Waits:
    """Every timeout a stop hands to the join of a worker's reply-reader thread, on
    a clock that moves only by them: what stop_all and stop() *ask* to wait for,
    recorded rather than timed, so a busy machine cannot blur one timeout and two.

    While watched, a join does not block (the workers are stuck on purpose: a join
    could only time out); it adds its timeout to the clock and to :attr:`given`.
    ``stop_all``'s shared deadline reads that clock through ``doer.client.stopping.time``.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.given: list[float] = []
        self._now = 0.0
        self._monkeypatch = monkeypatch
        clock = types.SimpleNamespace(monotonic=lambda: self._now, perf_counter=time.perf_counter)
        monkeypatch.setattr(doer.client.stopping, "time", clock)

    def watch(self, workers: list[doer.Worker]) -> None:
        for worker in workers:
            reader = worker._replies.thread  # started by the tell() that made it stuck
            assert reader is not None
            self._monkeypatch.setattr(reader, "join", self._join)

    def _join(self, timeout: float | None = None) -> None:
        assert timeout is not None, "a stop must never wait without a timeout"
        self.given.append(timeout)
        self._now += timeout

    def total(self) -> float:
        return sum(self.given)


@pytest.mark.parametrize("kind", [THREAD], ids=str)
def test_stop_all_gives_workers_stuck_in_a_handler_one_deadline_together_not_one_each(
    make_worker: WorkerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three stuck workers stop in one timeout, not three: what ``.quit`` waits for.

    Threads: they cannot be killed, so each waits until the deadline, and the
    waits add up unless they share one.
    """
    workers = [make_worker(handlers=HANDLERS) for _ in range(3)]
    gate = tmp_path / "gate"
    for worker in workers:
        worker.tell(("gate", str(gate)))  # held there until the gate opens
    with monkeypatch.context() as patched:
        waits = Waits(patched)
        waits.watch(workers)
        left = doer.stop_all(workers, timeout=SHARED_DEADLINE_S)

    assert left == workers, "all three are stuck, and returned"
    assert waits.total() == pytest.approx(SHARED_DEADLINE_S), f"a deadline each: {waits.given}"
    gate.touch()  # let them end: make_worker's teardown checks nothing is left
    for worker in workers:
        assert worker.stop(T) is not None


def test_stop_gives_a_stuck_thread_one_timeout_not_one_per_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``stop(timeout)`` on a thread stuck in a handler gives up after ``timeout``,
    once: not again for the join after (which would make it twice the timeout)."""
    gate = threading.Event()
    worker = doer.start("thread", handlers={"hold": lambda doer: gate.wait(T) and "held"})
    try:
        worker.tell("hold")
        with monkeypatch.context() as patched:
            waits = Waits(patched)
            waits.watch([worker])
            assert worker.stop(SHARED_DEADLINE_S) is None, "a thread cannot be stopped there"
        assert waits.given == [SHARED_DEADLINE_S], "the timeout is waited once"
    finally:
        gate.set()
        assert worker.stop(T) is not None


def test_stop_all_kills_what_will_not_end_and_its_death_says_how_long_it_was_given(
    tmp_path: Path,
) -> None:
    """A process stuck in a handler is killed after the timeout; its death line says
    the timeout it was given (what ``.timeout`` set), not the second after."""
    gate = tmp_path / "gate"
    workers = [doer.start("process", handlers=HANDLERS) for _ in range(2)]
    for worker in workers:
        worker.tell(("gate", str(gate)))
    assert doer.stop_all(workers, timeout=SHARED_DEADLINE_S) == []
    for worker in workers:
        assert worker.ended == Died(
            f"did not end {SHARED_DEADLINE_S:g} s after being asked; doer killed it"
        )


def test_stop_all_gives_cancelled_tasks_their_one_more_second_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tasks stuck in a blocking handler are cancelled together, then given
    :data:`~doer.client.worker.KILLED_WITHIN_S` together to be seen ending: not a second
    each (three stuck tasks would add three seconds to ``.quit``)."""
    from doer.client.worker import KILLED_WITHIN_S

    gate = tmp_path / "gate"
    workers = [doer.start("asyncio", handlers=HANDLERS) for _ in range(3)]
    for worker in workers:
        worker.tell(("gate", str(gate)))  # blocks each task's loop: no cancel can land
    with monkeypatch.context() as patched:
        waits = Waits(patched)
        waits.watch(workers)
        left = doer.stop_all(workers, timeout=SHARED_DEADLINE_S)
    gate.touch()
    assert left == workers, "a blocking handler cannot be cancelled"
    one_more_second = SHARED_DEADLINE_S + KILLED_WITHIN_S
    assert waits.total() == pytest.approx(one_more_second), f"a second each: {waits.given}"
    for worker in workers:
        assert worker.stop(T) is not None


def test_the_worker_state_follows_set_state(worker: doer.Worker) -> None:
    assert worker.state == 42

    worker.ask(("set-state", "hola!"), timeout=T)
    assert worker.state == "hola!"

    worker.ask("get-state", timeout=T)
    assert worker.state == "hola!"

    worker.ask(("set-state", [1, 2]), timeout=T)
    assert worker.state == [1, 2]

    ended = worker.stop()
    assert type(ended) is Ended
    assert ended.state == [1, 2]
    assert worker.state == [1, 2]


def test_a_handler_that_raises_gives_a_worker_error_and_the_worker_goes_on(
    make_worker: WorkerFactory,
) -> None:
    worker = make_worker(handlers=HANDLERS)

    with pytest.raises(WorkerError, match=r"^RuntimeError: boom$"):
        worker.ask("boom", timeout=T)

    assert worker.ask("ping", timeout=T) == "pong"
    assert worker.alive


def test_a_wrong_number_of_values_gives_a_worker_error_with_the_usage(
    worker: doer.Worker,
) -> None:
    with pytest.raises(WorkerError, match=r"usage: set-state VALUE \(got 0 value\(s\)\)$"):
        worker.ask("set-state", timeout=T)

    assert worker.ask("ping", timeout=T) == "pong"


def test_a_timeout_raises_timeout_error_and_the_late_reply_still_resolves_the_pending(
    make_worker: WorkerFactory, tmp_path: Path
) -> None:
    worker = make_worker(handlers=HANDLERS)
    gate = tmp_path / "gate"
    held = worker.tell(("gate", str(gate)))
    late = worker.tell("ping")

    with pytest.raises(TimeoutError, match=r"^no answer to request 2 \(ping\) within 0.05 s$"):
        late.result(timeout=0.05)
    with pytest.raises(TimeoutError):
        worker.ask("get-state", timeout=0.05)
    assert not late.done()
    assert worker.pending == 3

    gate.touch()

    assert held.result(timeout=T) == "passed gate"
    assert late.result(timeout=T) == "pong"
    assert worker.ask("ping", timeout=T) == "pong"
    assert worker.pending == 0


def test_exit_ends_the_worker_and_a_later_tell_raises_worker_gone(worker: doer.Worker) -> None:
    ended = worker.ask("exit", timeout=T)

    assert ended == Ended(1, 42, worker.pid, "")
    assert worker.ended == ended
    assert not worker.alive
    with pytest.raises(WorkerGone, match="has ended"):
        worker.tell("ping")
    with pytest.raises(WorkerGone):
        worker.ask("ping", timeout=T)


def test_requests_queued_behind_exit_are_answered_with_a_failure_saying_the_worker_ended(
    make_worker: WorkerFactory, tmp_path: Path
) -> None:
    recorder = Recorder()
    worker = make_worker(handlers=HANDLERS, listener=recorder)
    gate = tmp_path / "gate"
    held = worker.tell(("gate", str(gate)))
    exit_request = worker.tell("exit")
    behind = [worker.tell("ping"), worker.tell(("set-state", "a b"))]

    gate.touch()

    assert held.result(timeout=T) == "passed gate"
    assert exit_request.result(timeout=T) == Ended(2, 42, worker.pid, "")
    assert [pending.wait(timeout=0) for pending in behind] == [
        Failure(3, "request 3 (ping) unanswered: the worker ended"),
        Failure(4, "request 4 (set-state 'a b') unanswered: the worker ended"),
    ]
    with pytest.raises(WorkerError, match=r"unanswered: the worker ended$"):
        behind[0].result(timeout=0)
    assert recorder.records[-3:] == [
        *(pending.wait(timeout=0) for pending in behind),
        worker.ended,
    ]


def test_stop_answers_what_was_sent_before_then_joins_and_returns_the_end_record(
    worker: doer.Worker, kind: Kind
) -> None:
    pendings = [worker.tell("ping") for _ in range(3)]

    ended = worker.stop()

    assert ended == Ended(4, 42, worker.pid, "")
    assert [pending.result(timeout=0) for pending in pendings] == ["pong"] * 3
    assert not worker.alive
    if kind.kind in IN_PROCESS:
        running = {thread.name for thread in threading.enumerate()}
        assert not {f"{worker.name}-worker", f"{worker.name}-loop"} & running
    else:
        assert pid_is_gone(worker.pid)


def test_stop_can_be_called_again_and_kill_after_stop_does_nothing(worker: doer.Worker) -> None:
    ended = worker.stop()

    assert worker.stop() == ended
    worker.kill()
    assert worker.ended == ended


def test_a_with_block_stops_the_worker(make_worker: WorkerFactory) -> None:
    with make_worker() as worker:
        assert worker.ask("ping", timeout=T) == "pong"

    assert type(worker.ended) is Ended
    assert not worker.alive


def test_the_listener_receives_every_record_in_order(make_worker: WorkerFactory) -> None:
    recorder = Recorder()
    worker = make_worker(listener=recorder)

    worker.ask("ping", timeout=T)
    worker.ask(("set-state", "hola!"), timeout=T)
    with pytest.raises(WorkerError):
        worker.ask("set-state", timeout=T)
    worker.stop()

    assert recorder.records == [
        worker.started,
        Reply(1, "pong"),
        Reply(2, "new state: hola!", ("hola!",)),
        Failure(3, "TypeError: usage: set-state VALUE (got 0 value(s))"),
        Ended(4, "hola!", worker.pid, ""),
    ]
    assert all(seen is worker for seen in recorder.workers)


def test_a_listener_that_raises_is_logged_and_the_replies_still_arrive(
    make_worker: WorkerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_listener(worker: doer.Worker, record: object) -> None:
        raise RuntimeError("a bug in the listener")

    worker = make_worker(listener=broken_listener)

    assert worker.ask("ping", timeout=T) == "pong"
    assert type(worker.stop()) is Ended
    assert "the reply listener failed" in caplog.text


@pytest.mark.parametrize("kind", [THREAD], ids=str)
def test_kill_cannot_stop_a_thread_worker_and_says_so(worker: doer.Worker) -> None:
    assert worker.kill() is False
    assert worker.ask("ping", timeout=T) == "pong"


# --- process workers only -----------------------------------------------------


def test_kill_reports_died_by_sigkill_within_a_second_and_fails_every_pending_request(
    make_process_worker: WorkerFactory, tmp_path: Path
) -> None:
    recorder = Recorder()
    worker = make_process_worker(handlers=HANDLERS, listener=recorder)
    held = worker.tell(("gate", str(tmp_path / "never-opened")))
    queued = worker.tell("ping")

    assert worker.kill() is True

    assert recorder.finished.wait(timeout=1.0), "no Died record within 1 s of kill()"
    assert worker.ended == Died("killed by SIGKILL")
    assert recorder.records[-1] == worker.ended
    for pending in (held, queued):
        with pytest.raises(WorkerError, match=r"unanswered: the worker died$"):
            pending.result(timeout=0)
    assert not worker.alive
    assert pid_is_gone(worker.pid)
    with pytest.raises(WorkerGone, match=r"died \(killed by SIGKILL\)"):
        worker.tell("ping")


def test_a_message_that_does_not_pickle_raises_value_error_and_the_worker_goes_on(
    process_worker: doer.Worker,
) -> None:
    with pytest.raises(ValueError, match=r"^the message could not be sent: "):
        process_worker.tell(lambda: "not picklable")

    assert process_worker.pending == 0
    assert process_worker.ask("ping", timeout=T) == "pong"


def test_a_reply_that_does_not_pickle_gives_a_worker_error_saying_it_could_not_be_sent(
    make_process_worker: WorkerFactory,
) -> None:
    worker = make_process_worker(handlers=HANDLERS)

    with pytest.raises(WorkerError, match=r"^answer not sent: "):
        worker.ask("unpicklable", timeout=T)

    assert worker.ask("ping", timeout=T) == "pong"


def test_a_request_that_does_not_unpickle_in_the_worker_fails_alone(
    make_process_worker: WorkerFactory, tmp_path: Path
) -> None:
    process_worker = make_process_worker(handlers=HANDLERS)
    # Held at a gate, so that both requests are pending when the worker fails to
    # read the first: the failure must go to the oldest, not to any pending one.
    gate = tmp_path / "gate"
    held = process_worker.tell(("gate", str(gate)))
    unreadable = process_worker.tell(Unreadable())
    after = process_worker.tell("ping")
    assert process_worker.pending == 3
    gate.touch()
    assert held.result(timeout=T) == "passed gate"

    with pytest.raises(
        WorkerError, match=r"^the request could not be read here: RuntimeError: this object refuses"
    ):
        unreadable.result(timeout=T)
    assert after.result(timeout=T) == "pong"


@pytest.fixture
def sigint_as_a_terminal_leaves_it() -> Iterator[None]:
    """SIGINT handled as Python does by default, whatever this test run inherited.

    A run started in the background (``cmd &``, ``nohup``, some CI runners)
    inherits SIGINT ignored, and a worker started from it inherits that: it
    would survive SIGINT with its own guard removed, and the test would prove
    nothing. Workers started inside this fixture see the disposition a
    console started from a terminal has.
    """
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("sigint_as_a_terminal_leaves_it")
def test_a_worker_process_survives_sigint_sent_to_it(make_process_worker: WorkerFactory) -> None:
    process_worker = make_process_worker()
    # The signal is pending in the worker before the ping is even written, so
    # the worker meets it before it can read the ping: if SIGINT were not
    # ignored, the ping would fail with "the worker died".
    os.kill(process_worker.pid, signal.SIGINT)

    assert process_worker.ask("ping", timeout=T) == "pong"
    assert process_worker.alive
    assert type(process_worker.stop()) is Ended


@pytest.mark.usefixtures("sigint_as_a_terminal_leaves_it")
@pytest.mark.parametrize("process_kind", [Kind("process", "spawn")], ids=str)
def test_a_spawned_worker_without_the_sigint_guard_would_die_of_sigint(
    make_process_worker: WorkerFactory,
) -> None:
    """The test above has teeth: undo the guard, and the same signal kills the worker."""
    recorder = Recorder()
    worker = make_process_worker(handlers=HANDLERS, listener=recorder)
    assert worker.ask("restore-sigint", timeout=T) == "SIGINT restored"

    os.kill(worker.pid, signal.SIGINT)

    assert recorder.finished.wait(timeout=T), "the worker did not die of SIGINT"
    assert type(worker.ended) is Died


#: A fresh console that starts its first worker while SIGINT rains on it, as a
#: Ctrl-C in a terminal would: it prints how many were sent and how the worker fared.
BOOT_UNDER_SIGINT = textwrap.dedent(
    """
    import os, signal, sys, threading
    import doer

    if __name__ == "__main__":
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as from a terminal
        started = threading.Event()
        worker = doer.start("process", start_method=sys.argv[1])
        sent = 0

        def interrupt():
            global sent
            while not started.is_set():
                try:
                    os.kill(worker.pid, signal.SIGINT)
                except ProcessLookupError:
                    return
                sent += 1

        interrupter = threading.Thread(target=interrupt)
        interrupter.start()
        try:
            worker.wait_started(10)
        except doer.WorkerGone:
            pass
        finally:
            started.set()
            interrupter.join()
        answer = worker.ask("ping", 10) if worker.ended is None else worker.ended
        print(sent, answer, flush=True)
        worker.stop()
    """
)


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_a_console_s_first_worker_survives_sigint_while_it_boots(start_method: str) -> None:
    """A Ctrl-C while the worker's interpreter starts must not kill it.

    Only the blocked signal mask it is started with protects it then: its own
    handler is not set yet. In a fresh console, because the first worker also
    starts multiprocessing's helpers, and starting the resource tracker unblocks
    SIGINT (a test inside this long-running test process would not see that).
    """
    done = subprocess.run(
        [sys.executable, "-c", BOOT_UNDER_SIGINT, start_method],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sent, answer = done.stdout.split(maxsplit=1)
    assert int(sent) > 0
    assert answer.strip() == "pong", f"the worker died of SIGINT while booting: {answer}"


def test_a_signal_ends_a_worker_the_same_way_whatever_its_start_method(
    make_process_worker: WorkerFactory,
) -> None:
    """A forked worker must not run the console's handlers: SIGTERM kills it, as any other."""

    def console_handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # what the console's own handler does

    before = {sig: signal.signal(sig, console_handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        recorder = Recorder()
        worker = make_process_worker(listener=recorder)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    os.kill(worker.pid, signal.SIGTERM)
    assert recorder.finished.wait(T), "no end record"
    assert worker.ended == Died("killed by SIGTERM")


def _pipe_ends(pid: int) -> dict[int, set[str]]:
    """For each pipe process ``pid`` holds open, which ends: ``{inode: {"r", "w"}}``."""
    ends: dict[int, set[str]] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as info:
                flags = next(int(line.split()[1], 8) for line in info if line.startswith("flags:"))
        except (FileNotFoundError, StopIteration):
            continue  # closed meanwhile
        if target.startswith("pipe:["):
            end = "w" if flags & os.O_ACCMODE == os.O_WRONLY else "r"
            ends.setdefault(int(target[6:-1]), set()).add(end)
    return ends


def _console_ends(worker: doer.Worker) -> dict[int, str]:
    """The console's ends of ``worker``'s pipes: the request write end, the response read end."""
    link = worker._link
    return {
        os.fstat(link._requests.fileno()).st_ino: "w",  # type: ignore[attr-defined]
        os.fstat(link._responses.fileno()).st_ino: "r",  # type: ignore[attr-defined]
    }


@pytest.mark.skipif(not os.path.isdir("/proc/self/fdinfo"), reason="needs /proc/PID/fdinfo")
def test_a_process_worker_holds_no_end_of_the_console_s_pipes(
    make_process_worker: WorkerFactory,
) -> None:
    """Neither of its own pipes (it would never see end-of-file when the console
    dies) nor another worker's (it would keep that worker alive). A fork copies
    them all; the worker must close them."""
    first, second = make_process_worker(), make_process_worker()
    for worker in (first, second):
        held = _pipe_ends(worker.pid)
        for other in (first, second):
            for inode, console_end in _console_ends(other).items():
                assert console_end not in held.get(inode, set()), (
                    f"worker {worker.pid} holds the console's {console_end!r} end of "
                    f"{'its own' if other is worker else 'another worker'}'s pipe {inode}"
                )
    # Its own ends it does hold: one to read requests, one to write answers.
    assert sorted("".join(sorted(held[i])) for i in _console_ends(second)) == ["r", "w"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/PID/fd")
def test_a_process_worker_s_stdin_stdout_and_stderr_are_dev_null(
    process_worker: doer.Worker,
) -> None:
    """A worker that printed would write over the prompt; one holding the terminal
    would keep it open after the console is gone."""
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{process_worker.pid}/fd/{fd}") == os.devnull, fd


def test_large_messages_told_from_several_threads_at_once_each_get_their_own_answer(
    worker: doer.Worker,
) -> None:
    """Sends are serialised: a message bigger than a pipe's atomic write, sent
    from two threads at once, would otherwise interleave with another on the pipe."""

    def tell_many(thread: int) -> list[tuple[str, doer.Pending]]:
        told = []
        for number in range(15):
            message = f"t{thread}-{number}-" + "x" * 150_000
            told.append((message, worker.tell(message, parsed=True)))  # too long to type
        return told

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-teller") as pool:
        told = [pair for pairs in pool.map(tell_many, range(4)) for pair in pairs]
    for message, pending in told:
        assert pending.result(timeout=T) == f"unknown message {message}"
    assert worker.ask("ping", timeout=T) == "pong"


def test_set_state_to_an_equal_value_of_another_type_is_the_state_the_console_sees(
    worker: doer.Worker,
) -> None:
    for value in (1, 1.0, True, 1):
        worker.ask(("set-state", value), timeout=T)
        assert worker.state == value and type(worker.state) is type(value), worker.state


#: A console in a child process: starts a process worker, keeps it busy so that
#: only its parent watch can end it, prints its pid, and waits to be killed.
CONSOLE = textwrap.dedent(
    """
    import sys
    import doer

    if __name__ == "__main__":
        worker = doer.start("process", start_method=sys.argv[1])
        worker.wait_started(10)
        worker.tell(("sleep", 60))
        print(worker.pid, flush=True)
        sys.stdin.read()
    """
)


@pytest.mark.parametrize("start_method", doer.START_METHODS)
def test_a_process_worker_exits_by_itself_within_a_second_when_its_console_is_killed(
    start_method: str,
) -> None:
    worker_pid = None
    with subprocess.Popen(
        [sys.executable, "-c", CONSOLE, start_method],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as console:
        try:
            assert console.stdout is not None
            line = console.stdout.readline()
            if not line.strip().isdigit():
                assert console.stderr is not None
                pytest.fail(f"no worker pid from the console: {line!r} {console.stderr.read()}")
            worker_pid = int(line)
            assert not pid_is_gone(worker_pid)

            console.kill()
            console.wait(timeout=T)

            wait_until(
                lambda: pid_is_gone(worker_pid),
                timeout=1.0,
                what=f"worker {worker_pid} gone after its console was killed",
            )
        finally:
            if console.poll() is None:
                console.kill()
            if worker_pid is not None and not pid_is_gone(worker_pid):
                os.kill(worker_pid, signal.SIGKILL)


# --- asyncio workers on the caller's own event loop ------------------------------------


async def test_an_asyncio_worker_on_the_caller_s_loop_is_used_by_awaiting_tell() -> None:
    """Started from a coroutine, the worker is a task on that very loop."""
    worker = doer.start("asyncio", 1)
    try:
        assert await worker.tell("ping") == "pong"
        whoami = await worker.tell("whoami")
        # The caller's own thread runs it (named by its id: the name may not fit).
        assert f" {threading.get_native_id()}, task {worker.name}-task" in whoami
        # sleep awaits: the loop (this test) runs on meanwhile
        slow = worker.tell(("sleep", 0.2))
        assert not slow.done()
        assert await slow == "slept 0.2 s"
        with pytest.raises(RuntimeError, match="would block the event loop"):
            worker.ask("get-state")  # would block the loop its answer needs
    finally:
        ended = await asyncio.get_running_loop().run_in_executor(None, worker.stop)
    assert type(ended) is Ended


def test_a_blocking_handler_holds_up_an_asyncio_worker_s_whole_loop(tmp_path: Path) -> None:
    """The lesson of the kind: a plain function that takes long blocks every task."""
    gate = tmp_path / "gate"
    worker = doer.start("asyncio", handlers=HANDLERS)
    try:
        held = worker.tell(("gate", str(gate)))
        sleeper = worker.tell(("sleep", 0))
        with pytest.raises(TimeoutError):
            sleeper.wait(0.2)  # the loop is blocked in the gate handler
        gate.touch()
        assert held.result(T) == "passed gate"
        assert sleeper.result(T) == "slept 0 s"
    finally:
        worker.stop()


async def test_waiting_for_an_asyncio_worker_s_answer_on_its_own_loop_is_refused() -> None:
    """result() there would wait for the loop it blocks: refused, and await works."""
    async with doer.start("asyncio") as worker:
        pending = worker.tell("ping")
        with pytest.raises(RuntimeError, match="await the Pending instead"):
            pending.result(1)
        assert await pending == "pong"
    assert type(worker.ended) is Ended


def test_an_asyncio_worker_s_own_loop_thread_ends_with_a_task_that_stop_gave_up_on(
    tmp_path: Path,
) -> None:
    """A blocking handler outlasts stop(); when it returns, the loop thread goes too."""
    gate = tmp_path / "gate"
    worker = doer.start("asyncio", handlers=HANDLERS)
    worker.tell(("gate", str(gate)))
    assert worker.stop(timeout=0.2) is None, "the task is stuck in a blocking handler"
    assert f"{worker.name}-loop" in {thread.name for thread in threading.enumerate()}
    gate.touch()
    wait_until(
        lambda: f"{worker.name}-loop" not in {thread.name for thread in threading.enumerate()},
        T,
        "the worker's loop thread to end",
    )
    assert worker.ended is not None


def test_an_asyncio_worker_s_own_loop_stops_when_its_end_is_read_before_its_task_is_done() -> None:
    """The end record is handed over before the task is done, so the reader can read it
    and let the link go while the task's done-callback has yet to run. The loop thread
    must stop all the same.

    That order is forced here, not left to chance: the last handler queues ``exit``
    on the loop (so the task ends in that very step) and a callback that holds the
    loop, which runs before the task's done-callback. The loop stays held until the
    reader has delivered the end and let the link go.
    """
    loop_held, let_go = threading.Event(), threading.Event()

    def hold_the_loop() -> None:
        loop_held.set()
        let_go.wait(T)  # bounded: a failing test must not hang

    def last(doer_: object) -> str:
        worker.ask_to_stop()  # on the loop: put on the task's queue at once, taken next
        asyncio.get_running_loop().call_soon(hold_the_loop)  # before the done-callback
        return "last"

    worker = doer.start("asyncio", handlers={"last": last})  # no loop here: one of its own
    [loop_thread] = [
        thread for thread in threading.enumerate() if thread.name == f"{worker.name}-loop"
    ]
    worker.tell("last")
    assert loop_held.wait(T)
    # The reader delivers the end and lets the link go, while the task is not done yet.
    assert worker.wait_ended(T) and isinstance(worker.ended, Ended)
    assert loop_thread.is_alive(), "the task's done-callback has not run yet"

    let_go.set()

    loop_thread.join(T)
    assert not loop_thread.is_alive(), "the loop thread outlives its task"
