"""Segments of a text replaced: the markers that stand in for them, a segment, and putting segments in place."""

from __future__ import annotations

from collections.abc import Iterable

#: what stands in for a decoded segment in the undecoded views, with ``views(..., mask_encoded=True)``
ENCODED_MARKER = "[encoded text]"
#: what stands in for encoded data that is no text (a data: URI, a checksum, a key) in every view, with
#: ``views(..., mask_encoded=True)``
DATA_MARKER = "[encoded data]"

_Segment = tuple[int, int, str]  # start, end, replacement


def _replace(text: str, segments: Iterable[_Segment]) -> str:
    out: list[str] = []
    last = 0
    for start, end, replacement in segments:
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out
