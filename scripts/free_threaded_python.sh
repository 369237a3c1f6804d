#!/usr/bin/env bash
# A free-threaded CPython (the GIL off), for the GIL lesson's other half.
#
#   scripts/free_threaded_python.sh          print the path of one, building it if none is found
#   scripts/free_threaded_python.sh --found  the same, but never build: fail if none is found
#
# It looks, in this order, for: $DOER_FREE_THREADED_PYTHON; python3.14t or python3.13t
# on PATH; pyenv's 3.13.5t. If none is there, it builds pyenv's 3.13.5t recipe from
# CPython's release tarball. Where python.org cannot be reached (the package
# registries only), the tarball comes from Debian 13's source package python3.13,
# which carries it unchanged: pyenv checks its sha256 against the one the recipe
# names before it builds. The build takes a few minutes on two cores.
#
# Elsewhere, the usual sources have one: python.org's installers (3.13t, 3.14t),
# `uv python install 3.14t`, `pyenv install 3.14t`, or a distribution's python3.14t.
set -euo pipefail

VERSION=3.13.5
RECIPE=${VERSION}t
DEBIAN_SUITE=trixie      # Debian 13, whose python3.13 is 3.13.5
DEBIAN_SOURCE=python3.13

say() { echo "free_threaded_python: $*" >&2; }

gil_is_off() {  # the interpreter at $1 is free-threaded and starts with the GIL off
    "$1" -c 'import sys; sys.exit(0 if not sys._is_gil_enabled() else 1)' 2>/dev/null
}

found() {
    local candidate
    for candidate in "${DOER_FREE_THREADED_PYTHON:-}" \
        "$(command -v python3.14t || true)" "$(command -v python3.13t || true)" \
        "$(pyenv root 2>/dev/null || echo /nonexistent)/versions/$RECIPE/bin/python3"; do
        if [[ -n $candidate && -x $candidate ]] && gil_is_off "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

tarball_from_debian() {  # puts Python-$VERSION.tar.xz in $1
    local work=$1/apt
    mkdir -p "$work/lists/partial" "$work/cache" "$work/src"
    echo "deb-src http://deb.debian.org/debian $DEBIAN_SUITE main" > "$work/sources.list"
    local options=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
    say "fetching CPython $VERSION's tarball from Debian's source package $DEBIAN_SOURCE ($DEBIAN_SUITE)"
    apt-get "${options[@]}" -qq update
    (cd "$work/src" && apt-get "${options[@]}" -qq source --download-only "$DEBIAN_SOURCE" 2>/dev/null)
    local orig=$work/src/${DEBIAN_SOURCE}_${VERSION}.orig.tar.xz
    if [[ ! -f $orig ]]; then
        say "Debian's $DEBIAN_SOURCE is not at $VERSION any more; pyenv's recipe needs $VERSION"
        return 1
    fi
    mv "$orig" "$1/Python-$VERSION.tar.xz"
}

build() {
    command -v pyenv > /dev/null || { say "pyenv is needed to build one"; return 1; }
    local cache
    cache=$(mktemp -d)
    trap 'rm -rf "$cache"' RETURN
    if ! curl -fsI --max-time 10 "https://www.python.org/ftp/python/$VERSION/" > /dev/null 2>&1; then
        tarball_from_debian "$cache"
    fi
    say "building pyenv's $RECIPE (a few minutes)"
    PYTHON_BUILD_CACHE_PATH=$cache MAKE_OPTS="-j$(nproc)" pyenv install --skip-existing "$RECIPE" >&2
}

if [[ ${1:-} == --found ]]; then
    found || { say "no free-threaded Python found (make free-threaded builds one)"; exit 1; }
    exit 0
fi
found || { build && found; } || { say "no free-threaded Python could be found or built"; exit 1; }
