"""What a typed line means, and the worker it goes to: shared by both front ends.

The interactive shell (:mod:`doer.shell`) and plain mode (:mod:`doer.plain`)
read lines differently and print differently, but a line means the same thing
in both. :func:`interpret` classifies a line; :class:`Console` owns the current
worker and carries out what the line asks for. Nothing here touches a terminal.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, NamedTuple

from doer.client import Listener, Pending, Worker, WorkerGone, start
from doer.kinds import KINDS, START_METHODS
from doer.protocol import ParseError, Record, parse_line
from doer.render import Fragments, error_line, note_line, status_line
from doer.worker import BUILTIN_MESSAGES, Handler

MESSAGE_HELP: dict[str, str] = {
    "ping": "the worker answers pong",
    "set-state V": "set the worker's state to V (a Python literal or a word)",
    "get-state": "show the worker's state",
    "whoami": "kind, pid, parent pid, thread, task, start method",
    "sleep S": "sleep S seconds, then answer (later messages wait)",
    "exit": "end the worker (its end event shows the final state and pid)",
}


# NamedTuples rather than dataclasses: the shell imports this module before its
# first prompt, and dataclasses cost several milliseconds more to import and build.


class Quit(NamedTuple):
    """``.quit`` (wait for pending requests first) or ``.quit!`` (do not)."""

    wait: bool


class Restart(NamedTuple):
    """``.restart [KIND] [--start-method M]``: replace the worker with a fresh one."""

    kind: str
    start_method: str | None = None


class Kill(NamedTuple):
    """``.kill``: the worker was killed, or told why not; ``lines`` say which."""

    worker: Worker
    lines: list[Fragments]


#: What carrying out a command asks of the front end: lines to print, or a
#: step only it can take, because only it knows how to wait (the shell
#: awaits, with Ctrl-C to stop waiting; plain mode blocks).
Outcome = list[Fragments] | Quit | Restart | Kill


class Spec(NamedTuple):
    """One command of the console: how it is typed, what ``.help`` says, what it does.

    ``does`` names the :class:`Console` method that carries it out, given the
    rest of the line.
    """

    usage: str
    help: str
    does: str


#: The console's own commands. Both front ends read lines through
#: :func:`interpret` and carry commands out through :meth:`Console.carry_out`;
#: ``.help`` is written from this table.
COMMANDS: dict[str, Spec] = {
    ".help": Spec(".help", "show this help", "help_lines"),
    ".status": Spec(
        ".status", "show the worker: kind, pid, state, pending requests", "status_lines"
    ),
    ".timeout": Spec(
        ".timeout [S]", "show or set the seconds to wait for an answer", "timeout_lines"
    ),
    ".restart": Spec(
        ".restart [KIND]", "a fresh worker; a process takes --start-method M too", "restart_for"
    ),
    ".kill": Spec(".kill [NAME]", "end the worker at once: what its kind allows, said", "kill"),
    ".prompt": Spec(
        ".prompt [TEXT]", "a fixed prompt (.prompt 'X> '); alone: the usual one", "set_prompt"
    ),
    ".wait": Spec(".wait [on|off]", "on: the prompt waits for each line's answers", "wait_lines"),
    ".quit": Spec(".quit", "wait for pending requests, stop, leave (Ctrl-D)", "quit_after_pending"),
    ".quit!": Spec(".quit!", "leave now: pending requests are dropped, and said so", "quit_now"),
}


class Message(NamedTuple):
    """A line to send to the worker, already parsed."""

    message: Any


class Command(NamedTuple):
    """A dot-command for the console itself."""

    name: str
    argument: str = ""


class Invalid(NamedTuple):
    """A line that cannot be carried out; ``error`` is the one-line reason."""

    error: str


class Blank(NamedTuple):
    """An empty line or a ``#`` comment: nothing to do."""


Line = Message | Command | Invalid | Blank


