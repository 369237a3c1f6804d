"""The fuzz checks behind ``test_fuzz.py`` (short runs) and ``test_soak.py`` (long runs).

Two checks, each a function that a test calls with its own size:

- :func:`check_plain_mode` pipes a batch of random lines into ``doer`` (plain
  mode) and checks the transcript line by line;
- :func:`fuzz_the_terminal` types random keys into ``doer`` in a real pty and
  checks that the console survives them.

Lines that legitimately end or stall things are left out: ``.quit`` and
``.restart`` (and every other dot-command, whose answers are several lines),
``exit``, ``sleep``, and the lessons ``die``, ``segfault`` and ``work``.
Ctrl-D is never sent.
"""

from __future__ import annotations

import random
import re
import subprocess
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pexpect
import pytest
from hypothesis import strategies as st

from doer.base.protocol import ParseError, parse_line, printable
from doer.console.commands import COMMANDS
from support.pty_helpers import DOER, START_EVENT, Terminal, console_env, strip_ansi

# --- plain mode: random lines ---------------------------------------------------------

#: Pieces that mean something to the parser, the terminal or the codec.
TRICKY = [
    "set-state",
    "get-state",
    "whoami",
    "foo",
    "'",
    '"',
    "\\",
    "\x00",
    "\t",
    "\r",
    "\x1b[31m",
    "\x1b]0;title\x07",
    "\x7f",
    "\x85",
    "\u2028",
    "\u202e",
    "\ufeff",
    "\u0301",
    "\U0001f600",
    "中文",
    "#",
    ".",
    ".nonsense",
    " ",
    "[",
    "(",
    "{",
    "0x",
    "1e999",
    "-0.0",
    "b'\\xff'",
    "'\\d'",
    "9" * 30,
]

#: Any character but the line separator, surrogates included (they cannot be
#: encoded, so they are dropped by :func:`_encode`).
_CHARACTER = st.characters(blacklist_characters="\n")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "ignore")  # surrogates cannot be encoded


#: One input line, as bytes without its newline.
LINE: st.SearchStrategy[bytes] = st.one_of(
    st.text(_CHARACTER, max_size=40).map(_encode),
    st.lists(st.sampled_from(TRICKY), max_size=6).map(lambda pieces: _encode(" ".join(pieces))),
    st.lists(st.sampled_from(TRICKY), max_size=12).map(lambda pieces: _encode("".join(pieces))),
    st.binary(max_size=40).map(lambda data: data.replace(b"\n", b"")),  # seldom UTF-8
    st.tuples(
        st.sampled_from(["x", "é", "set-state ", "'"]),
        st.sampled_from([200, 201, 64 * 1024, 64 * 1024 + 1, 1_000_000]),
    ).map(lambda piece_times: _encode(piece_times[0] * piece_times[1])),
)

#: A batch of lines for one run of the console.
LINES = st.lists(LINE, min_size=1, max_size=30)


def ends_things(raw: bytes) -> bool:
    """True for a line whose answer is not one line, or that ends or stalls the worker."""
    try:
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return False
    stripped = line.strip()
    if stripped.startswith("."):
        return any(stripped.startswith(name) for name in COMMANDS) or ".quit" in stripped
    try:
        message: Any = parse_line(line)
    except ParseError:
        return False
    if message in ENDS_OR_STALLS:
        return True
    return type(message) is tuple and bool(message) and message[0] in ENDS_OR_STALLS


#: Messages whose answer is not one prompt line, or that end or stall the worker.
ENDS_OR_STALLS = ("exit", "sleep", "die", "segfault", "work")


@dataclass
class Expected:
    """What one input line must print: nothing (blank), or an echo and one answer."""

    line: str | None  # the decoded line; None when it is not UTF-8
    number: int


def _expectations(lines: Sequence[bytes]) -> list[Expected]:
    expected = []
    for number, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            expected.append(Expected(None, number))
            continue
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            expected.append(Expected(line, number))
    return expected


