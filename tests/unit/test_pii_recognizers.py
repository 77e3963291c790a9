"""The PII recognizers: where Presidio's defaults miss, and where they over-fire.

All strings here are written for these tests (none comes from an evaluation set).
"""

from __future__ import annotations

import pytest

from guardrails.detectors.base import DetectContext
from guardrails.detectors.pii import PIIDetector
from guardrails.pii.recognizers import PersonRecognizer, gazetteer, iban_is_valid, luhn_ok


def with_luhn(body: str) -> str:
    """Append the Luhn check digit to a digit string."""
    for d in "0123456789":
        if luhn_ok(body + d):
            return body + d
    raise AssertionError("unreachable")


def spaced(digits: str, groups: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for g in groups:
        out.append(digits[i : i + g])
        i += g
    return sep.join(out)


@pytest.fixture(scope="module")
def detector() -> PIIDetector:
    d = PIIDetector()
    d.warmup()
    return d


def labels_of(detector: PIIDetector, text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in detector.detect(text, DetectContext()):
        assert f.start is not None and f.end is not None and f.label is not None
        out.setdefault(f.label, []).append(text[f.start : f.end])
    return out


VISA16 = with_luhn("411100001234567")
MC2 = with_luhn("222300004567123")
VISA19 = with_luhn("412345678901234567")
MAESTRO12 = with_luhn("50180000123")
DISCOVER19 = with_luhn("601100009876543210")

FOUND = [
    pytest.param(
        "EMAIL_ADDRESS",
        "write to jane dot doe at example dot com please",
        "jane dot doe at example dot com",
        id="email-spoken-dot-at",
    ),
    pytest.param(
        "EMAIL_ADDRESS",
        "reach me: jane.doe [at] example [dot] org",
        "jane.doe [at] example [dot] org",
        id="email-bracketed",
    ),
    pytest.param(
        "EMAIL_ADDRESS",
        "mail bob (at) mail (dot) co (dot) uk today",
        "bob (at) mail (dot) co (dot) uk",
        id="email-parenthesised",
    ),
    pytest.param(
        "EMAIL_ADDRESS", "ping o.brien+news@sub.example.io now", "o.brien+news@sub.example.io", id="email-plain"
    ),
    pytest.param(
        "CREDIT_CARD",
        f"card {spaced(VISA16, (4, 4, 4, 4), '.')} thanks",
        spaced(VISA16, (4, 4, 4, 4), "."),
        id="card-dots",
    ),
    pytest.param("CREDIT_CARD", f"my card is {' '.join(VISA16)} ok", " ".join(VISA16), id="card-single-spaced-digits"),
    pytest.param(
        "CREDIT_CARD",
        f"Mastercard {spaced(MC2, (4, 4, 4, 4), ' ')}",
        spaced(MC2, (4, 4, 4, 4), " "),
        id="card-mastercard-2-series",
    ),
    pytest.param("CREDIT_CARD", f"visa {VISA19} expires 09/29", VISA19, id="card-visa-19-digits"),
    pytest.param(
        "CREDIT_CARD",
        f"discover card {spaced(DISCOVER19, (4, 4, 4, 4, 3), '-')}",
        spaced(DISCOVER19, (4, 4, 4, 4, 3), "-"),
        id="card-19-dashes",
    ),
    pytest.param("CREDIT_CARD", f"debit card number {MAESTRO12}", MAESTRO12, id="card-maestro-12-with-context"),
    pytest.param("CREDIT_CARD", "amex 3782 822463 10005 on file", "3782 822463 10005", id="card-amex-4-6-5"),
    pytest.param("US_SSN", "my SSN is 536228745 if needed", "536228745", id="ssn-bare-with-context"),
    pytest.param("US_SSN", "social security number: 536 22 8745", "536 22 8745", id="ssn-spaced-with-context"),
    pytest.param("US_SSN", "it is 536-22-8745", "536-22-8745", id="ssn-dashed"),
    pytest.param("PHONE_NUMBER", "call +44 20 7946 0958 after six", "+44 20 7946 0958", id="phone-uk"),
    pytest.param("PHONE_NUMBER", "Telefon +49 30 12345678 bitte", "+49 30 12345678", id="phone-de"),
    pytest.param("PHONE_NUMBER", "whatsapp +91 98765 43210", "+91 98765 43210", id="phone-in"),
    pytest.param("PHONE_NUMBER", "bureau +33 1 42 68 53 00 demain", "+33 1 42 68 53 00", id="phone-fr"),
    pytest.param("PHONE_NUMBER", "dial 0044 161 496 0000 from abroad", "0044 161 496 0000", id="phone-00-prefix"),
    pytest.param("PHONE_NUMBER", "my cell is (415) 555-2671", "(415) 555-2671", id="phone-us-parens"),
    pytest.param("PHONE_NUMBER", "phone: 555 0142 after lunch", "555 0142", id="phone-local-with-context"),
    pytest.param("IBAN_CODE", "IBAN DE89 3704 0044 0532 0130 00.", "DE89 3704 0044 0532 0130 00", id="iban-de-spaced"),
    pytest.param(
        "IBAN_CODE", "send it to GB29NWBK60161331926819 today", "GB29NWBK60161331926819", id="iban-gb-compact"
    ),
    pytest.param(
        "IBAN_CODE", "FR14 2004 1010 0505 0001 3M02 606 is mine", "FR14 2004 1010 0505 0001 3M02 606", id="iban-fr"
    ),
    pytest.param("IBAN_CODE", "cuenta ES91 2100 0418 4502 0005 1332", "ES91 2100 0418 4502 0005 1332", id="iban-es"),
    pytest.param("IBAN_CODE", "rekening NL91ABNA0417164300", "NL91ABNA0417164300", id="iban-nl"),
    pytest.param(
        "IBAN_CODE", "conto IT60 X054 2811 1010 0000 0123 456", "IT60 X054 2811 1010 0000 0123 456", id="iban-it"
    ),
    pytest.param(
        "IBAN_CODE", "konto PL61 1090 1014 0000 0712 1981 2874", "PL61 1090 1014 0000 0712 1981 2874", id="iban-pl"
    ),
    pytest.param("IP_ADDRESS", "the server at 203.0.113.77 is down", "203.0.113.77", id="ip-v4"),
    pytest.param("IP_ADDRESS", "from 2001:db8:85a3::8a2e:370:7334 we saw", "2001:db8:85a3::8a2e:370:7334", id="ip-v6"),
    pytest.param("US_DRIVER_LICENSE", "driver license D1234567 expired", "D1234567", id="driver-licence-with-context"),
    pytest.param(
        "PERSON", "Hello, my name is Oksana Kowalczyk and I need help.", "Oksana Kowalczyk", id="person-name-cue"
    ),
    pytest.param("PERSON", "Please forward this to Dr. Okafor before noon.", "Dr. Okafor", id="person-honorific"),
    pytest.param(
        "PERSON", "I met Margaret Ellison yesterday at the office.", "Margaret Ellison", id="person-first-last"
    ),
    pytest.param(
        "LOCATION",
        "Ship it to Lindenallee 14, please.",
        "Lindenallee 14",
        id="location-street-then-number",
    ),
    pytest.param(
        "LOCATION",
        "Address:\n12 Harbour Road\nSuite 4\nPORTSMOUTH\nUnited Kingdom\n\nThanks",
        "12 Harbour Road\nSuite 4\nPORTSMOUTH\nUnited Kingdom",
        id="location-multi-line-block",
    ),
    pytest.param(
        "LOCATION",
        "I live at 742 Evergreen Terrace, Springfield.",
        "742 Evergreen Terrace, Springfield",
        id="location-street-address",
    ),
]


@pytest.mark.parametrize(("label", "text", "value"), FOUND)
def test_recognizers_find_what_presidio_defaults_miss(detector: PIIDetector, label: str, text: str, value: str) -> None:
    found = labels_of(detector, text)
    assert label in found, found
    assert any(value in v or v in value for v in found[label]), found[label]


NOT_FOUND = [
    pytest.param("What are the best DDoS protections for an ATM network?", id="ddos-atm-not-organisation"),
    pytest.param("Is Amazon cheaper than Walmart for groceries?", id="brands-not-pii"),
    pytest.param("How does the U.S. Senate pass a bill?", id="us-not-location"),
    pytest.param("Summarise the history of France in 2019 and 2020.", id="country-and-years-not-pii"),
    pytest.param("Explain Docker, Kubernetes and Python to a beginner.", id="tech-words-not-person"),
    pytest.param("Why did the Roman Empire fall?", id="capitalised-phrase-not-person"),
    pytest.param("The invoice total is 1,250,000 dollars for 2023-2024.", id="numbers-and-year-range"),
    pytest.param("Upgrade Python to 3.12.1 and Node to v20.11.0 today.", id="versions-not-phone"),
    pytest.param("The meeting is on 2024-05-12 at 10:30.", id="iso-date-not-phone"),
    pytest.param("Order 4111111111111112 failed the checksum.", id="luhn-invalid-not-card"),
    pytest.param("A ZIP+4 code looks like 94105-1234.", id="zip-plus-4-not-phone"),
    pytest.param("The reference number is 536228745.", id="bare-9-digits-without-ssn-context"),
    pytest.param("IBAN DE89 3704 0044 0532 0130 01 has a typo.", id="iban-bad-checksum"),
    pytest.param("Take Exit 42 North And Turn Left Onto The Highway.", id="capitalised-words-not-driver-licence"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("text", NOT_FOUND)
def test_ordinary_text_is_left_alone(detector: PIIDetector, text: str) -> None:
    found = labels_of(detector, text)
    assert not found, found


@pytest.mark.parametrize(
    ("area", "group", "serial"),
    [
        pytest.param("000", "12", "3456", id="area-000"),
        pytest.param("666", "12", "3456", id="area-666"),
        pytest.param("912", "12", "3456", id="area-9xx"),
        pytest.param("536", "00", "3456", id="group-00"),
        pytest.param("536", "12", "0000", id="serial-0000"),
    ],
)
def test_impossible_ssns_are_not_ssns(detector: PIIDetector, area: str, group: str, serial: str) -> None:
    found = labels_of(detector, f"my SSN is {area}-{group}-{serial}")
    assert "US_SSN" not in found


def test_iban_checksum_rejects_a_changed_digit() -> None:
    assert iban_is_valid("GB29 NWBK 6016 1331 9268 19")
    assert not iban_is_valid("GB29 NWBK 6016 1331 9268 18")
    assert not iban_is_valid("GB29 NWBK 6016 1331 9268")  # wrong length for GB


def test_card_digits_are_not_also_reported_as_dates_or_phones(detector: PIIDetector) -> None:
    text = f"card {spaced(VISA16, (4, 4, 4, 4), '-')} please"
    found = labels_of(detector, text)
    assert set(found) == {"CREDIT_CARD"}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param(
            "The founders were Anneli Virtanen, Okonkwo and Szabo.", {"Okonkwo", "Szabo"}, id="coordinated-names"
        ),
        pytest.param("Tomasz Wrobel called. Later Wrobel wrote again.", {"Wrobel"}, id="second-mention"),
        pytest.param("follow up with maria lopez tomorrow", {"maria lopez"}, id="lower-case-after-cue"),
    ],
)
def test_names_spread_to_coordinated_and_repeated_mentions(detector: PIIDetector, text: str, names: set[str]) -> None:
    found = set(labels_of(detector, text).get("PERSON", []))
    assert all(any(n in f for f in found) for n in names), found


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Explain Einstein's theory of relativity.", id="surname-after-a-verb"),
        pytest.param("What did Marie Curie discover?", id="scientist"),
        pytest.param("What's the plot of the first Harry Potter book?", id="fictional-character"),
    ],
)
def test_public_figures_are_not_redacted_by_the_general_preset(detector: PIIDetector, text: str) -> None:
    assert "PERSON" not in labels_of(detector, text)


