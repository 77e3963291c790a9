"""Redaction of a wrapped chain's input and answer: whose values come back, and how placeholders are numbered.

Reversible mode shows the user their own values again, and nothing else: not the values of tool results,
earlier answers or documents. Within one turn every value has one placeholder, whatever text it is in, and a
history is numbered in the order it was written, so a vault that forgot the conversation numbers it as before.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda

from guardrails import Guard
from guardrails.testing import KeywordDetector, guard_with
from tests.helpers.spy import SpyChatModel, spy_model

PII = {
    "Jane Roe": "PERSON",
    "John Doe": "PERSON",
    "Ann Lee": "PERSON",
    "555-0199": "PHONE_NUMBER",
    "4111 1111 1111 1111": "CREDIT_CARD",
}
CARD = "4111 1111 1111 1111"


def guard(**redaction: Any) -> Guard:
    return guard_with(KeywordDetector({"grenade": "weapons"}, entities=PII), profile={"redaction": redaction})


def conversation(cid: str) -> dict[str, Any]:
    return {"configurable": {"conversation_id": cid}}


def shown(chain: Any, chat_input: Any, config: dict[str, Any] | None, *, streamed: bool) -> str:
    """The answer text the user sees, from ``invoke`` or joined from ``stream``."""
    if streamed:
        return "".join(str(c.content) for c in chain.stream(chat_input, config=config))
    return str(chain.invoke(chat_input, config=config).content)


def sent() -> list[str]:
    """The texts of the model's last call."""
    return [str(m.content) for m in SpyChatModel.calls[-1]]


def tool_turn(user: str, result: str) -> list[BaseMessage]:
    """A user turn, the model's tool call, and the tool's result."""
    return [
        HumanMessage(user),
        AIMessage("", tool_calls=[{"name": "lookup", "args": {"id": 42}, "id": "t1"}]),
        ToolMessage(result, tool_call_id="t1"),
    ]


# ---------------------------------------------------------------------- whose values come back
@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_values_from_a_tool_result_are_not_restored_in_the_answer(streamed: bool) -> None:
    chain = guard(reversible=True).wrap(spy_model("The phone of <PERSON_2> is <PHONE_NUMBER_1>, <PERSON_1>."))
    messages = tool_turn("I'm Jane Roe. look up customer 42's phone", "Customer 42: John Doe, phone 555-0199")
    answer = shown(chain, messages, conversation(f"tool-{streamed}"), streamed=streamed)
    assert sent()[2] == "Customer 42: <PERSON_2>, phone <PHONE_NUMBER_1>"
    assert answer == "The phone of <PERSON_2> is <PHONE_NUMBER_1>, Jane Roe."


def test_values_from_an_earlier_answer_are_not_restored_in_the_answer() -> None:
    chain = guard(reversible=True).wrap(spy_model("<PERSON_1> called about <PERSON_2>."))
    history = [HumanMessage("any calls?"), AIMessage("Your manager John Doe called."), HumanMessage("I'm Jane Roe")]
    answer = chain.invoke(history, config=conversation("earlier")).content
    assert sent()[1] == "Your manager <PERSON_1> called."
    assert answer == "<PERSON_1> called about Jane Roe."


@pytest.mark.parametrize("context", ["Written by John Doe.", ["Written by John Doe."]], ids=["str", "list-of-str"])
def test_values_from_documents_passed_with_the_question_are_not_restored_in_the_answer(context: Any) -> None:
    def answer(data: dict[str, Any]) -> AIMessage:
        author = re.search(r"<PERSON_\d+>", str(data["context"]))
        reader = re.search(r"<PERSON_\d+>", data["question"])
        assert author is not None and reader is not None
        return AIMessage(f"{author.group(0)} wrote it for {reader.group(0)}.")

    chain = guard(reversible=True).wrap(RunnableLambda(answer))
    question = {"question": "I'm Jane Roe, who wrote this?", "context": context}
    out = chain.invoke(question, config=conversation(f"documents-{type(context).__name__}")).content
    assert "John Doe" not in out and out.endswith(" wrote it for Jane Roe.")


@pytest.mark.parametrize("streamed", [False, True], ids=["ainvoke", "astream"])
async def test_async_answers_restore_only_the_users_own_values_too(streamed: bool) -> None:
    chain = guard(reversible=True).wrap(spy_model("The phone of <PERSON_2> is <PHONE_NUMBER_1>, <PERSON_1>."))
    messages = tool_turn("I'm Jane Roe. look up customer 42's phone", "Customer 42: John Doe, phone 555-0199")
    config = conversation(f"async-{streamed}")
    if streamed:
        answer = "".join([str(c.content) async for c in chain.astream(messages, config=config)])
    else:
        answer = str((await chain.ainvoke(messages, config=config)).content)
    assert sent()[2] == "Customer 42: <PERSON_2>, phone <PHONE_NUMBER_1>"
    assert answer == "The phone of <PERSON_2> is <PHONE_NUMBER_1>, Jane Roe."