def check_plain_mode(lines: Sequence[bytes], state_home: Path) -> None:
    """Pipe ``lines`` and a final ``ping`` into ``doer --kind thread``; check the transcript.

    The transcript must be: the creating line, the start event, then for each
    line that is not blank or a comment its echo ``> ...`` and exactly one
    answer (``[thread PID] ...`` or ``error: ...``); a line that is not UTF-8
    gets one ``error:`` line and no echo. Then ``pong`` and the end event.
    Nothing on stderr, no traceback, exit status 1 if any answer was an error
    and 0 otherwise.
    """
    lines = [raw for raw in lines if not ends_things(raw)]
    stdin = b"".join(raw + b"\n" for raw in lines) + b"ping\n"
    console = subprocess.run(
        [DOER, "--kind", "thread"],
        input=stdin,
        capture_output=True,
        env=console_env(state_home),
        timeout=30,
        check=False,
    )
    stdout = console.stdout.decode("utf-8")  # strict: the output must be UTF-8
    stderr = console.stderr.decode("utf-8", "replace")
    where = (
        f"\n--- input ---\n{lines!r}\n--- stdout ---\n{stdout[:20000]}\n--- stderr ---\n{stderr}"
    )

    assert "Traceback" not in stdout + stderr, where
    assert stderr == "", where
    assert console.returncode in (0, 1), where
    started = re.search(START_EVENT, stdout)
    assert started is not None, where
    tag = f"[w1 thread {started.group(5)}] "
    out = stdout.split("\n")
    assert out[-1] == "", f"the output does not end with a newline{where}"
    assert out[0].startswith("creating doer from process "), where
    assert out[1].startswith(f"{tag}on start: "), where
    rest = out[2:-1]
    failed = False
    for expected in _expectations(lines):
        assert rest, f"line {expected.number} printed nothing{where}"
        if expected.line is None:
            assert rest[0].startswith(f"error: line {expected.number} is not valid UTF-8"), where
            failed = True
            rest = rest[1:]
            continue
        assert rest[0].startswith("> " + printable(expected.line[:200])), (
            f"line {expected.number} ({expected.line[:200]!r}) was not echoed: {rest[0]!r}{where}"
        )
        assert len(rest) > 1, f"line {expected.number} got no answer{where}"
        answer = rest[1].removeprefix(tag)
        assert answer != rest[1] or answer.startswith("error: "), (
            f"line {expected.number} got {rest[1]!r}, not one answer{where}"
        )
        failed = failed or answer.startswith("error: ")
        rest = rest[2:]
    assert rest[:2] == ["> ping", f"{tag}pong"], f"the final ping was not answered{where}"
    assert len(rest) == 3, f"more lines than answers: {rest[2:]!r}{where}"
    assert rest[2].startswith(f"{tag}on end: "), where
    # Spaces other than " " (Zs) are kept on purpose: printable() shows them as they are.
    shown = all(ch.isprintable() or unicodedata.category(ch) == "Zs" for ch in "".join(out))
    assert shown, f"raw characters{where}"
    assert console.returncode == (1 if failed else 0), where


# --- a real terminal: random keys -------------------------------------------------------

#: Typed text never holds ``.``, ``p``, ``q``, ``x``, ``d``, ``g`` or ``w``, so no line
#: typed (or recalled from the history, which holds only typed lines) can become
#: ``.quit``, ``.restart``, ``exit``, ``sleep``, ``die``, ``segfault`` or ``work``.
#: Completion could: see COMPLETING_KEYS.
_SAFE_ASCII = "".join(ch for ch in map(chr, range(0x20, 0x7F)) if ch not in ".pqxdgwPQXDGW")
_SAFE_UNICODE = [
    "é",
    "ß",
    "中文",
    "😀",
    "\u0301",
    "\u200d",
    "\u202e",
    "\u00a0",
    "\ufeff",
    "\u3000",
    "ﷺ",
    "'",
    '"',
    "\\",
    " ",
    "set-state ",
    "get-state",
    "whoami",
    "1e999",
    "[1, 2",
]

#: Keys that only edit the line or move in it.
EDITING_KEYS = [
    "\x01",  # Ctrl-A
    "\x02",  # Ctrl-B
    "\x05",  # Ctrl-E
    "\x06",  # Ctrl-F
    "\x08",  # Ctrl-H
    "\x0b",  # Ctrl-K
    "\x0c",  # Ctrl-L
    "\x14",  # Ctrl-T
    "\x15",  # Ctrl-U
    "\x17",  # Ctrl-W
    "\x00",  # Ctrl-Space: set the mark
    "\x7f",  # Backspace
    "\x1b[C",  # Right
    "\x1b[D",  # Left
    "\x1b[H",  # Home
    "\x1b[F",  # End
    "\x1b[3~",  # Delete
    "\x1b[1;5C",  # Ctrl-Right
    "\x1b[1;5D",  # Ctrl-Left
    "\x1bOP",  # F1
    "\x1b[15~",  # F5
    "\x1b[2~",  # Insert
    "\x1b[99~",  # no such key
    "\x1bb",  # Alt-B
    "\x1bf",  # Alt-F
    "\x1bd",  # Alt-D
    "\x1b\x7f",  # Alt-Backspace
    "\x1bu",  # Alt-U
    "\x1bl",  # Alt-L
    "\x1bc",  # Alt-C
    "\x1b\\",  # Alt-\
    "\x1b2",  # Alt-2: a repeat count
    "\x1b<",  # Alt-<: the oldest history line (only typed lines are there)
    "\x1b>",  # Alt->
    "\x12",  # Ctrl-R: search the history
    "\x1b[200~pasted text\x1b[201~",  # a bracketed paste
    "\x1b[200~two\rlines\x1b[201~",
]

