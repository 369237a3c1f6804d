"""The interactive shell, driven in-process through prompt-toolkit's pipe input.

No terminal is needed: keys go in through ``create_pipe_input()`` and what the
shell prints is captured as plain text. Every wait is for an event (a line in
the output, a state of the worker) with a deadline that fails loudly.
"""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.application import create_app_session
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.data_structures import Size
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.plain_text import PlainTextOutput
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.renderer import CPR_Support

from doer.console.commands import COMMANDS
from doer.console.render import LAYOUT_STYLES
from doer.console.session import Console, Mailbox, Settings
from doer.frontends.shell import ConsoleCompleter, Shell, history_path, make_history, probe_cpr
from support.handlers import HANDLERS
from support.helpers import CONSOLE_KINDS
from support.shell_helpers import DEADLINE, driven_shell

KINDS = CONSOLE_KINDS


@pytest.mark.parametrize("kind", KINDS)
async def test_a_message_is_answered_above_the_prompt_tagged_with_its_worker(kind: str) -> None:
    async with driven_shell(kind) as d:
        worker = d.console.worker
        assert worker is not None
        d.type("ping\n")
        await d.wait_for_text(f"[w1 {kind} {worker.pid}] pong")


async def test_the_prompt_names_the_kind_and_pid_and_says_when_the_worker_has_ended() -> None:
    async with driven_shell("process") as d:
        worker = d.console.worker
        assert worker is not None
        assert d.shell.prompt()[0][1] == f"doer w1 process {worker.pid}> "
        d.type("exit\n")
        await d.wait_for_text("the worker has ended; .restart starts a fresh one")
        assert d.shell.prompt()[0][1] == "doer (no worker)> "


