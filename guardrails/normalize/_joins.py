"""Words joined without spaces, by ``+`` (as in a URL query: ``how+to+h4ck``) or in leet camelCase (``h0wT0H4ck``):
found, so that leetspeak in them is folded word by word and the words are parted where they read as English."""

from __future__ import annotations

import re
from collections.abc import Callable

from guardrails.normalize._words import _is_word, _split_words

# a character of a word: an ASCII letter or digit, or a leet character (no "+": it joins words here)
_WORD_CHAR = "[0-9A-Za-z@$!|€£]"
_NEAR = r"[\w@$!|+€£]"  # what may stand next to such a word inside a longer token
# three or more words joined by single "+" signs ("c++" and "x+y" are no such chain); not inside a longer token
_PLUS_CHAIN = re.compile(rf"(?<!{_NEAR}){_WORD_CHAR}+(?:\+{_WORD_CHAR}+){{2,}}(?!{_NEAR})")
# a token of letters, digits and leet characters in which a capital follows a lowercase letter, digit or leet
# character ("h0wT0", "getUser"); not inside a longer token (an underscore joins words of its own)
_CAMEL_RUN = re.compile(rf"(?<!{_NEAR})(?={_WORD_CHAR}*?[a-z0-9@$!|€£][A-Z]){_WORD_CHAR}+(?!{_NEAR})")
# what every chain holds: a word between two "+" signs (found fast, from the "+")
_PLUS_HINT = re.compile(rf"\+{_WORD_CHAR}+\+")
# a camelCase word: a capital and what follows it up to the next capital ("IPoison" holds "I" and "Poison"), or
# capitals together (an acronym: "XMLParser" holds "XML" and "Parser")
_CAMEL_WORD = re.compile(r"[A-Z]+(?=[A-Z][^A-Z])|[A-Z]?[^A-Z]+|[A-Z]+")
# the mark of leetspeak: a leet character between two letters ("h0w", "P01s0n"; not "Test5", "B5")
_LEET_MARK = re.compile(r"[A-Za-z][01345789@$!|€£]+[A-Za-z]")
_LOWER = re.compile(r"[a-z]")
#: a chain or a run is read as words when it holds this many of them or more, half of them common English words
_MIN_JOINED_WORDS = 3
#: a camelCase word of this many letters or more that is no English word is split into English words when it reads
#: so (a digit stood for the capital of the next word: "Water0f", "H0w70" folded)
_MIN_SPLIT_WORD = 3
_MAX_SPLIT_WORD = 64
#: a chain or a run is judged on its first words first
_HEAD_WORDS = 16


def _split(word: str) -> str | None:
    """``word`` split into English words (:func:`._words._split_words`) when it is no word itself but reads as
    several; None otherwise."""
    if _MIN_SPLIT_WORD <= len(word) <= _MAX_SPLIT_WORD and word.isalpha() and not _is_word(word):
        return _split_words(word)
    return None


def _reads_as_words(words: list[str]) -> bool:
    """Whether words found joined read as English: at least ``_MIN_JOINED_WORDS`` of them, half or more of them
    common English words or runs of them (so ``h0w+t0+h4ck`` does, and ``x+y+z`` or a name such as ``McD0n4ld``
    does not)."""
    english = sum(1 for w in words if _is_word(w) or _split(w))
    return len(words) >= _MIN_JOINED_WORDS and 2 * english >= len(words)


def _read_words(words: list[str], fold: Callable[[str], str]) -> list[str] | None:
    """``words`` folded by ``fold`` when they read as English (:func:`_reads_as_words`), else None; judged on the
    first ``_HEAD_WORDS`` first, so that a long run that is no words (a key, base64) costs little."""
    head = list(map(fold, words[:_HEAD_WORDS]))
    if not _reads_as_words(head):
        return None
    folded = head + list(map(fold, words[_HEAD_WORDS:]))
    return folded if len(words) <= _HEAD_WORDS or _reads_as_words(folded) else None


def _fold_joined(text: str, fold: Callable[[str], str]) -> str:
    """``text`` with each word of a ``+`` chain or a camelCase run folded by ``fold`` (a word's leetspeak), where
    the chain or run holds leetspeak (a leet character between two letters of a word; a camelCase run a
    lowercase letter too: not ``514B5D8A``, ``IPv4Address``) and its folded words read as English
    (:func:`_reads_as_words`). A chain keeps its ``+`` signs (the joined view parts it); a camelCase run is
    parted into its words here, a word that runs on into the next split (``H0w70`` -> ``How to``): camelCase
    without leetspeak is an identifier as often as not (``IPAddressDeny``, ``GoFundMe``), and is left as it is.
    Leetspeak run together so is otherwise left whole: as one word it is too long, or in random case like a key."""

    read: dict[str, str] = {}  # each distinct chain or run is read once

    def chain(m: re.Match[str]) -> str:
        found = m.group(0)
        if found not in read:
            words = _read_words(found.split("+"), fold) if _LEET_MARK.search(found) else None
            read[found] = found if words is None else "+".join(words)
        return read[found]

    def camel(m: re.Match[str]) -> str:
        run = m.group(0)
        if run not in read:
            words = _CAMEL_WORD.findall(run) if _LOWER.search(run) else []
            # leetspeak inside a word, not across two ("IPv4Address" is no leet)
            folded = _read_words(words, fold) if any(map(_LEET_MARK.search, words)) else None
            read[run] = run if folded is None else " ".join(_split(w) or w for w in folded)
        return read[run]

    if not _LEET_MARK.search(text):
        return text
    if _PLUS_HINT.search(text):
        text = _PLUS_CHAIN.sub(chain, text)
    return _CAMEL_RUN.sub(camel, text)


def _part_joined(text: str) -> str:
    """Words joined by ``+`` parted by spaces where they read as English words (``how+to+bake+bread``; not
    ``c++``, ``x+y+z``)."""
    if not _PLUS_HINT.search(text):
        return text
    read: dict[str, str] = {}  # each distinct chain is read once

    def chain(m: re.Match[str]) -> str:
        found = m.group(0)
        if found not in read:
            words = _read_words(found.split("+"), str)
            read[found] = found if words is None else " ".join(words)
        return read[found]

    return _PLUS_CHAIN.sub(chain, text)
