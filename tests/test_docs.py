"""The transcripts in the docs are what the console really prints."""

from __future__ import annotations

import re

import pytest

from helpers import ROOT, load_script

#: The transcripts cut from the classroom script's one run (``classroom-NAME``).
LESSON = "classroom-"


def _readme_names() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return [match[1] for match in re.finditer(r"<!-- transcript: ([\w-]+) -->", readme)]


def _cases() -> list[tuple[str, str | None]]:
    """The README's transcripts one by one (each test runs one console: they run side
    by side); the classroom's lessons as one, with the README's lessons beside them
    (one run of the script, the longest of all, gives them all)."""
    names = [name for name in _readme_names() if not name.startswith(LESSON)]
    return [*(("README.md", name) for name in names), ("docs/classroom.md", None)]


@pytest.mark.parametrize(("document", "name"), _cases())
def test_the_transcripts_match_a_fresh_run_of_the_console(
    document: str, name: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller default job for work: its times are not compared, only the shape
    # of its answers and timelines, and a second of CPU per worker would slow
    # every other test running beside this one.
    monkeypatch.setenv("DOER_WORK_STEPS", "2000000")
    transcripts = load_script("transcripts")  # fresh: its cache of the script's run starts empty
    only = ["--only", name] if name else []
    assert transcripts.main(["--check", *only, document]) == 0, (
        f"{document} has drifted: run make docs"
    )
    if name is None:  # the same run of the script, cached by the module just loaded
        for lesson in [shown for shown in _readme_names() if shown.startswith(LESSON)]:
            assert transcripts.main(["--check", "--only", lesson, "README.md"]) == 0, (
                f"README.md's {lesson} has drifted: run make docs"
            )
