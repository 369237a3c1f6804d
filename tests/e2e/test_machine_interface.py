"""Programs drive doer without reading a screen: ``--jsonl``, ``-c``, ``--strict``,
``--line-mode``, late answers that say so, and no request dropped unsaid by a signal.

Each through the front end a program would use: pipes for plain mode and
``-c``, a pty for line mode (``TERM=dumb``, ``--line-mode``, ``REPLWrapper``).
"""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pexpect
import pytest
from pexpect.replwrap import REPLWrapper

from doer.frontends.jsonl import SCHEMA_VERSION, TYPES, schema
from support.helpers import CONSOLE_KINDS
from support.pty_helpers import (
    DOER,
    assert_no_traceback,
    console_env,
    feed,
    plain_console,
    run_doer,
    wait_until_asleep,
)

VALIDATOR = jsonschema.Draft202012Validator(schema())


def records(stdout: bytes | str) -> list[dict[str, Any]]:
    """Every line of ``stdout`` as a JSON record, each checked against the schema."""
    text = stdout.decode() if isinstance(stdout, bytes) else stdout
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"line {number} is not JSON: {line!r}\n{text}")
        errors = sorted(VALIDATOR.iter_errors(record), key=str)
        assert not errors, f"line {number} breaks the schema: {errors[0].message}\n{line}"
        out.append(record)
    return out


def texts(found: list[dict[str, Any]]) -> list[str]:
    return [record["text"] for record in found]


# --- a signal never drops the request being waited on -----------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_signal_while_plain_mode_waits_says_the_request_was_not_answered(
    tmp_path: Path, sig: signal.Signals
) -> None:
    console = plain_console(tmp_path, "--kind", "process")
    _, worker = feed(console, b"sleep 5\n", r"> sleep 5\n")
    wait_until_asleep(worker)
    console.send_signal(sig)
    out, err = console.communicate(timeout=10)
    transcript = out.decode()
    assert console.returncode == 128 + sig, transcript + err.decode()
    tag = f"[w1 process {worker}]"
    assert f"{tag} error: request 1 (sleep 5) unanswered: the worker died\n" in transcript
    # The console killed it after its grace period: said so, not as if a stranger did.
    assert f"{tag} died: did not end 1 s after being asked; doer killed it\n" in transcript
    assert_no_traceback(transcript, err.decode())


def test_a_signal_while_a_thread_works_says_the_request_was_never_answered(
    tmp_path: Path,
) -> None:
    console = plain_console(tmp_path, "--kind", "thread")
    feed(console, b"ping\nsleep 5\n", r"> sleep 5\n")
    console.send_signal(signal.SIGTERM)
    out, _ = console.communicate(timeout=10)
    transcript = out.decode()
    assert console.returncode == 143, transcript
    assert "error: w1 is stuck in a handler" in transcript
    assert "error: request 2 (sleep 5) was never answered\n" in transcript


def test_a_signal_in_line_mode_says_the_request_was_not_answered(tmp_path: Path) -> None:
    env = console_env(tmp_path)
    env["TERM"] = "dumb"
    child = pexpect.spawn(
        DOER, ["--kind", "process", "--prompt", "P> "], env=env, encoding="utf-8", timeout=10
    )
    try:
        child.expect(r"\[w1 process (\d+)\] on start")
        pid = int(child.match.group(1))
        child.expect_exact("P> ")
        child.sendline("sleep 5")
        child.expect(r"sleep 5\r\n")
        wait_until_asleep(pid)
        child.kill(signal.SIGTERM)
        child.expect(pexpect.EOF)
        said = child.before
        assert "error: request 1 (sleep 5) unanswered: the worker died" in said
        assert "died: did not end 1 s after being asked; doer killed it" in said
    finally:
        child.close(force=True)
    assert child.exitstatus == 143, said


# --- --jsonl ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CONSOLE_KINDS)
def test_jsonl_gives_one_record_per_line_on_every_kind(tmp_path: Path, kind: str) -> None:
    done = run_doer(["--jsonl", "--kind", kind], tmp_path, stdin=b"ping\nfoo\nsleep 0.01\nexit\n")
    found = records(done.stdout)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert done.stderr == b""
    assert [record["type"] for record in found] == [
        *("note", "started"),
        *("input", "reply") * 3,
        *("input", "ended"),
    ]
    pid = found[1]["worker"]["pid"]
    assert found[1]["worker"] == {"name": "w1", "kind": kind, "pid": pid}
    pong = found[3]
    assert pong["id"] == 1 and pong["line"] == "ping"
    assert pong["text"] == f"[w1 {kind} {pid}] pong"
    assert pong["sent_us"] <= pong["answered_us"]
    assert found[5]["text"].endswith("unknown message foo")
    assert found[-1]["line"] == "exit" and found[-1]["id"] == 4
    assert b"\x1b" not in done.stdout


