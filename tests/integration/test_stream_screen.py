"""Streaming through the wrapper: chunk boundaries never leak what the output policy redacts or blocks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from guardrails.testing import KeywordDetector, guard_with
from tests.helpers.spy import chunked_model

SECRET_NAME = "Jane Roe"
SECRET_PHONE = "555-0100"
SAMPLES = [
    f"Sure. You can reach {SECRET_NAME} at {SECRET_PHONE} after five.",
    f"{SECRET_PHONE} is the number; {SECRET_NAME} answers it.",
    f"Ask {SECRET_NAME}",
    "Nothing personal in this answer at all, just a plain sentence.",
]


def _guard(**profile: object) -> object:
    return guard_with(
        KeywordDetector({"grenade": "weapons"}, entities={SECRET_NAME: "PERSON", SECRET_PHONE: "PHONE_NUMBER"}),
        profile={"streaming": {"holdback_chars": 16, "check_every_chars": 1}, **profile},
    )


def _stream(text_chunks: list[str], **profile: object) -> tuple[list[str], str]:
    guard = _guard(**profile)
    chain = guard.wrap(chunked_model(text_chunks))  # type: ignore[attr-defined]
    out = [c.content for c in chain.stream("hi", config={"configurable": {"conversation_id": "s"}}) if c.content]
    invoked = _guard(**profile).wrap(chunked_model(text_chunks)).invoke("hi").content  # type: ignore[attr-defined]
    return out, invoked


@pytest.mark.parametrize("sample", SAMPLES, ids=["name-then-phone", "phone-first", "name-at-end", "no-pii"])
def test_every_two_chunk_split_streams_the_same_redacted_answer(sample: str) -> None:
    for cut in range(1, len(sample)):
        chunks, invoked = _stream([sample[:cut], sample[cut:]])
        assert "".join(chunks) == invoked, cut
        for piece in chunks:
            assert SECRET_NAME not in piece and SECRET_PHONE not in piece


@pytest.mark.parametrize("seed", range(25))
def test_random_chunkings_into_up_to_ten_chunks_stream_the_same_answer(seed: int) -> None:
    rng = random.Random(seed)
    sample = rng.choice(SAMPLES)
    cuts = sorted(rng.sample(range(1, len(sample)), k=min(len(sample) - 1, rng.randint(1, 9))))
    pieces = [sample[a:b] for a, b in zip([0, *cuts], [*cuts, len(sample)], strict=True)]
    chunks, invoked = _stream(pieces)
    assert "".join(chunks) == invoked
    assert all(SECRET_NAME not in c and SECRET_PHONE not in c for c in chunks)


def test_blocked_content_split_across_chunks_never_reaches_the_caller() -> None:
    answer = "Here is a long and harmless preamble that goes on. Then the gre" + "nade part follows here."
    for cut in range(1, len(answer)):
        chunks, _ = _stream([answer[:cut], answer[cut:]])
        joined = "".join(chunks)
        assert "grenade" not in joined and "nade part" not in joined
        assert "can't help" in joined


def test_reversible_mode_restores_a_placeholder_split_across_chunks() -> None:
    guard = _guard(redaction={"reversible": True})
    chain = guard.wrap(chunked_model(["Call <PER", "SON_1> now"]))  # type: ignore[attr-defined]
    cfg = {"configurable": {"conversation_id": "r"}}
    # the user's turn puts Jane Roe in this conversation's vault as <PERSON_1>
    out = "".join(c.content for c in chain.stream(f"my friend is {SECRET_NAME}", config=cfg))
    assert out == f"Call {SECRET_NAME} now"


def test_a_graphs_message_and_metadata_pairs_stream_screened_with_their_metadata_untouched() -> None:
    from langchain_core.messages import AIMessageChunk
    from langchain_core.runnables import RunnableGenerator

    meta = {"langgraph_node": "chat", "run_id": "abc-123"}

    def graph(_inp: Any) -> Iterator[tuple[AIMessageChunk, dict[str, str]]]:  # a LangGraph app, stream_mode="messages"
        for word in ["The capital ", "of France is Paris. ", "Ask Jane Roe ", "or buy a grenade."]:
            yield (AIMessageChunk(content=word, id="m1"), meta)

    guard = guard_with(KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"}))
    out = list(guard.wrap(RunnableGenerator(graph)).stream("hi"))
    assert all(isinstance(o, tuple) and o[1] == meta for o in out)
    text = "".join(o[0].content for o in out)
    assert "grenade" not in text and "Jane Roe" not in text and "can't help" in text


def test_a_graphs_tool_result_pair_is_redacted_apart_and_never_joins_the_answer() -> None:
    from langchain_core.messages import AIMessageChunk, ToolMessage
    from langchain_core.runnables import RunnableGenerator

    def graph(_inp: Any) -> Iterator[tuple[Any, dict[str, str]]]:
        yield (ToolMessage(content="Sunny, says Jane Roe", tool_call_id="c1"), {"langgraph_node": "tools"})
        yield (AIMessageChunk(content="It is sunny.", id="a2"), {"langgraph_node": "agent"})

    guard = guard_with(KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"}))
    out = list(guard.wrap(RunnableGenerator(graph)).stream("hi"))
    assert out[0] == (ToolMessage(content="Sunny, says <PERSON_1>", tool_call_id="c1"), {"langgraph_node": "tools"})
    assert "".join(o[0].content for o in out[1:]) == "It is sunny."
