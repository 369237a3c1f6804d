"""The lines the console prints: their words and styles (``doer.console.render``).

``record_text`` and the shortening of long values are tested with the records
in ``test_protocol.py``; here, the lines built around them.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

import pytest

from doer.base.protocol import Died, Ended, Failure, Note, Record, Reply, Started
from doer.console.render import (
    STYLES,
    creating_line,
    echo_line,
    ended_hint,
    error_line,
    note_line,
    plain,
    record_line,
    status_line,
    tag,
)

STARTED = Started("process", 4242, 1, "MainThread", 7, "fork", 42)


class Shown(NamedTuple):
    """What a line needs of a worker to tag it."""

    name: str
    kind: str
    pid: int


P1 = Shown("p1", "process", 4242)


class NeverStarted(NamedTuple):
    """A worker whose end came before its start: its lines are tagged without a pid."""

    name: str
    kind: str
    pid: int
    started: None = None


def test_a_tag_names_the_worker_its_kind_and_pid_and_says_when_it_was_replaced() -> None:
    assert tag(P1) == "[p1 process 4242]"
    assert tag(Shown("w1", "thread", 17), replaced=True) == "[w1 (replaced) thread 17]"


@pytest.mark.parametrize(
    ("record", "style"),
    [
        # In the colour of its kind (the whole line), an error in red (the whole line).
        (Reply(1, "pong"), "class:reply class:kind-process"),
        (STARTED, "class:event class:kind-process"),
        (Ended(2, 42, 4242), "class:event class:kind-process"),
        (Failure(3, "no"), "class:error"),
        (Died("killed by SIGKILL"), "class:error"),
    ],
)
def test_a_record_line_is_its_tag_then_its_text_all_in_the_record_s_style(
    record: Record, style: str
) -> None:
    line = record_line(P1, record)
    assert line[0] == (style, "[p1 process 4242] ")
    assert line[1][0] == style
    assert all(name.removeprefix("class:") in STYLES for name in style.split())
    replaced = record_line(P1, record, replaced=True)
    assert replaced[0] == (style, "[p1 (replaced) process 4242] ")


def test_no_tagged_line_changes_style_between_its_tag_and_its_text() -> None:
    """A change of style is an escape code in the output: between ``]`` and the text it
    would break ``\\[p1 process \\d+\\] text``, the pattern a program waits for."""
    lines = [
        record_line(P1, Reply(1, "pong")),
        record_line(P1, Failure(3, "no")),
        record_line(P1, Note("waiting for the cluster")),
        record_line(NeverStarted("p1", "ray", 0), Died("no Ray")),
        error_line("bad", P1),
        note_line("news", P1),
        status_line(P1, True, "hola", 2, "spawn"),
    ]
    for line in lines:
        assert plain(line).startswith("[p1 "), line
        assert len({style for style, _ in line}) == 1, line


def test_the_console_s_own_lines() -> None:
    assert plain(creating_line()) == f"creating doer from process {os.getpid()}"
    assert error_line("bad\x1b") == [("class:error", "error: bad\\x1b")]
    assert note_line("a\tnote") == [("class:note", "a\\tnote")]
    assert echo_line("ping") == [("class:echo", "> ping")]
    assert plain(echo_line("x" * 300)) == "> " + "x" * 200 + "… (300 characters)"
    assert plain(ended_hint()) == "the worker has ended; .restart starts a fresh one"


def test_the_status_line_says_everything_about_the_worker() -> None:
    line = status_line(P1, True, "hola", 2, "spawn")
    assert plain(line) == (
        "[p1 process 4242] alive, start method spawn, last state: hola, pending: 2"
    )
    assert line[1][0] == "class:reply class:kind-process"
    ended = plain(status_line(Shown("w2", "thread", 17), False, [1], 0, None))
    assert ended == "[w2 thread 17] ended, last state: [1], pending: 0"


@pytest.mark.parametrize("part", ["", "messages", "commands", "lessons"])
def test_every_part_of_help_fits_an_80_by_24_screen(part: str) -> None:
    from doer.console.session import Console, Settings

    lines = [plain(line) for line in Console(Settings()).help_lines(part)]
    assert all(len(line) < 80 for line in lines), [line for line in lines if len(line) >= 80]
    if part:  # the whole of .help is the parts together, and scrolls
        assert len(lines) < 24, len(lines)


def test_help_lessons_names_only_messages_and_commands_that_exist() -> None:
    from doer.console.commands import COMMANDS
    from doer.console.syntax import LESSONS, MESSAGE_HELP

    words = {usage.split()[0] for usage in MESSAGE_HELP} | set(COMMANDS)
    for _, typed in LESSONS:
        for line in re.sub(r" \(.*?\)", "", typed).split(", "):
            first = line.split()[1] if line.startswith("@") else line.split()[0]
            assert first in words, line


def test_every_command_names_a_method_of_the_console_that_carries_it_out() -> None:
    from doer.console.commands import COMMANDS
    from doer.console.session import Console

    assert all(callable(getattr(Console, spec.does, None)) for spec in COMMANDS.values())


# --- the lessons' lines -------------------------------------------------------------


def bars(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Where each row's bar starts (from the axis's 0) and how long it is, by worker name."""
    zero = lines[-2].index("0 s")  # the axis, above the legend
    found = {}
    for line in lines[1:-2]:
        bar = re.match(r"( *)([█▏▎▍▌▋▊▉]+)", line[zero:])
        if bar:
            found[line.split()[0]] = (len(bar[1]), len(bar[2]))
    return found


def timed(start: float, end: float) -> Reply:
    return Reply(1, "done", (), (start, end))


