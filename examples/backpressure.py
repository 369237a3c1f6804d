"""Backpressure: a producer far faster than its worker, with a bounded mailbox and without.

Each worker takes 20 ms a message (``sleep 0.02``); the producer sends 50
messages as fast as ``tell`` lets it. Into ``slow``'s mailbox of 5, each
``tell`` past the fifth waits for an answer to make room: the producer runs
at the worker's pace and at most 5 requests wait in memory. Into ``open``'s,
with no bound, all 50 go at once and wait there.
"""

import time

import doer

slow = doer.start("thread", name="slow", mailbox=5)
unbounded = doer.start("thread", name="open")
for worker in (slow, unbounded):
    began = time.perf_counter()
    for sent in range(1, 51):
        worker.tell(("sleep", 0.02))
        if sent % 10 == 0:
            print(f"{worker.name}: {sent} sent, {worker.pending} pending")
    print(f"{worker.name}: 50 sent in {time.perf_counter() - began:.2f} s")
doer.stop_all([slow, unbounded], timeout=10)
