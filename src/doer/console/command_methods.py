"""Each command as a method of the console, as callers did before the command table:
``console.table("all")``, ``console.kill("p1")``.

A method returns what the command did before outcomes were records: the
lines as a list (not :class:`~doer.console.outcomes.Said`), and a bad
argument raised as ValueError (not :class:`~doer.console.outcomes.Refused`).
The methods are made from the table, each named as its command's function
(``Spec.does``), so that no command can lack one. Once every caller goes
through :meth:`~doer.console.session.Console.outcome_of`, this module goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from doer.console.commands import COMMANDS
from doer.console.outcomes import (
    Kill,
    Outcome,
    Quit,
    Refused,
    Repeat,
    Reset,
    Restart,
    Said,
    Spawned,
    Stop,
)
from doer.console.render.fragments import Fragments

if TYPE_CHECKING:
    from doer.console.session import Console

#: What a command returned before outcomes were records: lines as a list, or a
#: step only the front end can take.
OldOutcome = list[Fragments] | Quit | Restart | Spawned | Stop | Kill | Repeat | Reset


def old_shape(outcome: Outcome) -> OldOutcome:
    """``outcome`` as a command returned it before: lines as a list, a refusal raised.

    Raises:
        ValueError: ``outcome`` is a refusal; the text is its one-line error.
    """
    if isinstance(outcome, Refused):
        raise ValueError(outcome.error)
    return outcome.lines if isinstance(outcome, Said) else outcome


def _as_method(run: Callable[[Console, str], Outcome]) -> Callable[[Console, str], OldOutcome]:
    def method(console: Console, argument: str = "") -> OldOutcome:
        return old_shape(run(console, argument))

    method.__name__ = run.__name__
    method.__qualname__ = f"{CommandsAsMethods.__name__}.{run.__name__}"
    method.__doc__ = run.__doc__
    return method


class CommandsAsMethods:
    """The commands as the console's methods; mixed into :class:`Console` only."""


for _spec in COMMANDS.values():
    setattr(CommandsAsMethods, _spec.does, _as_method(_spec.run))
