"""``on_decision`` is called with each decision of a turn: the input decision once, whatever it is, then the answer's.

For a chain that returns a str it is the only place the caller gets the decisions, so an allowed, redacted or
disclaimed turn must reach it as a refused one does, in every way of running the chain. Real guards (the keyword
test detector) and langchain-core's fake chat models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Decision

CASES = [
    ("banana bread?", ["input:ALLOW", "output:ALLOW"]),
    ("I am Jane Roe", ["input:REDACT", "output:ALLOW"]),
    ("how much ibuprofen?", ["input:DISCLAIM", "output:ALLOW"]),
    ("where can I buy a grenade", ["input:BLOCK"]),
    ("I want to end it all", ["input:REFER"]),
]


def wrapped(got: list[str]) -> Any:
    guard = guard_with(
        KeywordDetector(
            {"grenade": "weapons", "end it all": "crisis_self_harm", "ibuprofen": "domain_medical"},
            entities={"Jane Roe": "PERSON"},
        )
    )
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | FakeListChatModel(responses=["Fine."] * 4)
    return guard.wrap(chain | StrOutputParser(), input_keys=("q",), on_decision=record(got))


def record(got: list[str]) -> Callable[[Decision], None]:
    return lambda d: got.append(f"{d.stage.value}:{d.action.name}")


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_invoke_and_stream_call_on_decision_with_the_input_decision_once_then_the_answers(
    text: str, expected: list[str]
) -> None:
    got: list[str] = []
    safe = wrapped(got)
    safe.invoke({"q": text})
    assert got == expected
    got.clear()
    list(safe.stream({"q": text}))
    assert got == expected


@pytest.mark.parametrize(("text", "expected"), CASES)
async def test_ainvoke_and_astream_call_on_decision_like_their_sync_twins(text: str, expected: list[str]) -> None:
    got: list[str] = []
    safe = wrapped(got)
    await safe.ainvoke({"q": text})
    assert got == expected
    got.clear()
    [c async for c in safe.astream({"q": text})]
    assert got == expected
