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

Invisible characters (zero-width, soft hyphens, bidi marks) are removed and the text NFKC-normalised first. The
rules above judge the first ``_SAMPLE_CHARS`` characters of what is left of it as a whole; then the whole text is
scanned for a stretch in another language (:func:`_stretch_language`): a run of words where every window of
:data:`STRETCH_WORDS` has too few English words (or :data:`STRETCH_OTHER_SCRIPT_WORDS` words of another script),
that the model is ``min_confidence`` sure of and that reads as sentences. So a request after an English lead-in or
after pages of English is found, while a foreign name, dish, title or short quoted phrase in English text is not a
stretch (a quoted line of a dozen words or more is).

Dialect codes of the model are reported as their ISO 639-1 macrolanguage (``arz`` -> ``ar``).
"""

from __future__ import annotations

import re
from itertools import accumulate, compress, count, repeat
from operator import sub
from pathlib import Path
from typing import Any

from guardrails.normalize import basic

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

#: the first 2000 characters are judged as a whole (a short prompt in another language); the whole text is
#: scanned for stretches in another language (see :func:`_stretch_language`)
_SAMPLE_CHARS = 2000
#: a stretch is a run of at least this many words (a window of them with too few English words) ...
STRETCH_WORDS = 12
#: ... or a run of at least this many words of another script (Cyrillic, Arabic, CJK...): no English word is
#: written in it, so a shorter run is enough
STRETCH_OTHER_SCRIPT_WORDS = 6
#: ... judged by the n-gram model in pieces of at most this many words (the worst piece wins)
STRETCH_MAX_WORDS = 48
#: ... and reported only with at least this many letters
STRETCH_MIN_LETTERS = 40
#: a Latin-script stretch in a language whose function words are listed needs at least this share of them (a
#: sentence has about half; a list of dishes or titles, with a preposition in some of them, far fewer)
STRETCH_MIN_FUNCTION_SHARE = 0.3
#: a Latin-script stretch with at least this share of capitalised words is a list of names, titles or products
STRETCH_MAX_CAPITALISED = 0.5

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
#: _WORD in ASCII text of either case
_CASED_ASCII_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
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
    """``(code, confidence)`` when ``text`` is confidently not English, or holds a stretch that is, else None.

    ``identifier`` is the model from :func:`load_identifier`; ``code`` is the model's language
    code (ISO 639-1 where one exists), never English and never a code meaning "no language".
    Invisible characters (zero-width, soft hyphens, bidi marks) are removed and the text NFKC-normalised
    first. The first ``_SAMPLE_CHARS`` characters of its language are judged as a whole
    (:func:`_whole_language`), then the whole text is scanned for stretches in another language
    (:func:`_stretch_language`). See the module docstring for the rules.
    """
    # NFKC: full-width letters ("ｈｏｗ ｄｏ ｉ") are Latin letters, not Chinese or Japanese text
    kept = _language_text(basic(text))
    found = _whole_language(kept[:_SAMPLE_CHARS], identifier, min_confidence)
    if found is not None:
        return found
    return _stretch_language(kept, identifier, min_confidence)


def _whole_language(kept: str, identifier: Any, min_confidence: float) -> tuple[str, float] | None:
    """The language of ``kept`` (tokens that are not language dropped) judged as a whole (rules 1-5 of the module
    docstring), or None."""
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
    code, prob = _classify(identifier, kept)
    if code is None:
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


def _classify(identifier: Any, text: str) -> tuple[str | None, float]:
    """The n-gram model's language of ``text`` as a macrolanguage code, or None for English and non-languages."""
    code, prob = identifier.classify(text)
    code = MACROLANGUAGE.get(code, code)
    if code == "en" or code in NON_LANGUAGE_CODES:
        return None, float(prob)
    return code, float(prob)


def _tokens(kept: str) -> tuple[list[str], list[str]]:
    """The words of ``kept`` (tokens that are not language already dropped) in their case and lowercased, without
    shell and programming keywords; a run of a script written without spaces is cut into words of two characters."""
    if "’" in kept:
        kept = kept.replace("’", "'")
    if kept.isascii():  # the common case: one search in either case (the same words, at the same places)
        cased, lower = _CASED_ASCII_WORD.findall(kept), _ASCII_WORD.findall(kept.lower())
    else:
        cased = []
        for w in _WORD.findall(kept):
            if not w.isascii() and _UNSPACED.search(w):
                cased.extend(w[i : i + 2] for i in range(0, len(w), 2))
            else:
                cased.append(w)
        lower = [w.lower() for w in cased]
    if _CODE_WORDS.isdisjoint(lower):
        return cased, lower
    keep = [i for i, w in enumerate(lower) if w not in _CODE_WORDS]
    return [cased[i] for i in keep], [lower[i] for i in keep]