def test_guard_redact_of_a_tool_result_keeps_its_values_from_coming_back_in_the_answer() -> None:
    g = guard(reversible=True)
    g.check("Hi, I'm Jane Roe. Look up customer 42.", "input", conversation_id="api")
    redacted = g.redact("Customer 42: John Doe, phone 555-0199", conversation_id="api")
    assert redacted == "Customer 42: <PERSON_2>, phone <PHONE_NUMBER_1>"
    answer = "It is <PERSON_2>, phone <PHONE_NUMBER_1>. Bye <PERSON_1>."
    assert g.restore(answer, conversation_id="api") == "It is <PERSON_2>, phone <PHONE_NUMBER_1>. Bye Jane Roe."
    # the user's own earlier turn, said so, comes back
    assert g.redact("I'm Ann Lee", conversation_id="api", restorable=True) == "I'm <PERSON_3>"
    assert g.restore("<PERSON_3>", conversation_id="api") == "Ann Lee"


@pytest.mark.parametrize("cid", ["typed", None], ids=["conversation", "no-conversation"])
def test_a_placeholder_the_user_types_is_never_given_to_a_new_value_by_the_guard_api(cid: str | None) -> None:
    g = guard(reversible=True)
    decision = g.check("Please write to <PERSON_1> about my friend John Doe, thanks.", "input", conversation_id=cid)
    assert decision.text == "Please write to <PERSON_1> about my friend <PERSON_2>, thanks."
    if cid:
        assert g.restore("I wrote to <PERSON_1> about <PERSON_2>.", conversation_id=cid) == (
            "I wrote to <PERSON_1> about John Doe."
        )


# ---------------------------------------------------------------------- restored through the output operators
@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
@pytest.mark.parametrize(
    ("operator", "card_shown"),
    [
        pytest.param("block", "<CREDIT_CARD_1>", id="block-keeps-the-placeholder"),
        pytest.param({"operator": "mask", "keep_last": 4}, "**** **** **** 1111", id="mask"),
    ],
)
def test_a_restored_value_goes_through_the_output_operator_of_its_entity(
    operator: Any, card_shown: str, streamed: bool
) -> None:
    chain = guard(reversible=True, output={"CREDIT_CARD": operator}).wrap(
        spy_model("Your card <CREDIT_CARD_1> is saved, <PERSON_1>.")
    )
    answer = shown(chain, f"I'm Jane Roe, my card is {CARD}", conversation(f"card-{streamed}"), streamed=streamed)
    assert answer == f"Your card {card_shown} is saved, Jane Roe."


# ---------------------------------------------------------------------- one numbering per turn
def test_without_a_conversation_id_different_people_in_the_history_get_different_placeholders() -> None:
    chain = guard().wrap(spy_model("Hello <PERSON_1>, John Doe called you."))
    answer = chain.invoke([HumanMessage("I'm Jane Roe"), AIMessage("hi"), HumanMessage("my friend is John Doe")])
    assert sent() == ["I'm <PERSON_1>", "hi", "my friend is <PERSON_2>"]
    assert answer.content == "Hello <PERSON_1>, <PERSON_2> called you."


def test_without_a_conversation_id_a_tool_result_names_a_person_as_the_users_turn_did() -> None:
    chain = guard().wrap(spy_model("done"))
    chain.invoke(tool_turn("I'm Jane Roe, find John Doe", "John Doe: 555-0199"))
    assert sent() == ["I'm <PERSON_1>, find <PERSON_2>", "", "<PERSON_2>: <PHONE_NUMBER_1>"]


def test_a_separate_chat_history_is_numbered_before_the_latest_turn() -> None:
    seen: list[dict[str, Any]] = []

    def chat(data: dict[str, Any]) -> str:
        seen.append(data)
        return "ok"

    guard().wrap(RunnableLambda(chat)).invoke(
        {"input": "my friend is John Doe", "chat_history": [("human", "I'm Jane Roe"), ("ai", "hi")]}
    )
    (data,) = seen
    assert data["input"] == "my friend is <PERSON_2>"
    assert [m[1] for m in data["chat_history"]] == ["I'm <PERSON_1>", "hi"]


