"""Everything fits the projector: 80 columns, 24 rows, colours a class can read.

A class runs the console at 80x24 on a projector, with pids of up to 7 digits
(``pid_max`` is 4,194,304 on a 64-bit Linux) and names like ``doer-12``. Here
every line the console's commands print is rendered with such pids and names
and measured; ``.workers`` for a class's dozen workers fits one screen; the
toolbar fits any width; each kind's lines have a colour of their own while
no escape code falls between a tag and its text; and the rows the prompt
draws leave room for a terminal that rewraps its lines when narrowed (the
real terminal's side of that is ``test_e2e_resize.py``).
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.renderer import print_formatted_text
from prompt_toolkit.styles import default_ui_style, merge_styles

import doer
from doer.base.protocol import Died, Ended, Failure, Note, Reply, Started
from doer.client.supervision import Restart, RestartPolicy
from doer.client.worker import Pending
from doer.console.render import (
    KIND_COLOURS,
    RESIZE_SLACK,
    STYLES,
    Fragments,
    ended_hint,
    error_line,
    kill_lines,
    late_answer_line,
    late_text,
    mark_line,
    note_line,
    plain,
    record_line,
    repeat_line,
    stuck_text,
    toolbar_text,
    trace_line,
    use_line,
    worker_status,
)
from doer.console.session import Console, Mailbox, Settings
from doer.frontends.shell import Shell
from doer.worker import doer as worker_module
from support.shell_helpers import driven_shell

#: The widest a line may be, and the screen's rows.
COLUMNS, ROWS = 80, 24

#: The longest name the docs plan for, and a pid as long as Linux makes them.
NAME, PID = "doer-12", 1_234_567

#: A request id after a ``.repeat 10000``.
REQUEST = 10_009

#: Each kind's thread (and task) as its start event names them.
THREADS = {"thread": f"{NAME}-worker", "asyncio": f"{NAME}-loop", "process": "MainThread"}


@dataclass
class Fake:
    """A worker as the lines and tables read it, with every field at its longest."""

    name: str = NAME
    kind: str = "process"
    pid: int = PID
    start_method: str | None = None
    started: Started | None = None
    ended: Ended | Died | None = None
    state: Any = None
    pending: int = 0
    ready_after: float | None = 0.0345
    mailbox: int | None = None
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    restarts: list[Restart] = field(default_factory=list)
    gave_up: str | None = None
    stopped: list[float] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.ended is None

    def stop(self, timeout: float) -> None:
        self.stopped.append(timeout)


def fake(kind: str = "process", name: str = NAME, pid: int = PID, **fields: Any) -> Fake:
    """A started worker of ``kind``: a process by forkserver, the slowest to name."""
    method = "forkserver" if kind == "process" else None
    started = Started(
        kind,
        pid,
        pid - 1,
        THREADS.get(kind, "MainThread"),
        pid if kind == "process" else pid + 1,
        method,
        None,
        task=f"{name}-task" if kind == "asyncio" else None,
        node="node 8c225365 on vm-07 (192.0.2.2)" if kind == "ray" else None,
    )
    return Fake(name, kind, pid, method, started, **fields)


@dataclass
class Traced:
    """A request as ``.trace`` reads it."""

    request_id: int = REQUEST
    sent_at: float = 1.0
    answered_at: float = 1.000184
    bytes_out: int | None = None
    bytes_back: int | None = None


TRANSPORTS = {
    "thread": "queue.SimpleQueue",
    "process": "Pipe",
    "asyncio": "asyncio.Queue",
    "ray": "Ray actor calls",
}


def _record_lines() -> list[Fragments]:
    lines = []
    for kind in KINDS_AND_RAY:
        worker = fake(kind)
        started = worker.started
        assert started is not None
        lines += [
            record_line(worker, started),
            record_line(worker, Reply(REQUEST, "pong")),
            record_line(worker, Ended(REQUEST, None, PID)),
            record_line(worker, Died("killed by SIGKILL")),
            record_line(worker, Died("killed by SIGSEGV")),
            record_line(worker, Died("exit code 3")),
            record_line(worker, Reply(REQUEST, "pong"), replaced=True),
            late_answer_line(
                record_line(worker, Reply(REQUEST, "slept 2 s")), "request 10009 (sleep 2)"
            ),
        ]
    lines.append(record_line(fake("asyncio"), Died("its task was cancelled")))
    lines.append(record_line(fake("ray"), Note("starting a private Ray cluster (a few seconds)")))
    lines.append(record_line(fake("ray"), Ended(0, None, PID, "left running, shared")))
    return lines


def _trace_lines() -> list[Fragments]:
    lines = []
    for kind, transport in TRANSPORTS.items():
        sizes = {} if kind in ("thread", "asyncio") else {"bytes_out": 1234, "bytes_back": 56_789}
        for took in (0.000184, 0.0345, 12.5):
            traced = Traced(answered_at=1.0 + took, **sizes)
            lines.append(trace_line(fake(kind), transport, traced))
    return lines


def _status_lines() -> list[Fragments]:
    lines: list[Fragments] = []
    endings: list[Ended | Died | None] = [
        None,
        Ended(3, None, PID),
        Died("exit code 3"),
        Died("killed by SIGSEGV"),
        Died("uncaught Died in its thread: raised by die"),
    ]
    for kind in KINDS_AND_RAY:
        for ended in endings:
            worker = fake(kind, ended=ended, state="a state longer than a line has room for" * 3)
            lines += worker_status(worker, worker.alive, [], COLUMNS)
    return lines


def _console_lines() -> list[Fragments]:
    """The console's own lines about a worker: kill, use, hints, stuck, repeat, mark."""
    worker = fake("thread")
    return [
        *kill_lines(NAME, "thread"),
        *kill_lines(NAME, "asyncio"),
        use_line(NAME, ended=True),
        ended_hint(NAME),
        error_line(stuck_text(NAME, "thread")),
        error_line(stuck_text(NAME, "asyncio")),
        repeat_line(worker, 100_000, 0, 0.412),
        repeat_line(fake("process"), 100_000, 100_000, 12.5),
        mark_line("a mark of some length, for the inheritance lesson"),
        note_line("no workers; .spawn NAME starts one"),
    ]


