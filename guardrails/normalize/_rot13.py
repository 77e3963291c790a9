"""Rot13 read: runs of words that read as English under rot13, or a whole text that does."""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import accumulate

from guardrails.normalize._rot13_mixed import (
    _ROT13_TABLE,
    _STAND_IN,
    _as_is,
    _decoded,
    _decoded_stand_ins,
    _is_mixed,
)
from guardrails.normalize._scripts import _LATIN
from guardrails.normalize._segments import _Segment
from guardrails.normalize._words import _VOCAB, _WORDS, _is_word

_WORD = re.compile(r"[A-Za-z]+")
_SPACE_SPLIT = re.compile(r"(\s+)")
_TOKEN_PUNCT = "\"'()[]{}<>.,;:!?*_-"
_ROT13_WORDS = frozenset(w.translate(_ROT13_TABLE) for w in _WORDS)  # words that are English under rot13

_ROT13_SAMPLE = 5_000
#: a rot13 run needs this many words of two letters or more that read as rot13, one of them a common
#: English word of three letters or more under rot13
_ROT13_MIN_WORDS = 3
#: how much better (log-probability, in nats) a word outside the vocabulary must read under rot13 than
#: as it is to join a rot13 run; any other such word reads as plain text and ends a run
_ROT13_MARGIN = 1.5
#: letters of a word judged for that (a longer word is judged by its start)
_MAX_SCORED_LETTERS = 32
# a stretch of tokens with no word that reads as plain text (E, P): a rot13 run when its labels allow
_ROT13_STRETCH = re.compile("[ARTrU]+")


def _rot13_plainness() -> dict[str, float]:
    """For each letter pair (``^`` starts a word, ``$`` ends it), how much likelier it is in the common
    words than its rot13 (log-probability ratio): summed over a word, how much better it reads as it
    is than under rot13."""
    pairs: Counter[str] = Counter()
    for w in _VOCAB:
        marked = f"^{w}$"
        pairs.update(map(str.__add__, marked, marked[1:]))
    letters = "abcdefghijklmnopqrstuvwxyz"
    logp: dict[str, float] = {}
    for a in "^" + letters:
        total = sum(pairs[a + b] for b in letters + "$")
        for b in letters + "$":  # add-one-half smoothing: no pair is impossible
            logp[a + b] = math.log((pairs[a + b] + 0.5) / (total + 0.5 * 27))
    return {pair: p - logp[pair.translate(_ROT13_TABLE)] for pair, p in logp.items()}


_PAIR_PLAINNESS = _rot13_plainness()


def _plainness(word: str) -> float:
    """How much better the letters of ``word`` (lowercase) read as they are than under rot13 (negative:
    worse), judged by their pairs."""
    if not (word.isascii() and word.isalpha()):
        return sum(map(_plainness, _WORD.findall(word)))
    return sum(map(_PAIR_PLAINNESS.__getitem__, map(str.__add__, "^" + word, word + "$")))


def _rot13_word_label(token: str) -> str:
    """The label of a token for rot13 runs, or ``?`` when its letters are to be judged.

    E: an English word; R: English only under rot13 (T: of two letters, r: of one); A: English both
    ways, or no letters (numbers, punctuation); ``?``: a word English neither way. A word that mixes letters
    with leet characters or look-alike letters is read each way it can be (:mod:`._rot13_mixed`).
    """
    word = token.strip(_TOKEN_PUNCT).replace("'", "").lower()
    if word.isascii() and word.isalpha():
        english, rotated = word in _WORDS, word in _ROT13_WORDS
    elif _is_mixed(word):
        english = not _WORDS.isdisjoint(_as_is(word))
        rotated = not _WORDS.isdisjoint(_decoded(word))
    elif not _LATIN.search(word):
        return "A"
    else:
        return "?"
    if english:
        return "A" if rotated else "E"
    if rotated:
        return "R" if len(word) > 2 else "T" if len(word) == 2 else "r"
    return "?"


