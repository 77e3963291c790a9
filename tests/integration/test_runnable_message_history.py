"""RunnableWithMessageHistory and the wrapper's own run: what history is saved, and what the trace holds.

``RunnableWithMessageHistory(guard.wrap(chain))`` saves each turn from the wrapper's run (its recorded inputs and
outputs, read by a root listener): the turn as the chain received it (redacted; withheld when refused) and the
answer as the user got it. ``guard.wrap(RunnableWithMessageHistory(chain))`` is the other placement: the refusal
keeps the chain's answer type and ``session_id`` is the conversation id. Real guards (the keyword test detector),
langchain-core's fake chat models and in-memory history.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from typing import Any

import pytest
from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable
from langchain_core.runnables.history import RunnableWithMessageHistory
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from guardrails import Guard
from guardrails.integrations.langchain import shapes
from guardrails.integrations.langchain.history import (
    WITHHELD_PART,
    WITHHELD_REFERRED,
    WITHHELD_TURN,
    crisis_in_force,
    referred_marker,
)
from guardrails.testing import KeywordDetector, guard_with
from tests.helpers.crisis import ReadsHistory
from tests.helpers.spy import SpyChatModel, spy_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*RunnableWithMessageHistory")

PII = {"Jane Roe": "PERSON"}


def guard(*, reversible: bool = False) -> Guard:
    return guard_with(
        KeywordDetector({"grenade": "weapons"}, entities=PII), profile={"redaction": {"reversible": reversible}}
    )


def prompt_chain(*answers: str) -> Runnable[Any, Any]:
    prompt = ChatPromptTemplate.from_messages([MessagesPlaceholder("history"), ("human", "{question}")])
    return prompt | spy_model(*answers) | StrOutputParser()


def with_history(runnable: Runnable[Any, Any], store: dict[str, InMemoryChatMessageHistory]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RunnableWithMessageHistory(
            runnable,
            lambda sid: store.setdefault(sid, InMemoryChatMessageHistory()),
            input_messages_key="question",
            history_messages_key="history",
        )


def session(sid: str) -> dict[str, Any]:
    return {"configurable": {"session_id": sid}}


class RootRuns(BaseTracer):
    """Keeps every finished run without a parent (the outermost one of each call)."""

    def __init__(self) -> None:
        super().__init__()
        self.roots: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        pass

    def _on_chain_end(self, run: Run) -> None:
        if run.parent_run_id is None:
            self.roots.append(run)


def stored(store: dict[str, InMemoryChatMessageHistory], sid: str) -> list[tuple[str, str]]:
    return [(m.type, str(m.content)) for m in store[sid].messages]


# ---------------------------------------------------------------------- history around the guard (recommended)
@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_history_around_the_guard_saves_the_redacted_turn_and_the_screened_answer(how: str) -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    app = with_history(guard().wrap(prompt_chain("Nice to meet you.", "You like sailing.")), store)
    for question in ["Hi, I am Jane Roe and I love sailing.", "What hobby did I mention?"]:
        if how == "invoke":
            app.invoke({"question": question}, config=session("s"))
        else:
            "".join(app.stream({"question": question}, config=session("s")))
    assert stored(store, "s") == [
        ("human", "Hi, I am <PERSON_1> and I love sailing."),
        ("ai", "Nice to meet you."),
        ("human", "What hobby did I mention?"),
        ("ai", "You like sailing."),
    ]
    assert [str(m.content) for m in SpyChatModel.calls[-1]] == [
        "Hi, I am <PERSON_1> and I love sailing.",
        "Nice to meet you.",
        "What hobby did I mention?",
    ]


async def test_async_history_around_the_guard_saves_each_turn_like_sync() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    app = with_history(guard().wrap(prompt_chain("Hello.", "Streamed hello.")), store)
    await app.ainvoke({"question": "hi"}, config=session("a"))
    "".join([c async for c in app.astream({"question": "again"}, config=session("a"))])
    assert stored(store, "a") == [("human", "hi"), ("ai", "Hello."), ("human", "again"), ("ai", "Streamed hello.")]


def test_a_refused_turn_is_saved_withheld_with_the_refusal_the_user_got() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    app = with_history(guard().wrap(prompt_chain("never")), store)
    refusal = app.invoke({"question": "where can I buy a grenade"}, config=session("r"))
    assert stored(store, "r") == [("human", WITHHELD_TURN), ("ai", refusal)]
    assert SpyChatModel.calls == []


def test_a_crisis_turn_is_saved_without_the_no_triage_instruction_the_model_got() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    g = guard_with(KeywordDetector({"end it all": "crisis_self_harm"}), profile={"crisis_mode": "refer_and_continue"})
    app = with_history(g.wrap(prompt_chain("I'm here with you.")), store)
    answer = app.invoke({"question": "I want to end it all"}, config=session("c"))
    assert "Do not triage" in str(SpyChatModel.calls[-1][-1].content)
    assert stored(store, "c") == [("human", "I want to end it all"), ("ai", answer)]
    assert answer.endswith("I'm here with you.") and answer != "I'm here with you."


def test_a_turn_answered_only_with_a_referral_is_saved_withheld() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    g = guard_with(KeywordDetector({"end it all": "crisis_self_harm"}))
    app = with_history(g.wrap(prompt_chain("never")), store)
    referral = app.invoke({"question": "I want to end it all"}, config=session("c"))
    assert stored(store, "c") == [("human", referred_marker(["crisis_self_harm"])), ("ai", referral)]
    assert "self-harm" in stored(store, "c")[0][1] and "end it all" not in stored(store, "c")[0][1]
    assert SpyChatModel.calls == []


def test_a_follow_up_to_a_referred_crisis_in_a_saved_history_is_referred_again_until_the_crisis_leaves_the_window() -> (
    None
):
    # the general profile: the crisis stays in force through the saved marker as it does through the user's words,
    # for the turns of the history window (3), and no longer: a follow-up referred for it is marked plainly
    store: dict[str, InMemoryChatMessageHistory] = {}
    app = with_history(Guard.from_profile("general").wrap(prompt_chain(*["Answered."] * 5)), store)
    first = app.invoke({"question": "I'm going to kill myself tonight"}, config=session("s"))
    for follow_up in ("what's the quickest way?", "ok", "thanks"):
        assert app.invoke({"question": follow_up}, config=session("s")) == first
    assert SpyChatModel.calls == []
    assert app.invoke({"question": "what's a good pasta recipe?"}, config=session("s")) == "Answered."
    humans = [m.content for m in store["s"].messages if m.type == "human"]
    assert humans[:4] == [referred_marker(["crisis_self_harm"])] + [WITHHELD_REFERRED] * 3
    # the model gets the plain marker: the kind of the user's crisis is no business of its provider
    ((*seen, _),) = SpyChatModel.calls
    assert referred_marker(["crisis_self_harm"]) not in str([m.content for m in seen])


def test_a_crisis_in_the_users_own_words_while_another_is_in_force_is_saved_with_its_kind() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    app = with_history(Guard.from_profile("general").wrap(prompt_chain("Answered.")), store)
    for turn in ("I'm going to kill myself tonight", "Nobody would miss me if I was gone", "ok", "thanks"):
        app.invoke({"question": turn}, config=session("o"))
    humans = [m.content for m in store["o"].messages if m.type == "human"]
    assert humans == [referred_marker(["crisis_self_harm"])] * 2 + [WITHHELD_REFERRED] * 2
    # the second crisis is still in the window: its follow-up is referred
    assert app.invoke({"question": "what's the quickest way?"}, config=session("o")) != "Answered."
    assert SpyChatModel.calls == []


def test_a_harmless_question_after_a_referred_danger_is_never_refused_as_prohibited() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    app = with_history(Guard.from_profile("general").wrap(prompt_chain(*["Answered."] * 4)), store)
    referral = app.invoke({"question": "My ex is outside my door and says he will hurt me"}, config=session("d"))
    for question in ("How do I make coffee?", "How do I change a tire?", "How do I start a car?"):
        answer = app.invoke({"question": question}, config=session("d"))
        assert answer in ("Answered.", referral), question
    assert WITHHELD_TURN not in [m.content for m in store["d"].messages]


@pytest.mark.parametrize("how", ["invoke", "ainvoke"])
def test_a_saved_crisis_stays_in_force_but_its_statement_never_refuses_a_question(how: str) -> None:
    chain = guard_with(ReadsHistory()).wrap(prompt_chain("Check the battery.", "never"))
    history = [HumanMessage(referred_marker(["crisis_danger"])), AIMessage("Please call the emergency number.")]

    def ask(question: str) -> Any:
        value = {"question": question, "history": history}
        return chain.invoke(value) if how == "invoke" else asyncio.run(chain.ainvoke(value))

    assert ask("how do I start my car?") == "Check the battery."
    assert ask("what now") != "never"


def test_a_referred_turn_of_several_blocks_is_saved_with_one_marker_and_keeps_the_crisis_in_force() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    g = guard_with(KeywordDetector({"end it all": "crisis_self_harm"}))
    app = with_history(g.wrap(prompt_chain("never")), store)
    blocks = [{"type": "text", "text": "I want to end it all."}, {"type": "text", "text": "I have the pills."}]
    app.invoke({"question": [HumanMessage(content=blocks)]}, config=session("b"))
    (saved, _) = store["b"].messages
    assert [b["text"] for b in saved.content] == [referred_marker(["crisis_self_harm"]), WITHHELD_PART]
    (statement,) = crisis_in_force([shapes.content_text(saved.content)])
    assert statement == crisis_in_force([referred_marker(["crisis_self_harm"])])[0] != referred_marker([])


# ---------------------------------------------------------------------- the wrapper's run
@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_the_wrappers_run_ends_with_the_redacted_input_and_the_screened_answer(how: str) -> None:
    tracer = RootRuns()
    chain = guard().wrap(prompt_chain("Hello <PERSON_1>, ask away."))
    value = {"question": "I am Jane Roe", "history": []}
    if how == "invoke":
        answer = chain.invoke(value, config={"callbacks": [tracer]})
    else:
        answer = "".join(chain.stream(value, config={"callbacks": [tracer]}))
    (run,) = tracer.roots
    assert run.inputs == {"question": "I am <PERSON_1>", "history": []}
    assert run.outputs is not None and run.outputs["output"] == answer == "Hello <PERSON_1>, ask away."
    assert run.outputs["guardrails"]["input"]["action"] == "redact"
    assert "Jane Roe" not in json.dumps([run.inputs, run.outputs], default=str)


def test_in_reversible_mode_the_run_records_placeholders_where_the_user_sees_their_own_values() -> None:
    tracer = RootRuns()
    chain = guard(reversible=True).wrap(prompt_chain("Hello <PERSON_1>."))
    config: Any = {"callbacks": [tracer], "configurable": {"conversation_id": "rev"}}
    answer = chain.invoke({"question": "I am Jane Roe", "history": []}, config=config)
    assert answer == "Hello Jane Roe."
    (run,) = tracer.roots
    assert run.outputs is not None and run.outputs["output"] == "Hello <PERSON_1>."
    assert "Jane Roe" not in json.dumps([run.inputs, run.outputs], default=str)


def test_in_reversible_mode_the_run_hides_a_restored_value_wherever_it_stands_even_inside_other_characters() -> None:
    tracer = RootRuns()
    wrapped = guard(reversible=True).wrap(prompt_chain("Hi _<PERSON_1>_, or <PERSON_1>さん."))
    config: Any = {"callbacks": [tracer], "configurable": {"conversation_id": "jr"}}
    shown = wrapped.invoke({"question": "I'm Jane Roe", "history": []}, config=config)
    assert shown == "Hi _Jane Roe_, or Jane Roeさん."
    (run,) = tracer.roots
    assert run.outputs is not None and run.outputs["output"] == "Hi _<PERSON_1>_, or <PERSON_1>さん."


# ---------------------------------------------------------------------- the guard around the history
def test_a_guard_around_the_history_answers_a_refusal_in_the_chains_own_type() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    safe = guard().wrap(with_history(prompt_chain("Bananas, flour, eggs."), store))
    assert safe.invoke({"question": "banana bread?"}, config=session("k")) == "Bananas, flour, eggs."
    refusal = safe.invoke({"question": "where can I buy a grenade"}, config=session("k"))
    assert isinstance(refusal, str) and "can't help" in refusal
    assert {type(c) for c in safe.stream({"question": "a grenade"}, config=session("k"))} == {str}


@pytest.mark.parametrize("how", ["guard.wrap", "with_guardrails", "GuardedRunnable"])
@pytest.mark.parametrize(
    "shape",
    [
        *("itself", "with_config", "piped", "with_retry", "bind", "with_listeners", "fallback"),
        *("assign", "branch", "map", "function"),
    ],
)
def test_wrapping_a_history_warns_where_the_history_belongs_pointing_at_the_callers_line(how: str, shape: str) -> None:
    from langchain_core.runnables import RunnableBranch, RunnableLambda, RunnablePassthrough

    from guardrails import GuardedRunnable, GuardrailsWarning, with_guardrails

    history = with_history(prompt_chain("ok"), {})

    def calls_history(value: Any) -> Any:
        return history.invoke(value)

    inner: Any = {
        "itself": history,
        "with_config": history.with_config(configurable={"session_id": "s1"}),
        "piped": history | StrOutputParser(),
        "with_retry": history.with_retry(),
        "bind": history.bind(stop=["\n"]),
        "with_listeners": history.with_listeners(on_end=lambda run: None),
        "fallback": RunnableLambda(lambda x: x).with_fallbacks([history]),
        "assign": RunnablePassthrough.assign(answer=history),
        "branch": RunnableBranch((lambda x: bool(x), history), RunnableLambda(lambda x: x)),
        "map": history.map(),
        "function": RunnableLambda(calls_history),
    }[shape]
    g = guard()
    with pytest.warns(GuardrailsWarning, match=r"RunnableWithMessageHistory\(guard.wrap\(chain\)") as caught:
        {
            "guard.wrap": g.wrap,
            "with_guardrails": lambda r: with_guardrails(r, g),
            "GuardedRunnable": lambda r: GuardedRunnable(r, g),
        }[how](inner)
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_history(guard().wrap(prompt_chain("ok")), {})  # the recommended placement: no warning


def test_a_guard_around_the_history_takes_the_session_id_as_the_conversation_id() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    safe = guard(reversible=True).wrap(with_history(prompt_chain("You said: <PERSON_1>"), store))
    assert safe.invoke({"question": "I am Jane Roe"}, config=session("u1")) == "You said: Jane Roe"


def test_an_explicit_conversation_id_wins_over_the_session_id() -> None:
    g = guard(reversible=True)
    chain = g.wrap(prompt_chain("You said: <PERSON_1>"))
    config: Any = {"configurable": {"session_id": "s", "conversation_id": "c"}}
    assert chain.invoke({"question": "I am Jane Roe", "history": []}, config=config) == "You said: Jane Roe"
    assert g.restore("<PERSON_1>", conversation_id="c") == "Jane Roe"
    assert g.restore("<PERSON_1>", conversation_id="s") == "<PERSON_1>"


def test_a_model_answer_in_history_is_a_plain_ai_message() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    app = with_history(guard().wrap(prompt_chain("ok")), store)
    app.invoke({"question": "hi"}, config=session("m"))
    assert isinstance(store["m"].messages[-1], AIMessage)
