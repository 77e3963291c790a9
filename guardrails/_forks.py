"""What a forked child must not inherit from its parent: threads, and the state that counts on them.

A child made by ``fork`` (multiprocessing's default start method on Linux, gunicorn ``--preload``, Celery's
prefork pool) gets a copy of every object of its parent but only the thread that forked. A thread pool, a
worker count or a lock held by another thread is then a lie: work handed to it waits forever. Objects that own
threads register a reset here, which runs in each child right after the fork (``os.register_at_fork``), so
they start their threads again on first use.

torch's CPU thread pool (OpenMP) cannot be restarted in a child at all once it has run in the parent: the
child hangs in its first parallel operation. A child of a parent that ran torch on several threads therefore
runs torch on one thread.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Callable
from typing import Any

#: object -> the function that resets it in a child (held weakly: a dead object needs no reset)
_RESETS: weakref.WeakKeyDictionary[Any, Callable[[Any], None]] = weakref.WeakKeyDictionary()
_torch_used = [False]  # this process ran torch, so its thread pool may have started
_torch_one_thread = [False]  # this process is a fork child of such a process


def forget_threads_in_child(obj: Any, reset: Callable[[Any], None]) -> None:
    """Call ``reset(obj)`` in every child forked while ``obj`` lives (pass an unbound function, not a bound
    method, so that the registry does not keep ``obj`` alive)."""
    _RESETS[obj] = reset


def torch_threads_started() -> None:
    """Record that this process runs torch (call it where torch's threads are set, before the first run)."""
    _torch_used[0] = True


def torch_threads(wanted: int) -> int:
    """The intra-op threads torch may use here: ``wanted``, or 1 in a fork child of a process that ran torch."""
    return 1 if _torch_one_thread[0] else wanted


def _after_fork_in_child() -> None:
    for obj, reset in list(_RESETS.items()):
        reset(obj)
    torch = sys.modules.get("torch")
    if _torch_used[0] and torch is not None:
        torch.set_num_threads(1)
        _torch_one_thread[0] = True


os.register_at_fork(after_in_child=_after_fork_in_child)
