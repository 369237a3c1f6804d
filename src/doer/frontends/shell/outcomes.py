"""What the shell does with a dot-command's outcome: the one place that decides it.

:meth:`~doer.console.session.Console.outcome_of` carries the command out as
far as the console can; :func:`~doer.console.outcomes.handle` gives what it
returns to the method here for its kind, ``on_<kind>`` (the shell is an
:class:`~doer.console.outcomes.OutcomeHandler`). Lines and refusals are
printed; a step that waits (a start, a stop, a ``.repeat``'s answers) is
awaited, because only the shell knows how to wait, and Ctrl-C stops the wait.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from doer.console import outcomes
from doer.console.render import error_line
from doer.frontends.shell.lifecycle import Lifecycle
from doer.frontends.shell.repeat import Repeats
from doer.frontends.shell.screen import Screen


class Outcomes(outcomes.OutcomeHandler[Coroutine[Any, Any, bool]]):
    """What each kind of outcome asks of the shell; each method returns False when
    the shell should leave."""

    def __init__(self, screen: Screen, repeats: Repeats, lifecycle: Lifecycle) -> None:
        self.screen = screen
        self.repeats = repeats
        self.lifecycle = lifecycle
        #: ``.quit`` and Ctrl-D wait for pending requests; ``.quit!`` does not.
        self.wait_on_quit = True

    def take(self, outcome: outcomes.Outcome) -> Coroutine[Any, Any, bool]:
        """Carry ``outcome`` out, by the method for its kind; False: the shell should leave."""
        return outcomes.handle(outcome, self)

    async def on_said(self, said: outcomes.Said) -> bool:
        for fragments in said.lines:
            self.screen.print(fragments)
        return True

    async def on_refused(self, refused: outcomes.Refused) -> bool:
        self.screen.print(error_line(refused.error))
        return True

    async def on_quit(self, quit: outcomes.Quit) -> bool:
        self.wait_on_quit = quit.wait
        return False

    async def on_repeat(self, repeat: outcomes.Repeat) -> bool:
        await self.repeats.repeat(repeat)
        return True

    async def on_restart(self, restart: outcomes.Restart) -> bool:
        await self.lifecycle.restart(restart)
        return True

    async def on_spawned(self, spawned: outcomes.Spawned) -> bool:
        for worker in spawned.workers:
            await self.lifecycle.wait_for_start(worker)
        return True

    async def on_reset(self, reset: outcomes.Reset) -> bool:
        await self.repeats.stop_sending()  # what a .repeat still sending sent is waited for
        await self.lifecycle.reset()
        return True

    async def on_stop(self, stop: outcomes.Stop) -> bool:
        await self.lifecycle.stop([stop.worker], wait=True)
        return True

    async def on_kill(self, kill: outcomes.Kill) -> bool:
        self.lifecycle.killed(kill)
        return True