def test_a_private_person_sharing_a_famous_surname_is_still_a_person(detector: PIIDetector) -> None:
    found = labels_of(detector, "Please call Sarah Lincoln about the lease.")
    assert any("Sarah Lincoln" in v for v in found.get("PERSON", []))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        pytest.param("Please email Mrs. Darwin about my account.", "Mrs. Darwin", id="mrs"),
        pytest.param("My physiotherapist is Dr. Newton, she is great.", "Dr. Newton", id="dr"),
        pytest.param("Our tenant, Mr. Edison, owes rent.", "Mr. Edison", id="mr"),
    ],
)
def test_a_title_and_a_famous_surname_is_a_private_person(detector: PIIDetector, text: str, name: str) -> None:
    assert any(name in v for v in labels_of(detector, text).get("PERSON", [])), labels_of(detector, text)


def test_a_title_with_a_famous_full_name_is_still_a_public_figure(detector: PIIDetector) -> None:
    assert "PERSON" not in labels_of(detector, "What did Dr. Martin Luther King say in 1963?")


# --- a card next to other digit groups, invisible characters, names in capitals, addresses


@pytest.mark.parametrize(
    ("text", "card"),
    [
        pytest.param("my card 4111 1111 1111 1111 123 is declined", "4111 1111 1111 1111", id="cvv-after"),
        pytest.param("4111 1111 1111 1111 12/26", "4111 1111 1111 1111", id="expiry-after"),
        pytest.param("pay with 5500 0000 0000 0004 0425", "5500 0000 0000 0004", id="mmyy-after"),
        pytest.param("4111-1111-1111-1111-0425", "4111-1111-1111-1111", id="dashed-group-after"),
        pytest.param("card 3782 822463 10005 1234", "3782 822463 10005", id="amex-then-group"),
        pytest.param("card no. 123 4111 1111 1111 1111 exp 09/27", "4111 1111 1111 1111", id="group-before"),
    ],
)
def test_a_card_followed_or_preceded_by_a_cvv_expiry_or_other_group_is_found_without_it(
    detector: PIIDetector, text: str, card: str
) -> None:
    assert labels_of(detector, text).get("CREDIT_CARD") == [card]


