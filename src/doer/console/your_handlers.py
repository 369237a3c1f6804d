"""Your handlers, as the console knows them: those given as functions, and your handler
modules (``--handlers``, ``.handlers``), which each worker loads afresh as it starts.

The console loads the modules too, once when they are named and again before
a ``.restart``: to refuse one that does not load before any worker meets it,
and to know their handlers for ``.help`` and completion.

:mod:`doer.worker.handler_modules` is imported when there is a module to load
or to give a worker, not before: a console without one never needs it.
"""

from __future__ import annotations

from collections.abc import Mapping

from doer.base.errors import HandlerError
from doer.console.settings import Settings
from doer.worker.doer import BUILTIN_MESSAGES, Handler


class YourHandlers:
    """The handlers a worker starting now is given, and what the console knows of them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: The handlers of the handler modules, as last loaded here (for ``.help``).
        self.loaded: dict[str, Handler] = {}

    def for_a_worker(self) -> Mapping[str, Handler]:
        """What a worker starting now is given: the handler modules (each worker loads
        them afresh) and the handlers given as functions."""
        if not self.settings.handler_modules:
            return self.settings.handlers
        from doer.worker.handler_modules import HandlerModules

        return HandlerModules(self.settings.handler_modules, self.settings.handlers)

    def load(self, sources: list[str] | None = None) -> dict[str, Handler]:
        """Load ``sources`` (by default the settings' modules) here, to check them and
        to know their handlers; keep what they define.

        Raises:
            HandlerError: one does not load (the text names the file and line).
        """
        from doer.worker.handler_modules import HandlerModules

        sources = self.settings.handler_modules if sources is None else sources
        self.loaded = HandlerModules(sources).loaded()
        return self.loaded

    def add(self, source: str) -> list[str]:
        """Add the handler module ``source`` (a file or a dotted name) for the workers
        started from now on; return the names of the handlers it adds (all it defines,
        if it adds none).

        Raises:
            ValueError: it does not load.
        """
        from doer.worker.handler_modules import where

        sources = [*self.settings.handler_modules, where(source)]
        before = set(self.loaded)
        try:
            loaded = self.load(sources)
        except HandlerError as exc:
            raise ValueError(str(exc)) from None
        self.settings.handler_modules = sources
        return sorted(set(loaded) - before) or sorted(loaded)

    def given(self) -> list[str]:
        """The names of the handlers given as functions, but the built-in ones."""
        return sorted(set(self.settings.handlers) - set(BUILTIN_MESSAGES))

    def words(self) -> list[str]:
        """Every message worth completing at the start of a line: the built-in ones, then yours."""
        yours = {*self.settings.handlers, *self.loaded} - set(BUILTIN_MESSAGES)
        return [*BUILTIN_MESSAGES, *sorted(yours)]
