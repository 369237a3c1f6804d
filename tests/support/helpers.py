"""What the tests share: the kinds of worker, a worker factory, a recording listener,
waiting for a condition, and telling whether a pid is gone.

The fixtures built on these live in ``conftest.py``.
"""

from __future__ import annotations

import importlib.util
import io
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import doer
from doer.base.protocol import Died, Ended, Record
from doer.client.worker import Listener
from doer.kinds import link_class
from doer.worker.doer import Handler

ROOT = Path(__file__).resolve().parent.parent.parent


def load_script(name: str) -> Any:
    """The module ``scripts/NAME.py`` (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    sys.modules[name] = script  # its dataclasses look themselves up there
    spec.loader.exec_module(script)
    return script


#: Generous: a spawned worker starts in well under a second, even on a busy machine.
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Kind:
    """One way to run a worker: a kind and, for a process, its start method."""

    kind: str
    start_method: str | None = None

    def __str__(self) -> str:
        return self.kind if self.start_method is None else f"{self.kind}-{self.start_method}"


THREAD = Kind("thread")
ASYNCIO = Kind("asyncio")
INTERPRETER = Kind("interpreter")
PROCESS_KINDS = [Kind("process", method) for method in doer.START_METHODS]

#: Why this Python runs no subinterpreter worker (3.11, 3.12), or None. Then the
#: interpreter kind is left out of the kinds every test runs on; make test runs
#: those tests again under Python 3.13 (tests/test_this_python.py says where).
NO_INTERPRETERS = link_class("interpreter").unavailable()
INTERPRETER_KINDS = [] if NO_INTERPRETERS else [INTERPRETER]
ALL_KINDS = [THREAD, ASYNCIO, *PROCESS_KINDS, *INTERPRETER_KINDS]

#: The kinds as the console's --kind names them (process: the default start method).
#: The ray kind needs a cluster, seconds to start: tests/ray_kind/test_ray.py shares one
#: per module, and runs the same checks there.
CONSOLE_KINDS = [
    kind for kind in doer.KINDS if kind != "ray" and (kind != "interpreter" or not NO_INTERPRETERS)
]


class WorkerFactory:
    """Starts workers of one kind for a test and stops them all afterwards."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.workers: list[doer.Worker] = []
        # Children already running are not this factory's (a worker shared by a
        # module's tests, and its Ray driver): its own are those started after.
        self._children_before = set(multiprocessing.active_children())

    def __call__(
        self,
        state: Any = 42,
        *,
        handlers: Mapping[str, Handler] | None = None,
        listener: Listener | None = None,
        **options: Any,
    ) -> doer.Worker:
        """Start a worker, wait for its start event and return it (``options``: the
        rest of :func:`doer.start`'s, a restart policy say)."""
        worker = doer.start(
            self.kind.kind,
            state,
            start_method=self.kind.start_method,
            handlers=handlers,
            listener=listener,
            **options,
        )
        self.workers.append(worker)  # before waiting: a worker that fails to start is stopped too
        worker.wait_started(START_TIMEOUT_S)
        return worker

    def stop_all(self) -> None:
        """Stop every worker, then fail if any of them left something running."""
        problems = []
        for worker in self.workers:
            try:
                worker.stop()
            except Exception as exc:  # report it, and still stop the others
                problems.append(f"{worker!r}: stop() raised {exc!r}")
        problems += [problem for worker in self.workers for problem in leftovers(worker)]
        problems += [
            f"child process left: {child!r}"
            for child in multiprocessing.active_children()
            if child not in self._children_before
        ]
        assert not problems, "\n".join(problems)


def leftovers(worker: doer.Worker) -> list[str]:
    """What ``worker`` left running after ``stop()``: nothing, if all went well."""
    problems = []
    if worker.ended is None:
        problems.append(f"{worker!r} has no end record after stop()")
    if worker.alive:
        problems.append(f"{worker!r} is still alive after stop()")
    running = {thread.name for thread in threading.enumerate()}
    wanted_gone = [f"{worker.name}-replies", f"{worker.name}-resend"]
    if worker.kind in ("thread", "interpreter"):
        wanted_gone.append(f"{worker.name}-worker")
    if worker.kind == "asyncio":
        wanted_gone.append(f"{worker.name}-loop")
    problems += [f"thread {name} still runs" for name in wanted_gone if name in running]
    if worker.kind in ("process", "ray") and not pid_is_gone(worker.pid):
        problems.append(f"worker process {worker.pid} still runs")  # a Ray worker's: its actor
    return problems


class Recorder:
    """A listener that keeps every record and says when the worker has ended or died."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.workers: list[doer.Worker] = []
        self.finished = threading.Event()

    def __call__(self, worker: doer.Worker, record: Record) -> None:
        self.workers.append(worker)
        self.records.append(record)
        if type(record) is Ended or type(record) is Died:
            self.finished.set()


# --- waiting -------------------------------------------------------------------

#: How often :func:`wait_until` looks again. Short, so a prompt event is seen promptly.
POLL_INTERVAL_S = 0.002


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until it holds; return how long that took, in seconds.

    This is polling with a deadline, not a sleep used as synchronisation: it
    returns as soon as the condition holds.

    Raises:
        AssertionError: ``condition`` still does not hold after ``timeout``
            seconds; the message says ``what`` was expected.
    """
    start = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - start
        if elapsed > timeout:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(POLL_INTERVAL_S)
    return time.monotonic() - start


def stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the name: state, ppid, pgrp, ... The one
    place the tests read that file.

    Raises:
        FileNotFoundError: no such process; OSError: no /proc here.
    """
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        return stat.read().rpartition(")")[2].split()  # the name in parentheses may hold spaces


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (``R``, ``S``, ``Z`` for a zombie...), or None if it
    does not exist."""
    try:
        return stat_fields(pid)[0]
    except FileNotFoundError:
        return None
    except OSError:  # no /proc: ask the kernel (a zombie then looks alive)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return "?"


def cpu_seconds(pid: int) -> float:
    """The CPU time process ``pid`` has used so far, user and system, in seconds."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def pid_is_gone(pid: int) -> bool:
    """True when process ``pid`` has exited, reaped or not.

    A zombie counts as gone here: whether it is reaped at once depends on who
    its parent is, which is not what the library tests are about. (The end-to-
    end tests, where a clean console must reap its worker, use
    ``support.pty_helpers.wait_gone``, for which a zombie is not gone.)
    """
    return process_state(pid) in (None, "Z", "X")


class SeesText(io.StringIO):
    """An output that sets ``seen`` once ``text`` has been written to it: a handler
    can wait on it, to answer only once the console has printed that far."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text, self.seen = text, threading.Event()

    def write(self, s: str) -> int:
        written = super().write(s)
        if self.text in self.getvalue():
            self.seen.set()
        return written


def gate_opened_by(out: SeesText) -> Callable[[object], str]:
    """A ``gate`` handler that answers once ``out.text`` has been printed."""

    def gate(doer: object) -> str:
        assert out.seen.wait(10), f"{out.text!r} never printed"
        return "opened"

    return gate