def test_a_card_is_cut_from_a_longer_run_only_before_a_cvv_or_expiry_unless_a_card_word_is_near(
    detector: PIIDetector,
) -> None:
    assert labels_of(detector, "ref 4111 1111 1111 1111 0925").get("CREDIT_CARD") == ["4111 1111 1111 1111"]
    # no card word: a group after 16 digits that is no CVV or MMYY expiry, a number before them, a decimal
    assert "CREDIT_CARD" not in labels_of(detector, "ref 4111 1111 1111 1111 7777")
    assert "CREDIT_CARD" not in labels_of(detector, "ref 7777 4111 1111 1111 1111")
    assert "CREDIT_CARD" not in labels_of(detector, "the float printed as 0.5500000000000004 today")
    # a long run of groups (a table, a list) holds no card
    assert "CREDIT_CARD" not in labels_of(detector, "card 1234 4111 1111 1111 1111 5678 9012 3456 in the table")


@pytest.mark.parametrize(
    ("label", "text", "value"),
    [
        pytest.param(
            "EMAIL_ADDRESS", "email jane.doe@exa\u200bmple.com", "jane.doe@exa\u200bmple.com", id="zero-width-email"
        ),
        pytest.param(
            "CREDIT_CARD", "card 4111\u200b1111 1111 1111", "4111\u200b1111 1111 1111", id="zero-width-in-card"
        ),
        pytest.param(
            "CREDIT_CARD",
            "card \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11",
            "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11",
            id="full-width-card",
        ),
        pytest.param(
            "PHONE_NUMBER",
            "call +44\u200b20 7946\u2060 0958 today",
            "+44\u200b20 7946\u2060 0958",
            id="zero-width-phone",
        ),
    ],
)
def test_invisible_characters_and_full_width_digits_do_not_hide_a_value_and_it_is_found_whole(
    detector: PIIDetector, label: str, text: str, value: str
) -> None:
    assert labels_of(detector, text).get(label) == [value]


