"""The subjects of the round-trip and throughput rows: doer's workers, and raw echoes.

A :class:`DoerWorker` is a doer worker answering ``ping``; its round trip is
``Worker.ask("ping")``. An :class:`Echo` is its raw baseline: a partner that
sends back every message it is given, with ``send`` and ``receive`` on the
caller's side (the round-trip rows call them in turn, the throughput rows
from two threads). Each raw echo is the least code that crosses the same
boundary as the doer kind it stands next to:

``queue.Queue`` (the thread kind)
    a thread echoing from one ``queue.Queue`` to another.
``Pipe`` (the process kind, per start method)
    a child process echoing from one one-way ``multiprocessing.Pipe`` to
    another (``Connection.send``/``recv``: pickled, as doer's records are).
``asyncio`` (the asyncio kind)
    a task on an event loop of its own in a thread, as doer's asyncio kind
    runs when started from plain code. The caller cannot touch an
    ``asyncio.Queue`` from its thread, nor block on one, so a message crosses
    into the loop with ``loop.call_soon_threadsafe(requests.put_nowait, msg)``
    (the one thread-safe way into a loop: it wakes the loop through its
    self-pipe) and the task, awaiting ``requests.get()``, puts the echo on a
    ``queue.SimpleQueue`` the caller blocks on (the cheapest blocking hand-off
    to a thread). That is the bare minimum of the crossing doer's asyncio kind
    makes (its worker task awaits an ``asyncio.Queue`` of requests, and its
    caller blocks for replies on a ``SimpleQueue``); whatever doer does on top
    (its records and ``Pending``, how it wakes the loop) is what the ratio
    shows.

The message echoed has the shape of doer's ``Request(id, "ping")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import doer

RAW_MESSAGE = (1, "ping")


@dataclass(kw_only=True)
class Subject:
    """Something that does one round trip per call, and how to stop it."""

    label: str
    round_trip: Callable[[], Any]
    stop: Callable[[], None]
    #: The process at the other end, for pinning it (None: a thread of the bench's own).
    pid: int | None = None


@dataclass(kw_only=True)
class Echo(Subject):
    """A raw echo: its round trip is ``send(RAW_MESSAGE)`` then ``receive()``."""

    send: Callable[[Any], object]
    receive: Callable[[], Any]


@dataclass(kw_only=True)
class DoerWorker(Subject):
    """A doer worker: its round trip is ``Worker.ask("ping")``."""

    worker: doer.Worker


def raw(
    label: str,
    send: Callable[[Any], object],
    receive: Callable[[], Any],
    stop: Callable[[], None],
    pid: int | None = None,
) -> Echo:
    def round_trip() -> Any:
        send(RAW_MESSAGE)
        return receive()

    return Echo(label=label, round_trip=round_trip, stop=stop, pid=pid, send=send, receive=receive)


def queue_echo() -> Echo:
    """A bare thread echoing from one ``queue.Queue`` to another."""
    requests: queue.Queue[Any] = queue.Queue()
    responses: queue.Queue[Any] = queue.Queue()

    def echo() -> None:
        while (message := requests.get()) is not None:
            responses.put(message)

    thread = threading.Thread(target=echo, name="bench-raw-queue", daemon=True)
    thread.start()

    def stop() -> None:
        requests.put(None)
        thread.join(5.0)

    return raw("queue.Queue", requests.put, responses.get, stop)


def echo_pipe(requests: Connection, responses: Connection) -> None:
    """The raw child process's body: echo until ``None`` (module level, to pickle)."""
    while (message := requests.recv()) is not None:
        responses.send(message)


def pipe_echo(start_method: str) -> Echo:
    """A bare child process echoing from one one-way ``Pipe`` to another."""
    context: Any = multiprocessing.get_context(start_method)  # typeshed lacks .Process
    child_requests, requests = context.Pipe(duplex=False)
    responses, child_responses = context.Pipe(duplex=False)
    process = context.Process(
        target=echo_pipe, args=(child_requests, child_responses), name="bench-raw-pipe", daemon=True
    )
    process.start()
    child_requests.close()
    child_responses.close()

    def stop() -> None:
        with contextlib.suppress(OSError):
            requests.send(None)
        process.join(5.0)
        if process.is_alive():
            process.kill()
            process.join(5.0)
        requests.close()
        responses.close()

    return raw(f"Pipe ({start_method})", requests.send, responses.recv, stop, process.pid)


def asyncio_echo() -> Echo:
    """A bare task on a loop of its own: in by ``call_soon_threadsafe``, out by a SimpleQueue."""
    answers: queue.SimpleQueue[Any] = queue.SimpleQueue()
    ready: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]]
    ready = queue.SimpleQueue()

    async def echo() -> None:
        requests: asyncio.Queue[Any] = asyncio.Queue()
        ready.put((asyncio.get_running_loop(), requests))
        while (message := await requests.get()) is not None:
            answers.put(message)

    thread = threading.Thread(target=asyncio.run, args=(echo(),), name="bench-raw-loop")
    thread.daemon = True
    thread.start()
    loop, requests = ready.get(timeout=10)
    call_soon, put = loop.call_soon_threadsafe, requests.put_nowait

    def send(message: Any) -> None:
        call_soon(put, message)

    def stop() -> None:
        send(None)
        thread.join(5.0)

    return raw("asyncio task, SimpleQueue back", send, answers.get, stop)


def doer_worker(kind: str, start_method: str | None = None) -> DoerWorker:
    """A doer worker, started and ready.

    ``ask`` reads the answer in the caller's thread while nothing else is in
    flight (no reply-reader thread): the library's one-at-a-time round trip.
    """
    worker = doer.start(kind, start_method=start_method, name=f"bench-{kind}")
    worker.wait_started(30.0)
    ask = worker.ask

    def round_trip() -> Any:
        return ask("ping")

    def stop() -> None:
        worker.stop()

    return DoerWorker(
        label=kind if start_method is None else f"{kind} ({start_method})",
        round_trip=round_trip,
        stop=stop,
        pid=worker.pid if kind == "process" else None,
        worker=worker,
    )


def pin_process(pid: int | None, cpus: frozenset[int]) -> None:
    """Pin every thread of a partner process to ``cpus``.

    A forkserver's child has the forkserver's CPUs, not the caller's, and
    ``sched_setaffinity(pid)`` pins only its main thread: a thread it started
    (a worker watching its parent) is pinned through /proc/PID/task.
    """
    if pid is None or not cpus or not hasattr(os, "sched_setaffinity"):
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
            os.sched_setaffinity(int(task.name), cpus)
