"""End to end through a real pty: what only a terminal shows.

Each test starts the ``doer`` command under pexpect (see ``support.pty_helpers``) and
types at it as a person would. The in-process shell tests cover the logic;
these cover the terminal: the prompt drawn with kind and pid, replies printed
above a live prompt, Ctrl-C and Ctrl-D as keys, the exit status, and what is
left running afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from support import handlers
from support.helpers import CONSOLE_KINDS, cpu_seconds, wait_until
from support.pty_helpers import Terminal, assert_alive, held, strip_ansi, wait_gone

KINDS = CONSOLE_KINDS

Launch = Callable[..., Terminal]  # the conftest fixture `launch`


# --- the prompt, a round trip -----------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_prompt_shows_the_kind_and_pid_and_ping_gets_pong(launch: Launch, kind: str) -> None:
    term = launch("--kind", kind, "--state", "42")

    assert term.console_pid == term.child.pid, "the creating line names the console's own pid"
    assert (term.kind, term.state) == (kind, "42")
    if kind == "process":
        assert term.worker_pid != term.console_pid, "a process worker has a pid of its own"
        assert_alive(term.worker_pid)
    else:
        assert term.worker_pid == term.console_pid, f"a {kind} worker runs in the console"
    term.ask("ping", "pong")
    whoami = term.answer("whoami")
    if kind == "process":
        assert whoami.startswith(f"pid {term.worker_pid}, ppid {term.console_pid},"), whoami
    elif kind == "asyncio":  # a task on the loop that runs the prompt: the main thread
        assert f" {term.console_pid}, task w1-task," in whoami, whoami  # its thread's id
    term.expect_prompt()


# --- replies arrive while the prompt is live -----------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_is_printed_while_the_prompt_takes_more_lines(
    launch: Launch, kind: str, tmp_path: Path
) -> None:
    term = launch("--kind", kind, "--handlers", handlers.FILE)
    pid = term.worker_pid
    gate = tmp_path / "open"

    term.sendline(f"gate {gate}")  # pending until the test opens the gate (it awaits, as sleep)
    # prompt-toolkit redraws the accepted line with its prompt: that is not a new prompt.
    term.expect_text(f"doer w1 {kind} {pid}> gate {gate}")
    # Proof that the prompt is live: the shell answers .help while the request is pending.
    term.sendline(".help")
    term.expect_before(r"\.help +show this help", then=r"passed")
    gate.touch()
    term.expect(rf"\[w1 {kind} {pid}\] passed open\n")
    term.expect_prompt()
    term.ask("ping", "pong")


# --- keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_at_the_prompt_clears_the_line_and_the_worker_lives(
    launch: Launch, kind: str
) -> None:
    term = launch("--kind", kind)
    pid = term.worker_pid

    term.send("abc")
    term.expect_text("abc")  # drawn by prompt-toolkit, so it reads keys in raw mode now
    term.send("\x03")
    # A line not cleared would be sent as "abcping"; a dead worker would not answer.
    assert term.answer("ping") == "pong"
    term.expect_prompt()
    assert term.worker_pid == pid
    if kind == "process":
        assert_alive(pid)


@pytest.mark.parametrize(
    ("kind", "how"),
    [("thread", ".quit"), ("process", ".quit"), ("thread", "ctrl-d"), ("process", "ctrl-d")],
)
def test_quit_and_ctrl_d_end_the_worker_and_exit_0(launch: Launch, kind: str, how: str) -> None:
    term = launch("--kind", kind, "--state", "42")
    pid = term.worker_pid

    if how == ".quit":
        term.sendline(".quit")
    else:
        term.send("\x04")
    term.expect_text(f"[w1 {kind} {pid}] on end: state: 42, pid: {pid}\n")
    term.expect_eof()
    assert term.exit_status() == 0
    # The console joined its worker before it left: no process, not even a zombie.
    wait_gone(pid, timeout=1.0)


# --- the recipe ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_recipe_replayed_at_the_prompt(launch: Launch, kind: str, tmp_path: Path) -> None:
    term = launch("--kind", kind, "--state", "42")
    pid = term.worker_pid
    assert term.state == "42"

    term.ask("ping", "pong")
    term.ask("foo", "unknown message foo")
    term.ask("set-state hola!", "new state: hola!")
    term.sendline("exit")
    term.expect_text(f"[w1 {kind} {pid}] on end: state: hola!, pid: {pid}\n")
    term.expect_text("doer (no worker)>")
    term.sendline(".quit")
    term.expect_eof()
    assert term.exit_status() == 0
    assert "Traceback" not in term.text
    # The history went where XDG_STATE_HOME says (so no test writes to ~).
    assert "set-state hola!" in (tmp_path / "doer" / "history").read_text()


def test_restart_process_gives_a_new_worker_with_a_new_pid(launch: Launch) -> None:
    term = launch("--kind", "process", "--state", "42")
    old = term.worker_pid

    term.sendline(".restart process")
    term.expect_text(f"[w1 process {old}] on end: state: 42, pid: {old}\n")
    new = int(term.expect(r"\[w1 process (\d+)\] on start: state: 42, pid: \1(?=\D)").group(1))
    assert new not in (old, term.console_pid)
    term.worker_pid = new
    term.expect_prompt()
    term.ask("ping", "pong")
    wait_gone(old, timeout=1.0)  # the console joined the old worker


# --- several workers ---------------------------------------------------------------------


def test_three_kinds_answer_one_line_side_by_side_and_quit_leaves_none(launch: Launch) -> None:
    """The newcomer's first lesson: a thread, a process and a task answer ``@all whoami``."""
    term = launch("--kind", "thread")
    console = term.console_pid
    term.sendline(".spawn p process")
    p = int(term.expect(r"\[p process (\d+)\] on start: state: None, pid: \1(?=\D)").group(1))
    term.sendline(".spawn a asyncio")
    term.expect_text(f"[a asyncio {console}] on start: state: None, pid: {console}")

    term.sendline("@all whoami")
    answers = {
        name: int(pid)
        for name, pid in (
            term.expect(r"\[(w1|p|a) \w+ \d+\] pid (\d+)(?=\D)").groups() for _ in range(3)
        )
    }
    assert answers == {"w1": console, "p": p, "a": console}, "a process alone has its own pid"
    assert p != console

    term.sendline(".workers")
    workers = (("w1", "thread", console), ("p", "process", p), ("a", "asyncio", console))
    for name, kind, pid in workers:
        term.expect(rf"\n[ *] {name} +{kind} +{pid} +running ")
    term.expect_prompt()

    term.sendline(".quit")
    term.expect_eof()
    for name, kind, pid in workers:
        assert f"[{name} {kind} {pid}] on end: state: None, pid: {pid}" in term.text
    assert term.exit_status() == 0
    wait_gone(p, timeout=1.0)
    assert "Traceback" not in term.text