@pytest.mark.parametrize(
    "mark", ["\u200e", "\u200f", "\ufe0f", "\U000e0020", "\u202c", "\u034f", "\u3164"], ids=lambda m: f"U+{ord(m):04X}"
)
def test_bidi_marks_variation_selectors_and_tags_inside_a_value_do_not_hide_it(
    detector: PIIDetector, mark: str
) -> None:
    found = labels_of(
        detector, f"email jane.doe{mark}@example.com / card 4111 1111{mark} 1111 1111 / SSN 536-2{mark}2-1234"
    )
    assert found.get("EMAIL_ADDRESS") == [f"jane.doe{mark}@example.com"]
    assert found.get("CREDIT_CARD") == [f"4111 1111{mark} 1111 1111"]
    assert found.get("US_SSN") == [f"536-2{mark}2-1234"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_card_or_iban_wrapped_at_a_windows_line_break_is_found_whole(detector: PIIDetector, newline: str) -> None:
    assert labels_of(detector, f"my card 4111 1111{newline}1111 1111 thanks").get("CREDIT_CARD") == [
        f"4111 1111{newline}1111 1111"
    ]
    assert labels_of(detector, f"IBAN DE89 3704 0044{newline}0532 0130 00 thanks").get("IBAN_CODE") == [
        f"DE89 3704 0044{newline}0532 0130 00"
    ]


def test_presidio_logs_no_value_it_finds_at_debug_level(
    detector: PIIDetector, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.DEBUG):
        detector.detect("Maria Lopez here, my passport is C03005988 and bank account 9876543210", DetectContext())
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "c03005988" not in logged.lower() and "9876543210" not in logged and "lopez" not in logged.lower()


def test_luhn_reads_full_width_digits_as_digits() -> None:
    assert luhn_ok("\uff15\uff15\uff10\uff10" + "\uff10" * 11 + "\uff14")  # 5500 0000 0000 0004
    assert not luhn_ok("\uff15\uff15\uff10\uff10" + "\uff10" * 11 + "\uff15")
    assert not luhn_ok("41a1")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        pytest.param("NAME: JOHN SMITH", "JOHN SMITH", id="form-field"),
        pytest.param("Patient name: MARIA LOPEZ, DOB 1975", "MARIA LOPEZ", id="patient-name"),
        pytest.param("Signed: MARY-JANE O'NEIL", "MARY-JANE O'NEIL", id="hyphen-and-apostrophe"),
    ],
)
def test_an_all_caps_name_after_a_name_cue_is_a_person(detector: PIIDetector, text: str, name: str) -> None:
    assert name in labels_of(detector, text).get("PERSON", [])


