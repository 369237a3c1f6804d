"""The class runs itself: several workers in one ``.spawn``, a script and then the
prompt (``-i --script``), ``.reset``, ``.save`` (text and asciicast), a pasted
block, Ctrl-C while workers are busy, and the hints for a mistyped message,
command or worker name.

In-process: plain mode on a byte stream, the library Console, and the shell
through prompt-toolkit's pipe input (see ``support.shell_helpers``). What only a real
terminal shows is in ``test_e2e_class.py``.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.plain_text import PlainTextOutput

from doer.base.protocol import Reply
from doer.cli import main
from doer.console.outcomes import Spawned
from doer.console.render import plain, record_line
from doer.console.session import Console, Mailbox, Settings
from doer.console.syntax import Command, Invalid, interpret
from doer.console.transcript import Transcript
from doer.frontends.plain import run_plain
from doer.frontends.shell import Shell, work_goes_on_text
from doer.lessons import handlers as lessons
from doer.worker.doer import DID_YOU_MEAN_CUTOFF, Doer
from support.handlers import HANDLERS
from support.shell_helpers import DEADLINE, Driven, driven_shell
from test_shell import completions

T = 10.0

#: A worker name as long as a class might use, and a pid of seven digits: every
#: line below must fit 80 columns with them.
LONG_NAME = "fast-one"
LONG_PID = 1_234_567


@pytest.fixture
def console() -> Iterator[Console]:
    """A console with its first worker, a thread w1; every worker stopped after."""
    console = Console(Settings(kind="thread", state=42))
    console.start().wait_started(T)
    yield console
    console.stop_all(T)


def run_lines(text: str, *, first: list[bytes] | None = None, **settings: object) -> str:
    """Plain mode over ``text``'s lines (and ``first`` before them); what it printed."""
    out = io.StringIO()
    run_plain(io.BytesIO(text.encode()), out, Settings(**settings), first=first)  # type: ignore[arg-type]
    return out.getvalue()


def in_order(text: str, *parts: str) -> None:
    """Assert that ``parts`` appear in ``text`` in this order."""
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"{part!r} not after offset {position} in:\n{text}"
        position = found + len(part)


# --- .spawn with several names ---------------------------------------------------------


def test_spawn_with_several_names_starts_each_of_the_kind_and_options_asked_for(
    console: Console,
) -> None:
    outcome = console.carry_out(Command(".spawn", "p1,p2 process --start-method spawn"))
    assert isinstance(outcome, Spawned)
    for worker in outcome.workers:
        worker.wait_started(T)
    assert [(w.name, w.kind, w.start_method) for w in outcome.workers] == [
        ("p1", "process", "spawn"),
        ("p2", "process", "spawn"),
    ]
    assert list(console.workers) == ["w1", "p1", "p2"]


def test_each_worker_spawned_together_prints_its_start_line_in_the_order_named() -> None:
    out = run_lines(".spawn t1,t2,t3 thread\n@all ping\n")
    in_order(out, "> .spawn t1,t2,t3 thread", "[t1 thread", "[t2 thread", "[t3 thread", "> @all")
    assert out.count("on start") == 4, out


@pytest.mark.parametrize(
    ("names", "error"),
    [
        ("t1,w1", "there is a worker named w1 already (.workers lists them)"),
        ("t1,t1", "t1 is named twice: each worker needs a name of its own"),
        ("t1,T!", "not a worker name: 'T!'"),
        ("t1,", "not a worker name: ''"),
        ("t1,all", "'all' cannot name a worker"),
    ],
)
def test_one_bad_or_taken_name_refuses_the_whole_spawn_line_before_any_starts(
    console: Console, names: str, error: str
) -> None:
    with pytest.raises(ValueError, match="^" + error.replace("(", r"\(").replace(")", r"\)")):
        console.carry_out(Command(".spawn", f"{names} thread"))
    assert list(console.workers) == ["w1"]


