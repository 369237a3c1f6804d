"""How a worker is started and reached: as a thread or as a process.

The recipe switched between ``Process`` and ``Thread`` by changing two imports.
Here each kind is a small :class:`Link` that chooses its two parts, what runs
the loop and what carries the messages, and starts the same
:class:`~doer.worker.Doer`::

    kind      runs the Doer in              request / response queues
    thread    threading.Thread              queue.Queue / queue.Queue
    process   multiprocessing Process       Pipe / Pipe (one-way each)
              (fork, spawn or forkserver)

Process workers use two one-way ``multiprocessing.Pipe`` connections rather than
the recipe's ``multiprocessing.Queue``: a Queue adds a feeder thread and a lock
per message (slower, and a classic source of hangs at exit), while a pipe's
end-of-file tells the console at once that its worker has died.

Every link offers the console the same small surface: ``send(request)``,
``receive()`` (raises ``EOFError`` once the worker is gone), ``pid``,
``is_alive()``, ``join(timeout)``, ``kill()``, ``end_reason()`` and ``close()``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any, Protocol

from doer.protocol import Request, UnreadableRequest, decode, encode
from doer.worker import Doer, Handler

KINDS = ("thread", "process")
START_METHODS = ("fork", "spawn", "forkserver")

#: Exit status of a process worker that found its console gone.
EXIT_CONSOLE_GONE = 3

_numbers = itertools.count(1)


class Link(Protocol):
    """The console's end of one worker, whatever its kind."""

    kind: str
    name: str
    pid: int
    start_method: str | None

    def send(self, request: Request) -> None: ...
    def receive(self, timeout: float | None = None) -> Any: ...
    def is_alive(self) -> bool: ...
    def join(self, timeout: float | None = None) -> None: ...
    def kill(self) -> bool: ...
    def end_reason(self) -> str: ...
    def close(self) -> None: ...


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
) -> Link:
    """Start a worker of ``kind`` and return the console's end of it.

    Raises:
        ValueError: an unknown kind or start method.
    """
    name = name or next_name()
    if kind == "thread":
        if start_method is not None:
            raise ValueError("a thread worker has no start method")
        return ThreadLink(name, state, handlers)
    if kind == "process":
        return ProcessLink(name, state, handlers, start_method)
    raise ValueError(f"unknown kind {kind!r} (choose from {', '.join(KINDS)})")


# --- thread --------------------------------------------------------------------

_GONE = object()  # put on a thread worker's response queue when its loop has returned


class ThreadLink:
    """A worker running in a thread of this process, reached by two ``queue.Queue``.

    The thread is a daemon on purpose: a thread cannot be killed, so a worker
    stuck in a handler must not keep the interpreter from exiting. Every normal
    path (``stop()``, ``.quit``) still sends ``exit`` and joins it.
    """

    kind = "thread"
    start_method: str | None = None

    def __init__(self, name: str, state: Any, handlers: Mapping[str, Handler] | None) -> None:
        self.name = name
        self.pid = os.getpid()
        self._requests: queue.Queue[Request] = queue.Queue()
        self._responses: queue.Queue[Any] = queue.Queue()
        doer = Doer(self._requests.get, self._responses.put, state, handlers=handlers)
        self._thread = threading.Thread(
            target=self._run, args=(doer,), name=f"{name}-worker", daemon=True
        )
        self._thread.start()

    def _run(self, doer: Doer) -> None:
        try:
            doer.run()
        finally:
            self._responses.put(_GONE)

    def send(self, request: Request) -> None:
        self._requests.put(request)

    def receive(self, timeout: float | None = None) -> Any:
        try:
            record = self._responses.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if record is _GONE:
            self._responses.put(_GONE)  # every later receive() sees the end too
            raise EOFError
        return record

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def kill(self) -> bool:
        """A thread cannot be killed from outside: that is the lesson. Returns False."""
        return False

    def end_reason(self) -> str:
        return "the worker thread stopped" if not self.is_alive() else "the worker thread hangs"

    def close(self) -> None:
        pass


# --- process -------------------------------------------------------------------


