"""What a typed line means: the words a person types, and nothing done yet.

Both front ends read a line through :func:`interpret`: a message for the
current worker or for the workers an ``@`` names, a dot-command for the
console (:data:`COMMANDS`, whose help ``.help`` prints), a blank line, or a
one-line error. The help of the messages and the lessons' lines live here
too, beside the commands: all that a person can type, in one place.
:mod:`doer.console` carries the lines out.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from doer.kinds import KINDS
from doer.protocol import ParseError, parse_line
from doer.render import Fragments, note_line

MESSAGE_HELP: dict[str, str] = {
    "ping": "the worker answers pong",
    "set-state V": "set the state to V (a Python literal or a word)",
    "get-state": "show the worker's state",
    "whoami": "pid, parent pid, thread, task, start method, GIL",
    "sleep S": "sleep S seconds, then answer (later messages wait)",
    "exit": "end the worker (its end event shows state and pid)",
    "incr": "add 1 to a global counter of the worker's module",
    "race N [lock]": "N unguarded increments of it (lock: under a lock)",
    "work [N]": "N steps of arithmetic (about 1 s): wall and CPU time",
    "crash": "raise in the handler: an error answer; it lives on",
    "die": "end the worker abruptly (a process exits, status 3)",
    "segfault": "crash a process with SIGSEGV (threads, tasks refuse)",
    "inherited": "what the worker sees of the console's .mark",
    "get-lock": "answer a threading.Lock (a process cannot pickle it)",
}

#: The lessons of ``.help lessons``: the idea, then the lines to type. They
#: assume threads t1 and t2, processes p1 and p2 and a task a (the first line says so).
LESSONS: list[tuple[str, str]] = [
    ("pids: threads and tasks are in the console's process", "@all whoami"),
    (
        "memory: a thread's state is live; a process's, a copy",
        "@t1,p1 set-state 7, .peek t1, .peek p1",
    ),
    ("globals: one counter per process", "@t1,t2 incr, @p1,p2 incr"),
    (
        "a race: threads lose updates; a lock stops it",
        "@t1,t2 race 100000, @t1,t2 race 100000 lock",
    ),
    (
        "the GIL: threads take turns, processes run at once",
        "@t1,t2 work, .timeline, @p1,p2 work, .timeline",
    ),
    ("an event loop: blocking freezes it, awaiting does not", "@a work, @a sleep 2"),
    (
        "start methods: how long each takes to start",
        ".spawn f process --start-method fork (s: spawn, fs: forkserver), .workers",
    ),
    (
        "inheritance: live, copied at fork, or nothing",
        ".mark 5 before, .mark 6 after, @all inherited",
    ),
    (
        "crossing a process boundary: pickled bytes, and messages a second",
        ".trace on, @all ping, @p1 get-lock, .trace off, .repeat 10000 @p1 ping",
    ),
    (
        "crashes: an error, a death, a refusal",
        "crash, @p1 die, @t1 die, @p2 segfault, @t2 segfault",
    ),
    ("killing: a process dies, a task is cancelled, a thread not", ".kill f, .kill a, .kill t2"),
]


#: The last line of the commands' help: the kinds, and a Ray worker's options.
KINDS_HELP = "KIND: thread, process, asyncio or ray (a Ray actor: --address A, --shared)"

ROUTING_HELP: dict[str, str] = {
    "@NAME LINE": "send LINE to worker NAME only (@a,b LINE: to a and b)",
    "@all LINE": "send LINE to every running worker, each answer tagged",
}


class Spec(NamedTuple):
    """One command of the console: how it is typed, what ``.help`` says, what it does.

    ``does`` names the :class:`Console` method that carries it out, given the
    rest of the line.
    """

    usage: str
    help: str
    does: str


#: The console's own commands. Both front ends read lines through
#: :func:`interpret` and carry commands out through :meth:`Console.carry_out`;
#: ``.help`` is written from this table. A command's NAME defaults to the
#: current worker.
COMMANDS: dict[str, Spec] = {
    ".help": Spec(".help", "show this help", "help_lines"),
    ".spawn": Spec(
        ".spawn NAME [KIND]",
        "start another worker (--start-method M, --state V)",
        "spawn",
    ),
    ".workers": Spec(".workers", "a table of the workers; * marks the current one", "table"),
    ".use": Spec(".use NAME", "make NAME the current worker: bare lines go to it", "use"),
    ".peek": Spec(".peek [NAME]", "a worker's state, read from the console's memory", "peek"),
    ".mark": Spec(".mark [VALUE]", "set a global in the console (inherited reads it)", "mark"),
    ".timeline": Spec(".timeline", "when the last line ran on each worker, as bars", "timeline"),
    ".trace": Spec(".trace [on|off]", "on: how each message crossed: queue, bytes, time", "trace"),
    ".handlers": Spec(
        ".handlers [FILE]", "your @doer.handler module, for workers started after", "add_handlers"
    ),
    ".repeat": Spec(
        ".repeat N LINE", "send LINE N times at once; each answer, then the rate", "repeat"
    ),
    ".status": Spec(
        ".status [NAME]", "show a worker: kind, pid, state, pending requests", "status_lines"
    ),
    ".stop": Spec(
        ".stop [NAME]", "end a worker: pending requests, then exit, then join", "stop_for"
    ),
    ".restart": Spec(
        ".restart [NAME] [KIND]", "a fresh worker in its place (--start-method M)", "restart_for"
    ),
    ".kill": Spec(".kill [NAME]", "end a worker at once: what its kind allows, said", "kill"),
    ".timeout": Spec(
        ".timeout [S]", "show or set the seconds to wait for an answer", "timeout_lines"
    ),
    ".prompt": Spec(
        ".prompt [TEXT]", "a fixed prompt (.prompt 'X> '); alone: the usual one", "set_prompt"
    ),
    ".wait": Spec(".wait [on|off]", "on: the prompt waits for each line's answers", "wait_lines"),
    ".quit": Spec(
        ".quit", "wait for pending requests, stop all, leave (Ctrl-D)", "quit_after_pending"
    ),
    ".quit!": Spec(".quit!", "leave now: pending requests are dropped, and said so", "quit_now"),
}

#: The commands whose first word may be a worker's name (completion offers them).
NAMED_COMMANDS = (".use", ".status", ".stop", ".restart", ".kill")

#: ``@all ping``: every running worker.
ALL = "all"

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,15}")


def check_name(text: str) -> str:
    """``text``, if it can name a worker: a short word, as a class would call out.

    Raises:
        ValueError: it cannot (the text is the one-line reason).
    """
    if not _NAME.fullmatch(text):
        raise ValueError(
            f"not a worker name: {text!r} (a letter, then up to 15 letters, digits, - or _)"
        )
    if text == ALL:
        raise ValueError(f"{text!r} cannot name a worker: @all means every running worker")
    if text in KINDS:
        raise ValueError(f"{text!r} cannot name a worker: it is a kind (.spawn NAME {text})")
    return text


def state_value(text: str) -> Any:
    """``--state 42`` is the number 42; ``--state hola!`` the word, as typed messages are."""
    try:
        message = parse_line(f"set-state {text}")
    except ValueError:
        return text
    return message[1] if isinstance(message, tuple) and len(message) == 2 else text


class Message(NamedTuple):
    """A line to send, already parsed; ``to`` names its workers (empty: the current one)."""

    message: Any
    to: tuple[str, ...] = ()


class Command(NamedTuple):
    """A dot-command for the console itself."""

    name: str
    argument: str = ""


class Invalid(NamedTuple):
    """A line that cannot be carried out; ``error`` is the one-line reason."""

    error: str


class Blank(NamedTuple):
    """An empty line or a ``#`` comment: nothing to do."""


