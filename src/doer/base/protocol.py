"""The messages that travel between the console and a worker.

Everything on the request queue is a :class:`Request` (and, for a Ray
worker's driver process only, a :class:`Control`). What the console reads back
is a :data:`Record`: :class:`Reply`, :class:`Failure`, :class:`Started` or
:class:`Ended` from the worker itself, :class:`Died` when it vanished without
an end event, and :class:`Note` for news that is neither (a Ray worker's
cluster starting). They are small immutable ``NamedTuple`` records, so they
pickle cheaply for process workers and cost nothing extra for thread workers.

This module also turns a typed line into a message (:func:`parse_line`), and
a value into text (:func:`message_text`, :func:`printable`); the lines a
person reads are worded in :mod:`doer.console.render`. It knows nothing of terminals.
"""

from __future__ import annotations

import ast
import io
import itertools
import re
import shlex
import unicodedata
import warnings
from typing import Any, NamedTuple

# Defined with doer's other exceptions; importable from here too, as they always were.
from doer.base.errors import ParseError as ParseError
from doer.base.errors import UnreadableRequest as UnreadableRequest

#: The longest line the console turns into a message. Longer lines are refused
#: with a one-line error: a megabyte typed by accident should not be echoed,
#: pickled and sent.
MAX_LINE_CHARS = 64 * 1024


class Request(NamedTuple):
    """A message for the worker, with the id its answer will carry.

    ``timed``: the reply is to say when its handler started and ended
    (the console's lines are timed, for ``.timeline``).
    """

    id: int
    message: Any
    timed: bool = False


class Reply(NamedTuple):
    """A handler's answer to request ``request_id``.

    ``state`` is ``()`` when the handler left the worker's state alone and
    ``(new_state,)`` when it changed it, so the console can show the state
    without asking for it. ``times`` is ``(started, ended)`` on the machine's
    monotonic clock (``time.monotonic()``, the same in every process) for a
    timed request, ``()`` otherwise.
    """

    request_id: int
    value: Any
    state: tuple[Any, ...] = ()
    times: tuple[float, ...] = ()


class Failure(NamedTuple):
    """Request ``request_id`` could not be answered; ``error`` says why.

    ``request_id`` is :data:`OLDEST_PENDING` when the worker could not even read
    the request (it did not unpickle there): requests are handled in order, so
    the one it failed to read is the oldest one still waiting.
    """

    request_id: int
    error: str


OLDEST_PENDING = -1

#: How a worker's answer begins when it has no handler for a message
#: (``unknown message foo``); ``--strict`` counts such answers as failures.
UNKNOWN_MESSAGE = "unknown message "


class Started(NamedTuple):
    """The worker is running: its loop's first record, sent before it reads a request.

    ``thread_id`` is the operating system's id of the thread running the loop
    (what ``ps -L`` and ``top -H`` show: a process's main thread has its pid);
    ``task`` is the asyncio task's name, for that kind.
    """

    kind: str
    pid: int
    ppid: int
    thread_name: str
    thread_id: int
    start_method: str | None
    state: Any
    task: str | None = None
    #: A Ray actor's place on its cluster: ``node 8c225365 on vm (192.0.2.2)``.
    node: str | None = None


class Ended(NamedTuple):
    """The worker has stopped: its loop's last record.

    ``request_id`` is the id of the ``exit`` request that ended it, or 0 when it
    ended for another reason (a handler called ``sys.exit``, its handlers did not
    load, a shared Ray worker was left running).
    ``reason`` is empty for an ``exit`` message and says what happened otherwise.
    """

    request_id: int
    state: Any
    pid: int
    reason: str = ""


class Died(NamedTuple):
    """The worker vanished without an end event. Made by the console, or for a Ray
    worker by its driver process (the actor died: the driver saw it).

    A record, not an exception: the ``die`` lesson's exception that ends a thread's
    loop is :class:`doer.lessons.handlers.Died`, whose end this record then reports.
    """

    reason: str


class Note(NamedTuple):
    """News about a worker that is neither an answer nor an event: a Ray worker's
    driver says what it is waiting for (a cluster starting takes seconds)."""

    text: str


class Restarted(NamedTuple):
    """The console's own news, never sent by a worker: a supervised worker has been
    restarted (:mod:`doer.client.supervision`); ``text`` is the line that says so
    (``restarted after died: killed by SIGSEGV (2 of 3 in 5 s)``)."""

    text: str


class Control(NamedTuple):
    """From the console to a Ray worker's driver process, never to a worker:
    ``connect`` (to the cluster at ``argument``), ``detach`` or ``kill``."""

    action: str
    argument: Any = None


Record = Reply | Failure | Started | Ended | Died | Note | Restarted


def parse_line(line: str) -> Any:
    """Turn a typed line into a message for the worker.

    The line is split like a shell line. One word is sent as it is (``ping``);
    ``action value`` is sent as the pair ``(action, value)``. A value that is a
    Python literal (``42``, ``[1, 2]``, ``'a b'``) is sent as that value, anything
    else as a string; several values after the action make a longer tuple.

    Raises:
        ParseError: the line is empty, too long, or cannot be split (an
            unclosed quote).
    """
    if len(line) > MAX_LINE_CHARS:
        raise ParseError(
            f"line too long: {len(line):,} characters (the limit is {MAX_LINE_CHARS:,})"
        )
    quick = _parse_quickly(line)
    return _parse_fully(line) if quick is _NOT_QUICK else quick


