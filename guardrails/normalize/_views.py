"""The views of a text (:func:`views`): the undecoded ones, the decoded ones, and the masking between them."""

from __future__ import annotations

from collections.abc import Callable

from guardrails.normalize._data import _data_segments, _masked_raw
from guardrails.normalize._decoding import _b64_segments, _hex_segments, _Layer
from guardrails.normalize._joins import _part_joined
from guardrails.normalize._leet import _fold_leet
from guardrails.normalize._rot13 import _rot13_segments
from guardrails.normalize._scripts import _decode_fold, _fold_homoglyphs, basic, gapped
from guardrails.normalize._segments import DATA_MARKER, ENCODED_MARKER, _merge, _replace, _Segment
from guardrails.normalize._spacing import _join_spaced, _split_underscored

#: the decoders: each gives the segments it decoded, and whether they are masked in the other views
_DECODERS: tuple[tuple[str, Callable[[str, _Layer], tuple[list[_Segment], bool]]], ...] = (
    ("base64", lambda t, layer: (_b64_segments(t, layer), True)),
    ("hex", lambda t, layer: (_hex_segments(t, layer), True)),
    ("rot13", lambda t, _: _rot13_segments(t)),
)
_DECODER_ORDER = {name: i for i, (name, _) in enumerate(_DECODERS)}


def _undecoded_views(plain: str) -> list[tuple[str, str]]:
    out = [("basic", plain)]
    cur = _fold_homoglyphs(plain)
    out.append(("homoglyph", cur))
    cur = _fold_leet(cur)
    out.append(("leet", cur))
    out.append(("joined", _part_joined(_split_underscored(_join_spaced(cur)))))
    return out


def views(
    text: str, *, max_views: int = 8, mask_encoded: bool = False, cut: list[str] | None = None
) -> tuple[tuple[str, str], ...]:
    """The raw text and its distinct normalized views, as ``(name, text)`` pairs (raw first).

    At most ``max_views`` views are returned; identical views are dropped. Views come in the order
    raw, basic, homoglyph, leet, joined, gaps, base64, hex, rot13.

    With ``mask_encoded=True``, the views that do not decode (raw, basic, homoglyph, leet, joined)
    show each segment decoded by a returned decoded view (base64, hex, rot13) as
    :data:`ENCODED_MARKER` instead of its undecoded gibberish; the raw view is just the marker when
    nothing readable is left around the segments (a text entirely in rot13 runs, say). Those decoded
    views are then kept before the undecoded ones when ``max_views`` cannot hold them all (a segment
    is masked only where a returned view decodes it). A whole-text rot13 guess (no run found, the text
    as a whole reads as rot13) masks nothing and comes after the undecoded views, like them. The first
    view is still named ``raw``. Encoded data that decodes to no text -- the base64 of a data: URI, a
    JSON web token, a base64 run of at least ``_MIN_DATA_B64_CHARS`` characters as random as base64 is (not a path or a
    camelCase name), a hex run of at least ``_MIN_DATA_CHARS`` digits (a digest, a byte array; not a UUID),
    none inside a URL -- shows as :data:`DATA_MARKER` in every view, decoded ones too, so the classifier
    never reads it. The default (``False``) shows every view unmasked.

    ``cut``, when given, receives a reason for each limit that left encoded text undecoded (a compressed
    segment inflated in part, the middle of an overlong segment whose ends decode to text, decoding budgets
    spent): a caller that must not judge a text in part treats a non-empty list as a failure.
    """
    if max_views < 1:
        raise ValueError(f"max_views must be >= 1, got {max_views!r}")
    plain = basic(text)
    found: list[tuple[str, list[_Segment], bool]] = []
    layer = _Layer(cut=cut)
    folded = _decode_fold(plain)
    for name, find in _DECODERS:
        segments, masked = find(plain if name == "rot13" else folded, layer)
        if segments:
            found.append((name, segments, masked))
    # with masking, encoded data that is no text is masked in every view, decoded ones too
    data: list[_Segment] = []
    if mask_encoded:
        taken = _merge((s, e) for _, segments, masked in found if masked for s, e, _ in segments)
        data = _data_segments(plain, taken, layer.misses or [], folded=folded)
    decoded: list[tuple[str, str, list[_Segment], bool]] = []
    for name, segments, masked in found:
        if masked:
            value = _replace(plain, sorted([*segments, *data]))
        else:  # a whole-text rot13 guess, one character for one
            value = _replace(segments[0][2], data)
        decoded.append((name, value if name == "rot13" else value.strip(), segments, masked))

    kept: list[tuple[str, str]] = []  # the decoded views returned whose segments are masked
    spans: list[tuple[int, int]] = []  # and those segments
    if mask_encoded:
        seen = {text}
        for name, value, segments, masked in decoded:
            if masked and value and value not in seen and len(kept) < max_views - 1:
                seen.add(value)
                kept.append((name, value))
                spans.extend((s, e) for s, e, _ in segments)
        decoded = [d for d in decoded if not d[3]]  # a guess (whole-text rot13) is a view like the others
    raw = text
    undecoded = plain
    if spans or data:
        masks = sorted([*((s, e, ENCODED_MARKER) for s, e in _merge(spans)), *data])
        raw = _masked_raw(text, plain, masks)
        undecoded = raw if raw in (ENCODED_MARKER, DATA_MARKER) else _masked_raw(plain, plain, masks)

    out: list[tuple[str, str]] = [("raw", raw)]
    seen = {raw, *(value for _, value in kept)}
    limit = max_views - len(kept)

    def add(name: str, value: str) -> None:
        if value and value not in seen and len(out) < limit:
            seen.add(value)
            out.append((name, value))

    for name, value in _undecoded_views(undecoded):
        add(name, value)
    # invisible characters read as the spaces they stand for (words glued by zero-width spaces): only a text that
    # has such runs gets this view
    add("gaps", gapped(raw))
    for name, value, _, _ in decoded:
        add(name, value)
    if not kept:
        return tuple(out)
    # the decoded views last, in the decoders' order
    undecoded_views = [v for v in out if v[0] not in _DECODER_ORDER]
    decoded_views = sorted([*(v for v in out if v[0] in _DECODER_ORDER), *kept], key=lambda v: _DECODER_ORDER[v[0]])
    return (*undecoded_views, *decoded_views)
