"""Confidence intervals for the rates ``guardrails eval`` reports.

Evaluation sets are small (100 rows is common), so a rate alone overstates what was
measured: 94 of 100 caught is compatible with a true recall anywhere from about 0.88 to
0.97. The Wilson score interval is used because it stays inside [0, 1] and keeps its
coverage near 0 and 1, where guard metrics live (recall near 1, flag rates near 0).
"""

from __future__ import annotations

import math

__all__ = ["Z95", "wilson_interval"]

#: the two-sided 95% normal quantile
Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``n`` (95% by default), rounded to 4 places."""
    if isinstance(successes, bool) or isinstance(n, bool) or not isinstance(successes, int) or not isinstance(n, int):
        raise TypeError(f"successes and n must be integers, got {successes!r} and {n!r}")
    if n <= 0:
        raise ValueError(f"n must be >= 1, got {n!r}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n={n}], got {successes!r}")
    if not z > 0:
        raise ValueError(f"z must be > 0, got {z!r}")
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return round(lo, 4), round(hi, 4)
