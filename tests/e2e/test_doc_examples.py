"""Every Python example in the docs runs, and does what the docs say it does.

The examples are every ```python block of README.md and docs/*.md, and the
session in the package's docstring. Each runs in a fresh interpreter (the
one running the tests: the project's .venv under ``make test``), in the way
its shape calls for, so that every block runs all of its code:

- a session at the prompt (``>>>`` lines) runs as a doctest: every value it
  shows, and every error, must be what Python prints;
- a block of pytest tests (a ``def test_...``) runs under pytest, which gives
  it doer's plugin and its fixtures;
- any other block runs as a program, and states what it promises with
  ``assert``.

A block shown whole from a file of ``examples/`` (between ``<!-- file: PATH -->``
and ``<!-- /file -->``) is not run here: ``scripts/transcripts.py --check``
keeps it equal to its file, and tests/unit/test_docs.py runs that file and checks
what it printed against its transcript.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import doer

ROOT = Path(__file__).resolve().parent.parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: Generous: every example takes a second or two, even with a worker process.
TIMEOUT_S = 60.0

#: Blocks that cannot run here, by a line of theirs, and why: a skip that says
#: so. None today. (One that needs the ray kind would run: Ray is installed
#: in .venv, and the block would start a private cluster, in seconds.)
CANNOT_RUN_HERE: dict[str, str] = {}

_FENCE = "```python"
_FILE_MARKER = re.compile(r"<!-- file: [\w./-]+ -->")


@dataclass(frozen=True)
class Example:
    """One block of Python in the docs, and where it is (``docs/library.md:17``)."""

    where: str
    code: str
    shown_from_file: bool = False

    @property
    def way(self) -> str:
        """How it runs: ``doctest``, ``pytest`` or ``program`` (see the module's doc)."""
        if re.search(r"^\s*>>> ", self.code, re.MULTILINE):
            return "doctest"
        if re.search(r"^def test_", self.code, re.MULTILINE):
            return "pytest"
        return "program"


def blocks_of(path: Path) -> list[Example]:
    """The ```python blocks of a Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    examples = []
    for number, line in enumerate(lines):
        if line != _FENCE:
            continue
        end = lines.index("```", number + 1)
        shown = number > 0 and _FILE_MARKER.fullmatch(lines[number - 1]) is not None
        code = "\n".join(lines[number + 1 : end]) + "\n"
        examples.append(Example(f"{path.relative_to(ROOT)}:{number + 1}", code, shown))
    return examples


def examples() -> list[Example]:
    """Every example in the docs, the package's docstring last."""
    found = [example for path in DOCUMENTS for example in blocks_of(path)]
    assert doer.__doc__ is not None
    return [*found, Example("src/doer/__init__.py (docstring)", doer.__doc__)]


def run(example: Example, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run ``example`` in a fresh interpreter, in ``folder``; what it did."""
    if example.way == "doctest":
        # Not a .py file: python -m doctest would import that as a module.
        script, command = folder / "example.txt", ["-m", "doctest"]
    elif example.way == "pytest":
        # Its folder has no pytest configuration: only the plugins installed apply.
        script, command = (
            folder / "test_example.py",
            ["-m", "pytest", "-q", "-p", "no:cacheprovider"],
        )
    else:
        script, command = folder / "example.py", []
    script.write_text(example.code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, *command, script.name],
        cwd=folder,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _params() -> list[object]:
    params = []
    for example in examples():
        why_not = _why_not_run(example)
        marks = [pytest.mark.skip(reason=why_not)] if why_not else []
        params.append(pytest.param(example, id=example.where, marks=marks))
    return params


def _why_not_run(example: Example) -> str | None:
    """Why ``example`` is not run here, or None: it is."""
    if example.shown_from_file:
        return "shown whole from examples/: tests/unit/test_docs.py runs that file"
    for line, reason in CANNOT_RUN_HERE.items():
        if line in example.code.splitlines():
            return f"cannot run here: {reason}"
    return None


@pytest.mark.parametrize("example", _params())
def test_the_example_runs_and_does_what_it_shows(example: Example, tmp_path: Path) -> None:
    done = run(example, tmp_path)
    assert done.returncode == 0, (
        f"the example at {example.where}, run as a {example.way}, failed"
        f" (status {done.returncode}):\n{done.stdout}{done.stderr}"
    )


def test_every_block_of_python_in_the_docs_is_one_that_runs() -> None:
    """A block of Python fenced another way (```py, ```pycon, indented in a list)
    would be an example nobody runs."""
    for path in DOCUMENTS:
        fences = re.findall(r"^\s*`{3,}\s*py", path.read_text(encoding="utf-8"), re.MULTILINE)
        assert len(blocks_of(path)) == len(fences), f"{path}: fence Python as {_FENCE}"
