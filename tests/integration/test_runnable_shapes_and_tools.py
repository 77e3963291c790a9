"""The Runnable wrapper on tool calls, dict/list/model outputs, streamed dicts and content blocks.

Real guards (the keyword test detector, and the built-in ``general`` profile with Presidio for
one PII test) around langchain-core's fake chat models and plain runnables.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import RunnableGenerator, RunnableLambda
from pydantic import BaseModel

from guardrails import Guard, GuardrailViolation, InputError
from guardrails.testing import KeywordDetector, guard_with
from tests.helpers.spy import SpyChatModel, spy_model

REFUSAL = "can't help"


def guard(*, reversible: bool = False) -> Guard:
    return guard_with(
        KeywordDetector(
            {"grenade": "weapons", "ibuprofen": "domain_medical"},
            entities={"Jane Roe": "PERSON", "555-0100": "PHONE_NUMBER"},
        ),
        profile={"redaction": {"reversible": reversible}},
    )


class StreamedChatModel(GenericFakeChatModel):
    """A fake chat model whose stream yields exactly ``chunks`` (tool-call chunks included)."""

    chunks: list[AIMessageChunk]

    def _stream(self, messages: Any, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for chunk in self.chunks:
            yield ChatGenerationChunk(message=chunk)


def streamed_call(name: str, args: dict[str, Any], *, text: str = "") -> StreamedChatModel:
    """A model that streams ``text`` and then one tool call whose JSON arguments arrive in three pieces."""
    raw = json.dumps(args)
    cut = [0, len(raw) // 3, 2 * len(raw) // 3, len(raw)]
    pieces = [raw[a:b] for a, b in itertools.pairwise(cut)]
    chunks = [AIMessageChunk(content=text)] if text else []
    chunks += [
        AIMessageChunk(
            content="",
            tool_call_chunks=[
                {"name": name if i == 0 else None, "args": p, "id": "call-1" if i == 0 else None, "index": 0}
            ],
        )
        for i, p in enumerate(pieces)
    ]
    whole = AIMessage(content=text, tool_calls=[{"name": name, "args": args, "id": "call-1"}])
    return StreamedChatModel(messages=iter([whole]), chunks=chunks)


def tool_answer(args: dict[str, Any], *, content: str = "") -> AIMessage:
    """An answer with one tool call, in both the parsed and the provider (OpenAI) form, plus an invalid call."""
    return AIMessage(
        content=content,
        tool_calls=[{"name": "send_note", "args": args, "id": "call-1"}],
        invalid_tool_calls=[
            {"name": "send_note", "args": "{broken " + json.dumps(args), "id": "call-2", "error": None}
        ],
        additional_kwargs={
            "tool_calls": [
                {"id": "call-1", "type": "function", "function": {"name": "send_note", "arguments": json.dumps(args)}}
            ]
        },
    )


def total(chunks: list[Any]) -> AIMessageChunk:
    out = chunks[0]
    for c in chunks[1:]:
        out = out + c
    assert isinstance(out, AIMessageChunk)
    return out


def dumped(*messages: BaseMessage) -> str:
    """Everything of the messages except the guard's metadata (whose findings name the keyword matched)."""
    return json.dumps([m.model_dump(exclude={"response_metadata"}) for m in messages], default=str)


# ---------------------------------------------------------------------- 1. tool calls of an answer
def test_a_blocked_answer_drops_its_tool_calls() -> None:
    answer = tool_answer({"topic": "where to buy a grenade"})
    out = guard().wrap(RunnableLambda(lambda _: answer)).invoke("hello")
    assert REFUSAL in out.content
    assert out.tool_calls == [] and out.invalid_tool_calls == []
    assert "tool_calls" not in out.additional_kwargs
    assert "grenade" not in dumped(out)
    assert out.response_metadata["guardrails"]["output"]["action"] == "block"


def test_tool_call_arguments_alone_can_block_an_answer_with_harmless_text() -> None:
    answer = AIMessage(
        content="Let me look that up.", tool_calls=[{"name": "search", "args": {"q": "grenade"}, "id": "c1"}]
    )
    out = guard().wrap(RunnableLambda(lambda _: answer)).invoke("hello")
    assert REFUSAL in out.content and out.tool_calls == []


def test_pii_in_tool_arguments_is_redacted_in_place_keeping_the_json_structure() -> None:
    answer = tool_answer({"to": "Jane Roe", "copies": 2, "lines": ["call 555-0100", "thanks"]}, content="Sending now.")
    out = guard().wrap(RunnableLambda(lambda _: answer)).invoke("hello")
    assert out.content == "Sending now."  # the arguments are not appended to the text
    (call,) = out.tool_calls
    assert call["args"] == {"to": "<PERSON_1>", "copies": 2, "lines": ["call <PHONE_NUMBER_1>", "thanks"]}
    raw = out.additional_kwargs["tool_calls"][0]["function"]["arguments"]
    assert json.loads(raw) == call["args"]
    assert "Jane Roe" not in dumped(out) and "555-0100" not in dumped(out)
    assert out.response_metadata["guardrails"]["output"]["action"] == "redact"


def test_reversible_mode_gives_tools_back_only_the_users_own_values() -> None:
    answer = AIMessage(
        content="", tool_calls=[{"name": "dial", "args": {"who": "Jane Roe", "number": "555-0100"}, "id": "c1"}]
    )
    chain = guard(reversible=True).wrap(RunnableLambda(lambda _: answer))
    out = chain.invoke("please call Jane Roe", config={"configurable": {"conversation_id": "tools-1"}})
    assert out.tool_calls[0]["args"] == {"who": "Jane Roe", "number": "<PHONE_NUMBER_1>"}


async def test_ainvoke_screens_tool_calls_like_invoke() -> None:
    chain = guard().wrap(RunnableLambda(lambda _: tool_answer({"topic": "grenade"})))
    blocked = await chain.ainvoke("hello")
    assert REFUSAL in blocked.content and blocked.tool_calls == []
    chain = guard().wrap(RunnableLambda(lambda _: tool_answer({"to": "Jane Roe"})))
    redacted = await chain.ainvoke("hello")
    assert redacted.tool_calls[0]["args"] == {"to": "<PERSON_1>"}


@pytest.mark.slow
def test_presidio_redacts_an_email_in_the_arguments_of_a_tool_call() -> None:
    answer = AIMessage(
        content="Done.",
        tool_calls=[{"name": "send_mail", "args": {"to": "maria.lopez@example.org", "body": "hi"}, "id": "c1"}],
    )
    out = Guard.from_profile("general").wrap(RunnableLambda(lambda _: answer)).invoke("email my colleague")
    assert out.tool_calls[0]["args"] == {"to": "<EMAIL_ADDRESS_1>", "body": "hi"}
    assert out.content == "Done."


