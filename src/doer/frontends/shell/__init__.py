"""The interactive shell: a prompt-toolkit session in one asyncio event loop.

::

    keys ──> PromptSession.prompt_async() ──> Shell.handle(line) ──> Console ──> worker
                 ▲                                                                 │
                 │ redraws the prompt                                              │
    Screen.print_lines() <── Arrivals.take() <── Handoff <── Mailbox <────── reply reader
     (above the prompt)        (in batches)     (the loop)       (a thread per worker)

Why one event loop: calling ``session.prompt()`` in a loop while another thread
prints through ``patch_stdout`` is racy (a reply landing between two prompts is
printed after the new prompt, which is then never redrawn). Here every reply is
handed to the loop that owns the prompt, and printed there by
:meth:`Screen.print_lines <doer.frontends.shell.screen.Screen.print_lines>`,
which erases the prompt, prints, and draws it again without leaving raw mode.
``patch_stdout`` stays only as a net for stray ``print`` calls.

A reply never waits for the prompt and the prompt never waits for a reply:
``handle`` sends a message and returns at once, so a pending ``sleep 5`` leaves
the prompt usable. Ctrl-C clears the line, as in every shell; in raw mode the
terminal sends it as a key, not as SIGINT, so it cannot reach a worker.

The parts, one concern each:

- :mod:`~doer.frontends.shell.app`: :class:`Shell`, the session and the main
  loop: a line read, carried out, its answers awaited;
- :mod:`~doer.frontends.shell.arrivals`: the records the reply readers hand
  over, shown a batch at a time;
- :mod:`~doer.frontends.shell.screen`: printing above the prompt, and the only
  module that reaches into prompt-toolkit's internals;
- :mod:`~doer.frontends.shell.shown`: what was sent and shown, per worker,
  and the lines a record prints;
- :mod:`~doer.frontends.shell.waits`: waiting between prompts (Ctrl-C stops it);
- :mod:`~doer.frontends.shell.outcomes`: what a dot-command's outcome asks of
  the shell, in one place;
- :mod:`~doer.frontends.shell.repeat`: ``.repeat``;
- :mod:`~doer.frontends.shell.lifecycle`: ``.restart``, ``.reset``, ``.stop``,
  ``.quit``, and waiting for a worker's start;
- :mod:`~doer.frontends.shell.keys`: key bindings, typeahead, SIGINT;
- :mod:`~doer.frontends.shell.input_line`: the line being typed, bounded;
- :mod:`~doer.frontends.shell.completion`, :mod:`~doer.frontends.shell.history`,
  :mod:`~doer.frontends.shell.toolbar`: Tab, Up and the bottom toolbar.
"""

from doer.frontends.shell.app import Shell, run_shell, work_goes_on_text
from doer.frontends.shell.completion import ConsoleCompleter
from doer.frontends.shell.history import history_path, make_history
from doer.frontends.shell.lifecycle import stopped_waiting_text
from doer.frontends.shell.screen import probe_cpr, slack_columns

__all__ = [
    "ConsoleCompleter",
    "Shell",
    "history_path",
    "make_history",
    "probe_cpr",
    "run_shell",
    "slack_columns",
    "stopped_waiting_text",
    "work_goes_on_text",
]
