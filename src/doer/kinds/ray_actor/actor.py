"""The Ray kind, actor side: the :class:`~doer.worker.doer.Doer` inside a Ray actor.

Nothing here runs in the console. The driver process
(:mod:`doer.kinds.ray_actor.driver`) creates one :class:`DoerActor` per worker and
calls it; Ray runs it in a worker process of its own, on whichever node of the
cluster it chose.

A Ray actor is called, not fed from a queue, so the Doer's loop is turned
inside out: :meth:`DoerActor.handle` answers a batch of requests with their
records, in order, as the loop would have sent them. Both travel as the
bytes the console's pipe carries (:mod:`doer.kinds.process.frames`): the driver
passes them on without reading them, and Ray moves bytes faster than records. The actor's default
concurrency group runs one call at a time, so its handlers run one at a time
in the order they were sent, as in every other kind. :meth:`DoerActor.watch`
runs in a group of its own and never returns: its caller learns of the
actor's death from it at once, even when no request is waiting.
"""

from __future__ import annotations

import os
import pickle
import socket
import threading
from collections.abc import Mapping
from types import CoroutineType
from typing import Any

import ray

from doer.base.protocol import Ended, Failure, Reply, Request, Started
from doer.kinds.process.frames import decode, encode
from doer.worker.doer import Doer, Handler

#: An actor's memory is its own process's, maybe on another machine: the lessons
#: say so (see Doer's ``own_memory``).
OWN_MEMORY = True

#: The name of the thread that runs the handlers (Ray's, named for whoami and .workers).
ACTOR_THREAD = "actor"

#: The actor's one concurrency group besides the default (which runs the handlers).
WATCH_GROUP = "watch"


def node_text() -> str:
    """``node 8c225365 on vm (192.0.2.2)``: where on the cluster this process runs."""
    node_id = ray.get_runtime_context().get_node_id()
    address = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
    return f"node {node_id[:8]} on {socket.gethostname()} ({address})"


def _never_called(*args: Any) -> Any:
    raise RuntimeError("a Ray actor is called, not fed from a queue")  # pragma: no cover


class DoerActor:
    """One worker's Doer, as a Ray actor (made remote by :func:`remote_class`)."""

    def __init__(self, state: Any, handlers: Mapping[str, Handler] | None) -> None:
        self.doer = Doer(
            _never_called,
            _never_called,
            state,
            kind="ray",
            handlers=handlers,
            own_memory=OWN_MEMORY,
        )
        self.doer.node = node_text()  # type: ignore[attr-defined]  # whoami says it
        self._stopped = threading.Event()

    def started(self) -> bytes:
        """The start event, encoded, as a process worker's first record (its state now:
        a shared actor may have run for a while)."""
        threading.current_thread().name = ACTOR_THREAD
        started = self.doer._started()._replace(node=self.doer.node)  # type: ignore[attr-defined]
        return _encoded_event(started)

    def handle(self, requests: list[bytes]) -> tuple[list[bytes], bool, tuple[Any, ...]]:
        """The answers to ``requests`` (as the console's pipe carries them, both ways:
        the driver passes them on as they are), whether the worker ended, and
        its state if a handler changed it (``()`` if not).

        An ``exit`` (or a handler's ``sys.exit``) ends the answers with the end
        event; what came after it is left unanswered, as in every kind.
        """
        answers: list[bytes] = []
        doer = self.doer
        threading.current_thread().name = ACTOR_THREAD  # Ray's own is "Dummy-1"
        before = doer.state
        for data in requests:
            request: Request = decode(data)
            if request.message == "exit":
                answers.append(_encoded_event(Ended(request.id, doer.state, os.getpid(), "")))
                return answers, True, ()
            try:
                reply = doer.answer(request)
                if type(reply) is Reply and type(reply.value) is CoroutineType:
                    reply = doer._run_coroutine(request, reply)
            except SystemExit as exc:
                reason = f"a handler called sys.exit({exc.code!r})"
                answers.append(_encoded_event(Ended(0, doer.state, os.getpid(), reason)))
                return answers, True, ()
            try:
                answers.append(encode(reply))
            except Exception as exc:  # it does not pickle: the others still go
                answers.append(encode(Failure(request.id, f"answer not sent: {exc}")))
        return answers, False, () if doer.state is before else _picklable(doer.state)

    def watch(self) -> None:
        """Never returns (while the actor lives): see the module's docstring."""
        self._stopped.wait()


def _encoded_event(event: Started | Ended) -> bytes:
    """``event`` encoded; with a state that does not pickle, with a word about it
    instead (the event itself must travel: the process kind's would not)."""
    try:
        return encode(event)
    except Exception:
        shown = f"({type(event.state).__name__}, which does not pickle)"
        return encode(event._replace(state=shown))


def _picklable(state: Any) -> tuple[Any, ...]:
    """``(state,)`` if it pickles, else ``()``: the driver keeps the last it had."""
    try:
        pickle.dumps(state, pickle.HIGHEST_PROTOCOL)
    except Exception:
        return ()
    return (state,)


def remote_class() -> Any:
    """:class:`DoerActor` as a Ray actor class, its ``watch`` in a group of its own."""
    remote: Any = ray.remote
    return remote(concurrency_groups={WATCH_GROUP: 1})(DoerActor)


DoerActor.watch = ray.method(concurrency_group=WATCH_GROUP)(DoerActor.watch)  # type: ignore[assignment,method-assign]
