"""``make bench``: doer's performance report, every figure next to a baseline of the same run.

Runs the groups of :mod:`benchmarks` (one module per group of rows; each
module's docstring says what it measures and how), the most sensitive and the
cheapest first, then prints one table: the measure, doer's figure, the
baseline measured alongside it, the ratio or difference, the target and the
verdict (PASS, MISS, or n/a with the reason when a figure could not be
measured). The first line says what machine it ran on; a line per group as
it ends says how long it took and how much of the CPUs other processes used
meanwhile (what moves a verdict on a shared machine); the last lines say the
same for the whole run, and whether any process was left running (the bench
then exits with status 1).

Usage: ``python scripts/bench.py [--markdown] [--only GROUP[,GROUP...]]``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import (
    burst,
    launches,
    lessons,
    mailboxes,
    many_workers,
    memory,
    newer_pythons,
    plain_mode,
    programs,
    ray_kind,
    round_trips,
    screen,
    throughput,
)
from benchmarks.common import (
    Row,
    become_subreaper,
    cpu_snapshot,
    first_line,
    leftovers,
    not_measured,
    others_share,
    prepare_environment,
    reap_children,
)
from benchmarks.table import markdown_table, text_table

import doer

#: The groups, in the order they run: the two most sensitive first (launches,
#: then round trips while the bench has started no thread of its own), then
#: the cheap ones, the two slowest, then Ray's (its cluster would weigh on the
#: others).
GROUPS: dict[str, Callable[[], list[Row]]] = {
    "launches": launches.run,
    "round-trips": round_trips.run,
    "memory": memory.run,
    "lessons": lessons.run,
    "burst": burst.run,
    "many-workers": many_workers.run,
    "screen": screen.run,
    "plain": plain_mode.run,
    "programs": programs.run,
    "throughput": throughput.run,
    "mailboxes": mailboxes.run,
    "newer-pythons": newer_pythons.run,
    "ray": ray_kind.run,
}

#: The order of the table: the issue's, whatever the order the groups ran in.
TABLE_ORDER = [
    "round-trips",
    "throughput",
    "plain",
    "programs",
    "screen",
    "burst",
    "many-workers",
    "memory",
    "mailboxes",
    "launches",
    "lessons",
    "newer-pythons",
    "ray",
]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """Python, CPUs, doer, load and date: what every figure below depends on."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"doer {doer.__version__} bench on Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.release()}, "
        f"load {load:.2f}, {now}"
    )


def run_group(name: str, run: Callable[[], list[Row]]) -> tuple[list[Row], str]:
    """A group's rows and how long it took; a group that fails is one n/a row, not a crash.

    Also said: how much of the machine others used meanwhile, which is what
    moves a verdict on a shared machine.
    """
    before = cpu_snapshot()
    try:
        rows = run()
    except Exception as exc:
        traceback.print_exc()
        rows = [not_measured(name, f"the group failed: {first_line(exc)}")]
    reap_children()  # a console's helpers, orphaned to the bench: their CPU time is its own
    after = cpu_snapshot()
    took = f"{name} {after.wall_s - before.wall_s:.1f} s"
    busy = f"others used {others_share(before, after):.0%} of the CPUs"
    print(f"  {took} ({len(rows)} rows; {busy})", flush=True)
    return rows, took


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument(
        "--only",
        type=lambda text: text.split(","),
        default=list(GROUPS),
        metavar="GROUP[,GROUP...]",
        help=f"run only these groups, comma-separated: {', '.join(GROUPS)}",
    )
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}: choose from {list(GROUPS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(machine_line(), flush=True)
    become_subreaper()
    before = cpu_snapshot()
    rows: dict[str, list[Row]] = {}
    durations: list[str] = []
    with tempfile.TemporaryDirectory(prefix="doer-bench-") as scratch:
        prepare_environment(Path(scratch))
        for name in (group for group in GROUPS if group in args.only):
            rows[name], took = run_group(name, GROUPS[name])
            durations.append(took)
    left = leftovers()
    after = cpu_snapshot()
    table = [row for name in TABLE_ORDER for row in rows.get(name, [])]
    print()
    print(markdown_table(table) if args.markdown else text_table(table))
    print()
    print(
        f"{after.wall_s - before.wall_s:.1f} s in all ({', '.join(durations)}); other processes"
        f" used {others_share(before, after):.0%} of the CPUs meanwhile"
    )
    if left:
        print(f"left running by the bench, killed now: {'; '.join(left)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
