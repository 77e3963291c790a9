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
    ],
)
def test_ranges_and_numbers_with_en_dashes_in_ordinary_prose_stay(general: PIIDetector, text: str) -> None:
    assert found(general, text) == {}
