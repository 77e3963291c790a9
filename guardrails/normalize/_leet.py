"""Leetspeak folded inside words (``b0mb`` -> ``bomb``), identifiers and codes left alone."""

from __future__ import annotations

import re
from itertools import islice

from guardrails.normalize._joins import _fold_joined
from guardrails.normalize._scripts import _LATIN
from guardrails.normalize._words import _WORDS, _is_word, _split_words

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s",
         "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}  # fmt: skip
_LEET_TABLE = str.maketrans(_LEET)
_LEET_TABLE_L = str.maketrans({**_LEET, "1": "l"})
# a "word" of letters and leet characters holding at least one letter and one leet character
# (and not in random case -- base64, keys: a check _fold_leet_word makes, done here in C)
_LEET_CLASS = r"[\w@$!|+€£]"
_LEET_SPLIT = re.compile(
    rf"(?<!{_LEET_CLASS})(?={_LEET_CLASS}*?[01345789@$!|+€£])(?={_LEET_CLASS}*?[A-Za-z])"
    rf"(?!{_LEET_CLASS}*?[a-z][A-Z]{_LEET_CLASS}*?[a-z][A-Z])({_LEET_CLASS}+)"
)
_LEET_CHARS = re.compile(r"[01345789@$!|+€£]")
# a leet character (other than the punctuation-like + and |) between two letters: the mark of leetspeak
_LEET_INNER = re.compile(r"[A-Za-z][01345789@$!|+€£]*[01345789@$!€£][01345789@$!|+€£]*[A-Za-z]")
# identifiers that look like leet but are not, folded only when they fold to an English word: hex strings
# (a3f5b9c, e89b), long digit runs, variables ($this), numeronyms and short tech names whose digits are
# not one repeated vowel-like digit (k8s, i18n, l10n -- but b0mb, h4ck, d1d, g00d are leet), literals
# (0x3B, 0b1010), codes in capitals and digits (C3PO, B07XJ8C8F5 -- but B0MB folds to a word), chemical
# formulas (C8H10N4O2, Mg3N2)
_IDENTIFIER = re.compile(
    r"[0-9a-fA-F]*[0-9][0-9a-fA-F]*[0-9][0-9a-fA-F]*"
    r"|.*[0-9]{3}.*"
    r"|\$[A-Za-z]+"
    r"|[A-Za-z](?=[0-9]+[A-Za-z]{1,2}$)(?:[0-9]*[25-9]|([0-9])\1*(?!\1)[0-9])[0-9]*[A-Za-z]{1,2}"
    r"|0[xX][0-9A-Fa-f]+|0[bB][01]+|0[oO][0-7]+"
    r"|[A-Z0-9]+"
    r"|(?:[A-Z][a-z]?[0-9]*){2,}"
)
# a leet word glued to one of these is part of a password or an expression (Tr0ub4dor&3, x=l33t)
_CODE_GLUE = frozenset("&%^=")
# ordinals and decades ("80th", "90s") are numbers
_ORDINAL = re.compile(r"[0-9]+(?:st|nd|rd|th|s)", re.IGNORECASE)
# a letter and a digit before an English word is a name ("w3schools"), not leet
_NAME_PREFIX = re.compile(r"[A-Za-z][0-9]([A-Za-z]{4,})")
_CASE_FLIPS = re.compile(r"[a-z][A-Z].*[a-z][A-Z]")
_ONES = re.compile(r"1{2,}")
_MAX_LEET_WORD = 24
# what stands for an underscore while leet is folded: a character that is no word character
_WORD_GAP = "\x00"
_MAX_LEET_WORDS = 100_000
#: a word of a leet "+" chain or camelCase run up to this long is read letter by letter into words
_MAX_SPLIT_LEET_WORD = 64


