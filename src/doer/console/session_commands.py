"""The commands about the session rather than one worker: the settings (``.timeout``,
``.wait``, ``.trace``, ``.prompt``, ``.handlers``), the lessons' tools (``.mark``,
``.timeline``, ``.locks``, ``.repeat``), ``.save``, ``.reset`` and ``.quit``.

Each takes the console and the rest of the line, and returns an outcome
(:mod:`doer.console.outcomes`) or raises ValueError with the one-line error.
Each is named as the console's method that carried it out before the command
table (:mod:`doer.console.commands`) listed them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from doer.console.outcomes import Quit, Repeat, Reset, Said
from doer.console.render.fragments import note_line
from doer.console.render.locks import locks_lines
from doer.console.render.status import mark_line
from doer.console.render.timing import timeline_lines
from doer.console.sending import MAX_REPEAT
from doer.console.syntax import Invalid, Message, interpret, prompt_argument, state_value
from doer.lessons import handlers as lessons
from doer.lessons import lesson_locks

if TYPE_CHECKING:
    from doer.console.session import Console


def timeout_lines(console: Console, argument: str) -> Said:
    """``.timeout [S]``: show or set the seconds to wait for an answer."""
    return Said([note_line(f"timeout: {console.settings.set_timeout(argument):g} s")])


def wait_lines(console: Console, argument: str) -> Said:
    """``.wait [on|off]``: show or set whether the prompt waits for a line's answers."""
    wait = console.settings.set_wait(argument, console.always_waits)
    return Said([note_line(f"wait: {'on' if wait else 'off'}")])


def trace(console: Console, argument: str) -> Said:
    """``.trace [on|off]``: show or set whether each answer says how it crossed."""
    return Said([note_line(f"trace: {'on' if console.settings.set_trace(argument) else 'off'}")])


def set_prompt(console: Console, argument: str) -> Said:
    """``.prompt [TEXT]``.

    Nothing is printed: the new prompt is the answer. A line that showed
    the text would be taken for the prompt by a client waiting for it
    (pexpect's REPLWrapper does exactly that).
    """
    console.settings.set_prompt(argument)
    return Said([])


def add_handlers(console: Console, argument: str) -> Said:
    """``.handlers [FILE|MODULE]``: your handler modules, or one more for the workers
    started from now on.

    Raises:
        ValueError: a module that does not load.
    """
    if not argument:
        modules = console.settings.handler_modules
        if not modules:
            return Said([note_line("no handler modules (.handlers FILE adds one)")])
        return Said([note_line(f"handler modules: {', '.join(modules)}")])
    new = console.your_handlers.add(argument)
    return Said([note_line(f"{', '.join(new)} from {argument}: .restart or .spawn to use them")])


def mark(console: Console, argument: str) -> Said:
    """``.mark [VALUE]``: set (or show) the global ``inherited`` reads."""
    if argument:
        lessons.MARK = state_value(argument)
    return Said([mark_line(lessons.MARK)])


def timeline(console: Console, argument: str) -> Said:
    """``.timeline``: the last line's handlers as bars on one time axis."""
    run = console.sender.last_run
    if run is None:
        return Said([note_line("no line sent yet: .timeline draws the last one (@all work, say)")])
    rows = [(worker, pending.wait(0) if pending.done() else None) for worker, pending in run.sent]
    blocks = _can_show("█▏▉▓▒░·")  # the bars' blocks and the shades of a sampled one
    return Said(timeline_lines(run.line, rows, console.columns() or 80, blocks=blocks))


def locks(console: Console, argument: str) -> Said:
    """``.locks``: who holds and who waits for the lesson locks A and B of the console's
    process (its threads' and its tasks'), and any cycle; then the workers whose
    memory, and so whose A and B, are their own: out of the console's sight.

    Raises:
        ValueError: an argument.
    """
    if argument:
        raise ValueError(".locks takes no argument: it reads the console's own memory")
    unseen = [worker.name for worker in console.running() if worker.own_memory]
    return Said(locks_lines(lesson_locks.seen(), unseen, console.columns() or 80))


def _can_show(characters: str) -> bool:
    """Whether standard output can encode ``characters`` (not in a Latin-1 locale)."""
    try:
        characters.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def repeat(console: Console, argument: str) -> Repeat:
    """``.repeat N LINE``, as far as the console can: check it. The front end sends it
    (:meth:`~doer.console.sending.Sender.send_repeated`) and prints the answers.

    Raises:
        ValueError: no count, a bad one, or a LINE that is not a message.
    """
    count_text, _, line = argument.partition(" ")
    usage = ".repeat takes a count and a line: .repeat 10000 ping"
    if not count_text or not line.strip():
        raise ValueError(usage)
    try:
        count = int(count_text.replace(",", "").replace("_", ""))
    except ValueError:
        raise ValueError(f"{usage}, not {count_text}") from None
    if not 1 <= count <= MAX_REPEAT:
        raise ValueError(f".repeat sends 1 to {MAX_REPEAT:,} times, not {count_text}")
    what = interpret(line)
    if isinstance(what, Invalid):
        raise ValueError(what.error)
    if not isinstance(what, Message):
        raise ValueError(f".repeat sends a message to workers, not {line.strip()}")
    console.registry.targets(what.to)  # an unknown name is said now, before anything is sent
    return Repeat(count, what)


def save(console: Console, argument: str) -> Said:
    """``.save FILE``: the session so far, as text, or as an asciicast recording for a
    FILE ending in ``.cast`` (see :mod:`doer.console.transcript`).

    Raises:
        ValueError: no file, or one that cannot be written.
    """
    path = prompt_argument(argument)  # quotes keep spaces: .save 'class 1.cast'
    if not path:
        raise ValueError(".save needs a file: .save class.txt (class.cast: a recording)")
    return Said([note_line(console.transcript.save(path))])


def reset(console: Console, argument: str) -> Reset:
    """``.reset``, as far as the console can: the front end stops the workers (as
    ``.quit`` does), then calls :meth:`~doer.console.session.Console.start_afresh`.

    Raises:
        ValueError: an argument.
    """
    if argument:
        raise ValueError(".reset takes no argument: it ends every worker")
    return Reset()


def quit_after_pending(console: Console, argument: str) -> Quit:
    """``.quit``: stop every worker once its pending requests are answered, and leave."""
    return Quit(wait=True)


def quit_now(console: Console, argument: str) -> Quit:
    """``.quit!``: leave now; pending requests are dropped, and said so."""
    return Quit(wait=False)
