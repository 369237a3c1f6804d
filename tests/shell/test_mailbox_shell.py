"""Bounded mailboxes in the shell: a line that does not fit is refused with one line,
``.repeat`` sends as room comes, ``.workers`` shows the depth and the bound."""

from __future__ import annotations

from pathlib import Path

from support.handlers import HANDLERS
from support.shell_helpers import Driven, driven_shell


async def test_a_full_mailbox_refuses_a_line_and_repeat_sends_as_room_comes(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    async with driven_shell("thread", handlers=HANDLERS) as d:
        d.type(".spawn slow thread --mailbox 2\n")
        start = await d.wait_for_text("[slow thread ")
        d.type(f"@slow gate {gate}\n@slow ping\n@slow ping\n")
        await d.wait_for_text("error: slow's mailbox is full (2 pending): not sent", start)
        d.type(".workers\n")
        await d.wait_for_text(" 2/2 ", start)
        d.type(".repeat 6 @slow ping\n")
        await d.wait_for_text(
            "slow's mailbox is full (2): .repeat sends as room comes (0 of 6)",
            start,
        )
        assert " · pending: 2 · .repeat 0/6" in toolbar(d)  # its progress, while it waits
        gate.touch()
        await d.wait_for_text("[slow thread ", start)
        await d.wait_for_text("6 answers in ", start)
        assert d.console.named("slow").pending == 0
        await d.wait_for(lambda: ".repeat" not in toolbar(d), "the toolbar without the .repeat")
        second_gate = tmp_path / "second-gate"
        d.type(f"@slow gate {second_gate}\n.repeat 3 @slow ping\n")
        await d.wait_for_text("slow's mailbox is full (2): .repeat sends as room comes (1 of 3)")
        assert " · pending: 2 · .repeat 1/3" in toolbar(d)
        second_gate.touch()
        await d.wait_for_text("3 answers in ", start)


def toolbar(d: Driven) -> str:
    return "".join(text for _, text in d.shell.toolbar())


async def test_the_command_line_s_mailbox_is_the_first_worker_s_and_restart_keeps_it() -> None:
    async with driven_shell("thread", mailbox=4) as d:
        assert d.console.named("w1").mailbox == 4
        d.type(".restart\n")
        await d.wait_for_text("on start: state: 42", d.unread())
        await d.wait_for(lambda: d.console.named("w1").mailbox == 4, "the mailbox kept")
        d.type(".spawn t2 --mailbox 0\n")
        await d.wait_for_text("error: a mailbox takes a whole number >= 1 of requests, not 0")


async def test_a_repeat_s_progress_leaves_out_the_copies_a_worker_gone_will_never_get(
    tmp_path: Path,
) -> None:
    gate_a, gate_b, gate_c = (tmp_path / name for name in "abc")
    async with driven_shell("thread", handlers=HANDLERS) as d:
        d.type(".spawn a process --mailbox 1\n.spawn b thread --mailbox 1\n")
        await d.wait_for_text("[b thread ")  # the two start in either order
        start = await d.wait_for_text("[a process ")
        d.type(f"@a gate {gate_a}\n@b gate {gate_b}\n.repeat 3 @a,b gate {gate_c}\n")
        await d.wait_for_text("a's mailbox is full (1): .repeat sends as room comes", start)
        assert " · .repeat 0/6" in toolbar(d)
        d.type(".kill a\n")
        await d.wait_for_text("died: killed by SIGKILL", start)
        gate_b.touch()  # room in b: a is sent no more, b gets a copy, which waits at gate c
        await d.wait_for(lambda: " · .repeat 1/3" in toolbar(d), "a's copies left out")
        gate_c.touch()
        await d.wait_for_text("3 answers in ", start)
