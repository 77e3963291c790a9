"""Which country's resources a crisis referral lists when the request's locale says little or nothing."""

from __future__ import annotations

import logging

import pytest

from guardrails.testing import KeywordDetector, guard_with

CRISIS = {"i cannot go on": "crisis_self_harm"}


@pytest.mark.parametrize("locale", ["  ", "\t"], ids=["spaces", "tab"])
def test_a_blank_request_locale_leaves_the_profiles_country_for_the_referral_without_a_warning(
    caplog: pytest.LogCaptureFixture, locale: str
) -> None:
    guard = guard_with(KeywordDetector(CRISIS), profile={"locale": "en-GB"})
    with caplog.at_level(logging.WARNING, logger="guardrails"):
        referral = guard.check("I cannot go on", locale=locale).referral
    assert referral is not None and "116 123" in referral
    assert not [r for r in caplog.records if "locale" in r.getMessage()]


@pytest.mark.parametrize("locale", ["en", "fr", "C.UTF-8"])
def test_a_request_locale_naming_only_a_language_leaves_the_profiles_country_for_the_referral(locale: str) -> None:
    guard = guard_with(KeywordDetector(CRISIS), profile={"locale": "en-GB"})
    referral = guard.check("I cannot go on", locale=locale).referral
    assert referral is not None and "116 123" in referral


def test_a_request_locale_naming_another_country_or_none_at_all_still_decides_over_the_profiles() -> None:
    guard = guard_with(KeywordDetector(CRISIS), profile={"locale": "en-GB"})
    us = guard.check("I cannot go on", locale="en-US").referral or ""
    area = guard.check("I cannot go on", locale="es-419").referral or ""
    assert "988" in us and "116 123" not in us
    assert "local emergency number" in area and "116 123" not in area
