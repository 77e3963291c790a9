"""Encoded data that is no text (a data: URI's image, a checksum, a key) found, and what is masked in a view."""

from __future__ import annotations

import base64
import binascii
import re

from guardrails.normalize._decoding import _B64, _HEX_STRIP, _LOWER, _MIN_DATA_CHARS, _is_printable, _text_of
from guardrails.normalize._leet import _LEET
from guardrails.normalize._segments import DATA_MARKER, ENCODED_MARKER, _merge, _replace, _Segment
from guardrails.normalize._words import _WORDS, _split_words

# encoded data that is no text: the base64 of a data: URI; a JSON web token; base64 or hex runs of at least
# _MIN_DATA_CHARS characters (hex in bare pairs or one separator after every pair, as digests and byte arrays
# are written; not a UUID); a URL's own tokens are left alone
_DATA_URI = re.compile(r"(?<![\w.+-])data:[\w.+/-]*(?:;[\w.+-]+(?:=[\w.+-]+)?)*;base64,([A-Za-z0-9+/_-]+=*)", re.I)
# a JSON web token: base64 of '{"' (a header, a payload), then a signature
_JWT = re.compile(r"(?<![\w.-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![\w-]|\.[\w-])")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S+")
_HEX_BYTE_PIECE = re.compile(r"(?:\\[xX]|0[xX])?[0-9A-Fa-f]{2}")
_HEX_PIECES = re.compile(r"(?:[,;]\s?|[\s:.\-])")
_HEX_LETTER = re.compile(r"[A-Fa-f]")
_LONG_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")
_DIGIT = re.compile(r"[0-9]")
_MIN_DATA_B64_CHARS = 40
#: of a data run, this much is decoded to tell whether it is text; decoded bytes with this share of printable
#: ASCII or more are damaged text, not data
_DATA_SAMPLE_CHARS = 4096
_MAX_DATA_ASCII_SHARE = 0.8
# words in a run of letters and digits (a path, a camelCase name): not random
_RUN_WORD = re.compile(r"[a-z]{4,}|[A-Z][a-z]{3,}")
# a stretch of lowercase letters, capitals, digits or other characters
_SAME_KIND = re.compile(r"[a-z]+|[A-Z]+|[0-9]+|[^A-Za-z0-9]+")
# a run read for words: leet folded, base64's symbols as spaces; then cut into words at capitals
_DATA_WORD_TABLE = str.maketrans(
    {**{k: v for k, v in _LEET.items() if k not in "+|"}, "+": " ", "/": " ", "_": " ", "-": " ", "=": " "}
)
_RUN_PIECE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
#: a run with this share of its characters in common English words (leet folded) holds words, not data;
#: random base64 of 30 bytes or more reaches about 0.15 at most
_MIN_WORD_SHARE = 0.25
#: pieces of a run this long are split into common words run together (see _holds_words)
_MIN_SPLIT_PIECE = 4
_MAX_SPLIT_PIECE = 64
_UPPER = re.compile(r"[A-Z]")

_LETTER = re.compile(r"[^\W\d_]")


def _masked_raw(text: str, plain: str, masks: list[_Segment]) -> str:
    """``text`` with the segments of ``plain`` (its basic form) replaced by their markers (``masks``, in
    order); just a marker when nothing readable is left (the encoded-text one if a segment was decoded)."""
    if text == plain:
        masked = _replace(text, masks)
    else:  # find each segment verbatim in the raw text; else mask the basic text
        raw_masks: list[_Segment] = []
        pos = 0
        for s, e, marker in masks:
            at = text.find(plain[s:e], pos)
            if at < 0:
                raw_masks = []
                text = plain
                break
            raw_masks.append((at, at + e - s, marker))
            pos = at + e - s
        masked = _replace(text, raw_masks or masks)
    if not _LETTER.search(masked.replace(ENCODED_MARKER, "").replace(DATA_MARKER, "")):
        return ENCODED_MARKER if any(marker == ENCODED_MARKER for _, _, marker in masks) else DATA_MARKER
    return masked


def _is_data(raw: bytes) -> bool:
    """Whether decoded bytes are data: no text (not UTF-8, or not printable; a character cut at the end is
    text), and not damaged text either (mostly printable ASCII, as base64 of text with a few characters
    changed decodes to; random bytes are about three parts in eight)."""
    out = _text_of(raw, [_DATA_SAMPLE_CHARS], [], loose_end=True)  # a sample: nothing is read from it
    if out is not None and _is_printable(out):
        return False
    return sum(1 for b in raw if 32 <= b < 127) < _MAX_DATA_ASCII_SHARE * len(raw)


def _looks_random(run: str) -> bool:
    """Whether a run of letters and digits changes between lowercase, uppercase, digits and symbols as often
    as random base64 does, and holds few word-like stretches (unlike a path or a camelCase name)."""
    sample = run[:_DATA_SAMPLE_CHARS]
    changes = len(_SAME_KIND.findall(sample)) - 1
    words = sum(map(len, _RUN_WORD.findall(sample)))
    return changes >= 0.4 * (len(sample) - 1) and words < 0.5 * len(sample)