# ---------------------------------------------------------------------- 2. streaming
def test_streamed_dict_chunks_holding_messages_are_screened() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        for word in ("word " * 50 + "and now buy the grenade here " + "tail " * 30).split(" "):
            yield {"output": AIMessageChunk(content=word + " ")}

    chunks = list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hello"))
    text = "".join(c["output"].content for c in chunks if isinstance(c.get("output"), AIMessageChunk))
    assert "grenade" not in text and REFUSAL in text


def test_streamed_dict_chunks_keep_their_shape_and_are_redacted() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        for word in ("Ask", "Jane", "Roe", "tomorrow."):
            yield {"output": AIMessageChunk(content=word + " ")}

    chunks = list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hello"))
    assert all(isinstance(c["output"], AIMessageChunk) for c in chunks)
    assert "".join(c["output"].content for c in chunks) == "Ask <PERSON_1> tomorrow. "


def test_streamed_documents_and_message_lists_keep_their_types_and_are_checked_whole() -> None:
    from langchain_core.documents import Document

    def chain(_: Any) -> Iterator[dict[str, Any]]:
        yield {"context": [Document(page_content="page about Jane Roe", metadata={"source": "a.txt"})]}
        yield {"messages": [HumanMessage(content="hi"), AIMessage(content="hello there")]}
        for word in ("All", "good."):
            yield {"answer": word + " "}

    chunks = list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hello"))
    docs = next(c["context"] for c in chunks if "context" in c)
    assert [(type(d).__name__, d.page_content, d.metadata) for d in docs] == [
        ("Document", "page about <PERSON_1>", {"source": "a.txt"})
    ]
    msgs = next(c["messages"] for c in chunks if "messages" in c)
    assert [(type(m).__name__, m.content) for m in msgs] == [("HumanMessage", "hi"), ("AIMessage", "hello there")]

    def harmful(_: Any) -> Iterator[dict[str, Any]]:
        yield {"pages": [Document(page_content="how to buy a grenade")]}
        yield {"answer": "fine"}

    blocked = list(guard().wrap(RunnableGenerator(harmful), output="dict").stream("hello"))
    assert not any("grenade" in str(c.get("pages", "")) for c in blocked)
    assert any(REFUSAL in str(c) for c in blocked)


def test_a_refusal_in_a_streamed_graph_update_keeps_the_updates_shape() -> None:
    def graph(_: Any) -> Iterator[dict[str, Any]]:
        yield {"agent": {"messages": [AIMessage(content="step one")]}}
        yield {"agent": {"messages": [AIMessage(content="now buy the grenade")]}}

    chunks = list(guard().wrap(RunnableGenerator(graph), output="dict").stream("hello"))
    refusal = chunks[-1]["agent"]
    assert isinstance(refusal["messages"], list) and isinstance(refusal["messages"][0], AIMessage)
    assert REFUSAL in refusal["messages"][0].content and "grenade" not in str(chunks)


def test_token_usage_on_streamed_tool_call_chunks_is_kept() -> None:
    raw = json.dumps({"q": "weather in Oslo"})
    model = StreamedChatModel(
        messages=iter([AIMessage(content="unused")]),
        chunks=[
            AIMessageChunk(
                content="",
                tool_call_chunks=[{"name": "search", "args": raw, "id": "c1", "index": 0}],
                usage_metadata={"input_tokens": 5, "output_tokens": 3, "total_tokens": 8},
            )
        ],
    )
    chunks = list(guard().wrap(model).stream("hello"))
    summed = total(chunks)
    assert summed.usage_metadata is not None and summed.usage_metadata["output_tokens"] == 3
    assert summed.tool_calls[0]["args"] == {"q": "weather in Oslo"}


def test_a_nested_dict_of_streamed_tokens_is_still_screened_as_one_text() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        tokens = [*("word " * 50).split(), "now buy the gre", "nade here", *("tail " * 30).split()]
        for token in tokens:  # "grenade" arrives in two chunks
            yield {"outer": {"inner": token if token.endswith("gre") else token + " "}}

    chunks = list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hello"))
    text = "".join(str(c.get("outer", {}).get("inner", "")) for c in chunks if isinstance(c.get("outer"), dict))
    assert "grenade" not in text.replace(" ", "") and any(REFUSAL in str(c) for c in chunks)


def test_streamed_tool_call_chunks_are_never_released_when_the_call_is_blocked() -> None:
    model = streamed_call("search", {"q": "where to buy a grenade"}, text="Looking.")
    chunks = list(guard().wrap(model).stream("hello"))
    assert not any(c.tool_call_chunks or c.tool_calls for c in chunks)
    assert "grenade" not in dumped(*chunks)
    assert REFUSAL in total(chunks).content
    assert chunks[-1].response_metadata["guardrails"]["output"]["action"] == "block"


def test_streamed_tool_call_chunks_are_held_until_checked_and_released_redacted() -> None:
    model = streamed_call("dial", {"who": "Jane Roe", "note": "evening"}, text="Calling.")
    chunks = list(guard().wrap(model).stream("hello"))
    first_call = next(i for i, c in enumerate(chunks) if c.tool_call_chunks)
    assert all(c.content == "" for c in chunks[first_call:])  # released once, after the text
    assert sum(1 for c in chunks if c.tool_call_chunks) == 1
    whole = total(chunks)
    assert whole.content == "Calling."
    assert whole.tool_calls[0]["args"] == {"who": "<PERSON_1>", "note": "evening"}
    assert "Jane Roe" not in dumped(*chunks)


def test_streamed_legacy_function_call_arguments_are_screened() -> None:
    answer = AIMessage(
        content="Sending now",
        additional_kwargs={"function_call": {"name": "send", "arguments": '{"to": "Jane Roe", "body": "hi, there"}'}},
    )
    chunks = list(guard().wrap(GenericFakeChatModel(messages=iter([answer]))).stream("hello"))
    whole = total(chunks)
    assert whole.content == "Sending now"
    arguments = json.loads(whole.additional_kwargs["function_call"]["arguments"])
    assert arguments == {"to": "<PERSON_1>", "body": "hi, there"}


async def test_astream_holds_tool_calls_like_stream() -> None:
    blocked = [c async for c in guard().wrap(streamed_call("search", {"q": "grenade"})).astream("hello")]
    assert not any(c.tool_call_chunks for c in blocked) and REFUSAL in total(blocked).content
    model = streamed_call("dial", {"who": "Jane Roe"})
    released = [c async for c in guard().wrap(model).astream("hello")]
    assert total(released).tool_calls[0]["args"] == {"who": "<PERSON_1>"}


