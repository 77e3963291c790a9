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

from guardrails import Guard
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
            assert isinstance(message, AIMessageChunk) and isinstance(meta, dict)
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
