"""The messages: parsing a typed line, and the one line a person reads for a record."""

from __future__ import annotations

import pickle
import unicodedata
import warnings
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from doer.base.protocol import (
    MAX_LINE_CHARS,
    OLDEST_PENDING,
    Control,
    Died,
    Ended,
    Failure,
    Note,
    ParseError,
    Record,
    Reply,
    Request,
    Started,
    message_summary,
    message_text,
    parse_line,
    printable,
    safe_repr,
)
from doer.console.render import SHOWN_CHARS, clipped, record_text, shown_value

# --- parse_line --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ping", "ping"),
        ("exit", "exit"),
        ("set-state", "set-state"),
        ("'set state'", "set state"),
        ("  ping  ", "ping"),
    ],
)
def test_one_word_is_sent_as_a_string(line: str, message: str) -> None:
    assert parse_line(line) == message


def test_one_word_that_is_a_python_literal_is_sent_as_that_value() -> None:
    assert parse_line("42") == 42
    assert parse_line("None") is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("set-state hola!", ("set-state", "hola!")),
        ("set-state 42", ("set-state", 42)),
        ("set-state -1.5", ("set-state", -1.5)),
        ("set-state None", ("set-state", None)),
        ("set-state [1, 2]", ("set-state", [1, 2])),
        ("set-state {'a': 1}", ("set-state", {"a": 1})),
        ("set-state 'a b'", ("set-state", "a b")),
        ('set-state "a b"', ("set-state", "a b")),
        ("set-state a\\ b", ("set-state", "a b")),
        ("set-state '42'", ("set-state", "42")),
        ("   set-state    hola!   ", ("set-state", "hola!")),
        ("set-state #1", ("set-state", "#1")),
        ("'set state' 1", ("set state", 1)),
        ("sleep 0.5", ("sleep", 0.5)),
    ],
)
def test_an_action_and_a_value_are_sent_as_a_pair(line: str, message: tuple[Any, ...]) -> None:
    assert parse_line(line) == message


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("add 1 2", ("add", 1, 2)),
        ("greet hola amigo", ("greet", "hola", "amigo")),
        ("mix 1 two [3]", ("mix", 1, "two", [3])),
        ("quoted 'a b' c", ("quoted", "a b", "c")),
    ],
)
def test_several_values_after_the_action_make_a_longer_tuple(
    line: str, message: tuple[Any, ...]
) -> None:
    assert parse_line(line) == message


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("set-state 'hola", "cannot split the line: no closing quotation"),
        ('set-state "hola', "cannot split the line: no closing quotation"),
        ("set-state hola\\", "cannot split the line: no escaped character"),
    ],
)
def test_a_line_that_cannot_be_split_is_a_one_line_parse_error(line: str, error: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_line(line)
    assert str(raised.value) == error


@pytest.mark.parametrize("line", ["", "   ", "\t", " \t "])
def test_an_empty_line_is_a_parse_error(line: str) -> None:
    with pytest.raises(ParseError, match=r"^empty line$"):
        parse_line(line)


def test_a_line_longer_than_the_limit_is_a_parse_error_naming_the_limit() -> None:
    with pytest.raises(ParseError) as raised:
        parse_line("x" * (MAX_LINE_CHARS + 1))
    assert str(raised.value) == (
        f"line too long: {MAX_LINE_CHARS + 1:,} characters (the limit is {MAX_LINE_CHARS:,})"
    )


def test_a_line_exactly_at_the_limit_is_accepted() -> None:
    assert parse_line("x" * MAX_LINE_CHARS) == "x" * MAX_LINE_CHARS


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x 'a b' 'c d'", ("x", "a b", "c d")),
        ("set-state 'a' 'b'", ("set-state", "a", "b")),
        ("set-state \"a\" 'b'", ("set-state", "a", "b")),
    ],
)
def test_quoted_values_side_by_side_stay_separate_values(
    line: str, message: tuple[Any, ...]
) -> None:
    # Python would join them into one string ('a' 'b' == 'ab'); a person typed two.
    assert parse_line(line) == message


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("set-state 1 # note", ("set-state", 1, "#", "note")),
        ("set-state 1#2", ("set-state", "1#2")),
        ("set-state [1] #", ("set-state", [1], "#")),
        ("1#2", "1#2"),
    ],
)
def test_a_hash_is_an_ordinary_character_not_a_comment(line: str, message: Any) -> None:
    assert parse_line(line) == message


#: The characters that decide how a line parses: digits, signs, quotes, brackets,
#: dots, blanks of every kind, and letters that spell constants.
_PARSE_ALPHABET = st.sampled_from(
    [
        *"0123456789-+~.'\"\\[](){}#ej_!,:",
        " ",
        "  ",
        "\t",
        "\u3000",
        "\x85",
        "é",
        "True",
        "False",
        "None",
        "ping",
        "set-state",
        "007",
        "1e3",
        "0x1f",
        "inf",
    ]
)


