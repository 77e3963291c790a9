from __future__ import annotations

import json

import pytest

from guardrails import Action, Decision, Finding, Stage


def test_actions_are_ordered_by_severity() -> None:
    assert Action.ALLOW < Action.DISCLAIM < Action.REDACT < Action.REFER < Action.BLOCK
    assert max([Action.DISCLAIM, Action.BLOCK, Action.REFER]) is Action.BLOCK


@pytest.mark.parametrize("name", ["block", "BLOCK", " Refer "], ids=["lower", "upper", "padded"])
def test_action_parse_accepts_names_case_insensitively(name: str) -> None:
    assert Action.parse(name) in (Action.BLOCK, Action.REFER)


def test_action_parse_names_the_bad_value() -> None:
    with pytest.raises(ValueError, match="'explode'"):
        Action.parse("explode")


def test_stage_parse_rejects_unknown_stage_naming_it() -> None:
    with pytest.raises(ValueError, match="'middle'"):
        Stage.parse("middle")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"score": 1.5}, "within"),
        ({"score": 0.5, "start": 3}, "both"),
        ({"score": 0.5, "start": 5, "end": 2}, "valid span"),
    ],
    ids=["score-above-one", "half-span", "reversed-span"],
)
def test_finding_rejects_invalid_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Finding("d", "weapons", **kwargs)  # type: ignore[arg-type]


def test_decision_to_dict_is_json_and_holds_no_text() -> None:
    secret = "my card is 4111 1111 1111 1111"
    d = Decision(
        action=Action.REDACT,
        stage=Stage.INPUT,
        text="my card is <CREDIT_CARD_1>",
        findings=(Finding("pii", None, 0.9, 11, 30, label="CREDIT_CARD"),),
        text_hash="abc",
    )
    dumped = json.dumps(d.to_dict())
    assert "4111" not in dumped and "my card" not in dumped and secret not in dumped
    assert d.to_dict()["findings"][0] == {
        "detector": "pii",
        "category": None,
        "score": 0.9,
        "label": "CREDIT_CARD",
        "start": 11,
        "end": 30,
    }
    assert not d.blocked and d.served
