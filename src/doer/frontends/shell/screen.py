"""What the shell draws: lines printed above a live prompt, and the room left around it.

This is the only module of the shell that reaches into prompt-toolkit past its
documented interface, so that a new prompt-toolkit is checked here:

- ``Application._running_in_terminal``: whether prompt-toolkit itself has
  handed the terminal over (then there is no prompt to erase);
- the renderer: ``erase()``, ``waiting_for_cpr``, ``wait_for_cpr_responses()``,
  ``request_absolute_cursor_position()``, ``cpr_support``, and its module's
  ``print_formatted_text``, which prints without going through the app session;
- ``Buffer._undo_stack``, the undo history prompt-toolkit has no setting for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application, get_app
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.formatted_text import FormattedText, StyleAndTextTuples
from prompt_toolkit.layout.containers import WindowRenderInfo
from prompt_toolkit.layout.controls import BufferControl, UIContent
from prompt_toolkit.layout.margins import Margin
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.renderer import CPR_Support
from prompt_toolkit.renderer import print_formatted_text as print_above
from prompt_toolkit.styles import Style

from doer.console.render import LAYOUT_STYLES, RESIZE_SLACK, STYLES, Fragments, plain


class Screen:
    """Prints lines above the prompt of ``session``; each line printed is given to
    ``keep`` (the transcript ``.save`` writes).

    ``color``: False for ``--no-color``: the layout's styles only, in one bit of colour.
    """

    def __init__(
        self, session: PromptSession[str], keep: Callable[[str], None], *, color: bool
    ) -> None:
        self.session = session
        self.keep = keep
        self.style = Style.from_dict(STYLES if color else LAYOUT_STYLES)
        self.color_depth = None if color else ColorDepth.DEPTH_1_BIT
        self._held: list[Fragments] = []  # lines waiting for a cursor-position answer
        # Redraw as soon as the loop is free, not up to prompt-toolkit's default of
        # 10 ms later (it postpones a redraw while other callbacks are ready, to
        # spare a busy CPU): an answer printed above the prompt is followed by a
        # redraw of the prompt, and a client waiting for that prompt waits for it.
        session.app.max_render_postpone_time = 0
        leave_slack(session)

    def columns(self) -> int:
        return self.session.app.output.get_size().columns

    def size(self) -> tuple[int, int]:
        """Columns and rows, as ``.save`` records them."""
        size = self.session.app.output.get_size()
        return size.columns, size.rows

    def redraw(self) -> None:
        """Draw the prompt and the toolbar again, once the loop is free."""
        self.session.app.invalidate()

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
            # about to say: hold the lines until it has, keeping their order.
            self._hold(lines)
            return
        for fragments in lines:
            self.keep(plain(fragments))
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


def bound_undo_history(buffer: Buffer, steps: int) -> None:
    """Keep only the newest ``steps`` of ``buffer``'s undo history."""
    undo = buffer._undo_stack  # prompt-toolkit has no setting for this
    if len(undo) > steps:
        del undo[: len(undo) - steps]
