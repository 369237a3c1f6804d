"""Replay hand-made bugs against the test suite, and say which ones it misses.

A suite is only as strong as the bugs it catches. ``scripts/breaks.toml`` lists
plausible one-line bugs, each something a user would notice: the file, a text
that occurs exactly once in it, what to put in its place, and the test known to
catch it (``caught_by``). For each break this script copies the project
(without ``.venv`` and ``.git``) into a temporary folder, makes the one change
there, and runs tests on the copy with the project's own ``.venv``:
``PYTHONPATH`` puts the copy's ``src`` ahead of the installed project, for the
tests and every process they start. The working tree is never touched, so a run
can go on while you work.

A break is *caught* when a test of the suite fails on it. By default its
recorded test runs first (seconds); only if that one passes does the whole
suite run (``-x``: it stops at its first failure), and the report says the
record is stale or that the break survived. ``--full`` runs the whole suite for
every break, as ``make test`` would: about a minute and a half each.

    python scripts/breaks.py               # all of them, recorded tests first (minutes)
    python scripts/breaks.py NAME ...      # some of them
    python scripts/breaks.py --full NAME   # the whole suite against NAME
    python scripts/breaks.py --list        # what there is
    python scripts/breaks.py NAME -- tests/e2e/test_plain.py   # these tests instead

Before the breaks, the unbroken copy runs the same tests once (``--no-baseline``
skips it): a suite that fails on its own would "catch" every break. The test
suite checks that every break still applies to the code and that its recorded
test exists, so the list moves with the code.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BREAKS = ROOT / "scripts" / "breaks.toml"
PYTHON = ROOT / ".venv" / "bin" / "python"
LEFT_OUT = shutil.ignore_patterns(
    ".venv",
    ".git",
    "mutants",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "*.egg-info",  # else pip, given the copy's src, takes doer for installed there
)
# A survivor runs the whole suite; a copy that hangs must not hold the run forever.
SUITE_TIMEOUT_S = 600


@dataclass(frozen=True)
class Break:
    """One bug made on purpose: ``old`` in ``file`` becomes ``new``."""

    name: str
    what: str  # what a user would notice
    file: str
    old: str
    new: str
    caught_by: str = ""  # the test id known to fail on it ("" if none yet)


@dataclass(frozen=True)
class Outcome:
    caught: bool
    by: str  # the first test that failed, or why it counts as not run
    seconds: float
    note: str = ""  # e.g. that the recorded test no longer catches it


def load_breaks(path: Path | None = None) -> list[Break]:
    """The breaks listed in ``path`` (by default ``scripts/breaks.toml``), in order."""
    with (path or BREAKS).open("rb") as file:
        return [Break(**entry) for entry in tomllib.load(file)["break"]]


def why_it_does_not_apply(one: Break, root: Path = ROOT) -> str | None:
    """Why ``one`` cannot be made in the code under ``root`` (``None`` if it can):
    its text must occur exactly once, or the break would change something else."""
    source = root / one.file
    if not source.is_file():
        return f"{one.file} does not exist"
    count = source.read_text(encoding="utf-8").count(one.old)
    if count != 1:
        return f"its text occurs {count} times in {one.file}, not once"
    if one.old == one.new:
        return "it changes nothing"
    return None


def broken_copy(one: Break | None, into: Path) -> Path:
    """A copy of the project under ``into`` with ``one`` made (none: as it is)."""
    copy = into / "project"
    shutil.copytree(ROOT, copy, ignore=LEFT_OUT, symlinks=True)
    if one is not None:
        source = copy / one.file
        source.write_text(
            source.read_text(encoding="utf-8").replace(one.old, one.new), encoding="utf-8"
        )
    return copy


def run_suite(copy: Path, pytest_args: list[str]) -> Outcome:
    """Run the tests ``pytest_args`` names on ``copy`` (none: the whole suite, as
    ``make test`` does); caught if they fail."""
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    # tests/unit/test_breaks.py would fail on any break (its text is gone from the copy):
    # a catch that says nothing of the suite's strength.
    command = [str(PYTHON), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["--ignore", "tests/unit/test_breaks.py"]
    command += pytest_args or ["-n", "3", "--dist", "worksteal"]
    began = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return Outcome(True, f"the suite hung (over {SUITE_TIMEOUT_S} s)", time.monotonic() - began)
    seconds = time.monotonic() - began
    if done.returncode == 0:
        return Outcome(False, "", seconds)
    return Outcome(True, first_failure(done.stdout + done.stderr, done.returncode), seconds)


def why_the_record_is_wrong(one: Break, root: Path = ROOT) -> str | None:
    """Why ``one``'s ``caught_by`` names no test of the suite (``None`` if it does)."""
    path, _, test = one.caught_by.partition("::")
    function = test.partition("[")[0]
    if not function:
        return "it records no test that catches it"
    if not (root / path).is_file():
        return f"{path} does not exist"
    if f"def {function}(" not in (root / path).read_text(encoding="utf-8"):
        return f"{path} has no {function}"
    return None


