"""What the console printed, in order and timed, for ``.save``: a handout of the class.

Each front end hands every line it prints to the console's :class:`Transcript`,
as plain text (the shell adds the lines typed, as plain mode's ``> line``).
``.save FILE`` writes them out one of two ways:

- **a plain transcript** (any name): the lines, as plain mode prints them;
- **an asciicast v2 recording** (a name ending in ``.cast``): a JSON header
  line, then one ``[seconds, "o", text]`` event per line, at the moment it
  was printed, which ``asciinema play`` replays with its timing.

Recording costs one append per line, and at most :data:`KEPT_LINES` are kept:
a burst of answers (``.repeat 100000 ping``) cannot fill the machine's memory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

#: The most lines kept; the lines printed after them are counted, not kept.
KEPT_LINES = 100_000

#: The suffix that asks for an asciicast recording rather than plain text.
CAST_SUFFIX = ".cast"


class Transcript:
    """The lines printed so far, each with the time it was printed.

    Args:
        clock: seconds on a clock that never goes back (tests give their own).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._began = clock()
        #: The wall-clock time the recording began, for the recording's header.
        self.began_at = time.time()
        self._lines: list[str] = []
        self._times: list[float] = []
        #: Lines printed beyond :data:`KEPT_LINES`: counted, not kept.
        self.dropped = 0
        #: The screen's width and height, for the recording's header; the
        #: front end that knows the terminal sets it.
        self.size: Callable[[], tuple[int, int]] = lambda: (80, 24)
        #: Turns a kept line into the text it shows (``--jsonl`` keeps JSON
        #: records: their ``text`` is the line); None: kept as it shows.
        self.shown: Callable[[str], str] | None = None

    def add(self, line: str) -> None:
        """Keep one printed line (without its newline), timed now."""
        if len(self._lines) >= KEPT_LINES:
            self.dropped += 1
            return
        self._lines.append(line)
        self._times.append(self._clock() - self._began)

    def __len__(self) -> int:
        return len(self._lines)

    def lines(self) -> list[str]:
        """The lines kept, as they showed."""
        shown = self.shown
        return list(self._lines) if shown is None else [shown(line) for line in self._lines]

    def save(self, path: str) -> str:
        """Write the lines kept to ``path``, as a recording if it ends in ``.cast``;
        return the one line that says so (``saved 42 lines to class.cast``).

        Raises:
            ValueError: the file cannot be written (the text is the one-line reason).
        """
        lines = self.lines()
        text = self._cast(lines) if path.endswith(CAST_SUFFIX) else plain_text(lines)
        try:
            # A character UTF-8 cannot hold (a lone surrogate) is written as an escape.
            with open(
                os.path.expanduser(path), "w", encoding="utf-8", errors="backslashreplace"
            ) as file:
                file.write(text)
        except OSError as exc:
            raise ValueError(f"cannot save to {path}: {exc.strerror or exc}") from None
        said = f"saved {len(lines):,} line{'' if len(lines) == 1 else 's'} to {path}"
        if self.dropped:
            said += f" (the first {KEPT_LINES:,}; {self.dropped:,} more not kept)"
        return said

    def _cast(self, lines: list[str]) -> str:
        """The asciicast v2 text of ``lines``: a header, then one output event a line."""
        import json  # only a recording needs it: not loaded before the first prompt

        width, height = self.size()
        header = {
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": int(self.began_at),
            "title": "doer",
            "env": {"TERM": os.environ.get("TERM", "xterm-256color")},
        }
        events = [
            json.dumps([round(seconds, 6), "o", line + "\r\n"], ensure_ascii=False)
            for seconds, line in zip(self._times, lines, strict=True)
        ]
        return "\n".join([json.dumps(header), *events]) + "\n"


def plain_text(lines: list[str]) -> str:
    """The lines as a plain transcript: one a line, each ended by a newline."""
    return "".join(line + "\n" for line in lines)


def json_text(record: str) -> str:
    """The ``text`` of a ``--jsonl`` record: the line as plain mode would print it."""
    import json  # loaded already: --jsonl wrote the record

    text = json.loads(record).get("text", record)
    return text if isinstance(text, str) else record
