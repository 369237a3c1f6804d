"""The ray kind: a private cluster, a Ray worker's round trip next to Ray's own, its faults.

Cluster up
    From asking for a private cluster (``python -m doer.kinds.ray_actor.cluster``,
    what the console starts for its first Ray worker) to its address. No
    target: it is Ray's start-up, reported so the console's "a few seconds"
    stays true.
Worker start
    From ``doer.start("ray")`` to its start event, on the running cluster:
    the first worker, then the median of :data:`STARTS` more.
ask p50 and p99
    :data:`ASKS` sequential ``ask("ping")`` through doer (console, pipe, the
    worker's driver process, Ray's actor call, and back), against the same
    number of ``ray.get(actor.ping.remote())`` from a plain Ray driver to a
    plain actor on the same cluster: the baseline is Ray alone. Interleaved
    rounds, as for the other kinds; a Ray driver of its own runs the
    baseline (in a child process, whose output goes to the log).
Pipelined
    :data:`TELLS` ``tell``s then every answer, against as many ``.remote()``
    calls then one ``ray.get`` of them all.
Death seen
    From SIGKILL of an idle actor's process to the worker's ``Died`` record
    (the issue's target: within a second), :data:`DEATHS` times.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import TypedDict

import doer
from benchmarks.burst import BURST, library_burst_s
from benchmarks.common import Row, median, not_measured, per_second, percentile, rate, verdict

ASKS = 1000
ROUNDS = 3
STARTS = 3
TELLS = BURST
DEATHS = 3
DEATH_TARGET_S = 1.0

#: The baseline: a plain Ray driver and actor, the same calls without doer.
RAW = """
import json, logging, sys, time
import ray
ray.init(address=sys.argv[1], log_to_driver=False, logging_level=logging.ERROR)

@ray.remote
class Echo:
    def ping(self):
        return "pong"

actor = Echo.remote()
ray.get(actor.ping.remote())
rounds = []
for _ in range(int(sys.argv[2])):
    samples = []
    for _ in range(int(sys.argv[3])):
        began = time.perf_counter()
        ray.get(actor.ping.remote())
        samples.append(time.perf_counter() - began)
    rounds.append(samples)
began = time.perf_counter()
ray.get([actor.ping.remote() for _ in range(int(sys.argv[4]))])
print(json.dumps({"rounds": rounds, "pipelined_s": time.perf_counter() - began}))
"""


def run() -> list[Row]:
    from doer.kinds.ray_actor import link as ray_kind

    if not ray_kind.installed():
        return [not_measured("ray kind", "Ray is not installed: pip install 'doer[ray]'")]
    os.environ.pop(ray_kind.ADDRESS_VARIABLE, None)
    asked = time.monotonic()
    cluster = ray_kind.local_cluster()
    if not cluster.wait(120) or cluster.address is None:
        ray_kind.stop_local_cluster()
        return [not_measured("ray kind", f"the cluster did not start: {cluster.error}")]
    up_s = time.monotonic() - asked
    try:
        return _rows(cluster.address, up_s)
    finally:
        began = time.monotonic()
        ray_kind.stop_local_cluster()
        print(f"  (the private cluster shut down in {time.monotonic() - began:.1f} s)")


def _rows(address: str, up_s: float) -> list[Row]:
    starts = [_start_time() for _ in range(1 + STARTS)]
    worker = doer.start("ray")
    try:
        worker.wait_started(60)
        raw = _raw_baseline(address)
        ours = [_asks(worker) for _ in range(ROUNDS)]
        pipelined_s = library_burst_s(worker)  # TELLS pings told, every answer in
    finally:
        worker.stop()
    deaths = [_death_seen() for _ in range(DEATHS)]
    rows = [
        Row("ray: a private cluster up", f"{up_s:.1f} s", "", "", "", ""),
        Row(
            "ray: worker start (first; then median)",
            f"{starts[0] * 1000:.0f} ms; {median(starts[1:]) * 1000:.0f} ms",
            "",
        ),
    ]
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        doer_s = median([percentile(samples, fraction) for samples in ours])
        raw_s = median([percentile(samples, fraction) for samples in raw["rounds"]])
        rows.append(
            Row(
                f"ray: ask {name}, {ASKS:,} pings x {ROUNDS}",
                f"{doer_s * 1e6:,.0f} us",
                f"{raw_s * 1e6:,.0f} us  ray.get(actor.ping.remote())",
                f"{doer_s / raw_s:.2f}x",
            )
        )
    doer_rate = rate(TELLS, pipelined_s)
    raw_rate = rate(TELLS, raw["pipelined_s"])
    rows.append(
        Row(
            f"ray: pipelined, {TELLS:,} tells",
            per_second(doer_rate),
            per_second(raw_rate) + "  .remote() x N, one ray.get",
            f"{doer_rate / raw_rate:.2f}x",
        )
    )
    rows.append(
        Row(
            "ray: an idle actor killed, seen dead",
            ", ".join(f"{seconds * 1000:.0f} ms" for seconds in deaths),
            "",
            "",
            f"<= {DEATH_TARGET_S:g} s each",
            verdict(max(deaths) <= DEATH_TARGET_S),
        )
    )
    return rows


def _start_time() -> float:
    began = time.monotonic()
    worker = doer.start("ray")
    try:
        worker.wait_started(60)
        return time.monotonic() - began
    finally:
        worker.stop()


def _asks(worker: doer.Worker) -> list[float]:
    samples = []
    for _ in range(ASKS):
        began = time.perf_counter()
        worker.ask("ping", timeout=30)
        samples.append(time.perf_counter() - began)
    return samples


class Raw(TypedDict):
    rounds: list[list[float]]
    pipelined_s: float


def _raw_baseline(address: str) -> Raw:
    from doer.kinds.ray_actor.link import log_path

    with open(log_path(), "ab") as log:
        done = subprocess.run(
            [sys.executable, "-c", RAW, address, str(ROUNDS), str(ASKS), str(TELLS)],
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "RAY_AUTH_MODE": "token"},
            timeout=300,
            check=True,
        )
    measured: Raw = json.loads(done.stdout)
    return measured


def _death_seen() -> float:
    dead = threading.Event()
    worker = doer.start("ray", listener=lambda worker, record: _note_end(record, dead))
    try:
        worker.wait_started(60)
        began = time.monotonic()
        os.kill(worker.pid, signal.SIGKILL)
        if not dead.wait(10):
            return float("inf")
        return time.monotonic() - began
    finally:
        worker.stop()


def _note_end(record: object, dead: threading.Event) -> None:
    if isinstance(record, doer.Died | doer.Ended):
        dead.set()
