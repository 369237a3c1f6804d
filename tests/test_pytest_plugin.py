"""The pytest plugin doer ships (``doer.pytest_plugin``), used as a tester would use it.

Its fixtures are in every test session where doer is installed: these tests
ask for them by name, with no import. One test runs a separate pytest session
(pytester) to see what a failing test's report shows.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import pytest

import doer
from doer.pytest_plugin import DrivenConsole
from handlers import double
from pty_helpers import wait_gone

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_doer_worker_starts_a_worker_with_handlers_of_my_own(
    doer_worker: Callable[..., doer.Worker], kind: str
) -> None:
    worker = doer_worker(kind, state=1, handlers={"double": double})
    assert worker.ask(("double", 21)) == 42
    assert worker.ask("get-state") == "state: 1"


def test_doer_console_gives_each_line_s_answers(
    doer_console: Callable[..., DrivenConsole],
) -> None:
    console = doer_console("--kind", "process", "--state", "42")
    assert console.kind == "process"
    assert console.answer("get-state") == "state: 42"
    assert console.answer("nonsense") == "unknown message nonsense"
    assert console.ask("whoami")[0].startswith(f"[w1 process {console.worker_pid}] pid ")
    assert console.ask(".wait") == ["wait: on"]


def test_doer_console_quits_the_console_and_its_worker(
    doer_console: Callable[..., DrivenConsole],
) -> None:
    console = doer_console("--kind", "process")
    assert console.quit() == 0
    wait_gone(console.worker_pid)
    assert "on end: state: None" in console.transcript


def test_doer_console_follows_a_restart_and_waits_as_long_as_the_console_s_timeout(
    doer_console: Callable[..., DrivenConsole],
) -> None:
    console = doer_console("--kind", "process", "--timeout", "20")
    assert console.timeout == 25.0
    first = console.worker_pid
    console.ask(".restart")
    assert console.worker_pid != first
    assert [kind for kind, _ in console.workers] == ["process", "process"]


def test_doer_console_drives_several_workers_and_knows_each_by_name(
    doer_console: Callable[..., DrivenConsole],
) -> None:
    console = doer_console("--kind", "thread")
    console.ask(".spawn p process")
    p = console.pid_of("p")
    assert console.worker_pid == p and console.pid_of("w1") != p

    answers = console.ask("@all ping")

    assert sorted(answers) == sorted(
        [f"[w1 thread {console.pid_of('w1')}] pong", f"[p process {p}] pong"]
    )
    # At teardown, the fixture checks that p (a process) is gone too.


def test_doer_console_refuses_a_prompt_of_the_test_s_own() -> None:
    with pytest.raises(ValueError, match="sets the prompt itself"):
        DrivenConsole(["--prompt", "mine> "])


def test_a_failing_test_shows_the_console_s_whole_transcript(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_wrong_answer(doer_console):
            console = doer_console("--kind", "thread")
            assert console.answer("ping") == "ping?"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*doer console 1: doer --kind thread*", "*on start: state: None*", "*pong*"]
    )


def test_a_failure_at_teardown_shows_the_console_s_whole_transcript_too(
    pytester: pytest.Pytester,
) -> None:
    """The fixture's own check at teardown (a worker process left running) fails a
    test whose body passed: its report needs the transcript as much as a failed
    assertion's, to see what the console said before it ended."""
    pytester.makepyfile(
        """
        import doer.pytest_plugin

        def test_leaves_a_worker(doer_console):
            # As if the worker outlived its console (the worker really ends):
            # only this session's copy of the plugin is changed.
            doer.pytest_plugin._worker_is_gone = lambda pid, timeout=2.0: False
            console = doer_console("--kind", "process")
            assert console.answer("ping") == "pong"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_a_worker*",
            "*worker processes left running after the console ended*",
            "*doer console 1: doer --kind process*",
            "*on start: state: None*",
            "*pong*",
        ]
    )


def test_doer_console_says_at_once_that_the_console_exited_and_why(
    doer_console: Callable[..., DrivenConsole],
) -> None:
    # It would wait 65 s for a prompt: a console that exits at once says so at once.
    began = time.monotonic()
    with pytest.raises(AssertionError) as failed:
        doer_console("--timeout", "60", "--script", "/nonexistent")
    took = time.monotonic() - began

    message = str(failed.value)
    assert message.startswith("the console exited with status 2; its last lines:\n"), message
    assert "cannot read /nonexistent" in message.splitlines()[1], message
    assert took < 20, f"{took:.1f} s"


def test_doer_console_without_pexpect_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pexpect", None)  # as if it were not installed
    with pytest.raises(pytest.fail.Exception) as failed:
        DrivenConsole(["--kind", "thread"])
    assert str(failed.value) == "doer_console needs pexpect: pip install 'doer[pytest]'"
