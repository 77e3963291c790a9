"""Normalized views of a text, so obfuscated requests are judged like plain ones.

:func:`views` returns ``(name, text)`` pairs, the raw text first, then each
transformation that changed something, applied cumulatively:

``basic``      NFKC, zero-width and bidi control characters removed
``homoglyph``  Cyrillic/Greek look-alike letters folded to Latin (in mostly-Latin text)
``leet``       leetspeak folded inside words (``b0mb`` -> ``bomb``, ``h@ck`` -> ``hack``)
``joined``     spaced or punctuated letters joined (``b o m b``, ``b.o.m.b`` -> ``bomb``)
``base64``     base64 segments decoded in place (only when they decode to printable text)
``hex``        hex segments decoded in place (same rule)
``rot13``      the text rot13-decoded (only when that yields more common English words)

Identical views are dropped. Pure Python, linear in the text length; decoding
work is bounded for huge texts.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata

__all__ = ["basic", "views"]

# zero-width, invisible and bidirectional control characters
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f]"
)

# Cyrillic and Greek letters that look like Latin ones
_HOMOGLYPHS = {
    # Cyrillic lowercase
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ɡ": "g", "ӏ": "l", "ց": "g", "ո": "n", "ս": "u",
    # Cyrillic uppercase
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ї": "I", "Ј": "J", "Һ": "H", "Ԁ": "D", "Ԛ": "Q",
    "Ԝ": "W", "Ӏ": "I",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ѵ": "v",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}  # fmt: skip
_HOMOGLYPH_TABLE = str.maketrans(_HOMOGLYPHS)
_CYR_GREEK = re.compile("[\u0370-\u03ff\u0400-\u052f\u0561-\u0586\u0261]")
_LATIN = re.compile("[A-Za-z]")

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s",
         "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}  # fmt: skip
_LEET_TABLE = str.maketrans(_LEET)
# a "word" of letters and leet characters holding at least one letter and one leet character
_LEET_WORD = re.compile(r"(?<![\w@$!|+€£])[\w@$!|+€£]*[A-Za-z][\w@$!|+€£]*(?![\w@$!|+€£])")
_LEET_CHARS = re.compile(r"[01345789@$!|+€£]")
# a leet character between two letters: the mark of leetspeak rather than a number or a version
_LEET_INNER = re.compile(r"[A-Za-z][01345789@$!|+€£]+[A-Za-z]")

# three or more single letters/digits separated by one consistent separator run
_SPACED = re.compile(r"(?<![\w])(?:[A-Za-z0-9][ .\-_*|/\\,:;~'`^]{1,3}){2,}[A-Za-z0-9](?![\w])")
_SEP = re.compile(r"[ .\-_*|/\\,:;~'`^]+")

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[\s:,]?){8,}(?![0-9A-Fa-f])")
_HEX_STRIP = re.compile(r"\\x|0x|[\s:,]")

_WORD = re.compile(r"[A-Za-z]+")
_COMMON = frozenset(
    """
    the be to of and a in that have i it for not on with he as you do at this but his by from they we say her
    she or an will my one all would there their what so up out if about who get which go me when make can like
    time no just him know take people into year your good some could them see other than then now look only come
    its over think also back after use two how our work first well way even new want because any these give day
    most us is are was were been has had did does how why where tell write explain list give make help need
    should please steps step guide instructions someone something thing things best way ways using kill steal
    build bomb hack money without get make into person people way teach show find buy sell free code script
    create
    """.split()  # noqa: SIM905 - a readable word list
)

#: segments of a huge text considered for decoding, and the longest segment decoded
_MAX_SEGMENTS = 8
_MAX_SEGMENT_CHARS = 20_000
_ROT13_SAMPLE = 5_000


def basic(text: str) -> str:
    """NFKC-normalise ``text`` and remove zero-width and bidi control characters."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def _fold_homoglyphs(text: str) -> str:
    if not _CYR_GREEK.search(text):
        return text
    latin = len(_LATIN.findall(text))
    foreign = len(_CYR_GREEK.findall(text))
    if latin >= foreign:
        return text.translate(_HOMOGLYPH_TABLE)

    # mostly Cyrillic/Greek: fold only inside words that mix scripts
    def mixed(m: re.Match[str]) -> str:
        w = m.group(0)
        return w.translate(_HOMOGLYPH_TABLE) if _LATIN.search(w) else w

    return re.sub(r"\w+", mixed, text)


