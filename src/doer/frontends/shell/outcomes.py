"""What the shell does with a dot-command's outcome: the one place that decides it.

The console carries a command out as far as it can
(:func:`~doer.frontends.commands.carry_out`); the outcome is lines to print,
or a step only a front end can take, because only it knows how to wait: the
shell awaits, and Ctrl-C stops a wait. Each kind of outcome has its method
here, ``on_<kind>``; :meth:`~doer.frontends.commands.FollowsOutcomes.follow`
picks it.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from doer.console.render import Fragments, error_line
from doer.console.session import Kill, Quit, Repeat, Reset, Restart, Spawned, Stop
from doer.frontends.commands import FollowsOutcomes, Refused
from doer.frontends.shell.lifecycle import Lifecycle
from doer.frontends.shell.repeat import Repeats
from doer.frontends.shell.screen import Screen


class Outcomes(FollowsOutcomes[Coroutine[Any, Any, bool]]):
    """What each kind of outcome asks of the shell; each method returns False when
    the shell should leave."""

    def __init__(self, screen: Screen, repeats: Repeats, lifecycle: Lifecycle) -> None:
        self.screen = screen
        self.repeats = repeats
        self.lifecycle = lifecycle
        #: ``.quit`` and Ctrl-D wait for pending requests; ``.quit!`` does not.
        self.wait_on_quit = True

    async def on_said(self, lines: list[Fragments]) -> bool:
        for fragments in lines:
            self.screen.print(fragments)
        return True

    async def on_refused(self, refused: Refused) -> bool:
        self.screen.print(error_line(refused.error))
        return True

    async def on_quit(self, quit: Quit) -> bool:
        self.wait_on_quit = quit.wait
        return False

    async def on_repeat(self, repeat: Repeat) -> bool:
        await self.repeats.repeat(repeat)
        return True

    async def on_restart(self, restart: Restart) -> bool:
        await self.lifecycle.restart(restart)
        return True

    async def on_spawned(self, spawned: Spawned) -> bool:
        for worker in spawned.workers:
            await self.lifecycle.wait_for_start(worker)
        return True

    async def on_reset(self, reset: Reset) -> bool:
        await self.repeats.stop_sending()  # what a .repeat still sending sent is waited for
        await self.lifecycle.reset()
        return True

    async def on_stop(self, stop: Stop) -> bool:
        await self.lifecycle.stop([stop.worker], wait=True)
        return True

    async def on_kill(self, kill: Kill) -> bool:
        self.lifecycle.killed(kill)
        return True
