"""The Ray kind, driver side: the process between the console and one Ray actor.

Nothing here runs in the console. :func:`driver_main` is the target of a
``multiprocessing`` process forked by the console, one per Ray worker: it
connects to the cluster (``ray.init``), creates the worker's
:class:`~doer.kinds.ray_actor.actor.DoerActor` and relays records both ways::

    console (ray.py)            driver process (this module)            Ray actor (ray_actor.py)
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
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any, NamedTuple, NoReturn

from doer.base.protocol import Control, Died, Ended, Failure, Started
from doer.kinds.process.child import guard_worker_process
from doer.kinds.process.frames import (
    FrameReader,
    decode,
    encode,
    is_request,
    send_frame,
    send_frames,
)
from doer.worker.doer import Handler
from doer.worker.handler_modules import HandlerError, HandlerModules, is_file

#: The most requests sent to the actor in one call (one batch of answers back).
BATCH = 1000

#: Ray's own words, on stderr, when a cluster refuses the token it was given: it
#: says so every second for 20 s, then blames a crashed instance.
_REFUSED = ("InvalidAuthToken", "Unauthenticated")


class DriverConfig(NamedTuple):
    """What the console tells a driver process when it starts it."""

    name: str
    state: Any
    handlers: Mapping[str, Handler] | None
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
    _watch_stderr(driver)
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
        self.address = ""
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
            self.finish(Ended(0, self.state, self.pid, ENDED_WITH_CLUSTER))
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
            self.finish(Ended(0, self.state, self.pid, LEFT_RUNNING))
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
            self.finish(Ended(0, self.state, self.pid, item.argument))
        if item.action != "connect":  # detach before it started: nothing to leave running
            self.finish(Ended(0, self.state, self.pid, "stopped before it started"))
        self.address = item.argument
        try:
            self.connect(self.address)
        except HandlerError as exc:
            self.finish(Ended(0, self.state, self.pid, f"its handlers did not load: {exc}"))
        except ActorDidNotStart as exc:
            self.finish(Ended(0, self.state, self.pid, str(exc)))
        except Exception as exc:
            self.finish(Ended(0, self.state, self.pid, connect_error(self.address, exc)))
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
        import logging

        _check_reachable(address)
        # An explicit address does not pick up the token file unless told to:
        # without this, a cluster that wants one is retried for 20 s. (Before
        # Ray is imported: it reads the mode then.)
        os.environ.setdefault("RAY_AUTH_MODE", "token")
        import ray

        from doer.kinds.ray_actor.actor import remote_class

        if address.startswith("ray://"):
            _watch_client_log(self)

        # Handler files travel with the job (Ray ships a job's local folders only).
        handlers, runtime_env = ship(self.config.handlers)
        if address.startswith("ray://"):  # from outside the cluster: doer itself travels too
            import doer

            runtime_env.setdefault("py_modules", []).append(os.path.dirname(doer.__file__))
        ray.init(
            address=address,
            namespace=NAMESPACE,
            log_to_driver=False,
            logging_level=logging.ERROR,
            runtime_env=runtime_env or None,
        )
        _remove_shipped()  # ray.init has uploaded it: nothing is left if this process is killed
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
            raise _handler_error(exc, _shipped_names) or ActorDidNotStart(exc) from None
        self.pid, self.state, self.node = started.pid, started.state, started.node or ""
        self.send(started)

    def answer(self) -> None:
        """The "answers" thread: each call's records to the console, in order."""
        import ray

        while True:
            call = self.calls.get()
            if type(call) is Control:  # detach: everything sent before is answered
                self.finish(Ended(0, self.state, self.pid, LEFT_RUNNING))
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

    def _wait_for_actor_exit(self, timeout: float = 1.0) -> None:
        """Once its actor was told to end, wait (a moment) for its process to exit,
        when it runs on this machine: then the worker's end means nothing of it runs."""
        import socket
        import time

        if self.pid == os.getpid() or f" on {socket.gethostname()} (" not in self.node:
            return  # it never started, or runs on another machine
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _runs(self.pid):
            time.sleep(0.005)  # a poll with a deadline: Ray ends it in ~20 ms

    def death_reason(self, error: Exception) -> str:
        if self._kill_asked:
            return "killed with ray.kill"
        return actor_death_text(error)

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
                self._wait_for_actor_exit()
            _remove_shipped()
            os._exit(0)


#: The namespace of doer's actors on a cluster: shared workers are found by name in it.
NAMESPACE = "doer"

#: A shared worker's end at ``.quit``: this console leaves, the actor stays.
LEFT_RUNNING = "left running, shared"

#: A shared worker's end at ``.quit``, on the private cluster that ends with the console.
ENDED_WITH_CLUSTER = "ended with this console's cluster"

#: How long an actor Ray cannot reach is waited for before it is reported dead.
UNREACHABLE_S = 10.0