def test_all_caps_words_after_a_name_cue_that_are_no_known_first_name_are_left_alone() -> None:
    person = PersonRecognizer(gazetteer=gazetteer())
    assert [r.start for r in person.analyze("NAME: JOHN SMITH", ["PERSON"], None)] == [6]
    for text in (
        "Dear CUSTOMER, your order shipped",
        "PLEASE CALL ME BACK ASAP",
        "Regards, THE TEAM",
        "named CHASE BANK",
    ):
        assert person.analyze(text, ["PERSON"], None) == [], text


@pytest.mark.parametrize(
    ("text", "name"),
    [
        pytest.param("Ms. Jo Wu-Chen is here", "Ms. Jo Wu-Chen", id="hyphenated-surname"),
        pytest.param("Regards,\nDr. Okafor\nP.O. Box 4471\nNairobi", "Dr. Okafor", id="stops-at-the-line-end"),
    ],
)
def test_a_title_and_name_is_the_whole_name_on_its_line(text: str, name: str) -> None:
    person = PersonRecognizer(gazetteer=gazetteer())
    assert [text[r.start : r.end] for r in person.analyze(text, ["PERSON"], None)] == [name]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        pytest.param(
            "Ship to 10 Downing Street, London SW1A 2AA", "10 Downing Street, London SW1A 2AA", id="uk-postcode"
        ),
        pytest.param(
            "Ship to 221B Baker Street, London, NW1 6XE please",
            "221B Baker Street, London, NW1 6XE",
            id="comma-postcode",
        ),
        pytest.param("I live at Villacher Strasse 89, Vienna", "Villacher Strasse 89", id="street-word-then-number"),
    ],
)
def test_a_street_address_is_found_with_its_house_number_and_uk_postcode(
    detector: PIIDetector, text: str, address: str
) -> None:
    assert address in labels_of(detector, text).get("LOCATION", [])


