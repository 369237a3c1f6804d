"""Your own handlers: ``@doer.handler`` functions in a file or a module, in every kind.

A worker loads the modules itself as it starts, so the same file runs
unchanged as a thread, a process (fork, spawn, forkserver) and a task, and
``.restart`` picks up an edited file. A module that does not load is one line
naming the file and the line.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import doer
from doer.console.session import Console, Settings
from doer.frontends.plain import PlainRunner
from doer.worker.handler_modules import HandlerError, HandlerModules, first_line, load
from support.helpers import WorkerFactory
from support.pty_helpers import run_doer

T = 10.0

COUNTER = '''\
import os

import doer


@doer.handler("add")
def add(worker, amount=1):
    """add AMOUNT (default 1) to the state, a number"""
    worker.state = (worker.state or 0) + amount
    return worker.state


@doer.handler
def where_am_i(worker):
    """the pid that ran this handler"""
    return os.getpid()


def not_a_handler(worker):
    return "never a message"
'''


@pytest.fixture
def counter(tmp_path: Path) -> Path:
    path = tmp_path / "counter.py"
    path.write_text(COUNTER)
    return path


def test_marked_functions_become_messages_named_as_marked(counter: Path) -> None:
    handlers = load(str(counter))
    assert sorted(handlers) == ["add", "where-am-i"]  # bare: its name, _ as -
    assert first_line(handlers["add"]) == "add AMOUNT (default 1) to the state, a number"


def test_a_file_runs_unchanged_in_every_kind(make_worker: WorkerFactory, counter: Path) -> None:
    worker = make_worker(state=1, handlers=HandlerModules([str(counter)]))

    assert worker.ask("add", timeout=T) == 2
    assert worker.ask(("add", 5), timeout=T) == 7
    assert worker.ask("where-am-i", timeout=T) == worker.pid  # loaded where it runs
    assert worker.ask("not_a_handler", timeout=T) == "unknown message not_a_handler"


def test_a_dotted_module_runs_in_every_kind(
    make_worker: WorkerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "mine"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "counting.py").write_text(COUNTER)
    monkeypatch.syspath_prepend(str(tmp_path))  # a spawned worker gets the same path
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # and so does a fork server

    worker = make_worker(state=40, handlers=HandlerModules(["mine.counting"]))

    assert worker.ask(("add", 2), timeout=T) == 42


NAPPING = '''\
import asyncio

import doer


@doer.handler
async def nap(worker, seconds):
    """await a sleep: the loop runs on meanwhile"""
    await asyncio.sleep(seconds)
    return f"napped {seconds} s"


@doer.handler
async def fail(worker):
    raise ValueError("no")
'''


def test_an_async_handler_runs_in_every_kind(make_worker: WorkerFactory, tmp_path: Path) -> None:
    """Awaited on an asyncio worker's loop; on a loop of its own in a thread or process."""
    path = tmp_path / "napping.py"
    path.write_text(NAPPING)
    worker = make_worker(handlers=HandlerModules([str(path)]))

    assert worker.ask(("nap", 0.01), timeout=T) == "napped 0.01 s"
    with pytest.raises(doer.WorkerError, match="ValueError: no"):
        worker.ask("fail", timeout=T)
    assert worker.ask("ping", timeout=T) == "pong"


OWN_SLEEP = '''\
import doer


@doer.handler
def sleep(worker, seconds):
    """a sleep of my own: it only says so"""
    return f"my own sleep, {seconds} s"
'''


def test_a_module_s_handler_replaces_the_built_in_one_of_that_name_in_every_kind(
    make_worker: WorkerFactory, tmp_path: Path
) -> None:
    """Handlers extend and replace the built-in ones, ``sleep`` too: the asyncio kind
    has a ``sleep`` of its own (it awaits), and yours must win over that one as well."""
    path = tmp_path / "own_sleep.py"
    path.write_text(OWN_SLEEP)
    worker = make_worker(handlers=HandlerModules([str(path)]))

    # The built-in would answer "slept 0 s"; a failing run is not held up by a long sleep.
    assert worker.ask(("sleep", 0), timeout=T) == "my own sleep, 0 s"
    assert worker.ask("ping", timeout=T) == "pong", "the other built-ins stay"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("def broken(:\n", r"counter.py: line 1: SyntaxError: "),
        (
            "import doer\n\nx = 1\ny = undefined\n",
            r"counter.py: line 4: NameError: name 'undefined'",
        ),
        ("import doer\n", r"counter.py has no handler: mark a function with @doer.handler"),
    ],
)
def test_a_module_that_does_not_load_is_one_line_naming_the_file_and_line(
    tmp_path: Path, text: str, error: str
) -> None:
    path = tmp_path / "counter.py"
    path.write_text(text)
    with pytest.raises(HandlerError, match=error) as raised:
        load(str(path))
    assert "\n" not in str(raised.value)


def test_a_missing_file_or_module_says_so() -> None:
    with pytest.raises(HandlerError, match=r"no handler file .*nowhere\.py"):
        load("nowhere.py")
    with pytest.raises(HandlerError, match=r"no module named no\.such\.module"):
        load("no.such.module")