def _workers_tables() -> list[Fragments]:
    console = class_console()
    return [*console.table(""), *console.table("all")]


def _help_lines() -> list[Fragments]:
    console = Console(Settings())
    parts = ("", "messages", "commands", "lessons")
    return [line for part in parts for line in console.help_lines(part)]


KINDS_AND_RAY = ["thread", "process", "asyncio", "ray"]

#: Every printed form of the console's own, by the part of the console that prints it.
FORMS: dict[str, Callable[[], list[Fragments]]] = {
    "records": _record_lines,
    ".trace": _trace_lines,
    ".status": _status_lines,
    "console": _console_lines,
    ".workers": _workers_tables,
    ".help": _help_lines,
}


@pytest.mark.parametrize("form", FORMS)
def test_every_line_fits_80_columns_with_a_7_digit_pid_and_a_long_name(form: str) -> None:
    lines = [plain(line) for line in FORMS[form]()]
    assert lines
    too_wide = [f"{len(line)}: {line}" for line in lines if len(line) > COLUMNS]
    assert not too_wide, "\n".join(too_wide)


@pytest.fixture
def seven_digit_pids(monkeypatch: pytest.MonkeyPatch) -> None:
    """``whoami`` reads its pids from the OS: make them as long as Linux makes them."""
    monkeypatch.setattr(os, "getpid", lambda: PID)
    monkeypatch.setattr(os, "getppid", lambda: PID - 1)
    monkeypatch.setattr(threading, "get_native_id", lambda: PID + 1)


