"""What Ray says, in one line: an error's cause, an actor's death, a cluster that
cannot be joined. Ray's own accounts run to a page; a worker's end is one line.
"""

from __future__ import annotations

import re

from doer.base.errors import ActorDidNotStart, HandlerError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cause_of(error: Exception) -> str:
    """The line that says why, in Ray's page about an error: its last ``XError: ...``
    line (Ray puts the cause last), without colours; else its first line."""
    lines = _ANSI.sub("", str(error)).splitlines()
    causes = [
        line.strip() for line in lines if re.match(r"\s*[A-Za-z_.]*(Error|Exception): ", line)
    ]
    return (causes[-1] if causes else first_line_of(error))[:200]


def first_line_of(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def actor_death_text(error: Exception) -> str:
    """One short line for Ray's page-long account of an actor's death."""
    text = str(error)
    for words, said in _DEATHS:
        if words in text:
            return said
    for marker in ("Worker exit detail: ", "The actor died because "):
        if marker in text:
            detail = text.split(marker, 1)[1].strip().splitlines()[0].split(". ", 1)[0]
            return f"its actor died: {detail.rstrip('.')}"[:60]
    return f"its actor died ({type(error).__name__})"


#: What Ray says of an actor's death, and what doer says of it.
_DEATHS = (
    ("connection error code 2", "its actor's process ended abruptly"),  # a signal, os._exit
    ("its node has died", "its actor's node died"),
    ("ray.kill", "its actor was killed with ray.kill, elsewhere"),
    ("died unexpectedly before finishing", "its actor is gone (ended elsewhere, or died)"),
)


def actor_did_not_start(error: Exception) -> ActorDidNotStart:
    """The actor failed as it started: the one line of Ray's account that says why."""
    cause = cause_of(error)
    hint = ""
    if cause.startswith("ModuleNotFoundError"):
        hint = " (it must be importable where the actor runs; --handlers ships a file)"
    return ActorDidNotStart(f"its actor failed: {cause}{hint}")


def not_started_text(address: str, error: Exception) -> str:
    """Why a worker's actor did not start, in one line: its handlers did not load
    there, it failed as it started, or the cluster at ``address`` could not be joined."""
    if isinstance(error, HandlerError):
        return f"its handlers did not load: {error}"
    if isinstance(error, ActorDidNotStart):
        return str(error)
    return connect_error(address, error)


def connect_error(address: str, error: Exception) -> str:
    """One short line (it follows ``w1 did not start:``) for a cluster that cannot be
    reached or refuses. The address is the one the user named: not said again."""
    name = type(error).__name__
    text = first_line_of(error)
    if name == "AuthenticationError":
        return NO_TOKEN
    if "ray[client]" in text or "ray.util.client" in text or name == "ModuleNotFoundError":
        return "a ray:// address needs: pip install 'ray[client]'"
    if text.startswith("no Ray cluster answers at "):  # ours: said as it is
        return text
    return f"cannot join the Ray cluster at {address}: {name}: {text}"[:300]


#: The cluster wants a token (it always does, unless its owner turned that off).
NO_TOKEN = "no token here for the cluster: set RAY_AUTH_TOKEN"
#: The cluster refused the token found here.
TOKEN_REFUSED = "the cluster refused our token: set RAY_AUTH_TOKEN"
