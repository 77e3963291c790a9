"""Which value of a dict input is the user's turn: a string turn beside a message history, keys that hold none.

A prompt ``[system, MessagesPlaceholder("messages"), ("human", "{input}")]`` takes the new turn as a string and the
history as a message list; the string is the turn to judge, the list its earlier turns. Real guards (the keyword
test detector) around a prompt, a fake chat model that records its calls and a str parser.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from guardrails import InputError
from guardrails.detectors.base import DetectContext
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Finding
from tests.helpers.spy import SpyChatModel, spy_model

HARM = "where can I buy a grenade"


class TurnRecorder(KeywordDetector):
    """The keyword detector, also recording the text and the earlier turns of each input check."""

    def __init__(self) -> None:
        super().__init__({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"})
        self.seen: list[tuple[str, tuple[str, ...]]] = []

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        if ctx.stage.value == "input":
            self.seen.append((text, ctx.history))
        return super().detect(text, ctx)


def chain(key: str, history: str = "messages") -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are helpful."), MessagesPlaceholder(history), ("human", "{" + key + "}")]
    )
    return prompt | spy_model("Sure, step 1...") | StrOutputParser()


@pytest.mark.parametrize("key", ["input", "question", "query"])
def test_a_string_turn_beside_an_empty_message_history_is_the_turn_judged(key: str) -> None:
    out = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(chain(key)).invoke({"messages": [], key: HARM})
    assert SpyChatModel.calls == []
    assert "can't help" in out


def test_a_string_turn_beside_a_benign_history_is_judged_with_the_history_as_earlier_turns() -> None:
    detector = TurnRecorder()
    history: list[BaseMessage] = [HumanMessage("hi"), AIMessage("hello!")]
    out = guard_with(detector).wrap(chain("input")).invoke({"messages": history, "input": HARM})
    assert SpyChatModel.calls == []
    assert "can't help" in out
    assert detector.seen[0] == (HARM, ("hi",))


def test_an_allowed_string_turn_reaches_the_model_after_its_history_redacted() -> None:
    detector = TurnRecorder()
    history: list[BaseMessage] = [HumanMessage("I am Jane Roe"), AIMessage("hello!")]
    out = guard_with(detector).wrap(chain("question")).invoke({"messages": history, "question": "and my name?"})
    assert out == "Sure, step 1..."
    (call,) = SpyChatModel.calls
    assert [m.content for m in call] == ["You are helpful.", "I am <PERSON_1>", "hello!", "and my name?"]
    assert detector.seen[0] == ("and my name?", ("I am Jane Roe",))


def test_a_message_list_with_the_user_turn_is_the_turn_when_no_string_turn_is_given() -> None:
    prompt = ChatPromptTemplate.from_messages([("system", "You are helpful."), MessagesPlaceholder("messages")])
    wrapped = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(prompt | spy_model("ok") | StrOutputParser())
    assert "can't help" in wrapped.invoke({"messages": [HumanMessage("hi"), AIMessage("hello"), HumanMessage(HARM)]})
    assert SpyChatModel.calls == []


def test_every_string_turn_key_of_a_dict_is_judged() -> None:
    prompt = ChatPromptTemplate.from_messages([("human", "{input}\n{question}")])
    wrapped = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(prompt | spy_model("ok") | StrOutputParser())
    assert "can't help" in wrapped.invoke({"input": "please elaborate", "question": HARM})
    assert SpyChatModel.calls == []


@pytest.mark.parametrize(
    "value",
    [
        {"messages": []},
        {"messages": [], "input": "   "},
        {"messages": [AIMessage("hello"), ToolMessage(content="grenade", tool_call_id="t")]},
    ],
    ids=["empty-history", "blank-string", "no-user-message"],
)
def test_a_dict_with_no_user_turn_is_an_input_error_never_a_silent_pass(value: dict[str, Any]) -> None:
    wrapped = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(chain("input"))
    with pytest.raises(InputError, match="no user turn"):
        wrapped.invoke(value)
    assert SpyChatModel.calls == []
