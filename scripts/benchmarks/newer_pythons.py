"""The interpreter kind and the GIL off: rows measured under newer Pythons.

The bench runs under the project's Python; these rows need Python 3.13 (a
subinterpreter) or a free-threaded build (the GIL off). So each is measured by
:mod:`benchmarks.newer_python_child`, run under ``.venv-3.13`` or ``.venv-ft``
(``make test`` makes the first, ``make free-threaded`` the second), and read
back as JSON. A venv that is missing gives a row saying so.

ask p50 and p99, interpreter
    ``ask("ping")`` through an interpreter worker against a bare ``os.pipe``
    echo between two interpreters of one process (pickled both ways, as the
    process kind's ``Pipe`` baseline is), in interleaved blocks, the caller on
    CPU 0 and the far end on CPU 0 (1 CPU) or CPU 1 (2 CPUs).
Start
    ``doer.start(kind)`` to its start event, the median of five after one to
    warm: an interpreter worker (a fresh interpreter that imports doer's worker
    modules), next to a thread's and a fork process's.
@i1,i2 work and @t1,t2 work
    The wall time of ``work`` on two workers at once over that of one alone:
    two interpreters (each a GIL of its own) and, on the free-threaded build,
    two threads.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.common import Row, not_measured, verdict

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("newer_python_child.py")
ASK_TARGET = 1.3
WORK_TARGET = 1.2


def measured(venv: str, what: str) -> dict[str, Any] | str:
    """What the child printed under ``venv``'s Python, or why there is nothing."""
    python = ROOT / venv / "bin" / "python"
    if not python.exists():
        made_by = "make test" if venv == ".venv-3.13" else "make free-threaded"
        return f"no {venv} ({made_by} makes it)"
    run = subprocess.run(
        [str(python), str(CHILD), what], capture_output=True, text=True, timeout=600
    )
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {run.returncode}"
    found: dict[str, Any] = json.loads(run.stdout)
    return found


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us"


def interpreter_rows(found: dict[str, Any]) -> list[Row]:
    rows = []
    for placement, subjects in found["round_trips"].items():
        for tail in ("p50", "p99"):
            ours, bare = subjects["doer"][tail], subjects["bare"][tail]
            ratio = ours / bare
            rows.append(
                Row(
                    f"ask {tail}, interpreter, {placement}",
                    _us(ours),
                    f"{_us(bare)}  os.pipe echo between interpreters",
                    f"{ratio:.2f}x",
                    f"<= {ASK_TARGET}x",
                    verdict(ratio <= ASK_TARGET),
                )
            )
    starts = found["starts"]
    rows.append(
        Row(
            f"start, interpreter worker (Python {found['python']})",
            f"{starts['interpreter'] * 1e3:.1f} ms",
            f"{starts['thread'] * 1e3:.2f} ms thread, "
            f"{starts['process (fork)'] * 1e3:.1f} ms process (fork)",
        )
    )
    rows.append(work_row("@i1,i2 work: two interpreters at once", found["work"]))
    return rows


def work_row(measure: str, work: dict[str, float]) -> Row:
    ratio = work["together"] / work["alone"]
    return Row(
        measure,
        f"{work['together']:.2f} s  two at once",
        f"{work['alone']:.2f} s  one alone",
        f"{ratio:.2f}x",
        f"<= {WORK_TARGET}x on two free CPUs",
        verdict(ratio <= WORK_TARGET),
    )


def run() -> list[Row]:
    rows = []
    found = measured(".venv-3.13", "interpreters")
    if isinstance(found, str):
        rows.append(not_measured("interpreter kind", found))
    else:
        rows += interpreter_rows(found)
    free = measured(".venv-ft", "threads")
    if isinstance(free, str):
        rows.append(not_measured("@t1,t2 work, the GIL off", free))
    else:
        rows.append(work_row(f"@t1,t2 work, GIL off (Python {free['python']}t)", free["work"]))
    return rows
