"""Encoded segments decoded in place: base64, hex (either put through rot13, or spread out with a separator between
every two characters), read as UTF-8 or UTF-16 (else as Windows-1252 when mostly ASCII), gzip or zlib data inflated,
in up to ``_MAX_DEPTH`` layers; each decoded text folded like the other views."""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Callable

from guardrails.normalize._joins import _part_joined
from guardrails.normalize._leet import _fold_leet
from guardrails.normalize._rot13 import _rot13_segments
from guardrails.normalize._rot13_mixed import _ROT13_TABLE
from guardrails.normalize._scripts import _decode_fold, _fold_homoglyphs, basic
from guardrails.normalize._segments import _replace, _Segment
from guardrails.normalize._spacing import _join_spaced, _split_underscored
from guardrails.normalize._spread import _SPREAD, _spread

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
# bytes as bare pairs, ``\x41``/``\X41``/``0x41``, each pair alone or after a separator (a space, ``:``, ``-``,
# ``.``, or ``,``/``;`` and a space: ``0x41, 0x42``); not inside a word ("decode 68..." is no hex "de 68..."),
# nor ending inside one
_HEX = re.compile(
    r"(?=[0-9A-Fa-f\\])(?<![0-9A-Za-z])(?:(?:\\[xX]|0[xX])?[0-9A-Fa-f]{2}(?:[,;]\s?|[\s:.\-])?){8,}"
    r"(?<![\s:,;.\-])(?![0-9A-Za-z])"
)
_HEX_STRIP = re.compile(r"\\[xX]|0[xX]|[\s:,;.\-]")
# hex put through rot13: its letters a-f read n-s (bare pairs, or pairs and separators); it starts with a
# digit, as the hex of text in Latin letters does (the first half of an ASCII byte is a digit)
_HEX_ROT13 = re.compile(
    r"(?=[0-9])(?<![0-9A-Za-z])(?:[0-9N-Sn-s]{2}(?:[,;]\s?|[\s:.\-])?){8,}(?<![\s:,;.\-])(?![0-9A-Za-z])"
)
_ROT13_HEX_LETTER = re.compile(r"[N-Sn-s]")
_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")
_LOWER = re.compile(r"[a-z]")
_UPPER_OR_DIGIT = re.compile(r"[A-Z0-9]")
# base64 and hex candidates of this many characters or more that decode to no text are noted (``_Layer.misses``),
# to be judged as data (see ``_data``)
_MIN_DATA_CHARS = 32

#: decoding work per decoder (characters of candidate segments examined), and how much of each end of
#: an overlong segment is decoded (a multiple of 4, so of 2)
_MAX_DECODE_CHARS = 1_000_000
_MAX_SEGMENT_CHARS = 20_000
#: bytes a decoded hex segment may lose at either end (a word like "be" or "cafe" read as hex beside it,
#: a character cut at the end of an overlong segment's decoded part)
_MAX_LOOSE_BYTES = 4
#: layers of encoding decoded (base64 of hex of text: two), and the characters of decoded text the layers
#: below the first may examine in all (per views() call)
_MAX_DEPTH = 3
_MAX_NESTED_CHARS = 1_000_000
#: of gzip or zlib data, this many bytes are inflated, and this many in all (per views() call)
_MAX_INFLATED_BYTES = 65_536
_MAX_INFLATED_TOTAL = 262_144
#: bytes that are no UTF-8 are read as Windows-1252 when at most this share of them are not ASCII
_LEGACY_MAX_SHARE = 0.15
#: ... and when it reads as words: a space or line break for every this many characters, letters for this share of
#: the other characters
_LEGACY_MAX_WORD = 12
_LEGACY_MIN_LETTERS = 0.7


def _utf8_text(raw: bytes, *, loose_start: bool, loose_end: bool) -> str | None:
    """``raw`` read as UTF-8, or None; a loose end may lose up to ``_MAX_LOOSE_BYTES`` bytes that are no
    UTF-8 (a character cut in two, a stray byte such as the word "be" read as hex)."""
    start, end = 0, len(raw)
    while True:
        try:
            return raw[start:end].decode("utf-8")
        except UnicodeDecodeError as e:
            bad = start + e.start
            if loose_start and bad < _MAX_LOOSE_BYTES:
                start += e.end
            elif loose_end and bad >= len(raw) - _MAX_LOOSE_BYTES:
                end = bad
            else:
                return None


