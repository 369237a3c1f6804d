"""A printed line as styled fragments: the styles, the worker's tag, the console's
own notes and errors, and text cut to fit.

A fragment is a ``(style, text)`` pair: the shell hands the fragments to
prompt-toolkit with their styles, plain mode joins their text
(:func:`unstyled`). No prompt-toolkit import.
"""

from __future__ import annotations

import os
from typing import NamedTuple, Protocol

from doer.base.protocol import printable

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
    "interpreter": "#d75f00",  # orange
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


class Tagged(Protocol):
    """What a line needs to say which worker it comes from
    (a :class:`~doer.client.worker.Worker`)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def pid(self) -> int: ...


class AsItWas(NamedTuple):
    """A worker as a line about its past tags it: a restarted worker's lines from
    before its restart keep the pid it had then (a :class:`Tagged`)."""

    name: str
    kind: str
    pid: int
    started: object


def tag(worker: Tagged, *, replaced: bool = False) -> str:
    """How a line says which worker it comes from: ``[w1 process 4242]``.

    A worker that was replaced but still talks (a thread stuck in a handler is
    left behind, and answers when it is done) says so: ``[w1 (replaced) thread
    4242]``. A thread's pid is the console's, the same as its successor's:
    without the word, a class would take the old worker's lines for the new one's.
    """
    name = f"{worker.name} (replaced)" if replaced else worker.name
    return f"[{name} {worker.kind} {worker.pid}]"


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


def creating_line() -> Fragments:
    """The console's first line: the pid of the process that starts the workers, which
    ``whoami`` and the start lines compare theirs with."""
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
    """A typed line as the transcript shows it: ``> ping`` (a long line is shortened)."""
    return [("class:echo", "> " + printable(shorten(line)))]


def unstyled(fragments: Fragments) -> str:
    """The text of ``fragments``, their styles dropped: what plain output and
    ``.save`` write, and what tests compare."""
    return "".join(text for _, text in fragments)


#: A value longer than this is cut where a person reads it, with its full length noted:
#: a 60 kB word quoted in an answer would otherwise fill the screen.
SHOWN_CHARS = 200


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text``, or its first ``limit`` characters and a note of its full length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


#: The width a line is made to fit when nothing says how wide the screen is: a
#: projector's, and a terminal's by default.
SCREEN_COLUMNS = 80


def clipped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ``…`` marking the cut: for a narrow space."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
