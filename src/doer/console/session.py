"""The workers, by name, and what the console's commands do to them: shared by both
front ends.

The interactive shell (:mod:`doer.frontends.shell`) and plain mode (:mod:`doer.frontends.plain`)
read lines differently and print differently, but a line means the same thing
in both: :func:`doer.console.syntax.interpret` says what it means, and :class:`Console`,
which owns the workers and the current one, carries it out. Nothing here
touches a terminal.
"""

from __future__ import annotations

import functools
import shlex
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from doer.base.protocol import Failure, Record, message_summary
from doer.client.worker import Listener, Pending, Worker, WorkerGone, start, stop_all
from doer.console.render import (
    Fragments,
    clipped,
    gone_text,
    kill_lines,
    mark_line,
    note_line,
    peek_lines,
    repeat_line,
    timeline_lines,
    use_line,
    worker_status,
    workers_table,
)
from doer.console.syntax import (
    ALL,
    COMMANDS,
    KINDS_HELP,
    MESSAGE_HELP,
    ROUTING_HELP,
    Command,
    Invalid,
    Message,
    check_name,
    interpret,
    lesson_help,
    prompt_argument,
    state_value,
)
from doer.console.transcript import Transcript
from doer.kinds import KINDS, START_METHODS
from doer.lessons import handlers as lessons
from doer.worker.doer import BUILTIN_MESSAGES, Handler
from doer.worker.handler_modules import HandlerError, HandlerModules, first_line, where

if TYPE_CHECKING:
    from doer.kinds.asyncio_task import SharedLoop

# NamedTuples rather than dataclasses: the shell imports this module before its
# first prompt, and dataclasses cost several milliseconds more to import and build.


class Quit(NamedTuple):
    """``.quit`` (wait for pending requests first) or ``.quit!`` (do not)."""

    wait: bool


class Restart(NamedTuple):
    """``.restart [NAME] [KIND] [--start-method M] [--state V]``: replace worker ``name``."""

    name: str
    kind: str
    start_method: str | None = None
    state: Any = None
    ray: RayOptions | None = None


class RayOptions(NamedTuple):
    """A Ray worker's ``--address`` (None: the private cluster) and ``--shared``."""

    address: str | None = None
    shared: bool = False


class Spawned(NamedTuple):
    """``.spawn``: ``workers`` have been started, in the order named; each one's start
    event comes when it has booted."""

    workers: list[Worker]

    @property
    def worker(self) -> Worker:
        """The first worker started (the only one, for ``.spawn NAME``)."""
        return self.workers[0]


class Reset(NamedTuple):
    """``.reset``: end every worker as ``.quit`` does, then :meth:`Console.start_afresh`."""


class Stop(NamedTuple):
    """``.stop [NAME]``: end ``worker`` the clean way (pending requests, ``exit``, join)."""

    worker: Worker


class Kill(NamedTuple):
    """``.kill [NAME]``: the worker was killed, or told why not; ``lines`` say which."""

    worker: Worker
    lines: list[Fragments]


class Repeat(NamedTuple):
    """``.repeat N LINE``: send ``message`` ``times`` times without waiting, print every
    answer, then each worker's rate (:func:`~doer.console.render.repeat_line`)."""

    times: int
    message: Message


#: What carrying out a command asks of the front end: lines to print, or a
#: step only it can take, because only it knows how to wait (the shell
#: awaits, with Ctrl-C to stop waiting; plain mode blocks).
Outcome = list[Fragments] | Quit | Restart | Spawned | Stop | Kill | Repeat | Reset

#: How long a Ray worker may take to start, at least (a cluster boots in seconds).
RAY_START_S = 60.0

#: The most ``.repeat`` sends at once: each request waits in memory for its answer.
MAX_REPEAT = 100_000

#: How many copies ``.repeat`` sends a worker at once, before the next worker's
#: turn (and, in the shell, before the loop draws answers and reads keys).
REPEATED_AT_ONCE = 250


class RepeatRound(NamedTuple):
    """How far :meth:`Console.send_repeated` has got, after one round of sending."""

    #: Each worker's requests sent so far (the same dict from round to round).
    sent: dict[Worker, list[Pending]]
    #: How many copies each worker was to get by now.
    copies: int
    #: What could not be sent in this round, with the worker to tag it with.
    errors: list[tuple[str, Worker | None]]


