"""The lines the console prints, as styled fragments.

Both front ends print the same text: the interactive shell gives the fragments
to prompt-toolkit with their styles, plain mode joins the text and drops the
styles. Keeping the wording here means a transcript from plain mode is exactly
what a person sees at the prompt, minus the colours. No prompt-toolkit import:
a fragment is just a ``(style, text)`` pair.

One module for each thing rendered; every name is also importable from here:

- :mod:`~doer.console.render.fragments`: styles, the worker's tag, the console's
  notes and errors, text cut to fit;
- :mod:`~doer.console.render.records`: what workers send, and values;
- :mod:`~doer.console.render.news`: a request late, a worker ended, killed,
  stuck or gone, a command that failed;
- :mod:`~doer.console.render.status`: ``.status``, the toolbar, ``.peek``, ``.mark``;
- :mod:`~doer.console.render.table`: ``.workers``;
- :mod:`~doer.console.render.timing`: ``.timeline``, ``.trace``, ``.repeat``'s
  rate, durations and sizes;
- :mod:`~doer.console.render.locks`: ``.locks``, the lesson locks and a deadlock's cycle.
"""

from __future__ import annotations

from doer.console.render.fragments import (
    KIND_COLOURS,
    LAYOUT_STYLES,
    SHOWN_CHARS,
    STYLES,
    AsItWas,
    Fragments,
    Tagged,
    clipped,
    creating_line,
    echo_line,
    error_line,
    in_kind_colour,
    note_line,
    shorten,
    tag,
    tagged,
    unstyled,
)
from doer.console.render.locks import NOTHING_HELD, locks_lines
from doer.console.render.news import (
    STOPPING_RAY_CLUSTER,
    Summarised,
    ended_hint,
    ended_text,
    failed_text,
    kill_lines,
    late_text,
    stuck_text,
    use_line,
)
from doer.console.render.records import (
    is_unknown_message,
    late_answer_line,
    record_line,
    record_text,
    shown_value,
)
from doer.console.render.status import (
    CONSOLE_TAG,
    FEWEST_STATE_CHARS,
    RESIZE_SLACK,
    TOOLBAR_STATE_CHARS,
    Listed,
    how_it_runs,
    life_text,
    mark_line,
    peek_lines,
    status_line,
    toolbar_text,
    worker_status,
)
from doer.console.render.table import WORKERS_HEADER, hidden_text, workers_table
from doer.console.render.timing import (
    Traced,
    milliseconds,
    repeat_line,
    running_shares,
    size,
    timeline_lines,
    trace_line,
)

#: The names these had before: ``plain`` read as plain mode, the front end, and
#: ``gone_text`` was also a method of the console that takes a worker, not a name.
plain = unstyled
gone_text = ended_text

__all__ = [
    "CONSOLE_TAG",
    "FEWEST_STATE_CHARS",
    "KIND_COLOURS",
    "LAYOUT_STYLES",
    "NOTHING_HELD",
    "RESIZE_SLACK",
    "SHOWN_CHARS",
    "STOPPING_RAY_CLUSTER",
    "STYLES",
    "TOOLBAR_STATE_CHARS",
    "WORKERS_HEADER",
    "AsItWas",
    "Fragments",
    "Listed",
    "Summarised",
    "Tagged",
    "Traced",
    "clipped",
    "creating_line",
    "echo_line",
    "ended_hint",
    "ended_text",
    "error_line",
    "failed_text",
    "gone_text",
    "hidden_text",
    "how_it_runs",
    "in_kind_colour",
    "is_unknown_message",
    "kill_lines",
    "late_answer_line",
    "late_text",
    "life_text",
    "locks_lines",
    "mark_line",
    "milliseconds",
    "note_line",
    "peek_lines",
    "plain",
    "record_line",
    "record_text",
    "repeat_line",
    "running_shares",
    "shorten",
    "shown_value",
    "size",
    "status_line",
    "stuck_text",
    "tag",
    "tagged",
    "timeline_lines",
    "toolbar_text",
    "trace_line",
    "unstyled",
    "use_line",
    "worker_status",
    "workers_table",
]
