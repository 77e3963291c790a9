"""The healthcare PII preset: calendar dates, ages over 89 and medical record numbers are PHI; durations are not.

HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)(C)) removes the elements of dates other than the year of dates related
to a person, and ages over 89. All strings here were written for these tests.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from guardrails import Guard
from guardrails.detectors.base import DetectContext
from guardrails.detectors.pii import PIIDetector, PIIOptions, resolve_options
from guardrails.pii.dates import DateTimeRule, date_recognizer, yield_dates
from guardrails.pii.yaml_recognizers import load_preset
from guardrails.types import Finding

CTX = DetectContext()


@pytest.fixture(scope="module")
def healthcare() -> PIIDetector:
    d = PIIDetector(options=PIIOptions(preset="healthcare"))
    d.warmup()
    return d


def found(detector: PIIDetector, text: str) -> dict[str, list[str]]:
    """Entity type -> the values found, in text order."""
    out: dict[str, list[str]] = {}
    for f in detector.detect(text, CTX):
        assert f.start is not None and f.end is not None and f.label is not None
        out.setdefault(f.label, []).append(text[f.start : f.end])
    return out


# --- dates: a calendar date is redacted, a duration, a year, a time of day or a frequency is not

CALENDAR_DATES = [
    pytest.param("I was born on 03/14/1962.", "03/14/1962", id="us-numeric"),
    pytest.param("DOB: 1962-03-14", "1962-03-14", id="iso"),
    pytest.param("Date of birth 14.03.1962, no allergies.", "14.03.1962", id="dotted"),
    pytest.param("The follow-up visit on 3/4/24 went fine.", "3/4/24", id="numeric-two-digit-year"),
    pytest.param("She was born on 14 March 1962.", "14 March 1962", id="day-month-year"),
    pytest.param("He was admitted on March 14.", "March 14", id="month-day"),
    pytest.param("Discharged on March 14th, 2021 after surgery.", "March 14th, 2021", id="month-ordinal-year"),
    pytest.param("My mother died on Tuesday, March 14, 2023.", "Tuesday, March 14, 2023", id="weekday-date"),
    pytest.param("Admission date: Tue 14 Mar 2021.", "Tue 14 Mar 2021", id="abbreviated-weekday-date"),
    pytest.param("I was admitted on the 14th of March.", "14th of March", id="ordinal-of-month"),
    pytest.param("Seen in clinic on 14-Mar-2021.", "14-Mar-2021", id="dd-mmm-yyyy"),
    pytest.param("Diagnosed in March 1962 and treated since.", "March 1962", id="month-year"),
    pytest.param("The scan is booked for Sept. 3rd.", "Sept. 3rd", id="abbreviated-month-period"),
]


@pytest.mark.parametrize(("text", "date"), CALENDAR_DATES)
def test_a_calendar_date_is_redacted_as_date_time(healthcare: PIIDetector, text: str, date: str) -> None:
    assert found(healthcare, text).get("DATE_TIME") == [date]


READABLE = [
    pytest.param("I have had a headache for 3 days.", id="duration-days"),
    pytest.param("The rash has lasted two weeks now.", id="duration-in-words"),
    pytest.param("My cough started since 6 months.", id="since-months"),
    pytest.param("She has been on insulin for 15 years.", id="duration-years"),
    pytest.param("Is a 10 day course of amoxicillin enough?", id="course-length"),
    pytest.param("I was diagnosed with asthma in 2019.", id="bare-year"),
    pytest.param("Over the past year I lost 5 kg.", id="the-past-year"),
    pytest.param("The pain gets worse tonight.", id="tonight"),
    pytest.param("I woke up with chest pain this morning.", id="this-morning"),
    pytest.param("Should I take the tablet at 10am or with dinner?", id="time-of-day"),
    pytest.param("We check the blood sugar at 7:30 every morning.", id="clock-time"),
    pytest.param("Take ibuprofen every 6 hours.", id="frequency"),
    pytest.param("Take it twice a day for the next 10 days.", id="frequency-and-duration"),
    pytest.param("My appointment is next Tuesday.", id="next-weekday"),
    pytest.param("The fever started yesterday and got worse last week.", id="relative-days"),
    pytest.param("I had knee surgery 3 days ago.", id="days-ago"),
    pytest.param("My pain is 8/10 today.", id="pain-score"),
]


@pytest.mark.parametrize("text", READABLE)
def test_durations_years_times_and_frequencies_reach_the_model_as_written(healthcare: PIIDetector, text: str) -> None:
    assert found(healthcare, text) == {}


def test_a_date_is_redacted_and_the_duration_beside_it_kept(healthcare: PIIDetector) -> None:
    text = "I was admitted on March 14 and have had a fever for 3 days since then."
    assert found(healthcare, text) == {"DATE_TIME": ["March 14"]}


# --- a month alone, a lower-case "may" with a day, an 8-digit date: each a date only after a cue word

MONTH_ONLY_DATES = [
    pytest.param("He was admitted in March with pneumonia.", "March", id="admitted-in"),
    pytest.param("I was seen last March by a cardiologist.", "March", id="last-month"),
    pytest.param("The itching has been there since March.", "March", id="since"),
    pytest.param("The itching has been there since early June.", "June", id="since-early"),
    pytest.param("She was discharged mid-May after the operation.", "May", id="mid-hyphen"),
    pytest.param("We moved back in Sept. and I started the tablets.", "Sept.", id="abbreviation-with-period"),
    pytest.param("My dad was in hospital from March to May.", "March to May", id="a-range-is-one-span"),
    pytest.param("The biopsy is booked for late October.", "October", id="late"),
    pytest.param("I have had no period since January.", "January", id="since-january"),
    pytest.param("The swelling began during August.", "August", id="during-august"),
    pytest.param("My mother had her hip replaced in may.", "may", id="lower-case-may-before-a-full-stop"),
    pytest.param("ADMITTED IN MARCH.", "MARCH", id="all-caps-before-a-full-stop"),
    pytest.param("He was admitted in Dec. with a fall.", "Dec.", id="title-case-abbreviation"),
    pytest.param("Seen again in june for the scan.", "june", id="lower-case-full-name"),
    pytest.param("I was in hospital from May-June.", "May-June", id="hyphenated-range"),
    pytest.param("I was in hospital from May–June.", "May–June", id="en-dash-range"),
    pytest.param("I have had it since may, on and off.", "may", id="lower-case-may-after-since-before-a-comma"),
]


@pytest.mark.parametrize(("text", "date"), MONTH_ONLY_DATES)
def test_a_month_after_a_cue_word_is_redacted_and_the_cue_word_kept(
    healthcare: PIIDetector, text: str, date: str
) -> None:
    assert found(healthcare, text) == {"DATE_TIME": [date]}


LOWER_CASE_MAY_DATES = [
    pytest.param("I was born may 5 and so was my twin.", "may 5", id="born"),
    pytest.param("The stitches come out on may 5th.", "may 5th", id="on-ordinal"),
    pytest.param("My daughter was admitted on the 5th of may.", "5th of may", id="day-of-may"),
    pytest.param("DOB: may 14, 1962", "may 14, 1962", id="dob-with-year"),
    pytest.param("I was diagnosed in may 2019.", "may 2019", id="month-year"),
]


@pytest.mark.parametrize(("text", "date"), LOWER_CASE_MAY_DATES)
def test_a_lower_case_may_with_a_day_or_year_after_a_cue_word_is_a_date(
    healthcare: PIIDetector, text: str, date: str
) -> None:
    assert found(healthcare, text) == {"DATE_TIME": [date]}


COMPACT_DATES = [
    pytest.param("DOB 19620314, no known allergies.", "19620314", id="dob-yyyymmdd"),
    pytest.param("I was admitted 20240105 with chest pain.", "20240105", id="admitted"),
    pytest.param("d.o.b. 03141962", "03141962", id="dotted-dob-mmddyyyy"),
    pytest.param("Date of birth: 14031962", "14031962", id="date-of-birth-ddmmyyyy"),
    pytest.param("She was discharged on 20231231 after a fall.", "20231231", id="discharged-on"),
    pytest.param("My DOB is 19620314.", "19620314", id="dob-is"),
    pytest.param("He was admitted on 03142024 with chest pain.", "03142024", id="date-word-then-on-mmddyyyy"),
    pytest.param("She was seen on 20240105 for review.", "20240105", id="on-yyyymmdd"),
]


@pytest.mark.parametrize(("text", "date"), COMPACT_DATES)
def test_an_eight_digit_date_after_a_date_word_is_redacted(healthcare: PIIDetector, text: str, date: str) -> None:
    assert found(healthcare, text) == {"DATE_TIME": [date]}


# each look-alike shares its text with a date the new forms redact: only that date goes
LOOK_ALIKES = [
    pytest.param("May I ask whether I can fly? I was discharged in March.", "March", id="may-i-ask"),
    pytest.param("You may want to know I was admitted in June.", "June", id="you-may-want"),
    pytest.param("We had to march to the clinic in January.", "January", id="march-the-verb"),
    pytest.param("My son has played in the marching band since September.", "September", id="marching-band"),
    pytest.param("Her doctor joked about a May-December romance back in April.", "April", id="may-december"),
    pytest.param("I have walked for the March of Dimes since last October.", "October", id="march-of-dimes"),
    pytest.param("She raised money in support of March of Dimes in July.", "July", id="of-march-of-dimes"),
    pytest.param("The house I grew up in may have had lead pipes; we left in July.", "July", id="in-may-have"),
    pytest.param("The pills I started in June may cause dizziness.", "June", id="month-then-modal"),
    pytest.param("The pills I am on may cause dizziness since November.", "November", id="on-may-cause"),
    pytest.param("Doing this may help, it did last November.", "November", id="this-may-help"),
    pytest.param("THIS MAY CAUSE DROWSINESS, says the box from December.", "December", id="all-caps-warning"),
    pytest.param("Thinning of the retina was seen on OCT in February.", "February", id="oct-scan"),
    pytest.param("The dose given in January was charted on MAR.", "January", id="mar-chart"),
    pytest.param("It was the last march I joined before my surgery in April.", "April", id="the-last-march"),
    pytest.param("Taking 14 may be too many, the nurse said on may 2.", "may 2", id="number-then-modal"),
    pytest.param("Patients may 1) rest and 2) drink fluids, I was told on may 5th.", "may 5th", id="modal-then-list"),
    pytest.param("Order number 20240105 shipped; my DOB is 19620314.", "19620314", id="order-number"),
    pytest.param("Admission #20240105 is on the wristband; DOB 19620314.", "19620314", id="admission-number"),
    pytest.param("DOB 19620314; she is on 20000000 units of interferon.", "19620314", id="on-a-dose"),
    pytest.param("The kit lot on 202401051 expired; DOB 19620314.", "19620314", id="a-longer-number"),
]


@pytest.mark.parametrize(("text", "date"), LOOK_ALIKES)
def test_a_month_or_number_look_alike_stays_readable_beside_a_redacted_date(
    healthcare: PIIDetector, text: str, date: str
) -> None:
    assert found(healthcare, text) == {"DATE_TIME": [date]}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("AKI in setting of dec PO intake.", id="dec-po-intake"),
        pytest.param("Pain on dec flexion of the knee.", id="dec-flexion"),
        pytest.param("Improved after dec dose of metoprolol.", id="dec-dose"),
        pytest.param("Hx of sept infarct on EKG.", id="septal-infarct"),
        pytest.param("He was admitted in dec. with a fall.", id="lower-case-abbreviation-before-a-full-stop"),
    ],
)
def test_a_lower_case_month_abbreviation_is_clinical_shorthand_not_a_month(healthcare: PIIDetector, text: str) -> None:
    assert found(healthcare, text) == {}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Hx of May-Thurner syndrome, on apixaban.", id="may-thurner"),
        pytest.param("Imaging in May Thurner syndrome is routine.", id="may-thurner-spaced"),
        pytest.param("Thrombocytopenia of May–Hegglin anomaly, stable.", id="may-hegglin-en-dash"),
        pytest.param("Workup of March hemoglobinuria in a runner.", id="march-hemoglobinuria"),
        pytest.param("A case of March haemoglobinuria after a marathon.", id="march-haemoglobinuria"),
    ],
)
def test_an_eponym_that_starts_with_a_month_is_not_a_date(healthcare: PIIDetector, text: str) -> None:
    assert found(healthcare, text) == {}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("The statin I am on may, in rare cases, cause muscle pain.", id="on"),
        pytest.param("The cramps I suffer from may, at times, wake me.", id="from"),
    ],
)
def test_a_modal_may_after_a_clause_ending_in_on_or_from_is_not_a_date(healthcare: PIIDetector, text: str) -> None:
    assert found(healthcare, text) == {}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Patient was on 10102010 units.", id="mmddyyyy-units"),
        pytest.param("She was seen on 10102010 for review.", id="mmddyyyy-without-a-date-word"),
        pytest.param("She is on 20240105 units of heparin.", id="yyyymmdd-units"),
        pytest.param("She is on 20240105 mcg daily.", id="yyyymmdd-mcg"),
        pytest.param("She is on 20240105 IU of vitamin D.", id="yyyymmdd-iu"),
        pytest.param("He is on 20240105 tabs a week, he says.", id="yyyymmdd-tabs"),
    ],
)
def test_after_on_alone_only_a_yyyymmdd_number_with_no_unit_after_it_is_a_date(
    healthcare: PIIDetector, text: str
) -> None:
    assert found(healthcare, text) == {}


def test_an_eight_digit_number_labelled_as_an_mrn_stays_a_record_number_beside_a_compact_date(
    healthcare: PIIDetector,
) -> None:
    assert found(healthcare, "DOB 19620314, MRN 20240105.") == {
        "DATE_TIME": ["19620314"],
        "MEDICAL_RECORD_NUMBER": ["20240105"],
    }
    assert found(healthcare, "My MRN is 19620314 and I was admitted 20240105.") == {
        "MEDICAL_RECORD_NUMBER": ["19620314"],
        "DATE_TIME": ["20240105"],
    }


# --- a day in words, a day and month with no year, a Title-case modal "May"

DAY_IN_WORDS_DATES = [
    pytest.param("I was admitted on June the sixth.", "June the sixth", id="month-the-day-word"),
    pytest.param("I was seen on June sixth by the nurse.", "June sixth", id="month-day-word"),
    pytest.param("She was born on March twenty-first, 1962.", "March twenty-first, 1962", id="hyphenated-with-year"),
    pytest.param("Born March twenty first 1962, no allergies.", "March twenty first 1962", id="spaced-with-year"),
    pytest.param("He was discharged on the twenty-first of March.", "twenty-first of March", id="day-word-of-month"),
    pytest.param("My surgery on the sixth of June went well.", "sixth of June", id="sixth-of-june"),
    pytest.param("The biopsy is booked for the thirty-first of October.", "thirty-first of October", id="thirty-first"),
    pytest.param("My birthday is April first, 1970.", "April first, 1970", id="name-month-first-with-year"),
    pytest.param("She was admitted on the twelfth of may.", "twelfth of may", id="lower-case-may-after-of"),
    pytest.param("The appointment is June first at 9.", "June first", id="first-before-a-preposition"),
]


@pytest.mark.parametrize(("text", "date"), DAY_IN_WORDS_DATES)
def test_a_day_written_in_words_beside_a_month_is_redacted_with_the_month(
    healthcare: PIIDetector, text: str, date: str
) -> None:
    assert found(healthcare, text) == {"DATE_TIME": [date]}


DAY_WORD_LOOK_ALIKES = [
    pytest.param("The first of many scans was in March.", "March", id="the-first-of-many"),
    pytest.param("She came first in the race in March.", "March", id="first-in-march"),
    pytest.param("In the second March of the trial I felt better.", None, id="an-ordinal-before-a-month"),
    pytest.param("The sixth was the worst day.", None, id="a-day-word-alone"),
    pytest.param("The third of the tablets is for the evening.", None, id="third-of-the-tablets"),
    pytest.param("June first noticed the lump in the shower.", None, id="a-name-then-first-then-a-verb"),
    pytest.param("April second-guessed the dose.", None, id="second-guessed"),
    pytest.param("It was June thirty-second in the queue.", None, id="no-thirty-second"),
]


@pytest.mark.parametrize(("text", "date"), DAY_WORD_LOOK_ALIKES)
def test_an_ordinal_word_that_is_not_the_day_of_a_month_stays_readable(
    healthcare: PIIDetector, text: str, date: str | None
) -> None:
    assert found(healthcare, text).get("DATE_TIME") == ([date] if date else None)


DAY_MONTH_DATES = [
    pytest.param("DOB 3/14, no known allergies.", "3/14", id="dob"),
    pytest.param("He was admitted 3/14 with chest pain.", "3/14", id="admitted"),
    pytest.param("She was seen on 3/14 for review.", "3/14", id="seen-on"),
    pytest.param("I was born 14/3 and so was my twin.", "14/3", id="born-day-first"),
    pytest.param("My DOB is 12/31.", "12/31", id="dob-is"),
    pytest.param("Date of birth: 7/4", "7/4", id="date-of-birth-colon"),
    pytest.param("He was discharged on 11/02 after the fall.", "11/02", id="discharged-on-zero-padded"),
    pytest.param("DOB 3/14 history of asthma.", "3/14", id="dob-before-history"),
    pytest.param("Seen on 12/3 post-op, wound healing well.", "12/3", id="seen-on-before-post-op"),
    pytest.param("She was seen in clinic on 2/6 for review.", "2/6", id="seen-in-a-place-on"),
    pytest.param("Reviewed by the registrar on 11/4, no change.", "11/4", id="reviewed-by-someone-on"),
    pytest.param("He was seen at the walk-in centre on 9/12.", "9/12", id="seen-at-the-place-on"),
    pytest.param("She was discharged home on 3/11 with oral antibiotics.", "3/11", id="discharged-home-on"),
    pytest.param("He was seen again on 4/2 and improving.", "4/2", id="seen-again-on"),
]


@pytest.mark.parametrize(("text", "date"), DAY_MONTH_DATES)
def test_a_day_and_month_with_no_year_after_a_date_word_or_on_is_redacted(
    healthcare: PIIDetector, text: str, date: str
) -> None:
    assert found(healthcare, text) == {"DATE_TIME": [date]}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Take 1/2 tablet at night.", id="half-a-tablet"),
        pytest.param("He has 20/20 vision in both eyes.", id="vision"),
        pytest.param("I took 3/4 of the dose by mistake.", id="three-quarters-of"),
        pytest.param("BP 120/80 on admission.", id="blood-pressure"),
        pytest.param("BP on admission 120/80.", id="blood-pressure-after-a-date-word"),
        pytest.param("5/5 strength in all four limbs.", id="strength"),
        pytest.param("She is on 1/2 tablet of metoprolol.", id="on-half-a-tablet"),
        pytest.param("He is on 3/4 of the dose now.", id="on-three-quarters-of"),
        pytest.param("I am on 1/2 a tab at night.", id="on-half-a-tab"),
        pytest.param("Based on 3/4 criteria it is mild.", id="on-criteria"),
        pytest.param("On 2/3 of days the pain is worse.", id="on-two-thirds-of-days"),
        pytest.param("Admitted with a pain score of 8/10.", id="a-score-after-of"),
        pytest.param("The reading on 13/25 was odd.", id="not-a-month"),
        pytest.param("The ratio on 3/14:1 was stable.", id="part-of-a-ratio"),
        pytest.param("Admitted 3/7 ago with a cough.", id="days-ago-in-british-notation"),
        pytest.param("She was discharged 2/7 later.", id="days-later"),
        pytest.param("He was injured on 24/7 call duty.", id="round-the-clock-after-a-cue"),
        pytest.param("He has been on 1/7 antibiotics.", id="on-a-course-of-days"),
        pytest.param("Patient on 24/7 oxygen at home.", id="round-the-clock"),
        pytest.param("Pain on 7/10 scale today.", id="pain-on-a-scale"),
        pytest.param("She is on 2/3 meds now.", id="on-two-of-three-meds"),
        pytest.param("Started on 10/12 regimen last week.", id="on-a-regimen"),
        pytest.param("Power on 4/5 throughout.", id="power-on"),
        pytest.param("Seen in clinic on 2/3 of her visits.", id="a-place-then-a-share"),
        pytest.param("Reviewed in ward on 24/7 monitoring.", id="a-place-then-round-the-clock"),
        pytest.param("She walked in and sat on 3/4 of the bench.", id="no-event-word-before-the-place"),
    ],
)
def test_a_fraction_a_score_or_a_ratio_with_no_date_word_before_it_stays_readable(
    healthcare: PIIDetector, text: str
) -> None:
    assert found(healthcare, text) == {}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("This May Cause Drowsiness", id="label"),
        pytest.param("This May Not Be Suitable For Children.", id="may-not"),
        pytest.param("Warning: This May Increase Bleeding.", id="after-a-label-word"),
        pytest.param("It May Help You Sleep", id="it-may"),
        pytest.param("You May Feel Dizzy", id="you-may"),
        pytest.param("That May Cause Harm", id="that-may"),
        pytest.param("This May Sting", id="may-sting"),
    ],
)
def test_a_title_case_modal_may_in_a_heading_is_not_a_month(healthcare: PIIDetector, text: str) -> None:
    assert "DATE_TIME" not in found(healthcare, text)


@pytest.mark.parametrize(
    ("text", "date"),
    [
        pytest.param("I was seen this May by a surgeon.", "May", id="this-may-by"),
        pytest.param("This May I had my surgery.", "May", id="this-may-i"),
        pytest.param("This May, I turned 50.", "May", id="this-may-comma"),
        pytest.param("This May and June were hard.", "May and June", id="this-may-and-june"),
        pytest.param("Admitted mid-May, seen again since May.", "May", id="mid-may-and-since-may"),
    ],
)
def test_this_may_before_anything_but_a_title_case_verb_stays_a_month(
    healthcare: PIIDetector, text: str, date: str
) -> None:
    assert found(healthcare, text).get("DATE_TIME", [])[:1] == [date]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        pytest.param("in " * 20_000 + "March.", "March", id="repeated-cue-words"),
        pytest.param("mid-" * 25_000 + "May", "May", id="repeated-hyphenated-cues"),
        pytest.param("on may " * 15_000 + "5", "may 5", id="repeated-lower-case-may"),
        pytest.param("DOB " * 20_000 + "19620314", "19620314", id="repeated-date-words"),
        pytest.param("DOB: " + "2" * 100_000 + " admitted 20240105", "20240105", id="a-100000-digit-number"),
        pytest.param("June " * 20_000 + "the sixth", "June the sixth", id="repeated-months"),
        pytest.param("twenty-" * 14_000 + "first of June", "twenty-first of June", id="repeated-twenty"),
        pytest.param("3/" * 50_000 + " DOB 3/14", "3/14", id="repeated-slashed-numbers"),
        pytest.param("on 3/" * 20_000 + " DOB 3/14", "3/14", id="repeated-on-and-numbers"),
    ],
)
def test_the_date_forms_read_a_long_adversarial_text_in_well_under_a_second(text: str, date: str) -> None:
    rule = load_preset("healthcare").date_time
    assert rule is not None
    recognizer = date_recognizer(rule)
    assert recognizer is not None
    start = time.perf_counter()
    results = recognizer.analyze(text, ["DATE_TIME"])
    elapsed = time.perf_counter() - start
    assert [text[r.start : r.end] for r in results] == [date]
    assert elapsed < 1.0, f"{elapsed:.2f}s"


# --- ages over 89


@pytest.mark.parametrize(
    ("text", "age"),
    [
        pytest.param("My grandmother is a 92-year-old woman with diabetes.", "92-year-old", id="hyphenated"),
        pytest.param("The patient is 95 years old.", "95 years old", id="years-old"),
        pytest.param("A 101 y/o man with chest pain.", "101 y/o", id="y-slash-o"),
        pytest.param("Patient aged 91 presents with a cough.", "91", id="aged"),
        pytest.param("Age: 93", "93", id="age-colon"),
    ],
)
def test_an_age_over_89_is_redacted(healthcare: PIIDetector, text: str, age: str) -> None:
    assert found(healthcare, text) == {"AGE_OVER_89": [age]}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("My father is 89 years old.", id="eighty-nine"),
        pytest.param("He is a 45-year-old smoker.", id="forty-five"),
        pytest.param("Take 90 mg twice daily.", id="a-dose"),
        pytest.param("I have had this rash for 90 days.", id="ninety-days"),
        pytest.param("The clinic saw 92 patients this week.", id="a-count"),
    ],
)
def test_ages_up_to_89_and_other_numbers_over_89_stay(healthcare: PIIDetector, text: str) -> None:
    assert found(healthcare, text) == {}


# --- medical record numbers


@pytest.mark.parametrize(
    ("text", "mrn"),
    [
        pytest.param("My MRN is 12345678", "12345678", id="mrn-is"),
        pytest.param("MRN: 12345678", "12345678", id="mrn-colon"),
        pytest.param("mrn#9876543 please check", "9876543", id="mrn-hash-lower-case"),
        pytest.param("medical record number 00123456", "00123456", id="medical-record-number"),
        pytest.param("Her medical record no. 1234567 is on file.", "1234567", id="medical-record-no"),
        pytest.param("The patient's record number is 7654321.", "7654321", id="record-number-after-patient"),
        pytest.param("Hospital record number: 76543210", "76543210", id="record-number-after-hospital"),
    ],
)
def test_a_labelled_medical_record_number_is_redacted_as_such_and_its_label_kept(
    healthcare: PIIDetector, text: str, mrn: str
) -> None:
    assert found(healthcare, text) == {"MEDICAL_RECORD_NUMBER": [mrn]}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("My record number is 7654321.", id="record-number-without-a-medical-word"),
        pytest.param("Order number 12345678 shipped yesterday.", id="order-number"),
        pytest.param("Please quote invoice 55667788 when you pay.", id="invoice"),
        pytest.param("My employee id is 1234567.", id="employee-id"),
        pytest.param("The lottery numbers were 24681357.", id="bare-digits"),
    ],
)
def test_a_number_without_a_medical_record_label_is_neither_an_mrn_nor_a_date(
    healthcare: PIIDetector, text: str
) -> None:
    labels = found(healthcare, text)
    assert "MEDICAL_RECORD_NUMBER" not in labels and "DATE_TIME" not in labels


def test_where_an_mrn_overlaps_a_date_time_span_the_mrn_label_wins() -> None:
    # `any` brings back spaCy's DATE spans, and spaCy calls this number a date (score 0.85, over the MRN's 0.65)
    text = "The patient's record number is 7654321."
    rule = {"redact": ["any"], "yield_to": ["MEDICAL_RECORD_NUMBER"]}
    det = PIIDetector(options=PIIOptions.model_validate({"preset": "healthcare", "date_time": rule}))
    assert found(det, text) == {"MEDICAL_RECORD_NUMBER": ["7654321"]}
    assert found(det, "I have had a headache for 3 days.") == {"DATE_TIME": ["3 days"]}  # `any` is all of them


def test_a_date_keeps_what_lies_outside_an_overlapping_winner_and_drops_what_lies_inside() -> None:
    text = "on 14 March 1234567 x"
    date = Finding("pii", None, 0.85, 3, 19, label="DATE_TIME")  # "14 March 1234567"
    mrn = Finding("pii", None, 0.65, 12, 19, label="MEDICAL_RECORD_NUMBER")  # "1234567"
    inner = Finding("pii", None, 0.85, 13, 16, label="DATE_TIME")
    kept = yield_dates([date, mrn, inner], ["MEDICAL_RECORD_NUMBER"], text)
    assert [(f.label, text[f.start or 0 : f.end or 0]) for f in kept] == [
        ("DATE_TIME", "14 March "),
        ("MEDICAL_RECORD_NUMBER", "1234567"),
    ]


# --- through the Guard


def test_the_healthcare_profile_sends_the_model_the_duration_and_no_date_or_record_number() -> None:
    guard = Guard.from_profile("healthcare")
    text = "I was born on 03/14/1962, my MRN is 12345678 and I have had a cough for 3 days, worse at 10pm."
    assert guard.check(text).text == (
        "I was born on <DATE_TIME_1>, my MRN is <MEDICAL_RECORD_NUMBER_1> and I have had a cough for 3 days,"
        " worse at 10pm."
    )


# --- the rule is data: validated, and only the healthcare preset has one


def test_the_healthcare_preset_declares_its_date_rule() -> None:
    rule = load_preset("healthcare").date_time
    assert rule is not None
    assert rule.redact == ("numeric_date", "month_day", "month_year", "month", "compact_date")
    assert "MEDICAL_RECORD_NUMBER" in rule.yield_to


def test_the_general_preset_has_no_date_rule_and_an_opt_in_date_time_is_every_date_spacy_finds() -> None:
    assert resolve_options(PIIOptions()).date_time is None
    det = PIIDetector(options=PIIOptions(entities=("DATE_TIME",)))
    assert found(det, "I have had a headache for 3 days.") == {"DATE_TIME": ["3 days"]}


def test_an_unknown_date_form_in_a_preset_file_is_named_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yaml"
    path.write_text("entities: [DATE_TIME]\ndate_time:\n  redact: [numeric_date, durations]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"clinic\.yaml: date_time\.redact: .*unknown date form 'durations'"):
        load_preset(str(path))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        pytest.param({"redact": []}, "at least 1", id="no-form"),
        pytest.param({"redact": ["weekdays"]}, "weekdays", id="unknown-form"),
        pytest.param({"redact": ["any"], "yield_to": ["mrn"]}, "'mrn'", id="lower-case-entity"),
        pytest.param({"redact": ["any"], "yield_to": ["DATE_TIME"]}, "DATE_TIME", id="yield-to-itself"),
        pytest.param({"redact": ["any"], "strict": True}, "strict", id="unknown-key"),
    ],
)
def test_a_bad_date_rule_is_rejected_naming_the_bad_value(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DateTimeRule.model_validate(rule)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"preset": "healthcare", "date_time": {"redact": ["any"], "yield_to": ["SHOE_SIZE"]}},
            "yield_to names 'SHOE_SIZE'",
            id="yield-to-an-unknown-entity",
        ),
        pytest.param(
            {"preset": "general", "date_time": {"redact": ["month_day"]}},
            "DATE_TIME is not among the detected entities",
            id="rule-without-date-time",
        ),
    ],
)
def test_a_date_rule_that_does_not_fit_the_entities_is_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PIIDetector(options=PIIOptions.model_validate(options))


def test_a_patient_called_by_title_and_a_famous_surname_is_redacted(healthcare: PIIDetector) -> None:
    assert found(healthcare, "Patient Mrs. Homer, 67, presents with cough.").get("PERSON") == ["Mrs. Homer"]


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("Patient is ninety-two years old.", "ninety-two years old"),
        ("A hundred and three year old man was admitted.", "A hundred and three year old"),
        ("She was aged ninety-five at discharge.", "ninety-five"),
        ("a 95-y/o woman with a cough", "95-y/o"),
    ],
)
def test_an_age_over_89_in_words_or_with_a_dashed_y_o_is_redacted(healthcare: PIIDetector, text: str, age: str) -> None:
    assert found(healthcare, text).get("AGE_OVER_89") == [age]


@pytest.mark.parametrize("text", ["He is eighty-nine years old.", "Ninety percent of patients recovered.", "aged nine"])
def test_an_age_of_89_or_under_or_a_number_that_is_no_age_is_kept(healthcare: PIIDetector, text: str) -> None:
    assert "AGE_OVER_89" not in found(healthcare, text)
