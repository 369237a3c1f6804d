"""The README's transcripts are what the console really prints."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "transcripts.py"


def test_the_readme_transcripts_match_a_fresh_run_of_the_console() -> None:
    spec = importlib.util.spec_from_file_location("transcripts", SCRIPT)
    assert spec is not None and spec.loader is not None
    transcripts = importlib.util.module_from_spec(spec)
    sys.modules["transcripts"] = transcripts
    spec.loader.exec_module(transcripts)
    assert transcripts.main(["--check"]) == 0, "the README has drifted: run `make docs`"
