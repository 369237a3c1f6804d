"""The front ends: the only rooms that read input and write output.

Rule: a front end reads lines, hands them to a
:class:`~doer.console.session.Console`, and prints what comes back; what a
command does lives in :mod:`doer.console`. A new front end is one module here.

- :mod:`~doer.frontends.shell`: the interactive shell (prompt-toolkit);
- :mod:`~doer.frontends.lines`: line mode, for terminals it should not draw on;
- :mod:`~doer.frontends.plain`: plain mode, for pipes and scripts
  (:mod:`~doer.frontends.jsonl` for ``--jsonl`` records,
  :mod:`~doer.frontends.readahead` for reading a pipe ahead);
- :mod:`~doer.frontends.input_line`: the line being typed, bounded.
"""
