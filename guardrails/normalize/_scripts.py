"""Characters: invisible ones removed and NFKC (:func:`basic`), look-alike letters of other scripts folded."""

from __future__ import annotations

import re
import unicodedata

from guardrails.normalize._words import _WORDS

# Removed by basic(): every format (Cf) character of Unicode 15 -- soft hyphen, Arabic/Syriac number
# signs, zero-width space/joiners, bidi marks/embeddings/isolates, word joiner and invisible operators,
# BOM, interlinear annotation, Egyptian/shorthand/musical format controls, tag characters -- plus the
# invisible characters of other categories: combining grapheme joiner, Hangul and braille fillers,
# Khmer inherent vowels, Mongolian free variation selectors, variation selectors (and supplement).
#: the body of a regular-expression character class of them (the PII recognizers skip the same characters)
INVISIBLE_CHARS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f"  # Cf
    "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u2800\u3164\uffa0\ufe00-\ufe0f\U000e0100-\U000e01ef"
)
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")

# Letters of other scripts that look like Latin ones (after the UTS #39 confusables), folded in
# mostly-Latin text and inside words that mix scripts -- never in a text written in that script.
_HOMOGLYPHS = {
    # Cyrillic lowercase
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "ү": "y", "ѡ": "w", "ҽ": "e", "г": "r",
    # Cyrillic uppercase
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ї": "I", "Ј": "J", "Һ": "H", "Ԁ": "D", "Ԛ": "Q",
    "Ԝ": "W", "Ӏ": "I", "Ү": "Y", "Ԍ": "G",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ѵ": "v", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "Ϳ": "J",
    # Armenian
    "ա": "w", "գ": "q", "զ": "q", "հ": "h", "ո": "n", "ռ": "n", "ս": "u", "ց": "g", "ք": "f", "օ": "o",
    "Ս": "U", "Տ": "S", "Օ": "O",
}  # fmt: skip
# Latin letters that read as other Latin letters whatever the text: small capitals and the script g
# (folded to the lowercase letter: ``ʜᴏᴡ ᴛᴏ`` reads "how to").
_LATIN_LOOKALIKES = {
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j",
    "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ꞯ": "q", "ʀ": "r", "ꜱ": "s", "ᴛ": "t",
    "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ɡ": "g", "ɑ": "a",
}  # fmt: skip
_HOMOGLYPH_TABLE = str.maketrans(_HOMOGLYPHS)
# what encoded text is read through: every look-alike letter as its Latin letter, one character for one
_DECODE_FOLD_TABLE = str.maketrans({**_HOMOGLYPHS, **_LATIN_LOOKALIKES})
_LATIN_LOOKALIKE_TABLE = str.maketrans(_LATIN_LOOKALIKES)
_LATIN_LOOKALIKE = re.compile("[" + "".join(_LATIN_LOOKALIKES) + "]")
# letters of the scripts above (Greek, Cyrillic, Armenian): what decides whether a text is mostly Latin
# a sentence (for folding a whole one written in look-alike letters), a word
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*|[.!?\n]+")
_WORD_CHARS = re.compile(r"\w+")
_CYR_GREEK = re.compile("[\u0370-\u03ff\u0400-\u052f\u0531-\u0556\u0561-\u0587]")
_LATIN = re.compile("[A-Za-z]")
# a letter _DECODE_FOLD_TABLE folds
_ANY_LOOKALIKE = re.compile("[\u0370-\u03ff\u0400-\u052f\u0531-\u0556\u0561-\u0587" + "".join(_LATIN_LOOKALIKES) + "]")


def basic(text: str) -> str:
    """Remove zero-width, bidi, tag and other invisible format characters, then NFKC-normalise ``text``."""
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))


def gapped(text: str) -> str:
    """:func:`basic`, except that invisible characters standing for the spaces of a run (a run of more than
    ``_GLUED_RUN`` characters once they are gone, as "how<ZWSP>to<ZWSP>build..." is) become spaces: removed,
    they glue the words into one the encoder cannot read. A view of its own beside ``basic``, whose glued runs
    the decoders read (a base64 segment with a zero-width space inside is one segment there)."""
    if _INVISIBLE.search(text):
        text = _NON_SPACE_RUN.sub(_without_invisible, text)
    return unicodedata.normalize("NFKC", text)


#: a run longer than this once its invisible characters are removed has them read as spaces (see :func:`gapped`)
_GLUED_RUN = 32
_NON_SPACE_RUN = re.compile(r"\S+")


def _without_invisible(m: re.Match[str]) -> str:
    run = m.group(0)
    gone = _INVISIBLE.sub("", run)
    if len(gone) <= _GLUED_RUN:
        return gone
    return " ".join(_INVISIBLE.sub(" ", run).split())


def _fold_homoglyphs(text: str) -> str:
    if _LATIN_LOOKALIKE.search(text):
        text = text.translate(_LATIN_LOOKALIKE_TABLE)
    if not _CYR_GREEK.search(text):
        return text
    latin = len(_LATIN.findall(text))
    foreign = len(_CYR_GREEK.findall(text))
    if latin >= foreign:
        return text.translate(_HOMOGLYPH_TABLE)

    # mostly Cyrillic/Greek/Armenian: fold inside words that mix scripts, and a whole sentence that reads as
    # English once folded (every letter swapped for a look-alike, so no word mixes scripts)
    def mixed(m: re.Match[str]) -> str:
        w = m.group(0)
        return w.translate(_HOMOGLYPH_TABLE) if _LATIN.search(w) else w

    def sentence(m: re.Match[str]) -> str:
        s = m.group(0)
        return s.translate(_HOMOGLYPH_TABLE) if _reads_as_english_folded(s) else _WORD_CHARS.sub(mixed, s)

    return _SENTENCE.sub(sentence, text)


def _reads_as_english_folded(sentence: str) -> bool:
    """Whether the words of ``sentence`` written with Cyrillic/Greek/Armenian letters read as English once
    their look-alike letters are folded: at least half of them are then common English words, three or more,
    two of three letters or more. Text written in those scripts does not ("он не" folds to "oh he", but
    few longer words fold to English ones)."""
    words = [w for w in _WORD_CHARS.findall(sentence) if _CYR_GREEK.search(w)]
    english = long = 0
    for w in words:
        folded = w.translate(_HOMOGLYPH_TABLE).lower()
        if folded in _WORDS:
            english += 1
            long += len(folded) >= 3
    return english >= 3 and long >= 2 and 2 * english >= len(words)


def _decode_fold(text: str) -> str:
    """``text`` with every look-alike letter read as its Latin letter, one character for one (the offsets
    hold): what encoded segments are found and decoded in (hex written with a Cyrillic ``с``)."""
    return text.translate(_DECODE_FOLD_TABLE) if _ANY_LOOKALIKE.search(text) else text
