"""The lines of a byte stream, and whether the next one is there already.

Plain mode sends a line to its worker without waiting for the answer while
more lines are waiting to be read (a pipe or a script file): that is its
throughput. But a program that types one line, then waits for its answer
before it types the next (``PopenSpawn``, a co-process) must get that answer
before plain mode blocks to read on. So plain mode needs to know, before it
reads, whether reading would block: :meth:`LineSource.ready`.

Reading goes straight to the file descriptor, in chunks, and the lines are
split here: a buffered file object cannot say whether a read would block.
"""

from __future__ import annotations

import os
import select
from collections import deque
from typing import BinaryIO

CHUNK_BYTES = 1 << 16


class LineSource:
    """An iterator over the lines of ``stream`` (bytes, without their ``\\n``).

    A last line without a newline is a line too. Lines are read ahead only as
    far as the data already written; never past what is there.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        try:
            self._fd: int | None = stream.fileno()
        except (OSError, ValueError, AttributeError):  # io.BytesIO: all of it is there
            self._fd = None
        self._lines: deque[bytes] = deque()
        # The start of a line still to end, in the pieces it came in: joined once, when
        # its newline comes (joining at every read would copy a long line over and over).
        self._partial: list[bytes] = []
        self._ended = False

    def __iter__(self) -> LineSource:
        return self

    def __next__(self) -> bytes:
        while not self._lines:
            if self._ended:
                raise StopIteration
            self._read()
        return self._lines.popleft()

    def ready(self) -> bool:
        """True if the next line (or the end) can be had without waiting."""
        if self._lines or self._ended or self._fd is None:
            return True
        while True:
            try:
                readable, _, _ = select.select([self._fd], [], [], 0)
            except (OSError, ValueError):  # not a file select() takes: assume it flows
                return True
            if not readable:
                return False
            self._read()
            if self._lines or self._ended:
                return True
            # Only part of a line was there: look again, the rest may be too.

    def _read(self) -> None:
        """Read what is there (blocking if nothing is) and split it into lines."""
        if self._fd is not None:
            chunk = os.read(self._fd, CHUNK_BYTES)
        else:
            chunk = self._stream.read(CHUNK_BYTES)
        if not chunk:
            self._ended = True
            if self._partial:
                self._lines.append(b"".join(self._partial))
                self._partial = []
            return
        if b"\n" not in chunk:
            self._partial.append(chunk)
            return
        lines = chunk.split(b"\n")
        if self._partial:
            lines[0] = b"".join([*self._partial, lines[0]])
        rest = lines.pop()
        self._partial = [rest] if rest else []
        self._lines.extend(lines)


class ScriptFirst:
    """The lines of a script, then those of a stream (``-i --script FILE`` on a pipe),
    as one :class:`LineSource`: the script's lines are all there at once."""

    def __init__(self, script: list[bytes], then: LineSource) -> None:
        self._script = deque(script)
        self._then = then

    def __iter__(self) -> ScriptFirst:
        return self

    def __next__(self) -> bytes:
        if self._script:
            return self._script.popleft()
        return next(self._then)

    def ready(self) -> bool:
        """True if the next line (or the end) can be had without waiting."""
        return bool(self._script) or self._then.ready()
