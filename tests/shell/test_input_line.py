"""The line being typed: bounded at the protocol's limit, cheap to grow, short to draw.

The shell is driven in-process through a pipe (see ``support.shell_helpers``); the
view of a long line is checked on its own, position by position.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prompt_toolkit.application.current import set_app
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.key_binding.defaults import load_key_bindings
from prompt_toolkit.keys import Keys

from doer.base.protocol import MAX_LINE_CHARS
from doer.frontends.shell.input_line import (
    SHOWN_AROUND,
    SHOWN_HEAD,
    SHOWN_WHOLE,
    UNDO_STEPS,
    Elision,
    LineLimit,
    is_plain_character,
)
from support.shell_helpers import Driven, driven_shell

TOO_LONG = "line too long: 65,536 characters at most"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


def letters(count: int) -> str:
    """``count`` characters where no two neighbours are alike (each would be an undo step)."""
    return ("abcdefghij" * (count // 10 + 1))[:count]


def record_longest_text(d: Driven) -> list[int]:
    """The longest text the prompt's buffer is seen to hold, by any later listener."""
    longest = [0]

    def changed(buffer: Buffer) -> None:
        longest[0] = max(longest[0], len(buffer.text))

    d.shell.session.default_buffer.on_text_changed += changed
    return longest


# --- a bounded line -----------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        # Half again the limit: over 30,000 keys past it, each of which must be refused.
        pytest.param(letters(100_000), id="100 kB typed without bracketed paste"),
        pytest.param(PASTE_START + letters(1_000_000) + PASTE_END, id="1 MB bracketed paste"),
    ],
)
async def test_the_buffer_never_holds_more_than_the_limit(how: str) -> None:
    async with driven_shell("thread") as d:
        longest = record_longest_text(d)
        await d.type_in_chunks(how)
        await d.wait_for_text(TOO_LONG)
        assert d.shell.session.default_buffer.text == letters(MAX_LINE_CHARS)
        assert longest[0] == MAX_LINE_CHARS


async def test_too_long_is_said_once_per_line_and_a_line_at_the_limit_is_sent() -> None:
    async with driven_shell("thread") as d:
        # Pasted up to near the limit (quick), then typed across it: thousands of keys
        # refused in many runs, and one notice for all of them.
        near = MAX_LINE_CHARS - 5_000
        await d.type_in_chunks(PASTE_START + letters(near) + PASTE_END)
        await d.type_in_chunks(letters(MAX_LINE_CHARS + 10_000)[near:])
        await d.type_in_chunks("more keys, one by one")
        await d.type_in_chunks(PASTE_START + "and a paste" + PASTE_END)
        await d.wait_for_text(TOO_LONG)
        d.type("\r")
        end = await d.wait_for_text(f"unknown message {letters(100)}")
        await d.wait_for_text(f"… ({len('unknown message ') + MAX_LINE_CHARS:,} characters)", end)
        assert d.text().count(TOO_LONG) == 1
        # A new line: the notice is given again, once.
        await d.type_in_chunks(PASTE_START + letters(MAX_LINE_CHARS + 1) + PASTE_END)
        await d.wait_for(lambda: d.text().count(TOO_LONG) == 2, "a second notice")
        d.type("\x03")  # Ctrl-C clears the line
        d.type("ping\r")
        await d.wait_for_text("pong")
        assert d.text().count(TOO_LONG) == 2


async def test_text_past_the_limit_is_cut_from_what_was_inserted_not_from_what_was_there() -> None:
    async with driven_shell("thread") as d:
        await d.type_in_chunks("the end")
        d.type("\x01")  # Ctrl-A: to the start of the line
        await d.type_in_chunks(PASTE_START + "x" * 100_000 + PASTE_END)
        await d.wait_for_text(TOO_LONG)
        text = d.shell.session.default_buffer.text
        assert text == "x" * (MAX_LINE_CHARS - len("the end")) + "the end"
        assert d.shell.session.default_buffer.cursor_position == MAX_LINE_CHARS - len("the end")


async def test_a_history_entry_longer_than_the_limit_is_cut_when_recalled() -> None:
    history = InMemoryHistory()
    entry = "set-state " + "h" * 100_000  # written by a version without the limit, say
    history.append_string(entry)
    async with driven_shell("thread", history=history) as d:
        d.type("\x1b[A")  # Up: the entry replaces the line, with the cursor at its start
        await d.wait_for_text(TOO_LONG)
        assert d.shell.session.default_buffer.text == entry[:MAX_LINE_CHARS], "its end is cut"


