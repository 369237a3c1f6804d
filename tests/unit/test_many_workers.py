"""Several workers in one console: names, ``@`` routing, ``.spawn`` and its kin.

Three layers, as everywhere: what a line means and what the console does with
it (no terminal), the shell driven in-process, and plain mode behind pipes.
The pty end-to-end tests are in ``test_e2e.py`` and ``test_no_worker_left.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from doer.client.supervision import RestartPolicy
from doer.client.worker import Worker
from doer.console.outcomes import Restart, Spawned
from doer.console.render import plain, workers_table
from doer.console.session import Console, Settings
from doer.console.syntax import ALL, Invalid, Message, check_name, interpret
from doer.frontends.shell import ConsoleCompleter
from support.helpers import leftovers, pid_is_gone, wait_until
from support.pty_helpers import run_doer
from support.shell_helpers import driven_shell

T = 10.0

# --- what a line means ------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "meant"),
    [
        ("@p1 ping", Message("ping", ("p1",))),
        ("  @p1   set-state 5", Message(("set-state", 5), ("p1",))),
        ("@a,b whoami", Message("whoami", ("a", "b"))),
        ("@b,a,b ping", Message("ping", ("b", "a"))),  # each once, in the order given
        ("@all ping", Message("ping", (ALL,))),
        ("@p1,all ping", Message("ping", (ALL,))),
        ("ping", Message("ping", ())),
    ],
)
def test_an_at_line_names_the_workers_its_message_goes_to(line: str, meant: Message) -> None:
    assert interpret(line) == meant


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("@ ping", "@ takes worker names"),
        ("@1x ping", "@ takes worker names"),
        ("@a,,b ping", "@ takes worker names"),
        ("@p1", "@p1 needs a message to send: @p1 ping"),
        ("@p1 # a comment", "@p1 needs a message to send"),
        ("@p1 .status", ".status is for the console, not for a worker: it takes the name itself"),
        ("@p1 @p2 ping", "one @ per line"),
        ('@p1 set-state "x', "cannot split the line: no closing quotation"),
    ],
)
def test_a_malformed_at_line_is_one_error(line: str, error: str) -> None:
    meant = interpret(line)
    assert isinstance(meant, Invalid)
    assert meant.error.startswith(error), meant.error


@pytest.mark.parametrize("name", ["p", "w1", "fast-one", "T_2", "a" * 16])
def test_a_worker_name_is_a_short_word(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("1x", "not a worker name"),
        ("has space", "not a worker name"),
        ("a" * 17, "not a worker name"),
        ("", "not a worker name"),
        ("all", "@all means every running worker"),
        ("process", "it is a kind"),
    ],
)
def test_a_name_that_cannot_name_a_worker_is_refused_with_the_reason(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_name(name)


# --- what the console does with it ------------------------------------------------


@pytest.fixture
def console() -> Iterator[Console]:
    """A console with its first worker, a thread called w1; every worker stopped after."""
    console = Console(Settings(kind="thread", state=42), listener=lambda worker, record: None)
    console.start().wait_started(T)
    yield console
    assert console.stop_all(T) == []
    for worker in console.workers.values():
        assert leftovers(worker) == []


def spawned(console: Console, argument: str) -> Worker:
    outcome = console.carry_out(interpret(f".spawn {argument}"))  # type: ignore[arg-type]
    assert isinstance(outcome, Spawned)
    outcome.worker.wait_started(T)
    return outcome.worker


def test_spawn_starts_a_named_worker_of_the_kind_and_state_asked_for(console: Console) -> None:
    p = spawned(console, "p process --start-method spawn --state hola!")
    a = spawned(console, "a asyncio")

    assert (p.name, p.kind, p.start_method, p.state) == ("p", "process", "spawn", "hola!")
    assert (a.name, a.kind, a.state) == ("a", "asyncio", 42), "the command line's state"
    assert list(console.workers) == ["w1", "p", "a"]
    assert console.worker is console.workers["w1"], "spawning does not change the current one"


@pytest.mark.parametrize(
    ("argument", "error"),
    [
        ("", ".spawn needs a name"),
        ("w1", "there is a worker named w1 already"),
        ("p fibre", "cannot spawn as 'fibre'"),
        ("p thread process", "one kind at most"),
        ("p thread --start-method spawn", "--start-method applies to process workers"),
        ("p process --start-method", "--start-method needs a value"),
        ("p process --start-method nope", "no start method 'nope'"),
        ("p --colour red", "unknown option --colour"),
        ("all", "@all means every running worker"),
        ('p --state "x', "cannot read"),
    ],
)
def test_a_bad_spawn_is_one_error_and_starts_nothing(
    console: Console, argument: str, error: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        console.carry_out(interpret(f".spawn {argument}"))  # type: ignore[arg-type]
    assert list(console.workers) == ["w1"]


def test_spawn_puts_a_fresh_worker_in_the_place_of_an_ended_one_of_that_name(
    console: Console,
) -> None:
    """A name is taken while its worker runs, not after it ends: ``.spawn p`` again
    starts a fresh ``p`` where the old one was."""
    old = spawned(console, "p --state 1")
    assert old.stop(T) is not None

    fresh = spawned(console, "p --state 2")

    assert fresh is not old and fresh.alive and not old.alive
    assert console.workers["p"] is fresh, "the name now finds the fresh one"
    assert list(console.workers) == ["w1", "p"], "in the old one's place, not a second p"
    assert fresh.ask("get-state", timeout=T) == "state: 2"
    assert console.targets(("p",)) == [fresh]


def test_targets_are_the_workers_named_every_running_one_or_the_current_one(
    console: Console,
) -> None:
    w1 = console.worker
    p, t = spawned(console, "p process"), spawned(console, "t")
    t.stop(T)

    assert console.targets(()) == [w1]
    assert console.targets(("t", "p")) == [t, p], "ended or not, a name is a name"
    assert console.targets((ALL,)) == [w1, p], "all: the running ones"
    with pytest.raises(ValueError, match="no worker named x"):
        console.targets(("p", "x"))


def test_use_makes_bare_lines_and_the_prompt_go_to_another_worker(console: Console) -> None:
    p = spawned(console, "p process")
    [line] = console.carry_out(interpret(".use p"))  # type: ignore[arg-type, misc]

    assert plain(line) == "lines go to p now"
    assert console.worker is p
    assert console.prompt_text() == f"doer p process {p.pid}> "
    assert console.targets(()) == [p] and p.ask("ping", timeout=T) == "pong"
    with pytest.raises(ValueError, match="no worker named nobody"):
        console.carry_out(interpret(".use nobody"))  # type: ignore[arg-type]


def test_restart_takes_a_name_a_kind_or_both_and_keeps_what_it_is_not_told(
    console: Console,
) -> None:
    spawned(console, "p process --start-method forkserver --state 7")

    assert console.restart_for("") == Restart("w1", "thread", None, 42)
    assert console.restart_for("process") == Restart("w1", "process", None, 42)
    assert console.restart_for("p") == Restart("p", "process", "forkserver", 7)
    assert console.restart_for("p thread") == Restart("p", "thread", None, 7)
    assert console.restart_for("p --start-method spawn --state 8") == Restart(
        "p", "process", "spawn", 8
    )
    with pytest.raises(ValueError, match="cannot restart as 'q': no worker has that name"):
        console.restart_for("q")


def test_stop_and_kill_take_a_name_and_say_what_they_cannot_do(console: Console) -> None:
    p = spawned(console, "p process")
    kill = console.kill("p")
    assert kill.worker is p and kill.lines == [], "a process's death is its own report"
    wait_until(lambda: p.ended is not None, T, "p to be seen dead")
    with pytest.raises(ValueError, match=r"p has ended already; \.restart p starts a fresh one"):
        console.kill("p")
    with pytest.raises(ValueError, match="p has ended already"):
        console.stop_for("p")
    assert console.stop_for("").worker is console.worker
    assert "Python cannot kill a thread" in plain(console.kill("w1").lines[0])


@pytest.mark.parametrize("seconds", ["0", "0.0", "-0", "-1", "nan", "inf", "-inf", "soon"])
def test_timeout_refuses_what_is_not_a_positive_finite_number_of_seconds(seconds: str) -> None:
    """A zero timeout would make every answer late at once; nan or inf, never late. Each is
    one error line, and the timeout stays as it was."""
    console = Console(Settings(timeout=10.0))  # no worker: the timeout is the console's own

    with pytest.raises(ValueError) as refused:
        console.carry_out(interpret(f".timeout {seconds}"))  # type: ignore[arg-type]

    assert str(refused.value) == (
        f"the timeout must be a positive number of seconds, not {seconds}"
    )
    assert console.settings.timeout == 10.0


@pytest.mark.parametrize(("seconds", "shown"), [("0.001", "0.001"), ("1e-3", "0.001"), ("7", "7")])
def test_timeout_takes_any_positive_number_of_seconds_however_small(
    seconds: str, shown: str
) -> None:
    """The boundary is zero itself: a millisecond is a timeout."""
    console = Console(Settings(timeout=10.0))

    [line] = console.carry_out(interpret(f".timeout {seconds}"))  # type: ignore[arg-type, misc]

    assert plain(line) == f"timeout: {shown} s"
    assert console.settings.timeout == float(seconds)


def test_the_workers_table_has_a_row_per_worker_and_marks_the_current_one(
    console: Console,
) -> None:
    p = spawned(console, "p process --start-method spawn")
    a = spawned(console, "a asyncio")
    console.current = "p"
    a.stop(T)

    header, *rows, hidden = [plain(line) for line in console.table("")]

    assert header.split() == [
        "name", "kind", "pid", "status", "last", "state", "pending", "start", "ready"
    ]  # fmt: skip
    assert [row[:2] for row in rows] == ["  ", "* "]
    assert rows[0].split()[:7] == ["w1", "thread", str(os.getpid()), "running", "42", "0", "-"]
    assert rows[1].split()[:8] == ["*", "p", "process", str(p.pid), "running", "42", "0", "spawn"]
    assert re.search(r" \d+(\.\d)? ms$", rows[1]), "the time from spawn to the start event"
    assert hidden.startswith("1 ended worker hidden: .workers all shows it")
    # .workers all shows the ended one too; .workers clear forgets it.
    *_, ended = [plain(line) for line in console.table("all")]
    assert ended.split()[:4] == ["a", "asyncio", str(os.getpid()), "ended"]
    console.table("clear")
    assert [plain(line).split()[0] for line in console.table("all")[1:]] == ["w1", "*"]


class Listed(SimpleNamespace):
    """A stand-in for a worker in the table: every field a row shows."""


def listed(name: str, pid: int) -> Any:
    from doer.base.protocol import Started

    started = Started("process", pid, 1, "MainThread", pid, "forkserver", None)
    return Listed(
        name=name,
        kind="process",
        pid=pid,
        start_method="forkserver",
        started=started,
        ended=None,
        state="a state of some length",
        pending=12,
        ready_after=0.0345,
        mailbox=None,
        restart_policy=RestartPolicy(),
        restarts=[],
        gave_up=None,
    )


def test_a_table_wider_than_the_screen_is_split_with_the_names_in_each_part() -> None:
    rows = [(listed("first", 4194301), True, False), (listed("second-one", 4194302), False, False)]

    whole = [plain(line) for line in workers_table(rows)]
    split = [plain(line) for line in workers_table(rows, 60)]

    assert len(whole) == 3 and max(map(len, whole)) > 60
    assert len(split) > 3 and all(len(line) <= 60 for line in split), split
    headers = [line for line in split if line.split()[0] == "name"]
    assert len(headers) == len(split) // 3, "each part has its header and both rows"
    names = [line.split()[1 if line.startswith("*") else 0] for line in split]
    assert names == ["name", "first", "second-one"] * len(headers)
    parts = [line.split() for line in split if line.split()[0] == "name"]
    assert sorted(word for part in parts for word in part[1:]) == sorted(whole[0].split()[1:]), (
        "every column once, in one part or another"
    )
    for cell in ("4194301", "4194302", "running", "12", "forkserver", "34 ms"):
        assert cell in " ".join(split)


# --- completion -------------------------------------------------------------------


def completions(console: Any, text: str) -> list[str]:
    document = Document(text, len(text))
    return [c.text for c in ConsoleCompleter(console).get_completions(document, CompleteEvent())]


def test_completion_offers_the_workers_names_where_a_name_goes() -> None:
    console = Console(Settings())
    console.workers = dict.fromkeys(["w1", "p1", "p2"])  # type: ignore[arg-type]

    assert completions(console, "@") == ["@w1", "@p1", "@p2", "@all"]
    assert completions(console, "@p") == ["@p1", "@p2"]
    assert completions(console, "@p1,") == ["@p1,w1", "@p1,p1", "@p1,p2", "@p1,all"]
    assert completions(console, "@p1 pi") == ["ping"]
    for command in (".use", ".status", ".stop", ".kill"):
        assert completions(console, f"{command} p") == ["p1", "p2"], command
    assert completions(console, ".restart ") == [
        "w1", "p1", "p2", "thread", "process", "asyncio", "interpreter", "ray",
    ]  # fmt: skip
    assert completions(console, ".restart p1 ") == [
        "thread", "process", "asyncio", "interpreter", "ray", "--state",
    ]  # fmt: skip
    assert completions(console, ".spawn ") == [], "a new name: nothing to offer"
    assert completions(console, ".spawn q pro") == ["process"]
    assert completions(console, ".spawn q process --") == ["--start-method", "--state"]
    assert completions(console, ".spawn q process --start-method f") == ["fork", "forkserver"]


# --- the shell --------------------------------------------------------------------


async def test_the_shell_spawns_routes_and_tags_every_answer_with_its_worker() -> None:
    async with driven_shell("thread") as d:
        d.type(".spawn p process\r")
        await d.wait_for(lambda: "p" in d.console.workers, "p to be spawned")
        p = d.console.workers["p"]
        await d.wait_for_text(f"[p process {p.pid}] on start: state: 42, pid: {p.pid}")
        d.type(".spawn a asyncio\r")
        await d.wait_for_text(f"[a asyncio {os.getpid()}] on start: state: 42")

        d.type("@all whoami\r")
        for tag in (
            f"[w1 thread {os.getpid()}]",
            f"[p process {p.pid}]",
            f"[a asyncio {os.getpid()}]",
        ):
            await d.wait_for_text(f"{tag} pid ")
        d.type("@p,a set-state 7\r")
        await d.wait_for_text(f"[p process {p.pid}] new state: 7")
        await d.wait_for_text(f"[a asyncio {os.getpid()}] new state: 7")
        assert d.console.workers["w1"].state == 42, "w1 was not sent the line"

        d.type(".use p\r")
        await d.wait_for_text("lines go to p now")
        assert d.shell.prompt()[0][1] == f"doer p process {p.pid}> "
        toolbar = "".join(text for _, text in d.shell.toolbar())
        assert f" p process {p.pid} · last state: 7 · running: 3 · pending: 0 " in toolbar

        d.type(".workers\r")
        await d.wait_for_text("* p    process")
        d.type(".stop a\r")
        await d.wait_for_text(f"[a asyncio {os.getpid()}] on end: state: 7")
        d.type(".kill p\r")
        await d.wait_for_text(f"[p process {p.pid}] died: killed by SIGKILL")
        await d.wait_for_text("p has ended; .restart p starts a fresh one")
        assert d.shell.prompt()[0][1] == "doer (no worker)> "
        d.type("@all ping\r")
        await d.wait_for_text(f"[w1 thread {os.getpid()}] pong")
        assert "running: 1 · pending: 0" in "".join(text for _, text in d.shell.toolbar())
    wait_until(lambda: pid_is_gone(p.pid), T, "the killed worker to be reaped")


async def test_an_asyncio_sleep_is_pending_while_help_answers_at_once() -> None:
    async with driven_shell("thread") as d:
        d.type(".spawn a asyncio\r")
        await d.wait_for_text("[a asyncio")
        a = d.console.workers["a"]
        d.type("@a sleep 2\r")
        await d.wait_for(lambda: a.pending == 1, "the sleep to be pending")
        d.type(".help\r")
        await d.wait_for_text("Anything else is sent as it is")
        assert a.pending == 1, "help was answered while the task awaited its sleep"
        assert "slept 2 s" not in d.text()
        d.type(".quit!\r")


async def test_with_wait_on_the_prompt_comes_back_once_every_answer_of_an_at_all_line_is_in() -> (
    None
):
    async with driven_shell("thread", wait=True) as d:
        d.type(".spawn t2\r")
        await d.wait_for_text("[t2 thread")
        d.type("@all sleep 0.2\r.status\r")  # typed ahead, in one go
        status = await d.wait_for_text("state: 42, pending: ")
        text = d.text()
        assert text.count("slept 0.2 s") == 2, text
        assert text.rindex("slept 0.2 s") < status, ".status was read once both had answered"


async def test_quit_stops_every_worker_at_once_and_waits_for_their_pending_requests() -> None:
    async with driven_shell("thread") as d:
        d.type(".spawn p process\r.spawn a asyncio\r")
        await d.wait_for(lambda: len(d.console.workers) == 3, "three workers")
        for worker in d.console.workers.values():
            await d.wait_for(lambda worker=worker: worker.started is not None, "its start")
        d.type("@all sleep 0.2\r.quit\r")
        await d.wait_for(lambda: d.task.done(), "the shell to end")
        text = d.text()
        assert "waiting for 3 pending request(s)" in text
        assert "all 3 pending request(s) answered" in text
        assert text.count("slept 0.2 s") == 3
        assert text.count("on end: state: 42") == 3
        workers = list(d.console.workers.values())
    for worker in workers:
        assert leftovers(worker) == [], worker


# --- plain mode -------------------------------------------------------------------


def test_plain_mode_prints_every_answer_of_a_line_before_reading_the_next(tmp_path: Path) -> None:
    lines = (
        b".spawn p process\n.spawn a asyncio\n@all sleep 0.2\n@p,a whoami\n"
        b".workers\n@x ping\n.stop a\n@a ping\n@all ping\n"
    )
    done = run_doer(["--state", "42"], tmp_path, stdin=lines)
    out = done.stdout.decode()
    p = int(re.findall(r"\[p process (\d+)\] on start", out)[0])
    sections = re.split(r"^> .*\n", out, flags=re.MULTILINE)

    assert sorted(sections[3].splitlines()) == sorted(
        [
            f"[w1 thread {done_pid(out)}] slept 0.2 s",
            f"[p process {p}] slept 0.2 s",
            f"[a asyncio {done_pid(out)}] slept 0.2 s",
        ]
    ), out
    assert sorted(line.split(" pid ")[0] for line in sections[4].splitlines()) == [
        f"[a asyncio {done_pid(out)}]",
        f"[p process {p}]",
    ]
    # The table is split to fit 80 columns: each part a header and three rows.
    assert len(sections[5].splitlines()) % 4 == 0, sections[5]
    assert sections[6] == "error: no worker named x (.workers lists them)\n"
    assert sections[8] == "error: a has ended; .restart a starts a fresh one\n"
    assert sorted(sections[9].splitlines()[:2]) == [
        f"[p process {p}] pong",
        f"[w1 thread {done_pid(out)}] pong",
    ]
    assert done.returncode == 1, "two lines failed"
    assert pid_is_gone(p)


def done_pid(out: str) -> int:
    return int(re.findall(r"creating doer from process (\d+)", out)[0])


def test_thirty_two_mixed_workers_each_answer_at_all_once_and_quit_leaves_none(
    tmp_path: Path,
) -> None:
    kinds = [
        "thread",
        "asyncio",
        "process --start-method fork",
        "process --start-method forkserver",
    ]
    spawns = "".join(f".spawn w{n} {kinds[n % len(kinds)]}\n" for n in range(2, 33))
    lines = (spawns + "@all ping\n.workers\n.quit\n").encode()

    done = run_doer(["--kind", "process", "--start-method", "spawn"], tmp_path, stdin=lines)
    out = done.stdout.decode()

    assert done.returncode == 0, out + done.stderr.decode()
    started = dict(re.findall(r"\[(w\d+) \w+ (\d+)\] on start", out))
    assert len(started) == 32, out
    pongs = re.findall(r"\[(w\d+) \w+ \d+\] pong", out)
    assert sorted(pongs) == sorted(started), "each answered @all ping exactly once"
    assert len(re.findall(r"\] on end: ", out)) == 32
    assert "running" in out.split("> .workers\n")[1]
    processes = [int(pid) for name, pid in started.items() if f"[{name} process " in out]
    assert len(processes) == 1 + 8 + 8, "w1, and every fourth from w2 and from w3"
    assert [pid for pid in processes if not pid_is_gone(pid)] == []


async def test_timeline_in_the_shell_draws_tasks_on_its_own_loop() -> None:
    """The answers of tasks on the shell's loop are read there: done, they need no wait."""
    async with driven_shell("asyncio") as d:
        d.type(".spawn b asyncio\r")
        await d.wait_for_text("[b asyncio")
        d.type("@all work 200000\r")
        await d.wait_for(lambda: d.text().count(" s CPU") == 2, "both answers")
        d.type(".timeline\r")
        await d.wait_for_text("timeline of @all work 200000 (one character: ")
        await d.wait_for_text("b asyncio ")
        assert "Traceback" not in d.text()
