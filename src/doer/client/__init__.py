"""The library: the console's side of a worker, for any program.

Rule: it never prints and never imports prompt-toolkit; it reports through
return values, exceptions and listener callbacks. It stands on
:mod:`doer.base`, :mod:`doer.worker` (the handlers' types) and :mod:`doer.kinds`.

- :mod:`~doer.client.worker`: :func:`~doer.client.worker.start`,
  :class:`~doer.client.worker.Worker` (send, wait, stop) and
  :func:`~doer.client.worker.stop_all`: every name a program needs is there;
- :mod:`~doer.client.talking` and :mod:`~doer.client.stopping`: what a
  Worker does to send requests, and to stop (one worker, or many at once);
- :mod:`~doer.client.supervision`: restart policies (a worker that dies is
  started again, within a budget), and :mod:`~doer.client.restarting`: how;
- :mod:`~doer.client.ledger`: the requests in flight;
- :mod:`~doer.client.pending`: one request's answer to come;
- :mod:`~doer.client.replies`: the one reader of a worker's response queue;
- :mod:`~doer.client.as_typed`: a string sent is a line as typed at the prompt.
"""
