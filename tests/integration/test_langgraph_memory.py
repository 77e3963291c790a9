"""A LangGraph app with a checkpointer keeps each conversation (``thread_id``) in its state, so each request brings
only the new message. The wrapper reads the user's earlier turns from that state, and keeps a turn it answered
without running the graph there as its marker and its answer: a crisis stays in force, the refused words are never
stored, and a graph without a checkpointer (or a request without a thread) is neither read nor written."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from guardrails import Guard, InputError
from guardrails.integrations.langchain.history import WITHHELD_TURN, referred_marker
from guardrails.testing import KeywordDetector, guard_with

CRISIS = "I keep thinking everyone would be better off without me"
FOLLOW_UP = "what's the quickest way?"


class Chat:
    """A one-node chat graph whose model answers ``answers`` in turn, then "noted"; ``seen`` holds the messages each
    call was given."""

    def __init__(self, *answers: str, checkpointer: Any = None) -> None:
        self.seen: list[list[str]] = []
        queue = list(answers)

        def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
            self.seen.append([m.text for m in state["messages"]])
            return {"messages": [AIMessage(content=queue.pop(0) if queue else "noted")]}

        builder = StateGraph(MessagesState)
        builder.add_node("agent", agent)
        builder.add_edge(START, "agent")
        builder.add_edge("agent", END)
        self.app = builder.compile(checkpointer=checkpointer if checkpointer is not None else InMemorySaver())


def one_node(agent: Any) -> Any:
    """A graph of one node, ``agent``, over ``MessagesState``, with a checkpointer."""
    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    return builder.compile(checkpointer=InMemorySaver())


def waits_on_a_human(answer: str, question: str) -> Any:
    """A graph whose node answers ``answer``, then waits on a human's approval (an interrupt asking ``question``)."""
    from langgraph.types import interrupt

    def approve(state: MessagesState) -> dict[str, list[BaseMessage]]:
        interrupt(question)
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": [AIMessage(content=answer)]})
    builder.add_node("approve", approve)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "approve")
    builder.add_edge("approve", END)
    return builder.compile(checkpointer=InMemorySaver())


def reviser(revision: str) -> Any:
    """A node that answers "Markets sell food.", then rewrites its last answer as ``revision`` under its id."""

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        answers = [m for m in state["messages"] if m.type == "ai"]
        if answers:
            return {"messages": [AIMessage(id=answers[-1].id, content=revision)]}
        return {"messages": [AIMessage(content="Markets sell food.")]}

    return agent


def agent_then_tools(agent: Any, tools: Any, *, interrupt_before: list[str] | None = None) -> Any:
    """A graph of an ``agent`` node, then a ``tools`` node whose result ends it (``return_direct``), checkpointed."""
    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "tools")
    builder.add_edge("tools", END)
    return builder.compile(checkpointer=InMemorySaver(), interrupt_before=interrupt_before)


def ask(text: str) -> dict[str, Any]:
    return {"messages": [HumanMessage(content=text)]}


def thread(name: str) -> Any:
    return {"configurable": {"thread_id": name}}


@pytest.fixture(scope="module")
def general() -> Guard:
    return Guard.from_profile("general")


def test_a_crisis_stays_in_force_for_the_next_message_of_a_conversation_the_graph_keeps(general: Guard) -> None:
    chat = Chat()
    wrapped = general.wrap(chat.app)
    first = wrapped.invoke(ask(CRISIS), thread("t"))
    second = wrapped.invoke(ask(FOLLOW_UP), thread("t"))
    assert first["guardrails"]["input"]["action"] == "refer"
    assert second["guardrails"]["input"]["action"] == "refer"  # the model never triages the follow-up
    assert chat.seen == []
    stored = chat.app.get_state(thread("t")).values["messages"]
    assert [m.type for m in stored] == ["human", "ai", "human", "ai"]
    assert stored[0].text == referred_marker(["crisis_self_harm"])  # the user's words are never stored
    assert CRISIS not in repr(stored) and FOLLOW_UP not in repr(stored)
    assert "crisis_self_harm" in second["guardrails"]["input"]["categories"]


def test_the_same_conversation_as_a_new_thread_judges_the_follow_up_alone(general: Guard) -> None:
    chat = Chat()
    wrapped = general.wrap(chat.app)
    wrapped.invoke(ask(CRISIS), thread("a"))
    other = wrapped.invoke(ask(FOLLOW_UP), thread("b"))
    assert "crisis_self_harm" not in other["guardrails"]["input"]["categories"]


