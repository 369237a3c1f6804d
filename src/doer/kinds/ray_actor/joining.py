"""A Ray worker's driver joins its cluster: with the worker's handler files shipped,
and an eye on Ray's output for a token the cluster refuses.

Ray allows one ``ray.init`` per process: each worker's driver process joins
the cluster its worker names. Handler files travel with the job, each as a
package of its own (Ray ships a job's local folders only); from outside the
cluster (a ``ray://`` address) doer itself travels too.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from doer.base.errors import HandlerError
from doer.kinds import Handlers
from doer.worker.handler_modules import HandlerModules, is_file

#: The namespace of doer's actors on a cluster: shared workers are found by name in it.
NAMESPACE = "doer"

#: Ray's own words, on stderr, when a cluster refuses the token it was given: it
#: says so every second for 20 s, then blames a crashed instance.
_REFUSED = ("InvalidAuthToken", "Unauthenticated")


def join(address: str, handlers: Handlers, refused: Callable[[], None]) -> Handlers:
    """Join the cluster at ``address`` (``ray.init``: once per process), with the
    handler files shipped; return ``handlers`` as the actor is to load them.

    ``refused`` is called, from another thread, if Ray's client says the
    cluster refused our token (a ``ray://`` address).

    Raises:
        ConnectionError: nothing listens at ``host:port``.
        Exception: Ray's, when the cluster cannot be reached or refuses.
    """
    import logging

    _check_reachable(address)
    # An explicit address does not pick up the token file unless told to:
    # without this, a cluster that wants one is retried for 20 s. (Before
    # Ray is imported: it reads the mode then.)
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    import ray

    if address.startswith("ray://"):
        _watch_client_log(refused)

    # Handler files travel with the job (Ray ships a job's local folders only).
    shipped, runtime_env = ship(handlers)
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
    remove_shipped()  # ray.init has uploaded it: nothing is left if this process is killed
    return shipped


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


def shipped_error(error: Exception) -> HandlerError | None:
    """The HandlerError inside Ray's report of an actor that could not start, if any,
    naming each shipped file by its own path again."""
    for line in str(error).splitlines():
        if "HandlerError: " in line:
            text = line.split("HandlerError: ", 1)[1].strip()
            for package, path in _shipped_names.items():
                text = text.replace(package, path)
            return HandlerError(text)
    return None


# --- handler modules, shipped ---------------------------------------------------

_shipped_dir: str | None = None
#: Each shipped file's package name, and the file's own path.
_shipped_names: dict[str, str] = {}


def ship(
    handlers: Handlers,
) -> tuple[Handlers, dict[str, Any]]:
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


def remove_shipped() -> None:
    """Remove the shipped copies (once uploaded, or when the driver ends)."""
    if _shipped_dir is not None:
        shutil.rmtree(_shipped_dir, ignore_errors=True)


# --- Ray's output ---------------------------------------------------------------


def _watch_client_log(refused: Callable[[], None]) -> None:
    """For a ``ray://`` address: call ``refused()`` as soon as Ray's client hears that
    the cluster refused our token (it says so only in a debug line, then retries
    for 30 s and blames a timeout)."""
    import logging

    class Refused(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "authentication token" in record.getMessage():
                refused()

    client = logging.getLogger("ray.util.client.worker")
    client.setLevel(logging.DEBUG)  # its debug lines go to this handler only
    client.propagate = False
    client.addHandler(Refused())


def watch_stderr(refused: Callable[[], None]) -> None:
    """Pass stderr on to the log file, and call ``refused()`` as soon as Ray says the
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
                if any(word.encode() in line for word in _REFUSED):
                    refused()

    threading.Thread(target=copy, name="stderr", daemon=True).start()
