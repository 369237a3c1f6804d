"""The library: the console's side of a worker, for any program.

Rule: it never prints and never imports prompt-toolkit; it reports through
return values, exceptions and listener callbacks. It stands on
:mod:`doer.base`, :mod:`doer.worker` (the handlers' types) and :mod:`doer.kinds`.

- :mod:`~doer.client.worker`: :func:`~doer.client.worker.start`,
  :class:`~doer.client.worker.Worker` (send, wait, stop) and
  :func:`~doer.client.worker.stop_all`;
- :mod:`~doer.client.replies`: the one reader of a worker's response queue.
"""