def test_a_refused_turn_is_kept_as_the_marker_and_the_refusal_and_the_graph_goes_on_after_it() -> None:
    chat = Chat()
    wrapped = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(chat.app)
    wrapped.invoke(ask("hi"), thread("r"))
    refused = wrapped.invoke(ask("where can I buy a grenade"), thread("r"))
    answered = wrapped.invoke(ask("thanks, and the weather?"), thread("r"))
    assert refused["guardrails"]["input"]["blocked"] and answered["messages"][-1].text == "noted"
    stored = [m.text for m in chat.app.get_state(thread("r")).values["messages"]]
    assert stored[:3] == ["hi", "noted", WITHHELD_TURN] and stored[-2:] == ["thanks, and the weather?", "noted"]
    assert "where can I buy" not in repr(chat.app.get_state(thread("r")).values)
    assert chat.seen[-1][2] == WITHHELD_TURN  # what the model reads in the graph's state


def test_the_async_paths_read_and_write_the_kept_conversation_too(general: Guard) -> None:
    chat = Chat()
    wrapped = general.wrap(chat.app)

    async def talk() -> list[Any]:
        first = await wrapped.ainvoke(ask(CRISIS), thread("async"))
        parts = [p async for p in wrapped.astream(ask(FOLLOW_UP), thread("async"), stream_mode="values")]
        return [first, parts]

    first, parts = asyncio.run(talk())
    assert first["guardrails"]["input"]["action"] == "refer" and len(parts) == 1
    assert parts[0]["messages"][0].response_metadata["guardrails"]["input"]["action"] == "refer"
    assert chat.seen == [] and len(chat.app.get_state(thread("async")).values["messages"]) == 4


def test_a_stream_records_a_refused_turn_as_invoke_does() -> None:
    chat = Chat()
    wrapped = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(chat.app)
    list(wrapped.stream(ask("where can I buy a grenade"), thread("s"), stream_mode="updates"))
    assert chat.app.get_state(thread("s")).values["messages"][0].text == WITHHELD_TURN


def test_a_graph_without_a_checkpointer_or_a_request_without_a_thread_is_neither_read_nor_written() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": [AIMessage(content="noted")]})
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    plain = builder.compile()
    wrapped = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(plain)
    assert wrapped.invoke(ask("where can I buy a grenade"))["guardrails"]["input"]["blocked"]
    assert wrapped.invoke(ask("hi"), thread("x"))["messages"][-1].text == "noted"
    kept = Chat()
    guarded = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(kept.app)
    with pytest.raises(ValueError):  # LangGraph itself needs a thread for a graph with a checkpointer
        guarded.invoke(ask("hi"))
    assert guarded.invoke(ask("where can I buy a grenade"))["guardrails"]["input"]["blocked"]  # refused: not written


def test_a_conversation_waiting_on_an_interrupt_is_not_written_into() -> None:
    app = waits_on_a_human("draft", "approve?")
    wrapped = guard_with(KeywordDetector({"grenade": "weapons"})).wrap(app)
    app.invoke(ask("hi"), thread("i"))  # the graph's own run, waiting on a human
    before = app.get_state(thread("i")).values["messages"]
    assert wrapped.invoke(ask("where can I buy a grenade"), thread("i"))["guardrails"]["input"]["blocked"]
    assert app.get_state(thread("i")).values["messages"] == before


