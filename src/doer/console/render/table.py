"""``.workers``: a row a worker, in columns that fit the screen."""

from __future__ import annotations

from collections.abc import Sequence

from doer.base.protocol import printable, value_text
from doer.console.render.fragments import Fragments, clipped, in_kind_colour, note_line
from doer.console.render.status import Listed, life_text
from doer.console.render.timing import milliseconds

#: The columns of ``.workers``: what a class looks at first, then how each worker
#: runs. The thread and the task are in ``.status NAME``: with them, a row of a
#: long name and a 7-digit pid is wider than 80 columns.
WORKERS_HEADER = ("name", "kind", "pid", "status", "last state", "pending", "start", "ready")
#: The column added when a worker has a restart policy: its restarts, and the policy.
RESTARTS_HEADER = "restarts"

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
    if any(worker.restart_policy.supervised for worker, _, _ in rows):
        whole = [
            (*row, cell)
            for row, cell in zip(
                whole, [RESTARTS_HEADER, *(_restarts_cell(w) for w, _, _ in rows)], strict=True
            )
        ]
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


def _restarts_cell(worker: Listed) -> str:
    """``2 (on-failure)``: how many restarts, under which policy; ``-``: never."""
    policy = worker.restart_policy
    return f"{len(worker.restarts)} ({policy.when})" if policy.supervised else "-"


def pending_text(worker: Listed) -> str:
    """How many requests wait for an answer: ``3``, or ``3/5`` in a mailbox of 5."""
    mailbox = worker.mailbox
    return str(worker.pending) if mailbox is None else f"{worker.pending}/{mailbox}"


def _worker_cells(worker: Listed, replaced: bool) -> tuple[str, ...]:
    ready = "-" if worker.ready_after is None else milliseconds(worker.ready_after)
    return (
        f"{worker.name} (replaced)" if replaced else worker.name,
        worker.kind,
        str(worker.pid),
        life_text(worker.started, worker.ended),
        value_text(worker.state),
        pending_text(worker),
        worker.start_method or "-",
        ready,
    )
