"""The lesson plan, the help and the screen say the same thing.

- ``.help lessons`` and ``docs/classroom.doer`` (the lines of docs/classroom.md)
  are the same lessons, with the same lines, in the same order;
- every one of those lines is taken by the console: it parses, and run in
  plain mode (with small counts and short sleeps, so that the whole plan runs
  quickly) no line is refused as a bad command, message or argument;
- what the console says of a worker is true: ``.restart`` of a thread stuck in
  a handler does not call its request dropped (a thread cannot be stopped: the
  answer still comes), and ``.status`` says how a worker died in the words
  ``.workers`` uses.
"""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path

import pytest

from doer.console.render import plain
from doer.console.session import Console, Settings
from doer.console.syntax import LESSONS, Command, Invalid, Message, interpret
from doer.frontends.plain import PlainRunner
from doer.frontends.shell import stopped_waiting_text
from doer.lessons import handlers as lessons
from doer.worker.doer import BUILTIN_HANDLERS
from support.handlers import HANDLERS
from support.shell_helpers import driven_shell

ROOT = Path(__file__).resolve().parent.parent.parent
PLAN = ROOT / "docs" / "classroom.doer"


def plan_lessons() -> dict[str, list[str]]:
    """The lines of each lesson of the plan (``# lesson: NAME`` starts one), in order."""
    found: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in PLAN.read_text().splitlines():
        if line.startswith("# lesson: "):
            lines = found.setdefault(line.removeprefix("# lesson: ").strip(), [])
        elif line.strip() and not line.startswith("#"):
            lines.append(line)
    return found


def help_lessons() -> dict[str, list[str]]:
    """The lines of each lesson as ``.help lessons`` shows them, from its table."""
    return {name: typed.split(", ") for name, typed in LESSONS}


def every_line_to_type() -> list[str]:
    """Each line the help or the plan tells a teacher to type, once."""
    both = [*plan_lessons().values(), *help_lessons().values()]
    lines = [line for lesson in both for line in lesson]
    return list(dict.fromkeys(lines))


# --- one plan ---------------------------------------------------------------------


def test_the_help_and_the_plan_are_the_same_lessons_with_the_same_lines() -> None:
    assert list(help_lessons()) == list(plan_lessons())  # the same lessons, in order
    for name, lines in plan_lessons().items():
        assert help_lessons()[name] == lines, name


def test_the_help_shows_every_line_whole_within_80_columns() -> None:
    shown = [plain(line) for line in Console(Settings()).help_lines("lessons")]
    assert all(len(line) < 80 for line in shown), [line for line in shown if len(line) >= 80]
    assert len(shown) < 24, len(shown)  # one screen
    rows = "\n".join(shown)
    for name, lines in help_lessons().items():
        assert re.search(rf"^{re.escape(name)} +{re.escape(lines[0])}\b", rows, re.M), name
        for line in lines:  # each on one row, never split
            assert re.search(rf"(^| ){re.escape(line)}(,|$)", rows, re.M), line


# --- every line is taken -------------------------------------------------------------


@pytest.mark.parametrize("line", every_line_to_type())
def test_every_line_to_type_parses_as_a_command_or_a_message_that_exists(line: str) -> None:
    what = interpret(line)
    assert not isinstance(what, Invalid), what
    assert isinstance(what, Command | Message), what
    if isinstance(what, Message):  # a built-in message, given arguments its handler takes
        name, *values = what.message if isinstance(what.message, tuple) else (what.message,)
        assert name in BUILTIN_HANDLERS, f"unknown message {name}"
        inspect.signature(BUILTIN_HANDLERS[name]).bind(None, *values)


#: How the plan's lines are made cheap for a test: the same lines, the same words,
#: smaller numbers (what they print is checked by the docs' transcripts).
CHEAPER = [
    (re.compile(r"(^|\s)work( \d+)?$"), r"\1work 20000"),
    (re.compile(r"(^|\s)sleep \d+(\.\d+)?$"), r"\1sleep 0.01"),
    (re.compile(r"(^|\s)race \d+"), r"\1race 2000"),
    (re.compile(r"^\.repeat \d+ "), ".repeat 20 "),
    (re.compile(r"(^|\s)deadlock \d+$"), r"\1deadlock 0.1"),
]


def cheaper(line: str) -> str:
    for pattern, replacement in CHEAPER:
        line = pattern.sub(replacement, line)
    return line


def test_cheaper_changes_only_the_numbers() -> None:
    assert cheaper("@t1,t2 work") == "@t1,t2 work 20000"
    assert cheaper("@t2 sleep 30") == "@t2 sleep 0.01"
    assert cheaper("@t1,t2 race 100000 natural") == "@t1,t2 race 2000 natural"
    assert cheaper(".repeat 10000 @p1 ping") == ".repeat 20 @p1 ping"
    assert cheaper("@t1,t2 deadlock 5") == "@t1,t2 deadlock 0.1"
    assert cheaper("@t1,t2 deadlock ordered") == "@t1,t2 deadlock ordered"
    assert cheaper(".spawn s process --start-method spawn") == (
        ".spawn s process --start-method spawn"
    )


