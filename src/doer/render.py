"""The lines the console prints, as styled fragments.

Both front ends print the same text: the interactive shell gives the fragments
to prompt-toolkit with their styles, plain mode joins the text and drops the
styles. Keeping the wording here means a transcript from plain mode is exactly
what a person sees at the prompt, minus the colours. No prompt-toolkit import:
a fragment is just a ``(style, text)`` pair.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

from doer.protocol import (
    Died,
    Ended,
    Failure,
    Record,
    Reply,
    Started,
    message_text,
    printable,
    value_text,
)

Fragments = list[tuple[str, str]]

#: The style of each class used below, for the shell's prompt-toolkit Style.
STYLES = {
    "tag": "#5f87af",
    "reply": "",
    "event": "#5faf5f bold",
    "error": "#d75f5f bold",
    # Notes and echoes in the terminal's own colour: grey italics fade on a projector.
    "note": "",
    "echo": "",
    "elided": "#8a8a8a italic",  # the note that stands for the hidden part of a long line
    "prompt": "bold",
    "toolbar": "reverse",
}


class Tagged(Protocol):
    """What a line needs to say which worker it comes from (a :class:`~doer.client.Worker`)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def pid(self) -> int: ...


def tag(worker: Tagged, *, replaced: bool = False) -> str:
    """How a line says which worker it comes from: ``[w1 process 4242]``.

    A worker that was replaced but still talks (a thread stuck in a handler is
    left behind, and answers when it is done) says so: ``[w1 (replaced) thread
    4242]``. A thread's pid is the console's, the same as its successor's:
    without the word, a class would take the old worker's lines for the new one's.
    """
    name = f"{worker.name} (replaced)" if replaced else worker.name
    return f"[{name} {worker.kind} {worker.pid}]"


def record_line(worker: Tagged, record: Record, *, replaced: bool = False) -> Fragments:
    """The line for one record from ``worker``."""
    style = _record_style(record)
    return [("class:tag", tag(worker, replaced=replaced) + " "), (style, record_text(record))]


def _record_style(record: Record) -> str:
    if isinstance(record, Reply):
        return "class:reply"
    if isinstance(record, Started | Ended):
        return "class:event"
    if isinstance(record, Failure | Died):
        return "class:error"
    return "class:reply"


def creating_line() -> Fragments:
    """The recipe's first line, with the console's own pid."""
    return [("class:note", f"creating doer from process {os.getpid()}")]


def error_line(text: str, about: Tagged | None = None, *, replaced: bool = False) -> Fragments:
    """A one-line error from the console itself (not from a worker), tagged with the
    worker it is ``about``, if any."""
    line = [("class:error", "error: " + printable(shorten(text)))]
    return line if about is None else [("class:tag", tag(about, replaced=replaced) + " "), *line]


def note_line(text: str, about: Tagged | None = None, *, replaced: bool = False) -> Fragments:
    """A line of news from the console (not an error), tagged with the worker it is
    ``about``, if any."""
    line = [("class:note", printable(text))]
    return line if about is None else [("class:tag", tag(about, replaced=replaced) + " "), *line]


def echo_line(line: str) -> Fragments:
    """Plain mode's echo of an input line: ``> ping`` (a long line is shortened)."""
    return [("class:echo", "> " + printable(shorten(line)))]


def stuck_text(name: str, kind: str) -> str:
    """Why a worker that would not stop is left behind, in a clause that fits its kind."""
    if kind == "asyncio":
        return (
            f"{name} is stuck in a handler that blocks its event loop: its task is"
            " cancelled at its next await, and left behind until then"
        )
    return f"{name} is stuck in a handler, and a thread cannot be killed: it is left behind"


def gone_text(name: str | None = None) -> str:
    """What to do once a worker has ended: ``name`` it when there are others to tell apart."""
    if name is None:
        return "the worker has ended; .restart starts a fresh one"
    return f"{name} has ended; .restart {name} starts a fresh one"


def ended_hint(name: str | None = None) -> Fragments:
    return note_line(gone_text(name))


def status_line(
    worker: Tagged, alive: bool, state: Any, pending: int, start_method: str | None
) -> Fragments:
    """One worker's line in ``.status``: ``[w1 process 4242] alive, start method spawn, ...``."""
    how = f", start method {start_method}" if start_method else ""
    life = "alive" if alive else "ended"
    text = f"{life}{how}, last state: {shown_value(state)}, pending: {pending}"
    return [("class:tag", tag(worker) + " "), ("class:reply", printable(text))]