def _runs(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cause_of(error: Exception) -> str:
    """The line that says why, in Ray's page about an error: its last ``XError: ...``
    line (Ray puts the cause last), without colours; else its first line."""
    lines = _ANSI.sub("", str(error)).splitlines()
    causes = [
        line.strip() for line in lines if re.match(r"\s*[A-Za-z_.]*(Error|Exception): ", line)
    ]
    return (causes[-1] if causes else first_line_of(error))[:200]


def first_line_of(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def actor_death_text(error: Exception) -> str:
    """One short line for Ray's page-long account of an actor's death."""
    text = str(error)
    for words, said in _DEATHS:
        if words in text:
            return said
    for marker in ("Worker exit detail: ", "The actor died because "):
        if marker in text:
            detail = text.split(marker, 1)[1].strip().splitlines()[0].split(". ", 1)[0]
            return f"its actor died: {detail.rstrip('.')}"[:60]
    return f"its actor died ({type(error).__name__})"


#: What Ray says of an actor's death, and what doer says of it.
_DEATHS = (
    ("connection error code 2", "its actor's process ended abruptly"),  # a signal, os._exit
    ("its node has died", "its actor's node died"),
    ("ray.kill", "its actor was killed with ray.kill, elsewhere"),
    ("died unexpectedly before finishing", "its actor is gone (ended elsewhere, or died)"),
)


class ActorDidNotStart(Exception):
    """The cluster was joined, but the worker's actor failed as it started: the
    text is the one line that says why (Ray's account is a page)."""

    def __init__(self, error: Exception) -> None:
        cause = cause_of(error)
        hint = ""
        if cause.startswith("ModuleNotFoundError"):
            hint = " (it must be importable where the actor runs; --handlers ships a file)"
        super().__init__(f"its actor failed: {cause}{hint}")


def _handler_error(error: Exception, shipped: Mapping[str, str]) -> HandlerError | None:
    """The HandlerError inside Ray's report of an actor that could not start, if any,
    naming each shipped file by its own path again."""
    for line in str(error).splitlines():
        if "HandlerError: " in line:
            text = line.split("HandlerError: ", 1)[1].strip()
            for package, path in shipped.items():
                text = text.replace(package, path)
            return HandlerError(text)
    return None


def _check_reachable(address: str, timeout: float = 3.0) -> None:
    """Raise ConnectionError at once when nothing listens at ``host:port`` (Ray would
    retry for minutes). ``auto`` and addresses without a port are left to Ray.

    Raises:
        ConnectionError: ``no Ray cluster answers at ADDRESS``.
    """
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout).close()
    except OSError:
        raise ConnectionError(f"no Ray cluster answers at {address}") from None


def connect_error(address: str, error: Exception) -> str:
    """One short line (it follows ``w1 did not start:``) for a cluster that cannot be
    reached or refuses. The address is the one the user named: not said again."""
    name = type(error).__name__
    text = first_line_of(error)
    if name == "AuthenticationError":
        return NO_TOKEN
    if "ray[client]" in text or "ray.util.client" in text or name == "ModuleNotFoundError":
        return "a ray:// address needs: pip install 'ray[client]'"
    if text.startswith("no Ray cluster answers at "):  # ours: said as it is
        return text
    return f"cannot join the Ray cluster at {address}: {name}: {text}"[:300]


#: The cluster wants a token (it always does, unless its owner turned that off).
NO_TOKEN = "no token here for the cluster: set RAY_AUTH_TOKEN"
#: The cluster refused the token found here.
TOKEN_REFUSED = "the cluster refused our token: set RAY_AUTH_TOKEN"


# --- handler modules, shipped ---------------------------------------------------

_shipped_dir: str | None = None
#: Each shipped file's package name, and the file's own path.
_shipped_names: dict[str, str] = {}


def ship(handlers: Mapping[str, Handler] | None) -> tuple[Any, dict[str, Any]]:
    """``handlers`` as the actor can load them, and the runtime environment that
    ships them: each handler file travels as a package of its own (Ray's
    ``py_modules``), so a cluster on other machines gets it too. Dotted modules
    travel by name: they must be importable where the actor runs.
    """
    if not isinstance(handlers, HandlerModules) or not any(map(is_file, handlers.sources)):
        return handlers, {}
    global _shipped_dir
    _shipped_dir = tempfile.mkdtemp(prefix="doer-ship-")
    sources, packages = [], []
    for source in handlers.sources:
        if not is_file(source):
            sources.append(source)
            continue
        package = _package_for(source, _shipped_dir)
        _shipped_names[package] = source
        packages.append(os.path.join(_shipped_dir, package))
        sources.append(package)
    return HandlerModules(sources, handlers.extra), {"py_modules": packages}


def _package_for(path: str, folder: str) -> str:
    """Copy the file at ``path`` into ``folder`` as a package's ``__init__.py``; its name."""
    import hashlib

    with open(path, "rb") as file:
        content = file.read()
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    package = f"doer_shipped_{stem}_{hashlib.sha1(content).hexdigest()[:8]}"
    os.makedirs(os.path.join(folder, package))
    with open(os.path.join(folder, package, "__init__.py"), "wb") as file:
        file.write(content)
    return package


def _remove_shipped() -> None:
    if _shipped_dir is not None:
        shutil.rmtree(_shipped_dir, ignore_errors=True)


# --- Ray's output ---------------------------------------------------------------


def _watch_client_log(driver: Driver) -> None:
    """For a ``ray://`` address: give up at once when Ray's client hears that the
    cluster refused our token (it says so only in a debug line, then retries
    for 30 s and blames a timeout)."""
    import logging

    class Refused(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if driver.actor is None and "authentication token" in record.getMessage():
                driver.finish(Ended(0, driver.state, driver.pid, TOKEN_REFUSED))

    client = logging.getLogger("ray.util.client.worker")
    client.setLevel(logging.DEBUG)  # its debug lines go to this handler only
    client.propagate = False
    client.addHandler(Refused())


def _watch_stderr(driver: Driver) -> None:
    """Pass stderr on to the log file, and give up at once when Ray says the
    cluster refused our token (Ray itself would retry for 20 s, then blame a
    crashed instance)."""
    log = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def copy() -> None:
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            for line in iter(pipe.readline, b""):
                os.write(log, line)
                if driver.actor is None and any(word.encode() in line for word in _REFUSED):
                    driver.finish(Ended(0, driver.state, driver.pid, TOKEN_REFUSED))

    threading.Thread(target=copy, name="stderr", daemon=True).start()
