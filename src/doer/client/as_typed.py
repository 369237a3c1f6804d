"""A string sent by the library is a line as typed at the console's prompt.

The same string means the same thing in a script as at the console:
``w.ask("sleep 5")`` sleeps, as ``sleep 5`` typed does.
"""

from __future__ import annotations

from typing import Any

from doer.base.errors import ParseError
from doer.base.protocol import message_summary, parse_line

_UNSET: Any = object()

#: Short lines parsed already, and their messages. A program sends the same few
#: lines again and again (``"ping"``), and parsing one costs more than a thread
#: worker's whole send: remembered, ``tell("ping")`` is as fast as a message
#: parsed already. Only an immutable message is kept: two requests must not
#: share a list that a handler may change.
_TYPED: dict[str, Any] = {}
_TYPED_LINES = 1024
_TYPED_LINE_CHARS = 80


def as_typed(message: Any) -> Any:
    """``message`` as the library sends it: a string is a line as typed at the prompt.

    Raises:
        ParseError: the string is no message as typed (an unclosed quote, an
            empty line); the error quotes it.
    """
    if not isinstance(message, str):
        return message
    typed = _TYPED.get(message, _UNSET)
    if typed is _UNSET:
        typed = _parse(message)
        if len(message) <= _TYPED_LINE_CHARS and _immutable(typed):
            if len(_TYPED) >= _TYPED_LINES:
                _TYPED.clear()
            _TYPED[message] = typed
    return typed


def _parse(line: str) -> Any:
    """:func:`parse_line`, whose error says the string was read as a typed line."""
    try:
        return parse_line(line)
    except ParseError as exc:
        raise ParseError(
            f"{message_summary(line)!r} cannot be sent: {exc} (a string is read as a line"
            " typed at the prompt; parsed=True sends it as it is)"
        ) from None


def _immutable(message: Any) -> bool:
    """True for a message nothing can change: of the values a line parses to, the
    hashable ones (strings, numbers, tuples of them) are exactly those."""
    try:
        hash(message)
    except TypeError:  # a list, a dict, a set, or a tuple holding one
        return False
    return True
