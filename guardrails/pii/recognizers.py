"""Recognizers that improve on Presidio's defaults: more recall where they miss, fewer false positives.

Each recognizer is a Presidio ``LocalRecognizer`` that scores its own context (so Presidio's
context enhancer leaves its scores alone) and validates what it matches:

* ``EmailRecognizerPlus``: plain addresses and spoken/obfuscated ones ("jane dot doe at example dot com"),
  with letters of any script written with spaces ("jürgen.müller@gmx.de", "jane@münchen.de").
* ``CreditCardRecognizerPlus``: 12-19 digits, contiguous, grouped with one consistent separator
  (blanks, a dash, " - ", a dot; a line break counts as blanks, so a card wrapped over two lines is
  found) or single-spaced digit by digit; Luhn checksum and a known issuer prefix
  (Visa, Mastercard 51-55 and 2221-2720, Amex, Discover, Diners, JCB, UnionPay, Maestro, Mir, UATP).
  A card followed by its CVV or expiry ("4111 1111 1111 1111 123", "... 12/26") is found without
  them; other groups around it are left out only with a card word nearby. A comma or a dot right
  before a card is punctuation (a CSV row "Ada,4111...,12/26", "card no.4111..."), except in a
  decimal ("0.55...", "0,55...") or after a thousands separator.
* ``IbanRecognizerPlus``: IBANs of 70+ countries, with or without separators (up to three blanks, a
  dash, a line break), length per country and the ISO 7064 mod-97 checksum.
* ``SsnRecognizerPlus``: US SSNs with separators, and a bare 9-digit SSN only with a context word
  ("SSN", "social security") nearby; impossible SSNs (000, 666, 9xx areas, 00 group, 0000 serial) dropped.
* ``PhoneRecognizerPlus``: phone-shaped strings parsed with ``phonenumbers`` for international
  (+44, +49, +91, +33, 00-prefixed ...) and national formats of many regions; short local numbers
  count only with a context word. Dates, year ranges, ZIP+4 codes and card numbers are not phones.
* ``DriverLicenseRecognizer``: US driver licence numbers only next to a licence context word (Presidio's
  default also fires on capitalised words).
* ``PersonRecognizer`` and ``LocationRecognizer``: spaCy NER filtered and completed with a census name
  gazetteer (a capitalised "First Last" that the model missed or called an organisation), honorifics
  ("Dr. Okafor") and name cues ("my name is ..."); LOCATION only for street addresses and places that
  are someone's address ("I live in ..."), never "U.S." or a bare country in an ordinary question.
  All-caps names count after a name cue ("NAME: JOHN SMITH"); UK postcodes end a street address.

The pattern recognizers read the text without invisible characters (zero-width space, joiners,
soft hyphen ...) and with full-width forms, other scripts' digits and dashes (en dash, minus sign,
non-breaking hyphen ...) as ASCII; their spans are mapped back to the original text, where a value
with an invisible character inside is one span. ``FoldedPatternRecognizer`` gives Presidio pattern
recognizers (the date forms, the recognizers declared in YAML) the same reading.

Importing this module imports Presidio: only :mod:`guardrails.detectors.pii` imports it, lazily.
"""

from __future__ import annotations

import bisect
import ipaddress
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import phonenumbers
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from guardrails._paths import configs_dir
from guardrails.normalize import INVISIBLE_CHARS

__all__ = [
    "CreditCardRecognizerPlus",
    "DriverLicenseRecognizer",
    "EmailRecognizerPlus",
    "FoldedPatternRecognizer",
    "IbanRecognizerPlus",
    "IpRecognizerPlus",
    "LocationRecognizer",
    "NameGazetteer",
    "PersonRecognizer",
    "PhoneRecognizerPlus",
    "SsnRecognizerPlus",
    "iban_is_valid",
    "luhn_ok",
]


# --------------------------------------------------------------------------- helpers


