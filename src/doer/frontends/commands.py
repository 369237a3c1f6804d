"""A dot-command carried out for a front end, and its outcome handed to the front end.

Every front end carries a command out the same way (:func:`carry_out`); what
it then does with the outcome (print its lines, or take a step only it can
take, because only it knows how to wait) is its own, in one class each, with
a method ``on_<kind>`` per kind of outcome:
:class:`doer.frontends.shell.outcomes.Outcomes` and
:class:`doer.frontends.plain.outcomes.Outcomes`. :meth:`FollowsOutcomes.follow`
picks the method; it is the one place that knows how outcomes are told apart.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

from doer.console.render import failed_text
from doer.console.session import Console, Outcome
from doer.console.syntax import Command

T = TypeVar("T")


class Refused(NamedTuple):
    """The command was not carried out: ``error`` is the one-line reason (a bad
    argument, or a bug of doer's said in one line)."""

    error: str


def carry_out(console: Console, command: Command) -> Outcome | Refused:
    """Carry out ``command`` on ``console``: its outcome, or why it was refused."""
    try:
        return console.carry_out(command)
    except ValueError as exc:
        return Refused(str(exc))
    except Exception as exc:  # a bug of doer's: one line, and the console goes on
        return Refused(failed_text(command.name, exc))


class FollowsOutcomes(Generic[T]):
    """A front end's handling of outcomes: ``on_said`` for lines to print, and
    ``on_<kind>`` for each other kind (``on_quit`` for a ``Quit``...), each
    returning ``T``. A subclass without a method for every kind the console
    can return is refused as it is defined."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kinds = [typing.get_origin(kind) or kind for kind in typing.get_args(Outcome)]
        methods = [_method_for(kind) for kind in [*kinds, Refused]]
        missing = [name for name in methods if not callable(getattr(cls, name, None))]
        if missing:
            raise TypeError(f"{cls.__name__} has no {', '.join(missing)}")

    def follow(self, outcome: Outcome | Refused) -> T:
        """What the method for the kind of ``outcome`` returns."""
        method: Callable[[Any], T] = getattr(self, _method_for(type(outcome)))
        return method(outcome)


def _method_for(kind: type) -> str:
    """The name of a front end's method for an outcome of type ``kind``."""
    return "on_said" if issubclass(kind, list) else f"on_{kind.__name__.lower()}"
