"""Which action a category may take: a crisis is always referred on the input, a domain is never referred, and a
prohibited category referred names the crisis whose resources are sent; the texts that go with each."""

from __future__ import annotations

from typing import Any

import pytest

from guardrails import Action
from guardrails.errors import ProfileError
from guardrails.profiles import validate_profile_mapping
from guardrails.testing import KeywordDetector, guard_with


def _load(**categories: Any) -> None:
    validate_profile_mapping({"name": "p", "extends": "general", "categories": categories})


@pytest.mark.parametrize("action", ["allow", "disclaim"])
def test_a_crisis_category_that_the_model_would_answer_is_refused_at_load(action: str) -> None:
    with pytest.raises(ProfileError, match=r"categories\.crisis_danger\.action: .*never answered.*stages: \[\]"):
        _load(crisis_danger={"action": action})


def test_a_crisis_category_may_be_turned_off_or_blocked() -> None:
    _load(crisis_danger={"action": "allow", "stages": []}, crisis_self_harm={"action": "block"})


def test_a_domain_category_cannot_be_referred() -> None:
    with pytest.raises(ProfileError, match=r"categories\.domain_medical\.action: .*allow, disclaim or block"):
        _load(domain_medical={"action": "refer"})


def test_a_prohibited_category_referred_must_name_the_crisis_whose_resources_are_sent() -> None:
    with pytest.raises(ProfileError, match=r"categories\.gambling\.referral: gambling with action refer needs"):
        _load(gambling={"action": "refer"})


CRISIS = KeywordDetector({"end my life": "crisis_self_harm", "dosage": "domain_medical"})


@pytest.mark.parametrize("mode", ["refer", "refer_and_continue"])
@pytest.mark.parametrize("overrides", [True, False])
def test_a_crisis_category_set_to_block_still_sends_its_referral(mode: str, overrides: bool) -> None:
    profile = {
        "crisis_mode": mode,
        "crisis_overrides_block": overrides,
        "categories": {"crisis_self_harm": {"action": "block"}},
    }
    d = guard_with(CRISIS, profile=profile).check("I want to end my life", locale="en-US")
    assert d.referral is not None and "988" in d.referral
    if d.action is Action.BLOCK:  # the refusal starts with the referral and says nothing of "triage"
        assert d.refusal is not None and d.refusal.startswith(d.referral) and "triage" not in d.refusal
    else:
        assert d.action is Action.REFER


def test_under_refer_and_continue_a_referred_request_keeps_the_disclaimer_of_its_domain() -> None:
    guard = guard_with(CRISIS, profile={"crisis_mode": "refer_and_continue"})
    d = guard.check("what dosage is safe, some days I want to end my life", locale="en-US")
    assert d.action is Action.REFER and d.referral is not None
    assert d.disclaimer_categories == ("domain_medical",) and d.disclaimers


def test_under_refer_a_referred_request_carries_no_disclaimer_since_no_answer_follows() -> None:
    d = guard_with(CRISIS).check("what dosage is safe, some days I want to end my life", locale="en-US")
    assert d.action is Action.REFER and d.disclaimers == ()


def test_a_blocked_domain_gets_a_refusal_of_its_own_not_its_clause() -> None:
    guard = guard_with(
        KeywordDetector({"headline": "domain_news"}), profile={"categories": {"domain_news": {"action": "block"}}}
    )
    d = guard.check("summarise today's headline")
    assert d.action is Action.BLOCK and d.refusal is not None
    assert "news" in d.refusal and "disclaimer required" not in d.refusal


def test_a_crisis_category_set_to_block_is_refused_with_the_referral_first_under_the_default_settings() -> None:
    d = guard_with(CRISIS, profile={"categories": {"crisis_self_harm": {"action": "block"}}}).check(
        "I want to end my life", locale="en-US"
    )
    assert d.action is Action.BLOCK and d.referral is not None
    assert d.refusal is not None and d.refusal.startswith(d.referral)


def test_a_guard_given_a_language_detecting_instance_may_block_unsupported_languages() -> None:
    from guardrails.detectors.base import BaseDetector, DetectContext
    from guardrails.types import Finding

    class German(BaseDetector):
        name = "lang"
        categories = ()
        detects_language = True

        def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
            return [Finding(self.name, None, 0.99, label="language:de")] if "Brot" in text else []

    guard = guard_with(CRISIS, German(), profile={"unsupported_language": "block"})
    assert guard.check("Wie backe ich Brot?").action is Action.BLOCK


def test_a_guard_given_instances_none_of_which_detects_the_language_refuses_blocking_unsupported_ones() -> None:
    import pytest as _pytest

    from guardrails.errors import ProfileError

    with _pytest.raises(ProfileError, match="unsupported_language: block needs language detection"):
        guard_with(CRISIS, profile={"unsupported_language": "block"})
