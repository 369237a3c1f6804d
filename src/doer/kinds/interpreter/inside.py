"""The interpreter kind, inside: what runs in the subinterpreter.

Nothing here runs in the console's own interpreter: :func:`interpreter_main`
is called by the code :class:`~doer.kinds.interpreter.link.InterpreterLink`
executes in a fresh subinterpreter, on the thread that runs it. It loads the
worker's state and handlers (so handler modules are imported here, into
this interpreter's own modules), and runs the Doer over the two pipes.

The descriptors are the link's: it closes them once the interpreter has
ended, so nothing here closes them.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading

from doer.base.protocol import Ended
from doer.kinds.interpreter import OWN_MEMORY
from doer.kinds.process.frames import PipeEnd, record_sender, request_reader
from doer.worker.doer import run_where_it_loads


def interpreter_main(requests_fd: int, responses_fd: int, setup: bytes) -> None:
    """The body of a subinterpreter worker: unpack what it starts with, run the Doer.

    ``setup`` is ``(sys.path, thread name, interpreter id, given)``, pickled by the
    console, ``given`` being ``(state, handlers)`` pickled apart: they may need
    the console's path to be read.
    """
    requests, responses = PipeEnd(requests_fd), PipeEnd(responses_fd)
    send = record_sender(responses)

    # Seen from this interpreter, the thread is a stranger ("Dummy-1"): name it as the
    # console did. And import from where the console does, before a handler is unpickled.
    path, thread_name, interpreter, given = pickle.loads(setup)
    threading.current_thread().name = thread_name
    sys.path[:] = path
    try:
        state, handlers = pickle.loads(given)
    except Exception as exc:  # a handler of the console's __main__, say: not importable here
        send(Ended(0, None, os.getpid(), f"its handlers did not load: {exc}"))
        return
    run_where_it_loads(
        request_reader(requests),
        send,
        state,
        kind="interpreter",
        handlers=handlers,
        own_memory=OWN_MEMORY,
        interpreter=interpreter,
    )
