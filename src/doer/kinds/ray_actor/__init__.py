"""The Ray kind: the same worker as a Ray actor, on this machine or a cluster.

Nothing here imports Ray until a Ray worker is started (``doer[ray]``).

- :mod:`~doer.kinds.ray_actor.link`: the console's side;
- :mod:`~doer.kinds.ray_actor.driver`: the process between the console and the actor
  (:mod:`~doer.kinds.ray_actor.joining`: how it joins the cluster, the handler
  files shipped; :mod:`~doer.kinds.ray_actor.texts`: what Ray says, in one line);
- :mod:`~doer.kinds.ray_actor.actor`: the :class:`~doer.worker.doer.Doer` inside the actor;
- :mod:`~doer.kinds.ray_actor.cluster`: the console's private local cluster.
"""

#: An actor's memory is its own process's, maybe on another machine: the lessons
#: say so (see Doer's ``own_memory``). Declared here, not in the actor's module
#: that builds the Doer, so that the console's side can say it without Ray.
OWN_MEMORY = True