# --- the lessons that only a terminal shows -------------------------------------------------


def test_peek_and_timeline_on_a_thread_and_a_process(launch: Launch) -> None:
    term = launch("--kind", "thread")
    term.sendline(".spawn p process")
    term.expect_text("[p process ")
    term.sendline("@w1,p set-state 7")
    term.expect_count("new state: 7", 2)

    term.sendline(".peek")
    term.expect_text("[console] w1's state: 7 (live: its memory is the console's)")
    term.sendline(".peek p")
    term.expect_text("[console] p's state: None (the console's copy; p said 7)")

    term.sendline("@w1,p work 2000000")
    term.expect_count(" s CPU", 2)
    term.sendline(".timeline")
    term.expect_text("timeline of @w1,p work 2000000 (one character: ")
    term.expect(r"\nw1 thread +[█▓▒░·▏▎▍▌▋▊▉]+ +\d")  # shaded by how much it ran
    term.expect(r"\np process +[█▓▒░·▏▎▍▌▋▊▉]+ +\d")
    term.expect(r"\n +0 s +0\.")  # the axis


def test_work_on_an_asyncio_worker_freezes_the_prompt_and_sleep_does_not(launch: Launch) -> None:
    """The task runs on the loop that runs the prompt. Keys typed while it works
    are drawn only once it is done: no sooner after they were typed than the
    time the worker itself says the loop was blocked. While it sleeps (awaits),
    they are drawn at once, before the sleep ends."""
    term = launch("--kind", "asyncio")
    before = cpu_seconds(term.console_pid)
    sent = time.monotonic()
    term.sendline("work 12000000")
    # Type once the work is under way: a tenth of a second of CPU, more than
    # drawing a prompt takes.
    wait_until(lambda: cpu_seconds(term.console_pid) > before + 0.1, 10.0, "the work to begin")
    typed = time.monotonic()
    start = term.pos
    term.send("typed-while-working")
    term.expect_text("typed-while-working")
    drawn_after = time.monotonic() - typed
    term.pos = start  # the answer may be printed just before the keys are drawn, or after
    blocked = float(term.expect(r"its event loop was blocked ([\d.]+) s").group(1))
    still_blocked = blocked - (typed - sent)  # at least this long after the keys were typed
    assert still_blocked > 0.1, "the work outlasted the typing"
    assert drawn_after >= 0.9 * still_blocked, (drawn_after, still_blocked)
    term.send("\x03")  # clear the line
    term.expect_prompt()

    term.sendline("sleep 2")
    term.send("typed-while-sleeping")
    term.expect_before("typed-while-sleeping", then="slept 2 s")
    term.send("\x03")
    term.sendline(".quit!")  # drops the sleep: nothing to wait for
    term.expect_eof()


