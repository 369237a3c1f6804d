"""``.repeat N LINE``: a line sent N times without waiting, every answer, then the rate.

Three layers: what the command accepts (no terminal), the shell driven
in-process, and a real terminal for what only it shows (keys typed during a
burst echo, and the prompt comes back). Plain mode's side is in
``test_pipelining.py`` and ``test_many_workers.py``-style runs below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

import doer
from doer.console.outcomes import Repeat
from doer.console.session import MAX_REPEAT, Console, Settings
from doer.console.syntax import Message
from support.pty_helpers import Terminal, run_doer
from support.shell_helpers import driven_shell

RATE = re.compile(r"([\d,]+) answers in [\d.]+ (ms|s), [\d,]+ per second")
Launch = Callable[..., Terminal]  # the conftest fixture `launch`

# --- what it accepts ---------------------------------------------------------------------


def test_repeat_takes_a_count_and_a_message() -> None:
    console = Console(Settings())
    console.start()
    try:
        assert console.repeat("10000 ping") == Repeat(10_000, Message("ping"))
        assert console.repeat("1,000 set-state 5") == Repeat(1000, Message(("set-state", 5)))
        assert console.repeat("3 @w1 ping") == Repeat(3, Message("ping", ("w1",)))
    finally:
        console.stop_all()


def test_repeat_takes_up_to_the_documented_maximum_of_100_000() -> None:
    """docs/console.md's "at most 100,000" is a count accepted, written either way; one
    more is refused. (Checked where the count is read: nothing is sent.)"""
    assert MAX_REPEAT == 100_000  # docs/console.md says so
    console = Console(Settings())
    console.start()
    try:
        assert console.repeat("100,000 ping") == Repeat(100_000, Message("ping"))
        assert console.repeat("100000 @w1 ping") == Repeat(100_000, Message("ping", ("w1",)))
        with pytest.raises(ValueError, match=r"^\.repeat sends 1 to 100,000 times, not 100,001$"):
            console.repeat("100,001 ping")
    finally:
        console.stop_all()


@pytest.mark.parametrize(
    ("argument", "error"),
    [
        ("", ".repeat takes a count and a line: .repeat 10000 ping"),
        ("5", ".repeat takes a count and a line"),
        ("x ping", ".repeat takes a count and a line: .repeat 10000 ping, not x"),
        ("0 ping", f".repeat sends 1 to {MAX_REPEAT:,} times, not 0"),
        (f"{MAX_REPEAT + 1} ping", f".repeat sends 1 to {MAX_REPEAT:,} times"),
        ("3 .workers", ".repeat sends a message to workers, not .workers"),
        ("3 @nobody ping", "no worker named nobody"),
        ("3 set-state 'open", "cannot split the line: no closing quotation"),
    ],
)
def test_a_bad_repeat_is_one_error_before_anything_is_sent(argument: str, error: str) -> None:
    console = Console(Settings())
    with pytest.raises(ValueError, match=re.escape(error)):
        console.repeat(argument)


# --- plain mode ----------------------------------------------------------------------------


def test_repeat_s_rate_runs_from_the_first_request_sent_to_the_last_answer_in() -> None:
    """The rate is over the whole burst: from the first request sent, not the last
    (sent later, it would make the burst look shorter and the rate higher)."""
    from doer.base.protocol import Reply
    from doer.client.worker import Pending
    from doer.console.render import plain
    from doer.console.session import repeat_summary

    pendings = [Pending(number, "ping") for number in (1, 2)]
    for pending, (sent, answered) in zip(pendings, [(100.0, 100.2), (100.1, 100.3)], strict=True):
        pending.resolve(Reply(pending.request_id, "pong"))
        pending.sent_at, pending.answered_at = sent, answered
    with doer.start("thread") as worker:
        summary = plain(repeat_summary(worker, pendings))

    assert summary.endswith("] 2 answers in 300 ms, 7 per second"), summary


def test_plain_mode_prints_every_answer_then_each_worker_s_rate(tmp_path: Path) -> None:
    lines = b".spawn p process\n.repeat 300 @all ping\n.repeat 2 @p get-lock\nping\n"
    done = run_doer(["--kind", "thread"], tmp_path, stdin=lines)
    out = done.stdout.decode()
    assert len(re.findall(r"\[w1 thread \d+\] pong", out)) == 300 + 1  # and the last line's
    assert len(re.findall(r"\[p process \d+\] pong", out)) == 300
    rates = RATE.findall(out)
    assert [count for count, _ in rates] == ["300", "300", "2"], out
    assert out.index("> .repeat 300") < out.index("300 answers") < out.index("> .repeat 2 ")
    assert "2 answers in" in out and "; 2 of them errors" in out  # a lock does not pickle
    assert done.returncode == 1  # those errors fail the run


def test_a_worker_gone_midway_keeps_the_answers_to_what_was_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from doer.client.worker import Worker, WorkerGone
    from doer.console.session import REPEATED_AT_ONCE as REPEATED_TOGETHER
    from doer.frontends.plain import PlainRunner

    real_tell_many, calls = Worker.tell_many, []

    def tell_many(self: Worker, messages: list[object], **options: bool) -> object:
        calls.append(len(messages))
        if len(calls) == 2:  # as if the worker had ended after the first copies
            raise WorkerGone(f"{self.name} has ended")
        return real_tell_many(self, messages, **options)

    monkeypatch.setattr(Worker, "tell_many", tell_many)
    out = io.StringIO()
    PlainRunner(Settings(), out).run([b".repeat 600 ping\n"])
    text = out.getvalue()
    assert calls == [REPEATED_TOGETHER, REPEATED_TOGETHER]  # nothing more once it has gone
    assert text.count("] pong") == REPEATED_TOGETHER and "error: the worker has ended" in text
    assert re.search(rf"\] {REPEATED_TOGETHER} answers in [\d.]+ ms, [\d,]+ per second\n", text)


# --- the shell, in-process ------------------------------------------------------------------


async def test_the_shell_prints_every_answer_then_the_rate_and_the_prompt_is_back_at_once() -> None:
    async with driven_shell("thread") as d:
        d.type(".repeat 2000 ping\r")
        end = await d.wait_for_text("2,000 answers in")
        assert d.text()[:end].count("] pong") == 2000
        d.type("ping\r")  # the prompt takes lines while (and after) the answers print
        await d.wait_for_text("] pong", after=end)


async def test_a_count_past_the_maximum_is_one_error_line_and_nothing_is_sent() -> None:
    async with driven_shell("thread") as d:
        worker = d.console.worker
        assert worker is not None
        d.type(".repeat 100001 ping\r")
        after = await d.wait_for_text("error: .repeat sends 1 to 100,000 times, not 100001")
        d.type("ping\r")  # the shell carries on
        answered = await d.wait_for_text("] pong", after=after)
        lines = d.console.transcript.lines()  # each line printed, as .save writes them
        refused = lines.index("> .repeat 100001 ping")
        assert lines[refused:] == [
            "> .repeat 100001 ping",
            "error: .repeat sends 1 to 100,000 times, not 100001",
            "> ping",
            f"[w1 thread {worker.pid}] pong",
        ]
        probe = worker.tell("ping")  # numbered after all that was sent: the one ping only
        assert probe.request_id == 2
        await d.wait_for_text("] pong", after=answered)


async def test_with_wait_on_the_prompt_comes_back_after_the_rate() -> None:
    async with driven_shell("process", wait=True) as d:
        d.type(".repeat 500 @w1 whoami\r.status\r")
        end = await d.wait_for_text("] alive, start method")  # .status's answer
        text = d.text()[:end]
        assert text.count(", GIL ") == 500
        assert text.index("500 answers in") < text.index("] alive, start method")


async def test_quitting_during_a_repeat_waits_for_what_was_sent() -> None:
    async with driven_shell("asyncio") as d:
        d.type(".repeat 20000 ping\r.quit\r")
        await d.wait_for(d.task.done, "the shell to end")
        text = d.text()
        stopped = re.search(r".repeat stopped: ([\d,]+) of 20,000 sent", text)
        sent = int(stopped[1].replace(",", "")) if stopped else 20_000
        assert text.count("] pong") == sent, text[-2000:]
        assert "stopped waiting" not in text and "unanswered" not in text
        assert d.task.result() == 0


# --- a real terminal -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_keys_typed_during_a_burst_echo_and_the_prompt_comes_back(
    launch: Launch, kind: str
) -> None:
    term = launch("--kind", kind)
    term.sendline(".repeat 5000 ping")
    term.expect_text("] pong")
    term.send("whoami")  # typed while answers print: it must land in the prompt's line
    term.expect(r"5,000 answers in [\d.]+ m?s, [\d,]+ per second")
    term.sendline("")
    term.expect(r"pid \d+, ppid \d+")
    term.expect_prompt()
