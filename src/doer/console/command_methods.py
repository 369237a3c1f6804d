"""Each command as a method of the console, as callers did before the command table:
``console.table("all")``, ``console.kill("p1")``, ``console.carry_out(command)``.

A method returns what the command did before outcomes were records: the
lines as a list (not :class:`~doer.console.outcomes.Said`), and a bad
argument raised as ValueError (not :class:`~doer.console.outcomes.Refused`).
The methods are made from the table, each named as its command's function
(``Spec.does``), so that no command can lack one. The front ends go through
:meth:`~doer.console.session.Console.outcome_of`; only tests call these, to
see what a command does or refuses without a front end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

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
from doer.console.syntax import Command

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

    def carry_out(self, command: Command) -> OldOutcome:
        """Carry out a dot-command as :meth:`~doer.console.session.Console.outcome_of`
        does, but with lines as a list.

        Raises:
            ValueError: a bad argument; the text is the one-line error.
        """
        console = cast("Console", self)  # mixed into Console only
        return old_shape(COMMANDS[command.name].run(console, command.argument))


for _spec in COMMANDS.values():
    setattr(CommandsAsMethods, _spec.does, _as_method(_spec.run))