def test_a_segfault_ends_a_process_worker_alone_and_the_console_goes_on(launch: Launch) -> None:
    term = launch("--kind", "process")
    pid = term.worker_pid
    term.sendline(".spawn t thread")
    term.expect_text("[t thread ")

    term.sendline("segfault")
    term.expect_text(f"[w1 process {pid}] died: killed by SIGSEGV")
    term.sendline("@t segfault")
    term.expect_text("refused: it would end the console; see segfault thread")
    term.sendline("@t ping")
    term.expect_text("] pong")
    wait_gone(pid, timeout=1.0)
    assert "Segmentation fault" not in term.text and "Traceback" not in term.text


# --- bad input ---------------------------------------------------------------------------


def test_an_unclosed_quote_is_a_one_line_error(launch: Launch) -> None:
    term = launch("--kind", "thread")

    term.sendline("set-state 'hola")
    # One line, then straight back to the prompt: nothing else was printed, nothing was sent.
    term.expect(
        r"\nerror: cannot split the line: no closing quotation\n\s*"
        + re.escape(f"doer w1 thread {term.worker_pid}>")
    )
    term.ask("get-state", "state: None")
    assert "Traceback" not in term.text


@pytest.mark.parametrize("kind", KINDS)
def test_control_characters_in_a_line_never_reach_the_screen(launch: Launch, kind: str) -> None:
    term = launch("--kind", kind)

    # A bracketed paste puts the characters into the line as they are.
    term.send("\x1b[200~foo\x01bar\x1b[31mred\x00\x1b[201~")
    term.expect_text("foo^Abar")  # prompt-toolkit shows them as ^A, ^[, ^@
    answer = term.answer("")
    # Either the console refuses the line, or the worker's answer shows the characters
    # escaped; both are one line. A raw ESC [31m or ^A would reach the terminal itself.
    assert answer.startswith("error: ") or answer == r"unknown message foo\x01bar\x1b[31mred\x00"
    assert "\x01" not in term.raw
    assert "\x1b[31m" not in term.raw
    term.expect_prompt()
    term.ask("ping", "pong")
    assert "Traceback" not in term.text


# --- a worker's own SIGINT -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_process_worker_ignores_sigint_sent_to_it(launch: Launch, method: str) -> None:
    """A terminal's Ctrl-C reaches the worker too (the whole foreground group).

    Under ``fork`` the worker inherits a handler by accident; under ``spawn``
    and ``forkserver`` it must ignore SIGINT on purpose. In raw mode the pty
    sends Ctrl-C to prompt-toolkit as a key, so the signal is sent to the worker.
    """
    term = launch("--kind", "process", "--start-method", method)
    pid = term.worker_pid

    os.kill(pid, signal.SIGINT)
    # The signal is pending before the ping is sent: a worker that dies of it cannot answer.
    term.ask("ping", "pong")
    assert term.answer("whoami").startswith(f"pid {pid},")
    term.expect_prompt()
    assert_alive(pid)


