"""Bounded mailboxes through the library, on every kind: at most N requests pending.

A worker held at a gate keeps its requests pending, so the mailbox fills and
stays full until the test opens the gate.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import doer
from support.handlers import HANDLERS
from support.helpers import START_TIMEOUT_S, WorkerFactory


def test_a_full_mailbox_refuses_at_once_or_after_a_timeout_and_sends_nothing(
    make_worker: WorkerFactory, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    worker = make_worker(handlers=HANDLERS, mailbox=2)
    held = [worker.tell(("gate", str(gate))), worker.tell("ping")]
    full = "doer-\\d+'s mailbox is full \\(2 pending\\): not sent"

    with pytest.raises(doer.MailboxFull, match=f"^{full}$"):
        worker.tell("ping", block=False)
    with pytest.raises(doer.MailboxFull, match=f"^{full}$"):
        worker.tell("ping", room_timeout=0.01)
    with pytest.raises(doer.MailboxFull):
        worker.ask("ping", timeout=0.01)

    assert worker.pending == 2 and worker.room == 0
    gate.touch()
    assert [pending.result(START_TIMEOUT_S) for pending in held] == ["passed gate", "pong"]
    assert worker.room == 2 and worker.ask("ping") == "pong"


def test_a_tell_waits_for_room_and_is_sent_once_there_is(
    make_worker: WorkerFactory, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    worker = make_worker(handlers=HANDLERS, mailbox=1)
    first = worker.tell(("gate", str(gate)))
    waited: list[doer.Pending] = []
    sender = threading.Thread(target=lambda: waited.append(worker.tell("ping")), name="sender")
    sender.start()
    sender.join(0.05)
    assert sender.is_alive() and worker.pending == 1  # still waiting for room

    gate.touch()
    sender.join(START_TIMEOUT_S)
    assert first.result(START_TIMEOUT_S) == "passed gate"
    assert [pending.result(START_TIMEOUT_S) for pending in waited] == ["pong"]


def test_many_senders_never_have_more_than_the_bound_pending(make_worker: WorkerFactory) -> None:
    """Eight threads race to send 50 requests each into a mailbox of 3: each is
    answered once, and the worker never has more than 3 pending."""
    most: list[int] = []
    worker = make_worker(0, mailbox=3, listener=lambda w, record: most.append(w.pending))
    pendings: list[doer.Pending] = []
    lock = threading.Lock()

    def send() -> None:
        for _ in range(50):
            pending = worker.tell("ping")
            with lock:
                pendings.append(pending)
            assert worker.pending <= 3

    senders = [threading.Thread(target=send, name=f"sender-{n}") for n in range(8)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(START_TIMEOUT_S * 3)

    assert [pending.result(START_TIMEOUT_S) for pending in pendings] == ["pong"] * 400
    assert len({pending.request_id for pending in pendings}) == 400
    assert max(most) <= 3


def test_a_tell_waiting_for_room_learns_that_the_worker_has_gone(
    make_process_worker: WorkerFactory, tmp_path: Path
) -> None:
    worker = make_process_worker(handlers=HANDLERS, mailbox=1)
    worker.tell(("gate", str(tmp_path / "never")))
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            worker.tell("ping")
        except doer.WorkerGone as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send, name="sender")
    sender.start()
    sender.join(0.05)
    assert sender.is_alive()
    worker.kill()
    sender.join(START_TIMEOUT_S)
    assert not sender.is_alive() and len(outcome) == 1


@pytest.mark.parametrize("bound", [0, -1, 2.5, "3"])
def test_a_bad_mailbox_is_one_clear_error(bound: object) -> None:
    with pytest.raises(ValueError, match="a mailbox takes a whole number >= 1 of requests"):
        doer.start("thread", mailbox=bound)  # type: ignore[arg-type]


def test_stop_never_waits_for_room_in_a_full_mailbox(
    make_process_worker: WorkerFactory, tmp_path: Path
) -> None:
    """Its ``exit`` goes past the bound: a worker stuck with a full mailbox is asked,
    then killed after the timeout, not waited for until room comes (the gate's 10 s)."""
    worker = make_process_worker(handlers=HANDLERS, mailbox=1)
    worker.tell(("gate", str(tmp_path / "never")))
    ended: list[object] = []
    stopper = threading.Thread(target=lambda: ended.append(worker.stop(0.2)), name="stopper")
    stopper.start()
    stopper.join(5.0)
    assert not stopper.is_alive() and ended and worker.ended is not None


async def test_a_tell_on_the_worker_s_own_loop_refuses_rather_than_block_it() -> None:
    """Waiting for room there would block the loop the answers need: MailboxFull."""
    async with doer.start("asyncio", mailbox=1) as worker:
        first = worker.tell(("sleep", 0.05))
        with pytest.raises(doer.MailboxFull):
            worker.tell("ping")
        assert await first == "slept 0.05 s"
