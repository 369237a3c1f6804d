"""Memory: the console's RSS with 32 workers, and what each worker costs, per kind.

One interactive console (``doer --kind thread --name t1`` in a 40x250 pty: the
shell a class uses, prompt-toolkit loaded) is given workers with ``.spawn``,
one line at a time, each line's start event awaited; after each step
``@all ping`` is answered by every worker, so what is measured is running.
Memory is read from /proc while it runs:

- the console's RSS (``VmRSS`` of /proc/PID/status) with its one worker (the
  baseline), then with 32 workers: 16 threads and 16 processes by fork
  (target: at most :data:`CONSOLE_TARGET_MIB` MiB);
- a thread's or an asyncio worker's cost: the growth of the console's RSS per
  worker added, over workers added after a first one of the kind (which pays
  for imports once: the asyncio kind's module, a first event loop);
- a process worker's own memory, per start method (fork, forkserver, spawn),
  from /proc/PID/smaps_rollup: USS (``Private_Clean`` + ``Private_Dirty``:
  what its end would free) and PSS (shared pages divided among their
  sharers); the median over the workers of that method.

Figures, not timings: read once, with no target but the console's. The
console is quit with ``.quit`` (every worker stopped) at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import DOER_SCRIPT, Row, first_line, median, mib, not_measured, verdict
from benchmarks.terminal import FAILURES, PROMPT, START_THEN_PROMPT, close, spawn_in_pty

CONSOLE_TARGET_MIB = 60
THREADS = 16
FORKED = 16
OTHER_PROCESSES = 4  # per start method, for their per-worker figures
ASYNCIO = 9  # the first pays the kind's imports; the other 8 are measured

START = r"\[{name} (\w+) (\d+)\] on start"


# --- reading /proc ------------------------------------------------------------------------


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"no {field} in /proc/{pid}/status")


def rss_kib(pid: int) -> int:
    return status_kib(pid, "VmRSS")


@dataclass(frozen=True)
class OwnMemory:
    """A process's unique and proportional set sizes, in KiB."""

    uss: int
    pss: int
    rss: int


def own_memory(pid: int) -> OwnMemory:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    uss = fields["Private_Clean"] + fields["Private_Dirty"]
    return OwnMemory(uss, fields["Pss"], fields["Rss"])


# --- driving the console ------------------------------------------------------------------


class Console:
    """The shell in a pty, given workers one ``.spawn`` at a time."""

    def __init__(self) -> None:
        self.pty = spawn_in_pty([DOER_SCRIPT, "--kind", "thread", "--name", "t1"])
        assert self.pty.child.pid is not None
        self.pid: int = self.pty.child.pid
        self.workers = 1
        self.pty.expect(START_THEN_PROMPT)
        self.ping_all()

    def spawn(self, name: str, kind_args: str) -> int:
        """``.spawn NAME ...``; the new worker's pid (the console's, for a thread or task)."""
        self.pty.sendline(f".spawn {name} {kind_args}")
        started = self.pty.expect(START.format(name=re.escape(name)), timeout=30)
        self.workers += 1
        return int(started.group(2))

    def ping_all(self) -> None:
        """``@all ping``, and every worker's pong."""
        self.pty.read_until_quiet(0.02)
        self.pty.sendline("@all ping")
        for _ in range(self.workers):
            self.pty.expect(r"\] pong", timeout=30)
        self.pty.expect(PROMPT)

    def rss(self) -> int:
        return rss_kib(self.pid)

    def quit(self) -> None:
        if not self.pty.end(".quit\r", timeout=30):
            raise AssertionError("the console did not end within 30 s of .quit")


@dataclass
class Measured:
    console_one: int = 0
    console_32: int = 0
    per_thread: float = 0.0
    per_task: float = 0.0
    processes: dict[str, list[OwnMemory]] | None = None


def growth_per_worker(console: Console, names: list[str], kind_args: str) -> float:
    """The console's RSS growth per worker, over ``names[1:]`` (the first pays imports)."""
    console.spawn(names[0], kind_args)
    console.ping_all()
    before = console.rss()
    for name in names[1:]:
        console.spawn(name, kind_args)
    console.ping_all()
    return (console.rss() - before) / (len(names) - 1)


def process_memory(console: Console, prefix: str, method: str, count: int) -> list[OwnMemory]:
    pids = [
        console.spawn(f"{prefix}{n}", f"process --start-method {method}")
        for n in range(1, count + 1)
    ]
    console.ping_all()
    return [own_memory(pid) for pid in pids]


def fill_bytecode_cache() -> None:
    """Start and quit one console first: a console that compiles its modules (the first
    to run with the bench's fresh bytecode cache) holds a few MiB more for good."""
    console = Console()
    try:
        console.quit()
    finally:
        close(console.pty)


def measure() -> Measured:
    fill_bytecode_cache()
    measured = Measured()
    console = Console()
    try:
        measured.console_one = console.rss()
        thread_names = [f"t{n}" for n in range(2, THREADS + 1)]
        measured.per_thread = growth_per_worker(console, thread_names, "thread")
        processes = {"fork": process_memory(console, "p", "fork", FORKED)}
        measured.console_32 = console.rss()  # 16 threads + 16 forked processes
        for method in ("forkserver", "spawn"):
            processes[method] = process_memory(console, method[0], method, OTHER_PROCESSES)
        measured.processes = processes
        task_names = [f"a{n}" for n in range(1, ASYNCIO + 1)]
        measured.per_task = growth_per_worker(console, task_names, "asyncio")
        console.quit()
    finally:
        close(console.pty)
    return measured


# --- the rows -------------------------------------------------------------------------------


def process_row(method: str, memories: list[OwnMemory]) -> Row:
    uss = median([memory.uss for memory in memories])
    pss = median([memory.pss for memory in memories])
    rss = median([memory.rss for memory in memories])
    return Row(
        f"memory per worker, process ({method}), median of {len(memories)}",
        f"USS {mib(uss)}, PSS {mib(pss)}",
        f"RSS {mib(rss)}  (shared pages counted in full)",
    )


def rows_of(measured: Measured) -> list[Row]:
    target = f"<= {CONSOLE_TARGET_MIB} MiB"
    rows = [
        Row(
            f"console RSS, {THREADS} thread + {FORKED} process (fork) workers, shell",
            mib(measured.console_32),
            f"{mib(measured.console_one)}  the console with one worker",
            f"+{mib(measured.console_32 - measured.console_one)}",
            target,
            verdict(measured.console_32 <= CONSOLE_TARGET_MIB * 1024),
        ),
        Row(
            f"memory per worker, thread ({THREADS - 2} added)",
            f"{measured.per_thread:+.0f} KiB console RSS each",
            "",
        ),
        Row(
            f"memory per worker, asyncio ({ASYNCIO - 1} added)",
            f"{measured.per_task:+.0f} KiB console RSS each",
            "",
        ),
    ]
    assert measured.processes is not None
    rows += [process_row(method, memories) for method, memories in measured.processes.items()]
    return rows


def run() -> list[Row]:
    try:
        return rows_of(measure())
    except (*FAILURES, LookupError) as exc:
        return [not_measured("console RSS with 32 workers", first_line(exc))]
