"""What the tests share: helpers, the pty and shell drivers, test handlers, fuzz checks.

A package, so that the names of its modules shadow nothing (``pty_helpers``, not
``pty``) and a spawned worker imports the test handlers as ``support.handlers``:
``tests/`` is on the ``sys.path`` of the test run (the folder of ``conftest.py``,
put there by pytest) and of every worker process it spawns.
"""
