"""What every group of rows shares: the row, the verdict, the statistics, the environment.

Nothing here measures anything. The statistics are the few the report uses:
nearest-rank percentiles of one round's samples, the median over rounds, and
the quartiles of per-round ratios (their spread is printed next to the
verdict, so a reader sees how far from the target the noise reaches).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from doer.base.procfs import set_child_subreaper, stat_fields
from doer.testing.driver import doer_command

#: The console, as installed next to the interpreter running the bench.
DOER_SCRIPT = doer_command()


# --- rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the report.

    ``result`` is ``PASS`` or ``MISS`` against the target, ``n/a`` when the
    figure could not be measured (``doer`` then says why), or empty for a
    figure printed without a target.
    """

    measure: str
    doer: str
    baseline: str
    versus: str = ""
    target: str = ""
    result: str = ""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def not_measured(measure: str, reason: str, target: str = "") -> Row:
    """A row that could not be measured, saying why, rather than a crash."""
    return Row(measure, f"n/a ({reason})", "", "", target, "n/a")


def first_line(error: BaseException) -> str:
    """An exception as a short reason for a row: its first line, or its type."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- statistics ----------------------------------------------------------------------


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (``fraction`` 0.99 is p99)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """The first and third quartiles (the interquartile range's ends)."""
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def ratio_with_spread(ratio: float, ratios: Sequence[float]) -> str:
    """``1.12x (IQR 1.08-1.17)``: a ratio, and the spread of the ratios it sums up."""
    q1, q3 = quartiles(ratios)
    return f"{ratio:.2f}x (IQR {q1:.2f}-{q3:.2f})"


# --- figures -------------------------------------------------------------------------


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.inf


def per_second(value: float) -> str:
    return f"{value:,.0f}/s"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


# --- the environment of everything the bench starts -------------------------------------


def prepare_environment(scratch: Path) -> None:
    """Set, for every process the bench starts from now on, what a user's install has.

    Bytecode is cached (under ``scratch``): where ``PYTHONDONTWRITEBYTECODE``
    is set, as in this project's sessions, every console launched and every
    spawned worker would compile doer's modules again, while prompt-toolkit's
    come precompiled from its install. History and state go under ``scratch``
    too, never in ``~``.
    """
    (scratch / "state").mkdir(exist_ok=True)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    os.environ["XDG_STATE_HOME"] = str(scratch / "state")


# --- how busy the machine was ------------------------------------------------------------


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds the whole machine and the bench (with its reaped children) had used."""

    machine_s: float
    own_s: float
    wall_s: float


def cpu_snapshot() -> CpuSnapshot:
    """Read /proc/stat's busy time (all CPUs) and this process's own, children included."""
    own = os.times()
    own_s = own.user + own.system + own.children_user + own.children_system
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return CpuSnapshot(math.nan, own_s, time.monotonic())
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    return CpuSnapshot(busy, own_s, time.monotonic())


def others_share(before: CpuSnapshot, after: CpuSnapshot) -> float:
    """The share of the machine's CPU time others used between two snapshots (0 to 1).

    What the bench itself used (its children once reaped) is left out; what it
    cannot see (a console's worker not yet reaped, multiprocessing's helpers)
    counts as others', so the figure errs on the busy side.
    """
    capacity = (after.wall_s - before.wall_s) * (os.cpu_count() or 1)
    others = (after.machine_s - before.machine_s) - (after.own_s - before.own_s)
    return max(0.0, others / capacity) if capacity > 0 else math.nan


# --- processes -------------------------------------------------------------------------


def become_subreaper() -> bool:
    """Adopt orphaned descendants (a worker whose console died), so they can be reaped.

    PID 1 of a container may never reap orphans: as a subreaper the bench sees
    them, and :func:`leftovers` reports any that are still running.
    """
    return set_child_subreaper(True)


def children_of(pid: int) -> list[int]:
    """The pids whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = stat_fields(int(entry.name))
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def is_multiprocessing_helper(pid: int) -> bool:
    """multiprocessing's resource tracker or forkserver: they end when the bench does."""
    line = command_line(pid)
    return "multiprocessing.resource_tracker" in line or "multiprocessing.forkserver" in line


def reap_children() -> None:
    """Collect every child that has exited (adopted orphans included)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def leftovers() -> list[str]:
    """What the bench started and is still running, killed: ``pid command`` each.

    multiprocessing's helpers are left alone: they end when the bench does.
    """
    reap_children()
    left = []
    for pid in children_of(os.getpid()):
        if is_multiprocessing_helper(pid):
            continue
        left.append(f"{pid} {command_line(pid).strip() or '(exited)'}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    reap_children()
    return left


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.005) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)  # a poll interval with a deadline, not a synchronisation
    return True


@contextlib.contextmanager
def pinned(cpus: frozenset[int]) -> Iterator[None]:
    """Run the calling thread on ``cpus`` for the block, then on what it had before."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
