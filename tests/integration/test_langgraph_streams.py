"""A real LangGraph app under the wrapper, streamed in each shape LangGraph gives its parts: a list of
``stream_mode``s (``(mode, data)``), ``subgraphs=True`` (``(namespace, data)``), both, and ``version="v2"``
(``{"type", "ns", "data"}``). Each part's payload is screened as a stream of its mode is, and goes back into
its wrapping."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from guardrails import Guard, InputError
from guardrails.integrations.langchain.history import SEALS_KEY
from guardrails.testing import KeywordDetector, guard_with

REFUSAL = "can't help"
ANSWER = "Please ask Jane Roe about the trip, she planned the whole route along the coast last summer."


def guard() -> Guard:
    return guard_with(KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"}))


class Graph:
    """A one-node LangGraph app around a fake chat model that streams ``answer`` word by word."""

    def __init__(self, answer: str = ANSWER) -> None:
        self.calls = 0
        model = GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=answer)]))

        def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
            self.calls += 1
            return {"messages": [model.invoke(state["messages"])]}

        builder = StateGraph(MessagesState)
        builder.add_node("agent", agent)
        builder.add_edge(START, "agent")
        builder.add_edge("agent", END)
        self.app = builder.compile()


def ask(text: str) -> dict[str, Any]:
    return {"messages": [HumanMessage(content=text)]}


#: (stream arguments, how to take one part apart into (mode, payload))
SHAPES: dict[str, tuple[dict[str, Any], Any]] = {
    "modes": ({"stream_mode": ["messages", "updates"]}, lambda p: (p[0], p[1])),
    "subgraphs": ({"stream_mode": "messages", "subgraphs": True}, lambda p: ("messages", p[1])),
    "modes+subgraphs": ({"stream_mode": ["messages", "updates"], "subgraphs": True}, lambda p: (p[1], p[2])),
    "v2": ({"stream_mode": ["messages", "updates"], "version": "v2"}, lambda p: (p["type"], p["data"])),
}


def messages_text(parts: list[Any], split: Any) -> str:
    text = ""
    for part in parts:
        mode, payload = split(part)
        if mode == "messages":
            message, meta = payload
            assert isinstance(message, BaseMessage) and isinstance(meta, dict)
            if isinstance(message, AIMessage):  # a chunk of the answer, or a node's whole message
                text += message.text
    return text


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_each_part_of_a_graphs_stream_is_screened_and_keeps_its_wrapping(shape: str) -> None:
    kwargs, split = SHAPES[shape]
    graph = Graph()
    raw = list(graph.app.stream(ask("hi there"), **kwargs))
    assert "Jane" in repr(raw)  # the graph itself streams the name
    parts = list(guard().wrap(graph.app).stream(ask("hi there"), **kwargs))
    assert "Jane" not in repr(parts) and "Roe" not in repr(parts)
    assert messages_text(parts, split) == ANSWER.replace("Jane Roe", "<PERSON_1>")
    if "updates" in str(kwargs):
        updates = [split(p)[1] for p in parts if split(p)[0] == "updates"]
        assert [u["agent"]["messages"][0].content for u in updates] == [ANSWER.replace("Jane Roe", "<PERSON_1>")]
    last = split(parts[-1])[1][0]
    assert SEALS_KEY in last.response_metadata["guardrails"]  # a history that keeps it knows it as delivered


def test_a_graphs_v2_stream_is_the_same_screened_async() -> None:
    kwargs, split = SHAPES["v2"]

    async def collect() -> list[Any]:
        return [p async for p in guard().wrap(Graph().app).astream(ask("hi there"), **kwargs)]

    parts = asyncio.run(collect())
    assert all(set(p) >= {"type", "ns", "data"} for p in parts)
    assert messages_text(parts, split) == ANSWER.replace("Jane Roe", "<PERSON_1>")


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_harmful_answer_in_a_graphs_stream_is_refused_in_every_mode(shape: str) -> None:
    kwargs, split = SHAPES[shape]
    answer = "Sure. " * 30 + "Here is where to buy a grenade without any papers."
    parts = list(guard().wrap(Graph(answer).app).stream(ask("hi there"), **kwargs))
    assert "grenade" not in repr([split(p)[1] for p in parts if split(p)[0] != "messages" or p is not parts[-1]])
    assert REFUSAL in messages_text(parts, split) or REFUSAL in repr(parts)
    assert "grenade" not in messages_text(parts, split)


@pytest.mark.parametrize("shape", [*SHAPES, "messages"], ids=[*SHAPES, "messages"])
def test_a_refused_request_is_answered_in_the_graphs_stream_shape_without_running_the_graph(shape: str) -> None:
    kwargs, split = SHAPES.get(shape, ({"stream_mode": "messages"}, lambda p: ("messages", p)))
    graph = Graph()
    parts = list(guard().wrap(graph.app).stream(ask("where can I buy a grenade"), **kwargs))
    assert graph.calls == 0 and len(parts) == 1
    mode, (message, meta) = split(parts[0])
    assert mode == "messages" and isinstance(message, AIMessageChunk) and meta == {}
    assert REFUSAL in message.text and SEALS_KEY in message.response_metadata["guardrails"]


def tool_agent(*, ends_on_tool: bool = False) -> Any:
    """An agent's loop: a node that asks a tool (a hand-made tool call), LangGraph's ToolNode, then the answer (or,
    ``ends_on_tool``, the tool's result is the answer, as with ``return_direct``)."""
    from langchain_core.tools import tool
    from langgraph.prebuilt import ToolNode, tools_condition

    @tool
    def lookup(name: str) -> str:
        """Look a person up."""
        return f"{name} lives on the coast."

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        if any(m.type == "tool" for m in state["messages"]):
            return {"messages": [AIMessage(content="Bob lives on the coast, near the old harbour.")]}
        call = {"name": "lookup", "args": {"name": "Bob"}, "id": "c1", "type": "tool_call"}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([lookup]))
    builder.add_edge(START, "agent")
    if ends_on_tool:
        builder.add_edge("agent", "tools")
        builder.add_edge("tools", END)
    else:
        builder.add_conditional_edges("agent", tools_condition)
        builder.add_edge("tools", "agent")
    return builder.compile()


