"""The workers by name, and the current one: the worker bare lines go to.

Workers stay here after they end (``.workers all`` shows how they ended)
until ``.restart``, ``.spawn`` or ``.workers clear`` puts a fresh one in their
place or forgets them. A worker that could not be stopped (a thread stuck in a
handler) and was replaced is kept apart: its late lines say it was replaced.
"""

from __future__ import annotations

import weakref
from typing import Any

from doer.client.worker import Worker
from doer.console.render.fragments import clipped
from doer.console.render.news import ended_text
from doer.console.syntax import ALL, check_name

#: The longest error text that fits 80 columns after ``error: ``.
_ERROR_TEXT_COLUMNS = 80 - len("error: ")


class Registry:
    """Every worker by name, in the order first spawned, and the current one."""

    def __init__(self, current: str) -> None:
        #: Every worker by name, in the order they were first spawned.
        self.workers: dict[str, Worker] = {}
        #: The name bare lines go to.
        self.current = current
        self._states: dict[str, Any] = {}  # each name's initial state, for .restart
        self._left_behind: weakref.WeakSet[Worker] = weakref.WeakSet()

    @property
    def worker(self) -> Worker | None:
        """The current worker (None before the first one starts)."""
        return self.workers.get(self.current)

    def put(self, worker: Worker, state: Any) -> None:
        """Keep ``worker``, started with ``state``, under its name (in an old one's place)."""
        self.workers[worker.name] = worker
        self._states[worker.name] = state

    def let_go(self, name: str) -> None:
        """Before a fresh worker takes ``name``: join and close what is left of the ended
        one of that name, if there is one (it has ended: no wait)."""
        old = self.workers.get(name)
        if old is not None and old.ended is not None:
            old.stop(1.0)

    def state_of(self, name: str, default: Any) -> Any:
        """The state worker ``name`` was started with, or ``default``."""
        return self._states.get(name, default)

    def forget_all(self, current: str) -> None:
        """Forget every worker (joining what is left of the ended ones) and make
        ``current`` the current name, as at launch."""
        for worker in self.workers.values():
            if worker.ended is not None and not self.is_replaced(worker):
                worker.stop(1.0)  # join and close what is left of it (it has ended: no wait)
        self.workers.clear()
        self._states.clear()
        self.current = current

    def running(self) -> list[Worker]:
        """The workers that have not ended, in spawn order."""
        return [worker for worker in self.workers.values() if worker.ended is None]

    def named(self, name: str) -> Worker:
        """The worker called ``name``, or the current one for an empty name.

        Raises:
            ValueError: there is none.
        """
        worker = self.workers.get(name or self.current)
        if worker is None:
            if not name:
                raise ValueError("there is no worker; .restart starts one")
            raise ValueError(self._no_worker_named(name))
        return worker

    def _no_worker_named(self, name: str) -> str:
        """Why ``name`` finds no worker: a name that differs only in case is said."""
        other = next((known for known in self.workers if known.lower() == name.lower()), None)
        if other is None:
            return f"no worker named {name} (.workers lists them)"
        text = f"no worker named {name} (names are case-sensitive: {other})"
        if len(text) > _ERROR_TEXT_COLUMNS:  # two long names: a shorter form, on one line
            text = f"no worker {name} (names are case-sensitive: {other})"
        return text

    def targets(self, to: tuple[str, ...]) -> list[Worker]:
        """The workers a line is for: ``to`` names them, ``@all`` is every running one,
        none is the current one.

        Raises:
            ValueError: a name no worker has, or no worker to send to.
        """
        if not to:
            worker = self.worker
            if worker is None:
                raise ValueError("there is no worker; .restart starts one")
            return [worker]
        if to == (ALL,):
            running = self.running()
            if not running:
                raise ValueError("no worker is running; .spawn NAME starts one")
            return running
        return [self.named(name) for name in to]

    def new_names(self, word: str) -> list[str]:
        """The names of ``.spawn p1,p2``: each a worker's name, given once, not in use.

        Raises:
            ValueError: the first name that is not.
        """
        names = word.split(",")
        for number, name in enumerate(names):
            check_name(name)
            if name in names[:number]:
                raise ValueError(f"{name} is named twice: each worker needs a name of its own")
            existing = self.workers.get(name)
            if existing is not None and existing.ended is None:
                raise ValueError(f"there is a worker named {name} already (.workers lists them)")
        return names

    def gone_text(self, worker: Worker) -> str:
        """Why a line cannot go to ``worker`` (it has ended), and what to do about it."""
        return ended_text(self.name_if_needed(worker))

    def name_if_needed(self, worker: Worker) -> str | None:
        """``worker``'s name when there are other workers to tell it from, else None."""
        return None if len(self.workers) == 1 and worker is self.worker else worker.name

    def leave_behind(self, worker: Worker) -> None:
        """``worker`` could not be stopped (a thread stuck in a handler) and is replaced."""
        self._left_behind.add(worker)

    def is_replaced(self, worker: Worker) -> bool:
        """True for a worker left behind by ``.restart``: its late lines must say so."""
        return worker in self._left_behind

    def left_behind_running(self) -> list[Worker]:
        """The workers left behind that still run (``.workers`` shows them)."""
        return [worker for worker in self._left_behind if worker.ended is None]

    def clear_ended(self) -> str:
        """Forget the ended workers but the current one (bare lines still go to it, and
        ``.restart`` needs its kind); say which."""
        ended = [
            worker
            for name, worker in self.workers.items()
            if worker.ended is not None and name != self.current
        ]
        for worker in ended:
            worker.stop(1.0)  # join and close what is left of it (it has ended: no wait)
            del self.workers[worker.name]
        if not ended:
            return "no ended worker to clear"
        names = clipped(", ".join(worker.name for worker in ended), 50)
        return f"cleared {len(ended)} ended worker{'s' if len(ended) > 1 else ''}: {names}"
