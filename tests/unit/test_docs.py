"""The transcripts in the docs are what the console really prints.

The docs are README.md and every page of docs/, as ``scripts/transcripts.py``
finds them (``DOCUMENTS``). Each transcript of each page is checked by a test
of its own against what ``make docs`` would write, but the lessons: cut from
one run of the classroom script, they are checked together, by one test.
"""

from __future__ import annotations

import re

import pytest

from support.helpers import ROOT, load_script

#: The transcripts cut from the classroom script's one run (``classroom-NAME``).
LESSON = "classroom-"


def _shown() -> list[tuple[str, str]]:
    """Every transcript of the docs, as (page, name), page by page, in order."""
    transcripts = load_script("transcripts")
    return [
        (str(path.relative_to(ROOT)), name)
        for path in transcripts.DOCUMENTS
        for name in transcripts.names_in(path)
    ]


def _cases() -> list[object]:
    """The transcripts one by one (each test runs one console: they run side by
    side), but the lessons: those of every page in one test, as one run of the
    classroom script, the longest of all, gives them all."""
    shown = _shown()
    cases: list[object] = [
        pytest.param(page, name, id=f"{page}:{name}")
        for page, name in shown
        if not name.startswith(LESSON)
    ]
    if any(name.startswith(LESSON) for _, name in shown):
        cases.append(pytest.param(None, None, id="the lessons"))
    return cases


@pytest.mark.parametrize(("document", "name"), _cases())
def test_the_transcripts_match_a_fresh_run_of_the_console(
    document: str | None, name: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller default job for work: its times are not compared, only the shape
    # of its answers and timelines, and a second of CPU per worker would slow
    # every other test running beside this one.
    monkeypatch.setenv("DOER_WORK_STEPS", "2000000")
    transcripts = load_script("transcripts")  # fresh: its cache of the script's run starts empty
    if document is not None and name is not None:
        assert transcripts.main(["--check", "--only", name, document]) == 0, (
            f"{document}'s {name} has drifted: run make docs"
        )
        return
    # Every lesson shown, from the same run of the script, cached by the module just loaded.
    for page, lesson in [(page, shown) for page, shown in _shown() if shown.startswith(LESSON)]:
        assert transcripts.main(["--check", "--only", lesson, page]) == 0, (
            f"{page}'s {lesson} has drifted: run make docs"
        )


def _pages() -> list[str]:
    """Every page of the docs, from the project's root."""
    return [str(path.relative_to(ROOT)) for path in load_script("transcripts").DOCUMENTS]


@pytest.mark.parametrize("document", _pages())
def test_the_files_shown_in_the_docs_are_the_files(document: str) -> None:
    """A program of examples/ shown whole in a page (``<!-- file: PATH -->``) is the
    file as it is: checked without running any transcript (``--only`` names none)."""
    transcripts = load_script("transcripts")
    assert transcripts.main(["--check", "--only", "", document]) == 0, (
        f"{document} shows a file of examples/ as it no longer is: run make docs"
    )


def test_the_architecture_page_s_tree_names_every_module_and_only_those() -> None:
    """docs/architecture.md draws the package as a tree: a module added, moved or
    removed without the page following would mislead the next reader."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    tree = page.split("```\nsrc/doer/\n", 1)[1].split("```", 1)[0]
    package = ROOT / "src" / "doer"
    modules = {path.name for path in package.rglob("*.py") if path.name != "__main__.py"}
    rooms = {path.parent.name + "/" for path in package.rglob("__init__.py")} - {"doer/"}
    named = set(re.findall(r"\b\w+\.py\b", tree))
    assert modules - named == set(), "modules the page's tree does not name"
    assert named - modules == set(), "modules the page's tree names that do not exist"
    assert {room for room in rooms if room not in tree} == set(), "packages not in the tree"