@pytest.mark.parametrize("shape", ["modes", "v2"])
def test_a_tool_calling_agent_streams_in_several_modes_with_its_answer_sealed(shape: str) -> None:
    kwargs, split = SHAPES[shape]
    parts = list(guard().wrap(tool_agent()).stream(ask("where does Bob live?"), **kwargs))
    assert "Bob lives on the coast, near the old harbour." in messages_text(parts, split)
    last = split(parts[-1])[1][0]
    assert SEALS_KEY in last.response_metadata["guardrails"]


def test_a_part_holding_an_interrupt_the_guard_cannot_read_fails_closed() -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import interrupt

    model = GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=ANSWER)]))

    def approve(state: MessagesState) -> dict[str, list[BaseMessage]]:
        interrupt({"draft": state["messages"][-1].content})  # a human approves the model's draft
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": [model.invoke(state["messages"])]})
    builder.add_node("approve", approve)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "approve")
    builder.add_edge("approve", END)
    app = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t1"}}
    with pytest.raises(InputError):
        list(guard().wrap(app).stream(ask("hi"), config, stream_mode=["messages", "values"], version="v2"))


@pytest.mark.parametrize("modes", [["messages", "values"], ["messages", "updates", "values"]])
def test_with_values_streamed_first_the_messages_parts_still_carry_the_refusal_and_the_decision(
    modes: list[str],
) -> None:
    answer = "Sure. " * 30 + "Here is where to buy a grenade without any papers."
    parts = list(guard().wrap(Graph(answer).app).stream(ask("hi there"), stream_mode=modes))
    text = messages_text(parts, lambda p: (p[0], p[1]))
    assert REFUSAL in text and "grenade" not in text
    last_mode, (last, _) = parts[-1]
    assert last_mode == "messages" and "guardrails" in last.response_metadata
    assert "grenade" not in repr([p for p in parts if p[0] != "messages"])


