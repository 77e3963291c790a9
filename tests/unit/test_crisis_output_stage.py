"""A crisis category counts on the user's request only: a referral never replaces a model's answer."""

from __future__ import annotations

from typing import Any

import pytest

from guardrails.errors import ProfileError
from guardrails.profiles import validate_profile_mapping


def _profile(**categories: Any) -> dict[str, Any]:
    return {"name": "p", "extends": "general", "categories": categories}


@pytest.mark.parametrize(
    "rule",
    [{"stages": ["input", "output"]}, {"stages": ["output"], "action": "refer"}],
    ids=["default-action", "refer"],
)
def test_a_crisis_category_referred_on_the_output_stage_is_refused_at_load(rule: dict[str, Any]) -> None:
    with pytest.raises(ProfileError, match=r"categories\.crisis_self_harm\.stages: .*remove output"):
        validate_profile_mapping(_profile(crisis_self_harm=rule))


def test_a_crisis_category_on_the_input_stage_or_acting_otherwise_on_the_output_is_accepted() -> None:
    profile = validate_profile_mapping(
        _profile(
            crisis_self_harm={"stages": ["input"]}, crisis_danger={"stages": ["input", "output"], "action": "block"}
        )
    )
    assert profile.categories["crisis_danger"].action == "block"


def test_with_output_as_an_answer_that_reads_as_a_self_harm_crisis_counts_as_self_harm_promotion() -> None:
    from guardrails.policy import Policy
    from guardrails.types import Action, Finding, Stage

    profile = validate_profile_mapping(_profile(crisis_self_harm={"output_as": "self_harm_promotion"}))
    policy = Policy(profile=profile, taxonomy=profile.taxonomy())
    found = [Finding(detector="semantic", category="crisis_self_harm", score=0.9)]
    answer = policy.decide(stage=Stage.OUTPUT, findings=found)
    assert answer.action is Action.BLOCK and answer.blocking == ("self_harm_promotion",)
    assert answer.crisis == ("crisis_self_harm",)  # blocked with the self-harm referral, as a promotion is
    request = policy.decide(stage=Stage.INPUT, findings=found)
    assert request.action is Action.REFER and request.categories == ("crisis_self_harm",)
    low = policy.decide(
        stage=Stage.OUTPUT, findings=[Finding(detector="semantic", category="crisis_self_harm", score=0.3)]
    )
    assert low.action is Action.ALLOW


@pytest.mark.parametrize(
    "rule", [{}, {"output_as": "self_harm_promotion", "stages": []}], ids=["default", "stages-off"]
)
def test_without_output_as_or_with_the_crisis_turned_off_a_self_harm_crisis_on_the_output_counts_for_nothing(
    rule: dict[str, Any],
) -> None:
    from guardrails.policy import Policy
    from guardrails.types import Action, Finding, Stage

    profile = validate_profile_mapping(_profile(crisis_self_harm=rule) if rule else _profile())
    policy = Policy(profile=profile, taxonomy=profile.taxonomy())
    found = [Finding(detector="semantic", category="crisis_self_harm", score=0.9)]
    assert policy.decide(stage=Stage.OUTPUT, findings=found).action is Action.ALLOW


@pytest.mark.parametrize(
    ("category", "output_as"),
    [("weapons", "self_harm_promotion"), ("crisis_self_harm", "crisis_danger"), ("crisis_danger", "no_such_id")],
)
def test_output_as_names_a_prohibited_id_for_a_crisis_category_or_the_profile_is_refused(
    category: str, output_as: str
) -> None:
    with pytest.raises(
        ProfileError, match=rf"categories\.{category}\.output_as: output_as is for a crisis .*{output_as}"
    ):
        validate_profile_mapping(_profile(**{category: {"output_as": output_as}}))
