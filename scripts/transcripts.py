"""Regenerate the console transcripts in the README (and check them).

Every transcript in the docs comes from running the real console in plain
mode, so the docs cannot drift from what it prints. A transcript sits in a
Markdown file between two markers::

    <!-- transcript: NAME -->
    ```text
    $ the command
    what the console printed
    ```
    <!-- /transcript -->

``python scripts/transcripts.py`` rewrites every block; ``--check`` only
compares, treating any run of digits as equal (pids change on every run), and
exits 1 if a block differs. The test suite runs the check.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md"]


@dataclass(frozen=True)
class Transcript:
    """A console run shown in the docs: the command as a reader would type it."""

    shown: str  # the command line as printed in the docs
    args: tuple[str, ...]  # the arguments given to doer
    stdin: str  # what is piped in


RECIPE = "ping\nfoo\nset-state hola!\nexit\n"

TRANSCRIPTS: dict[str, Transcript] = {
    "recipe-process": Transcript(
        "printf 'ping\\nfoo\\nset-state hola!\\nexit\\n' | doer --kind process --state 42",
        ("--kind", "process", "--state", "42"),
        RECIPE,
    ),
    "recipe-thread": Transcript(
        "printf 'ping\\nfoo\\nset-state hola!\\nexit\\n' | doer --kind thread --state 42",
        ("--kind", "thread", "--state", "42"),
        RECIPE,
    ),
    "whoami": Transcript(
        "printf 'whoami\\n.restart thread\\nwhoami\\n' | doer --kind process --start-method spawn",
        ("--kind", "process", "--start-method", "spawn"),
        "whoami\n.restart thread\nwhoami\n",
    ),
    # sleep 1.5 against --timeout 1: the sleep is late by 0.5 s, and the ping that
    # follows (answered when the sleep ends) is on time by 0.5 s; a busy machine
    # cannot flip either.
    "errors": Transcript(
        "printf 'set-state \"oops\\nsleep -1\\nset-state a b\\nsleep 1.5\\nping\\n'"
        " | doer --timeout 1",
        ("--timeout", "1"),
        'set-state "oops\nsleep -1\nset-state a b\nsleep 1.5\nping\n',
    ),
}

BLOCK = re.compile(
    r"(<!-- transcript: (?P<name>[\w-]+) -->\n)```text\n.*?```\n(<!-- /transcript -->)",
    re.DOTALL,
)


def run(transcript: Transcript) -> str:
    """Run the console as the transcript says; return the block's text."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    result = subprocess.run(
        [sys.executable, "-m", "doer", *transcript.args],
        input=transcript.stdin.encode(),
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    output = result.stdout.decode()
    status = f"(exit status {result.returncode})\n" if result.returncode else ""
    return f"$ {transcript.shown}\n{output}{status}"


def render(text: str) -> str:
    """``text`` with every transcript block replaced by a fresh run."""

    def replace(match: re.Match[str]) -> str:
        body = run(TRANSCRIPTS[match["name"]])
        return f"{match[1]}```text\n{body}```\n{match[3]}"

    return BLOCK.sub(replace, text)


def normalise(text: str) -> str:
    """Digits vary from run to run (pids, thread ids): compare without them."""
    return re.sub(r"\d+", "N", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    args = parser.parse_args(argv)
    drifted = []
    for path in DOCUMENTS:
        old = path.read_text()
        new = render(old)
        if args.check:
            if normalise(new) != normalise(old):
                drifted.append(path)
        elif new != old:
            path.write_text(new)
            print(f"rewrote {path.relative_to(ROOT)}")
    for path in drifted:
        print(f"{path.relative_to(ROOT)}: transcripts differ from the console; run make docs")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
