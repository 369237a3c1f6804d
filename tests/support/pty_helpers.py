"""Helpers for the end-to-end tests: the real ``doer`` command in a pty or behind pipes.

The pty side is :class:`doer.testing.driver.PtyConsole`, the driver the pytest
plugin and the benchmarks use too, set as ``docs/testing.md`` says:
``TERM=xterm``, ``PROMPT_TOOLKIT_NO_CPR=1``, ``NO_COLOR=1``, a wide pty, the
echo a terminal has, no delay before each send. Every byte the console writes
is kept; a failed expectation says what was expected and shows the whole log
with the escape codes stripped.

Matching is done on the *stripped* text (escape codes and carriage returns
removed), so a pattern never depends on how prompt-toolkit moves the cursor.

Processes: :func:`wait_gone` says a worker is gone only once it no longer exists
at all. A zombie is not gone: a console that exits cleanly must have reaped
its worker, and a worker orphaned by a killed console is reaped by the test
itself, which becomes a child subreaper for that (see :func:`child_subreaper`;
PID 1 of a container does not always reap orphans).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import pytest

import doer
from doer.base.procfs import set_child_subreaper
from doer.testing.driver import PtyConsole, doer_command, strip_ansi, terminal_env
from support.helpers import process_state

#: The console script of the venv the tests run in.
DOER = doer_command()

#: Generous per-expectation timeout: a healthy console answers in milliseconds.
TIMEOUT_S = 5.0

#: The worker's start event: its state and pid. The pid is anchored: a read can
#: split a number, and ``(\d+)`` at the end of a pattern would take half of it.
START_EVENT = (
    rf"\[(\S+) ({'|'.join(doer.KINDS)}) (\d+)(?=\D)\] on start: state: (.*?), pid: (\d+)(?=\D)"
)
CREATING = r"creating doer from process (\d+)(?=\D)"


def worker_pid_of(output: str) -> int:
    """The pid in the first start event of ``output``: the one way the tests read it."""
    started = re.search(START_EVENT, output)
    assert started is not None, f"no start event in:\n{output[:2000]}"
    return int(started.group(5))


def console_env(state_home: Path, *, no_color: bool = True) -> dict[str, str]:
    """The environment for one console: history under ``state_home``, never in ``~``."""
    return terminal_env(colour=not no_color, XDG_STATE_HOME=str(state_home))


def _sigint_as_from_a_terminal() -> None:
    """In the console's process, before it starts: SIGINT as a terminal's shell leaves it.

    A test run started in the background (``cmd &``, ``nohup``, some CI
    runners) has SIGINT ignored, and an ignored signal stays ignored across
    exec: the console and its workers would then survive SIGINT whether or not
    they guard against it, and the SIGINT tests would prove nothing.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """``doer`` (or a shell running it) in a real pty, driven by pexpect.

    Built on :class:`doer.testing.driver.PtyConsole` (``console``), which
    starts, types into and ends it, and keeps what it printed (``raw``); what
    is the tests' own is here: matching on the stripped text from where the
    last match ended, and the current worker's prompt.

    Args:
        args: the console's arguments.
        state_home: a temporary directory for ``XDG_STATE_HOME``.
        via_shell: run ``sh -c 'doer ARGS; echo console-exit=$?; exec sleep 60'``
            instead of ``doer`` itself: the console is then *not* the session
            leader of its terminal, as under a user's shell, so its death does
            not hang up the terminal (which would kill its worker for it).
    """

    def __init__(self, args: Sequence[str], state_home: Path, *, via_shell: bool = False) -> None:
        self.args = list(args)
        self.via_shell = via_shell
        self.pos = 0  # where in the stripped text the next expectation starts
        shell = None
        if via_shell:
            command = shlex.join([DOER, *self.args])
            shell = ["sh", "-c", f"{command}; echo console-exit=$?; exec sleep 60"]
        self.console = PtyConsole(
            self.args,
            env=console_env(state_home),
            rows=40,
            columns=250,
            echo=True,  # the echo a terminal has: echo off at start means a program (line mode)
            timeout=TIMEOUT_S,
            command=shell,
            preexec_fn=_sigint_as_from_a_terminal,
        )
        self.child = self.console.child
        self.console_pid = 0
        self.worker_pid = 0
        self.name = ""
        self.kind = ""
        self.state = ""

    # --- reading ------------------------------------------------------------------

    @property
    def raw(self) -> str:
        """Everything the console wrote so far, as it wrote it."""
        return self.console.raw

    @raw.setter
    def raw(self, text: str) -> None:
        self.console.raw = text

    @property
    def text(self) -> str:
        """Everything the console wrote so far, stripped of escape codes."""
        return strip_ansi(self.raw)

    def fail(self, message: str) -> NoReturn:
        """Fail the test with ``message``, what came since the last match, and the whole log."""
        text = self.text
        pytest.fail(
            f"{message}\n"
            f"--- actual output since the last match ---\n{text[self.pos :]}\n"
            f"--- the whole log (escape codes stripped) ---\n{text}\n--- end of log ---",
            pytrace=False,
        )

    def _read(self, timeout: float) -> bool:
        """Read what is there (waiting up to ``timeout``); False at end of file."""
        return self.console.read(timeout) is not None

    def expect(self, pattern: str, timeout: float = TIMEOUT_S) -> re.Match[str]:
        """Wait for ``pattern`` (a regex) in the stripped output after the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.text, self.pos)
            if match:
                self.pos = match.end()
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail(f"expected /{pattern}/ within {timeout:g} s; it did not come")
            if not self._read(min(remaining, 0.5)):
                match = regex.search(self.text, self.pos)
                if match:
                    self.pos = match.end()
                    return match
                self.fail(f"expected /{pattern}/; the console ended first")

    def expect_text(self, text: str, timeout: float = TIMEOUT_S) -> re.Match[str]:
        """Wait for the exact ``text``."""
        return self.expect(re.escape(text), timeout)

    def expect_count(self, text: str, count: int, timeout: float = TIMEOUT_S) -> None:
        """Wait until ``text`` has been printed ``count`` times since the last match."""
        deadline = time.monotonic() + timeout
        while self.text.count(text, self.pos) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(min(max(remaining, 0), 0.5)):
                seen = self.text.count(text, self.pos)
                self.fail(f"expected {text!r} {count} times within {timeout:g} s; saw it {seen}")
        self.pos = len(self.text)

    def expect_before(self, first: str, then: str, timeout: float = TIMEOUT_S) -> None:
        """Wait for ``first`` (a regex), and fail if ``then`` (a regex) came before it."""
        start = self.pos
        match = self.expect(first, timeout)
        early = re.search(then, self.text[start : match.start()])
        if early:
            self.fail(f"/{then}/ came before /{first}/; it should come after it")

    def expect_prompt(self, timeout: float = TIMEOUT_S) -> None:
        """Wait for the prompt of the current worker: ``doer w1 process 4242>``.

        Without the trailing space: prompt-toolkit draws it as a cursor move.
        """
        self.expect(re.escape(f"doer {self.name} {self.kind} {self.worker_pid}>"), timeout)

    def expect_eof(self, timeout: float = TIMEOUT_S) -> None:
        if not self.console.expect_end(timeout):
            self.fail(f"expected the console to end within {timeout:g} s; it still runs")

    def start(self) -> None:
        """Wait for the creating line, the start event and the prompt after it.

        Sets ``console_pid``, ``kind``, ``worker_pid`` and ``state``. After this
        the prompt has been drawn again below the start event, so prompt-toolkit
        reads keys in raw mode and a control key is taken as a key.
        """
        self.console_pid = int(self.expect(CREATING).group(1))
        started = self.expect(START_EVENT)
        self.name, self.kind, tag_pid, self.state, pid = started.groups()
        self.worker_pid = int(pid)
        if int(tag_pid) != self.worker_pid:
            self.fail(f"the start event is tagged {tag_pid} but says pid {pid}")
        self.expect_prompt()

    # --- writing ------------------------------------------------------------------

    def send(self, text: str) -> None:
        self.console.send(text)

    def send_in_chunks(self, data: str, chunk: int = 512, timeout: float = 30.0) -> None:
        """Write ``data`` as a terminal delivers a big paste: ``chunk`` bytes a write,
        reading what the console prints between writes (see
        :meth:`~doer.testing.driver.PtyConsole.send_in_chunks`). A console that stops
        taking keys fails the test after ``timeout`` seconds instead of hanging it.
        """
        try:
            self.console.send_in_chunks(data, chunk, timeout)
        except AssertionError as exc:
            self.fail(str(exc))

    def sendline(self, line: str) -> None:
        """Type ``line`` and Enter (a carriage return, as a terminal sends it)."""
        self.console.sendline(line)

    def answer(self, line: str) -> str:
        """Type ``line``; return the first answer printed for it, whatever it says.

        An answer is a line from the current worker (``[w1 kind pid] pong``, the tag
        is dropped) or an error from the console itself (``error: ...``). Taking
        whatever comes, instead of waiting for one text, makes a wrong answer
        fail at once, showing what it was.
        """
        self.sendline(line)
        tag = re.escape(f"[{self.name} {self.kind} {self.worker_pid}] ")
        return self.expect(rf"(?:{tag}|(?<!\S)(?=error: ))([^\n]*)\n").group(1)

    def ask(self, line: str, expected: str) -> None:
        """Type ``line``; require the answer ``expected`` and the prompt after it."""
        answer = self.answer(line)
        if answer != expected:
            self.fail(f"{line!r} was answered {answer!r}; expected {expected!r}")
        self.expect_prompt()

    # --- the end ------------------------------------------------------------------

    def exit_status(self) -> int | None:
        """The console's exit status, once it has ended (None if it was killed by a signal)."""
        return self.console.exit_status()

    def close(self) -> None:
        """Teardown: Ctrl-D at the prompt, wait for the end, SIGKILL if it hangs; always close.

        A Ctrl-D that lands while a reply is being printed (the terminal is in
        cooked mode then) is swallowed, so it is sent once more before the kill.
        """
        try:
            if not self.via_shell:
                with contextlib.suppress(OSError):
                    self.console.end("\x04", attempts=2, timeout=1.0, settle=0.5)
        finally:
            if self.child.isalive():
                with contextlib.suppress(OSError):
                    self.child.kill(9)
            self.console.close()


