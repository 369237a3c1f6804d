"""The lines the console prints: their words and styles (``doer.render``).

``record_text`` and the shortening of long values are tested with the records
in ``test_protocol.py``; here, the lines built around them.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

import pytest

from doer.protocol import Died, Ended, Failure, Record, Reply, Started
from doer.render import (
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


def test_a_tag_names_the_worker_its_kind_and_pid_and_says_when_it_was_replaced() -> None:
    assert tag(P1) == "[p1 process 4242]"
    assert tag(Shown("w1", "thread", 17), replaced=True) == "[w1 (replaced) thread 17]"


@pytest.mark.parametrize(
    ("record", "style"),
    [
        (Reply(1, "pong"), "class:reply"),
        (STARTED, "class:event"),
        (Ended(2, 42, 4242), "class:event"),
        (Failure(3, "no"), "class:error"),
        (Died("killed by SIGKILL"), "class:error"),
    ],
)
def test_a_record_line_is_its_tag_then_its_text_in_the_record_s_style(
    record: Record, style: str
) -> None:
    line = record_line(P1, record)
    assert line[0] == ("class:tag", "[p1 process 4242] ")
    assert line[1][0] == style
    assert style.removeprefix("class:") in STYLES
    replaced = record_line(P1, record, replaced=True)
    assert replaced[0] == ("class:tag", "[p1 (replaced) process 4242] ")


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
    assert line[1][0] == "class:reply"
    ended = plain(status_line(Shown("w2", "thread", 17), False, [1], 0, None))
    assert ended == "[w2 thread 17] ended, last state: [1], pending: 0"


@pytest.mark.parametrize("part", ["", "messages", "commands", "lessons"])
def test_every_part_of_help_fits_an_80_by_24_screen(part: str) -> None:
    from doer.console import Console, Settings

    lines = [plain(line) for line in Console(Settings()).help_lines(part)]
    assert all(len(line) < 80 for line in lines), [line for line in lines if len(line) >= 80]
    if part:  # the whole of .help is the parts together, and scrolls
        assert len(lines) < 24, len(lines)


def test_help_lessons_names_only_messages_and_commands_that_exist() -> None:
    from doer.console import COMMANDS, LESSONS, MESSAGE_HELP

    words = {usage.split()[0] for usage in MESSAGE_HELP} | set(COMMANDS)
    for _, typed in LESSONS:
        for line in re.sub(r" \(.*?\)", "", typed).split(", "):
            first = line.split()[1] if line.startswith("@") else line.split()[0]
            assert first in words, line


def test_every_command_names_a_method_of_the_console_that_carries_it_out() -> None:
    from doer.console import COMMANDS, Console

    assert all(callable(getattr(Console, spec.does, None)) for spec in COMMANDS.values())