#: A run of every command and every kind of trouble, as one script.
MIXED = """\
.help
.spawn p process
.spawn a asyncio
.spawn t thread
@all ping
.trace on
@p whoami
.trace off
.workers
.status
.peek p
.mark 7
@all inherited
.repeat 3 ping
@p,t work 20000
.timeline
set-state "oops
.nosuch
@nobody ping
@p crash
@t die
.restart t
@a sleep 0.5
.timeout 5
@a ping
.use p
foo
@p segfault
.kill a
.restart p
.stop t
.workers
"""


def test_jsonl_records_of_a_long_mixed_run_keep_to_the_schema_and_say_what_plain_says(
    tmp_path: Path,
) -> None:
    stdin = MIXED.encode() + b"\xff\xfe bad bytes\n"
    args = ["--timeout", "0.3"]
    plain = run_doer(args, tmp_path, stdin=stdin, timeout=30)
    jsonl = run_doer([*args, "--jsonl"], tmp_path, stdin=stdin, timeout=30)
    found = records(jsonl.stdout)
    assert jsonl.stderr == b"", jsonl.stderr.decode()
    assert jsonl.returncode == plain.returncode == 1
    kinds = {record["type"] for record in found}
    assert kinds == {
        "input",
        "reply",
        "error",
        "started",
        "ended",
        "died",
        "late",
        "note",
        "output",
    }
    assert any(record.get("late") for record in found), "a late answer, marked late"
    # The text of each record is a line plain mode prints (pids, times and rates
    # differ from run to run, and so does the order of several workers' answers).
    assert sorted(_shape(text) for text in texts(found)) == sorted(
        _shape(line) for line in plain.stdout.decode().splitlines()
    )
    assert_no_traceback(jsonl.stdout.decode(), plain.stdout.decode())


def _shape(text: str) -> str:
    """``text`` with numbers (and the unit a duration picks for its size), the
    timeline's bars (their shades too) and the widths they set made alike."""
    text = re.sub(r"\d[\d.,]*", "N", text)
    text = re.sub(r"\bN (?:ns|µs|ms|s)\b", "N s", text)
    text = re.sub(r"[▏▎▍▌▋▊▉█▓▒░·]+", "B", text)
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize(
    "stdin",
    [
        pytest.param(b"ping\n\xff\xfe\x80\nping\n", id="invalid-utf8"),
        pytest.param(b"foo\x00bar\nping\n", id="nul"),
        pytest.param(b"set-state " + b"x" * 5_000_000 + b"\nget-state\n", id="5MB-line"),
        pytest.param(bytes(range(256)) * 40, id="binary"),
        pytest.param(b"ping\nset-state 'unfinished", id="closed-mid-line"),
    ],
)
def test_jsonl_turns_bad_input_into_records(tmp_path: Path, stdin: bytes) -> None:
    done = run_doer(["--jsonl"], tmp_path, stdin=stdin, timeout=30)
    found = records(done.stdout)
    assert done.returncode in (0, 1), done.stderr.decode()
    assert done.stderr == b""
    assert found[-1]["type"] == "ended"
    assert_no_traceback(done.stdout.decode())


def test_jsonl_output_cut_short_is_whole_lines_and_status_141(tmp_path: Path) -> None:
    shell = f"yes ping | head -n 20000 | {DOER} --jsonl | head -n 1; echo status=${{PIPESTATUS[2]}}"
    done = subprocess.run(
        ["bash", "-c", shell],
        capture_output=True,
        env=console_env(tmp_path),
        timeout=30,
        check=False,
    )
    first, status = done.stdout.decode().splitlines()
    assert json.loads(first)["type"] == "note"
    assert status == "status=141", done.stderr.decode()
    assert done.stderr == b""


# --- -c --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CONSOLE_KINDS)
def test_c_runs_the_lines_and_prints_only_their_answers(tmp_path: Path, kind: str) -> None:
    done = run_doer(
        ["--kind", kind, "-c", "ping", "-c", "set-state 5", "-c", "get-state"], tmp_path
    )
    assert done.returncode == 0, done.stderr.decode()
    pid = re.findall(rf"\[w1 {kind} (\d+)\]", done.stdout.decode())[0]
    tag = f"[w1 {kind} {pid}]"
    assert done.stdout.decode() == f"{tag} pong\n{tag} new state: 5\n{tag} state: 5\n"


