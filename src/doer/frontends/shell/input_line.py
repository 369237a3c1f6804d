"""The line being typed at the prompt: bounded in length, cheap to grow.

A line longer than the protocol's :data:`~doer.base.protocol.MAX_LINE_CHARS` can
never be sent, so the shell never holds one. Three things keep a huge paste
(or a terminal without bracketed paste, which sends a paste as keys in 512-byte
writes) from freezing the console or filling the machine's memory:

- **Bulk typing** (:func:`bulk_typing_bindings`): prompt-toolkit looks up the
  key bindings once per key, walking the whole layout each time, then inserts
  the key by copying the whole line. When the key processor already holds a
  run of plain characters, they are inserted in one go: one lookup and one
  copy per run instead of per key.
- **A length limit** (:class:`LineLimit`): after any change to the buffer
  (typing, a paste, a history entry, a yank), text past the limit is taken out
  again at once, before anything is drawn: the end of what was just inserted,
  or the end of a line that replaced the buffer. The user is told once per line.
- **A bounded undo history**: prompt-toolkit keeps a copy of the whole line for
  every undo step, and typing saves a step for almost every key: 60,000 keys
  make 60,000 copies of a line growing to 60,000 characters, 1.8 billion
  characters in all. Only the newest :data:`UNDO_STEPS` are kept.
- **A short view of a long line** (:class:`LongLineView`): prompt-toolkit
  redraws the whole line on every key, and a wrapped line costs it a call to
  the prompt's code per screen row (750 calls a key for 60,000 characters at
  80 columns). Past :data:`SHOWN_WHOLE` characters the line is drawn as its
  start, a note of how much is hidden, and the text around the cursor: every
  redraw is then as cheap as for a short line, and the screen (and the
  scrollback, once the line is sent) holds a line a person can read.

Nothing here knows about workers: the shell wires it to its prompt.
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.buffer import Buffer
from prompt_toolkit.document import Document
from prompt_toolkit.filters import emacs_insert_mode, vi_insert_mode
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout.processors import Processor, Transformation, TransformationInput

from doer.frontends.shell.screen import bound_undo_history

#: Undo steps kept per line. Each is a copy of the whole line, so with the length
#: limit this bounds the undo history to about 100 times 64 KiB characters.
UNDO_STEPS = 100


def is_plain_character(key: object, data: str) -> bool:
    """True for a key press that only stands for one printable character.

    Special keys (Enter, Ctrl-C, arrows, a CPR answer...) are members of
    :class:`~prompt_toolkit.keys.Keys`; a character key is the character itself.
    """
    return type(key) is str and len(key) == 1 and key == data and key.isprintable()


def bulk_typing_bindings() -> KeyBindings:
    """Insert a run of plain characters already read from the terminal in one go.

    This stands in for prompt-toolkit's ``self-insert`` and is equivalent to it:
    in the shell's (emacs) key bindings no binding begins with a printable
    character, so each of those keys would reach ``self-insert`` alone, one at
    a time, with nothing in between that could see the difference (a test
    checks that no such binding appears). Only the undo history differs: a run
    is undone as one step, which is what a paste should be.
    """
    bindings = KeyBindings()

    @bindings.add(Keys.Any, filter=emacs_insert_mode | vi_insert_mode)
    def _insert(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if event.arg != 1 or event.app.emacs_state.is_recording:
            # A repeat count (Esc 5 x) or a keyboard macro: exactly as self-insert.
            buffer.insert_text(event.data * event.arg)
            return
        buffer.insert_text(event.data + take_plain_characters(event))

    return bindings


def take_plain_characters(event: KeyPressEvent) -> str:
    """Take the plain characters waiting right behind this key, and return them."""
    queue = event.key_processor.input_queue
    taken = []
    while queue and is_plain_character(queue[0].key, queue[0].data):
        taken.append(queue.popleft().data)
    return "".join(taken)


class LineLimit:
    """Keeps ``buffer`` at most ``limit`` characters long, whatever changes it.

    Args:
        buffer: the prompt's buffer.
        limit: the most characters it may hold.
        on_refused: called the first time text is refused on a line (until
            :meth:`new_line` says a new line has begun).
    """

    def __init__(self, buffer: Buffer, limit: int, on_refused: Callable[[], None]) -> None:
        self.buffer = buffer
        self.limit = limit
        self.on_refused = on_refused
        self._told = False
        buffer.on_text_changed += self._text_changed

    def new_line(self) -> None:
        """A new line is being typed: a refusal will be told again."""
        self._told = False

    def _text_changed(self, buffer: Buffer) -> None:
        bound_undo_history(buffer, UNDO_STEPS)
        excess = len(buffer.text) - self.limit
        if excess <= 0:
            return
        # Text inserted at the cursor (typed, pasted, yanked) ends at the cursor,
        # and is at least as long as the excess: take out the end of it, not
        # text that was there before. Text that replaced the line (a history
        # entry, with the cursor at its start) loses its end instead.
        cursor = buffer.cursor_position
        start = cursor - excess if cursor >= excess else self.limit
        end = start + excess
        text = buffer.text
        # Setting the document fires this handler again, now within the limit.
        buffer.set_document(Document(text[:start] + text[end:], start), bypass_readonly=True)
        if not self._told:
            self._told = True
            self.on_refused()


#: Lines up to this long are drawn whole (a screen of 80 by 24 holds 1,920 characters).
SHOWN_WHOLE = 2000
#: Of a longer line: this many characters from its start...
SHOWN_HEAD = 60
#: ...and this many around the cursor, most of them before it.
SHOWN_AROUND = 1200


class LongLineView(Processor):
    """Draws a line longer than :data:`SHOWN_WHOLE` as start, ``…(N characters)…``, cursor.

    Only the drawing changes: the buffer, and what is sent, keep every character.
    """

    def apply_transformation(self, ti: TransformationInput) -> Transformation:
        fragments = ti.fragments
        length = sum(len(text) for _, text, *_ in fragments)
        if length <= SHOWN_WHOLE:
            return Transformation(fragments)
        if ti.lineno == ti.document.cursor_position_row:
            cursor = ti.source_to_display(ti.document.cursor_position_col)
        else:
            cursor = length
        view = Elision.around(length, cursor)
        return Transformation(view.apply(fragments), view.to_shown, view.to_source)


class Elision:
    """Which part of a long line is shown: ``[0, head)`` and ``[start, end)``.

    Positions are characters of the line (``source``) and of what is drawn
    (``shown``); the hidden parts are replaced by a note of their length.
    """

    def __init__(self, length: int, head: int, start: int, end: int) -> None:
        self.length, self.head, self.start, self.end = length, head, start, end
        self.before = f"…({start - head:,} characters)…" if start > head else ""
        self.after = f"…({length - end:,} characters)…" if end < length else ""

    @classmethod
    def around(cls, length: int, cursor: int) -> Elision:
        """Show the start, and :data:`SHOWN_AROUND` characters with the cursor near the end."""
        start = min(max(cursor - SHOWN_AROUND * 3 // 4, 0), length - SHOWN_AROUND)
        if start <= SHOWN_HEAD:
            return cls(length, 0, 0, SHOWN_AROUND + SHOWN_HEAD)
        return cls(length, SHOWN_HEAD, start, start + SHOWN_AROUND)

    def apply(self, fragments: StyleAndTextTuples) -> StyleAndTextTuples:
        note = "class:elided"
        shown = _slice(fragments, 0, self.head)
        if self.before:
            shown.append((note, self.before))
        shown += _slice(fragments, self.start, self.end)
        if self.after:
            shown.append((note, self.after))
        return shown

    def to_shown(self, position: int) -> int:
        """Where the character at ``position`` of the line is drawn (hidden: at its note)."""
        if position < self.head:
            return position
        if position < self.start:
            return self.head
        if position <= self.end:
            return self.head + len(self.before) + position - self.start
        return self.head + len(self.before) + self.end - self.start

    def to_source(self, position: int) -> int:
        """The character of the line drawn at ``position`` (a note: the first it hides)."""
        if position < self.head:
            return position
        if position < self.head + len(self.before):
            return self.head
        inside = position - self.head - len(self.before)
        return min(self.start + inside, self.end)


def _slice(fragments: StyleAndTextTuples, start: int, end: int) -> StyleAndTextTuples:
    """The fragments covering characters ``[start, end)`` of the line."""
    sliced: StyleAndTextTuples = []
    position = 0
    for style, text, *_ in fragments:
        following = position + len(text)
        if following > start and position < end:
            sliced.append((style, text[max(start - position, 0) : end - position]))
        if following >= end:
            break
        position = following
    return sliced