@pytest.mark.parametrize(
    ("typed", "kept", "told"),
    [
        pytest.param(MAX_LINE_CHARS, MAX_LINE_CHARS, False, id="exactly the limit"),
        pytest.param(MAX_LINE_CHARS + 1, MAX_LINE_CHARS, True, id="one past the limit"),
    ],
)
def test_a_line_is_refused_only_past_the_limit_not_at_it(typed: int, kept: int, told: bool) -> None:
    """The limit is the most a line may hold: a line of exactly that many characters
    is whole, and "line too long" would be a false alarm; one more is cut and told."""
    buffer = Buffer()
    refusals: list[None] = []
    LineLimit(buffer, MAX_LINE_CHARS, on_refused=lambda: refusals.append(None))
    buffer.insert_text(letters(typed))
    assert buffer.text == letters(kept)
    assert buffer.cursor_position == kept
    assert len(refusals) == (1 if told else 0)


def test_the_undo_history_keeps_the_newest_steps_only() -> None:
    buffer = Buffer()
    LineLimit(buffer, MAX_LINE_CHARS, on_refused=lambda: None)
    for i in range(UNDO_STEPS * 5):
        buffer.save_to_undo_stack()
        buffer.insert_text(str(i % 10))
    assert len(buffer._undo_stack) <= UNDO_STEPS
    before = buffer.text
    buffer.undo()
    assert buffer.text == before[:-1], "undo still takes back the last step"


# --- bulk typing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "data", "plain"),
    [
        ("a", "a", True),
        (" ", " ", True),
        ("é", "é", True),
        ("字", "字", True),
        (Keys.ControlM, "\r", False),
        (Keys.Escape, "\x1b", False),
        (Keys.BracketedPaste, "text", False),
        (Keys.CPRResponse, "\x1b[1;1R", False),
        ("\x7f", "\x7f", False),
    ],
)
def test_only_printable_character_keys_are_typed_in_bulk(key: str, data: str, plain: bool) -> None:
    assert is_plain_character(key, data) is plain


async def test_no_key_binding_of_the_shell_begins_with_a_printable_character() -> None:
    """Why typing a run of characters in one go changes nothing but speed.

    If a binding began with a printable character and applied at the prompt,
    the key processor would treat that character on its own, and taking it in
    a run would skip that binding.
    """
    async with driven_shell("thread") as d:
        app = d.shell.session.app
        bindings = [*load_key_bindings().bindings, *app.key_bindings.bindings]
        starting_with_a_character = [
            binding
            for binding in bindings
            if type(binding.keys[0]) is str and len(binding.keys[0]) == 1
        ]
        assert starting_with_a_character, "vi's bindings begin with characters: they must be seen"
        with set_app(app):
            active = [b for b in starting_with_a_character if b.filter()]
        assert active == [], [b.keys for b in active]


async def test_typed_characters_mixed_with_keys_arrive_as_typed() -> None:
    async with driven_shell("thread") as d:
        # An arrow key and a backspace among the characters, all read in one go.
        d.type("pig\x1b[Dn\x1b[Cx\x7f\r")
        await d.wait_for_text("pong")


# --- the view of a long line ----------------------------------------------------------


def shown_text(view: Elision, line: str) -> str:
    return "".join(text for _, text in view.apply([("", line)]))


@given(
    length=st.integers(SHOWN_WHOLE + 1, 200_000),
    where=st.floats(0, 1),
)
def test_a_long_line_is_shown_as_its_start_and_the_text_around_the_cursor(
    length: int, where: float
) -> None:
    line = "".join(chr(0x4E00 + i % 20_000) for i in range(length))  # every character differs
    cursor = round(where * length)
    view = Elision.around(length, cursor)
    shown = shown_text(view, line)

    assert len(shown) <= SHOWN_HEAD + SHOWN_AROUND + len(view.before) + len(view.after)
    assert shown.startswith(line[: max(view.head, 1)])
    hidden = (view.start - view.head) + (length - view.end)
    assert hidden == length - SHOWN_HEAD - SHOWN_AROUND or view.head == 0
    # The cursor is drawn where it is, inside the shown text, not in a note.
    assert view.to_source(view.to_shown(cursor)) == cursor
    assert view.start <= cursor <= view.end or cursor < view.head
    # Every character shown maps back to itself.
    for position in (*range(view.head), *range(view.start, view.end)):
        shown_at = view.to_shown(position)
        assert shown[shown_at] == line[position]
        assert view.to_source(shown_at) == position


def test_the_notes_say_how_many_characters_are_hidden() -> None:
    view = Elision.around(100_000, 50_000)
    shown = shown_text(view, letters(100_000))
    assert f"…({view.start - SHOWN_HEAD:,} characters)…" in shown
    assert shown.endswith(f"…({100_000 - view.end:,} characters)…")
    at_the_end = Elision.around(100_000, 100_000)
    assert at_the_end.after == "", "nothing is hidden after a cursor at the end"


def test_styles_are_kept_in_the_shown_parts() -> None:
    view = Elision.around(10_000, 10_000)
    fragments = [("class:a", "a" * 5_000), ("class:b", "b" * 5_000)]
    shown = view.apply(fragments)
    assert shown[0] == ("class:a", "a" * SHOWN_HEAD)
    assert shown[-1] == ("class:b", "b" * SHOWN_AROUND)
