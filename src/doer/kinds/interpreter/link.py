"""The interpreter kind, console side: make the subinterpreter, run it, talk to it.

What runs inside the subinterpreter is in :mod:`doer.kinds.interpreter.inside`;
the package's docstring draws how the two are wired.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from typing import Any

from doer.kinds import Handlers, Link
from doer.kinds.interpreter import OWN_MEMORY, interpreters_module, unavailable_reason
from doer.kinds.process.frames import FramedPipes, FrameReader, PipeEnd

#: What the worker's thread runs in the fresh interpreter; prepare_main puts the names.
_MAIN = (
    "from doer.kinds.interpreter.inside import interpreter_main\n"
    "interpreter_main(_doer_requests, _doer_responses, _doer_setup)\n"
)


class InterpreterLink(FramedPipes, Link):
    """A worker in a subinterpreter of this process, run by a thread of its own and
    reached by two ``os.pipe``.

    Same pid as the console, its own memory, its own GIL. Like a thread, it
    cannot be ended from outside: Python has no way to stop an interpreter
    that is running code. So its thread is a daemon, as a thread worker's is:
    one stuck in a handler must not keep the console from exiting. Every
    normal path still sends ``exit`` and joins it.
    """

    kind = "interpreter"
    own_memory = OWN_MEMORY
    own_process = False
    killable = False  # an interpreter running code cannot be stopped from outside
    #: What the transport is, as ``.trace`` names it.
    transport = "os.pipe"
    _requests: PipeEnd  # the request pipe's writing end

    @classmethod
    def unavailable(cls) -> str | None:
        return unavailable_reason()

    def __init__(self, name: str, state: Any, handlers: Handlers) -> None:
        self.name = name
        self.pid = os.getpid()
        self._state_at_start = state  # the console's copy: .peek shows it
        self._uncaught: str | None = None  # what ended the interpreter's code, if it raised
        thread_name = f"{name}-worker"
        module: Any = interpreters_module()
        self._interpreter = module.create()
        self.interpreter_id: int = self._interpreter.id
        try:
            given = pickle.dumps((state, handlers), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            self._interpreter.close()
            raise ValueError(
                f"an interpreter worker's state and handlers must pickle: {exc}"
            ) from None
        setup = pickle.dumps((list(sys.path), thread_name, self.interpreter_id, given))
        worker_requests, requests = os.pipe()
        responses, worker_responses = os.pipe()
        self._requests, self._responses = PipeEnd(requests), PipeEnd(responses)
        self._worker_ends = (worker_requests, worker_responses)
        self._answers = FrameReader(self._responses)
        self._interpreter.prepare_main(
            _doer_requests=worker_requests, _doer_responses=worker_responses, _doer_setup=setup
        )
        self._closing = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """The worker's thread: run the interpreter until its loop ends, then free it.

        The interpreter is closed before the worker's pipe ends: when the console
        reads the end of the responses, the interpreter is gone already.
        """
        try:
            self._interpreter.exec(_MAIN)
        except Exception as exc:  # ExecutionFailed: what ended the loop there (die, say)
            self._uncaught = _uncaught_text(exc)
        finally:
            try:
                self._interpreter.close()
            except Exception:
                pass  # it is being closed at the console's exit already
            for fd in self._worker_ends:
                os.close(fd)

    # --- how it is -----------------------------------------------------------------------

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def peek(self) -> tuple[bool, Any]:
        """What the console's memory holds of the worker's state: the value it was
        started with. The worker's objects are its interpreter's, out of the
        console's reach though they share a process."""
        return False, self._state_at_start

    def details(self) -> list[str]:
        return [f"interpreter {self.interpreter_id}, run by thread {self._thread.name}"]

    def end_reason(self) -> str:
        self._thread.join(1.0)  # its pipe closes as its thread ends
        if self._uncaught is not None:
            return self._uncaught
        if self.is_alive():
            return "its pipe closed while its interpreter still ran"
        return "its interpreter ended"

    # --- its end -------------------------------------------------------------------------

    def kill(self) -> bool:
        """An interpreter running code cannot be stopped from outside. Returns False."""
        return False

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def close(self) -> None:
        # Under a lock: the reply reader and stop() may both close the link. Closing
        # the requests ends a loop that waits for one (it reads end-of-file).
        with self._closing:
            self._requests.close()
            self._responses.close()


def _uncaught_text(error: BaseException) -> str:
    """``uncaught Died in its interpreter: raised by die``, from an ExecutionFailed."""
    info = getattr(error, "excinfo", None)
    kind = getattr(getattr(info, "type", None), "__name__", None) or type(error).__name__
    message = getattr(info, "msg", None) or str(error)
    return f"uncaught {kind} in its interpreter: {message}"
