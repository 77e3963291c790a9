"""Latency percentiles of an eval run: linear interpolation between the two nearest ranks.

The ``q`` percentile of ``n`` sorted values sits at position ``q * (n - 1)`` (0-based); between two values it is
interpolated linearly (numpy's default ``linear`` method). So p50 is the median, and p95 of 20 values lies between
the 19th and the 20th, not at the slowest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["latency_summary", "percentile"]


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile (0 <= q <= 1) of ``values`` by linear interpolation; a ValueError when there are none."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be between 0 and 1, got {q!r}")
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile needs at least one value")
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency_summary(latencies_ms: Iterable[float]) -> dict[str, float]:
    """``{"p50", "p95"}`` in milliseconds, rounded to 0.01 (both 0.0 when nothing was measured)."""
    values = list(latencies_ms)
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    return {"p50": round(percentile(values, 0.5), 2), "p95": round(percentile(values, 0.95), 2)}
