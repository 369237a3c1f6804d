"""Restart policies through the library, on every kind (:mod:`doer.client.supervision`).

A supervised worker that dies is started afresh in its place: the request
that killed it, and what it had pending, fail once each; what is sent while
it restarts is answered once, by the fresh worker; the budget gives up on a
worker that keeps dying; ``stop()`` ends it for good under any policy.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

import doer
from doer.base.protocol import Died, Ended, Failure, Reply, Restarted, Started
from doer.client.supervision import RestartPolicy, Supervisor
from support.helpers import START_TIMEOUT_S, Recorder, WorkerFactory, pid_is_gone, wait_until


def restarted(worker: doer.Worker) -> Started:
    """Wait for a restart under way to be done, and for the fresh worker's start."""
    assert worker.wait_restarted(START_TIMEOUT_S)
    return worker.wait_started(START_TIMEOUT_S)


def test_a_worker_that_dies_is_restarted_fresh_with_the_state_it_was_given(
    make_worker: WorkerFactory,
) -> None:
    recorder = Recorder()
    worker = make_worker("given", listener=recorder, restart="on-failure")
    first = worker.started
    assert first is not None
    worker.ask("set-state changed")

    with pytest.raises(doer.WorkerError, match="unanswered: the worker died"):
        worker.ask("die")
    fresh = restarted(worker)

    assert worker.ended is None and worker.ask("get-state") == "state: given"
    assert [(r.old_pid, r.new_pid) for r in worker.restarts] == [(first.pid, fresh.pid)]
    assert worker.restarts[0].why.startswith("died: ")
    lines = [record.text for record in recorder.records if type(record) is Restarted]
    assert lines == [f"restarted (1 of 3 in 5 s) after it {worker.restarts[0].why}"]
    # In order: the failure of the request that killed it, the restart, the fresh start.
    kinds = [type(record) for record in recorder.records if type(record) is not Reply]
    assert kinds == [Started, Failure, Restarted, Started]
    if worker.own_process:
        assert fresh.pid != first.pid and pid_is_gone(first.pid)


def test_the_budget_gives_up_and_the_worker_stays_dead(make_worker: WorkerFactory) -> None:
    worker = make_worker(restart="on-failure", max_restarts=2, within=60)
    for _ in range(2):
        with pytest.raises(doer.WorkerError):
            worker.ask("die")
        restarted(worker)
    with pytest.raises(doer.WorkerError):
        worker.ask("die")
    assert worker.wait_restarted(START_TIMEOUT_S)

    assert isinstance(worker.ended, Died)
    assert worker.gave_up == "gave up: 2 restarts in 60 s spent its budget"
    assert len(worker.restarts) == 2
    with pytest.raises(doer.WorkerGone, match="; gave up: 2 restarts in 60 s spent its budget"):
        worker.ask("ping")


def test_exit_ends_an_on_failure_worker_and_restarts_an_always_one(
    make_worker: WorkerFactory,
) -> None:
    on_failure = make_worker(restart="on-failure")
    always = make_worker(restart="always")

    assert isinstance(on_failure.ask("exit"), Ended)
    assert isinstance(always.ask("exit"), Ended)  # its exit is answered with its end
    restarted(always)

    assert on_failure.wait_ended(START_TIMEOUT_S) and on_failure.restarts == []
    assert always.ended is None and [r.why for r in always.restarts] == ["ended: exit"]
    assert always.ask("ping") == "pong"


def test_stop_ends_an_always_worker_for_good(make_worker: WorkerFactory) -> None:
    worker = make_worker(restart="always")

    end = worker.stop()

    assert isinstance(end, Ended) and worker.restarts == []
    assert not worker.alive