def first_failure(output: str, returncode: int) -> str:
    """The first of the suite's tests named as failed in pytest's ``output`` (a test
    that runs pytest itself may print the failures of its own inner tests)."""
    found = re.search(r"^(?:FAILED|ERROR) (tests/.+?)(?: - .*)?$", output, re.MULTILINE)
    if found:
        return found.group(1)
    return f"pytest exited {returncode}: {output.strip().splitlines()[-1:]}"


def try_break(one: Break | None, pytest_args: list[str], *, full: bool = False) -> Outcome:
    """Make ``one`` on a copy and run the tests on it: ``pytest_args`` if given, else
    the break's recorded test and, if that passes (or with ``full``), the suite."""
    with tempfile.TemporaryDirectory(prefix="doer-break-") as folder:
        copy = broken_copy(one, Path(folder))
        if pytest_args or full or one is None or not one.caught_by:
            return run_suite(copy, pytest_args)
        recorded = run_suite(copy, [one.caught_by])
        if recorded.caught:
            return recorded
        suite = run_suite(copy, [])
        stale = f"its recorded test passes ({one.caught_by}): record the one that caught it"
        return Outcome(suite.caught, suite.by, recorded.seconds + suite.seconds, stale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("names", nargs="*", help="the breaks to make (default: all)")
    parser.add_argument("--list", action="store_true", help="list the breaks and stop")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unbroken run")
    parser.add_argument("--file", type=Path, help="a list of breaks other than breaks.toml")
    parser.add_argument("--full", action="store_true", help="the whole suite for each break")
    args, pytest_args = split_pytest_args(argv if argv is not None else sys.argv[1:])
    args = parser.parse_args(args)
    breaks = load_breaks(args.file)
    unknown = set(args.names) - {one.name for one in breaks}
    if unknown:
        parser.error(f"no break named {', '.join(sorted(unknown))} (--list lists them)")
    chosen = [one for one in breaks if not args.names or one.name in args.names]
    if args.list:
        for one in chosen:
            print(f"{one.name:32} {one.file:32} {one.what}")
        return 0
    stale = [(one, why) for one in chosen if (why := why_it_does_not_apply(one))]
    for one, why in stale:
        print(f"{one.name}: cannot be made: {why}")
    if stale:
        return 2
    if not args.no_baseline:
        baseline = try_break(None, pytest_args or baseline_tests(chosen, args.full))
        if baseline.caught:
            print(f"the unbroken suite fails ({baseline.by}): fix it first")
            return 2
        print(f"unbroken: passes in {baseline.seconds:.0f} s", flush=True)
    outcomes = [(one, show(one, try_break(one, pytest_args, full=args.full))) for one in chosen]
    return report(outcomes)


def baseline_tests(chosen: list[Break], full: bool) -> list[str]:
    """What the unbroken copy runs: the recorded tests of the chosen breaks, or
    the whole suite (none) if any break will run it."""
    if full or any(not one.caught_by for one in chosen):
        return []
    return ["-n", "3", "--dist", "worksteal", *sorted({one.caught_by for one in chosen})]


def split_pytest_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """What comes after ``--`` goes to pytest."""
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def show(one: Break, outcome: Outcome) -> Outcome:
    verdict = f"caught by {outcome.by}" if outcome.caught else "SURVIVED"
    print(f"{one.name:32} {outcome.seconds:4.0f} s  {verdict}", flush=True)
    if outcome.note:
        print(f"{'':32}         {outcome.note}", flush=True)
    return outcome


def report(outcomes: list[tuple[Break, Outcome]]) -> int:
    """Print the kill ratio and the survivors; exit 1 if any survived."""
    survivors = [one for one, outcome in outcomes if not outcome.caught]
    caught = len(outcomes) - len(survivors)
    print(f"\n{caught} of {len(outcomes)} breaks caught ({caught / len(outcomes):.0%})")
    for one in survivors:
        print(f"  survived: {one.name}: {one.what}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
