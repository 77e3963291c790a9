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
