"""The prompt, and the toolbar under it: the current worker, how many run, what is pending."""

from __future__ import annotations

from prompt_toolkit.formatted_text import FormattedText

from doer.console.render import toolbar_text
from doer.console.session import Console


def prompt_of(console: Console) -> FormattedText:
    """``doer w1 thread 4242> `` while the worker lives, ``doer (no worker)> `` after.

    Or the fixed prompt of ``--prompt`` / ``.prompt``.
    """
    return FormattedText([("class:prompt bg:default", console.prompt_text())])


def toolbar_of(
    console: Console, columns: int, repeating: tuple[int, int] | None = None
) -> FormattedText:
    """The current worker, how many run, and the requests pending across all of them,
    on a terminal ``columns`` wide; and ``repeating``, the copies sent by the ``.repeat``
    commands still sending, of how many."""
    workers = console.workers.values()
    running = sum(1 for worker in workers if worker.ended is None)
    pending = sum(worker.pending for worker in workers)
    worker = console.worker
    ended = worker is not None and worker.ended is not None
    state = None if worker is None else worker.state
    # Never wider than the terminal: cut by the terminal, it would lose the counts.
    width = max(columns, 10)
    text = toolbar_text(worker, ended, state, running, pending, width, repeating)
    return FormattedText([("class:toolbar", text)])
