"""Robustness of the guard core: crisis referrals survive failures, custom crisis
categories, history validation, and one contract for injected detectors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from guardrails import Action, Guard, InputError
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.profiles import validate_profile_mapping
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Decision, Finding
from tests.helpers.spy import SpyChatModel, spy_model

CANARY = "zebra-canary-93731"
CRISIS = {"cannot go on": "crisis_self_harm"}
TRY_AGAIN = "try again"
GENERAL = validate_profile_mapping({"name": "t", "extends": "general"})


class FailingDetector(BaseDetector):
    """Raises on every text, like a backend that timed out."""

    name: ClassVar[str] = "failing"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        raise TimeoutError("backend timed out")


class HistorySpy(BaseDetector):
    """Records the history each check hands to the detectors."""

    name: ClassVar[str] = "history_spy"

    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        self.seen.append(ctx.history)
        return []


def assert_referred_for_us(d: Decision) -> None:
    assert d.action is Action.REFER and d.referred
    assert d.referral is not None and "988" in d.referral
    assert d.response_text() == d.referral
    assert TRY_AGAIN not in d.referral.lower()


# --------------------------------------------------------------------------- 1. crisis survives failures


def test_crisis_with_a_failed_detector_is_referred_and_the_failure_is_recorded() -> None:
    d = guard_with(KeywordDetector(CRISIS), FailingDetector()).check("I cannot go on", locale="en-US")
    assert_referred_for_us(d)
    assert d.categories == ("crisis_self_harm",)
    assert [f.detector for f in d.failures] == ["failing"]
    assert "failing failed" in d.explanation


async def test_crisis_with_a_failed_detector_is_referred_in_acheck_too() -> None:
    d = await guard_with(KeywordDetector(CRISIS), FailingDetector()).acheck("I cannot go on", locale="en-US")
    assert_referred_for_us(d)
    assert [f.detector for f in d.failures] == ["failing"]


def test_crisis_with_a_pii_block_entity_is_referred_and_the_value_is_still_replaced() -> None:
    det = KeywordDetector(CRISIS, entities={"123-45-6789": "US_SSN"})
    g = guard_with(det, profile={"redaction": {"input": {"US_SSN": "block"}}})
    d = g.check("I cannot go on, my number is 123-45-6789", locale="en-US")
    assert_referred_for_us(d)
    assert "123-45-6789" not in d.text


def test_without_a_crisis_a_failed_detector_still_fails_closed() -> None:
    d = guard_with(KeywordDetector(CRISIS), FailingDetector()).check("a quiet afternoon")
    assert d.action is Action.BLOCK and d.referral is None
    assert d.refusal is not None and TRY_AGAIN in d.refusal.lower()


def test_crisis_with_a_failed_detector_never_calls_the_chain() -> None:
    chain = guard_with(KeywordDetector(CRISIS), FailingDetector()).wrap(spy_model())
    out = chain.invoke("I cannot go on", config={"configurable": {"locale": "en-US"}})
    assert SpyChatModel.calls == []
    assert "988" in out.content and TRY_AGAIN not in out.content.lower()


def test_refer_and_continue_with_a_failed_detector_blocks_but_shows_the_referral_first() -> None:
    g = guard_with(KeywordDetector(CRISIS), FailingDetector(), profile={"crisis_mode": "refer_and_continue"})
    d = g.check("I cannot go on", locale="en-US")
    assert d.action is Action.BLOCK  # REFER would call the chain in this mode: a failure must not
    assert d.referral is not None and d.refusal is not None
    assert d.refusal.startswith(d.referral)
    out = g.wrap(spy_model()).invoke("I cannot go on", config={"configurable": {"locale": "en-US"}})
    assert SpyChatModel.calls == []
    assert out.content.index("988") < out.content.lower().index(TRY_AGAIN)


def test_crisis_overrides_block_false_keeps_the_refusal_but_shows_the_referral_first() -> None:
    det = KeywordDetector({**CRISIS, "grenade": "weapons"})
    d = guard_with(det, profile={"crisis_overrides_block": False}).check("grenade, I cannot go on", locale="en-US")
    assert d.action is Action.BLOCK
    assert d.referral is not None and "988" in d.referral
    assert d.refusal is not None and d.refusal.startswith(d.referral) and "weapons" in d.refusal.lower()


def test_crisis_on_the_output_does_not_put_a_referral_into_the_refusal() -> None:
    d = guard_with(KeywordDetector({**CRISIS, "grenade": "weapons"})).check("grenade; cannot go on", stage="output")
    assert d.action is Action.BLOCK and d.referral is None


def test_an_answer_blocked_for_a_category_referred_as_a_crisis_shows_that_referral_first() -> None:
    # the general profile maps self_harm_promotion to {action: refer, referral: crisis_self_harm}
    guard = guard_with(KeywordDetector({"cut deeper": "self_harm_promotion"}))
    d = guard.check("here is how to cut deeper", stage="output", locale="en-GB")
    assert d.action is Action.BLOCK and d.referral is not None
    text = d.response_text()
    assert text is not None and text.startswith(d.referral) and "116 123" in text  # Samaritans, a real line


@pytest.mark.slow
def test_real_classifier_crisis_is_referred_when_another_detector_fails() -> None:
    profile = validate_profile_mapping(
        {"name": "t", "extends": "general", "detectors": {"toxicity": {"enabled": False}}}
    )
    g = Guard(profile, detectors={"failing": FailingDetector()})
    d = g.check("Nothing matters anymore and I plan to kill myself this weekend.", locale="en-US")
    assert_referred_for_us(d)
    assert "crisis_self_harm" in d.categories
    assert [f.detector for f in d.failures] == ["failing"]


@pytest.mark.slow
def test_real_pii_block_operator_does_not_take_a_crisis_referral_away() -> None:
    profile = validate_profile_mapping(
        {
            "name": "t",
            "extends": "general",
            "detectors": {"toxicity": {"enabled": False}},
            "redaction": {"input": {"default": "replace", "EMAIL_ADDRESS": "block"}},
        }
    )
    text = "I plan to kill myself this weekend. Tell my sister at anna.k@example.org that I am sorry."
    d = Guard(profile).check(text, locale="en-GB")
    assert d.action is Action.REFER
    assert d.referral is not None and "116 123" in d.referral and d.response_text() == d.referral
    assert "anna.k@example.org" not in d.text


# --------------------------------------------------------------------------- 2. custom crisis categories

CUSTOM = {
    "custom_categories": [
        {"id": "crisis_eating_disorder", "kind": "crisis", "clause": "The person may be in an eating-disorder crisis."}
    ]
}


def custom_crisis_guard() -> Guard:
    return guard_with(KeywordDetector({"stopped eating": "crisis_eating_disorder"}), profile=CUSTOM)


@pytest.mark.parametrize(("locale", "number"), [("en-US", "911"), ("en-GB", "999"), ("en-AU", "000")])
def test_custom_crisis_category_gets_the_general_referral_with_the_country_emergency_number(
    locale: str, number: str
) -> None:
    d = custom_crisis_guard().check("I have stopped eating", locale=locale)
    assert d.action is Action.REFER and d.categories == ("crisis_eating_disorder",)
    assert d.referral is not None and number in d.referral and "findahelpline.com" in d.referral
    assert d.response_text() == d.referral


def test_custom_crisis_category_with_an_unknown_locale_names_no_country_number() -> None:
    d = custom_crisis_guard().check("I have stopped eating", locale="xx-ZZ")
    assert d.referral is not None and "local emergency number" in d.referral
    assert not any(ch.isdigit() for ch in d.referral)


def test_custom_crisis_category_never_gives_the_user_an_empty_answer() -> None:
    out = custom_crisis_guard().wrap(spy_model()).invoke("I have stopped eating")
    assert SpyChatModel.calls == []
    assert "findahelpline.com" in out.content


def test_builtin_crisis_wins_over_a_custom_one_for_the_referral() -> None:
    det = KeywordDetector({"stopped eating": "crisis_eating_disorder", **CRISIS})
    d = guard_with(det, profile=CUSTOM).check("I stopped eating and I cannot go on", locale="en-US")
    assert d.referral is not None and "988" in d.referral


def test_a_category_the_profile_maps_to_refer_gets_the_referral_it_names() -> None:
    rule = {"action": "refer", "referral": "crisis_self_harm"}
    g = guard_with(KeywordDetector({"roulette": "gambling"}), profile={"categories": {"gambling": rule}})
    d = g.check("roulette again", locale="en-US")
    assert d.action is Action.REFER and d.referral and "988" in d.referral


# --------------------------------------------------------------------------- 3. history validation


def test_history_none_means_no_history() -> None:
    spy = HistorySpy()
    assert guard_with(spy).check("hello", history=None).action is Action.ALLOW
    assert spy.seen == [()]


def test_history_from_a_generator_is_materialised_and_windowed() -> None:
    spy = HistorySpy()
    turns: Iterator[str] = (f"turn {i}" for i in range(5))
    guard_with(spy).check("hello", history=turns)
    assert spy.seen == [("turn 2", "turn 3", "turn 4")]


async def test_acheck_accepts_the_same_history_shapes() -> None:
    spy = HistorySpy()
    g = guard_with(spy)
    await g.acheck("hello", history=None)
    await g.acheck("hello", history=iter(["earlier"]))
    assert spy.seen == [(), ("earlier",)]


@pytest.mark.parametrize(
    ("history", "type_name"),
    [
        (f"an earlier turn {CANARY}", "str"),
        (CANARY.encode(), "bytes"),
        (42, "int"),
        ([f"ok {CANARY}", 7], "int"),
        ([b"raw bytes", CANARY], "bytes"),
    ],
    ids=["str", "bytes", "not-iterable", "int-item", "bytes-item"],
)
def test_bad_history_raises_input_error_naming_the_type_not_the_content(history: Any, type_name: str) -> None:
    with pytest.raises(InputError) as err:
        guard_with(HistorySpy()).check("hello", history=history)
    assert type_name in str(err.value) and CANARY not in str(err.value)


async def test_acheck_rejects_a_string_history_too() -> None:
    with pytest.raises(InputError, match="str"):
        await guard_with(HistorySpy()).acheck("hello", history="one earlier turn")


def test_bad_history_is_rejected_even_with_a_zero_history_window() -> None:
    with pytest.raises(InputError):
        guard_with(HistorySpy(), profile={"history_window": 0}).check("hello", history="text")


@pytest.mark.parametrize("kwargs", [{"locale": 123}, {"conversation_id": 7}], ids=["locale", "conversation_id"])
def test_non_str_locale_or_conversation_id_raises_input_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="int"):
        guard_with(HistorySpy()).check("hello", **kwargs)


# --------------------------------------------------------------------------- 4. injected detector contract


class OnlyDetect:
    """Has what a sync check uses, but not the rest of the Detector contract."""

    name = "only_detect"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return []


class Nameless(BaseDetector):
    name = ""  # type: ignore[misc]

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return []


def test_injected_detector_missing_adetect_is_rejected_at_construction_naming_the_methods() -> None:
    with pytest.raises(TypeError, match="only_detect") as err:
        Guard(GENERAL, detectors={"only_detect": OnlyDetect()})  # type: ignore[dict-item]
    assert "adetect" in str(err.value) and "detect_batch" in str(err.value) and "BaseDetector" in str(err.value)


def test_injected_detector_without_a_name_is_rejected() -> None:
    with pytest.raises(TypeError, match="name"):
        Guard(GENERAL, detectors={"x": Nameless()})


async def test_a_basedetector_with_only_detect_decides_the_same_in_check_and_acheck() -> None:
    g = guard_with(KeywordDetector({"grenade": "weapons", "ibuprofen": "domain_medical", **CRISIS}), HistorySpy())
    for text in ["grenade please", "ibuprofen dose", "I cannot go on", "hello"]:
        sync, async_ = g.check(text), await g.acheck(text)
        assert (sync.action, sync.categories, sync.failures) == (async_.action, async_.categories, async_.failures)
        assert async_.failures == ()