@pytest.mark.parametrize(
    ("kind", "method"),
    [("thread", None), ("asyncio", None), ("process", "fork"), ("process", "spawn"),
     ("process", "forkserver")],
)  # fmt: skip
def test_whoami_fits_with_7_digit_pids(
    seven_digit_pids: None, kind: str, method: str | None
) -> None:
    doer_ = type("FakeDoer", (), {"kind": kind, "start_method": method})()
    named = threading.current_thread().name
    threading.current_thread().name = THREADS.get(kind, "MainThread")
    try:
        answer = worker_module.whoami(doer_)
    finally:
        threading.current_thread().name = named
    line = plain(record_line(fake(kind), Reply(1, answer)))
    assert len(line) <= COLUMNS, line


def test_a_thread_s_death_its_unanswered_request_and_a_late_one_fit_too() -> None:
    """Worded by the kinds and the client, not console/render/: taken from a real worker."""
    worker = doer.start("thread", name=NAME)
    try:
        failure = worker.tell("die").wait(10.0)
    finally:
        worker.stop(10.0)
    assert isinstance(failure, Failure) and isinstance(worker.ended, Died)
    thread = fake("thread")
    process = fake("process")
    failure = Failure(REQUEST, failure.error.replace("request 1 ", f"request {REQUEST} "))
    late = Pending(REQUEST, ("sleep", 2))
    lines = [
        plain(record_line(thread, worker.ended)),
        plain(record_line(process, failure)),
        plain(note_line(late_text(late, 10), process)),
    ]
    assert all(len(line) <= COLUMNS for line in lines), lines


# --- .workers for a class ---------------------------------------------------------------


def class_console() -> Console:
    """A console with a class's dozen workers of every kind, three of them ended."""
    console = Console(Settings(name="w1"))
    kinds = ["thread", "process", "asyncio"] * 4
    workers = [fake(kind, f"doer-{number}") for number, kind in enumerate(kinds, 1)]
    workers[2].ended = Died("its task was cancelled")
    workers[4].ended = Died("killed by SIGSEGV")
    workers[7].ended = Ended(5, None, PID)
    workers[0].state = {"a": "dict", "too": "long for a column"}
    console.workers = {worker.name: worker for worker in workers}  # type: ignore[misc]
    console.current = "doer-1"
    console.columns = lambda: COLUMNS
    return console


def table_text(console: Console, argument: str = "") -> list[str]:
    return [plain(line) for line in console.table(argument)]


def test_workers_shows_a_class_s_dozen_on_one_80x24_screen() -> None:
    console = class_console()

    shown = table_text(console)

    # The line typed, the table, the prompt and the toolbar: all on one screen.
    assert 1 + len(shown) + 2 <= ROWS, shown
    assert all(len(line) <= COLUMNS for line in shown), shown
    assert shown[0].split()[:4] == ["name", "kind", "pid", "status"], "one table, one header"
    names = [line.removeprefix("* ").split()[0] for line in shown[1:-1]]
    assert names == [f"doer-{n}" for n in (1, 2, 4, 6, 7, 9, 10, 11, 12)], "running, in order"
    assert shown[1].startswith(f"* doer-1  thread  {PID} running "), "the current one marked"
    assert shown[-1] == (
        "3 ended workers hidden: .workers all shows them, .workers clear forgets them"
    )