# --- processes ------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    """The resident memory of process ``pid``, in MiB (``VmRSS`` in ``/proc/PID/status``)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def wait_gone(pid: int, timeout: float = 1.0) -> float:
    """Wait until process ``pid`` no longer exists; return how long that took.

    A zombie is not gone. If the process has become this test's child (see
    :func:`child_subreaper`), it is reaped here as soon as it has exited.

    Raises:
        AssertionError: ``pid`` still exists after ``timeout`` seconds.
    """
    start = time.monotonic()
    while True:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        state = process_state(pid)
        if state is None:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            what = "a zombie nobody reaped" if state == "Z" else f"in state {state}"
            raise AssertionError(f"worker process {pid} still exists after {timeout:g} s: {what}")
        time.sleep(0.002)  # a poll interval with a deadline, not a synchronisation


@contextlib.contextmanager
def held(pid: int) -> Iterator[None]:
    """Hold worker process ``pid`` still (SIGSTOP) until the block ends (SIGCONT).

    The gate of the end-to-end tests: requests sent meanwhile stay pending for
    as long as the test needs, with no guess at how long a ``sleep`` lasts.
    """
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def assert_alive(pid: int) -> None:
    state = process_state(pid)
    assert state not in (None, "Z", "X"), f"process {pid} should be running; its state is {state}"


