"""The process kind: a worker in a process of its own, over two pipes.

- :mod:`~doer.kinds.process.link`: the console's side (start, send, kill);
- :mod:`~doer.kinds.process.child`: what runs in the worker process (keep its
  imports light: a spawned worker pays for them at every start);
- :mod:`~doer.kinds.process.frames`: records as framed bytes on the pipes.
"""