def test_workers_all_shows_the_ended_too_and_clear_forgets_them() -> None:
    console = class_console()
    console.current = "doer-5"  # the current worker has ended: bare lines still go to it
    ended: list[Any] = [console.workers[name] for name in ("doer-3", "doer-5", "doer-8")]

    everyone = table_text(console, "all")
    assert len(everyone) == 1 + 12 and all(len(line) <= COLUMNS for line in everyone)
    # How each ended, cut to fit: .status NAME says it whole.
    assert re.search(r"^  doer-3 +asyncio +\d+ +died: its task w", everyone[3]), everyone
    assert re.search(r"^\* doer-5 +process +\d+ +died: killed by S", everyone[5]), everyone
    assert re.search(r"^  doer-8 +process +\d+ +ended ", everyone[8]), everyone
    assert table_text(console)[-1].startswith("2 ended workers hidden"), "the current is shown"

    said = table_text(console, "clear")

    assert said == ["cleared 2 ended workers: doer-3, doer-8"]
    assert "doer-3" not in console.workers and "doer-8" not in console.workers
    assert [worker.stopped for worker in ended] == [[1.0], [], [1.0]], "closed, as on .restart"
    assert "doer-5" in console.workers, "the current one stays: .restart needs its kind"
    assert not table_text(console)[-1].startswith("2 ended"), "nothing hidden any more"
    assert table_text(console, "clear") == ["no ended worker to clear"]
    with pytest.raises(ValueError, match=r"^\.workers takes all, clear or nothing, not nope$"):
        console.table("nope")


def test_clearing_one_ended_worker_says_so_in_the_singular() -> None:
    console = class_console()
    console.current = "doer-5"
    for name in ("doer-3",):
        del console.workers[name]  # doer-8 is the one ended worker left to clear

    assert table_text(console, "clear") == ["cleared 1 ended worker: doer-8"]


def test_help_says_how_to_see_and_clear_the_ended_workers() -> None:
    commands = [plain(line) for line in Console(Settings()).help_lines("commands")]
    assert any(line.startswith("  .workers [all|clear] ") for line in commands), commands


async def test_the_shell_hides_an_ended_worker_until_asked() -> None:
    async with driven_shell("thread") as d:
        d.type(".spawn t1 thread\r")
        await d.wait_for_text("[t1 thread ")
        d.type(".stop t1\r")
        end = await d.wait_for_text("[t1 thread ")  # its start, then its end
        end = await d.wait_for_text("on end: state: 42", end)
        d.type(".workers\r")
        hidden = await d.wait_for_text("1 ended worker hidden: .workers all shows it", end)
        assert "  t1 " not in d.text()[end:hidden]
        d.type(".workers all\r")
        row = re.compile(rf"\n  t1 +thread +{os.getpid()} +ended ")
        await d.wait_for(lambda: row.search(d.text(), hidden) is not None, "t1's row")


# --- the toolbar ------------------------------------------------------------------------


NAMES = ["w1", NAME, "a-sixteen-chars-"]
STATES: list[Any] = [None, 7, "hola!", "a state far longer than any toolbar" * 4, list(range(50))]


@pytest.mark.parametrize("width", [200, 100, 80, 70, 60, 40, 24])
@pytest.mark.parametrize("name", NAMES)
def test_the_toolbar_fits_the_terminal_whatever_is_in_it(width: int, name: str) -> None:
    for kind in KINDS_AND_RAY:
        for state in STATES:
            for running, pending in ((1, 0), (12, 100_000)):
                for ended in (False, True):
                    text = toolbar_text(fake(kind, name), ended, state, running, pending, width)
                    assert len(text) <= width, (width, text)
    assert len(toolbar_text(None, False, None, 0, 0, width)) <= width


@pytest.mark.parametrize("width", [200, 80, 70, 60, 40])
@pytest.mark.parametrize("name", NAMES)
def test_a_repeat_s_progress_is_on_the_toolbar_whole_or_not_at_all(width: int, name: str) -> None:
    """Never cut short: ``.repeat 20/4…`` would read as other numbers."""
    for kind in KINDS_AND_RAY:
        for state in STATES:
            text = toolbar_text(fake(kind, name), False, state, 3, 5, width, (12_345, 40_000))
            assert len(text) <= width, (width, text)
            assert ".repeat" not in text or " · .repeat 12,345/40,000 " in text, text
    roomy = toolbar_text(fake("thread", "w1", pid=4242), False, None, 3, 5, 200, (20, 40))
    assert roomy.endswith(" · running: 3 · pending: 5 · .repeat 20/40 · .help "), roomy


