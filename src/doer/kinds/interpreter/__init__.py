"""The interpreter kind: the Doer runs in a subinterpreter of the console's process.

A subinterpreter (PEP 734; a GIL of its own since 3.12, PEP 684) is a second
Python in the same process: the console's pid, but modules, globals and a GIL
of its own. doer runs each one in a thread of the console's, which calls into
it and stays there until the worker's loop ends::

    console (link.py)                           thread NAME-worker
    InterpreterLink.send ── os.pipe (frames) ──> interpreter N: inside.py, the Doer loop
    InterpreterLink.receive <── os.pipe (frames) ─┘

File descriptors belong to the process, not to an interpreter, so a pair of
``os.pipe`` carries the records, in the process kind's frames
(:mod:`doer.kinds.process.frames`): as fast as a pipe, where the queues of the
``interpreters`` module poll (about 10 ms a round trip with the backport).

Python 3.14 has the module as ``concurrent.interpreters``; on 3.13 the backport
from PyPI (``pip install 'doer[interpreters]'``, importable as
``interpreters_backport``) provides it. Older Pythons have no such kind:
:func:`unavailable_reason` says what is needed.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

#: Its memory is its own: modules and globals apart from the console's, as a
#: process's are (``incr`` counts alone). Its process is the console's: the
#: Doer is told its interpreter's id, and ``die`` and ``segfault`` do not end
#: the process (see Doer's ``own_process``).
OWN_MEMORY = True

#: Where the module lives: the standard library's from 3.14, the backport's on 3.13.
_MODULES = ("concurrent.interpreters", "interpreters_backport.interpreters")


def interpreters_module() -> ModuleType | None:
    """The ``interpreters`` module of PEP 734, or None where this Python has none."""
    for name in _MODULES:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def unavailable_reason() -> str | None:
    """Why no subinterpreter worker can start here, in one line; None if one can."""
    this = f"this is Python {sys.version.split()[0]}"
    if sys.version_info < (3, 13):
        return (
            "the interpreter kind needs Python 3.13 or later (3.13 with"
            f" pip install 'doer[interpreters]'); {this}"
        )
    if interpreters_module() is None:
        return (
            "the interpreter kind needs the interpreters backport on 3.13:"
            f" pip install 'doer[interpreters]' ({this})"
        )
    return None
