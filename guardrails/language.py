"""Language identification of user turns and answers: is this text confidently not English?

The semantic classifier is English-only, so a text in another language must not pass it
silently: :func:`detect_language` reports ``(code, confidence)`` for such a text and the
semantic detector turns it into a ``language:<code>`` finding for the profile's
``unsupported_language`` rule. It runs on every turn, so the common case (English prose,
code, logs) is decided from the words alone, without the character n-gram model.

What counts as a word: whitespace tokens are stripped of surrounding punctuation, and
tokens that are not language are dropped before anything is counted - tokens with a
digit (hashes, UUIDs, versions, timestamps), URLs, e-mail addresses and handles,
identifiers and code (``snake_case``, ``camelCase``, ``a.b``, ``f(x)``, ``$VAR``, ``--flag``),
long hex strings and a few shell/programming keywords. What is left is split into words
(``s'il`` and ``don't`` are one word); runs of a script written without spaces (Chinese,
Japanese, Thai...) count one word per two characters.

The decision, in order:

1. fewer than 8 letters left, or fewer than 3 words of a Latin-script text: not reported;
2. an English share of at least :data:`ENGLISH_MIN_SHARE` of the words - a common English
   word counts 1, one that is also a common word of another language ("a", "no", "in",
   "was", "die"...) counts 1/2 and only next to at least one unambiguous English word -
   is English: short prompts, and English instructions about a foreign phrase
   ("Translate into English: je voudrais un café");
3. otherwise the n-gram model judges the words left; English, or a code that is not a
   language (``zxx`` "no linguistic content", ``und``, ``mis``, ``mul``), is not reported;
4. a text mostly in another script (Cyrillic, Arabic, Devanagari, CJK...) is reported with
   at least ``min_confidence``: the model is never unsure that Russian is not English;
5. a Latin-script text is reported when the model is at least ``min_confidence`` sure,
   or - five or more different words without one unambiguous English word - at least
   :data:`NO_ENGLISH_MIN_PROB` sure (short Spanish prompts score 0.6-0.75). For the
   languages whose function words are listed here (es, fr, de, it, pt, nl, pl) the
   words must also include one of them (two for the second rule): a sentence has them,
   a list of names or dishes ("Pizza margherita, tiramisu, espresso, grazie") does not;
   for another language the second rule also wants no common English word at all.

Dialect codes of the model are reported as their ISO 639-1 macrolanguage (``arz`` -> ``ar``).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

#: a Latin-script text of at least this many words and no common English word ...
NO_ENGLISH_MIN_WORDS = 5
#: ... is reported as the n-gram model's language when the model gives it at least this probability
NO_ENGLISH_MIN_PROB = 0.5
#: a text whose words are at least this share common English words is English
ENGLISH_MIN_SHARE = 0.2
#: fewer letters than this (after dropping tokens that are not language) are never reported
MIN_LETTERS = 8
#: codes the n-gram model may return that do not name a language: never reported
NON_LANGUAGE_CODES = frozenset({"zxx", "und", "mis", "mul"})
#: the model's dialect codes reported as the ISO 639-1 code of their macrolanguage
MACROLANGUAGE = {
    "ary": "ar",
    "arz": "ar",
    "yue": "zh",
    "wuu": "zh",
    "uzs": "uz",
    "gug": "gn",
    "sdh": "ku",
    "fuv": "ff",
    "ltg": "lv",
}

#: the first 2000 characters decide: enough for any language, bounded cost on huge texts
_SAMPLE_CHARS = 2000

# The English-word set is the old detector's list plus frequent words it lacked; words that are
# also frequent words of another language are separated into _EN_AMBIGUOUS below.
_EN_WORDS = frozenset(
    """
    the a an and or but if of to in on at by for with from about into over after before is are was were be been
    am do does did have has had can could would should will shall may might must i you he she it we they me my
    your his her its our their this that these those what which who whom whose when where why how not no yes
    please tell give make write explain show help find get use need want know think like just some any all more
    most there here than then so very also only as up out one two new good best way
    translate translation english mean means meaning say said word words phrase sentence pronounce spell
    being because while until without between through during under again each other same such own both few
    many much too now well even still already never always often sometimes every something anything nothing
    thing things people time day year work working doesn't don't didn't isn't aren't wasn't can't won't
    i'm i've i'd i'll it's that's what's there's let's you're we're they're let set see look
    thanks thank why's how's where's who's
    """.split()  # noqa: SIM905 - a readable word list
)

# Function words of the languages the n-gram model most often confuses with English-laden text:
# a sentence in one of these languages contains some of them, a list of names or dishes does not.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split())
    for code, words in {
        "es": """el la los las lo de del al que y en un una unos unas es son está están estoy hay por para
            con sin se su sus mi mis me no tu te le les nos yo usted cómo como qué cuál cuándo dónde porque pero
            muy más este esta esto ese esa puedo puede quiero tengo hacer he ha""",
        "fr": """le la les de des du un une et est sont en que qui quoi pour pas ne je tu il elle nous vous
            ils elles on me a sur dans avec ce cette ces mon ma mes ton ta son sa au aux comment pourquoi quel
            quelle où très mais ou donc suis ai peux veux faire l' d' j' c' s' qu' n' m' t'""",
        "de": """der die das den dem des ein eine einen einem einer und ist sind nicht ich du er sie wir ihr
            es mit auf für von zu zum zur im in an am also so man will wie was warum wo wann kann können mein
            meine mir mich dich sich auch noch aber oder wenn dass bei nach aus um hat habe haben werden wird bitte""",
        "it": """il lo la gli le di del della dei delle che e è un una uno per con non come cosa perché sono
            mi me ti si ci ho ha no in da al alla nel nella posso voglio questo questa anche ma più dove quando
            qual quale quanto vorrei l' un' dell' all' nell' c'""",
        "pt": """o a os as de do da dos das que e é um uma para com não em no na nos nas por como eu você
            meu minha me se mais isso este esta posso quero fazer ao à pelo pela são está estou tem faço""",
        "nl": """de het een en van ik je is dat niet op te met voor zijn er wat hoe kan mijn ze hij wij we
            ook maar of over in om aan bij naar dit die waarom kun kunnen wil moet graag""",
        "pl": """i w z na do nie się to jest że jak co o od po za dla czy ale tak ja ty on ona mój moja mnie
            mi jestem mogę możesz chcę są który która gdzie dlaczego przez proszę""",
    }.items()
}
_FOREIGN_WORDS = frozenset().union(*_FUNCTION_WORDS.values())
#: English words that are also function words of another language: weak evidence for English
_EN_AMBIGUOUS = _EN_WORDS & _FOREIGN_WORDS
_EN_STRONG = _EN_WORDS - _EN_AMBIGUOUS
#: foreign function words that are not also English words: evidence of a sentence in that language
_FOREIGN_ONLY = _FOREIGN_WORDS - _EN_WORDS
#: shell and programming keywords: neither English nor another language
_CODE_WORDS = frozenset(
    """
    def elif endif fi esac var const func fn struct enum impl pub nil null sudo cd ls rm mv cp mkdir rmdir
    chmod chown grep sed awk curl wget ssh scp git npm npx pip yarn pnpm docker kubectl cmake apt venv stdin
    stdout stderr int str bool dict args kwargs println printf fmt src lib usr tmp api json yaml http https
    """.split()  # noqa: SIM905 - a readable word list
)