def wait_until_asleep(pid: int, timeout: float = 5.0) -> None:
    """Wait until process ``pid`` sleeps in ``time.sleep`` (a worker busy with ``sleep S``).

    The console echoes ``> sleep 30`` a moment *before* it sends the request,
    so the echo does not prove that the console is waiting for an answer; a
    worker asleep in ``nanosleep`` does. Read from ``/proc/PID/wchan``.
    """
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while True:
        try:
            with open(f"/proc/{pid}/wchan", encoding="ascii") as file:
                wchan = file.read()
        except OSError:
            pytest.skip("no /proc/PID/wchan here to see that the worker sleeps")
        if "nanosleep" in wchan:
            return
        seen.add(wchan)
        if time.monotonic() > deadline:
            if seen <= {"", "0"}:  # "0" is a running task, or a kernel that hides wchan
                pytest.skip("/proc/PID/wchan shows nothing here")
            raise AssertionError(f"worker {pid} is not asleep after {timeout:g} s: {seen}")
        time.sleep(0.002)  # a poll interval with a deadline, not a synchronisation


@contextlib.contextmanager
def child_subreaper() -> Iterator[None]:
    """Make this process adopt orphaned descendants, so that the test can reap them.

    A worker whose console was killed is orphaned; PID 1 adopts it, and in a
    container PID 1 may never reap it, which would leave a zombie the test
    cannot tell from a leak. As a subreaper the test adopts it instead and
    :func:`wait_gone` reaps it.
    """
    if not sys.platform.startswith("linux"):
        pytest.skip("needs prctl(PR_SET_CHILD_SUBREAPER)")
    if not set_child_subreaper(True):
        pytest.skip(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")
    try:
        yield
    finally:
        set_child_subreaper(False)


# --- plain mode -------------------------------------------------------------------------


def run_doer(
    args: Sequence[str], state_home: Path, *, stdin: bytes = b"", timeout: float = 15.0
) -> subprocess.CompletedProcess[bytes]:
    """Run ``doer ARGS`` with pipes (plain mode, no NO_COLOR); return what it did."""
    return subprocess.run(
        [DOER, *args],
        input=stdin,
        capture_output=True,
        env=console_env(state_home, no_color=False),
        timeout=timeout,
        check=False,
        preexec_fn=_sigint_as_from_a_terminal,
    )


def plain_console(
    state_home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``doer ARGS`` behind pipes (plain mode) in a session of its own, as a shell job.

    No ``NO_COLOR`` unless ``env`` says otherwise: colour must not leak into pipes.
    """
    return subprocess.Popen(
        [DOER, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env or console_env(state_home, no_color=False),
        start_new_session=True,
        preexec_fn=_sigint_as_from_a_terminal,
    )


def feed(console: subprocess.Popen[bytes], lines: bytes, until: str) -> tuple[str, int]:
    """Write ``lines`` to a plain console, read until ``until``; return that and the worker pid."""
    assert console.stdin is not None
    console.stdin.write(lines)
    console.stdin.flush()
    before = read_until(console, until)
    return before, worker_pid_of(before)


def assert_no_traceback(*outputs: str) -> None:
    for output in outputs:
        assert "Traceback" not in output, f"a traceback was printed:\n{output}"


def read_until(process: subprocess.Popen[bytes], pattern: str, timeout: float = 5.0) -> str:
    """Read the console's stdout until ``pattern`` shows; return all that was read."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    text = ""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, text):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"expected /{pattern}/ within {timeout:g} s; got:\n{text}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                pytest.fail(f"expected /{pattern}/; the console ended first; got:\n{text}")
            text += chunk.decode("utf-8", "replace")
    return text


# --- plain mode: many lines piped through ------------------------------------------


def numbered_lines(count: int) -> bytes:
    return "".join(f"set-state {n}\n" for n in range(count)).encode()


def run_piped(kind: str, stdin: bytes, state_home: Path, timeout: float) -> tuple[int, str, str]:
    """Run ``doer --kind KIND`` with ``stdin`` piped in; return status, stdout, stderr."""
    console = subprocess.Popen(
        [DOER, "--kind", kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=console_env(state_home),
    )
    try:
        out, err = console.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        console.kill()
        out, err = console.communicate()
        pytest.fail(
            f"doer --kind {kind} did not finish within {timeout:g} s; "
            f"the last output was:\n{out.decode(errors='replace')[-2000:]}"
        )
    return console.returncode, out.decode(), err.decode()


def assert_each_answered_once_in_order(stdout: str, kind: str, count: int) -> None:
    """The transcript is: creating line, start event, then ``> set-state N`` and
    ``[kind pid] new state: N`` for every N in order, then the end event. Nothing
    else, nothing missing, nothing twice."""
    pid = worker_pid_of(stdout)
    tag = f"[w1 {kind} {pid}]"
    lines = stdout.splitlines()
    assert lines[0].startswith("creating doer from process ")
    assert lines[1] == f"{tag} on start: state: None, pid: {pid}"
    body = lines[2:-1]
    assert lines[-1] == f"{tag} on end: state: {count - 1}, pid: {pid}", lines[-3:]
    echoes = body[0::2]
    answers = body[1::2]
    # Find the first difference instead of comparing 20,000 lines in one assert message.
    for n in range(count):
        assert n < len(echoes), f"only {len(echoes)} of {count} lines were echoed"
        assert echoes[n] == f"> set-state {n}", f"line {n} was echoed as {echoes[n]!r}"
        assert n < len(answers), f"only {len(answers)} of {count} lines were answered"
        assert answers[n] == f"{tag} new state: {n}", f"line {n} was answered {answers[n]!r}"
    assert len(body) == 2 * count, f"{len(body) - 2 * count} extra lines after the last answer"