def _decode_word(token: str) -> str:
    """A token decoded from rot13, one character for one; a word that mixes letters with leet characters or
    look-alike letters as the reading of it that is an English word (else the one that reads most like English),
    one written in them alone as the English word it reads as, if any."""
    core = token.strip(_TOKEN_PUNCT)
    if _is_mixed(core.replace("'", "")):
        readings = _decoded(core)
        best = next((r for r in readings if r.replace("'", "").lower() in _WORDS), None)
        if best is None:
            best = max(readings, key=lambda r: _plainness(r.replace("'", "").lower()))
    else:  # a word of leet characters or look-alike letters alone, when it reads as a word
        best = next((r for r in _decoded_stand_ins(core) if r.lower() in _WORDS), None)
        if best is None:
            return token.translate(_ROT13_TABLE)
    start = token.index(core)
    return token[:start].translate(_ROT13_TABLE) + best + token[start + len(core) :].translate(_ROT13_TABLE)


def _decode(text: str) -> str:
    """``text`` decoded from rot13, one character for one, word by word (:func:`_decode_word`)."""
    if _STAND_IN.search(text) is None:
        return text.translate(_ROT13_TABLE)
    parts = _SPACE_SPLIT.split(text)  # tokens and whitespace alternate
    parts[::2] = map(_decode_word, parts[::2])
    return "".join(parts)


def _rot13_look(token: str) -> str:
    """The label of a word English neither way, by its letter pairs: U when it reads better under rot13
    (by ``_ROT13_MARGIN``), else P (a plain word: a name, a term outside the vocabulary, or a word that
    reads no better either way). A word mixing letters with leet characters or look-alike letters is U when
    one of its readings under rot13 is."""
    word = token.strip(_TOKEN_PUNCT).replace("'", "").lower()[:_MAX_SCORED_LETTERS]
    if _is_mixed(word):  # each reading judged by the letters its rot13 would be written in
        return "U" if min(_plainness(r.translate(_ROT13_TABLE)) for r in _decoded(word)) < -_ROT13_MARGIN else "P"
    return "U" if _plainness(word) < -_ROT13_MARGIN else "P"


def _rot13_label(token: str) -> str:
    """The label of a token for rot13 runs: :func:`_rot13_word_label`, then :func:`_rot13_look`."""
    label = _rot13_word_label(token)
    return _rot13_look(token) if label == "?" else label


def _rot13_labels(tokens: list[str]) -> str:
    """The labels of ``tokens`` (:func:`_rot13_label`), judging the letters of a word only where it may
    join a run: next to a rot13-English word (R) with no plain word (E, P) between (else it is P)."""
    word_label = {t: _rot13_word_label(t) for t in set(tokens)}
    labels = list(map(word_label.__getitem__, tokens))
    looks: dict[str, str] = {}

    def breaks(i: int) -> bool:  # whether token i reads as plain text, judging it if need be
        if labels[i] == "?":
            token = tokens[i]
            look = looks.get(token)
            if look is None:
                look = looks[token] = _rot13_look(token)
            labels[i] = look
        return labels[i] in "EP"

    first_look = "".join(labels)
    reached = 0  # the tokens before this one were judged, or need not be
    i = first_look.find("R")
    while i >= 0:
        j = i - 1
        while j >= reached and not breaks(j):
            j -= 1
        j = i + 1
        while j < len(labels) and not breaks(j):
            j += 1
        reached = j + 1
        i = first_look.find("R", reached)
    return "".join(labels).replace("?", "P")


