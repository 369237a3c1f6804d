"""A string given to the library means what it means typed at the prompt.

``w.ask("sleep 5")`` sleeps, as ``sleep 5`` typed does (the library's example
in docs/library.md counts on it), on every kind through the ``worker`` fixture. The console's
own messages are parsed already and go as they are: each of its ways of
sending (plain mode, line mode, a line for several workers, ``.repeat``) is
checked with the one line a second parse would change, a quoted phrase.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

import doer
from doer.client import worker as client
from doer.console.session import Settings
from doer.frontends.lines import LineRunner
from support.pty_helpers import feed, plain_console, run_doer

#: Generous: a reply comes in well under a millisecond; only a failing test waits this long.
T = 10.0


def test_a_string_is_sent_as_the_message_its_line_means(worker: doer.Worker) -> None:
    assert worker.ask("set-state hola!", timeout=T) == "new state: hola!"
    assert worker.ask("'a b'", timeout=T) == "unknown message a b"
    assert worker.tell("set-state [1, 2]").result(T) == "new state: [1, 2]"
    told = worker.tell_many(["get-state", "sleep 0"])
    assert [pending.result(T) for pending in told] == ["state: [1, 2]", "slept 0 s"]
    assert worker.request("whoami", T).result(0).startswith(f"pid {worker.pid}")
    assert worker.state == [1, 2]


def test_a_typed_sleep_longer_than_the_timeout_raises_timeout_error(worker: doer.Worker) -> None:
    """docs/library.md's example, in half a second rather than five."""
    with pytest.raises(TimeoutError, match=r"no answer to request 1 \(sleep 0.5\) within 0.1 s"):
        worker.ask("sleep 0.5", timeout=0.1)
    assert worker.ask("ping", timeout=T) == "pong"  # after the sleep's own answer


def test_parsed_sends_a_string_as_it_is(worker: doer.Worker) -> None:
    assert worker.ask("a b", timeout=T, parsed=True) == "unknown message a b"
    assert worker.tell("sleep 5", parsed=True).result(T) == "unknown message sleep 5"
    assert worker.tell_many(["'a b'"], parsed=True)[0].result(T) == "unknown message 'a b'"
    assert worker.request("a b", T, parsed=True).result(0) == "unknown message a b"


def test_a_string_no_typed_line_could_be_raises_before_anything_is_sent(
    worker: doer.Worker,
) -> None:
    sends = [
        ("no closing quotation", lambda: worker.ask("set-state 'hola", timeout=T)),
        ("no closing quotation", lambda: worker.tell('say "hi')),
        ("no closing quotation", lambda: worker.tell_many(["ping", "'"])),  # nor the ping
        ("empty line", lambda: worker.request("", T)),
    ]
    for error, send in sends:
        with pytest.raises(doer.ParseError, match=error) as raised:
            send()
        assert isinstance(raised.value, ValueError)
    assert worker.tell("ping").request_id == 1  # the first request the worker was sent


def test_two_requests_of_one_line_share_no_value_a_handler_could_change(
    worker: doer.Worker,
) -> None:
    """The lines parsed already are remembered, but not a list: a thread worker's
    state would be the very list the next request of that line sends."""
    first, second = (worker.tell("set-state [1, 2]").message for _ in range(2))
    assert first == second == ("set-state", [1, 2])
    assert first[1] is not second[1]


def test_the_lines_remembered_are_a_bounded_few() -> None:
    for number in range(3 * client._TYPED_LINES):
        assert client._as_typed(f"set-state {number}") == ("set-state", number)
    assert 0 < len(client._TYPED) <= client._TYPED_LINES


# --- the console: parsed once --------------------------------------------------------


def test_plain_mode_sends_a_quoted_phrase_as_one_message_with_lines_piped_at_once(
    tmp_path: Path,
) -> None:
    """Lines sent together, a line for several workers, and ``.repeat``: each answer
    is about the phrase, not about the words ``('a', 'b')``."""
    lines = b"'a b'\n'c d'\n.spawn w2\n@all 'e f'\n.repeat 2 'g h'\n"
    done = run_doer([], tmp_path, stdin=lines)
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    answers = re.findall(r"\] unknown message (.*)", out)
    assert answers == ["a b", "c d", "e f", "e f", "g h", "g h"], out


def test_plain_mode_sends_a_quoted_phrase_as_one_message_with_a_line_after_each_answer(
    tmp_path: Path,
) -> None:
    """A program that writes its next line once it has read an answer: each line is
    sent on its own, and its answer read by plain mode itself."""
    console = plain_console(tmp_path)
    try:
        before, _ = feed(console, b"'a b'\n", until=r"\] unknown message .*\n")
        out, err = console.communicate(timeout=T)  # the end of input
    finally:
        if console.poll() is None:
            console.kill()
            console.communicate()
    assert console.returncode == 0, before + out.decode() + err.decode()
    assert "] unknown message a b\n" in before, before


def test_line_mode_sends_a_quoted_phrase_as_one_message() -> None:
    out = io.StringIO()
    runner = LineRunner(Settings(), io.BytesIO(b"'a b'\n"), out)
    assert runner.line_mode_status(runner.run(runner.prompted_lines())) == 0
    assert "] unknown message a b\n" in out.getvalue(), out.getvalue()