def _holds_words(run: str) -> bool:
    """Whether a run holds common English words once leet is folded and it is cut at capitals and symbols
    (``H0w_c4n_1``, ``H0wC4nIP01s0n``: leetspeak run together, not data), or pieces of four letters or more that
    are such words run together (``G1v3M37h3573p5``: the capitals written as digits run words on; of 20,000 runs
    of random base64, 30 to 150 bytes, none reached a share of 0.18, 0.13 from the words alone)."""
    sample = run[:_DATA_SAMPLE_CHARS]  # judged on its start, as a long run would cost much to split
    pieces = _RUN_PIECE.findall(sample.translate(_DATA_WORD_TABLE))
    covered = sum(len(p) for p in pieces if (len(p) >= 3 and p.lower() in _WORDS) or _words_run_together(p))
    return covered >= _MIN_WORD_SHARE * len(sample)


def _words_run_together(piece: str) -> bool:
    return _MIN_SPLIT_PIECE <= len(piece) <= _MAX_SPLIT_PIECE and _split_words(piece) is not None


def _is_b64_data_uri(seg: str) -> bool:
    """Whether the base64 of a data: URI is data (:func:`_is_data`, judged on its start), or no base64;
    not when it holds words."""
    if _holds_words(seg):
        return False
    s = seg.rstrip("=").replace("-", "+").replace("_", "/")[: _DATA_SAMPLE_CHARS // 4 * 4]
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return True
    return _is_data(raw)


def _b64_data_spans(seg: str) -> list[tuple[int, int]]:
    return [(0, len(seg))] if _is_b64_data(seg) else []


def _is_b64_data(seg: str) -> bool:
    s = seg.rstrip("=")
    if len(s) < _MIN_DATA_B64_CHARS or not (_LOWER.search(s) and _UPPER.search(s) and _DIGIT.search(s)):
        return False
    if not _looks_random(s) or _holds_words(s):
        return False
    s = s.replace("-", "+").replace("_", "/")[: _DATA_SAMPLE_CHARS // 4 * 4]
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False  # no base64
    return _is_data(raw)


def _is_hex_bytes(seg: str) -> bool:
    digits = _HEX_STRIP.sub("", seg)
    if len(digits) < _MIN_DATA_CHARS or len(digits) % 2 or not (_HEX_LETTER.search(digits) and _DIGIT.search(digits)):
        return False
    return _is_data(bytes.fromhex(digits[: _DATA_SAMPLE_CHARS // 2 * 2]))


def _hex_data_spans(seg: str) -> list[tuple[int, int]]:
    """The runs of a hex segment that are data: the whole segment when its pairs are bare or each followed
    by a separator (a digest, a byte array), else each long unbroken run in it (digests in a list; not the
    parts of a UUID or an IPv6 address)."""
    pieces = _HEX_PIECES.split(seg)
    if len(pieces) == 1 or all(_HEX_BYTE_PIECE.fullmatch(p) for p in pieces):
        return [(0, len(seg))] if _is_hex_bytes(seg) else []
    return [m.span() for m in _LONG_HEX_RUN.finditer(seg) if _is_hex_bytes(m.group(0))]


def _data_segments(
    text: str, decoded: list[tuple[int, int]], misses: list[tuple[int, int, re.Pattern[str]]], *, folded: str
) -> list[_Segment]:
    """The runs of encoded data that is no text in ``text`` (see ``_DATA_URI``), as :data:`DATA_MARKER`
    segments: data: URIs, JSON web tokens, and those of the base64 and hex candidates that did not decode
    (``misses``) that are data; leaving alone those that overlap a decoded segment (``decoded``, merged)
    or lie in a URL. The candidates were found in ``folded`` (``text`` with look-alike letters read as Latin,
    one character for one), so they are read there: a checksum written with a Cyrillic ``с`` is hex data."""
    found: list[tuple[int, int]] = []
    if "data:" in text or "DATA:" in text or "Data:" in text:
        found.extend(m.span(1) for m in _DATA_URI.finditer(text) if _is_b64_data_uri(m.group(1)))
    if "eyJ" in text:
        found.extend(m.span() for m in _JWT.finditer(text) if not any(map(_holds_words, m.group(0).split("."))))
    urls = [m.span() for m in _URL.finditer(text)] if misses and "://" in text else []
    for at, end, pattern in misses:
        spans_of = _b64_data_spans if pattern is _B64 else _hex_data_spans
        for start, stop in spans_of(folded[at:end]):
            if not any(s <= at + start and at + stop <= e for s, e in urls):
                found.append((at + start, at + stop))
    out: list[_Segment] = []
    for s, e in _merge(found):
        if not any(s < de and ds < e for ds, de in decoded):
            out.append((s, e, DATA_MARKER))
    return out
