"""Which date and time expressions a preset redacts as DATE_TIME: the ``date_time:`` rule of a PII preset.

spaCy calls many things a DATE or a TIME: "for 3 days", "two weeks", "tonight", "10am", "every 6 hours",
"2019". HIPAA's Safe Harbor method (45 CFR 164.514(b)(2)(i)(C)) removes the elements of dates other than the
year of dates related to a person (birth, admission, discharge, death), and ages over 89; a duration, a time of
day, a frequency or a bare year is none of those, and redacting it hides how long a symptom has lasted. A rule
names the date *forms* to redact::

    date_time:
      redact: [numeric_date, month_day, month_year, month, compact_date]   # durations, times and years stay
      yield_to: [MEDICAL_RECORD_NUMBER]   # where such a finding overlaps a date, it wins

Forms (:data:`DATE_FORMS`; matched case-insensitively, except the month "May", which must be capitalised unless a
cue word precedes it, see ``month_day``):

- ``numeric_date``: 03/14/1962, 14/3/62, 1962-03-14, 14.03.1962, 3-14-1962; a two-digit year after a dash or a dot
  (3-14-62, 14.3.62) and no year only right after a date word (those of ``compact_date``), or "on" after one of them
  or a word for a visit or an event, with "home", "again", "back", or "in", "at" or "by" and at most three words
  between ("seen on", "operated on", "seen in clinic on", "reviewed by Dr Shah on", "discharged home on"): "DOB
  3/14", "admitted 3/14", "seen on 3/14", "born 14/3" (either order, one of the two a month); never after a bare
  "on" ("on 2/3 meds", "on 24/7 oxygen", "pain on 7/10 scale"), never 24/7, never before a unit, a counted noun,
  of/a/an, ago, later, prior, earlier or previously ("on 1/2 tablet", "on 3/4 of the dose", "admitted 3/7 ago":
  British notation for days) nor inside a longer number or ratio ("3/14/", "3/14:1"); with no such word "8/10" (a
  pain score), "1/2 tablet", "20/20 vision", "BP 120/80" and "5/5 strength" are no dates
- ``month_day``: March 14, March 14th, 2021, 14 March 1962, 14th of March, Tue 14 Mar 2021, 14-Mar-2021, and a day
  in words (first .. thirty-first, "twenty-first" or "twenty first"): "June sixth", "June the sixth", "March
  twenty-first, 1962", "the twenty-first of March" (the span starts at the day word). A day word alone, one before a
  month without "of" ("the second March"), "the first of many" and "June second-guessed" are no dates, nor is
  Title-case April, May, June or August with "first" before a lower-case past-tense verb ("June first noticed the
  lump": a name and an adverb; "June first at 9" is a date). A lower-case "may" counts here and in ``month_year`` only
  right after a preposition or a date word ("born may 5", "on may 5th", "the 5th of may", "DOB: may 14", "in may
  2019"), never in "you may 5 ..." or "14 may be ..."
- ``month_year``: March 1962, March of 1962, 03/1962
- ``month``: a month with no day or year right after a cue word: a preposition (in, on, since, until, till, by,
  during, before, after, from, of, through, throughout, between, around) or early, mid, late, last, next, this:
  "admitted in March", "seen last March", "since early June", "mid-May", "back in Sept.", "from March to May" (the
  range is one span). May, March and August count only in Title case ("May I ask", "march to the clinic", "this
  may help", "THIS MAY CAUSE DROWSINESS" stay), or in any case after a preposition other than on and from and
  before punctuation ("admitted in may."; not "the statin I am on may, in rare cases, ..."); abbreviations count
  in Title case only (lower-case "dec PO intake" and "sept infarct" are decreased and septal; all-caps OCT, MAR and
  APR are a scan, a medication chart and a rate); full names in any case ("in june"). Not a date: "a May-December
  romance" (an age gap; no cue word before) and eponyms, even after a cue word: the March of Dimes (a charity),
  May-Thurner syndrome, the May-Hegglin anomaly, March hemoglobinuria (haemoglobinuria). A month that is also a first
  name is read as the month after a cue word ("a letter from June"): the PERSON recognizer does not find such a
  name, and a name hidden as a date is the safer mistake; with, to and for are no cue words ("I spoke with April").
  A Title-case "May" after "this" and before a Title-case verb of a fixed list (Be, Cause, Help, Increase,
  Not, ...) is a label's modal: "This May Cause Drowsiness" stays, "this May I ..." is the month.
- ``compact_date``: 19620314 (YYYYMMDD), 03141962 (MMDDYYYY) or 14031962 (DDMMYYYY), a valid month and day, right
  after a date word (DOB, d.o.b., DOS, born, birth, birthday, date, dated, admitted, admission, discharged,
  discharge, died, death, deceased, optionally with "is"/"was", and "on"): "DOB 19620314", "admitted 20240105",
  "admitted on 03142024"; after "on" alone only YYYYMMDD and not before a unit ("seen on 20240105"; not "on
  10102010 units", "on 20240105 mcg"). A bare 8-digit number is more often an ID (an MRN, an order number) and
  stays; so does one inside a longer number.
- ``any``: every span spaCy NER calls a DATE or TIME and every match of Presidio's date patterns (what a preset
  without a rule redacts: durations, times of day and bare years too)

With a rule, the calendar-date forms are found by their own patterns in the whole text (not only where spaCy saw
a date: spaCy reads "Tue 14 Mar 2021" as the date "2021"), and spaCy's DATE/TIME spans count only under ``any``.
A cue word is context, not part of the finding: "admitted in <DATE_TIME_1>". The cues are bounded look-behinds
(Presidio compiles the forms with the ``regex`` module), so no input makes a form backtrack far.
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

# cue words: a month alone, a lower-case "may" or an 8-digit number is a date only right after one of them
_PREP_CUE = r"(?:in|on|since|until|till|by|during|before|after|from|of|through|throughout|between|around)"
_ADJ_CUE = r"(?:early|mid|late|last|next|this)"
_EVENT_CUE = (
    r"(?:dob|d\.o\.b\.?|dos|born|birth|birthday|date|dated|admitted|admission|discharged|discharge"
    r"|died|death|deceased)(?:[ \t]{1,3}(?:is|was))?"
)
# what joins a cue to the date: "in March", "mid-May", "DOB: 19620314" (bounded, so look-behinds stay cheap); not
# "#": "admission #20240105" is a number
_CUE_SEP = r"(?:[ \t]{1,3}|[ \t]{0,3}[:=-][ \t]{0,3})"
# a "may" in lower (or mixed) case is the month only after a preposition or a date word: "born may 5", "in may 2019"
# (the literal first and the look-behind after it: a look-behind tried at every position of a long text is slow)
_MAY_AFTER_CUE = rf"may(?<=\b(?:{_PREP_CUE}|{_EVENT_CUE}){_CUE_SEP}may)\b"
# each of these alternations starts with a look-ahead on its first letter: the ``regex`` module tries every
# alternative at every position otherwise, which triples the time a long run of digits or words takes
_MONTH = (
    r"(?=[adfjmnos])(?:(?:january|february|march|april|june|july|august|september|october|november|december)\b"
    rf"|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)(?:\.|\b)|(?-i:May|MAY)\b|{_MAY_AFTER_CUE})"
)
# eponyms that start with a month are never one: May-Thurner syndrome, the May-Hegglin anomaly, March
# hemoglobinuria (haemoglobinuria), the March of Dimes; "from May-June" stays a range
_NOT_MAY_EPONYM = r"(?![ \t]{0,3}[-–]?[ \t]{0,3}(?:Thurner|Hegglin)\b)"
_NOT_MARCH_EPONYM = r"(?![ \t]{1,3}(?:of[ \t]{1,3}[Dd]imes|[Hh]a?emoglobinuria)\b)"
# a month with no day or year: Title-case May, March and August (a modal, a verb, an adjective too) and
# abbreviations in Title case only: lower-case dec and sept are clinical shorthand ("dec PO intake" is decreased,
# "sept infarct" septal), all-caps OCT, MAR and APR a scan, a medication chart and a rate
_MONTH_ALONE = (
    r"(?:(?:january|february|april|june|july|september|october|november|december)\b"
    r"|(?-i:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)(?:\.|\b)"
    rf"|(?-i:May{_NOT_MAY_EPONYM}|March{_NOT_MARCH_EPONYM}|August)\b)"
)
# a lower-case or all-caps may, march or august alone is the month only after one of these prepositions and before
# punctuation ("in may."): not after on or from, which end a clause before the modal ("the statin I am on may, in
# rare cases, ...", "the cramps I suffer from may, at times, ...")
_BARE_MONTH_CUE = r"(?:in|since|until|till|by|during|before|after|of|through|throughout|between|around)"
_MONTH_RANGE = rf"{_MONTH_ALONE}(?:[ \t]{{0,3}}(?:-|–|/|to|and|or|through|till|until)[ \t]{{0,3}}{_MONTH_ALONE})?"
# a day in words: first .. thirty-first ("twenty-first", "twenty first"); never a day alone, only beside a month. Not
# before a hyphen: "June second-guessed" is a name and a verb
_ORDINAL_UNIT = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
_DAY_WORD = (
    rf"(?=[efnst])(?:twenty[- ]{_ORDINAL_UNIT}|thirty[- ]first|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth"
    rf"|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|{_ORDINAL_UNIT})\b(?!-)"
)
# months that are also first names, in Title case: "June first noticed the lump"
_NAME_MONTH = r"(?-i:April|May|June|August)\b"
# "June first" before a past-tense verb is a name and an adverb ("June first noticed the lump"); lower case only, so
# "June first, 2020" and "June first at 9" stay dates
_PAST_VERB = (
    r"(?-i:[a-z]{2,20}ed|saw|told|said|went|came|got|felt|took|met|found|thought|knew|heard|brought|gave|made|wrote"
    r"|rang|sent|left|had)\b"
)
_NOT_NAME_THEN_ADVERB = rf"(?!(?<={_NAME_MONTH}\s{{1,3}}first)\s{{1,3}}{_PAST_VERB})"
# a Title-case "May" after "This" and before a Title-case verb is the modal of a label or a heading ("This May Cause
# Drowsiness", "This May Not Be Suitable"); "this May I", "this May, ..." and "this May and June" stay months.
# ("It May", "You May", "That May" have no cue word, so the month form never reads them.)
_HEADING_VERB = (
    r"(?-i:Be|Become|Cause|Contain|Damage|Decrease|Affect|Harm|Help|Impair|Improve|Increase|Interact|Interfere"
    r"|Intensify|Irritate|Lead|Lower|Make|Occur|Produce|Raise|Reduce|Require|Result|Slow|Stain|Take|Trigger|Worsen"
    r"|Need|Have|Appear|Feel|Not|Also|Only|Change|Work|Vary|Include|Sting|Burn|Hurt|Tingle)\b"
)
_NOT_A_HEADING_MODAL = rf"(?!(?<=\bthis[ \t]{{1,3}})(?-i:May)[ \t]{{1,3}}{_HEADING_VERB})"
_WEEKDAY = (
    r"(?=[fmstw])(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)"
    r"\b\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\b"
_YEAR = r"(?:1[89]|2[01])\d\d\b"
_NUM_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_NUM_MONTH = r"(?:0?[1-9]|1[0-2])"
_MM = r"(?:0[1-9]|1[0-2])"
_DD = r"(?:0[1-9]|[12]\d|3[01])"
_NOT_AFTER = r"(?<![\w/.-])"  # not the tail of a longer number, word, path or version
_NOT_BEFORE = r"(?![/-]|\.\d|(?!T\d)\w)"  # an ISO time may follow: 1962-03-14T08:30
_YYYYMMDD = rf"(?:19|20)\d\d{_MM}{_DD}"
_MMDDYYYY = rf"{_MM}{_DD}(?:19|20)\d\d"
_DDMMYYYY = rf"{_DD}{_MM}(?:19|20)\d\d"
# a unit word after a number makes it a dose: "on 20240105 units", "on 20101010 mcg"
_UNIT = r"[ \t]{0,3}(?:units?|mg|mcg|ml|iu|tablets?|tabs?|doses?)\b"
# a day and a month with no year, in either order ("3/14", "14/3"): at least one of the two is a month
_DAY_MONTH = rf"(?:{_NUM_MONTH}/{_NUM_DAY}|{_NUM_DAY}/{_NUM_MONTH})"
# ... is a quantity, not a date, before a unit or a counted noun: "on 1/2 tablet", "on 3/4 of the dose", "on 1/2 a
# tab", "based on 3/4 criteria", "5/5 strength" (and part of a ratio before ":1")
_QUANTITY_AFTER = (
    rf"(?:{_UNIT}|[ \t]{{0,3}}(?:of|a|an|the[ \t]{{1,3}}dose|strength|vision|power|criteria|items?|points?"
    r"|questions?|days?|nights?|weeks?|times|occasions|patients|cases|ago|later|prior|earlier|previously)\b)"
)
# "on" before a day and month with no year is a date only after a word for an event of the person: "seen on 3/14",
# "admitted on 3/14"; a bare "on" is more often a dose, a scale or a share ("on 2/3 meds", "on 24/7 oxygen", "pain
# on 7/10")
_ON_CUE = (
    rf"(?:{_EVENT_CUE}|seen|reviewed|visited|examined|assessed|operated|injured|hurt|tested|vaccinated"
    r"|fell|collapsed|arrived|presented)"
    # where or by whom, between the word and "on": "seen in clinic on 3/14", "reviewed by Dr Shah on 3/14",
    # "discharged home on 3/14", "seen again on 3/14"
    r"(?:[ \t]{1,3}(?:home|again|back)|[ \t]{1,3}(?:in|at|by)(?:[ \t]{1,3}[a-z.'-]{1,15}){1,3})?"
    r"[ \t]{1,3}on"
)

#: regex of each calendar-date form (Presidio compiles them with the ``regex`` module and IGNORECASE; the cues
#: are variable-width look-behinds, which the standard ``re`` module would refuse)
DATE_FORMS: Mapping[str, str] = {
    "numeric_date": _NOT_AFTER
    + r"(?:"
    + rf"{_NUM_DAY}/{_NUM_DAY}/(?:\d{{4}}|\d\d)"  # 03/14/1962, 14/3/62 (either order)
    + rf"|{_NUM_DAY}([.-]){_NUM_DAY}\1\d{{4}}"  # 14.03.1962, 3-14-1962
    + rf"|(?:19|20)\d\d([/.-]){_NUM_MONTH}\2{_NUM_DAY}"  # 1962-03-14, 1962/3/14
    # no year: a date of a person only right after a date word or "seen on" ("DOB 3/14", "seen on 3/14"); elsewhere
    # "8/10" is a pain score, "20/20" vision, "120/80" a blood pressure
    + rf"|(?=\d)(?<=\b(?:{_ON_CUE}|{_EVENT_CUE}){_CUE_SEP})(?!24/7\b){_DAY_MONTH}(?!{_QUANTITY_AFTER}|:\d)"
    # a two-digit year after a dash or a dot: a date of a person only right after a date word or "seen on" ("DOB
    # 3-14-62", "born 14.3.62"); elsewhere "1.2.10" is a version, "3-4-12" a score or a part number
    + rf"|(?=\d)(?<=\b(?:{_ON_CUE}|{_EVENT_CUE}){_CUE_SEP})"
    + rf"(?:{_NUM_MONTH}([.-]){_NUM_DAY}\3|{_NUM_DAY}([.-]){_NUM_MONTH}\4)\d\d"
    + r")"
    + _NOT_BEFORE,
    "month_day": rf"\b(?:{_WEEKDAY},?\s+(?:the\s+)?)?"
    + r"(?:"
    # the month once for both of its days (each alternative that starts with it is tried at every position)
    + rf"{_MONTH}(?:"
    + rf"\s*(?:the\s+)?{_DAY}"  # March 14, Mar. 14th, March the 14th
    + rf"|\s{{1,3}}(?:the\s{{1,3}})?{_DAY_WORD}{_NOT_NAME_THEN_ADVERB}"  # June sixth, March the twenty-first
    + r")"
    + rf"|{_DAY}\s*(?:of\s+)?{_MONTH}"  # 14 March, 14th of March
    + rf"|{_NUM_DAY}[-/]{_MONTH}"  # 14-Mar
    + rf"|{_DAY_WORD}\s{{1,3}}of\s{{1,3}}{_MONTH}"  # sixth of June, twenty first of March (not "second March")
    + r")"
    + rf"(?:,?\s*(?:[-/]\s*)?{_YEAR})?",  # , 2021 / -2021
    "month_year": rf"\b{_MONTH},?\s+(?:of\s+)?{_YEAR}|{_NOT_AFTER}{_NUM_MONTH}/(?:19|20)\d\d{_NOT_BEFORE}",
    "month": rf"(?<=\b(?:{_PREP_CUE}|{_ADJ_CUE}){_CUE_SEP})"
    + _NOT_A_HEADING_MODAL
    + rf"(?:{_MONTH_RANGE}"  # in March, last March, mid-May, since early June, from March to May
    # lower-case or all-caps may / march / august: after a preposition and before punctuation ("in may.")
    + rf"|(?<=\b{_BARE_MONTH_CUE}[ \t]{{1,3}})(?:may|march|august)(?=[ \t]{{0,3}}(?:[.,;:!?)]|$)))",
    "compact_date": r"(?:"
    # after a date word (optionally with "on"): 19620314, 03141962 or 14031962
    + rf"(?<=\b{_EVENT_CUE}(?:[ \t]{{1,3}}on)?{_CUE_SEP})(?:{_YYYYMMDD}|{_MMDDYYYY}|{_DDMMYYYY})"
    # after "on" alone: YYYYMMDD only, and not a dose ("on 20240105 units")
    + rf"|(?<=\bon{_CUE_SEP}){_YYYYMMDD}(?!{_UNIT})"
    + r")"
    + _NOT_BEFORE,
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
    """A Presidio recognizer of the rule's date forms (None when it names only ``any``); imports Presidio.

    It reads full-width digits, other scripts' digits and typographic dashes as ASCII ("DOB
    \uff10\uff13/\uff11\uff14/\uff11\uff19\uff16\uff12" is a date), as the library's own recognizers do.
    """
    if not rule.forms:
        return None
    from presidio_analyzer import Pattern

    from guardrails.pii.recognizers import FoldedPatternRecognizer

    return FoldedPatternRecognizer(
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