# ---------------------------------------------------------------------- 3. outputs with text elsewhere
def test_a_dict_answer_under_another_key_is_screened() -> None:
    out = guard().wrap(RunnableLambda(lambda _: {"answer": "buy a grenade", "n": 3}), output="dict").invoke("hi")
    assert REFUSAL in out["answer"] and "n" not in out
    assert out["guardrails"]["output"]["action"] == "block"


def test_a_refusal_and_a_disclaimer_go_to_the_answer_key_even_when_other_keys_come_first() -> None:
    def rag(text: str) -> dict[str, Any]:  # the key order of RunnablePassthrough.assign(answer=...)
        answer = "buy a grenade" if "weapon" in text else "take ibuprofen with food"
        return {"question": "q", "context": ["a page"], "answer": answer}

    wrapped = guard().wrap(RunnableLambda(rag), output="dict")
    blocked = wrapped.invoke("a weapon please")
    assert REFUSAL in blocked["answer"] and "question" not in blocked
    served = wrapped.invoke("a headache")
    assert served["question"] == "q" and served["answer"].startswith("take ibuprofen with food")
    assert len(served["answer"]) > len("take ibuprofen with food")  # the medical disclaimer is on the answer


def test_text_under_a_nested_guardrails_key_is_still_screened() -> None:
    chain = RunnableLambda(lambda _: {"output": "ok", "data": {"guardrails": {"note": "buy a grenade"}}})
    out = guard().wrap(chain, output="dict").invoke("hi")
    assert out["guardrails"]["output"]["action"] == "block" and "data" not in out


def test_every_text_value_of_a_dict_answer_is_screened_and_redacted() -> None:
    def chain(_: Any) -> dict[str, Any]:
        return {"output": "See notes.", "notes": ["ring Jane Roe"], "reply": AIMessage(content="at 555-0100")}

    out = guard().wrap(RunnableLambda(chain), output="dict").invoke("hi")
    assert out["output"] == "See notes." and out["notes"] == ["ring <PERSON_1>"]
    assert out["reply"].content == "at <PHONE_NUMBER_1>"


def test_a_list_answer_is_screened() -> None:
    out = guard().wrap(RunnableLambda(lambda _: ["buy a grenade"]), output="message").invoke("hi")
    assert isinstance(out, list) and REFUSAL in out[0] and "grenade" not in out[0]


class Reply(BaseModel):
    text: str
    score: int


def test_a_structured_pydantic_answer_is_screened_and_redacted() -> None:
    out = guard().wrap(RunnableLambda(lambda _: Reply(text="Ask Jane Roe", score=1))).invoke("hi")
    assert out == Reply(text="Ask <PERSON_1>", score=1)


def test_a_blocked_pydantic_answer_raises_the_violation_since_the_model_cannot_hold_the_refusal() -> None:
    chain = guard().wrap(RunnableLambda(lambda _: Reply(text="a grenade", score=1)))
    with pytest.raises(GuardrailViolation) as info:
        chain.invoke("hi")
    assert info.value.decision.stage == "output" and "weapons" in info.value.decision.categories
    assert REFUSAL in (info.value.decision.response_text() or "")
    assert "grenade" not in str(info.value)
    # a caller who names an output kind gets the refusal in it instead
    forced = guard().wrap(RunnableLambda(lambda _: Reply(text="a grenade", score=1)), output="message").invoke("hi")
    assert isinstance(forced, AIMessage) and REFUSAL in forced.content


def _crisis_guard() -> Guard:
    return guard_with(KeywordDetector({"grenade": "weapons", "end my life": "crisis_self_harm"}))


def _assert_input_refusals_raised_before_the_model_runs(guarded: Any) -> None:
    assert guarded.output_kind == "raise"
    with pytest.raises(GuardrailViolation) as blocked:
        guarded.invoke("where to buy a grenade")
    assert blocked.value.decision.blocked and REFUSAL in (blocked.value.decision.response_text() or "")
    with pytest.raises(GuardrailViolation) as referred:
        guarded.invoke("I want to end my life")
    assert referred.value.decision.referral and referred.value.decision.response_text() == (
        referred.value.decision.referral
    )
    assert SpyChatModel.calls == []


def test_a_chain_declaring_a_pydantic_output_gets_input_refusals_and_referrals_raised_before_the_model_runs() -> None:
    from langchain_core.output_parsers import PydanticOutputParser

    chain = spy_model('{"text": "ok", "score": 1}') | PydanticOutputParser(pydantic_object=Reply)
    guarded = _crisis_guard().wrap(chain)
    _assert_input_refusals_raised_before_the_model_runs(guarded)
    assert guarded.invoke("hello there") == Reply(text="ok", score=1)