def _fold_leet(text: str) -> str:
    if not _LEET_CHARS.search(text):
        return text

    def fold(m: re.Match[str]) -> str:
        w = m.group(0)
        # trailing punctuation ("stop!") and version digits ("mp3", "win10") are not leet
        core = w.rstrip("!$|+0123456789")
        if len(core) > 24 or not _LEET_INNER.search(core):
            return w
        return core.translate(_LEET_TABLE) + w[len(core) :]

    return _LEET_WORD.sub(fold, text)


def _join_spaced(text: str) -> str:
    def join(m: re.Match[str]) -> str:
        seg = m.group(0)
        seps = set(_SEP.findall(seg))
        if len(seps) != 1:
            return seg
        parts = _SEP.split(seg)
        # "make a b o m b": the article stays a word of its own
        if seps == {" "} and len(parts) >= 4 and parts[0] in ("a", "I", "A"):
            return parts[0] + " " + "".join(parts[1:])
        return "".join(parts)

    return _SPACED.sub(join, text)


def _printable_text(raw: bytes) -> str | None:
    if len(raw) < 4:
        return None
    try:
        out = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    good = sum(1 for c in out if c.isprintable() or c in "\n\r\t")
    letters = sum(1 for c in out if c.isalpha())
    if good < 0.95 * len(out) or letters < 0.5 * len(out.replace(" ", "")):
        return None
    return out


def _decode_b64(seg: str) -> str | None:
    s = seg.rstrip("=")
    if len(s) > _MAX_SEGMENT_CHARS or not (re.search(r"[a-z]", s) and re.search(r"[A-Z0-9]", s)):
        return None
    s = s.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _printable_text(raw)


def _decode_hex(seg: str) -> str | None:
    s = _HEX_STRIP.sub("", seg)
    if len(s) % 2 or len(s) > _MAX_SEGMENT_CHARS:
        return None
    try:
        raw = bytes.fromhex(s)
    except ValueError:
        return None
    return _printable_text(raw)


def _replace_segments(text: str, pattern: re.Pattern[str], decode: object) -> str:
    out: list[str] = []
    last = 0
    changed = False
    for n, m in enumerate(pattern.finditer(text)):
        if n >= _MAX_SEGMENTS:
            break
        decoded = decode(m.group(0))  # type: ignore[operator]
        if decoded is None:
            continue
        out.append(text[last : m.start()])
        out.append(" " + decoded.strip() + " ")
        last = m.end()
        changed = True
    if not changed:
        return text
    out.append(text[last:])
    return "".join(out).strip()


def _english_words(text: str) -> int:
    return sum(1 for w in _WORD.findall(text[:_ROT13_SAMPLE]) if w.lower() in _COMMON)


def _rot13(text: str) -> str | None:
    if not _WORD.search(text):
        return None
    decoded = codecs.encode(text, "rot13")
    before, after = _english_words(text), _english_words(decoded)
    if after >= 2 and after > 2 * before:
        return decoded
    return None


def views(text: str, *, max_views: int = 8) -> tuple[tuple[str, str], ...]:
    """The raw text and its distinct normalized views, as ``(name, text)`` pairs (raw first).

    At most ``max_views`` views are returned; identical views are dropped.
    """
    if max_views < 1:
        raise ValueError(f"max_views must be >= 1, got {max_views!r}")
    out: list[tuple[str, str]] = [("raw", text)]
    seen = {text}

    def add(name: str, value: str) -> None:
        if value and value not in seen and len(out) < max_views:
            seen.add(value)
            out.append((name, value))

    cur = basic(text)
    add("basic", cur)
    cur = _fold_homoglyphs(cur)
    add("homoglyph", cur)
    cur = _fold_leet(cur)
    add("leet", cur)
    cur = _join_spaced(cur)
    add("joined", cur)
    plain = basic(text)
    for name, pattern, decoder in (("base64", _B64, _decode_b64), ("hex", _HEX, _decode_hex)):
        add(name, _replace_segments(plain, pattern, decoder))
    rot = _rot13(plain)
    if rot is not None:
        add("rot13", rot)
    return tuple(out)
