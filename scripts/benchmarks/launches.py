"""Launch to first prompt, per kind, next to ``python -c "import prompt_toolkit"``.

What is measured: ``doer --kind ...`` started in a pty (40x250), from spawning
it until the prompt (``doer NAME KIND PID>``) is drawn; for every kind and
start method: thread, process by fork (the default), forkserver and spawn,
and asyncio. The baseline is ``python -c "import prompt_toolkit; print(...)"``
started the same way, until its line appears: importing prompt-toolkit is the
floor a prompt-toolkit console cannot go below. The marker line is timed, not
the end of the process, so interpreter shutdown does not pad the baseline.
Both run with bytecode cached, as after a normal install
(:func:`benchmarks.common.prepare_environment`); one untimed launch of each
fills the cache. Each console is then quit (Ctrl-D once its worker has
started), untimed.

How: :data:`LAUNCHES` rounds; in each, every program is launched once, the
order shifted by one each round. Each round gives, per console, its time
minus the import's in the same round (a round takes about a second and a
half, while this machine's speed drifts by a quarter over tens of seconds:
the import alone took a median 105 ms in one run and 130 ms in the next).
The verdict is on the median of those per-round differences (target: at most
:data:`TARGET_MS`), their interquartile range printed beside it; the figures
shown are each program's median, with its own spread.

One more program runs in every round, without a target: a bare
``prompt_toolkit.PromptSession().prompt()``, ended by Ctrl-D. What it takes over
the import is prompt-toolkit's own share of any console's first prompt (its
session, key bindings and first drawing); what doer takes beyond it is doer's.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field

import pexpect

from benchmarks.common import DOER_SCRIPT, Row, first_line, median, quartiles, verdict
from benchmarks.terminal import PROMPT, last_line, quit_console, spawn_in_pty
from doer.testing.driver import PtyConsole

LAUNCHES = 8
TARGET_MS = 30.0
IMPORTED = "prompt_toolkit imported"
BARE_PROMPT = "bare> "
#: The smallest prompt-toolkit console: a session, its prompt, Ctrl-D to end.
BARE_SESSION = f"""\
import prompt_toolkit
try:
    prompt_toolkit.PromptSession().prompt({BARE_PROMPT!r})
except EOFError:
    pass
"""

#: The consoles launched, as their arguments.
CONSOLES = [
    ["--kind", "thread"],
    ["--kind", "process"],
    ["--kind", "process", "--start-method", "forkserver"],
    ["--kind", "process", "--start-method", "spawn"],
    ["--kind", "asyncio"],
]


class LaunchError(Exception):
    """The program did not show what was expected (it crashed, or hung)."""


@dataclass
class Launch:
    """A program started in a pty, and the line that says it is ready."""

    label: str
    argv: list[str]
    ready: str  # a regex
    is_console: bool
    #: What ends it once it is ready (Ctrl-D at a bare prompt), or nothing: it ends itself.
    quit_keys: str = ""
    times_ms: dict[int, float] = field(default_factory=dict)  # by round
    error: str | None = None


def programs() -> list[Launch]:
    """The baseline first, then the bare session, then the consoles."""
    baseline = Launch(
        'python -c "import prompt_toolkit"',
        [sys.executable, "-c", f"import prompt_toolkit; print({IMPORTED!r})"],
        re.escape(IMPORTED),
        is_console=False,
    )
    bare = Launch(
        "a bare prompt_toolkit.PromptSession().prompt()",
        [sys.executable, "-c", BARE_SESSION],
        re.escape(BARE_PROMPT.strip()),  # a trailing space is drawn as a cursor move
        is_console=False,
        quit_keys="\x04",
    )
    consoles = [
        Launch(f"doer {' '.join(args)}", [DOER_SCRIPT, *args], PROMPT, is_console=True)
        for args in CONSOLES
    ]
    return [baseline, bare, *consoles]


def ended(program: PtyConsole, quit_keys: str) -> bool:
    """Whether ``program`` ended: by itself, or once ``quit_keys`` were typed."""
    if quit_keys:
        return program.end(quit_keys, attempts=3, timeout=1.0)
    return program.expect_end() and program.wait_exit()


def time_launch(launch: Launch) -> float:
    """Milliseconds from spawning ``launch`` in a pty to its ready line.

    Raises:
        LaunchError: it ended or hung before the ready line, or would not end.
    """
    start = time.perf_counter_ns()
    console = spawn_in_pty(launch.argv)
    try:
        console.expect(launch.ready)
        elapsed_ms = (time.perf_counter_ns() - start) / 1e6
        if launch.is_console:
            quit_console(console)
        elif not ended(console, launch.quit_keys):
            raise AssertionError("it did not end")
    except AssertionError as exc:
        if console.ended:  # its last line says why, usually
            raise LaunchError(last_line(console.raw)) from None
        raise LaunchError(f"no /{launch.ready}/ or no end: {first_line(exc)}") from None
    finally:
        console.close()
    return elapsed_ms


def try_launch(launch: Launch) -> float | None:
    """:func:`time_launch`, or None with the reason kept in ``launch.error``."""
    try:
        return time_launch(launch)
    except (LaunchError, OSError, pexpect.ExceptionPexpect) as exc:
        launch.error = first_line(exc)
        return None


def run_launches(launches: list[Launch]) -> None:
    """One untimed launch each (it fills the caches), then the interleaved rounds."""
    working = [launch for launch in launches if try_launch(launch) is not None]
    for round_number in range(LAUNCHES):
        shift = round_number % max(1, len(working))
        for launch in working[shift:] + working[:shift]:
            elapsed = try_launch(launch)
            if elapsed is None:
                working.remove(launch)
            else:
                launch.times_ms[round_number] = elapsed


def differences(launch: Launch, baseline: Launch) -> list[float]:
    """Per round: the launch's milliseconds minus the baseline's in the same round."""
    base = baseline.times_ms
    return [mine - base[n] for n, mine in launch.times_ms.items() if n in base]


def difference_text(differences_ms: list[float]) -> str:
    q1, q3 = quartiles(differences_ms)
    return f"{median(differences_ms):+.1f} ms (IQR {q1:+.0f} to {q3:+.0f})"


def figure(times_ms: dict[int, float]) -> str:
    values = list(times_ms.values())
    q1, q3 = quartiles(values)
    return f"{median(values):.1f} ms (IQR {q1:.0f}-{q3:.0f})"


def launch_row(launch: Launch, baseline: Launch, base_text: str) -> Row:
    measure = f"first prompt, {launch.label}"
    target = f"<= import +{TARGET_MS:.0f} ms" if launch.is_console else ""
    if launch.error is not None:
        return Row(measure, f"n/a ({launch.error})", base_text, "", target, "n/a")
    paired = [
        mine - baseline.times_ms[n] for n, mine in launch.times_ms.items() if n in baseline.times_ms
    ]
    if not paired:
        return Row(measure, figure(launch.times_ms), base_text, "", target, "n/a")
    return Row(
        measure,
        figure(launch.times_ms),
        base_text,
        difference_text(paired),
        target,
        verdict(median(paired) <= TARGET_MS) if target else "",
    )


def launch_rows(baseline: Launch, consoles: list[Launch]) -> list[Row]:
    if baseline.error is not None:
        base_text = f"n/a ({baseline.error})"
    else:
        base_text = f"{figure(baseline.times_ms)}  {baseline.label}"
    return [launch_row(launch, baseline, base_text) for launch in consoles]


def run() -> list[Row]:
    launches = programs()
    run_launches(launches)
    return launch_rows(launches[0], launches[1:])
