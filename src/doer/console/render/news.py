"""What the console says of a worker's life as it goes: a request late, a worker
ended, killed, stuck or gone, where bare lines go now, a command that failed."""

from __future__ import annotations

from typing import Protocol

from doer.console.kind_facts import can_be_killed, runs_as_a_task
from doer.console.render.fragments import Fragments, note_line
from doer.lessons import lesson_locks
from doer.lessons.deadlock import MESSAGE as DEADLOCK


class Summarised(Protocol):
    """A request that can name itself: ``request 3 (sleep 2)``
    (a :class:`~doer.client.worker.Pending`)."""

    def summary(self) -> str: ...


def late_text(pending: Summarised, timeout: float) -> str:
    """``no answer yet to request 3 (sleep 5) after 1 s``: a request past the timeout,
    still awaited (news, not an error: a long ``sleep`` is late on purpose). With a
    tag, it fits 80 columns for a 7-digit pid and a request after ``.repeat 10000``.

    A ``deadlock`` that waits for a lesson lock says where to look instead:
    ``no answer yet to request 7 (deadlock 5): .locks shows why``.
    """
    if _waits_for_a_lesson_lock(pending):
        return f"no answer yet to {pending.summary()}: .locks shows why"
    return f"no answer yet to {pending.summary()} after {timeout:g} s"


def _waits_for_a_lesson_lock(pending: Summarised) -> bool:
    """Whether ``pending`` is a ``deadlock`` while a worker of the console's process
    waits for a lesson lock (the records do not say for which request)."""
    message = getattr(pending, "message", None)  # a Pending has it; a Summarised need not
    action = message[0] if isinstance(message, tuple) and message else message
    return action == DEADLOCK and lesson_locks.anyone_waits()


def ended_text(name: str | None = None) -> str:
    """What to do once a worker has ended: ``name`` it when there are others to tell apart."""
    if name is None:
        return "the worker has ended; .restart starts a fresh one"
    return f"{name} has ended; .restart {name} starts a fresh one"


def ended_hint(name: str | None = None) -> Fragments:
    """:func:`ended_text` as a note: the shell prints it after the current worker's end."""
    return note_line(ended_text(name))


def kill_lines(name: str, kind: str) -> list[Fragments]:
    """What ``.kill`` says of a worker of ``kind``: a process's death speaks for itself."""
    if not can_be_killed(kind):
        return [note_line(f"{name} goes on: Python cannot kill a thread from outside")]
    if runs_as_a_task(kind):
        return [note_line(f"{name}'s task is cancelled: it ends at its next await")]
    return []


def stuck_text(name: str, kind: str) -> str:
    """Why a worker that would not stop is left behind, in a clause that fits its kind
    (and, after ``error: ``, 80 columns with a name of 7 characters)."""
    if runs_as_a_task(kind):
        return f"{name} blocks its event loop: left behind, cancelled at its next await"
    return f"{name} is stuck in a handler, and a thread cannot be killed: left behind"


#: Said at ``.quit`` before the wait for the private Ray cluster to shut down.
STOPPING_RAY_CLUSTER = "stopping the private Ray cluster (a second or two)"


def use_line(name: str, *, ended: bool) -> Fragments:
    """``.use NAME``: where bare lines go now."""
    return note_line(
        f"lines go to {name} now" + (f" (it has ended: .restart {name})" if ended else "")
    )


def failed_text(command: str, error: Exception) -> str:
    """A command that failed in a way doer did not foresee: said in one line, not a traceback."""
    return f"{command} failed: {type(error).__name__}: {error} (a bug of doer's; please report it)"
