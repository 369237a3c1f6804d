"""The groups of rows of ``make bench``, one module each; ``scripts/bench.py`` runs them.

Every module measures one group of the performance report and returns its
rows (:class:`benchmarks.common.Row`): a figure for doer, the baseline it is
measured against in the same run, the ratio or difference, the target and the
verdict. The principles they share, because the machine is small (2 cores),
shared and noisy:

- every figure next to a baseline measured in the same run, in interleaved
  rounds (which one goes first alternates), and the verdict on the median over
  the rounds, never on a single timing;
- where the scheduler's placement of two partners decides a timing (a round
  trip), both are pinned, the same way for doer and its baseline;
- every process started is stopped, joined or killed before the group ends
  (the bench is a child subreaper and checks at the end that nothing of its
  own is left).

Modules (``scripts/bench.py`` says in which order they run):

``launches``
    launch to first prompt per kind next to ``import prompt_toolkit``.
``round_trips``
    ``ask`` p50 and p99 per kind next to a raw echo over the same primitive
    (the subjects, doer's and raw, are in ``echoes``).
``memory``
    the console's RSS with 32 workers; each worker's own memory.
``mailboxes``
    1,000,000 ``tell`` calls into a bounded mailbox: peak RSS growth, next to an
    unbounded one (each in a fresh process: ``mailbox_child``).
``lessons``
    the GIL and race lessons' shapes.
``burst``
    ``.repeat 10000 ping`` on a 24x80 screen, and keys typed during it.
``many_workers``
    32 workers in one console; stopping 32 workers through the library.
``screen``
    typed round trip through a pty, key echo on a long line.
``plain_mode``
    100,000 piped lines per kind, the transcript checked line by line.
``throughput``
    100,000 pipelined ``tell``s per kind next to the raw primitive.
``ray_kind``
    a private Ray cluster's start, a Ray worker's start, round trip and
    pipelined rate next to Ray's own calls, and an actor's death seen.

Shared: ``common`` (the row, statistics, the environment, processes),
``terminal`` (the console in a pty: :mod:`doer.testing.driver`, the driver of
the pytest plugin and the end-to-end tests, with the bench's keys and ends),
``table`` (text and markdown).
"""
