"""The console's core, shared by every front end.

Rule: it decides what a line means and what to say, and never touches stdout
or a terminal: the front ends print what it returns. It stands on
:mod:`doer.client` and the rooms below it.

- :mod:`~doer.console.syntax`: what a typed line means, before anything is done;
- :mod:`~doer.console.session`: the :class:`~doer.console.session.Console` a
  front end talks to, which puts the parts below together;
- :mod:`~doer.console.commands`: the dot-commands in one table, carried out by
  :mod:`~doer.console.worker_commands` and :mod:`~doer.console.session_commands`,
  each returning an outcome (:mod:`~doer.console.outcomes`); they load at the
  first command, not before the first prompt;
- :mod:`~doer.console.registry` (the workers by name, the current one),
  :mod:`~doer.console.launcher` (starting them),
  :mod:`~doer.console.sending` (lines sent without waiting),
  :mod:`~doer.console.settings`, :mod:`~doer.console.your_handlers`,
  :mod:`~doer.console.ray_cluster`, :mod:`~doer.console.help`;
- :mod:`~doer.console.kind_facts`: what is asked of a kind known only by its name;
- :mod:`~doer.console.render`: the lines the console prints, as styled fragments;
- :mod:`~doer.console.transcript`: what was printed, kept for ``.save``;
- :mod:`~doer.console.mailbox`: records kept until the shell's loop can take them.
"""