Line = Message | Command | Invalid | Blank


def interpret(line: str) -> Line:
    """Say what ``line`` asks for, without doing it."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return Blank()
    if stripped.startswith("@"):
        return _routed(stripped)
    if stripped.startswith("."):
        name, _, argument = stripped.partition(" ")
        if name not in COMMANDS:
            return Invalid(f"unknown command {name} (.help lists the commands)")
        return Command(name, argument.strip())
    try:
        return Message(parse_line(line))
    except ParseError as exc:
        return Invalid(str(exc))


def _routed(stripped: str) -> Line:
    """``@NAME line``, ``@a,b line``, ``@all line``: a message for the workers named."""
    names, _, rest = stripped[1:].partition(" ")
    to = tuple(dict.fromkeys(names.split(",")))  # each once, in the order given
    for name in to:
        if not _NAME.fullmatch(name):
            return Invalid(
                f"@ takes worker names: @p1 ping, @p1,p2 ping or @all ping, not @{names}"
            )
    what = interpret(rest)
    if isinstance(what, Blank):
        return Invalid(f"@{names} needs a message to send: @{names} ping")
    if isinstance(what, Command):
        return Invalid(
            f"{what.name} is for the console, not for a worker: it takes the name itself"
        )
    if isinstance(what, Message) and what.to:
        return Invalid("one @ per line: @p1,p2 ping sends to both")
    if isinstance(what, Message):
        return Message(what.message, (ALL,) if ALL in to else to)
    return what


def lesson_help() -> list[Fragments]:
    """``.help lessons``: each lesson's idea, and under it the lines to type."""
    lines = [
        note_line("Lessons; first .spawn t1 thread, t2 thread, p1 process, p2 process, a asyncio")
    ]
    for number, (idea, typed) in enumerate(LESSONS, 1):
        lines.append(note_line(f"{number:>2} {idea}"))
        lines.append(note_line(f"     {typed}"))
    return lines


def prompt_argument(argument: str) -> str | None:
    """The prompt ``.prompt ARGUMENT`` asks for; None (the usual prompt) when empty.

    The text is taken as typed; quote it to keep spaces at its ends:
    ``.prompt 'X> '``. (A line's own ends are stripped before this.)
    """
    if argument[:1] in ("'", '"') and argument[-1:] == argument[:1] and len(argument) > 1:
        return argument[1:-1]
    return argument or None
