"""The transcripts in the docs are what the console really prints."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "transcripts.py"


@pytest.mark.parametrize("document", ["README.md", "docs/classroom.md"])
def test_the_transcripts_match_a_fresh_run_of_the_console(
    document: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A smaller default job for work: its times are not compared, only the shape
    # of its answers and timelines, and a second of CPU per worker would slow
    # every other test running beside this one.
    monkeypatch.setenv("DOER_WORK_STEPS", "2000000")
    spec = importlib.util.spec_from_file_location("transcripts", SCRIPT)
    assert spec is not None and spec.loader is not None
    transcripts = importlib.util.module_from_spec(spec)
    sys.modules["transcripts"] = transcripts
    spec.loader.exec_module(transcripts)
    assert transcripts.main(["--check", document]) == 0, f"{document} has drifted: run make docs"