class _Layer:
    """Where a decoder works: ``level`` 1 on the text itself, 2 on what a segment of it decoded to, and so
    on; ``budget`` is the characters of decoded text the deeper layers may still examine, shared by every
    decoder of one :func:`views` call, and ``inflate`` the bytes compressed segments may still inflate to;
    on the text itself, ``misses`` gathers the long base64 and hex
    candidates that decoded to no text (offsets and pattern), to be judged as data."""

    __slots__ = ("budget", "cut", "inflate", "level", "misses")

    def __init__(
        self,
        level: int = 1,
        budget: list[int] | None = None,
        inflate: list[int] | None = None,
        cut: list[str] | None = None,
    ) -> None:
        self.level = level
        self.budget = [_MAX_NESTED_CHARS] if budget is None else budget
        self.inflate = [_MAX_INFLATED_TOTAL] if inflate is None else inflate
        self.misses: list[tuple[int, int, re.Pattern[str]]] | None = [] if level == 1 else None
        #: why text was left undecoded, shared by every layer of one views() call: a compressed segment
        #: inflated in part, an overlong segment whose ends decode to text, decoded text past the budget
        self.cut = [] if cut is None else cut

    def deeper(self, chars: int) -> _Layer | None:
        """The layer below this one, for a decoded text of ``chars`` characters; None when it is too deep or
        the budget is spent (noted in ``cut``: what it holds is not decoded)."""
        if self.level >= _MAX_DEPTH:
            return None
        if self.budget[0] < chars:
            self.cut.append("nested_budget")
            return None
        self.budget[0] -= chars
        return _Layer(self.level + 1, self.budget, self.inflate, self.cut)


def _is_printable(out: str) -> bool:
    visible = out.replace("\n", "").replace("\r", "").replace("\t", "")
    if visible.isprintable():
        return True
    good = sum(1 for c in out if c.isprintable() or c in "\n\r\t")
    return good >= 0.95 * len(out)


def _is_mostly_letters(out: str) -> bool:
    dense = out.replace(" ", "")
    letters = sum(map(str.isalpha, dense))
    if letters < 0.5 * len(dense):
        return False
    # else a few random bytes that happen to be printable
    return len(dense) >= 16 or sum(map(str.isalnum, dense)) >= 0.8 * len(dense)


def _fold_decoded(text: str) -> str:
    """Decoded text folded like the undecoded views: look-alike letters, leetspeak, spaced letters, words
    joined by underscores, by "+" or in camelCase."""
    return _part_joined(_split_underscored(_join_spaced(_fold_leet(_fold_homoglyphs(text)))))


def _decode_layer(text: str, layer: _Layer) -> str:
    """``text`` (decoded from a layer above) with its own encoded segments decoded in place."""
    for decoder in _SEGMENT_DECODERS:
        segments = decoder(_decode_fold(text), layer)
        if segments:
            text = _replace(text, segments)
    runs, _ = _rot13_segments(text)
    return _replace(text, runs) if runs else text


def _read_layer(out: str, layer: _Layer) -> str | None:
    """Decoded text as it reads: invisible characters removed and NFKC, its own encoded segments decoded
    (up to ``_MAX_DEPTH`` layers: base64 of hex of text), look-alike letters and leetspeak folded, spaced
    letters joined; None when it does not read as text (printable, mostly letters)."""
    text = basic(out)
    if not text.strip() or not _is_printable(text):
        return None
    below = layer.deeper(len(text))
    if below is not None:
        text = _decode_layer(text, below)
    text = _fold_decoded(text)
    return text if _is_mostly_letters(text) else None


