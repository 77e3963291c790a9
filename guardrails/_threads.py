"""How many threads the CPU models (ONNX Runtime, torch) may use."""

from __future__ import annotations

import os


def default_threads() -> int:
    """``$GUARDRAILS_THREADS`` when set, else the CPUs this process may run on, at most 4."""
    env = os.environ.get("GUARDRAILS_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"GUARDRAILS_THREADS must be an integer, got {env!r}") from None
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))