@pytest.mark.parametrize(
    ("text", "address", "label", "value"),
    [
        pytest.param(
            "Please update my record:\n12 Harbour Road\nSSN 536-22-8745",
            "12 Harbour Road",
            "US_SSN",
            "536-22-8745",
            id="ssn-line",
        ),
        pytest.param(
            "742 Evergreen Terrace\nSpringfield\n5500 0000 0000 0004",
            "742 Evergreen Terrace\nSpringfield",
            "CREDIT_CARD",
            "5500 0000 0000 0004",
            id="card-line",
        ),
    ],
)
def test_an_address_block_ends_before_a_line_holding_an_id_number(
    detector: PIIDetector, text: str, address: str, label: str, value: str
) -> None:
    found = labels_of(detector, text)
    assert found.get("LOCATION") == [address]
    assert found.get(label) == [value]


def test_an_address_block_still_takes_a_zip_plus_4_line(detector: PIIDetector) -> None:
    text = "Send it to:\n12 Harbour Road\nSpringfield IL 62704-1234"
    assert labels_of(detector, text).get("LOCATION") == ["12 Harbour Road\nSpringfield IL 62704-1234"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        pytest.param("PATIENT: MARIA GONZALEZ\nDOB: 1975", "MARIA GONZALEZ", id="patient-field-in-capitals"),
        pytest.param("Pt name: KOWALCZYK, ANNA", "KOWALCZYK, ANNA", id="surname-comma-first-in-capitals"),
        pytest.param(
            "Patient: GONZALEZ, Maria T. presented with fever.", "GONZALEZ, Maria T.", id="surname-comma-first-initial"
        ),
        pytest.param("Attending: Okafor, Daniel MD", "Okafor, Daniel", id="attending-surname-comma-first"),
        pytest.param("BECKER, Lena (DOB 4/5/1981) seen today", "BECKER, Lena", id="surname-in-capitals-no-cue"),
        pytest.param("Contact me: [Priya Raman](mailto:priya.r@example.org)", "Priya Raman", id="markdown-link"),
        pytest.param(
            "id;name;iban\n3;Tomasz Wrobel;GB29NWBK60161331926819", "Tomasz Wrobel", id="semicolon-separated-row"
        ),
    ],
)
def test_a_name_in_a_clinical_record_markdown_or_a_data_row_is_found_whole(
    detector: PIIDetector, text: str, name: str
) -> None:
    people = labels_of(detector, text).get("PERSON", [])
    assert any(name in v and len(v) <= len(name) + 3 for v in people), people


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Patient: Denies chest pain, no fever.", id="patient-field-then-a-verb"),
        pytest.param("Pt: Reports improved sleep since Monday.", id="pt-field-then-a-verb"),
        pytest.param("Attending: Stable overnight, plan discharge.", id="attending-field-then-a-finding"),
        pytest.param("NOTE, Please read the manual.", id="capitals-comma-word"),
        pytest.param("See [the docs](https://example.com/Docs) and [Python](https://python.org).", id="markdown"),
        pytest.param("Argument types are now str and List[str] again.", id="type-annotation"),
        pytest.param(" - Emit RequireRestart(system) in the daemon", id="function-call"),
        pytest.param("|Branch|CI system|Status|", id="unpadded-table-cells"),
        pytest.param('<h3 id="lang">Ada</h3><p>Ada 2022 adds parallel blocks.</p>', id="html-heading"),
    ],
)
def test_a_record_field_or_markdown_without_a_name_is_left_alone(detector: PIIDetector, text: str) -> None:
    assert "PERSON" not in labels_of(detector, text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param("- Bob Martinez\n- Carla Jensen", ["Bob Martinez", "Carla Jensen"], id="dash"),
        pytest.param("Team:\n• Carla Jensen\n* Tomasz Wrobel", ["Carla Jensen", "Tomasz Wrobel"], id="bullets"),
    ],
)
def test_a_name_in_a_list_is_found_without_its_bullet(detector: PIIDetector, text: str, names: list[str]) -> None:
    assert labels_of(detector, text).get("PERSON") == names


