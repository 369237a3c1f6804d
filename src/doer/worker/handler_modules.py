"""Your own handlers: functions marked ``@doer.handler("name")`` in a module of yours.

::

    # counter.py
    import doer

    @doer.handler("add")
    def add(worker, amount=1):
        \"\"\"add to the state (a number)\"\"\"
        worker.state = (worker.state or 0) + amount
        return worker.state

``doer --handlers counter.py`` (or a dotted module name, ``--handlers
mypkg.counter``) makes ``add`` a message every worker knows, whatever its
kind. A handler is called as the built-ins are, ``handler(worker, *values)``.

Each worker loads the modules itself, when it starts, from where they are
named: a thread or a task in the console's process, a process worker in its
own, whatever its start method (a spawned worker could not unpickle a
function from a file that is not on its path, and a forked one would keep
the version the console had). So ``.restart`` picks up an edited file.
:class:`HandlerModules` carries the names across, and loads on first use.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any, TypeVar

# Defined with doer's other exceptions (a ValueError, as every bad argument the
# console reports in one line is); importable from here too, as it always was.
from doer.base.errors import HandlerError as HandlerError

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute ``@doer.handler`` sets on a function: the message's name. (Not
#: ``doer.lessons.handlers.MARK``, the value the console's ``.mark`` sets.)
HANDLER_ATTRIBUTE = "__doer_handler__"


def handler(name: str | F | None = None) -> Any:
    """Mark a function as the handler of message ``name`` (default: its own name,
    ``_`` as ``-``). ``@doer.handler("add")``, or bare: ``@doer.handler``."""
    if callable(name):  # used bare: @doer.handler
        return handler(None)(name)

    def mark(function: F) -> F:
        setattr(function, HANDLER_ATTRIBUTE, name or function.__name__.replace("_", "-"))
        return function

    return mark


def is_file(source: str) -> bool:
    """True for a file path (``counter.py``, ``./x``), False for a dotted module name."""
    return source.endswith(".py") or os.sep in source or "/" in source


def where(source: str) -> str:
    """``source`` as a worker should find it: a file by its absolute path (a worker,
    or a later ``.restart``, may not share this directory), a module as named."""
    return os.path.abspath(source) if is_file(source) else source


def load(source: str) -> dict[str, Callable[..., Any]]:
    """The handlers of one module, loaded afresh (an edited file is read again).

    Raises:
        HandlerError: it cannot be found or imported, or has no handler.
    """
    module = _import(source)
    found = {
        getattr(value, HANDLER_ATTRIBUTE): value
        for value in vars(module).values()
        if callable(value) and isinstance(getattr(value, HANDLER_ATTRIBUTE, None), str)
    }
    if not found:
        raise HandlerError(f"{source} has no handler: mark a function with @doer.handler")
    return found


def _import(source: str) -> ModuleType:
    if not is_file(source):
        return _import_module(source)
    path = os.path.abspath(source)
    if not os.path.isfile(path):
        raise HandlerError(f"no handler file {source}")
    # A name of its own per file, kept in sys.modules: a reply holding an object of
    # a class defined there unpickles in the console, which has loaded it too.
    stem = os.path.splitext(os.path.basename(path))[0]
    digest = hashlib.sha1(path.encode()).hexdigest()[:8]
    name = f"doer_handlers_{stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HandlerError(f"{source} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if not isinstance(exc, Exception):
            raise
        raise HandlerError(_failure(source, path, exc)) from None
    return module


def _import_module(name: str) -> ModuleType:
    try:
        module = sys.modules.get(name)
        if module is not None:
            return importlib.reload(module)  # edited since: read it again
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name or (exc.name and name.startswith(exc.name + ".")):
            raise HandlerError(f"no module named {name} (is its folder on PYTHONPATH?)") from None
        raise HandlerError(_failure(name, None, exc)) from None
    except Exception as exc:
        path = getattr(sys.modules.get(name), "__file__", None)
        raise HandlerError(_failure(name, path, exc)) from None


def _failure(source: str, path: str | None, exc: Exception) -> str:
    """``handlers from counter.py: line 3: NameError: name 'x' is not defined``."""
    line = None
    if isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        in_file = [frame for frame in frames if path and os.path.abspath(frame.filename) == path]
        chosen = in_file[-1] if in_file else (frames[-1] if frames else None)
        line = chosen.lineno if chosen else None
    where = f"line {line}: " if line else ""
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return f"cannot load handlers from {source}: {where}{type(exc).__name__}: {message}"


def first_line(function: Callable[..., Any]) -> str:
    """The first line of a handler's docstring, for ``.help``."""
    doc = (function.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else "(no docstring)"


class HandlerModules(Mapping[str, Callable[..., Any]]):
    """The handlers of ``sources`` (files or dotted modules), then ``extra``, by name.

    Loaded on first use, in the process that uses it. Pickled, it carries only
    the names and ``extra``: a process worker loads the modules itself.

    Raises (on first use):
        HandlerError: as :func:`load`.
    """

    def __init__(
        self, sources: Sequence[str], extra: Mapping[str, Callable[..., Any]] | None = None
    ) -> None:
        self.sources = tuple(sources)
        self.extra = dict(extra or {})
        self._loaded: dict[str, Callable[..., Any]] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (HandlerModules, (self.sources, self.extra))

    def loaded(self) -> dict[str, Callable[..., Any]]:
        if self._loaded is None:
            handlers: dict[str, Callable[..., Any]] = {}
            for source in self.sources:
                handlers.update(load(source))
            self._loaded = {**handlers, **self.extra}
        return self._loaded

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return self.loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.loaded())

    def __len__(self) -> int:
        return len(self.loaded())