#: punctuation stripped from both ends of a whitespace token
_EDGE = "\"'`«»„“”‘’()[]{}<>,.;:!?¿¡…-–—*_~|"
#: a token that is not language: digits, URLs, e-mails/handles, code and identifiers
_NOT_LANGUAGE = re.compile(
    r"\d"  # hashes, UUIDs, versions, timestamps, ids
    r"|^-+[^\W\d_]"  # command-line flags: -rf, --no-cache
    r"|://|^www\."  # URLs
    r"|@"  # e-mail addresses, handles, decorators
    r"|[_=<>{}\[\]()/\\|$#%^*~`+&;]"  # code, paths, markup, shell
    r"|\w[.:]+\w"  # a.b, file.py, std::x, key:value, domain.com
    r"|[a-z][A-Z]"  # camelCase, base64
    r"|^[A-Fa-f]{8,}$"  # hex without a digit
)
#: a text without any of these has no token that is not language (the common case: no per-token work); searched
#: one by one, as one alternation of them tries every branch at every character (twice as slow on prose)
_SUSPECTS = (re.compile(r"[\d@_=<>{}\[\]()/\\|$#%^*~`+&;]"), re.compile(r"[a-z][A-Z]"), re.compile(r"[A-Fa-f]{8}"))
#: ... and these, only when the text holds one of the characters they need
_DOTTED = re.compile(r"\w[.:]+\w")
_FLAG = re.compile(r"(?:^|\s)-+\w")
#: a letter, or a combining mark (Devanagari and Thai vowel signs, Arabic and Hebrew points, accents in NFD)
_LETTER = (
    r"(?:[^\W\d_]|[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    r"\u0900-\u0963\u0970-\u0dff\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3099\u309a])"
)
_WORD = re.compile(f"{_LETTER}+(?:'{_LETTER}+)*")
#: _WORD in lowercase ASCII text
_ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
#: scripts written without spaces: one word per two characters
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


#: Hangul syllables: a syllable block holds two or three letters
_HANGUL = re.compile(r"[\uac00-\ud7af]")


def _letter_weight(word: str) -> int:
    """How many letters a word counts for MIN_LETTERS: a character of a script written without spaces (Chinese,
    Japanese, Thai...) stands for a word, so it counts four; a Hangul syllable block counts two."""
    if word.isascii():  # the common case, without the two searches
        return len(word)
    if _UNSPACED.search(word):
        return 4 * len(word)
    if _HANGUL.search(word):
        return 2 * len(word)
    return len(word)


