"""The console's commands, in one table: each dot-command once, with the arguments it
takes, its line of ``.help``, and the function that carries it out.

:func:`doer.console.syntax.interpret` knows a dot-command by this table;
:func:`outcome_of` carries it out; ``.help commands`` is written from it, in
its order. A command's function takes the console and the rest of the line
and returns an :data:`~doer.console.outcomes.Outcome`; the functions live by
what they act on: :mod:`doer.console.worker_commands` (workers) and
:mod:`doer.console.session_commands` (the session), ``.help`` here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from doer.console import session_commands, worker_commands
from doer.console.help import help_lines as lines_of_help
from doer.console.outcomes import Outcome, Refused, Said
from doer.console.render.news import failed_text
from doer.console.syntax import Command

if TYPE_CHECKING:
    from doer.console.session import Console


class Spec(NamedTuple):
    """One command: how it is typed, what ``.help`` says of it, what carries it out."""

    #: What is typed: ``.spawn``.
    name: str
    #: The arguments it takes, as ``.help`` shows them: ``NAME[,..] [KIND]``.
    arguments: str
    #: Its line of ``.help``.
    help: str
    #: Carries it out, given the console and the rest of the line; raises
    #: ValueError with the one-line error for a bad argument.
    run: Callable[[Console, str], Outcome]
    #: Its first word may be a worker's name (completion offers the names).
    names_a_worker: bool = False

    @property
    def usage(self) -> str:
        """``.spawn NAME[,..] [KIND]``: the command and its arguments."""
        return f"{self.name} {self.arguments}".rstrip()

    @property
    def does(self) -> str:
        """The name of the console's method that carries it out too (the function's
        name), for callers that call a command as a method."""
        return self.run.__name__


def help_lines(console: Console, argument: str) -> Said:
    """``.help [messages|commands|lessons]``; each part fits 80x24."""
    return Said(lines_of_help(argument, COMMANDS.values(), console.your_handlers))


#: The console's own commands, in the order ``.help`` lists them. A command's
#: NAME defaults to the current worker.
COMMANDS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec(".help", "", "show this help", help_lines),
        Spec(
            ".spawn",
            "NAME[,..] [KIND]",
            "start workers (--start-method, --state, --restart)",
            worker_commands.spawn,
        ),
        Spec(
            ".workers",
            "[all|clear]",
            "running workers (all: ended too; clear: forget ended)",
            worker_commands.table,
        ),
        Spec(
            ".use",
            "NAME",
            "make NAME the current worker: bare lines go to it",
            worker_commands.use,
            names_a_worker=True,
        ),
        Spec(
            ".peek",
            "[NAME]",
            "a worker's state, read from the console's memory",
            worker_commands.peek,
            names_a_worker=True,
        ),
        Spec(
            ".mark",
            "[VALUE]",
            "set a global in the console (inherited reads it)",
            session_commands.mark,
        ),
        Spec(
            ".timeline",
            "",
            "when the last line ran on each worker, as bars",
            session_commands.timeline,
        ),
        Spec(
            ".locks",
            "",
            "who holds, who waits for the lesson locks (deadlock)",
            session_commands.locks,
        ),
        Spec(
            ".trace",
            "[on|off]",
            "on: how each message crossed: queue, bytes, time",
            session_commands.trace,
        ),
        Spec(
            ".handlers",
            "[FILE]",
            "your @doer.handler module, for workers started after",
            session_commands.add_handlers,
        ),
        Spec(
            ".repeat",
            "N LINE",
            "send LINE N times at once; each answer, then the rate",
            session_commands.repeat,
        ),
        Spec(
            ".status",
            "[NAME]",
            "show a worker: kind, pid, state, pending, restarts",
            worker_commands.status_lines,
            names_a_worker=True,
        ),
        Spec(
            ".stop",
            "[NAME]",
            "end a worker: pending requests, then exit, then join",
            worker_commands.stop_for,
            names_a_worker=True,
        ),
        Spec(
            ".restart",
            "[NAME] [KIND]",
            "a fresh worker in its place (--start-method M)",
            worker_commands.restart_for,
            names_a_worker=True,
        ),
        Spec(
            ".kill",
            "[NAME]",
            "end a worker at once: what its kind allows, said",
            worker_commands.kill,
            names_a_worker=True,
        ),
        Spec(
            ".timeout",
            "[S]",
            "show or set the seconds to wait for an answer",
            session_commands.timeout_lines,
        ),
        Spec(
            ".prompt",
            "[TEXT]",
            "a fixed prompt (.prompt 'X> '); alone: the usual one",
            session_commands.set_prompt,
        ),
        Spec(
            ".wait",
            "[on|off]",
            "on: the prompt waits for each line's answers",
            session_commands.wait_lines,
        ),
        Spec(
            ".quit",
            "",
            "wait for pending requests, stop all, leave (Ctrl-D)",
            session_commands.quit_after_pending,
        ),
        Spec(
            ".quit!",
            "",
            "leave now: pending requests are dropped, and said so",
            session_commands.quit_now,
        ),
        Spec(
            ".reset",
            "",
            "end every worker as .quit does, then start afresh",
            session_commands.reset,
        ),
        Spec(
            ".save",
            "FILE",
            "the session so far as text (FILE.cast: a recording)",
            session_commands.save,
        ),
    )
}

#: The commands whose first word may be a worker's name (completion offers them).
NAMED_COMMANDS = tuple(name for name, spec in COMMANDS.items() if spec.names_a_worker)


def outcome_of(console: Console, command: Command) -> Outcome:
    """Carry out ``command`` on ``console``, as far as the console can.

    Never raises for a bad argument or a bug of doer's: either is
    :class:`~doer.console.outcomes.Refused`, whose error is one line, and the
    console goes on.
    """
    try:
        return COMMANDS[command.name].run(console, command.argument)
    except ValueError as exc:
        return Refused(str(exc))
    except Exception as exc:  # a bug of doer's: one line, not a traceback
        return Refused(failed_text(command.name, exc))
