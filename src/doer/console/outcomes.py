"""What carrying out a dot-command asks of the front end: one small record a kind
of outcome.

The console decides what a command means and does what needs no waiting; a
step that waits (for a worker to start, to stop, for answers) is the front
end's, because only it knows how to wait: the shell awaits, with Ctrl-C to
stop waiting; plain mode blocks. So a command returns one of these, and the
front end takes it with one call, ``handle(outcome, front_end)``, where the
front end is an :class:`OutcomeHandler`: a method for each kind of outcome, in
place of a switch over their types in each front end.

NamedTuples rather than dataclasses: plain mode and the shell import this
module before their first worker starts, and importing ``dataclasses`` (which
imports ``inspect``) and building each class with ``exec`` costs more than
the NamedTuples do, for nothing these records need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from doer.client.supervision import RestartPolicy
from doer.console.render.fragments import Fragments

if TYPE_CHECKING:
    from doer.client.worker import Worker
    from doer.console.ray_cluster import RayOptions
    from doer.console.syntax import Message

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Said(NamedTuple):
    """Lines to print; nothing else to do (``.help``, ``.workers``, ``.timeout 5``...)."""

    lines: list[Fragments]


class Refused(NamedTuple):
    """The command was not carried out: ``error`` is the one-line reason (a bad
    argument, or a bug of doer's said in one line)."""

    error: str


class Spawned(NamedTuple):
    """``.spawn``: ``workers`` have been started, in the order named; each one's start
    event comes when it has booted."""

    workers: list[Worker]

    @property
    def worker(self) -> Worker:
        """The first worker started (the only one, for ``.spawn NAME``)."""
        return self.workers[0]


class Stop(NamedTuple):
    """``.stop [NAME]``: end ``worker`` the clean way (pending requests, ``exit``, join)."""

    worker: Worker


class Kill(NamedTuple):
    """``.kill [NAME]``: the worker was killed, or told why not; ``lines`` say which.

    ``ends``: the worker ends of it (a process is killed, a task cancelled at its
    next ``await``), and its end is to be reported (or, under a restart policy,
    its restart); a thread goes on. ``restarts``: how many it had before.
    """

    worker: Worker
    lines: list[Fragments]
    ends: bool = False
    restarts: int = 0


class Restart(NamedTuple):
    """``.restart [NAME] [KIND] [--start-method M] [--state V]``: replace worker ``name``
    (the front end stops the old one, then has the console start this one)."""

    name: str
    kind: str
    start_method: str | None = None
    state: Any = None
    ray: RayOptions | None = None
    restart: RestartPolicy = RestartPolicy()
    mailbox: int | None = None


class Repeat(NamedTuple):
    """``.repeat N LINE``: send ``message`` ``times`` times without waiting, print every
    answer, then each worker's rate (:func:`~doer.console.sending.repeat_summary`)."""

    times: int
    message: Message


class Reset(NamedTuple):
    """``.reset``: end every worker as ``.quit`` does, then
    :meth:`~doer.console.session.Console.start_afresh`."""


class Quit(NamedTuple):
    """``.quit`` (wait for pending requests first) or ``.quit!`` (do not)."""

    wait: bool


Outcome = Said | Refused | Spawned | Stop | Kill | Restart | Repeat | Reset | Quit


class OutcomeHandler(Protocol[T_co]):
    """A front end, as the outcomes see it: what it does with each kind of outcome.

    ``T_co`` is what each method returns: whether to go on reading lines (plain
    mode), or a coroutine that says so once awaited (the shell).
    """

    def on_said(self, said: Said) -> T_co: ...
    def on_refused(self, refused: Refused) -> T_co: ...
    def on_spawned(self, spawned: Spawned) -> T_co: ...
    def on_stop(self, stop: Stop) -> T_co: ...
    def on_kill(self, kill: Kill) -> T_co: ...
    def on_restart(self, restart: Restart) -> T_co: ...
    def on_repeat(self, repeat: Repeat) -> T_co: ...
    def on_reset(self, reset: Reset) -> T_co: ...
    def on_quit(self, quit: Quit) -> T_co: ...


def handle(outcome: Outcome, front_end: OutcomeHandler[T]) -> T:
    """Give ``outcome`` to the ``front_end``'s method for its kind; return what it returns."""
    methods: dict[type, Callable[[Any], T]] = {
        Said: front_end.on_said,
        Refused: front_end.on_refused,
        Spawned: front_end.on_spawned,
        Stop: front_end.on_stop,
        Kill: front_end.on_kill,
        Restart: front_end.on_restart,
        Repeat: front_end.on_repeat,
        Reset: front_end.on_reset,
        Quit: front_end.on_quit,
    }
    return methods[type(outcome)](outcome)
