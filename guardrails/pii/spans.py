"""Span arithmetic shared by the PII detector and the redactor (no heavy imports)."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Sequence

from guardrails.types import Finding


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Return non-overlapping findings, sorted by start offset, that cover every character of every span.

    Findings are taken strongest first (higher score, then longer span, then earlier). A span
    that contains the kept spans it overlaps replaces them; a span inside a kept one is dropped;
    a span that only partly overlaps kept spans is merged with them into their union, so a
    redaction never leaves part of a value in clear. A union carries the label (and detector,
    category, score) of the strongest finding merged into it. Findings without a span are dropped.
    O(n log n) for the usual case (the kept spans are searched by bisection).
    """
    spanned = [f for f in findings if f.start is not None and f.end is not None and f.end > f.start]
    ranked = sorted(spanned, key=_strength)
    starts: list[int] = []  # kept spans, sorted by start (they never overlap each other)
    kept: list[Finding] = []
    strongest: list[Finding] = []  # per kept span: the strongest finding merged into it (itself when not merged)
    for cand in ranked:
        cs, ce = _start(cand), _end(cand)
        # kept spans overlapping [cs, ce): the one before cs (if it reaches past cs) and those starting before ce
        lo = bisect.bisect_right(starts, cs) - 1
        if lo >= 0 and _end(kept[lo]) <= cs:
            lo += 1
        lo = max(lo, 0)
        hi = bisect.bisect_left(starts, ce)
        clashing = kept[lo:hi]
        top = cand
        if clashing and not all(cs <= _start(k) and _end(k) <= ce and _end(k) - _start(k) < ce - cs for k in clashing):
            if any(_start(k) <= cs and ce <= _end(k) for k in clashing):
                continue  # inside a kept span: nothing of it is in clear
            # a partial overlap: the union of the candidate and everything it touches
            top = min(strongest[lo:hi], key=_strength)
            cand = dataclasses.replace(top, start=min(cs, _start(clashing[0])), end=max(ce, _end(clashing[-1])))
        del kept[lo:hi]
        del starts[lo:hi]
        del strongest[lo:hi]
        kept.insert(lo, cand)
        starts.insert(lo, _start(cand))
        strongest.insert(lo, top)
    return kept


#: entities read from words (names, places, organisations, dates): one inside another is another reading of the
#: same words ("Franklin St" in "51 Franklin St, Boston", "June" in "June Street"), not a value of its own
WORD_ENTITIES = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP", "DATE_TIME"})


def resolve_nested(findings: Iterable[Finding], *, depth: int = 3) -> list[Finding]:
    """:func:`resolve_overlaps`, keeping the findings of another label that a span contains.

    A container wins over what it contains there, whatever their scores; this keeps, next to it,
    each finding of another label inside it that is at least as strong (resolved among themselves
    the same way, ``depth`` levels down at most), so an SSN inside a long address span is still an
    SSN to whoever decides what to do with it (the redactor blocks or masks it as the profile says).
    A weaker finding inside a stronger one stays absorbed: the stronger reading of that text wins;
    so does one of :data:`WORD_ENTITIES` inside another (a name in a street address is part of it).
    Sorted by start, a container before what it contains; spans at one depth never overlap.
    O(n log n) per level.
    """
    spanned = [f for f in findings if f.start is not None and f.end is not None and f.end > f.start]
    kept = resolve_overlaps(spanned)
    if depth <= 0:
        return kept
    starts = [_start(k) for k in kept]
    inner: list[Finding] = []
    for f in spanned:
        i = bisect.bisect_right(starts, _start(f)) - 1
        if i < 0:
            continue
        k = kept[i]
        if _end(f) > _end(k) or f.label == k.label or float(f.score) < float(k.score):
            continue
        if f.label not in WORD_ENTITIES or k.label not in WORD_ENTITIES:
            inner.append(f)
    if not inner:
        return kept
    return sorted([*kept, *resolve_nested(inner, depth=depth - 1)], key=lambda f: (_start(f), -_end(f)))


def _strength(f: Finding) -> tuple[float, int, int]:
    """Sort key, strongest first: higher score, then longer span, then earlier start."""
    return (-float(f.score), -(_end(f) - _start(f)), _start(f))


def _start(f: Finding) -> int:
    return f.start if f.start is not None else 0


def _end(f: Finding) -> int:
    return f.end if f.end is not None else 0


def overlaps(a: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    """True when the half-open span ``a`` overlaps any of ``spans``."""
    return any(a[0] < e and s < a[1] for s, e in spans)
