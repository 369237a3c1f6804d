"""The ground floor: what every other room stands on.

Rule: standard library only, and nothing of doer's outside this package. A
worker's interpreter and the console both import it, so it stays light.

- :mod:`~doer.base.protocol`: the records that travel between the console and
  a worker, and the parsing of a typed line into a message;
- :mod:`~doer.base.errors`: doer's exceptions;
- :mod:`~doer.base.handoff`: many items handed from other threads to an event
  loop for one wake-up;
- :mod:`~doer.base.procfs`: what Linux's ``/proc`` says of a process, and the
  child subreaper.
"""
