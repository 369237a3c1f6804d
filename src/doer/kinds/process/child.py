"""The process kind, worker side: what runs inside the worker process.

Nothing here runs in the console. :func:`process_main` is the target of the
worker's ``multiprocessing.Process``: it guards the worker against the
terminal and against the console's own signal handlers, points its stdio at
/dev/null, closes what a fork copied of the console's pipe ends, watches for
the console's death, and runs the :class:`~doer.worker.doer.Doer` over the pipes.
Keep its imports light: every spawned worker pays for them.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from doer.kinds import Handlers
from doer.kinds.process.frames import record_sender, request_reader
from doer.worker.doer import run_where_it_loads

#: A process's memory is its own (a copy, or a fresh interpreter's): the lessons
#: say so (see Doer's ``own_memory``).
OWN_MEMORY = True

#: Exit status of a process worker that found its console gone.
EXIT_CONSOLE_GONE = 4  # not 3: that is what a worker told to die exits with

#: The console's ends of every process worker's pipes. A forked worker closes
#: them: holding the write end of its own request pipe, it would never see
#: end-of-file when the console dies, and holding another worker's, it would
#: keep that worker alive.
CONSOLE_FDS: set[int] = set()


def process_main(
    requests: Connection,
    responses: Connection,
    state: Any,
    start_method: str,
    handlers: Handlers,
) -> None:
    """The body of a process worker: guard against the terminal, then run the Doer."""
    # A fork copies the thread that made it, name and all: a restart is forked by
    # the reply reader ("p1-replies"). Here it is this process's main thread.
    threading.current_thread().name = "MainThread"
    guard_worker_process()

    run_where_it_loads(
        request_reader(requests),
        record_sender(responses),
        state,
        kind="process",
        start_method=start_method,
        handlers=handlers,
        own_memory=OWN_MEMORY,
    )


def guard_worker_process(output: str | None = None) -> None:
    """What every process the console starts does first (a Ray worker's driver too).

    It ignores the terminal's Ctrl-C, undoes what a fork copied of the console
    (signal handlers, the event loop's wake-up, pipe ends), points its stdio
    at /dev/null or, given ``output``, stdout and stderr at that file, and
    ends itself when the console is gone.
    """
    _restore_default_signal_handlers()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        signal.set_wakeup_fd(-1)  # a forked child must not wake the console's event loop
    except ValueError:
        pass
    _detach_from_terminal(output)
    _close_console_fds()
    _exit_when_parent_dies()


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


def _detach_from_terminal(output: str | None = None) -> None:
    """Point stdin, stdout and stderr at /dev/null (or the last two at ``output``,
    appended to), and keep faulthandler quiet.

    The worker never prints (its answers go on the response pipe), and a worker
    holding the terminal open would keep the terminal alive after the console
    is gone. A forked worker also inherits faulthandler if the console runs with
    it (``-X faulthandler``, pytest), writing to a copy of the console's stderr:
    a worker's crash would print a traceback over the prompt. Its death is
    reported by the console (``died: killed by SIGSEGV``) instead.
    """
    if faulthandler.is_enabled():
        faulthandler.disable()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    if output is not None:
        os.close(devnull)
        devnull = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _close_console_fds() -> None:
    """In a forked worker, close the console's pipe ends inherited by the fork."""
    for fd in CONSOLE_FDS:
        try:
            os.close(fd)
        except OSError:
            pass  # already closed
    CONSOLE_FDS.clear()


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
