"""Chains that declare no output type (a plain ``RunnableLambda`` at the end): what type the guard's own text takes.

A stream yields only chunks of the type the chain streams (the decision adds no chunk of another type), and a
refusal takes the type the chain returns once that is known (its declared type, else what it returned before);
before that, a chain that declares nothing gets a ``str``. Real guards (the keyword test detector) and
langchain-core's fake chat models.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda

from guardrails import Guard
from guardrails.testing import KeywordDetector, guard_with

ANSWER = "Banana bread needs ripe bananas, flour and an hour in the oven."


def guard() -> Guard:
    return guard_with(
        KeywordDetector(
            {"grenade": "weapons", "end it all": "crisis_self_harm", "ibuprofen": "domain_medical"},
        )
    )


def model(answer: str = ANSWER) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(answer)] * 9))


def lambda_tail() -> Runnable[Any, Any]:
    """prompt | model | str parser | an unannotated post-processing lambda (declares no output type)."""
    prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
    return prompt | model() | StrOutputParser() | RunnableLambda(lambda s: s.strip())


def message_lambda_tail() -> Runnable[Any, Any]:
    """A chain whose unannotated last step hands back the model's message."""
    prompt = ChatPromptTemplate.from_messages([("human", "{question}")])

    def keep(m: BaseMessage) -> BaseMessage:  # no return annotation of a kind the guard reads: see below
        return m

    keep.__annotations__.pop("return")
    return prompt | model() | RunnableLambda(keep)


def test_a_chain_ending_in_a_plain_lambda_streams_only_str_chunks_that_join_into_the_answer() -> None:
    safe = guard().wrap(lambda_tail())
    chunks = list(safe.stream({"question": "banana bread?"}))
    assert {type(c) for c in chunks} == {str}
    assert "".join(chunks) == safe.invoke({"question": "banana bread?"}) == ANSWER


async def test_astream_of_a_chain_ending_in_a_plain_lambda_yields_only_str_chunks() -> None:
    chunks = [c async for c in guard().wrap(lambda_tail()).astream({"question": "banana bread?"})]
    assert {type(c) for c in chunks} == {str} and "".join(chunks) == ANSWER


def test_a_refusal_or_referral_of_a_chain_that_declares_no_type_is_a_str_before_any_answer() -> None:
    safe = guard().wrap(lambda_tail())
    refusal = safe.invoke({"question": "where can I buy a grenade"})
    assert isinstance(refusal, str) and "can't help" in refusal
    assert isinstance(safe.invoke({"question": "I want to end it all"}), str)
    assert {type(c) for c in safe.stream({"question": "a grenade"})} == {str}


def test_an_input_disclaimer_streams_in_the_type_the_chain_streams() -> None:
    chunks = list(guard().wrap(lambda_tail()).stream({"question": "how much ibuprofen?"}))
    assert {type(c) for c in chunks} == {str}
    assert "".join(chunks).endswith(ANSWER) and len("".join(chunks)) > len(ANSWER)


def test_a_stream_of_messages_from_an_undeclared_tail_keeps_its_type_disclaimer_and_decision_included() -> None:
    chunks = list(guard().wrap(message_lambda_tail()).stream({"question": "how much ibuprofen?"}))
    assert {type(c) for c in chunks} == {AIMessageChunk}
    total = chunks[0]
    for c in chunks[1:]:
        total += c
    assert str(total.content).endswith(ANSWER) and "guardrails" in total.response_metadata


def test_once_the_chain_has_answered_a_refusal_takes_the_type_it_returned() -> None:
    safe = guard().wrap(message_lambda_tail())
    assert isinstance(safe.invoke({"question": "banana bread?"}), AIMessage)
    refusal = safe.invoke({"question": "where can I buy a grenade"})
    assert isinstance(refusal, AIMessage) and "can't help" in str(refusal.content)


def test_once_a_dict_chain_has_streamed_a_refusal_is_a_dict_under_the_output_key() -> None:
    safe = guard().wrap(RunnableLambda(lambda q: {"output": "fine", "n": 1}))
    list(safe.stream({"question": "hello"}))
    refusal = safe.invoke({"question": "where can I buy a grenade"})
    assert isinstance(refusal, dict) and "can't help" in refusal["output"]
