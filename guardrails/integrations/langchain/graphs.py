"""A LangGraph app under the wrapper: which runnable is one, the shape of its state, and the conversation its
checkpointer keeps.

A graph with a checkpointer keeps each conversation (a ``thread_id``) in its own state, so a request brings only the
new message. The wrapper reads the user's earlier turns from that state for the multi-turn check
(:func:`stored_turns`), and a turn it answers without running the graph (a refusal, a crisis referral) goes into the
state as the wrapper's marker and its answer (:func:`record`), as a history saved from the wrapper's run holds it:
the conversation stays whole, the refused words are never stored, and a crisis stays in force for the window.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable

from guardrails.integrations.langchain import shapes

if TYPE_CHECKING:
    from guardrails.integrations.langchain.turn import Turn

__all__ = [
    "GUARD_NODE",
    "STORED_TURNS_READ",
    "GraphState",
    "Kept",
    "aforget_instruction",
    "aforget_stale_instructions",
    "akept",
    "arecord",
    "astream_back",
    "awrite_back",
    "bound_config",
    "forget_instruction",
    "forget_stale_instructions",
    "graph_of",
    "kept",
    "paused",
    "record",
    "stream_back",
    "with_ids",
    "words",
    "write_back",
]

logger = logging.getLogger("guardrails")
#: the classes of a LangGraph app, local or remote
_GRAPH_CLASSES = frozenset({"Pregel", "PregelProtocol", "RemoteGraph"})
#: the node a turn refused on the input (the graph never run) comes from in a LangGraph app's ``updates`` stream
GUARD_NODE = "guardrails"
#: how many of the latest user turns a checkpointed conversation is read for (the multi-turn window is shorter)
STORED_TURNS_READ = 20


def graph_of(runnable: Any, depth: int = 0) -> Any:
    """The LangGraph app (local or remote) ``runnable`` is, bound with a config or behind fallbacks; None when it is
    none. Such an app's stream arguments say how it wraps its parts before any part has come (a refusal of the input
    in its ``messages`` shape); any other runnable given ``stream_mode`` (a sequence with a graph in it, whose other
    steps may reshape the parts) is read by its chunks."""
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


@dataclass(frozen=True)
class Kept:
    """The conversation a graph keeps for this request (its checkpointer's state for the request's ``thread_id``),
    read once before the turn."""

    #: what it is read and written with: the request's config over the config the graph is bound with
    config: dict[str, Any]
    #: the state key of its messages
    key: str
    #: the texts of the latest user turns in it (oldest first)
    turns: tuple[str, ...]
    #: every message in it, by id, as its words (``words``): in the state the graph returns, a message with one of
    #: these ids and the same words is not this turn's answer (one a node rewrote under its id is)
    ids: Mapping[str, str]
    #: its stored run waits on an interrupt (a human's approval): the guard writes nothing into it
    interrupted: bool
    #: the messages themselves, by id: one the turn rewrote under its id and the guard refused is put back
    messages: Mapping[str, BaseMessage]
    #: its messages channel adds messages by id (``add_messages``), so the guard can add, replace and remove them;
    #: a plain list would be overwritten by what the guard writes
    writable: bool
    #: its messages channel adds messages (``add_messages``, with a ``format=`` too, which drops their ids: then the
    #: guard only adds its record of a turn it answered, and replaces or removes nothing)
    appends: bool
    #: the words of its messages that have no id (``add_messages`` with ``format=`` stores them so)
    unnamed: tuple[str, ...] = ()


def bound_config(runnable: Any, config: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """``config`` over the config ``runnable`` is bound with on its way to its graph (``with_config``), as LangChain
    merges them: the request's ``configurable`` wins over a binding's, an outer binding's over an inner one's."""
    bound: dict[str, Any] = {}
    inner: Any = runnable
    layers: list[Mapping[str, Any]] = []
    while inner is not None and depth <= 8 and graph_of(inner) is not None:
        own = getattr(inner, "config", None)
        if isinstance(own, Mapping) and isinstance(own.get("configurable"), Mapping):
            layers.append(own["configurable"])
        nxt = [getattr(inner, name, None) for name in ("bound", "runnable")]
        inner = next((n for n in nxt if isinstance(n, Runnable)), None)
        depth += 1
    for layer in reversed(layers):  # the innermost first, each outer one over it
        bound.update(layer)
    request = config.get("configurable")
    return {**config, "configurable": {**bound, **(request if isinstance(request, Mapping) else {})}}


def _keeps(graph: Any, config: Mapping[str, Any], state: GraphState | None) -> bool:
    """True when ``graph`` keeps this request's conversation: a local graph with a checkpointer, a ``thread_id`` in
    the config, and an input of messages (``state``)."""
    conf = config.get("configurable")
    thread = conf.get("thread_id") if isinstance(conf, Mapping) else None
    saver = getattr(graph, "checkpointer", None)
    return state is not None and thread is not None and callable(getattr(saver, "get_tuple", None))


def _reducer(graph: Any, key: str) -> tuple[bool, bool]:
    """Whether the graph's ``key`` channel adds messages (LangGraph's ``add_messages``), and whether it keeps their
    ids (not so with ``partial(add_messages, format="langchain-openai")``, which stores them without)."""
    channels = getattr(graph, "channels", None)
    channel = channels.get(key) if isinstance(channels, Mapping) else None
    operator = getattr(channel, "operator", None)
    formatted = bool(getattr(operator, "keywords", None))
    operator = getattr(operator, "func", operator)  # a partial of add_messages
    appends = "add_messages" in getattr(operator, "__name__", "")
    return appends, appends and not formatted


def paused(snapshot: Any) -> bool:
    """True when the stored run waits on an interrupt, or has a node still to run (a breakpoint, ``interrupt_before``;
    a node that failed; a run its caller stopped): an answer only redacted is not written into it, as a write would
    change what runs when it resumes (the tool must get the real values)."""
    return _waits(snapshot) or bool(getattr(snapshot, "next", ()))


def _waits(snapshot: Any) -> bool:
    """True when a stored run waits on an interrupt."""
    return any(getattr(task, "interrupts", ()) for task in getattr(snapshot, "tasks", ()) or ())


def _kept(graph: Any, config: dict[str, Any], key: str, snapshot: Any) -> Kept:
    values = getattr(snapshot, "values", None)
    messages = values.get(key) if isinstance(values, Mapping) else None
    messages = [m for m in messages if isinstance(m, BaseMessage)] if isinstance(messages, (list, tuple)) else []
    users = [m for m in messages if shapes.is_user_message(m)]
    return Kept(
        config=config,
        key=key,
        turns=tuple(t for m in users[-STORED_TURNS_READ:] if (t := shapes.user_text(m)).strip()),
        ids={m.id: words(m) for m in messages if m.id},
        interrupted=_waits(snapshot),
        appends=_reducer(graph, key)[0],
        writable=_reducer(graph, key)[1],
        messages={m.id: m for m in messages if m.id},
        unnamed=tuple(words(m) for m in messages if not m.id),
    )


def kept(runnable: Any, config: Mapping[str, Any], state: GraphState | None) -> Kept | None:
    """The conversation the graph ``runnable`` is (or wraps) keeps for this request; None when it keeps none."""
    graph = graph_of(runnable)
    merged = bound_config(runnable, config)
    if not _keeps(graph, merged, state):
        return None
    assert state is not None
    return _kept(graph, merged, state.key, graph.get_state(merged))


async def akept(runnable: Any, config: Mapping[str, Any], state: GraphState | None) -> Kept | None:
    """The async twin of :func:`kept`."""
    graph = graph_of(runnable)
    merged = bound_config(runnable, config)
    if not _keeps(graph, merged, state):
        return None
    assert state is not None
    return _kept(graph, merged, state.key, await graph.aget_state(merged))


def _final_nodes(graph: Any) -> list[str]:
    """The nodes of a graph built with ``StateGraph`` that have an edge to its end: a write as one of them leaves no
    node to run again."""
    edges = getattr(getattr(graph, "builder", None), "edges", None)
    found = [str(start) for start, end in edges if end == "__end__"] if isinstance(edges, (set, frozenset)) else []
    return sorted(found)


def _update(graph: Any, config: Mapping[str, Any], values: dict[str, Any]) -> Any:
    """``values`` written into the kept state as the node LangGraph takes for the last writer; where several wrote
    last (parallel branches), as one of them that ends the graph (none is left to run again), else as the input."""
    from langgraph.errors import InvalidUpdateError

    for node in [None, *_final_nodes(graph), "__start__"]:
        try:
            return graph.update_state(config, values, as_node=node)
        except InvalidUpdateError:
            continue
    return None


async def _aupdate(graph: Any, config: Mapping[str, Any], values: dict[str, Any]) -> Any:
    """The async twin of :func:`_update`."""
    from langgraph.errors import InvalidUpdateError

    for node in [None, *_final_nodes(graph), "__start__"]:
        try:
            return await graph.aupdate_state(config, values, as_node=node)
        except InvalidUpdateError:
            continue
    return None


def _may_write(kept: Kept | None) -> bool:
    return kept is not None and kept.writable and not kept.interrupted


def record(runnable: Any, kept: Kept | None, messages: Sequence[BaseMessage]) -> None:
    """Add ``messages`` (the wrapper's marker for a turn it answered without the graph, and that answer) to the
    conversation the graph keeps, unless it keeps none, waits on an interrupt, or keeps its messages as a plain
    list (which this would overwrite)."""
    if kept is not None and kept.appends and not kept.interrupted:
        _update(graph_of(runnable), kept.config, {kept.key: list(messages)})


async def arecord(runnable: Any, kept: Kept | None, messages: Sequence[BaseMessage]) -> None:
    """The async twin of :func:`record`."""
    if kept is not None and kept.appends and not kept.interrupted:
        await _aupdate(graph_of(runnable), kept.config, {kept.key: list(messages)})


def words(m: BaseMessage) -> str:
    """What a message says, as one string: its type, content, tool calls (valid or not) and reasoning. Not the rest
    of its ``additional_kwargs``, where a node that copies messages may add ids and timestamps: such a copy of an
    earlier message is still that message. A message whose id is known but whose words are not is new."""
    calls = (getattr(m, "tool_calls", None), getattr(m, "invalid_tool_calls", None))
    try:
        reasoning = [text for _, text in shapes.reasoning_slots(m)]
    except Exception:  # reasoning the guard cannot read: the message is new (its check refuses it)
        reasoning = [repr(m.additional_kwargs)]
    return repr((m.type, m.content, calls, reasoning))


def _all_said(m: BaseMessage) -> str:
    """Everything of a message the guard reads (``history.sealed_text``): an answer the guard changed anywhere (a
    redacted name in a transcript) is written back."""
    from guardrails.integrations.langchain.history import sealed_text

    try:
        return repr((words(m), sealed_text(m)))
    except Exception:
        return repr((words(m), m.additional_kwargs))


def _corrections(
    before: Sequence[Any], after: Sequence[Any], kept: Mapping[str, BaseMessage], *, refused: bool
) -> list[BaseMessage]:
    """What turns the turn's messages as the graph stored them (``before``) into the ones the caller got
    (``after``): one gone removed by id, one whose words changed replaced (same id), one the guard wrote added;
    none when the words are the same (the guard's metadata alone is not written)."""
    from langchain_core.messages import RemoveMessage

    stored = {m.id: m for m in before if isinstance(m, BaseMessage) and m.id}
    dropped = _calls(before) - _calls(after)  # tool calls the guard took out (with a refused answer)
    shown = [_paired(m, dropped) for m in after if isinstance(m, BaseMessage)]
    ids = {m.id for m in shown if m.id}
    # one gone that the turn began with (rewritten under its id, then refused) is put back as it was
    removed: list[BaseMessage] = [kept[i] if i in kept else RemoveMessage(id=i) for i in stored if i not in ids]
    changed: list[BaseMessage] = []
    for m in shown:
        if m.id in stored and _all_said(m) == _all_said(stored[m.id]):
            continue
        if refused and m.id and m.id in kept and words(m) != words(kept[m.id]):  # an earlier answer rewritten and
            changed.append(kept[m.id])  # refused: the earlier answer stays where it was, the refusal after the turn
            m = m.model_copy(update={"id": None})
        changed.append(m if m.id else m.model_copy(update={"id": str(uuid.uuid4())}))
    return [*removed, *changed]


def _calls(messages: Sequence[Any]) -> set[Any]:
    """The ids of the tool calls among ``messages``."""
    return {c.get("id") for m in messages if isinstance(m, BaseMessage) for c in getattr(m, "tool_calls", None) or ()}


def _paired(m: BaseMessage, dropped: set[Any]) -> BaseMessage:
    """``m``, or, for a tool's result whose call the guard took out (a refusal put where a ``return_direct`` tool's
    answer was, its call dropped with the refused answer), the same words as an answer of the model's: a history
    with a tool result and no call is one a provider refuses."""
    if m.type != "tool" or getattr(m, "tool_call_id", None) not in dropped:
        return m
    from langchain_core.messages import AIMessage

    return AIMessage(content=m.content, response_metadata=dict(m.response_metadata), id=str(uuid.uuid4()))


def _fix(kept: Kept | None, before: Sequence[Any], after: Sequence[Any], refused: bool) -> list[BaseMessage]:
    """What ``write_back`` writes (``_corrections``); none when the guard may not write into the kept state."""
    if kept is None or not _may_write(kept):
        return []
    return _corrections(before, after, kept.messages, refused=refused)


def _unwritten(exc: Exception) -> None:
    logger.warning("guardrails: the answer was not written back into the graph's state (%s)", type(exc).__name__)


def write_back(
    runnable: Any,
    kept: Kept | None,
    before: Sequence[Any],
    after: Sequence[Any],
    *,
    refused: bool = False,
) -> None:
    """Make the conversation the graph keeps hold this turn's answer as the caller got it (``after``: refused,
    redacted, with disclaimers), not as the graph stored it (``before``): a refused answer's words would otherwise
    reach the model again next turn. An answer only changed (redacted) is not written into a run with a node still
    to run (``paused``); a refused one is, so that a refused tool call never runs when the run resumes. A write
    LangGraph refuses is logged, never raised: the caller's answer stands."""
    if not (fix := _fix(kept, before, after, refused)):
        return
    assert kept is not None
    graph = graph_of(runnable)
    try:
        if refused or not paused(graph.get_state(kept.config)):
            _update(graph, kept.config, {kept.key: fix})
    except Exception as exc:
        _unwritten(exc)


async def awrite_back(
    runnable: Any,
    kept: Kept | None,
    before: Sequence[Any],
    after: Sequence[Any],
    *,
    refused: bool = False,
) -> None:
    """The async twin of :func:`write_back`."""
    if not (fix := _fix(kept, before, after, refused)):
        return
    assert kept is not None
    graph = graph_of(runnable)
    try:
        if refused or not paused(await graph.aget_state(kept.config)):
            await _aupdate(graph, kept.config, {kept.key: fix})
    except Exception as exc:
        _unwritten(exc)


def with_ids(value: Any, state: GraphState | None) -> tuple[Any, dict[str, str]]:
    """The graph's input with an id on each message under the state's key (LangGraph would give them ids of its
    own), and their words by id: in the state the graph returns, they are the input's messages, not its answer."""
    if state is None or not isinstance(value, Mapping) or not isinstance(value.get(state.key), (list, tuple)):
        return value, {}
    from langchain_core.messages import convert_to_messages

    messages = [
        m if m.id else m.model_copy(update={"id": str(uuid.uuid4())}) for m in convert_to_messages(value[state.key])
    ]
    return {**value, state.key: messages}, {m.id: words(m) for m in messages if m.id}


def _instructions(kept: Kept | None, instruction: str, snapshot: Any) -> list[BaseMessage]:
    """The removal of every copy of the guard's one-turn ``instruction`` (``crisis_mode: refer_and_continue``'s
    system message) still in the conversation the graph keeps (``snapshot``, read after the turn ran): it is for the
    turn it came with, not for later ones. None while the run waits on an interrupt (a write would clear it); one a
    node took out already is not removed again (that would fail)."""
    from langchain_core.messages import RemoveMessage

    if kept is None or not kept.writable or _waits(snapshot):
        return []
    values = getattr(snapshot, "values", None)
    stored = values.get(kept.key) if isinstance(values, Mapping) else None
    messages = [m for m in stored if isinstance(m, BaseMessage)] if isinstance(stored, (list, tuple)) else []
    return [RemoveMessage(id=m.id) for m in messages if m.id and m.type == "system" and m.text == instruction]


def _says(new_input: Any, kept: Kept | None, instruction: str) -> bool:
    """True when the graph's input, or the conversation kept before the turn (a turn that waited on an interrupt
    left it), holds the instruction, in a state the guard may write: then the state is read after the turn for it."""
    if kept is None or not kept.writable:  # (waiting on an interrupt before the turn: the turn may have ended it)
        return False
    messages = new_input.get(kept.key) if isinstance(new_input, Mapping) else None
    carried = isinstance(messages, list) and any(
        isinstance(m, BaseMessage) and m.type == "system" and m.text == instruction for m in messages
    )
    return carried or any(m.type == "system" and m.text == instruction for m in kept.messages.values())


def forget_instruction(runnable: Any, kept: Kept | None, new_input: Any, instruction: str) -> None:
    """Remove the guard's one-turn ``instruction`` from the kept conversation once the turn has run."""
    if not _says(new_input, kept, instruction):
        return
    assert kept is not None
    graph = graph_of(runnable)
    if removals := _instructions(kept, instruction, graph.get_state(kept.config)):
        _update(graph, kept.config, {kept.key: removals})


async def aforget_instruction(runnable: Any, kept: Kept | None, new_input: Any, instruction: str) -> None:
    """The async twin of :func:`forget_instruction`."""
    if not _says(new_input, kept, instruction):
        return
    assert kept is not None
    graph = graph_of(runnable)
    if removals := _instructions(kept, instruction, await graph.aget_state(kept.config)):
        await _aupdate(graph, kept.config, {kept.key: removals})


def forget_stale_instructions(runnable: Any, kept: Kept | None, instruction: str) -> None:
    """Remove the guard's one-turn ``instruction`` that an earlier turn left in the kept conversation (its run waited
    on an interrupt then, and was resumed past the guard), before this turn runs."""
    if _may_write(kept) and (stale := _stale(kept, instruction)):
        assert kept is not None
        _update(graph_of(runnable), kept.config, {kept.key: stale})


async def aforget_stale_instructions(runnable: Any, kept: Kept | None, instruction: str) -> None:
    """The async twin of :func:`forget_stale_instructions`."""
    if _may_write(kept) and (stale := _stale(kept, instruction)):
        assert kept is not None
        await _aupdate(graph_of(runnable), kept.config, {kept.key: stale})


def _stale(kept: Kept | None, instruction: str) -> list[BaseMessage]:
    from langchain_core.messages import RemoveMessage

    if kept is None:
        return []
    return [RemoveMessage(id=i) for i, m in kept.messages.items() if m.type == "system" and m.text == instruction]


def stream_back(runnable: Any, kept: Kept | None, turn: Turn, how: str, blocked: Any) -> bool:
    """After a stream, the conversation the graph keeps holds its answer as the caller got it
    (``Turn.streamed_answer``; ``invoke`` writes back the same way, ``write_back`` leaving a paused run as it is
    unless the answer was refused). A write LangGraph refuses (a node's update it handed out before saving it, when
    the graph was stopped) is logged, never raised: the caller still gets the refusal. Returns True (written)."""
    graph = graph_of(runnable)
    if kept is None or not kept.writable or kept.interrupted or graph is None:
        return True
    try:
        before = turn.answer_messages(getattr(graph.get_state(kept.config), "values", None))
        if (after := turn.streamed_answer(how, blocked, before)) is not None:
            write_back(runnable, kept, before, after[0], refused=after[1])
    except Exception as exc:  # the stream's own outcome stands
        _unwritten(exc)
    return True


async def astream_back(runnable: Any, kept: Kept | None, turn: Turn, how: str, blocked: Any) -> bool:
    """The async twin of :func:`stream_back`."""
    graph = graph_of(runnable)
    if kept is None or not kept.writable or kept.interrupted or graph is None:
        return True
    try:
        before = turn.answer_messages(getattr(await graph.aget_state(kept.config), "values", None))
        after = await asyncio.to_thread(turn.streamed_answer, how, blocked, before)
        if after is not None:
            await awrite_back(runnable, kept, before, after[0], refused=after[1])
    except Exception as exc:
        _unwritten(exc)
    return True
