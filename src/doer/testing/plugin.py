"""A pytest plugin for testing your own use of doer: two fixtures.

Installed with doer (a ``pytest11`` entry point), so any test can ask for:

``doer_worker``
    A factory that starts a worker through the library::

        def test_my_handler(doer_worker):
            worker = doer_worker("process", state=0, handlers={"double": double})
            assert worker.ask(("double", 21)) == 42

    A ``"ray"`` worker joins ``address=`` (or ``$DOER_RAY_ADDRESS``), else
    starts a private cluster for the test session's process (seconds).

    ``handler_modules=["my_handlers.py"]`` gives it your ``@doer.handler``
    functions from files or dotted modules, loaded by the worker itself.

    Every worker is stopped at teardown; the test fails if one could not be.

``doer_console``
    A factory that starts the real ``doer`` command in a pty, driven by
    pexpect, and returns a :class:`DrivenConsole`::

        def test_the_console(doer_console):
            console = doer_console("--kind", "process")
            assert console.answer("ping") == "pong"

    The console runs in line mode (``--line-mode``) with a fixed prompt, the
    way a program should drive it: each line's answers, then the prompt. At teardown it is
    left with ``.quit``, killed if it hangs, and the test fails if any worker
    process it started is still there. When a test fails, each console's
    whole transcript is added to the report. A console that exits instead
    of prompting (a bad option, no Ray) fails the test at once, with its
    exit status and last lines. Line mode reads lines as a terminal does:
    4,095 bytes at most (a longer line is refused).

``doer_console`` needs pexpect, which doer itself does not (the library and
the console never use it): ``pip install 'doer[pytest]'`` installs it with
pytest, and without it the fixture says so rather than fail on an import.
Nothing is imported here that a test session not using doer would pay for:
pexpect only when a test asks for a console.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from doer.kinds import KINDS

if TYPE_CHECKING:
    import pexpect

    from doer.client.worker import Worker
    from doer.worker.doer import Handler

#: The prompt the driven console is given: no worker's answer looks like it.
PROMPT = "[doer-test]> "
#: Seconds to wait for the library's workers to start and to stop.
TIMEOUT_S = 10.0
#: Seconds to wait for a Ray worker to start: a private cluster boots in seconds.
RAY_TIMEOUT_S = 60.0
#: What installs the plugin's one requirement beyond doer and pytest (pexpect).
INSTALL_HINT = "pip install 'doer[pytest]'"
#: How many of its last lines a console that exited shows in the failure.
LAST_LINES = 10

_KIND = "|".join(KINDS)
_TAGGED = re.compile(rf"\[\S+ (?:{_KIND}) \d+\] ")
_START_EVENT = re.compile(rf"\[(\S+) ({_KIND}) (\d+)\] on start: ")

_transcripts_key = pytest.StashKey[list["DrivenConsole"]]()


class DrivenConsole:
    """The ``doer`` command in a pty, one line at a time.

    Attributes:
        workers: ``(kind, pid)`` of every worker it started, from the start
            events; ``kind`` and ``worker_pid`` are the last one's (the
            current worker, until a ``.spawn`` or a ``.use``); :meth:`pid_of`
            gives a worker's by name.
        transcript: everything the console printed, as printed.
        timeout: seconds to wait for a prompt (default: the console's
            ``--timeout`` and 5 s more).
    """

    def __init__(
        self, args: list[str], env: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> None:
        require_pexpect()
        import pexpect

        if "--prompt" in args or any(arg.startswith("--prompt=") for arg in args):
            raise ValueError("doer_console sets the prompt itself: leave --prompt out")
        self.args = args
        self.timeout = _console_timeout(args) if timeout is None else timeout
        # The doer installed beside this Python (the venv the tests run in), else the PATH's.
        beside = Path(sys.executable).with_name("doer")
        command = str(beside) if beside.exists() else shutil.which("doer") or "doer"
        self.child: pexpect.spawn[str] = pexpect.spawn(
            command,
            # Line mode by name, whatever TERM says; a test's lines are not the user's history.
            ["--line-mode", "--prompt", PROMPT, "--no-history", *args],
            env={**os.environ, **(env or {})},
            encoding="utf-8",
            codec_errors="replace",
            echo=False,  # a program typing: no echo of the lines typed
            timeout=self.timeout,
        )
        self.child.delaybeforesend = None
        self.transcript = ""
        #: Every worker the console started (a .restart starts another): kind, pid.
        self.workers: list[tuple[str, int]] = []
        self._pids: dict[str, int] = {}  # the latest worker of each name
        self._until_prompt(self.timeout)
        if not self.workers:
            raise AssertionError(f"the console did not start a worker:\n{self.transcript}")

    @property
    def kind(self) -> str:
        """The kind of the worker started last."""
        return self.workers[-1][0]

    @property
    def worker_pid(self) -> int:
        """The pid of the worker started last."""
        return self.workers[-1][1]

    def pid_of(self, name: str) -> int:
        """The pid of the worker called ``name`` (the latest of that name).

        Raises:
            KeyError: no worker of that name has started.
        """
        return self._pids[name]

    def _until_prompt(self, timeout: float) -> str:
        import pexpect

        try:
            self.child.expect_exact(PROMPT, timeout=timeout)
        except pexpect.EOF:
            # The console exited (a bad option, a file it cannot read, no Ray):
            # say so now, not when the timeout runs out.
            self.transcript += str(self.child.before)
            raise AssertionError(self._exited()) from None
        except pexpect.TIMEOUT:
            self.transcript += str(self.child.before)
            raise AssertionError(
                f"no prompt from the console within {timeout:g} s:\n{self.transcript}"
            ) from None
        before = str(self.child.before)
        self.transcript += before + PROMPT
        for name, kind, pid in _START_EVENT.findall(before):
            self.workers.append((kind, int(pid)))
            self._pids[name] = int(pid)
        return before

    def _exited(self) -> str:
        """Why no prompt will come: the console's exit status and its last lines.

        (When it failed to start, the test never got the console, so its
        transcript is not in the report: the last lines here are all it sees.)
        """
        last = [line for line in self.transcript.replace("\r", "").split("\n") if line]
        said = "\n".join(f"    {line}" for line in last[-LAST_LINES:]) or "    (nothing)"
        return f"the console exited with {self._exit_status()}; its last lines:\n{said}"

    def _exit_status(self, timeout: float = 2.0) -> str:
        """The console's exit status, once its output has ended.

        Its pty closes as it exits, so the status is there within moments; a
        console that closed its output and lingers is killed after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while self.child.isalive():  # also reaps it, setting the statuses read below
            if time.monotonic() > deadline:
                self.child.close(force=True)
                break
            time.sleep(0.01)  # a poll with a deadline, not a synchronisation
        if self.child.signalstatus is not None:
            return f"signal {signal.Signals(self.child.signalstatus).name}"
        return f"status {self.child.exitstatus}"

    def ask(self, line: str, timeout: float | None = None) -> list[str]:
        """Type ``line``; return the lines printed before the next prompt.

        Waits up to ``timeout`` seconds (default: the console's ``--timeout``
        and a margin, as the console itself gives up on an answer then).
        """
        self.child.sendline(line)
        self.transcript += line + "\n"
        before = self._until_prompt(self.timeout if timeout is None else timeout)
        return [text for text in before.replace("\r", "").split("\n") if text]

    def answer(self, line: str, timeout: float | None = None) -> str:
        """Type ``line``; return its one answer, without the ``[name kind pid]`` tag.

        An error is an answer too: ``error: ...``.

        Raises:
            AssertionError: the line was not answered by exactly one line.
        """
        lines = self.ask(line, timeout)
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
            self.child.expect(pexpect.EOF, timeout=self.timeout)
        except (pexpect.TIMEOUT, OSError):
            self.child.close(force=True)
            return None
        finally:
            self.transcript += str(self.child.before)
        self.child.close()
        status: int | None = self.child.exitstatus
        return status


