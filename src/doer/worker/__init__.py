"""The worker side: what runs inside a worker, whatever its kind.

Rule: only :mod:`doer.base` and the standard library. This is what a spawned
process (or a Ray actor, or a subinterpreter) imports before its first
answer: nothing of the console, the front ends or prompt-toolkit.

- :mod:`~doer.worker.doer`: the :class:`~doer.worker.doer.Doer` loop and its
  built-in handlers;
- :mod:`~doer.worker.handler_modules`: your own handlers, marked with
  ``@doer.handler`` in a module or file of yours, loaded in the worker.
"""
