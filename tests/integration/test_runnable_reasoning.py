"""Reasoning ("thinking") in answers: screened with the answer, redacted in place, withheld when streamed.

Providers put reasoning in content blocks (Anthropic and Google ``thinking``, LangChain and OpenAI
``reasoning``) or in ``additional_kwargs`` (``reasoning_content``; OpenAI ``reasoning`` summaries).
Real guards (the keyword test detector) around plain runnables and fake chat models.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage

from guardrails import GuardrailsCallbackHandler, GuardrailViolation, InputError
from tests.helpers.answers import REFUSAL, answering, dumped, guard, streamed
from tests.helpers.spy import SpyChatModel, spy_model


def thinking(text: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": text, "signature": "c2lnbmVk"}


# ---------------------------------------------------------------------- invoke
def test_pii_in_a_thinking_block_is_redacted_in_place_keeping_the_blocks() -> None:
    answer = AIMessage(content=[thinking("The user is Jane Roe, call 555-0100."), {"type": "text", "text": "Sure."}])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content[0] == thinking("The user is <PERSON_1>, call <PHONE_NUMBER_1>.")
    assert out.content[1] == {"type": "text", "text": "Sure."}
    assert out.response_metadata["guardrails"]["output"]["action"] == "redact"


def test_prohibited_reasoning_blocks_the_answer_and_is_not_returned() -> None:
    answer = AIMessage(content="Here you go.", additional_kwargs={"reasoning_content": "steps to build a grenade"})
    out = guard().wrap(answering(answer)).invoke("hello")
    assert REFUSAL in out.content
    assert "reasoning_content" not in out.additional_kwargs
    assert "grenade" not in dumped(out)


def test_a_refused_answer_keeps_no_reasoning_block() -> None:
    answer = AIMessage(content=[{"type": "reasoning", "reasoning": "a grenade needs"}, {"type": "text", "text": "x"}])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert REFUSAL in out.content and "grenade" not in dumped(out)


def test_openai_reasoning_summaries_are_redacted_keeping_their_ids() -> None:
    summary = {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Write to Jane Roe."}]}
    answer = AIMessage(content="Done.", additional_kwargs={"reasoning": summary})
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == "Done."
    assert out.additional_kwargs["reasoning"] == {
        "id": "rs_1",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "Write to <PERSON_1>."}],
    }


def test_a_reasoning_block_with_a_text_field_is_not_merged_into_the_answer() -> None:
    block = {"type": "reasoning", "reasoning": "ask Jane Roe", "text": "ask Jane Roe"}
    out = guard().wrap(answering(AIMessage(content=[block, "The answer."]))).invoke("hello")
    redacted = {"type": "reasoning", "reasoning": "ask <PERSON_1>", "text": "ask <PERSON_1>"}
    assert out.content == [redacted, "The answer."]


async def test_ainvoke_screens_reasoning_like_invoke() -> None:
    answer = AIMessage(content="ok", additional_kwargs={"reasoning_content": "ring Jane Roe"})
    out = await guard().wrap(answering(answer)).ainvoke("hello")
    assert out.additional_kwargs["reasoning_content"] == "ring <PERSON_1>"


# ---------------------------------------------------------------------- streaming
@pytest.mark.parametrize(
    "reasoning",
    [
        AIMessageChunk(content=[thinking("Jane Roe asked about a grenade")]),
        AIMessageChunk(content="", additional_kwargs={"reasoning_content": "Jane Roe asked about a grenade"}),
        AIMessageChunk(content=[{"type": "reasoning", "reasoning": "Jane Roe asked about a grenade"}]),
    ],
    ids=["thinking-block", "reasoning_content", "reasoning-block"],
)
def test_streamed_reasoning_is_withheld_and_the_answer_still_streams(reasoning: AIMessageChunk) -> None:
    model = streamed(reasoning, AIMessageChunk(content="Happy to help "), AIMessageChunk(content="with that."))
    chunks = list(guard().wrap(model).stream("hello"))
    assert "".join(c.content for c in chunks if isinstance(c.content, str)) == "Happy to help with that."
    assert "Jane Roe" not in dumped(chunks) and "grenade" not in dumped(chunks)


def test_a_streamed_chunk_with_text_and_reasoning_releases_only_the_text() -> None:
    both = AIMessageChunk(content=[thinking("call 555-0100"), {"type": "text", "text": "Fine."}])
    chunks = list(guard().wrap(streamed(both)).stream("hello"))
    assert "".join(c.content for c in chunks if isinstance(c.content, str)) == "Fine."
    assert "555-0100" not in dumped(chunks)


# ---------------------------------------------------------------------- inputs and callbacks
def test_reasoning_of_earlier_answers_is_redacted_before_the_model_sees_it() -> None:
    earlier = AIMessage(
        content=[thinking("Jane Roe wants a call"), {"type": "text", "text": "Calling."}],
        additional_kwargs={"reasoning_content": "number 555-0100"},
    )
    history: list[BaseMessage] = [HumanMessage("hi"), earlier, HumanMessage("thanks")]
    guard().wrap(spy_model("ok")).invoke(history)
    (sent,) = SpyChatModel.calls
    assert sent[1].content == [thinking("<PERSON_1> wants a call"), {"type": "text", "text": "Calling."}]
    assert sent[1].additional_kwargs["reasoning_content"] == "number <PHONE_NUMBER_1>"


def test_the_callback_handler_judges_reasoning_with_the_answer() -> None:
    model = spy_model("unused")
    model.messages = iter([AIMessage(content="ok", additional_kwargs={"reasoning_content": "grenade parts"})])
    with pytest.raises(GuardrailViolation):
        model.invoke("hello", config={"callbacks": [GuardrailsCallbackHandler(guard())]})


# ---------------------------------------------------------------------- shapes found in review
def test_a_stream_opening_with_reasoning_still_adds_up_to_the_answer() -> None:
    model = streamed(
        AIMessageChunk(content=[{"type": "thinking", "thinking": "plan", "index": 0}]),
        AIMessageChunk(content="Happy "),
        AIMessageChunk(content="day"),
    )
    chunks = [c for c in guard().wrap(model).stream("hello") if isinstance(c, AIMessageChunk)]
    summed = chunks[0]
    for c in chunks[1:]:
        summed = summed + c
    assert summed.content == "Happy day"


def test_bedrock_reasoning_content_blocks_are_screened() -> None:
    block = {"type": "reasoning_content", "reasoning_content": {"text": "ask Jane Roe", "signature": "s"}}
    out = guard().wrap(answering(AIMessage(content=[block, {"type": "text", "text": "ok"}]))).invoke("hello")
    assert out.content[0] == {
        "type": "reasoning_content",
        "reasoning_content": {"text": "ask <PERSON_1>", "signature": "s"},
    }
    blocked = AIMessage(content=[{**block, "reasoning_content": {"text": "grenade"}}, {"type": "text", "text": "ok"}])
    assert REFUSAL in guard().wrap(answering(blocked)).invoke("hello").content


def test_bedrock_redacted_reasoning_passes_as_the_opaque_payload_it_is() -> None:
    redacted = {"type": "reasoning_content", "reasoning_content": {"redacted_content": b"\x8f\x01opaque"}}
    answer = AIMessage(content=[redacted, {"type": "text", "text": "Hello there."}])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [redacted, {"type": "text", "text": "Hello there."}]
    blocked = AIMessage(content=[redacted, {"type": "text", "text": "a grenade"}])
    assert REFUSAL in guard().wrap(answering(blocked)).invoke("hello").content


def test_redacting_only_the_reasoning_keeps_the_content_blocks() -> None:
    content = [{"type": "text", "text": "See"}, {"type": "image_url", "image_url": {"url": "http://x.test/a.png"}}]
    answer = AIMessage(content=content, additional_kwargs={"reasoning_content": "Jane Roe"})
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == content and out.additional_kwargs["reasoning_content"] == "<PERSON_1>"


def test_a_block_with_an_odd_type_field_is_read_as_text_not_a_crash() -> None:
    out = guard().wrap(answering(AIMessage(content=[{"type": ["x"], "text": "a grenade"}]))).invoke("hello")
    assert REFUSAL in out.content


def test_reasoning_holding_an_unreadable_object_raises_naming_its_type() -> None:
    answer = AIMessage(content="ok", additional_kwargs={"reasoning_content": object()})
    with pytest.raises(InputError, match="object"):
        guard().wrap(answering(answer)).invoke("hello")


# ---------------------------------------------------------------------- metadata of streamed text chunks
def test_token_usage_on_streamed_text_chunks_still_adds_up() -> None:
    def usage(n: int) -> Any:
        return {"input_tokens": 0, "output_tokens": n, "total_tokens": n}

    model = streamed(
        AIMessageChunk(content="Happy to ", usage_metadata={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}),
        AIMessageChunk(content="help you ", usage_metadata=usage(2)),
        AIMessageChunk(content="today.", usage_metadata=usage(1), response_metadata={"finish_reason": "stop"}),
    )
    chunks = [c for c in guard().wrap(model).stream("hello") if isinstance(c, AIMessageChunk)]
    summed = chunks[0]
    for c in chunks[1:]:
        summed = summed + c
    assert summed.content == "Happy to help you today."
    assert summed.usage_metadata is not None
    assert (summed.usage_metadata["input_tokens"], summed.usage_metadata["output_tokens"]) == (7, 6)
    assert summed.response_metadata["finish_reason"] == "stop"
