"""Testing your own use of doer.

Rule: imported only by pytest (through the ``pytest11`` entry point) or by your
tests; nothing else in doer imports it.

- :mod:`~doer.testing.plugin`: the ``doer_worker`` and ``doer_console`` fixtures.
"""
