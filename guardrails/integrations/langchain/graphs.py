"""A LangGraph app under the wrapper: which runnable is one, the shape of its state, and the conversation its
checkpointer keeps.

A graph with a checkpointer keeps each conversation (a ``thread_id``) in its own state, so a request brings only the
new message. The wrapper reads the user's earlier turns from that state for the multi-turn check
(:func:`stored_turns`), and a turn it answers without running the graph (a refusal, a crisis referral) goes into the
state as the wrapper's marker and its answer (:func:`record`), as a history saved from the wrapper's run holds it:
the conversation stays whole, the refused words are never stored, and a crisis stays in force for the window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable

from guardrails.integrations.langchain import shapes

__all__ = [
    "GUARD_NODE",
    "STORED_TURNS_READ",
    "GraphState",
    "arecord",
    "astored_turns",
    "graph_of",
    "is_graph",
    "record",
    "stored_turns",
]

#: the classes of a LangGraph app, local or remote
_GRAPH_CLASSES = frozenset({"Pregel", "PregelProtocol", "RemoteGraph"})
#: the node a turn refused on the input (the graph never run) comes from in a LangGraph app's ``updates`` stream
GUARD_NODE = "guardrails"
#: how many of the latest user turns a checkpointed conversation is read for (the multi-turn window is shorter)
STORED_TURNS_READ = 20


def is_graph(runnable: Any) -> bool:
    """True for a LangGraph app (local or remote), bound with a config or behind fallbacks: its stream's arguments
    say how it wraps its parts before any part has come (a refusal of the input in its ``messages`` shape). Any
    other runnable given ``stream_mode`` (a sequence with a graph in it, whose other steps may reshape the parts) is
    read by its chunks."""
    return graph_of(runnable) is not None


def graph_of(runnable: Any, depth: int = 0) -> Any:
    """The LangGraph app ``runnable`` is (see :func:`is_graph`); None when it is none."""
    if depth > 8 or runnable is None:
        return None
    if any(cls.__name__ in _GRAPH_CLASSES for cls in type(runnable).__mro__):
        return runnable
    inner = [getattr(runnable, name, None) for name in ("bound", "runnable")]  # a sequence is read by its chunks
    return next((g for r in inner if isinstance(r, Runnable) and (g := graph_of(r, depth + 1)) is not None), None)


@dataclass(frozen=True)
class GraphState:
    """The state a LangGraph app answers with when the guard answers for it (a turn refused or referred on the
    input, the graph never run): ``{key: [message]}``, the guard's message as the last of the state's messages, as
    the graph answers (``invoke``, ``values`` and ``updates`` streams), so code that reads
    ``result["messages"][-1]`` reads a refusal too. ``key`` is the input's list of messages that is also a state
    key the graph returns (``messages`` in ``MessagesState``)."""

    key: str
    #: the mode the graph streams in when told none (a compiled ``StateGraph``: ``updates``)
    default_mode: str

    @classmethod
    def of(cls, graph: Any, value: Any, input_keys: Sequence[str]) -> GraphState | None:
        """The state of ``graph`` (a LangGraph app, or None) for the input ``value``; None when the input holds no
        list of messages under one of ``input_keys`` that the graph returns (a graph whose output is one channel's
        bare value, or a state of plain strings, gets the wrapper's usual answer)."""
        if graph is None or not isinstance(value, Mapping):
            return None
        channels = getattr(graph, "output_channels", None)  # a local graph's; a remote one's are unknown
        if isinstance(channels, str):  # the graph returns that channel's value alone, not a state
            return None
        mode = getattr(graph, "stream_mode", None)
        for key in input_keys:
            if isinstance(value.get(key), (list, tuple)) and (channels is None or key in channels):
                return cls(key=key, default_mode=mode if isinstance(mode, str) else "updates")
        return None

    @staticmethod
    def holds(mode: str) -> bool:
        """True for a stream mode whose parts are the state or a node's update of it (not ``custom``, ``debug``,
        the task and checkpoint records)."""
        return mode in ("values", "updates")

    def payload(self, mode: str, message: BaseMessage) -> dict[str, Any]:
        """The part of a ``values`` or ``updates`` stream that holds ``message``."""
        return {self.key: [message]} if mode == "values" else {GUARD_NODE: {self.key: [message]}}


def _persists(graph: Any, config: Mapping[str, Any], state: GraphState | None) -> bool:
    """True when ``graph`` keeps this request's conversation: a local graph with a checkpointer, a ``thread_id`` in
    the request's config, and an input of messages (``state``)."""
    conf = config.get("configurable")
    thread = conf.get("thread_id") if isinstance(conf, Mapping) else None
    saver = getattr(graph, "checkpointer", None)
    return state is not None and thread is not None and callable(getattr(saver, "get_tuple", None))


def _user_turns(snapshot: Any, key: str) -> tuple[str, ...]:
    """The texts of the latest user turns among the stored state's messages under ``key`` (oldest first)."""
    values = getattr(snapshot, "values", None)
    messages = values.get(key) if isinstance(values, Mapping) else None
    if not isinstance(messages, (list, tuple)):
        return ()
    users = [m for m in messages if isinstance(m, BaseMessage) and shapes.is_user_message(m)]
    return tuple(t for m in users[-STORED_TURNS_READ:] if (t := shapes.user_text(m)).strip())


def stored_turns(graph: Any, config: Mapping[str, Any], state: GraphState | None) -> tuple[str, ...]:
    """The user's earlier turns that ``graph`` keeps for this request's conversation (see :func:`_persists`); ()
    when it keeps none."""
    if not _persists(graph, config, state):
        return ()
    assert state is not None
    return _user_turns(graph.get_state(config), state.key)


async def astored_turns(graph: Any, config: Mapping[str, Any], state: GraphState | None) -> tuple[str, ...]:
    """The async twin of :func:`stored_turns`."""
    if not _persists(graph, config, state):
        return ()
    assert state is not None
    return _user_turns(await graph.aget_state(config), state.key)


def _interrupted(snapshot: Any) -> bool:
    """True when the stored run waits on an interrupt (a human's approval): the guard writes nothing into it."""
    return any(getattr(task, "interrupts", ()) for task in getattr(snapshot, "tasks", ()) or ())


def _update(graph: Any, config: Mapping[str, Any], values: dict[str, Any]) -> Any:
    from langgraph.errors import InvalidUpdateError

    try:
        return graph.update_state(config, values)
    except InvalidUpdateError:  # no single node updated the state last (parallel branches): written as input
        return graph.update_state(config, values, as_node="__start__")


async def _aupdate(graph: Any, config: Mapping[str, Any], values: dict[str, Any]) -> Any:
    from langgraph.errors import InvalidUpdateError

    try:
        return await graph.aupdate_state(config, values)
    except InvalidUpdateError:
        return await graph.aupdate_state(config, values, as_node="__start__")


def record(graph: Any, config: Mapping[str, Any], state: GraphState | None, messages: Sequence[BaseMessage]) -> None:
    """Write ``messages`` (the wrapper's marker for a turn it answered without the graph, and that answer) into the
    conversation ``graph`` keeps, unless it keeps none or its stored run waits on an interrupt."""
    if not _persists(graph, config, state) or _interrupted(graph.get_state(config)):
        return
    assert state is not None
    _update(graph, config, {state.key: list(messages)})


async def arecord(
    graph: Any, config: Mapping[str, Any], state: GraphState | None, messages: Sequence[BaseMessage]
) -> None:
    """The async twin of :func:`record`."""
    if not _persists(graph, config, state) or _interrupted(await graph.aget_state(config)):
        return
    assert state is not None
    await _aupdate(graph, config, {state.key: list(messages)})
