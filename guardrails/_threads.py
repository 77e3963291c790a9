"""How many threads the CPU models (ONNX Runtime, torch) may use."""

from __future__ import annotations

import os

#: the most threads $GUARDRAILS_THREADS may ask for (each is an ONNX session of its own in a batch: ~50 MB)
MAX_THREADS = 64


def default_threads() -> int:
    """``$GUARDRAILS_THREADS`` when set, else the CPUs this process may run on, at most 4."""
    env = os.environ.get("GUARDRAILS_THREADS")
    if env:
        try:
            wanted = int(env)
        except ValueError:
            wanted = 0
        if not 1 <= wanted <= MAX_THREADS:
            raise ValueError(f"GUARDRAILS_THREADS must be a whole number from 1 to {MAX_THREADS}, got {env[:20]!r}")
        return wanted
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))
