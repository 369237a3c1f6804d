"""The commands about workers: ``.spawn``, ``.restart``, ``.stop``, ``.kill``, ``.use``,
``.workers``, ``.status`` and ``.peek``.

Each takes the console and the rest of the line, and returns an outcome
(:mod:`doer.console.outcomes`) or raises ValueError with the one-line error.
Each is named as the console's method that carried it out before the command
table (:mod:`doer.console.commands`) listed them.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, NamedTuple

from doer.base.errors import HandlerError
from doer.client.supervision import WHEN, RestartPolicy
from doer.client.worker import check_mailbox
from doer.console.kind_facts import (
    KINDS_OFFERED,
    START_METHODS_OFFERED,
    can_be_killed,
    is_a_kind,
    is_a_start_method,
    takes_a_start_method,
    takes_ray_options,
)
from doer.console.outcomes import Kill, Restart, Said, Spawned, Stop
from doer.console.ray_cluster import RayOptions
from doer.console.render.fragments import note_line
from doer.console.render.news import kill_lines, use_line
from doer.console.render.status import peek_lines, worker_status
from doer.console.render.table import workers_table
from doer.console.syntax import state_value
from doer.lessons import handlers as lessons

if TYPE_CHECKING:
    from doer.console.session import Console

#: ``--state`` was not given.
_NO_STATE: Any = object()


class Options(NamedTuple):
    """What ``.spawn`` and ``.restart`` were given: the words, then each option (None,
    or ``_NO_STATE`` for the state: not given)."""

    words: list[str]
    start_method: str | None
    state: Any
    ray: RayOptions
    restart: str | None = None
    max_restarts: int | None = None
    within: float | None = None
    mailbox: int | None = None

    def policy(self, had: RestartPolicy) -> RestartPolicy:
        """The restart policy asked for, each part not given as it ``had`` been.

        Raises:
            ValueError: not a policy.
        """
        return RestartPolicy.checked(
            self.restart or had.when,
            had.max_restarts if self.max_restarts is None else self.max_restarts,
            had.within_s if self.within is None else self.within,
        )


def spawn(console: Console, argument: str) -> Spawned:
    """``.spawn NAME[,NAME...] [KIND] [--start-method M] [--state V] [--restart P
    [--max-restarts N] [--within S]]``.

    Several names start several workers, of the same kind and options, in
    the order named. The kind defaults to the command line's, the state too;
    the restart policy to never (the command line's is its first worker's).
    The whole line is checked before any worker starts: one bad or taken
    name, and none does.

    Raises:
        ValueError: no name, a bad one, one in use, or a bad option.
    """
    options = _options(argument)
    words, start_method, state, ray = options[:4]
    policy = options.policy(RestartPolicy())
    if not words:
        raise ValueError(".spawn needs a name: .spawn p1 process (or p1,p2 for two)")
    names = console.registry.new_names(words.pop(0))
    kind = _one_kind(words, console.settings.kind, "spawn")
    start_method = _start_method(kind, start_method, console.settings.start_method)
    _check_ray_options(kind, ray)
    state = console.settings.state if state is _NO_STATE else state
    launch, mailbox = console.launcher.launch, options.mailbox
    return Spawned(
        [launch(name, kind, start_method, state, ray, policy, mailbox) for name in names]
    )


def restart_for(console: Console, argument: str) -> Restart:
    """What ``.restart [NAME] [KIND] [--start-method M] [--state V] [--restart P ...]``
    asks for.

    NAME defaults to the current worker; the kind, start method, state and
    restart policy to the ones it had, so fork, spawn and forkserver can be
    compared in turn.

    Raises:
        ValueError: no such worker, not a kind, not a start method, or a
            start method for a kind that has none.
    """
    options = _options(argument)
    words, start_method, state, ray = options[:4]
    registry, settings = console.registry, console.settings
    name = words.pop(0) if words and not is_a_kind(words[0]) else ""
    old = registry.workers.get(name or registry.current)
    if old is None and name:
        raise ValueError(
            f"cannot restart as {name!r}: no worker has that name (.workers lists them),"
            f" and the kinds are {KINDS_OFFERED}"
        )
    name = name or registry.current
    kind = _one_kind(words, old.kind if old else settings.kind, "restart")
    had = old.start_method if old is not None else settings.start_method
    start_method = _start_method(kind, start_method, had)
    if state is _NO_STATE:
        state = registry.state_of(name, settings.state)
    _check_ray_options(kind, ray)
    if takes_ray_options(kind):  # as it was, but for what is said again
        ray = console.cluster.rejoined(name, ray)
    if settings.handler_modules:  # an edited module that does not load: keep the worker
        try:
            console.your_handlers.load()
        except HandlerError as exc:
            raise ValueError(f"{exc}; {name} keeps running as it was") from None
    policy = options.policy(old.restart_policy if old is not None else settings.restart)
    ray_options = ray if takes_ray_options(kind) else None
    mailbox = options.mailbox
    if mailbox is None:
        mailbox = old.mailbox if old is not None else settings.mailbox
    return Restart(name, kind, start_method, state, ray_options, policy, mailbox)


def stop_for(console: Console, argument: str) -> Stop:
    """``.stop [NAME]``: the front end ends the worker the clean way.

    Raises:
        ValueError: no such worker, or it has ended already.
    """
    worker = console.registry.named(argument)
    if worker.ended is not None:
        raise ValueError(f"{worker.name} has ended already")
    return Stop(worker)


def kill(console: Console, argument: str) -> Kill:
    """``.kill [NAME]``: end the worker at once, as far as its kind allows.

    A process is killed (SIGKILL: its death is reported as any other); a
    task is cancelled, which takes effect at its next ``await``; a thread
    cannot be killed from outside in Python, and the line says so.

    Raises:
        ValueError: no worker, none of that name, or it has ended.
    """
    try:
        worker = console.registry.named(argument)
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
    ends = can_be_killed(worker.kind)
    restarts = len(worker.restarts)
    if ends:
        worker.kill()
    # A process's death is reported when the console sees it: no line of its own.
    return Kill(worker, kill_lines(worker.name, worker.kind), ends, restarts)


def use(console: Console, argument: str) -> Said:
    """``.use NAME``: bare lines go to NAME from now on."""
    if not argument:
        raise ValueError(".use needs a worker's name (.workers lists them)")
    worker = console.registry.named(argument)
    console.registry.current = worker.name
    return Said([use_line(worker.name, ended=worker.ended is not None)])


def table(console: Console, argument: str) -> Said:
    """``.workers [all|clear]``: a row per worker, the current one marked.

    Ended workers are left out (all: shown; clear: forgotten), so that a
    class's dozen fit one screen; the current one is always shown, as the
    one bare lines go to. A worker replaced while stuck is shown while it runs.

    Raises:
        ValueError: another argument.
    """
    if argument not in ("", "all", "clear"):
        raise ValueError(f".workers takes all, clear or nothing, not {argument}")
    registry = console.registry
    if argument == "clear":
        return Said([note_line(registry.clear_ended())])
    current = registry.current
    shown = [
        worker
        for worker in registry.workers.values()
        if argument == "all" or worker.ended is None or worker.name == current
    ]
    rows = [(worker, worker.name == current, False) for worker in shown]
    rows += [(worker, False, True) for worker in registry.left_behind_running()]
    if not rows:
        return Said([note_line("no workers; .spawn NAME starts one")])
    hidden = len(registry.workers) - len(shown)
    return Said(workers_table(rows, console.columns(), hidden=hidden))


def status_lines(console: Console, argument: str) -> Said:
    """``.status [NAME]``: how the worker is, and how it runs."""
    worker = console.registry.named(argument)
    return Said(worker_status(worker, worker.alive, worker.details(), console.columns() or 80))


def peek(console: Console, argument: str) -> Said:
    """``.peek [NAME]``: no message is sent; the console says what its own memory holds."""
    worker = console.registry.named(argument)
    live, state = worker.peek()
    return Said(peek_lines(worker, live, state, lessons.COUNTER, console.columns() or 80))


#: The options that take a value.
_VALUED = (
    "--start-method",
    "--state",
    "--address",
    "--restart",
    "--max-restarts",
    "--within",
    "--mailbox",
)


def _options(argument: str) -> Options:
    """Split ``.spawn``'s or ``.restart``'s argument: its words, ``--start-method``,
    ``--state``, a Ray worker's ``--address`` and ``--shared``, and the restart
    policy's ``--restart``, ``--max-restarts`` and ``--within``.

    Raises:
        ValueError: an option without its value, an unknown option, or a bad value.
    """
    try:
        words = shlex.split(argument)
    except ValueError as exc:
        raise ValueError(f"cannot read {argument!r}: {exc}") from None
    plain: list[str] = []
    given: dict[str, str] = {}
    ray = RayOptions()
    words.reverse()
    while words:
        word = words.pop()
        option, equals, value = word.partition("=")
        if word == "--shared":
            ray = ray._replace(shared=True)
            continue
        if option not in _VALUED:
            if word.startswith("--"):
                raise ValueError(f"unknown option {word} (docs/console.md lists them)")
            plain.append(word)
            continue
        if not equals:
            if not words:
                raise ValueError(f"{option} needs a value")
            value = words.pop()
        given[option] = value
    method = given.get("--start-method")
    if method is not None and not is_a_start_method(method):
        raise ValueError(f"no start method {method!r}: choose {START_METHODS_OFFERED}")
    if "--address" in given:
        ray = ray._replace(address=given["--address"])
    return Options(
        plain,
        method,
        state_value(given["--state"]) if "--state" in given else _NO_STATE,
        ray,
        _restart_when(given.get("--restart")),
        _number(given, "--max-restarts", int),
        _number(given, "--within", float),
        _mailbox(given),
    )


def _mailbox(given: dict[str, str]) -> int | None:
    """``--mailbox``'s value, checked. Raises ValueError: not a whole number >= 1."""
    mailbox = _number(given, "--mailbox", int)
    if mailbox is not None:
        check_mailbox(mailbox)
    return mailbox  # type: ignore[no-any-return]


