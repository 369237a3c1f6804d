"""The console's core, shared by every front end.

Rule: it decides what a line means and what to say, and never touches stdout
or a terminal: the front ends print what it returns. It stands on
:mod:`doer.client` and the rooms below it.

- :mod:`~doer.console.syntax`: what a typed line means, before anything is done;
- :mod:`~doer.console.session`: the workers by name and what the commands do
  to them (:class:`~doer.console.session.Console`, its settings);
- :mod:`~doer.console.render`: the lines the console prints, as styled fragments;
- :mod:`~doer.console.transcript`: what was printed, kept for ``.save``.
"""
