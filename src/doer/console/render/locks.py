"""``.locks``: who holds and who waits for the lesson locks A and B, as the console's own
memory has them, and the cycle a deadlock makes::

    t1 holds A, waits for B (held by t2)
    t2 holds B, waits for A (held by t1)
    a cycle — deadlock: t1 gives up on B in 27.5 s (its timeout), letting go of A
    p1, p2 have their own A and B, in memory the console cannot read

The records are those of the console's process (:mod:`doer.lessons.lesson_locks`):
its threads' pair, and each event loop's; a worker with memory of its own has its
own, out of sight. Every line fits the width given, wrapped if need be.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from doer.console.render.fragments import Fragments, note_line
from doer.lessons.deadlock import seconds_text
from doer.lessons.lesson_locks import NAMES, Seen

#: Said when no lesson lock is held or waited for.
NOTHING_HELD = "no lesson lock is held or waited for (@t1,t2 deadlock takes them)"

#: The most names of workers out of sight that a line lists before counting the rest.
MOST_NAMES = 6


def locks_lines(seen: Sequence[Seen], unseen: Sequence[str], width: int = 80) -> list[Fragments]:
    """``.locks``: each pair in which a lock is held or waited for (``seen``), a line a
    worker, then a line for each cycle; then the workers out of sight (``unseen``)."""
    texts = [] if seen else [NOTHING_HELD]
    for pair in seen:
        if pair.place != "threads" or len(seen) > 1:
            texts.append(_heading(pair))
        texts += [_worker_text(name, pair) for name in _workers(pair)]
        texts += [_cycle_text(cycle, pair) for cycle in pair.cycles()]
    if unseen:
        texts.append(_unseen_text(unseen))
    return [note_line(line) for text in texts for line in _wrapped(text, width)]


def _heading(pair: Seen) -> str:
    if pair.place == "threads":
        return "threads (threading.Lock A and B):"
    return f"{pair.place} of one event loop (asyncio.Lock A and B; the loop runs on):"


def _workers(pair: Seen) -> list[str]:
    """Who holds a lock (A's first), then who only waits, each once."""
    holders = [pair.holders[lock] for lock in NAMES if lock in pair.holders]
    return list(dict.fromkeys([*holders, *sorted(pair.waits)]))


def _worker_text(name: str, pair: Seen) -> str:
    """``t1 holds A, waits for B (held by t2)``."""
    parts = []
    held = [lock for lock in NAMES if pair.holders.get(lock) == name]
    if held:
        parts.append(f"holds {' and '.join(held)}")
    wait = pair.waits.get(name)
    if wait is not None:
        holder = pair.holders.get(wait.lock)
        whose = f"held by {holder}" if holder else "let go of: about to be taken"
        parts.append(f"waits for {wait.lock} ({whose})")
    return f"{name} {', '.join(parts)}"


def _cycle_text(cycle: list[str], pair: Seen) -> str:
    """``a cycle — deadlock: t1 gives up on B in 27.5 s (its timeout), letting go of A``:
    the first of the cycle is the one whose deadline comes first."""
    first = cycle[0]
    wait = pair.waits[first]
    held = " and ".join(lock for lock in NAMES if pair.holders.get(lock) == first)
    left = wait.until - pair.now
    when = f"in {seconds_text(left)} (its timeout)" if left > 0.05 else "now"
    return f"a cycle — deadlock: {first} gives up on {wait.lock} {when}, letting go of {held}"


def _unseen_text(unseen: Sequence[str]) -> str:
    """``p1, p2 have their own A and B, in memory the console cannot read``."""
    names = list(unseen[:MOST_NAMES])
    if len(unseen) > MOST_NAMES:
        names.append(f"{len(unseen) - MOST_NAMES} more")
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    if len(unseen) == 1:
        return f"{listed} has its own A and B, in memory the console cannot read"
    return f"{listed} have their own A and B, in memory the console cannot read"


def _wrapped(text: str, width: int) -> list[str]:
    """``text`` in lines of fewer than ``width`` columns (the last column is the
    cursor's, on some terminals), the ones after the first indented."""
    return textwrap.wrap(
        text, width - 1, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
    )
