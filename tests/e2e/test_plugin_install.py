"""The pytest plugin from a non-editable install, as a project that uses doer has it.

doer's own tests import doer from ``src/`` (an editable install), where every
file of the tree is at hand. Here doer is built into a wheel and installed in
a fresh venv, and a small project's tests there ask for ``doer_worker`` and
``doer_console`` by name: what the wheel leaves out (the entry point that
registers the plugin, a file the plugin or the console needs) fails here.

It needs no network, and takes a few seconds: the wheel is built with this
venv's setuptools, and the fresh venv has no pip and no packages of its own: it
is lent this venv's (pytest, pexpect, prompt-toolkit), all but doer's own
install, whose metadata would register the plugin in the wheel's stead. The
small project's first test checks where doer and its plugin came from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent.parent
#: This venv's pip: it builds the wheel, and installs it in the fresh venv.
PIP = (sys.executable, "-m", "pip", "--quiet")

#: The tests of a project that installed doer: the plugin's fixtures, no import of them.
PROJECT_TESTS = '''
import importlib.metadata
import sys
from pathlib import Path

import pytest

import doer


def double(doer, value):
    return value * 2


def test_doer_and_its_plugin_come_from_this_venv(request):
    venv = Path(sys.prefix)
    plugin = request.config.pluginmanager.get_plugin("doer")
    assert Path(doer.__file__).is_relative_to(venv), doer.__file__
    assert Path(plugin.__file__).is_relative_to(venv), plugin.__file__
    (installed,) = [path for path in importlib.metadata.files("doer") if path.name == "METADATA"]
    assert Path(installed.locate()).is_relative_to(venv), installed.locate()
    # doer_console runs the doer command beside the tests' Python: this venv's.
    command = Path(sys.executable).with_name("doer")
    assert command.read_text().startswith(f"#!{sys.executable}\\n")


def test_doer_worker(doer_worker):
    worker = doer_worker("process", handlers={"double": double})
    assert worker.ask(("double", 21)) == 42


def test_doer_console(doer_console):
    console = doer_console("--kind", "process", "--state", "42")
    assert console.answer("get-state") == "state: 42"


@pytest.fixture
def no_pexpect(monkeypatch):
    """As in a project that installed doer and pytest, not doer[pytest]."""
    monkeypatch.setitem(sys.modules, "pexpect", None)


def test_doer_console_without_pexpect(no_pexpect, doer_console):
    pass
'''


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a step of the install; if it fails, the assertion shows why."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{command}:\n{done.stdout}{done.stderr}"
    return done


def _build_wheel(into: Path) -> Path:
    """doer's wheel, built from a copy of the tree: a build writes ``build/`` and
    ``*.egg-info`` beside its sources, and the tree is not the test's to write."""
    source = into / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    _run(*PIP, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", into, source)
    (wheel,) = into.glob("doer-*.whl")
    return wheel


def _lend(into: Path) -> Path:
    """A directory of links to this venv's packages, doer's own install left out.

    The editable install is a ``doer-*.dist-info`` and an ``__editable__*.pth``
    file: the first would give the fresh venv a second doer, whose entry point
    registers the plugin even if the wheel's does not. (The ``.pth`` file would
    not be read there in any case: only a venv's own site-packages' are.)
    """
    into.mkdir()
    for package in Path(sysconfig.get_path("purelib")).iterdir():
        if not package.name.startswith(("doer", "__editable__")):
            (into / package.name).symlink_to(package)
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """doer's wheel, built once for the module."""
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with doer installed from its wheel, and this venv's packages lent."""
    venv = tmp_path_factory.mktemp("install") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    (Path(site.stdout.strip()) / "lent.pth").write_text(f"{_lend(venv.parent / 'lent')}\n")
    # This venv's pip installs into that one (it has none of its own).
    _run(*PIP, "--python", python, "install", "--no-deps", "--no-index", wheel)
    return venv


def test_the_pytest_extra_installs_what_the_plugin_needs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    assert "pytest" in metadata.get_all("Provides-Extra", [])
    requirements = [Requirement(text) for text in metadata.get_all("Requires-Dist", [])]
    extra = {
        req.name for req in requirements if req.marker and req.marker.evaluate({"extra": "pytest"})
    }
    assert {"pytest", "pexpect"} <= extra, extra
    # doer itself needs neither: only a project that tests with the plugin pays for them.
    assert not {req.name for req in requirements if not req.marker} & {"pytest", "pexpect"}


def test_the_plugin_works_from_a_non_editable_install(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the project's root: not doer's tree
    (tmp_path / "test_mine.py").write_text(PROJECT_TESTS)
    hidden = {"PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "VIRTUAL_ENV"}
    env = {name: value for name, value in os.environ.items() if name not in hidden}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    done = subprocess.run(
        [venv / "bin" / "python", "-m", "pytest", "-p", "no:cacheprovider", "-rA", "test_mine.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    report = done.stdout + done.stderr
    assert "3 passed, 1 error" in report, report
    # A missing pexpect is an error at the fixture's setup, and its report is one
    # line that says what to install (no ImportError, no traceback, no chain).
    error = _section(report, "ERROR at setup of test_doer_console_without_pexpect")
    assert error == ["doer_console needs pexpect: pip install 'doer[pytest]'"], report


def _section(report: str, title: str) -> list[str]:
    """The lines of the report's section called ``title``, up to the next title."""
    lines = report.splitlines()
    (start,) = [number for number, line in enumerate(lines) if title in line]
    section = []
    for line in lines[start + 1 :]:
        if line.startswith(("___", "===")):
            break
        section.append(line)
    return section
