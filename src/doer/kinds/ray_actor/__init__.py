"""The Ray kind: the same worker as a Ray actor, on this machine or a cluster.

Nothing here imports Ray until a Ray worker is started (``doer[ray]``).

- :mod:`~doer.kinds.ray_actor.link`: the console's side;
- :mod:`~doer.kinds.ray_actor.driver`: the process between the console and the actor;
- :mod:`~doer.kinds.ray_actor.actor`: the :class:`~doer.worker.doer.Doer` inside the actor;
- :mod:`~doer.kinds.ray_actor.cluster`: the console's private local cluster.
"""
