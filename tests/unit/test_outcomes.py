"""The command table and the outcomes a command returns (``doer.console.commands``,
``doer.console.outcomes``): what a front end is given to print or to do."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from doer.console import outcomes
from doer.console.commands import COMMANDS, NAMED_COMMANDS, Spec
from doer.console.outcomes import Quit, Refused, Reset, Said, handle
from doer.console.render import unstyled
from doer.console.session import Console, Settings
from doer.console.syntax import Command, interpret


class Recorder:
    """A front end that says which of its methods an outcome was given to."""

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("on_"):
            raise AttributeError(name)
        return lambda outcome: (name, outcome)


def test_each_kind_of_outcome_goes_to_the_front_end_s_method_for_it() -> None:
    kinds = get_args(outcomes.Outcome)
    methods = {name for name in vars(outcomes.OutcomeHandler) if name.startswith("on_")}
    assert len(methods) == len(kinds), "a method for each kind of outcome"
    for kind in kinds:
        fields = {name: None for name in kind._fields}
        outcome = kind(**fields)
        method, given = handle(outcome, Recorder())  # type: ignore[arg-type]
        assert method in methods and given is outcome
        assert method == "on_" + kind.__name__.lower()


def test_a_command_s_outcome_is_its_lines_or_why_it_was_refused() -> None:
    console = Console(Settings())

    said = console.outcome_of(Command(".timeout", "5"))
    refused = console.outcome_of(Command(".timeout", "soon"))

    assert isinstance(said, Said) and [unstyled(line) for line in said.lines] == ["timeout: 5 s"]
    assert refused == Refused("the timeout must be a positive number of seconds, not soon")
    assert console.outcome_of(Command(".quit!")) == Quit(wait=False)
    assert console.outcome_of(Command(".reset")) == Reset()


def test_a_command_that_fails_unforeseen_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(console: Console, argument: str) -> Said:
        raise KeyError("nope")

    monkeypatch.setitem(COMMANDS, ".workers", COMMANDS[".workers"]._replace(run=broken))

    assert Console(Settings()).outcome_of(Command(".workers")) == Refused(
        ".workers failed: KeyError: 'nope' (a bug of doer's; please report it)"
    )


def test_every_command_is_in_the_table_once_and_read_by_its_name() -> None:
    assert all(name == spec.name for name, spec in COMMANDS.items())
    assert all(interpret(f"{name} x") == Command(name, "x") for name in COMMANDS)
    assert all(
        isinstance(spec, Spec) and spec.usage.startswith(spec.name) for spec in COMMANDS.values()
    )
    assert NAMED_COMMANDS == (".use", ".peek", ".status", ".stop", ".restart", ".kill")
