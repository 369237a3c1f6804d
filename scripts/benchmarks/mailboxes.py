"""Bounded mailboxes: memory stays flat under a producer far faster than its worker.

Each run is a fresh process (:mod:`benchmarks.mailbox_child`, so its peak RSS
is the run's own): 1,000,000 ``tell("ping")`` through the library to a thread
worker, into a mailbox of 100 and, as the baseline, into an unbounded one.
The producer sends as fast as a ``tell`` goes; the worker answers one request
at a time. Unbounded, the backlog of requests (and their Pending objects)
grows while the producer runs ahead; bounded, the producer waits at 100.

Target: the bounded run's peak RSS grows by at most :data:`TARGET_MIB` MiB.
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


def measured(bound: str) -> dict[str, Any] | str:
    run = subprocess.run(
        [sys.executable, str(CHILD), bound], capture_output=True, text=True, timeout=900
    )
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {run.returncode}"
    found: dict[str, Any] = json.loads(run.stdout)
    return found


def run() -> list[Row]:
    measure = "memory: 1,000,000 tells into a mailbox of 100 (peak RSS growth)"
    target = f"<= {TARGET_MIB:g} MiB"
    bounded, unbounded = measured("100"), measured("unbounded")
    if isinstance(bounded, str):
        return [not_measured(measure, bounded, target)]
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
    return [Row(measure, doer_text, baseline, "", target, verdict(grew <= TARGET_MIB))]
