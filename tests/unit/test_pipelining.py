"""Many messages at once: the parts that make it fast, and the guarantees they keep.

- :class:`~doer.frontends.readahead.LineSource`: lines of a stream, and whether the next
  one is there without waiting;
- :class:`~doer.kinds.process.frames.FrameReader`: a pipe's records read many at a time;
- :class:`~doer.base.handoff.Handoff`: many items for one wake-up of an event loop;
- plain mode sending lines ahead of their answers, with the transcript the
  same as one line at a time, and a program that types a line only after
  the answer to the one before still getting that answer.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import threading
from multiprocessing import Pipe
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doer.base.handoff import Handoff
from doer.console.session import Settings
from doer.frontends.plain import BUFFERED_LINES, MAX_IN_FLIGHT, SENT_TOGETHER, PlainRunner
from doer.frontends.readahead import LineSource
from doer.kinds.process.frames import FrameReader, send_frame
from support.helpers import CONSOLE_KINDS, SeesText, gate_opened_by
from support.pty_helpers import assert_no_traceback, plain_console, read_until, run_doer

# --- LineSource -----------------------------------------------------------------------


def test_a_line_source_splits_lines_and_keeps_a_last_one_without_a_newline() -> None:
    source = LineSource(io.BytesIO(b"ping\r\n\nset-state 1\nexit"))
    assert list(source) == [b"ping\r", b"", b"set-state 1", b"exit"]


class Chunks(io.RawIOBase):
    """A stream that gives its bytes in the pieces it was made of, as a pipe may."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = list(pieces)

    def read(self, size: int = -1) -> bytes:
        return self._pieces.pop(0) if self._pieces else b""


_PIECES = st.lists(st.sampled_from([b"a", b"b", b"\n"]), max_size=12).map(b"".join)


@given(st.lists(_PIECES | st.just(b"a" * 70_000), max_size=8))
def test_a_line_source_gives_the_lines_whatever_pieces_they_come_in(pieces: list[bytes]) -> None:
    """A line split over many reads (one longer than a read, too) is one line."""
    data = b"".join(pieces)
    expected = data.split(b"\n")
    if expected[-1] == b"":  # a newline at the end ends the last line; no empty one after
        expected.pop()
    assert list(LineSource(Chunks([piece for piece in pieces if piece]))) == expected


def test_a_line_source_says_whether_the_next_line_can_be_read_without_waiting() -> None:
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(read_end, "rb", buffering=0) as stream:
            source = LineSource(stream)
            assert not source.ready()  # nothing written
            os.write(write_end, b"pi")
            assert not source.ready()  # part of a line only
            os.write(write_end, b"ng\nfoo\n")
            assert source.ready()
            assert next(source) == b"ping"
            assert source.ready() and next(source) == b"foo"
            assert not source.ready()
            os.close(write_end)
            write_end = -1
            assert source.ready()  # the end is there: next() will not wait
            assert list(source) == []
    finally:
        if write_end != -1:
            os.close(write_end)


# --- FrameReader ------------------------------------------------------------------------


def test_a_frame_reader_reads_what_send_bytes_and_send_frame_wrote_in_any_pieces() -> None:
    reader_end, writer_end = Pipe(duplex=False)
    big = os.urandom(200_000)  # more than one read, and than the pipe holds
    records = [b"", b"x", b"ping" * 10, big, b"last"]
    writer = threading.Thread(
        target=lambda: [
            (writer_end.send_bytes if n % 2 else lambda d: send_frame(writer_end, d))(data)
            for n, data in enumerate(records)
        ]
    )
    writer.start()
    reader = FrameReader(reader_end)
    try:
        assert [reader.recv_bytes() for _ in records] == records
    finally:
        writer.join()
    assert not reader.poll(0)
    writer_end.close()
    assert reader.poll(0)  # the end is there
    with pytest.raises(EOFError):
        reader.recv_bytes()
    reader_end.close()


def test_a_frame_reader_polls_records_it_has_already_read() -> None:
    reader_end, writer_end = Pipe(duplex=False)
    for n in range(3):
        send_frame(writer_end, str(n).encode())
    reader = FrameReader(reader_end)
    assert reader.recv_bytes() == b"0"  # one read took all three
    assert reader.poll(0) and reader.recv_bytes() == b"1"
    assert reader.poll(0) and reader.recv_bytes() == b"2"
    assert not reader.poll(0.01)
    writer_end.send_bytes(b"abc")
    writer_end.close()
    assert reader.recv_bytes() == b"abc"
    reader_end.close()