@pytest.mark.parametrize("kind", CONSOLE_KINDS)
def test_c_with_jsonl_is_what_a_program_parses(tmp_path: Path, kind: str) -> None:
    done = run_doer(["--kind", kind, "--jsonl", "-c", "ping", "-c", "whoami"], tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    found = records(done.stdout)
    assert [(record["type"], record["line"], record["id"]) for record in found] == [
        ("reply", "ping", 1),
        ("reply", "whoami", 2),
    ]
    pid = found[1]["worker"]["pid"]
    assert found[1]["text"].startswith(f"[w1 {kind} {pid}] pid {pid}, ")


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["-c", "ping"], 0),
        (["-c", "pnig"], 0),  # an answer, if not the one meant: --strict says otherwise
        (["--strict", "-c", "pnig"], 1),
        (["-c", ".nosuch"], 1),
        (["-c", "sleep -1"], 1),  # an error answer
        (["--timeout", "0.2", "-c", "sleep 0.5"], 1),  # a late answer
        (["-c", "die"], 1),  # a death
        (["-c", "ping", "--script", "x"], 2),
    ],
)
def test_c_exit_status_says_what_happened(tmp_path: Path, args: list[str], status: int) -> None:
    done = run_doer(args, tmp_path)
    assert done.returncode == status, done.stdout.decode() + done.stderr.decode()


def test_c_answers_exit_with_the_end_event(tmp_path: Path) -> None:
    done = run_doer(["-c", "exit", "-c", "ping"], tmp_path)
    out = done.stdout.decode()
    assert re.fullmatch(
        r"\[w1 thread \d+\] on end: state: None, pid: \d+\n"
        r"error: the worker has ended; \.restart starts a fresh one\n",
        out,
    ), out
    assert done.returncode == 1


# --- line mode --------------------------------------------------------------------------


def spawn_line_mode(tmp_path: Path, *args: str, term: str = "xterm") -> pexpect.spawn[str]:
    env = console_env(tmp_path, no_color=False)
    env["TERM"] = term
    return pexpect.spawn(DOER, list(args), env=env, encoding="utf-8", timeout=10)


def test_line_mode_on_a_terminal_that_could_draw(tmp_path: Path) -> None:
    child = spawn_line_mode(tmp_path, "--line-mode", "--prompt", "P> ")
    try:
        child.expect_exact("P> ")
        child.sendline("ping")
        child.expect_exact("P> ")
        assert re.search(r"\[w1 thread \d+\] pong\r\n$", child.before), child.before
        assert "\x1b" not in child.before
        child.sendline(".quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_strict_line_mode_fails_the_session_on_an_unknown_message(tmp_path: Path) -> None:
    statuses = []
    for strict in ([], ["--strict"]):
        child = spawn_line_mode(tmp_path, "--line-mode", "--prompt", "P> ", *strict)
        try:
            child.expect_exact("P> ")
            child.sendline("pnig")
            child.expect_exact("P> ")
            assert "unknown message pnig" in child.before
            child.sendeof()
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        statuses.append(child.exitstatus)
    assert statuses == [0, 1]


def test_a_late_answer_in_line_mode_says_it_is_late_for_replwrapper(tmp_path: Path) -> None:
    child = spawn_line_mode(tmp_path, "--timeout", "0.3", "--prompt", "P> ", term="dumb")
    try:
        repl = REPLWrapper(child, "P> ", None)
        late = repl.run_command("sleep 0.6", timeout=5)
        assert "no answer yet to request 1 (sleep 0.6) after 0.3 s" in late
        repl.run_command(".timeout 10", timeout=5)
        # The sleep's answer lands among the next line's answers: marked as late,
        # and the line's own answer is not.
        pong = repl.run_command("ping", timeout=5)
        lines = pong.splitlines()
        assert len(lines) == 2, pong
        assert re.fullmatch(
            r"\[w1 thread \d+\] late answer to request 1 \(sleep 0\.6\): slept 0\.6 s", lines[0]
        ), pong
        assert re.fullmatch(r"\[w1 thread \d+\] pong", lines[1]), pong
    finally:
        child.close(force=True)


def test_jsonl_in_line_mode_writes_records_only(tmp_path: Path) -> None:
    """On a terminal, with the terminal's echo turned off: no line that is not a record."""
    child = spawn_line_mode(tmp_path, "--jsonl")
    child.logfile_read = io.StringIO()
    try:
        child.expect(r'"type":"started"[^\n]*\n')
        child.sendline("ping")
        child.expect(r'"type":"reply"[^\n]*\n')
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    found = records(child.logfile_read.getvalue().replace("\r\n", "\n"))
    assert [record["type"] for record in found] == ["note", "started", "input", "reply", "ended"]
    assert child.exitstatus == 0


def test_the_schema_ships_with_the_package() -> None:
    loaded = schema()
    assert loaded["properties"]["v"]["const"] == SCHEMA_VERSION
    assert set(loaded["properties"]["type"]["enum"]) == set(TYPES)