@pytest.mark.parametrize(
    ("text", "address"),
    [
        pytest.param(
            "Mail it to 2145 Oak Ridge Avenue NW, Washington, DC 20016 please",
            "2145 Oak Ridge Avenue NW, Washington, DC 20016",
            id="city-state-zip-after-a-directional",
        ),
        pytest.param("Send it to Lindenallee 14, 10115 Berlin please.", "Lindenallee 14, 10115 Berlin", id="de"),
        pytest.param(
            "I live at 12 Ma\u200bin Street, Springfield.", "12 Ma\u200bin Street, Springfield", id="zero-width-space"
        ),
    ],
)
def test_a_street_address_is_found_with_the_postcode_after_it_and_whatever_hides_inside(
    detector: PIIDetector, text: str, address: str
) -> None:
    assert labels_of(detector, text).get("LOCATION") == [address]


def test_a_capitalised_word_then_an_initial_then_a_stop_word_is_read_without_error(detector: PIIDetector) -> None:
    # "Make" is a spaCy stop word: the run of capitalised words stops after the initial "V"
    assert labels_of(detector, "System V Make does it this way, so we are compatible.") == {}


def test_a_generational_suffix_before_a_comma_is_no_surname_of_the_next_name(detector: PIIDetector) -> None:
    people = labels_of(detector, "Thanks to David L. Cooper II, Brent Fox and Tim Janik.").get("PERSON", [])
    assert "Brent Fox" in people and not any("II, Brent" in p for p in people), people


@pytest.mark.parametrize(
    "text",
    [
        "Build 10.0.19045.3693 of Windows",
        "Upgrade from version 10.2.3.4 to 10.2.4.0",
        "ISBN 978-0-306-40615-7",
        "ISBN 0-306-40615-2",
        "Scores 10 20 30 40 50 60 70 80",
        "Bind to 0.0.0.0:8000 or 127.0.0.1, netmask 255.255.255.0",
    ],
)
def test_builds_versions_isbns_number_lists_and_addresses_of_no_host_are_not_personal_data(
    detector: PIIDetector, text: str
) -> None:
    assert labels_of(detector, text) == {}