def test_a_long_state_is_shortened_and_the_rest_of_the_toolbar_kept() -> None:
    worker = fake("process")
    text = toolbar_text(worker, False, "a state far longer than the toolbar", 12, 3, COLUMNS)
    assert text.startswith(f" {NAME} process {PID} · last state: 'a")
    assert "…" in text and text.endswith(" · running: 12 · pending: 3 · .help ")
    ended = toolbar_text(worker, True, "x" * 50, 12, 3, COLUMNS)
    assert ended.startswith(f" {NAME} process {PID} (ended) · "), "an end is always said"


def test_the_toolbar_leaves_room_to_narrow_the_terminal_when_it_can() -> None:
    short = fake("thread", "w1", pid=4242)
    wide = toolbar_text(short, False, None, 2, 0, 200)
    assert wide == " w1 thread 4242 (alive) · last state: None · running: 2 · pending: 0 · .help "
    at_80 = toolbar_text(short, False, None, 2, 0, COLUMNS)
    assert at_80 == " w1 thread 4242 · last state: None · running: 2 · pending: 0 · .help "
    assert len(at_80) <= COLUMNS - RESIZE_SLACK


@pytest.mark.parametrize("color", [True, False])
def test_the_toolbar_is_reversed_only_under_its_text(color: bool) -> None:
    """A row padded to the terminal's width in reverse video is written to its last
    column: a terminal that rewraps lines when narrowed makes it two rows."""
    shell = Shell(Console(Settings()), Mailbox(), color=color, session=_session())
    style = merge_styles([default_ui_style(), shell.style])
    padding = style.get_attrs_for_style_str("class:bottom-toolbar")
    text = style.get_attrs_for_style_str(
        "class:bottom-toolbar class:bottom-toolbar.text class:toolbar"
    )
    assert not padding.reverse and text.reverse


def _session() -> Any:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.input import DummyInput
    from prompt_toolkit.output import DummyOutput

    return PromptSession(input=DummyInput(), output=DummyOutput())


async def test_the_line_being_typed_leaves_room_to_narrow_the_terminal() -> None:
    async with driven_shell("thread") as d:
        app = d.shell.session.app
        d.type("set-state " + "x" * 150)
        await d.wait_for(lambda: "x" * 150 in d.shell.session.default_buffer.text, "the line")
        await d.wait_for(lambda: _drawn(app).count("x") == 150, "the line to be drawn")
        rows = _screen_rows(app)
        assert len(rows) >= 3, "the line wraps"
        assert all(len(row) <= COLUMNS - RESIZE_SLACK for row in rows), [len(r) for r in rows]


def _drawn(app: Any) -> str:
    return "".join(char.char for row in _screen_rows(app) for char in row)


def _screen_rows(app: Any) -> list[list[Any]]:
    """The rows prompt-toolkit last drew, each up to its last written character."""
    screen = app.renderer._last_screen
    if screen is None:
        return [[]]
    rows = []
    for y in range(screen.height):
        row = screen.data_buffer[y]
        used = [x for x, char in row.items() if char.char != " "]
        rows.append([row[x] for x in range(max(used) + 1)] if used else [])
    return [row for row in rows if row]


# --- colours ----------------------------------------------------------------------------

#: A colour or style code (SGR) as prompt-toolkit writes it.
SGR = re.compile(r"\x1b\[[0-9;]*m")


def written(line: Fragments, color: bool = True) -> str:
    """``line`` as the shell writes it to an xterm: its bytes, escape codes and all."""
    out = io.StringIO()
    output = Vt100_Output(out, lambda: Size(rows=ROWS, columns=COLUMNS), term="xterm")
    shell = Shell(Console(Settings()), Mailbox(), color=color, session=_session())
    depth = ColorDepth.DEPTH_8_BIT if color else ColorDepth.DEPTH_1_BIT
    print_formatted_text(output, FormattedText(line), shell.style, color_depth=depth)
    output.flush()
    return out.getvalue()


