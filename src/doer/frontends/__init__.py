"""The front ends: the only rooms that read input and write output.

Rule: a front end reads lines, hands them to a
:class:`~doer.console.session.Console`, and prints what comes back; what a
command does lives in :mod:`doer.console`. A new front end is one module or
package here.

- :mod:`~doer.frontends.shell`: the interactive shell (prompt-toolkit), a
  package of one concern a module;
- :mod:`~doer.frontends.plain`: plain mode, for pipes and scripts
  (:mod:`~doer.frontends.jsonl` for ``--jsonl`` records,
  :mod:`~doer.frontends.readahead` for reading a pipe ahead);
- :mod:`~doer.frontends.lines`: line mode, plain mode with a prompt, for
  terminals it should not draw on (:mod:`~doer.frontends.terminal` says which).

Each front end takes a dot-command's outcome in one class, an
:class:`~doer.console.outcomes.OutcomeHandler`:
``handle(console.outcome_of(command), outcomes)``.
"""