def test_requests_sent_while_it_restarts_are_answered_once_by_the_fresh_worker(
    make_worker: WorkerFactory,
) -> None:
    """The restart is held at a gate (where it loads the handlers again) while
    requests are sent: they wait for the fresh worker, none is lost, none runs twice."""
    gate, at_gate = threading.Event(), threading.Event()

    def handlers_once_the_gate_opens() -> None:
        at_gate.set()
        assert gate.wait(START_TIMEOUT_S)

    recorder = Recorder()
    worker = make_worker(
        0,
        listener=recorder,
        restart="on-failure",
        reload_handlers=handlers_once_the_gate_opens,
    )
    dying = worker.tell("die")
    assert at_gate.wait(START_TIMEOUT_S)
    sent = worker.tell_many([("set-state", n) for n in range(1, 51)] + ["get-state"])
    assert not any(pending.done() for pending in sent)  # held: nobody to answer yet
    gate.set()

    assert isinstance(dying.wait(START_TIMEOUT_S), Failure)
    answers = [pending.result(START_TIMEOUT_S) for pending in sent]
    assert answers == [f"new state: {n}" for n in range(1, 51)] + ["state: 50"]
    replies = [record.request_id for record in recorder.records if type(record) is Reply]
    assert sorted(replies) == sorted({pending.request_id for pending in sent})


def test_what_the_dead_worker_had_pending_fails_once_each(make_worker: WorkerFactory) -> None:
    worker = make_worker(restart="on-failure")
    # Sent together: the die and the requests queued behind it, which never ran.
    sent = worker.tell_many(["die", "ping", "ping"])
    records = [pending.wait(START_TIMEOUT_S) for pending in sent]
    restarted(worker)

    assert all(type(record) is Failure for record in records)
    assert [record.error.split(":")[0] for record in records] == [
        f"request {pending.request_id} ({name}) unanswered"
        for pending, name in zip(sent, ["die", "ping", "ping"], strict=True)
    ]
    assert worker.ask("ping") == "pong"


def test_a_restart_that_fails_gives_up_with_why(make_worker: WorkerFactory) -> None:
    def no_handlers() -> Any:
        raise ValueError("the handlers do not load now")

    worker = make_worker(restart="on-failure", reload_handlers=no_handlers)
    with pytest.raises(doer.WorkerError):
        worker.ask("die")
    assert worker.wait_restarted(START_TIMEOUT_S)

    assert isinstance(worker.ended, Died)
    assert worker.gave_up == "gave up: its restart failed: the handlers do not load now"


def test_a_process_killed_from_outside_or_crashing_is_restarted(
    make_process_worker: WorkerFactory,
) -> None:
    worker = make_process_worker(restart="on-failure")
    killed_pid = worker.pid

    assert worker.kill()
    wait_until(lambda: len(worker.restarts) == 1, START_TIMEOUT_S, "the restart after a kill")
    second = restarted(worker)
    with pytest.raises(doer.WorkerError):
        worker.ask("segfault")
    third = restarted(worker)

    whys = [restart.why for restart in worker.restarts]
    assert whys == ["died: killed by SIGKILL", "died: killed by SIGSEGV"]
    assert len({killed_pid, second.pid, third.pid}) == 3
    wait_until(lambda: pid_is_gone(killed_pid) and pid_is_gone(second.pid), 5, "old pids gone")


def test_a_request_sent_as_it_dies_waits_for_the_fresh_worker(
    make_process_worker: WorkerFactory,
) -> None:
    """Dead, and asked before its death is read: the request finds the pipe closed,
    and waits for the fresh worker, which answers it (not lost, not said to be sent
    to a worker gone). The reader is held in the listener meanwhile."""
    gate = threading.Event()

    def listener(worker: doer.Worker, record: object) -> None:
        if type(record) is Reply and record.value == "pong":
            assert gate.wait(START_TIMEOUT_S)

    worker = make_process_worker(listener=listener, restart="on-failure")
    dead = worker.pid
    worker.tell_many(["ping", "die"])
    wait_until(lambda: fully_exited(dead), START_TIMEOUT_S, "the worker's every thread gone")

    asked = worker.tell("whoami")
    gate.set()

    assert asked.result(START_TIMEOUT_S).startswith(f"pid {worker.pid},")
    assert worker.pid != dead and [r.old_pid for r in worker.restarts] == [dead]


