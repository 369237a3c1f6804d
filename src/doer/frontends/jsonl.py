"""``--jsonl``: each line the console prints, as one JSON object a program can parse.

Plain mode and line mode print lines for a person; with ``--jsonl`` the same
lines go out as JSON objects, one per line, with what a program would
otherwise have to dig out of the text: the record's type, the request it
answers and the line that was typed, the worker's name, kind and pid, and
when the request was sent and answered. The ``text`` field is the line
exactly as the console would print it, so nothing is said in one form that
the other lacks. The schema is ``doer/jsonl.schema.json``, shipped in the
package (:func:`schema`); ``v`` is its version.

::

    {"v":1,"type":"input","line":"ping","text":"> ping"}
    {"v":1,"type":"reply","id":1,"line":"ping","worker":{"name":"w1","kind":"thread","pid":42},
     "text":"[w1 thread 42] pong","sent_us":1764921600123456,
     "answered_us":1764921600123789}

Fields a record has no value for are left out (a note has no request id).
The objects are written by hand rather than by :func:`json.dumps`: plain
mode writes one per answer, as fast as the worker answers, and most of each
object is the same from line to line. Strings go through the json module's own C encoder,
in its ASCII form, so the output is valid JSON whatever the terminal's
encoding.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol, TypedDict, Unpack

from doer.console.render import SHOWN_CHARS, Tagged, echo_line, plain

#: The version of the records' shape: ``v`` in every record. It changes only when
#: a field changes meaning or goes; a new field does not change it.
SCHEMA_VERSION = 1

#: The types of record, in the order a reader usually meets them.
TYPES = (
    "input",
    "reply",
    "error",
    "started",
    "ended",
    "died",
    "restarted",
    "late",
    "note",
    "output",
)

#: Converts ``time.perf_counter()`` (what a Pending's times are on) to the Unix
#: time a program can compare with its own clock. Records give times in whole
#: microseconds (``sent_us``), as Chrome's trace format does: an integer is
#: written without the float's search for its shortest form, and plain mode
#: writes a record per answer.
_EPOCH = time.time() - time.perf_counter()

_START = f'{{"v":{SCHEMA_VERSION},"type":"'

_quoted: Callable[[str], str] = json.encoder.encode_basestring_ascii


class About(Tagged, Protocol):
    """What a record says of its worker (a :class:`~doer.client.worker.Worker`): its tag's
    name, kind and pid, and whether it has started (its pid may change then)."""

    @property
    def started(self) -> object: ...


class Timed(Protocol):
    """When a request went and came back (a :class:`~doer.client.worker.Pending`)."""

    sent_at: float
    answered_at: float


class Answered(Timed, Protocol):
    """A request and when it went and came back (a :class:`~doer.client.worker.Pending`)."""

    request_id: int


class Context(TypedDict, total=False):
    """What a record is about, besides its type and text; a field it lacks is left out."""

    worker: About | None  # the worker it comes from or is about
    request_id: int | None  # the request it answers
    line: str | None  # the line typed
    pending: Timed | None  # the request's times
    late: bool  # an answer that came after its request was reported late


class JsonLines:
    """Makes the JSON line for each record; see the module's doc."""

    def __init__(self) -> None:
        # Each worker's part of a record, and its start event when it was made: the same on
        # most lines. A plain dict (a weak one costs more than the lookup saves): it
        # keeps each worker the console ever had, a few hundred bytes each.
        self._workers: dict[About, tuple[object, str]] = {}
        # The last line given to input(), quoted: the answer that follows repeats it.
        self._last_line, self._last_quoted = "", '""'

    def line(self, type_: str, text: str, **context: Unpack[Context]) -> str:
        """The JSON object, on one line (no newline), for a record of ``type_``."""
        out = _START + type_ + '"'
        request_id = context.get("request_id")
        if request_id is not None:
            out += ',"id":' + str(request_id)
        line = context.get("line")
        if line is not None:
            out += ',"line":' + _quoted(line)
        worker = context.get("worker")
        if worker is not None:
            out += ',"worker":' + self._worker(worker)
        out += ',"text":' + _quoted(text)
        pending = context.get("pending")
        if pending is not None:
            out += f',"sent_us":{_microseconds(pending.sent_at)}'
            if pending.answered_at:
                out += f',"answered_us":{_microseconds(pending.answered_at)}'
        if context.get("late"):
            out += ',"late":true'
        return out + "}"

    def input(self, line: str) -> str:
        """The ``input`` record of ``line``: one per line read, so made quickly. Its
        text is plain mode's echo, ``> LINE``: most lines are short and printable,
        and their echo is the line itself, already quoted for the ``line`` field."""
        quoted = _quoted(line)
        self._last_line, self._last_quoted = line, quoted  # its answer will need it
        if len(line) <= SHOWN_CHARS and line.isprintable():
            return f'{_START}input","line":{quoted},"text":"> {quoted[1:]}}}'
        return f'{_START}input","line":{quoted},"text":{_quoted(plain(echo_line(line)))}}}'

    def answer(
        self,
        type_: str,
        text: str,
        worker: About,
        line: str | None,
        pending: Answered | None,
        late: bool,
    ) -> str:
        """:meth:`line` for a record from ``worker``: the answer to ``pending`` (typed as
        ``line``) if there is one. The hot path: one per answer."""
        if pending is None or line is None or late or not pending.answered_at:
            request_id = pending.request_id if pending is not None else None
            return self.line(
                type_, text, worker=worker, request_id=request_id, line=line,
                pending=pending, late=late,
            )  # fmt: skip
        quoted = self._last_quoted if line is self._last_line else _quoted(line)
        made = self._workers.get(worker)
        part = made[1] if made is not None and made[0] is worker.started else self._worker(worker)
        return (
            f'{_START}{type_}","id":{pending.request_id},"line":{quoted},'
            f'"worker":{part},"text":{_quoted(text)},'
            f'"sent_us":{int((pending.sent_at + _EPOCH) * 1e6)},'
            f'"answered_us":{int((pending.answered_at + _EPOCH) * 1e6)}}}'
        )

    def _worker(self, worker: About) -> str:
        """The worker's part of a record, made once per worker, and again once it has
        started (a Ray worker's pid is its driver's until then, its actor's after)."""
        name, kind = _quoted(worker.name), _quoted(worker.kind)
        made = (worker.started, f'{{"name":{name},"kind":{kind},"pid":{worker.pid}}}')
        self._workers[worker] = made
        return made[1]


def _microseconds(perf_counter: float) -> int:
    """A ``time.perf_counter()`` reading as Unix time in whole microseconds."""
    return int((perf_counter + _EPOCH) * 1e6)


def schema() -> dict[str, Any]:
    """The JSON Schema of a record, as shipped in the package."""
    from importlib import resources  # only a reader of the schema needs it

    text = resources.files("doer").joinpath("jsonl.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
