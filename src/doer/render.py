"""The lines the console prints, as styled fragments.

Both front ends print the same text: the interactive shell gives the fragments
to prompt-toolkit with their styles, plain mode joins the text and drops the
styles. Keeping the wording here means a transcript from plain mode is exactly
what a person sees at the prompt, minus the colours. No prompt-toolkit import:
a fragment is just a ``(style, text)`` pair.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, Protocol

from doer.protocol import (
    UNKNOWN_MESSAGE,
    Died,
    Ended,
    Failure,
    Note,
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
    "tag": "#5f87af",  # .timeline's labels; a line's tag is in the line's style (tagged)
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
    """The line for one record from ``worker``.

    A Ray worker's news while it starts, and the end of a worker that never
    started, are tagged without a pid: there is no worker's pid yet (a Ray
    worker's would be its driver's), nor will be.
    """
    if isinstance(record, Note):
        return tagged(f"[{worker.name} {worker.kind}]", [("class:note", record.text)])
    reason = getattr(record, "reason", "")
    if reason and getattr(worker, "started", True) is None and isinstance(record, Ended | Died):
        text = printable(f"error: did not start: {shorten(reason)}")
        return tagged(f"[{worker.name} {worker.kind}]", [("class:error", text)])
    style = _record_style(record)
    return tagged(tag(worker, replaced=replaced), [(style, record_text(record))])


def tagged(label: str, line: Fragments) -> Fragments:
    """``line`` after the tag ``label`` and a space, all three in the style of ``line``.

    The pattern a program waits for spans the tag and the text after it
    (``\\[w1 thread \\d+\\] pong``), and every change of style is an escape
    code in the bytes written, wherever it falls: a tag in a colour of its own
    puts one between ``]`` and ``pong`` (prompt-toolkit resets the style before
    the next fragment, a lone space included). So the codes go around the whole
    line, never inside it, and the pattern matches with colour on.
    """
    style = line[0][0] if line else ""
    return [(style, label + " "), *line]


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
        type(record) is Reply
        and type(record.value) is str
        and (record.value.startswith(UNKNOWN_MESSAGE))
    )


def _record_style(record: Record) -> str:
    if isinstance(record, Reply):
        return "class:reply"
    if isinstance(record, Started | Ended):
        return "class:event"
    if isinstance(record, Failure | Died):
        return "class:error"
    if isinstance(record, Note):
        return "class:note"
    return "class:reply"


def creating_line() -> Fragments:
    """The recipe's first line, with the console's own pid."""
    return [("class:note", f"creating doer from process {os.getpid()}")]


def error_line(text: str, about: Tagged | None = None, *, replaced: bool = False) -> Fragments:
    """A one-line error from the console itself (not from a worker), tagged with the
    worker it is ``about``, if any."""
    line = [("class:error", "error: " + printable(shorten(text)))]
    return line if about is None else tagged(tag(about, replaced=replaced), line)


def note_line(text: str, about: Tagged | None = None, *, replaced: bool = False) -> Fragments:
    """A line of news from the console (not an error), tagged with the worker it is
    ``about``, if any."""
    line = [("class:note", printable(text))]
    return line if about is None else tagged(tag(about, replaced=replaced), line)


def echo_line(line: str) -> Fragments:
    """Plain mode's echo of an input line: ``> ping`` (a long line is shortened)."""
    return [("class:echo", "> " + printable(shorten(line)))]


def failed_text(command: str, error: Exception) -> str:
    """A command that failed in a way doer did not foresee: said in one line, not a traceback."""
    return f"{command} failed: {type(error).__name__}: {error} (a bug of doer's; please report it)"


def kill_lines(name: str, kind: str) -> list[Fragments]:
    """What ``.kill`` says of a worker of ``kind``: a process's death speaks for itself."""
    if kind == "thread":
        return [note_line(f"{name} goes on: Python cannot kill a thread from outside")]
    if kind == "asyncio":
        return [note_line(f"{name}'s task is cancelled: it ends at its next await")]
    return []


def use_line(name: str, *, ended: bool) -> Fragments:
    """``.use NAME``: where bare lines go now."""
    return note_line(
        f"lines go to {name} now" + (f" (it has ended: .restart {name})" if ended else "")
    )


#: Said at ``.quit`` before the wait for the private Ray cluster to shut down.
STOPPING_RAY_CLUSTER = "stopping the private Ray cluster (a second or two)"


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
    return tagged(tag(worker), [("class:reply", printable(text))])


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


def peek_lines(worker: Listed, live: bool, state: Any, counter: int) -> list[Fragments]:
    """``.peek``: what the console's own memory holds of a worker, and why.

    For a thread or a task that is the worker's live state; for a process, the
    copy the console kept when it started it, which the process's own changes
    never reach.
    """
    state_text = f"state: {shown_value(state, 40)}"
    if live:
        state_text += " (live: its memory is the console's)"
        counter_text = f"counter: {counter} (the one the console, threads and tasks share)"
    else:
        said = "" if worker.state == state else f"; it said {shown_value(worker.state, 20)}"
        state_text += f" (the console's copy from the start{said})"
        counter_text = f"counter: {counter} (the console's; the process counts its own)"
    return [note_line(state_text, worker), note_line(counter_text, worker)]


#: The widths of time one character of a timeline may stand for, in seconds: few
#: and far apart, so that runs of 1 s and of 2 s get the same scale and their
#: bars can be compared from one timeline to the next.
_STEPS = [0.01, 0.05, 0.25, 1.0, 5.0, 25.0, 100.0]

#: Eighths of a character, for the end of a bar.
_EIGHTHS = " ▏▎▍▌▋▊▉"


