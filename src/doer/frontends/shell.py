"""The interactive shell: a prompt-toolkit session in one asyncio event loop.

::

    keys ──> PromptSession.prompt_async() ──> Shell.handle(line) ──> Console ──> worker
                     ▲                                                              │
                     │ redraws the prompt                                           │
    print above the prompt <── Shell.show() <── loop.call_soon_threadsafe <── reply reader
                                  (event loop)                          (thread, per worker)

Why one event loop: calling ``session.prompt()`` in a loop while another thread
prints through ``patch_stdout`` is racy (a reply landing between two prompts is
printed after the new prompt, which is then never redrawn). Here every reply is
handed to the loop that owns the prompt, and printed there by ``Shell.print``,
which erases the prompt, prints, and draws it again without leaving raw mode.
``patch_stdout`` stays only as a net for stray ``print`` calls.

A reply never waits for the prompt and the prompt never waits for a reply:
``handle`` sends a message and returns at once, so a pending ``sleep 5`` leaves
the prompt usable. Ctrl-C clears the line, as in every shell; in raw mode the
terminal sends it as a key, not as SIGINT, so it cannot reach a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import itertools
import os
import signal
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application, get_app
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import has_selection, is_searching
from prompt_toolkit.formatted_text import FormattedText, StyleAndTextTuples
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input.typeahead import store_typeahead
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent, merge_key_bindings
from prompt_toolkit.key_binding.key_processor import KeyPress
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout.containers import WindowRenderInfo
from prompt_toolkit.layout.controls import BufferControl, UIContent
from prompt_toolkit.layout.margins import Margin
from prompt_toolkit.layout.processors import Processor
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.renderer import CPR_Support
from prompt_toolkit.renderer import print_formatted_text as print_above
from prompt_toolkit.styles import Style

from doer.base.handoff import Handoff
from doer.base.protocol import (
    MAX_LINE_CHARS,
    Died,
    Ended,
    Failure,
    Record,
    Reply,
    Started,
)
from doer.client.worker import Pending, Worker, stop_all
from doer.console.render import (
    LAYOUT_STYLES,
    RESIZE_SLACK,
    STOPPING_RAY_CLUSTER,
    STYLES,
    Fragments,
    echo_line,
    ended_hint,
    error_line,
    failed_text,
    late_text,
    note_line,
    plain,
    record_line,
    stuck_text,
    toolbar_text,
    trace_line,
)
from doer.console.session import (
    Console,
    Kill,
    Mailbox,
    Quit,
    Repeat,
    Reset,
    Restart,
    Spawned,
    Stop,
    repeat_summary,
)
from doer.console.syntax import (
    ALL,
    COMMANDS,
    NAMED_COMMANDS,
    Blank,
    Command,
    Invalid,
    Message,
    interpret,
)
from doer.frontends.input_line import LineLimit, LongLineView, bulk_typing_bindings
from doer.kinds import KINDS, START_METHODS


def history_path() -> str:
    """Where the shell keeps its history: ``$XDG_STATE_HOME/doer/history``."""
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(state_home, "doer", "history")


def make_history(persistent: bool = True) -> tuple[History, str | None]:
    """A persistent history, or an in-memory one and the reason it is not persistent.

    Not ``persistent`` (``--no-history``): in memory, no file touched and nothing
    to say. Up still recalls the session's own lines.
    """
    if not persistent:
        return InMemoryHistory(), None
    path = history_path()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a"):  # create it now, so a problem shows before the first line
            pass
    except OSError as exc:
        return InMemoryHistory(), f"history is not saved: cannot write {path}: {exc.strerror}"
    return RecentHistory(path), None


class RecentHistory(FileHistory):
    """The history file, of which the newest :attr:`KEPT` lines are offered (Up, Ctrl-R).

    prompt-toolkit copies the whole history into the line being typed at
    every prompt, so a history that only grows (the file keeps every line)
    would make every prompt a little slower than the one before.
    """

    KEPT = 1000

    def load_history_strings(self) -> Iterable[str]:
        return itertools.islice(super().load_history_strings(), self.KEPT)  # newest first


class ConsoleCompleter(Completer):
    """Completes what a line can hold; worker names are read as the line is typed.

    - at the start of a line: messages and dot-commands;
    - after ``@`` (and after each ``,`` of ``@a,b``): the workers' names and ``all``;
    - after ``.use``, ``.status``, ``.stop``, ``.kill``, ``.restart``: the names
      (and after ``.restart``, the kinds and ``--start-method``);
    - after ``.spawn NAME``: the kinds; after ``--start-method``: the methods;
      after ``.wait``: on and off.
    """

    def __init__(self, console: Console) -> None:
        self.console = console

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor.lstrip()
        words = text.split(" ")
        typed = words[-1]
        if len(words) == 1:
            if typed.startswith("@"):
                done = typed[1:].rpartition(",")[0]
                start = f"@{done}," if done else "@"
                choices = [start + name for name in [*self.console.names(), ALL]]
                return self._matching(choices, typed)
            return self._matching([*self.console.completion_words(), *COMMANDS], typed)
        return self._matching(self._choices_after(words[0], words[1:-1]), typed)

    def _choices_after(self, first: str, middle: list[str]) -> list[str]:
        """What may come next after ``first`` and the ``middle`` words already typed."""
        if first.startswith("@") and not middle:
            return self.console.completion_words()  # .handlers may have added some
        if middle and middle[-1] == "--start-method":
            return list(START_METHODS)
        if first == ".wait" and not middle:
            return ["on", "off"]
        if first in NAMED_COMMANDS and not middle:
            return [*self.console.names(), *(KINDS if first == ".restart" else ())]
        if first == ".restart" or (first == ".spawn" and middle):
            return _kind_and_options(middle)
        return []

    @staticmethod
    def _matching(choices: list[str], typed: str) -> Iterable[Completion]:
        for choice in choices:
            if choice.startswith(typed):
                yield Completion(choice, start_position=-len(typed))


def _kind_and_options(typed: list[str]) -> list[str]:
    """What ``.spawn NAME`` or ``.restart [NAME]`` may take next, after the ``typed`` words."""
    kinds = [word for word in typed if word in KINDS]
    options = {
        "process": ["--start-method", "--state"],
        "ray": ["--address", "--shared", "--state"],
    }.get(kinds[0] if kinds else "", ["--state"])
    if not kinds:
        return [*KINDS, *options]
    return [option for option in options if option not in typed]


def ctrl_c_bindings() -> KeyBindings:
    """Ctrl-C clears the line at once, even while text is selected.

    With a selection, prompt-toolkit also knows two-key bindings that start
    with Ctrl-C (Ctrl-C > and Ctrl-C <), so it holds a Ctrl-C until the next
    key; an Enter then ends the prompt twice and the console fails with
    "Return value already set". An eager binding takes the Ctrl-C at once.
    (Not while searching: there Ctrl-C must end the search, as it does.)
    """
    bindings = KeyBindings()

    @bindings.add("c-c", filter=has_selection & ~is_searching, eager=True)
    def _clear(event: KeyPressEvent) -> None:
        event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

    return bindings


def paste_bindings() -> KeyBindings:
    """A pasted block of several lines runs line by line, in order, as if typed.

    Terminals send a paste between ``ESC[200~`` and ``ESC[201~`` (bracketed
    paste), which prompt-toolkit turns into one key whose data is the whole
    text, and inserts as it is: newlines and all, one line to send. Here the
    text up to the first newline is inserted and the line accepted, as Enter
    would; each later line goes back to the front of the keys waiting, as a
    paste of its own, so it comes at the next prompt before any key typed
    after the paste. A last line without a newline stays to be edited.
    (Not while searching the history: a paste there is a search string.)
    """
    bindings = KeyBindings()

    @bindings.add(Keys.BracketedPaste, filter=~is_searching)
    def _paste(event: KeyPressEvent) -> None:
        lines = event.data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        buffer = event.current_buffer
        buffer.insert_text(lines[0])
        if len(lines) == 1:
            return
        later = [KeyPress(Keys.BracketedPaste, line + "\n") for line in lines[1:-1]]
        if lines[-1]:
            later.append(KeyPress(Keys.BracketedPaste, lines[-1]))
        event.key_processor.input_queue.extendleft(reversed(later))
        buffer.validate_and_handle()  # the keys left are kept for the next prompt

    return bindings


def work_goes_on_text(busy: list[tuple[str, str]]) -> str | None:
    """What Ctrl-C at the prompt leaves running, and why, for the ``busy`` workers
    (name and kind of each worker with a request pending); None if none is.

    Ctrl-C only clears the line: a thread cannot be interrupted from outside,
    a process or a task can be ended with ``.kill`` (a process at once, a task
    at its next await). The line names the worker to kill when there is only
    one, and fits 80 columns.
    """
    if not busy:
        return None
    clauses = []
    if any(kind == "thread" for _, kind in busy):
        clauses.append("a thread cannot be interrupted")
    killable = [(name, kind) for name, kind in busy if kind != "thread"]
    kinds = {"task" if kind == "asyncio" else "process" for _, kind in killable}
    if kinds:
        what = " or ".join(sorted(kinds))  # process or task
        clauses.append(f".kill NAME ends a {what}")
    text = "work goes on: " + "; ".join(clauses)
    named = text.replace("NAME", killable[0][0]) if len(killable) == 1 else text
    return named if len(named) <= 80 else text


def probe_cpr(app: Application[str]) -> None:
    """Ask the terminal where its cursor is, without ever waiting for the answer.

    prompt-toolkit asks on every prompt until a terminal answers, and waits up
    to a second for the answer before each line is returned; after two seconds
    without one it prints a warning into the output. A program driving the
    console through a pty (pexpect, expect) never answers. So the console starts
    as if the terminal could not answer, and asks once: a real terminal answers
    within milliseconds, prompt-toolkit's own handler then marks it as able,
    and from then on the prompt uses the answers (they tell how many rows are
    below the prompt, which the bottom toolbar needs). If no answer comes,
    nothing waits and nothing is printed.
    """
    renderer = app.renderer
    if renderer.cpr_support is CPR_Support.UNKNOWN:
        renderer.cpr_support = CPR_Support.NOT_SUPPORTED
        app.output.ask_for_cpr()


class ResizeSlack(Margin):
    """Blank columns at the right of the line being typed (see :func:`leave_slack`)."""

    def get_width(self, get_ui_content: Callable[[], UIContent]) -> int:
        return slack_columns(get_app().output.get_size().columns)

    def create_margin(
        self, window_render_info: WindowRenderInfo, width: int, height: int
    ) -> StyleAndTextTuples:
        return []  # nothing drawn: the row ends where the text does


def slack_columns(columns: int) -> int:
    """The columns the prompt and the toolbar leave free on a terminal ``columns`` wide:
    :data:`~doer.console.render.RESIZE_SLACK`, or an eighth of a narrow one."""
    return min(RESIZE_SLACK, columns // 8)


def leave_slack(session: PromptSession[str]) -> None:
    """Keep the rows of the line being typed :func:`slack_columns` short of the width.

    A terminal that rewraps its lines when it is made narrower (tmux, and most
    of today's) splits a row wider than its new width in two. prompt-toolkit
    erases its prompt by moving the cursor up as many rows as it drew, so it
    then misses the extra rows: a copy of the prompt's first row stays above
    the fresh prompt, at every narrowing. Rows that end short of the width by
    the slack survive a narrowing by as much. (The toolbar leaves the same
    room: :func:`~doer.console.render.toolbar_text`.)
    """
    for window in session.layout.find_all_windows():  # the same window may come twice
        control = window.content
        typed_in = isinstance(control, BufferControl) and control.buffer is session.default_buffer
        if typed_in and not any(isinstance(m, ResizeSlack) for m in window.right_margins):
            window.right_margins = [*window.right_margins, ResizeSlack()]


class Shell:
    """The interactive front end of a :class:`Console`."""

    def __init__(
        self,
        console: Console,
        mailbox: Mailbox,
        *,
        color: bool = True,
        session: PromptSession[str] | None = None,
    ) -> None:
        self.console = console
        self.mailbox = mailbox
        self.style = Style.from_dict(STYLES if color else LAYOUT_STYLES)
        self.color_depth = None if color else ColorDepth.DEPTH_1_BIT
        self._quitting = False
        self._wait_on_quit = True  # .quit and Ctrl-D wait for pending requests; .quit! does not
        # What _wait_until waits for, checked each time a record has been shown.
        self._waiter: tuple[Callable[[], bool], asyncio.Event] | None = None
        # Per worker: the last request id sent, the last one whose answer was
        # printed, and whether its start was printed. Weak: a replaced worker is
        # let go (and an id() could be reused by a later worker).
        self._last_sent: weakref.WeakKeyDictionary[Worker, int] = weakref.WeakKeyDictionary()
        self._answers_shown: weakref.WeakKeyDictionary[Worker, int] = weakref.WeakKeyDictionary()
        self._start_shown: weakref.WeakSet[Worker] = weakref.WeakSet()
        # Workers whose end was printed, and those a .kill will end (a process, a
        # task): a script's next line waits for their ends, as it does for answers.
        self._end_shown: weakref.WeakSet[Worker] = weakref.WeakSet()
        self._ending: weakref.WeakSet[Worker] = weakref.WeakSet()
        self.key_bindings = merge_key_bindings(
            [bulk_typing_bindings(), ctrl_c_bindings(), paste_bindings()]
        )
        self.completer = ConsoleCompleter(console)
        console.columns = self._columns
        console.transcript.size = self._size
        #: ``-i --script FILE``: the lines to run before the first prompt.
        self.script: list[str] = []
        self.input_processors: list[Processor] = [LongLineView()]
        self._history_note: str | None = None
        self._held: list[Fragments] = []  # lines waiting for a cursor-position answer
        self._interrupted: asyncio.Event | None = None  # set by Ctrl-C while _wait_until waits
        self._traced: dict[tuple[Worker, int], Pending] = {}  # .trace on: sent, not answered
        self._to_show: deque[tuple[Worker, Record]] = deque()  # handed over, not yet shown
        self._showing = False  # a batch of them is due to be shown
        self._repeats: list[tuple[Worker, list[Pending]]] = []  # .repeat: each worker's sent
        self._sending: set[asyncio.Task[None]] = set()  # .repeat: still sending
        if session is None:
            history, self._history_note = make_history(console.settings.history)
            session = PromptSession(history=history)
        self.session = session
        # Redraw as soon as the loop is free, not up to 10 ms later (prompt-toolkit's
        # default postpones a redraw while other callbacks are ready, to spare a
        # busy CPU): an answer printed above the prompt is followed by a redraw
        # of the prompt, and a client waiting for that prompt waits for it.
        session.app.max_render_postpone_time = 0
        leave_slack(session)
        self.line_limit = LineLimit(session.default_buffer, MAX_LINE_CHARS, self._refused)

    # --- what is drawn ------------------------------------------------------------

    def _columns(self) -> int:
        return self.session.app.output.get_size().columns

    def _size(self) -> tuple[int, int]:
        size = self.session.app.output.get_size()
        return size.columns, size.rows

    def prompt(self) -> FormattedText:
        """``doer w1 thread 4242> `` while the worker lives, ``doer (no worker)> `` after.

        Or the fixed prompt of ``--prompt`` / ``.prompt``.
        """
        return FormattedText([("class:prompt bg:default", self.console.prompt_text())])

    def toolbar(self) -> FormattedText:
        """The current worker, how many run, and the requests pending across all of them."""
        workers = self.console.workers.values()
        running = sum(1 for worker in workers if worker.ended is None)
        pending = sum(worker.pending for worker in workers)
        worker = self.console.worker
        ended = worker is not None and worker.ended is not None
        state = None if worker is None else worker.state
        # Never wider than the terminal: cut by the terminal, it would lose the counts.
        width = max(self._columns(), 10)
        text = toolbar_text(worker, ended, state, running, pending, width)
        return FormattedText([("class:toolbar", text)])

    def print(self, fragments: Fragments) -> None:
        """Print one line above the prompt (or plainly, when no prompt is shown)."""
        self.print_lines([fragments])

    def print_lines(self, lines: list[Fragments]) -> None:
        """Print lines above the prompt, erasing and redrawing it once for all of them.

        prompt-toolkit's own way (``run_in_terminal``) puts the terminal in
        cooked mode while it prints: a Ctrl-D typed in that moment is taken by
        the terminal as end-of-file, and a Ctrl-C becomes a SIGINT. So while the
        prompt is up, erase it, write the lines and redraw, staying in raw mode.
        This runs in the event loop, the only place that draws.
        """
        if not lines:
            return
        app = self.session.app
        drawn = app.is_running and not app._running_in_terminal
        if drawn and (app.renderer.waiting_for_cpr or self._held):
            # Erasing needs to know where the cursor is, which the terminal is
            # about to say (a few ms): hold the lines until then, keeping order.
            self._hold(lines)
            return
        for fragments in lines:
            self.console.transcript.add(plain(fragments))
        # Between prompts there is no prompt to erase: just write. Never through
        # prompt-toolkit's print_formatted_text: it finds the application through
        # the app *session*, which still names it while it shuts down, and then
        # prints by run_in_terminal, in cooked mode. The renderer's own printer
        # used here flushes the output when done: the lines go out at once.
        if drawn:
            app.renderer.erase()
        text: list[tuple[str, str]] = []
        for fragments in lines:
            text += fragments
            text.append(("", "\n"))
        print_above(
            app.output,
            FormattedText(text),
            self.style,
            color_depth=self.color_depth or app.output.get_default_color_depth(),
        )
        if drawn:
            app.renderer.request_absolute_cursor_position()
            app.invalidate()

    def _hold(self, lines: list[Fragments]) -> None:
        """Keep lines until the terminal has answered where its cursor is, then print."""
        self._held += lines
        if len(self._held) == len(lines):
            asyncio.get_running_loop().create_task(self._print_held())

    async def _print_held(self) -> None:
        await self.session.app.renderer.wait_for_cpr_responses()
        held, self._held = self._held, []
        self.print_lines(held)

    def _refused(self) -> None:
        """Say, once per line, that typed or pasted text did not fit."""
        text = f"line too long: {MAX_LINE_CHARS:,} characters at most; the rest is not taken"
        # Called while a key is being handled: print once the keys are done.
        asyncio.get_running_loop().call_soon(self.print, error_line(text))

    def take(self, records: list[tuple[Worker, Record]]) -> None:
        """Records handed over from the reply readers: show them, a batch at a time.

        A burst (``.repeat 10000 ping``) arrives faster than lines can be drawn
        one by one; drawn :data:`SHOWN_AT_ONCE` at a time, with the prompt
        erased and redrawn once per batch, and the loop free between batches
        for the keys typed meanwhile.
        """
        self._to_show += records
        if not self._showing:
            self._show_some()

    def _show_some(self) -> None:
        batch = [self._to_show.popleft() for _ in range(min(SHOWN_AT_ONCE, len(self._to_show)))]
        self._showing = bool(self._to_show)
        if self._showing:
            asyncio.get_running_loop().call_soon(self._show_some)  # after the keys waiting
        self.show_all(batch)

    def show(self, worker: Worker, record: Record) -> None:
        """Print one record from a worker. Runs in the event loop, never in another thread."""
        self.show_all([(worker, record)])

    def show_all(self, records: list[tuple[Worker, Record]]) -> None:
        """Print records from workers, in order, then redraw the prompt and toolbar once."""
        lines: list[Fragments] = []
        for worker, record in records:
            try:
                lines += self.lines_for(worker, record)
            except Exception as exc:  # doer's own bug: one line, not a traceback over the prompt
                lines.append(error_line(failed_text(f"printing {type(record).__name__}", exc)))
        lines += self._repeats_done()
        self.print_lines(lines)
        if self._waiter is not None and self._waiter[0]():
            self._waiter[1].set()
        self.session.app.invalidate()  # the prompt and toolbar show pid, state, pending

    def lines_for(self, worker: Worker, record: Record) -> list[Fragments]:
        """The lines a record prints, with what the shell keeps track of updated."""
        replaced = self.console.is_replaced(worker)
        lines = [record_line(worker, record, replaced=replaced)]
        if isinstance(record, Reply | Failure):
            shown = self._answers_shown.get(worker, 0)
            self._answers_shown[worker] = max(shown, record.request_id)
            traced = self._traced.pop((worker, record.request_id), None)
            if traced is not None:
                lines.append(trace_line(worker, worker.transport, traced))
        elif isinstance(record, Started | Died):
            self._start_shown.add(worker)
        ended = isinstance(record, Ended | Died)
        if ended:
            self._end_shown.add(worker)
        if ended and not self._quitting and worker is self.console.worker:
            lines.append(ended_hint(self.console.name_if_needed(worker)))
        return lines

    # --- the loop -----------------------------------------------------------------

    async def run(self) -> int:
        """Read and carry out lines until ``.quit`` or Ctrl-D; return the exit status."""
        loop = asyncio.get_running_loop()
        # Show records in this task's context, not the reader thread's: prompt-toolkit
        # finds the running application (to print above it) through a context variable.
        handoff: Handoff[tuple[Worker, Record]] = Handoff(
            loop, self.take, contextvars.copy_context()
        )
        self.mailbox.attach(lambda worker, record: handoff.put((worker, record)))
        try:
            return await self._run_attached()
        finally:
            self.mailbox.detach()  # this loop ends: later records wait for the next reader

    async def _run_attached(self) -> int:
        if self._history_note:
            self.print(note_line(self._history_note))
        # The terminal stays in raw mode between prompts too: keys typed while a
        # line is being handled wait for the next prompt instead of being echoed
        # by the terminal over the output, and a Ctrl-C there is still a key.
        with self.session.input.raw_mode(), patch_stdout(raw=True), self._sigint_handled():
            probe_cpr(self.session.app)
            if self.console.worker is None:  # an asyncio worker: a task on this loop
                self.console.start()
            await self.wait_for_start()
            carry_on = await self.run_script()
            while carry_on:
                self.line_limit.new_line()
                try:
                    line = await self.session.prompt_async(
                        self.prompt,
                        bottom_toolbar=self.toolbar,
                        completer=self.completer,
                        # Completion on Tab, not while typing: a menu that may open
                        # at any key keeps rows free for it under every prompt.
                        complete_while_typing=False,
                        style=self.style,
                        color_depth=self.color_depth,
                        include_default_pygments_style=False,
                        key_bindings=self.key_bindings,
                        input_processors=self.input_processors,
                        handle_sigint=False,  # handled once for the session: _sigint_handled
                    )
                except KeyboardInterrupt:
                    self.say_work_goes_on()  # Ctrl-C clears the line; the workers are not touched
                    continue
                except EOFError:
                    break  # Ctrl-D
                self.record_typed(line)
                if not await self.handle(line):
                    break
            await self.quit()
        return 0

    @contextlib.contextmanager
    def _sigint_handled(self) -> Iterator[None]:
        """A SIGINT from outside (``kill -INT``) does what Ctrl-C does, for the whole session.

        The terminal is raw, so a Ctrl-C typed reaches the shell as a key, not
        as SIGINT. prompt-toolkit would install its own handler around every
        prompt (and import ctypes for it at the first one, 3 ms of the first
        prompt); one handler for the session clears the line at a prompt, and
        stops a wait for answers between prompts, as the key does there.
        """
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._on_sigint)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    def _on_sigint(self) -> None:
        app = self.session.app
        if app.is_running:
            app.key_processor.send_sigint()
        elif self._interrupted is not None:
            self._interrupted.set()

    # --- the class runs itself: a script, Ctrl-C, .reset, .save ----------------------

    async def run_script(self) -> bool:
        """``-i --script FILE``: run its lines as if typed, each shown as ``> line``
        with its answers before the next line; False when a line left (``.quit``).

        A line's answers are awaited up to the timeout (a Ray worker's start: a
        minute), then the next line runs; an error is one more line, and the
        script goes on. Ctrl-C stops it, before the next line.
        """
        lines, self.script = self.script, []
        if lines:
            await self._wait_until_settled()  # the first worker's start, before line 1
        for number, line in enumerate(lines, 1):
            if isinstance(interpret(line), Blank):
                continue
            self.print(echo_line(line))
            if not await self.handle(line):
                return False
            if not await self._wait_until_settled():
                rest = len(lines) - number
                self.print(note_line(f"Ctrl-C: the script stops at line {number}, {rest} left"))
                self.say_work_goes_on()
                break
        return True

    async def _wait_until_settled(self) -> bool:
        """Wait until every worker's start and every answer sent so far is shown, or
        for the timeout; False if Ctrl-C stopped the wait."""
        loop = asyncio.get_running_loop()
        if self._sending:  # a .repeat still sending: its last answers come after
            await asyncio.wait(self._sending)
        workers = self.console.running()
        at_most = max([self.console.settings.timeout, *map(self.console.start_timeout, workers)])
        began = loop.time()
        if await self._wait_until(self._settled, at_most):
            return True
        return loop.time() - began >= at_most  # sooner: only Ctrl-C ends the wait early

    def _settled(self) -> bool:
        """Whether every worker's start, every answer, every ``.repeat``'s rate, and the
        end of every worker that has ended or been killed is shown: a script's next
        line then comes after all that its line made happen (``die``, ``.kill``)."""
        return not self._repeats and all(
            (worker in self._start_shown or worker.ended is not None)
            and self._all_answers_shown(worker)
            and (worker in self._end_shown or (worker.ended is None and worker not in self._ending))
            for worker in self.console.workers.values()
        )

    def say_work_goes_on(self) -> None:
        """After Ctrl-C: if a worker is still busy with a line, say that its work goes
        on (Ctrl-C only clears the line), why, and how to stop it."""
        busy = [(w.name, w.kind) for w in self.console.running() if w.pending]
        text = work_goes_on_text(busy)
        if text is not None:
            self.print(note_line(text))

    def record_typed(self, line: str) -> None:
        """Keep a line typed for ``.save``, as plain mode shows it: ``> line``."""
        if not isinstance(interpret(line), Blank):
            self.console.transcript.add(plain(echo_line(line)))

    async def reset(self) -> None:
        """``.reset``: end every worker as ``.quit`` does (waiting for their pending
        requests; Ctrl-C stops waiting), then start the first one afresh.

        A shared Ray worker is left running for the others, as ``.quit`` leaves
        it. A thread stuck in a handler is left behind: what it answers later is
        shown, marked as replaced.
        """
        sending = list(self._sending)  # a .repeat still sending: what it sent is waited for
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        running = self.console.running()
        shared = [worker for worker in running if worker.shared]
        own = [worker for worker in running if not worker.shared]
        self._quitting = True  # their ends need no ".restart" hint
        try:
            stuck = await self._stop_workers(own, wait=True)
            stuck += await self._stop_workers(shared, wait=True, leave=True)
        finally:
            self._quitting = False
        for worker in stuck:
            self.console.leave_behind(worker)
        await self.wait_for_start(self.console.start_afresh())

    async def handle(self, line: str) -> bool:
        """Carry out one line; False when the shell should leave."""
        what = interpret(line)
        if isinstance(what, Blank):
            return True
        if isinstance(what, Invalid):
            self.print(error_line(what.error))
        elif isinstance(what, Message):
            await self.send(what)
        elif isinstance(what, Command):
            return await self.command(what)
        return True

    async def send(self, message: Message) -> None:
        """Send ``message`` to its workers; return once their answers are printed, or
        after :data:`QUICK_ANSWER_S` (``.wait on``: after the timeout).

        The short wait puts a quick answer (a ``ping``: well under a
        millisecond) above the next prompt before that prompt is drawn, rather
        than drawing the prompt, erasing it for the answer and drawing it again:
        one redraw a line instead of two, and the worker's threads need not
        wait for the loop to finish drawing before they may run. A slow answer
        (``sleep 5``) leaves the prompt usable after those few milliseconds;
        keys typed meanwhile go to it. The long wait (``.wait on``) stops at
        Ctrl-C.
        """
        try:
            workers = self.console.targets(message.to)
        except ValueError as exc:
            self.print(error_line(str(exc)))
            return
        timeout = self.console.settings.timeout
        sent, errors = self.console.tell_each(message, workers)
        for text, about in errors:
            self.print(error_line(text, about))
        for note in self.console.crowded_note(message, sent):
            self.print(note)
        for worker, pending in sent:
            self._last_sent[worker] = pending.request_id
            if self.console.settings.trace:
                self._traced[worker, pending.request_id] = pending
            asyncio.get_running_loop().call_later(timeout, self.warn_if_late, worker, pending)
        self.session.app.invalidate()
        if not sent:
            return

        def answered() -> bool:  # this line's answers are the last ones sent
            return all(self._all_answers_shown(worker) for worker, _ in sent)

        if self.console.settings.wait:
            loop = asyncio.get_running_loop()
            began = loop.time()
            answered_in_time = await self._wait_until(answered, timeout)
            if not answered_in_time and loop.time() - began < timeout:  # Ctrl-C, not the time
                self.say_work_goes_on()  # the wait stops; the work does not
        else:
            await self._wait_briefly(answered, QUICK_ANSWER_S)

    def warn_if_late(self, worker: Worker, pending: Pending) -> None:
        if pending.done() or worker.ended is not None:
            return
        replaced = self.console.is_replaced(worker)
        timeout = self.console.settings.timeout
        text = late_text(pending, timeout)
        # News, not an error: a long sleep is late on purpose (plain mode's status counts it).
        self.print(note_line(text, worker, replaced=replaced))

    async def command(self, command: Command) -> bool:
        """Carry out a dot-command; False when the shell should leave."""
        try:
            outcome = self.console.carry_out(command)
        except ValueError as exc:
            self.print(error_line(str(exc)))
            return True
        except Exception as exc:  # a bug of doer's: one line, and the console goes on
            self.print(error_line(failed_text(command.name, exc)))
            return True
        if isinstance(outcome, Quit):
            self._wait_on_quit = outcome.wait
            return False
        if isinstance(outcome, Repeat):
            await self.repeat(outcome)
        elif isinstance(outcome, Restart):
            await self.restart(outcome)
        elif isinstance(outcome, Spawned):
            for worker in outcome.workers:
                await self.wait_for_start(worker)
        elif isinstance(outcome, Reset):
            await self.reset()
        elif isinstance(outcome, Stop):
            await self._stop_workers([outcome.worker], wait=True)
        elif isinstance(outcome, Kill):  # its end is printed when the reader sees it
            if outcome.worker.kind != "thread":
                self._ending.add(outcome.worker)
            for fragments in outcome.lines:
                self.print(fragments)
        else:
            for fragments in outcome:
                self.print(fragments)
        return True

    async def repeat(self, repeat: Repeat) -> None:
        """``.repeat N LINE``: send the line N times without waiting for answers.

        The sending runs as a task of its own, so the prompt is back at once
        (with ``.wait off``) and keys typed meanwhile echo. It lets the loop
        run after every round of copies (:meth:`Console.send_repeated`), so
        that answers print while it goes on. Each answer prints as it comes;
        once a worker's last answer is shown, so is its rate. With ``.wait
        on``, the prompt comes back after the last rate.
        """
        sending = asyncio.get_running_loop().create_task(self._send_repeat(repeat))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)
        if self.console.settings.wait:
            await sending
            await self._wait_until(lambda: not self._repeats, at_most=None)

    async def _send_repeat(self, repeat: Repeat) -> None:
        try:
            sent = await self._send_repeatedly(repeat)
        except Exception as exc:  # a bug of doer's: one line, not a traceback over the prompt
            self.print(error_line(failed_text(".repeat", exc)))
            return
        for worker, pendings in sent.items():
            if pendings:
                self._repeats.append((worker, pendings))
                self._watch_repeat(worker, pendings, -1)
        self.print_lines(self._repeats_done())  # all answered and shown already: say so now

    async def _send_repeatedly(self, repeat: Repeat) -> dict[Worker, list[Pending]]:
        """Send the line ``repeat.times`` times to each of its workers, in turn, letting
        the loop run between rounds."""
        for round_ in self.console.send_repeated(repeat):
            for text, about in round_.errors:
                self.print(error_line(text, about))
            for worker, pendings in round_.sent.items():
                if pendings:
                    self._last_sent[worker] = pendings[-1].request_id  # what .quit waits for
            self.session.app.invalidate()  # the toolbar's pending count
            try:
                await asyncio.sleep(0)  # answers print, keys echo
            except asyncio.CancelledError:  # .quit: what was sent is waited for
                said = f".repeat stopped: {round_.copies:,} of {repeat.times:,} sent"
                self.print(note_line(said))
                raise
        return round_.sent

    def _watch_repeat(self, worker: Worker, pendings: list[Pending], shown_before: int) -> None:
        """Say once if a ``.repeat``'s answers stop coming for the timeout."""
        if not any(repeat[1] is pendings for repeat in self._repeats):
            return  # all shown
        shown = self._answers_shown.get(worker, 0)
        if shown == shown_before:
            waiting = next((pending for pending in pendings if not pending.done()), None)
            if waiting is not None:
                self.warn_if_late(worker, waiting)
                return
        loop = asyncio.get_running_loop()
        loop.call_later(self.console.settings.timeout, self._watch_repeat, worker, pendings, shown)

    def _repeats_done(self) -> list[Fragments]:
        """The rate of each ``.repeat`` whose answers have all been shown; forget those."""
        lines = []
        for worker, pendings in list(self._repeats):
            last = pendings[-1].request_id
            if self._answers_shown.get(worker, 0) >= last or worker.ended is not None:
                self._repeats.remove((worker, pendings))
                lines.append(repeat_summary(worker, pendings))
        return lines

    async def restart(self, restart: Restart) -> None:
        """Stop the worker (waiting at most the timeout), then start the one asked for."""
        old = self.console.workers.get(restart.name)
        if old is not None:
            self._quitting = True  # the old worker's end needs no ".restart" hint
            try:
                # A worker is often restarted because it hangs: wait at most the timeout.
                stuck = await self._stop_workers(
                    [old], wait=True, at_most=self.console.settings.timeout
                )
            finally:
                self._quitting = False
            for (
                worker
            ) in stuck:  # it answers when it can: its lines must not look like the new one's
                self.console.leave_behind(worker)
        await self.wait_for_start(self.console.relaunch(restart))

    async def wait_for_start(self, worker: Worker | None = None) -> None:
        """With ``.wait on``, show the prompt only once the worker's start is printed.

        Start-up is a program's line zero: its first prompt then comes after the
        start event, as every later prompt comes after its line's answers. A
        person (``.wait off``) gets the prompt at once, while the worker boots.
        """
        worker = worker or self.console.worker
        if worker is None or not self.console.settings.wait:
            return
        await self._wait_until(
            lambda: worker in self._start_shown or worker.ended is not None,
            at_most=self.console.start_timeout(worker),
        )

    async def quit(self) -> None:
        self._quitting = True
        sending = list(self._sending)  # a .repeat still sending: what it sent is waited for
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        running = self.console.running()
        for worker in await self._stop_workers(running, wait=self._wait_on_quit, leave=True):
            self.console.leave_behind(worker)
        if self.console.ray_cluster_runs():
            self.print(note_line(STOPPING_RAY_CLUSTER))
            await asyncio.get_running_loop().run_in_executor(None, self.console.stop_ray_cluster)

    async def _stop_workers(
        self,
        workers: list[Worker],
        *,
        wait: bool,
        at_most: float | None = None,
        leave: bool = False,
    ) -> list[Worker]:
        """Stop ``workers`` together, after their pending requests if ``wait``; return
        those stuck in a handler (each said so).

        Waiting lasts ``at_most`` seconds (None: until they are answered) and
        can be cut short with Ctrl-C. Every request not answered is said so: a
        count of those dropped and of those a thread still answers later
        (:func:`stopped_waiting_text`), and each dropped one's own failure
        line. ``leave``: the console is quitting,
        and leaves shared Ray workers running.
        """
        workers = [worker for worker in workers if worker.ended is None]
        if not workers:
            return []
        total = sum(worker.pending for worker in workers)
        answered_all = True
        if total:
            if wait:
                self.print(
                    note_line(f"waiting for {total} pending request(s); Ctrl-C stops waiting")
                )
                answered_all = await self._wait_until(
                    lambda: all(self._all_answers_shown(worker) for worker in workers), at_most
                )
            else:
                answered_all = False
            if answered_all:
                self.print(note_line(f"all {total} pending request(s) answered"))
            else:
                self.print(note_line(stopped_waiting_text(workers, total, leaving=leave)))
        # Answered all: the workers end at once. Otherwise give them a moment, then kill.
        timeout = self.console.settings.timeout if answered_all else 0.2
        # stop_all() blocks until the end events: run it off the loop so replies keep printing.
        stuck = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(stop_all, workers, timeout, leave_shared=leave)
        )
        for worker in stuck:
            self.print(error_line(stuck_text(worker.name, worker.kind)))
        return stuck

    def _all_answers_shown(self, worker: Worker) -> bool:
        shown = self._answers_shown.get(worker, 0)
        return worker.ended is not None or shown >= self._last_sent.get(worker, 0)

    async def _wait_briefly(self, condition: Callable[[], bool], at_most: float) -> None:
        """Wait until ``condition`` holds after a record is shown, for ``at_most`` seconds.

        Keys are not read meanwhile: whatever is typed, Ctrl-C included, waits
        in the terminal for the next prompt, as if typed there.
        """
        if condition():
            return
        met = asyncio.Event()
        self._waiter = (condition, met)
        try:
            await asyncio.wait_for(met.wait(), at_most)
        except TimeoutError:
            pass
        finally:
            self._waiter = None

    async def _wait_until(self, condition: Callable[[], bool], at_most: float | None) -> bool:
        """Wait until ``condition`` holds after a record is shown (True), or Ctrl-C, or timeout.

        The terminal is raw, so Ctrl-C arrives as a key: keys are read while
        waiting. Any other key is kept for the next prompt, as typed ahead.
        """
        met = asyncio.Event()
        self._waiter = (condition, met)
        interrupted = self._interrupted = asyncio.Event()
        keys = self.session.input

        def read_keys() -> None:
            typed = keys.read_keys()
            if any(key.key == Keys.ControlC for key in typed):
                interrupted.set()
            store_typeahead(keys, [key for key in typed if key.key != Keys.ControlC])

        try:
            if condition():
                return True
            with keys.attach(read_keys):
                waits = [
                    asyncio.ensure_future(met.wait()),
                    asyncio.ensure_future(interrupted.wait()),
                ]
                _, unfinished = await asyncio.wait(
                    waits, timeout=at_most, return_when=asyncio.FIRST_COMPLETED
                )
                for task in unfinished:
                    task.cancel()
            return met.is_set()
        finally:
            self._waiter = None
            self._interrupted = None


#: How long a line waits for its answers before the next prompt is drawn (with
#: ``.wait off``): long enough for a quick answer, too short to notice.
QUICK_ANSWER_S = 0.01

#: The most records drawn in one go: the keys typed during a burst wait for no more.
SHOWN_AT_ONCE = 250


def stopped_waiting_text(workers: list[Worker], total: int, *, leaving: bool) -> str:
    """What becomes of the requests of ``workers`` still pending when the shell stops
    waiting for them (``total`` were pending when it began).

    A process is killed and a task cancelled: what they have not answered is
    dropped (each request then says so on a line of its own). A thread cannot
    be stopped: it still answers what it was sent, later, unless the console is
    ``leaving`` (nothing is shown after it has gone).
    """
    left = sum(worker.pending for worker in workers)
    to_come = 0 if leaving else sum(w.pending for w in workers if w.kind == "thread")
    parts = [f"{total - left} of {total} answered"]
    if left - to_come:
        parts.append(f"{left - to_come} dropped")
    if to_come:
        parts.append(f"{to_come} still to come")
    return "stopped waiting: " + ", ".join(parts)


def run_shell(
    console: Console, mailbox: Mailbox, *, color: bool = True, script: list[str] | None = None
) -> int:
    """Run the interactive shell on the terminal; return the exit status.

    ``script`` (``-i --script FILE``): lines to run first, as if typed.
    """
    shell = Shell(console, mailbox, color=color)
    shell.script = script or []
    return asyncio.run(shell.run())