class _ToolCallingSpy(SpyChatModel):
    """A spy that accepts tools, so ``with_structured_output`` builds its real chain around it."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def _structured(*, include_raw: bool = False, schema: Any = Reply) -> Any:
    SpyChatModel.calls = []
    call = {"name": "Reply", "args": {"text": "ok", "score": 1}, "id": "call_1"}
    model = _ToolCallingSpy(messages=iter([AIMessage(content="", tool_calls=[call])]))
    return model.with_structured_output(schema, include_raw=include_raw)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: _structured(), id="pydantic-schema"),
        pytest.param(lambda: _structured(schema=Reply.model_json_schema()), id="json-schema"),
        pytest.param(lambda: _structured(include_raw=True), id="include-raw"),
        pytest.param(lambda: _structured().with_retry(stop_after_attempt=2), id="with-retry"),
        pytest.param(lambda: spy_model('{"text": "ok"}') | JsonOutputParser(), id="json-output-parser"),
    ],
)
def test_a_structured_output_chain_gets_input_refusals_raised_since_no_schema_holds_them(make: Any) -> None:
    _assert_input_refusals_raised_before_the_model_runs(_crisis_guard().wrap(make()))


def test_a_structured_output_chain_still_returns_its_parsed_answer_when_nothing_is_found() -> None:
    assert _crisis_guard().wrap(_structured()).invoke("hello there") == Reply(text="ok", score=1)
    raw = _crisis_guard().wrap(_structured(include_raw=True)).invoke("hello there")
    assert raw["parsed"] == Reply(text="ok", score=1) and raw["parsing_error"] is None


class _BindingSpy(SpyChatModel):
    """A spy whose ``bind_tools`` binds the tools as chat models do (a RunnableBinding passing ``tools=``)."""

    bound_tools: ClassVar[Any] = None

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=[{"name": getattr(t, "__name__", str(t))} for t in tools], **kwargs)

    def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        type(self).bound_tools = kwargs.get("tools")
        return super()._generate(messages, *args, **kwargs)


def lookup_weather(city: str) -> str:
    """A tool for the binding tests."""
    return f"sunny in {city}"


def test_a_wrapped_model_binds_tools_and_the_bound_model_is_guarded_like_the_wrapper() -> None:
    SpyChatModel.calls = []
    call = {"name": "lookup_weather", "args": {"city": "Leeds"}, "id": "call_1"}
    wrapped = guard().wrap(_BindingSpy(messages=iter([AIMessage(content="", tool_calls=[call])])), output_key="x")
    bound = wrapped.bind_tools([lookup_weather], tool_choice="auto")
    assert type(bound) is type(wrapped) and bound.guard is wrapped.guard and bound.output_key == "x"
    refused = bound.invoke("where to buy a grenade")
    assert REFUSAL in str(refused.content) and SpyChatModel.calls == []
    answer = bound.invoke("what's the weather like")
    assert answer.tool_calls[0]["args"] == {"city": "Leeds"}
    assert _BindingSpy.bound_tools == [{"name": "lookup_weather"}]


def test_a_wrapped_model_gives_structured_output_that_raises_refusals() -> None:
    SpyChatModel.calls = []
    call = {"name": "Reply", "args": {"text": "ok", "score": 1}, "id": "call_1"}
    wrapped = _crisis_guard().wrap(_ToolCallingSpy(messages=iter([AIMessage(content="", tool_calls=[call])])))
    structured = wrapped.with_structured_output(Reply)
    _assert_input_refusals_raised_before_the_model_runs(structured)
    assert structured.invoke("hello there") == Reply(text="ok", score=1)


def test_tools_bound_anew_at_each_agent_step_share_the_wrappers_memory_of_the_turn() -> None:
    from langchain_core.messages import ToolMessage

    seen: list[str] = []
    call = {"name": "lookup_weather", "args": {"city": "Leeds"}, "id": "call_1"}
    model = _BindingSpy(messages=iter([AIMessage(content="", tool_calls=[call]), AIMessage(content="Sunny.")]))
    wrapped = guard().wrap(model, on_decision=lambda d: seen.append(str(d.stage)))
    turn = [HumanMessage("what's the weather in Leeds")]
    first = wrapped.bind_tools([lookup_weather]).invoke(turn)
    wrapped.bind_tools([lookup_weather]).invoke([*turn, first, ToolMessage("sunny in Leeds", tool_call_id="call_1")])
    assert seen == ["input", "output", "output"]  # the user's turn judged once across both bindings


def test_structured_output_from_a_wrapper_with_a_chosen_output_kind_still_raises_refusals() -> None:
    SpyChatModel.calls = []
    call = {"name": "Reply", "args": {"text": "ok", "score": 1}, "id": "call_1"}
    wrapped = _crisis_guard().wrap(
        _ToolCallingSpy(messages=iter([AIMessage(content="", tool_calls=[call])])), output="message"
    )
    _assert_input_refusals_raised_before_the_model_runs(wrapped.with_structured_output(Reply))


def test_binding_tools_to_a_wrapped_runnable_that_binds_none_names_it() -> None:
    with pytest.raises(AttributeError, match=r"RunnableLambda has no bind_tools\(\)"):
        guard().wrap(RunnableLambda(lambda s: s)).bind_tools([lookup_weather])


def test_chains_that_end_in_text_keep_their_own_output_kind() -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.runnables import RunnablePassthrough

    assert guard().wrap(spy_model("x") | StrOutputParser()).output_kind == "str"
    assert guard().wrap(RunnablePassthrough.assign(answer=spy_model("x") | StrOutputParser())).output_kind == "dict"
    assert guard().wrap(spy_model("x")).output_kind == "message"


class _StreamedToolModel(StreamedChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


class Triage(BaseModel):
    category: Literal["cold", "flu"]
    advice: str


def _structured_answer(args: dict[str, Any], schema: Any = Reply) -> Any:
    """``with_structured_output`` around a model that streams its tool call's arguments in three pieces."""
    name = schema.__name__ if isinstance(schema, type) else schema["title"]
    base = streamed_call(name, args)
    return _StreamedToolModel(messages=base.messages, chunks=base.chunks).with_structured_output(schema)


@pytest.mark.parametrize("schema", [Reply, Reply.model_json_schema()], ids=["pydantic", "json-schema"])
def test_a_streamed_structured_answer_is_checked_whole_and_yielded_once(schema: Any) -> None:
    args = {"text": "take ibuprofen with food", "score": 1}
    whole = guard().wrap(_structured_answer(args, schema)).invoke("hi")
    streamed = list(guard().wrap(_structured_answer(args, schema)).stream("hi"))

    async def collect() -> list[Any]:
        return [c async for c in guard().wrap(_structured_answer(args, schema)).astream("hi")]

    assert streamed == [whole] == asyncio.run(collect())
    text = whole.text if isinstance(whole, Reply) else whole["text"]
    assert text.startswith("take ibuprofen with food") and len(text) > len(args["text"])  # the disclaimer
    blocked = guard().wrap(_structured_answer({"text": "buy a grenade", "score": 1}, schema))
    with pytest.raises(GuardrailViolation):
        list(blocked.stream("hi"))


def test_a_disclaimer_goes_into_a_free_text_field_never_a_constrained_one() -> None:
    out = guard().wrap(_structured_answer({"category": "flu", "advice": "take ibuprofen"}, Triage)).invoke("hi")
    assert out.category == "flu" and out.advice.startswith("take ibuprofen") and len(out.advice) > 20
    assert Triage.model_validate(out.model_dump()) == out


def test_a_referral_that_no_field_of_the_answer_can_carry_is_raised_not_dropped() -> None:
    class Label(BaseModel):
        label: Literal["cold", "flu"]

    detector = KeywordDetector({"end my life": "crisis_self_harm"})
    wrapped = guard_with(detector, profile={"crisis_mode": "refer_and_continue"}).wrap(
        _structured_answer({"label": "flu"}, Label)
    )
    with pytest.raises(GuardrailViolation) as info:
        wrapped.invoke("I want to end my life")
    assert info.value.decision.referral and info.value.decision.response_text() == info.value.decision.referral
    # with a free-text field the referral goes in front of the answer instead
    kept = guard_with(detector, profile={"crisis_mode": "refer_and_continue"}).wrap(
        _structured_answer({"category": "flu", "advice": "rest"}, Triage)
    )
    out = kept.invoke("I want to end my life")
    assert out.category == "flu" and out.advice.endswith("rest") and len(out.advice) > 40


def test_an_answer_parsed_from_json_gets_no_guardrails_key_and_the_decision_goes_to_on_decision() -> None:
    seen: list[Any] = []
    chain = spy_model('{"text": "ok"}') | JsonOutputParser()
    assert guard().wrap(chain, on_decision=seen.append).invoke("hello") == {"text": "ok"}
    assert seen and seen[-1].stage == "output" and not seen[-1].blocked