def load_identifier() -> Any:
    """The py3langid n-gram model (probabilities normalised), or None when py3langid is not installed."""
    try:
        from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    except ImportError:
        return None
    return LanguageIdentifier.from_modelpath(Path(MODEL_DIR) / MODEL_FILE, norm_probs=True)


def _is_latin(word: str) -> bool:
    latin = sum(1 for c in word if c.isascii() or "\u00c0" <= c <= "\u024f" or "\u1e00" <= c <= "\u1eff")
    return 2 * latin >= len(word)


def _suspect(text: str) -> bool:
    """Whether ``text`` may hold a token that is not language (see :func:`_language_text`)."""
    return (
        any(p.search(text) for p in _SUSPECTS)
        or (("." in text or ":" in text) and _DOTTED.search(text) is not None)
        or ("-" in text and _FLAG.search(text) is not None)
    )


def _language_text(text: str) -> str:
    """``text`` without the tokens that are not language (surrounding punctuation of the others stripped)."""
    if not _suspect(text):
        return text
    kept = []
    for token in text.split():
        if token[0] == "-" and _NOT_LANGUAGE.match(token):
            continue  # a flag (before its dashes are stripped as punctuation)
        token = token.strip(_EDGE)
        if token and not _NOT_LANGUAGE.search(token):
            kept.append(token)
    return " ".join(kept)


def _words(text: str) -> list[str]:
    text = text.lower()
    if "’" in text:
        text = text.replace("’", "'")
    # in ASCII text a letter is one of a-z (the text is lowercase): a plain character class, three times faster
    found = (_ASCII_WORD if text.isascii() else _WORD).findall(text)
    return [w for w in found if w not in _CODE_WORDS]


def language_words(text: str) -> list[str]:
    """The words of ``text`` that count for its language (lowercased), tokens that are not language dropped."""
    return _words(_language_text(text))


def _function_word_hits(words: list[str]) -> int:
    hits = 0
    for w in words:
        if w in _FOREIGN_ONLY or ("'" in w and w[: w.index("'") + 1] in _FOREIGN_ONLY):
            hits += 1
    return hits


def detect_language(text: str, identifier: Any, *, min_confidence: float = 0.9) -> tuple[str, float] | None:
    """``(code, confidence)`` when ``text`` is confidently not English, else None.

    ``identifier`` is the model from :func:`load_identifier`; ``code`` is the model's language
    code (ISO 639-1 where one exists), never English and never a code meaning "no language".
    See the module docstring for the rules.
    """
    # NFKC first: full-width letters ("ｈｏｗ ｄｏ ｉ") are Latin letters, not Chinese or Japanese text
    kept = _language_text(unicodedata.normalize("NFKC", text[:_SAMPLE_CHARS]))
    words = _words(kept)
    if sum(map(_letter_weight, words)) < MIN_LETTERS:
        return None
    n_words = 0
    other_script = 0
    strong = 0
    weak = 0
    for w in words:
        if w.isascii() or _is_latin(w):
            n_words += 1
            if w in _EN_STRONG:
                strong += 1
            elif w in _EN_AMBIGUOUS:
                weak += 1
        else:
            weight = (len(w) + 1) // 2 if _UNSPACED.search(w) else 1
            n_words += weight
            other_script += weight
    latin = other_script * 2 < n_words
    if latin and n_words < 3:
        return None
    english = strong + 0.5 * weak if strong else 0.0
    if english >= ENGLISH_MIN_SHARE * n_words:
        return None  # decided without the n-gram model (the common case)
    code, prob = identifier.classify(kept)
    code, prob = MACROLANGUAGE.get(code, code), float(prob)
    if code == "en" or code in NON_LANGUAGE_CODES:
        return None
    if not latin:
        return code, max(prob, min_confidence)
    listed = code in _FUNCTION_WORDS
    hits = _function_word_hits(words) if listed else 0
    if prob >= min_confidence and (not listed or hits >= 1):
        return code, prob
    # five or more different Latin words without one unambiguous English word are not English, even when the
    # n-gram model is unsure which language they are (short Spanish prompts score 0.6-0.75): for a listed
    # language two of its function words must show that it is a sentence, for another one no word may be a
    # common English word at all (as before: "el niño weather pattern effects on california" stays English)
    if (
        len(set(words)) >= NO_ENGLISH_MIN_WORDS
        and strong == 0
        and prob >= NO_ENGLISH_MIN_PROB
        and (hits >= 2 if listed else weak == 0)
    ):
        return code, prob
    return None


__all__ = [
    "ENGLISH_MIN_SHARE",
    "MACROLANGUAGE",
    "MIN_LETTERS",
    "NON_LANGUAGE_CODES",
    "NO_ENGLISH_MIN_PROB",
    "NO_ENGLISH_MIN_WORDS",
    "detect_language",
    "language_words",
    "load_identifier",
]