def _fold_leet_word(word: str, *, in_leet_text: bool = False) -> str:
    """``word`` with its leet characters folded, or unchanged when it is no leet word.

    A word folds when a leet character stands between two letters (``b0mb``, ``h@ck``, ``g4m3``:
    trailing digits then fold too), unless it looks like an identifier (``k8s``, ``a3f5b9c``,
    ``$this``) or a name (``w3schools``); any word folds when it folds to an English word and is not a
    lone letter beside a digit (``th3``, ``s33``, ``ki11``, ``$teal``, but not ``s3``, ``i5``), which
    folds only ``in_leet_text``, among other leet words (``h0w t0`` -> ``how to``).
    Ordinals and decades (``80th``, ``90s``) never fold. "1" reads "i", or "l" where that makes a
    word or where it is doubled (``ki11`` -> ``kill``).
    """
    core, lead, tail = word, "", ""
    if word[-1] in "!|+" or word[0] in "!|+":  # punctuation: "stop!", "c++", "!important"
        core = word.rstrip("!|+")
        tail = word[len(core) :]
        stripped = core.lstrip("!|+")
        lead, core = core[: len(core) - len(stripped)], stripped
        if not _LEET_CHARS.search(core):
            return word
    if len(core) > _MAX_LEET_WORD or _CASE_FLIPS.search(core) or _ORDINAL.fullmatch(core):
        return word  # too long, random case (base64, keys), or a number
    letters = len(_LATIN.findall(core))
    if not letters:
        return word
    folded = core.translate(_LEET_TABLE)
    variants = [folded]
    if "1" in core:
        variants.append(core.translate(_LEET_TABLE_L))
        variants.append(_ONES.sub(lambda m: "l" * len(m.group(0)), core).translate(_LEET_TABLE))
    known = next((v for v in variants if v.lower() in _WORDS), None)
    if known is not None and (in_leet_text or letters >= 2 or len(_LEET_CHARS.findall(core)) >= 2):
        folded = known
    elif (
        _LEET_INNER.search(core) is None
        or _IDENTIFIER.fullmatch(core)
        or ((name := _NAME_PREFIX.fullmatch(core)) and name.group(1).lower() in _WORDS)
    ):
        return word
    else:
        folded = variants[-1]
    if core.upper() == core:  # "H4CK" -> "HACK"
        folded = folded.upper()
    return lead + folded + tail


def _fold_joined_word(word: str) -> str:
    """A word of a "+" chain or a camelCase run folded as one among leet words; one capital and leet characters
    is a capitalized word (``T0`` -> ``To``, not ``TO``)."""
    folded = _fold_leet_word(word, in_leet_text=True)
    if folded == word and _LEET_CHARS.search(word):
        # among leet words, every leet character reads as a letter when that spells a word ("70" -> "to") or
        # words run together ("H0w70" -> "Howto": the "T" was written "7")
        folded = next((v for v in _leet_readings(word) if _is_word(v) or _split_words(v)), word)
    if folded != word and word[0].isupper() and not any(map(str.isupper, word[1:])):
        return folded[0] + folded[1:].lower()
    return folded


def _leet_readings(word: str) -> list[str]:
    """``word`` with every leet character read as a letter ("1" as "i", then as "l"), when it is not too long."""
    if len(word) > _MAX_SPLIT_LEET_WORD:
        return []
    return (
        [word.translate(_LEET_TABLE), word.translate(_LEET_TABLE_L)] if "1" in word else [word.translate(_LEET_TABLE)]
    )


def _fold_leet(text: str) -> str:
    if not _LEET_CHARS.search(text):
        return text
    # an underscore parts words ("h0w_t0_h4ck"): read as a character no word holds, and put back after
    if "_" in text and _WORD_GAP not in text:
        return _fold_leet(text.replace("_", _WORD_GAP)).replace(_WORD_GAP, "_")
    # words joined by "+" or in camelCase ("h0w+t0+h4ck", "h0wT0H4ck") folded one by one where they read so
    text = _fold_joined(text, _fold_joined_word)
    parts = _LEET_SPLIT.split(text)  # text and candidate words alternate; word i is parts[2i+1]
    words = parts[1::2]
    # an e-mail address ("john@example.com") is not "johnaexample.com"
    emails: set[str] = set()
    if "@" in text:
        emails = {w for i, w in enumerate(words) if "@" in w and parts[2 * i + 2].startswith(".")}
    # distinct words, in order of appearance; past _MAX_LEET_WORDS of them (a huge text of distinct
    # leet-like tokens), the rest stay as they are
    folded = {w: w if w in emails else _fold_leet_word(w) for w in islice(dict.fromkeys(words), _MAX_LEET_WORDS)}
    unchanged = [w for w, f in folded.items() if w == f and w not in emails]
    if len(unchanged) == len(folded):
        return text
    for w in unchanged:  # among leet words, a lone letter beside a digit reads as a word too: "t0" -> "to"
        if len(w) <= 4:
            folded[w] = _fold_leet_word(w, in_leet_text=True)
    parts[1::2] = map(folded.get, words, words)
    if not _CODE_GLUE.isdisjoint(text):  # a password or an expression stays, unless it spells a word
        for i, w in enumerate(words):
            glued = parts[2 * i][-1:] in _CODE_GLUE or parts[2 * i + 2][:1] in _CODE_GLUE
            if glued and not _is_word(parts[2 * i + 1]):
                parts[2 * i + 1] = w
    return "".join(parts)