#: What the console says of a line it does not take: an error of its own (a bad
#: command, name or option), or a worker's answer that the message or its
#: arguments are wrong.
REFUSED = re.compile(r"^error: |\] unknown message |\] error: (TypeError|ValueError): ")


def test_the_whole_plan_runs_in_plain_mode_with_no_line_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each lesson's lines, in order, as ``doer --script docs/classroom.doer`` runs them
    (smaller numbers); the lessons' globals in the console are put back after."""
    monkeypatch.setattr(lessons, "MARK", lessons.MARK)
    monkeypatch.setattr(lessons, "COUNTER", lessons.COUNTER)
    lines = [cheaper(line) for lesson in plan_lessons().values() for line in lesson]
    out = io.StringIO()
    PlainRunner(Settings(), out).run([line.encode() + b"\n" for line in lines])
    transcript = out.getvalue().splitlines()
    refused = [
        f"{_echo_before(transcript, number)} -> {text}"
        for number, text in enumerate(transcript)
        if REFUSED.search(text)
    ]
    assert not refused, "\n".join(refused)
    echoed = [text.removeprefix("> ") for text in transcript if text.startswith("> ")]
    assert echoed == lines  # every line was run, in order


def _echo_before(transcript: list[str], number: int) -> str:
    """The typed line that ``transcript[number]`` answers."""
    return next(
        (text for text in reversed(transcript[:number]) if text.startswith("> ")), "(start)"
    )


def test_a_line_the_console_refuses_is_caught() -> None:
    """The check above would see a refusal: a bad name, an unknown message, bad arguments."""
    out = io.StringIO()
    lines = [b".spawn t1;t2 thread\n", b"pign\n", b"race 1000 nat\n", b"set-state a b\n"]
    PlainRunner(Settings(), out).run(lines)
    refused = [text for text in out.getvalue().splitlines() if REFUSED.search(text)]
    assert len(refused) == 4, out.getvalue()


# --- what is said is true ----------------------------------------------------------


async def test_restart_of_a_stuck_thread_says_its_answer_is_still_to_come_and_it_comes(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    async with driven_shell("thread", timeout=0.3, handlers=HANDLERS) as d:
        old = d.console.worker
        assert old is not None
        d.type(f"gate {gate}\n")
        await d.wait_for(lambda: old.pending == 1, "the gate to be pending")
        d.type(".restart\n")
        said = await d.wait_for_text("stopped waiting: ")
        await d.wait_for(lambda: "\n" in d.text()[said:], "the end of the line")
        assert d.text()[said:].splitlines()[0] == "0 of 1 answered, 1 still to come"
        await d.wait_for_text("w1 is stuck in a handler, and a thread cannot be killed")
        gate.touch()
        await d.wait_for_text(f"[w1 (replaced) thread {old.pid}] passed gate", after=said)
        assert "dropped" not in d.text()


class Waiting:
    """A worker with requests pending, as :func:`stopped_waiting_text` reads it."""

    def __init__(self, kind: str, pending: int) -> None:
        self.kind, self.pending = kind, pending


def test_what_is_dropped_is_what_a_kill_ends_and_the_rest_still_comes() -> None:
    thread, process, task = Waiting("thread", 2), Waiting("process", 1), Waiting("asyncio", 1)
    workers = [thread, process, task]
    text = stopped_waiting_text(workers, 5, leaving=False)  # type: ignore[arg-type]
    assert text == "stopped waiting: 1 of 5 answered, 2 dropped, 2 still to come"
    # Leaving: nothing is shown after the console has gone, a thread's answer neither.
    text = stopped_waiting_text(workers, 5, leaving=True)  # type: ignore[arg-type]
    assert text == "stopped waiting: 1 of 5 answered, 4 dropped"
    assert stopped_waiting_text([process], 1, leaving=False) == (  # type: ignore[list-item]
        "stopped waiting: 0 of 1 answered, 1 dropped"
    )


def test_status_says_how_a_worker_died_in_the_words_of_workers() -> None:
    out = io.StringIO()
    lines = [b".spawn p1 process\n", b"@p1 die\n", b".status p1\n", b".workers all\n"]
    PlainRunner(Settings(), out).run(lines)
    text = out.getvalue()
    status = text.split("> .status p1\n")[1].splitlines()[0]
    assert re.fullmatch(r"\[p1 process \d+\] died: exit code 3, .*", status), status
    row = next(line for line in text.split("> .workers all\n")[1].splitlines() if " p1 " in line)
    assert " died: exit code 3 " in row, row
