"""``python -m doer`` and the ``doer`` command: the command line (:mod:`doer.cli`).

The ``doer`` script imports :func:`main` from here rather than from
:mod:`doer.cli`, which it loads only when run. A process worker started by
spawn or forkserver imports the console's main script again (multiprocessing
does so in each such child, so that what ``__main__`` defines can be
unpickled there): with this module as the script's import, that costs the
worker the ``doer`` package alone, not every module of the console.
"""

import sys


def main() -> int:
    """Run the console (:func:`doer.cli.main`) with the command line's arguments."""
    from doer.cli import main as run_console

    return run_console()


if __name__ == "__main__":
    sys.exit(main())