def test_a_process_worker_whose_handlers_do_not_load_there_says_so_in_one_line(
    make_process_worker: WorkerFactory, tmp_path: Path
) -> None:
    """Loaded in the console but not in the worker's process: the worker says why."""
    path = tmp_path / "console_only.py"
    path.write_text(
        "import multiprocessing\n\nimport doer\n\n"
        "if multiprocessing.parent_process() is not None:\n"
        "    raise ImportError('only in the console')\n\n"
        "@doer.handler\ndef hi(worker):\n    return 'hi'\n"
    )
    assert sorted(load(str(path))) == ["hi"]  # here, it loads
    with pytest.raises(doer.WorkerGone) as raised:
        make_process_worker(handlers=HandlerModules([str(path)]))
    assert str(raised.value).endswith(
        f"did not start: its handlers did not load: cannot load handlers from {path}:"
        " line 6: ImportError: only in the console"
    )


def test_the_command_line_refuses_a_module_that_does_not_load(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import doer\n\n\nraise RuntimeError('not today')\n")
    done = run_doer(["--handlers", str(bad)], tmp_path, stdin=b"ping\n")
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode() == (
        f"doer: cannot load handlers from {bad}: line 4: RuntimeError: not today\n"
    )


def test_a_module_added_at_the_prompt_is_completed_at_once(counter: Path) -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from doer.frontends.shell import ConsoleCompleter

    console = Console(Settings())
    completer = ConsoleCompleter(console)
    console.add_handlers(str(counter))
    words = [c.text for c in completer.get_completions(Document("whe"), CompleteEvent())]
    assert words == ["where-am-i"]


def test_handlers_are_in_help_and_completion(counter: Path) -> None:
    console = Console(Settings(handler_modules=[str(counter)]))
    help_text = "\n".join("".join(text for _, text in line) for line in console.help_lines())
    assert "add                     add AMOUNT (default 1) to the state, a number" in help_text
    assert "where-am-i" in console.completion_words()


def run_plain(lines: str, settings: Settings) -> str:
    out = io.StringIO()
    PlainRunner(settings, out).run([line.encode() + b"\n" for line in lines.splitlines()])
    return out.getvalue()


def test_spawning_a_thread_after_the_module_broke_is_one_error_line(counter: Path) -> None:
    def lines() -> object:
        yield b"add\n"
        counter.write_text("import doer\n\nraise RuntimeError('broken now')\n")
        yield b".spawn t2 thread\n"
        yield b"add\n"

    out = io.StringIO()
    PlainRunner(Settings(state=1, handler_modules=[str(counter)]), out).run(lines())  # type: ignore[arg-type]
    text = out.getvalue()
    assert f"error: cannot load handlers from {counter}: line 3: RuntimeError: broken now" in text
    assert "a bug of doer's" not in text
    assert text.count("] 2\n") == 1 and text.count("] 3\n") == 1  # w1 goes on


def test_dot_handlers_adds_a_module_for_workers_started_after(counter: Path) -> None:
    text = run_plain(f"add\n.handlers {counter}\nadd\n.restart\nadd\n", Settings(state=1))
    assert "] unknown message add" in text  # the worker running then did not load it
    assert f"add, where-am-i from {counter}: .restart or .spawn to use them" in text
    assert text.rstrip().splitlines()[-2].endswith("] 2")  # after .restart: it has


def test_a_dotted_module_edited_since_it_was_loaded_is_read_again_by_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module found on ``sys.path`` stays in ``sys.modules`` once imported, so a
    plain import at ``.restart`` would hand back the old code. Every start makes a
    fresh :class:`HandlerModules` (a thread, a task, a forked process load it so);
    that one must have the edited handler."""
    name = "doer_test_edited_counter"  # a name no other test imports
    module = tmp_path / f"{name}.py"
    module.write_text(COUNTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert HandlerModules([name])["add"](SimpleNamespace(state=1)) == 2

        # The cached bytecode is checked against the source's size and mtime, and the
        # mtime is kept in whole seconds: an edit of the same size within the second
        # would go unseen. Move the mtime on rather than take the module out of
        # sys.modules: that would make any import read it afresh, and hide the bug.
        module.write_text(COUNTER.replace("amount=1", "amount=100"))
        stat = module.stat()
        os.utime(module, (stat.st_atime, stat.st_mtime + 10))
        edited = HandlerModules([name])["add"]
        assert edited(SimpleNamespace(state=1)) == 101, "the edited module was not read again"
    finally:
        sys.modules.pop(name, None)  # imported here, for this test only


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_restart_picks_up_an_edited_file_and_keeps_the_worker_if_the_edit_breaks(
    counter: Path, kind: str
) -> None:
    settings = Settings(kind=kind, state=1, handler_modules=[str(counter)])
    out = io.StringIO()
    runner = PlainRunner(settings, out)

    def lines() -> object:
        yield b"add\n"
        counter.write_text(COUNTER.replace("amount=1", "amount=100"))
        yield b".restart\n"
        yield b"add\n"
        counter.write_text(COUNTER + "\ndef broken(:\n")
        yield b".restart\n"
        yield b"add\n"

    runner.run(lines())  # type: ignore[arg-type]
    text = out.getvalue()
    answers = [line.split("] ")[1] for line in text.splitlines() if line.startswith("[w1")]
    assert answers[1] == "2" and answers[4] == "101" and answers[-2] == "201", text
    broken_line = len((COUNTER + "\ndef broken(:\n").splitlines())
    assert f"error: cannot load handlers from {counter}: line {broken_line}: SyntaxError" in text
    assert "w1 keeps running as it was" in text


def test_doer_handler_is_exported_and_can_name_a_message() -> None:
    @doer.handler("my-name")
    def f(worker: object) -> str:
        return "x"

    assert getattr(f, "__doer_handler__") == "my-name"  # noqa: B009 - the mark's name
