"""``.locks`` in the interactive shell, driven in-process: a deadlock drawn while it lasts.

Two threads deadlocked by one typed line; the late notes of their requests
point at ``.locks``; ``.locks`` draws who holds and who waits for which lesson
lock and the cycle, while the prompt stays live; the timeout ends it, and
``.locks`` then says nothing is held. A process worker's A and B are out of
the console's sight, and ``.locks`` says so. Every wait is for text on the
screen, with a deadline.
"""

from __future__ import annotations

import re

from support.shell_helpers import driven_shell


async def test_locks_draws_two_threads_deadlocked_and_the_cycle_until_the_timeout() -> None:
    async with driven_shell("thread", timeout=0.3) as d:  # late notes after 0.3 s
        d.type(".spawn t1,t2 thread\n")
        await d.wait_for_text("[t2 thread ")
        d.type("@t1,t2 deadlock 1\n")
        note = await d.wait_for_text("(deadlock 1): .locks shows why")
        d.type(".locks\n")
        cycle = await d.wait_for_text("a cycle — deadlock: t1 gives up on B in ", note)
        drawn = d.text()[note:cycle]
        assert "t1 holds A, waits for B (held by t2)\r\n" in drawn
        assert "t2 holds B, waits for A (held by t1)\r\n" in drawn
        assert "gave up" not in drawn  # drawn while the two still waited
        await d.wait_for_text("] gave up on B after 1", cycle)  # 1 s, or 1.1 s on a busy day
        await d.wait_for_text(" s: t2 holds it; let go of A", cycle)
        await d.wait_for_text(", when t1 let go: a timeout broke the cycle", cycle)
        d.type(".locks\n")
        await d.wait_for_text("no lesson lock is held or waited for", cycle)


async def test_locks_says_a_process_s_locks_are_its_own_and_out_of_sight() -> None:
    async with driven_shell("thread") as d:
        d.type(".spawn p process\n")
        await d.wait_for_text("[p process ")
        d.type(".locks\n")
        said = await d.wait_for_text("p has its own A and B, in memory the console cannot read")
        lines = d.text()[:said].splitlines()[-2:]
        assert re.search(r"no lesson lock is held or waited for", lines[0]), lines
        d.type(".locks now\n")
        await d.wait_for_text("error: .locks takes no argument", said)