# --- Handoff -------------------------------------------------------------------------------


async def test_a_handoff_gives_the_loop_every_item_in_order_in_few_wake_ups() -> None:
    loop = asyncio.get_running_loop()
    batches: list[list[int]] = []
    count = 20_000
    all_in = asyncio.Event()

    def take(batch: list[int]) -> None:
        batches.append(batch)
        if sum(map(len, batches)) >= count:
            all_in.set()

    handoff: Handoff[int] = Handoff(loop, take)

    def put_all() -> None:
        for n in range(count):
            handoff.put(n)

    await loop.run_in_executor(None, put_all)
    await asyncio.wait_for(all_in.wait(), 10)
    assert [n for batch in batches for n in batch] == list(range(count))
    assert len(batches) < count  # batched: fewer wake-ups than items


# --- plain mode: sent ahead, printed in order ----------------------------------------------

#: Messages, commands, errors, two workers, a sleep and the end of a worker:
#: everything that changes what a transcript says, mixed. (Not a line for
#: several workers at once: its answers print in the order they came, which
#: differs from run to run.)
SCRIPT = b"""\
ping
set-state 1
get-state
foo
.spawn other thread
@other ping
@w1 whoami
sleep 0.05
set-state 2
.peek
ping
bad 'quote
@nobody ping
.repeat 3 ping
get-state
exit
ping
"""


def transcript(lines: object) -> str:
    out = io.StringIO()
    status = PlainRunner(Settings(kind="thread"), out).run(lines)  # type: ignore[arg-type]
    # Timings and thread ids differ from run to run; what is said, and in what
    # order, must not.
    text = re.sub(r"\d+(\.\d+)? ms, [\d,]+ per second", "T", out.getvalue())
    text = re.sub(r"\b\d{3,}\b", "N", text)
    return f"{text}status {status}"


def test_lines_sent_ahead_print_the_same_transcript_as_one_at_a_time() -> None:
    one_at_a_time = transcript(SCRIPT.splitlines(keepends=True))  # a list: never ready ahead
    sent_ahead = transcript(LineSource(io.BytesIO(SCRIPT)))  # all there: sent ahead
    assert sent_ahead == one_at_a_time
    assert "> exit\n" in sent_ahead and "error: w1 has ended" in sent_ahead


@pytest.mark.parametrize("kind", CONSOLE_KINDS)
def test_many_more_lines_than_are_kept_in_flight_are_each_answered_once_in_order(
    kind: str,
) -> None:
    count = MAX_IN_FLIGHT * 3 + 7
    lines = b"".join(b"set-state %d\n" % n for n in range(count))
    out = io.StringIO()
    assert PlainRunner(Settings(kind=kind), out).run(LineSource(io.BytesIO(lines))) == 0
    body = out.getvalue().splitlines()[2:-1]
    assert body[0::2] == [f"> set-state {n}" for n in range(count)]
    assert [line.split("] ")[1] for line in body[1::2]] == [f"new state: {n}" for n in range(count)]


class CountedLines:
    """A :class:`LineSource` that counts the lines plain mode has taken from it."""

    def __init__(self, source: LineSource) -> None:
        self.source = source
        self.taken = 0

    def __iter__(self) -> CountedLines:
        return self

    def __next__(self) -> bytes:
        line = next(self.source)
        self.taken += 1
        return line

    def ready(self) -> bool:
        return self.source.ready()


class AheadOfAnswers(io.StringIO):
    """An output that notes, at each write, how many lines had been read ahead of
    the answers written so far."""

    def __init__(self, lines: CountedLines) -> None:
        super().__init__()
        self.lines = lines
        self.answers = 0
        self.ahead: list[int] = []

    def write(self, text: str) -> int:
        self.answers += text.count("] pong\n")
        if self.answers:
            self.ahead.append(self.lines.taken - self.answers)
        return super().write(text)


def test_a_huge_input_is_read_only_a_bounded_way_ahead_of_the_answers_printed() -> None:
    """Input all there at once (``seq ... | doer``): answers are printed while it is
    read, and the lines read but not yet answered stay bounded, so output starts at
    once and memory stays flat, however long the input.

    Counted, not timed: with no bound, every line would be read (and sent) before
    the first answer is written.
    """
    count = MAX_IN_FLIGHT * 4
    lines = CountedLines(LineSource(io.BytesIO(b"ping\n" * count)))  # ready() is always True
    out = AheadOfAnswers(lines)
    assert PlainRunner(Settings(kind="thread"), out).run(lines) == 0
    assert out.answers == count, out.getvalue()[-2000:]
    # In flight, then gathered to be sent together, then answers buffered to be written.
    bound = MAX_IN_FLIGHT + SENT_TOGETHER + BUFFERED_LINES
    assert max(out.ahead) <= bound, f"{max(out.ahead)} lines read ahead of the answers written"


