"""Span arithmetic shared by the PII detector and the redactor (no heavy imports)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from guardrails.types import Finding


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Return non-overlapping findings, sorted by start offset.

    Rules, in order: a span that contains another wins over it (so a redaction never
    leaves part of a longer value in clear); otherwise the higher score wins, then the
    longer span, then the earlier one. Findings without a span are dropped.
    O(n log n) for the usual case (the kept spans are searched by bisection).
    """
    spanned = [f for f in findings if f.start is not None and f.end is not None and f.end > f.start]
    ranked = sorted(spanned, key=lambda f: (-float(f.score), -(_end(f) - _start(f)), _start(f)))
    starts: list[int] = []  # kept spans, sorted by start (they never overlap each other)
    kept: list[Finding] = []
    for cand in ranked:
        cs, ce = _start(cand), _end(cand)
        # kept spans overlapping [cs, ce): the one before cs (if it reaches past cs) and those starting before ce
        lo = bisect.bisect_right(starts, cs) - 1
        if lo >= 0 and _end(kept[lo]) <= cs:
            lo += 1
        lo = max(lo, 0)
        hi = bisect.bisect_left(starts, ce)
        clashing = kept[lo:hi]
        if clashing and not all(cs <= _start(k) and _end(k) <= ce and _end(k) - _start(k) < ce - cs for k in clashing):
            continue
        del kept[lo:hi]
        del starts[lo:hi]
        kept.insert(lo, cand)
        starts.insert(lo, cs)
    return kept


def _start(f: Finding) -> int:
    return f.start if f.start is not None else 0


def _end(f: Finding) -> int:
    return f.end if f.end is not None else 0


def overlaps(a: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    """True when the half-open span ``a`` overlaps any of ``spans``."""
    return any(a[0] < e and s < a[1] for s, e in spans)
