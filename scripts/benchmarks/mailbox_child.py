"""Measured in a fresh process (run as a script by :mod:`benchmarks.mailboxes`).

``library BOUND``: ``doer.start("thread", mailbox=BOUND)`` (``unbounded``: no
bound), then 1,000,000 ``tell("ping")`` from this thread, as fast as the
mailbox lets them go, then every answer waited for. Prints one JSON object: how
much this process's peak RSS (``VmHWM``) grew over the run, the most requests
pending at once (sampled), and the seconds it took.

``plain BOUND LINES``: ``doer --mailbox BOUND`` (``unbounded``: without it) in
plain mode, LINES ``ping`` lines piped in as fast as it reads them. Prints the
console's peak RSS (this process's only child, waited for) and the seconds.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import doer

TELLS = 1_000_000
BOUND = 100


def peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise LookupError("no VmHWM in /proc/self/status")


def plain(bound: str, lines: int) -> int:
    import resource
    import subprocess

    doer_command = Path(sys.executable).with_name("doer")
    args = [str(doer_command)] + ([] if bound == "unbounded" else ["--mailbox", bound])
    began = time.perf_counter()
    console = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert console.stdin is not None
    chunk = b"ping\n" * 10_000
    for _ in range(lines // 10_000):
        console.stdin.write(chunk)  # blocks while the console is behind: backpressure
    console.stdin.close()
    console.wait()
    took = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, on Linux
    print(json.dumps({"peak_kib": peak, "seconds": took, "status": console.returncode}))
    return 0


def main() -> int:
    if sys.argv[1] == "plain":
        return plain(sys.argv[2], int(sys.argv[3]))
    bound = None if sys.argv[2] == "unbounded" else BOUND
    worker = doer.start("thread", mailbox=bound)
    worker.wait_started(10)
    for _ in range(1000):  # warm: the first requests' allocations are not the run's
        worker.ask("ping")
    most = 0
    done = threading.Event()

    def sample() -> None:  # the backlog, every 10 ms
        nonlocal most
        while not done.wait(0.01):
            most = max(most, worker.pending)

    sampler = threading.Thread(target=sample, name="sampler", daemon=True)
    sampler.start()
    before = peak_kib()
    began = time.perf_counter()
    last = None
    for _ in range(TELLS):
        last = worker.tell("ping", parsed=True)
    assert last is not None
    last.result(600)
    took = time.perf_counter() - began
    done.set()
    sampler.join()
    grew = peak_kib() - before
    worker.stop()
    print(json.dumps({"grew_kib": grew, "most_pending": most, "seconds": took}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