#: a word's weight in a window's English count: strong words in the high bits, ambiguous ones in the low bits
_EN_WEIGHT = {**dict.fromkeys(_EN_STRONG, 1 << 8), **dict.fromkeys(_EN_AMBIGUOUS, 1)}
#: the window weights of a window of STRETCH_WORDS words that is not English (as for the whole text)
_FOREIGN_WINDOWS = frozenset(
    (strong << 8) + weak
    for strong in range(STRETCH_WORDS + 1)
    for weak in range(STRETCH_WORDS + 1 - strong)
    if (strong + 0.5 * weak if strong else 0.0) < ENGLISH_MIN_SHARE * STRETCH_WORDS
)


def _stretch_language(kept: str, identifier: Any, min_confidence: float) -> tuple[str, float] | None:
    """The language of the most confidently non-English stretch of ``kept`` (tokens that are not language
    dropped), or None.

    Every window of ``STRETCH_WORDS`` consecutive words whose English share is below
    :data:`ENGLISH_MIN_SHARE` (counted as for the whole text) marks its words, and so does every run of
    ``STRETCH_OTHER_SCRIPT_WORDS`` or more words of a script other than Latin; each run of marked words
    is judged by the n-gram model in pieces of at most ``STRETCH_MAX_WORDS`` words. A piece is
    reported when it has ``STRETCH_MIN_LETTERS`` letters or more and the model is at least
    ``min_confidence`` sure of a language other than English; a Latin-script piece must moreover
    read as sentences - fewer than ``STRETCH_MAX_CAPITALISED`` of its words capitalised (not a list of
    names, titles or products) and, for a language whose function words are listed, two of them that are
    not English words, and its function words for at least ``STRETCH_MIN_FUNCTION_SHARE`` of its words.
    So an English lead-in does not hide a sentence in another language, nor do pages of English
    before it, while a foreign name, a short quoted phrase or a few foreign words in English text are never a
    stretch (a quoted line of a dozen words or more is). Linear in the length of the text; the model reads each
    marked word once.
    """
    tokens, lower = _tokens(kept)
    n = len(tokens)
    if n < STRETCH_OTHER_SCRIPT_WORDS:
        return None
    # each window's weight from running totals, and the windows that are not English (without a loop in Python)
    total = list(accumulate(map(_EN_WEIGHT.get, lower, repeat(0)), initial=0))
    foreign = map(_FOREIGN_WINDOWS.__contains__, map(sub, total[STRETCH_WORDS:], total))
    marked = [(i, i + STRETCH_WORDS) for i in compress(count(), foreign)]
    if not all(map(str.isascii, tokens)):
        run = 0
        for i, w in enumerate([*tokens, "a"]):
            if not (w.isascii() or _is_latin(w)):
                run += 1
                continue
            if run >= STRETCH_OTHER_SCRIPT_WORDS:
                marked.append((i - run, i))
            run = 0
        marked.sort()
    worst: tuple[str, float] | None = None
    runs: list[tuple[int, int]] = []
    for start, end in marked:
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(end, runs[-1][1]))
        else:
            runs.append((start, end))
    for start, end in runs:
        for a, b in _pieces(start, end):
            found = _piece_language(tokens[a:b], lower[a:b], identifier, min_confidence)
            if found is not None and (worst is None or found[1] > worst[1]):
                worst = found
    return worst


def _pieces(start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut into pieces of at most ``STRETCH_MAX_WORDS`` words, of even length."""
    count = -(-(end - start) // STRETCH_MAX_WORDS)
    size = -(-(end - start) // count)
    return [(a, min(a + size, end)) for a in range(start, end, size)]


def _piece_language(
    words: list[str], lower: list[str], identifier: Any, min_confidence: float
) -> tuple[str, float] | None:
    """The language of one piece of a stretch (see :func:`_stretch_language`), or None."""
    if sum(map(_letter_weight, words)) < STRETCH_MIN_LETTERS:
        return None
    latin = sum(1 for w in words if w.isascii() or _is_latin(w)) * 2 > len(words)
    if latin and sum(1 for w in words if w[0].isupper()) >= STRETCH_MAX_CAPITALISED * len(words):
        return None
    code, prob = _classify(identifier, " ".join(words))
    if code is None or prob < min_confidence:
        return None
    listed = _FUNCTION_WORDS.get(code)
    if latin and listed is not None:
        if _function_word_hits(lower) < 2:
            return None
        if sum(1 for w in lower if w in listed) < STRETCH_MIN_FUNCTION_SHARE * len(words):
            return None
    return code, prob


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
