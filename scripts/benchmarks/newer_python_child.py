"""Measured under a newer Python (run as a script by :mod:`benchmarks.newer_pythons`).

``interpreters``: under Python 3.13+, ``ask("ping")`` through an interpreter
worker against a bare ``os.pipe`` echo between two interpreters of this
process, in interleaved blocks, pinned on one CPU and across two; the start
of an interpreter worker, a thread worker and a fork process worker; ``work``
on one interpreter, then on two at once.
``threads``: under a free-threaded Python, ``work`` on one thread, then two.
Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import pickle
import statistics
import sys
import time
from typing import Any

import doer

BLOCKS = 40
BLOCK = 50
STARTS = 5
WORK_STEPS = 3_000_000
#: The CPUs this process may run on, as it started.
CPUS = os.sched_getaffinity(0)

#: The bare echo's far end, run in a subinterpreter: each message read is unpickled,
#: and pickled again to be sent back (as the process kind's baseline, a Pipe's
#: ``send``/``recv``, pickles both ways).
ECHO = """
import os, pickle
while True:
    data = os.read(_echo_in, 65536)
    if not data:
        break
    os.write(_echo_out, pickle.dumps(pickle.loads(data)))
"""

#: The message echoed: the shape of doer's ``Request(id, "ping")``.
RAW_MESSAGE = (1, "ping")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(fraction * len(ordered) + 0.999999) - 1)]


def bare_echo() -> tuple[Any, Any, Any]:
    """A subinterpreter echoing on a pair of pipes, run by a thread; (ask, stop, thread)."""
    import threading

    from doer.kinds.interpreter import interpreters_module

    module: Any = interpreters_module()
    interpreter = module.create()
    theirs_in, ours_out = os.pipe()
    ours_in, theirs_out = os.pipe()
    interpreter.prepare_main(_echo_in=theirs_in, _echo_out=theirs_out)
    thread = threading.Thread(target=interpreter.exec, args=(ECHO,), name="bare-echo", daemon=True)
    thread.start()

    def ask() -> Any:
        os.write(ours_out, pickle.dumps(RAW_MESSAGE))
        return pickle.loads(os.read(ours_in, 65536))

    def stop() -> None:
        os.close(ours_out)
        thread.join()
        interpreter.close()
        for fd in (theirs_in, theirs_out, ours_in):
            os.close(fd)

    return ask, stop, thread


def round_trips(placement: str) -> dict[str, Any]:
    """Interleaved blocks of doer's ask and the bare echo, both far ends pinned as
    ``placement`` says: ``1 CPU`` (caller and far end on CPU 0) or ``2 CPUs`` (the
    far end on CPU 1). Where the scheduler puts two partners decides a round trip,
    and a pair keeps the placement it started with: so both are pinned alike."""
    worker = doer.start("interpreter", name="i1")
    started = worker.wait_started(30)
    ask_echo, stop_echo, echo_thread = bare_echo()
    far = {0} if placement == "1 CPU" else {1}
    os.sched_setaffinity(0, {0})  # this thread: the caller
    os.sched_setaffinity(started.thread_id, far)
    os.sched_setaffinity(echo_thread.native_id, far)
    for _ in range(200):  # warm both
        worker.ask("ping")
        ask_echo()
    samples: dict[str, list[float]] = {"doer": [], "bare": []}
    clock = time.perf_counter
    for block in range(BLOCKS):
        order = ("doer", "bare") if block % 2 == 0 else ("bare", "doer")
        for subject in order:
            ask = (lambda: worker.ask("ping")) if subject == "doer" else ask_echo
            timed = samples[subject]
            for _ in range(BLOCK):
                began = clock()
                ask()
                timed.append(clock() - began)
    worker.stop()
    stop_echo()
    os.sched_setaffinity(0, CPUS)
    return {
        subject: {"p50": statistics.median(times), "p99": percentile(times, 0.99)}
        for subject, times in samples.items()
    }


def starts() -> dict[str, float]:
    """The median start of each kind, from start() to its start event, after one to warm."""
    found = {}
    for kind, method in (("interpreter", None), ("thread", None), ("process", "fork")):
        times = []
        for _ in range(STARTS + 1):
            began = time.perf_counter()
            worker = doer.start(kind, start_method=method)
            worker.wait_started(30)
            times.append(time.perf_counter() - began)
            worker.stop()
        found[kind if method is None else f"{kind} ({method})"] = statistics.median(times[1:])
    return found


def work_alone_and_together(kind: str) -> dict[str, float]:
    """Wall time of one ``work``, then of two at once on two workers (the longer)."""
    workers = [doer.start(kind), doer.start(kind)]
    for worker in workers:
        worker.wait_started(30)
        worker.ask(("work", 100_000))
    began = time.perf_counter()
    workers[0].ask(("work", WORK_STEPS), timeout=120)
    alone = time.perf_counter() - began
    began = time.perf_counter()
    pendings = [worker.tell(("work", WORK_STEPS)) for worker in workers]
    answers = [pending.result(120) for pending in pendings]
    together = time.perf_counter() - began
    doer.stop_all(workers)
    return {"alone": alone, "together": together, "answer": answers[0]}


def main() -> int:
    what = sys.argv[1]
    if what == "interpreters":
        result = {
            "python": sys.version.split()[0],
            "round_trips": {
                placement: round_trips(placement)
                for placement in ("1 CPU", "2 CPUs")
                if placement == "1 CPU" or len(CPUS) > 1
            },
            "starts": starts(),
            "work": work_alone_and_together("interpreter"),
        }
    else:
        result = {"python": sys.version.split()[0], "work": work_alone_and_together("thread")}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