class Listed(Tagged, Protocol):
    """What a row of ``.workers`` shows of a worker (a :class:`~doer.client.Worker`)."""

    @property
    def start_method(self) -> str | None: ...
    @property
    def started(self) -> Started | None: ...
    @property
    def ended(self) -> Ended | Died | None: ...
    @property
    def state(self) -> Any: ...
    @property
    def pending(self) -> int: ...
    @property
    def ready_after(self) -> float | None: ...


#: The columns of ``.workers``: what a class looks at first, then how each worker runs.
WORKERS_HEADER = (
    "name",
    "kind",
    "pid",
    "status",
    "last state",
    "pending",
    "start",
    "ready",
    "thread",
    "task",
)


def workers_table(
    rows: Sequence[tuple[Listed, bool, bool]], width: int | None = None
) -> list[Fragments]:
    """``.workers``: a header, then a row per ``(worker, is current, is replaced)``.

    ``start`` is a process's start method, ``thread`` the name and id (as
    ``ps -L`` shows it) of the thread that runs the worker's loop, ``task`` an
    asyncio worker's task, ``ready`` the time from asking for the worker to
    its start event. Columns are one space apart, as ``ps`` has them. A table
    wider than ``width`` is printed as two or more narrower ones, each with
    the names, rather than wrapped by the terminal.
    """
    cells = [WORKERS_HEADER, *(_worker_cells(worker, replaced) for worker, _, replaced in rows)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(WORKERS_HEADER))]
    marks = ["  ", *("* " if current else "  " for _, current, _ in rows)]
    lines: list[Fragments] = []
    for group in _column_groups(widths, width):
        for number, (mark, row) in enumerate(zip(marks, cells, strict=True)):
            text = mark + " ".join(row[column].ljust(widths[column]) for column in group)
            style = "class:note" if number == 0 else "class:reply"
            lines.append([(style, printable(text.rstrip()))])
    return lines


def _column_groups(widths: list[int], width: int | None) -> list[list[int]]:
    """The columns of each table, in order, each starting with the name, each within ``width``."""
    groups = [[0]]
    used = 2 + widths[0]  # the mark, then the name
    for column in range(1, len(widths)):
        if width is not None and used + 1 + widths[column] > width and len(groups[-1]) > 1:
            groups.append([0])
            used = 2 + widths[0]
        groups[-1].append(column)
        used += 1 + widths[column]
    return groups


def _worker_cells(worker: Listed, replaced: bool) -> tuple[str, ...]:
    started = worker.started
    thread = f"{started.thread_name} {started.thread_id}" if started else "-"
    task = (started.task if started else None) or "-"
    ready = "-" if worker.ready_after is None else milliseconds(worker.ready_after)
    return (
        f"{worker.name} (replaced)" if replaced else worker.name,
        worker.kind,
        str(worker.pid),
        clipped(life_text(worker.started, worker.ended), 28),
        clipped(value_text(worker.state), 16),
        str(worker.pending),
        worker.start_method or "-",
        ready,
        thread,
        task,
    )


def milliseconds(seconds: float) -> str:
    """``0.4 ms``, ``12 ms``, ``1234 ms``: a tenth of a millisecond only where it shows."""
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def life_text(started: Started | None, ended: Ended | Died | None) -> str:
    """How a worker is: ``starting``, ``running``, ``ended`` or ``died: REASON``."""
    if isinstance(ended, Died):
        return f"died: {ended.reason}"
    if isinstance(ended, Ended):
        return f"ended ({ended.reason})" if ended.reason else "ended"
    return "running" if started else "starting"


def plain(fragments: Fragments) -> str:
    """The text of ``fragments`` without styles (for plain mode and tests)."""
    return "".join(text for _, text in fragments)


# --- values and records as text ---------------------------------------------------


#: A value longer than this is cut where a person reads it, with its full length noted:
#: a 60 kB word quoted in an answer would otherwise fill the screen.
SHOWN_CHARS = 200


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text``, or its first ``limit`` characters and a note of its full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def clipped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ``…`` marking the cut: for a narrow space."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record_text(record: Record) -> str:
    """The one line a person reads for ``record``; long values are shortened."""
    if isinstance(record, Reply):
        return printable(shorten(message_text(record.value)))
    if isinstance(record, Failure):
        return printable(f"error: {shorten(record.error)}")
    if isinstance(record, Started):
        return printable(f"on start: state: {shown_value(record.state)}, pid: {record.pid}")
    if isinstance(record, Ended):
        why = f" ({record.reason})" if record.reason else ""
        return printable(f"on end: state: {shown_value(record.state)}, pid: {record.pid}{why}")
    return printable(f"died: {shorten(record.reason)}")


def shown_value(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A state as a person reads it, its type visible (:func:`value_text`), shortened."""
    return shorten(value_text(value), limit)