def _wordset(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` as a set."""
    return frozenset(text.split())


def _words(*words: str) -> re.Pattern[str]:
    """A case-insensitive regex matching any of ``words`` as whole words (spaces match any separator)."""
    alts = "|".join(re.escape(w).replace(r"\ ", r"[\s_.\-]*") for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z])(?:{alts})(?![A-Za-z])", re.IGNORECASE)


def _near(text: str, start: int, end: int, rx: re.Pattern[str], *, before: int = 48, after: int = 24) -> bool:
    """True when ``rx`` matches in the ``before`` characters before or the ``after`` characters after a span."""
    return bool(rx.search(text, max(0, start - before), start)) or bool(
        rx.search(text, end, min(len(text), end + after))
    )


#: invisible characters a value may hide behind ("jane.doe@exa\u200bmple.com"): those the normalized views
#: remove (soft hyphen, zero-width and bidi marks, variation selectors, tag characters, blank fillers...)
_INVISIBLE_RX = re.compile(f"[{INVISIBLE_CHARS}]")
#: dashes that look like a hyphen-minus: hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal
#: bar (U+2010-2015), minus sign, small em dash, small hyphen-minus (U+FE63); full-width U+FF0D is a wide form
_DASHES = "\u2010-\u2015\u2212\ufe58\ufe63"
#: full-width ASCII forms (U+FF01-FF5E), decimal digits of other scripts and dashes: folded one for one to ASCII
_WIDE_RX = re.compile(rf"[\uff01-\uff5e{_DASHES}]|(?![0-9])\d")


def _fold_char(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    return str(unicodedata.decimal(ch)) if ch.isdecimal() else "-"


@dataclass(frozen=True)
class _FoldedText:
    """A text as the pattern recognizers read it, and the way back to the original offsets.

    Invisible characters are removed and full-width forms, other scripts' digits and dashes become
    ASCII ("\uff14\uff11\uff11\uff11" -> "4111", "536\u201322\u20131234" -> "536-22-1234"), so a value
    written with them is found; offsets found in ``text`` map back to the original with :meth:`span`,
    and a value with an invisible character inside is a span of the original that contains it.
    """

    text: str
    #: ``removed[m]``: where the m-th removed character would have stood in ``text``, ascending
    removed: tuple[int, ...] = ()

    @classmethod
    def of(cls, original: str) -> _FoldedText:
        """Fold ``original`` (the same string back, with nothing removed, when there is nothing to fold)."""
        if original.isascii():
            return cls(original)
        text = _WIDE_RX.sub(_fold_char, original)
        gone = [m.start() for m in _INVISIBLE_RX.finditer(text)]
        if not gone:
            return cls(text)
        return cls(_INVISIBLE_RX.sub("", text), tuple(pos - k for k, pos in enumerate(gone)))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the folded span ``[start, end)`` (``end > start``)."""
        if not self.removed:
            return start, end
        return start + bisect.bisect_right(self.removed, start), end + bisect.bisect_right(self.removed, end - 1)


@dataclass
class _Memo:
    """What the recognizers work out once per text (or value) while one analysis runs; it holds the user's text
    and values, so it lives only as long as the analysis (:func:`analysis_scope`), never in a process-wide cache."""

    folded: dict[str, _FoldedText] = field(default_factory=dict)
    phones: dict[str, tuple[bool, bool]] = field(default_factory=dict)


_MEMO: ContextVar[_Memo | None] = ContextVar("guardrails_pii_memo", default=None)


@contextmanager
def analysis_scope() -> Iterator[None]:
    """Within it, each text is folded once for all the recognizers and each phone-shaped value validated once;
    all of it is dropped when it ends. Outside one, nothing is remembered."""
    token = _MEMO.set(_Memo())
    try:
        yield
    finally:
        _MEMO.reset(token)


def _folded(text: str) -> _FoldedText:
    """:meth:`_FoldedText.of`, once per text for all the pattern recognizers of an analysis."""
    memo = _MEMO.get()
    if memo is None:
        return _FoldedText.of(text)
    folded = memo.folded.get(text)
    if folded is None:
        folded = memo.folded[text] = _FoldedText.of(text)
    return folded


class _OwnScoring(LocalRecognizer):
    """A recognizer that computes its final score itself (context included).

    With ``FOLDS`` (the pattern recognizers), ``find`` reads the :class:`_FoldedText` of the text
    (no invisible characters, ASCII digits) and its spans are mapped back to the original.
    """

    ENTITY = ""
    FOLDS: ClassVar[bool] = True

    def __init__(self, *, supported_language: str = "en", entity: str | None = None) -> None:
        super().__init__(
            supported_entities=[entity or self.ENTITY],
            supported_language=supported_language,
            name=type(self).__name__,
        )

    def load(self) -> None:
        """Nothing to load."""

    def _result(self, start: int, end: int, score: float, why: str, entity: str | None = None) -> RecognizerResult:
        return RecognizerResult(
            entity_type=entity or self.supported_entities[0],
            start=start,
            end=end,
            score=min(1.0, max(0.0, score)),
            analysis_explanation=AnalysisExplanation(
                recognizer=type(self).__name__, original_score=score, textual_explanation=why
            ),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
            },
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if not any(e in self.supported_entities for e in entities):
            return []
        folded = _folded(text) if self.FOLDS else None
        if folded is None or folded.text == text:
            return list(self.find(text, nlp_artifacts))
        results = list(self.find(folded.text, None))  # NLP artifacts hold offsets into the original
        for r in results:
            r.start, r.end = folded.span(r.start, r.end)
        return results

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        raise NotImplementedError


class FoldedPatternRecognizer(PatternRecognizer):
    """A Presidio ``PatternRecognizer`` that reads the text as this module's recognizers do (:class:`_FoldedText`).

    The date forms and the recognizers declared in YAML are Presidio pattern recognizers; their regexes
    expect ASCII digits, so "DOB \uff10\uff13/\uff11\uff14/\uff11\uff19\uff16\uff12" or an age in
    Arabic-Indic digits went unseen although a card in the same digits was found. Subclasses that look at
    a match again override :meth:`analyze_text`, which gets the folded text.
    """

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        folded = _folded(text)
        if folded.text == text:
            return self.analyze_text(text, entities, nlp_artifacts, regex_flags)
        # NLP artifacts hold offsets into the original
        results = self.analyze_text(folded.text, entities, None, regex_flags)
        for r in results:
            r.start, r.end = folded.span(r.start, r.end)
        return results

    def analyze_text(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None, regex_flags: int | None
    ) -> list[RecognizerResult]:
        """Presidio's pattern matching on ``text`` (the folded text when folding changed it)."""
        return list(super().analyze(text, entities, nlp_artifacts, regex_flags))


# --------------------------------------------------------------------------- email

_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|io|co|ai|app|dev|me|us|uk|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|ie|pt|pl|cz|"
    "ru|ua|in|cn|jp|kr|au|nz|ca|br|mx|ar|za|ng|ke|il|tr|gr|hu|ro|sg|hk|tw|ph|id|my|th|vn|pk|eu|online|site|email|mail"
)
_AT = r"\s*(?:@|[\[\(\{<]\s*(?:at|@)\s*[\]\)\}>]|\s(?:at|AT)\s)\s*"
_DOT = r"\s*(?:\.|[\[\(\{<]\s*(?:dot|\.)\s*[\]\)\}>]|\s(?:dot|DOT)\s)\s*"
# Addresses may hold letters of any script that separates words with spaces ("jürgen.müller@gmx.de",
# "zoë@example.com", "jane@münchen.de", "почта@пример.рф"). Scripts written without spaces (Thai, Lao, Myanmar,
# Khmer, kana, CJK) are left out, so an address inside such text starts and ends where their letters do
# ("邮箱是zhang.wei@example.cn谢谢" holds "zhang.wei@example.cn"); an address in those scripts is not found.
_UNSPACED = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff65-\uff9f"
#: combining diacritics: the accent of a decomposed letter ("e\u0301")
_MARKS = "\u0300-\u036f"
#: a letter or digit of an address (not an underscore)
_ALNUM_U = rf"[^\W_{_UNSPACED}]"
#: a letter, digit or underscore, or a combining mark
_WORD_U = rf"(?:[^\W{_UNSPACED}]|[{_MARKS}])"
_LOCAL_ATOM = rf"(?:[^\W{_UNSPACED}]|[{_MARKS}%+\-]){{1,64}}"
_DOMAIN_ATOM = rf"{_ALNUM_U}(?:(?:{_ALNUM_U}|[{_MARKS}\-]){{0,61}}(?:{_ALNUM_U}|[{_MARKS}]))?"
_PLAIN_EMAIL = re.compile(
    # a local part starts where its characters do (the look-behind; "o'brien" whole, "'jane@..." without the quote)
    rf"(?<![^\W{_UNSPACED}])(?<![{_MARKS}.%+\-])"
    rf"(?:[^\W{_UNSPACED}]|[.%+\-])(?:[^\W{_UNSPACED}]|[{_MARKS}.%+'\-]){{0,63}}"
    rf"@(?:{_DOMAIN_ATOM}\.)+[^\W\d_{_UNSPACED}](?:[^\W\d_{_UNSPACED}]|[{_MARKS}]){{1,23}}(?!{_ALNUM_U}|[{_MARKS}\-])"
)
_SPOKEN_EMAIL = re.compile(
    # the look-behind covers every character an atom may hold: a match can only start where an atom starts,
    # so a long run of them ("a-a-a-...") is tried once, not once per character (which was quadratic)
    rf"(?<![^\W{_UNSPACED}])(?<![{_MARKS}%+\-])(?:{_LOCAL_ATOM}(?:{_DOT}{_LOCAL_ATOM}){{0,3}}){_AT}"
    rf"(?:{_DOMAIN_ATOM}{_DOT}){{1,3}}(?:{_TLDS})(?!{_WORD_U})",
    re.IGNORECASE,
)


class EmailRecognizerPlus(_OwnScoring):
    """Email addresses, including spelled-out and bracketed obfuscations."""

    ENTITY = "EMAIL_ADDRESS"

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        if "@" in text:
            for m in _PLAIN_EMAIL.finditer(text):
                yield self._result(m.start(), m.end(), 0.95, "email address")
        for m in _SPOKEN_EMAIL.finditer(text):
            if "@" in m.group(0) and _PLAIN_EMAIL.fullmatch(m.group(0)):
                continue
            yield self._result(m.start(), m.end(), 0.85, "obfuscated email address")


# --------------------------------------------------------------------------- credit cards


def luhn_ok(digits: str) -> bool:
    """True when a digit string passes the Luhn checksum (any script's decimal digits, e.g. full-width)."""
    if digits and not (digits.isascii() and digits.isdigit()):
        if not digits.isdecimal():
            return False  # not a digit string
        digits = "".join(str(unicodedata.decimal(ch)) for ch in digits)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_issuer_ok(d: str) -> bool:
    n = len(d)
    p2, p3, p4, p6 = int(d[:2]), int(d[:3]), int(d[:4]), int(d[:6])
    if d[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if 2200 <= p4 <= 2204:  # Mir
        return 16 <= n <= 19
    if d.startswith("6011") or 644 <= p3 <= 649 or p2 == 65 or 622126 <= p6 <= 622925:
        return 16 <= n <= 19
    if 300 <= p3 <= 305 or p2 in (36, 38, 39) or d.startswith("3095"):
        return 14 <= n <= 19
    if p2 == 35:  # JCB
        return 16 <= n <= 19
    if p2 == 62 or p2 == 81:  # UnionPay
        return 16 <= n <= 19
    if (
        p2 in (50, 56, 57, 58)
        or p2 in (63, 67, 68, 69)
        or d.startswith("6304")
        or d.startswith("6759")
        or d.startswith("676")
    ):
        return 12 <= n <= 19  # Maestro and other debit ranges
    if d.startswith("0604"):  # legacy Maestro range
        return 12 <= n <= 19
    if d[0] == "1":  # UATP
        return n == 15
    if d.startswith(("2131", "1800")):
        return n == 15
    return False


#: what separates two digit groups of a card: up to three blanks, a dash with up to three blanks on either side
#: ("4111 - 1111"), or a dot
_CARD_GAP = r"(?:[ \t]{1,3}|[ \t]{0,3}-[ \t]{0,3}|\.)"
#: one line break with blanks around it: a card wrapped over two lines ("4111 1111\n1111 1111")
_CARD_LINE_BREAK = r"[ \t]{0,3}\n[ \t]{0,3}"
#: a run of digit groups, over one or more lines; a card is a part of one line of it or of two lines. The look-ahead
#: skips a run too short to hold a card without leaving the regex engine ("1,1,1,...")
_CARD_RUN = re.compile(rf"(?<!\d)(?=[\d \t.\-\n]{{12}})\d+(?:(?:{_CARD_GAP}|{_CARD_LINE_BREAK})\d+)*")
_CARD_GROUP = re.compile(r"\d+")
_CARD_LINE_BREAK_RX = re.compile(_CARD_LINE_BREAK)
#: a gap of two blanks, a tab or a line break: the columns or rows of a table as often as a card's groups
_TABLE_GAP = re.compile(r"[ \t]{2}|[\t\n]")
#: a number with thousands separators ends here: ",250" in "1,250"
_THOUSANDS_GROUP = re.compile(r",\d{3}(?!\d)")
_CARD_CONTEXT = _words(
    "card",
    "credit",
    "debit",
    "visa",
    "mastercard",
    "master card",
    "amex",
    "american express",
    "discover",
    "diners",
    "jcb",
    "maestro",
    "unionpay",
    "cc",
    "ccn",
    "pan",
    "payment",
    "pay",
    "charge",
    "expiry",
    "cvv",
)


def _card_shaped(groups: Sequence[str], sep: str) -> bool:
    """True for the digit groupings a card number is written in (``groups`` joined by ``sep``).

    Contiguous (one group of 12-19 digits), single-spaced digit by digit, or 2-5 groups: the
    first two of 3-8 digits, the others of 1-8 (4-4-4-4, 4-6-5, 4-4-4-4-3 ...; 8 allows for
    a separator that was an invisible character, "4111\u200b1111 1111 1111").
    """
    k = len(groups)
    if k == 1:
        return 12 <= len(groups[0]) <= 19
    if all(len(g) == 1 for g in groups):
        return sep == " " and 12 <= k <= 19
    return k <= 5 and 3 <= len(groups[0]) <= 8 and 3 <= len(groups[1]) <= 8 and all(len(g) <= 8 for g in groups[2:])


def _card_valid(digits: str) -> bool:
    return 12 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_ok(digits) and _card_issuer_ok(digits)


#: digits of a run of groups that may lie outside the card in it (a CVV and an expiry, a short reference)
_CARD_EXTRA_DIGITS = 8
#: a group after a card that reads as its CVV or expiry: 3 digits, MM, YY, or MMYY
_CARD_EXTRA_GROUP = re.compile(r"\d{3}|\d{2}|(?:0[1-9]|1[0-2])\d{2}")


def _card_separator(gap: str) -> str:
    """The kind of separator ``gap`` between two digit groups is: " " (blanks, a line break), "-", " - " or "."."""
    core = gap.strip(" \t\n")
    if not core:
        return " "
    return core if core == gap else f" {core} "


def _card_spans(text: str, start: int, end: int, *, context: bool) -> list[tuple[int, int]]:
    """The card number in one run of digit groups ``text[start:end]``, as a list of 0 or 1 ``(start, end)``.

    The whole run is a card when it is card-shaped and valid. Otherwise the run without some
    groups at its end or start, at most ``_CARD_EXTRA_DIGITS`` digits of them, with one
    separator throughout, is tried, the longest first: "4111 1111 1111 1111 123" holds the card
    "4111 1111 1111 1111", so do "... 1111 12/26" and "5500-0000-0000-0004-0425". Without a card
    ``context`` word nearby only groups after the card that read as a CVV or an expiry may be left
    out (a random number after 16 digits is not enough). A longer run (a table, a list of numbers)
    holds no card. Blanks and a line break between two groups are one separator, a space
    ("4111  1111\n1111 1111"); a dash with blanks around it is another ("4111 - 1111 - 1111 - 1111"),
    which, like a space, may also end a card ("4111 1111 1111 1111 - 12/26").
    """
    groups = [(m.start(), m.end()) for m in _CARD_GROUP.finditer(text, start, end)]
    total = sum(b - a for a, b in groups)
    if total > 19 + _CARD_EXTRA_DIGITS:
        return []
    n = len(groups)
    seps = [_card_separator(text[groups[k][1] : groups[k + 1][0]]) for k in range(n - 1)]
    # "... 1,250": the last group (1-3 digits) belongs to a number with thousands separators, no part may hold it
    last = groups[-1][1] - groups[-1][0]
    usable = n - 1 if last <= 3 and _THOUSANDS_GROUP.match(text, end) else n
    # without context, a part may end before group j + 1 only when all the groups after it read as CVV / expiry
    extra_from = 0 if context else n
    while extra_from > 0 and _CARD_EXTRA_GROUP.fullmatch(text, *groups[extra_from - 1]):
        extra_from -= 1
    best: tuple[int, int, int] | None = None  # (digit count, first group, last group)
    for i in range(usable if context else min(usable, 1)):
        count = 0
        sep = seps[i] if i + 1 < n else ""
        for j in range(i, usable):
            if j > i and seps[j - 1] != sep:
                break  # a part has one separator throughout
            count += groups[j][1] - groups[j][0]
            if count > 19:
                break
            if count < 12 or total - count > _CARD_EXTRA_DIGITS or (best is not None and count <= best[0]):
                continue
            if j + 1 < n and j + 1 < extra_from:
                continue
            own = sep if j > i else ""
            if (i > 0 and seps[i - 1] not in (" ", " - ", own)) or (j + 1 < n and seps[j] not in (" ", " - ", own)):
                continue  # not cut out of "0.5500000000000004": a part ends at a space, " - " or its own separator
            parts = [text[a:b] for a, b in groups[i : j + 1]]
            if _card_shaped(parts, sep) and _card_valid("".join(parts)):
                best = (count, i, j)
    return [] if best is None else [(groups[best[1]][0], groups[best[2]][1])]


def _words_beside(text: str, pos: int, step: int) -> bool:
    """True when something other than blanks stands before (``step`` -1) or after (1) ``pos`` on its line."""
    i = pos - 1 if step < 0 else pos
    while 0 <= i < len(text) and text[i] in " \t":
        i += step
    return 0 <= i < len(text) and text[i] != "\n"


def _continues_a_number(text: str, start: int) -> bool:
    """True when a run of digit groups at ``start`` is the tail of a number, not a value of its own.

    A decimal's fraction ("0.5500000000000004", " .55...", "0,55..." with a decimal comma) and the
    group after a thousands separator ("1,234 ..."). A comma or dot after a word is punctuation
    ("card no.4111...", a CSV row "Ada,4111...,12/26"), and so is a comma after a number other than
    0 (a CSV row "1001,4111...", a list "4111...,5555...").
    """
    before = text[start - 1 : start]
    if before == ".":
        return start < 2 or not text[start - 2].isalpha()
    if before == "," and start >= 2 and text[start - 2].isdigit():
        zero = text[start - 2] == "0" and not text[start - 3 : start - 2].isdigit()
        return zero or _THOUSANDS_GROUP.match(text, start - 1) is not None
    return False


class CreditCardRecognizerPlus(_OwnScoring):
    """Payment card numbers (Luhn + issuer prefix), in any common grouping, also before a CVV or an expiry."""

    ENTITY = "CREDIT_CARD"

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        for m in _CARD_RUN.finditer(text):
            if not _continues_a_number(text, m.start()):
                yield from self._in_run(text, m.start(), m.end())

    def _in_run(self, text: str, start: int, end: int) -> Iterable[RecognizerResult]:
        """The cards in a run of digit groups over one or more lines: a card on a line, or one wrapped over two.

        A text wraps in the middle of a line of prose, at a space between groups: a wrapped card has words
        before it on its first line ("card 4111 1111\n1111 1111") or after it on its last ("4111 1111\n1111
        1111 thanks"), holds the line break and at least three groups. Lines that hold nothing but numbers
        (a column, "4567 8901\n2345 6789") are never joined, so the middle lines of a run are not.
        """
        lines, pos = [], start
        for br in _CARD_LINE_BREAK_RX.finditer(text, start, end):
            lines.append((pos, br.start()))
            pos = br.end()
        lines.append((pos, end))
        cards = [self._cards(text, s, e) if e - s >= 12 else [] for s, e in lines]
        used = [bool(c) for c in cards]  # lines that hold a card, or a part of one
        first, last = 0, len(lines) - 2  # the pairs that may hold a wrapped card
        for k in dict.fromkeys((first, last)):
            beside = (k == first and _words_beside(text, start, -1)) or (k == last and _words_beside(text, end, 1))
            if 0 <= k <= last and beside and not used[k] and not used[k + 1]:
                cards[k] = self._wrapped(text, lines[k], lines[k + 1])
                used[k] = used[k + 1] = bool(cards[k])
        for found in cards:
            yield from found

    def _wrapped(self, text: str, first: tuple[int, int], second: tuple[int, int]) -> list[RecognizerResult]:
        """The card wrapped from the line ``first`` to the next line ``second``: 3+ groups, over the break."""
        return [
            r
            for r in self._cards(text, first[0], second[1])
            if r.start < first[1] and second[0] < r.end and len(_CARD_GROUP.findall(text, r.start, r.end)) >= 3
        ]

    def _cards(self, text: str, start: int, end: int) -> list[RecognizerResult]:
        """The card in the run of digit groups ``text[start:end]``, scored (a list of 0 or 1)."""
        if end - start < 12:
            return []
        context = _near(text, start, end, _CARD_CONTEXT, before=64, after=32)
        out = []
        for s, e in _card_spans(text, start, end, context=context):
            digits = re.sub(r"\D", "", text[s:e])
            if len(digits) < 14 and not context and _TABLE_GAP.search(text, s, e):
                continue  # 12-13 digits across wide gaps: more often a row of a table than a card
            score = 0.75 if len(digits) >= 14 else 0.5
            if context:
                score += 0.2
            out.append(self._result(s, e, score, "card number (Luhn, issuer prefix)"))
        return out


# --------------------------------------------------------------------------- IBAN

_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})")
#: what may separate two characters of an IBAN: up to three blanks, or a dash or one line break with up to three
#: blanks on either side ("DE89  3704  0044", "DE89 3704\n0044", "DE89 - 3704")
_IBAN_GAP = re.compile(r"(?:[ \t]{1,3}|[ \t]{0,3}[\n\-][ \t]{0,3})(?=[A-Za-z0-9])")


def iban_is_valid(value: str) -> bool:
    """True when ``value`` (spaces allowed) is an IBAN of a known country length with a valid checksum."""
    s = re.sub(r"[\s\-]", "", value).upper()
    if len(s) < 15 or _IBAN_LENGTHS.get(s[:2]) != len(s) or not s.isalnum():
        return False
    moved = s[4:] + s[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


class IbanRecognizerPlus(_OwnScoring):
    """IBANs: country code, check digits and BBAN, grouped or not, checksum-validated."""

    ENTITY = "IBAN_CODE"

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        for m in _IBAN_START.finditer(text):
            length = _IBAN_LENGTHS.get(m.group(1).upper())
            if length is None:
                continue
            # consume alphanumerics, allowing one gap (_IBAN_GAP) between two of them, up to the country length
            count, i, end = 4, m.end(), m.end()
            while i < len(text) and count < length:
                ch = text[i]
                if ch.isascii() and ch.isalnum():
                    count += 1
                    i += 1
                    end = i
                    continue
                gap = _IBAN_GAP.match(text, i)
                if gap is None:
                    break
                i = gap.end()
            if count != length:
                continue
            if end < len(text) and text[end].isascii() and text[end].isalnum():
                continue  # longer token: not this IBAN
            if iban_is_valid(text[m.start() : end]):
                yield self._result(m.start(), end, 0.95, "IBAN (country length, mod-97 checksum)")


# --------------------------------------------------------------------------- IP addresses

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
#: a version or a numbered part of a document before a dotted quad ("v1.2.3.4", "build 001.002.003.004",
#: "section 10.1.2.3")
_VERSION_BEFORE = re.compile(
    r"(?:\bv|version|ver\.?|release|build|section|chapter|clause|§|figure|fig\.)\s*$", re.IGNORECASE
)
_IP_CONTEXT = _words(
    "ip", "ip address", "address", "server", "host", "ping", "connect", "from", "login", "router", "gateway"
)


#: the second of two versions ("from version 10.2.3.4 to 10.2.4.0")
_VERSION_PAIR = re.compile(
    r"(?:\bv|version|ver\.?|release|build)\s*\d+(?:\.\d+)+\s*(?:to|vs\.?|->|\u2192)\s*$", re.IGNORECASE
)


def _identifies_no_host(value: str) -> bool:
    """The unspecified address, a loopback one, or a netmask (the broadcast address among them)."""
    try:
        ip = ipaddress.IPv4Address(".".join(str(int(o)) for o in value.split(".")))
    except ValueError:
        return False
    if ip.is_unspecified or ip.is_loopback:
        return True
    bits = int(ip)
    return bits != 0 and (bits | (bits - 1)) == 0xFFFFFFFF and value.startswith("255.")  # ones, then zeros


def _ipv4_ok(value: str) -> bool:
    """True for an IPv4 address in dotted-quad form, also zero-padded to three digits an octet as logs write it.

    :mod:`ipaddress` refuses leading zeros (octal in some parsers), but "192.168.001.010" in a log is
    192.168.1.10. Only the fixed-width form counts: "1.02.03.4" is more often a version or a section.
    """
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        octets = value.split(".")
        return all(len(o) == 3 and int(o) <= 255 for o in octets)
    return True


class IpRecognizerPlus(_OwnScoring):
    """IPv4 (also zero-padded, "010.000.000.001") and IPv6 addresses; version strings are not addresses."""

    ENTITY = "IP_ADDRESS"

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        if "." in text:
            for m in _IPV4.finditer(text):
                if not _ipv4_ok(m.group(0)):
                    continue
                if _VERSION_BEFORE.search(text, max(0, m.start() - 10), m.start()) or _VERSION_PAIR.search(
                    text, max(0, m.start() - 48), m.start()
                ):
                    continue
                if _identifies_no_host(m.group(0)):
                    continue  # 0.0.0.0, 127.0.0.1, 255.255.255.0: no one's address
                score = 0.85 if _near(text, m.start(), m.end(), _IP_CONTEXT) else 0.7
                yield self._result(m.start(), m.end(), score, "IPv4 address")
        if "::" in text or text.count(":") >= 3:
            for m in _IPV6.finditer(text):
                value = m.group(0)
                if value.count(":") < 2 or len(value) < 6:
                    continue
                try:
                    ipaddress.IPv6Address(value)
                except ValueError:
                    continue
                yield self._result(m.start(), m.end(), 0.85, "IPv6 address")


# --------------------------------------------------------------------------- Ethereum

_ETH_ADDRESS = re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{40}(?![0-9A-Za-z])")
_ETH_CONTEXT = _words("wallet", "address", "eth", "ether", "ethereum", "send", "pay", "crypto", "metamask", "account")


class EthereumRecognizer(_OwnScoring):
    """Ethereum addresses ("0x" and 40 hex digits), as CRYPTO beside Presidio's Bitcoin recognizer."""

    ENTITY = "CRYPTO"

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        if "0x" not in text and "0X" not in text:
            return
        for m in _ETH_ADDRESS.finditer(text):
            score = 0.9 if _near(text, m.start(), m.end(), _ETH_CONTEXT) else 0.6
            yield self._result(m.start(), m.end(), score, "Ethereum address")


# --------------------------------------------------------------------------- SSN

_SSN_SEPARATED = re.compile(r"(?<![\d\-.])(\d{3})([\- .])(\d{2})\2(\d{4})(?![\d]|[\-.]\d)")
_SSN_BARE = re.compile(r"(?<![\d\-.])(\d{3})(\d{2})(\d{4})(?![\d]|[\-.]\d)")
_SSN_CONTEXT = _words(
    "ssn", "ssns", "ss#", "ss #", "ss no", "social security", "social sec", "socsec", "soc sec", "ssa"
)


def _ssn_plausible(area: str, group: str, serial: str) -> bool:
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    digits = area + group + serial
    return len(set(digits)) > 1 and digits not in ("123456789", "987654321")


class SsnRecognizerPlus(_OwnScoring):
    """US Social Security numbers; a bare 9-digit number only with an SSN context word nearby."""

    ENTITY = "US_SSN"

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        for m in _SSN_SEPARATED.finditer(text):
            if not _ssn_plausible(m.group(1), m.group(3), m.group(4)):
                continue
            context = _near(text, m.start(), m.end(), _SSN_CONTEXT, before=64, after=32)
            base = 0.6 if m.group(2) == "-" else 0.35
            yield self._result(m.start(), m.end(), base + (0.3 if context else 0.0), "US SSN (separated)")
        for m in _SSN_BARE.finditer(text):
            if _ssn_plausible(m.group(1), m.group(2), m.group(3)) and _near(
                text, m.start(), m.end(), _SSN_CONTEXT, before=64, after=32
            ):
                yield self._result(m.start(), m.end(), 0.8, "US SSN (9 digits, context word)")


# --------------------------------------------------------------------------- phones

_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+\-./])"
    r"(?:(?:\+|00)\d{1,3}[\s.\-]?|\+?\(\+?\d{1,4}\)[\s.\-]?)?"  # country code
    r"(?:\(\d{1,5}\)[\s.\-]?)?"  # area code in parentheses
    r"\d(?:[\d.\-/]|[ \t](?=[\d(]|[ \t]\d)){4,18}\d"  # the number (no line breaks inside)
    r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?"
    r"(?!\w|[\-.]\d|/\d)",
    re.IGNORECASE,
)
_PHONE_CONTEXT = _words(
    "phone",
    "phones",
    "telephone",
    "tel",
    "cell",
    "cellphone",
    "mobile",
    "mob",
    "call",
    "called",
    "calling",
    "ring",
    "fax",
    "contact",
    "reach",
    "reached",
    "text",
    "sms",
    "whatsapp",
    "dial",
    "dialed",
    "dialled",
    "ph",
    "tel no",
    "cell no",
    "landline",
    "hotline",
    "answer",
    "answering",
    "voicemail",
    "message",
    "messaged",
    "registered",
    "phoned",
    "rang",
    "office",
    "home",
    "work",
    "extension",
    "ext",
    "line",
    "helpline",
    "callback",
)
_PHONE_REGIONS = (
    "US", "GB", "DE", "FR", "IN", "IT", "ES", "NL", "BE", "CH", "AT", "IE", "SE", "NO", "DK", "FI", "PL", "PT", "AU",
    "NZ", "CA", "BR", "MX", "IL", "ZA", "SG", "JP", "CN", "RU", "TR",
)  # fmt: skip
_DATE_SHAPE = re.compile(r"^(?:\d{1,2}[./\-]\d{1,2}[./\-](?:\d{2}|\d{4})|\d{4}[./\-]\d{1,2}[./\-]\d{1,2})$")
_YEAR_RANGE = re.compile(r"^(?:1[6-9]|20)\d{2}\s?[\-/]\s?(?:(?:1[6-9]|20)\d{2}|\d{2})$")
_ZIP4 = re.compile(r"^\d{5}-\d{4}$")
_SSN_SHAPE = re.compile(r"^\d{3}([- ])\d{2}\1\d{4}$")
_POSTAL = re.compile(r"^(?:\d{4,5}-\d{3}|\d{2}-\d{3})$")
_DATE_PREFIX = re.compile(r"^(?:\d{4}[./\-]\d{1,2}[./\-]\d{1,2}|\d{1,2}[./\-]\d{1,2}[./\-]\d{4})(?:\D|$)")
_ADDRESS_BEFORE = re.compile(
    r"\b(?:apt|apartment|suite|ste|unit|flat|floor|fl|no|box|street|st|avenue|ave|road|rd|lane|ln|drive|dr|blvd|"
    r"way|strasse|straße|str|rue|via|calle|platz|weg|gasse|plaza)\.?\s*,?\s*$",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(r"^(?:\d{1,3}(?:[,.]\d{3})+|\d(?: \d{3})+)$")
_IPV4_SHAPE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _own_line(text: str, start: int, end: int) -> bool:
    """True when the span stands on its own line of a multi-line block (a contact card, a signature)."""
    if text.count("\n") < 2:
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return not text[line_start:start].strip(" \t:-") and not text[end:line_end].strip(" \t.,;")


_DECIMAL = re.compile(r"^\d+\.\d+$")
#: a range of two dotted versions, "2.67.3-2.67.4" (or with an en dash, which the recognizers read as "-")
_VERSION_RANGE = re.compile(r"^\d+(?:\.\d+)+ ?- ?\d+(?:\.\d+)+$")
#: a build or version number of dotted groups, one of them five digits or longer ("10.0.19045.3693"); dotted phone
#: numbers ("01.23.45.67.89", "020.7946.0958") have short groups
_DOTTED_BUILD = re.compile(r"^\d+(?:\.\d+){2,}$")
#: a list of small numbers ("10 20 30 40 50 60 70"): seven groups or more of one or two digits (a French number has
#: five, six with its country code)
_NUMBER_LIST = re.compile(r"^\d{1,2}(?: \d{1,2}){6,}$")
_NOT_PHONE = (_DATE_SHAPE, _YEAR_RANGE, _ZIP4, _DECIMAL, _SSN_SHAPE, _THOUSANDS, _IPV4_SHAPE, _VERSION_RANGE)


def _not_phone_shape(core: str) -> bool:
    """A dotted build number, or a list of small numbers: read so only with no phone word near (see the caller)."""
    if core.startswith(("+", "00", "(")):
        return False
    if _DOTTED_BUILD.match(core) and max(len(g) for g in core.split(".")) >= 5:
        return True
    return bool(_NUMBER_LIST.match(core))


_ISBN_CONTEXT = _words("isbn", "isbn-10", "isbn-13", "isbn10", "isbn13")


def _isbn_ok(core: str) -> bool:
    """An ISBN-13 (978/979) or a grouped ISBN-10 whose check digit is right."""
    if not re.fullmatch(r"\d[\d\- ]+[\dXx]", core) or not re.search(r"[\- ]", core):
        return False
    chars = re.sub(r"[\- ]", "", core).upper()
    if len(chars) == 13 and chars.isdigit() and chars.startswith(("978", "979")):
        return sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(chars)) % 10 == 0
    if len(chars) == 10 and chars[:9].isdigit() and len(re.split(r"[\- ]", core)) == 4:
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(chars))
        return total % 11 == 0
    return False


def _phone_validity(candidate: str) -> tuple[bool, bool]:
    """(valid somewhere, possible somewhere) for a phone-shaped string; once per value in an analysis."""
    memo = _MEMO.get()
    if memo is None:
        return _phone_validity_of(candidate)
    known = memo.phones.get(candidate)
    if known is None:
        known = memo.phones[candidate] = _phone_validity_of(candidate)
    return known


def _phone_validity_of(candidate: str) -> tuple[bool, bool]:
    possible = False
    regions: Sequence[str | None] = (None,) if candidate.startswith("+") else _PHONE_REGIONS
    for region in regions:
        try:
            num = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return True, True
        possible = possible or phonenumbers.is_possible_number(num)
    return False, possible


class PhoneRecognizerPlus(_OwnScoring):
    """Phone numbers in international and national formats of many regions.

    Scores: valid with a country code 0.85; valid national number of 9+ digits 0.6 when grouped;
    phone-shaped groups 0.45 (3+ groups, or 10+ digits, or an area code in parentheses); other
    candidates 0.35; a phone context word nearby adds 0.3, a line of its own in a multi-line
    block (a contact card) 0.15. Dates, year ranges, ZIP+4, SSN shapes, thousands, IPv4,
    postcodes, card numbers and numbers after an address word are not phones.
    """

    ENTITY = "PHONE_NUMBER"

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        for m in _PHONE_CANDIDATE.finditer(text):
            raw = m.group(0).rstrip(" .-/")
            start, end = m.start(), m.start() + len(raw)
            digits = re.sub(r"\D", "", raw)
            if not 7 <= len(digits) <= 15:
                continue
            core = raw.strip()
            if any(rx.match(core) for rx in _NOT_PHONE):
                continue
            if _not_phone_shape(core) and not _near(text, start, end, _PHONE_CONTEXT, before=40, after=16):
                continue
            if _isbn_ok(core) and _near(text, start, end, _ISBN_CONTEXT, before=16, after=0):
                continue  # one phone number in eleven passes the ISBN-10 check: only with "ISBN" before it
            if _POSTAL.match(core) or _DATE_PREFIX.match(core) or text[end : end + 1] == ":":
                continue
            if _near(text, start, end, _DL_CONTEXT, before=40, after=8) and not _near(
                text, start, end, _PHONE_CONTEXT, before=16, after=0
            ):
                continue  # a licence number
            if _ADDRESS_BEFORE.search(text, max(0, start - 24), start) and not _near(text, start, end, _PHONE_CONTEXT):
                continue  # a house number and a postcode
            if (
                len(digits) >= 12
                and luhn_ok(digits)
                and _card_issuer_ok(digits)
                and not core.startswith(("+", "00", "("))
            ):
                continue  # a card number
            international = core.startswith(("+", "00", "(+"))
            groups = len(re.findall(r"\d+", core))
            parse_form = "+" + core[2:] if core.startswith("00") else core
            valid, possible = _phone_validity(re.sub(r"\s*(?:x|ext\.?|extension)\s*\d+$", "", parse_form, flags=re.I))
            if international and (valid or possible):
                score = 0.85 if valid else 0.6
            elif valid and len(digits) >= 9:
                score = 0.6 if groups >= 2 else 0.35
            elif groups >= 3 or (groups >= 2 and (len(digits) >= 10 or core.startswith("("))):
                score = 0.45
            elif groups >= 2 or possible:
                score = 0.35
            else:
                continue
            if _near(text, start, end, _PHONE_CONTEXT, before=40, after=16):
                score += 0.3
            elif _own_line(text, start, end):
                score += 0.15
            yield self._result(start, end, score, "phone number")


# --------------------------------------------------------------------------- US driver licence

_DL_CANDIDATE = re.compile(
    r"(?<![\w\-])(?:[A-Za-z]{1,2}\d{4,14}|\d{7,12}|[A-Za-z]\d{3}[\- ]?\d{3,4}[\- ]?\d{3,4})(?![\w\-])"
)
_DL_CONTEXT = _words("driver", "drivers", "driver's", "driving", "license", "licence", "dl", "dln", "dl#", "permit")


class DriverLicenseRecognizer(_OwnScoring):
    """US driver licence numbers: licence-shaped tokens next to a licence context word only."""

    ENTITY = "US_DRIVER_LICENSE"

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        for m in _DL_CANDIDATE.finditer(text):
            if not any(ch.isdigit() for ch in m.group(0)):
                continue
            if _near(text, m.start(), m.end(), _DL_CONTEXT, before=40, after=16):
                yield self._result(m.start(), m.end(), 0.65, "driver licence number with context")


# --------------------------------------------------------------------------- names and places


@dataclass(frozen=True)
class NameGazetteer:
    """Census first names and surnames, and the ambiguous words never taken alone for a name."""

    first: frozenset[str]
    last: frozenset[str]
    ambiguous: frozenset[str]

    @classmethod
    def load(cls, folder: Path | None = None) -> NameGazetteer:
        """Load the lists shipped in configs/pii/names/ (or another folder with the same files)."""
        return _load_gazetteer(str(folder or configs_dir() / "pii" / "names"))


@lru_cache(maxsize=4)
def _load_gazetteer(folder: str) -> NameGazetteer:
    def read(name: str) -> frozenset[str]:
        path = Path(folder) / name
        lines = path.read_text(encoding="utf-8").splitlines()
        return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))

    first = read("first_names.txt") | (
        read("first_names_intl.txt") if (Path(folder) / "first_names_intl.txt").is_file() else frozenset()
    )
    last = read("surnames.txt") | (
        read("surnames_intl.txt") if (Path(folder) / "surnames_intl.txt").is_file() else frozenset()
    )
    return NameGazetteer(first=first, last=last, ambiguous=read("ambiguous.txt"))


_HONORIFIC = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Madam|Mme|Mlle|Herr|Frau|Sr|Sra|Fr|Rev|Capt|Lt|Sgt)\.?\s+"
    r"((?:[A-Z][a-z']+(?:-[A-Z]?[a-z']+)*|[A-Z]\.)(?:[ \t]+(?:[A-Z][a-z']+(?:-[A-Z]?[a-z']+)*|[A-Z]\.)){0,3})"
)  # a name is on one line: "Dr. Okafor\nP.O. Box 4471" is a name and an address; "Ms. Jo Wu-Chen" one name
#: words right before a capitalised word that make it a name, whatever the word
_NAME_CUE = re.compile(
    r"(?:\b(?:my|his|her|their|your|the\s+patient's|the\s+client's|the\s+customer's)\s+"
    r"(?:full\s+|first\s+|last\s+|legal\s+|maiden\s+|middle\s+)?name\s+(?:is|was|=|:)"
    r"|\b(?:name|surname|last\s+name|first\s+name|full\s+name|maiden\s+name)\s*(?:[:=?]|is)"
    r"|\b(?:named|called|call\s+me|signed|regards|sincerely|dear|yours)\b[,:]?)"
    r"\s*$",
    re.IGNORECASE,
)
#: a form or record field that holds a person's name ("PATIENT:", "Pt name:", "Attending:", "Next of kin:"): a cue
#: for names in capitals and in "LAST, First" order, whose words must be known names, and a weak cue for others (a
#: capitalised word after it is no name by that alone: "Patient: Denies chest pain")
_FIELD_CUE = re.compile(
    r"(?:\b(?:patient|pt|client|customer|member|resident|guardian|insured|subscriber|guarantor|contact|"
    r"emergency\s+contact|next\s+of\s+kin|attending|physician|doctor|provider|surgeon|nurse|pcp|"
    r"(?:referring|ordering)(?:\s+(?:physician|provider|doctor))?)(?:\s+name)?\s*[:=]|\breferred\s+by)\s*$",
    re.IGNORECASE,
)
#: "SMITH, John A.", "Chen, Robert", "SMITH, JOHN": a surname, a comma, a first name and maybe an initial
_INVERTED_NAME = re.compile(
    r"(?<![\w'’\-])([A-Z][A-Za-z'’\-]*[A-Za-z]),[ \t]*([A-Z][A-Za-z'’\-]*[A-Za-z])"
    r"(?:[ \t]+[A-Z](?:\.|(?![\w'’\-.])))?(?![\w'’\-])"
)
#: a generational suffix or a roman numeral, never a surname before a comma
_GENERATION = re.compile(r"[ivxl]+|jr|sr|jnr|snr|esq|phd|md")
#: an all-caps word of two letters or more ("JOHN", "O'NEIL", "WU-CHEN")
_CAPS_WORD = re.compile(r"(?<![\w'’\-])[A-Z][A-Z'’]*[A-Z](?:-[A-Z]+)*(?![\w'’\-])")
_BLANKS = re.compile(r"[ \t]+")
#: weaker cues: the capitalised word must also be a known or surname-shaped name
_WEAK_NAME_CUE = re.compile(
    r"\b(?:I\s+am|I'm|this\s+is|meet|ask\s+for|speak\s+to|talk\s+to|thanks|cheers|hi|hello|hey|with|and|to|from|by|"
    r"contact|cc|email|text|tell|ask|met|son|daughter|wife|husband|mother|father|brother|sister|friend|colleague|"
    r"manager|boss|neighbor|neighbour|kid|child|patient|client|customer)\b[,:]?\s*$",
    re.IGNORECASE,
)
#: a self-introduction right before a name typed in lower case ("i am sarah connor", "i'm emily clark")
_SELF_INTRO = re.compile(r"\b(?:I\s+am|I'm|I’m|im)\s*$", re.IGNORECASE)
_LOCATION_CUE = re.compile(
    r"\b(?:live|lives|lived|living|reside|resides|resided|residing|address|moved|relocated|home|located|born|"
    r"staying|stays|ship|shipped|deliver|delivered|mail|mailed|apartment|zip|postcode|postal)\b",
    re.IGNORECASE,
)
_STREET_SUFFIX = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|square|sq|terrace|ter|way|"
    "parkway|pkwy|highway|hwy|circle|cir|trail|trl|crescent|close|row|alley|plaza|route|rte|strasse|straße|"
    "rue|via|calle|avenida|gardens|grove|hill|hills|park|walk|mews|green|view|heights|ridge|point|run|path|loop|"
    "crossing|xing|pike|expressway|expy|freeway|fwy|turnpike|tpke|manor|mall|center|centre|estates"
)
#: a UK postcode ("SW1A 2AA", "M1 1AE", "EC1A1BB"): one value, never cut in two
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2}\b"
_STREET_ADDRESS = re.compile(
    r"(?<![\w\-])\d{1,6}[A-Za-z]?(?:-\d{1,5})?[ \t]+(?:[NSEW]\.?[ \t]+|North[ \t]+|South[ \t]+|East[ \t]+|West[ \t]+)?"
    r"(?:(?:[A-Z][\w'\-]*|\d{1,3}(?:st|nd|rd|th))\.?[ \t]+){1,4}"  # capitalised street name words
    rf"(?i:{_STREET_SUFFIX})\b\.?"
    r"(?:,?[ \t]+(?i:apt|apartment|suite|ste|unit|flat|#|no\.?)[ \t]*\d[\w\-]{0,5})?"
    rf"(?:,[ \t]*(?!{_UK_POSTCODE})[A-Z][\w'\-.]*(?:[ \t]+(?!{_UK_POSTCODE})[A-Z][\w'\-.]*){{0,3}})?"
    r"(?:,?[ \t]+[A-Z]{2}(?=[\s,]|$))?"
    rf"(?:,?[ \t]+(?:\d{{5}}(?:-\d{{4}})?|{_UK_POSTCODE}))?"
)
#: number first, then a Romance street word and its name ("77 rue de Rivoli", "12 avenida de la Paz", "3 via Roma")
_ROMANCE_STREET = re.compile(
    r"(?<![\w\-])\d{1,5}(?:[ \t]?(?:bis|ter))?,?[ \t]+"
    r"(?i:rue|avenue|av\.|boulevard|bd|chemin|all[ée]e|impasse|place|quai|cours|via|viale|piazza|corso|calle|"
    r"avenida|rua|carrer|paseo)[ \t]+"
    r"(?:(?i:de|du|des|la|le|les|del|della|di|da|do|dos|das)[ \t]+|(?i:l'|d'))*"
    r"[A-Z][\w'\-]*(?:[ \t]+(?:(?i:de|du|des|la|le|del|di|da)[ \t]+)?[A-Z][\w'\-]*){0,3}"
)
#: a street written in lower case right after a residence cue ("I live at 5 high street", "moved to 221b baker st"):
#: one or two name words, then a street suffix
_CUED_LOWER_STREET = re.compile(
    r"\b(?i:live|lives|lived|living|reside|resides|resided|residing|moved|stay|staying|stays)[ \t]+(?i:at|to|on|in)"
    r"[ \t]+(?P<value>\d{1,5}[A-Za-z]?[ \t]+(?:[a-z][\w'\-]*[ \t]+){1,2}"
    rf"(?i:{_STREET_SUFFIX})\b\.?(?:,[ \t]*[A-Za-z][\w'\-]*(?:[ \t]+[A-Za-z][\w'\-]*)?(?=[\s,.!?;]|$))?)"
)
#: what stands between two coordinated names on one line: ", ", " and ", " & " ("Regards,\nDr. Okafor" is not a list)
_COORD_GAP = re.compile(r"[ \t]*(?:,[ \t]*(?:and[ \t]+)?|and[ \t]+|&[ \t]*)\Z")
#: European order: street name with its suffix, then the house number ("Lindenallee 14", "Villacher Strasse 89",
#: "Piroska u. 97."),
#: and post office boxes
_STREET_NUMBER_AFTER = re.compile(
    r"(?<![\w\-])(?:(?:[A-Z][\w'\-]*[ \t]+){0,3}[A-Z]?[\w'\-]*"
    r"(?:strasse|straße|str\.|weg|gasse|platz|allee|utca|u\.|kapu|ulica|ul\.|straat|laan|gatan|vägen|vej|veien|katu|tie)"
    r"|(?:[A-Z][\w'\-]*[ \t]+){1,3}(?:Strasse|Straße|Str\.|Gasse|Platz|Allee|Straat|Laan|Gatan|Vej|Utca|Ulica)"
    r"|(?:Rue|Via|Calle|Avenida|Rua|Viale|Piazza|Plaza|Paseo|Carrer|Ulica|Vicolo|Corso)(?:[ \t]+[A-Za-z][\w'\-]*){1,4})"
    r"[ \t]+\d{1,5}[a-zA-Z]?\b\.?"
    r"|\bP\.?[ \t]?O\.?[ \t]+Box[ \t]+\d{1,6}\b"
)
_BLOCK_LINE = re.compile(r"[ \t]*(?:,[ \t]*)?(?:[A-Z0-9][\w'\-.]*|#)(?:[ \t,]+[\w'\-.#]+){0,5}[ \t]*$")


#: a number of eight digits or more, alone or in groups (a card, an SSN, an IBAN's digits, a phone, a date):
#: no line of an address holds one but a ZIP+4 or Brazilian postcode ("62704-1234", "01310-100")
_ID_NUMBER = re.compile(r"(?<![\w\-])\d(?:[ \-./]?\d){7,}(?![\w\-])")
_POSTCODE_NUMBER = re.compile(r"\d{5}-\d{3,4}")


def _extend_address_block(text: str, end: int, *, max_lines: int = 4) -> int:
    """Extend an address to the short lines that continue it ("Suite 245", "LONDON", "Austria 25173").

    A line holding an ID-shaped number ("SSN 536-22-1234", a card) ends the address: taking it in
    would hide that value inside the address span, where the rules for its own entity never reach it.
    """
    for _ in range(max_lines):
        if not text.startswith("\n", end):
            return end
        nxt = text.find("\n", end + 1)
        line_end = len(text) if nxt < 0 else nxt
        line = text[end + 1 : line_end]
        if not line.strip() or len(line) > 48 or not _BLOCK_LINE.match(line) or _holds_id_number(line):
            return end
        end = line_end
    return end


def _holds_id_number(line: str) -> bool:
    """True when ``line`` holds a number of eight digits or more that is no postcode."""
    return any(not _POSTCODE_NUMBER.fullmatch(m.group(0)) for m in _ID_NUMBER.finditer(line))


_PLACE_OR_THING_BEFORE = re.compile(
    r"\b(?:in|at|from|to|near|of|on|into|via|visit|visiting|the|a|an|this|that|our|your|their)\s*$", re.IGNORECASE
)
#: words after a sentence-initial capitalised word that make it a question or a phrase, not a name
_NOT_AFTER_NAME = _wordset(
    """
    you i we he she they it this that these those there my your our their his her its the a an me us
    them not n't of and or to
    """
)
_HONORIFIC_BEFORE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Madam|Aunt|Uncle|Coach|Grandpa|Grandma)\.?\s*$"
)
#: a last word that makes a capitalised phrase an organisation, place or thing rather than a person
_NOT_A_NAME_LAST = _wordset(
    """
    inc inc. corp corp. co co. ltd ltd. llc plc gmbh ag sa group labs lab industries enterprises systems
    solutions technologies tech bank hospital clinic university college school academy institute
    foundation church museum park lake river mountain street avenue road airport station hotel cafe café
    restaurant bar coffee studio studios gardens garden center centre mall market empire kingdom
    republic ring sword book books press times news county city town island islands beach bay valley
    streets square squares union pass strasse straße str extensions extension orchestra associates
    investments partners day royal pleasures stripes tales love salesperson award awards united states
    kingdom plan wall act treaty war revolution america africa europe asia airport heathrow carta
    charter doctrine deal
    """
)
_NOT_A_NAME_WORD = _wordset(
    """
    python java javascript docker kubernetes linux windows excel outlook jira safari chrome firefox
    google microsoft amazon apple netflix slack zoom github gitlab aws azure pokémon pokemon crispr
    covid email convert promise dyson tesla ford dell boeing porsche ferrari disney nike adidas gucci
    chanel prada hilton marriott kellogg hoover gillette boston mars jupiter saturn mercury pluto earth
    """
)
_SURNAME_ENDING = re.compile(
    r"(?:sson|ssen|sen|son|ski|ska|sky|ová|ova|ov|ev|eva|ić|vić|enko|escu|dóttir|dottir|poulos|akis|oglu|oğlu|"
    r"yan|chuk|wicz|czyk|berg|stein|mann|ez|elli|etti|ucci|ieri|quist|ström|strom|gaard|aert|ault|eaux)$"
)
_UPPER_WORD = re.compile(r"^[A-Z][a-z]+(?:[\-'][A-Z]?[a-z]+)*$")
_INITIAL = re.compile(r"^[A-Z]\.?$")
_SENTENCE_END = {".", "!", "?", ":", ";", "\n", '"', "“", "”", "(", "-", "—", "–"}


#: markup and field punctuation that ends a word inside a spaCy token ("Lopez](mailto:...", "1;Anna", 'name":"Ann')
_TOKEN_PART = re.compile(r"[^\[\]();|{}<>\"=]+|[\[\]();|{}<>\"=]")
_TOKEN_BREAKS = frozenset('[]();|{}<>"=')
#: where a spaCy PERSON span stops being a name: markup or a field separator after its first character
_SPAN_BREAK = re.compile(r"\]\(|[;|{}<>=]")


@dataclass(frozen=True, slots=True)
class _Tok:
    """A token as the name rules read it: a spaCy token, or a piece of one cut at markup punctuation."""

    text: str
    idx: int  # offset in the text
    i: int  # position among the tokens
    src: int  # index of the spaCy token it is (a piece of)
    is_stop: bool
    is_sent_start: bool
    piece: bool = False  # cut from a longer spaCy token


def _name_tokens(doc: Any) -> list[_Tok]:
    """The tokens of a spaCy doc, each cut at markup punctuation inside it ("Lopez](mailto" -> "Lopez", "]",
    "(", "mailto"), so a name written in Markdown, JSON or a ;-separated row is read as words."""
    out: list[_Tok] = []
    for t in doc:
        text = t.text
        if len(text) < 2 or not any(ch in _TOKEN_BREAKS for ch in text):
            out.append(_Tok(text, t.idx, len(out), t.i, bool(t.is_stop), bool(t.is_sent_start)))
            continue
        stops = _stop_words(doc.lang_)
        for k, m in enumerate(_TOKEN_PART.finditer(text)):
            piece = m.group(0)
            start = bool(t.is_sent_start) and k == 0
            out.append(_Tok(piece, t.idx + m.start(), len(out), t.i, piece.lower() in stops, start, piece=True))
    return out


@lru_cache(maxsize=4)
def _stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words of a language (read without touching a shared pipeline's vocabulary)."""
    import spacy

    return frozenset(spacy.util.get_lang_class(lang).Defaults.stop_words)


def _title_word(tok: str) -> bool:
    """A capitalised word: "Smith", "O'Brien", "Kónya", "Al-Sayed" (not "NASA", not "iPhone")."""
    if len(tok) < 2 or not tok[0].isupper():
        return False
    rest = tok[1:].replace("-", "").replace("'", "").replace("’", "")
    return rest.isalpha() and not rest.isupper() and sum(ch.isupper() for ch in rest) <= 2


def _surname_shaped(word: str) -> bool:
    """A capitalised word with a common surname ending (-son, -sen, -ski, -ová, -ić, -enko, -dóttir ...)."""
    return _title_word(word) and bool(_SURNAME_ENDING.search(word))


def _starts_a_sentence(prev: _Tok, word: _Tok) -> bool:
    """The token before a word makes it capitalised by position: a sentence end, or a table cell's bar or a tag's
    end right before it ("|Branch|", '<h3 id="ada">Ada</h3>', "<td>Berlin</td>"; a padded "| Maria |" is read as
    before)."""
    return prev.text in _SENTENCE_END or (prev.text in ("|", ">") and prev.idx + len(prev.text) == word.idx)


def _code_call(nxt: _Tok, end: int) -> bool:
    """The token after a run of capitalised words ending at ``end`` makes it code: a bracket cut from the same token
    ("List[str]", "RequireRestart(system)"; a bracket spaCy splits off itself is read as before)."""
    return nxt.piece and nxt.idx == end and nxt.text in ("(", "[")


def _name_field_cue(text: str, start: int) -> bool:
    """A name cue ("my name is", "Signed,") or a name field ("Patient:", "Pt name:") right before ``start``."""
    return bool(_NAME_CUE.search(text, max(0, start - 40), start) or _FIELD_CUE.search(text, max(0, start - 40), start))


class PersonRecognizer(_OwnScoring):
    """PERSON from spaCy NER, completed by a census name gazetteer, honorifics and name cues.

    Scores: spaCy PERSON 0.85 (0.6 without any capitalised word); honorific + name or
    name cue 0.85; all-caps known names after a name cue 0.8; "First Last" from the gazetteer
    0.75 (also when spaCy called it an organisation or a place); a single known first name not
    at a sentence start 0.55.
    """

    ENTITY = "PERSON"
    FOLDS = False  # reads spaCy's offsets

    def __init__(self, *, gazetteer: NameGazetteer, supported_language: str = "en") -> None:
        super().__init__(supported_language=supported_language)
        self.gazetteer = gazetteer

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in _HONORIFIC.finditer(text):
            out.append(self._result(m.start(), m.end(1), 0.85, "honorific and name"))
        out.extend(self._all_caps_names(text))
        out.extend(self._inverted_names(text))
        if nlp_artifacts is None or nlp_artifacts.tokens is None:
            return out
        doc = nlp_artifacts.tokens
        taken: list[tuple[int, int]] = []
        for ent in nlp_artifacts.entities:
            if ent.label_ != "PERSON":
                continue
            span = self._trim(text, ent.start_char, ent.end_char)
            if span is None:
                continue
            s, e = span
            value = text[s:e]
            if any(ch.isdigit() for ch in value) or "@" in value:
                continue
            words = value.split()
            g = self.gazetteer
            known = any(w.lower().strip(".,") in g.first or w.lower().strip(".,") in g.last for w in words)
            cue = bool(_NAME_CUE.search(text, max(0, s - 40), s)) or bool(
                _HONORIFIC_BEFORE.search(text, max(0, s - 12), s)
            )
            if words[-1].lower() in _NOT_A_NAME_LAST or any(w.lower() in _NOT_A_NAME_WORD for w in words):
                continue
            if len(words) == 1:
                ambiguous = words[0].lower() in g.ambiguous
                if not (known or cue) or (ambiguous and not cue):
                    continue
                if not (_title_word(words[0]) or cue):
                    continue
                score = 0.85
            else:
                score = 0.85 if all(w[:1].isupper() for w in words) else 0.6
                if not known and not cue:
                    score = 0.6
            out.append(self._result(s, e, score, "spaCy PERSON"))
            taken.append((s, e))
        other = {(ent.start, ent.end): ent.label_ for ent in nlp_artifacts.entities if ent.label_ != "PERSON"}
        ent_of_token: dict[int, str] = {}
        for (a, b), label in other.items():
            for i in range(a, b):
                ent_of_token[i] = label
        out.extend(self._lowercase_names(text, doc, taken))
        # runs of capitalised words (with initials), not already a spaCy PERSON
        toks = _name_tokens(doc)
        i, n = 0, len(toks)
        g = self.gazetteer
        while i < n:
            tok = toks[i]
            if not _title_word(tok.text) or tok.is_stop:
                i += 1
                continue
            j = i + 1
            while (
                j < n
                and j - i < 4
                and not toks[j].is_stop
                and (
                    _title_word(toks[j].text)
                    or (_INITIAL.match(toks[j].text) and j + 1 < n and _title_word(toks[j + 1].text))
                )
            ):
                j += 1
            run = [toks[k] for k in range(i, j)]
            i = j
            while _INITIAL.match(run[-1].text):
                run.pop()  # "System V Make": the run stopped at a stop word after an initial
            sentence_start = run[0].i == 0 or _starts_a_sentence(toks[run[0].i - 1], run[0])
            if sentence_start and len(run) >= 2 and run[0].text.lower() not in g.first:
                run = run[1:]  # "Explain Einstein's ...": an imperative verb, capitalised by position
            s, e = run[0].idx, run[-1].idx + len(run[-1].text)
            if any(a < e and s < b for a, b in taken):
                continue
            if run[-1].i + 1 < n and _code_call(toks[run[-1].i + 1], e):
                continue  # "List[str]", "Emit RequireRestart(system)": code, not a name
            words = [t.text for t in run if not _INITIAL.match(t.text)]
            first, last = words[0].lower(), words[-1].lower()
            labels = {ent_of_token.get(t.src) for t in run}
            cue = bool(_NAME_CUE.search(text, max(0, s - 40), s))
            weak_cue = bool(
                _WEAK_NAME_CUE.search(text, max(0, s - 24), s) or _FIELD_CUE.search(text, max(0, s - 40), s)
            )
            if len(words) >= 2 and (
                words[-1].lower() in _NOT_A_NAME_LAST or any(w.lower() in _NOT_A_NAME_WORD for w in words)
            ):
                continue
            if (
                labels & {"LOCATION", "MISC_NAME"}
                and not cue
                and not (first in g.first and (last in g.last or last in g.first) and len(words) >= 2)
            ):
                continue  # spaCy calls it a place, a work, a law ...: only a clear "First Last" overrides
            if cue:
                out.append(self._result(s, e, 0.8, "capitalised name after a name cue"))
            elif (
                len(words) >= 2
                and first in g.first
                and (last in g.last or last in g.first or _surname_shaped(words[-1]))
            ):
                out.append(self._result(s, e, 0.75, "gazetteer first + last name"))
            elif len(words) >= 2 and first in g.first and first not in g.ambiguous:
                out.append(self._result(s, e, 0.6, "gazetteer first name + capitalised word"))
            elif (
                2 <= len(words) <= 3
                and (_surname_shaped(words[-1]) or last in g.last)
                and (first in g.last or _surname_shaped(words[0]) or first in g.first)
                and first not in g.ambiguous
            ):
                out.append(self._result(s, e, 0.55, "capitalised words ending in a surname"))
            elif re.search(r"\d[\s,]*$", text[max(0, s - 4) : s]) or ("LOCATION" in labels and first not in g.first):
                continue  # "159 Eleftheriou Venizelou": a street after a house number; a place
            elif (
                weak_cue
                and first not in g.ambiguous
                and (first in g.first or first in g.last or _surname_shaped(words[0]))
            ):
                out.append(self._result(s, e, 0.6, "known or surname-shaped name after a weak name cue"))
            elif (
                len(words) == 1
                and (first in g.first or (_surname_shaped(words[0]) and first in g.last))
                and first not in g.ambiguous
                and first not in _NOT_A_NAME_WORD
            ):
                before = text[max(0, s - 16) : s]
                if _PLACE_OR_THING_BEFORE.search(before):
                    continue  # "from Atlanta", "on Safari", "the Apollo": a place or a thing
                nxt = toks[run[-1].i + 1].text if run[-1].i + 1 < n else ""
                if run[0].i == 0 or _starts_a_sentence(toks[run[0].i - 1], run[0]) or run[0].is_sent_start:
                    # a sentence-initial word is capitalised anyway: a name when addressed, possessive,
                    # speaking ("Ana: ...") or followed by a verb-like lowercase word ("Ana called")
                    verb_like = nxt[:1].islower() and nxt.lower() not in _NOT_AFTER_NAME
                    if not (verb_like or nxt in {",", "'s", "’s", ":"}):
                        continue
                    out.append(self._result(s, e, 0.5, "gazetteer first name at sentence start"))
                else:
                    out.append(self._result(s, e, 0.55, "gazetteer first name"))
        return self._propagate(text, toks, out)

    def _propagate(self, text: str, tokens: Sequence[_Tok], out: list[RecognizerResult]) -> list[RecognizerResult]:
        """Spread found names: other mentions of a found name's words, and names coordinated with one.

        "Kónya, Becker and Vasquez" with one of them found makes the others names too; a
        name found once ("Hakuba said ...") is a name wherever else it appears in the text.
        """
        found = [(r.start, r.end) for r in out if r.score >= 0.5]
        if not found:
            return out
        g = self.gazetteer
        words = set()
        for a, b in found:
            for w in text[a:b].split():
                w = w.strip(".,")
                if _title_word(w) and w.lower() not in g.ambiguous and w.lower() not in _NOT_A_NAME_WORD:
                    words.add(w)
        starts = {a for a, _ in found}
        ends = {b for _, b in found}
        candidates = [
            t
            for t in tokens
            if _title_word(t.text) and t.text.lower() not in g.ambiguous and t.text.lower() not in _NOT_A_NAME_WORD
        ]
        extra: list[RecognizerResult] = []
        # covered[i]: how many characters before i lie inside a found name (one pass, not found x candidates)
        inside = [0] * (len(text) + 1)
        for a, b in found:
            inside[a] += 1
            inside[b] -= 1
        covered = [0] * (len(text) + 1)
        depth = 0
        for i in range(len(text)):
            depth += inside[i]
            covered[i + 1] = covered[i] + (depth > 0)
        taken = {(t.idx, t.idx + len(t.text)) for t in candidates if covered[t.idx + len(t.text)] - covered[t.idx] > 0}
        for _ in range(3):  # a few passes let a list "A, B, C and D" fill in from one found name
            added = False
            for tok in candidates:
                s, e = tok.idx, tok.idx + len(tok.text)
                if (s, e) in taken:
                    continue
                coordinated = any(b in ends and _COORD_GAP.match(text, b, s) for b in range(max(0, s - 7), s)) or any(
                    a in starts and _COORD_GAP.match(text, e, a) for a in range(e + 1, min(len(text), e + 8))
                )
                if tok.text in words or coordinated:
                    extra.append(self._result(s, e, 0.6, "mention of a found name, or coordinated with one"))
                    taken.add((s, e))
                    starts.add(s)
                    ends.add(e)
                    added = True
            if not added:
                break
        return out + extra

    def _all_caps_names(self, text: str) -> list[RecognizerResult]:
        """'NAME: JOHN SMITH': all-caps words right after a name cue, each a known first name or surname.

        One of them must be a first name; a single word must be an unambiguous first name ("DEAR MARIA").
        """
        out: list[RecognizerResult] = []
        g = self.gazetteer
        words = list(_CAPS_WORD.finditer(text))
        i = 0
        while i < len(words):
            w = words[i]
            if not self._known_caps(w.group(0)) or not _name_field_cue(text, w.start()):
                i += 1
                continue
            j = i + 1
            while (
                j < len(words)
                and j - i < 4
                and _BLANKS.fullmatch(text, words[j - 1].end(), words[j].start())
                and self._known_caps(words[j].group(0))
            ):
                j += 1
            run = [words[k].group(0).lower() for k in range(i, j)]
            firsts = [part in g.first for word in run for part in word.split("-")]
            if (
                any(firsts)
                and run[-1] not in _NOT_A_NAME_LAST
                and not any(word in _NOT_AFTER_NAME for word in run)
                and (len(run) > 1 or (all(firsts) and run[0] not in g.ambiguous))
            ):
                out.append(self._result(w.start(), words[j - 1].end(), 0.8, "all-caps known name after a name cue"))
            i = j
        return out

    def _inverted_names(self, text: str) -> list[RecognizerResult]:
        """'Patient: SMITH, John A.', 'Attending: Chen, Robert MD': a known surname, a comma and a known first
        name (and an initial) after a name cue or a name field, as records write a name; without a cue only
        a known surname in capitals before a capitalised first name ("SMITH, John (DOB ...)")."""
        out: list[RecognizerResult] = []
        g = self.gazetteer
        for m in _INVERTED_NAME.finditer(text):
            last, first = m.group(1).lower(), m.group(2).lower()
            if _GENERATION.fullmatch(last):
                continue  # "David L. Cooper II, Brent Fox": a list of names, not "SURNAME, First"
            if not (last in g.last or _surname_shaped(m.group(1).capitalize())) or first not in g.first:
                continue
            if last in _NOT_A_NAME_WORD or first in _NOT_A_NAME_WORD or first in g.ambiguous:
                continue
            if _name_field_cue(text, m.start()):
                out.append(self._result(m.start(), m.end(), 0.8, "surname, first name after a name cue"))
            elif m.group(1).isupper() and _title_word(m.group(2)) and last in g.last and last not in _NOT_AFTER_NAME:
                out.append(self._result(m.start(), m.end(), 0.7, "SURNAME, First name"))
        return out

    def _known_caps(self, word: str) -> bool:
        """An all-caps word that is a known first name or surname ("MARIA", "LOPEZ", "WU-CHEN")."""
        g = self.gazetteer
        parts = word.lower().replace("’", "'").split("-")
        return all(
            any(form in g.first or form in g.last for form in (p, p.replace("'", ""))) and p not in _NOT_A_NAME_WORD
            for p in parts
        )

    def _lowercase_names(self, text: str, doc: Any, taken: list[tuple[int, int]]) -> list[RecognizerResult]:
        """'maria lopez' typed in lower case: a known first name followed by a known surname."""
        g = self.gazetteer
        out = []
        for i in range(len(doc) - 1):
            a, b = doc[i].text, doc[i + 1].text
            if not (a.isalpha() and b.isalpha() and a.islower() and b.islower() and len(a) > 2 and len(b) > 2):
                continue
            if a in g.ambiguous or b in g.ambiguous or a in _NOT_AFTER_NAME or doc[i].is_stop or doc[i + 1].is_stop:
                continue
            if a in g.first and (b in g.last or b in g.first):
                s, e = doc[i].idx, doc[i + 1].idx + len(b)
                before = text[max(0, s - 40) : s]
                line_start = not before.rsplit("\n", 1)[-1].strip(" \t>-*\"'")
                cue = bool(_NAME_CUE.search(before))
                if not (line_start or cue or _WEAK_NAME_CUE.search(before)):
                    continue  # lower-case words are names only after a cue or at the start of a line
                # a surname that is a first name too ("sarah connor", "emily clark") only after a name cue or a
                # self-introduction (after "to", "with", "from" it is as often a place or a verb: "to forest hill",
                # "to sue baker"); two first names only after a name cue ("name: anna maria")
                if b in g.first and not (cue or (_SELF_INTRO.search(before) and b in g.last)):
                    continue
                if not any(x < e and s < y for x, y in taken):
                    out.append(self._result(s, e, 0.5, "lower-case first + last name"))
        return out

    @staticmethod
    def _trim(text: str, s: int, e: int) -> tuple[int, int] | None:
        """A spaCy PERSON span without what is around the name: a possessive, punctuation, a list bullet
        ("- Bob Martinez", "• Bob"), and anything from markup punctuation on ("Maria Lopez](mailto:...")."""
        cut = _SPAN_BREAK.search(text, s + 1, e)
        if cut is not None:
            e = cut.start()
        value = text[s:e]
        for suffix in ("'s", "’s", "'"):
            if value.endswith(suffix):
                e -= len(suffix)
                value = text[s:e]
        stripped = value.strip(" \t\r\n,.;:!?\"'()[]-•*·–—>")
        if not stripped:
            return None
        s += value.index(stripped)
        return s, s + len(stripped)


class LocationRecognizer(_OwnScoring):
    """LOCATION that identifies where a person is: street addresses, and places in an address context.

    A place name alone ("U.S.", "France" in a question about France) is not PII; spaCy's
    GPE/LOC/FAC entities count only after a residence cue ("I live in", "my address",
    "ship to"), next to a street address or in a "City, ST 12345" line.
    """

    ENTITY = "LOCATION"
    FOLDS = False  # reads spaCy's offsets

    def find(self, text: str, nlp_artifacts: NlpArtifacts | None) -> Iterable[RecognizerResult]:
        out: list[RecognizerResult] = []
        addresses: list[tuple[int, int]] = []
        for start, end, score, why in _street_addresses(text):
            addresses.append((start, end))
            out.append(self._result(start, end, score, why))
        if nlp_artifacts is None:
            return out
        for ent in nlp_artifacts.entities:
            if ent.label_ != "LOCATION":
                continue
            s, e = ent.start_char, ent.end_char
            value = text[s:e]
            if not any(ch.isalpha() for ch in value) or re.fullmatch(
                r"(?:the\s+)?(?:U\.?S\.?A?\.?|U\.?K\.?|E\.?U\.?)", value, re.I
            ):
                continue
            near_address = any(abs(s - b) <= 3 or abs(a - e) <= 3 for a, b in addresses)
            cue = bool(_LOCATION_CUE.search(text, max(0, s - 40), s))
            zip_after = bool(re.match(r",?\s*(?:[A-Z]{2}\s+)?\d{5}\b", text[e : e + 12]))
            if near_address or cue or zip_after:
                out.append(self._result(s, e, 0.7, "place in an address context"))
        return out


def _street_addresses(text: str) -> list[tuple[int, int, float, str]]:
    """The street addresses of ``text`` (start, end, score, why), each with what follows it on its line (a city,
    state and ZIP, a postcode and city) and the short lines that continue it.

    Read on the folded text, so an invisible character inside ("12 Ma\u200bin Street") hides nothing;
    the spans are the original text's.
    """
    folded = _folded(text)
    src = folded.text
    found: list[tuple[int, int, float, str]] = []
    for m in _STREET_ADDRESS.finditer(src):
        value = m.group(0).rstrip(" ,.")
        if re.fullmatch(r"\d+\s+(?:st|rd|dr|ct|pl|way|run|point|view|green|park|close|row|path|loop)\.?", value, re.I):
            continue  # "21 st", "3 dr": ordinal or unit, not an address
        end = _extend_address_block(src, _address_tail(src, m.start() + len(value)))
        found.append((m.start(), end, 0.75, "street address"))
    for m in _STREET_NUMBER_AFTER.finditer(src):
        if any(a <= m.start() and m.end() <= b for a, b, _, _ in found):
            continue  # a part of an address found (one it only overlaps is merged with it later)
        end = _extend_address_block(src, _address_tail(src, m.end()))
        found.append((m.start(), end, 0.7, "street name and house number"))
    for m in _ROMANCE_STREET.finditer(src):
        end = _extend_address_block(src, _address_tail(src, m.end()))
        found.append((m.start(), end, 0.75, "house number and street"))
    for m in _CUED_LOWER_STREET.finditer(src):
        found.append((m.start("value"), m.end("value"), 0.75, "street address after a residence cue"))
    return [(*folded.span(s, e), score, why) for s, e, score, why in found]


#: what may follow a street address on its line: a state and ZIP, after a city or not ("NW, Washington, DC 20500",
#: "DC 20500"), or a European postcode and city (", 10115 Berlin")
_ADDRESS_TAIL = re.compile(
    r"(?:,[ \t]*|[ \t]+)(?:(?:[A-Z][\w'\-.]*[ \t]+){0,2}[A-Z][\w'\-.]*,?[ \t]+)?"
    r"[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?(?![\w\-])"
    r"|,[ \t]*\d{4,5}[ \t]+[A-Z][\w'\-]*(?:[ \t]+[A-Z][\w'\-]*)?(?![\w\-])"
)


def _address_tail(text: str, end: int) -> int:
    """Where an address ending at ``end`` ends with what follows it on its line (see ``_ADDRESS_TAIL``)."""
    m = _ADDRESS_TAIL.match(text, end)
    return end if m is None else m.end()


def gazetteer() -> NameGazetteer:
    """The shipped name gazetteer (cached)."""
    return NameGazetteer.load()