@given(st.lists(_PARSE_ALPHABET, max_size=8).map("".join))
@example("42 7")
@example("-0")
@example("007")
@example("set-state True")
@example("set-state -True")
@example("x\u3000y")
@example("True,")
@example("set-state None,False")
def test_the_quick_parse_of_common_lines_agrees_with_the_full_rules(line: str) -> None:
    from doer.base.protocol import _NOT_QUICK, _parse_fully, _parse_quickly

    quick = _parse_quickly(line)
    if quick is _NOT_QUICK:
        return
    assert quick == _parse_fully(line) and type(quick) is type(_parse_fully(line)), line


@pytest.mark.parametrize("line", ["ping", "set-state 42", "set-state hola!", "exit", "sleep 2"])
def test_the_common_lines_take_the_quick_parse(line: str) -> None:
    from doer.base.protocol import _NOT_QUICK, _parse_quickly

    assert _parse_quickly(line) is not _NOT_QUICK


def test_a_parse_error_is_a_value_error() -> None:
    assert issubclass(ParseError, ValueError)


def test_a_value_with_an_invalid_escape_is_parsed_without_printing_a_warning() -> None:
    # On Python 3.12+ the compiler prints a SyntaxWarning for '\d' straight to
    # stderr, which would write over the prompt.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        message = parse_line("set-state '\\d'")
    assert message == ("set-state", "\\d")
    assert [str(warning.message) for warning in caught] == []


