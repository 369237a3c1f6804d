# The two commands a fresh machine needs: `make run` and `make test`.
# Both create .venv if it is missing and install the project into it from PyPI.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test soak mutate breaks lint bench docs free-threaded clean

run: $(STAMP)
	$(BIN)/doer $(ARGS)

# Four pytest workers on the two cores of the machines this runs on: many tests
# wait on a pty, a child process or a Ray cluster starting, so the others keep
# both cores busy meanwhile (measured: three took 92 to 98 s, four 82 to 92 s, five
# 98 s: with four, the cores are busy all the run long; the Ray tests take a third
# of its CPU). A worker that runs out of tests takes some of another's
# (worksteal), so the run does not end on one worker's queue of slow tests. Tests
# of timing shapes are written to hold on a busy machine (see docs/testing.md).
# The Ray tests share one cluster, which the root conftest.py starts as the run
# begins. The root conftest.py also lets every Python of the run cache bytecode,
# even where PYTHONDONTWRITEBYTECODE is set: the run starts hundreds of them.
# Then the tests only newer Pythons run: the interpreter kind under Python 3.13
# (.venv-3.13), the GIL off under a free-threaded build (.venv-ft, made by make
# free-threaded); each is skipped, and said so, where its Python is not found.
test: $(STAMP)
	$(BIN)/python -m pytest -n 4 --dist worksteal $(PYTEST_ARGS)
	scripts/newer_pythons.sh $(PYTEST_ARGS)

# The long runs (a few minutes): 100,000 messages through the library and plain
# mode, the fuzz tests at length, and a million lines piped into a bounded mailbox
# (the console's memory flat). DOER_FUZZ_SEED=N replays a pty fuzz run.
soak: $(STAMP)
	$(BIN)/python -m pytest -m soak -p no:cacheprovider --durations=0 tests/e2e/test_soak.py $(PYTEST_ARGS)

# Mutation testing of the modules whose tests need no process or terminal (see
# [tool.mutmut] in pyproject.toml); a few minutes at most, not part of make test.
mutate: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run
	$(BIN)/mutmut results

# Hand-made bugs (scripts/breaks.toml), each made on a copy of the project and
# replayed against the test recorded as catching it, and the whole suite if that
# passes: which ones the tests miss. A few minutes; NAMES=... for some, and
# ARGS=--full for the whole suite against each (a minute and a half each).
breaks: $(STAMP)
	$(BIN)/python scripts/breaks.py $(NAMES) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts examples
	$(BIN)/ruff format --check src tests scripts examples
	$(BIN)/mypy

# make bench ARGS=--markdown prints the table for docs/performance.md; ARGS="--only burst,plain"
# runs some groups (scripts/bench.py names them).
bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)

docs: $(STAMP)
	$(BIN)/python scripts/transcripts.py

# A venv of a free-threaded Python (the GIL off) with doer in it: .venv-ft/bin/doer.
# scripts/free_threaded_python.sh finds one, or builds one (a few minutes) if none is.
FT_VENV := .venv-ft
free-threaded:
	test -x $(FT_VENV)/bin/python || "$$(scripts/free_threaded_python.sh)" -m venv $(FT_VENV)
	$(FT_VENV)/bin/python -m pip install --quiet -e '.[pytest]' 'pytest-timeout>=2' 'pytest-asyncio>=0.23'
	$(FT_VENV)/bin/python -c "import sys; print(sys.version.split()[0], 'GIL off' if not sys._is_gil_enabled() else 'GIL on')"

# Reinstall when the project's metadata changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) $(FT_VENV) .venv-3.13 build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis mutants
