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
