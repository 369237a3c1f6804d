"""The Ray kind, driver side: the process between the console and one Ray actor.

Nothing here runs in the console. :func:`driver_main` is the target of a
``multiprocessing`` process forked by the console, one per Ray worker: it
connects to the cluster (``ray.init``), creates the worker's
:class:`~doer.kinds.ray_actor.actor.DoerActor` and relays records both ways::

    console (link.py)           driver process (this module)            Ray actor (actor.py)
    RayLink.send ─ pipe ─> "requests" thread: what came together,
                           in one call ─── handle.remote(batch) ───> DoerActor.handle
                           (a kill: ray.kill, at once)   │ refs, in order
    RayLink.receive <─ pipe ─ "answers" thread: ray.get(ref) <┘
                              "watch" thread: ray.get(watch.remote()) fails
                              when the actor dies, idle or not
    (the main thread connects, with what the console sends first: the address)

Why a process of its own rather than Ray in the console: Ray prints, from
threads of its own, on the process's stdout and stderr (start-up notices,
``(raylet)`` lines, warnings every second while it retries), and no public
setting silences all of it. Here both go to the log file the console names in
``.status``, and the prompt stays clean. Ray also allows one ``ray.init`` per
process; one driver per worker lets each worker choose its cluster.

The driver ends with its worker: after the end event (``exit``), the actor's
death, ``.kill``, a ``detach`` (a shared actor left running at ``.quit``) or
the console's going away. A worker's actor that is not shared is killed then,
and would die with its driver's job anyway; a shared one (named, detached)
lives on until ``.stop`` or its cluster ends.
"""

from __future__ import annotations

import os
import queue
import threading
from multiprocessing.connection import Connection
from typing import Any, NamedTuple, NoReturn

from doer.base.procfs import wait_gone
from doer.base.protocol import Control, Died, Ended, Failure, Started
from doer.kinds import Handlers
from doer.kinds.process.child import guard_worker_process
from doer.kinds.process.frames import (
    FrameReader,
    decode,
    encode,
    is_request,
    send_frame,
    send_frames,
)
from doer.kinds.ray_actor.joining import (
    NAMESPACE,
    join,
    remove_shipped,
    shipped_error,
    watch_stderr,
)
from doer.kinds.ray_actor.texts import (
    TOKEN_REFUSED,
    actor_death_text,
    actor_did_not_start,
    cause_of,
    first_line_of,
    not_started_text,
)

#: The most requests sent to the actor in one call (one batch of answers back).
BATCH = 1000


class DriverConfig(NamedTuple):
    """What the console tells a driver process when it starts it."""

    name: str
    state: Any
    handlers: Handlers
    shared: bool
    log_path: str


def driver_main(requests: Connection, responses: Connection, config: DriverConfig) -> None:
    """The body of a Ray worker's driver process."""
    guard_worker_process(output=config.log_path)
    lock = threading.Lock()

    def send(record: Any) -> None:
        with lock:
            send_frame(responses, encode(record))

    def send_answers(answers: list[bytes]) -> None:
        with lock:
            send_frames(responses, answers)

    driver = Driver(send, send_answers, config)
    watch_stderr(driver.refused)
    threading.Thread(
        target=driver.read_requests, args=(requests,), name="requests", daemon=True
    ).start()
    driver.run()


