"""``.help``: the messages, the commands and the lessons, each part within 80 by 24.

The words come from where they are defined: the messages' and the lessons'
from :mod:`doer.console.syntax`, the commands' from their table
(:data:`doer.console.commands.COMMANDS`), your handlers' from their modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from doer.console.render.fragments import Fragments, clipped, note_line
from doer.console.syntax import LESSONS, MESSAGE_HELP
from doer.console.your_handlers import YourHandlers

if TYPE_CHECKING:
    from doer.console.commands import Spec

#: The last line of the commands' help: the kinds, and a Ray worker's options.
KINDS_HELP = "KIND: thread, process, asyncio, interpreter or ray (Ray: --address A, --shared)"

ROUTING_HELP: dict[str, str] = {
    "@NAME LINE": "send LINE to worker NAME only (@a,b LINE: to a and b)",
    "@all LINE": "send LINE to every running worker, each answer tagged",
}

#: Where the lines of a lesson start in ``.help lessons``, after its name.
LESSON_COLUMN = 1 + max(len(name) for name, _ in LESSONS)

#: The widest line of help: one less than a screen of 80 columns, whose last
#: column some terminals leave to the cursor.
HELP_WIDTH = 79

#: Commands that share a row of ``.help commands``, so that it fits 80x24: the command,
#: the one shown on its row, and the row's usage and words.
SHARED_ROWS: dict[str, tuple[str, str, str]] = {
    ".quit": (".quit!", ".quit[!]", "wait for pending, stop all, leave (Ctrl-D); !: now"),
}

#: The command that runs the whole lesson plan, then leaves the class at the prompt.
RUN_THE_CLASS = "doer -i --script docs/classroom.doer"


def help_lines(argument: str, commands: Iterable[Spec], yours: YourHandlers) -> list[Fragments]:
    """``.help [messages|commands|lessons]``: one part, or all of them (which scroll).

    Raises:
        ValueError: another argument.
    """
    parts: dict[str, Callable[[], list[Fragments]]] = {
        "messages": lambda: message_help(yours),
        "commands": lambda: command_help(commands),
        "lessons": lesson_help,
    }
    if argument and argument not in parts:
        raise ValueError(f".help takes {', '.join(parts)} or nothing, not {argument}")
    if argument:
        return parts[argument]()
    lines = [note_line("Type a message for the worker, or a command for the console.")]
    lines += message_help(yours) + command_help(commands)
    lines.append(note_line("The lessons, with the lines to type: .help lessons"))
    return lines


def message_help(yours: YourHandlers) -> list[Fragments]:
    """``.help messages``: the built-in messages, yours, and how to send to other workers."""
    lines = [note_line("Messages (to the current worker, or to the workers after @):")]
    lines += [note_line(f"  {name:<23} {text}") for name, text in MESSAGE_HELP.items()]
    lines += [note_line(f"  {name:<23} (a handler of this console)") for name in yours.given()]
    if yours.loaded:  # your handler modules: loaded, and their module with them
        from doer.worker.handler_modules import first_line

        lines += [
            note_line(f"  {name:<23} {clipped(first_line(function), 54)}")
            for name, function in sorted(yours.loaded.items())
        ]
    lines += [note_line(f"  {usage:<23} {text}") for usage, text in ROUTING_HELP.items()]
    lines.append(note_line("Anything else is sent as it is; the worker answers unknown."))
    return lines


def command_help(commands: Iterable[Spec]) -> list[Fragments]:
    """``.help commands``: a line a command, as the table has them (two on one row, for
    :data:`SHARED_ROWS`), then the kinds."""
    specs = list(commands)
    names = {spec.name for spec in specs}
    shared = {name: row for name, row in SHARED_ROWS.items() if {name, row[0]} <= names}
    folded = {other for other, _, _ in shared.values()}
    lines = [note_line("Commands (for the console; NAME is the current worker if left out):")]
    for spec in specs:
        if spec.name not in folded:
            _, usage, words = shared.get(spec.name, ("", spec.usage, spec.help))
            lines.append(note_line(f"  {usage:<23} {words}"))
    lines.append(note_line(KINDS_HELP))
    return lines


def lesson_help() -> list[Fragments]:
    """``.help lessons``: each lesson's name, then the lines to type in it, as the
    lesson plan has them (a lesson's lines go on under its name when they do not
    fit one row; a line is never split)."""
    lines = [note_line("The lessons of docs/classroom.md, with the lines to type, in order:")]
    for name, typed in LESSONS:
        rows = _rows_of(typed.split(", "), HELP_WIDTH - LESSON_COLUMN)
        labels = [name] + [""] * (len(rows) - 1)
        for label, row in zip(labels, rows, strict=True):
            lines.append(note_line(f"{label:<{LESSON_COLUMN}}{row}"))
    lines.append(note_line("All of them at once, then the prompt: " + RUN_THE_CLASS))
    return lines


def _rows_of(typed: list[str], width: int) -> list[str]:
    """``typed`` lines, ", " between them, packed into rows of at most ``width``."""
    rows = [typed[0]]
    for line in typed[1:]:
        if len(rows[-1]) + len(", ") + len(line) + len(",") <= width:
            rows[-1] += ", " + line
        else:
            rows[-1] += ","
            rows.append(line)
    return rows
