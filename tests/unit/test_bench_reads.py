"""The benchmarks read the lessons' answers as the lessons give them today.

``make bench`` is never part of ``make test`` (it takes minutes and times
things), so a lesson whose answer changes shape could break a bench group
unseen: here the lessons group's readers run on real answers, quickly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

import doer
from support.helpers import ROOT


@pytest.fixture
def bench_lessons() -> Iterator[Any]:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from benchmarks import lessons

        yield lessons
    finally:
        sys.path.remove(str(ROOT / "scripts"))


@pytest.fixture
def two_threads() -> Iterator[list[doer.Worker]]:
    workers = [doer.start("thread", name=f"bench-t{n}") for n in (1, 2)]
    yield workers
    assert doer.stop_all(workers) == []


def test_the_bench_reads_the_updates_the_race_lesson_lost(
    bench_lessons: Any, two_threads: list[doer.Worker]
) -> None:
    assert bench_lessons.race(two_threads, ("race", 1000, "lock")) == 0
    assert 0 <= bench_lessons.race(two_threads, ("race", 1000)) <= 2000
    # Racers that never overlap each sum up: the summary over both counts.
    answers = ["0 of 1,000 lost: no other racer ran", "5 of 2,000 lost: read, forced switch, write"]
    assert bench_lessons.lost_in(answers) == 5


def test_the_bench_reads_how_long_work_ran_from_its_timed_replies(
    bench_lessons: Any, two_threads: list[doer.Worker]
) -> None:
    span = bench_lessons.span_of(two_threads, ("work", 10_000))
    assert 0 < span < 60
