"""The package's rooms keep their rules: each imports only the rooms beneath it.

Every ``src/doer/<room>/__init__.py`` states its rule; this reads every import
of every module (at any depth: a lazy import inside a function counts too) and
checks it against them. A worker's interpreter imports what it needs and no
more: that is checked by importing it, as a spawned worker does.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from support.helpers import ROOT

PACKAGE = ROOT / "src" / "doer"

#: What each room may import of doer, besides itself. The top-level modules
#: (``cli``, ``__main__``, ``__init__``) may import any room.
MAY_IMPORT: dict[str, set[str]] = {
    "base": set(),
    "lessons": {"base"},
    "worker": {"base", "lessons"},
    "kinds": {"base", "worker"},
    "client": {"base", "worker", "kinds"},
    "console": {"base", "lessons", "worker", "kinds", "client"},
    "frontends": {"base", "lessons", "worker", "kinds", "client", "console"},
    "testing": {"base", "worker", "kinds", "client", "console"},
}


def doer_imports(source: Path) -> set[str]:
    """The doer modules ``source`` imports, dotted (``doer.client.worker``)."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):  # a bare ``import doer`` loads nothing (lazy)
            found |= {alias.name for alias in node.names if alias.name != "doer"}
        elif isinstance(node, ast.ImportFrom) and node.module == "doer":
            found |= {f"doer.{alias.name}" for alias in node.names}  # not by the back door
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("doer.")}


def room_of(dotted: str) -> str | None:
    """``doer.client.worker`` -> ``client``; ``doer`` or a top-level module -> None."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in MAY_IMPORT else None


@pytest.mark.parametrize("room", sorted(MAY_IMPORT))
def test_each_room_imports_only_the_rooms_beneath_it(room: str) -> None:
    wrong = []
    for source in sorted((PACKAGE / room).rglob("*.py")):
        for imported in sorted(doer_imports(source)):
            other = room_of(imported)
            if other != room and other not in MAY_IMPORT[room]:
                wrong.append(f"{source.relative_to(PACKAGE)} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_every_room_states_its_rule_in_its_docstring() -> None:
    for room in MAY_IMPORT:
        docstring = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text()))
        assert docstring and "Rule:" in docstring, f"doer.{room} states no rule"


def modules_loaded_by(imports: str) -> list[str]:
    """The doer and prompt-toolkit modules a fresh interpreter has once it has run
    ``import {imports}``."""
    program = (
        f"import sys, {imports}; "
        "print(*sorted(m for m in sys.modules if m.startswith(('doer', 'prompt_toolkit'))))"
    )
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout.split()


def test_a_process_worker_imports_no_more_of_doer_than_it_runs() -> None:
    """What ``spawn`` and ``forkserver`` workers import at every start: the worker
    side and its kind, not the library, the console or prompt-toolkit."""
    loaded = modules_loaded_by("doer.kinds.process.child")
    assert {room_of(name) for name in loaded} <= {None, "base", "lessons", "worker", "kinds"}, (
        loaded
    )
    assert "doer.kinds.ray_actor.link" not in loaded and "prompt_toolkit" not in loaded, loaded


#: What the first prompt does not wait for: the commands, loaded at the first one.
LOADED_AT_THE_FIRST_COMMAND = {
    "doer.console.commands",
    "doer.console.worker_commands",
    "doer.console.session_commands",
    "doer.console.help",
    "doer.console.outcomes",
    "doer.frontends.shell.outcomes",
}


def test_the_shell_and_the_console_load_without_the_command_modules() -> None:
    """Every module imported before the first prompt delays it: the command table and
    what it carries out load at the first command (or Tab), not with the shell."""
    loaded = modules_loaded_by("doer.cli, doer.frontends.shell.app")
    assert "doer.console.session" in loaded, loaded
    assert not LOADED_AT_THE_FIRST_COMMAND & set(loaded), loaded


#: A handler module that answers ``loaded`` with whether its worker has imported its
#: kind's module, and which modules of the console's side it has imported (the
#: answer is kept short: the console cuts a long one).
LOADED_HANDLER = """\
import sys

import doer

CONSOLE_SIDE = ("doer.cli", "doer.client", "doer.console", "doer.frontends", "prompt_toolkit")


@doer.handler("loaded")
def loaded(worker):
    \"\"\"which modules of the console's side this worker has imported\"\"\"
    extra = sorted(m for m in sys.modules if m.startswith(CONSOLE_SIDE))
    return f"child={'doer.kinds.process.child' in sys.modules} extra={','.join(extra)}"
"""


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_a_worker_the_doer_command_starts_does_not_import_the_console(
    tmp_path: Path, start_method: str
) -> None:
    """multiprocessing imports the main script again in a spawn or forkserver worker
    (and the fork server imports it once): the ``doer`` command's script must not
    bring the console, the front ends or prompt-toolkit with it."""
    handlers = tmp_path / "loaded.py"
    handlers.write_text(LOADED_HANDLER, encoding="utf-8")
    command = [Path(sys.executable).with_name("doer"), "--kind", "process"]
    options = ["--start-method", start_method, "--handlers", str(handlers), "-c", "loaded"]
    answer = subprocess.run(
        [*command, *options], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert answer.partition("] ")[2].strip("'\n") == "child=True extra=", answer


#: Where a kind's name may be compared: the kinds themselves, and the lessons (which
#: teach what each kind is). Anywhere else, what a kind is is asked of its ``Link``
#: (``killable``, ``own_memory``, ``on_event_loop``...): a new kind is then one module.
MAY_COMPARE_KIND_NAMES = {"kinds", "lessons"}

#: Modules elsewhere that may compare one, each with its reason: presentation keyed
#: by a kind's name. None does now (the colours are a table, not a comparison).
KIND_NAMES_COMPARED_FOR_PRESENTATION: dict[str, str] = {}


def kind_names_compared(source: Path) -> list[str]:
    """Each comparison in ``source`` with a kind's name as an operand (``kind ==
    "thread"``, ``kind in ("process", "ray")``), as ``path:line: the comparison``."""
    from doer.kinds import KINDS

    found = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        for operand in [node.left, *node.comparators]:
            many = isinstance(operand, ast.Tuple | ast.List | ast.Set)
            for value in operand.elts if many else [operand]:
                if isinstance(value, ast.Constant) and value.value in KINDS:
                    where = source.relative_to(PACKAGE).as_posix()
                    found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_kind_s_name_is_compared_outside_the_kinds_and_the_lessons() -> None:
    compared = []
    for source in sorted(PACKAGE.rglob("*.py")):
        where = source.relative_to(PACKAGE)
        if where.parts[0] in MAY_COMPARE_KIND_NAMES:
            continue
        if where.as_posix() not in KIND_NAMES_COMPARED_FOR_PRESENTATION:
            compared += kind_names_compared(source)
    assert not compared, "ask the kind's Link, not its name:\n" + "\n".join(compared)