def test_completion_and_help_know_spawn_takes_several_names() -> None:
    assert "process" in completions(Console(Settings()), ".spawn p1,p2 ")
    assert completions(Console(Settings()), ".spawn p1,p2 process --s") == [
        "--start-method",
        "--state",
    ]
    help_text = "\n".join(plain(line) for line in Console(Settings()).help_lines("commands"))
    assert ".spawn NAME[,..] [KIND]" in help_text
    assert ".reset" in help_text and ".save FILE" in help_text


# --- -i --script FILE --------------------------------------------------------------------


@asynccontextmanager
async def scripted_shell(script: list[str], **settings: object) -> AsyncIterator[Driven]:
    """The shell with ``script`` to run before its first prompt (``-i --script``)."""
    with create_pipe_input() as keys:
        screen = io.StringIO()
        with create_app_session(input=keys, output=PlainTextOutput(screen)):
            mailbox = Mailbox()
            console = Console(Settings(state=42, **settings), listener=mailbox.put)  # type: ignore[arg-type]
            console.start()
            session: PromptSession[str] = PromptSession(history=InMemoryHistory())
            shell = Shell(console, mailbox, color=False, session=session)
            shell.script = script
            task = asyncio.create_task(shell.run())
            driven = Driven(shell, keys, screen, task)
            try:
                yield driven
            finally:
                if not task.done():
                    keys.send_text("\x03\x04")
                    await asyncio.wait_for(task, DEADLINE)
                console.stop_all()


async def test_a_script_runs_line_by_line_each_answered_before_the_next_then_the_prompt() -> None:
    script = [
        ".spawn t1,t2 thread",
        "@t1 sleep 0.2",  # slow: the next line must wait for it
        "@t2 set-state late",
        "pign",
        ".nope",  # an error does not stop the script
        "",
        "@t2 get-state",
    ]
    async with scripted_shell(script) as d:
        await d.wait_for_text("] state: late")
        d.type("@t1 ping\n")  # the prompt, with the workers the script made
        await d.wait_for_text("[t1 thread")
        await d.wait_for_text("pong")
        in_order(
            d.text(),
            "on start: state: 42",
            "> .spawn t1,t2 thread",
            "[t1 thread",
            "[t2 thread",
            "> @t1 sleep 0.2",
            "slept 0.2 s",
            "> @t2 set-state late",
            "new state: late",
            "> pign",
            "unknown message pign",
            "> .nope",
            "error: unknown command .nope",
            "> @t2 get-state",
            "state: late",
            "pong",
        )
        assert "> \n" not in d.text(), "a blank line is not shown"


async def test_a_script_s_next_line_waits_for_the_ends_its_line_caused() -> None:
    """``die`` and ``.kill`` end a worker after the line's own answer: its end is shown
    under that line, not under the next one."""
    script = [".spawn t1 thread", ".spawn p1 process", "@t1 die", ".kill p1", "@w1 ping"]
    async with scripted_shell(script) as d:
        await d.wait_for_text("] pong")
        in_order(
            d.text(),
            "> @t1 die",
            "[t1 thread",
            "died: uncaught Died in its thread",
            "> .kill p1",
            "died: killed by SIGKILL",
            "> @w1 ping",
            "] pong",
        )