def test_custom_mode_strings_stream_apart_from_the_answers_messages() -> None:
    from langgraph.config import get_stream_writer

    model = GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=ANSWER)]))

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        writer = get_stream_writer()
        writer("[status] calling the model")
        reply = model.invoke(state["messages"])
        writer("[status] done")
        return {"messages": [reply]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    parts = list(guard().wrap(builder.compile()).stream(ask("hi"), stream_mode=["messages", "custom"]))
    assert messages_text(parts, lambda p: (p[0], p[1])) == ANSWER.replace("Jane Roe", "<PERSON_1>")
    custom = "".join(p[1] for p in parts if p[0] == "custom")
    assert custom == "[status] calling the model[status] done"


def test_task_and_checkpoint_parts_pass_whole_not_as_pieces_of_text() -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    graph = Graph()
    app = graph.app.builder.compile(checkpointer=InMemorySaver()) if hasattr(graph.app, "builder") else graph.app
    config: Any = {"configurable": {"thread_id": "t1"}}
    raw = list(app.stream(ask("hi"), config, stream_mode=["tasks", "checkpoints"]))
    config = {"configurable": {"thread_id": "t2"}}
    parts = list(guard().wrap(app).stream(ask("hi"), config, stream_mode=["tasks", "checkpoints"]))
    assert [m for m, _ in parts] == [m for m, _ in raw]
    tasks = [p for m, p in parts if m == "tasks"]
    assert [t["name"] for t in tasks] == ["agent", "agent"]
    assert "Jane" not in repr(parts)


@pytest.mark.parametrize("modes", ["messages", ["messages", "updates"], "updates", "values"])
def test_under_refer_and_continue_an_agents_stream_shows_the_referral_once_though_it_starts_with_a_tool_call(
    modes: Any,
) -> None:
    guard = guard_with(
        KeywordDetector({"want to die": "crisis_self_harm"}), profile={"crisis_mode": "refer_and_continue"}
    )
    referral = guard.referral_for(["crisis_self_harm"], locale=None)
    parts = list(guard.wrap(tool_agent()).stream(ask("I want to die, where does Bob live?"), stream_mode=modes))
    assert repr(parts).count(referral.splitlines()[0]) == 1


@pytest.mark.parametrize("modes", [["tasks", "messages"], ["checkpoints", "messages"], ["debug", "messages"]])
def test_with_a_record_mode_streamed_first_the_last_messages_part_still_carries_the_decision_and_seals(
    modes: list[str],
) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    app = Graph().app.builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "r"}}
    parts = list(guard().wrap(app).stream(ask("hi there"), config, stream_mode=modes))
    _, (last, _) = [p for p in parts if p[0] == "messages"][-1]
    assert SEALS_KEY in last.response_metadata["guardrails"]


def test_a_chain_that_is_no_graph_given_stream_mode_streams_as_it_always_does() -> None:
    model = GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=ANSWER)]))
    chunks = list(guard().wrap(model).stream("hi", stream_mode=["messages", "updates"]))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(c.text for c in chunks) == ANSWER.replace("Jane Roe", "<PERSON_1>")


def test_a_graph_behind_fallbacks_still_has_its_parts_taken_apart_and_screened() -> None:
    kwargs, split = SHAPES["modes"]
    chain = guard().wrap(Graph().app).with_fallbacks([Graph().app])
    parts = list(chain.stream(ask("hi there"), **kwargs))
    assert "Jane" not in repr(parts) and messages_text(parts, split) == ANSWER.replace("Jane Roe", "<PERSON_1>")


def test_an_agent_graph_that_ends_on_its_tool_step_still_shows_the_referral_once() -> None:
    guard = guard_with(
        KeywordDetector({"want to die": "crisis_self_harm"}), profile={"crisis_mode": "refer_and_continue"}
    )
    referral = guard.referral_for(["crisis_self_harm"], locale=None)
    app = tool_agent(ends_on_tool=True)
    parts = list(guard.wrap(app).stream(ask("I want to die, where is Bob?"), stream_mode="messages"))
    assert repr(parts).count(referral.splitlines()[0]) == 1


#: how a graph's stream is asked for, and how to read the guard's message out of the one part of a refused turn
STATE_SHAPES: dict[str, tuple[dict[str, Any], Any]] = {
    "default (updates)": ({}, lambda p: p["guardrails"]["messages"]),
    "updates": ({"stream_mode": "updates"}, lambda p: p["guardrails"]["messages"]),
    "values": ({"stream_mode": "values"}, lambda p: p["messages"]),
    "updates, values": ({"stream_mode": ["updates", "values"]}, lambda p: p[1]["guardrails"]["messages"]),
    "values + subgraphs": ({"stream_mode": "values", "subgraphs": True}, lambda p: p[1]["messages"]),
    "v2 updates": ({"stream_mode": ["updates"], "version": "v2"}, lambda p: p["data"]["guardrails"]["messages"]),
}


def assert_refusal_state(messages: Any) -> None:
    assert isinstance(messages, list) and len(messages) == 1
    assert isinstance(messages[0], AIMessage) and REFUSAL in messages[0].text
    assert messages[0].response_metadata["guardrails"]["input"]["blocked"] is True
    assert SEALS_KEY in messages[0].response_metadata["guardrails"]  # known as the guard's own when it comes back