# --- printable, message_text, and record_text (doer.console.render) --------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text", "plain text"),
        ("héllo ñ 日本語 🎉", "héllo ñ 日本語 🎉"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("nul\x00here", "nul\\x00here"),
        ("tab\there", "tab\\there"),
        ("two\nlines", "two\\nlines"),
        ("carriage\rreturn", "carriage\\rreturn"),
        ("del\x7f", "del\\x7f"),
        ("bell\x07", "bell\\x07"),
        ("next line\x85", "next line\\x85"),
        ("line\u2028separator", "line\\u2028separator"),
        ("lone \udcff surrogate", "lone \\udcff surrogate"),
        ("no-break\u00a0space", "no-break\u00a0space"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_message_text_shows_strings_bare_and_anything_else_as_its_repr() -> None:
    assert message_text("hola!") == "hola!"
    assert message_text(42) == "42"
    assert message_text([1, "a"]) == "[1, 'a']"
    assert message_text(("set-state", "a b")) == "('set-state', 'a b')"


@pytest.mark.parametrize(
    ("message", "summary"),
    [
        ("ping", "ping"),
        (("sleep", 2), "sleep 2"),
        (("set-state", "hola!"), "set-state hola!"),
        (("set-state", "a b"), "set-state 'a b'"),
        (("set-state", "42"), "set-state '42'"),
        (("set-state", "1#2"), "set-state 1#2"),
        (("set-state", [1, 2]), "set-state [1, 2]"),
        (("x", "a b", "c d"), "x 'a b' 'c d'"),
        (("x", 1, "two"), "x 1 two"),
    ],
)
def test_message_summary_shows_a_message_as_it_could_be_typed_back(
    message: Any, summary: str
) -> None:
    assert message_summary(message) == summary
    assert parse_line(summary) == message


def test_message_summary_cuts_a_long_message_with_an_ellipsis() -> None:
    summary = message_summary(("set-state", "x" * 100))

    assert len(summary) == 60
    assert summary.startswith("set-state xxx")
    assert summary.endswith("…")


STARTED = Started("process", 4321, 1234, "MainThread", 99, "spawn", 42)


@pytest.mark.parametrize(
    ("record", "line"),
    [
        (Reply(1, "pong"), "pong"),
        (Reply(2, "new state: hola!", ("hola!",)), "new state: hola!"),
        (Reply(3, [1, 2]), "[1, 2]"),
        (Reply(4, "evil\x1b[31m\nreply"), "evil\\x1b[31m\\nreply"),
        (Failure(5, "ValueError: no"), "error: ValueError: no"),
        (Failure(OLDEST_PENDING, "could not read"), "error: could not read"),
        (STARTED, "on start: state: 42, pid: 4321"),
        (STARTED._replace(state="hola!"), "on start: state: hola!, pid: 4321"),
        (Ended(6, "hola!", 4321), "on end: state: hola!, pid: 4321"),
        (
            Ended(0, 42, 4321, "the console went away"),
            "on end: state: 42, pid: 4321 (the console went away)",
        ),
        (Ended(0, [1], 4321), "on end: state: [1], pid: 4321"),
        (Died("killed by SIGKILL"), "died: killed by SIGKILL"),
        # Long values are cut where a person reads them, with their full length.
        (
            Reply(7, "unknown message " + "x" * 60_000),
            "unknown message " + "x" * (SHOWN_CHARS - 16) + "… (60,016 characters)",
        ),
        (Failure(8, "e" * 1000), "error: " + "e" * SHOWN_CHARS + "… (1,000 characters)"),
        (
            STARTED._replace(state="s" * 300),
            f"on start: state: {'s' * 200}… (300 characters), pid: 4321",
        ),
        (Ended(9, "s" * 300, 4321), f"on end: state: {'s' * 200}… (300 characters), pid: 4321"),
    ],
)
def test_record_text_gives_the_one_line_a_person_reads(record: Record, line: str) -> None:
    assert record_text(record) == line


def test_a_whoami_answer_and_a_value_at_the_limit_are_shown_whole() -> None:
    whoami = "pid 4242, ppid 4241, MainThread 4242, by forkserver, GIL on"
    assert record_text(Reply(1, whoami)) == whoami
    assert record_text(Reply(2, "x" * SHOWN_CHARS)) == "x" * SHOWN_CHARS


@pytest.mark.parametrize(
    "record",
    [
        Request(1, ("set-state", "hola!")),
        Reply(1, "pong", (2,)),
        Failure(1, "no"),
        STARTED,
        Ended(1, 42, 4321, "why"),
        Died("killed by SIGKILL"),
    ],
)
def test_every_record_survives_pickling(record: Any) -> None:
    assert pickle.loads(pickle.dumps(record)) == record


# --- properties ----------------------------------------------------------------

#: Every Unicode category, surrogates and unassigned code points included.
ANY_CHARACTER = st.characters(exclude_categories=())
#: The characters that shlex and literal_eval care about, drawn more often.
TRICKY_CHARACTER = st.sampled_from(list(" \t\n\r\x00\x1b'\"\\#[](){},:;-.0123456789eEjx_ "))
LINE = st.text(alphabet=st.one_of(ANY_CHARACTER, TRICKY_CHARACTER), max_size=80)
#: Lines built from words, so that values and quotes land where a real line has them.
WORDS_LINE = st.lists(
    st.one_of(
        st.from_regex(r"[a-z-]{1,8}", fullmatch=True),
        st.integers().map(str),
        st.floats().map(repr),
        st.text(alphabet=TRICKY_CHARACTER, max_size=6),
        st.builds(repr, st.text(max_size=6)),
    ),
    min_size=1,
    max_size=5,
).map(" ".join)


@given(st.one_of(LINE, WORDS_LINE))
@example("set-state 'unclosed")
@example('set-state "unclosed')
@example("set-state \\")
@example("\x00")
@example("set-state '\x00'")
@example("x \udcff")
@example("set-state " + "[" * 300)
@example("set-state " + "-" * 5000 + "1")
def test_parse_line_returns_a_picklable_message_or_raises_a_one_line_parse_error(
    line: str,
) -> None:
    try:
        message = parse_line(line)
    except ParseError as exc:
        assert str(exc)
        assert "\n" not in str(exc)
    else:
        pickle.dumps(message)  # a process worker must be able to receive it


def assert_one_printable_line(text: str) -> None:
    """``text`` can go to a terminal as it is: one line, nothing the terminal would act on."""
    assert "\x1b" not in text
    assert "\n" not in text
    assert "\r" not in text
    text.encode("utf-8")  # no lone surrogates: they fail to encode
    for ch in text:
        # Spaces other than " " are not "printable" to Python, but are shown as spaces.
        assert ch.isprintable() or unicodedata.category(ch) == "Zs", repr(ch)


@given(st.text(alphabet=ANY_CHARACTER))
def test_printable_always_gives_one_printable_line(text: str) -> None:
    assert_one_printable_line(printable(text))


@given(st.text(alphabet=ANY_CHARACTER))
def test_printable_leaves_printable_text_alone(text: str) -> None:
    if text.isprintable():
        assert printable(text) == text


VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(alphabet=ANY_CHARACTER),
        st.binary(),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner)),
    max_leaves=6,
)
TEXT = st.text(alphabet=ANY_CHARACTER)
RECORDS = st.one_of(
    st.builds(Reply, st.integers(), VALUES, st.tuples(VALUES) | st.just(())),
    st.builds(Failure, st.integers(), TEXT),
    st.builds(Started, TEXT, st.integers(), st.integers(), TEXT, st.integers(), TEXT, VALUES),
    st.builds(Ended, st.integers(), VALUES, st.integers(), TEXT),
    st.builds(Died, TEXT),
)


@given(RECORDS)
def test_record_text_always_gives_one_printable_line(record: Record) -> None:
    assert_one_printable_line(record_text(record))