def _utf16_text(raw: bytes) -> str | None:
    """``raw`` read as UTF-16 (by its byte-order mark, else by where its zero bytes stand), or None; tried
    only when a quarter of its bytes or more are zero (text in Latin letters has every other byte zero)."""
    if raw.count(0) * 4 < len(raw):
        return None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    else:
        encoding = "utf-16-le" if raw[1::2].count(0) >= raw[0::2].count(0) else "utf-16-be"
    try:
        return raw[: len(raw) // 2 * 2].decode(encoding)
    except UnicodeDecodeError:
        return None


def _inflated(raw: bytes, budget: list[int], cut: list[str]) -> bytes:
    """``raw`` decompressed when it is gzip or zlib data (up to ``_MAX_INFLATED_BYTES``, and to what is left
    of ``budget``, which it spends), else as it is; compressed data not inflated whole is noted in ``cut``."""
    if raw[:2] == b"\x1f\x8b":
        wbits = 16 + zlib.MAX_WBITS
    elif len(raw) >= 2 and raw[0] & 0x0F == 8 and (raw[0] << 8 | raw[1]) % 31 == 0:
        wbits = zlib.MAX_WBITS
    else:
        return raw
    limit = min(_MAX_INFLATED_BYTES, budget[0])
    if limit <= 0:
        cut.append("inflate_budget")
        return raw
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(raw, limit)
    except zlib.error:
        return raw
    budget[0] -= len(out)
    if inflater.unconsumed_tail or (len(out) >= limit and not inflater.eof):
        cut.append("inflate_limit")
    return out


def _legacy_text(raw: bytes) -> str | None:
    """``raw`` read as Windows-1252 (else Latin-1, for its five unassigned bytes) when it reads as words, else
    None: tried only when ``_LEGACY_MAX_SHARE`` of its bytes or fewer are not ASCII, as in English or Western
    European text with an en dash, a curly quote or accented letters (random bytes are about half not ASCII),
    and kept only when it is words - a space or line break for every ``_LEGACY_MAX_WORD`` characters and
    letters for ``_LEGACY_MIN_LETTERS`` of the others, read as they are (digits are not yet folded as leetspeak:
    a list of numbers read as hex is no text)."""
    if len(raw) - sum(1 for b in raw if b < 0x80) > _LEGACY_MAX_SHARE * len(raw):
        return None
    try:
        out = raw.decode("cp1252")
    except UnicodeDecodeError:
        out = raw.decode("latin-1")
    gaps = out.count(" ") + out.count("\n")
    if gaps * _LEGACY_MAX_WORD < len(out) or sum(map(str.isalpha, out)) < _LEGACY_MIN_LETTERS * (len(out) - gaps):
        return None
    return out


def _text_of(
    raw: bytes, inflate: list[int], cut: list[str], *, loose_start: bool = False, loose_end: bool = False
) -> str | None:
    """``raw`` (inflated when compressed, see :func:`_inflated`) read as UTF-8 (:func:`_utf8_text`), or as
    UTF-16 when that fails or holds zero characters, or as Windows-1252 when both fail (:func:`_legacy_text`)."""
    raw = _inflated(raw, inflate, cut)
    out = _utf8_text(raw, loose_start=loose_start, loose_end=loose_end)
    if out is None or "\x00" in out:
        return _utf16_text(raw) or out or _legacy_text(raw)
    return out


def _printable_text(raw: bytes, layer: _Layer, *, loose_start: bool = False, loose_end: bool = False) -> str | None:
    """``raw`` as text when it reads as text (:func:`_read_layer`), else None."""
    if len(raw) < 4:
        return None
    out = _text_of(raw, layer.inflate, layer.cut, loose_start=loose_start, loose_end=loose_end)
    if out is None:
        return None
    return _read_layer(out, layer)


def _b64_text(s: str, layer: _Layer, *, cut_start: bool = False, cut_end: bool = False) -> str | None:
    """The text base64 ``s`` decodes to, or that its rot13 decodes to (rot13 over base64)."""
    for candidate in (s, s.translate(_ROT13_TABLE)):
        try:
            raw = base64.b64decode(candidate + "=" * (-len(candidate) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None
        text = _printable_text(raw, layer, loose_start=cut_start, loose_end=cut_end)
        if text is not None:
            return text
    return None


def _decode_b64(seg: str, layer: _Layer) -> list[_Segment]:
    """The text a base64 segment decodes to, at its offsets in ``seg``: the whole segment, or the
    first and last ``_MAX_SEGMENT_CHARS`` of an overlong one (its middle stays as it is)."""
    s = seg.rstrip("=")
    if not (_LOWER.search(s) and _UPPER_OR_DIGIT.search(s)):
        return []
    s = s.replace("-", "+").replace("_", "/")
    n = _MAX_SEGMENT_CHARS
    if len(s) <= 2 * n:
        text = _b64_text(s, layer)
        return [(0, len(seg), text)] if text else []
    tail = len(s) - n + (-(len(s) - n) % 4)  # whole base64 quanta, counted from the start
    ends = (
        (0, n, _b64_text(s[:n], layer, cut_end=True)),
        (tail, len(seg), _b64_text(s[tail:], layer, cut_start=True)),
    )
    found = [(start, end, text) for start, end, text in ends if text]
    if found:  # text, whose middle is not read
        layer.cut.append("segment_middle")
    return found


def _hex_text(seg: str, layer: _Layer, *, cut_start: bool = False, cut_end: bool = False) -> str | None:
    s = _HEX_STRIP.sub("", seg)
    if cut_start or cut_end:
        s = _NOT_HEX.sub("", s)  # a prefix (\x, 0x) cut in two
        if len(s) % 2:  # whole bytes, counted from the end of the segment for its end
            s = s[1:] if cut_start else s[:-1]
    elif len(s) % 2:
        return None
    try:
        raw = bytes.fromhex(s)
    except ValueError:
        return None
    # either end may hold a word read as hex ("be", "cafe" beside the segment)
    return _printable_text(raw, layer, loose_start=True, loose_end=True)


def _decode_hex(seg: str, layer: _Layer) -> list[_Segment]:
    """The text a hex segment decodes to, at its offsets in ``seg`` (see :func:`_decode_b64`)."""
    n = _MAX_SEGMENT_CHARS
    if len(seg) <= 2 * n:
        text = _hex_text(seg, layer)
        return [(0, len(seg), text)] if text else []
    tail = len(seg) - n
    ends = (
        (0, n, _hex_text(seg[:n], layer, cut_end=True)),
        (tail, len(seg), _hex_text(seg[tail:], layer, cut_start=True)),
    )
    found = [(start, end, text) for start, end, text in ends if text]
    if found:  # text, whose middle is not read
        layer.cut.append("segment_middle")
    return found


def _decode_rot13_hex(seg: str, layer: _Layer) -> list[_Segment]:
    """The text a hex segment put through rot13 (its letters a-f read n-s) decodes to."""
    if not _ROT13_HEX_LETTER.search(seg):
        return []  # digits only: plain hex, read by _HEX
    return _decode_hex(seg.translate(_ROT13_TABLE), layer)


def _decoded_segments(
    text: str, pattern: re.Pattern[str], decode: Callable[[str, _Layer], list[_Segment]], layer: _Layer
) -> list[_Segment]:
    """The segments of ``text`` (:func:`_decode_fold`) matching ``pattern`` that decode, with their decoded
    text (to be masked); long candidates that do not decode are noted in ``layer.misses``.

    Work is bounded by the characters examined (``_MAX_DECODE_CHARS``), not by the number of candidates or
    of decoded segments, so undecodable look-alikes (paths, identifiers) or harmless decoded segments
    cannot crowd out a real payload.
    """
    misses = layer.misses if pattern is _B64 or pattern is _HEX else None
    out: list[_Segment] = []
    budget = _MAX_DECODE_CHARS
    for m in pattern.finditer(text):
        if budget <= 0:
            layer.cut.append("decode_budget")  # candidates past it are not examined
            break
        budget -= min(m.end() - m.start(), 2 * _MAX_SEGMENT_CHARS)
        at = m.start()
        found = [
            (at + start, at + end, " " + d.strip() + " ") for start, end, d in decode(m.group(0), layer) if d.strip()
        ]
        out.extend(found)
        if not found and misses is not None and m.end() - at >= _MIN_DATA_CHARS:
            misses.append((at, m.end(), pattern))
    return out


_decode_spread_b64 = _spread(_decode_b64)
_decode_spread_hex = _spread(_decode_hex)


def _apart(*found: list[_Segment]) -> list[_Segment]:
    """The segments of several searches, in order, without overlaps (the first of two that overlap is kept)."""
    if sum(map(bool, found)) < 2:
        return next((f for f in found if f), [])
    out: list[_Segment] = []
    for seg in sorted(s for segments in found for s in segments):
        if not out or seg[0] >= out[-1][1]:
            out.append(seg)
    return out


def _b64_segments(text: str, layer: _Layer) -> list[_Segment]:
    """Base64 segments decoded, and base64 spread out with a separator between every two characters."""
    return _apart(
        _decoded_segments(text, _B64, _decode_b64, layer), _decoded_segments(text, _SPREAD, _decode_spread_b64, layer)
    )


def _hex_segments(text: str, layer: _Layer) -> list[_Segment]:
    """Hex segments decoded, hex put through rot13 decoded, and hex spread out with a separator between every
    two digits (the three never overlap)."""
    return _apart(
        _decoded_segments(text, _HEX, _decode_hex, layer),
        _decoded_segments(text, _HEX_ROT13, _decode_rot13_hex, layer),
        _decoded_segments(text, _SPREAD, _decode_spread_hex, layer),
    )


#: the decoders of segments, run on each decoded layer too
_SEGMENT_DECODERS: tuple[Callable[[str, _Layer], list[_Segment]], ...] = (_b64_segments, _hex_segments)