def test_a_timeline_draws_each_handler_where_it_ran_on_one_fixed_scale() -> None:
    from doer.console.render import timeline_lines

    threads = [
        (Shown("t1", "thread", 1), timed(10.0, 12.0)),
        (Shown("t2", "thread", 1), timed(10.0, 11.95)),
    ]
    processes = [
        (Shown("p1", "process", 2), timed(50.0, 51.0)),
        (Shown("p2", "process", 3), timed(50.01, 51.0)),
    ]
    turns = [
        (Shown("a1", "asyncio", 1), timed(5.0, 6.0)),
        (Shown("a2", "asyncio", 1), timed(6.0, 7.0)),
    ]

    drawn = {
        name: [plain(line) for line in timeline_lines(f"@{name} work", rows)]
        for name, rows in (("threads", threads), ("processes", processes), ("turns", turns))
    }

    for lines in drawn.values():
        assert lines[0].endswith("(one character: 50 ms)"), "one scale for runs of 1 s and 2 s"
        assert all(len(line) <= 80 for line in lines), lines
        axis, legend = lines[-2].split(), lines[-1]
        assert axis == ["0", "s", "0.5", "s", "1", "s", "1.5", "s", "2", "s"][: len(axis)]
        assert legend.startswith("█ busy with the request, running or not"), "not sampled"
    assert bars(drawn["threads"]) == {"t1": (0, 40), "t2": (0, 39)}, "stretched to 2 s"
    assert bars(drawn["processes"]) == {"p1": (0, 20), "p2": (0, 20)}, "side by side, 1 s"
    assert bars(drawn["turns"]) == {"a1": (0, 20), "a2": (20, 20)}, "one after the other"
    assert drawn["threads"][1].endswith("  2.00 s") and drawn["turns"][2].endswith("  1.00 s")


def test_a_timeline_says_which_workers_have_not_answered_and_what_failed() -> None:
    from doer.console.render import timeline_lines

    rows: list[tuple[Shown, Record | None]] = [
        (P1, timed(1.0, 1.2)),
        (Shown("w2", "thread", 5), None),
        (Shown("w3", "thread", 5), Failure(1, "ValueError: no")),
    ]
    lines = [plain(line) for line in timeline_lines("@all work", rows)]
    assert lines[0] == "timeline of @all work (one character: 10 ms)"
    assert lines[2] == "w2 thread  no answer yet"
    assert lines[3] == "w3 thread  no time: error: ValueError: no"
    assert plain(timeline_lines("ping", [(P1, None)])[0]) == "timeline of ping: no timed answer yet"


class Traced(NamedTuple):
    request_id: int
    sent_at: float
    answered_at: float
    bytes_out: int | None
    bytes_back: int | None


class Running(NamedTuple):
    name: str
    kind: str
    pid: int
    started: Started | None


def test_a_trace_line_says_how_a_request_crossed() -> None:
    from doer.console.render import trace_line

    process = Running("p1", "process", 4242, STARTED)
    thread = Running("t1", "thread", 17, Started("thread", 17, 1, "t1-worker", 18, None, 0))

    piped = plain(trace_line(process, "Pipe", Traced(3, 1.0, 1.000184, 52, 48)))  # type: ignore[arg-type]
    queued = plain(trace_line(thread, "queue.Queue", Traced(4, 1.0, 1.02, None, None)))  # type: ignore[arg-type]

    assert piped == "[p1 process 4242] Pipe: 52 B pickled out, 48 B back; 184 µs"
    assert queued == "[t1 thread 17] queue.Queue: not pickled (same memory); 20 ms"


class Peeked(NamedTuple):
    name: str
    kind: str
    pid: int
    state: object


def test_peek_says_whether_the_console_sees_the_live_state_or_its_copy() -> None:
    from doer.console.render import peek_lines

    live = [plain(line) for line in peek_lines(Peeked("t1", "thread", 17, 7), True, 7, 3)]  # type: ignore[arg-type]
    copy = [plain(line) for line in peek_lines(Peeked("p1", "process", 42, 7), False, None, 3)]  # type: ignore[arg-type]

    # The console's lines, tagged as such: .peek sends nothing to the worker.
    assert live == [
        "[console] t1's state: 7 (live: its memory is the console's)",
        "[console] counter: 3 (the one the console, threads and tasks share)",
    ]
    assert copy == [
        "[console] p1's state: None (the console's copy; p1 said 7)",
        "[console] counter: 3 (the console's; p1 counts its own)",
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("hola!", "hola!"),
        ("42", "'42'"),
        (42, "42"),
        ("a b", "'a b'"),
        ("", "''"),
        (None, "None"),
        ("None", "'None'"),
        ([1], "[1]"),
    ],
)
def test_a_value_shows_its_type_where_a_word_would_hide_it(value: object, shown: str) -> None:
    from doer.base.protocol import value_text

    assert value_text(value) == shown


def test_a_timeline_for_an_output_without_block_characters_draws_hashes() -> None:
    from doer.console.render import timeline_lines

    rows = [
        (Shown("t1", "thread", 1), timed(10.0, 10.5)),
        (Shown("t2", "thread", 1), timed(10.25, 10.5)),
    ]
    lines = [plain(line) for line in timeline_lines("@all work", rows, blocks=False)]

    assert lines[0].endswith("(one character: 10 ms)")
    assert lines[1] == "t1 thread " + "#" * 50 + "  500 ms"
    assert lines[2] == "t2 thread " + " " * 25 + "#" * 25 + "  250 ms"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0004, "0.4 ms"),
        (0.00994, "9.9 ms"),
        (0.00996, "10 ms"),
        (0.0125, "12 ms"),
        (1.234, "1234 ms"),
    ],
)
def test_milliseconds_show_a_tenth_only_below_ten_once_rounded(seconds: float, shown: str) -> None:
    from doer.console.render import milliseconds

    assert milliseconds(seconds) == shown
