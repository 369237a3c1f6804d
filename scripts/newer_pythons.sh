#!/usr/bin/env bash
# The tests only newer Pythons can run, each under its Python, after make test's main run:
#
#   the interpreter kind (subinterpreters: Python 3.13 or later), in .venv-3.13, made
#   from a python3.13 on PATH or pyenv's 3.13 (DOER_PYTHON_313 names another);
#   the GIL off (a free-threaded build), in .venv-ft, made by make free-threaded.
#
# Where one is missing it says so and skips it: the main run has skipped those
# tests with the same reason. Arguments are passed on to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "newer_pythons: $*" >&2; }

python_313() {  # a Python 3.13 with the GIL (not a free-threaded build)
    local candidate
    for candidate in "${DOER_PYTHON_313:-}" "$(command -v python3.13 || true)" \
        "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.13.*/bin/python3; do
        if [[ -n $candidate && -x $candidate ]] &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13)
                or not getattr(sys, "_is_gil_enabled", lambda: True)())' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

venv_with_doer() {  # $1: the venv, $2: its Python, then what to install; again when pyproject changes
    local venv=$1 python=$2 stamp=$1/.installed
    shift 2
    if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
        [[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet "$@"
        touch "$stamp"
    fi
}

status=0
if found=$(python_313); then
    venv_with_doer .venv-3.13 "$found" -e '.[test,interpreters]'
    say "the interpreter kind's tests, under $(.venv-3.13/bin/python -V)"
    .venv-3.13/bin/python -m pytest -n 2 -q -p no:cacheprovider -k interpreter tests "$@" || status=1
else
    say "skipped the interpreter kind's tests: no Python 3.13 found (python3.13, pyenv's 3.13)"
fi

if ft=$(scripts/free_threaded_python.sh --found 2>/dev/null); then
    # Not doer[test]: hypothesis has no wheel for a free-threaded Python, and builds
    # need the network. The GIL-off tests need none of it.
    venv_with_doer .venv-ft "$ft" -e '.[pytest]' 'pytest-timeout>=2' 'pytest-asyncio>=0.23'
    say "the GIL-off tests, under $(.venv-ft/bin/python -V) (free-threaded)"
    .venv-ft/bin/python -m pytest -q -p no:cacheprovider tests/unit/test_gil_off.py "$@" || status=1
else
    say "skipped the GIL-off tests: no free-threaded Python found (make free-threaded builds one)"
fi
exit $status
