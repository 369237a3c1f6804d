"""The interpreter kind: a subinterpreter of the console's process (Python 3.13+).

The checks every kind passes run on it too (the ``kind`` fixture includes it
where this Python has subinterpreters); these are what only it shows: the
console's pid with memory and a GIL of its own, handler modules imported
inside it, a module that refuses subinterpreters, and, on a Python without
them, the one line that says what is needed. ``make test`` runs this file
under Python 3.13 as well as under the project's own Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import doer
from doer.base.protocol import Reply
from doer.worker.handler_modules import HandlerModules
from support.helpers import NO_INTERPRETERS, WorkerFactory, wait_until

T = 10.0

needs_interpreters = pytest.mark.skipif(
    NO_INTERPRETERS is not None, reason=f"{NO_INTERPRETERS} (make test runs it under 3.13)"
)


@pytest.mark.skipif(NO_INTERPRETERS is None, reason="this Python has subinterpreters")
def test_without_subinterpreters_the_kind_is_one_line_saying_what_it_needs() -> None:
    with pytest.raises(ValueError) as refused:
        doer.start("interpreter")
    said = str(refused.value)
    assert "needs Python 3.13 or later" in said and "doer[interpreters]" in said
    assert f"this is Python {sys.version.split()[0]}" in said and "\n" not in said

    run = subprocess.run(
        [sys.executable, "-m", "doer", "--kind", "interpreter"],
        capture_output=True,
        text=True,
        timeout=T * 3,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == f"doer: {said}\n"


@needs_interpreters
def test_the_console_s_pid_and_memory_and_a_gil_of_its_own(
    make_interpreter: WorkerFactory,
) -> None:
    first, second = make_interpreter(), make_interpreter()

    assert first.pid == second.pid == os.getpid()
    assert first.ask("incr", timeout=T) == second.ask("incr", timeout=T)  # each counts alone
    assert first.ask("whoami", timeout=T).endswith(", its own GIL")
    interpreters = {w.ask("whoami", timeout=T).split(", ")[1] for w in (first, second)}
    assert len(interpreters) == 2, "two interpreters, two ids"


@needs_interpreters
def test_racing_interpreters_lose_nothing_each_counts_its_own(
    make_interpreter: WorkerFactory,
) -> None:
    racers = [make_interpreter() for _ in range(2)]

    answers = [pending.result(T) for pending in [w.tell(("race", 20_000)) for w in racers]]

    assert answers == ["0 of 20,000 lost: its counter is its own"] * 2


@needs_interpreters
def test_two_interpreters_work_at_once_and_wait_for_no_gil(
    make_interpreter: WorkerFactory,
) -> None:
    """Each interpreter has a GIL of its own: two ``work`` run side by side, and what
    either waited for is put down to a CPU (a busy machine), never to a GIL."""
    workers = [make_interpreter() for _ in range(2)]

    pendings = [worker.tell(("work", 2_000_000), timed=True) for worker in workers]
    replies = [pending.wait(T * 3) for pending in pendings]

    assert all(isinstance(reply, Reply) for reply in replies), replies
    assert not any("GIL" in reply.value for reply in replies), replies  # type: ignore[union-attr]
    (start_a, end_a), (start_b, end_b) = (reply.times[:2] for reply in replies)  # type: ignore[union-attr]
    assert max(start_a, start_b) < min(end_a, end_b), "the two ran at the same time"


HERE = '''\
import doer

try:
    from concurrent.interpreters import get_current
except ImportError:
    from interpreters_backport.interpreters import get_current

LOADED_IN = get_current().id


@doer.handler
def loaded_in(worker):
    """the interpreter this module was imported in"""
    return LOADED_IN
'''


@needs_interpreters
def test_handler_modules_are_imported_inside_the_interpreter(
    make_interpreter: WorkerFactory, tmp_path: Path
) -> None:
    path = tmp_path / "here.py"
    path.write_text(HERE)
    worker = make_interpreter(handlers=HandlerModules([str(path)]))

    whoami = worker.ask("whoami", timeout=T)
    assert f"interpreter {worker.ask('loaded-in', timeout=T)}," in whoami


@needs_interpreters
def test_a_module_that_refuses_subinterpreters_is_one_line_and_no_worker(tmp_path: Path) -> None:
    path = tmp_path / "prompting.py"
    path.write_text("import readline\n")  # on 3.13: single-phase init, main interpreter only

    worker = doer.start("interpreter", handlers=HandlerModules([str(path)]))
    with pytest.raises(doer.WorkerGone) as gone:
        worker.wait_started(T)

    said = str(gone.value)
    assert "did not start: its handlers did not load: " in said, said  # an end, not a crash
    assert "readline does not support loading in subinterpreters" in said, said
    assert "prompting.py" in said and "\n" not in said
    wait_until(lambda: not worker.alive, T, "its thread to end")


@needs_interpreters
def test_many_interpreters_at_once(make_interpreter: WorkerFactory) -> None:
    workers = [make_interpreter(state=number) for number in range(8)]

    pendings = [worker.tell("get-state") for worker in workers]

    assert [pending.result(T) for pending in pendings] == [f"state: {n}" for n in range(8)]
    assert len({worker.ask("whoami", timeout=T) for worker in workers}) == 8


@needs_interpreters
def test_kill_is_refused_as_for_a_thread(make_interpreter: WorkerFactory) -> None:
    worker = make_interpreter()

    assert worker.kill() is False
    assert worker.ask("ping", timeout=T) == "pong", "it goes on"


#: Lines typed for .peek: the worker's state and counter change, the console's do not.
PEEKED = ["-c", "set-state 7", "-c", "incr", "-c", ".peek"]


@needs_interpreters
def test_peek_shows_the_console_s_copy_and_where_the_worker_s_counter_is() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "doer",
            "--kind",
            "interpreter",
            "--state",
            "42",
            "--name",
            "i1",
            *PEEKED,
        ],
        capture_output=True,
        text=True,
        timeout=T * 3,
    )

    assert run.returncode == 0, run.stderr
    assert "[console] i1's state: 42 (the console's copy; i1 said 7)" in run.stdout
    assert "[console] counter: 0 (the console's; i1's is in its own interpreter)" in run.stdout


@needs_interpreters
def test_a_fork_is_refused_while_an_interpreter_runs_and_allowed_after(
    make_interpreter: WorkerFactory,
) -> None:
    """CPython aborts the child of a fork made while subinterpreters exist: refused in
    one line, rather than a worker that dies before it starts."""
    from doer.kinds.process.link import FORK_REFUSED

    interpreter = make_interpreter()
    with pytest.raises(ValueError, match=FORK_REFUSED):
        doer.start("process", start_method="fork")
    spawned = doer.start("process", start_method="spawn")
    assert spawned.ask("ping", timeout=T) == "pong"
    spawned.stop()

    interpreter.stop()
    forked = doer.start("process", start_method="fork")
    assert forked.ask("ping", timeout=T) == "pong"
    forked.stop()
