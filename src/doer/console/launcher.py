"""Starting a worker under a name: of a kind, with your handlers, its records to the
console's listener, and in the registry in the place of any ended one of that name."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from doer.client.supervision import RestartPolicy
from doer.client.worker import Listener, Worker, start
from doer.console.kind_facts import runs_as_a_task, takes_a_start_method, takes_ray_options
from doer.console.ray_cluster import RayCluster, RayOptions
from doer.console.registry import Registry
from doer.console.settings import Settings
from doer.console.your_handlers import YourHandlers

if TYPE_CHECKING:
    from doer.kinds.asyncio_task import SharedLoop


class Launcher:
    """Starts the console's workers, and keeps the loop its asyncio tasks share."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        your_handlers: YourHandlers,
        cluster: RayCluster,
        listener: Listener | None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.your_handlers = your_handlers
        self.cluster = cluster
        #: Starts a worker whose records go to the console's listener.
        self._start = functools.partial(start, listener=listener)
        #: The loop this console's asyncio tasks share where no loop of its own runs.
        self._shared_loop: SharedLoop | None = None

    def start_current(self, kind: str | None = None, start_method: str | None = None) -> Worker:
        """Start the current worker (the command line's, at first), of ``kind`` or the
        configured kind, with the state it had (else the command line's)."""
        kind = kind or self.settings.kind
        if takes_a_start_method(kind):
            start_method = start_method or self.settings.start_method
        name = self.registry.current
        old = self.registry.workers.get(name)
        policy = old.restart_policy if old is not None else self.settings.restart
        mailbox = old.mailbox if old is not None else self.settings.mailbox
        state = self.registry.state_of(name, self.settings.state)
        return self.launch(name, kind, start_method, state, None, policy, mailbox)

    def launch(
        self,
        name: str,
        kind: str,
        start_method: str | None,
        state: Any,
        ray: RayOptions | None = None,
        restart: RestartPolicy | None = None,
        mailbox: int | None = None,
    ) -> Worker:
        """Start a worker called ``name`` (in the place of any ended one of that name).

        A Ray worker joins ``ray.address``, else the command line's ``--address``,
        else this console's private cluster. ``restart``: its restart policy
        (never, if none); a restart loads your handler modules again.
        ``mailbox``: at most this many requests pending (None: no bound).
        """
        policy = restart or RestartPolicy()
        self.registry.let_go(name)
        if takes_ray_options(kind):
            ray = self.cluster.joined(name, ray, self.settings.ray_address)
        starts = functools.partial(
            self._start,
            kind,
            state,
            start_method=start_method,
            handlers=self.your_handlers.for_a_worker(),
            name=name,
            address=ray.address if ray else None,
            shared=ray.shared if ray else False,
            restart=policy.when,
            max_restarts=policy.max_restarts,
            within=policy.within_s,
            reload_handlers=self.your_handlers.for_a_worker,
            mailbox=mailbox,
        )
        worker = self._on_shared_loop(starts) if runs_as_a_task(kind) else starts()
        self.registry.put(worker, state)
        return worker

    def _on_shared_loop(self, starts: Callable[[], Worker]) -> Worker:
        """Start an asyncio worker as a task on the loop this thread runs (the shell's),
        else on the one loop all this console's tasks share (plain mode's)."""
        from doer.kinds.asyncio_task import SharedLoop, loop_runs_here  # only for this kind

        if loop_runs_here():
            return starts()
        if self._shared_loop is None:
            self._shared_loop = SharedLoop()
        worker: Worker = self._shared_loop.call(starts)
        return worker

    def close_shared_loop(self) -> None:
        """Once every worker has stopped: end the tasks' shared loop and join its thread
        (left behind, a daemon, if a task is stuck in a handler)."""
        if self._shared_loop is not None:
            self._shared_loop.close()
