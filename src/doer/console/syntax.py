"""What a typed line means: the words a person types, and nothing done yet.

Both front ends read a line through :func:`interpret`: a message for the
current worker or for the workers an ``@`` names, a dot-command for the
console (one of :data:`doer.console.commands.COMMANDS`), a blank line, or a
one-line error. The words a person types live here too: the messages'
help, and the lessons' lines. :mod:`doer.console.commands` carries the
commands out; :mod:`doer.console.help` lays out ``.help``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from doer.base.protocol import ParseError, parse_line
from doer.console.kind_facts import is_a_kind

if TYPE_CHECKING:
    from doer.console.commands import Spec

MESSAGE_HELP: dict[str, str] = {
    "ping": "the worker answers pong",
    "set-state V": "set the state to V (a Python literal or a word)",
    "get-state": "show the worker's state",
    "whoami": "pid, parent pid, thread, task, start method, GIL",
    "sleep S": "sleep S seconds, then answer (later messages wait)",
    "exit": "end the worker (its end event shows state and pid)",
    "incr": "add 1 to a global counter: one per process",
    "race N [lock]": "N increments, a switch forced mid-way (lock: safe)",
    "race N natural": "no forced switch: what this Python does on its own",
    "work [N]": "N steps of arithmetic (about 1 s): wall, CPU, waits",
    "crash": "raise in the handler: an error answer; it lives on",
    "die": "end the worker abruptly (a process exits, status 3)",
    "segfault": "crash a process with SIGSEGV (threads, tasks refuse)",
    "segfault thread": "in a 2nd thread: the process dies, as a console would",
    "inherited": "what the worker sees of the console's .mark",
    "get-lock": "answer a threading.Lock (a process cannot pickle it)",
    "deadlock [S]": "to two: A then B, B then A; waits S s (30): .locks",
    "deadlock ordered": "both take A, then B: one order, no deadlock",
}

#: The lessons of docs/classroom.md, each by the name docs/classroom.doer gives
#: it (``# lesson: NAME``), with the lines to type in it, in order, ", " between
#: them. ``.help lessons`` shows them; the test suite checks that the .doer has
#: the very same lines, and that the console takes every one.
LESSONS: list[tuple[str, str]] = [
    ("setup", ".spawn t1,t2 thread, .spawn p1,p2 process, .spawn a,a2 asyncio"),
    ("pids", "@all whoami"),
    ("memory", "@t1,p1 set-state 7, .peek t1, .peek p1"),
    ("globals", "@t1,t2 incr, @p1,p2 incr"),
    (
        "race",
        "@t1,t2 race 100000, @t1,t2 race 2000000 natural, @t1,t2 race 100000 lock,"
        " @p1,p2 race 100000",
    ),
    # .timeout 1: a script waits for each answer; it stops waiting for the deadlocked
    # two after a second, so that .locks meets them still waiting (5 s, then one gives up).
    (
        "deadlock",
        ".timeout 1, @t1,t2 deadlock 5, .locks, @p1,p2 deadlock, .timeout 10,"
        " @t1,t2 deadlock ordered",
    ),
    (
        "gil",
        "@t1,t2 work, .timeline, @p1,p2 work, .timeline, @t1,t2 sleep 1, .timeline",
    ),
    ("event-loop", "@a,a2 work, .timeline, @a,a2 sleep 1, .timeline"),
    (
        "start-methods",
        ".mark 5, .spawn f process --start-method fork, .spawn s process --start-method spawn,"
        " .spawn fs process --start-method forkserver, .workers",
    ),
    ("inheritance", ".mark 6, @all inherited"),
    (
        "pickling",
        ".trace on, @t1,p1 ping, @p1 get-lock, .trace off, .repeat 10000 @t1 ping,"
        " .repeat 10000 @p1 ping, .repeat 10000 @a ping",
    ),
    ("crashes", "crash, @t1 die, @p1 die, @t2 segfault, @p2 segfault thread"),
    # .timeout 1: a script waits for each answer; this one stops waiting for the sleep
    # after a second, so that .kill meets a thread still sleeping.
    ("killing", ".kill f, .kill a, .timeout 1, @t2 sleep 30, .kill t2"),
]


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
    if is_a_kind(text):
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
        if name not in _commands():
            return Invalid(_unknown_command(name))
        return Command(name, argument.strip())
    try:
        return Message(parse_line(line))
    except ParseError as exc:
        return Invalid(str(exc))


def _commands() -> Mapping[str, Spec]:
    """The command table. It lives with the functions that carry the commands out,
    which read lines through this module (``.repeat N LINE``): it is imported when
    a dot-command is first read, not with this module."""
    from doer.console.commands import COMMANDS

    return COMMANDS


def _unknown_command(name: str) -> str:
    """Why ``name`` is refused, with the command it looks like a typo of, if one does."""
    like = closest(name, _commands())
    if like is None:
        return f"unknown command {name} (.help lists the commands)"
    return f"unknown command {name} (did you mean {like}?)"


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known word ``word`` is most likely a typo of (``.spwan``: ``.spawn``), or None.

    Only called for a word that is not known: difflib is imported then, not at start-up.
    """
    import difflib

    matches = difflib.get_close_matches(word, list(known), n=1, cutoff=0.75)
    return matches[0] if matches else None


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


def prompt_argument(argument: str) -> str | None:
    """The prompt ``.prompt ARGUMENT`` asks for; None (the usual prompt) when empty.

    The text is taken as typed; quote it to keep spaces at its ends:
    ``.prompt 'X> '``. (A line's own ends are stripped before this.)
    """
    if argument[:1] in ("'", '"') and argument[-1:] == argument[:1] and len(argument) > 1:
        return argument[1:-1]
    return argument or None
