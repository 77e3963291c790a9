from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from guardrails import GuardrailsCallbackHandler, GuardrailViolation
from guardrails.audit import AuditLog
from guardrails.testing import KeywordDetector, guard_with

CANARY = "zebra-canary-11873"


def handler(tmp_path: Path) -> GuardrailsCallbackHandler:
    guard = guard_with(KeywordDetector({"grenade": "weapons", "end it all": "crisis_self_harm"}))
    return GuardrailsCallbackHandler(guard, audit=AuditLog(path=tmp_path / "audit.jsonl"))


def test_blocked_prompt_stops_the_model_call(tmp_path: Path) -> None:
    h = handler(tmp_path)
    model = GenericFakeChatModel(messages=iter([AIMessage(content="never")]))
    with pytest.raises(GuardrailViolation) as info:
        model.invoke([HumanMessage(f"grenade {CANARY}")], config={"callbacks": [h]})
    assert info.value.decision.categories == ("weapons",)


def test_crisis_prompt_also_stops_the_call(tmp_path: Path) -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="never")]))
    with pytest.raises(GuardrailViolation):
        model.invoke("i want to end it all", config={"callbacks": [handler(tmp_path)]})


def test_allowed_call_passes_and_output_is_screened_with_one_audit_record_each(tmp_path: Path) -> None:
    h = handler(tmp_path)
    model = GenericFakeChatModel(messages=iter([AIMessage(content=f"hello {CANARY}")]))
    assert model.invoke("hi", config={"callbacks": [h]}).content.startswith("hello")
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in records] == ["input", "output"]
    assert CANARY not in (tmp_path / "audit.jsonl").read_text()


def test_blocked_output_raises_after_the_call(tmp_path: Path) -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="buy a grenade")]))
    with pytest.raises(GuardrailViolation) as info:
        model.invoke("hi", config={"callbacks": [handler(tmp_path)]})
    assert str(info.value.decision.stage) == "output"


def test_a_tool_call_in_the_answer_is_screened_so_a_blocked_one_never_reaches_the_tool(tmp_path: Path) -> None:
    call = {"name": "shop", "args": {"item": "grenade", "qty": 2}, "id": "call-1", "type": "tool_call"}
    model = GenericFakeChatModel(messages=iter([AIMessage(content="", tool_calls=[call])]))
    with pytest.raises(GuardrailViolation) as info:
        model.invoke("hi", config={"callbacks": [handler(tmp_path)]})
    assert str(info.value.decision.stage) == "output"
    assert info.value.decision.categories == ("weapons",)


def test_handler_needs_a_guard() -> None:
    with pytest.raises(TypeError):
        GuardrailsCallbackHandler("general")  # type: ignore[arg-type]


def _referral(h: GuardrailsCallbackHandler, config: dict[str, object]) -> str:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="never")]))
    with pytest.raises(GuardrailViolation) as info:
        model.invoke("i want to end it all", config={**config, "callbacks": [h]})  # type: ignore[arg-type]
    return info.value.decision.response_text() or ""


def test_a_crisis_referral_follows_the_locale_of_the_handler_or_of_the_request(tmp_path: Path) -> None:
    uk_line = "116 123"  # Samaritans, in configs/resources
    assert uk_line not in _referral(handler(tmp_path), {})
    assert uk_line in _referral(handler(tmp_path), {"metadata": {"locale": "en-GB"}})
    guard = guard_with(KeywordDetector({"end it all": "crisis_self_harm"}))
    assert uk_line in _referral(GuardrailsCallbackHandler(guard, locale="en-GB"), {})


def test_each_decision_reaches_on_decision_and_no_list_of_them_is_kept(tmp_path: Path) -> None:
    seen: list[str] = []
    guard = guard_with(KeywordDetector({"grenade": "weapons"}))
    h = GuardrailsCallbackHandler(
        guard, audit=AuditLog(path=tmp_path / "a.jsonl"), on_decision=lambda d: seen.append(str(d.stage))
    )
    GenericFakeChatModel(messages=iter([AIMessage(content="hello")])).invoke("hi", config={"callbacks": [h]})
    assert seen == ["input", "output"]
    assert not hasattr(h, "decisions")  # a shared handler must not hoard users' texts


def test_an_audit_log_next_to_the_guards_own_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    guard = guard_with(
        KeywordDetector({"grenade": "weapons"}), profile={"audit": {"enabled": True, "path": str(tmp_path / "g.jsonl")}}
    )
    with pytest.raises(ValueError, match="already writes its own audit log"):
        GuardrailsCallbackHandler(guard, audit=AuditLog(path=tmp_path / "h.jsonl"))
    with pytest.raises(ValueError, match="locale must be"):
        GuardrailsCallbackHandler(guard_with(KeywordDetector({})), locale=44)  # type: ignore[arg-type]
