"""How the console starts workers and behaves: the command line fills the settings in,
and ``.timeout``, ``.wait``, ``.trace``, ``.prompt`` and ``.handlers`` change them."""

from __future__ import annotations

from typing import Any

from doer.client.supervision import RestartPolicy
from doer.console.syntax import prompt_argument
from doer.worker.doer import Handler


class Settings:
    """How to start workers, and how the console behaves; the command line fills it in."""

    def __init__(
        self,
        kind: str = "thread",
        state: Any = None,
        start_method: str | None = None,
        timeout: float = 10.0,
        handlers: dict[str, Handler] | None = None,
        prompt: str | None = None,
        wait: bool = False,
        name: str = "w1",
        handler_modules: list[str] | None = None,
        ray_address: str | None = None,
        history: bool = True,
        strict: bool = False,
        restart: RestartPolicy | None = None,
        mailbox: int | None = None,
    ) -> None:
        #: The first worker's kind (``--kind``), and the kind ``.spawn`` starts by default.
        self.kind = kind
        #: Each worker's initial state (``--state``), unless ``--state`` says otherwise.
        self.state = state
        #: A process worker's start method (``--start-method``); None: the platform's.
        self.start_method = start_method
        #: How long to wait for an answer, in seconds (``--timeout``, ``.timeout``).
        self.timeout = timeout
        #: Handlers given as functions (a program that makes its own console).
        self.handlers: dict[str, Handler] = handlers or {}
        #: A fixed prompt (``--prompt``, ``.prompt``); None: ``doer NAME KIND PID> ``.
        self.prompt = prompt
        #: The classic REPL contract (``--wait``, ``.wait on``): the prompt comes
        #: back once a line's answers are printed, not at once.
        self.wait = wait
        #: The worker's name (``--name``): every line it prints is tagged with it.
        self.name = name
        #: ``.trace on``: a line after each answer says how the message crossed.
        self.trace = False
        #: Your handler modules (``--handlers``, ``.handlers``): files or dotted
        #: names, loaded by each worker as it starts (see :mod:`doer.worker.handler_modules`).
        self.handler_modules: list[str] = list(handler_modules or [])
        #: The Ray cluster Ray workers join (``--address``); None: a private one.
        self.ray_address = ray_address
        #: The shell keeps the lines typed in the history file; False (``--no-history``,
        #: ``DOER_NO_HISTORY``): in memory only, so a program driving it leaves no trace.
        self.history = history
        #: ``--strict``: an ``unknown message`` answer or an unknown command fails the
        #: run (plain and line mode's exit status), not only an error.
        self.strict = strict
        #: The first worker's restart policy (``--restart``, ``--max-restarts``,
        #: ``--within``); a worker ``.spawn`` starts has its own (never, unless given).
        self.restart = restart or RestartPolicy()
        #: The first worker's mailbox bound (``--mailbox``); None: no bound.
        self.mailbox = mailbox

    def set_timeout(self, argument: str) -> float:
        """``.timeout [S]``: set the timeout if given; return it.

        Raises:
            ValueError: not a positive, finite number of seconds.
        """
        if argument:
            try:
                seconds = float(argument)
            except ValueError:
                seconds = -1.0
            if not 0 < seconds < float("inf"):
                raise ValueError(
                    f"the timeout must be a positive number of seconds, not {argument}"
                )
            self.timeout = seconds
        return self.timeout

    def set_wait(self, argument: str, always_waits: str | None = None) -> bool:
        """``.wait [on|off]``: set it if given; return it. ``always_waits``: why the front
        end cannot do ``.wait off`` (plain and line mode wait for every answer).

        Raises:
            ValueError: neither on nor off, or off where the front end always waits.
        """
        if argument:
            if argument not in ("on", "off"):
                raise ValueError(f".wait takes on or off, not {argument}")
            if argument == "off" and always_waits:
                raise ValueError(f"wait stays on: {always_waits}")
            self.wait = argument == "on"
        return self.wait

    def set_trace(self, argument: str) -> bool:
        """``.trace [on|off]``: set it if given; return it.

        Raises:
            ValueError: neither on nor off.
        """
        if argument:
            if argument not in ("on", "off"):
                raise ValueError(f".trace takes on or off, not {argument}")
            self.trace = argument == "on"
        return self.trace

    def set_prompt(self, argument: str) -> None:
        """``.prompt [TEXT]``: a fixed prompt, or (no text) the usual one."""
        self.prompt = prompt_argument(argument)