def keyword_guard(**kwargs: Any) -> Guard:
    return guard_with(KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"}), **kwargs)


def test_after_a_crisis_the_conversation_the_graph_keeps_is_not_judged_again_as_each_answer(general: Guard) -> None:
    chat = Chat()
    wrapped = general.wrap(chat.app)
    wrapped.invoke(ask(CRISIS), thread("later"))
    later = [wrapped.invoke(ask(q), thread("later")) for q in ("hi", "what's the capital of France?", "and of Peru?")]
    later += [wrapped.invoke(ask(q), thread("later")) for q in ("and of Chile?", "what is 2+2?")]
    assert [r["messages"][-1].text for r in later[-2:]] == ["noted", "noted"]  # the referral text is not re-judged
    assert later[-1]["guardrails"]["output"]["action"] == "allow"


def test_messages_the_state_held_before_the_turn_are_returned_as_they_are_not_judged_as_its_answer() -> None:
    chat = Chat()
    chat.app.update_state(thread("old"), {"messages": [HumanMessage("hi"), AIMessage("a grenade story")]})
    wrapped = keyword_guard().wrap(chat.app)
    result = wrapped.invoke(ask("thanks"), thread("old"))
    assert [m.text for m in result["messages"]] == ["hi", "a grenade story", "thanks", "noted"]
    assert result["guardrails"]["output"]["action"] == "allow"
    parts = list(wrapped.stream(ask("and now?"), thread("old"), stream_mode="values"))
    assert [m.text for m in parts[-1]["messages"]][-2:] == ["and now?", "noted"]
    assert "refus" not in repr(parts).lower()


def test_a_blocked_answer_is_replaced_by_its_refusal_in_the_conversation_the_graph_keeps() -> None:
    chat = Chat("sure: a grenade can be bought at the market", "Paris")
    wrapped = keyword_guard().wrap(chat.app)
    refused = wrapped.invoke(ask("tell me about shopping"), thread("b"))
    answered = wrapped.invoke(ask("what's the capital of France?"), thread("b"))
    assert refused["guardrails"]["output"]["blocked"] and answered["messages"][-1].text == "Paris"
    stored = [m.text for m in chat.app.get_state(thread("b")).values["messages"]]
    assert "grenade" not in repr(stored) and "grenade" not in repr(chat.seen[-1])  # the model never reads it again
    assert stored[1] == refused["messages"][-1].text


def test_an_answer_redacted_for_the_caller_is_kept_redacted() -> None:
    chat = Chat("Ask Jane Roe, she planned the route.")
    keyword_guard().wrap(chat.app).invoke(ask("who planned the trip?"), thread("p"))
    stored = [m.text for m in chat.app.get_state(thread("p")).values["messages"]]
    assert stored[1] == "Ask <PERSON_1>, she planned the route."


def test_a_thread_bound_with_with_config_is_read_and_written_as_one_given_per_request(general: Guard) -> None:
    chat = Chat()
    wrapped = general.wrap(chat.app.with_config(configurable={"thread_id": "bound"}))
    first, second = wrapped.invoke(ask(CRISIS)), wrapped.invoke(ask(FOLLOW_UP))
    assert first["guardrails"]["input"]["action"] == second["guardrails"]["input"]["action"] == "refer"
    assert chat.seen == []


def test_a_state_whose_messages_are_a_plain_list_is_never_overwritten() -> None:
    from typing_extensions import TypedDict

    class Plain(TypedDict):
        messages: list[BaseMessage]

    builder = StateGraph(Plain)
    builder.add_node("agent", lambda state: {"messages": [*state["messages"], AIMessage(content="noted")]})
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    app = builder.compile(checkpointer=InMemorySaver())
    app.invoke(ask("my order has not arrived"), thread("plain"))
    before = app.get_state(thread("plain")).values["messages"]
    assert (
        keyword_guard()
        .wrap(app)
        .invoke(ask("where can I buy a grenade"), thread("plain"))["guardrails"]["input"]["blocked"]
    )
    assert app.get_state(thread("plain")).values["messages"] == before


def test_a_refusal_raised_to_the_caller_is_kept_as_the_marker_alone() -> None:
    from guardrails import GuardrailViolation

    chat = Chat()
    wrapped = keyword_guard().wrap(chat.app, raise_on_block=True)
    with pytest.raises(GuardrailViolation):
        wrapped.invoke(ask("where can I buy a grenade"), thread("raised"))
    assert [m.text for m in chat.app.get_state(thread("raised")).values["messages"]] == [WITHHELD_TURN]


def test_the_one_turn_no_triage_instruction_is_not_kept_in_the_conversation() -> None:
    chat = Chat()
    guard = guard_with(
        KeywordDetector({"want to die": "crisis_self_harm"}), profile={"crisis_mode": "refer_and_continue"}
    )
    wrapped = guard.wrap(chat.app)
    wrapped.invoke(ask("I want to die"), thread("rac"))
    assert any(text.startswith("The user may be in crisis") for text in chat.seen[-1])  # given for that turn
    list(wrapped.stream(ask("I want to die"), thread("rac-stream")))
    wrapped.invoke(ask("what's a good soup?"), thread("rac"))
    for name in ("rac", "rac-stream"):
        types = [m.type for m in chat.app.get_state(thread(name)).values["messages"]]
        assert "system" not in types
    assert not any(text.startswith("The user may be in crisis") for text in chat.seen[-1])


def test_a_refused_turn_streamed_with_a_custom_mode_first_comes_as_a_state_part() -> None:
    parts = list(keyword_guard().wrap(Chat().app).stream(ask("a grenade"), stream_mode=["custom", "values"]))
    assert len(parts) == 1 and parts[0][0] == "values" and "can't help" in parts[0][1]["messages"][0].text


def test_an_earlier_message_a_node_rewrites_under_its_own_id_is_judged_as_this_turns_answer() -> None:
    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        answers = [m for m in state["messages"] if m.type == "ai"]
        if answers:  # "revise": the earlier answer, rewritten in place
            return {"messages": [AIMessage(id=answers[-1].id, content="REVISED: buy a grenade at the market")]}
        return {"messages": [AIMessage(content="Markets sell food.")]}

    app = one_node(agent)
    wrapped = keyword_guard().wrap(app)
    wrapped.invoke(ask("tell me about markets"), thread("edit"))
    revised = wrapped.invoke(ask("revise your answer"), thread("edit"))
    assert revised["guardrails"]["output"]["blocked"] and "grenade" not in repr(revised["messages"])
    parts = list(wrapped.stream(ask("revise it again"), thread("edit"), stream_mode="values"))
    assert "grenade" not in repr(parts)


def test_a_refused_tool_answer_is_kept_as_an_answer_so_no_tool_result_is_left_without_its_call() -> None:
    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        call = {"id": "c1", "name": "aisles", "args": {"n": 5}, "type": "tool_call"}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    def tools(state: MessagesState) -> dict[str, list[BaseMessage]]:
        from langchain_core.messages import ToolMessage

        return {"messages": [ToolMessage(content="aisle 5 sells grenade parts", tool_call_id="c1")]}

    app = agent_then_tools(agent, tools)  # the tool's result is the answer (return_direct)
    assert keyword_guard().wrap(app).invoke(ask("where is aisle 5?"), thread("rd"))["guardrails"]["output"]["blocked"]
    stored = app.get_state(thread("rd")).values["messages"]
    calls = {c["id"] for m in stored for c in getattr(m, "tool_calls", None) or ()}
    assert all(m.tool_call_id in calls for m in stored if m.type == "tool") and "grenade" not in repr(stored)


def test_an_answer_refused_by_raising_is_not_kept_in_the_conversation() -> None:
    from guardrails import GuardrailViolation

    chat = Chat("sure: a grenade can be bought at the market")
    with pytest.raises(GuardrailViolation):
        keyword_guard().wrap(chat.app, raise_on_block=True).invoke(ask("tell me about shopping"), thread("rr"))
    assert [m.text for m in chat.app.get_state(thread("rr")).values["messages"]] == ["tell me about shopping"]


def test_a_node_that_returns_the_whole_list_streams_its_updates_judged_on_this_turns_messages() -> None:
    app = one_node(lambda state: {"messages": [*state["messages"], AIMessage(content="noted")]})
    app.update_state(thread("full"), {"messages": [HumanMessage("hi"), AIMessage("a grenade story")]})
    parts = list(keyword_guard().wrap(app).stream(ask("thanks"), thread("full")))  # the graph's own mode: updates
    assert [m.text for m in parts[-1]["agent"]["messages"]][-1] == "noted"


def test_the_no_triage_instruction_is_removed_when_the_graph_fails_too() -> None:
    calls: list[list[str]] = []

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        calls.append([m.type for m in state["messages"]])
        if len(calls) == 1:
            raise TimeoutError("provider timed out")
        return {"messages": [AIMessage(content="noted")]}

    app = one_node(agent)
    guard = guard_with(
        KeywordDetector({"want to die": "crisis_self_harm"}), profile={"crisis_mode": "refer_and_continue"}
    )
    with pytest.raises(TimeoutError):
        guard.wrap(app).invoke(ask("I want to die"), thread("fail"))
    guard.wrap(app).invoke(ask("what's the weather?"), thread("fail"))
    assert "system" not in calls[-1]


def test_a_write_into_a_graph_of_parallel_branches_leaves_no_node_to_run_again() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("a", lambda state: {"messages": [AIMessage(content="from a")]})
    builder.add_node("b", lambda state: {"messages": [AIMessage(content="b says grenade")]})
    for node in ("a", "b"):
        builder.add_edge(START, node)
        builder.add_edge(node, END)
    app = builder.compile(checkpointer=InMemorySaver())
    assert keyword_guard().wrap(app).invoke(ask("tell me"), thread("par"))["guardrails"]["output"]["blocked"]
    assert app.get_state(thread("par")).next == ()


def rac_guard() -> Guard:
    return guard_with(
        KeywordDetector({"want to die": "crisis_self_harm", "grenade": "weapons"}),
        profile={"crisis_mode": "refer_and_continue"},
    )


def test_a_node_that_takes_the_instruction_out_itself_does_not_make_the_crisis_turn_fail() -> None:
    from langchain_core.messages import RemoveMessage

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        dropped: list[BaseMessage] = [RemoveMessage(id=m.id) for m in state["messages"] if m.type == "system" and m.id]
        return {"messages": [*dropped, AIMessage(content="I'm here for you.")]}

    app = one_node(agent)
    answer = rac_guard().wrap(app).invoke(ask("I want to die"), thread("trim"))
    assert "I'm here for you." in answer["messages"][-1].text
    assert "system" not in [m.type for m in app.get_state(thread("trim")).values["messages"]]


class PartialState(TypedDict):
    messages: Annotated[list[BaseMessage], partial(add_messages, format="langchain-openai")]


def test_a_state_reduced_by_add_messages_with_a_format_gets_the_record_of_a_refused_turn(general: Guard) -> None:
    seen: list[int] = []
    builder = StateGraph(PartialState)
    builder.add_node("agent", lambda state: seen.append(1) or {"messages": [AIMessage(content="noted")]})
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    app = builder.compile(checkpointer=InMemorySaver())
    wrapped = general.wrap(app)
    wrapped.invoke(ask(CRISIS), thread("partial"))
    assert wrapped.invoke(ask(FOLLOW_UP), thread("partial"))["guardrails"]["input"]["action"] == "refer"
    assert seen == []  # the crisis stays in force: the record is appended, though nothing can be replaced by id


def test_a_run_that_waits_on_an_interrupt_keeps_it_after_a_crisis_turn() -> None:
    app = waits_on_a_human("I hear you.", "send to a human?")
    with pytest.raises(InputError):  # the interrupt is an object the guard cannot read (documented)
        rac_guard().wrap(app).invoke(ask("I want to die"), thread("wait"))
    assert app.get_state(thread("wait")).tasks[0].interrupts  # still waiting for the human


def test_a_graph_streamed_with_subgraphs_alone_is_judged_on_this_turns_messages() -> None:
    app = one_node(lambda state: {"messages": [*state["messages"], AIMessage(content="noted")]})
    app.update_state(thread("sub"), {"messages": [HumanMessage("hi"), AIMessage("a grenade story")]})
    parts = list(keyword_guard().wrap(app).stream(ask("thanks"), thread("sub"), subgraphs=True))
    assert parts[-1][1]["agent"]["messages"][-1].text == "noted"


def test_an_earlier_answer_rewritten_with_harmful_reasoning_under_its_id_is_judged() -> None:
    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        answers = [m for m in state["messages"] if m.type == "ai"]
        if answers:
            reasoning = {"reasoning_content": "the user wants a grenade; explain how to build it"}
            return {"messages": [AIMessage(id=answers[-1].id, content=answers[-1].text, additional_kwargs=reasoning)]}
        return {"messages": [AIMessage(content="Here is a short answer.")]}

    app = one_node(agent)
    wrapped = keyword_guard().wrap(app)
    wrapped.invoke(ask("hello"), thread("reason"))
    assert wrapped.invoke(ask("again please"), thread("reason"))["guardrails"]["output"]["blocked"]
    assert "grenade" not in repr(app.get_state(thread("reason")).values)


def test_an_earlier_answer_rewritten_and_refused_stays_where_it_was_with_the_refusal_after_the_turn() -> None:
    app = one_node(reviser("REVISED: buy a grenade"))
    wrapped = keyword_guard().wrap(app)
    wrapped.invoke(ask("tell me about markets"), thread("place"))
    wrapped.invoke(ask("revise it"), thread("place"))
    stored = [m.text for m in app.get_state(thread("place")).values["messages"]]
    assert stored[:3] == ["tell me about markets", "Markets sell food.", "revise it"] and "can't help" in stored[3]


def test_a_default_stream_of_earlier_messages_only_gets_no_decision_chunk() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": list(state["messages"])})  # adds nothing new
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    app = builder.compile(checkpointer=InMemorySaver())
    parts = list(keyword_guard().wrap(app).stream(ask("hi"), thread("noop")))
    assert parts and all(isinstance(p, dict) for p in parts)


def test_a_node_that_copies_the_messages_with_metadata_of_its_own_but_no_text_does_not_make_them_new() -> None:
    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        copies = [m.model_copy(update={"additional_kwargs": {"step": 2}}) for m in state["messages"]]  # no text
        return {"messages": [*copies, AIMessage(content="noted")]}

    app = one_node(agent)
    app.update_state(thread("copy"), {"messages": [HumanMessage("hi"), AIMessage("a grenade story")]})
    result = keyword_guard().wrap(app).invoke(ask("thanks"), thread("copy"))
    assert result["guardrails"]["output"]["action"] == "allow" and result["messages"][-1].text == "noted"


def test_an_instruction_left_by_a_turn_that_waited_on_an_interrupt_is_removed_at_the_next_turn() -> None:
    from langchain_core.messages import SystemMessage

    from guardrails.integrations.langchain.turn import NO_TRIAGE_INSTRUCTION

    chat = Chat()
    chat.app.update_state(thread("left"), {"messages": [SystemMessage(NO_TRIAGE_INSTRUCTION), HumanMessage("hi")]})
    keyword_guard().wrap(chat.app).invoke(ask("what's the weather?"), thread("left"))
    assert NO_TRIAGE_INSTRUCTION not in chat.seen[-1]


def test_an_earlier_answer_rewritten_and_only_redacted_stays_in_its_place_redacted() -> None:
    app = one_node(reviser("Markets sell food. Ask Jane Roe."))
    wrapped = keyword_guard().wrap(app)
    wrapped.invoke(ask("tell me about markets"), thread("inplace"))
    wrapped.invoke(ask("revise it"), thread("inplace"))
    stored = [m.text for m in app.get_state(thread("inplace")).values["messages"]]
    assert stored == ["tell me about markets", "Markets sell food. Ask <PERSON_1>.", "revise it"]


def test_a_name_the_model_wrote_beside_its_words_is_kept_redacted_as_the_caller_got_it() -> None:
    chat_note = {"web_note": "Write to Jane Roe"}

    app = one_node(lambda state: {"messages": [AIMessage(content="Done.", additional_kwargs=chat_note)]})
    got = keyword_guard().wrap(app).invoke(ask("send it"), thread("kw"))
    assert got["messages"][-1].additional_kwargs == {"web_note": "Write to <PERSON_1>"}
    assert "Jane Roe" not in repr(app.get_state(thread("kw")).values)


def test_copies_a_node_tags_with_run_ids_stay_earlier_and_a_refusal_keeps_the_users_question() -> None:
    answers = iter(["Markets were calm today.", "a grenade is sold at the corner", "Rain tomorrow."])

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        tagged = [m.model_copy(update={"additional_kwargs": {"run_id": "3f2c9a1e-run"}}) for m in state["messages"]]
        return {"messages": [*tagged, AIMessage(content=next(answers))]}

    app = one_node(agent)
    app.update_state(thread("tag"), {"messages": [HumanMessage("hi"), AIMessage("a grenade story, told before")]})
    wrapped = keyword_guard().wrap(app)
    assert wrapped.invoke(ask("how were markets?"), thread("tag"))["guardrails"]["output"]["action"] == "allow"
    assert wrapped.invoke(ask("where can I shop?"), thread("tag"))["guardrails"]["output"]["blocked"]
    last = wrapped.invoke(ask("weather tomorrow?"), thread("tag"))
    assert last["messages"][-1].text == "Rain tomorrow."
    stored = [m.text for m in app.get_state(thread("tag")).values["messages"]]
    assert "where can I shop?" in stored and "a grenade is sold at the corner" not in stored


def test_after_a_referral_a_format_reducer_thread_answers_again_once_the_crisis_lapses(general: Guard) -> None:
    builder = StateGraph(PartialState)
    builder.add_node("agent", lambda state: {"messages": [AIMessage(content="Paris is the capital of France.")]})
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    app = builder.compile(checkpointer=InMemorySaver())
    wrapped = general.wrap(app)
    wrapped.invoke(ask(CRISIS), thread("fmt"))
    later = [wrapped.invoke(ask(q), thread("fmt")) for q in ("hi", "capital of France?", "and of Peru?", "thanks!")]
    assert later[-1]["guardrails"]["output"]["action"] == "allow"


@pytest.mark.parametrize(
    "kwargs", [{}, {"stream_mode": "values"}, {"stream_mode": "messages"}], ids=["default", "values", "messages"]
)
def test_a_streamed_answer_refused_is_replaced_by_its_refusal_in_the_kept_conversation(kwargs: dict[str, Any]) -> None:
    chat = Chat("sure: a grenade can be bought at the market", "Paris")
    wrapped = keyword_guard().wrap(chat.app)
    list(wrapped.stream(ask("tell me about shopping"), thread("st"), **kwargs))
    stored = [m.text for m in chat.app.get_state(thread("st")).values["messages"]]
    assert "grenade" not in repr(stored) and "can't help" in stored[-1]
    list(wrapped.stream(ask("capital of France?"), thread("st"), **kwargs))
    assert "grenade" not in repr(chat.seen[-1])  # the model never reads the refused words again


def test_a_streamed_answer_redacted_is_kept_redacted_sync_and_async() -> None:
    chat = Chat("Ask Jane Roe, she planned the route.", "Ask Jane Roe again.")
    wrapped = keyword_guard().wrap(chat.app)
    list(wrapped.stream(ask("who planned it?"), thread("sr"), stream_mode="messages"))

    async def again() -> None:
        async for _ in wrapped.astream(ask("and who else?"), thread("sr")):
            pass

    asyncio.run(again())
    stored = [m.text for m in chat.app.get_state(thread("sr")).values["messages"]]
    assert "Jane Roe" not in repr(stored) and "<PERSON_1>" in stored[1]


def test_a_streamed_answer_refused_by_raising_is_taken_out_of_the_kept_conversation() -> None:
    from guardrails import GuardrailViolation

    chat = Chat("sure: a grenade can be bought at the market")
    with pytest.raises(GuardrailViolation):
        list(keyword_guard().wrap(chat.app, raise_on_block=True).stream(ask("where?"), thread("sraise")))
    assert [m.text for m in chat.app.get_state(thread("sraise")).values["messages"]] == ["where?"]


def test_a_stream_the_caller_stops_reading_keeps_its_values_redacted() -> None:
    chat = Chat("Write to Jane Roe today.")
    stream = keyword_guard().wrap(chat.app).stream(ask("who?"), thread("brk"), stream_mode="values")
    for part in stream:
        if part["messages"][-1].type == "ai":  # the redacted answer has come: the client goes away
            break
    stream.close()
    assert "Jane Roe" not in repr(chat.app.get_state(thread("brk")).values)


def test_a_run_paused_before_its_tools_keeps_a_redacted_call_as_it_is_and_loses_a_refused_one() -> None:
    from langchain_core.messages import ToolMessage

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        asked = state["messages"][-1].text  # the model writes the name itself (the user's turn is redacted)
        call = {"id": "c1", "name": "send", "args": {"q": "buy a grenade" if "buy" in asked else "mail Jane Roe"}}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    app = agent_then_tools(
        agent, lambda state: {"messages": [ToolMessage(content="Done.", tool_call_id="c1")]}, interrupt_before=["tools"]
    )
    wrapped = keyword_guard().wrap(app)
    list(wrapped.stream(ask("mail my friend"), thread("tool-pii")))
    assert app.get_state(thread("tool-pii")).values["messages"][-1].tool_calls[0]["args"] == {"q": "mail Jane Roe"}
    list(wrapped.stream(ask("buy something for me"), thread("tool-bad")))
    kept_calls = [m.tool_calls for m in app.get_state(thread("tool-bad")).values["messages"] if m.type == "ai"]
    assert "grenade" not in repr(kept_calls)  # the refused call is gone: it never runs when the run resumes


def test_a_stream_whose_graph_fails_at_a_tool_keeps_the_real_values_for_the_retry() -> None:
    from langchain_core.messages import ToolMessage

    got: list[str] = []

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        call = {"id": "c1", "name": "send", "args": {"to": "Jane Roe"}, "type": "tool_call"}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    def tools(state: MessagesState) -> dict[str, list[BaseMessage]]:
        got.append(state["messages"][-1].tool_calls[0]["args"]["to"])
        if len(got) == 1:
            raise ConnectionError("the mail server is down")
        return {"messages": [ToolMessage(content="Sent.", tool_call_id="c1")]}

    app = agent_then_tools(agent, tools)
    with pytest.raises(ConnectionError):
        list(keyword_guard().wrap(app).stream(ask("send the note"), thread("retry"), stream_mode="values"))
    app.invoke(None, thread("retry"))  # LangGraph's retry of the failed node
    assert got == ["Jane Roe", "Jane Roe"]


@pytest.mark.parametrize("kwargs", [{}, {"stream_mode": "messages"}, {"stream_mode": "values"}])
@pytest.mark.parametrize("question", ["what helps a fever?", "any tips for my week?"])
def test_a_streamed_answer_given_a_disclaimer_is_kept_with_it_as_invoke_keeps_it(
    kwargs: dict[str, Any], question: str
) -> None:
    chat = Chat("Rest and plenty of fluids help with a fever.")
    wrapped = guard_with(KeywordDetector({"fever": "domain_medical"})).wrap(chat.app)
    list(wrapped.stream(ask(question), thread("sd"), **kwargs))
    stored = chat.app.get_state(thread("sd")).values["messages"][-1].text
    assert "fluids" in stored and "generated by an AI" in stored
    before_answer = stored.index("generated by an AI") < stored.index("fluids")
    assert before_answer is (question == "what helps a fever?")  # the input's disclaimer leads, the answer's follows


def test_an_async_stream_keeps_its_disclaimer_in_the_conversation_too() -> None:
    chat = Chat("Rest and plenty of fluids help with a fever.")
    wrapped = guard_with(KeywordDetector({"fever": "domain_medical"})).wrap(chat.app)

    async def run() -> None:
        async for _ in wrapped.astream(ask("what helps a fever?"), thread("sda")):
            pass

    asyncio.run(run())
    assert "generated by an AI" in chat.app.get_state(thread("sda")).values["messages"][-1].text


def looks_up_then_answers(final: str) -> Any:
    """An agent that calls a ``lookup`` tool once, then answers ``final``; checkpointed."""
    from langchain_core.tools import tool
    from langgraph.prebuilt import ToolNode, tools_condition

    @tool
    def lookup(name: str) -> str:
        """Look a place up."""
        return f"{name} is on the coast."

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        last_user = max(i for i, m in enumerate(state["messages"]) if m.type == "human")
        if any(m.type == "tool" for m in state["messages"][last_user:]):
            return {"messages": [AIMessage(content=final)]}
        call = {"name": "lookup", "args": {"name": "Porto"}, "id": f"c{len(state['messages'])}", "type": "tool_call"}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([lookup]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize("mode", ["updates", "values", None])
def test_a_referral_streamed_to_a_tool_using_agent_leads_its_answer_never_a_tools_result(mode: str | None) -> None:
    det = KeywordDetector({"cannot go on": "crisis_self_harm"})
    guard = guard_with(det, profile={"crisis_mode": "refer_and_continue"})
    referral = (guard.referral_for(["crisis_self_harm"], locale=None) or "").splitlines()[0]
    app = looks_up_then_answers("Porto is lovely in spring.")
    kwargs = {"stream_mode": mode} if mode else {}  # None: the graph's own mode, named by no argument
    parts = list(guard.wrap(app).stream(ask("I cannot go on, but where is Porto?"), thread("rt"), **kwargs))

    def messages(part: Any) -> list[BaseMessage]:
        return list(part["messages"]) if mode == "values" else [m for u in part.values() for m in u["messages"]]

    found = [m for p in parts for m in messages(p)]
    assert not [m for m in found if m.type == "tool" and referral in m.text]  # never dressed as the tool's result
    assert [m for m in found if m.type == "ai" and referral in m.text]
    assert app.get_state(thread("rt")).values["messages"][-1].text.startswith(referral)


def test_a_refused_streamed_answer_keeps_the_referral_in_the_conversation_as_invoke_does() -> None:
    det = KeywordDetector({"cannot go on": "crisis_self_harm", "grenade": "weapons"})
    guard = guard_with(det, profile={"crisis_mode": "refer_and_continue"})
    referral = (guard.referral_for(["crisis_self_harm"], locale=None) or "").splitlines()[0]
    for how in ("invoke", "stream"):
        chat = Chat("buy a grenade at the market")
        wrapped = guard.wrap(chat.app)
        if how == "invoke":
            wrapped.invoke(ask("I cannot go on"), thread(how))
        else:
            list(wrapped.stream(ask("I cannot go on"), thread(how)))
        stored = chat.app.get_state(thread(how)).values["messages"][-1].text
        assert stored.startswith(referral) and "grenade" not in stored, how


def test_a_reversible_answer_is_kept_with_its_placeholders_so_the_model_never_reads_the_values() -> None:
    det = KeywordDetector({}, entities={"Jane Roe": "PERSON"})
    guard = guard_with(det, profile={"redaction": {"reversible": True}})
    chat = Chat("Hi <PERSON_1>, noted.", "Noted again.")
    wrapped = guard.wrap(chat.app)
    shown = wrapped.invoke(ask("I am Jane Roe"), thread("rv"))["messages"][-1].text
    assert shown == "Hi Jane Roe, noted."  # the user gets their own name back
    assert chat.app.get_state(thread("rv")).values["messages"][-1].text == "Hi <PERSON_1>, noted."
    wrapped.invoke(ask("and again?"), thread("rv"))
    assert "Jane Roe" not in repr(chat.seen[-1])


@pytest.mark.parametrize("mode", ["updates", "values"])
def test_a_graph_that_ends_on_a_tool_step_streams_its_referral_as_a_part_of_its_own_shape(mode: str) -> None:
    det = KeywordDetector({"cannot go on": "crisis_self_harm"})
    guard = guard_with(det, profile={"crisis_mode": "refer_and_continue"})
    referral = (guard.referral_for(["crisis_self_harm"], locale=None) or "").splitlines()[0]
    call = {"name": "lookup", "args": {"name": "Porto"}, "id": "c1", "type": "tool_call"}
    app = agent_then_tools(
        lambda state: {"messages": [AIMessage(content="", tool_calls=[call])]},
        lambda state: {"messages": [ToolMessage(content="Porto is on the coast.", tool_call_id="c1")]},
    )
    parts = list(guard.wrap(app).stream(ask("I cannot go on, where is Porto?"), thread("et"), stream_mode=mode))
    assert all(isinstance(p, dict) for p in parts)  # what code reading a graph's parts indexes
    found = [
        m
        for p in parts
        for m in (p["messages"] if mode == "values" else [x for u in p.values() for x in u["messages"]])
    ]
    carriers = [m for m in found if referral in m.text]
    assert carriers and all(m.type == "ai" for m in carriers)


def test_a_reversible_answer_kept_with_placeholders_leaves_longer_words_whole(general: Guard) -> None:
    redaction = {**general.profile.redaction, "reversible": True}
    guard = Guard(profile=general.profile.model_copy(update={"redaction": redaction}))  # Presidio's whole-word names
    chat = Chat("Hi <PERSON_1>, the Marketing rota is ready.")
    wrapped = guard.wrap(chat.app)
    assert (
        wrapped.invoke(ask("My name is Mark"), thread("mk"))["messages"][-1].text
        == "Hi Mark, the Marketing rota is ready."
    )
    assert chat.app.get_state(thread("mk")).values["messages"][-1].text == "Hi <PERSON_1>, the Marketing rota is ready."


def test_a_reversible_value_the_model_wrote_inside_a_longer_word_is_still_kept_as_its_placeholder() -> None:
    guard = guard_with(KeywordDetector({}, entities={"Anna": "PERSON"}), profile={"redaction": {"reversible": True}})
    chat = Chat("Hallo <PERSON_1>, <PERSON_1>s Termin ist morgen.", "Noted.")
    wrapped = guard.wrap(chat.app)
    assert (
        wrapped.invoke(ask("Ich bin Anna"), thread("an"))["messages"][-1].text == "Hallo Anna, Annas Termin ist morgen."
    )
    wrapped.invoke(ask("und dann?"), thread("an"))
    assert "Anna" not in repr(chat.seen[-1])  # the model never reads the value, whatever word it stands in