@pytest.mark.parametrize(
    ("text", "label", "value"),
    [
        ("call me on 01 23 45 67 89", "PHONE_NUMBER", "01 23 45 67 89"),
        ("call 01.23.45.67.89", "PHONE_NUMBER", "01.23.45.67.89"),
        ("phone 978-555-0199", "PHONE_NUMBER", "978-555-0199"),
        ("server at 192.168.1.20", "IP_ADDRESS", "192.168.1.20"),
        ("Tel 0049.30.12345678", "PHONE_NUMBER", "0049.30.12345678"),
        ("Call me on 1.800.5551234", "PHONE_NUMBER", "1.800.5551234"),
        ("33 6 12 34 56 78", "PHONE_NUMBER", "33 6 12 34 56 78"),
        ("Our cluster after release 2.4, 10.20.30.41 is up", "IP_ADDRESS", "10.20.30.41"),
    ],
)
def test_phones_and_addresses_that_look_like_those_are_still_found(
    detector: PIIDetector, text: str, label: str, value: str
) -> None:
    assert labels_of(detector, text).get(label) == [value]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please forward this to Zoë Müller tomorrow.", {"PERSON": ["Zoë Müller"]}),
        (
            "Send it to Björn Köhler, Müllerstraße 5, 10115 Berlin",
            {"PERSON": ["Björn Köhler"], "LOCATION": ["Müllerstraße 5, 10115 Berlin"]},
        ),
        (
            "mail zoë@example.com or jürgen.müller@gmx.de",
            {"EMAIL_ADDRESS": ["zoë@example.com", "jürgen.müller@gmx.de"]},
        ),
    ],
)
def test_accents_written_as_combining_marks_are_read_as_composed_letters_with_offsets_into_the_text(
    detector: PIIDetector, text: str, expected: dict[str, list[str]]
) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", text)
    found = labels_of(detector, decomposed)  # the values as they stand in the decomposed text
    assert {k: [unicodedata.normalize("NFC", v) for v in vs] for k, vs in found.items()} == expected
    assert all(unicodedata.normalize("NFD", v) == v for vs in found.values() for v in vs)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, I'm Jo\u200bhn", "Jo\u200bhn"),
        ("My name is Ma\u200bria.", "Ma\u200bria"),
        ("Ma\u2060ria Lopez called about the invoice", "Ma\u2060ria Lopez"),
        ("Patient: SMITH, Jo\u00adhn", "SMITH, Jo\u00adhn"),
    ],
)
def test_an_invisible_character_inside_a_name_hides_it_from_no_recognizer(
    detector: PIIDetector, text: str, name: str
) -> None:
    assert labels_of(detector, text).get("PERSON") == [name]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("send it to 77 rue de Rivoli, 75001 Paris", "77 rue de Rivoli, 75001 Paris"),
        ("I live at 5 high street, oxford", "5 high street, oxford"),
        ("I moved to 221b baker st last year", "221b baker st"),
    ],
)
def test_a_romance_street_and_a_lower_case_one_after_a_residence_cue_are_found_whole(
    detector: PIIDetector, text: str, address: str
) -> None:
    assert labels_of(detector, text).get("LOCATION") == [address]


@pytest.mark.parametrize(
    "text", ["I moved 3 big rocks down the road", "we live in 2 small rooms", "I stayed at 3 old hotels"]
)
def test_a_number_and_words_after_a_residence_verb_are_no_address_without_a_street(
    detector: PIIDetector, text: str
) -> None:
    assert "LOCATION" not in labels_of(detector, text)


def test_an_ethereum_address_is_crypto_and_a_commit_hash_or_short_hex_is_not(detector: PIIDetector) -> None:
    address = "0x32Be343B94f860124dC4fEe278FDCBD38C102D88"
    assert labels_of(detector, f"send it to my wallet {address} please").get("CRYPTO") == [address]
    assert "CRYPTO" not in labels_of(detector, "the commit 3f2a9c0d1e4b5a6978c0d1e2f3a4b5c6d7e8f901 fixed it")
    assert "CRYPTO" not in labels_of(detector, "set the colour to 0xFFAA00")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("i am sarah connor and i need help with taxes", "sarah connor"),
        ("name: emily clark, dob 1990", "emily clark"),
        ("name: anna maria", "anna maria"),
    ],
)
def test_a_lower_case_name_whose_surname_is_also_a_first_name_is_found_after_a_cue(
    detector: PIIDetector, text: str, name: str
) -> None:
    assert labels_of(detector, text).get("PERSON") == [name]


@pytest.mark.parametrize("text", ["talk to april may about it", "i am happy today", "with rose garden views"])
def test_lower_case_first_names_after_a_weak_cue_or_none_are_not_a_name_by_that_alone(
    detector: PIIDetector, text: str
) -> None:
    assert "PERSON" not in labels_of(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "we moved from forest hill last year",
        "they threatened to sue fisher price over the toy recall",
        "the bus goes from north park to downtown",
        "tell little porter to carry the bags",
    ],
)
def test_two_lower_case_words_that_are_also_names_after_a_preposition_or_verb_are_no_name(
    detector: PIIDetector, text: str
) -> None:
    assert "PERSON" not in labels_of(detector, text)