@pytest.mark.parametrize("kind", CONSOLE_KINDS)
def test_a_program_that_types_after_each_answer_gets_every_answer(
    tmp_path: Path, kind: str
) -> None:
    """What pexpect's PopenSpawn does: plain mode must not wait for a line it has
    not been given while an answer is unprinted."""
    console = plain_console(tmp_path, "--kind", kind)
    assert console.stdin is not None
    try:
        seen = read_until(console, r"on start")
        for n in range(20):
            console.stdin.write(b"set-state %d\n" % n)
            console.stdin.flush()
            seen += read_until(console, rf"new state: {n}\n")
        console.stdin.write(b".repeat 5 ping\n")
        console.stdin.flush()
        seen += read_until(console, r"5 answers in")
        console.stdin.close()
        assert console.wait(10) == 0
    finally:
        if console.poll() is None:
            console.kill()
            console.wait()
    assert_no_traceback(seen)


def test_a_worker_that_dies_with_lines_in_flight_fails_each_of_them_and_its_death_is_said(
    tmp_path: Path,
) -> None:
    done = run_doer(["--kind", "process"], tmp_path, stdin=b"ping\n.repeat 3 die\nping\n")
    out = done.stdout.decode()
    # Each die sent gets its failure. If the console saw the death before it had
    # sent all three, one error says the rest could not be sent.
    failed = out.count("unanswered: the worker died")
    refused = out.count("error: the worker has ended") - 1  # less the last line's
    assert 1 <= failed <= 3 and refused == (0 if failed == 3 else 1), out
    assert re.search(rf"\] {failed} answers? in .*; {failed} of them errors\n", out), out
    assert out.count("died: exit code 3") == 1  # said once
    assert out.endswith("> ping\nerror: the worker has ended; .restart starts a fresh one\n")
    assert done.returncode == 1
    assert_no_traceback(out, done.stderr.decode())


@pytest.mark.parametrize(
    ("then", "how"),
    [
        ("ping\nping\n", "lines"),
        ("ping\nping\n", "sent ahead"),
        (".spawn b\n.repeat 2 @w1,b ping\n", "lines"),
        (".spawn b\n.repeat 2 @w1,b ping\n", "sent ahead"),
    ],
)
def test_a_late_answer_prints_before_the_answers_that_came_after_it(then: str, how: str) -> None:
    """``gate`` is reported late; its answer comes while a later line is awaited,
    before that line's own (one worker answers in order), and prints before it —
    whether the lines come one at a time or are sent ahead, and after ``.repeat``.

    The gate opens when the later line is echoed: its answer cannot come sooner.
    """
    later = then.splitlines()[-1]
    out = SeesText(f"> {later}\n")
    script = f"gate\n.timeout 10\n{then}".encode()
    lines = script.splitlines(keepends=True) if how == "lines" else LineSource(io.BytesIO(script))
    settings = Settings(kind="thread", timeout=0.1, handlers={"gate": gate_opened_by(out)})
    PlainRunner(settings, out).run(lines)  # type: ignore[arg-type]

    text = out.getvalue()
    assert "no answer yet to request 1 (gate)" in text, text
    late = text.index("late answer to request 1 (gate): opened")
    assert text.index(f"> {later}\n") < late < text.index("] pong"), text


def test_lines_sent_ahead_are_traced_and_remembered_for_the_timeline() -> None:
    """``.trace`` and ``.timeline`` see the lines sent ahead as they see one line at
    a time: each answer gets its trace line, and the timeline is of the last line."""
    script = b".trace on\nping\nset-state 3\n.timeline\n"
    out = io.StringIO()
    assert PlainRunner(Settings(kind="thread"), out).run(LineSource(io.BytesIO(script))) == 0
    text = out.getvalue()
    traced = re.findall(r"> (\S+).*\n.*\n.*not pickled \(same memory\)", text)
    assert traced == ["ping", "set-state"], text
    assert "timeline of set-state 3 (one character:" in text, text
