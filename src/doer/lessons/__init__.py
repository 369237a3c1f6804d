"""The lessons: handlers that show how a thread, a process and a task differ.

Rule: they run inside a worker, so they import what :mod:`doer.worker` may
(:mod:`doer.base` and the standard library). What a lesson says must be true on
any machine: each one measures what it reports, and names a cause only when
it has seen it. Add a lesson here (listed in
``LESSON_HANDLERS``), and its help line to ``MESSAGE_HELP`` in
:mod:`doer.console.syntax`; ``LESSONS`` there is the class plan of
``docs/classroom.doer``, for a lesson the class runs too.

- :mod:`~doer.lessons.handlers`: ``incr``, ``race``, ``work``, ``inherited``,
  ``die``, ``segfault`` and the rest;
- :mod:`~doer.lessons.measure`: what ``work`` measures (CPU time, the waits for
  a CPU and for the GIL, the samples of ``.timeline``) and how it says it;
- :mod:`~doer.lessons.deadlock`: ``deadlock``, two workers taking two locks in
  opposite orders (or in one);
- :mod:`~doer.lessons.lesson_locks`: those locks, A and B, and who holds and
  who waits for which, which the console's ``.locks`` reads.
"""
