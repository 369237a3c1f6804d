"""Threads with the GIL off: what only a free-threaded Python (3.13t and later) shows.

Skipped under a Python with the GIL; ``make test`` runs this file again under
the free-threaded build of ``make free-threaded`` (``.venv-ft``) where one is
found. The answers' wording is checked everywhere with stubbed clocks
(test_lessons_truth.py); here the interpreter itself has no GIL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

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


def test_status_says_the_gil_is_off() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "doer", "-c", ".status"], capture_output=True, text=True, timeout=T
    )
    assert "GIL off: its threads run in parallel" in run.stdout, run.stdout


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


#: An extension module that has not declared it runs without the GIL: importing it
#: turns the GIL back on (single-phase init, no Py_mod_gil).
NOT_DECLARED = """
#include <Python.h>
static struct PyModuleDef definition = {PyModuleDef_HEAD_INIT, "gilly", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_gilly(void) { return PyModule_Create(&definition); }
"""


#: Typed after the import: whoami in the first worker, work in one started after.
LINES = ["-c", "whoami", "-c", ".spawn t2 thread", "-c", "@t2 work 1000"]


def test_an_import_that_turns_the_gil_back_on_is_said_once_and_the_lessons_say_gil_on(
    tmp_path: Path,
) -> None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build a module that turns the GIL back on")
    source = tmp_path / "gilly.c"
    source.write_text(NOT_DECLARED)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    include = sysconfig.get_paths()["include"]
    built = tmp_path / f"gilly{suffix}"
    subprocess.run([compiler, "-shared", "-fPIC", f"-I{include}", str(source), "-o", str(built)])
    handlers = tmp_path / "uses_gilly.py"
    # Imported by the console and by each worker: said once all the same.
    handlers.write_text(
        "import doer\nimport gilly\n\n\n@doer.handler\ndef hi(worker):\n    return 1\n"
    )

    run = subprocess.run(
        [sys.executable, "-m", "doer", "--handlers", str(handlers), *LINES],
        capture_output=True,
        text=True,
        timeout=T,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])},
    )

    assert run.returncode == 0, run.stderr
    assert (
        run.stderr == "doer: GIL on: module 'gilly' turned it back on (PYTHON_GIL=0 keeps it off)\n"
    )
    whoami, work = run.stdout.splitlines()[0], run.stdout.splitlines()[-1]
    assert whoami.endswith(", GIL on"), run.stdout
    assert "GIL off" not in work, run.stdout