def test_a_sigint_sent_to_the_console_does_what_ctrl_c_does(launch: Launch) -> None:
    """``kill -INT`` on the console: at a prompt the line is cleared; while ``.quit``
    waits for an answer, it stops waiting. The workers are not touched."""
    term = launch("--kind", "process")
    worker = term.worker_pid
    term.send("half a line")
    term.expect_text("half a line")
    os.kill(term.child.pid, signal.SIGINT)
    term.expect_prompt()
    term.ask("ping", "pong")  # the half line is gone: only ping was sent
    assert "unknown message half" not in term.text
    assert_alive(worker)
    term.sendline("sleep 5")
    term.sendline(".quit")
    term.expect_text("waiting for 1 pending request(s)")
    os.kill(term.child.pid, signal.SIGINT)
    term.expect_text("stopped waiting: 0 of 1 answered, 1 dropped")
    term.expect_eof()
    assert term.exit_status() == 0


def test_strip_ansi_leaves_the_text() -> None:
    """The helper these tests rely on: what a person would read, nothing else."""
    drawn = "\x1b[0m\x1b[?7l\x1b[Jdoer process 42>\x1b[0m \x08\x1b[7A\r\r\n[process 42] pong\r\r\n"
    assert strip_ansi(drawn) == "doer process 42>\n[process 42] pong\n"


def test_the_terminal_stays_raw_while_the_shell_is_busy_between_prompts(launch: Launch) -> None:
    """Keys typed while a line is handled must wait for the next prompt, unechoed.

    In cooked mode the terminal itself would echo them over the output (and
    turn Ctrl-C into SIGINT). ``.quit`` with a request pending keeps the shell
    busy between prompts for as long as the worker is held (stopped).
    """
    term = launch("--kind", "process")
    with held(term.worker_pid):
        term.sendline("ping")
        term.sendline(".quit")
        term.expect_text("waiting for 1 pending request(s)")
        lflags = termios.tcgetattr(term.child.child_fd)[3]
        assert not lflags & termios.ECHO, "the terminal echoes keys between prompts"
        assert not lflags & termios.ICANON, "the terminal is in line mode between prompts"
    term.expect_text("all 1 pending request(s) answered")
    term.expect_eof()


def test_the_terminal_stays_raw_while_a_burst_of_answers_is_printed(launch: Launch) -> None:
    """Printing an answer above the prompt must not switch the terminal to cooked mode.

    prompt-toolkit's usual way to print above a prompt does, for the moment it
    prints: a key typed then is echoed by the terminal, a Ctrl-D is taken as
    end-of-file. The flags are sampled as fast as can be while 300 answers are
    printed; in cooked mode even for a moment per answer, samples catch it.
    """
    term = launch("--kind", "thread")
    fd = term.child.child_fd
    done = threading.Event()
    samples = cooked = 0

    def sample() -> None:
        nonlocal samples, cooked
        while not done.is_set():
            if termios.tcgetattr(fd)[3] & (termios.ICANON | termios.ECHO):
                cooked += 1
            samples += 1

    sampler = threading.Thread(target=sample, name="test-termios-sampler")
    sampler.start()
    try:
        term.send("ping\r" * 300)
        term.expect_count("] pong", 300, timeout=20.0)
    finally:
        done.set()
        sampler.join()
    assert samples > 1000, f"too few samples to tell: {samples}"
    assert cooked == 0, f"the terminal was cooked in {cooked} of {samples} samples"


def test_ctrl_c_while_a_request_is_pending_leaves_the_worker_and_its_answer_alone(
    launch: Launch,
) -> None:
    """Spawned, so the worker could not survive a SIGINT by inheriting a handler."""
    term = launch("--kind", "process", "--start-method", "spawn")
    pid = term.worker_pid
    with held(pid):  # the request stays pending until the Ctrl-C is taken
        term.sendline("whoami")
        term.expect_prompt()
        term.send("half-typed")
        term.expect_text("half-typed")
        term.send("\x03")
        term.expect_prompt()  # a fresh prompt: the Ctrl-C was taken
    term.expect_text(f"] pid {pid}, ")
    assert term.answer("ping") == "pong"
    assert_alive(pid)
