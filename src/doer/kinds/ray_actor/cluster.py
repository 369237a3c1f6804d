"""The Ray kind's private local cluster: ``python -m doer.kinds.ray_actor.cluster``.

Usage: ``python -m doer.kinds.ray_actor.cluster [--remove LOG]`` (LOG: a file to
remove once the cluster is down, the console's default log).

The console starts this program (in a session of its own, so the terminal's
Ctrl-C never reaches Ray's processes) for its first Ray worker that names no
address. It starts a cluster with ``ray.init(address="local")`` (always a new
one: never somebody else's that happens to run here), writes one JSON line to
stdout (``{"address": ..., "session_dir": ...}``, or ``{"error": ...}``) and
waits for stdin to close: the console closes it at ``.quit``, and the system
closes it when the console dies in any way. Then it shuts the cluster down and
removes the session folder Ray left under ``/tmp/ray``.

Everything Ray prints goes to stderr, which the console points at its Ray log.
Token authentication stays on: Ray makes a token the first time
(``~/.ray/auth_token``), and an environment that turns it off is overruled.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from typing import Any, TextIO


def main() -> int:
    report = os.fdopen(os.dup(1), "w")  # the console's pipe
    os.dup2(2, 1)  # whatever Ray prints from here goes to the log
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _exit)
    _keep_authentication_on()
    try:
        import logging

        import ray

        context: Any = ray.init(
            address="local",
            include_dashboard=False,
            logging_level=logging.ERROR,
            log_to_driver=False,
            namespace="doer",
        )
    except Exception as exc:
        _say(report, {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]})
        return 1
    session_dir = context.address_info["session_dir"]
    try:
        _say(report, {"address": context.address_info["gcs_address"], "session_dir": session_dir})
        sys.stdin.buffer.read()  # until the console closes it, or is gone
    except SystemExit:
        pass
    finally:
        ray.shutdown()
        remove_session(session_dir)
        if sys.argv[1:2] == ["--remove"]:  # the console's default log: it has ended
            try:
                os.remove(sys.argv[2])
            except OSError:
                pass
    return 0


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _say(report: TextIO, message: dict[str, str]) -> None:
    report.write(json.dumps(message) + "\n")
    report.flush()


def token_found() -> bool:
    """Whether a Ray token is at hand: in the environment, or in its file."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.expanduser("~/.ray/auth_token")
    return os.path.isfile(path)


def _keep_authentication_on() -> None:
    """Never start a cluster without authentication.

    With a token at hand, say ``token`` outright (which also spares the log
    Ray's warning about the default); without one, leave the mode unset, and
    Ray makes a token (``~/.ray/auth_token``) as it starts.
    """
    if token_found():
        os.environ["RAY_AUTH_MODE"] = "token"
    else:
        os.environ.pop("RAY_AUTH_MODE", None)


def remove_session(session_dir: str) -> None:
    """Remove a finished cluster's folder, and the ``session_latest`` link to it."""
    shutil.rmtree(session_dir, ignore_errors=True)
    latest = os.path.join(os.path.dirname(session_dir), "session_latest")
    try:
        if os.path.realpath(latest) == os.path.realpath(session_dir):
            os.unlink(latest)
    except OSError:
        pass  # another cluster's, or gone


if __name__ == "__main__":
    sys.exit(main())
