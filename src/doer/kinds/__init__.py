"""How a worker is started and reached: one module or subpackage per kind, behind one protocol.

Rule: a kind stands on :mod:`doer.worker` (the Doer it runs) and
:mod:`doer.base`; it never imports the library, the console or a front end.
Everything the console needs to know of a kind is asked of its :class:`Link`,
so adding a kind is one module or subpackage here and one line in
``_LINKS``.

Switching between ``Process`` and ``Thread`` used to be a change of two
imports. Here each kind is a small :class:`Link` that chooses its two parts,
what runs the loop and what carries the messages, and starts the same
:class:`~doer.worker.doer.Doer`::

    kind     module             runs the Doer in                  requests / responses
    thread   thread.py          threading.Thread                  queue.SimpleQueue
    process  process/link.py    a multiprocessing Process (fork,  a Pipe each way
                                spawn, forkserver): process/child.py
    asyncio  asyncio_task.py    a task on an event loop           asyncio.Queue / SimpleQueue
    ray      ray_actor/link.py  a Ray actor, through a driver     a Pipe to the driver, then
                                process: ray_actor/driver.py      Ray's actor calls
                                and ray_actor/actor.py

Every link offers the console the same small surface: ``send(request)``,
``send_many(requests)``,
``receive(timeout)`` (raises ``EOFError`` once the worker is gone), ``pid``,
``is_alive()``, ``join(timeout)``, ``kill()``, ``end_reason()``, ``close()``,
``release()``, ``would_block_its_loop()`` and ``peek()``.
Each kind declares whether its worker's memory is its own (``OWN_MEMORY`` in the
module that builds its Doer: thread.py, asyncio_task.py, process/child.py,
ray_actor/actor.py) and gives it to the Doer: ``incr``, ``race``, ``inherited``,
``die`` and ``segfault`` answer from that declaration, never from the kind's name.
A kind's module is imported only when a worker of that kind is started, so a
spawned process worker never pays for asyncio, nor the console for a kind it
does not use.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Mapping
from typing import Any, Protocol

from doer.base.protocol import Request
from doer.worker.doer import Handler

#: Every kind, and the module and class that make one.
_LINKS = {
    "thread": ("doer.kinds.thread", "ThreadLink"),
    "process": ("doer.kinds.process.link", "ProcessLink"),
    "asyncio": ("doer.kinds.asyncio_task", "AsyncioLink"),
    "ray": ("doer.kinds.ray_actor.link", "RayLink"),
}
KINDS = tuple(_LINKS)
START_METHODS = ("fork", "spawn", "forkserver")

_numbers = itertools.count(1)


class Link(Protocol):
    """The console's end of one worker, whatever its kind."""

    kind: str
    name: str
    pid: int
    start_method: str | None
    #: The queue or pipe the records travel on, as ``.trace`` names it.
    transport: str
    #: The size of the last record ``receive()`` read, pickled; None: not pickled.
    received_bytes: int | None

    def send(self, request: Request) -> int | None:
        """Send ``request``; return how many bytes it took pickled (None: not pickled)."""
        ...

    def send_many(self, requests: list[Request]) -> list[int | None]:
        """Send ``requests`` in order, all or none (a process: in one write); their sizes."""
        ...

    def receive(self, timeout: float | None = None) -> Any: ...
    def is_alive(self) -> bool: ...
    def join(self, timeout: float | None = None) -> None: ...
    def kill(self) -> bool: ...
    def peek(self) -> tuple[bool, Any]:
        """``(live, state)``: the state as the console's own memory holds it, and
        whether that is the worker's live state (a thread or task) or a copy."""
        ...

    def end_reason(self) -> str: ...
    def close(self) -> None: ...
    def would_block_its_loop(self) -> bool:
        """True when called on the event loop the worker itself runs on."""
        ...

    def release(self) -> None:
        """Free what only the worker's end frees; the reply reader calls it after the end."""
        ...


def next_name() -> str:
    """A fresh worker name: ``doer-1``, ``doer-2``, ..."""
    return f"doer-{next(_numbers)}"


def open_link(
    kind: str,
    state: Any = None,
    *,
    start_method: str | None = None,
    handlers: Mapping[str, Handler] | None = None,
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
    if kind not in _LINKS:
        raise ValueError(f"unknown kind {kind!r} (choose from {', '.join(KINDS)})")
    if start_method is not None and kind != "process":
        raise ValueError(f"a {kind} worker has no start method")
    if (address is not None or shared) and kind != "ray":
        raise ValueError(f"--address and --shared are for ray workers, not for a {kind}")
    module, class_name = _LINKS[kind]
    link_class = getattr(importlib.import_module(module), class_name)
    name = name or next_name()
    if kind == "process":
        link: Link = link_class(name, state, handlers, start_method)
    elif kind == "ray":
        link = link_class(name, state, handlers, address, shared)
    else:
        link = link_class(name, state, handlers)
    return link
