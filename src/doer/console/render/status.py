"""How a worker is, in a line or a few: ``.status``, the shell's toolbar, ``.peek``
and ``.mark`` (what the console's own memory holds)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from doer.base.protocol import Died, Ended, Started, printable, value_text
from doer.client.supervision import Restart, RestartPolicy
from doer.console.render.fragments import (
    Fragments,
    Tagged,
    clipped,
    in_kind_colour,
    note_line,
    tag,
    tagged,
    unstyled,
)
from doer.console.render.records import shown_value
from doer.console.render.timing import milliseconds


class Listed(Tagged, Protocol):
    """What ``.status`` and a row of ``.workers`` show of a worker
    (a :class:`~doer.client.worker.Worker`)."""

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
    @property
    def mailbox(self) -> int | None: ...
    @property
    def restart_policy(self) -> RestartPolicy: ...
    @property
    def restarts(self) -> list[Restart]: ...
    @property
    def gave_up(self) -> str | None: ...


def life_text(started: Started | None, ended: Ended | Died | None) -> str:
    """How a worker is: ``starting``, ``running``, ``ended`` or ``died: REASON``."""
    if isinstance(ended, Died):
        return f"died: {ended.reason}"
    if isinstance(ended, Ended):
        return f"ended ({ended.reason})" if ended.reason else "ended"
    return "running" if started else "starting"


#: A state is never shortened to fewer characters than this to make a line fit.
FEWEST_STATE_CHARS = 12


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
    said = unstyled(first)
    lines = [first]
    life = life_text(worker.started, worker.ended)
    if not alive and worker.ended is not None and life not in said:
        lines.append(note_line("  " + life))
    method = "start method " in said
    lines.append(note_line("  " + how_it_runs(worker, start_method=not method)))
    lines += [note_line("  " + line) for line in restart_lines(worker)]
    return lines + [note_line("  " + detail) for detail in details]


def restart_lines(worker: Listed) -> list[str]:
    """``.status``'s lines about a supervised worker: its policy, then each of its
    restarts in order (``12:04:05 died: killed by SIGSEGV; pid 4951 -> 4954``)."""
    policy = worker.restart_policy
    if not policy.supervised:
        return []
    restarts = worker.restarts
    lines = [f"restart {policy.text()}: restarted {len(restarts)} time(s)"]
    for restart in restarts:
        when = time.strftime("%H:%M:%S", time.localtime(restart.at))
        new = restart.new_pid or "(starting)"
        lines.append(f"{when} {restart.why}; pid {restart.old_pid} -> {new}")
    if worker.gave_up is not None:
        lines.append(worker.gave_up)
    return lines


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


#: The most characters of a state the toolbar shows, however wide the terminal.
TOOLBAR_STATE_CHARS = 16

#: The columns the toolbar and the line being typed leave free at the right
#: (the toolbar when it can): a terminal that rewraps its lines when it is made
#: narrower (tmux, most of today's) splits a row wider than its new width in
#: two, which scrolls the screen up a row and leaves a copy of the prompt; rows
#: that leave room stay as they are when the window is narrowed by that much.
RESIZE_SLACK = 10


def toolbar_text(
    worker: Tagged | None,
    ended: bool,
    state: Any,
    running: int,
    pending: int,
    width: int,
    repeating: tuple[int, int] | None = None,
) -> str:
    """The shell's bottom toolbar, within ``width`` columns whatever is in it.

    `` w1 process 4242 (alive) · last state: hola! · running: 2 · pending: 0 · .help ``:
    the current worker, the state it last reported (for a process, not the
    console's memory: ``.peek`` shows that), and the counts across all
    workers; while a ``.repeat`` sends (``repeating``: its copies sent, of how
    many), `` · .repeat 12/50`` after them. The fullest form that leaves
    :data:`RESIZE_SLACK` columns free is shown, else the fullest that fits:
    without ``(alive)`` (an ended worker still says ``(ended)``) and the state
    shortened, then without the hint to ``.help``, then without the state, then
    without the ``.repeat``'s progress (whole: a number cut short would read
    as another). The worker and the counts stay.
    """
    counts = f" · running: {running} · pending: {pending}"
    value = printable(value_text(state))
    text = ""
    progress = [f" · .repeat {repeating[0]:,}/{repeating[1]:,}"] if repeating else []
    for extra in [*progress, ""]:
        shown = counts + extra
        for room, forms in ((width - RESIZE_SLACK, 2), (width, len(_TOOLBAR_FORMS))):
            for alive, hint, fewest in _TOOLBAR_FORMS[:forms]:
                form = _toolbar_form(worker, ended, alive, value, fewest, shown, hint, room)
                if form is not None:
                    text = form
                    if len(text) <= room:
                        return text
    return clipped(text, width)


def _toolbar_form(
    worker: Tagged | None,
    ended: bool,
    alive: bool,
    value: str,
    fewest: int | None,
    counts: str,
    hint: str,
    room: int,
) -> str | None:
    """One form of the toolbar (:data:`_TOOLBAR_FORMS`), for ``room`` columns (longer if
    it does not fit); None if the state would have to be shortened to fewer than
    ``fewest`` characters."""
    if worker is None:
        who = " no worker"
    else:
        life = " (ended)" if ended else " (alive)" if alive else ""
        who = f" {worker.name} {worker.kind} {worker.pid}{life}"
    text = who + counts + hint
    if fewest is not None and worker is not None:
        fits = min(room - len(text) - len(" · last state: "), TOOLBAR_STATE_CHARS)
        if fits < min(len(value), fewest):
            return None
        text = f"{who} · last state: {clipped(value, fits)}{counts}{hint}"
    return text


#: The toolbar's forms, fullest first: with ``(alive)``, the hint, and the state
#: shortened to no fewer characters than this (None: no state).
_TOOLBAR_FORMS: list[tuple[bool, str, int | None]] = [
    (True, " · .help ", TOOLBAR_STATE_CHARS),
    (False, " · .help ", 5),
    (False, " ", 5),
    (False, " ", None),
]


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
        if not getattr(worker, "own_process", True):  # the same process, not the same objects
            counter_why = f"the console's; {name}'s is in its own interpreter"
    room = width - len(f"{CONSOLE_TAG} {name}'s state:  ({why})")
    state_text = f"{name}'s state: {clipped(value_text(state), max(room, 8))} ({why})"
    return [
        tagged(CONSOLE_TAG, [("class:note", printable(text))])
        for text in (state_text, f"counter: {counter} ({counter_why})")
    ]


def mark_line(mark: Any) -> Fragments:
    """``.mark``: the value of the console's global, and what to do with it."""
    if mark is None:
        return note_line("mark: not set (.mark VALUE sets it; the message inherited reads it)")
    said = "mark: {}, in the console's memory (try: @all inherited)"
    return note_line(said.format(clipped(value_text(mark), 80 - len(said.format("")))))
