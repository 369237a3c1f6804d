"""The console a front end talks to: its workers, its settings, and its commands.

The interactive shell (:mod:`doer.frontends.shell`) and plain mode
(:mod:`doer.frontends.plain`) read lines differently and print differently,
but a line means the same thing in both: :func:`doer.console.syntax.interpret`
says what it means, and a :class:`Console` carries it out. Nothing here
touches a terminal.

:class:`Console` puts together the parts that each do one thing: the workers
by name (:class:`~doer.console.registry.Registry`), how they are started
(:class:`~doer.console.launcher.Launcher`), your handlers
(:class:`~doer.console.your_handlers.YourHandlers`), the Ray cluster
(:class:`~doer.console.ray_cluster.RayCluster`), what is sent
(:class:`~doer.console.sending.Sender`) and the commands
(:mod:`doer.console.commands`). Its methods are what the front ends call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from doer.client.worker import Listener, Pending, Worker, stop_all
from doer.console.launcher import Launcher
from doer.console.mailbox import Mailbox
from doer.console.ray_cluster import RayCluster, RayOptions
from doer.console.registry import Registry
from doer.console.render.fragments import Fragments
from doer.console.sending import (
    MAX_REPEAT,
    REPEATED_AT_ONCE,
    RepeatRound,
    Run,
    Sender,
    crowded_note,
    repeat_summary,
)
from doer.console.settings import Settings
from doer.console.syntax import Command, Message
from doer.console.transcript import Transcript
from doer.console.your_handlers import YourHandlers
from doer.lessons import handlers as lessons

if TYPE_CHECKING:
    from doer.console.outcomes import Outcome, Repeat, Restart

#: What the front ends, the command line and tests import from here.
__all__ = [
    "MAX_REPEAT",
    "REPEATED_AT_ONCE",
    "Console",
    "Mailbox",
    "RayOptions",
    "RepeatRound",
    "Run",
    "Settings",
    "repeat_summary",
]


class Console:
    """The workers, by name, the current one, and what the console's commands do to them.

    Workers stay in :attr:`workers` after they end (``.workers`` shows how they
    ended) until ``.restart`` or ``.spawn`` puts a fresh one in their place.

    Args:
        settings: how to start workers.
        listener: receives every record from every worker this console starts
            (called in that worker's reply-reader thread).
        always_waits: why the front end cannot do ``.wait off`` (plain and
            line mode wait for every answer), or None.

    Raises:
        HandlerError: one of the settings' handler modules does not load.
    """

    def __init__(
        self,
        settings: Settings,
        listener: Listener | None = None,
        *,
        always_waits: str | None = None,
    ) -> None:
        self.settings = settings
        #: Why this front end cannot do ``.wait off`` (None: it can).
        self.always_waits = always_waits
        self.registry = Registry(settings.name)
        self.your_handlers = YourHandlers(settings)
        self.cluster = RayCluster()
        self.launcher = Launcher(
            settings, self.registry, self.your_handlers, self.cluster, listener
        )
        self.sender = Sender(self.registry)
        #: How wide the screen is, for ``.workers`` (None: as wide as it takes).
        #: The front end that knows sets it.
        self.columns: Callable[[], int | None] = lambda: None
        #: Every line the front end printed, for ``.save`` (the front end feeds it).
        self.transcript = Transcript()
        if settings.handler_modules:
            self.your_handlers.load()  # HandlerError: the command line says so

    # --- the workers ----------------------------------------------------------------

    @property
    def workers(self) -> dict[str, Worker]:
        """Every worker by name, in the order they were first spawned."""
        return self.registry.workers

    @workers.setter
    def workers(self, workers: dict[str, Worker]) -> None:
        self.registry.workers = workers

    @property
    def current(self) -> str:
        """The name bare lines go to."""
        return self.registry.current

    @current.setter
    def current(self, name: str) -> None:
        self.registry.current = name

    @property
    def worker(self) -> Worker | None:
        """The current worker (None before the first one starts)."""
        return self.registry.worker

    def start(self, kind: str | None = None, start_method: str | None = None) -> Worker:
        """Start the current worker (the command line's, at first), of ``kind`` or the
        configured kind."""
        return self.launcher.start_current(kind, start_method)

    def relaunch(self, restart: Restart) -> Worker:
        """Start the fresh worker of ``restart`` (once the old one is stopped)."""
        name, kind, start_method, state, ray, policy, mailbox = restart
        return self.launcher.launch(name, kind, start_method, state, ray, policy, mailbox)

    def start_afresh(self) -> Worker:
        """After ``.reset`` has stopped every worker: forget them, and start the first
        worker as at launch (its name, kind and state from the command line).

        The settings stay as they are now (timeout, prompt, wait, trace, handler
        modules); what the lessons left in the console's memory (the counter
        ``incr`` adds to, the ``.mark``) and ``.timeline``'s last line go, as at
        launch. A private Ray cluster keeps running: it takes seconds to start.
        """
        self.registry.forget_all(self.settings.name)
        self.cluster.forget()
        self.sender.last_run = None
        lessons.COUNTER = 0
        lessons.MARK = None
        return self.start()

    def stop_all(self, timeout: float | None = None) -> list[Worker]:
        """Stop every worker at once (leaving shared ones running); return those stuck
        in a handler. Then stop the private Ray cluster, if one runs.

        The ended ones too: stopping them joins and closes what is left of them.
        """
        workers = [worker for worker in self.workers.values() if not self.is_replaced(worker)]
        timeout = self.settings.timeout if timeout is None else timeout
        stuck = stop_all(workers, timeout, leave_shared=True)
        self.cluster.stop()
        self.launcher.close_shared_loop()
        return stuck

    def close_shared_loop(self) -> None:
        """Once every worker has stopped: end the loop the asyncio tasks share."""
        self.launcher.close_shared_loop()

    def start_timeout(self, worker: Worker) -> float:
        """How long to wait for ``worker``'s start event: the timeout, or as long as
        its kind may take to start, if longer (a Ray worker's cluster boots in seconds)."""
        return max(self.settings.timeout, worker.slow_start_s)

    def ray_cluster_runs(self) -> bool:
        """Whether this console started a private Ray cluster not yet stopped."""
        return self.cluster.runs()

    def stop_ray_cluster(self) -> None:
        """Shut down the private Ray cluster, if one runs (a second or two)."""
        self.cluster.stop()

    def running(self) -> list[Worker]:
        """The workers that have not ended, in spawn order."""
        return self.registry.running()

    def named(self, name: str) -> Worker:
        """The worker called ``name``, or the current one (raises ValueError: none)."""
        return self.registry.named(name)

    def targets(self, to: tuple[str, ...]) -> list[Worker]:
        """The workers a line is for (raises ValueError: a name no worker has, or none)."""
        return self.registry.targets(to)

    def names(self) -> list[str]:
        """The workers' names, for completion."""
        return list(self.workers)

    def gone_text(self, worker: Worker) -> str:
        """Why a line cannot go to ``worker`` (it has ended), and what to do about it."""
        return self.registry.gone_text(worker)

    def name_if_needed(self, worker: Worker) -> str | None:
        """``worker``'s name when there are other workers to tell it from, else None."""
        return self.registry.name_if_needed(worker)

    def leave_behind(self, worker: Worker) -> None:
        """``worker`` could not be stopped (a thread stuck in a handler) and is replaced."""
        self.registry.leave_behind(worker)

    def is_replaced(self, worker: Worker) -> bool:
        """True for a worker left behind by ``.restart``: its late lines must say so."""
        return self.registry.is_replaced(worker)

    # --- lines sent -----------------------------------------------------------------

    @property
    def last_run(self) -> Run | None:
        """The last line sent to workers (``.timeline`` draws it)."""
        return self.sender.last_run

    def tell_each(
        self, message: Message, workers: list[Worker], *, wait_for_room: bool = True
    ) -> tuple[list[tuple[Worker, Pending]], list[tuple[str, Worker | None]]]:
        """Send ``message`` to each of ``workers`` without waiting: see :meth:`Sender.tell_each`."""
        return self.sender.tell_each(message, workers, wait_for_room=wait_for_room)

    def remember(self, message: Message, sent: list[tuple[Worker, Pending]]) -> None:
        """Keep the line just sent, with its answers to come, for ``.timeline``."""
        self.sender.remember(message, sent)

    def send_repeated(self, repeat: Repeat, *, wait_for_room: bool = True) -> Iterator[RepeatRound]:
        """Send ``.repeat``'s copies round by round: see :meth:`Sender.send_repeated`."""
        return self.sender.send_repeated(repeat, wait_for_room=wait_for_room)

    def crowded_note(self, message: Message, sent: list[tuple[Worker, Pending]]) -> list[Fragments]:
        """A note for a line that asks more processes to ``work`` than there are CPUs."""
        return crowded_note(message, sent)

    # --- the commands ---------------------------------------------------------------

    def outcome_of(self, command: Command) -> Outcome:
        """Carry out a dot-command, as far as the console can; never raises for a bad
        argument or a bug (:class:`~doer.console.outcomes.Refused`). The front end
        takes the outcome with :func:`~doer.console.outcomes.handle`."""
        # Imported at the first command, not before the first prompt (docs/performance.md).
        from doer.console import commands

        return commands.outcome_of(self, command)

    def prompt_text(self) -> str:
        """The prompt: the fixed one, or ``doer NAME KIND PID> ``, or ``doer (no worker)> ``."""
        if self.settings.prompt is not None:
            return self.settings.prompt
        worker = self.worker
        if worker is None or worker.ended is not None:
            return "doer (no worker)> "
        return f"doer {worker.name} {worker.kind} {worker.pid}> "

    def completion_words(self) -> list[str]:
        """Every word worth completing at the start of a line."""
        return self.your_handlers.words()
