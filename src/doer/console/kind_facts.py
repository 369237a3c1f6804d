"""What the console knows of each kind by its name, in one place.

Every choice the console makes by a kind's name or a start method is asked
here, so that when the kinds' :class:`~doer.kinds.Link` says these things
itself (whether it can be killed, whether its memory is its own, its start
methods, its options), this module is the one to change. The kinds' colours
(:data:`~doer.console.render.fragments.KIND_COLOURS`) are a table by name too.
"""

from __future__ import annotations

from doer.kinds import KINDS, START_METHODS

#: How long a Ray worker may take to start, at least (a cluster boots in seconds).
RAY_START_S = 60.0

#: The kinds and the start methods, as an error offers them: ``thread or process ...``.
KINDS_OFFERED = " or ".join(KINDS)
START_METHODS_OFFERED = " or ".join(START_METHODS)


def is_a_kind(word: str) -> bool:
    """Whether ``word`` names a kind (``.restart p1 process``: p1 is a name)."""
    return word in KINDS


def is_a_start_method(word: str) -> bool:
    return word in START_METHODS


def takes_a_start_method(kind: str) -> bool:
    """Whether a worker of ``kind`` is started by a start method (fork, spawn,
    forkserver): a process."""
    return kind == "process"


def takes_ray_options(kind: str) -> bool:
    """Whether ``--address`` and ``--shared`` apply: a Ray worker."""
    return kind == "ray"


def runs_as_a_task(kind: str) -> bool:
    """Whether a worker of ``kind`` is a task on an event loop: it starts on the loop
    the console's tasks share, is cancelled at its next ``await``, and blocks the
    loop while its handler runs."""
    return kind == "asyncio"


def can_be_killed(kind: str) -> bool:
    """Whether ``.kill`` ends a worker of ``kind``: not a thread, which Python cannot
    kill from outside."""
    return kind != "thread"


def start_timeout(kind: str, timeout: float) -> float:
    """How long to wait for a worker's start: the timeout, or for a Ray worker at least
    :data:`RAY_START_S` (its cluster boots in seconds, more when busy)."""
    return max(timeout, RAY_START_S) if takes_ray_options(kind) else timeout