def _parse_fully(line: str) -> Any:
    """:func:`parse_line` by its full rules (shlex, then Python literals)."""
    try:
        words = shlex.split(line)
    except ValueError as exc:  # shlex says "No closing quotation" / "No escaped character"
        raise ParseError(f"cannot split the line: {str(exc).lower()}") from None
    if not words:
        raise ParseError("empty line")
    if len(words) == 1:
        return _literal_or_text(words[0])
    value = _literal(_after_first_word(line))
    if value is not _NOT_A_LITERAL:
        return (words[0], value)
    return (words[0], *(_literal_or_text(word) for word in words[1:]))


_NOT_A_LITERAL = object()
_NOT_QUICK = object()

#: A word that is surely not a Python literal: no digit, quote, bracket, dot or
#: comma (``True,`` is a tuple), and not a keyword constant. It is sent as it is,
#: as the slow path would.
_PLAIN_WORD = re.compile(r"[^\s0-9'\"\\\[\](){}.,]+")
#: A word that is surely an int literal, as Python spells one (no leading zero).
_INT_WORD = re.compile(r"-?(?:0|[1-9][0-9]*)")
_CONSTANTS = ("True", "False", "None")


def _parse_quickly(line: str) -> Any:
    """``ping`` and ``set-state 42`` without shlex, tokenize and ast: the common lines.

    One or two words that need no quoting rules and are surely plain words or
    ints give what :func:`parse_line` gives, in a tenth of the time (plain
    mode's throughput is made of lines like these). Anything else:
    ``_NOT_QUICK``, and the full rules apply.
    """
    if not line.isascii():  # shlex splits at ASCII blanks only; str.split at others too
        return _NOT_QUICK
    words = line.split()
    if not 0 < len(words) <= 2 or any(not _quick_word(word) for word in words):
        return _NOT_QUICK
    last = int(words[-1]) if _INT_WORD.fullmatch(words[-1]) else words[-1]
    return last if len(words) == 1 else (words[0], last)  # an action is a word, always


def _quick_word(word: str) -> bool:
    if _INT_WORD.fullmatch(word):
        return True
    return _PLAIN_WORD.fullmatch(word) is not None and word.lstrip("+-~") not in _CONSTANTS


def _literal(text: str) -> Any:
    """The Python literal ``text`` spells, or ``_NOT_A_LITERAL``.

    Python also reads ``'a b' 'c'`` (two strings, joined) and ``1 # note`` (a
    comment, dropped) as one literal. Typed at the prompt those are several
    values, and ``#`` is an ordinary character there, so they are not literals.
    """
    import tokenize  # here, not at the top: only typed lines need it, workers never do

    try:
        # The compiler warns about things like '\d' (a SyntaxWarning on 3.12+,
        # printed to stderr): that would write over the prompt.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ast.literal_eval(text)
        tokens = [
            token.type
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
        ]
    except Exception:  # SyntaxError, ValueError, MemoryError, RecursionError...
        return _NOT_A_LITERAL
    if tokenize.COMMENT in tokens or any(
        first == second == tokenize.STRING for first, second in itertools.pairwise(tokens)
    ):
        return _NOT_A_LITERAL
    return value


def _literal_or_text(word: str) -> Any:
    value = _literal(word)
    return word if value is _NOT_A_LITERAL else value


def _after_first_word(line: str) -> str:
    """What follows the first word of ``line``, as typed (quotes kept)."""
    stream = io.StringIO(line)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # as shlex.split does: "#" is an ordinary character
    lexer.get_token()
    # The lexer has consumed the first word and the one blank that ended it.
    return stream.read().strip()


def message_text(message: Any) -> str:
    """A message as the console shows it: strings bare, anything else as repr."""
    return message if isinstance(message, str) else safe_repr(message)


def value_text(value: Any) -> str:
    """A value as a person reads it, with its type visible where a word would hide it.

    A string is bare when typing it bare gives that string back (``hola!``);
    otherwise it is quoted, so ``'42'`` (a string) does not look like ``42``
    (a number), nor ``'a b'`` like two words. Anything else is its repr.
    """
    return _typed(value)


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a short note if it cannot be made.

    ``repr`` can raise on values a typed line makes: an int of more than 4300
    digits (``set-state 0xfff...``) hits Python's limit on int-to-string
    conversion. A value the console cannot show must not end the console.
    """
    try:
        return repr(value)
    except Exception as exc:  # ValueError, RecursionError, a broken __repr__...
        return f"<{type(value).__name__} that cannot be shown: {type(exc).__name__}: {exc}>"


def message_summary(message: Any, limit: int = 60) -> str:
    """A message as it could be typed, cut to ``limit``: ``sleep 2``, ``set-state 'a b'``."""
    if type(message) is tuple and message and type(message[0]) is str:
        text = " ".join([message[0], *(_typed(value) for value in message[1:])])
    else:
        text = message_text(message)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _typed(value: Any) -> str:
    """``value`` as it would be typed after an action: bare if that reads back the same."""
    bare = (
        isinstance(value, str)
        and value
        and not any(ch.isspace() or ch in "'\"\\" for ch in value)
        and _literal(value) is _NOT_A_LITERAL
    )
    return value if bare else safe_repr(value)


def printable(text: str) -> str:
    """``text`` made safe to write to a terminal on one line.

    Control characters, lone surrogates (from bytes that were not UTF-8) and
    other unprintable characters are shown as escapes instead of being sent to
    the terminal, where they would move the cursor or fail to encode.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if unicodedata.category(ch) == "Zs":  # a space other than " ": keep it visible
        return ch
    return ascii(ch)[1:-1] if ch != "\t" else "\\t"
