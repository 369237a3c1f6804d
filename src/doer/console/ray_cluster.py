"""The Ray cluster this console's Ray workers join, from the first one's start to ``.quit``.

A Ray worker joins the cluster its ``--address`` names, else the command
line's, else a private one that the first Ray worker starts
(:mod:`doer.kinds.ray_actor.cluster`) and that runs until the console stops
it. Only the Ray kind's module knows whether one runs; it is imported with the
first Ray worker, so a console without one never loads it.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

#: The module of the Ray kind, which keeps the private cluster.
_RAY_LINK = "doer.kinds.ray_actor.link"


class RayOptions(NamedTuple):
    """A Ray worker's ``--address`` (None: the private cluster) and ``--shared``."""

    address: str | None = None
    shared: bool = False


class RayCluster:
    """Each Ray worker's cluster and sharing, by name, and the private cluster's end."""

    def __init__(self) -> None:
        self._options: dict[str, RayOptions] = {}

    def joined(self, name: str, given: RayOptions | None, address: str | None) -> RayOptions:
        """The options Ray worker ``name`` starts with (``address``: the command line's,
        where none is given), kept for its ``.restart``."""
        options = given or RayOptions()
        options = options._replace(address=options.address or address)
        self._options[name] = options
        return options

    def rejoined(self, name: str, said: RayOptions) -> RayOptions:
        """The options of ``.restart``: as worker ``name`` had them, but for what is said again."""
        was = self._options.get(name, RayOptions())
        return RayOptions(said.address or was.address, said.shared or was.shared)

    def forget(self) -> None:
        """Forget every worker's options (``.reset``); a private cluster keeps running."""
        self._options.clear()

    def runs(self) -> bool:
        """Whether this console started a private Ray cluster not yet stopped (one that
        died is stopped too: what it left is cleaned up)."""
        ray = sys.modules.get(_RAY_LINK)  # never imported: no Ray worker, no cluster
        return ray is not None and ray.running_cluster() is not None

    def stop(self) -> None:
        """Shut down the private Ray cluster, if one runs (a second or two)."""
        ray = sys.modules.get(_RAY_LINK)
        if ray is not None:
            ray.stop_local_cluster()
