"""Line mode: the console on a terminal it cannot, or should not, draw on.

The interactive shell draws: it moves the cursor, redraws the line being
typed, prints answers above a live prompt. That needs a terminal that
understands escape sequences and a person reading the screen. When ``TERM``
says the terminal is dumb (or says nothing), or when the terminal's echo is
already off as doer starts — a program is typing: pexpect's ``REPLWrapper``,
an ``expect`` script; GNU readline takes echo off as that sign too — the
console is a classic line-by-line REPL instead::

    prompt ──> read a line ──> carry it out ──> its answers, as lines ──> prompt
                (the terminal edits the line, and echoes it if its echo is on)

- The prompt comes after the line's answers (or after its timeout): a
  terminal that cannot move its cursor cannot put an answer above a prompt
  that is already there. A client can always send a line, wait for the
  prompt, and take everything before it as the answer.
- Nothing but text is written: no escape sequence, no colour, no redraw.
- Ctrl-C at the prompt clears the line (the terminal turns it into SIGINT);
  while an answer is awaited, it stops waiting, and the answer is printed
  when it comes, before a later prompt; while a worker is being stopped, it
  stops it at once. Ctrl-D at the prompt leaves, as ``.quit`` does.
- The terminal edits the line, so its limit holds: 4,095 bytes, the rest
  dropped without a word. A line that long is refused with an error rather
  than sent cut.

It is plain mode with a prompt and without the ``> line`` echo, so the two
print the same lines. Whether to run it is :func:`~doer.frontends.terminal.wants_line_mode`'s
to say.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from typing import BinaryIO, TextIO

from doer.base.protocol import Record, printable
from doer.client.worker import Pending, Worker
from doer.console.render import echo_line, plain
from doer.console.session import Settings
from doer.frontends.plain import EXIT_FAILED, EXIT_OK, PlainRunner
from doer.frontends.plain.output import Writer
from doer.frontends.terminal import echo_off

#: The longest line a terminal's own line editing keeps (Linux: 4,096 bytes with
#: the newline); it drops the rest without a word, so a line that long is refused.
TERMINAL_LINE_BYTES = 4095


class LineWriter(Writer):
    """Plain mode's writer, on a terminal that shows the line typed itself (or was
    told not to), and a prompt before each line."""

    def echo(self, line: str, *, flush: bool = True) -> None:
        """Nothing on the screen: the terminal has echoed the line already, or was
        told not to; but ``.save`` keeps it, as plain mode's echo (``> ping``).
        With ``--jsonl``, the line's ``input`` record (the terminal's echo is off)."""
        if self.jsonl is not None:
            super().echo(line, flush=flush)
        elif not self.quiet:
            self.keep(plain(echo_line(line)))

    def write_prompt(self, prompt: str) -> None:
        """The prompt, after every line before it; none with ``--jsonl``, whose every
        line is a record (a program waits for the answers, not a prompt)."""
        self.flush()
        if self.jsonl is None:
            self.out.write(printable(prompt))
        self.out.flush()

    def end_typed_line(self) -> None:
        """Move past a line the terminal did not end (Ctrl-C, Ctrl-D); with ``--jsonl``
        nothing: no prompt or echo is there to move past, and every line is a record."""
        if self.jsonl is None:
            self.out.write("\n")


class LineRunner(PlainRunner):
    """Plain mode with a prompt before each line, for a terminal (see the module's doc)."""

    WAITS_BECAUSE = "this terminal cannot show an answer above a prompt already drawn"
    WRITER = LineWriter
    writer: LineWriter

    def __init__(
        self, settings: Settings, stdin: BinaryIO, out: TextIO, *, jsonl: bool = False
    ) -> None:
        settings.wait = True  # always: see the module's doc
        super().__init__(settings, out, jsonl=jsonl)
        self.stdin = stdin
        self.console.columns = lambda: shutil.get_terminal_size().columns

    def prompted_lines(self) -> Iterator[bytes]:
        """The lines typed, each read after the prompt."""
        while True:
            self.records.print_late_answers()  # answers that came while at the prompt: before it
            self.write_prompt()
            try:
                line = self.stdin.readline()
            except KeyboardInterrupt:  # Ctrl-C: the terminal has dropped the line
                self.writer.end_typed_line()
                continue
            if not line:  # Ctrl-D
                self.writer.end_typed_line()
                return
            if not line.endswith(b"\n"):  # Ctrl-D after some text sends it as it is
                self.writer.end_typed_line()
            if len(line.rstrip(b"\r\n")) >= TERMINAL_LINE_BYTES:
                self.writer.fail(
                    f"line too long for a terminal in line mode: it keeps {TERMINAL_LINE_BYTES:,}"
                    " bytes of a line and drops the rest, so it was not sent"
                    " (pipe the lines in, or use the shell, for longer ones)"
                )
                continue
            yield line

    def write_prompt(self) -> None:
        """The prompt, after every line before it (:meth:`LineWriter.write_prompt`)."""
        self.writer.write_prompt(self.console.prompt_text())

    def _run_line(self, number: int, raw: bytes) -> bool:
        """Carry out one line; Ctrl-C while it runs is the end of that line, not of doer."""
        try:
            return super()._run_line(number, raw)
        except KeyboardInterrupt:
            self.writer.fail("interrupted")
            return True

    def stop(self, workers: list[Worker], quick: bool = False, leave: bool = False) -> list[Worker]:
        """Stop ``workers``; a Ctrl-C while waiting for them to end stops them at once."""
        try:
            return super().stop(workers, quick, leave)
        except KeyboardInterrupt:
            return super().stop(workers, quick=True, leave=leave)

    def request(self, worker: Worker, message: object) -> tuple[Pending, TimeoutError | None]:
        """Send ``message``; Ctrl-C stops waiting for its answer, as the timeout does."""
        pending = worker.tell(message, timed=True, parsed=True)
        try:
            self.wait_for(pending)
        except TimeoutError as exc:
            return pending, exc
        return pending, None

    def wait_for(self, pending: Pending, timeout: float | None = None) -> Record:
        """The answer to ``pending``; Ctrl-C stops waiting, as the timeout does."""
        try:
            return super().wait_for(pending, timeout)
        except KeyboardInterrupt:
            raise TimeoutError(f"stopped waiting for an answer to {pending.summary()}") from None

    def line_mode_status(self, status: int) -> int:
        """An error on one line is not a failure of the session, as in the shell;
        under ``--strict`` it is."""
        if self.records.strict:
            return status
        return EXIT_OK if status == EXIT_FAILED else status


def run_lines(settings: Settings, *, jsonl: bool = False) -> int:
    """Run line mode on this process's terminal; return the exit status.

    With ``jsonl`` the terminal's echo is turned off while it runs, so that
    every line of the output is a JSON record (the line typed is one, ``input``).
    """
    runner = LineRunner(settings, sys.stdin.buffer, sys.stdout, jsonl=jsonl)
    with echo_off(sys.stdin) if jsonl else contextlib.nullcontext():
        return runner.line_mode_status(runner.run(runner.prompted_lines()))
