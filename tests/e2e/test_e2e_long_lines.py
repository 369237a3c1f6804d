"""End to end through a real pty: a huge typed or pasted line, as a careless user sends it.

A terminal without bracketed paste sends a paste as keys, 512 bytes a write;
one with it wraps the text in ``ESC [200~ ... ESC [201~``. Either way the console
must take it promptly, keep at most the protocol's limit, say so once, stay
small in memory, and answer the next line.

In line mode the terminal edits the line, and keeps 4,095 bytes of it: a line
it cut is refused, one that fits goes whole.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support.pty_helpers import Terminal, rss_mib

#: How much the console may grow while it takes the line (the issue's bound).
MEMORY_BOUND_MIB = 100

TOO_LONG = "line too long: 65,536 characters at most; the rest is not taken"

LINES = {
    "200 kB typed": ("abcdefghij" * 20_000),
    "1 MB bracketed paste": "\x1b[200~" + "abcdefghij" * 100_000 + "\x1b[201~",
}


# Each way of sending on one kind: the line is cut in the console, before any worker
# sees it, so the kind only changes who answers the next line (both are covered).
@pytest.mark.parametrize(
    ("kind", "how"), [("thread", "200 kB typed"), ("process", "1 MB bracketed paste")]
)
def test_a_huge_line_is_cut_at_the_limit_said_once_and_the_console_carries_on(
    launch: Callable[..., Terminal], kind: str, how: str
) -> None:
    term = launch("--kind", kind)
    term.ask("ping", "pong")
    idle = rss_mib(term.console_pid)

    term.send_in_chunks(LINES[how], timeout=30.0)
    term.expect_text(TOO_LONG, timeout=10.0)
    # The line is drawn short: its start, a note of what is hidden, the end.
    term.expect(r"…\([\d,]+ characters\)…", timeout=10.0)
    grown = rss_mib(term.console_pid) - idle
    assert grown <= MEMORY_BOUND_MIB, f"the console grew by {grown:.0f} MiB taking the line"

    term.send("\x03")  # Ctrl-C clears the line
    term.ask("ping", "pong")
    assert term.text.count(TOO_LONG) == 1, "told once, not once per key"


#: How line mode refuses a line the terminal kept 4,095 bytes of.
CUT_BY_THE_TERMINAL = (
    "error: line too long for a terminal in line mode: it keeps 4,095 bytes of a line"
    " and drops the rest, so it was not sent"
)


def test_in_line_mode_a_line_the_terminal_cut_is_refused_and_one_that_fits_goes_whole(
    launch: Callable[..., Terminal],
) -> None:
    """Through a real terminal's own line editing (canonical mode): of a line of
    5,000 bytes the kernel hands over 4,095 and drops the rest, and the console
    refuses what it got rather than send it cut; a line of 4,094 bytes, one short
    of what is kept, arrives whole and is sent."""
    term = launch("--line-mode", "--kind", "thread")

    term.send_in_chunks("set-state " + "y" * 4990 + "\r")
    term.expect_text(CUT_BY_THE_TERMINAL)
    term.expect_prompt()
    term.ask("get-state", "state: None")  # the cut line changed nothing

    term.send_in_chunks("set-state " + "x" * 4084 + "\r")  # 4,094 bytes
    # A long answer is shown as its start and its length: 11 + 4,084 characters.
    term.expect(r"\] new state: x+… \(4,095 characters\)\n")
    term.expect_prompt()
    assert term.text.count("line too long") == 1, "only the cut line was refused"
