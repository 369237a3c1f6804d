"""``python -m doer``: the same as the ``doer`` command."""

import sys

from doer.cli import main

if __name__ == "__main__":
    sys.exit(main())