def test_a_dict_chain_with_a_text_answer_next_to_a_parsed_branch_keeps_the_dict_kind() -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.runnables import RunnableParallel

    chain = RunnableParallel(answer=spy_model("x") | StrOutputParser(), meta=spy_model("{}") | JsonOutputParser())
    wrapped = guard().wrap(chain, output_key="answer")
    assert wrapped.output_kind == "dict"
    assert REFUSAL in wrapped.invoke("where to buy a grenade")["answer"]


def test_a_parsed_value_typed_as_a_model_counts_as_a_schema_answer() -> None:
    # the shape of a provider's include_raw=True chain whose parser is a typed lambda, not a JSON parser
    from operator import itemgetter

    from langchain_core.runnables import RunnableMap, RunnablePassthrough

    parse = RunnableLambda(lambda m: Reply.model_validate_json(m.content)).with_types(output_type=Reply)
    chain = RunnableMap(raw=spy_model('{"text": "ok", "score": 1}')) | RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parse
    )
    assert guard().wrap(chain).output_kind == "raise"


def test_output_raise_is_a_kind_a_caller_can_choose_and_bad_kinds_are_named() -> None:
    guarded = guard().wrap(spy_model("never"), output="raise")
    with pytest.raises(GuardrailViolation):
        guarded.invoke("where to buy a grenade")
    with pytest.raises(ValueError, match="output='pydantic'"):
        guard().wrap(spy_model("never"), output="pydantic")


def test_an_output_whose_text_cannot_be_read_raises_naming_only_its_type() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "buy a grenade"

    chain = guard().wrap(RunnableLambda(lambda _: {"output": Opaque()}), output="dict")
    with pytest.raises(InputError, match="Opaque") as info:
        chain.invoke("hi")
    assert "grenade" not in str(info.value)


# ---------------------------------------------------------------------- 4. input content blocks
def test_any_input_block_with_a_text_field_is_screened() -> None:
    chain = guard().wrap(spy_model("never"))
    out = chain.invoke([HumanMessage(content=[{"type": "input_text", "text": "where to buy a grenade"}])])
    assert REFUSAL in out.content and SpyChatModel.calls == []


def test_text_in_non_text_typed_blocks_is_redacted_before_the_model_sees_it() -> None:
    chain = guard().wrap(spy_model("ok"))
    chain.invoke([HumanMessage(content=[{"type": "input_text", "text": "my name is Jane Roe"}])])
    ((sent,),) = SpyChatModel.calls
    assert sent.content == [{"type": "input_text", "text": "my name is <PERSON_1>"}]


# ---------------------------------------------------------------------- 5. errors
class ErrorSpy(BaseCallbackHandler):
    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(str(error))


def test_a_malformed_message_list_error_names_the_shape_never_the_content() -> None:
    spy = ErrorSpy()
    chain = guard().wrap(spy_model("never"))
    with pytest.raises(InputError) as info:
        chain.invoke([{"role": "user", "text": "I am Jane Roe, 555-0100"}], config={"callbacks": [spy]})
    assert "list of dict" in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None  # no chained error quoting the input
    for text in [str(info.value), *spy.errors]:
        assert "Jane Roe" not in text and "555-0100" not in text


# ---------------------------------------------------------------------- 6. reversible history
def test_earlier_ai_answers_are_redacted_before_the_model_sees_them() -> None:
    chain = guard(reversible=True).wrap(spy_model("I will ring <PERSON_1>.", "Done."))
    cfg = {"configurable": {"conversation_id": "history-1"}}
    history: list[BaseMessage] = [HumanMessage("please ring Jane Roe")]
    first = chain.invoke(history, config=cfg)
    assert first.content == "I will ring Jane Roe."  # the user's own value, restored for them
    chain.invoke([*history, first, HumanMessage("thanks")], config=cfg)
    sent = SpyChatModel.calls[-1]
    assert [m.content for m in sent] == ["please ring <PERSON_1>", "I will ring <PERSON_1>.", "thanks"]


def test_refer_and_continue_with_a_prompt_variable_puts_the_instruction_in_the_text_not_a_message_repr() -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    guarded = guard_with(
        KeywordDetector({"end my life": "crisis_self_harm"}), profile={"crisis_mode": "refer_and_continue"}
    ).wrap(ChatPromptTemplate.from_messages([("human", "{question}")]) | spy_model("I'm here.") | StrOutputParser())
    out = guarded.invoke({"question": "I want to end my life"})
    ((sent,),) = SpyChatModel.calls
    assert isinstance(sent, HumanMessage) and "SystemMessage(" not in sent.content
    assert sent.content.endswith("I want to end my life") and len(sent.content) > len("I want to end my life") + 40
    assert out.endswith("I'm here.") and len(out) > len("I'm here.") + 40  # the referral comes first


def test_a_dict_chain_gets_the_guards_own_text_under_the_answer_key_it_builds_streamed_or_not() -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough

    def rag(answer: str) -> Any:
        prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
        return RunnablePassthrough.assign(answer=prompt | spy_model(answer) | StrOutputParser())

    wrapped = guard().wrap(rag("never"))
    assert wrapped.answer_key == "answer"
    assert REFUSAL in wrapped.invoke({"question": "where to buy a grenade"})["answer"]
    chunks = list(guard().wrap(rag("Take ibuprofen with food.")).stream({"question": "a headache"}))
    answer = "".join(c.get("answer", "") for c in chunks)
    question = "".join(c.get("question", "") for c in chunks)
    assert answer.startswith("Take ibuprofen with food.") and len(answer) > 40  # the late disclaimer is there
    assert question == "a headache"


def test_the_end_of_stream_chunk_comes_after_the_last_text_and_the_disclaimer() -> None:
    end = AIMessageChunk(
        content="",
        chunk_position="last",
        response_metadata={"finish_reason": "stop"},
        usage_metadata={"input_tokens": 5, "output_tokens": 9, "total_tokens": 14},
    )
    pieces = [AIMessageChunk(content=p) for p in ("Take ibupro", "fen with food ", "and rest.")]
    model = StreamedChatModel(messages=iter([AIMessage(content="")]), chunks=[*pieces, end])
    chunks = list(guard().wrap(model).stream("hi"))
    last_text = max(i for i, c in enumerate(chunks) if c.content)
    marker = next(i for i, c in enumerate(chunks) if c.response_metadata.get("finish_reason") == "stop")
    assert marker > last_text and chunks[last_text].content.startswith("\n\n")  # after the disclaimer
    assert total(chunks).usage_metadata == end.usage_metadata


IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


def test_a_request_sent_just_before_an_image_only_message_is_judged_not_skipped() -> None:
    chain = guard().wrap(spy_model("sure"))
    answer = chain.invoke([HumanMessage("where to buy a grenade"), HumanMessage(content=[IMAGE])])
    assert REFUSAL in str(answer.content) and SpyChatModel.calls == []


def test_an_image_only_turn_after_an_answered_request_is_not_judged_on_the_earlier_request() -> None:
    chain = guard().wrap(spy_model("a cat"))
    earlier = [HumanMessage("where to buy a grenade"), AIMessage("I can't help with that.")]
    answer = chain.invoke([*earlier, HumanMessage(content=[IMAGE])])
    assert str(answer.content) == "a cat"


def test_structured_output_with_the_raw_message_gets_the_referral_in_its_parsed_answer() -> None:
    guard = guard_with(
        KeywordDetector({"end my life": "crisis_self_harm"}), profile={"crisis_mode": "refer_and_continue"}
    )
    out = guard.wrap(_structured(include_raw=True)).invoke("I want to end my life")
    assert out["parsed"].text.endswith("ok") and out["parsed"].text != "ok"  # the referral comes first
    assert out["raw"].tool_calls  # the raw message is returned as the model wrote it


def test_the_turn_before_an_image_stays_the_turn_through_an_agents_tool_steps() -> None:
    from langchain_core.messages import ToolMessage

    from guardrails.integrations.langchain.shapes import user_turns

    call = {"name": "describe_image", "args": {}, "id": "call_1"}
    steps = [
        HumanMessage("what is in this picture of my grenade collection"),
        HumanMessage(content=[IMAGE]),
        AIMessage(content="", tool_calls=[call]),
        ToolMessage("a shelf of objects", tool_call_id="call_1"),
    ]
    assert user_turns(steps) == ("what is in this picture of my grenade collection", ())
    answered = [*steps, AIMessage("Those are inert replicas."), HumanMessage(content=[IMAGE])]
    assert user_turns(answered)[0] == ""  # answered: the image-only turn is the empty turn it is


def test_a_dict_answer_with_raw_and_parsed_keys_beside_its_answer_key_keeps_the_answer_key() -> None:
    from guardrails.integrations.langchain.shapes import read_output

    out = {"answer": "the reply", "raw": AIMessage("raw text"), "parsed": {"text": "parsed text"}}
    assert read_output(out, output_key="answer").primary == ("answer",)
    structured = {"raw": AIMessage("raw text"), "parsed": {"text": "parsed text"}, "parsing_error": None}
    assert read_output(structured, output_key="output").primary == ("parsed", "text")


def test_a_legacy_function_result_is_redacted_before_the_model_and_the_trace_see_it() -> None:
    from langchain_core.messages import FunctionMessage

    SpyChatModel.calls = []
    call = {"name": "lookup", "arguments": "{}"}
    history = [
        HumanMessage("who called?"),
        AIMessage("", additional_kwargs={"function_call": call}),
        FunctionMessage("Jane Roe, 555-0100", name="lookup"),
    ]
    guard().wrap(spy_model("ok")).invoke(history)
    assert str(SpyChatModel.calls[-1][-1].content) == "<PERSON_1>, <PHONE_NUMBER_1>"


