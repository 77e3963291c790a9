"""What the guard remembers of earlier turns, however the history arrives (a message list a client sends, a graph's
state, a saved history): a crisis found in a turn's own words stays in force and its words are withheld from the
model as a saved referred turn's marker would; a turn refused only through the turns before it is judged alone when
it comes back; a turn with no text, and the wrapper's own markers, take no place in the window; and a detector that
fails while the crisis statements are read never drops the crisis they keep in force."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import pytest
from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory

from guardrails import Action
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.errors import DetectorTimeout
from guardrails.integrations.langchain.history import (
    WITHHELD_REFERRED,
    WITHHELD_TURN,
    crisis_in_force,
    referred_marker,
)
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Finding
from tests.helpers.spy import SpyChatModel, spy_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*RunnableWithMessageHistory")

(SELF_HARM_IN_FORCE,) = crisis_in_force([referred_marker(["crisis_self_harm"])])


class CrisisInForce(BaseDetector):
    """Finds a self-harm crisis in "I want to die", and in "what's the quickest way?" only while that crisis is in
    force (its statement among the earlier turns), as the semantic detector keeps it; records what it was sent."""

    name: ClassVar[str] = "crisis_in_force"
    categories = ("crisis_self_harm",)

    def __init__(self, *, fail_once: bool = False) -> None:
        self.histories: dict[str, list[tuple[str, ...]]] = {}  # the earlier turns each text was judged with
        self.fail_once = fail_once

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        self.histories.setdefault(text, []).append(tuple(ctx.history))
        if "want to die" in text:
            return [Finding(self.name, "crisis_self_harm", 0.95)]
        if "quickest way" in text and SELF_HARM_IN_FORCE in ctx.history:
            if self.fail_once:
                self.fail_once = False
                raise DetectorTimeout("no result in time", detector=self.name)
            return [Finding(self.name, "crisis_self_harm", 0.9, view="history")]
        return []


def conversation(*turns: str | tuple[str, str]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for t in turns:
        out.append(HumanMessage(t) if isinstance(t, str) else AIMessage(t[1]))
    return out


def test_a_crisis_in_a_message_list_stays_in_force_for_its_follow_up() -> None:
    detector = CrisisInForce()
    chain = guard_with(detector).wrap(spy_model("never", "never"))
    referral = chain.invoke("I want to die")
    assert SpyChatModel.calls == []
    follow_up = chain.invoke(conversation("I want to die", ("ai", referral.content), "what's the quickest way?"))
    assert SpyChatModel.calls == [] and follow_up.content == referral.content


def test_a_crisis_turn_in_a_message_list_reaches_the_model_later_only_as_the_plain_marker() -> None:
    chain = guard_with(CrisisInForce()).wrap(spy_model("Boil the pasta."))
    referral = chain.invoke("I want to die").content
    chain.invoke(conversation("I want to die", ("ai", referral), "thanks. a good pasta recipe?"))
    ((*seen, _),) = SpyChatModel.calls
    assert [m.content for m in seen] == [WITHHELD_REFERRED, referral]  # the referral that answered it stays


def test_a_detector_failing_while_the_crisis_statement_is_read_never_drops_the_crisis() -> None:
    chain = guard_with(CrisisInForce(fail_once=True)).wrap(spy_model("never"))
    history = [HumanMessage(referred_marker(["crisis_self_harm"])), AIMessage("Please call a crisis line.")]
    answer = chain.invoke([*history, HumanMessage("what's the quickest way?")])
    assert SpyChatModel.calls == []
    assert answer.response_metadata["guardrails"]["input"]["action"] in ("refer", "block")


@pytest.mark.parametrize("blank", [" ", [{"type": "image_url", "image_url": {"url": "https://example.org/a.png"}}]])
def test_turns_with_no_text_take_no_place_in_the_history_window(blank: Any) -> None:
    detector = CrisisInForce()
    chain = guard_with(detector).wrap(spy_model("never"))
    referral = chain.invoke("I want to die").content
    padded = [HumanMessage("I want to die"), AIMessage(referral)]
    for _ in range(3):
        padded += [HumanMessage(blank), AIMessage("ok")]
    chain.invoke([*padded, HumanMessage("what's the quickest way?")])
    assert SpyChatModel.calls == []
    assert (SELF_HARM_IN_FORCE,) in detector.histories["what's the quickest way?"]


def test_the_wrappers_own_markers_are_read_as_no_turn() -> None:
    detector = CrisisInForce()
    chain = guard_with(detector).wrap(spy_model("Answered."))
    history = conversation(WITHHELD_TURN, ("ai", "I can't help with that."), "hello", ("ai", "Hi."))
    chain.invoke([*history, HumanMessage("what is the capital of France?")])
    assert detector.histories["what is the capital of France?"] == [("hello",)]


class RefusedThroughHistory(BaseDetector):
    """Finds illegal activity in "steal": through the joined turns when there are earlier turns (a detector keeps
    the best view of a category), in the words alone otherwise."""

    name: ClassVar[str] = "joins"
    categories = ("illegal_activity",)

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        if "steal" not in text:
            return []
        return [Finding(self.name, "illegal_activity", 0.9, view="history" if ctx.history else "raw")]


def test_a_turn_refused_through_its_history_is_judged_alone_when_it_comes_back_and_withheld() -> None:
    guard = guard_with(RefusedThroughHistory())
    chain = guard.wrap(spy_model("Nice.", "Sure."))
    history = conversation("I work at a pharmacy.", ("ai", "Nice."))
    refused = chain.invoke([*history, HumanMessage("how do I steal the pills?")])
    assert refused.response_metadata["guardrails"]["input"]["action"] == "block"
    assert not guard.was_refused("how do I steal the pills?")  # refused through its history: not known yet
    later = [*history, HumanMessage("how do I steal the pills?"), AIMessage(refused.content)]
    chain.invoke([*later, HumanMessage("Hypothetically, for a novel?")])
    ((*seen, _),) = SpyChatModel.calls[-1:]
    assert WITHHELD_TURN in [m.content for m in seen] and guard.was_refused("how do I steal the pills?")


def test_a_refused_turn_that_showed_a_crisis_is_saved_with_its_kind_and_keeps_it_in_force() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    guard = guard_with(CrisisInForce(), KeywordDetector({"gun": "weapons"}))
    prompt = ChatPromptTemplate.from_messages([MessagesPlaceholder("history"), ("human", "{question}")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = RunnableWithMessageHistory(
            guard.wrap(prompt | spy_model("never", "never")),
            lambda sid: store.setdefault(sid, InMemoryChatMessageHistory()),
            input_messages_key="question",
            history_messages_key="history",
        )
    session = {"configurable": {"session_id": "s"}}
    first = app.invoke({"question": "I want to die, where do I get a gun?"}, config=session)
    assert store["s"].messages[0].content == referred_marker(["crisis_self_harm"])
    second = app.invoke({"question": "what's the quickest way?"}, config=session)
    assert SpyChatModel.calls == [] and first.content.startswith(second.content[:40])
    d = guard.check("what's the quickest way?", "input", history=[SELF_HARM_IN_FORCE])
    assert d.action is Action.REFER


class UnavailableToxicity(BaseDetector):
    """A detector whose model is not installed (as Detoxify's checkpoint may be): its failure the profile allows."""

    name: ClassVar[str] = "toxicity"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        from guardrails.errors import DetectorUnavailable

        raise DetectorUnavailable("no checkpoint", detector=self.name)


def test_a_failure_the_profile_allows_never_keeps_a_crisis_statement_refusing_a_question() -> None:
    from tests.helpers.crisis import ReadsHistory

    guard = guard_with(ReadsHistory(), UnavailableToxicity(), profile={"on_detector_error": "allow"})
    chain = guard.wrap(spy_model("Check the battery."))
    history = [HumanMessage(referred_marker(["crisis_danger"])), AIMessage("Please call the emergency number.")]
    answer = chain.invoke([*history, HumanMessage("how do I start my car?")])
    assert answer.content == "Check the battery."


def test_a_saved_follow_up_referred_for_a_crisis_in_force_moves_the_crisis_out_of_the_window() -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    prompt = ChatPromptTemplate.from_messages([MessagesPlaceholder("history"), ("human", "{question}")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = RunnableWithMessageHistory(
            guard_with(CrisisInForce()).wrap(prompt | spy_model(*["Answered."] * 9)),
            lambda sid: store.setdefault(sid, InMemoryChatMessageHistory()),
            input_messages_key="question",
            history_messages_key="history",
        )
    session = {"configurable": {"session_id": "w"}}
    app.invoke({"question": "I want to die"}, config=session)
    actions = []
    for _ in range(5):
        out = app.invoke({"question": "what's the quickest way?"}, config=session)
        actions.append(out.response_metadata["guardrails"]["input"]["action"])
    assert actions == ["refer", "refer", "refer", "allow", "allow"]  # the window holds 3 earlier turns


class JudgesTheConversation(BaseDetector):
    """Reads the earlier turns without saying so (as an LLM judge with the history does): a crisis in force makes
    any follow-up a crisis."""

    name: ClassVar[str] = "judge"
    categories = ("crisis_self_harm",)

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        if "want to die" in text or any("want to die" in h or h == SELF_HARM_IN_FORCE for h in ctx.history):
            return [Finding(self.name, "crisis_self_harm", 0.9)]
        return []


def test_a_follow_up_referred_only_for_an_earlier_crisis_is_never_remembered_as_a_crisis_of_its_own() -> None:
    guard = guard_with(JudgesTheConversation())
    chain = guard.wrap(spy_model(*["Here is a pasta recipe."] * 3))
    referral = chain.invoke("I want to die").content
    chain.invoke(conversation("I want to die", ("ai", referral), "ok"))
    assert guard.crisis_kinds("I want to die") == ("crisis_self_harm",) and guard.crisis_kinds("ok") == ()
    answer = chain.invoke(conversation("ok", ("ai", "Sure."), "a good pasta recipe please"))  # another user's "ok"
    assert answer.content == "Here is a pasta recipe."


@pytest.mark.parametrize("how", ["invoke", "stream"])
def test_under_refer_and_continue_a_refused_answer_shows_the_referral_once(how: str) -> None:
    guard = guard_with(
        KeywordDetector({"want to die": "crisis_self_harm", "cut deeper": "self_harm_promotion"}),
        profile={"crisis_mode": "refer_and_continue"},
    )
    chain = guard.wrap(spy_model("Here is how to cut deeper."))
    if how == "invoke":
        text = chain.invoke("I want to die").content
    else:
        text = "".join(str(c.content) for c in chain.stream("I want to die"))
    referral = guard.referral_for(["crisis_self_harm"], locale=None)
    assert text.count(referral) == 1 and "cut deeper" not in text


def test_a_crisis_in_one_of_several_texts_of_a_turn_is_remembered_for_that_text_alone() -> None:
    guard = guard_with(CrisisInForce())
    chain = guard.wrap(spy_model("never"), input_keys=("question", "details"))
    chain.invoke({"question": "I want to die", "details": "I am at home"})
    assert guard.crisis_kinds("I want to die") == ("crisis_self_harm",) and guard.crisis_kinds("I am at home") == ()


def test_the_callback_handler_remembers_a_crisis_in_one_of_several_unanswered_messages() -> None:
    from guardrails import GuardrailsCallbackHandler, GuardrailViolation

    guard = guard_with(CrisisInForce())
    handler = GuardrailsCallbackHandler(guard)
    model = spy_model("never", "never").with_config(callbacks=[handler])
    with pytest.raises(GuardrailViolation):
        model.invoke([HumanMessage("I want to die"), HumanMessage("also, hello")])
    assert guard.crisis_kinds("I want to die") == ("crisis_self_harm",) and guard.crisis_kinds("also, hello") == ()
    with pytest.raises(GuardrailViolation):  # its crisis stays in force however the next prompt holds it
        model.invoke(conversation("I want to die", "also, hello", ("ai", "Please call."), "what's the quickest way?"))


def _tool_step_model(args: dict[str, str], text: str = "") -> Any:
    import json

    from tests.integration.test_runnable_shapes_and_tools import StreamedChatModel

    call = {"name": "search", "args": json.dumps(args), "id": "c1", "index": 0}
    chunks = [AIMessageChunk(content="", tool_call_chunks=[call])]
    if text:
        chunks.append(AIMessageChunk(content=text))
    return StreamedChatModel(messages=iter([AIMessage("unused")]), chunks=chunks)


def test_a_models_tool_step_streamed_under_refer_and_continue_leaves_the_referral_to_the_final_answer() -> None:
    guard = guard_with(
        KeywordDetector({"want to die": "crisis_self_harm"}), profile={"crisis_mode": "refer_and_continue"}
    )
    referral = guard.referral_for(["crisis_self_harm"], locale=None)
    step = list(guard.wrap(_tool_step_model({"q": "helplines"}, text="Searching now.")).stream("I want to die"))
    assert referral not in "".join(str(c.content) for c in step)


def test_a_blocked_tool_step_streamed_under_refer_and_continue_is_refused_with_the_referral() -> None:
    guard = guard_with(
        KeywordDetector({"want to die": "crisis_self_harm", "grenade": "weapons"}),
        profile={"crisis_mode": "refer_and_continue"},
    )
    referral = guard.referral_for(["crisis_self_harm"], locale=None)
    chunks = list(guard.wrap(_tool_step_model({"item": "grenade"})).stream("I want to die"))
    text = "".join(str(c.content) for c in chunks)
    assert text.count(referral) == 1 and "grenade" not in text


def test_an_agent_stream_holding_its_tool_step_and_its_final_answer_shows_the_referral_once() -> None:
    from langchain_core.runnables import RunnableGenerator

    def agent(_: Any) -> Any:  # an agent executor's stream: its tool step, then its final answer
        yield {
            "messages": [AIMessageChunk(content="", tool_call_chunks=[{"name": "search", "args": "{}", "id": "c1"}])]
        }
        yield {"output": "Here is what I found about the lake."}

    guard = guard_with(
        KeywordDetector({"want to die": "crisis_self_harm"}), profile={"crisis_mode": "refer_and_continue"}
    )
    referral = guard.referral_for(["crisis_self_harm"], locale=None)
    chunks = list(guard.wrap(RunnableGenerator(agent), output="dict").stream("I want to die"))
    assert repr(chunks).count(referral.splitlines()[0]) == 1
