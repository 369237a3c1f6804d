"""The process kind, console side: start the worker process and talk to it.

This module runs in the console. What runs inside the worker process is in
:mod:`doer.kinds.process.child`::

    console (this module)                          worker process (child.py)
    ProcessLink.send ── request pipe (one-way) ──> process_main: Doer loop
    ProcessLink.receive <── response pipe (one-way) ─┘

Two one-way ``multiprocessing.Pipe`` connections rather than a
``multiprocessing.Queue``: a Queue adds a feeder thread and a lock per message
(slower, and a classic source of hangs at exit), while a pipe's end-of-file
tells the console at once that its worker has died.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from doer.kinds import START_METHODS, Handlers, Link
from doer.kinds.process.child import CONSOLE_FDS, EXIT_CONSOLE_GONE, OWN_MEMORY, process_main
from doer.kinds.process.frames import FramedPipes, FrameReader

#: Held from a worker's pipes made to its copies of the worker's ends closed. A
#: fork copies every descriptor open at that moment: one made by another thread
#: meanwhile (two workers restarted at once, by their reply readers) would hand
#: the first worker's ends to the second, which would keep them open, and the
#: first's death would never show as the end of its pipe.
_WIRING = threading.Lock()


class PipeLink(FramedPipes, Link):
    """A worker in a process the console started, reached by two one-way pipes:
    what the process kind and the Ray kind (whose process is the worker's Ray
    driver) share. Its memory is its own: ``.peek`` shows the console's copy.

    The process is a daemon on purpose: if the console exits without stopping
    it, multiprocessing terminates it at interpreter exit. For the exits that
    skip that (SIGKILL, a crash) the worker watches its parent itself; see
    :func:`~doer.kinds.process.child.guard_worker_process`.
    """

    #: What the transport is, as ``.trace`` names it.
    transport = "Pipe"
    _requests: Connection  # the request pipe's writing end; _start makes it

    def _start(
        self, name: str, state: Any, context: Any, target: Any, args: tuple[Any, ...], process: str
    ) -> None:
        """Start ``target(requests, responses, *args)`` in a process named ``process``,
        its pipes wired."""
        if context.get_start_method() == "fork" and subinterpreters_running():
            raise ValueError(FORK_REFUSED)
        self.name = name
        self._state_at_start = state  # the console's copy: .peek shows it
        with _WIRING:
            self._wire(context, target, args, process)
        assert self._process.pid is not None
        self.pid: int = self._process.pid
        # Set once close() has released the process object; after that the
        # Process methods raise, so a second stop() or a late kill() must not call them.
        self._closed = False
        self._closing = threading.Lock()

    def _wire(self, context: Any, target: Any, args: tuple[Any, ...], process: str) -> None:
        """Make the pipes, start the process with the worker's ends, close ours of them."""
        worker_requests, self._requests = context.Pipe(duplex=False)
        self._responses, worker_responses = context.Pipe(duplex=False)
        self._answers = FrameReader(self._responses)  # answers that came together, read so
        self._process = context.Process(
            target=target,
            args=(worker_requests, worker_responses, *args),
            name=process,
            daemon=True,
        )
        # A forked child inherits every descriptor; it closes the console's ends
        # (its own and other workers') so that only the console holds them.
        self._console_fds = (self._requests.fileno(), self._responses.fileno())
        CONSOLE_FDS.update(self._console_fds)
        start_helpers(context.get_start_method())
        _start_with_sigint_blocked(self._process)
        # Close our copies of the worker's ends: then the worker's death shows
        # up at once as end-of-file on the response pipe, not as a long wait.
        worker_requests.close()
        worker_responses.close()

    def is_alive(self) -> bool:
        return not self._closed and self._process.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if not self._closed:
            self._process.join(timeout)

    def peek(self) -> tuple[bool, Any]:
        """What the console's memory holds of the worker's state: the value it was
        started with. The worker's own memory is another process's."""
        return False, self._state_at_start

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
        return exit_reason(self._process.exitcode)

    def release(self) -> None:
        """The end has been read: close the pipes now, not only in ``stop()``.

        A worker that died and was never stopped would otherwise keep its
        pipes open until they are garbage-collected, and a descriptor closed
        that way stays in :data:`CONSOLE_FDS`: the next forked worker, whose
        pipe may get the same number, would close its own pipe.
        """
        self.close()

    def close(self) -> None:
        # Under a lock: the reply reader closes the link once it has seen the end,
        # and stop() may close it too; two os.close() of one descriptor race.
        with self._closing:
            if not self._requests.closed:  # once only: the numbers may be reused after
                CONSOLE_FDS.difference_update(self._console_fds)
            self._requests.close()
            self._responses.close()
            if not self._closed and self._process.exitcode is not None:
                self._process.close()
                self._closed = True


