"""The test session's Ray cluster: one for the whole run, started in the background.

A Ray cluster takes seconds to start and half a gigabyte to run, so the
tests marked ``ray`` share one: the process that runs the session (under
pytest-xdist, the controller) starts it as soon as the run is configured,
and every test process joins it through ``$DOER_RAY_ADDRESS`` when its first
``ray`` test is set up. The tests that are about a private cluster (one
``doer --kind ray`` starts for itself) clear that variable for their console.

The cluster is doer's own program (``python -m doer.kinds.ray_actor.cluster``):
it reports its address in a file, and shuts down when the session ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

_cluster_key = pytest.StashKey[tuple[subprocess.Popen[bytes], str]]()

#: Where the session's cluster writes its report (set by the process that started it).
REPORT_VARIABLE = "DOER_TEST_RAY_REPORT"


def pytest_configure(config: pytest.Config) -> None:
    _keep_compiled_modules()
    _buffer_as_a_user_s_python_does()
    if hasattr(config, "workerinput") or os.environ.get(REPORT_VARIABLE):
        return  # a test process of pytest-xdist: the controller has started it
    if config.option.collectonly or not _may_run_ray_tests(config):
        return
    from doer.kinds.ray_actor.link import installed

    if not installed():
        return
    folder = tempfile.mkdtemp(prefix="doer-test-ray-")
    report = os.path.join(folder, "cluster.json")
    with open(report, "wb") as out, open(os.path.join(folder, "ray.log"), "ab") as log:
        cluster = subprocess.Popen(
            [sys.executable, "-m", "doer.kinds.ray_actor.cluster"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=log,
            start_new_session=True,
        )
    os.environ[REPORT_VARIABLE] = report
    os.environ["DOER_RAY_LOG"] = os.path.join(folder, "ray.log")
    config.stash[_cluster_key] = (cluster, folder)


def _keep_compiled_modules() -> None:
    """Let every Python of the run keep what it compiles (``__pycache__``).

    The run starts hundreds of Pythons (consoles, spawned workers, Ray's, the
    examples), each of which imports doer. Where the environment says
    ``PYTHONDONTWRITEBYTECODE``, every one of them would compile doer from its
    source again (a large part of a console's start), and pytest rewrite every
    test module again. Set here, before the test processes and the Ray cluster
    start, so that they all inherit it.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False


def _buffer_as_a_user_s_python_does() -> None:
    """Let every Python of the run buffer its output, as Python does by default.

    A machine that sets ``PYTHONUNBUFFERED`` (some do, for their logs) would hide
    a flush the console leaves out: its prompt would reach a test at once, and
    never a user's program. Set here, before any process starts, like the above.
    """
    os.environ.pop("PYTHONUNBUFFERED", None)


def _may_run_ray_tests(config: pytest.Config) -> bool:
    """False when the run names only test files that have no Ray test."""
    named = [arg.split("::")[0] for arg in config.args]
    files = [path for path in named if path.endswith(".py")]
    return (
        not files
        or len(files) < len(named)
        or any("ray" in path or "examples" in path for path in files)
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    started = config.stash.get(_cluster_key, None)
    if started is None:
        return
    cluster, folder = started
    assert cluster.stdin is not None
    cluster.stdin.close()  # it shuts the cluster down and exits
    try:
        cluster.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()
    shutil.rmtree(folder, ignore_errors=True)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("ray") is None or os.environ.get("DOER_RAY_ADDRESS"):
        return
    report = os.environ.get(REPORT_VARIABLE)
    if not report:
        pytest.skip("Ray is not installed: pip install 'doer[ray]'")
    # Set for the rest of this test process, on purpose: every later test that
    # starts a Ray worker joins the session's cluster (none starts one unasked).
    os.environ["DOER_RAY_ADDRESS"] = _address_from(report)


def _address_from(report: str, timeout: float = 50.0) -> str:
    """The session cluster's address, once it has written it (it boots in seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(report, encoding="utf-8") as file:
            line = file.readline()
        if line.endswith("\n"):
            reported = json.loads(line)
            if "address" not in reported:
                pytest.fail(f"the test session's Ray cluster did not start: {reported}")
            address: str = reported["address"]
            return address
        time.sleep(0.05)  # a poll with a deadline: the file is written once
    pytest.fail(f"the test session's Ray cluster did not start within {timeout:g} s")
