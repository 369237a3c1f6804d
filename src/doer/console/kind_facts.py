"""What the console asks of a kind known only by its name: a word typed, a setting.

The answers are the kind's own: each is asked of its
:class:`~doer.kinds.Link` class (:func:`~doer.kinds.link_class`, which imports
that kind's module only), never decided from the name. Where a worker is at
hand, ask it instead (``worker.killable``, ``worker.on_event_loop``...). The
kinds' colours (:data:`~doer.console.render.fragments.KIND_COLOURS`) are
presentation, a table by name.
"""

from __future__ import annotations

from doer.console.ray_cluster import RayOptions
from doer.kinds import KINDS, START_METHODS, link_class

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
    return bool(link_class(kind).start_methods)


def takes_ray_options(kind: str) -> bool:
    """Whether ``--address`` and ``--shared`` apply: the kind takes them (a Ray worker)."""
    return set(RayOptions._fields) <= set(link_class(kind).options)


def runs_as_a_task(kind: str) -> bool:
    """Whether a worker of ``kind`` is a task on an event loop: it starts on the loop
    the console's tasks share, is cancelled at its next ``await``, and blocks the
    loop while its handler runs."""
    return link_class(kind).on_event_loop


def can_be_killed(kind: str) -> bool:
    """Whether ``.kill`` ends a worker of ``kind``: not a thread, which Python cannot
    kill from outside."""
    return link_class(kind).killable
