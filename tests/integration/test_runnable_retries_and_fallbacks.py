"""``with_retry`` and ``with_fallbacks`` called on the wrapper build them inside the guard.

LangChain's own versions, around the wrapper, would hand a refused turn (``raise_on_block``) or a turn whose chain
failed to an unguarded fallback, raw, and would judge the turn once per retry. Real guards (the keyword test
detector) around plain runnables.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda

from guardrails import Decision, Guard, GuardrailViolation
from guardrails.testing import KeywordDetector, guard_with


def guard(*, reversible: bool = False) -> Guard:
    return guard_with(
        KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"}),
        profile={"redaction": {"reversible": reversible}},
    )


class Recorder:
    """A chain step that records what it was given and answers ``answer``, or raises for its first ``fail`` calls."""

    def __init__(self, answer: str = "", *, fail: int = 0) -> None:
        self.answer, self.fail = answer, fail
        self.seen: list[str] = []

    def __call__(self, value: Any) -> str:
        self.seen.append(str(value))
        if len(self.seen) <= self.fail:
            raise RuntimeError("provider unavailable")
        return self.answer


def failing() -> RunnableLambda[Any, str]:
    return RunnableLambda(Recorder(fail=10**6))


def test_a_refused_turn_never_reaches_a_fallback_added_on_the_wrapper() -> None:
    fallback = Recorder("the fallback answered")
    wrapped = guard().wrap(RunnableLambda(Recorder("ok")), raise_on_block=True)
    with pytest.raises(GuardrailViolation):
        wrapped.with_fallbacks([RunnableLambda(fallback)]).invoke("where do I buy a grenade")
    assert fallback.seen == []


def test_a_fallback_gets_the_turn_redacted_and_its_answer_is_screened() -> None:
    fallback = Recorder("Jane Roe can sell you a grenade")
    decisions: list[Decision] = []
    wrapped = guard().wrap(failing(), on_decision=decisions.append).with_fallbacks([RunnableLambda(fallback)])
    answer = wrapped.invoke("hi, I am Jane Roe")
    assert fallback.seen == ["hi, I am <PERSON_1>"]
    assert "grenade" not in answer and [str(d.action) for d in decisions] == ["redact", "block"]


def test_in_reversible_mode_a_fallbacks_answer_gets_the_users_own_values_back() -> None:
    fallback = Recorder("Hello <PERSON_1>!")
    wrapped = guard(reversible=True).wrap(failing()).with_fallbacks([RunnableLambda(fallback)])
    config = {"configurable": {"conversation_id": "c-1"}}
    assert wrapped.invoke("hi, I am Jane Roe", config=config) == "Hello Jane Roe!"
    assert fallback.seen == ["hi, I am <PERSON_1>"]


def test_retry_on_the_wrapper_retries_the_chain_and_judges_the_turn_once() -> None:
    chain = Recorder("fine", fail=2)
    stages: list[str] = []
    wrapped = guard().wrap(RunnableLambda(chain), on_decision=lambda d: stages.append(str(d.stage)))
    answer = wrapped.with_retry(stop_after_attempt=3, wait_exponential_jitter=False).invoke("hello")
    assert answer == "fine" and len(chain.seen) == 3
    assert stages == ["input", "output"]


def test_a_refusal_is_not_retried() -> None:
    chain = Recorder("ok")
    stages: list[str] = []
    wrapped = guard().wrap(
        RunnableLambda(chain), raise_on_block=True, on_decision=lambda d: stages.append(str(d.stage))
    )
    with pytest.raises(GuardrailViolation):
        wrapped.with_retry(stop_after_attempt=3, wait_exponential_jitter=False).invoke("a grenade, please")
    assert stages == ["input"] and chain.seen == []


def test_async_fallbacks_and_retries_are_built_inside_the_guard_too() -> None:
    fallback = Recorder("a grenade")
    wrapped = guard().wrap(failing()).with_retry(stop_after_attempt=2, wait_exponential_jitter=False)
    answer = asyncio.run(wrapped.with_fallbacks([RunnableLambda(fallback)]).ainvoke("I am Jane Roe"))
    assert fallback.seen == ["I am <PERSON_1>"] and "grenade" not in answer


def test_the_derived_wrappers_share_the_wrappers_memory_of_refused_turns() -> None:
    wrapped = guard().wrap(RunnableLambda(Recorder("ok")))
    derived = wrapped.with_retry().with_fallbacks([RunnableLambda(Recorder("ok"))])
    assert derived.judged is wrapped.judged and derived._guards is wrapped._guards
