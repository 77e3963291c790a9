"""Detector instances given to a Guard beside its profile: checked against the profile as the loader checks the
detectors it names, and each text of a batch failing alone."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from guardrails import Action, Guard
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.errors import ProfileError
from guardrails.profiles import validate_profile_mapping
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Finding


class _Judge(BaseDetector):
    """Stands for the LLM judge: may be sent only redacted text."""

    name: ClassVar[str] = "judge"
    needs_redacted_text: ClassVar[bool] = True
    categories = ("weapons",)

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return []


def test_a_detector_that_needs_redacted_text_with_nothing_redacting_its_stage_is_refused() -> None:
    with pytest.raises(ProfileError, match="only ever sent redacted text, but no detector there redacts"):
        guard_with(_Judge(), KeywordDetector({"bombword": "weapons"}))
    redactor = KeywordDetector({"bombword": "weapons"}, entities={"jane@example.com": "EMAIL_ADDRESS"})
    guard_with(_Judge(), redactor)  # with one that redacts, accepted


def test_the_profiles_llm_judge_with_pii_off_is_refused_even_beside_an_unrelated_instance() -> None:
    from guardrails.profiles import DetectorSpec

    general = validate_profile_mapping({"name": "q", "extends": "general"})
    judge = DetectorSpec(stages=("input",), options={"model": "m:x"})
    judge_on = general.model_copy(
        update={"detectors": {**general.detectors, "pii": DetectorSpec(enabled=False), "llm_judge": judge}}
    )
    with pytest.raises(ProfileError, match="no detector there redacts"):
        Guard(judge_on, detectors={"keyword": KeywordDetector({"x": "weapons"})})


def test_an_instance_given_under_a_name_the_profile_configures_must_carry_that_name() -> None:
    profile = validate_profile_mapping({"name": "p", "detectors": {"pii": {"on_error": "block"}}})
    with pytest.raises(TypeError, match="is named 'keyword', but the profile's settings for 'pii'"):
        Guard(profile, detectors={"pii": KeywordDetector({"x": "weapons"})})
    Guard(profile, detectors={"mine": KeywordDetector({"x": "weapons"})})  # a key the profile does not configure


def test_an_instance_reporting_a_category_outside_the_taxonomy_is_refused() -> None:
    with pytest.raises(ProfileError, match="reports category 'weapon', which is not in the profile's taxonomy"):
        guard_with(KeywordDetector({"bombword": "weapon"}))


class _OddOut(BaseDetector):
    """Returns no list of findings for one text only."""

    name: ClassVar[str] = "odd"
    categories = ("weapons",)

    def detect(self, text: str, ctx: DetectContext) -> Any:
        return {"not": "findings"} if "weird" in text else []


@pytest.mark.parametrize("batch", ["check_batch", "acheck_batch"])
def test_in_a_batch_only_the_text_whose_output_is_invalid_fails(batch: str) -> None:
    import asyncio

    guard = guard_with(_OddOut(), KeywordDetector({"grenade": "weapons"}))
    texts = ["hello", "weird text", "a grenade please"]
    run = getattr(guard, batch)
    decisions = asyncio.run(run(texts)) if batch.startswith("a") else run(texts)
    assert [d.action for d in decisions] == [Action.ALLOW, Action.BLOCK, Action.BLOCK]
    assert [f.detector for f in decisions[1].failures] == ["odd"] and decisions[0].failures == ()
    assert decisions[2].failures == () and decisions[2].categories == ("weapons",)


def test_two_instances_of_one_class_both_run_in_a_batch() -> None:
    weapons = KeywordDetector({"grenade": "weapons"})
    drugs = KeywordDetector({"heroin": "illegal_activity"})
    guard = Guard(guard_with().profile, detectors={"weapons_kw": weapons, "drugs_kw": drugs})
    texts = ["where to buy heroin", "where to buy a grenade"]
    assert [d.blocked for d in guard.check_batch(texts)] == [True, True]
    assert [guard.check(t).blocked for t in texts] == [True, True]
