"""Plain mode: the console without prompt-toolkit, for pipes and ``--script`` files.

Each line is echoed as ``> line``, then its answer (or a timeout) is printed,
before the next line's echo, so the output is a transcript that can go into
handouts, docs and tests. The text is the interactive shell's, without colours
or escape codes. The exit status is 0 only if every line went well: no error
reply, no timeout, no bad line, no dead worker.

Lines are *sent* ahead of their answers, though, while more lines are already
waiting to be read::

    stdin ──> LineSource ──> message lines ──> worker.tell_many() ──> worker
                                  │                                      │
                                  ▼                                      ▼
                       in flight: deque of               answers, in order, on each
                       (line, worker, Pending) ──>       Pending ──> echo + answer printed

Message lines for one worker are gathered and sent together, then join the
lines in flight; anything else (a
dot-command, a line for several workers, a bad line) first prints every line
in flight, then runs as before. When no further line can be read without
waiting (a program typing one line at a time), every line in flight is printed
before reading: it never waits for input with an answer unprinted. The
transcript is the same as one line at a time; only the waiting overlaps.

The parts, one concern each:

- :mod:`~doer.frontends.plain.runner`: :class:`PlainRunner`, the lines read and
  carried out in turn, the waits, the end of the run;
- :mod:`~doer.frontends.plain.ahead`: lines sent ahead, printed in order;
- :mod:`~doer.frontends.plain.records`: what records print, late answers, the trace;
- :mod:`~doer.frontends.plain.outcomes`: what a dot-command's outcome asks of
  plain mode, in one place;
- :mod:`~doer.frontends.plain.output`: the transcript written, and the exit status.
"""

from doer.frontends.plain.ahead import MAX_IN_FLIGHT, SENT_TOGETHER
from doer.frontends.plain.output import BUFFERED_LINES
from doer.frontends.plain.runner import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT_GONE,
    PlainRunner,
    run_plain,
)

__all__ = [
    "BUFFERED_LINES",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_OUTPUT_GONE",
    "MAX_IN_FLIGHT",
    "SENT_TOGETHER",
    "PlainRunner",
    "run_plain",
]
