"""Dict inputs: every key's text is redacted before the chain sees it, and a separate chat history counts.

A chain often takes ``{"input": ..., "chat_history": [...], "context": ...}``; the guard judges the
input key, but PII under the other keys must not reach the model either. Real guards (the keyword
test detector) around a runnable that records what it received.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage
from langchain_core.prompt_values import ChatPromptValue
from langchain_core.runnables import RunnableLambda

from guardrails import Guard
from guardrails.detectors.base import DetectContext
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Finding

PII = {"Jane Roe": "PERSON", "555-0100": "PHONE_NUMBER"}


class HistoryRecorder(KeywordDetector):
    """The keyword detector, also recording the earlier turns each input check was given."""

    def __init__(self) -> None:
        super().__init__({"grenade": "weapons"}, entities=PII)
        self.histories: list[tuple[str, ...]] = []

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        self.histories.append(ctx.history)
        return super().detect(text, ctx)


def recording_chain() -> tuple[RunnableLambda[Any, str], list[Any]]:
    seen: list[Any] = []

    def chain(value: Any) -> str:
        seen.append(value)
        return "fine"

    return RunnableLambda(chain), seen


def guard(detector: KeywordDetector | None = None) -> Guard:
    return guard_with(detector or KeywordDetector({"grenade": "weapons"}, entities=PII))


def test_pii_under_every_key_of_a_dict_input_is_redacted_before_the_chain_sees_it() -> None:
    chain, seen = recording_chain()
    history: list[BaseMessage] = [HumanMessage("I am Jane Roe"), AIMessage("Hello Jane Roe")]
    guard().wrap(chain).invoke(
        {
            "input": "what is my number?",
            "chat_history": history,
            "context": "Jane Roe's phone is 555-0100",
            "extra": {"notes": ["call 555-0100"], "count": 3},
            "docs": [Document(page_content="Jane Roe lives here", metadata={"id": 7})],
        }
    )
    (sent,) = seen
    assert sent["input"] == "what is my number?"
    assert [m.content for m in sent["chat_history"]] == ["I am <PERSON_1>", "Hello <PERSON_1>"]
    assert sent["context"] == "<PERSON_1>'s phone is <PHONE_NUMBER_1>"
    assert sent["extra"] == {"notes": ["call <PHONE_NUMBER_1>"], "count": 3}
    assert sent["docs"][0].page_content == "<PERSON_1> lives here" and sent["docs"][0].metadata == {"id": 7}
    assert "Jane Roe" not in repr(sent) and "555-0100" not in repr(sent)


def test_passthrough_keys_reach_the_chain_unchanged() -> None:
    chain, seen = recording_chain()
    guard().wrap(chain, passthrough_keys=["account"]).invoke({"input": "hi Jane Roe", "account": "Jane Roe"})
    assert seen == [{"input": "hi <PERSON_1>", "account": "Jane Roe"}]


def test_a_prompt_value_under_another_key_is_redacted() -> None:
    chain, seen = recording_chain()
    prompt = ChatPromptValue(messages=[HumanMessage("ring 555-0100")])
    guard().wrap(chain).invoke({"question": "ok?", "earlier": prompt})
    assert seen[0]["earlier"].to_messages()[0].content == "ring <PHONE_NUMBER_1>"


def test_user_turns_of_a_separate_chat_history_count_as_earlier_turns() -> None:
    detector = HistoryRecorder()
    chain, _ = recording_chain()
    history: list[BaseMessage] = [HumanMessage("first"), AIMessage("answer"), HumanMessage("second")]
    guard(detector).wrap(chain).invoke({"input": "third", "chat_history": history})
    assert detector.histories[0] == ("first", "second")


def test_a_passthrough_chat_history_does_not_count_as_earlier_turns() -> None:
    detector = HistoryRecorder()
    chain, _ = recording_chain()
    wrapped = guard(detector).wrap(chain, passthrough_keys=("chat_history",))
    wrapped.invoke({"input": "third", "chat_history": [HumanMessage("first")]})
    assert detector.histories[0] == ()


def test_objects_the_guard_cannot_read_under_other_keys_pass_as_they_are() -> None:
    chain, seen = recording_chain()
    marker = object()
    guard().wrap(chain).invoke({"input": "hi", "retriever_config": marker, "k": 4, "flag": None})
    assert seen[0]["retriever_config"] is marker and seen[0]["k"] == 4 and seen[0]["flag"] is None


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("chat_history", "sequence of str keys"),
        ([1], "sequence of str keys"),
        (5, "sequence of str keys"),
        (["input"], "also input_keys"),
    ],
)
def test_bad_passthrough_keys_are_rejected_naming_the_value(keys: Any, message: str) -> None:
    chain, _ = recording_chain()
    with pytest.raises(ValueError, match=message):
        guard().wrap(chain, passthrough_keys=keys)


@pytest.mark.slow
def test_presidio_redacts_an_email_in_a_separate_chat_history() -> None:
    chain, seen = recording_chain()
    history = [HumanMessage("my address is maria.lopez@example.org"), AIMessage("Noted.")]
    Guard.from_profile("general").wrap(chain).invoke({"input": "thanks", "chat_history": history})
    assert seen[0]["chat_history"][0].content == "my address is <EMAIL_ADDRESS_1>"


@pytest.mark.parametrize(
    "history",
    [
        [("human", "first"), ("ai", "answer"), ("human", "second")],
        [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "a"},
            {"role": "user", "content": "second"},
        ],
        [ChatMessage(role="user", content="first"), AIMessage("answer"), HumanMessage("second")],
    ],
    ids=["pairs", "role-dicts", "chat-messages"],
)
def test_a_chat_history_of_pairs_role_dicts_or_chat_messages_counts_as_earlier_turns(history: list[Any]) -> None:
    detector = HistoryRecorder()
    chain, _ = recording_chain()
    guard(detector).wrap(chain).invoke({"input": "third", "chat_history": history})
    assert detector.histories[0] == ("first", "second")


def test_a_plain_list_of_strings_under_another_key_is_not_a_chat_history() -> None:
    detector = HistoryRecorder()
    chain, seen = recording_chain()
    guard(detector).wrap(chain).invoke({"input": "hi", "tags": ["first", "Jane Roe"]})
    assert detector.histories[0] == () and seen[0]["tags"] == ["first", "<PERSON_1>"]


def test_user_chat_messages_are_redacted_wherever_they_are() -> None:
    chain, seen = recording_chain()
    guard().wrap(chain).invoke(
        {
            "messages": [ChatMessage(role="user", content="I am Jane Roe")],
            "old": [ChatMessage(role="user", content="555-0100")],
        }
    )
    assert seen[0]["messages"][0].content == "I am <PERSON_1>"
    assert seen[0]["old"][0].content == "<PHONE_NUMBER_1>"


Pair = namedtuple("Pair", "count name")


def test_containers_under_other_keys_keep_their_types_and_are_redacted() -> None:
    chain, seen = recording_chain()
    guard().wrap(chain).invoke(
        {"input": "hi", "pair": Pair(3, "Jane Roe"), "names": {"Jane Roe"}, "frozen": frozenset({"call 555-0100"})}
    )
    sent = seen[0]
    assert sent["pair"] == Pair(3, "<PERSON_1>") and isinstance(sent["pair"], Pair)
    assert sent["names"] == {"<PERSON_1>"}
    assert sent["frozen"] == frozenset({"call <PHONE_NUMBER_1>"})
