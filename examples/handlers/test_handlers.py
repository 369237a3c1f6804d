"""Tests of the example handler modules, written with doer's pytest plugin.

``doer_worker`` starts workers through the library (stopped at teardown);
``doer_console`` drives the real command (quit at teardown, and the test
fails if a worker process is left). The same module is tested as a thread, a
process by each start method, a task and a Ray actor: it runs unchanged in each.
"""

from importlib.util import find_spec
from pathlib import Path

import pytest

HERE = Path(__file__).parent
COUNTER = str(HERE / "counter.py")
WORDS = str(HERE / "words.py")

WAYS = [
    ("thread", None),
    ("asyncio", None),
    ("process", "fork"),
    ("process", "spawn"),
    ("process", "forkserver"),
    # A Ray actor: the cluster in $DOER_RAY_ADDRESS, else a private one (seconds).
    pytest.param(
        "ray",
        None,
        marks=[
            pytest.mark.ray,
            pytest.mark.skipif(not find_spec("ray"), reason="Ray is not installed"),
        ],
    ),
]


@pytest.mark.parametrize(("kind", "start_method"), WAYS)
def test_the_counter_counts_in_every_kind(doer_worker, kind, start_method):
    worker = doer_worker(kind, 0, start_method=start_method, handler_modules=[COUNTER])
    assert worker.ask("add") == 1
    assert worker.ask(("add", 41)) == 42
    assert worker.ask("whose").startswith(f"pid {worker.pid},")
    assert worker.ask("reset") == 0


@pytest.mark.parametrize(("kind", "start_method"), WAYS)
def test_word_frequencies_in_every_kind(doer_worker, kind, start_method):
    worker = doer_worker(kind, start_method=start_method, handler_modules=[WORDS])
    assert worker.ask(("count", "The cat and the hat")) == 5
    assert worker.ask(("count", "the end")) == 7
    assert worker.ask(("top", 1)) == [("the", 3)]


def test_the_console_loads_a_handler_file(doer_console):
    console = doer_console("--kind", "process", "--state", "10", "--handlers", COUNTER)
    assert console.answer("add 5") == "15"
    help_lines = console.ask(".help messages")
    assert "  add                     add AMOUNT (default 1) to the state, a number" in help_lines