def _rot13_runs(text: str) -> list[_Segment]:
    """Maximal runs of words that read as English under rot13 (and not as they are), decoded.

    Each whitespace-separated token is labelled by :func:`_rot13_label`. A run is a stretch of tokens
    holding no word that reads as plain text (E, P), with at least ``_ROT13_MIN_WORDS`` words of two
    letters or more that read as rot13 (R, T, U), one of them a common English word of three letters
    or more under rot13 (R: two-letter ones such as "uv" -> "hi" are too easily typed); its edges are
    trimmed to words that read as rot13 (R, T, r, U). So a plain word -- within or beside a run --
    never joins it, and is never masked as encoded.
    """
    parts = _SPACE_SPLIT.split(text)  # tokens and whitespace alternate; token i is parts[2i]
    tokens = parts[::2]
    distinct = set(tokens)
    rot = ({t.strip(_TOKEN_PUNCT).lower() for t in distinct} & _ROT13_WORDS) - _WORDS  # a cheap first look
    # else a word that reads as rot13 once its leet characters or look-alike letters are read as letters
    if not any(len(w) > 2 for w in rot) and not any(
        _rot13_word_label(t) == "R" for t in distinct if _STAND_IN.search(t) and _LATIN.search(t)
    ):
        return []
    labels = _rot13_labels(tokens)
    out: list[_Segment] = []
    ends: list[int] = []
    for m in _ROT13_STRETCH.finditer(labels):
        stretch = m.group(0)
        long_words = stretch.count("R")
        rotated = long_words + stretch.count("T") + stretch.count("U")
        if not long_words or rotated < _ROT13_MIN_WORDS:
            continue
        first, last = m.start(), m.end() - 1
        while labels[first] not in "RTrU":
            first += 1
        while labels[last] not in "RTrU":
            last -= 1
        if not ends:
            ends = list(accumulate(map(len, parts)))  # ends[k]: end offset of parts[k]
        start, end = ends[2 * first] - len(tokens[first]), ends[2 * last]
        out.append((start, end, _decode(text[start:end])))
    return out


def _reads_as_rot13(text: str) -> bool:
    """Whether ``text`` as a whole reads as English under rot13 (judged on its start).

    Its words must be mostly English under rot13: those that read so (R, T, U: :func:`_rot13_label`)
    must outnumber twice over those that read as plain text (E, P); and the decoded text must hold
    at least two common English words of three letters or more, over twice as many as ``text``.
    Shorter words are not counted there ("n", "v", "uv", "bx" are "a", "i", "hi", "ok" under rot13),
    so a few of them cannot make a plain text read as rot13.
    """
    sample = text[:_ROT13_SAMPLE]
    counts = Counter(sample.split())
    word_labels = {token: _rot13_word_label(token) for token in counts}
    labels: Counter[str] = Counter()
    for token, n in counts.items():
        labels[word_labels[token]] += n
    # a word English neither way (?) reads as rot13 (U) or as plain text (P), by its letter pairs: when the
    # common English words (E) hold the rot13 ones off even if every such word read as rot13, the text is
    # plain whatever its letters say, and they are not judged (the common case: English prose, on every check)
    if labels["R"] + labels["T"] + labels["?"] <= 2 * labels["E"]:
        return False
    for token, n in counts.items():
        if word_labels[token] == "?":
            labels[_rot13_look(token)] += n
    if labels["R"] + labels["T"] + labels["U"] <= 2 * (labels["E"] + labels["P"]):
        return False
    before = sum(1 for w in _WORD.findall(sample) if len(w) > 2 and _is_word(w))
    after = sum(1 for w in _WORD.findall(_decode(sample)) if len(w) > 2 and _is_word(w))
    return after >= 2 and after > 2 * before


def _rot13_segments(text: str) -> tuple[list[_Segment], bool]:
    """The rot13 runs of ``text`` decoded (to be masked); else the whole text decoded, not to be masked
    (a guess: the other views keep the text as it is), when it reads as rot13."""
    runs = _rot13_runs(text)
    if runs:
        return runs, True
    if _WORD.search(text) and _reads_as_rot13(text):
        return [(0, len(text), _decode(text))], False
    return [], False