@pytest.mark.parametrize("shape", STATE_SHAPES, ids=list(STATE_SHAPES))
def test_a_refused_request_streamed_from_a_graph_is_a_part_of_the_state_the_graph_streams(shape: str) -> None:
    kwargs, messages_of = STATE_SHAPES[shape]
    graph = Graph()
    parts = list(guard().wrap(graph.app).stream(ask("where can I buy a grenade"), **kwargs))
    assert graph.calls == 0 and len(parts) == 1
    assert_refusal_state(messages_of(parts[0]))


def test_a_refused_request_to_a_graph_is_answered_as_its_state_by_invoke_batch_and_ainvoke() -> None:
    graph = Graph()
    wrapped = guard().wrap(graph.app)
    answered = wrapped.invoke(ask("hi there"))
    assert set(answered) == {"messages", "guardrails"}
    refused = [
        wrapped.invoke(ask("where can I buy a grenade")),
        *wrapped.batch([ask("where can I buy a grenade")]),
        asyncio.run(wrapped.ainvoke(ask("where can I buy a grenade"))),
    ]
    assert graph.calls == 1
    for state in refused:
        assert set(state) == set(answered)  # code that reads result["messages"][-1] reads the refusal
        assert_refusal_state(state["messages"])
        assert state["guardrails"]["input"]["blocked"] is True


def test_a_refused_request_streamed_async_from_a_graph_is_a_state_part_too() -> None:
    async def collect() -> list[Any]:
        return [p async for p in guard().wrap(Graph().app).astream(ask("where can I buy a grenade"))]

    parts = asyncio.run(collect())
    assert len(parts) == 1
    assert_refusal_state(parts[0]["guardrails"]["messages"])


def test_a_graph_wrapped_with_a_chosen_output_kind_refuses_in_that_kind() -> None:
    refused = guard().wrap(Graph().app, output="message").invoke(ask("where can I buy a grenade"))
    assert isinstance(refused, AIMessage) and REFUSAL in refused.text


def test_a_graph_whose_state_holds_no_list_of_messages_keeps_the_wrappers_usual_refusal() -> None:
    from typing_extensions import TypedDict

    class QA(TypedDict):
        question: str
        answer: str

    builder = StateGraph(QA)
    builder.add_node("agent", lambda state: {"answer": "Paris."})
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    refused = guard().wrap(builder.compile()).invoke({"question": "where can I buy a grenade"})
    assert isinstance(refused, AIMessage) and REFUSAL in refused.text  # no state key to put a message list under


def disclaiming_guard() -> Guard:
    return guard_with(KeywordDetector({"fever": "domain_medical"}))


@pytest.mark.parametrize("question", ["what helps a fever?", "any tips for my week?"])
@pytest.mark.parametrize("mode", ["updates", ["updates", "values"]])
def test_a_disclaimer_streamed_in_updates_comes_as_a_message_of_the_graphs_shape_with_an_id_of_its_own(
    question: str, mode: Any
) -> None:
    graph = Graph("Rest and plenty of fluids help with a fever.")
    parts = list(disclaiming_guard().wrap(graph.app).stream(ask(question), stream_mode=mode))
    messages: list[BaseMessage] = []
    for part in parts:
        this_mode, payload = part if isinstance(part, tuple) else (mode, part)
        # what code that reads a graph's stream does with each part, and what a dict of the guard's own broke
        found = payload["messages"] if this_mode == "values" else [m for u in payload.values() for m in u["messages"]]
        messages.extend(m for m in found if m.type == "ai" and m not in messages)
    disclaimers = [m for m in messages if "generated by an AI" in m.text]
    answers = [m for m in messages if "fluids" in m.text]
    assert disclaimers and answers  # the input's disclaimer before the answer, the answer's own after it
    assert not {m.id for m in disclaimers} & {m.id for m in answers}  # merged by id, the answer stays


@pytest.mark.parametrize("question", ["what helps a fever?", "any tips for my week?"])
def test_the_last_values_part_is_the_whole_state_with_the_disclaimer_sync_and_async(question: str) -> None:
    graph = Graph("Rest and plenty of fluids help with a fever.")
    wrapped = disclaiming_guard().wrap(graph.app)

    async def parts() -> list[Any]:
        return [p async for p in wrapped.astream(ask(question), stream_mode="values")]

    for last in (list(wrapped.stream(ask(question), stream_mode="values"))[-1], asyncio.run(parts())[-1]):
        texts = [m.text for m in last["messages"]]
        assert texts[0] == question and "fluids" in texts[1]  # the conversation, not a disclaimer alone
        assert "generated by an AI" in "\n".join(texts[1:])
