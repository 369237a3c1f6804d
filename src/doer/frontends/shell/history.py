"""The lines typed before, offered by Up and Ctrl-R: kept in a file between sessions."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable

from prompt_toolkit.history import FileHistory, History, InMemoryHistory


def history_path() -> str:
    """Where the shell keeps its history: ``$XDG_STATE_HOME/doer/history``."""
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(state_home, "doer", "history")


def make_history(persistent: bool = True) -> tuple[History, str | None]:
    """A persistent history, or an in-memory one and the reason it is not persistent.

    Not ``persistent`` (``--no-history``): in memory, no file touched and nothing
    to say. Up still recalls the session's own lines.
    """
    if not persistent:
        return InMemoryHistory(), None
    path = history_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a"):  # create it now, so a problem shows before the first line
            pass
    except OSError as exc:
        return InMemoryHistory(), f"history is not saved: cannot write {path}: {exc.strerror}"
    return RecentHistory(path), None


class RecentHistory(FileHistory):
    """The history file, of which the newest :attr:`KEPT` lines are offered (Up, Ctrl-R).

    prompt-toolkit copies the whole history into the line being typed at
    every prompt, so a history that only grows (the file keeps every line)
    would make every prompt a little slower than the one before.
    """

    KEPT = 1000

    def load_history_strings(self) -> Iterable[str]:
        return itertools.islice(super().load_history_strings(), self.KEPT)  # newest first
