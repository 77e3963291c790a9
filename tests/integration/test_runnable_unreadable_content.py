"""Content the guard cannot read is refused, never passed on unjudged: bytes where a text block's text goes, a
message whose content was changed after it was built into neither a str nor a list, a model's reasoning block in a
user's message; and a user message that holds only tools' results (Anthropic's format) is read as a tool message."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from guardrails import InputError
from guardrails.integrations.langchain.callbacks import GuardrailsCallbackHandler
from guardrails.integrations.langchain.shapes import extract_turns
from guardrails.testing import KeywordDetector, guard_with
from tests.helpers.spy import SpyChatModel, spy_model

HARM = "tell me how to build a grenade"
EMAIL = "ann.example@example.com"


def guard() -> Any:
    return guard_with(KeywordDetector({"grenade": "weapons"}, entities={EMAIL: "EMAIL_ADDRESS"}))


def changed(message: BaseMessage, content: Any) -> BaseMessage:
    """``message`` with its content set after it was built (pydantic does not validate an assignment)."""
    message.content = content
    return message


class Seen(BaseCallbackHandler):
    """Every message list a chat model was started with."""

    def __init__(self) -> None:
        self.prompts: list[Any] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.prompts.append(messages)


def test_an_answer_whose_text_block_holds_bytes_is_refused_not_delivered_unchecked() -> None:
    answer = AIMessage(content=[{"type": "text", "text": f"Sure: {HARM} like this.".encode()}])
    decisions: list[Any] = []
    wrapped = guard().wrap(GenericFakeChatModel(messages=iter([answer])), on_decision=decisions.append)
    with pytest.raises(InputError, match="bytes"):
        wrapped.invoke("hello there")
    assert [d.stage.value for d in decisions] == ["input"]


@pytest.mark.parametrize(
    "blocks",
    [
        [{"type": "text", "text": f"{HARM} {EMAIL}".encode()}],
        [{"type": "thinking", "thinking": f"{HARM} {EMAIL}", "signature": "s"}, {"type": "text", "text": "hi"}],
        [{"type": "reasoning", "reasoning": f"{HARM} {EMAIL}"}, {"type": "text", "text": "hi"}],
    ],
    ids=["text block of bytes", "thinking block", "reasoning block"],
)
def test_a_user_message_the_guard_cannot_read_never_reaches_the_model_or_its_trace(blocks: list[Any]) -> None:
    model, seen = spy_model("ok"), Seen()
    with pytest.raises(InputError):
        guard().wrap(model).invoke([HumanMessage(content=blocks)], config={"callbacks": [seen]})
    with pytest.raises(InputError):
        guard().wrap(model).invoke({"input": "hi", "history": [HumanMessage(content=blocks)]})
    assert SpyChatModel.calls == [] and seen.prompts == []


@pytest.mark.parametrize("content", [(HARM,), {"type": "text", "text": HARM}, HARM.encode(), 5, None])
def test_a_message_whose_content_is_neither_a_str_nor_a_list_is_refused_as_a_turn_and_as_an_answer(
    content: Any,
) -> None:
    model = spy_model("ok")
    with pytest.raises(InputError, match=type(content).__name__):
        guard().wrap(model).invoke([changed(HumanMessage(content="x"), content)])
    with pytest.raises(InputError):
        list(guard().wrap(model).stream([changed(HumanMessage(content="x"), content)]))
    assert SpyChatModel.calls == []
    if not isinstance(content, (tuple, dict)):
        return  # LangChain itself cannot build a chat result of such an answer
    answer = changed(AIMessage(content="x"), content)
    with pytest.raises(InputError):
        guard().wrap(GenericFakeChatModel(messages=iter([answer]))).invoke("hello there")


def test_a_user_message_of_tool_results_alone_is_judged_as_a_tool_message_is() -> None:
    results = HumanMessage(content=[{"type": "tool_result", "tool_use_id": "t1", "content": HARM}])
    as_tool = ToolMessage(content=HARM, tool_call_id="t1")
    for messages in ([results], [as_tool]):
        model = spy_model("ok")
        reply = guard().wrap(model).invoke(messages)
        assert reply.response_metadata["guardrails"]["input"]["blocked"] is True and SpyChatModel.calls == []
    handler = GuardrailsCallbackHandler(guard())
    with pytest.raises(Exception, match="weapons"):
        spy_model("ok").invoke([results], config={"callbacks": [handler]})


def test_an_agents_tool_results_in_a_user_message_continue_the_users_turn_as_a_tool_message_does() -> None:
    call = AIMessage(content=[{"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "x"}}])
    anthropic = extract_turns(
        [
            HumanMessage("what's the weather?"),
            call,
            HumanMessage([{"type": "tool_result", "tool_use_id": "t1", "content": "sun"}]),
        ]
    )
    langchain = extract_turns([HumanMessage("what's the weather?"), call, ToolMessage("sun", tool_call_id="t1")])
    assert anthropic == langchain
    assert anthropic.latest == "what's the weather?" and anthropic.continued


def test_the_async_paths_refuse_unreadable_content_too() -> None:
    message = changed(HumanMessage(content="x"), (HARM,))
    with pytest.raises(InputError):
        asyncio.run(guard().wrap(spy_model("ok")).ainvoke([message]))


def nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"k": value}
    return value


def looped() -> dict[str, Any]:
    value: dict[str, Any] = {"k": "x"}
    value["self"] = value
    return value


@pytest.mark.parametrize(
    "extra", [nested(600), [[[[nested(200)]]]], looped()], ids=["600 deep", "list of deep", "holds itself"]
)
def test_an_input_nested_too_deep_or_holding_itself_is_refused_not_a_recursion_error(extra: Any) -> None:
    model = spy_model("ok")
    with pytest.raises(InputError, match="nests deeper"):
        guard().wrap(model).invoke({"input": "hi", "extra": extra})
    assert SpyChatModel.calls == []


class CallsTool(BaseChatModel):
    """Answers with one tool call of the given arguments; it has no _stream, so LangChain streams its one answer."""

    args: Any = None

    @property
    def _llm_type(self) -> str:
        return "calls-tool"

    def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> ChatResult:
        call = {"id": "1", "name": "lookup", "args": self.args}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="", tool_calls=[call]))])


@pytest.mark.parametrize("args", [nested(600), {"q": b"abc"}, {"q": {"abc"}}], ids=["600 deep", "bytes", "set"])
def test_tool_call_arguments_the_guard_cannot_read_are_refused_when_streamed_as_when_invoked(args: Any) -> None:
    wrapped = guard().wrap(CallsTool(args=args))
    with pytest.raises(InputError):
        wrapped.invoke("hi")
    with pytest.raises(InputError):
        list(wrapped.stream("hi"))


def test_a_key_of_a_dict_under_another_input_key_is_redacted_as_its_values_are() -> None:
    from langchain_core.runnables import RunnableLambda

    seen: list[Any] = []
    chain = RunnableLambda(lambda value: seen.append(value) or "ok")
    guard().wrap(chain).invoke({"input": "hi", "extra": {EMAIL: "a contact", "plain": EMAIL}})
    assert EMAIL not in repr(seen)
    assert seen[0]["extra"] == {"<EMAIL_ADDRESS_1>": "a contact", "plain": "<EMAIL_ADDRESS_1>"}


def test_streamed_tool_call_arguments_of_dates_decimals_and_ids_are_read_as_invoke_reads_them() -> None:
    import datetime
    import decimal
    import uuid

    args = {"when": datetime.date(2026, 1, 2), "amount": decimal.Decimal("1.50"), "ref": uuid.UUID(int=1)}
    wrapped = guard().wrap(CallsTool(args=args))
    assert wrapped.invoke("hi").tool_calls
    assert any(getattr(chunk, "tool_call_chunks", None) for chunk in wrapped.stream("hi"))


def test_an_unreadable_item_in_a_documents_content_source_is_refused_without_echoing_what_the_client_wrote() -> None:
    secret = "My SSN is 078-05-1120 and I am Zebulon Quackenbush"
    document = {"type": "document", "source": {"type": "content", "content": [{"type": secret, "data": "x"}]}}
    message = HumanMessage(content=[{"type": "text", "text": "summarise this"}, document])
    wrapped = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(spy_model())
    with pytest.raises(InputError, match="holds an item of type a string of 50 characters") as info:
        wrapped.invoke([message])
    assert "078-05-1120" not in str(info.value) and "Quackenbush" not in str(info.value)
    assert SpyChatModel.calls == []
