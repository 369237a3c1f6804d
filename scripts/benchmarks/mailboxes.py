"""Bounded mailboxes: memory stays flat under a producer far faster than its worker.

Each run is a fresh process (:mod:`benchmarks.mailbox_child`, so its peak RSS
is the run's own): 1,000,000 ``tell("ping")`` through the library to a thread
worker, into a mailbox of 100 and, as the baseline, into an unbounded one.
The producer sends as fast as a ``tell`` goes; the worker answers one request
at a time. Unbounded, the backlog of requests (and their Pending objects)
grows while the producer runs ahead; bounded, the producer waits at 100.

Target: the bounded run's peak RSS grows by at most :data:`TARGET_MIB` MiB.

Plain mode, the same from a pipe: ``doer --mailbox 100`` reading 1,000,000
``ping`` lines, its peak RSS against the same console reading 100,000 (the
same target; its memory settles within the first tens of thousands), next to
the console without ``--mailbox`` (plain mode keeps at most 1,000 lines in
flight of its own accord).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import Row, not_measured, verdict

CHILD = Path(__file__).with_name("mailbox_child.py")
TARGET_MIB = 5.0


def measured(*args: str) -> dict[str, Any] | str:
    run = subprocess.run(
        [sys.executable, str(CHILD), *args], capture_output=True, text=True, timeout=900
    )
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {run.returncode}"
    found: dict[str, Any] = json.loads(run.stdout)
    return found


def run() -> list[Row]:
    return [
        library_row(measured("library", "100"), measured("library", "unbounded")),
        plain_row(),
    ]


def plain_row() -> Row:
    measure = "memory: 1,000,000 lines piped to doer --mailbox 100 (peak RSS growth)"
    target = f"<= {TARGET_MIB:g} MiB"
    # Against 100,000 lines, not fewer: the console's memory settles within the first
    # tens of thousands of lines (its buffers of lines in flight fill), then stays.
    small, large = measured("plain", "100", "100000"), measured("plain", "100", "1000000")
    if isinstance(small, str) or isinstance(large, str):
        return not_measured(measure, small if isinstance(small, str) else str(large), target)
    grew = (large["peak_kib"] - small["peak_kib"]) / 1024
    free = measured("plain", "unbounded", "1000000")
    baseline = (
        f"n/a ({free})"
        if isinstance(free, str)
        else f"{free['peak_kib'] / 1024:.1f} MiB peak without --mailbox ({free['seconds']:.1f} s)"
    )
    doer_text = (
        f"{grew:+.1f} MiB ({large['peak_kib'] / 1024:.1f} MiB peak, {large['seconds']:.1f} s)"
    )
    return Row(measure, doer_text, baseline, "", target, verdict(grew <= TARGET_MIB))


def library_row(bounded: dict[str, Any] | str, unbounded: dict[str, Any] | str) -> Row:
    measure = "memory: 1,000,000 tells into a mailbox of 100 (peak RSS growth)"
    target = f"<= {TARGET_MIB:g} MiB"
    if isinstance(bounded, str):
        return not_measured(measure, bounded, target)
    grew = bounded["grew_kib"] / 1024
    if isinstance(unbounded, str):
        baseline = f"n/a ({unbounded})"
    else:
        baseline = (
            f"+{unbounded['grew_kib'] / 1024:.1f} MiB unbounded"
            f" (at most {unbounded['most_pending']:,} pending, {unbounded['seconds']:.1f} s)"
        )
    doer_text = (
        f"+{grew:.1f} MiB (at most {bounded['most_pending']:,} pending, {bounded['seconds']:.1f} s)"
    )
    return Row(measure, doer_text, baseline, "", target, verdict(grew <= TARGET_MIB))
