"""What Linux tells of a process: its ``/proc/PID/stat``, and the child subreaper.

The one reader of ``/proc/PID/stat`` in doer. Its second field, the command's
name, is in parentheses and may hold spaces and parentheses of its own: the
fields are the ones after the *last* ``)``.
"""

from __future__ import annotations

import sys
import time

#: The state letters of a process that no longer runs: a zombie, and a dead one.
ENDED_STATES = ("Z", "X")

#: ``prctl``'s option that makes a process adopt its orphaned descendants.
PR_SET_CHILD_SUBREAPER = 36


def stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the name: state, ppid, pgrp, ...

    Raises:
        FileNotFoundError: no such process.
        OSError: no ``/proc`` here.
    """
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        return stat.read().rpartition(")")[2].split()


def runs(pid: int) -> bool:
    """Whether process ``pid`` still runs: it exists and is not a zombie. False where
    ``/proc`` cannot tell."""
    try:
        return stat_fields(pid)[0] not in ENDED_STATES
    except OSError:
        return False


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until process ``pid`` no longer runs, ``timeout`` seconds at most; whether
    it is gone. For a process that is not this one's child, which cannot be waited
    for: it is looked at every few milliseconds."""
    deadline = time.monotonic() + timeout
    while runs(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)  # a poll with a deadline: nothing tells when it exits
    return True


def set_child_subreaper(on: bool = True) -> bool:
    """Make this process adopt its orphaned descendants (or stop, with ``on=False``),
    so that it can reap them: PID 1 of a container may never reap an orphan, which
    would leave a zombie that cannot be told from a leak. False where it cannot
    (not Linux, or ``prctl`` refused)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # only where it is used: this module stays cheap to import

    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0)
