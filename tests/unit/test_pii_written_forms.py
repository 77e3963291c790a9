"""PII written the way real text writes it: typographic dashes, CSV exports, non-ASCII addresses, wide digits.

All strings here were written for these tests (none comes from an evaluation set).
"""

from __future__ import annotations

import pytest

from guardrails.detectors.base import DetectContext
from guardrails.detectors.pii import PIIDetector, PIIOptions

CTX = DetectContext()


@pytest.fixture(scope="module")
def general() -> PIIDetector:
    d = PIIDetector(options=PIIOptions(batch_workers=0))
    d.warmup()
    return d


def found(detector: PIIDetector, text: str) -> dict[str, list[str]]:
    """Entity type -> the values found, in text order."""
    out: dict[str, list[str]] = {}
    for f in detector.detect(text, CTX):
        assert f.start is not None and f.end is not None and f.label is not None
        out.setdefault(f.label, []).append(text[f.start : f.end])
    return out


# --- dashes: an en dash, a minus sign or a non-breaking hyphen between the groups hides nothing


@pytest.mark.parametrize(
    ("label", "text", "value"),
    [
        pytest.param("US_SSN", "My SSN is 536\u201322\u20138745.", "536\u201322\u20138745", id="ssn-en-dash"),
        pytest.param("US_SSN", "SSN: 536\u221222\u22128745", "536\u221222\u22128745", id="ssn-minus-sign"),
        pytest.param("US_SSN", "ssn 536\u201122\u20118745", "536\u201122\u20118745", id="ssn-non-breaking-hyphen"),
        pytest.param(
            "CREDIT_CARD",
            "card 4111\u20131111\u20131111\u20131111 expires soon",
            "4111\u20131111\u20131111\u20131111",
            id="card-en-dash",
        ),
        pytest.param(
            "CREDIT_CARD",
            "card 5500\u20100000\u20100000\u20100004",
            "5500\u20100000\u20100000\u20100004",
            id="card-hyphen-u2010",
        ),
        pytest.param(
            "PHONE_NUMBER", "call 415\u2013555\u20132671 tonight", "415\u2013555\u20132671", id="phone-en-dash"
        ),
        pytest.param("PHONE_NUMBER", "phone 415\u2011555\u20112671", "415\u2011555\u20112671", id="phone-nb-hyphen"),
        pytest.param(
            "PHONE_NUMBER",
            "mobile +44\u221220\u22127946\u22120958",
            "+44\u221220\u22127946\u22120958",
            id="phone-minus",
        ),
        pytest.param(
            "PHONE_NUMBER", "fax 415\ufe63555\ufe632671", "415\ufe63555\ufe632671", id="phone-small-hyphen-minus"
        ),
    ],
)
def test_a_value_written_with_typographic_dashes_is_found_whole(
    general: PIIDetector, label: str, text: str, value: str
) -> None:
    assert found(general, text).get(label) == [value]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Read pages 10\u201320 and 145\u2013162 before class.", id="page-ranges"),
        pytest.param("The war lasted from 1990\u20131995, or 1914\u20141918 in the other book.", id="year-ranges"),
        pytest.param("The shop is open 9\u20135, Mon\u2013Fri, and closed 24\u201326 December.", id="hours-and-days"),
        pytest.param("We won 3\u20132 in the 2019\u20132020 season.", id="scores-and-seasons"),
        pytest.param("The temperature fell to \u221212 \u00b0C, then \u22124 by noon.", id="negative-temperatures"),
        pytest.param("Sections 4.1\u20134.3 cover ISO 8601\u20131:2019 and RFC 3339.", id="section-ranges"),
        pytest.param("Releases 2.67.3\u20132.67.4 and 3.10.4-3.10.12 fixed it.", id="version-ranges"),
    ],
)
def test_ranges_and_numbers_with_en_dashes_in_ordinary_prose_stay(general: PIIDetector, text: str) -> None:
    assert found(general, text) == {}


# --- cards after a comma or a dot that is punctuation: CSV exports, "no.", lists


