"""The shell itself: the prompt-toolkit session, the main loop, and each line carried out.

See :mod:`doer.frontends.shell` for how the parts fit together.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.layout.processors import Processor
from prompt_toolkit.patch_stdout import patch_stdout

from doer.base.handoff import Handoff
from doer.base.protocol import MAX_LINE_CHARS, Record
from doer.client.worker import Worker
from doer.console.kind_facts import can_be_killed, runs_as_a_task
from doer.console.render import echo_line, error_line, note_line, plain
from doer.console.session import Console, Mailbox
from doer.console.syntax import Blank, Command, Invalid, Message, interpret
from doer.frontends.shell.arrivals import Arrivals
from doer.frontends.shell.completion import ConsoleCompleter
from doer.frontends.shell.history import make_history
from doer.frontends.shell.input_line import LineLimit, LongLineView
from doer.frontends.shell.keys import key_bindings, sigint_as_ctrl_c
from doer.frontends.shell.lifecycle import Lifecycle
from doer.frontends.shell.repeat import Repeats
from doer.frontends.shell.screen import Screen, probe_cpr
from doer.frontends.shell.shown import Shown
from doer.frontends.shell.toolbar import prompt_of, toolbar_of
from doer.frontends.shell.waits import Waits

if TYPE_CHECKING:
    from doer.frontends.shell.outcomes import Outcomes

#: How long a line waits for its answers before the next prompt is drawn (with
#: ``.wait off``): long enough for a quick answer, too short to notice.
QUICK_ANSWER_S = 0.01


class Shell:
    """The interactive front end of a :class:`Console`: its session and main loop."""

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
        self._history_note: str | None = None
        if session is None:
            history, self._history_note = make_history(console.settings.history)
            session = PromptSession(history=history)
        self.session = session
        self.screen = Screen(session, console.transcript.add, color=color)
        self.style = self.screen.style
        self.shown = Shown(console, self.screen)
        self.waits = Waits(session.input)
        self.repeats = Repeats(console, self.screen, self.shown, self.waits)
        self.lifecycle = Lifecycle(console, self.screen, self.shown, self.waits)
        self.arrivals = Arrivals(self.screen, self.shown, self.waits, self.repeats)
        self.key_bindings = key_bindings()
        self.completer = ConsoleCompleter(console)
        self.input_processors: list[Processor] = [LongLineView()]
        self.line_limit = LineLimit(session.default_buffer, MAX_LINE_CHARS, self._refused)
        console.columns = self.screen.columns
        console.transcript.size = self.screen.size
        #: ``-i --script FILE``: the lines to run before the first prompt.
        self.script: list[str] = []

    @functools.cached_property
    def outcomes(self) -> Outcomes:
        """What the dot-commands' outcomes ask of the shell, made at the first command:
        the first prompt does not wait for its modules."""
        from doer.frontends.shell.outcomes import Outcomes

        return Outcomes(self.screen, self.repeats, self.lifecycle)

    def prompt(self) -> FormattedText:
        """The prompt, drawn afresh at every redraw (:func:`prompt_of`)."""
        return prompt_of(self.console)

    def toolbar(self) -> FormattedText:
        """The bottom toolbar, at the terminal's width of the moment (:func:`toolbar_of`)."""
        return toolbar_of(self.console, self.screen.columns(), self.repeats.progress())

    def _refused(self) -> None:
        """Say, once per line, that typed or pasted text did not fit."""
        text = f"line too long: {MAX_LINE_CHARS:,} characters at most; the rest is not taken"
        # Called while a key is being handled: print once the keys are done.
        asyncio.get_running_loop().call_soon(self.screen.print, error_line(text))

    # --- the loop -----------------------------------------------------------------

    async def run(self) -> int:
        """Read and carry out lines until ``.quit`` or Ctrl-D; return the exit status."""
        loop = asyncio.get_running_loop()
        # Show records in this task's context, not the reader thread's: prompt-toolkit
        # finds the running application (to print above it) through a context variable.
        handoff: Handoff[tuple[Worker, Record]] = Handoff(
            loop, self.arrivals.take, contextvars.copy_context()
        )
        self.mailbox.attach(lambda worker, record: handoff.put((worker, record)))
        try:
            return await self._run_attached()
        finally:
            self.mailbox.detach()  # this loop ends: later records wait for the next reader

    async def _run_attached(self) -> int:
        if self._history_note:
            self.screen.print(note_line(self._history_note))
        # The terminal stays in raw mode between prompts too: keys typed while a
        # line is being handled wait for the next prompt instead of being echoed
        # by the terminal over the output, and a Ctrl-C there is still a key.
        with (
            self.session.input.raw_mode(),
            patch_stdout(raw=True),
            sigint_as_ctrl_c(self.session.app, between_prompts=self.waits.interrupt),
        ):
            probe_cpr(self.session.app)
            if self.console.worker is None:  # an asyncio worker: a task on this loop
                self.console.start()
            await self.lifecycle.wait_for_start()
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
                        color_depth=self.screen.color_depth,
                        include_default_pygments_style=False,
                        key_bindings=self.key_bindings,
                        input_processors=self.input_processors,
                        handle_sigint=False,  # handled once for the session: sigint_as_ctrl_c
                    )
                except KeyboardInterrupt:
                    self.say_work_goes_on()  # Ctrl-C clears the line; the workers are not touched
                    continue
                except EOFError:
                    break  # Ctrl-D
                self.record_typed(line)
                if not await self.handle(line):
                    break
            await self.leave()
        return 0

    async def leave(self) -> None:
        """``.quit`` or Ctrl-D: a ``.repeat`` still sending stops, then every worker,
        after the requests sent unless ``.quit!``."""
        # From now on every end was asked for (no ".restart" hint), those shown while
        # the sending stops too.
        self.shown.quitting = True
        await self.repeats.stop_sending()
        await self.lifecycle.quit(wait=self.outcomes.wait_on_quit)

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
            self.screen.print(echo_line(line))
            if not await self.handle(line):
                return False
            if not await self._wait_until_settled():
                rest = len(lines) - number
                said = f"Ctrl-C: the script stops at line {number}, {rest} left"
                self.screen.print(note_line(said))
                self.say_work_goes_on()
                break
        return True

    async def _wait_until_settled(self) -> bool:
        """Wait until every worker's start, every answer sent so far, every ``.repeat``'s
        rate, and the end of every worker that has ended or been killed is shown, or for
        the timeout; False if Ctrl-C stopped the wait. A script's next line then comes
        after all that its line made happen (``die``, ``.kill``)."""
        loop = asyncio.get_running_loop()
        await self.repeats.sending_done()  # a .repeat still sending: its last answers come after
        workers = self.console.running()
        at_most = max([self.console.settings.timeout, *map(self.console.start_timeout, workers)])
        began = loop.time()
        if await self.waits.until(self._settled, at_most):
            return True
        return loop.time() - began >= at_most  # sooner: only Ctrl-C ends the wait early

    def _settled(self) -> bool:
        workers = self.console.workers.values()
        return self.repeats.all_shown() and all(self.shown.settled(w) for w in workers)

    def say_work_goes_on(self) -> None:
        """After Ctrl-C: if a worker is still busy with a line, say that its work goes
        on (Ctrl-C only clears the line), why, and how to stop it."""
        busy = [(w.name, w.kind) for w in self.console.running() if w.pending]
        text = work_goes_on_text(busy)
        if text is not None:
            self.screen.print(note_line(text))

    def record_typed(self, line: str) -> None:
        """Keep a line typed for ``.save``, as plain mode shows it: ``> line``."""
        if not isinstance(interpret(line), Blank):
            self.console.transcript.add(plain(echo_line(line)))

    # --- a line -----------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Carry out one line; False when the shell should leave."""
        what = interpret(line)
        if isinstance(what, Blank):
            return True
        if isinstance(what, Invalid):
            self.screen.print(error_line(what.error))
        elif isinstance(what, Message):
            await self.send(what)
        elif isinstance(what, Command):
            return await self.outcomes.take(self.console.outcome_of(what))
        return True

    async def send(self, message: Message) -> None:
        """Send ``message`` to its workers; return once their answers are printed, or
        after :data:`QUICK_ANSWER_S` (``.wait on``: after the timeout).

        The short wait puts a quick answer (a ``ping``) above the next prompt
        before that prompt is drawn, rather
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
            self.screen.print(error_line(str(exc)))
            return
        timeout = self.console.settings.timeout
        # A full mailbox refuses the line: the prompt never waits for room.
        sent, errors = self.console.tell_each(message, workers, wait_for_room=False)
        for text, about in errors:
            self.screen.print(error_line(text, about))
        for note in self.console.crowded_note(message, sent):
            self.screen.print(note)
        loop = asyncio.get_running_loop()
        for worker, pending in sent:
            traced = pending if self.console.settings.trace else None
            self.shown.sent(worker, pending.request_id, traced)
            loop.call_later(timeout, self.shown.warn_if_late, worker, pending)
        self.screen.redraw()
        if not sent:
            return

        def answered() -> bool:  # this line's answers are the last ones sent
            return all(self.shown.all_answers_shown(worker) for worker, _ in sent)

        if self.console.settings.wait:
            began = loop.time()
            answered_in_time = await self.waits.until(answered, timeout)
            if not answered_in_time and loop.time() - began < timeout:  # Ctrl-C, not the time
                self.say_work_goes_on()  # the wait stops; the work does not
        else:
            await self.waits.briefly(answered, QUICK_ANSWER_S)


def work_goes_on_text(busy: list[tuple[str, str]]) -> str | None:
    """What Ctrl-C at the prompt leaves running, and why, for the ``busy`` workers
    (name and kind of each worker with a request pending); None if none is.

    Ctrl-C only clears the line: a thread cannot be interrupted from outside,
    a process or a task can be ended with ``.kill`` (a process at once, a task
    at its next await): each kind says which it is. The line names the worker
    to kill when there is only one, and fits 80 columns.
    """
    if not busy:
        return None
    clauses = []
    if not all(can_be_killed(kind) for _, kind in busy):
        clauses.append("a thread cannot be interrupted")
    killable = [(name, kind) for name, kind in busy if can_be_killed(kind)]
    nouns = {"task" if runs_as_a_task(kind) else "process" for _, kind in killable}
    if nouns:
        what = " or ".join(sorted(nouns))  # process or task
        clauses.append(f".kill NAME ends a {what}")
    text = "work goes on: " + "; ".join(clauses)
    named = text.replace("NAME", killable[0][0]) if len(killable) == 1 else text
    return named if len(named) <= 80 else text


def run_shell(
    console: Console, mailbox: Mailbox, *, color: bool = True, script: list[str] | None = None
) -> int:
    """Run the interactive shell on the terminal; return the exit status.

    ``script`` (``-i --script FILE``): lines to run first, as if typed.
    """
    shell = Shell(console, mailbox, color=color)
    shell.script = script or []
    return asyncio.run(shell.run())
