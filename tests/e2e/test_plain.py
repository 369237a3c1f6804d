"""Plain mode, end to end: the real command behind pipes, no terminal.

``printf 'ping\\nfoo\\n...' | doer`` must print a transcript that can go into a
handout as it is: the recipe's story in order, no escape codes, nothing on
stderr, and an exit status that says whether everything went well.

The environment has no ``NO_COLOR`` here on purpose (docs/testing.md: it would hide
colour leaking into piped output); it has ``TERM=xterm`` and ``FORCE_COLOR`` to
give a leak every chance to show.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import doer
from support.helpers import CONSOLE_KINDS, SeesText, gate_opened_by, pid_is_gone, wait_until
from support.pty_helpers import (
    DOER,
    assert_no_traceback,
    console_env,
    feed,
    plain_console,
    read_until,
    run_doer,
    wait_gone,
    wait_until_asleep,
    worker_pid_of,
)

KINDS = CONSOLE_KINDS
RECIPE = b"ping\nfoo\nset-state hola!\nexit\n"


def plain_env(state_home: Path) -> dict[str, str]:
    """No NO_COLOR, and every hint that colour would be welcome."""
    env = console_env(state_home, no_color=False)
    env.update(TERM="xterm-256color", COLORTERM="truecolor", FORCE_COLOR="1")
    assert "NO_COLOR" not in env
    return env


def recipe_transcript(console: int, kind: str, worker: int) -> str:
    tag = f"[w1 {kind} {worker}]"
    return (
        f"creating doer from process {console}\n"
        f"{tag} on start: state: 42, pid: {worker}\n"
        "> ping\n"
        f"{tag} pong\n"
        "> foo\n"
        f"{tag} unknown message foo\n"
        "> set-state hola!\n"
        f"{tag} new state: hola!\n"
        "> exit\n"
        f"{tag} on end: state: hola!, pid: {worker}\n"
    )


@pytest.mark.parametrize("how", ["stdin", "--script", "python -m doer"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_recipe_prints_its_story_in_order(tmp_path: Path, kind: str, how: str) -> None:
    script = tmp_path / "recipe.txt"
    script.write_bytes(RECIPE)
    program = [sys.executable, "-m", "doer"] if how == "python -m doer" else [DOER]
    args = ["--kind", kind, "--state", "42"]
    if how == "--script":
        args += ["--script", str(script)]
    console = subprocess.Popen(
        [*program, *args],
        stdin=subprocess.DEVNULL if how == "--script" else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=plain_env(tmp_path),
    )
    out, err = console.communicate(None if how == "--script" else RECIPE, timeout=15)
    stdout = out.decode()

    worker = worker_pid_of(stdout)
    if kind == "process":
        assert worker != console.pid, "a process worker has a pid of its own"
    else:
        assert worker == console.pid, f"a {kind} worker runs in the console's process"
    assert stdout == recipe_transcript(console.pid, kind, worker)
    assert "\x1b" not in stdout, "escape codes in piped output"
    assert err == b""
    assert console.returncode == 0
    if kind == "process":
        wait_gone(worker, timeout=1.0)  # joined by the console: not even a zombie


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_that_does_not_come_in_time_is_news_and_fails_the_status(
    tmp_path: Path, kind: str
) -> None:
    started = time.monotonic()
    done = run_doer(["--kind", kind, "--timeout", "0.2"], tmp_path, stdin=b"sleep 5\n")
    took = time.monotonic() - started
    stdout = done.stdout.decode()

    worker = worker_pid_of(stdout)
    late = "no answer yet to request 1 (sleep 5) after 0.2 s"
    assert f"> sleep 5\n[w1 {kind} {worker}] {late}\n" in stdout, "a note, not an error"
    assert done.returncode == 1
    assert done.stderr == b""
    # The console gives up on the worker after its stop timeout (a process is killed,
    # a thread abandoned): it does not sit out the sleep (about 0.5 s here, not 5).
    assert took < 3.0, f"the console took {took:.2f} s to give up on a 5 s sleep"
    if kind == "process":
        wait_gone(worker, timeout=1.0)


#: A bad line, the start of its answer, and whether that answer must be a refusal.
BAD_LINES: dict[str, tuple[bytes, str, bool]] = {
    "unclosed quote": (
        b"set-state 'hola",
        "error: cannot split the line: no closing quotation",
        True,
    ),
    "not UTF-8": (b"caf\xe9 \xff", "error: line 1 is not valid UTF-8", True),
    "1 MB line": (b"x" * 1_000_000, "error: line too long: 1,000,000 characters", True),
    "control characters": (
        b"foo\x01bar\x1b[31mred",
        r"unknown message foo\x01bar\x1b[31mred",
        False,
    ),
    "NUL": (b"nul\x00here", r"unknown message nul\x00here", False),
}


@pytest.mark.parametrize("bad", BAD_LINES, ids=str)
@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_line_is_one_error_line_and_the_next_line_works(
    tmp_path: Path, kind: str, bad: str
) -> None:
    """Each bad line gets one line of answer; the console goes on to the next line.

    A line that cannot be split, decoded or sent is refused with ``error:``. A
    line with control characters or NUL is a valid message (docs/console.md: anything
    else is sent as a string); the console may refuse it too, but it must never
    write the characters themselves: the worker's answer shows them escaped.
    """
    line, expected, must_refuse = BAD_LINES[bad]
    done = run_doer(["--kind", kind], tmp_path, stdin=line + b"\nping\n")
    stdout = done.stdout.decode("utf-8")
    worker = worker_pid_of(stdout)
    tag = f"[w1 {kind} {worker}] "

    after_start = stdout.splitlines()[2:]
    echo = 1 if after_start[0].startswith("> ") and after_start[0] != "> ping" else 0
    answer = after_start[echo].removeprefix(tag)
    refused = answer.startswith("error: ")
    if must_refuse:
        assert answer.startswith(expected), stdout
    else:
        assert refused or answer == expected, stdout
    assert after_start[echo + 1 :] == [
        "> ping",
        f"{tag}pong",
        f"{tag}on end: state: None, pid: {worker}",
    ], stdout
    assert all(ch == "\n" or ch.isprintable() for ch in stdout), f"raw characters in {stdout!r}"
    assert len(stdout) < 2000, "the 1 MB line must not be echoed whole"
    assert done.stderr == b""
    assert_no_traceback(stdout)
    assert done.returncode == (1 if refused else 0)


@pytest.mark.parametrize(
    ("sig", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["ctrl-c", "SIGTERM", "SIGHUP"],
)
def test_a_signal_while_waiting_for_an_answer_exits_at_once_and_stops_the_worker(
    tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    """Ctrl-C (SIGINT to the whole foreground group, worker included), SIGTERM, SIGHUP.

    The worker is busy with ``sleep 30``: the console must not wait for it.
    """
    console = plain_console(  # its own process group, as a job in a shell
        tmp_path, "--kind", "process", "--start-method", "spawn", env=plain_env(tmp_path)
    )
    try:
        before, worker = feed(console, b"sleep 30\n", until=r"> sleep 30\n")
        wait_until_asleep(worker)  # the request was sent: the console waits for its answer
        if sig == signal.SIGINT:
            os.killpg(console.pid, sig)  # as a terminal's Ctrl-C: the console and its worker
        else:
            os.kill(console.pid, sig)
        try:
            out, err = console.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{sig.name}: the console did not exit within 5 s of the signal")
    finally:
        if console.poll() is None:
            console.kill()
            console.communicate()

    assert console.returncode == status, before + out.decode() + err.decode()
    wait_gone(worker, timeout=1.0)  # stopped and reaped by the console itself
    assert err == b""
    assert_no_traceback(before + out.decode())
    if sig == signal.SIGINT:
        assert "error: interrupted\n" in out.decode()


def test_version(tmp_path: Path) -> None:
    done = run_doer(["--version"], tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"doer {doer.__version__}\n".encode(),
        b"",
    )


def test_a_start_method_for_a_thread_is_a_usage_error(tmp_path: Path) -> None:
    done = run_doer(["--kind", "thread", "--start-method", "spawn"], tmp_path, stdin=b"ping\n")
    assert done.returncode == 2
    assert done.stdout == b"", "no worker is started"
    stderr = done.stderr.decode()
    assert stderr.startswith("usage: doer")
    assert "--start-method applies to --kind process only" in stderr


def test_a_reader_that_stops_reading_ends_the_console_quietly_with_status_141(
    tmp_path: Path,
) -> None:
    """``doer ... | head -3``: no BrokenPipeError traceback, and the worker stopped."""
    console = plain_console(tmp_path, "--kind", "process", env=plain_env(tmp_path))
    assert console.stdin is not None and console.stdout is not None
    console.stdin.write(b"ping\n" * 3)
    console.stdin.flush()
    before = read_until(console, r"on start: .*pid: \d+\n")
    console.stdout.close()  # as `head` does once it has its lines
    console.stdin.write(b"ping\n" * 3)
    console.stdin.close()
    assert console.wait(timeout=10) == 141
    assert console.stderr is not None
    assert console.stderr.read() == b""
    wait_gone(int(re.findall(r"pid: (\d+)", before)[-1]), timeout=1.0)


def test_a_worker_that_dies_idle_after_the_last_line_makes_the_status_1(tmp_path: Path) -> None:
    """Every line went well, then the worker died while nothing was asked of it.

    The console finds out only when it stops the worker at the end of input:
    that is still a failure of the run, and it is said.
    """
    console = plain_console(tmp_path, "--kind", "process", env=plain_env(tmp_path))
    try:
        before, worker = feed(console, b"ping\n", until=r"\] pong\n")
        os.kill(worker, signal.SIGKILL)
        # Dead: a zombie until the console reaps it. Plain mode reads a worker's
        # answers itself, between lines, so it sees the death at the next line,
        # or, as here, when it stops its workers at the end of input.
        wait_until(lambda: pid_is_gone(worker), 5.0, "the worker to die")
        out, err = console.communicate(timeout=10)  # end of input
    finally:
        if console.poll() is None:
            console.kill()
            console.communicate()
    transcript = before + out.decode()
    assert console.returncode == 1, transcript + err.decode()
    assert f"[w1 process {worker}] died: killed by SIGKILL\n" in transcript
    wait_gone(worker, timeout=1.0)  # and reaped


def test_restart_compares_start_methods_without_relaunching_the_console(tmp_path: Path) -> None:
    lines = b"".join(
        [
            b".restart process --start-method spawn\n",
            b"whoami\n",
            b".restart\n",  # the same kind and start method again
            b"whoami\n",
            b".restart process --start-method=forkserver\n",
            b"whoami\n",
            b".restart thread --start-method fork\n",
            b".restart process --start-method nope\n",
        ]
    )
    done = run_doer(["--kind", "process"], tmp_path, stdin=lines)
    out = done.stdout.decode()
    # A forkserver's child names its parent, the server, rather than the method.
    methods = re.findall(r"\] pid \d+, .*?(?:, by (\w+)|\(the (forkserver)\)).*, GIL", out)
    methods = [by or server for by, server in methods]
    assert methods == ["spawn", "spawn", "forkserver"], out
    assert "error: --start-method applies to process workers, not to a thread" in out
    assert "error: no start method 'nope': choose fork or spawn or forkserver" in out
    assert done.returncode == 1, "the two bad lines are failures"


def test_the_asyncio_tasks_of_one_console_share_one_loop_as_in_the_shell(tmp_path: Path) -> None:
    """Plain mode has no loop of its own: its tasks get one, shared, so that a task
    that blocks holds up the others there too (the event loop's lesson)."""
    lines = b".spawn a2 asyncio\n@w1,a2 whoami\n.stop a2\n.restart\nwhoami\n"
    done = run_doer(["--kind", "asyncio"], tmp_path, stdin=lines)
    out = done.stdout.decode()
    threads = re.findall(r"\] pid \d+, (?:ppid \d+, )?[\w-]+ (\d+), task (\w+)-task", out)
    assert sorted(task for _, task in threads) == ["a2", "w1", "w1"], out
    assert len({thread for thread, _ in threads}) == 1, f"one loop, one thread:\n{out}"
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()


@pytest.mark.parametrize("kind", KINDS)
def test_kill_ends_the_worker_as_far_as_its_kind_allows_and_says_so(
    tmp_path: Path, kind: str
) -> None:
    done = run_doer(["--kind", kind], tmp_path, stdin=b"ping\n.kill\nping\n")
    out = done.stdout.decode()
    worker = worker_pid_of(out)
    tag = f"[w1 {kind} {worker}]"
    if kind == "process":
        assert f"> .kill\n{tag} died: killed by SIGKILL\n" in out
        assert out.endswith("> ping\nerror: the worker has ended; .restart starts a fresh one\n")
        wait_gone(worker, timeout=1.0)
    elif kind == "asyncio":
        assert "> .kill\nw1's task is cancelled: it ends at its next await" in out
        assert f"{tag} died: its task was cancelled\n" in out
    else:
        assert "w1 goes on: Python cannot kill a thread from outside" in out
        assert out.count(f"{tag} pong\n") == 2, "the thread still answers"
    assert "Traceback" not in out + done.stderr.decode()


def test_the_worker_s_name_tags_every_line_and_a_malformed_name_is_a_usage_error(
    tmp_path: Path,
) -> None:
    done = run_doer(["--name", "fast-1", "--kind", "process"], tmp_path, stdin=b"ping\n")
    out = done.stdout.decode()
    worker = worker_pid_of(out)
    assert f"[fast-1 process {worker}] on start: state: None, pid: {worker}\n" in out
    assert f"[fast-1 process {worker}] pong\n" in out
    assert f"[fast-1 process {worker}] on end: state: None, pid: {worker}\n" in out
    for bad in ("1x", "has space", "x" * 17, ""):
        refused = run_doer(["--name", bad], tmp_path)
        assert refused.returncode == 2, bad
        assert "argument --name: not a worker name" in refused.stderr.decode(), bad


def test_an_output_that_cannot_encode_a_line_gets_escapes_not_a_traceback(tmp_path: Path) -> None:
    """A Latin-1 output (``PYTHONIOENCODING``): a reply in Chinese is written as
    escapes, the timeline in ASCII; no traceback, and the status is 0.

    Not how the bars look: that depends on how long ``work`` took.
    """
    env = console_env(tmp_path, no_color=False)
    env["PYTHONIOENCODING"] = "latin-1"
    done = subprocess.run(
        [DOER],
        input="set-state 中文\n.spawn t2\n@w1,t2 work 100000\n.timeline\n".encode(),
        capture_output=True,
        env=env,
        timeout=30,
        check=False,
    )
    out = done.stdout.decode("latin-1")
    assert "new state: \\u4e2d\\u6587" in out  # the worker's answer: escaped, not a traceback
    # The timeline's blocks are not escaped: it draws in ASCII instead. Which ASCII
    # character depends on how long `work` took (a bar shorter than half a 10 ms cell
    # is `|`, a sampled one is shaded #=+-.): any of them will do, never `\u2588`.
    assert re.search(r"\nw1 thread +[#=+\-.|]+ +\d", out), out
    assert "\\u25" not in out, f"block characters written as escapes:\n{out}"
    assert done.returncode == 0 and done.stderr == b"", done.stderr.decode()


def test_what_has_come_is_shown_while_a_later_line_is_still_awaited(tmp_path: Path) -> None:
    """``printf 'ping\\nsleep 60\\n' | doer``: ``> ping`` and ``pong`` show at once,
    with ``> sleep 60`` after them, not when the sleep ends.

    The lines are sent ahead and their answers buffered; the buffer must go out
    before the console waits for the sleep. No clock is read: the sleep's answer
    (and, with ``--timeout 60``, its late note) cannot exist for a minute, and the
    console is killed long before.
    """
    # A thread worker: killing the console leaves nothing running.
    console = plain_console(tmp_path, "--kind", "thread", "--timeout", "60")
    assert console.stdin is not None
    try:
        console.stdin.write(b"ping\nsleep 60\n")
        console.stdin.close()  # all of the input is there, as from printf
        seen = read_until(console, r"> sleep 60\n")
        assert console.poll() is None, "the console must still be waiting for the sleep"
        assert "slept" not in seen and "no answer yet" not in seen, seen
        tag = f"[w1 thread {worker_pid_of(seen)}]"
        assert seen.endswith(f"> ping\n{tag} pong\n> sleep 60\n"), seen
    finally:
        console.kill()
        console.wait()
        for pipe in (console.stdout, console.stderr):
            if pipe is not None:
                pipe.close()


def test_a_line_for_several_workers_prints_their_answers_in_the_order_they_came() -> None:
    """``@w1,b gate``: w1 is named first but answers last, so its answer prints last
    (docs/lessons.md: the order "shows which answered first").

    A gate, not two sleeps: w1's handler returns only once the console has b's
    answer, whatever the machine's load.
    """
    import io

    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner

    b_is_answering, w1_has_b_s_request = threading.Event(), threading.Event()

    def gate(doer: object) -> str:
        if getattr(doer, "state", None) != "last":  # b: answer once w1 holds the request
            b_is_answering.set()
            assert w1_has_b_s_request.wait(5), "w1 never got its request"
            return "first"
        # w1: while b's handler runs, b's request is surely unanswered: take it, let b
        # answer, and answer only once the console has b's answer.
        assert b_is_answering.wait(5), "b never got its request"
        [b_asked] = runner.console.workers["b"].unanswered()
        w1_has_b_s_request.set()
        wait_until(b_asked.done, 5, "b's answer to reach the console")
        return "last"

    out = io.StringIO()
    runner = PlainRunner(Settings(kind="thread", handlers={"gate": gate}), out)
    status = runner.run([b".spawn b\n", b"@w1 set-state last\n", b"@w1,b gate\n"])

    text = out.getvalue()
    answers = text.split("> @w1,b gate\n")[1].splitlines()[:2]
    assert [answer.split("] ")[1] for answer in answers] == ["first", "last"], text
    assert answers[0].startswith("[b thread ") and answers[1].startswith("[w1 thread "), text
    assert status == 0, text


def test_a_command_that_fails_unforeseen_is_one_line_and_the_console_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from doer.console.commands import COMMANDS
    from doer.console.session import Console, Settings
    from doer.frontends.plain import PlainRunner

    def broken(self: Console, argument: str) -> None:
        raise KeyError("nope")

    monkeypatch.setitem(COMMANDS, ".workers", COMMANDS[".workers"]._replace(run=broken))
    out = io.StringIO()
    status = PlainRunner(Settings(), out).run([b".workers\n", b"ping\n"])

    text = out.getvalue()
    assert "error: .workers failed: KeyError: 'nope' (a bug of doer's; please report it)\n" in text
    assert "] pong\n" in text and "Traceback" not in text
    assert status == 1


def test_a_repeat_to_several_workers_prints_their_answers_in_the_order_they_came() -> None:
    """``.repeat 2 @w1,b gate``: w1 is named first but both of b's answers come before
    either of w1's, so b's print first (the order "shows which answered first", for
    ``.repeat`` as for a single line).

    A gate, not sleeps: w1's first copy returns only once the console has both of b's
    answers, whatever the machine's load; its second copy comes after its first.
    """
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner

    b_is_answering, w1_has_b_s_requests = threading.Event(), threading.Event()

    def gate(doer: object) -> str:
        if getattr(doer, "state", None) != "last":  # b: answer once w1 holds the requests
            b_is_answering.set()
            assert w1_has_b_s_requests.wait(5), "w1 never got its request"
            return "first"
        if not w1_has_b_s_requests.is_set():  # w1's first copy; its second just answers
            # While b's first handler runs, both of b's copies are surely unanswered:
            # take them, let b answer, and answer only once the console has both.
            assert b_is_answering.wait(5), "b never got its request"
            b = runner.console.workers["b"]
            wait_until(lambda: len(b.unanswered()) == 2, 5, "both of b's copies to be sent")
            b_asked = b.unanswered()
            w1_has_b_s_requests.set()
            wait_until(lambda: all(p.done() for p in b_asked), 5, "b's answers to come")
        return "last"

    out = io.StringIO()
    runner = PlainRunner(Settings(kind="thread", handlers={"gate": gate}), out)
    status = runner.run([b".spawn b\n", b"@w1 set-state last\n", b".repeat 2 @w1,b gate\n"])

    text = out.getvalue()
    answers = text.split("> .repeat 2 @w1,b gate\n")[1].splitlines()[:4]
    tags_and_words = [(answer.split()[0], answer.split("] ")[1]) for answer in answers]
    assert tags_and_words == [("[b", "first")] * 2 + [("[w1", "last")] * 2, text
    assert status == 0, text


def test_a_line_that_is_not_utf8_prints_after_the_lines_sent_ahead_of_it() -> None:
    """``printf 'ping\\n\\xff\\nping\\n' | doer``: the first ping is sent ahead (more
    lines are there), so its echo and answer are not printed yet when line 2 is
    read; they must still print before line 2's error, as one line at a time would.

    No timing is involved: all of the input is there from the start, so the first
    ping is always still in flight (or not even sent) when line 2 is read.
    """
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner
    from doer.frontends.readahead import LineSource

    out = io.StringIO()
    status = PlainRunner(Settings(kind="thread"), out).run(
        LineSource(io.BytesIO(b"ping\n\xff\nping\n"))
    )

    text = out.getvalue()
    # Between the start and the end; the worker's tag has a pid in it: what follows it.
    body = [re.sub(r"^\[w1 thread \d+\] ", "", line) for line in text.splitlines()[2:-1]]
    assert body == [
        "> ping",
        "pong",
        "error: line 2 is not valid UTF-8 (invalid start byte at byte 0)",
        "> ping",
        "pong",
    ], text
    assert status == 1, "a bad line fails the run"


def test_a_late_answer_prints_before_the_answers_of_a_later_line_for_several_workers() -> None:
    """``gate`` is reported late; its answer comes while ``@w1,b ping`` is awaited,
    before w1's pong (a worker answers in order), and must print before the pongs:
    the transcript says what came first.

    The gate opens when ``@w1,b ping`` is echoed: its answer cannot come sooner.
    """
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner

    out = SeesText("> @w1,b ping\n")
    settings = Settings(kind="thread", timeout=0.1, handlers={"gate": gate_opened_by(out)})
    # .timeout 10: only the gate is to be late; the pongs are awaited as long as need be.
    PlainRunner(settings, out).run([b"gate\n", b".timeout 10\n", b".spawn b\n", b"@w1,b ping\n"])

    text = out.getvalue()
    assert "no answer yet to request 1 (gate)" in text, text
    late = text.index("late answer to request 1 (gate): opened")
    pongs = [found.start() for found in re.finditer(r"\] pong\n", text)]
    assert len(pongs) == 2, text
    assert text.index("> @w1,b ping\n") < late < min(pongs), text


def test_every_copy_of_a_repeat_behind_a_late_one_has_its_late_answer_printed() -> None:
    """``.repeat 3 gate``, the first copy late: the two behind it are not awaited, but
    each answer, when it comes, is printed as late, none lost, in order.

    The gates open when a later line is echoed: no copy can answer in time.
    """
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner

    out = SeesText("> ping\n")
    settings = Settings(kind="thread", timeout=0.1, handlers={"gate": gate_opened_by(out)})
    status = PlainRunner(settings, out).run([b".repeat 3 gate\n", b".timeout 10\n", b"ping\n"])

    text = out.getvalue()
    assert "no answer yet to request 1 (gate)" in text, text
    said = re.findall(r"late answer to request (\d) \(gate\): opened\n", text)
    assert said == ["1", "2", "3"], text
    assert "never answered" not in text, text
    assert text.index("late answer to request 3") < text.index("] pong\n"), text
    assert status == 1, "a late answer fails the run"


def test_the_deaths_of_workers_a_line_for_several_killed_print_under_that_line() -> None:
    """``.spawn b``, ``@w1,b die``, ``ping``: each death is said right after the
    answers to ``die``, before the next line, as a one-worker line's is; not at the
    end of the run, after an error that says the worker has ended.

    No timing: a worker's end is known before its requests are failed, so when the
    console has the answers it knows of the deaths.
    """
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner

    out = io.StringIO()
    status = PlainRunner(Settings(kind="thread"), out).run(
        [b".spawn b\n", b"@w1,b die\n", b"ping\n"]
    )

    text = out.getvalue()
    after = text.split("> @w1,b die\n")[1].splitlines()
    assert [line.split("] ", 1)[1] for line in after[:4]] == [
        "error: request 1 (die) unanswered: the worker died",
        "error: request 1 (die) unanswered: the worker died",
        "died: uncaught Died in its thread: raised by die",
        "died: uncaught Died in its thread: raised by die",
    ], text
    assert after[4:] == ["> ping", "error: w1 has ended; .restart w1 starts a fresh one"], text
    assert status == 1, text


def test_blank_lines_in_a_script_print_nothing() -> None:
    """A script spaced out with blank lines (and lines of spaces) prints the same
    transcript as without them: no bare ``>`` echo, whether its lines are sent ahead
    or come one at a time.

    A thread worker's pid is the console's: both transcripts are the same to the byte.
    """
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner
    from doer.frontends.readahead import LineSource

    def transcript(lines: object) -> str:
        out = io.StringIO()
        status = PlainRunner(Settings(kind="thread"), out).run(lines)  # type: ignore[arg-type]
        return f"{out.getvalue()}status {status}"

    spaced = b"\nping\n\n   \nset-state 1\n\n.timeout 5\n\nget-state\n\n"
    dense = b"ping\nset-state 1\n.timeout 5\nget-state\n"
    expected = transcript(dense.splitlines(keepends=True))
    assert "\n>\n" not in expected and "\n> \n" not in expected
    assert transcript(spaced.splitlines(keepends=True)) == expected
    assert transcript(LineSource(io.BytesIO(spaced))) == expected


def test_jsonl_input_records_have_plain_mode_s_echo_as_their_text() -> None:
    """The ``text`` of an ``input`` record is the line as plain mode echoes it: control
    characters escaped (a program that prints it must not write them raw), and a long
    line shortened, as plain mode shortens it (the ``line`` field has all of it).
    """
    from doer.console.render import SHOWN_CHARS
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner

    typed = [
        "foo\x01bar\x1b[31mred",
        "tab\there",
        "café",
        "x" * SHOWN_CHARS,  # the longest line echoed whole
        "y" * (SHOWN_CHARS + 1),  # the shortest line shortened
    ]
    lines = [line.encode() + b"\n" for line in typed]
    plain_out, jsonl_out = io.StringIO(), io.StringIO()
    PlainRunner(Settings(kind="thread"), plain_out).run(lines)
    PlainRunner(Settings(kind="thread"), jsonl_out, jsonl=True).run(lines)

    echoes = [line for line in plain_out.getvalue().splitlines() if line.startswith("> ")]
    inputs = [json.loads(line) for line in jsonl_out.getvalue().splitlines()]
    inputs = [record for record in inputs if record["type"] == "input"]
    assert [record["line"] for record in inputs] == typed
    assert [record["text"] for record in inputs] == echoes
    assert all(text.isprintable() for text in echoes), echoes
    assert len(echoes[-1]) < SHOWN_CHARS + 40, "a long line is shortened"


def test_jsonl_answer_times_span_the_handler_s_run() -> None:
    """``answered_us - sent_us`` is the round trip: for ``sleep 0.02``, at least
    20 ms (less a microsecond each side for rounding), whether the line is sent
    ahead or waited for, and with a ``line`` typed once or many times.

    The sleep is what is measured, not a wait for something to happen.
    """
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner
    from doer.frontends.readahead import LineSource

    script = b"sleep 0.02\nsleep 0.02\n.repeat 2 sleep 0.02\n.spawn b\n@w1,b sleep 0.02\n"
    for lines in (script.splitlines(keepends=True), LineSource(io.BytesIO(script))):
        out = io.StringIO()
        PlainRunner(Settings(kind="thread"), out, jsonl=True).run(lines)
        found = [json.loads(line) for line in out.getvalue().splitlines()]
        replies = [record for record in found if record["type"] == "reply" and "id" in record]
        assert len(replies) == 6, out.getvalue()
        for reply in replies:
            assert reply["answered_us"] - reply["sent_us"] >= 19_998, reply


def test_trace_follows_each_worker_s_answer_to_a_line_for_several_workers() -> None:
    """The pickling lesson (docs/classroom.md): ``.trace on``, then ``@t1,p1 ping``.
    Each pong is followed at once by its own worker's trace line: the thread's says
    nothing was pickled, the process's says how many bytes crossed its pipe.

    A line for several workers takes its own path through plain mode (not the
    one-worker path), so it is checked here on its own. Which worker answers first
    is up to them: each answer is checked with the line after it, not their order.
    """
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner

    out = io.StringIO()
    settings = Settings(kind="thread", name="t1")
    # fork: the process worker starts in milliseconds, whatever the platform's default.
    lines = [b".trace on\n", b".spawn p1 process --start-method fork\n", b"@t1,p1 ping\n"]
    status = PlainRunner(settings, out).run(lines)

    text = out.getvalue()
    section = text.split("> @t1,p1 ping\n")[1].splitlines()
    # Each pong's tag ("[t1 thread 4242]") and the line printed right after it.
    after_pong = {
        line.removesuffix(" pong"): section[number + 1]
        for number, line in enumerate(section[:-1])
        if line.endswith("] pong")
    }
    assert sorted(tag.split()[0] for tag in after_pong) == ["[p1", "[t1"], text
    crossed = {
        "[t1": r"queue\.SimpleQueue: not pickled \(same memory\); .+",
        "[p1": r"Pipe: \d+ B pickled out, \d+ B back; .+",
    }
    for tag, after in after_pong.items():
        assert after.startswith(f"{tag} "), f"{tag}'s pong is not followed by its trace:\n{text}"
        assert re.fullmatch(crossed[tag.split()[0]], after.removeprefix(f"{tag} ")), text
    assert status == 0, text


def test_a_late_answer_makes_the_exit_status_1_even_when_it_comes_in_the_end() -> None:
    """docs/console.md's exit statuses: 1 when "a line failed: ... a late answer". Here the
    late answer does come (before the next line's), and nothing else goes wrong:
    the status must still say that a line was not answered in time.

    The gate opens only when ``> ping`` is echoed, so ``gate`` is always late,
    whatever the timeout; ``.timeout 10`` then lets ``ping`` be answered in time.
    """
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner

    out = SeesText("> ping\n")
    settings = Settings(kind="thread", timeout=0.05, handlers={"gate": gate_opened_by(out)})
    status = PlainRunner(settings, out).run([b"gate\n", b".timeout 10\n", b"ping\n"])

    text = out.getvalue()
    assert "no answer yet to request 1 (gate) after 0.05 s" in text, text
    assert "late answer to request 1 (gate): opened\n" in text, text
    # Nothing else failed: the late answer alone is what the status is about.
    assert "error" not in text and "never answered" not in text, text
    assert status == 1, text


@pytest.mark.parametrize("seconds", ["0", "-0", "-1", "-0.001", "nan", "inf", "-inf"])
def test_a_timeout_that_is_not_a_positive_finite_number_is_a_one_line_usage_error(
    seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--timeout 0`` would report every request late at once (and ``nan`` never
    compares, ``inf`` never reports): refused before any worker starts, as another
    bad value is, with argparse's usage and one error line, status 2.

    The parser alone: it is what refuses, and nothing is started.
    """
    from doer.cli import create_parser

    with pytest.raises(SystemExit) as exited:
        # One argument, as `--timeout=-inf`: apart, argparse takes `-inf` for an option.
        create_parser().parse_args([f"--timeout={seconds}"])

    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: doer")
    errors = [line for line in captured.err.splitlines() if "error" in line]
    assert errors == [
        f"doer: error: argument --timeout: must be a positive number of seconds: {seconds!r}"
    ], captured.err


@pytest.mark.parametrize("seconds", ["0.001", "1e308"])
def test_a_timeout_just_inside_the_bounds_is_accepted(seconds: str) -> None:
    """The other side of the boundary: a small positive timeout and the largest
    finite ones are timeouts like any other."""
    from doer.cli import create_parser

    assert create_parser().parse_args(["--timeout", seconds]).timeout == float(seconds)


def test_a_line_for_several_stuck_workers_waits_one_timeout_for_all_not_one_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``@w1,b,c hold`` with all three stuck: their late notes come after one
    ``.timeout``, not three (the waits share one deadline).

    Recorded, not timed: the waits for ``hold`` do not block but move a clock of
    their own by the timeout they were given; the workers are let go once all
    three have been given up on, and their answers come late.
    """
    import types

    import doer.frontends.plain.runner
    from doer.console.session import Settings
    from doer.frontends.plain import PlainRunner

    release = threading.Event()
    given: list[float] = []
    now = [0.0]
    monkeypatch.setattr(
        doer.frontends.plain.runner, "time", types.SimpleNamespace(monotonic=lambda: now[0])
    )
    real_wait_for = PlainRunner.wait_for

    def wait_for(self: PlainRunner, pending: doer.Pending, timeout: float | None = None) -> object:
        if pending.message != "hold" or release.is_set():
            return real_wait_for(self, pending, timeout)
        timeout = self.console.settings.timeout if timeout is None else timeout
        given.append(timeout)
        now[0] += timeout
        if len(given) == 3:
            release.set()  # all three given up on: their answers come late
        raise TimeoutError

    monkeypatch.setattr(PlainRunner, "wait_for", wait_for)
    handlers = {"hold": lambda doer: release.wait(10) and "held"}
    out = io.StringIO()
    lines = [b".spawn b\n", b".spawn c\n", b"@w1,b,c hold\n"]
    PlainRunner(Settings(kind="thread", timeout=0.3, handlers=handlers), out).run(lines)

    assert given == [0.3, 0, 0], f"a timeout each, not one for all: {given}\n{out.getvalue()}"
    assert out.getvalue().count("held") == 3, out.getvalue()
