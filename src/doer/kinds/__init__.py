"""How a worker is started and reached: one module or subpackage per kind, behind one class.

Rule: a kind stands on :mod:`doer.worker` (the Doer it runs) and
:mod:`doer.base`; it never imports the library, the console or a front end.
Everything the console needs to know of a kind is asked of its :class:`Link`,
never decided from the kind's name, so adding a kind is one module or
subpackage here and one line in ``_LINKS`` (and, for how it looks, its colour
and its word in ``.help``: docs/architecture.md says where).

Each kind is a small :class:`Link` that chooses its two parts, what runs the
loop and what carries the messages, and starts the same
:class:`~doer.worker.doer.Doer`::

    kind         module               runs the Doer in                requests / responses
    thread       thread.py            threading.Thread                queue.SimpleQueue
    process      process/link.py      a multiprocessing Process       a Pipe each way
                                      (fork, spawn, forkserver):
                                      process/child.py
    asyncio      asyncio_task.py      a task on an event loop         asyncio.Queue / SimpleQueue
    interpreter  interpreter/link.py  a subinterpreter, run by a      an os.pipe each way
                                      thread: interpreter/inside.py
    ray          ray_actor/link.py    a Ray actor, through a driver   a Pipe to the driver, then
                                      process: ray_actor/driver.py    Ray's actor calls
                                      and ray_actor/actor.py

Every link offers the console the same surface: ``send(request)``,
``send_many(requests)``, ``receive(timeout)`` (raises ``EOFError`` once the
worker is gone), ``pid``, ``is_alive()``, ``join(timeout)``, ``kill()``,
``end_reason()``, ``close()``, ``release()``, ``would_block_its_loop()``,
``peek()``, ``details()`` and ``detach()``. And each kind declares, on its
class, what it is: ``killable``, ``own_memory``, ``own_process``, ``on_event_loop``,
``start_methods``, ``options``, ``slow_start_s`` and ``transport``
(:class:`Link` says what each means). :func:`link_class` gives the class
of a kind by its name, for what is asked before a worker of it starts.

Whether a worker's memory is its own is declared once, as ``OWN_MEMORY``, by
the module that builds its Doer (thread.py, asyncio_task.py, process/child.py;
for a Ray actor, which is built where Ray runs it, ``ray_actor/__init__.py``),
and the link's ``own_memory`` is that value. The Doer is given it too:
``incr``, ``race``, ``inherited``, ``die`` and ``segfault`` answer from that
declaration, never from the kind's name.

A kind's module is imported only when it is asked for (a worker of that kind
is started, or its class asked what it declares), so a spawned process worker
never pays for asyncio, nor the console for a kind it does not use.
"""

from __future__ import annotations

import importlib
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from doer.base.protocol import Request
from doer.worker.doer import Handler

#: Every kind, and the module and class that make one.
_LINKS = {
    "thread": ("doer.kinds.thread", "ThreadLink"),
    "process": ("doer.kinds.process.link", "ProcessLink"),
    "asyncio": ("doer.kinds.asyncio_task", "AsyncioLink"),
    "interpreter": ("doer.kinds.interpreter.link", "InterpreterLink"),
    "ray": ("doer.kinds.ray_actor.link", "RayLink"),
}
KINDS = tuple(_LINKS)
START_METHODS = ("fork", "spawn", "forkserver")

#: A worker's own handlers by action name, besides the built-in ones (None: none).
Handlers = Mapping[str, Handler] | None

_numbers = itertools.count(1)