class ProcessLink:
    """A worker running in a child process, reached by two one-way pipes.

    The process is a daemon on purpose: if the console exits without stopping
    it, multiprocessing terminates it at interpreter exit. For the exits that
    skip that (SIGKILL, a crash) the worker watches its parent itself; see
    :func:`process_main`.
    """

    kind = "process"

    def __init__(
        self,
        name: str,
        state: Any,
        handlers: Mapping[str, Handler] | None,
        start_method: str | None,
    ) -> None:
        if start_method is not None and start_method not in START_METHODS:
            raise ValueError(
                f"unknown start method {start_method!r} (choose from {', '.join(START_METHODS)})"
            )
        context: Any = multiprocessing.get_context(start_method)  # typeshed lacks .Process
        self.name = name
        self.start_method: str | None = context.get_start_method()
        worker_requests, self._requests = context.Pipe(duplex=False)
        self._responses, worker_responses = context.Pipe(duplex=False)
        self._process = context.Process(
            target=process_main,
            args=(worker_requests, worker_responses, state, self.start_method, handlers),
            name=f"{name}-worker",
            daemon=True,
        )
        # A forked child inherits every descriptor; it closes the console's ends
        # (its own and other workers') so that only the console holds them.
        self._console_fds = (self._requests.fileno(), self._responses.fileno())
        _CONSOLE_FDS.update(self._console_fds)
        _start_with_sigint_blocked(self._process)
        # Close our copies of the worker's ends: then the worker's death shows
        # up at once as end-of-file on the response pipe, not as a long wait.
        worker_requests.close()
        worker_responses.close()
        assert self._process.pid is not None
        self.pid: int = self._process.pid
        # Set once close() has released the process object; after that the
        # Process methods raise, so a second stop() or a late kill() must not call them.
        self._closed = False

    def send(self, request: Request) -> None:
        self._requests.send_bytes(encode(request))

    def receive(self, timeout: float | None = None) -> Any:
        if timeout is not None and not self._responses.poll(timeout):
            raise TimeoutError
        return decode(self._responses.recv_bytes())

    def is_alive(self) -> bool:
        return not self._closed and self._process.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if not self._closed:
            self._process.join(timeout)

    def kill(self) -> bool:
        if self.is_alive():
            self._process.kill()
        return True

    def end_reason(self) -> str:
        self._process.join(1.0)  # the pipe closes a moment before the exit code is known
        if self._process.exitcode is None:
            # Its end of the pipe closed but the process lives on (a handler closed
            # it): it can never answer again. Kill it rather than leave it running.
            self._process.kill()
            self._process.join(1.0)
            return "its response pipe closed while it still ran; killed with SIGKILL"
        return describe_exitcode(self._process.exitcode)

    def close(self) -> None:
        if not self._requests.closed:  # once only: the numbers may be reused after
            _CONSOLE_FDS.difference_update(self._console_fds)
        self._requests.close()
        self._responses.close()
        if not self._closed and self._process.exitcode is not None:
            self._process.close()
            self._closed = True


#: The console's ends of every process worker's pipes. A forked worker closes
#: them: holding the write end of its own request pipe, it would never see
#: end-of-file when the console dies, and holding another worker's, it would
#: keep that worker alive.
_CONSOLE_FDS: set[int] = set()


def describe_exitcode(exitcode: int | None) -> str:
    """``exit code 3``, ``killed by SIGKILL``, or ``still running``."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    if exitcode == EXIT_CONSOLE_GONE:
        return f"exit code {exitcode} (its console went away)"
    return f"exit code {exitcode}"


def _start_with_sigint_blocked(process: multiprocessing.process.BaseProcess) -> None:
    """Start ``process`` so that a Ctrl-C can never reach it before it ignores SIGINT.

    A terminal sends SIGINT to the whole foreground process group. A spawned
    child runs a fresh interpreter whose default handler would raise
    KeyboardInterrupt; the blocked mask is inherited across fork and exec, so
    the child stays deaf to SIGINT until :func:`process_main` ignores it.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def process_main(
    requests: Connection,
    responses: Connection,
    state: Any,
    start_method: str,
    handlers: Mapping[str, Handler] | None,
) -> None:
    """The body of a process worker: guard against the terminal, then run the Doer."""
    _restore_default_signal_handlers()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        signal.set_wakeup_fd(-1)  # a forked child must not wake the console's event loop
    except ValueError:
        pass
    _detach_from_terminal()
    _close_console_fds()
    _exit_when_parent_dies()

    def receive() -> Request:
        data = requests.recv_bytes()
        try:
            request: Request = decode(data)
        except Exception as exc:
            raise UnreadableRequest(
                f"the request could not be read here: {type(exc).__name__}: {exc}"
            ) from None
        return request

    def send(record: Any) -> None:
        responses.send_bytes(encode(record))

    Doer(
        receive,
        send,
        state,
        kind="process",
        start_method=start_method,
        handlers=handlers,
    ).run()


def _restore_default_signal_handlers() -> None:
    """Undo the console's Python signal handlers, which a forked worker inherits.

    The console turns SIGTERM and SIGHUP into a clean exit of its own; a forked
    worker running that handler reported ``kill -TERM`` as "a handler called
    sys.exit(143)" where a spawned one is "killed by SIGTERM". Every start
    method must report a signal the same way. (Dispositions set to ignore, as
    Python does for SIGPIPE, are inherited by every start method alike.)
    """
    for sig in signal.valid_signals():
        try:
            if callable(signal.getsignal(sig)):
                signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL, SIGSTOP and the like cannot be changed


def _detach_from_terminal() -> None:
    """Point stdin, stdout and stderr at /dev/null.

    The worker never prints (its answers go on the response pipe), and a worker
    holding the terminal open would keep the terminal alive after the console
    is gone.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _close_console_fds() -> None:
    """In a forked worker, close the console's pipe ends inherited by the fork."""
    for fd in _CONSOLE_FDS:
        try:
            os.close(fd)
        except OSError:
            pass  # already closed
    _CONSOLE_FDS.clear()


def _exit_when_parent_dies() -> None:
    """Start a thread that ends this process as soon as its console is gone.

    ``daemon=True`` alone cleans up only after a normal interpreter exit: a
    console killed with SIGKILL would leave its worker running forever. The
    parent's sentinel becomes ready when the parent exits in any way. The
    thread is a daemon so that it never delays a normal end of the worker.
    """
    parent = multiprocessing.parent_process()
    sentinel = None if parent is None else parent.sentinel
    parent_pid = os.getppid()

    def watch() -> None:
        try:
            if sentinel is not None:
                multiprocessing.connection.wait([sentinel])
                os._exit(EXIT_CONSOLE_GONE)
        except Exception:
            pass  # no usable sentinel: fall back to asking who the parent is
        while os.getppid() == parent_pid:
            time.sleep(0.1)
        os._exit(EXIT_CONSOLE_GONE)

    threading.Thread(target=watch, name="doer-parent-watch", daemon=True).start()
