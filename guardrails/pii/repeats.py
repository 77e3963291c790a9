"""Repeats of a name or place the detector found once: redacted wherever else the text writes them.

Names and places are found by reading (spaCy's NER, the gazetteer, cues), which may miss a repeat the pattern
recognizers would not: "My name is Maria Lopez. Again: maria lopez, MARIA LOPEZ, Maria\u200bLopez." A value of two
words or more is found again in any case, with any run of spaces or invisible characters between its words. A value
of one word only as written or in capitals ("Will", found as a name, leaves "will" alone), and only when it is a
known first name or surname. Only values written as names are (every word capitalised): a lower-case span the reader
took for a name by mistake is not spread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from guardrails.types import Finding

#: the entities found by reading, whose repeats are found here (the pattern recognizers find every repeat)
REPEATED_ENTITIES = frozenset({"PERSON", "LOCATION"})
#: at most this many distinct values are looked for again in one text (a long list of names: the rest are as found)
MAX_VALUES = 256
_WORD = re.compile(r"\w+(?:['’\-]\w+)*")
#: between two words of a repeat: spaces and invisible characters (soft hyphen, zero-width, word joiner, BOM)
_GAP = r"[\s\u00ad\u200b-\u200f\u2060\ufeff]+"


def repeated_values(text: str, found: Sequence[Finding]) -> list[Finding]:
    """Findings for the places in ``text`` that repeat the value of a name or place in ``found`` and that no finding
    holds whole yet, each with its value's label, score and detector (one that holds part of a repeat, "LOPEZ" of
    "MARIA LOPEZ", is merged with it by the redactor)."""
    values: dict[tuple[str, ...], Finding] = {}
    for f in found:
        if f.label not in REPEATED_ENTITIES or f.start is None or f.end is None:
            continue
        words = tuple(_WORD.findall(text[f.start : f.end]))
        if not words or sum(len(w) for w in words) < 3 or not all(w[0].isupper() for w in words):
            continue
        if len(words) == 1 and not _known_name(words[0]):
            continue
        key = tuple(w.lower() for w in words) if len(words) > 1 else words
        if key not in values or f.score > values[key].score:
            values[key] = f
        if len(values) >= MAX_VALUES:
            break
    if not values:
        return []
    spans = [(f.start, f.end) for f in found if f.start is not None and f.end is not None]
    out: list[Finding] = []
    for words, f in values.items():
        for m in _pattern(words).finditer(text):
            if not any(s <= m.start() and m.end() <= e for s, e in spans):  # one that holds part of it is merged
                out.append(Finding(f.detector, None, f.score, m.start(), m.end(), f.label, f.view))
    return out


def _known_name(word: str) -> bool:
    """A first name or surname of the census lists, and no ambiguous word ("Will", "Mark"), so a word found once as a
    name by mistake ("Closes", "Add" in a changelog) is not redacted everywhere else."""
    from guardrails.pii.recognizers import gazetteer

    names = gazetteer()
    low = word.lower()
    return (low in names.first or low in names.last) and low not in names.ambiguous


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    if len(words) == 1:
        (word,) = words
        forms = sorted({re.escape(word), re.escape(word.upper())})
        return re.compile(rf"(?<!\w)(?:{'|'.join(forms)})(?!\w)")
    return re.compile(rf"(?<!\w){_GAP.join(re.escape(w) for w in words)}(?!\w)", re.IGNORECASE)