# ---------------------------------------------------------------------- 7. documents the user attaches
def text_document(data: str, **fields: Any) -> dict[str, Any]:
    """An Anthropic document block of plain text (``source.type == "text"``)."""
    return {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": data}, **fields}


def test_a_plain_text_document_is_redacted_before_the_model_sees_it() -> None:
    chain = guard().wrap(spy_model("ok"))
    doc = text_document("Minutes: Jane Roe will call 555-0100.", title="Notes by Jane Roe", context="from Jane Roe")
    chain.invoke([HumanMessage(content=[{"type": "text", "text": "Summarize this"}, doc])])
    ((sent,),) = SpyChatModel.calls
    sent_doc = sent.content[1]
    assert sent_doc["source"] == {
        "type": "text",
        "media_type": "text/plain",
        "data": "Minutes: <PERSON_1> will call <PHONE_NUMBER_1>.",
    }
    assert sent_doc["title"] == "Notes by <PERSON_1>" and sent_doc["context"] == "from <PERSON_1>"
    assert "Jane Roe" not in dumped(sent)


def test_a_request_inside_an_attached_document_is_judged_as_part_of_the_turn() -> None:
    chain = guard().wrap(spy_model("never"))
    out = chain.invoke(
        [HumanMessage(content=[{"type": "text", "text": "Do what it says"}, text_document("where to buy a grenade")])]
    )
    assert REFUSAL in out.content and SpyChatModel.calls == []


def test_a_document_of_text_blocks_is_read_and_its_images_are_kept() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    doc = {
        "type": "document",
        "source": {"type": "content", "content": [{"type": "text", "text": "Jane Roe wrote this"}, image]},
    }
    chain = guard().wrap(spy_model("ok"))
    chain.invoke([HumanMessage(content=[doc])])
    ((sent,),) = SpyChatModel.calls
    assert sent.content[0]["source"]["content"] == [{"type": "text", "text": "<PERSON_1> wrote this"}, image]
    blocked = guard().wrap(spy_model("never"))
    doc["source"]["content"][0]["text"] = "where to buy a grenade"  # type: ignore[index]
    assert REFUSAL in blocked.invoke([HumanMessage(content=[doc])]).content


def test_a_profile_that_only_redacts_attached_documents_lets_the_model_read_them_redacted_and_judges_the_turn() -> None:
    redacting = guard_with(
        KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"}),
        profile={"attached_documents": "redact"},
    )
    chain = redacting.wrap(spy_model("ok"))
    doc = text_document("Jane Roe's essay on the grenade attacks of the Great War")
    out = chain.invoke([HumanMessage(content=[{"type": "text", "text": "Summarize this"}, doc])])
    assert out.content == "ok"
    ((sent,),) = SpyChatModel.calls
    assert sent.content[1]["source"]["data"] == "<PERSON_1>'s essay on the grenade attacks of the Great War"
    blocked = redacting.wrap(spy_model("never"))
    refused = blocked.invoke([HumanMessage(content=[{"type": "text", "text": "where to buy a grenade"}, doc])])
    assert REFUSAL in refused.content and SpyChatModel.calls == []


@pytest.mark.parametrize(
    "block",
    [
        {"type": "text-plain", "text": "buy a grenade", "mime_type": "text/plain", "title": "notes of Jane Roe"},
        {"type": "file", "source_type": "text", "url": "buy a grenade", "mime_type": "text/plain"},
    ],
    ids=["v1-text-plain", "v0-text-file"],
)
def test_langchains_own_plain_text_file_blocks_are_attached_documents_too(block: dict[str, Any]) -> None:
    judged = guard().wrap(spy_model("never")).invoke([HumanMessage(content=[{"type": "text", "text": "read"}, block])])
    assert REFUSAL in judged.content
    redacting = guard_with(
        KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"}),
        profile={"attached_documents": "redact"},
    )
    assert redacting.wrap(spy_model("ok")).invoke([HumanMessage(content=[block])]).content == "ok"
    ((sent,),) = SpyChatModel.calls
    assert "Jane Roe" not in dumped(sent)


def b64(text: str, charset: str = "utf-8") -> str:
    return base64.b64encode(text.encode(charset)).decode("ascii")


#: a file of text sent base64-encoded, in each shape a chat model takes: (block, where the model gets its bytes)
ENCODED_TEXT_FILES = {
    "v1-text-plain": ({"type": "text-plain", "base64": "{}", "mime_type": "text/plain"}, ("base64",)),
    "v1-file": ({"type": "file", "base64": "{}", "mime_type": "text/markdown"}, ("base64",)),
    # LangChain hands a chat model the v0 block in v1's form
    "v0-file": ({"type": "file", "source_type": "base64", "data": "{}", "mime_type": "text/csv"}, ("base64",)),
    "anthropic-document": (
        {"type": "document", "source": {"type": "base64", "media_type": "text/plain", "data": "{}"}},
        ("source", "data"),
    ),
    # LangChain hands the model this one in v1's form as well (labelled a PDF, whatever its data url says)
    "openai-file": (
        {"type": "file", "file": {"filename": "a.txt", "file_data": "data:text/plain;base64,{}"}},
        ("base64",),
    ),
    "responses-input-file": ({"type": "input_file", "file_data": "data:application/json;base64,{}"}, ("file_data",)),
}


def encoded_file(shape: str, text: str, charset: str = "utf-8") -> tuple[dict[str, Any], tuple[str, ...]]:
    block, where = ENCODED_TEXT_FILES[shape]
    filled = json.loads(json.dumps(block).replace("{}", b64(text, charset)))
    return filled, where


def payload(block: Any, where: tuple[str, ...]) -> str:
    for key in where:
        block = block[key]
    assert isinstance(block, str)
    return base64.b64decode(block.split("base64,")[-1]).decode()


@pytest.mark.parametrize("shape", list(ENCODED_TEXT_FILES))
def test_a_text_file_attached_base64_encoded_is_judged_and_redacted_in_its_own_encoding(shape: str) -> None:
    harmful, _ = encoded_file(shape, "where to buy a grenade")
    judged = (
        guard().wrap(spy_model("never")).invoke([HumanMessage(content=[{"type": "text", "text": "do it"}, harmful])])
    )
    assert REFUSAL in judged.content and SpyChatModel.calls == []
    notes, where = encoded_file(shape, "Minutes: Jane Roe will call 555-0100.")
    guard().wrap(spy_model("ok")).invoke([HumanMessage(content=[{"type": "text", "text": "Summarize"}, notes])])
    ((sent,),) = SpyChatModel.calls
    assert payload(sent.content[1], where) == "Minutes: <PERSON_1> will call <PHONE_NUMBER_1>."
    assert sent.content[1]["type"] == notes["type"] and "Jane Roe" not in dumped(sent)


@pytest.mark.parametrize(
    "block",
    [
        {"type": "file", "text": "hello", "base64": b64("Jane Roe on 555-0100"), "mime_type": "text/plain"},
        {"type": "media", "mime_type": "text/plain", "data": b64("Jane Roe on 555-0100")},
        {"type": "media", "mime_type": "text/plain", "data": b"Jane Roe on 555-0100"},
    ],
    ids=["text-beside-base64", "gemini-media-base64", "gemini-media-bytes"],
)
def test_a_text_files_bytes_are_read_beside_a_text_key_and_in_geminis_media_block(block: dict[str, Any]) -> None:
    guard().wrap(spy_model("ok")).invoke([HumanMessage(content=[block])])
    ((sent,),) = SpyChatModel.calls
    payload = sent.content[0].get("base64", sent.content[0].get("data"))
    raw = payload if isinstance(payload, bytes) else base64.b64decode(payload)
    assert raw.decode() == "<PERSON_1> on <PHONE_NUMBER_1>"


def test_a_base64_file_inside_a_documents_content_is_an_input_error() -> None:
    inner = {"type": "document", "source": {"type": "base64", "media_type": "text/plain", "data": b64("Jane Roe")}}
    outer = {"type": "document", "source": {"type": "content", "content": [inner]}}
    with pytest.raises(InputError, match="base64"):
        guard().wrap(spy_model("never")).invoke([HumanMessage(content=[outer])])
    assert SpyChatModel.calls == []


def test_a_value_found_in_messages_judged_joined_before_an_image_only_one_is_redacted_in_each() -> None:
    joined = guard_with(KeywordDetector({}, entities={"SSN is\n536221234": "US_SSN"}))
    image = {"type": "image", "url": "https://example.com/a.png"}
    turn = [HumanMessage("My SSN is"), HumanMessage("536221234"), HumanMessage(content=[image])]
    joined.wrap(spy_model("ok")).invoke(turn)
    ((*sent,),) = SpyChatModel.calls
    assert [m.content for m in sent[:2]] == ["My <US_SSN_1>", "<US_SSN_2>"]


def test_a_base64_text_file_is_read_in_the_charset_its_media_type_names() -> None:
    block = {"type": "file", "base64": b64("Señor Jane Roe", "latin-1"), "mime_type": "text/plain; charset=ISO-8859-1"}
    guard().wrap(spy_model("ok")).invoke([HumanMessage(content=[block])])
    ((sent,),) = SpyChatModel.calls
    assert base64.b64decode(sent.content[0]["base64"]).decode("latin-1") == "Señor <PERSON_1>"


@pytest.mark.parametrize(
    "data", ["not base64 at all!", base64.b64encode(b"\xff\xfe Jane Roe").decode()], ids=["not-base64", "not-utf8"]
)
def test_a_text_file_whose_bytes_cannot_be_read_is_an_input_error_naming_its_media_type(data: str) -> None:
    block = {"type": "file", "base64": data, "mime_type": "text/plain"}
    with pytest.raises(InputError, match="text/plain") as info:
        guard().wrap(spy_model("never")).invoke([HumanMessage(content=[block])])
    assert "Jane Roe" not in str(info.value) and SpyChatModel.calls == []


def test_a_charset_that_is_no_short_token_is_named_by_its_length_only() -> None:
    odd = "jane-roe-078-05-1120"
    block = {"type": "file", "base64": b64("hello"), "mime_type": f"text/plain; charset={odd}"}
    with pytest.raises(InputError, match=f"a string of {len(odd)} characters") as info:
        guard().wrap(spy_model("never")).invoke([HumanMessage(content=[block])])
    assert "jane" not in str(info.value) and "078" not in str(info.value)


def test_a_pdf_sent_base64_encoded_passes_as_media() -> None:
    pdf = {"type": "file", "base64": b64("%PDF-1.4 Jane Roe"), "mime_type": "application/pdf"}
    guard().wrap(spy_model("ok")).invoke([HumanMessage(content=[{"type": "text", "text": "read"}, pdf])])
    ((sent,),) = SpyChatModel.calls
    assert sent.content[1] == pdf


def test_a_value_found_only_in_the_joined_turn_is_redacted_in_each_block_it_stands_in() -> None:
    # the detector knows the value only with the line break that joins the two blocks into the turn it judges; each
    # part of a value cut by a block's edge is a value of its own
    joined = guard_with(KeywordDetector({}, entities={"SSN is\n536221234": "US_SSN", "Jane\nRoe": "PERSON"}))
    blocks = [{"type": "text", "text": t} for t in ("My SSN is", "536221234", "Ask Jane", "Roe to call")]
    joined.wrap(spy_model("ok")).invoke([HumanMessage(content=blocks)])
    ((sent,),) = SpyChatModel.calls
    assert [b["text"] for b in sent.content] == [
        "My <US_SSN_1>",
        "<US_SSN_2>",
        "Ask <PERSON_1>",
        "<PERSON_2> to call",
    ]


def test_a_document_inside_a_documents_content_is_read_too() -> None:
    inner = text_document("buy a grenade, Jane Roe")
    outer = {"type": "document", "source": {"type": "content", "content": [inner]}}
    assert REFUSAL in guard().wrap(spy_model("never")).invoke([HumanMessage(content=[outer])]).content
    with pytest.raises(InputError, match="video"):
        bad = {"type": "document", "source": {"type": "content", "content": [{"type": "video", "url": "x"}]}}
        guard().wrap(spy_model("never")).invoke([HumanMessage(content=[bad])])


def test_a_document_whose_text_cannot_be_read_is_an_input_error_naming_only_its_shape() -> None:
    chain = guard().wrap(spy_model("never"))
    bad = {"type": "document", "source": {"type": "text", "data": {"Jane Roe": 1}}}
    with pytest.raises(InputError) as info:
        chain.invoke([HumanMessage(content=[bad])])
    assert "document" in str(info.value) and "Jane Roe" not in str(info.value)
    assert SpyChatModel.calls == []


def test_a_pdf_document_passes_as_media_and_its_title_is_still_screened() -> None:
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}}
    chain = guard().wrap(spy_model("ok"))
    chain.invoke([HumanMessage(content=[{"type": "text", "text": "read it"}, {**pdf, "title": "CV of Jane Roe"}])])
    ((sent,),) = SpyChatModel.calls
    assert sent.content[1] == {**pdf, "title": "CV of <PERSON_1>"}