# --- the edges mutation testing found untested (make mutate) ----------------------


def test_printable_keeps_printable_text_of_any_script_as_it_is() -> None:
    assert printable("héllo 字 ñ — ok") == "héllo 字 ñ — ok"
    assert printable("héllo\x01字") == "héllo\\x01字", "only the unprintable one is escaped"
    assert printable("tab\there") == "tab\\there"


def test_message_summary_cuts_only_past_its_limit() -> None:
    assert message_summary("x" * 60) == "x" * 60
    assert message_summary("x" * 61) == "x" * 59 + "…"


def test_message_summary_shows_a_word_bare_whatever_letters_it_has() -> None:
    assert message_summary(("set-state", "Xavier")) == "set-state Xavier"


def test_safe_repr_names_the_type_of_a_value_it_cannot_show() -> None:
    huge = 10**5000  # repr() refuses an int of more than 4,300 digits
    assert safe_repr(huge).startswith("<int that cannot be shown: ValueError: ")


def test_shown_value_takes_the_limit_it_is_given() -> None:
    assert shown_value("x" * 30, 10) == "x" * 10 + "… (30 characters)"


def test_clipped_cuts_to_its_limit_with_an_ellipsis() -> None:
    assert clipped("abcdef", 6) == "abcdef"
    assert clipped("abcdefg", 6) == "abcde…"


# --- a process worker's frames: the format frames.py documents -----------------------


def test_a_frame_header_is_the_length_in_4_bytes_or_minus_1_and_8_bytes_from_2_gib() -> None:
    from doer.kinds.process.frames import LONG_FROM, frame_header

    assert LONG_FROM == 2**31
    assert frame_header(0) == b"\x00\x00\x00\x00"
    assert frame_header(3) == b"\x00\x00\x00\x03"
    assert frame_header(2**31 - 1) == b"\x7f\xff\xff\xff"
    assert frame_header(2**31) == b"\xff\xff\xff\xff" + b"\x00\x00\x00\x00\x80\x00\x00\x00"
    assert frame_header(2**40 + 5) == b"\xff\xff\xff\xff" + (2**40 + 5).to_bytes(8, "big")


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (Request(1, "ping"), 0),
        (Reply(1, "pong", ("s",), (1.0, 2.0)), 1),
        (Failure(2, "no"), 2),
        (Started("process", 10, 9, "MainThread", 10, "fork", 42), 3),
        (Ended(3, 42, 10, ""), 4),
        (Died("killed by SIGKILL"), 5),
        (Control("kill"), 6),
        (Note("starting"), 7),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, tuple) else str(value),
)
def test_a_record_is_its_type_s_byte_then_its_fields_as_a_plain_tuple_pickled(
    record: tuple[Any, ...], code: int
) -> None:
    from doer.kinds.process.frames import decode, encode

    data = encode(record)

    assert data == bytes((code,)) + pickle.dumps(tuple(record), pickle.HIGHEST_PROTOCOL)
    assert decode(data) == record and type(decode(data)) is type(record)


def test_frames_pass_both_ways_between_frames_py_and_a_multiprocessing_connection() -> None:
    """The headers are multiprocessing's, so either end of a pipe could be a plain
    Connection: what send_frame writes, recv_bytes reads, and what send_bytes
    writes, a FrameReader reads (a long header too, for a record of any size)."""
    import os
    from multiprocessing import Pipe

    from doer.kinds.process.frames import (
        FrameReader,
        decode,
        encode,
        frame_header,
        send_frame,
        send_frames,
    )

    reader_end, writer_end = Pipe(duplex=False)
    try:
        send_frame(writer_end, encode(Request(1, "ping")))
        send_frames(writer_end, [b"", b"x" * 20_000])  # less than a pipe holds
        assert decode(reader_end.recv_bytes()) == Request(1, "ping")
        assert reader_end.recv_bytes() == b""
        assert reader_end.recv_bytes() == b"x" * 20_000
        os.write(writer_end.fileno(), b"\xff\xff\xff\xff" + (3).to_bytes(8, "big") + b"abc")
        assert reader_end.recv_bytes() == b"abc", "a long header, read by multiprocessing"

        frames = FrameReader(reader_end)
        writer_end.send_bytes(encode(Reply(1, "pong")))
        writer_end.send_bytes(b"")
        os.write(writer_end.fileno(), frame_header(2**31)[:4] + (3).to_bytes(8, "big") + b"xyz")
        assert decode(frames.recv_bytes()) == Reply(1, "pong")
        assert frames.recv_bytes() == b""
        assert frames.recv_bytes() == b"xyz", "a long header, read by a FrameReader"
    finally:
        reader_end.close()
        writer_end.close()