def fully_exited(pid: int) -> bool:
    """Whether every thread of process ``pid`` has exited, so its descriptors are closed
    (its main thread alone a zombie: it may turn zombie while others still run)."""
    if pid_is_gone(pid) is False:
        return False
    try:
        return len(os.listdir(f"/proc/{pid}/task")) <= 1
    except FileNotFoundError:
        return True


def test_a_worker_without_a_policy_is_never_restarted(make_worker: WorkerFactory) -> None:
    worker = make_worker()
    with pytest.raises(doer.WorkerError):
        worker.ask("die")
    assert worker.wait_ended(START_TIMEOUT_S)
    assert worker.restarts == [] and worker.restart_policy == RestartPolicy()


# --- the policy and its budget, without a worker ----------------------------------------


def test_the_budget_counts_the_restarts_within_its_window() -> None:
    now = [0.0]
    supervisor = Supervisor(RestartPolicy("on-failure", 2, 5.0), lambda: None, lambda: now[0])  # type: ignore[arg-type, return-value]
    died = Died("killed by SIGSEGV")

    decisions = []
    for at in (0.0, 1.0, 2.0, 5.5, 6.5, 6.9):
        now[0] = at
        decisions.append(supervisor.should_restart(died))

    # 2 in any 5 s: the third at 2.0 is one too many; at 5.5 the one at 0.0 has left
    # the window, at 6.5 the one at 1.0; at 6.9 two (5.5, 6.5) are in it again.
    assert decisions == [True, True, False, True, True, False]


def test_on_failure_restarts_deaths_only_and_always_every_end() -> None:
    died, ended = Died("exit code 3"), Ended(1, None, 1, "")
    assert RestartPolicy("on-failure").wants(died) and not RestartPolicy("on-failure").wants(ended)
    assert RestartPolicy("always").wants(died) and RestartPolicy("always").wants(ended)
    assert not RestartPolicy("never").supervised
    assert not RestartPolicy("always", 0).supervised


@pytest.mark.parametrize(
    ("when", "most", "within", "error"),
    [
        ("sometimes", 3, 5.0, "no restart policy 'sometimes': choose never, on-failure, always"),
        ("always", -1, 5.0, "--max-restarts takes a whole number >= 0, not -1"),
        ("on-failure", 0, 5.0, "--restart on-failure with --max-restarts 0 would never restart"),
        ("always", 3, 0.0, "--within takes a number of seconds > 0, not 0.0"),
    ],
)
def test_a_bad_policy_is_one_clear_error(when: str, most: int, within: float, error: str) -> None:
    with pytest.raises(ValueError, match=f"^{error}$"):
        doer.start("thread", restart=when, max_restarts=most, within=within)


def test_more_requests_held_during_a_restart_than_a_pipe_holds_are_all_answered(
    make_process_worker: WorkerFactory,
) -> None:
    """Sent to the fresh worker while its answers are read: 20,000 requests do not fit
    in a pipe, and a reader busy writing them would never read the answers that the
    worker, its response pipe full, waits to write."""
    gate, at_gate = threading.Event(), threading.Event()

    def handlers_once_the_gate_opens() -> None:
        at_gate.set()
        assert gate.wait(START_TIMEOUT_S)

    worker = make_process_worker(restart="on-failure", reload_handlers=handlers_once_the_gate_opens)
    worker.tell("die")
    assert at_gate.wait(START_TIMEOUT_S)
    sent = worker.tell_many(["ping"] * 20_000)
    gate.set()

    assert [pending.result(START_TIMEOUT_S) for pending in sent] == ["pong"] * 20_000
