"""The pytest plugin doer ships (``doer.testing.plugin``), used as a tester would use it.

Its fixtures are in every test session where doer is installed: these tests
ask for them by name, with no import. One test runs a separate pytest session
(pytester) to see what a failing test's report shows.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import doer
from doer.testing.plugin import LAST_LINES, PROMPT, DrivenConsole
from support.handlers import double
from support.pty_helpers import wait_gone

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
        import doer.testing.plugin

        def test_leaves_a_worker(doer_console):
            # As if the worker outlived its console (the worker really ends):
            # only this session's copy of the plugin is changed.
            doer.testing.plugin._worker_is_gone = lambda pid, timeout=2.0: False
            console = doer_console("--kind", "process")
            assert console.answer("ping") == "pong"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_a_worker*",
            "E *AssertionError: worker processes left running after the console ended*",
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


#: A separate session run in-process needs no cache, and no asyncio plugin (which
#: would warn that this session's pytest.ini does not set its loop scope). Its
#: summary is left out (-rN): its "FAILED" lines, in the output of a failing test
#: here, would be taken by scripts/breaks.py for the name of the test that failed.
INNER_OPTIONS = ("-p", "no:cacheprovider", "-p", "no:asyncio", "-rN")


def console_sections(report: pytest.TestReport) -> list[tuple[str, str]]:
    """The sections the plugin added to ``report``: one per driven console."""
    return [(title, text) for title, text in report.sections if title.startswith("doer console")]


def test_only_a_failing_test_s_report_carries_the_transcript(pytester: pytest.Pytester) -> None:
    """A passing test's transcript is noise: ``-rP`` shows every passing report's
    sections, and would fill with consoles that did what was asked. The failing
    test beside it shows the sections are there when they should be."""
    pytester.makepyfile(
        """
        def test_right_answer(doer_console):
            assert doer_console("--kind", "thread").answer("ping") == "pong"

        def test_wrong_answer(doer_console):
            assert doer_console("--kind", "thread").answer("ping") == "ping?"
        """
    )
    # In-process: the reports themselves, not their printing, are what is checked.
    reports = pytester.inline_run(*INNER_OPTIONS)
    reports.assertoutcome(passed=1, failed=1)

    passed = [
        report
        for report in reports.getreports("pytest_runtest_logreport")
        if "test_right_answer" in report.nodeid
    ]
    assert [console_sections(report) for report in passed] == [[], [], []]
    failed = reports.matchreport("test_wrong_answer", when="call")
    assert [title for title, _ in console_sections(failed)] == [
        "doer console 1: doer --kind thread"
    ]


def test_a_failing_test_shows_every_console_it_drove_each_with_its_own_transcript(
    pytester: pytest.Pytester,
) -> None:
    """A test that drove two consoles may have gone wrong in either: the report
    shows both, numbered in the order they started, each with what it printed."""
    pytester.makepyfile(
        """
        def test_two_consoles(doer_console):
            first = doer_console("--kind", "thread", "--name", "first")
            second = doer_console("--kind", "thread", "--name", "second")
            assert first.answer("ping") == "pong"
            assert second.answer("ping") == "ping?"
        """
    )
    reports = pytester.inline_run(*INNER_OPTIONS)
    reports.assertoutcome(failed=1)

    sections = console_sections(reports.matchreport("test_two_consoles", when="call"))
    assert [title for title, _ in sections] == [
        "doer console 1: doer --kind thread --name first",
        "doer console 2: doer --kind thread --name second",
    ]
    assert "[first thread " in sections[0][1] and "[second thread " not in sections[0][1]
    assert "[second thread " in sections[1][1] and "[first thread " not in sections[1][1]


def test_the_transcript_shows_each_typed_line_after_its_prompt(
    doer_console: Callable[..., DrivenConsole],
) -> None:
    """The console runs without echo (a program typing), so the transcript a
    failure shows would have answers with no question unless the driver writes
    down each line it typed: after the prompt, as a terminal would show it."""
    console = doer_console("--kind", "thread")
    console.ask("set-state hola")
    console.ask("get-state")
    tag = f"[w1 thread {console.worker_pid}]"
    assert (
        f"{PROMPT}set-state hola\n{tag} new state: hola\r\n{PROMPT}get-state\n"
        f"{tag} state: hola\r\n{PROMPT}"
    ) in console.transcript, console.transcript


def test_a_console_that_exits_instead_of_prompting_shows_its_last_ten_lines(
    doer_console: Callable[..., DrivenConsole], tmp_path: Path
) -> None:
    """What went wrong is near the end of what a console printed (the error, how it
    ended), so a console that exits before its prompt shows its last lines, not its
    first. Here a script makes it print 16 lines and end (plain mode: no prompt)."""
    script = tmp_path / "fifteen.doer"
    script.write_text("".join(f"set-state {number}\n" for number in range(1, 16)))

    with pytest.raises(AssertionError) as failed:
        doer_console("--kind", "thread", "--script", str(script))

    shown = [re.sub(r"\d{3,}", "N", line) for line in str(failed.value).splitlines()]
    # The last ten: the end of the script's lines, then the worker's end.
    assert shown == [
        "the console exited with status 0; its last lines:",
        "    [w1 thread N] new state: 11",
        *(
            line
            for number in range(12, 16)
            for line in (f"    > set-state {number}", f"    [w1 thread N] new state: {number}")
        ),
        "    [w1 thread N] on end: state: 15, pid: N",
    ]
    assert len(shown) == 1 + LAST_LINES
