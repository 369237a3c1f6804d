"""Tab completion at the prompt: what a line can hold, with the workers' names of the moment.

The command table is imported at the first Tab (or the first command), not with this
module: the first prompt does not wait for the commands' modules.
"""

from __future__ import annotations

from collections.abc import Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from doer.console.session import Console
from doer.console.syntax import ALL
from doer.kinds import KINDS, START_METHODS, link_class


class ConsoleCompleter(Completer):
    """Completes what a line can hold; worker names are read as the line is typed.

    - at the start of a line: messages and dot-commands;
    - after ``@`` (and after each ``,`` of ``@a,b``): the workers' names and ``all``;
    - after ``.use``, ``.status``, ``.stop``, ``.kill``, ``.restart``: the names
      (and after ``.restart``, the kinds and ``--start-method``);
    - after ``.spawn NAME``: the kinds; after ``--start-method``: the methods;
      after ``.wait``: on and off.
    """

    def __init__(self, console: Console) -> None:
        self.console = console

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        from doer.console.commands import COMMANDS  # see the module's docstring

        text = document.text_before_cursor.lstrip()
        words = text.split(" ")
        typed = words[-1]
        if len(words) == 1:
            if typed.startswith("@"):
                done = typed[1:].rpartition(",")[0]
                start = f"@{done}," if done else "@"
                choices = [start + name for name in [*self.console.names(), ALL]]
                return self._matching(choices, typed)
            return self._matching([*self.console.completion_words(), *COMMANDS], typed)
        return self._matching(self._choices_after(words[0], words[1:-1]), typed)

    def _choices_after(self, first: str, middle: list[str]) -> list[str]:
        """What may come next after ``first`` and the ``middle`` words already typed."""
        from doer.console.commands import NAMED_COMMANDS  # see the module's docstring

        if first.startswith("@") and not middle:
            return self.console.completion_words()  # .handlers may have added some
        if middle and middle[-1] == "--start-method":
            return list(START_METHODS)
        if first == ".wait" and not middle:
            return ["on", "off"]
        if first in NAMED_COMMANDS and not middle:
            return [*self.console.names(), *(KINDS if first == ".restart" else ())]
        if first == ".restart" or (first == ".spawn" and middle):
            return _kind_and_options(middle)
        return []

    @staticmethod
    def _matching(choices: list[str], typed: str) -> Iterable[Completion]:
        for choice in choices:
            if choice.startswith(typed):
                yield Completion(choice, start_position=-len(typed))


def _kind_and_options(typed: list[str]) -> list[str]:
    """What ``.spawn NAME`` or ``.restart [NAME]`` may take next, after the ``typed`` words."""
    kinds = [word for word in typed if word in KINDS]
    # The options the kind declares (imported now: it is about to be started).
    options = [*link_class(kinds[0]).option_flags(), "--state"] if kinds else ["--state"]
    if not kinds:
        return [*KINDS, *options]
    return [option for option in options if option not in typed]
