"""Restart policies in the shell (pipe input, no terminal): the lines a restart and a
spent budget print, ``.workers`` and ``.status``, and ``.spawn``'s options."""

from __future__ import annotations

import pytest

from support.helpers import CONSOLE_KINDS
from support.shell_helpers import driven_shell

#: The kinds whose worker a ``die`` ends (all those the console offers).
KINDS = CONSOLE_KINDS


@pytest.mark.parametrize("kind", KINDS)
async def test_a_worker_that_dies_is_restarted_then_given_up_on(kind: str) -> None:
    async with driven_shell("thread") as d:
        d.type(f".spawn p1 {kind} --restart on-failure --max-restarts 1 --within 60\n")
        start = await d.wait_for_text(f"[p1 {kind} ")
        p1 = d.console.named("p1")
        first = p1.pid
        d.type("@p1 die\n")
        restart = await d.wait_for_text(f"[p1 {kind} {first}] restarted (1 of 1 in 60 s)", start)
        await d.wait_for_text(" after it died: ", restart)
        await d.wait_for_text(f"[p1 {kind} {p1.pid}] on start: state: 42", restart)
        d.type("@p1 die\n")
        await d.wait_for_text(f"[p1 {kind}] gave up: 1 restart in 60 s spent its budget", restart)
        d.type(".workers all\n")
        await d.wait_for_text("1 (on-failure)", restart)
        d.type(".status p1\n")
        await d.wait_for_text("restart on-failure (1 in 60 s): restarted 1 time(s)", restart)
    # Each line before the restart carried the pid of the worker it came from.
    text = d.text()
    assert f"[p1 {kind} {first}] error: request 1 (die) unanswered: the worker died" in text


async def test_a_killed_process_is_restarted_and_answers_from_its_fresh_pid() -> None:
    async with driven_shell("thread") as d:
        d.type(".spawn p1 process --restart always\n")
        start = await d.wait_for_text("[p1 process ")
        killed = d.console.named("p1").pid
        d.type(".kill p1\n")
        # A line sent before the death is read may still reach the dying process, and
        # fail with it: the class sends the next one once the restart is shown.
        await d.wait_for_text(f"[p1 process {killed}] restarted (1 of 3 in 5 s) after it died:")
        d.type("@p1 ping\n")
        pong = await d.wait_for_text("] pong", start)
        assert f"[p1 process {d.console.named('p1').pid}] pong" in d.text()[pong - 80 :]


async def test_restart_keeps_a_worker_s_policy() -> None:
    async with driven_shell("thread") as d:
        d.type(".spawn p1 thread --restart always --max-restarts 2\n")
        await d.wait_for_text("[p1 thread ")
        d.type(".restart p1\n")
        await d.wait_for_text("[p1 thread ")
        await d.wait_for(
            lambda: str(d.console.named("p1").restart_policy.text()) == "always (2 in 5 s)",
            "the policy kept",
        )


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (".spawn p1 --restart sometimes", "no restart policy 'sometimes': choose never,"),
        (".spawn p1 --restart always --max-restarts x", "--max-restarts takes a whole number"),
        (".spawn p1 --restart always --within 0", "--within takes a number of seconds > 0"),
        (".spawn p1 --restart", "--restart needs a value"),
    ],
)
async def test_a_bad_restart_option_is_one_error_and_nothing_starts(line: str, error: str) -> None:
    async with driven_shell("thread") as d:
        d.type(line + "\n")
        await d.wait_for_text(f"error: {error}")
        assert "p1" not in d.console.workers