class Run(NamedTuple):
    """The last line sent to workers, for ``.timeline``: how it was typed, and each
    worker it went to with its pending answer."""

    line: str
    sent: list[tuple[Worker, Pending]]


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
        handler_modules: list[str] | None = None,
        ray_address: str | None = None,
        history: bool = True,
        strict: bool = False,
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
        #: ``.trace on``: a line after each answer says how the message crossed.
        self.trace = False
        #: Your handler modules (``--handlers``, ``.handlers``): files or dotted
        #: names, loaded by each worker as it starts (see :mod:`doer.worker.handler_modules`).
        self.handler_modules: list[str] = list(handler_modules or [])
        #: The Ray cluster Ray workers join (``--address``); None: a private one.
        self.ray_address = ray_address
        #: The shell keeps the lines typed in the history file; False (``--no-history``,
        #: ``DOER_NO_HISTORY``): in memory only, so a program driving it leaves no trace.
        self.history = history
        #: ``--strict``: an ``unknown message`` answer or an unknown command fails the
        #: run (plain and line mode's exit status), not only an error.
        self.strict = strict


class Console:
    """The workers, by name, the current one, and what the console's commands do to them.

    Workers stay in :attr:`workers` after they end (``.workers`` shows how they
    ended) until ``.restart`` or ``.spawn`` puts a fresh one in their place.

    Args:
        settings: how to start workers.
        listener: receives every record from every worker this console starts
            (called in that worker's reply-reader thread).

    Raises:
        HandlerError: one of the settings' handler modules does not load.
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
        #: Every worker by name, in the order they were first spawned.
        self.workers: dict[str, Worker] = {}
        #: The name bare lines go to.
        self.current = settings.name
        self._states: dict[str, Any] = {}  # each name's initial state, for .restart
        #: How wide the screen is, for ``.workers`` (None: as wide as it takes).
        #: The front end that knows sets it.
        self.columns: Callable[[], int | None] = lambda: None
        self._left_behind: weakref.WeakSet[Worker] = weakref.WeakSet()
        #: The loop this console's asyncio tasks share where no loop of its own runs.
        self._shared_loop: SharedLoop | None = None
        #: The last line sent to workers (``.timeline`` draws it).
        self.last_run: Run | None = None
        #: The handlers of the handler modules, as last loaded here (for .help).
        self.module_handlers: dict[str, Handler] = {}
        #: Each Ray worker's cluster and sharing, by name, for ``.restart``.
        self._ray_options: dict[str, RayOptions] = {}
        #: Every line the front end printed, for ``.save`` (the front end feeds it).
        self.transcript = Transcript()
        if settings.handler_modules:
            self.load_handler_modules()  # HandlerError: the command line says so

    @property
    def worker(self) -> Worker | None:
        """The current worker (None before the first one starts)."""
        return self.workers.get(self.current)

    def start(self, kind: str | None = None, start_method: str | None = None) -> Worker:
        """Start the current worker (the command line's, at first), of ``kind`` or the
        configured kind."""
        kind = kind or self.settings.kind
        start_method = start_method or (self.settings.start_method if kind == "process" else None)
        state = self._states.get(self.current, self.settings.state)
        return self.launch(self.current, kind, start_method, state)

    def launch(
        self,
        name: str,
        kind: str,
        start_method: str | None,
        state: Any,
        ray: RayOptions | None = None,
    ) -> Worker:
        """Start a worker called ``name`` (in the place of any ended one of that name).

        A Ray worker joins ``ray.address``, else the command line's ``--address``,
        else this console's private cluster.
        """
        old = self.workers.get(name)
        if old is not None and old.ended is not None:
            old.stop(1.0)  # join and close what is left of it (it has ended: no wait)
        if kind == "ray":
            ray = ray or RayOptions()
            ray = ray._replace(address=ray.address or self.settings.ray_address)
            self._ray_options[name] = ray
        starts = functools.partial(
            start,
            kind,
            state,
            start_method=start_method,
            handlers=self.worker_handlers(),
            name=name,
            listener=self.listener,
            address=ray.address if ray else None,
            shared=ray.shared if ray else False,
        )
        worker = self._on_shared_loop(starts) if kind == "asyncio" else starts()
        self.workers[name] = worker
        self._states[name] = state
        return worker

    def _on_shared_loop(self, starts: Callable[[], Worker]) -> Worker:
        """Start an asyncio worker as a task on the loop this thread runs (the shell's),
        else on the one loop all this console's tasks share (plain mode's)."""
        from doer.kinds.asyncio_task import SharedLoop, loop_runs_here  # only for this kind

        if loop_runs_here():
            return starts()
        if self._shared_loop is None:
            self._shared_loop = SharedLoop()
        worker: Worker = self._shared_loop.call(starts)
        return worker

    def close_shared_loop(self) -> None:
        """Once every worker has stopped: end the tasks' shared loop and join its thread
        (left behind, a daemon, if a task is stuck in a handler)."""
        if self._shared_loop is not None:
            self._shared_loop.close()

    def worker_handlers(self) -> Mapping[str, Handler]:
        """What a worker starting now is given: the handler modules (each worker loads
        them afresh) and the handlers given as functions."""
        if not self.settings.handler_modules:
            return self.settings.handlers
        return HandlerModules(self.settings.handler_modules, self.settings.handlers)

    def load_handler_modules(self, sources: list[str] | None = None) -> dict[str, Handler]:
        """Load ``sources`` (by default the settings' modules) here, to check them and
        to know their handlers; keep what they define for ``.help``.

        Raises:
            HandlerError: one does not load (the text names the file and line).
        """
        sources = self.settings.handler_modules if sources is None else sources
        loaded = HandlerModules(sources).loaded()
        self.module_handlers = loaded
        return loaded

    def add_handlers(self, argument: str) -> list[Fragments]:
        """Carry out ``.handlers FILE|MODULE``: for the workers started from now on.

        Raises:
            ValueError: no argument, or a module that does not load.
        """
        if not argument:
            if not self.settings.handler_modules:
                return [note_line("no handler modules (.handlers FILE adds one)")]
            return [note_line(f"handler modules: {', '.join(self.settings.handler_modules)}")]
        sources = [*self.settings.handler_modules, where(argument)]
        try:
            before = set(self.module_handlers)
            loaded = self.load_handler_modules(sources)
        except HandlerError as exc:
            raise ValueError(str(exc)) from None
        self.settings.handler_modules = sources
        new = sorted(set(loaded) - before) or sorted(loaded)
        return [note_line(f"{', '.join(new)} from {argument}: .restart or .spawn to use them")]

    def running(self) -> list[Worker]:
        """The workers that have not ended, in spawn order."""
        return [worker for worker in self.workers.values() if worker.ended is None]

    def named(self, name: str) -> Worker:
        """The worker called ``name``, or the current one for an empty name.

        Raises:
            ValueError: there is none.
        """
        worker = self.workers.get(name or self.current)
        if worker is None:
            if not name:
                raise ValueError("there is no worker; .restart starts one")
            raise ValueError(self._no_worker_named(name))
        return worker

    def _no_worker_named(self, name: str) -> str:
        """Why ``name`` finds no worker: a name that differs only in case is said."""
        other = next((known for known in self.workers if known.lower() == name.lower()), None)
        if other is None:
            return f"no worker named {name} (.workers lists them)"
        text = f"no worker named {name} (names are case-sensitive: {other})"
        if len(text) > _ERROR_TEXT_COLUMNS:  # two long names: a shorter form, on one line
            text = f"no worker {name} (names are case-sensitive: {other})"
        return text

    def targets(self, to: tuple[str, ...]) -> list[Worker]:
        """The workers a line is for: ``to`` names them, ``@all`` is every running one,
        none is the current one.

        Raises:
            ValueError: a name no worker has, or no worker to send to.
        """
        if not to:
            worker = self.worker
            if worker is None:
                raise ValueError("there is no worker; .restart starts one")
            return [worker]
        if to == (ALL,):
            running = self.running()
            if not running:
                raise ValueError("no worker is running; .spawn NAME starts one")
            return running
        return [self.named(name) for name in to]

    def gone_text(self, worker: Worker) -> str:
        """Why a line cannot go to ``worker`` (it has ended), and what to do about it."""
        return gone_text(self.name_if_needed(worker))

    def name_if_needed(self, worker: Worker) -> str | None:
        """``worker``'s name when there are other workers to tell it from, else None."""
        return None if len(self.workers) == 1 and worker is self.worker else worker.name

    def leave_behind(self, worker: Worker) -> None:
        """``worker`` could not be stopped (a thread stuck in a handler) and is replaced."""
        self._left_behind.add(worker)

    def is_replaced(self, worker: Worker) -> bool:
        """True for a worker left behind by ``.restart``: its late lines must say so."""
        return worker in self._left_behind

    def tell_each(
        self, message: Message, workers: list[Worker]
    ) -> tuple[list[tuple[Worker, Pending]], list[tuple[str, Worker | None]]]:
        """Send ``message`` to each of ``workers`` without waiting, timed, and keep the
        line for ``.timeline``.

        Returns what was sent, and an error for each worker it could not go to
        (ended; or, for a process, a message that does not pickle), with the
        worker to tag it with when there are several.
        """
        sent: list[tuple[Worker, Pending]] = []
        errors: list[tuple[str, Worker | None]] = []
        for worker in workers:
            try:
                sent.append((worker, worker.tell(message.message, timed=True, parsed=True)))
            except WorkerGone:
                errors.append((self.gone_text(worker), None))
            except ValueError as exc:  # it does not pickle: for a process, not for a thread
                errors.append((str(exc), worker if len(workers) > 1 else None))
        self.remember(message, sent)
        return sent, errors

    # --- the commands ---------------------------------------------------------------

    def carry_out(self, command: Command) -> Outcome:
        """Carry out a dot-command, as far as the console can: see :data:`Outcome`.

        Raises:
            ValueError: a bad argument; the text is the one-line error.
        """
        outcome: Outcome = getattr(self, COMMANDS[command.name].does)(command.argument)
        return outcome

    def spawn(self, argument: str) -> Spawned:
        """Carry out ``.spawn NAME[,NAME...] [KIND] [--start-method M] [--state V]``.

        Several names start several workers, of the same kind and options, in
        the order named. The kind defaults to the command line's, the state too.
        The whole line is checked before any worker starts: one bad or taken
        name, and none does.

        Raises:
            ValueError: no name, a bad one, one in use, or a bad option.
        """
        words, start_method, state, ray = _options(argument)
        if not words:
            raise ValueError(".spawn needs a name: .spawn p1 process (or p1,p2 for two)")
        names = self._new_names(words.pop(0))
        kind = _one_kind(words, self.settings.kind, "spawn")
        if kind == "process":
            start_method = start_method or self.settings.start_method
        elif start_method is not None:
            raise ValueError(f"--start-method applies to process workers, not to a {kind}")
        _check_ray_options(kind, ray)
        state = self.settings.state if state is _NO_STATE else state
        return Spawned([self.launch(name, kind, start_method, state, ray) for name in names])

    def _new_names(self, word: str) -> list[str]:
        """The names of ``.spawn p1,p2``: each a worker's name, given once, not in use.

        Raises:
            ValueError: the first name that is not.
        """
        names = word.split(",")
        for number, name in enumerate(names):
            check_name(name)
            if name in names[:number]:
                raise ValueError(f"{name} is named twice: each worker needs a name of its own")
            existing = self.workers.get(name)
            if existing is not None and existing.ended is None:
                raise ValueError(f"there is a worker named {name} already (.workers lists them)")
        return names

    def remember(self, message: Message, sent: list[tuple[Worker, Pending]]) -> None:
        """Keep the line just sent, with its answers to come, for ``.timeline``."""
        if sent:
            to = f"@{','.join(message.to)} " if message.to else ""
            self.last_run = Run(to + message_summary(message.message), sent)

    def repeat(self, argument: str) -> Repeat:
        """Carry out ``.repeat N LINE`` as far as the console can: check it.

        Raises:
            ValueError: no count, a bad one, or a LINE that is not a message.
        """
        count_text, _, line = argument.partition(" ")
        usage = ".repeat takes a count and a line: .repeat 10000 ping"
        if not count_text or not line.strip():
            raise ValueError(usage)
        try:
            count = int(count_text.replace(",", "").replace("_", ""))
        except ValueError:
            raise ValueError(f"{usage}, not {count_text}") from None
        if not 1 <= count <= MAX_REPEAT:
            raise ValueError(f".repeat sends 1 to {MAX_REPEAT:,} times, not {count_text}")
        what = interpret(line)
        if isinstance(what, Invalid):
            raise ValueError(what.error)
        if not isinstance(what, Message):
            raise ValueError(f".repeat sends a message to workers, not {line.strip()}")
        self.targets(what.to)  # an unknown name is said now, before anything is sent
        return Repeat(count, what)

    def send_repeated(self, repeat: Repeat) -> Iterator[RepeatRound]:
        """Send ``.repeat``'s copies to each of its workers in turn, :data:`REPEATED_AT_ONCE`
        at a time (one write each to a process), yielding after every round.

        A worker that has gone, or that cannot be sent the message (it does not
        pickle), is sent no more; the error is in the round's ``errors``, as
        :meth:`tell_each` words it.
        """
        workers = self.targets(repeat.message.to)
        message = repeat.message.message
        sent: dict[Worker, list[Pending]] = {worker: [] for worker in workers}
        refused: set[Worker] = set()
        for first in range(0, repeat.times, REPEATED_AT_ONCE):
            copies = [message] * min(REPEATED_AT_ONCE, repeat.times - first)
            errors: list[tuple[str, Worker | None]] = []
            for worker in workers:
                if worker in refused:
                    continue
                try:
                    sent[worker] += worker.tell_many(copies, parsed=True)
                except WorkerGone:
                    errors.append((self.gone_text(worker), None))
                    refused.add(worker)
                except ValueError as exc:  # it does not pickle
                    errors.append((str(exc), worker if len(workers) > 1 else None))
                    refused.add(worker)
            yield RepeatRound(sent, first + len(copies), errors)

    def timeline(self, argument: str) -> list[Fragments]:
        """Carry out ``.timeline``: the last line's handlers as bars on one time axis."""
        run = self.last_run
        if run is None:
            return [note_line("no line sent yet: .timeline draws the last one (@all work, say)")]
        rows = [
            (worker, pending.wait(0) if pending.done() else None) for worker, pending in run.sent
        ]
        blocks = _can_show("█▏▉▓▒░·")  # the bars' blocks and the shades of a sampled one
        return timeline_lines(run.line, rows, self.columns() or 80, blocks=blocks)

    def peek(self, argument: str) -> list[Fragments]:
        """Carry out ``.peek [NAME]``: no message is sent; the console says what its own
        memory holds."""
        worker = self.named(argument)
        live, state = worker.peek()
        return peek_lines(worker, live, state, lessons.COUNTER, self.columns() or 80)

    def crowded_note(self, message: Message, sent: list[tuple[Worker, Pending]]) -> list[Fragments]:
        """A note for a line that asks more processes to ``work`` than there are CPUs to
        run them (the console's threads and tasks are one process: they take turns on
        its GIL): some wait for a CPU, and the machine, not the GIL, is the
        bottleneck. Empty for any other line. A front end prints it as it sends the
        line (after :meth:`tell_each`)."""
        words = message.message if type(message.message) is tuple else (message.message,)
        if not words or words[0] != "work":
            return []
        text = lessons.crowded_text(len({worker.pid for worker, _ in sent}))
        return [] if text is None else [note_line(text)]

    def mark(self, argument: str) -> list[Fragments]:
        """Carry out ``.mark [VALUE]``: set (or show) the global ``inherited`` reads."""
        if argument:
            lessons.MARK = state_value(argument)
        return [mark_line(lessons.MARK)]

    def use(self, argument: str) -> list[Fragments]:
        """Carry out ``.use NAME``: bare lines go to NAME from now on."""
        if not argument:
            raise ValueError(".use needs a worker's name (.workers lists them)")
        worker = self.named(argument)
        self.current = worker.name
        return [use_line(worker.name, ended=worker.ended is not None)]

    def stop_for(self, argument: str) -> Stop:
        """Carry out ``.stop [NAME]``.

        Raises:
            ValueError: no such worker, or it has ended already.
        """
        worker = self.named(argument)
        if worker.ended is not None:
            raise ValueError(f"{worker.name} has ended already")
        return Stop(worker)

    def kill(self, argument: str) -> Kill:
        """Carry out ``.kill [NAME]``: end the worker at once, as far as its kind allows.

        A process is killed (SIGKILL: its death is reported as any other); a
        task is cancelled, which takes effect at its next ``await``; a thread
        cannot be killed from outside in Python, and the line says so.

        Raises:
            ValueError: no worker, none of that name, or it has ended.
        """
        try:
            worker = self.named(argument)
        except ValueError:
            if argument:
                raise
            raise ValueError("there is no worker to kill; .restart starts one") from None
        if worker.ended is not None:
            raise ValueError(
                f"{worker.name} has ended already; .restart {worker.name} starts a fresh one"
                if argument
                else "there is no worker to kill; .restart starts one"
            )
        if worker.kind != "thread":
            worker.kill()
        # A process's death is reported when the console sees it: no line of its own.
        return Kill(worker, kill_lines(worker.name, worker.kind))

    def restart_for(self, argument: str) -> Restart:
        """What ``.restart [NAME] [KIND] [--start-method M] [--state V]`` asks for.

        NAME defaults to the current worker; the kind, start method and state
        to the ones it had, so fork, spawn and forkserver can be compared in turn.

        Raises:
            ValueError: no such worker, not a kind, not a start method, or a
                start method for a kind that has none.
        """
        words, start_method, state, ray = _options(argument)
        name = words.pop(0) if words and words[0] not in KINDS else ""
        old = self.workers.get(name or self.current)
        if old is None and name:
            raise ValueError(
                f"cannot restart as {name!r}: no worker has that name (.workers lists them),"
                f" and the kinds are {' or '.join(KINDS)}"
            )
        name = name or self.current
        kind = _one_kind(words, old.kind if old else self.settings.kind, "restart")
        if kind == "process":
            had = old.start_method if old is not None else self.settings.start_method
            start_method = start_method or had
        elif start_method is not None:
            raise ValueError(f"--start-method applies to process workers, not to a {kind}")
        if state is _NO_STATE:
            state = self._states.get(name, self.settings.state)
        _check_ray_options(kind, ray)
        if kind == "ray":  # as it was, but for what is said again
            was = self._ray_options.get(name, RayOptions())
            ray = RayOptions(ray.address or was.address, ray.shared or was.shared)
        if self.settings.handler_modules:  # an edited module that does not load: keep the worker
            try:
                self.load_handler_modules()
            except HandlerError as exc:
                raise ValueError(f"{exc}; {name} keeps running as it was") from None
        return Restart(name, kind, start_method, state, ray if kind == "ray" else None)

    def relaunch(self, restart: Restart) -> Worker:
        """Start the fresh worker of ``restart`` (once the old one is stopped)."""
        return self.launch(
            restart.name, restart.kind, restart.start_method, restart.state, restart.ray
        )

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

    def stop_all(self, timeout: float | None = None) -> list[Worker]:
        """Stop every worker at once (leaving shared ones running); return those stuck
        in a handler. Then stop the private Ray cluster, if one runs.

        The ended ones too: stopping them joins and closes what is left of them.
        """
        workers = [worker for worker in self.workers.values() if not self.is_replaced(worker)]
        timeout = self.settings.timeout if timeout is None else timeout
        stuck = stop_all(workers, timeout, leave_shared=True)
        self.stop_ray_cluster()
        self.close_shared_loop()
        return stuck

    def start_timeout(self, worker: Worker) -> float:
        """How long to wait for ``worker``'s start event: the timeout, or for a Ray
        worker at least a minute (a cluster boots in seconds, more when busy)."""
        if worker.kind == "ray":
            return max(self.settings.timeout, RAY_START_S)
        return self.settings.timeout

    def ray_cluster_runs(self) -> bool:
        """Whether this console started a private Ray cluster not yet stopped (one that
        died is stopped too: what it left is cleaned up)."""
        ray = sys.modules.get(
            "doer.kinds.ray_actor.link"
        )  # never imported: no Ray worker, no cluster
        return ray is not None and ray.running_cluster() is not None

    def stop_ray_cluster(self) -> None:
        """Shut down the private Ray cluster, if one runs (a second or two)."""
        ray = sys.modules.get("doer.kinds.ray_actor.link")
        if ray is not None:
            ray.stop_local_cluster()

    def quit_after_pending(self, argument: str) -> Quit:
        return Quit(wait=True)

    def quit_now(self, argument: str) -> Quit:
        return Quit(wait=False)

    def reset(self, argument: str) -> Reset:
        """Carry out ``.reset`` as far as the console can: the front end stops the
        workers (as ``.quit`` does), then calls :meth:`start_afresh`.

        Raises:
            ValueError: an argument.
        """
        if argument:
            raise ValueError(".reset takes no argument: it ends every worker")
        return Reset()

    def start_afresh(self) -> Worker:
        """After ``.reset`` has stopped every worker: forget them, and start the first
        worker as at launch (its name, kind and state from the command line).

        The settings stay as they are now (timeout, prompt, wait, trace, handler
        modules); what the lessons left in the console's memory (the counter
        ``incr`` adds to, the ``.mark``) and ``.timeline``'s last line go, as at
        launch. A private Ray cluster keeps running: it takes seconds to start.
        """
        for worker in self.workers.values():
            if worker.ended is not None and not self.is_replaced(worker):
                worker.stop(1.0)  # join and close what is left of it (it has ended: no wait)
        self.workers.clear()
        self._states.clear()
        self._ray_options.clear()
        self.current = self.settings.name
        self.last_run = None
        lessons.COUNTER = 0
        lessons.MARK = None
        return self.start()

    def save(self, argument: str) -> list[Fragments]:
        """Carry out ``.save FILE``: the session so far, as text, or as an asciicast
        recording for a FILE ending in ``.cast`` (see :mod:`doer.console.transcript`).

        Raises:
            ValueError: no file, or one that cannot be written.
        """
        path = prompt_argument(argument)  # quotes keep spaces: .save 'class 1.cast'
        if not path:
            raise ValueError(".save needs a file: .save class.txt (class.cast: a recording)")
        return [note_line(self.transcript.save(path))]

    def timeout_lines(self, argument: str) -> list[Fragments]:
        return [note_line(f"timeout: {self.set_timeout(argument):g} s")]

    def trace(self, argument: str) -> list[Fragments]:
        """Carry out ``.trace [on|off]``."""
        if argument:
            if argument not in ("on", "off"):
                raise ValueError(f".trace takes on or off, not {argument}")
            self.settings.trace = argument == "on"
        return [note_line(f"trace: {'on' if self.settings.trace else 'off'}")]

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
        """Carry out ``.help [messages|commands|lessons]``; each part fits 80x24."""
        parts = {
            "messages": self._message_help,
            "commands": self._command_help,
            "lessons": lesson_help,
        }
        if argument and argument not in parts:
            raise ValueError(f".help takes {', '.join(parts)} or nothing, not {argument}")
        if argument:
            return parts[argument]()
        lines = [note_line("Type a message for the worker, or a command for the console.")]
        lines += self._message_help() + self._command_help()
        lines.append(note_line("The lessons, with the lines to type: .help lessons"))
        return lines

    def _message_help(self) -> list[Fragments]:
        lines = [note_line("Messages (to the current worker, or to the workers after @):")]
        lines += [note_line(f"  {name:<23} {text}") for name, text in MESSAGE_HELP.items()]
        extra = sorted(set(self.settings.handlers) - set(BUILTIN_MESSAGES))
        lines += [note_line(f"  {name:<23} (a handler of this console)") for name in extra]
        lines += [
            note_line(f"  {name:<23} {clipped(first_line(function), 54)}")
            for name, function in sorted(self.module_handlers.items())
        ]
        lines += [note_line(f"  {usage:<23} {text}") for usage, text in ROUTING_HELP.items()]
        lines.append(note_line("Anything else is sent as it is; the worker answers unknown."))
        return lines

    def _command_help(self) -> list[Fragments]:
        lines = [note_line("Commands (for the console; NAME is the current worker if left out):")]
        lines += [note_line(f"  {spec.usage:<23} {spec.help}") for spec in COMMANDS.values()]
        lines.append(note_line(KINDS_HELP))
        return lines

    def status_lines(self, argument: str = "") -> list[Fragments]:
        """Carry out ``.status [NAME]``: how the worker is, and how it runs."""
        w = self.named(argument)
        return worker_status(w, w.alive, w.details(), self.columns() or 80)

    def table(self, argument: str = "") -> list[Fragments]:
        """Carry out ``.workers [all|clear]``: a row per worker, the current one marked.

        Ended workers are left out (all: shown; clear: forgotten), so that a
        class's dozen fit one screen; the current one is always shown, as the
        one bare lines go to. A worker replaced while stuck is shown while it runs.

        Raises:
            ValueError: another argument.
        """
        if argument not in ("", "all", "clear"):
            raise ValueError(f".workers takes all, clear or nothing, not {argument}")
        if argument == "clear":
            return [note_line(self.clear_ended())]
        shown = [
            worker
            for worker in self.workers.values()
            if argument == "all" or worker.ended is None or worker.name == self.current
        ]
        rows = [(worker, worker.name == self.current, False) for worker in shown]
        rows += [(worker, False, True) for worker in self._left_behind if worker.ended is None]
        if not rows:
            return [note_line("no workers; .spawn NAME starts one")]
        return workers_table(rows, self.columns(), hidden=len(self.workers) - len(shown))

    def clear_ended(self) -> str:
        """Forget the ended workers but the current one (bare lines still go to it, and
        ``.restart`` needs its kind); say which."""
        ended = [
            worker
            for name, worker in self.workers.items()
            if worker.ended is not None and name != self.current
        ]
        for worker in ended:
            worker.stop(1.0)  # join and close what is left of it (it has ended: no wait)
            del self.workers[worker.name]
        if not ended:
            return "no ended worker to clear"
        names = clipped(", ".join(worker.name for worker in ended), 50)
        return f"cleared {len(ended)} ended worker{'s' if len(ended) > 1 else ''}: {names}"

    def completion_words(self) -> list[str]:
        """Every word worth completing at the start of a line."""
        yours = {*self.settings.handlers, *self.module_handlers} - set(BUILTIN_MESSAGES)
        return [*BUILTIN_MESSAGES, *sorted(yours)]

    def names(self) -> list[str]:
        """The workers' names, for completion."""
        return list(self.workers)


#: ``--state`` was not given.
_NO_STATE: Any = object()

#: The longest error text that fits 80 columns after ``error: ``.
_ERROR_TEXT_COLUMNS = 80 - len("error: ")


def repeat_summary(worker: Worker, pendings: list[Pending]) -> Fragments:
    """``.repeat``'s last line for ``worker``: how many answers, how fast, from the
    first request sent to the last answer in (those not answered are not counted)."""
    done = [pending for pending in pendings if pending.done()]
    errors = sum(isinstance(pending.wait(0), Failure) for pending in done)
    took = max((pending.answered_at for pending in done), default=0.0) - pendings[0].sent_at
    return repeat_line(worker, len(done), errors, max(took, 0.0))


def _options(argument: str) -> tuple[list[str], str | None, Any, RayOptions]:
    """Split ``.spawn``'s or ``.restart``'s argument: its words, ``--start-method``,
    ``--state``, and a Ray worker's ``--address`` and ``--shared``.

    Raises:
        ValueError: an option without its value, an unknown option, or a bad method.
    """
    try:
        words = shlex.split(argument)
    except ValueError as exc:
        raise ValueError(f"cannot read {argument!r}: {exc}") from None
    plain, start_method, state, ray = [], None, _NO_STATE, RayOptions()
    words.reverse()
    while words:
        word = words.pop()
        option, equals, value = word.partition("=")
        if word == "--shared":
            ray = ray._replace(shared=True)
            continue
        if option not in ("--start-method", "--state", "--address"):
            if word.startswith("--"):
                raise ValueError(
                    f"unknown option {word}: --start-method M, --state V,"
                    " or for ray --address A and --shared"
                )
            plain.append(word)
            continue
        if not equals:
            if not words:
                raise ValueError(f"{option} needs a value")
            value = words.pop()
        if option == "--state":
            state = state_value(value)
        elif option == "--address":
            ray = ray._replace(address=value)
        elif value not in START_METHODS:
            raise ValueError(f"no start method {value!r}: choose {' or '.join(START_METHODS)}")
        else:
            start_method = value
    return plain, start_method, state, ray


def _check_ray_options(kind: str, ray: RayOptions) -> None:
    """Raises ValueError: ``--address`` or ``--shared`` for a worker that is not a Ray one."""
    if kind != "ray" and (ray.address is not None or ray.shared):
        raise ValueError(f"--address and --shared apply to ray workers, not to a {kind}")


def _one_kind(words: list[str], default: str, verb: str) -> str:
    """The kind among ``words`` (at most one), or ``default``.

    Raises:
        ValueError: more than one word, or not a kind.
    """
    if len(words) > 1:
        raise ValueError(f"cannot {verb} as {' '.join(words)!r}: one kind at most")
    kind = words[0] if words else default
    if kind not in KINDS:
        raise ValueError(f"cannot {verb} as {kind!r}: choose {' or '.join(KINDS)}")
    return kind


def _can_show(characters: str) -> bool:
    """Whether standard output can encode ``characters`` (not in a Latin-1 locale)."""
    try:
        characters.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


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
