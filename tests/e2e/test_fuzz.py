"""Bad input: random text in plain mode, random keys in a real terminal.

Short runs here, a sample that keeps ``make test`` quick; ``make soak`` runs
the same checks for much longer (``test_soak.py``: 500 batches of lines, 3,000
lines of keys with a fresh seed each run). The checks themselves are in ``support/fuzz.py``.

- Plain mode (hypothesis): batches of random lines (every unicode category,
  control characters, NUL, unbalanced quotes, lines around the 64 KiB limit
  and of 1 MB, bytes that are not UTF-8) each get their echo and exactly one
  answer, and a final ``ping`` still gets ``pong``.
- A pty (pexpect): a hundred lines of random keys, control keys included,
  leave the console running, without a traceback, answering ``ping``.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings

from doer.base.protocol import Ended, Reply, parse_line
from doer.console.render import record_text
from support.fuzz import LINES, check_plain_mode, fuzz_the_terminal
from support.pty_helpers import Terminal

#: The suite's pty fuzz run is the same every time; set DOER_FUZZ_SEED to try others.
SUITE_SEED = 20261125


@settings(
    max_examples=12,  # each a console of its own: make soak runs 500
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=LINES)
@example(lines=[b"set-state 0x" + b"f" * 4000, b"get-state"])  # an int repr() refuses
@example(lines=[b"caf\xe9", b"", b"# comment", b"'", b"\x00\x1b[31m", b"x" * 1_000_000])
def test_random_lines_in_plain_mode_each_get_one_answer_and_ping_still_gets_pong(
    tmp_path: Path, lines: list[bytes]
) -> None:
    check_plain_mode(lines, tmp_path)


def test_a_state_too_big_to_print_is_shown_as_a_note_not_a_traceback() -> None:
    """``repr`` of an int of more than 4300 digits raises ValueError (Python's limit)."""
    value = parse_line("set-state 0x" + "f" * 4000)[1]
    assert isinstance(value, int)
    for record in (Reply(1, value), Ended(0, value, 42)):
        text = record_text(record)
        assert "int that cannot be shown" in text
        assert text.isprintable()


def test_a_hundred_lines_of_random_keys_leave_the_console_answering_ping(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("DOER_FUZZ_SEED", SUITE_SEED))
    fuzz_the_terminal(tmp_path, lines=100, seed=seed)


def test_ctrl_c_while_text_is_selected_then_enter_clears_the_line_and_the_console_goes_on(
    tmp_path: Path,
) -> None:
    """Found by the pty fuzz run (seed 7): a, Ctrl-Space (set the mark), b, Ctrl-C, Enter."""
    term = Terminal(["--kind", "thread"], tmp_path)
    try:
        term.start()
        term.send("a\x00b\x03")
        term.send("\r")
        term.sendline("ping")
        outcome = term.expect(r"\] pong\n|Return value already set|Traceback").group(0)
        assert outcome == "] pong\n", term.text
        assert "Traceback" not in term.text
    finally:
        term.close()