async def test_ctrl_c_stops_a_script_before_its_next_line(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    async with scripted_shell([f"gate {gate}", "ping"], handlers=HANDLERS) as d:
        await d.wait_for_text(f"> gate {gate}")
        d.type("\x03")
        await d.wait_for_text("Ctrl-C: the script stops at line 1, 1 left")
        await d.wait_for_text("work goes on: a thread cannot be interrupted")
        gate.touch()
        await d.wait_for_text("passed gate")
        assert "> ping" not in d.text()


def test_a_script_before_piped_lines_runs_first_in_plain_mode() -> None:
    out = run_lines("@t1 get-state\n", first=[b".spawn t1 thread", b"@t1 set-state 5"])
    in_order(out, "> .spawn t1 thread", "> @t1 set-state 5", "new state: 5", "state: 5")


def test_i_without_script_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["-i"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "doer: -i needs --script FILE: the lines to run first\n"


def test_help_mentions_i(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "-i " in capsys.readouterr().out


# --- .reset ------------------------------------------------------------------------------


async def test_reset_answers_pending_ends_every_worker_and_starts_the_first_afresh(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    async with driven_shell("thread", handlers=HANDLERS) as d:
        first = d.console.worker
        d.type(".spawn p1 process\n.trace on\n.timeout 7\n")
        await d.wait_for_text("timeout: 7 s")
        p1 = d.console.workers["p1"]
        d.type(f"gate {gate}\n")
        await d.wait_for(lambda: first is not None and first.pending == 1, "the gate pending")
        d.type(".reset\n")
        await d.wait_for_text("waiting for 1 pending request(s)")
        gate.touch()
        answered = await d.wait_for_text("all 1 pending request(s) answered")
        await d.wait_for_text("[w1 thread", answered)
        await d.wait_for_text("on start: state: 42", answered)
        in_order(d.text()[answered:], "on end", "on end", "on start: state: 42")
        assert d.console.worker not in (None, first)
        assert list(d.console.workers) == ["w1"]
        assert first is not None and first.ended is not None and p1.ended is not None
        settings = d.console.settings
        assert (settings.trace, settings.timeout) == (True, 7.0), "the settings are kept"


def test_reset_in_plain_mode_starts_afresh_with_the_settings_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lessons, "COUNTER", 0)
    out = run_lines(".spawn t1 thread\n@t1 incr\n.trace on\n.reset\nincr\n@t1 ping\n")
    after = out[out.index("> .reset") :]
    in_order(after, "[t1 thread", "on end", "[w1 thread", "on start", "> incr", "counter: 1")
    assert "SimpleQueue" in after[after.index("counter: 1") :], "the trace is still on"
    assert "error: no worker named t1" in after


# --- .save -------------------------------------------------------------------------------


def read_cast(path: Path) -> tuple[dict[str, object], list[list[object]]]:
    header, *events = path.read_text().splitlines()
    return json.loads(header), [json.loads(event) for event in events]


def test_save_writes_the_transcript_and_an_asciicast_of_it_in_plain_mode(tmp_path: Path) -> None:
    text, cast = tmp_path / "class.txt", tmp_path / "class.cast"
    out = run_lines(f"ping\npign\n.save {text}\n.save {cast}\n.save {tmp_path}/no/x.txt\n")
    printed = out.splitlines()
    assert text.read_text().splitlines() == printed[: printed.index(f"> .save {text}") + 1]
    assert f"saved 7 lines to {text}" in printed, out
    assert f"error: cannot save to {tmp_path}/no/x.txt: No such file or directory" in printed

    header, events = read_cast(cast)
    assert header["version"] == 2 and header["width"] == 80 and header["height"] == 24
    assert isinstance(header["timestamp"], int)
    times = [float(event[0]) for event in events]  # type: ignore[arg-type]
    assert times == sorted(times), "the events in the order printed, the times never back"
    assert {event[1] for event in events} == {"o"}
    assert [event[2] for event in events] == [
        line + "\r\n" for line in printed[: printed.index(f"> .save {cast}") + 1]
    ]


def test_save_in_line_mode_keeps_the_typed_lines_the_terminal_echoed(tmp_path: Path) -> None:
    """Line mode writes no ``> ping`` (the terminal echoed the line), but a saved
    session without the lines typed would not say what was asked: it keeps them
    as plain mode shows them."""
    import io

    from doer.console.session import Settings
    from doer.frontends.lines import LineRunner

    saved = tmp_path / "class.txt"
    typed = f"ping\nset-state 5\n.save {saved}\n".encode()
    out = io.StringIO()
    runner = LineRunner(Settings(kind="thread"), io.BytesIO(typed), out)
    assert runner.run(runner.prompted_lines()) == 0

    assert "> ping" not in out.getvalue(), "the terminal has echoed it: not again"
    assert [line.split("] ")[-1] for line in saved.read_text().splitlines()[2:]] == [
        "> ping",
        "pong",
        "> set-state 5",
        "new state: 5",
        f"> .save {saved}",
    ]


async def test_save_in_the_shell_keeps_typed_lines_as_plain_mode_shows_them_and_the_timing(
    tmp_path: Path,
) -> None:
    cast = tmp_path / "class.cast"
    async with driven_shell("thread") as d:
        d.type("sleep 0.2\n")
        await d.wait_for_text("slept 0.2 s")
        d.type(f"pign\n.save {cast}\n")
        await d.wait_for_text(f"saved 6 lines to {cast}")
    _, events = read_cast(cast)
    shown = [str(event[2]) for event in events]
    assert [line.partition("] ")[2] if line.startswith("[") else line for line in shown] == [
        f"on start: state: 42, pid: {os.getpid()}\r\n",
        "> sleep 0.2\r\n",
        "slept 0.2 s\r\n",
        "> pign\r\n",
        "unknown message pign (did you mean ping?)\r\n",
        f"> .save {cast}\r\n",
    ]
    assert "\x1b" not in "".join(shown), "no escape codes"
    seconds = [float(event[0]) for event in events]  # type: ignore[arg-type]
    assert seconds[2] - seconds[1] >= 0.2, "the real timing: slept 0.2 s after it was typed"


def test_a_transcript_saves_at_most_its_kept_lines_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("doer.console.transcript.KEPT_LINES", 2)
    transcript = Transcript()
    for line in ("a", "b", "c"):
        transcript.add(line)
    said = transcript.save(str(tmp_path / "t.txt"))
    assert said == f"saved 2 lines to {tmp_path / 't.txt'} (the first 2; 1 more not kept)"
    assert (tmp_path / "t.txt").read_text() == "a\nb\n"


# --- a pasted block --------------------------------------------------------------------


async def test_a_pasted_block_runs_line_by_line_in_order_and_keeps_its_last_line() -> None:
    async with driven_shell("thread") as d:
        # The last line has no newline: it stays to be edited; "ate" typed after the
        # paste completes it, so the keys after a paste come after all of its lines.
        d.type("\x1b[200~set-state a\nset-state b\r\nset-state c\nget-st\x1b[201~ate\n")
        await d.wait_for_text("] state: c")
        in_order(d.text(), "new state: a", "new state: b", "new state: c", "] state: c")
        assert "error" not in d.text()


# --- Ctrl-C while workers are busy -----------------------------------------------------


async def test_ctrl_c_says_the_work_goes_on_only_while_a_worker_is_busy(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    async with driven_shell("thread", handlers=HANDLERS) as d:
        d.type("\x03ping\n")
        after = await d.wait_for_text("pong")
        worker = d.console.worker
        assert worker is not None
        d.type(f"gate {gate}\n")
        await d.wait_for(lambda: worker.pending == 1, "the gate pending")
        d.type("\x03")
        await d.wait_for_text("work goes on: a thread cannot be interrupted", after)
        assert d.text().count("work goes on") == 1
        gate.touch()
        await d.wait_for_text("passed gate")


@pytest.mark.parametrize(
    ("busy", "said"),
    [
        ([], None),
        ([("t1", "thread"), ("t2", "thread")], "work goes on: a thread cannot be interrupted"),
        ([("p1", "process")], "work goes on: .kill p1 ends a process"),
        ([("r", "ray")], "work goes on: .kill r ends a process"),
        ([("a", "asyncio")], "work goes on: .kill a ends a task"),
        (
            [("t1", "thread"), ("p1", "process"), ("a", "asyncio")],
            "work goes on: a thread cannot be interrupted; .kill NAME ends a process or task",
        ),
        (
            [("t" * 16, "thread"), ("p" * 16, "process")],
            "work goes on: a thread cannot be interrupted; .kill NAME ends a process",
        ),
    ],
)
def test_the_work_goes_on_note_says_why_per_kind_in_80_columns(
    busy: list[tuple[str, str]], said: str | None
) -> None:
    assert work_goes_on_text(busy) == said
    assert said is None or len(said) <= 80


# --- hints for what was mistyped -------------------------------------------------------


class Tag:
    """A worker's tag, for the width of a line: a long name and a pid of seven digits."""

    name, kind, pid = LONG_NAME, "process", LONG_PID


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("pign", "unknown message pign (did you mean ping?)"),
        ("wrk", "unknown message wrk (did you mean work?)"),
        ("inhertied", "unknown message inhertied (did you mean inherited?)"),
        ("exti", "unknown message exti (did you mean exit?)"),
        ("foo", "unknown message foo"),
        (42, "unknown message 42"),
    ],
)
def test_an_unknown_message_is_answered_with_the_closest_handler(
    typed: object, answer: str
) -> None:
    doer = Doer(lambda: None, lambda record: None)  # type: ignore[arg-type, return-value]
    assert doer._dispatch(typed) == answer
    line = plain(record_line(Tag(), Reply(1, answer)))
    assert len(line) <= 80, line


_A_DOER = Doer(lambda: None, lambda record: None)  # type: ignore[arg-type, return-value]
_NAMES = [*_A_DOER.handlers, "exit"]


@given(
    st.one_of(
        st.sampled_from(_NAMES).flatmap(
            lambda name: st.text(alphabet=name, min_size=1, max_size=3 * len(name))
        ),
        st.lists(st.sampled_from(_NAMES), min_size=1, max_size=4).map("".join),
        st.sampled_from(_NAMES).map(lambda name: name + name[-1]),  # a key held down
    )
)
@example("set-statewhoami")  # 15 letters to set-state's 9: alike 0.75, the cutoff
def test_a_long_unknown_message_is_close_to_no_handler_as_difflib_says(action: str) -> None:
    """The length past which no name can be close (which spares the worker difflib's
    work on a message of kilobytes) never hides a name difflib would have found."""
    import difflib

    names = [name for name in _NAMES if name != action]
    found = difflib.get_close_matches(action, names, n=1, cutoff=DID_YOU_MEAN_CUTOFF)
    assert _A_DOER._did_you_mean(action) == (f" (did you mean {found[0]}?)" if found else "")


def test_strict_still_counts_an_unknown_message_with_a_hint() -> None:
    out = io.StringIO()
    status = run_plain(io.BytesIO(b"pign\n"), out, Settings(strict=True))
    assert "unknown message pign (did you mean ping?)" in out.getvalue()
    assert status == 1


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        (".spwan t1", "unknown command .spwan (did you mean .spawn?)"),
        (".wokers", "unknown command .wokers (did you mean .workers?)"),
        (".nope", "unknown command .nope (.help lists the commands)"),
    ],
)
def test_an_unknown_command_names_the_closest_one(typed: str, error: str) -> None:
    assert interpret(typed) == Invalid(error)


