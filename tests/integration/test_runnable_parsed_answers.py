"""A structured answer's parsed value: langchain-openai (``response_format=`` with a json_schema, chat completions and
Responses) puts the value parsed from the content's JSON in ``additional_kwargs["parsed"]``, a pydantic model or a
dict; streamed, on the last chunk, which has no content.

The guard screens the content; the parsed value says the same words again, so it is kept only while the answer's
every text is as the model wrote it. A refused answer, or one with any text changed, loses it: it never carries what
the guard removed. Real guards (the keyword test detector) around plain runnables and fake chat models.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel

from guardrails import GuardrailsCallbackHandler, GuardrailViolation
from tests.helpers.answers import REFUSAL, REFUSED_ANSWER, answering, dumped, guard, streamed, streamed_text
from tests.helpers.spy import SpyChatModel, spy_model


class Contact(BaseModel):
    name: str
    phone: str


def structured(name: str, phone: str, *, as_dict: bool = False) -> AIMessage:
    """A structured answer as langchain-openai returns it: the JSON as content, its parsed value beside it."""
    parsed: Any = {"name": name, "phone": phone} if as_dict else Contact(name=name, phone=phone)
    content = json.dumps({"name": name, "phone": phone})
    return AIMessage(content=content, additional_kwargs={"parsed": parsed, "refusal": None})


def streamed_structured(name: str, phone: str) -> Any:
    """A streamed structured answer: the JSON in pieces, then a content-less chunk with the parsed value."""
    content = json.dumps({"name": name, "phone": phone})
    half = len(content) // 2
    return streamed(
        AIMessageChunk(content=content[:half]),
        AIMessageChunk(content=content[half:]),
        AIMessageChunk(content="", additional_kwargs={"parsed": Contact(name=name, phone=phone), "refusal": None}),
    )


def parsed_values(chunks: list[Any]) -> list[Any]:
    return [c.additional_kwargs["parsed"] for c in chunks if "parsed" in c.additional_kwargs]


# ---------------------------------------------------------------------- answers
def test_a_structured_answer_nothing_was_changed_in_keeps_its_parsed_value() -> None:
    out = guard().wrap(answering(structured("Ada", "ext. 12"))).invoke("who?")
    assert out.additional_kwargs["parsed"] == Contact(name="Ada", phone="ext. 12")
    assert json.loads(out.content) == {"name": "Ada", "phone": "ext. 12"}


@pytest.mark.parametrize("as_dict", [False, True], ids=["pydantic-model", "dict"])
def test_a_redacted_structured_answer_loses_its_parsed_value_and_its_content_parses_redacted(as_dict: bool) -> None:
    out = guard().wrap(answering(structured("Jane Roe", "555-0100", as_dict=as_dict))).invoke("who?")
    assert "parsed" not in out.additional_kwargs
    assert json.loads(out.content) == {"name": "<PERSON_1>", "phone": "<PHONE_NUMBER_1>"}
    assert "Jane Roe" not in dumped(out) and "555-0100" not in dumped(out)


async def test_ainvoke_drops_a_redacted_answers_parsed_value_like_invoke() -> None:
    out = await guard().wrap(answering(structured("Jane Roe", "555-0100"))).ainvoke("who?")
    assert "parsed" not in out.additional_kwargs
    assert "Jane Roe" not in dumped(out)


def test_a_refused_structured_answer_keeps_no_parsed_value() -> None:
    out = guard().wrap(answering(structured("grenade assembly", "x", as_dict=True))).invoke("who?")
    assert REFUSAL in out.content
    assert "parsed" not in out.additional_kwargs
    assert "grenade" not in dumped(out)


def test_include_raw_redacts_the_parsed_model_in_place_and_drops_the_raw_messages_copy() -> None:
    raw = structured("Jane Roe", "555-0100")
    chain = RunnableLambda(lambda _: {"raw": raw, "parsed": raw.additional_kwargs["parsed"], "parsing_error": None})
    out = guard().wrap(chain).invoke("who?")
    assert out["parsed"] == Contact(name="<PERSON_1>", phone="<PHONE_NUMBER_1>")
    assert "parsed" not in out["raw"].additional_kwargs
    assert "Jane Roe" not in dumped([out["raw"]]) and "Jane Roe" not in repr(out["parsed"])


# ---------------------------------------------------------------------- streamed answers
def test_a_streamed_structured_answer_nothing_was_changed_in_keeps_its_parsed_value() -> None:
    chunks = list(guard().wrap(streamed_structured("Ada", "ext. 12")).stream("who?"))
    assert parsed_values(chunks) == [Contact(name="Ada", phone="ext. 12")]


def test_a_streamed_redacted_structured_answer_loses_its_parsed_value() -> None:
    chunks = list(guard().wrap(streamed_structured("Jane Roe", "555-0100")).stream("who?"))
    assert json.loads(streamed_text(chunks)) == {"name": "<PERSON_1>", "phone": "<PHONE_NUMBER_1>"}
    assert parsed_values(chunks) == []
    assert "Jane Roe" not in dumped(chunks) and "555-0100" not in dumped(chunks)


async def test_a_streamed_refused_structured_answer_loses_its_parsed_value() -> None:
    chunks = [c async for c in guard().wrap(streamed_structured("grenade assembly", "x")).astream("who?")]
    assert REFUSAL in streamed_text(chunks)
    assert parsed_values(chunks) == []
    assert "grenade" not in dumped(chunks)


# ---------------------------------------------------------------------- earlier answers in a history
def test_an_earlier_structured_answer_redacted_reaches_the_model_without_its_parsed_value() -> None:
    guard().wrap(spy_model("ok")).invoke([HumanMessage("who?"), structured("Jane Roe", "555-0100"), HumanMessage("ta")])
    sent = SpyChatModel.calls[-1][1]
    assert "parsed" not in sent.additional_kwargs
    assert json.loads(str(sent.content)) == {"name": "<PERSON_1>", "phone": "<PHONE_NUMBER_1>"}
    assert "Jane Roe" not in dumped(sent)


def test_an_earlier_refused_structured_answer_is_withheld_with_its_parsed_value() -> None:
    earlier = structured("grenade assembly", "x", as_dict=True)
    guard().wrap(spy_model("ok")).invoke([HumanMessage("who?"), earlier, HumanMessage("go on")])
    sent = SpyChatModel.calls[-1][1]
    assert sent.content == REFUSED_ANSWER
    assert "parsed" not in sent.additional_kwargs and "grenade" not in dumped(sent)


def test_an_earlier_structured_answer_nothing_was_changed_in_keeps_its_parsed_value() -> None:
    guard().wrap(spy_model("ok")).invoke([HumanMessage("who?"), structured("Ada", "ext. 12"), HumanMessage("ta")])
    assert SpyChatModel.calls[-1][1].additional_kwargs["parsed"] == Contact(name="Ada", phone="ext. 12")


# ---------------------------------------------------------------------- the callback handler
def test_the_callback_handler_stops_a_refused_structured_answer_parsed_value_and_all() -> None:
    # an observer: it cannot rewrite the answer, so a refused one is raised and never reaches the app
    model = spy_model("unused")
    model.messages = iter([structured("grenade assembly", "x")])
    with pytest.raises(GuardrailViolation):
        model.invoke("who?", config={"callbacks": [GuardrailsCallbackHandler(guard())]})


def test_the_callback_handler_passes_a_clean_structured_answer_with_its_parsed_value() -> None:
    model = spy_model("unused")
    model.messages = iter([structured("Ada", "ext. 12")])
    out = model.invoke("who?", config={"callbacks": [GuardrailsCallbackHandler(guard())]})
    assert out.additional_kwargs["parsed"] == Contact(name="Ada", phone="ext. 12")
