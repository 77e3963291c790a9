"""Streams of snapshots: a JSON parser that is not the chain's last step streams the answer parsed so far, again and
again. The wrapper checks such an answer whole and yields it once, as ``invoke`` returns it; a stream of dict deltas
that only starts like snapshots still streams as deltas."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda, RunnablePassthrough

from guardrails import Guard, GuardrailViolation
from guardrails.integrations.langchain.turn import added
from guardrails.testing import KeywordDetector, guard_with

REFUSAL = "can't help"


def guard(**kwargs: Any) -> Guard:
    detector = KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"})
    return guard_with(detector, **kwargs)


def parsed_then(step: Runnable[Any, Any], answer: str) -> Runnable[Any, Any]:
    model = GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=answer)]))
    return model | JsonOutputParser() | step


def without_meta(value: Any) -> Any:
    return {k: v for k, v in value.items() if k != "guardrails"}


ANSWER = '{"answer": "Ask Jane Roe about the trip to the lake", "days": [1, 2, 3]}'


@pytest.mark.parametrize("step", [RunnablePassthrough(), RunnableLambda(lambda x: x)], ids=["passthrough", "lambda"])
def test_a_parsed_answer_streamed_through_a_later_step_is_checked_whole_and_yielded_once(step: Any) -> None:
    chain = parsed_then(step, ANSWER)
    assert len(list(chain.stream("hi"))) >= 1  # the chain itself streams snapshots (passthrough) or one dict
    whole = guard().wrap(chain).invoke("hi")
    streamed = list(guard().wrap(chain).stream("hi"))

    async def collect() -> list[Any]:
        return [c async for c in guard().wrap(chain).astream("hi")]

    expected = {"answer": "Ask <PERSON_1> about the trip to the lake", "days": [1, 2, 3]}
    assert [without_meta(c) for c in streamed] == [without_meta(whole)] == [expected]
    assert [without_meta(c) for c in asyncio.run(collect())] == [expected]


def test_a_parsed_answer_streamed_through_a_later_step_is_refused_without_its_text() -> None:
    chain = parsed_then(RunnablePassthrough(), '{"answer": "Here is where to buy a grenade cheaply"}')
    streamed = list(guard().wrap(chain).stream("hi"))
    answers = [without_meta(c) for c in streamed]
    assert len(answers) == 1 and "grenade" not in str(answers) and REFUSAL in answers[0]["answer"]
    with pytest.raises(GuardrailViolation):
        list(guard().wrap(chain, raise_on_block=True).stream("hi"))


def test_dict_deltas_that_start_like_snapshots_still_stream_as_deltas_and_are_screened() -> None:
    def chain(_: Any) -> Iterator[dict[str, str]]:
        yield {"output": ""}
        yield {"output": "Ask"}  # repeats the one before and extends it, as a snapshot would
        for word in (" Jane Roe tomorrow" + " and then" * 40 + " buy the gre").split(" ")[1:]:
            yield {"output": " " + word}
        yield {"output": "nade"}

    chunks = list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hi"))
    text = "".join(c["output"] for c in chunks if isinstance(c.get("output"), str))
    assert text.startswith("Ask <PERSON_1> tomorrow") and "grenade" not in text and REFUSAL in text


def test_a_long_stream_of_snapshots_keeps_only_the_latest_and_a_snapshot_that_restarts_replaces_it() -> None:
    def chain(_: Any) -> Iterator[dict[str, str]]:
        for n in range(1, 30):
            yield {"answer": "word " * n}
        yield {"answer": "a different answer about Jane Roe"}  # LangChain's addition keeps the last one too

    raw = None
    for c in RunnableGenerator(chain).stream("hi"):
        raw = added(raw, c)
    streamed = list(guard().wrap(RunnableGenerator(chain)).stream("hi"))
    assert raw == {"answer": "a different answer about Jane Roe"}
    assert [without_meta(c) for c in streamed] == [{"answer": "a different answer about <PERSON_1>"}]


def test_dicts_whose_numbers_change_before_text_deltas_still_stream_every_delta() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        for i in range(10):
            yield {"progress": i / 10}  # a counter: repeats its keys, changes a number, adds no text
        for token in ("The ", "coastal ", "route ", "is ", "lovely."):
            yield {"output": token}

    chunks = list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hi"))
    assert "".join(c["output"] for c in chunks if "output" in c) == "The coastal route is lovely."
    assert [c["progress"] for c in chunks if "progress" in c] == [i / 10 for i in range(10)]


def test_a_parsers_snapshots_that_start_with_a_number_still_read_as_snapshots() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        yield {"confidence": 12}
        yield {"confidence": 12.5}  # the parser was still reading the number
        for end in (8, 28, 48):
            yield {"confidence": 12.5, "answer": "Please ask Jane Roe about the trip to the lake"[:end]}

    streamed = [without_meta(c) for c in guard().wrap(RunnableGenerator(chain)).stream("hi")]
    assert streamed == [{"confidence": 12.5, "answer": "Please ask <PERSON_1> about the trip to the lake"}]


def test_lists_whose_numbers_change_are_no_snapshots_and_every_one_streams() -> None:
    def chain(_: Any) -> Iterator[list[int]]:
        yield from ([101], [102], [103])  # a parser still reading a number would extend its digits

    assert list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hi")) == [[101], [102], [103]]


def test_a_parser_in_a_branch_of_a_dict_chain_streams_each_text_once_and_no_value_in_pieces() -> None:
    from langchain_core.messages import AIMessageChunk
    from langchain_core.runnables import RunnableParallel

    from guardrails.detectors.pii import PIIDetector, PIIOptions
    from tests.helpers.answers import StreamedChatModel

    answer = '{"answer": "Write to jane.roe@example.com or call +1 415 555 0132 about the trip"}'
    model = StreamedChatModel(messages=iter([AIMessage(answer)]), chunks=[AIMessageChunk(content=c) for c in answer])
    chain = RunnableParallel(answer=model | JsonOutputParser(), stats=RunnableLambda(lambda _: {"n": 3}))
    chunks = list(guard_with(PIIDetector(options=PIIOptions(pattern_only=True))).wrap(chain).stream("hi"))
    text = "".join(c["answer"].get("answer", "") for c in chunks if "answer" in c)
    assert text == "Write to <EMAIL_ADDRESS_1> or call <PHONE_NUMBER_1> about the trip"
    assert [c["stats"] for c in chunks if "stats" in c] == [{"n": 3}]  # a branch's dict with no text, whole


@pytest.mark.parametrize("number", ["-0.5", "0.00001", "-12", "10"])
def test_a_parsers_snapshots_reading_a_number_of_any_form_stay_snapshots(number: str) -> None:
    chain = parsed_then(RunnablePassthrough(), f'{{"score": {number}, "answer": "Ask Jane Roe about the lake"}}')
    streamed = [without_meta(c) for c in guard().wrap(chain).stream("hi")]
    assert streamed == [{"score": json.loads(number), "answer": "Ask <PERSON_1> about the lake"}]


def test_dict_deltas_in_a_branch_of_a_dict_chain_keep_every_token_and_every_dict_without_text() -> None:
    def tokens(_: Any) -> Iterator[dict[str, Any]]:
        yield {"step": 1}
        for t in ["Take", " 1", "0", "0", "0", " mg", " every", " day", "."]:
            yield {"token": t}  # a token that repeats or extends the last one is a delta, not a snapshot
        yield {"usage": {"total_tokens": 12}}

    chunks = list(guard().wrap(RunnablePassthrough.assign(answer=RunnableGenerator(tokens))).stream({"input": "hi"}))
    answers = [c["answer"] for c in chunks if "answer" in c]
    assert "".join(a.get("token", "") for a in answers) == "Take 1000 mg every day."
    assert {"step": 1} in answers and {"usage": {"total_tokens": 12}} in answers


def test_number_dicts_that_flip_sign_or_leave_zero_are_no_snapshots() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        yield from ({"reading": 0}, {"reading": 7}, {"reading": -7})

    out = list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hi"))
    assert [c["reading"] for c in out if "reading" in c] == [0, 7, -7]
