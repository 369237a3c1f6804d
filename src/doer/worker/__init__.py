"""The worker side: what runs inside a worker, whatever its kind.

Rule: only :mod:`doer.base`, :mod:`doer.lessons` (handlers every worker
knows) and the standard library. This is what a spawned process (or a Ray
actor) imports before its first answer: nothing of the
console, the front ends or prompt-toolkit.

- :mod:`~doer.worker.doer`: the :class:`~doer.worker.doer.Doer` loop;
- :mod:`~doer.worker.builtin_handlers`: the messages every worker knows
  (``ping``, ``whoami``, ``sleep``... and the lessons);
- :mod:`~doer.worker.handler_modules`: your own handlers, marked with
  ``@doer.handler`` in a module or file of yours, loaded in the worker.
"""
