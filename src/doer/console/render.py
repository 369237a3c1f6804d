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

from doer.base.protocol import (
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

#: Each kind's colour: a worker's lines (its tag and text, see :func:`tagged`) are
#: in it, so a class tells a thread's answer from a process's at a glance. Each
#: is mid-bright, readable on a projector on a black or a white background (a
#: contrast of at least 3 to 1 with both), and none is the errors' red.
KIND_COLOURS = {
    "thread": "#0087d7",  # blue
    "process": "#af5fd7",  # purple
    "asyncio": "#00875f",  # green
    "ray": "#af8700",  # gold
}

#: The styles that shape the screen rather than colour it: kept with colour off.
#: The toolbar is reversed only as far as its text goes, not padded to the
#: terminal's width: a terminal that rewraps its lines when it gets narrower
#: would make a full-width row two, scrolling the screen up a row and the
#: prompt with it, at every resize.
LAYOUT_STYLES = {
    "bottom-toolbar": "noreverse",
    "toolbar": "reverse",
}

#: The style of each class used below, for the shell's prompt-toolkit Style.
STYLES = {
    "tag": "#5f87af",  # .timeline's labels; a line's tag is in the line's style (tagged)
    "reply": "",
    "event": "bold",  # a start or an end, in its kind's colour
    "error": "#d75f5f bold",  # red whatever the kind: an error must look like one
    # Notes and echoes in the terminal's own colour: grey italics fade on a projector.
    "note": "",
    "echo": "",
    "elided": "bold italic",  # the note that stands for the hidden part of a long line
    "prompt": "bold",
    **{f"kind-{kind}": colour for kind, colour in KIND_COLOURS.items()},
    **LAYOUT_STYLES,
}


class Summarised(Protocol):
    """A request that can name itself: ``request 3 (sleep 2)``
    (a :class:`~doer.client.worker.Pending`)."""

    def summary(self) -> str: ...


class Tagged(Protocol):
    """What a line needs to say which worker it comes from
    (a :class:`~doer.client.worker.Worker`)."""

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
        note = [(in_kind_colour("class:note", worker.kind), record.text)]
        return tagged(f"[{worker.name} {worker.kind}]", note)
    reason = getattr(record, "reason", "")
    if reason and getattr(worker, "started", True) is None and isinstance(record, Ended | Died):
        text = printable(f"error: did not start: {shorten(reason)}")
        return tagged(f"[{worker.name} {worker.kind}]", [("class:error", text)])
    style = in_kind_colour(_record_style(record), worker.kind)
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


def in_kind_colour(style: str, kind: str) -> str:
    """``style`` in the colour of a worker of ``kind`` (:data:`KIND_COLOURS`); an error
    stays in the errors' red, whatever its worker's kind."""
    return style if style == "class:error" else f"{style} class:kind-{kind}"


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
    if about is None:
        return [("class:note", printable(text))]
    line = [(in_kind_colour("class:note", about.kind), printable(text))]
    return tagged(tag(about, replaced=replaced), line)


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


#: The most characters of a state the toolbar shows, however wide the terminal.
TOOLBAR_STATE_CHARS = 16

#: The columns the toolbar and the line being typed leave free at the right
#: (the toolbar when it can): a terminal that rewraps its lines when it is made
#: narrower (tmux, most of today's) splits a row wider than its new width in
#: two, which scrolls the screen up a row and leaves a copy of the prompt; rows
#: that leave room stay as they are when the window is narrowed by that much.
RESIZE_SLACK = 10


def toolbar_text(
    worker: Tagged | None, ended: bool, state: Any, running: int, pending: int, width: int
) -> str:
    """The shell's bottom toolbar, within ``width`` columns whatever is in it.

    `` w1 process 4242 (alive) · last state: hola! · running: 2 · pending: 0 · .help ``:
    the current worker, the state it last reported (for a process, not the
    console's memory: ``.peek`` shows that), and the counts across all
    workers. The fullest form that leaves :data:`RESIZE_SLACK` columns free
    is shown, else the fullest that fits: without ``(alive)`` (an ended
    worker still says ``(ended)``) and the state shortened, then without the
    hint to ``.help``, then without the state. The worker and the counts stay.
    """
    counts = f" · running: {running} · pending: {pending}"
    value = printable(value_text(state))
    text = ""
    for room, forms in ((width - RESIZE_SLACK, 2), (width, len(_TOOLBAR_FORMS))):
        for alive, hint, fewest in _TOOLBAR_FORMS[:forms]:
            if worker is None:
                who = " no worker"
            else:
                life = " (ended)" if ended else " (alive)" if alive else ""
                who = f" {worker.name} {worker.kind} {worker.pid}{life}"
            text = who + counts + hint
            if fewest is not None and worker is not None:
                fits = min(room - len(text) - len(" · last state: "), TOOLBAR_STATE_CHARS)
                if fits < min(len(value), fewest):
                    continue
                text = f"{who} · last state: {clipped(value, fits)}{counts}{hint}"
            if len(text) <= room:
                return text
    return clipped(text, width)


#: The toolbar's forms, fullest first: with ``(alive)``, the hint, and the state
#: shortened to no fewer characters than this (None: no state).
_TOOLBAR_FORMS: list[tuple[bool, str, int | None]] = [
    (True, " · .help ", TOOLBAR_STATE_CHARS),
    (False, " · .help ", 5),
    (False, " ", 5),
    (False, " ", None),
]


def use_line(name: str, *, ended: bool) -> Fragments:
    """``.use NAME``: where bare lines go now."""
    return note_line(
        f"lines go to {name} now" + (f" (it has ended: .restart {name})" if ended else "")
    )


#: Said at ``.quit`` before the wait for the private Ray cluster to shut down.
STOPPING_RAY_CLUSTER = "stopping the private Ray cluster (a second or two)"


def stuck_text(name: str, kind: str) -> str:
    """Why a worker that would not stop is left behind, in a clause that fits its kind
    (and, after ``error: ``, 80 columns with a name of 7 characters)."""
    if kind == "asyncio":
        return f"{name} blocks its event loop: left behind, cancelled at its next await"
    return f"{name} is stuck in a handler, and a thread cannot be killed: left behind"


def late_text(pending: Summarised, timeout: float) -> str:
    """``no answer yet to request 3 (sleep 5) after 1 s``: a request past the timeout,
    still awaited (news, not an error: a long ``sleep`` is late on purpose). With a
    tag, it fits 80 columns for a 7-digit pid and a request after ``.repeat 10000``."""
    return f"no answer yet to {pending.summary()} after {timeout:g} s"


def gone_text(name: str | None = None) -> str:
    """What to do once a worker has ended: ``name`` it when there are others to tell apart."""
    if name is None:
        return "the worker has ended; .restart starts a fresh one"
    return f"{name} has ended; .restart {name} starts a fresh one"


def ended_hint(name: str | None = None) -> Fragments:
    return note_line(gone_text(name))


def status_line(
    worker: Tagged,
    alive: bool,
    state: Any,
    pending: int,
    start_method: str | None,
    *,
    ended: Ended | Died | None = None,
    width: int | None = None,
) -> Fragments:
    """One worker's line in ``.status``: ``[w1 process 4242] alive, start method spawn, ...``.

    An ended worker says how it ended (``ended``, its end record) in the words
    ``.workers`` uses: ``died: exit code 3``. Within ``width``, a long state
    is shortened (to :data:`FEWEST_STATE_CHARS` at the least), then the start
    method is left out, then a long way of dying is cut to its first word:
    :func:`worker_status` says what was left out on lines of their own.
    """
    life = "alive" if alive else ("ended" if ended is None else life_text(None, ended))
    label = tag(worker)

    def text(life: str, how: str | None, shown: str) -> str:
        method = f", start method {how}" if how else ""
        return f"{life}{method}, last state: {shown}, pending: {pending}"

    line = text(life, start_method, shown_value(state))
    if width is not None and len(label) + 1 + len(line) > width:
        brief = life.partition(":")[0]  # "died: exit code 3", then "died"
        for told, how in ((life, start_method), (life, None), (brief, None)):
            room = width - len(label) - 1 - len(text(told, how, ""))
            line = text(told, how, clipped(value_text(state), max(room, FEWEST_STATE_CHARS)))
            if len(label) + 1 + len(line) <= width:
                break
    return tagged(label, [(in_kind_colour("class:reply", worker.kind), printable(line))])


#: A state is never shortened to fewer characters than this to make a line fit.
FEWEST_STATE_CHARS = 12


def worker_status(
    worker: Listed, alive: bool, details: Sequence[str] = (), width: int = 80
) -> list[Fragments]:
    """``.status``: how a worker is, then how it runs, each line within ``width``.

    ``[p1 process 4242] alive, start method spawn, last state: hola, pending:
    2``, then what did not fit that line (a long way of dying; the start
    method), then ``ready in 14 ms, thread MainThread 4242`` (and a task's
    name), then what only its kind knows (``details``: a Ray worker's cluster
    and log file).
    """
    first = status_line(
        worker,
        alive,
        worker.state,
        worker.pending,
        worker.start_method,
        ended=worker.ended,
        width=width,
    )
    said = plain(first)
    lines = [first]
    life = life_text(worker.started, worker.ended)
    if not alive and worker.ended is not None and life not in said:
        lines.append(note_line("  " + life))
    method = "start method " in said
    lines.append(note_line("  " + how_it_runs(worker, start_method=not method)))
    return lines + [note_line("  " + detail) for detail in details]


def how_it_runs(worker: Listed, *, start_method: bool = True) -> str:
    """``start method spawn, ready in 14 ms, thread MainThread 4242``: what ``.status``
    adds to a worker's line (a task's name too, for an asyncio worker)."""
    method = worker.start_method if start_method else None
    parts = [f"start method {method}"] if method else []
    if worker.ready_after is not None:
        parts.append(f"ready in {milliseconds(worker.ready_after)}")
    started = worker.started
    if started is None:
        return ", ".join([*parts, "not started"])
    parts.append(f"thread {started.thread_name} {started.thread_id}")
    if started.task:
        parts.append(f"task {started.task}")
    return ", ".join(parts)


class Listed(Tagged, Protocol):
    """What a row of ``.workers`` shows of a worker (a :class:`~doer.client.worker.Worker`)."""

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


#: The columns of ``.workers``: what a class looks at first, then how each worker
#: runs. The thread and the task are in ``.status NAME``: with them, a row of a
#: long name and a 7-digit pid is wider than 80 columns.
WORKERS_HEADER = ("name", "kind", "pid", "status", "last state", "pending", "start", "ready")

#: The columns that give up room when a table is too wide, and the most and the
#: fewest characters each shows: a worker's state, then how it ended.
_CLIPPED_COLUMNS = {4: (16, 8), 3: (28, 12)}


def workers_table(
    rows: Sequence[tuple[Listed, bool, bool]], width: int | None = None, hidden: int = 0
) -> list[Fragments]:
    """``.workers``: a header, then a row per ``(worker, is current, is replaced)``,
    each in its worker's kind's colour, then how many ended workers are ``hidden``.

    ``start`` is a process's start method, ``ready`` the time from asking for
    the worker to its start event. Columns are one space apart, as ``ps`` has
    them. In a table wider than ``width``, how a worker ended and its state are
    cut shorter; if it is still too wide, it is printed as two or more narrower
    tables, each with the names, rather than wrapped by the terminal.
    """
    whole = [WORKERS_HEADER, *(_worker_cells(worker, replaced) for worker, _, replaced in rows)]
    widths = _fitted_widths(whole, width)
    cells = [
        tuple(clipped(cell, widths[column]) for column, cell in enumerate(row)) for row in whole
    ]
    marks = ["  ", *("* " if current else "  " for _, current, _ in rows)]
    styles = ["class:note", *(in_kind_colour("class:reply", row[0].kind) for row in rows)]
    lines: list[Fragments] = []
    for group in _column_groups(widths, width):
        for mark, row, style in zip(marks, cells, styles, strict=True):
            text = mark + " ".join(row[column].ljust(widths[column]) for column in group)
            lines.append([(style, printable(text.rstrip()))])
    if hidden:
        lines.append(note_line(hidden_text(hidden)))
    return lines


def hidden_text(hidden: int) -> str:
    """The last line of ``.workers`` when ended workers are not shown."""
    if hidden == 1:
        return "1 ended worker hidden: .workers all shows it, .workers clear forgets it"
    return f"{hidden} ended workers hidden: .workers all shows them, .workers clear forgets them"


def _fitted_widths(cells: list[tuple[str, ...]], width: int | None) -> list[int]:
    """Each column's width: as wide as its widest cell, but the clipped columns at most
    their most, and less (down to their fewest) for a table wider than ``width``."""
    widths = [max(len(row[column]) for row in cells) for column in range(len(cells[0]))]
    header = cells[0]
    for column, (most, _) in _CLIPPED_COLUMNS.items():
        widths[column] = min(widths[column], max(most, len(header[column])))
    excess = 0 if width is None else 2 + sum(widths) + len(widths) - 1 - width
    for column, (_, fewest) in _CLIPPED_COLUMNS.items():
        if excess <= 0:
            break
        given = min(excess, widths[column] - max(fewest, len(header[column])))
        if given > 0:
            widths[column] -= given
            excess -= given
    return widths


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
    ready = "-" if worker.ready_after is None else milliseconds(worker.ready_after)
    return (
        f"{worker.name} (replaced)" if replaced else worker.name,
        worker.kind,
        str(worker.pid),
        life_text(worker.started, worker.ended),
        value_text(worker.state),
        str(worker.pending),
        worker.start_method or "-",
        ready,
    )


def milliseconds(seconds: float) -> str:
    """``0.4 ms``, ``12 ms``, ``1234 ms``: a tenth of a millisecond only where it shows."""
    ms = seconds * 1000
    # Decide on the rounded value: 9.96 ms rounds to 10.0, to be shown as 10.
    return f"{ms:.1f} ms" if round(ms, 1) < 10 else f"{ms:.0f} ms"


def life_text(started: Started | None, ended: Ended | Died | None) -> str:
    """How a worker is: ``starting``, ``running``, ``ended`` or ``died: REASON``."""
    if isinstance(ended, Died):
        return f"died: {ended.reason}"
    if isinstance(ended, Ended):
        return f"ended ({ended.reason})" if ended.reason else "ended"
    return "running" if started else "starting"


#: The tag of what the console says of its own memory (``.peek``): nothing was
#: sent, and no worker spoke, so no worker's tag.
CONSOLE_TAG = "[console]"


def peek_lines(
    worker: Listed, live: bool, state: Any, counter: int, width: int = 80
) -> list[Fragments]:
    """``.peek``: what the console's own memory holds of a worker, and why.

    For a thread or a task that is the worker's live state; for a process, the
    copy the console kept when it started it, which the process's own changes
    never reach. The lines are the console's (:data:`CONSOLE_TAG`), and the
    state is cut to fit ``width``::

        [console] p1's state: None (the console's copy; p1 said 7)
        [console] counter: 0 (the console's; p1 counts its own)
    """
    name = worker.name
    if live:
        why = "live: its memory is the console's"
        counter_why = "the one the console, threads and tasks share"
    else:
        said = clipped(value_text(worker.state), 8)
        why = "the console's copy" + ("" if worker.state == state else f"; {name} said {said}")
        counter_why = f"the console's; {name} counts its own"
    room = width - len(f"{CONSOLE_TAG} {name}'s state:  ({why})")
    state_text = f"{name}'s state: {clipped(value_text(state), max(room, 8))} ({why})"
    return [
        tagged(CONSOLE_TAG, [("class:note", printable(text))])
        for text in (state_text, f"counter: {counter} ({counter_why})")
    ]


#: The widths of time one character of a timeline may stand for, in seconds: few
#: and far apart, so that runs of 1 s and of 2 s get the same scale and their
#: bars can be compared from one timeline to the next.
_STEPS = [0.01, 0.05, 0.25, 1.0, 5.0, 25.0, 100.0]

#: Eighths of a character, for the end of a bar.
_EIGHTHS = " ▏▎▍▌▋▊▉"

#: A sampled bar's characters, by the share of their time the worker was
#: running: all of it, most, about half, a little, none; then the same without
#: block characters (a plain-text handout, a terminal that cannot show them).
_SHADES = "█▓▒░·"
_PLAIN_SHADES = "#=+-."

#: The least share of a character's time each shade stands for.
_SHADE_FLOORS = (0.875, 0.625, 0.375, 0.125, 0.0)


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
    timed :class:`~doer.base.protocol.Reply` carries, on the machine's monotonic
    clock), so handlers that ran side by side overlap and handlers that took
    turns follow each other. One character is a fixed, round time (10 ms,
    50 ms, 0.25 s...), so two timelines of similar runs can be compared by eye.

    A reply whose handler sampled its progress (``work``: its ``times`` go on
    with :func:`running_shares`' samples) is drawn shaded: each character by
    the share of its time the worker was actually running (:data:`_SHADES`),
    so two threads taking turns on the GIL are two half-shaded bars over the
    same span, and two processes on two free CPUs two full ones; a legend
    line then says what the shades mean (else, that a bar is the time the
    request was handled, running or waiting). Without ``blocks`` (an output that
    cannot encode them), bars are ``#`` and shades ``#=+-.``.
    """
    labels = [f"{worker.name} {worker.kind}" for worker, _ in rows]
    label_width = max(map(len, labels), default=0) + 1
    room = max(width - label_width - 10, 10)  # the bar, then "  12.34 s"
    spans = [times for _, record in rows if (times := _span(record)) is not None]
    if not spans:
        return [note_line(f"timeline of {line}: no timed answer yet")]
    start = min(began for began, _ in spans)
    span = max(end for _, end in spans) - start
    step = next((s for s in _STEPS if span / s <= room), _STEPS[-1])
    lines = [note_line(f"timeline of {line} (one character: {_seconds(step)})")]
    for label, (_, record) in zip(labels, rows, strict=True):
        lines.append(_timeline_row(label.ljust(label_width), record, start, step, blocks))
    lines.append(note_line(" " * label_width + _axis(step, span / step)))
    sampled = any(isinstance(record, Reply) and _is_sampled(record.times) for _, record in rows)
    lines.append(note_line(_legend(blocks) if sampled else _busy_legend(blocks)))
    return lines


def _span(record: Record | None) -> tuple[float, float] | None:
    """When a timed reply's handler started and ended; None for anything else."""
    if isinstance(record, Reply) and len(record.times) >= 2:
        return record.times[0], record.times[1]
    return None


def _is_sampled(times: tuple[float, ...]) -> bool:
    """Whether ``times`` go on, after ``(started, ended)``, with samples:
    ``(began, slot, *seconds running in each slot)``."""
    return len(times) > 4


def _busy_legend(blocks: bool) -> str:
    """What an unshaded bar means: busy with the request, not necessarily running
    (a ``sleep`` waits the whole bar); only ``work`` samples how much it ran."""
    return f"{'█' if blocks else '#'} busy with the request, running or not (work shows which)"


def _legend(blocks: bool) -> str:
    """What the shades of a sampled bar mean, in one line."""
    full, most, half, little, none = list(_SHADES if blocks else _PLAIN_SHADES)
    return f"{full} running all the time, {most}{half}{little} part of it, {none} not running"


def running_shares(times: tuple[float, ...], start: float, step: float) -> list[float]:
    """The share of each character's time the worker was running, for a sampled reply.

    ``times`` are ``(started, ended, began, slot, *running)``: ``running[i]``
    is how long the handler ran in the slot that starts at ``began + i *
    slot``, spread evenly over that slot (the last one ends at ``ended``).
    Characters are ``step`` long from ``start``; the first is the one
    ``started`` falls in, the last the one ``ended`` does. A share is of the
    part of the character the handler was under way, so a bar's ends are as
    dark as its middle when it ran all the time.
    """
    started, ended, began, slot = times[:4]
    first = int((started - start) / step)
    cells = max(math.ceil((ended - start) / step) - first, 1)
    ran, spent = [0.0] * cells, [0.0] * cells

    def spread(low: float, high: float, seconds: float, into: list[float]) -> None:
        """Add ``seconds``, spread evenly over ``low`` to ``high``, to each character."""
        length = high - low
        if length <= 0:
            return
        lowest = max(int((low - start) / step) - first, 0)
        highest = min(int((high - start) / step) - first, cells - 1)
        for cell in range(lowest, highest + 1):
            cell_start = start + (first + cell) * step
            overlap = min(high, cell_start + step) - max(low, cell_start)
            if overlap > 0:
                into[cell] += seconds * overlap / length

    spread(started, ended, ended - started, spent)
    for number, seconds in enumerate(times[4:]):
        low = began + number * slot
        spread(low, min(low + slot, ended), seconds, ran)
    return [
        min(running / under_way, 1.0) if under_way > 0 else 0.0
        for running, under_way in zip(ran, spent, strict=True)
    ]


def _shaded(shares: list[float], blocks: bool) -> str:
    """One character per share: the darker, the more of its time the worker ran."""
    shades = _SHADES if blocks else _PLAIN_SHADES
    return "".join(
        shades[next(n for n, floor in enumerate(_SHADE_FLOORS) if share >= floor)]
        for share in shares
    )


def _timeline_row(
    label: str, record: Record | None, start: float, step: float, blocks: bool
) -> Fragments:
    if not isinstance(record, Reply) or len(record.times) < 2:
        why = "no answer yet" if record is None else "no time: " + record_text(record)
        return [("class:tag", label), ("class:note", clipped(why, 60))]
    began, ended = record.times[:2]
    offset, length = (began - start) / step, (ended - began) / step
    if _is_sampled(record.times):
        bar = _shaded(running_shares(record.times, start, step), blocks)
    elif blocks:  # in eighths of a character, from the first cell the bar touches
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
    """What ``.trace`` shows of one request (a :class:`~doer.client.worker.Pending`)."""

    request_id: int
    sent_at: float
    answered_at: float
    bytes_out: int | None
    bytes_back: int | None


def trace_line(worker: Listed, transport: str, pending: Traced) -> Fragments:
    """``.trace``: how one request crossed to its worker and back.

    ``Pipe: 52 B pickled out, 48 B back; 184 µs``: the request went on a
    pipe, pickled each way (a thread or a task shares the console's memory:
    nothing is pickled), and came back 184 µs after it was sent. The line
    follows the answer it traces, whose tag says which worker; which thread
    handled it, ``whoami`` and ``.status`` say: with it, a thread's line of a
    long name and a 7-digit pid would not fit 80 columns.
    """
    if pending.bytes_out is None:
        sizes = "not pickled (same memory)"
    else:
        sizes = f"{size(pending.bytes_out)} pickled out, {size(pending.bytes_back or 0)} back"
    took = max(pending.answered_at - pending.sent_at, 0.0)
    if took < 0.001:
        took_text = f"{took * 1e6:.0f} µs"
    else:
        took_text = milliseconds(took) if took < 10 else f"{took:.1f} s"
    return note_line(f"{transport}: {sizes}; {took_text}", worker)


def size(count: int) -> str:
    """``25 B``, ``1.2 kB``, ``57 kB``, ``3.4 MB``: a size in bytes, in 6 characters or so."""
    if count < 1000:
        return f"{count} B"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        value = count / scale
        if value < 999.5 or unit == "GB":
            return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def repeat_line(worker: Tagged, answers: int, errors: int, seconds: float) -> Fragments:
    """``.repeat``'s summary for one worker: ``10,000 answers in 412 ms, 24,272 per second``.

    ``seconds`` runs from the first request sent to the last answer in: what
    the worker and the queues between it and the console can carry. Errors
    are counted after the rate, or instead of it where both would not fit 80
    columns with the tag.
    """
    rate = answers / seconds if seconds > 0 else 0.0
    took = milliseconds(seconds) if seconds < 10 else f"{seconds:.1f} s"
    text = f"{answers:,} answer{'' if answers == 1 else 's'} in {took}"
    rated = f"{text}, {rate:,.0f} per second"
    if errors:
        counted = f"; {errors:,} of them errors"
        fits = len(tag(worker)) + 1 + len(rated + counted) <= 80
        rated = (rated if fits else text) + counted
    return note_line(rated, worker)


def mark_line(mark: Any) -> Fragments:
    """``.mark``: the value of the console's global, and what to do with it."""
    if mark is None:
        return note_line("mark: not set (.mark VALUE sets it; the message inherited reads it)")
    said = "mark: {}, in the console's memory (try: @all inherited)"
    return note_line(said.format(clipped(value_text(mark), 80 - len(said.format("")))))


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
