"""Fixtures that start workers of every kind and always clean them up.

Every worker behaviour is tested on every kind by one parametrized fixture::

    worker          one worker, state 42, of each kind:
                    thread, process-fork, process-spawn, process-forkserver
    make_worker     a factory for more workers of that kind, with handlers or a listener
    process_worker, make_process_worker
                    the same for the process kinds only (kill, pickling, signals)

Teardown stops every worker the test started, then checks that it is gone:
its reply reader and (for a thread) its worker thread have stopped, and no
child process is left behind.

And for the end-to-end tests::

    launch          start ``doer ARGS`` in a pty, wait for its first prompt;
                    every console is closed at teardown
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import doer
from support import command_methods
from support.helpers import ALL_KINDS, INTERPRETER, PROCESS_KINDS, THREAD, Kind, WorkerFactory
from support.pty_helpers import Terminal

command_methods.install()  # console.table("all") and the like, in tests only


def _factory(kind: Kind) -> Iterator[WorkerFactory]:
    factory = WorkerFactory(kind)
    yield factory
    factory.stop_all()


@pytest.fixture(params=ALL_KINDS, ids=str)
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each kind of worker in turn."""
    param: Kind = request.param
    return param


@pytest.fixture(params=PROCESS_KINDS, ids=str)
def process_kind(request: pytest.FixtureRequest) -> Kind:
    """Each start method of a process worker in turn."""
    param: Kind = request.param
    return param


@pytest.fixture
def make_worker(kind: Kind) -> Iterator[WorkerFactory]:
    """A factory for workers of each kind; all are stopped and checked at teardown."""
    yield from _factory(kind)


@pytest.fixture
def make_process_worker(process_kind: Kind) -> Iterator[WorkerFactory]:
    """As ``make_worker``, for the process kinds only."""
    yield from _factory(process_kind)


@pytest.fixture
def make_interpreter() -> Iterator[WorkerFactory]:
    """Interpreter workers only (Python 3.13 and later); stopped and checked after."""
    yield from _factory(INTERPRETER)


@pytest.fixture
def make_thread() -> Iterator[WorkerFactory]:
    """Thread workers only, for the lessons about threads; stopped and checked after."""
    yield from _factory(THREAD)


@pytest.fixture
def worker(make_worker: WorkerFactory) -> doer.Worker:
    """A started worker of each kind, with state 42."""
    return make_worker()


@pytest.fixture
def process_worker(make_process_worker: WorkerFactory) -> doer.Worker:
    """A started process worker for each start method, with state 42."""
    return make_process_worker()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    """Start ``doer ARGS`` in a pty and wait for its first prompt; always torn down."""
    terminals: list[Terminal] = []

    def start(*args: str) -> Terminal:
        term = Terminal(args, tmp_path)
        terminals.append(term)
        term.start()
        return term

    yield start
    for term in terminals:
        term.close()