def interpret(line: str) -> Line:
    """Say what ``line`` asks for, without doing it."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return Blank()
    if stripped.startswith("."):
        name, _, argument = stripped.partition(" ")
        if name not in COMMANDS:
            return Invalid(f"unknown command {name} (.help lists the commands)")
        return Command(name, argument.strip())
    try:
        return Message(parse_line(line))
    except ParseError as exc:
        return Invalid(str(exc))


class Settings:
    """How to start workers; the command line fills it in."""

    def __init__(
        self,
        kind: str = "thread",
        state: Any = None,
        start_method: str | None = None,
        timeout: float = 10.0,
        handlers: dict[str, Handler] | None = None,
        prompt: str | None = None,
        wait: bool = False,
        name: str = "w1",
    ) -> None:
        self.kind = kind
        self.state = state
        self.start_method = start_method
        self.timeout = timeout
        self.handlers: dict[str, Handler] = handlers or {}
        #: A fixed prompt (``--prompt``, ``.prompt``); None: ``doer NAME KIND PID> ``.
        self.prompt = prompt
        #: The classic REPL contract (``--wait``, ``.wait on``): the prompt comes
        #: back once a line's answers are printed, not at once.
        self.wait = wait
        #: The worker's name (``--name``): every line it prints is tagged with it.
        self.name = name


class Console:
    """The current worker and what the console's commands do to it.

    Args:
        settings: how to start workers.
        listener: receives every record from every worker this console starts
            (called in that worker's reply-reader thread).
        always_waits: why the front end cannot do ``.wait off`` (plain and
            line mode wait for every answer), or None.
    """

    def __init__(
        self,
        settings: Settings,
        listener: Listener | None = None,
        *,
        always_waits: str | None = None,
    ) -> None:
        self.settings = settings
        self.listener = listener
        #: Why this front end cannot do ``.wait off`` (None: it can).
        self.always_waits = always_waits
        self.worker: Worker | None = None
        self._left_behind: weakref.WeakSet[Worker] = weakref.WeakSet()

    def start(self, kind: str | None = None, start_method: str | None = None) -> Worker:
        """Start a fresh worker (of ``kind``, or the configured kind) and make it current.

        A process's ``start_method`` becomes the configured one for later restarts.
        """
        kind = kind or self.settings.kind
        if start_method is not None:
            self.settings.start_method = start_method
        start_method = self.settings.start_method if kind == "process" else None
        self.worker = start(
            kind,
            self.settings.state,
            start_method=start_method,
            handlers=self.settings.handlers,
            name=self.settings.name,
            listener=self.listener,
        )
        self.settings.kind = kind
        return self.worker

    def leave_behind(self, worker: Worker) -> None:
        """``worker`` could not be stopped (a thread stuck in a handler) and is replaced."""
        self._left_behind.add(worker)

    def is_replaced(self, worker: Worker) -> bool:
        """True for a worker left behind by ``.restart``: its late lines must say so."""
        return worker in self._left_behind

    def send(self, message: Any) -> Pending:
        """Send ``message`` to the current worker.

        Raises:
            WorkerGone: there is no live worker.
            ValueError: the message could not be sent.
        """
        if self.worker is None:
            raise WorkerGone("there is no worker; .restart starts one")
        try:
            return self.worker.tell(message)
        except WorkerGone:
            raise WorkerGone("the worker has ended; .restart starts a fresh one") from None

    def kill(self, argument: str) -> Kill:
        """Carry out ``.kill [NAME]``: end the worker at once, as far as its kind allows.

        A process is killed (SIGKILL: its death is reported as any other); a
        task is cancelled, which takes effect at its next ``await``; a thread
        cannot be killed from outside in Python, and the line says so.

        Raises:
            ValueError: no worker, or none of that name.
        """
        worker = self.worker
        if worker is None or worker.ended is not None:
            raise ValueError("there is no worker to kill; .restart starts one")
        if argument and argument != worker.name:
            raise ValueError(f"no worker named {argument} (.status names the worker)")
        if worker.kind == "thread":
            why = (
                f"{worker.name} is a thread, and Python cannot kill a thread from outside:"
                " it goes on (.restart leaves it behind)"
            )
            return Kill(worker, [note_line(why)])
        worker.kill()
        if worker.kind == "asyncio":
            why = (
                f"{worker.name}'s task is cancelled: it ends at its next await"
                " (a handler that blocks runs to its end first)"
            )
            return Kill(worker, [note_line(why)])
        return Kill(worker, [])  # its death is reported when the console sees it

    def restart_for(self, argument: str) -> Restart:
        """What ``.restart [KIND] [--start-method M]`` asks for.

        The kind defaults to the current one; a process's start method to the
        one it had, so fork, spawn and forkserver can be compared in turn.

        Raises:
            ValueError: not a kind, not a start method, or a start method for a
                kind that has none.
        """
        words = argument.replace("--start-method=", "--start-method ").split()
        start_method = None
        if "--start-method" in words:
            at = words.index("--start-method")
            if at + 1 >= len(words):
                raise ValueError("--start-method needs a method: " + " or ".join(START_METHODS))
            start_method = words[at + 1]
            del words[at : at + 2]
            if start_method not in START_METHODS:
                raise ValueError(
                    f"no start method {start_method!r}: choose {' or '.join(START_METHODS)}"
                )
        if len(words) > 1:
            raise ValueError(f"cannot restart as {' '.join(words)!r}: one kind at most")
        kind = words[0] if words else self.settings.kind
        if kind not in KINDS:
            raise ValueError(f"cannot restart as {kind!r}: choose {' or '.join(KINDS)}")
        if start_method is not None and kind != "process":
            raise ValueError(f"--start-method applies to process workers, not to a {kind}")
        return Restart(kind, start_method)

    def set_timeout(self, argument: str) -> float:
        """Carry out ``.timeout [S]``: set the timeout if given; return it.

        Raises:
            ValueError: not a positive number of seconds.
        """
        if argument:
            try:
                seconds = float(argument)
            except ValueError:
                seconds = -1.0
            if not 0 < seconds < float("inf"):
                raise ValueError(
                    f"the timeout must be a positive number of seconds, not {argument}"
                )
            self.settings.timeout = seconds
        return self.settings.timeout

    def stop(self, timeout: float | None = None) -> None:
        """Stop the current worker: ``exit``, wait for its end, join (kill if it hangs)."""
        if self.worker is not None:
            self.worker.stop(self.settings.timeout if timeout is None else timeout)

    def carry_out(self, command: Command) -> Outcome:
        """Carry out a dot-command, as far as the console can: see :data:`Outcome`.

        Raises:
            ValueError: a bad argument; the text is the one-line error.
        """
        outcome: Outcome = getattr(self, COMMANDS[command.name].does)(command.argument)
        return outcome

    def quit_after_pending(self, argument: str) -> Quit:
        return Quit(wait=True)

    def quit_now(self, argument: str) -> Quit:
        return Quit(wait=False)

    def timeout_lines(self, argument: str) -> list[Fragments]:
        return [note_line(f"timeout: {self.set_timeout(argument):g} s")]

    def wait_lines(self, argument: str) -> list[Fragments]:
        return [note_line(f"wait: {'on' if self.set_wait(argument) else 'off'}")]

    def set_prompt(self, argument: str) -> list[Fragments]:
        """Carry out ``.prompt [TEXT]``.

        Nothing is printed: the new prompt is the answer. A line that showed
        the text would be taken for the prompt by a client waiting for it
        (pexpect's REPLWrapper does exactly that).
        """
        self.settings.prompt = prompt_argument(argument)
        return []

    def set_wait(self, argument: str) -> bool:
        """Carry out ``.wait [on|off]``: set it if given; return it.

        Raises:
            ValueError: neither on nor off.
        """
        if argument:
            if argument not in ("on", "off"):
                raise ValueError(f".wait takes on or off, not {argument}")
            if argument == "off" and self.always_waits:
                raise ValueError(f"wait stays on: {self.always_waits}")
            self.settings.wait = argument == "on"
        return self.settings.wait

    def prompt_text(self) -> str:
        """The prompt: the fixed one, or ``doer NAME KIND PID> ``, or ``doer (no worker)> ``."""
        if self.settings.prompt is not None:
            return self.settings.prompt
        worker = self.worker
        if worker is None or worker.ended is not None:
            return "doer (no worker)> "
        return f"doer {worker.name} {worker.kind} {worker.pid}> "

    def help_lines(self, argument: str = "") -> list[Fragments]:
        lines = [note_line("Type a message for the worker, or a command for the console.")]
        lines += [note_line(f"  {name:<16} {text}") for name, text in MESSAGE_HELP.items()]
        extra = sorted(set(self.settings.handlers) - set(BUILTIN_MESSAGES))
        lines += [note_line(f"  {name:<16} (a handler of this console)") for name in extra]
        lines += [note_line(f"  {spec.usage:<16} {spec.help}") for spec in COMMANDS.values()]
        lines.append(note_line("Anything else is sent as it is; the worker answers unknown."))
        return lines

    def status_lines(self, argument: str = "") -> list[Fragments]:
        w = self.worker
        if w is None:
            return [error_line("there is no worker; .restart starts one")]
        return [status_line(w, w.alive, w.state, w.pending, w.start_method)]

    def completion_words(self) -> list[str]:
        """Every word worth completing at the start of a line."""
        return [*BUILTIN_MESSAGES, *sorted(set(self.settings.handlers) - set(BUILTIN_MESSAGES))]


def prompt_argument(argument: str) -> str | None:
    """The prompt ``.prompt ARGUMENT`` asks for; None (the usual prompt) when empty.

    The text is taken as typed; quote it to keep spaces at its ends:
    ``.prompt 'X> '``. (A line's own ends are stripped before this.)
    """
    if argument[:1] in ("'", '"') and argument[-1:] == argument[:1] and len(argument) > 1:
        return argument[1:-1]
    return argument or None


class Mailbox:
    """Holds records from workers until the shell's event loop is ready for them.

    The first worker is started before prompt-toolkit is imported (so a forked
    worker starts small and the first prompt is not delayed), which means its
    first records can arrive before there is an event loop to hand them to.
    ``put`` is the listener given to workers; ``attach`` flushes what was kept
    and forwards everything after it, in order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[tuple[Worker, Record]] = []
        self._forward: Listener | None = None

    def put(self, worker: Worker, record: Record) -> None:
        with self._lock:
            forward = self._forward
            if forward is None:
                self._kept.append((worker, record))
                return
            # Forwarded under the lock, so a detach() cannot slip between the
            # check and the hand-over (forwarding only schedules: it is quick).
            forward(worker, record)

    def detach(self) -> None:
        """Keep records again, until the next :meth:`attach` (the shell's loop has ended)."""
        with self._lock:
            self._forward = None

    def attach(self, forward: Listener) -> None:
        with self._lock:
            for worker, record in self._kept:
                forward(worker, record)
            self._kept.clear()
            self._forward = forward
