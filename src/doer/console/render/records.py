"""The lines for what workers send: records, and the values in them.

One line a record (:func:`record_line`), tagged with the worker's name, kind
and pid and in its kind's colour; the text of a record or a value, long values
shortened (:func:`record_text`, :func:`shown_value`).
"""

from __future__ import annotations

from typing import Any

from doer.base import protocol
from doer.base.protocol import UNKNOWN_MESSAGE, Record, message_text, printable, value_text
from doer.console.render.fragments import (
    SCREEN_COLUMNS,
    SHOWN_CHARS,
    Fragments,
    Tagged,
    clipped,
    in_kind_colour,
    shorten,
    tag,
    tagged,
)


def record_line(worker: Tagged, record: Record, *, replaced: bool = False) -> Fragments:
    """The line for one record from ``worker``.

    A Ray worker's news while it starts, and the end of a worker that never
    started, are tagged without a pid: there is no worker's pid yet (a Ray
    worker's would be its driver's), nor will be.
    """
    if isinstance(record, protocol.Note):
        note = [(in_kind_colour("class:note", worker.kind), record.text)]
        return tagged(f"[{worker.name} {worker.kind}]", note)
    if isinstance(record, protocol.Restarted):  # why it died is cut to fit the screen
        label = tag(worker)
        text = clipped(printable(record.text), SCREEN_COLUMNS - len(label) - 1)
        return tagged(label, [(in_kind_colour("class:event", worker.kind), text)])
    reason = getattr(record, "reason", "")
    never_started = getattr(worker, "started", True) is None
    if reason and never_started and isinstance(record, protocol.Ended | protocol.Died):
        text = printable(f"error: did not start: {shorten(reason)}")
        return tagged(f"[{worker.name} {worker.kind}]", [("class:error", text)])
    style = in_kind_colour(_record_style(record), worker.kind)
    return tagged(tag(worker, replaced=replaced), [(style, record_text(record))])


def _record_style(record: Record) -> str:
    if isinstance(record, protocol.Reply):
        return "class:reply"
    if isinstance(record, protocol.Started | protocol.Ended | protocol.Restarted):
        return "class:event"
    if isinstance(record, protocol.Failure | protocol.Died):
        return "class:error"
    if isinstance(record, protocol.Note):
        return "class:note"
    return "class:reply"


def late_answer_line(line: Fragments, request: str) -> Fragments:
    """``line``, an answer, marked as the late answer to ``request`` (``request 3
    (sleep 2)``): ``[w1 thread 42] late answer to request 3 (sleep 2): slept 2 s``.

    Plain and line mode print a late answer among a later line's answers: the
    mark, on the answer's own line, says which request it answers.
    """
    *tag_part, (style, text) = line
    return [*tag_part, (style, f"late answer to {request}: {text}")]


def is_unknown_message(record: Record) -> bool:
    """Whether ``record`` is a worker saying it does not know the message (``--strict``)."""
    return (
        type(record) is protocol.Reply
        and type(record.value) is str
        and record.value.startswith(UNKNOWN_MESSAGE)
    )


def record_text(record: Record) -> str:
    """The one line a person reads for ``record``; long values are shortened."""
    if isinstance(record, protocol.Reply):
        return printable(shorten(message_text(record.value)))
    if isinstance(record, protocol.Failure):
        return printable(f"error: {shorten(record.error)}")
    if isinstance(record, protocol.Started):
        # A Ray actor's host, for a line of 80 columns (whoami says its node too).
        node = f", on {record.node.partition(' on ')[2]}" if record.node else ""
        return printable(f"on start: state: {shown_value(record.state)}, pid: {record.pid}{node}")
    if isinstance(record, protocol.Note | protocol.Restarted):
        return printable(record.text)
    if isinstance(record, protocol.Ended):
        why = f" ({record.reason})" if record.reason else ""
        return printable(f"on end: state: {shown_value(record.state)}, pid: {record.pid}{why}")
    return printable(f"died: {shorten(record.reason)}")


def shown_value(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A state as a person reads it, its type visible (:func:`value_text`), shortened."""
    return shorten(value_text(value), limit)
