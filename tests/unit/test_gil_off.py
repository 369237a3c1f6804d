"""Threads with the GIL off: what only a free-threaded Python (3.13t and later) shows.

Skipped under a Python with the GIL; ``make test`` runs this file again under
the free-threaded build of ``make free-threaded`` (``.venv-ft``) where one is
found. The answers' wording is checked everywhere with stubbed clocks
(test_lessons_truth.py); here the interpreter itself has no GIL.
"""

from __future__ import annotations

import pytest

from doer.base.protocol import Reply
from doer.lessons.handlers import gil_enabled
from support.helpers import WorkerFactory

T = 30.0

pytestmark = pytest.mark.skipif(
    gil_enabled(), reason="the GIL is on here (make test runs it under .venv-ft, the GIL off)"
)


def test_whoami_says_the_gil_is_off(make_thread: WorkerFactory) -> None:
    assert make_thread().ask("whoami", timeout=T).endswith("GIL off: threads run in parallel")


def test_two_threads_work_at_once_and_wait_for_no_gil(make_thread: WorkerFactory) -> None:
    """What ``@t1,t2 work`` and ``.timeline`` show: two bars side by side, and neither
    answer puts a wait down to a GIL (what it waited for, if anything, was a CPU)."""
    workers = [make_thread(), make_thread()]

    pendings = [worker.tell(("work", 2_000_000), timed=True) for worker in workers]
    replies = [pending.wait(T) for pending in pendings]

    assert all(isinstance(reply, Reply) for reply in replies), replies
    answers = [reply.value for reply in replies]  # type: ignore[union-attr]
    assert all(answer.endswith("(GIL off)") for answer in answers), answers
    assert not any("waiting for the GIL" in answer for answer in answers), answers
    (start_a, end_a), (start_b, end_b) = (reply.times[:2] for reply in replies)  # type: ignore[union-attr]
    assert max(start_a, start_b) < min(end_a, end_b), "the two ran at the same time"


def test_the_natural_race_says_the_gil_is_off(make_thread: WorkerFactory) -> None:
    """No switch is forced: with the GIL off the racers read and write at the same
    time, and the answer says so (on two free CPUs, hundreds of thousands lost)."""
    racers = [make_thread(), make_thread()]

    pendings = [racer.tell(("race", 500_000, "natural")) for racer in racers]
    answers = [pending.result(T) for pending in pendings]

    [last] = [answer for answer in answers if " lost" in answer]
    assert last.endswith(("lost: GIL off, they ran at once", "lost: GIL off, yet none crossed"))
