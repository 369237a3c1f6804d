"""Bounded mailboxes in plain mode: nothing is refused, the sender waits for room."""

from __future__ import annotations

import json
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


def test_plain_mode_never_has_more_requests_pending_than_the_bound(tmp_path: Path) -> None:
    """Each request is sent only once the one two before it is answered (a mailbox of
    2). Each takes 50 ms, so a line sent without waiting for room would go a whole
    handler's time early; a busy machine only makes the sends later."""
    done = run_doer(["--jsonl", "--mailbox", "2"], tmp_path, stdin=b"sleep 0.05\n" * 10)
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()
    records = [json.loads(line) for line in done.stdout.splitlines()]
    replies = [record for record in records if record["type"] == "reply"]
    assert [reply["id"] for reply in replies] == list(range(1, 11))
    for earlier, later in zip(replies, replies[2:], strict=False):
        assert later["sent_us"] >= earlier["answered_us"], (earlier, later)