class ProcessLink(PipeLink):
    """A worker running in a child process of its own, started by fork, spawn or
    forkserver: the process kind."""

    kind = "process"
    own_memory = OWN_MEMORY
    own_process = True
    killable = True  # SIGKILL: it dies at once
    start_methods = START_METHODS
    options = ("start_method",)

    def __init__(
        self,
        name: str,
        state: Any,
        handlers: Handlers,
        start_method: str | None = None,
    ) -> None:
        context: Any = multiprocessing.get_context(start_method)  # typeshed lacks .Process
        self.start_method: str | None = context.get_start_method()
        args = (state, self.start_method, handlers)
        self._start(name, state, context, process_main, args, f"{name}-worker")

    @classmethod
    def prepare(cls, start_method: str | None = None) -> bool:
        """Start the helpers a first spawn or forkserver worker needs
        (:func:`start_helpers`); True for those, which boot a fresh interpreter."""
        method = start_method or multiprocessing.get_start_method()
        start_helpers(method)
        return method != "fork"


#: Why a fork is refused while subinterpreters run (an interpreter worker, say).
FORK_REFUSED = "a fork cannot copy a process with subinterpreters: use spawn or forkserver"


def subinterpreters_running() -> bool:
    """Whether this process has interpreters besides its main one (Python 3.13+).

    CPython cannot fork such a process: the child aborts at once (``Fatal Python
    error: PyThreadState_Get``, seen on 3.13.0 and 3.13.5). The module that
    keeps them is loaded only once one is made, so none loaded: none running.
    """
    module = sys.modules.get("_interpreters")
    return module is not None and len(module.list_all()) > 1


def exit_reason(exitcode: int | None) -> str:
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


def start_helpers(start_method: str) -> None:
    """Start the processes multiprocessing starts with a first spawn or forkserver worker.

    The console calls this early, so that they boot while it imports the rest.
    :class:`ProcessLink` calls it before every start, for another reason: the
    resource tracker, when multiprocessing launches it, *unblocks* SIGINT in
    the calling thread once it has started the tracker (it blocks SIGINT and
    SIGTERM while it spawns it, then unblocks them, whatever the mask was before),
    which would undo :func:`_start_with_sigint_blocked` for the first worker. Started here,
    outside that block, it is already running when the worker starts.
    """
    if start_method not in ("spawn", "forkserver"):
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    if start_method == "forkserver":
        from multiprocessing import forkserver

        # Its children are forked from it and inherit its blocked mask: started
        # with SIGINT blocked, it passes the protection on to every worker.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            # The fork server imports the worker's module once (with "__main__",
            # multiprocessing's own preload), and every worker forked from it has
            # it already: what forkserver is for. It is read as the server starts.
            forkserver.set_forkserver_preload(["__main__", "doer.kinds.process.child"])
            forkserver.ensure_running()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _start_with_sigint_blocked(process: multiprocessing.process.BaseProcess) -> None:
    """Start ``process`` so that a Ctrl-C can never reach it before it ignores SIGINT.

    A terminal sends SIGINT to the whole foreground process group. A spawned
    child runs a fresh interpreter whose default handler would raise
    KeyboardInterrupt; the blocked mask is inherited across fork and exec, so
    the child stays deaf to SIGINT until :func:`process_main` ignores it. (The
    helpers must be running before: see :func:`start_helpers`.)
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