def timeline_lines(
    line: str,
    rows: Sequence[tuple[Tagged, Record | None]],
    width: int = 80,
    *,
    blocks: bool = True,
) -> list[Fragments]:
    """``.timeline``: when each worker's handler ran, on one time axis.

    ``rows`` pair each worker a line went to with its answer (None: not yet).
    Bars start where the handler started and end where it ended (the times a
    timed :class:`~doer.protocol.Reply` carries, on the machine's monotonic
    clock), so handlers that ran side by side overlap and handlers that took
    turns follow each other. One character is a fixed, round time (10 ms,
    50 ms, 0.25 s...), so two timelines of similar runs can be compared by eye.
    Without ``blocks`` (an output that cannot encode them), bars are ``#``.
    """
    labels = [f"{worker.name} {worker.kind}" for worker, _ in rows]
    label_width = max(map(len, labels), default=0) + 1
    room = max(width - label_width - 10, 10)  # the bar, then "  12.34 s"
    spans = [
        record.times for _, record in rows if isinstance(record, Reply) and len(record.times) == 2
    ]
    if not spans:
        return [note_line(f"timeline of {line}: no timed answer yet")]
    start = min(began for began, _ in spans)
    span = max(end for _, end in spans) - start
    step = next((s for s in _STEPS if span / s <= room), _STEPS[-1])
    lines = [note_line(f"timeline of {line} (one character: {_seconds(step)})")]
    for label, (_, record) in zip(labels, rows, strict=True):
        lines.append(_timeline_row(label.ljust(label_width), record, start, step, blocks))
    lines.append(note_line(" " * label_width + _axis(step, span / step)))
    return lines


def _timeline_row(
    label: str, record: Record | None, start: float, step: float, blocks: bool
) -> Fragments:
    if not isinstance(record, Reply) or len(record.times) != 2:
        why = "no answer yet" if record is None else "no time: " + record_text(record)
        return [("class:tag", label), ("class:note", clipped(why, 60))]
    began, ended = record.times
    offset, length = (began - start) / step, (ended - began) / step
    if blocks:  # in eighths of a character, from the first cell the bar touches
        eighths = round((offset % 1 + length) * 8)
        bar = "█" * (eighths // 8) + _EIGHTHS[eighths % 8].strip()
    else:
        bar = "#" * round(offset % 1 + length)
    took = ended - began
    took_text = milliseconds(took) if took < 1 else f"{took:.2f} s"
    return [
        ("class:tag", label),
        ("class:event", " " * int(offset) + (bar or ("▏" if blocks else "|"))),
        ("", f"  {took_text}"),
    ]


def _axis(step: float, length: float) -> str:
    """Tick labels under bars of up to ``length`` characters, 10 characters apart."""
    axis, tick = "", step * 10
    for number in range(math.ceil(length / 10) + 1):
        axis = axis.ljust(number * 10) + f"{number * tick:g} s"
    return axis


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:g} ms" if seconds < 1 else f"{seconds:g} s"


class Traced(Protocol):
    """What ``.trace`` shows of one request (a :class:`~doer.client.Pending`)."""

    request_id: int
    sent_at: float
    answered_at: float
    bytes_out: int | None
    bytes_back: int | None


def trace_line(worker: Listed, transport: str, pending: Traced) -> Fragments:
    """``.trace``: how one request crossed to its worker and back.

    ``#3 Pipe: 52 B pickled out, 48 B back; MainThread; 184 µs``: request 3
    went on a pipe, pickled each way (a thread or a task shares the console's
    memory: nothing is pickled), was handled in the thread named (the tag says
    which pid), and came back 184 µs after it was sent.
    """
    if pending.bytes_out is None:
        sizes = "not pickled (same memory)"
    else:
        sizes = f"{pending.bytes_out} B pickled out, {pending.bytes_back or 0} B back"
    thread = worker.started.thread_name if worker.started else "?"
    took = max(pending.answered_at - pending.sent_at, 0.0)
    took_text = f"{took * 1e6:.0f} µs" if took < 0.001 else milliseconds(took)
    return note_line(f"#{pending.request_id} {transport}: {sizes}; {thread}; {took_text}", worker)


def repeat_line(worker: Tagged, answers: int, errors: int, seconds: float) -> Fragments:
    """``.repeat``'s summary for one worker: ``10,000 answers in 412 ms, 24,272 per second``.

    ``seconds`` runs from the first request sent to the last answer in: what
    the worker and the queues between it and the console can carry.
    """
    rate = answers / seconds if seconds > 0 else 0.0
    took = milliseconds(seconds) if seconds < 10 else f"{seconds:.1f} s"
    text = f"{answers:,} answer{'' if answers == 1 else 's'} in {took}, {rate:,.0f} per second"
    if errors:
        text += f"; {errors:,} of them errors"
    return note_line(text, worker)


def mark_line(mark: Any) -> Fragments:
    """``.mark``: the value of the console's global, and what to do with it."""
    if mark is None:
        return note_line("mark: not set (.mark VALUE sets it; the message inherited reads it)")
    return note_line(
        f"mark: {shown_value(mark, 40)}, in the console's memory (try: @all inherited)"
    )


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
        # A Ray actor's host, for a line of 80 columns (whoami says its node too).
        node = f", on {record.node.partition(' on ')[2]}" if record.node else ""
        return printable(f"on start: state: {shown_value(record.state)}, pid: {record.pid}{node}")
    if isinstance(record, Note):
        return printable(record.text)
    if isinstance(record, Ended):
        why = f" ({record.reason})" if record.reason else ""
        return printable(f"on end: state: {shown_value(record.state)}, pid: {record.pid}{why}")
    return printable(f"died: {shorten(record.reason)}")


def shown_value(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A state as a person reads it, its type visible (:func:`value_text`), shortened."""
    return shorten(value_text(value), limit)
