"""On a free-threaded Python, one line when an import turns the GIL back on.

A free-threaded CPython (3.13t and later) runs without the GIL until it loads
an extension module that has not declared it can run without it: then it
turns the GIL on for the rest of the process and warns, in three lines with
a source location (``The global interpreter lock (GIL) has been enabled to
load module 'name', which has not declared ...``). The lessons then say
``GIL on`` again; this module makes the console say why, once per module, in
one line on stderr (once: a module is loaded once)::

    doer: GIL on: module 'name' turned it back on (PYTHON_GIL=0 keeps it off)

Any other warning is shown as Python would.
"""

from __future__ import annotations

import re
import sys
import warnings
from typing import TextIO

#: How CPython's warning begins, and where it names the module.
_WARNING = re.compile(
    r"The global interpreter lock \(GIL\) has been enabled to load module '([^']+)'"
)


def gil_back_on_line(module: str) -> str:
    return f"doer: GIL on: module {module!r} turned it back on (PYTHON_GIL=0 keeps it off)"


def watch() -> None:
    """With the GIL off (a free-threaded build), say in one line each module that turns
    it back on. With the GIL on already, there is nothing to say: nothing is done."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)  # 3.13 and later
    if is_enabled is None or is_enabled():
        return
    shown_as_python_would = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        found = _WARNING.match(str(message)) if category is RuntimeWarning else None
        if found is None:
            shown_as_python_would(message, category, filename, lineno, file, line)
            return
        # Once per module: the GIL goes on as it loads, and a module loads once.
        print(gil_back_on_line(found[1]), file=sys.stderr, flush=True)

    warnings.showwarning = show
