"""Words of a rot13 text with some letters written as leet characters or look-alike letters of other scripts
(``0bz0``, ``c4a``, ``оbzо`` with a Cyrillic ``о``): what they read as, one character for one."""

from __future__ import annotations

import re

from guardrails.normalize._leet import _LEET
from guardrails.normalize._scripts import _HOMOGLYPHS, _LATIN_LOOKALIKES

_ROT13_TABLE = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm"
)
# a character that stands for a Latin letter, one for one: a leet character ("1" as "i", or as "l") or a
# look-alike letter
_STAND_INS = {**_HOMOGLYPHS, **_LATIN_LOOKALIKES, **_LEET}
_STAND_IN_TABLE = str.maketrans(_STAND_INS)
_STAND_IN_TABLE_L = str.maketrans({**_STAND_INS, "1": "l"})
_STAND_IN = re.compile("[" + re.escape("".join(_STAND_INS)) + "]")
# a word of ASCII letters and stand-ins, holding both
_MIXED_WORD = re.compile("(?=.*[A-Za-z])(?:[A-Za-z]|" + _STAND_IN.pattern + ")+")
_STAND_INS_ONLY = re.compile(_STAND_IN.pattern + "+")
_NUMBER_CHAR = re.compile(r"[\d$€£]")


def _is_mixed(word: str) -> bool:
    """Whether ``word`` mixes ASCII letters with stand-ins (and holds nothing else): it has readings.

    A word of stand-ins alone (a Cyrillic word, a number) has none: read as Latin letters it could make a
    Russian text read as rot13."""
    return _STAND_IN.search(word) is not None and _MIXED_WORD.fullmatch(word) is not None


def _tables(word: str) -> tuple[dict[int, str], ...]:
    return (_STAND_IN_TABLE, _STAND_IN_TABLE_L) if "1" in word else (_STAND_IN_TABLE,)


def _as_is(word: str) -> list[str]:
    """What a mixed word (:func:`_is_mixed`) reads as, not decoded: its stand-ins read as letters (``b0mb``)."""
    return [word.translate(t) for t in _tables(word)]


def _decoded(word: str) -> list[str]:
    """What a mixed word (:func:`_is_mixed`) reads as under rot13: its stand-ins standing for letters of the
    rot13 text (read as letters, then decoded: leetspeak written over rot13, ``0bz0`` -> ``bomb``), or for letters
    of the plain text (decoded, then read as letters: a leet text put through rot13, ``o0zo`` -> ``bomb``)."""
    out: list[str] = []
    for t in _tables(word):
        out.append(word.translate(t).translate(_ROT13_TABLE))
        out.append(word.translate(_ROT13_TABLE).translate(t))
    return out


def _decoded_stand_ins(word: str) -> list[str]:
    """What a word of stand-ins alone and no ASCII letter (``98`` written over the rot13 ``gb``, a Cyrillic ``а``)
    reads as under rot13 when it stands among rot13 words: its stand-ins read as letters of the rot13 text, then
    decoded; or, look-alike letters only, as letters of the plain text (a number is not read so: "15" and "45"
    would read "is" and "as")."""
    if _STAND_INS_ONLY.fullmatch(word) is None:
        return []
    out = [word.translate(t).translate(_ROT13_TABLE) for t in _tables(word)]
    if not _NUMBER_CHAR.search(word):
        out.append(word.translate(_STAND_IN_TABLE))
    return out