def opening_code(raw: str) -> str:
    """The style codes written just before the line's tag."""
    codes = re.search(rf"((?:{SGR.pattern})*)\[w1 ", raw)
    assert codes is not None, repr(raw)
    return codes.group(1)


def test_each_kind_s_lines_are_in_a_colour_of_their_own() -> None:
    colours: dict[str, set[str]] = {}
    for kind in KINDS_AND_RAY:
        worker = fake(kind, "w1")
        for line in (
            record_line(worker, Reply(1, "pong")),
            note_line("#8 Pipe: not pickled (same memory); 170 µs", worker),
        ):
            raw = written(line)
            # The pattern a pexpect script waits for matches the raw bytes.
            assert re.search(rf"\[w1 {kind} \d+\] (pong|#8)", raw), repr(raw)
            code = opening_code(raw)
            assert code, "in colour"
            colours.setdefault(kind, set()).add(code)
    assert all(len(codes) == 1 for codes in colours.values()), colours
    assert len({code for codes in colours.values() for code in codes}) == len(KINDS_AND_RAY)


def test_an_error_is_red_whatever_its_worker_s_kind() -> None:
    failures = [record_line(fake(kind, "w1"), Failure(1, "no")) for kind in KINDS_AND_RAY]
    codes = {opening_code(written(line)) for line in failures}
    codes.add(opening_code(written(error_line("no", fake("thread", "w1")))))
    assert len(codes) == 1, codes
    pong = opening_code(written(record_line(fake("thread", "w1"), Reply(1, "pong"))))
    assert codes != {pong}


@pytest.mark.parametrize("color", [True, False])
def test_no_escape_code_between_a_tag_and_its_text(color: bool) -> None:
    for kind in KINDS_AND_RAY:
        worker = fake(kind, "w1")
        started = worker.started
        assert started is not None
        for line in (
            record_line(worker, started),
            record_line(worker, Reply(1, "pong")),
            record_line(worker, Failure(1, "no")),
            record_line(worker, Died("killed by SIGKILL")),
            note_line("news", worker),
            *worker_status(worker, True, [], COLUMNS)[:1],
        ):
            raw = written(line, color)
            text = plain(line)
            assert text in raw, (text, raw)  # all of it, tag and text, in one run of bytes


def _contrast(colour: str, background: tuple[int, int, int]) -> float:
    """The WCAG contrast ratio of ``#rrggbb`` on ``background``."""

    def luminance(rgb: tuple[int, int, int]) -> float:
        linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    rgb = (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))
    lighter, darker = sorted((luminance(rgb), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_every_colour_reads_on_a_projector_on_black_and_on_white() -> None:
    assert set(doer.KINDS) <= set(KIND_COLOURS), "a kind without a colour"
    colours = {
        name: match.group(0)
        for name, style in STYLES.items()
        if (match := re.search(r"#[0-9a-fA-F]{6}", style))
    }
    for name, colour in colours.items():
        assert _contrast(colour, (0, 0, 0)) >= 3, (name, colour, "dark on black")
        assert _contrast(colour, (255, 255, 255)) >= 3, (name, colour, "pale on white")
        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert max(red, green, blue) - min(red, green, blue) > 40, (name, colour, "a grey")
    for name, style in STYLES.items():
        assert not {"dim", "faint", "hidden", "blink"} & set(style.split()), (name, style)
    kind_colours = [KIND_COLOURS[kind] for kind in doer.KINDS]
    assert len(set(kind_colours)) == len(kind_colours), "two kinds in one colour"
    assert colours["error"] not in kind_colours, "a kind in the errors' red"
