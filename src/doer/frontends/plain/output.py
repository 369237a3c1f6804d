"""Plain mode's output: the lines of the transcript, buffered, as text or ``--jsonl`` records,
and whether every line went well (the exit status)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

from doer.client.worker import Worker
from doer.console.render import Fragments, echo_line, error_line, plain

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Unpack

    from doer.frontends.jsonl import Context, JsonLines

#: The most lines kept in the writer's buffer before they are written out.
BUFFERED_LINES = 256


class OutputGone(Exception):
    """Whoever read the transcript has gone (``doer ... | head``)."""


class Writer:
    """Writes the transcript to ``out``; each line is also given to ``keep`` (what
    ``.save`` writes).

    ``jsonl``: each line as a JSON record (:mod:`doer.frontends.jsonl`);
    ``quiet`` (``-c``): only what answers the lines, no echo.
    """

    def __init__(
        self, out: TextIO, keep: Callable[[str], None], *, jsonl: bool, quiet: bool
    ) -> None:
        self.out = out
        self.keep = keep
        self.quiet = quiet
        self.jsonl: JsonLines | None = None
        if jsonl:
            from doer.frontends.jsonl import JsonLines  # only --jsonl needs it

            self.jsonl = JsonLines()
        #: False once a line went wrong: an error, a timeout, a dead worker.
        self.ok = True
        self._buffer: list[str] = []  # lines written, not yet flushed
        self._gone = False

    def write(
        self,
        fragments: Fragments,
        *,
        flush: bool = True,
        type_: str = "note",
        **context: Unpack[Context],
    ) -> None:
        """Write one line of the transcript; ``flush=False`` keeps it in this writer's
        buffer, which a later :meth:`flush` writes out (before anything waits).

        ``type_`` and ``context`` say what the line is, for ``--jsonl``
        (:meth:`JsonLines.line <doer.frontends.jsonl.JsonLines.line>`).

        The buffer is the writer's own, not the stream's: with ``PYTHONUNBUFFERED``
        set, every write to ``sys.stdout`` would be a system call.

        Raises:
            OutputGone: the reader closed the pipe; later writes do nothing.
        """
        text = plain(fragments)
        if self.jsonl is not None:
            text = self.jsonl.line(type_, text, **context)
        self.put(text, flush)

    def put(self, text: str, flush: bool) -> None:
        """Buffer one line of output, as it goes out; flush as :meth:`write` says."""
        self._buffer.append(text)
        self.keep(text)
        if flush or len(self._buffer) >= BUFFERED_LINES:
            self.flush()

    def flush(self) -> None:
        """Write out the lines buffered.

        Raises:
            OutputGone: as :meth:`write`.
        """
        if self._gone:
            self._buffer.clear()
            return
        if not self._buffer:
            return
        text = "\n".join(self._buffer) + "\n"
        self._buffer.clear()
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self._gone = True
            _silence(self.out)
            raise OutputGone from None

    @property
    def gone(self) -> bool:
        """Whether the reader has gone (:class:`OutputGone` was raised)."""
        return self._gone

    def echo(self, line: str, *, flush: bool = True) -> None:
        """Show the line being carried out: ``> ping``, so the transcript reads alone."""
        if self.quiet:
            return
        self.put(plain(echo_line(line)) if self.jsonl is None else self.jsonl.input(line), flush)

    def fail(
        self, text: str, about: Worker | None = None, *, request_id: int | None = None
    ) -> None:
        """Write an error line: the run has failed."""
        self.ok = False
        self.write(error_line(text, about), type_="error", worker=about, request_id=request_id)


def _silence(out: TextIO) -> None:
    """Point ``out`` at /dev/null, so that flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor (a StringIO): nothing to flush
        pass