class Link(ABC):
    """The console's end of one worker, whatever its kind: each kind subclasses it.

    A kind's class is made with ``(name, state, handlers, **options)``, the
    options being those it declares in :attr:`options`.
    """

    # --- what the kind is: declared by each kind, asked of the class or a worker ---

    #: The kind's name, as the console and the start event say it.
    kind: ClassVar[str]
    #: Whether the worker's memory is its own (a process, a Ray actor) rather than
    #: the console's (a thread, a task): then ``.peek`` shows only the console's
    #: copy, and the worker has a process of its own to be gone when it ends.
    own_memory: ClassVar[bool]
    #: Whether it runs in a process of its own (a process, a Ray actor), which is gone
    #: when it ends; a thread, a task and a subinterpreter share the console's.
    own_process: ClassVar[bool]
    #: Whether :meth:`kill` ends it from outside: a process at once, a task at its
    #: next ``await``. A thread cannot be: it goes on until its handler returns.
    killable: ClassVar[bool]
    #: Whether it is a task on an event loop: it is started on a loop that runs,
    #: a kill cancels it (at its next ``await``), a handler that blocks holds up
    #: the whole loop, and waiting for its answer on that loop would never end.
    on_event_loop: ClassVar[bool] = False
    #: The multiprocessing start methods it takes; none: it has no start method.
    start_methods: ClassVar[tuple[str, ...]] = ()
    #: The options of :func:`open_link` it takes, besides state, handlers and name.
    options: ClassVar[tuple[str, ...]] = ()
    #: How long its start may take, at least, however short the console's timeout
    #: (0: no longer than the timeout). A Ray worker may boot a cluster first.
    slow_start_s: ClassVar[float] = 0.0
    #: The queue or pipe the records travel on, as ``.trace`` names it.
    transport: ClassVar[str]

    # --- this worker -----------------------------------------------------------------

    name: str
    pid: int
    #: The start method it was started with; None for a kind that has none.
    start_method: str | None = None
    #: The size of the last record ``receive()`` read, pickled; None: not pickled.
    received_bytes: int | None = None
    #: A worker several consoles share (a named Ray actor): leaving it, a console
    #: ends only its own link (:meth:`detach`) and the worker runs on.
    shared: bool = False

    @classmethod
    def unavailable(cls) -> str | None:
        """Why no worker of this kind can start here (what it needs is not installed),
        or None."""
        return None

    @classmethod
    def prepare(cls, start_method: str | None = None) -> bool:
        """Start ahead what the first worker of this kind will need, so that it boots
        while the caller does something else; True if its start is slow (it boots
        a fresh interpreter), and best made once the caller is ready."""
        return False

    @classmethod
    def option_flags(cls) -> tuple[str, ...]:
        """Its :attr:`options` as the command line spells them (``--start-method``)."""
        return tuple("--" + option.replace("_", "-") for option in cls.options)

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """Check the options given to :func:`open_link` (those not None or False).

        Raises:
            ValueError: a start method for a kind that has none, an option this
                kind does not take, or a start method it does not know.
        """
        start_method = options.get("start_method")
        if start_method is not None and not cls.start_methods:
            raise ValueError(f"a {cls.kind} worker has no start method")
        for option in options:
            if option not in cls.options:
                owner = next(
                    (found for found in map(link_class, KINDS) if option in found.options), None
                )
                if owner is None:
                    raise ValueError(f"no kind of worker takes the option {option!r}")
                flags = " and ".join(owner.option_flags())
                raise ValueError(f"{flags} are for {owner.kind} workers, not for a {cls.kind}")
        if start_method is not None and start_method not in cls.start_methods:
            raise ValueError(
                f"unknown start method {start_method!r}"
                f" (choose from {', '.join(cls.start_methods)})"
            )

    @abstractmethod
    def __init__(self, name: str, state: Any, handlers: Handlers, **options: Any) -> None:
        """Start a worker called ``name`` with ``state`` and ``handlers``, and the
        ``options`` its kind takes (:attr:`options`, checked already)."""

    # --- talking to it -----------------------------------------------------------------

    @abstractmethod
    def send(self, request: Request) -> int | None:
        """Send ``request``; return how many bytes it took pickled (None: not pickled)."""

    def send_many(self, requests: list[Request]) -> list[int | None]:
        """Send ``requests`` in order, all or none (a process: in one write); their sizes."""
        return [self.send(request) for request in requests]

    @abstractmethod
    def receive(self, timeout: float | None = None) -> Any:
        """The next record from the worker.

        Raises:
            TimeoutError: nothing came within ``timeout`` seconds.
            EOFError: the worker is gone (OSError: its pipe failed).
        """

    def would_block_its_loop(self) -> bool:
        """True when called on the event loop the worker itself runs on."""
        return False

    # --- how it is -----------------------------------------------------------------------

    @abstractmethod
    def is_alive(self) -> bool: ...

    @abstractmethod
    def peek(self) -> tuple[bool, Any]:
        """``(live, state)``: the state as the console's own memory holds it, and
        whether that is the worker's live state (a thread or task) or a copy."""

    def details(self) -> list[str]:
        """Lines of what only its kind knows, for ``.status`` (a Ray worker's cluster
        and log file); none by default."""
        return []

    @abstractmethod
    def end_reason(self) -> str:
        """Why it is gone, once :meth:`receive` has raised ``EOFError``."""

    # --- its end -------------------------------------------------------------------------

    @abstractmethod
    def kill(self) -> bool:
        """End it from outside, if it can be (:attr:`killable`); whether it will end."""

    def detach(self) -> None:  # noqa: B027 - a default, doing nothing on purpose
        """Leave a :attr:`shared` worker running for the other consoles, ending only
        this link. A worker that is not shared has nothing to leave behind."""

    @abstractmethod
    def join(self, timeout: float | None = None) -> None: ...

    def close(self) -> None:  # noqa: B027 - a default, doing nothing on purpose
        """Close what the console holds of it, once it has ended; nothing by default."""

    def release(self) -> None:
        """Free what only the worker's end frees; the reply reader calls it after the end."""
        self.close()

    def reopen(self, opener: Callable[[], Link]) -> Link:
        """A fresh link in this one's place, made by ``opener`` (a restart, once this one
        has ended): where this kind must make it (a task: on the same event loop)."""
        return opener()


def link_class(kind: str) -> type[Link]:
    """The class that makes a worker of ``kind`` (its module imported now): what a
    kind declares, asked before a worker of it starts.

    Raises:
        ValueError: not a kind.
    """
    if kind not in _LINKS:
        raise ValueError(f"unknown kind {kind!r} (choose from {', '.join(KINDS)})")
    module, class_name = _LINKS[kind]
    found: type[Link] = getattr(importlib.import_module(module), class_name)
    return found


def next_name() -> str:
    """A fresh worker name: ``doer-1``, ``doer-2``, ..."""
    return f"doer-{next(_numbers)}"


def open_link(
    kind: str,
    state: Any = None,
    *,
    start_method: str | None = None,
    handlers: Handlers = None,
    name: str | None = None,
    address: str | None = None,
    shared: bool = False,
) -> Link:
    """Start a worker of ``kind`` and return the console's end of it.

    ``address`` and ``shared`` are for a Ray worker only (see :mod:`doer.kinds.ray_actor.link`).

    Raises:
        ValueError: an unknown kind or start method, a start method for a kind
            that has none, a Ray option for another kind, or Ray not installed.
    """
    made = link_class(kind)
    options = {"start_method": start_method, "address": address, "shared": shared}
    given = {option: value for option, value in options.items() if value not in (None, False)}
    made.check_options(given)
    why = made.unavailable()
    if why is not None:
        raise ValueError(why)
    return made(name or next_name(), state, handlers, **given)
