"""A wrapped tool-calling model driven by an agent loop: one user turn, several model calls.

The loop calls the wrapper with the same user turn followed by the model's tool calls and their results. That
turn is judged and recorded once (the later steps reuse its decision, kept under a salted hash), each answer is
judged, and the disclaimers and a ``refer_and_continue`` referral go into the final answer (the one without tool
calls), never into a tool-calling step the model would read again. Real guards (the keyword test detector) and
langchain-core's fake chat models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGenerationChunk

from guardrails import Guard
from guardrails.audit import AuditLog
from guardrails.integrations.langchain.turn import NO_TRIAGE_INSTRUCTION
from guardrails.testing import KeywordDetector, guard_with
from tests.helpers.audit import MemoryAudit
from tests.helpers.spy import SpyChatModel

FINAL = "Mash three bananas and bake for an hour."


class ToolStepModel(SpyChatModel):
    """Answers with each of its messages in turn; streamed, a message's text comes first, then its tool calls."""

    def _stream(self, messages: Any, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        type(self).calls.append(messages)
        step = next(self.messages)
        assert isinstance(step, AIMessage)
        if step.content:
            yield ChatGenerationChunk(message=AIMessageChunk(content=step.content))
        for i, call in enumerate(step.tool_calls):
            part = {"name": call["name"], "args": json.dumps(call["args"]), "id": call["id"], "index": i}
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[part]))


def steps(final: str = FINAL) -> ToolStepModel:
    SpyChatModel.calls = []
    return ToolStepModel(
        messages=iter(
            [
                AIMessage("", tool_calls=[{"name": "search", "args": {"q": "banana bread"}, "id": "a"}]),
                AIMessage("", tool_calls=[{"name": "fetch", "args": {"url": "https://example.org/r"}, "id": "b"}]),
                AIMessage(final),
            ]
        )
    )


def guard(audit: AuditLog | None = None, **profile: Any) -> Guard:
    detector = KeywordDetector(
        {"grenade": "weapons", "ibuprofen": "domain_medical", "end it all": "crisis_self_harm"},
        entities={"Jane Roe": "PERSON"},
    )
    return guard_with(detector, profile=profile or None, audit=audit)


def run_loop(safe: Any, user: str, config: dict[str, Any], *, streamed: bool) -> list[BaseMessage]:
    """The agent loop: call the model with the conversation until it answers without a tool call."""
    messages: list[BaseMessage] = [HumanMessage(user)]
    for _ in range(5):
        if streamed:
            chunks = list(safe.stream(messages, config=config))
            answer = chunks[0]
            for c in chunks[1:]:
                answer = answer + c
        else:
            answer = safe.invoke(messages, config=config)
        messages.append(answer)
        if not answer.tool_calls:
            break
        messages.append(ToolMessage("result text", tool_call_id=answer.tool_calls[0]["id"]))
    return messages


def ai_texts(messages: list[BaseMessage]) -> list[tuple[bool, str]]:
    return [(bool(m.tool_calls), str(m.content)) for m in messages if isinstance(m, AIMessage)]


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_an_agent_loop_records_its_user_turn_once_and_each_answer(streamed: bool) -> None:
    audit = MemoryAudit()
    seen: list[str] = []
    safe = guard(audit).wrap(steps(), on_decision=lambda d: seen.append(d.stage.value))
    user = "Find me a banana bread recipe; I am Jane Roe"
    messages = run_loop(safe, user, {"configurable": {"conversation_id": "loop-1"}}, streamed=streamed)
    assert len(SpyChatModel.calls) == 3 and str(messages[-1].content) == FINAL
    assert [r["stage"] for r in audit.records].count("input") == 1
    assert [r["stage"] for r in audit.records].count("output") == 3
    assert seen.count("input") == 1
    assert all("Jane Roe" not in str(m.content) for call in SpyChatModel.calls for m in call)


def test_a_new_user_turn_with_the_same_words_is_judged_again() -> None:
    audit = MemoryAudit()
    safe = guard(audit).wrap(steps())
    config: Any = {"configurable": {"conversation_id": "again"}}
    safe.invoke([HumanMessage("hello")], config=config)
    safe.invoke([HumanMessage("hello")], config=config)
    assert [r["stage"] for r in audit.records].count("input") == 2


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_the_medical_disclaimer_goes_only_into_the_final_answer_of_an_agent_loop(streamed: bool) -> None:
    g = guard()
    (disclaimer,) = g.select_disclaimers(["domain_medical"], conversation_id=None, locale=None)
    messages = run_loop(g.wrap(steps()), "How much ibuprofen for a headache?", {}, streamed=streamed)
    answers = ai_texts(messages)
    assert [calls for calls, _ in answers] == [True, True, False]
    assert all(disclaimer not in text for calls, text in answers if calls)
    assert disclaimer in answers[-1][1] and FINAL in answers[-1][1]
    assert all(disclaimer not in str(m.content) for call in SpyChatModel.calls for m in call)


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_a_refer_and_continue_referral_goes_only_into_the_final_answer_of_an_agent_loop(streamed: bool) -> None:
    g = guard(crisis_mode="refer_and_continue")
    referral = g.referral_for(["crisis_self_harm"], locale=None)
    assert referral
    final = "I'm here with you."
    messages = run_loop(g.wrap(steps(final)), "I want to end it all", {}, streamed=streamed)
    answers = ai_texts(messages)
    assert [referral in text for _, text in answers] == [False, False, True]
    assert answers[-1][1].startswith(referral) and answers[-1][1].endswith(final)
    for call in SpyChatModel.calls:  # every step of the turn still runs under the no-triage instruction
        assert isinstance(call[0], SystemMessage) and call[0].content == NO_TRIAGE_INSTRUCTION
        assert not any(referral in str(m.content) for m in call)
