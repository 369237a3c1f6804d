"""Bounded mailboxes in plain mode: nothing is refused, the sender waits for room."""

from __future__ import annotations

from pathlib import Path

from support.pty_helpers import run_doer


def test_plain_mode_waits_for_room_and_sends_every_copy(tmp_path: Path) -> None:
    done = run_doer(
        ["--mailbox", "2"],
        tmp_path,
        stdin=b".spawn s thread --mailbox 3\n.repeat 500 @s ping\n.repeat 50 ping\n@s,w1 ping\n",
        timeout=60,
    )
    out = done.stdout.decode()
    assert done.returncode == 0 and done.stderr == b"", out + done.stderr.decode()
    assert "mailbox is full" not in out
    assert "[s thread " in out and "500 answers in " in out and "50 answers in " in out
    assert out.count("] pong") == 552