def with_luhn(body: str) -> str:
    """Append the Luhn check digit to a digit string."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str(-total % 10)


VISA = with_luhn("453201511283036")
MASTERCARD = with_luhn("545454545454545")
AMEX = with_luhn("37828224631000")


def test_with_luhn_makes_valid_numbers() -> None:
    assert (VISA, MASTERCARD, AMEX) == ("4532015112830366", "5454545454545454", "378282246310005")


@pytest.mark.parametrize(
    ("text", "cards"),
    [
        pytest.param(f"name,card,exp\nAda,{VISA},12/26\nBo,{MASTERCARD},01/27\n", [VISA, MASTERCARD], id="csv-export"),
        pytest.param(f"id,pan\n1001,{VISA}\n7,{AMEX}", [VISA, AMEX], id="csv-after-a-numeric-id"),
        pytest.param(f"cards on file: {VISA},{MASTERCARD}", [VISA, MASTERCARD], id="comma-list"),
        pytest.param(f"card no.{VISA} please", [VISA], id="after-no-dot"),
        pytest.param(f"card-{VISA}", [VISA], id="after-a-dash"),
        pytest.param(f"Visa;{VISA};exp 09/28", [VISA], id="semicolon-separated"),
    ],
)
def test_a_card_after_a_comma_or_dot_that_is_punctuation_is_found(
    general: PIIDetector, text: str, cards: list[str]
) -> None:
    assert found(general, text).get("CREDIT_CARD") == cards


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("the float printed as 0.5454545454545454 today", id="decimal-fraction"),
        pytest.param("the ratio was .5454545454545454 in the run", id="fraction-without-leading-zero"),
        pytest.param("Der Wert ist 0,5454545454545454 laut Tabelle.", id="decimal-comma"),
        pytest.param("Revenue grew to 12,545,454,545,454,545 units in the model.", id="thousands-separators"),
    ],
)
def test_the_digits_of_a_decimal_or_a_grouped_number_are_no_card(general: PIIDetector, text: str) -> None:
    assert "CREDIT_CARD" not in found(general, text)


def test_a_csv_export_reaches_the_model_without_its_card_numbers(general: PIIDetector) -> None:
    from guardrails.testing import guard_with

    text = f"Here is the export:\nname,card,exp\nAda,{VISA},12/26"
    decision = guard_with(general).check(text, "input")
    assert VISA not in decision.text
    assert decision.text.startswith("Here is the export:\nname,card,exp\nAda,")


# --- several blanks, a spaced dash or a line break between the groups of an IBAN or a card


@pytest.mark.parametrize(
    ("label", "text", "value"),
    [
        pytest.param(
            "IBAN_CODE",
            "IBAN: DE89  3704  0044  0532  0130  00 (Girokonto)",
            "DE89  3704  0044  0532  0130  00",
            id="iban-double-spaces",
        ),
        pytest.param(
            "IBAN_CODE",
            "Please pay to IBAN DE89 3704 0044\n0532 0130 00 by Friday.",
            "DE89 3704 0044\n0532 0130 00",
            id="iban-wrapped-line",
        ),
        pytest.param(
            "IBAN_CODE",
            "IBAN:\tGB29\tNWBK\t6016\t1331\t9268\t19",
            "GB29\tNWBK\t6016\t1331\t9268\t19",
            id="iban-tabs",
        ),
        pytest.param(
            "CREDIT_CARD",
            f"card {VISA[:4]}  {VISA[4:8]}  {VISA[8:12]}  {VISA[12:]} thanks",
            f"{VISA[:4]}  {VISA[4:8]}  {VISA[8:12]}  {VISA[12:]}",
            id="card-double-spaces",
        ),
        pytest.param(
            "CREDIT_CARD",
            f"my card is {VISA[:4]} {VISA[4:8]}\n{VISA[8:12]} {VISA[12:]}\nthanks",
            f"{VISA[:4]} {VISA[4:8]}\n{VISA[8:12]} {VISA[12:]}",
            id="card-wrapped-line",
        ),
        pytest.param(
            "CREDIT_CARD",
            f"card: {VISA[:4]} - {VISA[4:8]} - {VISA[8:12]} - {VISA[12:]}",
            f"{VISA[:4]} - {VISA[4:8]} - {VISA[8:12]} - {VISA[12:]}",
            id="card-spaced-dashes",
        ),
        pytest.param(
            "CREDIT_CARD",
            f"card {VISA[:4]} {VISA[4:8]} {VISA[8:12]} {VISA[12:]} - 12/26",
            f"{VISA[:4]} {VISA[4:8]} {VISA[8:12]} {VISA[12:]}",
            id="card-then-spaced-dash-and-expiry",
        ),
    ],
)
def test_blanks_a_spaced_dash_or_a_line_break_inside_a_value_leave_none_of_it_in_clear(
    general: PIIDetector, label: str, text: str, value: str
) -> None:
    assert found(general, text) == {label: [value]}


def test_cards_listed_one_per_line_are_each_found(general: PIIDetector) -> None:
    grouped = f"{MASTERCARD[:4]} {MASTERCARD[4:8]} {MASTERCARD[8:12]} {MASTERCARD[12:]}"
    assert found(general, f"cards:\n{VISA}\n{MASTERCARD}\n").get("CREDIT_CARD") == [VISA, MASTERCARD]
    assert found(general, f"cards:\n{VISA[:8]} {VISA[8:]}\n{grouped}").get("CREDIT_CARD") == [
        f"{VISA[:8]} {VISA[8:]}",
        grouped,
    ]


def test_a_paragraph_break_still_ends_a_value(general: PIIDetector) -> None:
    assert "IBAN_CODE" not in found(general, "IBAN DE89 3704 0044\n\n0532 0130 00")
    assert "CREDIT_CARD" not in found(general, f"card {VISA[:8]}\n\n{VISA[8:]}")


def test_a_card_wrapped_before_words_on_its_last_line_is_found(general: PIIDetector) -> None:
    text = f"The card is\n{VISA[:4]} {VISA[4:8]} {VISA[8:12]}\n{VISA[12:]} and it expires soon"
    assert found(general, text).get("CREDIT_CARD") == [f"{VISA[:4]} {VISA[4:8]} {VISA[8:12]}\n{VISA[12:]}"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{VISA[:4]} {VISA[4:8]}\n{VISA[8:12]} {VISA[12:]}\n", id="grouped-numbers-on-lines-of-their-own"),
        pytest.param(f"order ids {VISA[:8]}\n{VISA[8:]} shipped", id="two-numbers-one-per-line"),
        pytest.param(
            "Batch totals:\n1234  5678  9012\n3456  7890  1234\n5678  9012  3456", id="table-of-12-digit-rows"
        ),
    ],
)
def test_numbers_on_lines_of_their_own_are_not_joined_into_a_card(general: PIIDetector, text: str) -> None:
    assert "CREDIT_CARD" not in found(general, text)


# --- email addresses with letters outside ASCII: found whole, never a part of them


@pytest.mark.parametrize(
    ("text", "address"),
    [
        pytest.param("Schreib mir an jürgen.müller@gmx.de, danke.", "jürgen.müller@gmx.de", id="german-umlauts"),
        pytest.param("Escríbeme a josé.garcía@correo.es mañana.", "josé.garcía@correo.es", id="spanish-accents"),
        pytest.param("Skriv til søren.kierkegaard@example.dk i dag.", "søren.kierkegaard@example.dk", id="danish-o"),
        pytest.param("My email is zoë@example.com.", "zoë@example.com", id="diaeresis-only-letter-before-at"),
        pytest.param("Write to jane.doe@münchen.de please.", "jane.doe@münchen.de", id="idn-domain"),
        pytest.param("Пишите на иван.петров@почта.рф сегодня.", "иван.петров@почта.рф", id="cyrillic"),
        pytest.param("mail jose\u0301@example.es now", "jose\u0301@example.es", id="decomposed-accent"),
        pytest.param("Write to o'brien@example.ie today.", "o'brien@example.ie", id="apostrophe-inside"),
        pytest.param('<a href="mailto:zoë@example.com">Zoë</a>', "zoë@example.com", id="mailto-link"),
        pytest.param("Reach me at jürgen dot müller at gmx dot de.", "jürgen dot müller at gmx dot de", id="spoken"),
    ],
)
def test_an_email_address_with_non_ascii_letters_is_found_whole(general: PIIDetector, text: str, address: str) -> None:
    assert found(general, text).get("EMAIL_ADDRESS") == [address]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        pytest.param("邮箱是zhang.wei@example.cn谢谢", "zhang.wei@example.cn", id="chinese-around"),
        pytest.param("メールはtanaka@example.jpまで", "tanaka@example.jp", id="japanese-around"),
        pytest.param("Mail 'jane@example.com' today.", "jane@example.com", id="quoted"),
    ],
)
def test_an_address_inside_text_without_spaces_or_in_quotes_is_only_the_address(
    general: PIIDetector, text: str, address: str
) -> None:
    assert found(general, text).get("EMAIL_ADDRESS") == [address]


# --- IPv4 addresses zero-padded to three digits an octet, as many logs write them


@pytest.mark.parametrize(
    ("text", "address"),
    [
        pytest.param("Failed login from 192.168.001.010 at 02:14", "192.168.001.010", id="padded-private"),
        pytest.param("010.000.000.001 - - [12/Mar/2024:10:01:02] GET /index.html", "010.000.000.001", id="access-log"),
        pytest.param("peer 203.000.113.077 closed the connection", "203.000.113.077", id="padded-public"),
    ],
)
def test_a_zero_padded_ipv4_address_is_found(general: PIIDetector, text: str, address: str) -> None:
    assert found(general, text).get("IP_ADDRESS") == [address]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Upgrade to version 010.020.030.040 first.", id="padded-version"),
        pytest.param("Rules 1.02.03.4 and 2.01.10.3 apply.", id="section-numbers"),
        pytest.param("The value 300.001.001.001 is out of range.", id="octet-over-255"),
        pytest.param("See section 10.1.2.3 and clause 001.002.003.004 of the handbook.", id="document-sections"),
    ],
)
def test_versions_sections_and_impossible_octets_are_no_ip_address(general: PIIDetector, text: str) -> None:
    assert "IP_ADDRESS" not in found(general, text)


# --- healthcare: dates with a two-digit year, and dates, ages and record numbers in wide or other scripts' digits


@pytest.fixture(scope="module")
def healthcare() -> PIIDetector:
    d = PIIDetector(options=PIIOptions(preset="healthcare", batch_workers=0))
    d.warmup()
    return d


@pytest.mark.parametrize(
    ("text", "date"),
    [
        pytest.param("DOB 3-14-62, seen today for a cough.", "3-14-62", id="dob-dashes"),
        pytest.param("She was born 14.3.62 in Leeds.", "14.3.62", id="born-dots"),
        pytest.param("Date of birth: 03.14.62", "03.14.62", id="date-of-birth-zero-padded"),
        pytest.param("He was admitted 2-9-24 with a fracture.", "2-9-24", id="admitted"),
        pytest.param("Seen on 12.3.24 for review.", "12.3.24", id="seen-on"),
    ],
)
def test_a_date_with_a_two_digit_year_after_a_date_word_is_redacted(
    healthcare: PIIDetector, text: str, date: str
) -> None:
    assert found(healthcare, text).get("DATE_TIME") == [date]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Upgrade the pump firmware to 1.2.10 tonight.", id="version"),
        pytest.param("They won 3-4-12 on aggregate over the season.", id="scores"),
        pytest.param("Order part 12-3-45 for the wheelchair.", id="part-number"),
        pytest.param("Dose was reduced from 2.5.10 to 2.5.5 in the protocol table.", id="protocol-step"),
    ],
)
def test_a_dotted_or_dashed_number_with_no_date_word_before_it_stays(healthcare: PIIDetector, text: str) -> None:
    assert "DATE_TIME" not in found(healthcare, text)


@pytest.mark.parametrize(
    ("text", "label", "value"),
    [
        pytest.param(
            "DOB \uff10\uff13/\uff11\uff14/\uff11\uff19\uff16\uff12",
            "DATE_TIME",
            "\uff10\uff13/\uff11\uff14/\uff11\uff19\uff16\uff12",
            id="full-width-date",
        ),
        pytest.param(
            "DOB: \u0660\u0663/\u0661\u0664/\u0661\u0669\u0666\u0662",
            "DATE_TIME",
            "\u0660\u0663/\u0661\u0664/\u0661\u0669\u0666\u0662",
            id="arabic-indic-date",
        ),
        pytest.param("born 3\u201314\u201362 at home", "DATE_TIME", "3\u201314\u201362", id="en-dash-date"),
        pytest.param(
            "She is aged \uff19\uff12 years old.", "AGE_OVER_89", "\uff19\uff12 years old", id="full-width-age"
        ),
        pytest.param("Age: \u0669\u0663", "AGE_OVER_89", "\u0669\u0663", id="arabic-indic-age-narrowed"),
        pytest.param(
            "MRN \uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",
            "MEDICAL_RECORD_NUMBER",
            "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",
            id="full-width-mrn-narrowed",
        ),
        pytest.param(
            "DOB 03/14/\u200b1962 on file", "DATE_TIME", "03/14/\u200b1962", id="zero-width-space-inside-a-date"
        ),
    ],
)
def test_wide_or_other_scripts_digits_hide_no_date_age_or_record_number(
    healthcare: PIIDetector, text: str, label: str, value: str
) -> None:
    assert found(healthcare, text).get(label) == [value]


def test_a_recognizer_declared_in_yaml_reads_full_width_text_like_the_built_in_ones() -> None:
    from guardrails.pii.yaml_recognizers import RecognizerSpec

    spec = RecognizerSpec.model_validate(
        {
            "name": "employee_id",
            "entity": "EMPLOYEE_ID",
            "patterns": [{"regex": r"\bbadge\s*(?P<value>EMP-\d{6})\b", "score": 0.8}],
            "deny_list": ["Bluebird"],
        }
    )
    detector = PIIDetector(options=PIIOptions(entities=("EMAIL_ADDRESS",), recognizers=(spec,), batch_workers=0))
    badge = "\uff25\uff2d\uff30\uff0d\uff11\uff12\uff13\uff14\uff15\uff16"  # EMP-123456, full width
    project = "\uff22\uff4c\uff55\uff45\uff42\uff49\uff52\uff44"  # Bluebird, full width
    assert found(detector, f"badge {badge} works on {project}").get("EMPLOYEE_ID") == [badge, project]


# --- window options: an overlap that leaves the windows room to move on


@pytest.mark.parametrize(
    ("options", "named"),
    [
        pytest.param({"window_chars": 1000, "window_overlap": 4096}, ("4096", "1000", "333"), id="overlap-over-window"),
        pytest.param({"window_chars": 1000, "window_overlap": 334}, ("334", "1000", "333"), id="just-over-a-third"),
        pytest.param({"window_overlap": 2048}, ("2048", "20000", "682"), id="over-682"),
    ],
)
def test_a_window_overlap_too_large_for_its_windows_is_refused_naming_the_values(
    options: dict[str, int], named: tuple[str, ...]
) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as err:
        PIIOptions(**options)
    message = str(err.value)
    assert "window_overlap" in message
    assert all(value in message for value in named), message


def test_the_largest_allowed_overlap_reads_a_long_text_a_few_times_at_most() -> None:
    from guardrails.detectors.pii import max_window_overlap, windows

    assert PIIOptions(window_chars=1000).window_overlap == 256  # the smallest windows keep the default overlap
    assert PIIOptions(window_chars=1000, window_overlap=333).window_overlap == max_window_overlap(1000) == 333
    assert PIIOptions(window_overlap=682).window_overlap == max_window_overlap(20_000) == 682
    for text, size in (("word " * 20_000, 1000), ("x" * 100_000, 20_000), ("x" * 100_000, 1000)):
        cuts = windows(text, size, max_window_overlap(size))
        assert sum(e - s for s, e in cuts) <= 2.5 * len(text), (size, len(cuts))
    with pytest.raises(ValueError, match="4096"):
        windows("word " * 20_000, 1000, 4096)


def test_a_name_found_once_is_found_again_in_another_case_spacing_or_with_invisible_characters(
    general: PIIDetector,
) -> None:
    text = "My name is Maria Lopez. Again: maria lopez, and Maria\u200bLopez, and maria   LOPEZ, and Ma\u200bria Lopez."
    spans = [(f.start, f.end) for f in general.detect(text, DetectContext(stage="input")) if f.label == "PERSON"]
    covered = {i for s, e in spans if s is not None and e is not None for i in range(s, e)}
    for value in ("maria lopez", "Maria\u200bLopez", "maria   LOPEZ", "Ma\u200bria Lopez"):
        at = text.index(value)
        assert set(range(at, at + len(value))) <= covered, value


@pytest.mark.parametrize("mark", ["\u2066", "\u2068", "\ufe0f", "\U000e0041"], ids=lambda m: f"U+{ord(m):04X}")
def test_a_repeated_name_with_a_bidi_isolate_or_a_variation_selector_inside_is_found_not_a_crash(
    general: PIIDetector, mark: str
) -> None:
    text = f"Maria Lopez called. Later Ma{mark}ria Lopez called again."
    spans = [(f.start, f.end) for f in general.detect(text, DetectContext(stage="input")) if f.label == "PERSON"]
    at = text.index(f"Ma{mark}ria")
    assert any(s is not None and e is not None and s <= at and at + 11 <= e for s, e in spans)


def test_a_one_word_name_is_found_again_only_as_written(general: PIIDetector) -> None:
    people = found(general, "Send it to Lopez today. LOPEZ signed the form, lopez did not. Lopez again.")["PERSON"]
    assert people.count("Lopez") == 2 and "lopez" not in people


def test_a_phrase_taken_for_a_name_without_a_census_name_in_it_is_not_spread(general: PIIDetector) -> None:
    text = "Dear Hiring Manager, please find my letter attached. The hiring manager should read it first."
    assert "hiring manager" not in found(general, text).get("PERSON", [])