def _restart_when(value: str | None) -> str | None:
    """``--restart``'s value, checked. Raises ValueError: not a policy."""
    if value is not None and value not in WHEN:
        raise ValueError(f"no restart policy {value!r}: choose {', '.join(WHEN)}")
    return value


def _number(given: dict[str, str], option: str, kind: type[Any]) -> Any:
    """The number given with ``option``, or None. Raises ValueError: not one."""
    if option not in given:
        return None
    try:
        return kind(given[option])
    except ValueError:
        what = "a whole number" if kind is int else "a number of seconds"
        raise ValueError(f"{option} takes {what}, not {given[option]!r}") from None


def _start_method(kind: str, given: str | None, had: str | None) -> str | None:
    """The start method a worker of ``kind`` starts by: the one ``given``, else the one
    it ``had`` (a process), else none.

    Raises:
        ValueError: one given for a kind that has none.
    """
    if takes_a_start_method(kind):
        return given or had
    if given is not None:
        raise ValueError(f"--start-method applies to process workers, not to a {kind}")
    return None


def _check_ray_options(kind: str, ray: RayOptions) -> None:
    """Raises ValueError: ``--address`` or ``--shared`` for a worker that is not a Ray one."""
    if not takes_ray_options(kind) and (ray.address is not None or ray.shared):
        raise ValueError(f"--address and --shared apply to ray workers, not to a {kind}")


def _one_kind(words: list[str], default: str, verb: str) -> str:
    """The kind among ``words`` (at most one), or ``default``.

    Raises:
        ValueError: more than one word, or not a kind.
    """
    if len(words) > 1:
        raise ValueError(f"cannot {verb} as {' '.join(words)!r}: one kind at most")
    kind = words[0] if words else default
    if not is_a_kind(kind):
        raise ValueError(f"cannot {verb} as {kind!r}: choose {KINDS_OFFERED}")
    return kind
