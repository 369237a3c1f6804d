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
pexpect only when a test asks for a console. The console is driven by
:mod:`doer.testing.driver`, which doer's own tests and benchmarks drive it with too.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from doer.base.procfs import runs
from doer.kinds import KINDS, link_class
from doer.testing.driver import LAST_LINES as LAST_LINES  # how many a failed start shows
from doer.testing.driver import PtyConsole

if TYPE_CHECKING:
    import pexpect

    from doer.client.worker import Worker
    from doer.worker.doer import Handler

#: The prompt the driven console is given: no worker's answer looks like it.
PROMPT = "[doer-test]> "
#: Seconds to wait for the library's workers to start (at least: a kind may declare
#: a slower start, as a Ray worker's private cluster boots in seconds) and to stop.
TIMEOUT_S = 10.0
#: What installs the plugin's one requirement beyond doer and pytest (pexpect).
INSTALL_HINT = "pip install 'doer[pytest]'"

_KIND = "|".join(KINDS)
_TAGGED = re.compile(rf"\[\S+ (?:{_KIND}) \d+\] ")
_START_EVENT = re.compile(rf"\[(\S+) ({_KIND}) (\d+)\] on start: ")

_transcripts_key = pytest.StashKey[list["DrivenConsole"]]()


class DrivenConsole:
    """The ``doer`` command in a pty, one line at a time.

    Built on :class:`doer.testing.driver.PtyConsole` (``driver``; ``child`` is
    its pexpect child), which it starts in line mode with a fixed prompt.

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
        if "--prompt" in args or any(arg.startswith("--prompt=") for arg in args):
            raise ValueError("doer_console sets the prompt itself: leave --prompt out")
        self.args = args
        self.timeout = _console_timeout(args) if timeout is None else timeout
        self.driver = PtyConsole(
            # Line mode by name, whatever TERM says; a test's lines are not the user's history.
            ["--line-mode", "--prompt", PROMPT, "--no-history", *args],
            env={**os.environ, **(env or {})},
            echo=False,  # a program typing: no echo of the lines typed
            timeout=self.timeout,
            prompt=re.escape(PROMPT),
        )
        self.child: pexpect.spawn[str] = self.driver.child
        #: Every worker the console started (a .restart starts another): kind, pid.
        self.workers: list[tuple[str, int]] = []
        self._pids: dict[str, int] = {}  # the latest worker of each name
        self._note_workers(self.driver.expect_prompt(self.timeout))
        if not self.workers:
            raise AssertionError(f"the console did not start a worker:\n{self.transcript}")

    @property
    def transcript(self) -> str:
        """Everything the console printed, as printed, each typed line after its prompt."""
        return self.driver.raw

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

    def _note_workers(self, before: str) -> None:
        """Note the workers whose start events are in ``before`` (what came before a prompt)."""
        for name, kind, pid in _START_EVENT.findall(before):
            self.workers.append((kind, int(pid)))
            self._pids[name] = int(pid)

    def ask(self, line: str, timeout: float | None = None) -> list[str]:
        """Type ``line``; return the lines printed before the next prompt.

        Waits up to ``timeout`` seconds (default: the console's ``--timeout``
        and a margin, as the console itself gives up on an answer then).

        Raises:
            AssertionError: no prompt within ``timeout``, or the console exited
                first (its exit status and last lines).
        """
        before = self.driver.ask(line, self.timeout if timeout is None else timeout)
        self._note_workers(before)
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
        if not self.child.isalive():
            return self.driver.close()
        # Typed, not written down: the transcript ends with what the console said.
        ended = self.driver.end(".quit\r", timeout=self.timeout)
        status = self.driver.close()
        return status if ended else None


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
    """How long to wait for a prompt: the console's ``--timeout`` (10 s by default), or as
    long as a kind named may take to start if longer (a Ray worker: a minute, as its
    cluster may have to start); plus 5 s."""
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
    for kind in _kinds_named(args):
        seconds = max(seconds, link_class(kind).slow_start_s)
    return seconds + 5.0


def _kinds_named(args: list[str]) -> list[str]:
    """The kinds the console's ``args`` name: each that is a kind's name (``--kind K``),
    and ``--kind=K``."""
    named = [arg.removeprefix("--kind=") for arg in args]
    return [kind for kind in named if kind in KINDS]


def _worker_is_gone(pid: int, timeout: float = 2.0) -> bool:
    """Whether process ``pid`` has exited (a zombie has), within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not runs(pid):  # also where /proc cannot tell
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
        worker.wait_started(max(TIMEOUT_S, worker.slow_start_s))
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
            if link_class(kind).own_process and not _worker_is_gone(pid):
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
