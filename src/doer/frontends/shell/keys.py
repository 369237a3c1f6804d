"""The keys: the shell's bindings, and keys typed while the shell waits between prompts.

The terminal stays raw for the whole session, so Ctrl-C is a key, not a
SIGINT: at the prompt it clears the line, between prompts it stops a wait.
Other keys typed between prompts are kept for the next prompt, as typed ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

from prompt_toolkit.application import Application
from prompt_toolkit.filters import has_selection, is_searching
from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import store_typeahead
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent, merge_key_bindings
from prompt_toolkit.key_binding.key_bindings import KeyBindingsBase
from prompt_toolkit.key_binding.key_processor import KeyPress
from prompt_toolkit.keys import Keys

from doer.frontends.shell.input_line import bulk_typing_bindings


def key_bindings() -> KeyBindingsBase:
    """The shell's own bindings, on top of prompt-toolkit's (emacs) ones."""
    return merge_key_bindings([bulk_typing_bindings(), ctrl_c_bindings(), paste_bindings()])


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


@contextlib.contextmanager
def typed_ahead(keys: Input, on_ctrl_c: Callable[[], None]) -> Iterator[None]:
    """Read ``keys`` while no prompt is up: a Ctrl-C calls ``on_ctrl_c``; every other
    key is kept for the next prompt, as typed ahead."""

    def read_keys() -> None:
        typed = keys.read_keys()
        if any(key.key == Keys.ControlC for key in typed):
            on_ctrl_c()
        store_typeahead(keys, [key for key in typed if key.key != Keys.ControlC])

    with keys.attach(read_keys):
        yield


@contextlib.contextmanager
def sigint_as_ctrl_c(app: Application[str], between_prompts: Callable[[], None]) -> Iterator[None]:
    """A SIGINT from outside (``kill -INT``) does what Ctrl-C does, for the whole session.

    The terminal is raw, so a Ctrl-C typed reaches the shell as a key, not
    as SIGINT. prompt-toolkit would install its own handler around every
    prompt (and import ctypes for it at the first one, which delays the first
    prompt); one handler for the session clears the line at a prompt, and
    calls ``between_prompts`` otherwise (it stops a wait for answers, as the
    key does there).
    """

    def on_sigint() -> None:
        if app.is_running:
            app.key_processor.send_sigint()
        else:
            between_prompts()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