async def test_the_toolbar_shows_kind_pid_state_and_pending_requests(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    async with driven_shell("thread", handlers=HANDLERS) as d:
        worker = d.console.worker
        assert worker is not None
        d.type("set-state hola!\n")
        await d.wait_for_text("new state: hola!")
        d.type(f"gate {gate}\n")
        await d.wait_for(lambda: worker.pending == 1, "the gate to be pending")
        toolbar = "".join(text for _, text in d.shell.toolbar())
        assert f"thread {worker.pid}" in toolbar
        assert "state: hola!" in toolbar
        assert "pending: 1" in toolbar
        gate.touch()
        await d.wait_for_text("passed gate")
        assert "pending: 0" in "".join(text for _, text in d.shell.toolbar())


@pytest.mark.parametrize("columns", [80, 50, 200])
async def test_a_long_state_keeps_the_toolbar_to_one_row_of_the_terminal_s_width(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The toolbar is one row: a state too long for it is shortened, never wrapped.

    80 columns is the usual terminal (and the plain-text screen's size); 50 is
    narrower than the toolbar's fullest form (and still room for the worker and
    the counts, whatever the pid), 200 wider than it.
    """
    async with driven_shell("thread") as d:
        d.type(f"set-state {'x' * 300}\r")
        await d.wait_for_text("new state: xxx")
        output = d.shell.session.app.output
        monkeypatch.setattr(output, "get_size", lambda: Size(rows=24, columns=columns))
        toolbar = "".join(text for _, text in d.shell.toolbar())
        assert len(toolbar) <= columns, f"{len(toolbar)} columns: {toolbar!r}"
        assert "\n" not in toolbar
        assert "running: 1 · pending: 0" in toolbar  # shortened, the counts are kept
        monkeypatch.undo()  # the shell draws its last prompts at the screen's own size


async def test_the_prompt_takes_commands_while_a_slow_request_is_pending(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    async with driven_shell("process", handlers=HANDLERS) as d:
        d.type(f"gate {gate}\n")
        d.type(".status\n")
        status_end = await d.wait_for_text("state: 42, pending: 1")  # the worker is held
        gate.touch()
        await d.wait_for_text("passed gate", after=status_end)


async def test_a_request_past_the_timeout_is_reported_and_its_late_answer_still_printed(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    async with driven_shell("thread", timeout=0.2, handlers=HANDLERS) as d:
        d.type(f"gate {gate}\n")
        warned = await d.wait_for_text("no answer yet to request 1 (gate ")
        gate.touch()  # only once the lateness is reported: the answer is late for sure
        await d.wait_for_text("passed gate", after=warned)


async def test_a_request_answered_in_time_is_never_reported_late(tmp_path: Path) -> None:
    """The lateness check still runs once the timeout has passed, answered or not:
    for an answer that came in time it must say nothing.

    Timers run in the order of their deadlines, and the gate is sent after the
    ping's answer, so its deadline is later: once the gate is reported late, the
    ping's check has run too. No sleep stands in for it.
    """
    gate = tmp_path / "gate"
    # 0.25 s: a thread answers a ping in well under a millisecond, so the ping is in
    # time by a wide margin even on a busy machine; the test lasts about that long.
    async with driven_shell("thread", timeout=0.25, handlers=HANDLERS) as d:
        d.type("ping\r")
        answered = await d.wait_for_text("] pong")
        d.type(f"gate {gate}\r")
        try:
            await d.wait_for_text("no answer yet to request 2 (gate ", after=answered)
        finally:
            gate.touch()  # the thread is held at the gate: let it go, whatever the outcome
        await d.wait_for_text("passed gate", after=answered)
        assert "no answer yet to request 1 " not in d.text(), d.text()


async def test_ctrl_c_clears_the_line_and_leaves_the_worker_alone() -> None:
    async with driven_shell("process") as d:
        worker = d.console.worker
        assert worker is not None
        d.type("set-state half-typed")
        d.type("\x03")  # Ctrl-C
        d.type("get-state\n")
        await d.wait_for_text("state: 42")
        assert "half-typed" not in d.text().split("state: 42")[-1]
        assert worker.alive
        assert d.console.worker is worker


async def test_ctrl_d_stops_the_worker_and_ends_the_shell_with_status_0() -> None:
    async with driven_shell("process") as d:
        worker = d.console.worker
        assert worker is not None
        d.type("\x04")
        assert await asyncio.wait_for(d.task, DEADLINE) == 0
        assert worker.ended is not None
        assert not worker.alive


async def test_quit_waits_for_pending_requests_before_the_end_event(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    async with driven_shell("thread", handlers=HANDLERS) as d:
        d.type(f"gate {gate}\n")
        d.type(".quit\n")
        await d.wait_for_text("waiting for 1 pending request(s)")
        gate.touch()
        assert await asyncio.wait_for(d.task, DEADLINE) == 0
        text = d.text()
        assert text.index("passed gate") < text.index("on end: state: 42")


async def test_restart_replaces_the_worker_with_a_fresh_one_of_the_kind_asked_for() -> None:
    async with driven_shell("thread") as d:
        old = d.console.worker
        assert old is not None
        d.type("set-state changed\n")
        await d.wait_for_text("new state: changed")
        d.type(".restart process\n")
        new = await d.replaced(old)
        await d.wait_for_text(f"[w1 process {new.pid}] on start: state: 42")
        assert old.ended is not None
        assert new.kind == "process"
        assert new.pid != os.getpid()
        d.type("ping\n")
        await d.wait_for_text(f"[w1 process {new.pid}] pong")


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ('set-state "unclosed', "error: cannot split the line: no closing quotation"),
        (".nope", "error: unknown command .nope (.help lists the commands)"),
        (".restart fibre", "error: cannot restart as 'fibre'"),
    ],
)
async def test_bad_lines_get_a_one_line_error_and_the_shell_carries_on(
    line: str, error: str
) -> None:
    async with driven_shell("thread") as d:
        d.type(line + "\n")
        after = await d.wait_for_text(error)
        d.type("ping\n")
        await d.wait_for_text("pong", after=after)
        assert "Traceback" not in d.text()


async def test_help_lists_the_messages_and_the_commands() -> None:
    async with driven_shell("thread") as d:
        d.type(".help\n")
        await d.wait_for_text("Anything else is sent as it is")
        for word in ("ping", "set-state V", "whoami", "sleep S", ".restart", ".quit", ".status"):
            assert word in d.text()


def completions(console: Console, text: str) -> list[str]:
    completer = ConsoleCompleter(console)
    document = Document(text, len(text))
    return [c.text for c in completer.get_completions(document, CompleteEvent())]


def test_completion_offers_messages_and_dot_commands_at_the_start_of_a_line() -> None:
    console = Console(Settings())
    assert {"ping", "set-state", "get-state", "whoami", "sleep", "exit"} <= set(
        completions(console, "")
    )
    assert set(completions(console, ".")) == set(COMMANDS)
    assert completions(console, ".wait ") == ["on", "off"]
    assert completions(console, "se") == ["set-state", "segfault"]


def test_completion_offers_the_kinds_after_restart() -> None:
    assert set(completions(Console(Settings()), ".restart ")) == {
        "thread",
        "process",
        "asyncio",
        "interpreter",
        "ray",
    }
    assert completions(Console(Settings()), ".restart ray ") == ["--address", "--shared", "--state"]
    assert completions(Console(Settings()), ".restart process ") == ["--start-method", "--state"]
    assert set(completions(Console(Settings()), ".restart process --start-method ")) == {
        "fork",
        "spawn",
        "forkserver",
    }


@pytest.mark.parametrize("command", [".use", ".peek", ".status", ".stop", ".kill"])
def test_completion_offers_the_workers_names_after_a_command_that_takes_one(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = Console(Settings())
    monkeypatch.setattr(console, "names", lambda: ["w1", "p2"])
    assert completions(console, f"{command} ") == ["w1", "p2"]
    assert completions(console, f"{command} p") == ["p2"]


def test_history_is_kept_under_the_xdg_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert history_path() == str(tmp_path / "doer" / "history")
    history, problem = make_history()
    assert problem is None
    history.store_string("set-state hola!")
    assert "set-state hola!" in (tmp_path / "doer" / "history").read_text()


def test_only_the_newest_thousand_lines_of_history_are_offered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    history, _ = make_history()
    for number in range(1500):
        history.store_string(f"set-state {number}")
    offered = list(make_history()[0].load_history_strings())  # as a new session reads it
    assert offered == [f"set-state {number}" for number in range(1499, 499, -1)]
    assert (tmp_path / "doer" / "history").read_text().count("+set-state") == 1500  # all kept


def test_an_unwritable_history_falls_back_to_memory_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    history, problem = make_history()
    assert isinstance(history, InMemoryHistory)
    assert problem is not None
    assert "history is not saved" in problem


def test_without_colour_the_shell_uses_only_the_styles_that_shape_the_screen() -> None:
    console = Console(Settings())
    rules = Shell(console, Mailbox(), color=False, session=_quiet_session()).style.style_rules
    assert dict(rules) == LAYOUT_STYLES  # the toolbar's reverse video: no colour
    assert Shell(console, Mailbox(), color=True, session=_quiet_session()).style.style_rules != []


def _quiet_session() -> PromptSession[str]:
    with (
        create_pipe_input() as keys,
        create_app_session(input=keys, output=PlainTextOutput(io.StringIO())),
    ):
        return PromptSession(history=InMemoryHistory())


def test_the_mailbox_keeps_records_until_attached_then_forwards_in_order() -> None:
    mailbox = Mailbox()
    seen: list[object] = []
    mailbox.put(None, "first")  # type: ignore[arg-type]
    mailbox.put(None, "second")  # type: ignore[arg-type]
    assert seen == []
    mailbox.attach(lambda worker, record: seen.append(record))
    mailbox.put(None, "third")  # type: ignore[arg-type]
    assert seen == ["first", "second", "third"]


async def test_ctrl_c_while_quit_waits_stops_waiting_and_says_what_was_dropped() -> None:
    async with driven_shell("process") as d:
        worker = d.console.worker
        assert worker is not None
        d.type("sleep 30\n")
        d.type(".quit\n")
        await d.wait_for_text("waiting for 1 pending request(s); Ctrl-C stops waiting")
        d.type("\x03")  # Ctrl-C: raw mode makes it a key, read while waiting
        assert await asyncio.wait_for(d.task, DEADLINE) == 0
        text = d.text()
        assert "stopped waiting: 0 of 1 answered, 1 dropped" in text
        assert "request 1 (sleep 30) unanswered: the worker died\r\n" in text
        assert not worker.alive


async def test_quit_now_drops_pending_requests_without_waiting_and_says_so() -> None:
    async with driven_shell("process") as d:
        worker = d.console.worker
        assert worker is not None
        d.type("sleep 30\n")
        d.type(".quit!\n")
        assert await asyncio.wait_for(d.task, DEADLINE) == 0
        assert "stopped waiting: 0 of 1 answered, 1 dropped" in d.text()
        assert "request 1 (sleep 30) unanswered" in d.text()
        assert not worker.alive


async def test_ctrl_c_while_quit_waits_for_a_thread_counts_its_request_as_dropped(
    tmp_path: Path,
) -> None:
    """A thread held in a handler cannot be stopped, and would answer later; but the
    shell is leaving and shows nothing after, so its request is dropped, not "to come"."""
    gate = tmp_path / "gate"
    async with driven_shell("thread", handlers=HANDLERS) as d:
        worker = d.console.worker
        assert worker is not None
        d.type(f"gate {gate}\r")
        await d.wait_for(lambda: worker.pending == 1, "the gate to be pending")
        d.type(".quit\r")
        await d.wait_for_text("waiting for 1 pending request(s); Ctrl-C stops waiting")
        d.type("\x03")  # raw mode: a key, read while the shell waits
        try:
            assert await asyncio.wait_for(d.task, DEADLINE) == 0
        finally:
            gate.touch()  # the thread is left stuck: let it go, whatever the outcome
        text = d.text()
        assert "stopped waiting: 0 of 1 answered, 1 dropped" in text, text
        assert "still to come" not in text, text


# Not asyncio: its task runs on this test's own loop, which the gate handler
# (a plain function that waits) would block, and the test with it.
@pytest.mark.parametrize("kind", ["thread", "process"])
async def test_quit_says_all_were_answered_only_after_the_last_answer(
    tmp_path: Path, kind: str
) -> None:
    """Two requests held at two gates, then .quit: "all 2 answered" follows both answers.

    The gates open one after the other, so a wait that ended one answer early
    would say "all answered" between them.
    """
    first, second = tmp_path / "first", tmp_path / "second"
    async with driven_shell(kind, handlers=HANDLERS) as d:
        d.type(f"gate {first}\n")
        d.type(f"gate {second}\n")
        d.type(".quit\n")
        await d.wait_for_text("waiting for 2 pending request(s)")
        first.touch()
        await d.wait_for_text("passed first")
        second.touch()
        assert await asyncio.wait_for(d.task, DEADLINE) == 0
        text = d.text()
        assert text.index("passed second") < text.index("all 2 pending request(s) answered"), text


async def test_timeout_command_shows_and_sets_the_time_to_wait_for_an_answer() -> None:
    async with driven_shell("thread") as d:
        d.type(".timeout\n")
        await d.wait_for_text("timeout: 10 s")
        d.type(".timeout 0.1\n")
        after = await d.wait_for_text("timeout: 0.1 s")
        d.type("sleep 0.4\n")
        await d.wait_for_text("no answer yet to request 1 (sleep 0.4) after 0.1 s", after=after)
        d.type(".timeout soon\n")
        await d.wait_for_text("error: the timeout must be a positive number of seconds, not soon")


@pytest.mark.parametrize("line", [".restart", ".reset", ".quit"])
async def test_an_end_the_user_asked_for_has_no_restart_hint(line: str) -> None:
    """The hint "the worker has ended; .restart starts a fresh one" is for a worker
    that ended on its own while the user goes on typing; after ``.restart`` or
    ``.reset``, and during ``.quit``, the old worker's end line stands alone."""
    async with driven_shell("thread") as d:
        old = d.console.worker
        assert old is not None
        d.type(line + "\r")
        end = await d.wait_for_text(f"[w1 thread {old.pid}] on end: state: 42")
        if line == ".quit":
            await d.wait_for(d.task.done, "the shell to end")
        else:  # the fresh worker's start: all that the old one's end would print is out
            await d.wait_for_text("on start: state: 42", after=end)
        assert "the worker has ended" not in d.text(), d.text()[end - 200 :]


async def test_the_end_of_a_worker_that_is_not_the_current_one_has_no_restart_hint() -> None:
    """The hint is for the worker the prompt talks to (the prompt then says it has
    none). Another worker's end line stands alone: a line sent to it later says it
    has ended and how to restart it, when that matters."""
    async with driven_shell("thread") as d:
        current = d.console.worker
        assert current is not None
        d.type(".spawn p thread\r")
        await d.wait_for(lambda: "p" in d.console.workers, "p to be spawned")
        p = d.console.workers["p"]
        started = await d.wait_for_text(f"[p thread {p.pid}] on start: state: 42")
        d.type("@p exit\r")
        end = await d.wait_for_text(f"[p thread {p.pid}] on end: state: 42", after=started)
        assert d.console.worker is current and current.alive
        d.type("@p ping\r")  # now the user asks p for something: now it is said
        await d.wait_for_text("error: p has ended; .restart p starts a fresh one", after=end)
        # Once only, for the ping: a hint would have come with the end line, before it.
        assert d.text().count("has ended") == 1, d.text()[started:]


@pytest.mark.parametrize("line", [".restart", ".reset"])
async def test_a_worker_that_ends_on_its_own_after_a_restart_gets_the_restart_hint(
    line: str,
) -> None:
    """Only the old worker's end, asked for, goes without the hint: the fresh worker
    ending on its own later is told as any worker's end is."""
    async with driven_shell("thread") as d:
        old = d.console.worker
        assert old is not None
        d.type(line + "\r")
        # A thread's pid is the console's own: the lines are told apart by their order.
        stopped = await d.wait_for_text(f"[w1 thread {old.pid}] on end: state: 42")
        started = await d.wait_for_text("on start: state: 42", after=stopped)
        fresh = d.console.worker
        assert fresh is not None and fresh is not old
        d.type("exit\r")
        end = await d.wait_for_text(f"[w1 thread {fresh.pid}] on end: state: 42", after=started)
        # Printed with the end line, in the same write: there already, or never.
        hint = "the worker has ended; .restart starts a fresh one"
        assert hint in d.text()[end:], d.text()[started:]


async def test_restart_replaces_a_hung_process_worker_after_the_timeout() -> None:
    async with driven_shell("process", timeout=0.3) as d:
        old = d.console.worker
        assert old is not None
        d.type("sleep 30\n")
        d.type(".restart\n")
        await d.wait_for_text("stopped waiting: 0 of 1 answered, 1 dropped")
        await d.wait_for(lambda: d.console.worker is not old, "a new worker")
        new = d.console.worker
        assert new is not None
        d.type("ping\n")
        await d.wait_for_text(f"[w1 process {new.pid}] pong")
        assert not old.alive


# --- for programs: a fixed prompt, --wait, and never waiting on the terminal ------


async def test_prompt_sets_a_fixed_prompt_and_prompt_alone_brings_back_the_usual_one() -> None:
    async with driven_shell("thread") as d:
        worker = d.console.worker
        assert worker is not None
        d.type(".prompt 'X> '\r")
        await d.wait_for(lambda: d.shell.prompt()[0][1] == "X> ", "the fixed prompt")
        d.type(".prompt\r")
        usual = f"doer w1 thread {worker.pid}> "
        await d.wait_for(lambda: d.shell.prompt()[0][1] == usual, "the usual prompt")


@pytest.mark.parametrize("wait", ["on", "off"])
async def test_with_wait_on_the_next_line_is_read_once_the_answer_is_printed(wait: str) -> None:
    async with driven_shell("thread") as d:
        d.type(f".wait {wait}\r")
        await d.wait_for_text(f"wait: {wait}")
        d.type("sleep 0.3\r.status\r")  # typed ahead, in one go
        slept = await d.wait_for_text("slept 0.3 s")
        await d.wait_for_text("state: 42, pending: ")  # the .status line, not the toolbar
        text = d.text()
        if wait == "on":  # .status is read once the sleep is answered
            assert text.index("state: 42, pending: 0") > slept, text
        else:  # .status is answered at once, while the sleep is pending
            assert text.index("state: 42, pending: 1") < slept, text


@pytest.mark.parametrize("waits_in", [".wait on", ".restart"])
async def test_keys_typed_while_the_shell_waits_come_at_the_next_prompt(
    tmp_path: Path, waits_in: str
) -> None:
    """Between prompts the shell may wait: with ``.wait on`` for a line's answer, at
    ``.restart`` for the old worker's pending ones. It reads the keys then, to
    see a Ctrl-C; every other key is kept, and the next prompt takes it as typed.

    The keys are typed once the wait has begun (a line typed ahead in the same
    write as the one before is kept by prompt-toolkit itself), and the gate
    opens only once the shell has read them: while it waits, not before.
    """
    gate = tmp_path / "gate"
    async with driven_shell("thread", handlers=HANDLERS, wait=waits_in == ".wait on") as d:
        worker = d.console.worker
        assert worker is not None
        d.type(f"gate {gate}\r")
        if waits_in == ".restart":
            d.type(".restart\r")
            await d.wait_for_text("waiting for 1 pending request(s)")  # said as the wait begins
        else:  # sent, so waiting for the answer: the loop ran nothing of the shell's between
            await d.wait_for(lambda: worker.pending == 1, "the gate to be pending")
        assert not d.shell.session.app.is_running, "no prompt is up: the shell waits"
        d.type("set-state typed-ahead\r")
        await d.wait_for(lambda: d.unread() == 0, "the shell to read the keys while it waits")
        gate.touch()
        passed = await d.wait_for_text("passed gate")
        await d.wait_for_text("new state: typed-ahead", after=passed)


async def test_the_ctrl_c_that_stops_a_wait_is_not_kept_for_the_next_prompt(
    tmp_path: Path,
) -> None:
    """With ``.wait on``, Ctrl-C stops the wait for a line's answer and says that the
    work goes on (a thread cannot be interrupted), once. The other keys typed during
    the wait are kept for the next prompt; the Ctrl-C is not: there it would be a
    second Ctrl-C, with a second note."""
    gate = tmp_path / "gate"
    async with driven_shell("thread", handlers=HANDLERS, wait=True) as d:
        worker = d.console.worker
        assert worker is not None
        d.type(f"gate {gate}\r")
        await d.wait_for(lambda: worker.pending == 1, "the gate to be pending")
        assert not d.shell.session.app.is_running, "no prompt is up: the shell waits"
        try:
            d.type("\x03")
            await d.wait_for(lambda: d.unread() == 0, "the shell to read the Ctrl-C as it waits")
            # Typed after the Ctrl-C: a Ctrl-C kept for the prompt would come before it.
            d.type(".status\r")
            await d.wait_for_text("last state: 42, pending: 1")
            text = d.text()
            assert text.count("work goes on: a thread cannot be interrupted") == 1, text
            assert text.index("work goes on") < text.index("last state: 42, pending: 1"), text
        finally:
            gate.touch()  # else leaving (Ctrl-D) waits for the gate's answer
        await d.wait_for_text("passed gate")


async def test_with_wait_on_the_first_prompt_comes_after_the_start_event() -> None:
    async with driven_shell("process", wait=True) as d:
        await d.wait_for_text("doer w1 process")  # the prompt: drawn once the shell is ready
        text = d.text()
        assert text.index("on start: state: 42") < text.index("doer w1 process"), text


class TtyText(io.StringIO):
    """What a terminal would be sent, from an output that thinks it is one."""

    def isatty(self) -> bool:
        return True


def test_the_shell_asks_where_the_cursor_is_once_and_never_waits_for_the_answer() -> None:
    screen = TtyText()
    output = Vt100_Output(screen, lambda: Size(rows=24, columns=80), term="xterm")
    with create_pipe_input() as keys, create_app_session(input=keys, output=output):
        app = PromptSession[str](history=InMemoryHistory()).app
        probe_cpr(app)
        assert screen.getvalue().count("\x1b[6n") == 1
        assert app.renderer.cpr_support is CPR_Support.NOT_SUPPORTED, "nothing waits for it"
        app.renderer.report_absolute_cursor_row(5)  # what prompt-toolkit does with an answer
        assert app.renderer.cpr_support is CPR_Support.SUPPORTED
        probe_cpr(app)
        assert screen.getvalue().count("\x1b[6n") == 1, "asked once only"


def test_without_cursor_answers_no_rows_are_kept_free_under_the_prompt() -> None:
    """Completion comes on Tab, so prompt-toolkit reserves no rows for a menu."""
    session = _quiet_session()
    shell = Shell(Console(Settings()), Mailbox(), color=False, session=session)
    assert shell.completer is not None
    session.completer = shell.completer
    session.complete_while_typing = False  # as Shell.run asks for on every prompt
    assert session._get_default_buffer_control_height().min == 0


async def test_a_thread_left_behind_by_restart_says_so_in_every_late_line(tmp_path: Path) -> None:
    """A stuck thread cannot be stopped; the fresh thread has the same pid. The old
    one's late answer, its lateness notice and its end must not look like the new one's."""
    gate = tmp_path / "gate"
    async with driven_shell("thread", timeout=0.3, handlers=HANDLERS) as d:
        old = d.console.worker
        assert old is not None
        d.type(f"gate {gate}\n")
        await d.wait_for(lambda: old.pending == 1, "the gate to be pending")
        d.type(".restart\n")
        await d.wait_for_text("is stuck in a handler, and a thread cannot be killed")
        await d.wait_for(lambda: d.console.worker is not old, "a fresh worker")
        d.type(".workers\n")
        await d.wait_for_text(f"  w1 (replaced) thread {old.pid} running")  # a row of its own
        gate.touch()
        replaced = f"[w1 (replaced) thread {old.pid}]"
        await d.wait_for_text(f"{replaced} passed gate")
        await d.wait_for_text(f"{replaced} on end: state: 42")
        text = d.text()
        assert f"[w1 thread {old.pid}] passed gate" not in text
        assert f"[w1 thread {old.pid}] on end" not in text


async def test_kill_in_the_shell_reports_the_death_and_restart_works() -> None:
    async with driven_shell("process") as d:
        worker = d.console.worker
        assert worker is not None
        d.type(".kill\n")
        await d.wait_for_text(f"[w1 process {worker.pid}] died: killed by SIGKILL")
        await d.wait_for_text("the worker has ended; .restart starts a fresh one")
        d.type(".kill\n")
        await d.wait_for_text("error: there is no worker to kill; .restart starts one")
        d.type(".kill nobody\n")
        await d.wait_for_text("error: no worker named nobody (.workers lists them)")
        d.type(".restart\n")
        await d.wait_for(lambda: d.console.worker is not worker, "a fresh worker")
        d.type("ping\n")
        await d.wait_for_text("pong")


async def test_a_record_that_fails_to_print_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with driven_shell("thread") as d:

        def broken(worker: object, record: object) -> None:
            raise KeyError("nope")

        monkeypatch.setattr(d.shell.shown, "lines_for", broken)
        d.type("ping\r")
        await d.wait_for_text("error: printing Reply failed: KeyError: 'nope' (a bug of doer's")
        monkeypatch.undo()
        d.type("ping\r")
        await d.wait_for_text("] pong")
        assert "Traceback" not in d.text()