# ---------------------------------------------------------------------- a vault that forgot the conversation
def test_after_the_vault_forgets_a_conversation_its_history_is_numbered_as_before() -> None:
    g = guard()
    chain = g.wrap(spy_model("Hi <PERSON_1>.", "ok"))
    first = chain.invoke([HumanMessage("I'm Jane Roe")], config=conversation("forgotten"))
    assert first.content == "Hi <PERSON_1>."
    g.redactor.forget("forgotten")  # TTL, eviction, a restart or another worker
    chain.invoke(
        [HumanMessage("I'm Jane Roe"), first, HumanMessage("my friend is John Doe")], config=conversation("forgotten")
    )
    assert sent() == ["I'm <PERSON_1>", "Hi <PERSON_1>.", "my friend is <PERSON_2>"]


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_an_answer_never_gets_a_value_of_a_later_turn_after_the_vault_forgot_its_conversation(streamed: bool) -> None:
    # while turn 1 of a conversation waits on the model, other conversations push it out of the vault and its
    # turn 2 starts it again, numbering its values from 1: turn 1's <PERSON_1> must not come back as turn 2's value
    g = guard(reversible=True, vault={"max_conversations": 2})
    later: dict[str, str] = {}

    def model(messages: Any) -> AIMessage:
        text = str(messages[-1].content) if isinstance(messages, list) else str(messages)
        if text.startswith("first"):
            for other in ("other-1", "other-2"):
                chain.invoke("I'm Ann Lee", config=conversation(other))
            later["answer"] = str(chain.invoke("second: I'm John Doe", config=conversation("X")).content)
        return AIMessage(f"You said: {text}")

    chain = g.wrap(RunnableLambda(model))
    first = shown(chain, "first: I'm Jane Roe", conversation("X"), streamed=streamed)
    assert first == "You said: first: I'm <PERSON_1>"  # the forgotten conversation's placeholder stays (README)
    assert later["answer"] == "You said: second: I'm John Doe"


@pytest.mark.parametrize("cid", ["fresh", None], ids=["forgotten-vault", "no-conversation"])
def test_a_new_value_never_takes_a_placeholder_an_earlier_answer_shows(cid: str | None) -> None:
    chain = guard().wrap(spy_model("ok"))
    history = [HumanMessage("who called?"), AIMessage("<PERSON_1> called."), HumanMessage("my friend is John Doe")]
    chain.invoke(history, config=conversation(cid) if cid else None)
    assert sent()[2] == "my friend is <PERSON_2>"


# ---------------------------------------------------------------------- what the vault keeps
def test_a_refused_turn_leaves_nothing_in_the_vault() -> None:
    g = guard(reversible=True)
    out = g.wrap(spy_model("never")).invoke("I'm Jane Roe, where do I buy a grenade", config=conversation("refused"))
    assert "can't help" in out.content
    assert g.redactor.vault.total_entries == 0


def test_one_turn_adds_at_most_max_new_entries_per_request_values_to_the_vault() -> None:
    g = guard(reversible=True, vault={"max_new_entries_per_request": 2})
    chain = g.wrap(spy_model("<PERSON_1>, <PERSON_2> and <PERSON_3>"))
    history = [HumanMessage("I'm Jane Roe"), AIMessage("hi"), HumanMessage("John Doe and Ann Lee are here")]
    answer = chain.invoke(history, config=conversation("capped"))
    assert sent()[2] == "<PERSON_2> and <PERSON_3> are here"  # still redacted past the cap
    assert g.redactor.vault.total_entries == 2
    assert answer.content == "Jane Roe, John Doe and <PERSON_3>"


def test_the_values_of_the_answer_count_towards_the_same_cap() -> None:
    g = guard(reversible=True, vault={"max_new_entries_per_request": 2})
    chain = g.wrap(spy_model("Hi <PERSON_1>: John Doe and Ann Lee called."))
    answer = chain.invoke("I'm Jane Roe", config=conversation("capped-answer"))
    assert answer.content == "Hi Jane Roe: <PERSON_2> and <PERSON_3> called."
    assert g.redactor.vault.total_entries == 2


def test_a_reversible_call_that_names_no_conversation_is_warned_of_once(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    wrapped = guard(reversible=True).wrap(spy_model("Noted.", "Noted.", "Noted."))
    with caplog.at_level(logging.WARNING, logger="guardrails"):
        wrapped.invoke("Call Jane Roe")
        wrapped.invoke("Call John Doe")
        wrapped.invoke("Call Ann Lee", config=conversation("c1"))
    warned = [r.getMessage() for r in caplog.records if "names none" in r.getMessage()]
    assert len(warned) == 1 and "Jane" not in warned[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="guardrails"):
        guard().wrap(spy_model("Noted.", "Noted.", "Noted.")).invoke(
            "Call Jane Roe"
        )  # not reversible: nothing to warn of
    assert not [r for r in caplog.records if "names none" in r.getMessage()]


def test_wrappers_derived_with_bind_tools_share_the_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    class Tooled(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    wrapped = guard(reversible=True).wrap(Tooled(messages=iter([AIMessage(content="Noted.")] * 3)))
    with caplog.at_level(logging.WARNING, logger="guardrails"):
        for _ in range(3):  # an agent that binds its tools at every step
            wrapped.bind_tools([]).invoke("Call Jane Roe")
    assert len([r for r in caplog.records if "names none" in r.getMessage()]) == 1
