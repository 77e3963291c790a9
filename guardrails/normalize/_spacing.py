"""Spaced or punctuated letters joined (``b.o.m.b`` -> ``bomb``), runs split into English words, words joined by
underscores parted."""

from __future__ import annotations

import re
from collections import Counter

from guardrails.normalize._leet import _fold_leet, _fold_leet_word
from guardrails.normalize._words import _is_word, _split_words

# words joined by underscores ("how_to_make_a_cake"), parted by spaces when they read as English (not a
# placeholder: <DATE_TIME_1>)
_UNDERSCORED = re.compile(r"(?<![\w'<])[^\W_]+(?:'[^\W_]+)?(?:[,.;:!?]?_+[^\W_]+(?:'[^\W_]+)?){2,}(?![\w'])")
_UNDERSCORES = re.compile(r"_+")

# three or more single letters/digits separated by separator runs of one to three characters (punctuation,
# middle dots and bullets, "+", dashes)
_SPACED = re.compile(r"(?<![\w@$])(?:[A-Za-z0-9@$][ .\-_*|/\\,:;~'`^·•∙‧+–—]{1,3}){2,}[A-Za-z0-9@$](?![\w@$])")
_SEP = re.compile(r"[ .\-_*|/\\,:;~'`^·•∙‧+–—]+")
_SEP_SPLIT = re.compile(r"([ .\-_*|/\\,:;~'`^·•∙‧+–—]+)")
# consonant pairs that begin English words
_ONSETS = frozenset({
    "bl", "br", "ch", "cl", "cr", "dr", "dw", "fl", "fr", "gh", "gl", "gn", "gr", "kl", "kn", "kr", "ph", "pl", "pn",
    "pr", "ps", "qu", "rh", "sc", "sh", "sk", "sl", "sm", "sn", "sp", "sq", "st", "sw", "th", "tr", "ts", "tw", "wh",
    "wr",
})  # fmt: skip
#: joined words up to this length are split into English words, up to this many characters in a text
_MAX_SPLIT_WORD = 64
_MAX_SPLIT_CHARS = 20_000


def _uniform_letters(seg: str) -> tuple[str, str] | None:
    """The letters of ``seg`` and its separator when one separator parts all of them (``b.o.m.b``)."""
    sep = _SEP.match(seg, 1)
    if sep is None:
        return None
    step = sep.end()  # a letter and its separator
    n = len(seg) // step
    if len(seg) % step != 1 or any(seg[i::step] != c * n for i, c in enumerate(sep.group(0), 1)):
        return None
    return seg[::step], sep.group(0)


def _starts_a_word(letters: str, *, after_i: bool) -> bool:
    """Whether ``letters`` may begin an English word after the article "a" (a consonant, then a vowel or
    a consonant cluster such as "bl", "str") or after "I" (also a vowel)."""
    low = letters[:2].lower()
    if low[0] in "aeiou":
        return after_i
    return low[1] in "aeiouy" or low in _ONSETS


def _join_spaced(text: str) -> str:
    budget = [_MAX_SPLIT_CHARS]
    cache: dict[str, str] = {}

    def word_of(joined: str) -> str:
        """A run joined into one word: leet folded, split into English words when it reads so."""
        out = cache.get(joined)
        if out is not None:
            return out
        out = word = _fold_leet_word(joined)
        if 4 <= len(word) <= _MAX_SPLIT_WORD and budget[0] > 0 and not _is_word(word):
            budget[0] -= len(word)
            out = _split_words(word) or word
        cache[joined] = out
        return out

    def join(m: re.Match[str]) -> str:
        seg = m.group(0)
        uniform = _uniform_letters(seg)
        if uniform is not None:
            letters, sep = uniform
            whole = word_of(letters)
            # "make a b o m b": the article stays a word of its own, unless the letters spell a word
            # ("a n t h r a x", "a r s o n") or what follows the article cannot begin one ("a m m o n i a")
            if (
                sep == " "
                and len(letters) >= 4
                and letters[0] in "aIA"
                and " " not in whole
                and not _is_word(whole)
                and _starts_a_word(letters[1:], after_i=letters[0] == "I")
            ):
                return letters[0] + " " + word_of(letters[1:])
            return whole
        pieces = _SEP_SPLIT.split(seg)  # letters and separators alternate
        seps = pieces[1::2]
        # the letter separator is the commonest one (the shortest among equals); any other is a word
        # boundary: "h o w  d o", "p.i.p.e b.o.m.b"
        counts = Counter(seps)
        inner = [s for s in counts if " " not in s]
        if len(inner) >= 2 and len(inner) < len(counts):
            # a different separator in each word ("w.h.a.t i-s t_h_e"): those without a space join letters,
            # those with one part words
            glue = {s: " " if " " in s else "" for s in counts}
        else:
            letter_sep = min(counts, key=lambda s: (-counts[s], len(s)))
            if counts[letter_sep] < 2 or 2 * counts[letter_sep] < len(seps):
                return seg
            glue = dict.fromkeys(counts, " ")
            glue[letter_sep] = ""
        pieces[1::2] = map(glue.__getitem__, seps)
        joined = "".join(pieces)
        if max(map(len, joined.split(" "))) < 3:  # "I'm 5'8": no word was spelled out
            return seg
        return _fold_leet(joined)

    return _SPACED.sub(join, text)


def _split_underscored(text: str) -> str:
    """Words joined by underscores parted by spaces, where at least half of them are common English words
    (``what_is_the_best_way`` -> ``what is the best way``; ``MAX_RETRY_COUNT`` stays)."""
    if "_" not in text:
        return text

    def split(m: re.Match[str]) -> str:
        words = _UNDERSCORES.split(m.group(0))
        if 2 * sum(_is_word(w.rstrip(",.;:!?")) for w in words) < len(words):
            return m.group(0)
        return " ".join(words)

    return _UNDERSCORED.sub(split, text)
