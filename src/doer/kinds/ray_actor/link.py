"""The Ray kind, console side: the same worker as a Ray actor, on this machine or a cluster.

::

    console (this module)       driver process (driver.py)        Ray actor (actor.py)
    RayLink.send ─ pipe ──────> relay, in batches ─ actor calls ─> DoerActor: the Doer's
    RayLink.receive <─ pipe ─── answers, in order <─────────────── handlers

    LocalCluster ─ python -m doer.kinds.ray_actor.cluster (own session) ─ ray.init(address="local")

A worker's link is a :class:`~doer.kinds.process.link.ProcessLink` whose process is
the worker's Ray *driver* (forked from the console, then it imports Ray:
the console never does). The actor is where the handlers run: its pid, its node.

Without an address, the console's first Ray worker starts a private cluster
on this machine (:class:`LocalCluster`: seconds, not milliseconds), which
every later one joins and which ends at ``.quit`` or with the console. With an
address (``host:port``, ``auto``, ``ray://host:port``) the driver joins that
cluster instead. Either way Ray's own output goes to one log file
(:func:`log_path`), never to the terminal.

Ray is imported by the driver and the cluster's program only; the console
asks only whether it is installed.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from doer.base.protocol import Control, Note, Request, Started
from doer.kinds import Handlers
from doer.kinds.process.child import CONSOLE_FDS
from doer.kinds.process.frames import encode, send_frame
from doer.kinds.process.link import PipeLink
from doer.kinds.ray_actor import OWN_MEMORY
from doer.kinds.ray_actor.driver import DriverConfig, driver_main

#: The cluster Ray workers join when none is named (a test session's, say); unset
#: or empty: a private one.
ADDRESS_VARIABLE = "DOER_RAY_ADDRESS"

#: What ``--kind ray`` says when Ray is not installed.
NOT_INSTALLED = "the ray kind needs Ray, which is not installed here: pip install 'doer[ray]'"


def installed() -> bool:
    """Whether Ray can be imported (asked without importing it: Ray is slow to import)."""
    return importlib.util.find_spec("ray") is not None


def log_path() -> str:
    """The file Ray's output goes to: ``$DOER_RAY_LOG`` (kept), or one per console in
    the temporary folder, removed when the console ends."""
    named = os.environ.get("DOER_RAY_LOG")
    if named:
        return named
    path = os.path.join(tempfile.gettempdir(), f"doer-ray-{os.getpid()}.log")
    if path not in _logs_to_remove:
        _logs_to_remove.add(path)
        atexit.register(_remove, path)  # after stop_local_cluster: atexit runs in reverse
    return path


_logs_to_remove: set[str] = set()


def _remove(path: str) -> None:
    if path not in _logs_to_remove:
        return  # kept: an error pointed at it
    try:
        os.unlink(path)
    except OSError:
        pass  # never written, or gone


class RayLink(PipeLink):
    """A worker running as a Ray actor, reached through its driver process.

    Args:
        address: the cluster to join; None: ``$DOER_RAY_ADDRESS`` if set, else this
            console's private local cluster.
        shared: a named, detached actor in the ``doer`` namespace, created or
            found by its name, so that several consoles talk to one worker.
            ``.quit`` leaves it running; ``.stop`` ends it.
    """

    kind = "ray"
    own_memory = OWN_MEMORY
    own_process = True
    killable = True  # ray.kill: its death comes as a record
    options = ("address", "shared")
    slow_start_s = 60.0  # it may boot a cluster first: seconds, more on a busy machine
    transport = "Ray actor calls"

    def __init__(
        self,
        name: str,
        state: Any,
        handlers: Handlers,
        address: str | None = None,
        shared: bool = False,
    ) -> None:
        address = address or os.environ.get(ADDRESS_VARIABLE) or None
        self.address = address
        self.shared = shared
        self.log = log_path()
        self.node: str | None = None  # where its actor runs, once started
        self._sending = threading.Lock()  # the console and the cluster's thread both write
        self._notes: list[Note] = []  # said before the first record from the driver
        config = DriverConfig(name, state, handlers, shared, self.log)
        # Forked: spawning would run the caller's main module again in the driver
        # (a library user's script without a __main__ guard would start over).
        # The console never imports Ray, so the fork copies none of its threads.
        fork = multiprocessing.get_context("fork")
        self._start(name, state, fork, driver_main, (config,), f"{name}-ray")
        if address is None:
            cluster = local_cluster()
            if not cluster.ready():
                self._notes.append(Note("starting a private Ray cluster: a few seconds"))
            cluster.when_ready(self._connect)
        else:
            self._connect(address, None)

    @classmethod
    def unavailable(cls) -> str | None:
        return None if installed() else NOT_INSTALLED

    def _connect(self, address: str | None, error: str | None) -> None:
        """Tell the driver which cluster to join, or that there is none to join."""
        if error is not None:
            self._control(Control("fail", error))
        else:
            self._control(Control("connect", address))

    def _control(self, control: Control) -> None:
        try:
            with self._sending:
                send_frame(self._requests, encode(control))
        except (OSError, ValueError, TypeError):  # TypeError: closed meanwhile
            pass  # the driver has gone: its end is read from the response pipe

    def send(self, request: Request) -> int:
        with self._sending:
            return super().send(request)

    def send_many(self, requests: list[Request]) -> list[int | None]:
        with self._sending:
            return super().send_many(requests)

    def receive(self, timeout: float | None = None) -> Any:
        if self._notes:
            return self._notes.pop(0)
        record = super().receive(timeout)
        if type(record) is Started:  # from now on, the worker's pid is its actor's
            self.pid, self.node = record.pid, record.node
        return record

    def kill(self) -> bool:
        """``ray.kill`` its actor (done by the driver; its death comes as a record)."""
        if self.is_alive():
            self._control(Control("kill"))
        return True

    @property
    def outlives_console(self) -> bool:
        """A shared actor on a cluster the console did not start: ``.quit`` leaves it
        running. (On the private cluster it could not outlive the console.)"""
        return self.shared and self.address is not None

    def detach(self) -> None:
        """This console leaves its shared actor: it stays, for the other consoles; on
        the console's private cluster (which ends with it), it ends at once, even
        while it works for another console."""
        self._control(Control("detach" if self.outlives_console else "end"))

    def release(self) -> None:
        """The end has been read: the driver exits right after sending it. Wait for
        that (briefly), so that it is not left a zombie until the console's next
        start or its exit."""
        self._process.join(2.0)
        self.close()

    def details(self) -> list[str]:
        """``.status``'s lines: where the actor runs, which cluster, where Ray's output goes."""
        if self.address is None:
            cluster = running_cluster()
            address = cluster.address if cluster is not None else None
            on = f"the private Ray cluster at {address}" if address else "the private Ray cluster"
        else:
            on = f"the Ray cluster at {self.address}"
        actor = f"shared actor {self.name!r}" if self.shared else "an actor"
        lines = [f"{actor} on {on}" if self.node else f"no actor: it did not start ({on})"]
        if self.node:
            lines.append(self.node)
        return [*lines, f"Ray's output: {self.log}"]

    def end_reason(self) -> str:
        return f"its Ray driver process ended: {super().end_reason()}"


# --- the private local cluster ----------------------------------------------------

Ready = Callable[[str | None, str | None], None]


class LocalCluster:
    """This console's private Ray cluster: ``python -m doer.kinds.ray_actor.cluster``.

    Started without waiting: :meth:`when_ready` calls back with its address
    (or an error) once it is up, from the thread that reads its report.
    """

    def __init__(self, log: str) -> None:
        self.log = log
        self.address: str | None = None
        self.error: str | None = None
        self.session_dir: str | None = None  # Ray's folder for it, under /tmp/ray
        self._lock = threading.Lock()
        self._waiting: list[Ready] = []
        self._done = threading.Event()
        # The default log goes when the cluster does (even after the console was killed).
        remove = [] if os.environ.get("DOER_RAY_LOG") else ["--remove", log]
        with open(log, "ab") as output:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "doer.kinds.ray_actor.cluster", *remove],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=output,
                start_new_session=True,  # out of the terminal's reach: Ctrl-C is the console's
            )
        assert self._process.stdin is not None
        # A process worker forked later must not hold this pipe open: the cluster
        # ends when the console's end closes.
        self._stdin_fd = self._process.stdin.fileno()
        CONSOLE_FDS.add(self._stdin_fd)
        threading.Thread(target=self._read_report, name="doer-ray-cluster", daemon=True).start()

    def ready(self) -> bool:
        return self._done.is_set()

    def when_ready(self, callback: Ready) -> None:
        """Call ``callback(address, error)`` once the cluster is up or has failed."""
        with self._lock:
            if not self._done.is_set():
                self._waiting.append(callback)
                return
        callback(self.address, self.error)

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _read_report(self) -> None:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        try:
            report = json.loads(line) if line else {}
        except ValueError:
            report = {}
        self.address = report.get("address")
        self.session_dir = report.get("session_dir")
        if self.address is None:
            why = f": {report['error']}" if report.get("error") else ""
            self.error = f"the private Ray cluster did not start{why} (see {self.log})"
            _logs_to_remove.discard(self.log)  # the error points at it: it stays
        with self._lock:
            self._done.set()
            waiting, self._waiting = self._waiting, []
        for callback in waiting:
            callback(self.address, self.error)

    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Shut the cluster down (its program does, once its stdin closes), and wait.

        Whatever is left of it then (its program did not finish, or had died:
        Ray's agents outlive it) is killed, and its folder removed.
        """
        import signal

        CONSOLE_FDS.discard(self._stdin_fd)
        assert self._process.stdin is not None
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self._process.pid, signal.SIGKILL)  # Ray's processes are in its group
        except OSError:
            pass  # none left: the usual case
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        from doer.kinds.ray_actor.cluster import remove_session

        # Its own, or (it died before it said) the one Ray named after its pid.
        own = [self.session_dir] if self.session_dir else []
        for session in own or _sessions_started_by(self._process.pid):
            remove_session(session)


def _sessions_started_by(pid: int) -> list[str]:
    """The Ray session folders a process started: Ray ends their names with its pid."""
    import glob

    return glob.glob(os.path.join(tempfile.gettempdir(), "ray", f"session_*_{pid}"))


_cluster: LocalCluster | None = None
_cluster_lock = threading.Lock()
_stop_registered: list[bool] = []  # atexit knows stop_local_cluster


def local_cluster() -> LocalCluster:
    """This console's private cluster, started on first use."""
    global _cluster
    with _cluster_lock:
        if _cluster is not None and not _cluster.alive():
            _cluster.stop()  # it died: clean up after it before starting another
            _cluster = None
        if _cluster is None:
            if not _stop_registered:
                atexit.register(stop_local_cluster)
                _stop_registered.append(True)
            _cluster = LocalCluster(log_path())
        return _cluster


def running_cluster() -> LocalCluster | None:
    """The private cluster, if one has been started (it may have died since)."""
    return _cluster


def stop_local_cluster() -> bool:
    """Shut down this console's private cluster, if it runs; True if it did."""
    global _cluster
    with _cluster_lock:
        cluster, _cluster = _cluster, None
    if cluster is None:
        return False
    cluster.stop()  # a dead one too: what it left is cleaned up
    return True
