"""Testing your own use of doer, and what doer's own tests and benchmarks drive it with.

Rule: imported only by pytest (through the ``pytest11`` entry point), by tests
(yours and doer's) and by doer's benchmarks; nothing else in doer imports it.
It may import base, worker, kinds, client and console; pexpect only when a
console is started.

- :mod:`~doer.testing.driver`: the one pexpect driver of the ``doer`` console:
  started in a pty of a given size and environment, a wait for its prompt, a
  line typed and its answer taken, its end, and everything it printed kept;
  the plugin, ``tests/support/pty_helpers.py`` and ``scripts/benchmarks`` build on it;
- :mod:`~doer.testing.plugin`: the ``doer_worker`` and ``doer_console`` fixtures.
"""
