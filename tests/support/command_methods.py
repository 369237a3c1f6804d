"""The console's commands as its methods, for the tests that call a command without a
front end: ``console.table("all")``, ``console.kill("p1")``, ``console.carry_out(command)``.

The front ends go through :meth:`~doer.console.session.Console.outcome_of`
and the outcome it returns. These tests were written when each command was a
method of the console, returning its lines as a list (not
:class:`~doer.console.outcomes.Said`) and raising ValueError for a bad
argument (not :class:`~doer.console.outcomes.Refused`); :func:`install`
gives :class:`~doer.console.session.Console` those methods again, for the
test run only (the root ``tests/conftest.py`` calls it), made from the
command table and each named as its command's function (``Spec.does``), so
that no command can lack one. The console itself does not carry them: its
command modules load at the first command, not before the first prompt.
"""

from __future__ import annotations

from collections.abc import Callable

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
from doer.console.session import Console
from doer.console.syntax import Command

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
    method.__qualname__ = f"Console.{run.__name__}"
    method.__doc__ = run.__doc__
    return method


def carry_out(console: Console, command: Command) -> OldOutcome:
    """Carry out a dot-command as :meth:`~doer.console.session.Console.outcome_of`
    does, but with lines as a list.

    Raises:
        ValueError: a bad argument; the text is the one-line error.
    """
    return old_shape(COMMANDS[command.name].run(console, command.argument))


def install() -> None:
    """Give :class:`Console` :func:`carry_out` and a method for each command."""
    Console.carry_out = carry_out
    for spec in COMMANDS.values():
        setattr(Console, spec.does, _as_method(spec.run))