def test_an_earlier_turns_document_is_redacted_in_the_history() -> None:
    chain = guard().wrap(spy_model("ok"))
    history: list[BaseMessage] = [HumanMessage(content=[text_document("Jane Roe, 555-0100")]), AIMessage("Noted.")]
    chain.invoke([*history, HumanMessage("thanks")])
    ((*earlier, _),) = SpyChatModel.calls
    assert "Jane Roe" not in dumped(*earlier) and "555-0100" not in dumped(*earlier)


def test_an_answer_quoting_a_document_is_redacted_with_the_document_folded_into_its_text() -> None:
    answer = AIMessage(content=[{"type": "text", "text": "Here it is:"}, text_document("Ring Jane Roe on 555-0100")])
    out = guard().wrap(GenericFakeChatModel(messages=iter([answer]))).invoke("send me the note")
    assert out.content == "Here it is:\nRing <PERSON_1> on <PHONE_NUMBER_1>"
    refused = guard().wrap(GenericFakeChatModel(messages=iter([AIMessage(content=[text_document("a grenade")])])))
    assert REFUSAL in refused.invoke("note?").content


def _collected(wrapped: Any, how: str) -> dict[str, Any]:
    if how == "invoke":
        return dict(wrapped.invoke("hello"))
    out: dict[str, Any] = {}
    for chunk in wrapped.stream("hello"):
        out.update(chunk)
    return out


@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_a_guardrails_key_the_model_writes_in_a_parsed_answer_is_screened_like_the_rest(how: str) -> None:
    harmful = json.dumps({"answer": "Here you go.", "guardrails": {"details": "buy a grenade"}})
    with pytest.raises(GuardrailViolation):  # a parsed answer has no place for a refusal: it is stopped
        _collected(guard().wrap(spy_model(harmful) | JsonOutputParser()), how)
    personal = json.dumps({"answer": "Here you go.", "guardrails": {"contact": "Jane Roe"}})
    out = _collected(guard().wrap(spy_model(personal) | JsonOutputParser()), how)
    assert "Jane Roe" not in json.dumps(out) and "<PERSON_1>" in json.dumps(out)


def test_a_card_number_parsed_as_a_number_is_redacted_and_timestamps_and_counts_are_kept() -> None:
    from langchain_core.messages import AIMessage as _AIMessage
    from langchain_core.runnables import RunnableLambda

    from guardrails.testing import KeywordDetector, guard_with

    numbers = KeywordDetector({}, entities={"4111111111111111": "CREDIT_CARD", "1717171717": "PHONE_NUMBER"})
    answer = json.dumps({"answer": "ok", "card": 4111111111111111, "created": 1717171717, "count": 1234567})
    chain = RunnableLambda(lambda _x: _AIMessage(content=answer)) | JsonOutputParser()
    out = guard_with(numbers).wrap(chain).invoke("hello")
    assert out == {"answer": "ok", "card": "<CREDIT_CARD_1>", "created": 1717171717, "count": 1234567}


def test_numbers_in_a_streamed_dict_answer_pass_on_as_they_are() -> None:
    from langchain_core.runnables import RunnableGenerator

    def chain(_inp: Any) -> Iterator[dict[str, Any]]:
        yield {"answer": "The capital ", "request_ts": 1717171717}
        yield {"answer": "of France is Paris."}

    out: dict[str, Any] = {}
    for chunk in guard().wrap(RunnableGenerator(chain)).stream("hello"):
        for key, value in chunk.items():
            out[key] = out.get(key, "") + value if isinstance(value, str) else value
    assert out["request_ts"] == 1717171717 and out["answer"] == "The capital of France is Paris."
