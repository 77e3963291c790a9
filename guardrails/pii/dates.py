"""Which date and time expressions a preset redacts as DATE_TIME: the ``date_time:`` rule of a PII preset.

spaCy calls many things a DATE or a TIME: "for 3 days", "two weeks", "tonight", "10am", "every 6 hours",
"2019". HIPAA's Safe Harbor method (45 CFR 164.514(b)(2)(i)(C)) removes the elements of dates other than the
year of dates related to a person (birth, admission, discharge, death), and ages over 89; a duration, a time of
day, a frequency or a bare year is none of those, and redacting it hides how long a symptom has lasted. A rule
names the date *forms* to redact::

    date_time:
      redact: [numeric_date, month_day, month_year]   # calendar dates; durations, times and years stay
      yield_to: [MEDICAL_RECORD_NUMBER]               # where such a finding overlaps a date, it wins

Forms (:data:`DATE_FORMS`; matched case-insensitively, except the month "May", which must be capitalised):

- ``numeric_date``: 03/14/1962, 14/3/62, 1962-03-14, 14.03.1962, 3-14-1962 (with a year: "8/10" is not a date)
- ``month_day``: March 14, March 14th, 2021, 14 March 1962, 14th of March, Tue 14 Mar 2021, 14-Mar-2021
- ``month_year``: March 1962, March of 1962, 03/1962
- ``any``: every span spaCy NER calls a DATE or TIME and every match of Presidio's date patterns (what a preset
  without a rule redacts: durations, times of day and bare years too)

With a rule, the calendar-date forms are found by their own patterns in the whole text (not only where spaCy saw
a date: spaCy reads "Tue 14 Mar 2021" as the date "2021"), and spaCy's DATE/TIME spans count only under ``any``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guardrails.types import Finding

if TYPE_CHECKING:
    from presidio_analyzer import PatternRecognizer

__all__ = ["ANY", "DATE_FORMS", "DATE_SCORE", "DateTimeRule", "date_recognizer", "yield_dates"]

#: the form that keeps the engine's own DATE_TIME findings (spaCy DATE/TIME and Presidio's date patterns)
ANY = "any"
#: the score of a date found by a form (spaCy's DATE spans score 0.85 too)
DATE_SCORE = 0.85
_ENTITY = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
_ALNUM = re.compile(r"[^\W_]")

_MONTH = (
    r"(?:(?:january|february|march|april|june|july|august|september|october|november|december)\b"
    r"|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)(?:\.|\b)|(?-i:May|MAY)\b)"
)
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)\b\.?"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\b"
_YEAR = r"(?:1[89]|2[01])\d\d\b"
_NUM_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_NUM_MONTH = r"(?:0?[1-9]|1[0-2])"
_NOT_AFTER = r"(?<![\w/.-])"  # not the tail of a longer number, word, path or version
_NOT_BEFORE = r"(?![/-]|\.\d|(?!T\d)\w)"  # an ISO time may follow: 1962-03-14T08:30

#: regex of each calendar-date form (compiled with IGNORECASE, as Presidio compiles them)
DATE_FORMS: Mapping[str, str] = {
    "numeric_date": _NOT_AFTER
    + r"(?:"
    + rf"{_NUM_DAY}/{_NUM_DAY}/(?:\d{{4}}|\d\d)"  # 03/14/1962, 14/3/62 (either order)
    + rf"|{_NUM_DAY}([.-]){_NUM_DAY}\1\d{{4}}"  # 14.03.1962, 3-14-1962
    + rf"|(?:19|20)\d\d([/.-]){_NUM_MONTH}\2{_NUM_DAY}"  # 1962-03-14, 1962/3/14
    + r")"
    + _NOT_BEFORE,
    "month_day": rf"\b(?:{_WEEKDAY},?\s+(?:the\s+)?)?"
    + r"(?:"
    + rf"{_MONTH}\s*(?:the\s+)?{_DAY}"  # March 14, Mar. 14th, March the 14th
    + rf"|{_DAY}\s*(?:of\s+)?{_MONTH}"  # 14 March, 14th of March
    + rf"|{_NUM_DAY}[-/]{_MONTH}"  # 14-Mar
    + r")"
    + rf"(?:,?\s*(?:[-/]\s*)?{_YEAR})?",  # , 2021 / -2021
    "month_year": rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}|{_NOT_AFTER}{_NUM_MONTH}/(?:19|20)\d\d{_NOT_BEFORE}",
}
_FORMS = (*DATE_FORMS, ANY)


class DateTimeRule(BaseModel):
    """A preset's (or profile's) ``date_time:`` rule: which DATE_TIME spans are redacted, and what outranks them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the date forms to redact (see the module docstring); ``any``: every date or time the engine finds
    redact: tuple[str, ...] = Field(min_length=1)
    #: entities whose finding wins where it overlaps a DATE_TIME finding (the date keeps only what lies outside it)
    yield_to: tuple[str, ...] = ()

    @field_validator("redact")
    @classmethod
    def _known_forms(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for form in v:
            if form not in _FORMS:
                raise ValueError(f"unknown date form {form!r}; known: {', '.join(_FORMS)}")
        return tuple(dict.fromkeys(v))

    @field_validator("yield_to")
    @classmethod
    def _entity_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for entity in v:
            if not _ENTITY.match(entity):
                raise ValueError(f"yield_to entity {entity!r} must be UPPER_SNAKE_CASE, like MEDICAL_RECORD_NUMBER")
            if entity == "DATE_TIME":
                raise ValueError("yield_to cannot name DATE_TIME itself")
        return tuple(dict.fromkeys(v))

    @property
    def engine_dates(self) -> bool:
        """True when the engine's own DATE_TIME findings (spaCy, Presidio's date patterns) count."""
        return ANY in self.redact

    @property
    def forms(self) -> tuple[str, ...]:
        """The calendar-date forms found by this library's patterns."""
        return tuple(f for f in self.redact if f != ANY)


def date_recognizer(rule: DateTimeRule, *, language: str = "en") -> PatternRecognizer | None:
    """A Presidio recognizer of the rule's date forms (None when it names only ``any``); imports Presidio."""
    if not rule.forms:
        return None
    from presidio_analyzer import Pattern, PatternRecognizer

    return PatternRecognizer(
        supported_entity="DATE_TIME",
        name="DateFormRecognizer",
        supported_language=language,
        patterns=[Pattern(form, DATE_FORMS[form], DATE_SCORE) for form in rule.forms],
    )


def yield_dates(findings: Iterable[Finding], winners: Iterable[str], text: str) -> list[Finding]:
    """Cut DATE_TIME findings where they overlap a finding labelled with one of ``winners``.

    The parts of a date on either side of the winning spans stay DATE_TIME findings when they hold a letter or a
    digit (no part of a date is left in clear); a date inside the winning spans is dropped. Other findings pass
    unchanged. ``text`` is the text the offsets point into.
    """
    found = list(findings)
    labels = frozenset(winners)
    taken = sorted((f.start, f.end) for f in found if f.label in labels and f.start is not None and f.end is not None)
    if not taken:
        return found
    out: list[Finding] = []
    for f in found:
        if f.label != "DATE_TIME" or f.start is None or f.end is None:
            out.append(f)
            continue
        pieces: list[tuple[int, int]] = []
        pos = f.start
        for s, e in taken:
            if s < f.end and pos < e:
                if pos < s:
                    pieces.append((pos, s))
                pos = max(pos, e)
        if pos < f.end:
            pieces.append((pos, f.end))
        out.extend(dataclasses.replace(f, start=s, end=e) for s, e in pieces if _ALNUM.search(text, s, e))
    return out
