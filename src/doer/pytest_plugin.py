"""A pytest plugin for testing your own use of doer: two fixtures.

Installed with doer (a ``pytest11`` entry point), so any test can ask for:

``doer_worker``
    A factory that starts a worker through the library::

        def test_my_handler(doer_worker):
            worker = doer_worker("process", state=0, handlers={"double": double})
            assert worker.ask(("double", 21)) == 42

    Every worker is stopped at teardown; the test fails if one could not be.

``doer_console``
    A factory that starts the real ``doer`` command in a pty, driven by
    pexpect, and returns a :class:`DrivenConsole`::

        def test_the_console(doer_console):
            console = doer_console("--kind", "process")
            assert console.answer("ping") == "pong"

    The console runs in line mode with a fixed prompt, the way a program
    should drive it: each line's answers, then the prompt. At teardown it is
    left with ``.quit``, killed if it hangs, and the test fails if its worker
    process is still there. When a test fails, each console's whole
    transcript is added to the report.

Nothing is imported here that a test session not using doer would pay for:
pexpect (a test requirement of yours, not of doer) only when a console starts.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import pexpect

    from doer.client import Worker
    from doer.worker import Handler

#: The prompt the driven console is given: no worker's answer looks like it.
PROMPT = "[doer-test]> "
#: Seconds to wait for the console: for its start, and for each line's answers.
TIMEOUT_S = 10.0

_TAGGED = re.compile(r"\[(?:thread|process) \d+\] ")
_START_EVENT = re.compile(r"\[(thread|process) (\d+)\] on start: ")

_transcripts_key = pytest.StashKey[list["DrivenConsole"]]()


class DrivenConsole:
    """The ``doer`` command in a pty, one line at a time.

    Attributes:
        kind: the worker's kind, from its start event.
        worker_pid: the worker's pid, from its start event.
        transcript: everything the console printed, as printed.
    """

    def __init__(self, args: list[str], env: Mapping[str, str] | None = None) -> None:
        import pexpect

        self.args = args
        # The doer installed beside this Python (the venv the tests run in), else the PATH's.
        beside = Path(sys.executable).with_name("doer")
        command = str(beside) if beside.exists() else shutil.which("doer") or "doer"
        self.child: pexpect.spawn[str] = pexpect.spawn(
            command,
            ["--prompt", PROMPT, *args],
            env={**os.environ, **(env or {})},
            encoding="utf-8",
            codec_errors="replace",
            echo=False,  # a program typing: line mode, no echo of the lines typed
            timeout=TIMEOUT_S,
        )
        self.child.delaybeforesend = None
        self.transcript = ""
        before = self._until_prompt()
        started = _START_EVENT.search(before)
        if started is None:
            raise AssertionError(f"the console did not start a worker:\n{self.transcript}")
        self.kind, self.worker_pid = started.group(1), int(started.group(2))

    def _until_prompt(self) -> str:
        import pexpect

        try:
            self.child.expect_exact(PROMPT)
        except (pexpect.TIMEOUT, pexpect.EOF):
            self.transcript += str(self.child.before)
            raise AssertionError(
                f"no prompt from the console within {TIMEOUT_S:g} s:\n{self.transcript}"
            ) from None
        before = str(self.child.before)
        self.transcript += before + PROMPT
        return before

    def ask(self, line: str) -> list[str]:
        """Type ``line``; return the lines printed before the next prompt."""
        self.child.sendline(line)
        self.transcript += line + "\n"
        return [text for text in self._until_prompt().replace("\r", "").split("\n") if text]

    def answer(self, line: str) -> str:
        """Type ``line``; return its one answer, without the ``[kind pid]`` tag.

        An error is an answer too: ``error: ...``.

        Raises:
            AssertionError: the line was not answered by exactly one line.
        """
        lines = self.ask(line)
        if len(lines) != 1:
            raise AssertionError(f"{line!r} was answered by {len(lines)} lines: {lines}")
        return _TAGGED.sub("", lines[0], count=1)

    def quit(self) -> int | None:
        """``.quit``; return the exit status (None if it had to be killed)."""
        import pexpect

        if not self.child.isalive():
            self.child.close(force=True)
            ended: int | None = self.child.exitstatus
            return ended
        try:
            self.child.sendline(".quit")
            self.child.expect(pexpect.EOF, timeout=TIMEOUT_S)
        except (pexpect.TIMEOUT, OSError):
            self.child.close(force=True)
            return None
        finally:
            self.transcript += str(self.child.before)
        self.child.close()
        status: int | None = self.child.exitstatus
        return status


def _worker_is_gone(pid: int, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                if stat.read().rpartition(")")[2].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        except OSError:  # no /proc here: cannot tell
            return True
        time.sleep(0.01)  # a poll with a deadline, not a synchronisation
    return False


@pytest.fixture
def doer_worker() -> Iterator[Callable[..., Worker]]:
    """Start workers through the library; all are stopped at teardown."""
    from doer.client import start

    workers: list[Worker] = []

    def start_worker(
        kind: str = "thread",
        state: Any = None,
        *,
        start_method: str | None = None,
        handlers: Mapping[str, Handler] | None = None,
    ) -> Worker:
        worker = start(kind, state, start_method=start_method, handlers=handlers)
        workers.append(worker)
        worker.wait_started(TIMEOUT_S)
        return worker

    yield start_worker
    left = []
    for worker in workers:
        worker.stop(TIMEOUT_S)
        if worker.alive:
            left.append(repr(worker))
    assert not left, f"workers still running after stop(): {left}"


@pytest.fixture
def doer_console(request: pytest.FixtureRequest) -> Iterator[Callable[..., DrivenConsole]]:
    """Start the ``doer`` command in a pty; each is quit and checked at teardown."""
    consoles = request.node.stash.setdefault(_transcripts_key, [])

    def start_console(*args: str, env: Mapping[str, str] | None = None) -> DrivenConsole:
        console = DrivenConsole(list(args), env)
        consoles.append(console)
        return console

    yield start_console
    left = []
    for console in consoles:
        console.quit()
        if console.kind == "process" and not _worker_is_gone(console.worker_pid):
            left.append(console.worker_pid)
    assert not left, f"worker processes left running after the console ended: {left}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure, add each driven console's transcript to the report."""
    report = yield
    if report.failed:
        consoles: list[DrivenConsole] = item.stash.get(_transcripts_key, [])
        for number, console in enumerate(consoles, 1):
            title = f"doer console {number}: doer {' '.join(console.args)}"
            report.sections.append((title, console.transcript))
    return report
