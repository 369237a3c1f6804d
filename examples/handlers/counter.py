"""A counter: the worker's state is a number, and these messages change it.

Run it in any kind, unchanged::

    doer --handlers examples/handlers/counter.py --state 0
    doer --handlers examples/handlers/counter.py --kind process --start-method spawn

then type ``add``, ``add 5``, ``reset``, ``whose``.
"""

import os
import threading

import doer


@doer.handler("add")
def add(worker, amount=1):
    """add AMOUNT (default 1) to the state, a number"""
    worker.state = (worker.state or 0) + amount
    return worker.state


@doer.handler("reset")
def reset(worker):
    """set the state back to 0"""
    worker.state = 0
    return worker.state


@doer.handler("whose")
def whose(worker):
    """the pid and thread that ran this handler"""
    return f"pid {os.getpid()}, {threading.current_thread().name}"