#: Keys that can put a completion (``exit``, ``.quit``...) into the line, or that
#: start a sequence: a line with one of them is cleared with Ctrl-C, never entered.
COMPLETING_KEYS = [
    "\t",  # Tab
    "\x1b[Z",  # Shift-Tab
    "\x1b[A",  # Up: in the completion menu as in the history
    "\x1b[B",  # Down
    "\x0e",  # Ctrl-N
    "\x10",  # Ctrl-P
    "\x1b[5~",  # Page Up
    "\x1b[6~",  # Page Down
    "\x1b/",  # Alt-/: complete
    "\x1b*",  # Alt-*: insert all completions
    "\x1b",  # Esc alone: it would make the next key an Alt key
]

CTRL_C = "\x03"
#: Ctrl-C ends search, then clears the line; one more in case an Esc came before.
CLEAR = CTRL_C * 3


def random_keys(rng: random.Random) -> str:
    """One line's worth of random keys, ended by Enter or, if it could complete, Ctrl-C."""
    keys = []
    completing = False
    for _ in range(rng.randint(0, 12)):
        roll = rng.random()
        if roll < 0.45:
            keys.append("".join(rng.choices(_SAFE_ASCII, k=rng.randint(1, 8))))
        elif roll < 0.6:
            keys.append(rng.choice(_SAFE_UNICODE))
        elif roll < 0.85:
            keys.append(rng.choice(EDITING_KEYS))
        elif roll < 0.95:
            keys.append(rng.choice(COMPLETING_KEYS))
            completing = True
        else:
            keys.append(CTRL_C)
    if rng.random() < 0.02:
        keys.append(rng.choice(_SAFE_ASCII) * rng.randint(200, 1500))  # a long line
    return "".join(keys) + (CLEAR if completing else "\r")


#: Whole lines sent at a cleared prompt now and then.
SAFE_LINES = ["ping", ".help", ".status", ".nonsense", "get-state", "set-state 'unclosed"]

#: Lines of random keys between two checks that the console has caught up.
BATCH = 8


class Fuzz:
    """Types random keys at one console, reading its output all along.

    The output is kept in chunks (a long run writes megabytes: appending to one
    string, or searching all of it for each marker, would take quadratic time).
    """

    def __init__(self, term: Terminal, seed: int) -> None:
        self.term = term
        self.seed = seed
        self.sent: list[str] = []
        self.chunks: list[str] = []
        self.unseen = ""  # the output since the last marker's answer

    def log(self) -> str:
        """Everything the console wrote, escape codes stripped."""
        return strip_ansi(self.term.raw + "".join(self.chunks))

    def fail(self, message: str) -> NoReturn:
        pytest.fail(
            f"{message}\nfuzz seed: {self.seed} (rerun with DOER_FUZZ_SEED={self.seed})\n"
            f"--- the last keys sent ---\n{self.sent[-BATCH * 2 :]!r}\n"
            f"--- the end of the log (escape codes stripped) ---\n{self.log()[-6000:]}\n"
            "--- end ---",
            pytrace=False,
        )

    def drain(self, timeout: float = 0.0) -> bool:
        """Read whatever the console has written; False at end of file."""
        try:
            while True:
                chunk = self.term.child.read_nonblocking(65536, timeout=timeout)
                self.chunks.append(chunk)
                self.unseen += chunk
                timeout = 0.0
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False

    def send(self, keys: str) -> None:
        self.sent.append(keys)
        try:
            self.term.send(keys)
        except OSError as exc:
            self.fail(f"could not type at the console: {exc}")
        if not self.drain():
            self.fail("the console ended")

    def catch_up(self, mark: int, timeout: float = 10.0) -> None:
        """Clear the line, set a marker state and wait for its answer.

        Answers come in order, so once it is printed every earlier line has been
        answered: the console has kept up with the keys.
        """
        self.send(CLEAR + f"set-state mk{mark}z\r")
        wanted = f"new state: mk{mark}z"
        deadline = time.monotonic() + timeout
        while (found := self.unseen.find(wanted)) < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.fail(f"no answer to the marker {mark} within {timeout:g} s")
            if not self.drain(min(remaining, 0.5)):
                self.fail(f"the console ended before answering the marker {mark}")
        self.unseen = self.unseen[found + len(wanted) :]

    def run(self, lines: int) -> None:
        rng = random.Random(self.seed)
        for number in range(1, lines + 1):
            if rng.random() < 0.05:
                self.send(CLEAR + rng.choice(SAFE_LINES) + "\r")
            else:
                self.send(random_keys(rng))
            if number % BATCH == 0:
                self.catch_up(number)
        self.catch_up(lines + 1)
        if "Traceback" in self.log():
            self.fail("a traceback was printed")
        if not self.term.child.isalive():
            self.fail("the console is not running")
        self.term.raw += "".join(self.chunks)
        self.chunks = []
        self.term.pos = len(self.term.text)
        self.term.ask("ping", "pong")


def fuzz_the_terminal(state_home: Path, lines: int, seed: int) -> None:
    """Type ``lines`` lines of random keys at ``doer --kind thread``; it must survive them."""
    print(f"fuzz seed: {seed} (rerun with DOER_FUZZ_SEED={seed})")
    term = Terminal(["--kind", "thread"], state_home)
    try:
        term.start()
        Fuzz(term, seed).run(lines)
    finally:
        term.close()