def test_a_name_that_differs_only_in_case_is_said(console: Console) -> None:
    with pytest.raises(ValueError, match=r"^no worker named W1 \(names are case-sensitive: w1\)$"):
        console.targets(("W1",))
    with pytest.raises(ValueError, match=r"^no worker named x1 \(\.workers lists them\)$"):
        console.named("x1")


def test_the_case_hint_fits_80_columns_with_the_longest_names() -> None:
    console = Console(Settings())
    console.workers["a" * 16] = None  # type: ignore[assignment]  # only its name is read
    with pytest.raises(ValueError) as error:
        console.named("A" * 16)
    text = "error: " + str(error.value)
    assert "names are case-sensitive: " + "a" * 16 in text
    assert len(text) <= 80, text


@pytest.mark.parametrize(
    ("names", "taken"),
    [("a" * 16 + ",b", "a" * 16), ("b," + "a" * 16 + ",b", None)],
)
def test_the_spawn_refusals_fit_80_columns_with_the_longest_names(
    names: str, taken: str | None
) -> None:
    console = Console(Settings())
    if taken is not None:
        console.workers[taken] = type("Running", (), {"ended": None})()
    with pytest.raises(ValueError) as error:
        console.carry_out(Command(".spawn", names))
    text = "error: " + str(error.value)
    assert len(text) <= 80, text
