"""Figures of time and size: ``.timeline``'s bars, ``.trace``'s crossing, ``.repeat``'s
rate, and how a duration or a size is written."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from doer.base.protocol import Record, Reply
from doer.console.render.fragments import Fragments, Tagged, clipped, note_line, tag
from doer.console.render.records import record_text


def milliseconds(seconds: float) -> str:
    """``0.4 ms``, ``12 ms``, ``1234 ms``: a tenth of a millisecond only where it shows."""
    ms = seconds * 1000
    # Decide on the rounded value: 9.96 ms rounds to 10.0, to be shown as 10.
    return f"{ms:.1f} ms" if round(ms, 1) < 10 else f"{ms:.0f} ms"


def size(count: int) -> str:
    """``25 B``, ``1.2 kB``, ``57 kB``, ``3.4 MB``: a size in bytes, in 6 characters or so."""
    if count < 1000:
        return f"{count} B"
    for unit, scale in (("kB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        value = count / scale
        if value < 999.5 or unit == "GB":
            return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


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


def trace_line(worker: Tagged, transport: str, pending: Traced) -> Fragments:
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