def require_pexpect() -> None:
    """Fail with what to install when pexpect, which ``doer_console`` drives the
    console with, is missing: doer's own requirements leave it out, so a project
    that installed doer and pytest has the fixture but not pexpect.

    Raises:
        pytest.fail.Exception: pexpect cannot be imported; one line naming the extra.
    """
    try:
        import pexpect  # noqa: F401
    except ImportError:
        pass  # failed below, outside the except: the report is then this one line
    else:
        return
    pytest.fail(f"doer_console needs pexpect: {INSTALL_HINT}", pytrace=False)


def _console_timeout(args: list[str]) -> float:
    """How long to wait for a prompt: the console's ``--timeout`` (10 s by default), plus 5 s;
    with a Ray worker, a minute at least (its cluster may have to start)."""
    seconds = 10.0
    for number, arg in enumerate(args):
        value = args[number + 1] if arg == "--timeout" and number + 1 < len(args) else None
        if arg.startswith("--timeout="):
            value = arg.partition("=")[2]
        if value is not None:
            try:
                seconds = float(value)
            except ValueError:
                pass  # the console will say so itself
    if "ray" in args or "--kind=ray" in args:
        seconds = max(seconds, RAY_TIMEOUT_S)
    return seconds + 5.0


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
    from doer.client.worker import start

    workers: list[Worker] = []

    def start_worker(
        kind: str = "thread",
        state: Any = None,
        *,
        start_method: str | None = None,
        handlers: Mapping[str, Handler] | None = None,
        handler_modules: list[str] | None = None,
        address: str | None = None,
        shared: bool = False,
    ) -> Worker:
        if handler_modules:  # files or dotted modules of @doer.handler functions
            from doer.worker.handler_modules import HandlerModules

            handlers = HandlerModules(handler_modules, handlers)
        worker = start(
            kind,
            state,
            start_method=start_method,
            handlers=handlers,
            address=address,
            shared=shared,
        )
        workers.append(worker)
        worker.wait_started(RAY_TIMEOUT_S if kind == "ray" else TIMEOUT_S)
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
    require_pexpect()  # at setup: a missing requirement is an error, not the test's failure
    consoles = request.node.stash.setdefault(_transcripts_key, [])

    def start_console(
        *args: str, env: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> DrivenConsole:
        console = DrivenConsole(list(args), env, timeout)
        consoles.append(console)
        return console

    yield start_console
    left = []
    for console in consoles:
        console.quit()
        for kind, pid in console.workers:
            if kind in ("process", "ray") and not _worker_is_gone(pid):
                left.append(pid)
    assert not left, f"worker processes left running after the console ended: {left}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """On a failure, add each driven console's transcript to the report.

    (An old-style hook wrapper: it works with every pytest that has stash,
    7.0 on, since doer does not pin the pytest its users have.)
    """
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed:
        consoles: list[DrivenConsole] = item.stash.get(_transcripts_key, [])
        for number, console in enumerate(consoles, 1):
            title = f"doer console {number}: doer {' '.join(console.args)}"
            report.sections.append((title, console.transcript))