class Driver:
    """One worker's relay between the console's pipes and its actor."""

    def __init__(self, send: Any, send_answers: Any, config: DriverConfig) -> None:
        self.send = send  # one record
        self.send_answers = send_answers  # the actor's answers, as they came
        self.config = config
        self.inbox: queue.SimpleQueue[Control] = queue.SimpleQueue()  # for the main thread
        self.calls: queue.SimpleQueue[Any] = queue.SimpleQueue()  # refs, in order
        self.actor: Any = None
        self.pid = os.getpid()  # the actor's, once known
        self.node = ""  # the actor's: node 8c225365 on vm (192.0.2.2)
        self.state = config.state  # the last state seen: said by a detach's end event
        self._finishing = threading.Lock()
        self._kill_asked = False
        self._leaving = False  # detach asked: a shared actor stays, whatever comes after
        self._ended = False  # the actor answered an exit (or a handler's sys.exit)
        self._ending = False  # "end": the console ends it (its cluster ends with it)
        self._creating = threading.Lock()  # the actor is being created: a kill waits
        self._submitting = threading.Lock()  # held while requests go out, in order
        self._relaying = False  # the actor is there: requests go straight to it
        self._held: list[bytes] = []  # requests that came before it was

    # --- the console's side ------------------------------------------------------

    def read_requests(self, requests: Connection) -> None:
        """The "requests" thread: read the pipe, always, so the console's writes never
        wait on a driver busy connecting. Requests that came together go to the
        actor in one call (held until it is there); ``kill`` is carried out here."""
        reader = FrameReader(requests)
        try:
            while True:
                data = reader.recv_bytes()
                if not is_request(data):
                    self.control(decode(data))
                    continue
                batch = [data]
                while len(batch) < BATCH and reader.poll(0):
                    data = reader.recv_bytes()
                    if not is_request(data):
                        self.submit(batch)
                        batch = []
                        self.control(decode(data))
                        break
                    batch.append(data)
                if batch:
                    self.submit(batch)
        except (EOFError, OSError):  # the console has gone, or closed the worker
            self.finish(None, console_gone=True)
        except Exception as exc:  # doer's or Ray's bug: said, not a silent stop
            self.finish(Died(f"its driver failed: {type(exc).__name__}: {cause_of(exc)}"))

    def control(self, control: Control) -> None:
        if control.action == "kill":
            self.kill()
        elif control.action == "end":  # a shared actor whose cluster ends with the console
            self._ending = True
            self.end(ENDED_WITH_CLUSTER)
        elif control.action == "detach":
            self._leaving = True
            with self._submitting:
                if self._relaying:  # after the answers to what was sent before it
                    self.calls.put(control)
                    return
            self.inbox.put(control)
        else:  # connect, or fail: the main thread's
            self.inbox.put(control)

    def submit(self, batch: list[bytes]) -> None:
        """Send ``batch`` to the actor in one call, or hold it until the actor is there."""
        with self._submitting:
            if self._relaying:
                self.call(batch)
            else:
                self._held += batch

    def kill(self) -> None:
        """``.kill``: ``ray.kill`` the actor; the answers thread reports its death.

        A shared actor this console is leaving (``.quit``, then the kill of what
        did not end in time) is left running: only this console's link ends.
        """
        if self._leaving and self.config.shared:
            self.end(LEFT_RUNNING)
        with self._creating:  # not between the actor's creation and its assignment
            self._kill_asked = True
            if self.actor is None:
                self.finish(Died("killed before it started"))
        import ray

        ray.kill(self.actor, no_restart=True)

    def run(self) -> None:
        """The main thread: wait for the cluster's address, connect, start relaying."""
        item = self.inbox.get()
        if item.action == "fail":  # no cluster to join
            self.end(item.argument)
        if item.action != "connect":  # detach before it started: nothing to leave running
            self.end("stopped before it started")
        try:
            self.connect(item.argument)
        except Exception as exc:
            self.end(not_started_text(item.argument, exc))
        threading.Thread(target=self.answer, name="answers", daemon=True).start()
        threading.Thread(target=self.watch, name="watch", daemon=True).start()
        with self._submitting:
            self._relaying = True
            for start in range(0, len(self._held), BATCH):
                self.call(self._held[start : start + BATCH])
            self._held = []
        detach = self.inbox.get()  # one that came while it connected; nothing else comes here
        self.calls.put(detach)

    def call(self, batch: list[bytes]) -> None:
        """Send ``batch`` (requests, as the pipe carried them) to the actor in one call."""
        self.calls.put((self.actor.handle.remote(batch), batch))

    # --- the actor's side --------------------------------------------------------

    def connect(self, address: str) -> None:
        """Join the cluster, start (or, shared, find) the actor, send its start event.

        Raises:
            HandlerError: its handler modules do not load in the actor.
            Exception: Ray's, when the cluster cannot be reached or refuses.
        """
        handlers = join(address, self.config.handlers, self.refused)
        import ray

        from doer.kinds.ray_actor.actor import remote_class

        options: dict[str, Any] = {}
        if self.config.shared:
            options.update(
                name=self.config.name, lifetime="detached", get_if_exists=True, namespace=NAMESPACE
            )
        with self._creating:
            if self._kill_asked:
                self.finish(Died("killed before it started"))
            self.actor = remote_class().options(**options).remote(self.config.state, handlers)
        try:
            started: Started = decode(ray.get(self.actor.started.remote()))
        except ray.exceptions.RayActorError as exc:
            if self._kill_asked:  # .kill, while it started
                self.finish(Died("killed with ray.kill"))
            raise shipped_error(exc) or actor_did_not_start(exc) from None
        self.pid, self.state, self.node = started.pid, started.state, started.node or ""
        self.send(started)

    def refused(self) -> None:
        """Ray said the cluster refused our token: give up at once (Ray would retry
        for a while, then blame something else), unless the actor is there already."""
        if self.actor is None:
            self.end(TOKEN_REFUSED)

    def answer(self) -> None:
        """The "answers" thread: each call's records to the console, in order."""
        import ray

        while True:
            call = self.calls.get()
            if type(call) is Control:  # detach: everything sent before is answered
                self.end(LEFT_RUNNING)
            if type(call) is Died:
                self.finish(call)
            ref, batch = call
            try:
                answers, ended, state = ray.get(ref)
            except ray.exceptions.ActorUnavailableError:  # for now: it may come back
                self._fail_each(batch, "its actor was unreachable")
                continue
            except ray.exceptions.RayActorError as exc:
                self.finish(Died(self.death_reason(exc)))
            except Exception as exc:  # Ray failed the call itself: each request is told
                self._fail_each(batch, f"the Ray call failed: {cause_of(exc)}")
                continue
            if state:
                self.state = state[0]
            self.send_answers(answers)
            if ended:  # its end event was the last of them
                self._ended = True
                self.finish(None)

    def _fail_each(self, batch: list[bytes], error: str) -> None:
        for data in batch:
            self.send(Failure(decode(data).id, error[:200]))

    def watch(self) -> None:
        """The "watch" thread: an actor that dies while nothing waits is seen at once.

        An actor Ray cannot reach for a moment is not dead: it is watched again,
        and given up for dead after :data:`UNREACHABLE_S` of it.
        """
        import time

        import ray

        unreachable_since = None
        while True:
            try:
                ray.get(self.actor.watch.remote())
            except ray.exceptions.ActorUnavailableError:
                now = time.monotonic()
                unreachable_since = unreachable_since or now
                if now - unreachable_since < UNREACHABLE_S:
                    time.sleep(0.5)  # a poll with a deadline: Ray says no more
                    continue
                self.calls.put(Died(f"its actor was unreachable for {UNREACHABLE_S:g} s"))
            except ray.exceptions.RayActorError as exc:
                self.calls.put(Died(self.death_reason(exc)))  # after what it answered before
            except Exception as exc:  # not Ray's word on the actor: say so, as a death
                self.calls.put(Died(f"its actor could not be watched: {first_line_of(exc)}"))
            return

    def death_reason(self, error: Exception) -> str:
        if self._kill_asked:
            return "killed with ray.kill"
        return actor_death_text(error)

    def end(self, reason: str) -> NoReturn:
        """:meth:`finish` with the end event: the worker ended for ``reason``."""
        self.finish(Ended(0, self.state, self.pid, reason))

    def finish(self, record: Any, *, console_gone: bool = False) -> NoReturn:
        """Send the worker's last record (if any), end its actor unless it stays, and
        end this process. Once: the first caller wins; the others wait for the exit.

        A shared actor stays when this console leaves it, and when the console
        is gone (killed, say): the other consoles still use it.
        """
        with self._finishing:
            if record is not None:
                try:
                    self.send(record)
                except OSError:
                    pass  # the console has gone
            # A shared actor ends only when told to (exit, .kill, the end of its
            # cluster's console); not when this console leaves, fails or is gone.
            ends_shared = self._kill_asked or self._ended or self._ending
            if self.actor is not None and (not self.config.shared or ends_shared):
                try:
                    import ray

                    ray.kill(self.actor, no_restart=True)
                except Exception:
                    pass  # it is dead already
                _wait_for_exit(self.pid, self.node)
            remove_shipped()
            os._exit(0)


def _wait_for_exit(pid: int, node: str, timeout: float = 1.0) -> None:
    """Once an actor was told to end, wait (a moment) for its process ``pid`` to exit,
    when it runs on this machine: then the worker's end means nothing of it runs."""
    import socket

    if pid == os.getpid() or f" on {socket.gethostname()} (" not in node:
        return  # it never started, or runs on another machine
    wait_gone(pid, timeout)


#: A shared worker's end at ``.quit``: this console leaves, the actor stays.
LEFT_RUNNING = "left running, shared"

#: A shared worker's end at ``.quit``, on the private cluster that ends with the console.
ENDED_WITH_CLUSTER = "ended with this console's cluster"

#: How long an actor Ray cannot reach is waited for before it is reported dead.
UNREACHABLE_S = 10.0
