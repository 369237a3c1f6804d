"""Nothing lost: every message piped into plain mode is answered exactly once, in order.

``seq``-style input of ``set-state N`` lines goes through the real ``doer``
command behind pipes. The output is read while the input is written
(``communicate`` does both), since a pipe holds only 64 KiB and the console
would otherwise block on a full stdout while the test blocks on a full stdin.

The library-level version (10,000 ``tell()`` calls in flight) lives in
``test_client.py``; the 100,000-message versions of both run in ``make soak``
(``test_soak.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.pty_helpers import (
    assert_each_answered_once_in_order,
    assert_no_traceback,
    numbered_lines,
    run_piped,
)

KINDS = ["thread", "process"]


@pytest.mark.parametrize("kind", KINDS)
def test_ten_thousand_lines_piped_into_plain_mode_are_each_answered_once_in_order(
    tmp_path: Path, kind: str
) -> None:
    count = 10_000
    status, stdout, stderr = run_piped(kind, numbered_lines(count), tmp_path, timeout=30)

    assert_no_traceback(stdout, stderr)
    assert stderr == ""
    assert status == 0, stdout[-2000:]
    assert_each_answered_once_in_order(stdout, kind, count)
