"""A word-frequency job: send text, then ask for the most common words.

::

    doer --handlers examples/handlers/words.py --kind process
    > count 'the cat and the hat'
    > top 2

The counts are the worker's state, so a process keeps its own and a thread
shares the console's memory (``.peek`` shows the difference).
"""

import collections
import re

import doer

_WORD = re.compile(r"[a-z']+")


def _counts(worker):
    """The counts so far: the worker's state, once it is one."""
    if isinstance(worker.state, collections.Counter):
        return worker.state
    return collections.Counter()


@doer.handler("count")
def count(worker, text):
    """count the words of TEXT (quote it: 'the cat'); how many words so far"""
    counts = _counts(worker)
    counts.update(_WORD.findall(str(text).lower()))
    worker.state = counts
    return sum(counts.values())


@doer.handler("top")
def top(worker, n=3):
    """the N most common words so far, with their counts"""
    return _counts(worker).most_common(n)
