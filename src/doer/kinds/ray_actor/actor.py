"""The Ray kind, actor side: the :class:`~doer.worker.doer.Doer` inside a Ray actor.

Nothing here runs in the console. The driver process
(:mod:`doer.kinds.ray_actor.driver`) creates one :class:`DoerActor` per worker and
calls it; Ray runs it in a worker process of its own, on whichever node of the
cluster it chose.

A Ray actor is called, not fed from a queue, so the Doer's loop is turned
inside out: :meth:`DoerActor.handle` answers a batch of requests with their
records, in order, as the loop would have sent them (:meth:`Doer.serve
<doer.worker.doer.Doer.serve>`). Both travel as the bytes the console's pipe
carries (:mod:`doer.kinds.process.frames`): the driver passes them on without
unpickling and pickling them again. The actor's default concurrency group
runs one call at a time, so its handlers run one at a time in the order they
were sent, as in every other kind. :meth:`DoerActor.watch`
runs in a group of its own and never returns: its caller learns of the
actor's death from it at once, even when no request is waiting.
"""

from __future__ import annotations

import pickle
import socket
import threading
from typing import Any

import ray

from doer.base.protocol import Ended, Started
from doer.kinds import Handlers
from doer.kinds.process.frames import decode, encode
from doer.kinds.ray_actor import OWN_MEMORY
from doer.worker.doer import Doer

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

    def __init__(self, state: Any, handlers: Handlers) -> None:
        self._answers: list[bytes] = []  # what the Doer sends while it handles a batch
        self.doer = Doer(
            _never_called,
            self._send,
            state,
            kind="ray",
            handlers=handlers,
            own_memory=OWN_MEMORY,
            node=node_text(),
        )
        self._stopped = threading.Event()

    def _send(self, record: Any) -> None:
        """The Doer's outbox: each answer as the console's pipe carries it. (One that
        does not pickle raises here: the Doer sends a failure that says so instead.)"""
        self._answers.append(encode(record))

    def started(self) -> bytes:
        """The start event, encoded, as a process worker's first record (its state now:
        a shared actor may have run for a while)."""
        threading.current_thread().name = ACTOR_THREAD
        return _encoded_event(self.doer.started())

    def handle(self, requests: list[bytes]) -> tuple[list[bytes], bool, tuple[Any, ...]]:
        """The answers to ``requests`` (as the console's pipe carries them, both ways:
        the driver passes them on as they are), whether the worker ended, and
        its state if a handler changed it (``()`` if not).

        An ``exit`` (or a handler's ``sys.exit``) ends the answers with the end
        event; what came after it is left unanswered, as in every kind.
        """
        doer = self.doer
        threading.current_thread().name = ACTOR_THREAD  # Ray's own is "Dummy-1"
        before = doer.state
        self._answers = answers = []
        ended = doer.serve(map(decode, requests))
        if ended is not None:
            answers.append(_encoded_event(ended))
            return answers, True, ()
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
