"""Repeats of a name the detector found once: redacted wherever else the text writes them.

Names are found by reading (spaCy's NER, the gazetteer, cues), which may miss a repeat the pattern recognizers would
not: "My name is Maria Lopez. Again: maria lopez, MARIA LOPEZ, Ma\u200bria Lopez." A name of two words or more is
found again in any case, with any run of spaces between its words and invisible characters anywhere in it, when one
of its words is a census first name or surname (so "Hiring Manager", taken for a name by mistake, is not spread to
"the hiring manager"). A one-word name only as written, and only when it is a census name that is no ordinary word
("Will" is left alone). Only values written as names are (every word capitalised).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from guardrails.normalize import INVISIBLE_CHARS
from guardrails.types import Finding

#: the entities found by reading whose repeats are found here (the pattern recognizers find every repeat)
REPEATED_ENTITIES = frozenset({"PERSON"})
#: at most this many distinct values are looked for again in one text (a long list of names: the rest are as found)
MAX_VALUES = 256
_WORD = re.compile(r"\w+(?:['’\-]\w+)*")
#: invisible characters (soft hyphen, zero-width, word joiner, BOM): anywhere in a repeat
_INVISIBLE = f"[{INVISIBLE_CHARS}]*"
_GAP = rf"[\s{INVISIBLE_CHARS}]+"


def repeated_values(text: str, found: Sequence[Finding]) -> list[Finding]:
    """Findings for the places in ``text`` that repeat the value of a name in ``found`` and that no finding holds
    whole yet, each with its value's label, score and detector (one that holds part of a repeat, "LOPEZ" of
    "MARIA LOPEZ", is merged with it by the redactor)."""
    values: dict[tuple[str, ...], Finding] = {}
    for f in found:
        if f.label not in REPEATED_ENTITIES or f.start is None or f.end is None:
            continue
        words = tuple(_WORD.findall(text[f.start : f.end]))
        if not words or not all(w[0].isupper() for w in words) or not _known(words):
            continue
        key = tuple(w.lower() for w in words) if len(words) > 1 else words
        if key not in values or f.score > values[key].score:
            values[key] = f
        if len(values) >= MAX_VALUES:
            break
    if not values:
        return []
    spans = sorted((f.start, f.end) for f in found if f.start is not None and f.end is not None)
    starts = [s for s, _ in spans]
    reach: list[int] = []  # the furthest end of the spans up to each one (sorted by start)
    for _, end in spans:
        reach.append(max(end, reach[-1]) if reach else end)
    out: list[Finding] = []
    for pattern, flags, group in _patterns(values):
        for m in re.finditer(pattern, text, flags):
            i = bisect.bisect_right(starts, m.start()) - 1
            if i >= 0 and reach[i] >= m.end():  # inside a finding that starts before it
                continue
            value = group.get(_squeezed(m.group(0), flags))
            if value is None:  # a match the key does not read back (never expected): left as it is, never a crash
                continue
            out.append(Finding(value.detector, None, value.score, m.start(), m.end(), value.label, value.view))
    return out


def _known(words: tuple[str, ...]) -> bool:
    """One of the words is a census first name or surname, and a one-word value is no ambiguous word ("Will",
    "Mark", "Brown"): a word found once as a name by mistake is not redacted everywhere else."""
    from guardrails.pii.recognizers import gazetteer

    names = gazetteer()
    low = [w.lower() for w in words]
    if len(low) == 1:
        return (low[0] in names.first or low[0] in names.last) and low[0] not in names.ambiguous
    return any(w in names.first or w in names.last for w in low)


def _patterns(values: dict[tuple[str, ...], Finding]) -> list[tuple[str, int, dict[str, Finding]]]:
    """One pattern for the names of several words (any case) and one for the one-word names (as written), longest
    first, each with the findings by their words run together (``_squeezed``)."""
    out = []
    for several, flags in ((True, re.IGNORECASE), (False, 0)):
        group = {k: f for k, f in values.items() if (len(k) > 1) == several}
        if group:
            alternatives = sorted((_GAP.join(_spelled(w) for w in key) for key in group), key=len, reverse=True)
            keys = {_squeezed("".join(key), flags): f for key, f in group.items()}
            out.append((rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)", flags, keys))
    return out


def _spelled(word: str) -> str:
    """``word``, with invisible characters allowed between its letters."""
    return _INVISIBLE.join(re.escape(ch) for ch in word)


def _squeezed(value: str, flags: int) -> str:
    """A value without its spaces and invisible characters (lower case when matched in any case): the key of its
    group (see ``_patterns``)."""
    squeezed = re.sub(_GAP, "", value)
    return squeezed.lower() if flags & re.IGNORECASE else squeezed
