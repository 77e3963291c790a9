"""A streamed answer under screening: the pure logic ``GuardedRunnable.stream`` and ``astream`` share.

Each lane (the whole stream, or one key of a stream of dicts) has its own :class:`~guardrails.streaming.StreamScreen`;
tool calls are held until checked whole; each lane writes one audit record when it ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.runnables.utils import AddableDict
from pydantic import BaseModel

from guardrails.errors import AuditError, GuardrailViolation, InputError
from guardrails.integrations.langchain import shapes
from guardrails.integrations.langchain.turn import Turn, added
from guardrails.streaming import StreamScreen
from guardrails.types import Action, Decision, DetectorFailure, Stage

_log = logging.getLogger("guardrails")

#: said in the audit record of a streamed answer stopped while one of its checks gave no decision: an async stream
#: cancelled again while the cancellation waited for a window's check (or a check that raised)
UNJUDGED_NOTE = (
    "stream stopped with a window unjudged (cancelled while it was being checked, or its check failed): "
    "its decision is not in this record; none of its text was shown"
)

#: lane key of a stream whose chunks are not dicts (a LangGraph app's ``messages`` parts among them)
_WHOLE = object()
#: the modes of a LangGraph app's stream whose parts are records, not an answer's pieces: each checked whole
RECORD_MODES = frozenset({"tasks", "checkpoints", "debug"})


@dataclass(frozen=True)
class _ModeLane:
    """Lane key of the parts of one LangGraph stream mode that are not dicts (``custom`` mode's strings): a stream
    of their own, never joined to the answer's ``messages`` parts."""

    mode: str


def _is_whole(key: Any) -> bool:
    return key is _WHOLE or isinstance(key, _ModeLane)


def _structured(value: Any) -> bool:
    """A list, tuple, non-message model or dict holding one: streamed whole (a graph's state, documents)."""
    if isinstance(value, (list, tuple)):
        return True
    if isinstance(value, Mapping):  # a graph's update ({"messages": [...]}), not a nested stream of str tokens
        return any(_structured(v) for v in value.values())
    return isinstance(value, BaseModel) and not isinstance(value, BaseMessage)


def _holds_messages(value: Any, depth: int = 0) -> bool:
    """True when a part (a dict of state keys or node updates) holds a list of messages or a message."""
    if isinstance(value, BaseMessage):
        return True
    if depth < 8 and isinstance(value, Mapping):
        return any(_holds_messages(v, depth + 1) for v in value.values())
    if depth < 8 and isinstance(value, list):
        return any(isinstance(v, BaseMessage) or _holds_messages(v, depth + 1) for v in value)
    return False


def _says_something(value: Any, depth: int = 0) -> bool:
    """True when a graph's state part holds a model's message with text (not only tool calls or a tool's result)."""
    if isinstance(value, AIMessage):
        return bool(value.text.strip())
    if isinstance(value, tuple) and len(value) == 2 and value[0] in ("ai", "assistant"):  # ("ai", text)
        return isinstance(value[1], str) and bool(value[1].strip())
    if depth < 8 and isinstance(value, Mapping):
        return any(_says_something(v, depth + 1) for v in value.values())
    if depth < 8 and isinstance(value, (list, tuple)):
        return any(_says_something(v, depth + 1) for v in value)
    return False


@dataclass(frozen=True)
class GraphParts:
    """How a LangGraph app's stream wraps each payload, from the arguments it was streamed with: ``(mode, data)``
    for a list of ``stream_mode``s, ``(namespace, data)`` with ``subgraphs=True`` (``(namespace, mode, data)`` with
    both), ``{"type": mode, "ns": namespace, "data": data, ...}`` with ``version="v2"``. The payload is screened
    as a stream of that mode is, and what the guard yields for it goes back into the same wrapping."""

    modes: tuple[str, ...]
    multi: bool
    subgraphs: bool
    v2: bool

    @classmethod
    def of(cls, kwargs: Mapping[str, Any]) -> GraphParts | None:
        """The parts the arguments of a stream ask for; None when they name no LangGraph stream mode."""
        mode = kwargs.get("stream_mode")
        multi = isinstance(mode, (list, tuple))
        listed: tuple[Any, ...] = tuple(mode) if isinstance(mode, (list, tuple)) else (mode,)
        modes = tuple(m for m in listed if isinstance(m, str))
        subgraphs, v2 = kwargs.get("subgraphs") is True, kwargs.get("version") == "v2"
        if not (modes or multi or subgraphs or v2):
            return None
        return cls(modes=modes, multi=multi, subgraphs=subgraphs, v2=v2)

    @classmethod
    def for_state(cls, parts: GraphParts | None, mode: str | None) -> GraphParts | None:
        """``parts`` as a graph streams them, ``mode`` (the graph's own, for a stream that names none) standing in
        for the modes they do not name (no ``stream_mode``, or ``subgraphs=True`` alone); None without a graph."""
        if mode is None:
            return parts
        if parts is None:
            return cls(modes=(mode,), multi=False, subgraphs=False, v2=False)
        return parts if parts.modes else replace(parts, modes=(mode,))

    @property
    def wrapped(self) -> bool:
        """Each payload comes wrapped (in a tuple or a dict); else the chunks are the payloads."""
        return self.multi or self.subgraphs or self.v2

    def split(self, chunk: Any) -> tuple[Any, Any] | None:
        """(the wrapping, the payload) of one part; None for a chunk not so wrapped."""
        if self.v2:
            if not (isinstance(chunk, Mapping) and "type" in chunk and "data" in chunk):
                return None
            unread = [k for k, v in chunk.items() if k not in ("type", "ns", "data") and v]
            if unread:  # an interrupt's value (a draft for a human to approve) is no wrapping: never passed unread
                raise InputError(
                    f"cannot screen a LangGraph stream part's {', '.join(map(str, unread))}: the guard reads only its "
                    "data; stream without interrupts, or read them from the graph's state"
                )
            return {k: v for k, v in chunk.items() if k != "data"}, chunk["data"]
        size = 1 + self.multi + self.subgraphs
        if size > 1 and isinstance(chunk, tuple) and len(chunk) == size:
            return chunk[:-1], chunk[-1]
        return None

    def join(self, tag: Any, payload: Any) -> Any:
        """``payload`` in the wrapping ``tag``."""
        return {**tag, "data": payload} if isinstance(tag, dict) else (*tag, payload)

    def mode_of(self, tag: Any) -> str | None:
        """The mode of a part in the wrapping ``tag`` (of the parts of a stream of one mode: that mode)."""
        if isinstance(tag, dict):
            mode = tag.get("type")
        elif self.multi and isinstance(tag, tuple) and tag:
            mode = tag[-1]
        else:
            mode = self.modes[0] if len(self.modes) == 1 else None
        return mode if isinstance(mode, str) else None

    def answer_mode(self, default: str) -> str:
        """The mode a refusal of the user's turn is yielded in: ``messages`` when streamed, else the first mode, else
        ``default`` (the mode the graph streams when told none)."""
        return "messages" if "messages" in self.modes else next(iter(self.modes), default)

    def wrapping(self, mode: str) -> Any:
        """The wrapping of a part of ``mode`` from the root graph; None when the payloads come bare."""
        if not self.wrapped:
            return None
        if self.v2:
            return {"type": mode, "ns": ()}
        return (*((),) * self.subgraphs, *(mode,) * self.multi)


@dataclass(repr=False)  # it holds the answer's and the user's words: never shown
class Lane:
    """One streamed answer: the whole stream, or one key of a stream of dicts (each key is screened apart)."""

    screen: StreamScreen
    container: Mapping[Any, Any] | None  # the first dict chunk (rebuilds dicts of its type); None: whole stream
    sample: Any = None  # the first value with text (or tool calls): the shape of the chunks the guard writes
    released: bool = False
    calls: AIMessageChunk | None = None  # tool-call chunks held until the whole call has been checked
    calls_sample: Any = None
    whole: Any = None  # the last structured value checked whole: the shape a refusal in this lane takes
    released_whole: Any = None  # that value as it was released (screened)
    values: bool = False  # a lane of a graph's ``values`` parts (the whole state each time)
    decision: Decision | None = None  # the screen's summary once in the audit log (ScreenedStream.recorded)


@dataclass(repr=False)  # it holds the answer's and the user's words: never shown
class ScreenedStream:
    """A streamed answer under screening; the pure logic shared by ``stream`` and ``astream``.

    Text (from str chunks, message chunks, and str / message values of dict chunks) goes through a
    StreamScreen per lane. Tool-call chunks are held back: when the model's stream ends, the
    accumulated calls are checked as a whole; a BLOCK releases none of them (the stream ends with the
    refusal), PII is released redacted (the user's own values restored in reversible mode), like
    the arguments of a non-streamed answer.

    A lane's text is checked in windows, and its tool calls whole, by checks that write no audit record; the
    lane writes one, of its screen's summary (text and tool calls, as invoke records the same answer once), when
    it finishes (:meth:`recorded`), or when the stream stops early (:meth:`close`).
    """

    turn: Turn
    lanes: dict[Any, Lane] = field(default_factory=dict)
    #: the decisions of structured values checked whole (``checked_whole``), each recorded by its own check
    whole_decisions: list[tuple[Any, Decision]] = field(default_factory=list)
    #: content-less chunks (usage, finish_reason, LangChain's end marker): passed on after the last text, since
    #: the screen may still hold text back when they arrive and a consumer may stop reading at them
    held: list[tuple[Any, Any, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: the text to show before the answer (``Turn.stream_head``: a ``refer_and_continue`` referral, the input's
    #: disclaimers) is still to come: it goes before the chain's first chunk with text, in that chunk's type, and
    #: is held for the final answer when the first chunk holds only tool calls (a tool-calling step of an agent)
    head_due: bool = True
    #: the head was yielded (a refusal then need not repeat the referral it led with)
    head_shown: bool = False
    #: the chain has yielded a chunk; its chunks are messages (then the decision ends the stream in one)
    fed: bool = False
    messages: bool = False
    #: the answer's text is not as the model wrote it: the guard released some of it changed (redacted, restored) or
    #: wrote text of its own into it (a head, tool calls screened); then a structured answer's parsed value
    #: (``shapes.PARSED_KWARG``, on a content-less last chunk) is not passed on, as it says the model's words
    altered: bool = False
    #: a LangGraph app streamed with ``stream_mode="messages"`` yields ``(message chunk, metadata)`` pairs: the
    #: message is screened, the latest metadata goes with what is yielded for it (its run ids and node names are
    #: no answer text)
    pair_meta: Mapping[str, Any] | None = None
    #: a LangGraph app's parts wrap their payloads (``GraphParts``): the wrapping of the part being fed, and of the
    #: last part that fed each lane (what the guard yields for a lane at the end goes back into that wrapping)
    parts: GraphParts | None = None
    tag: Any = None
    tags: dict[Any, Any] = field(default_factory=dict)
    #: the wrapped runnable is a LangGraph app (``graphs.graph_of``); else its stream's arguments are trusted only
    #: as far as its chunks bear them out (a ``(message, metadata)`` pair came: ``pairs_seen``)
    graph: bool = False
    pairs_seen: bool = False
    #: the last plain dict under each key of a stream of LangChain's addable dicts, with its text (see ``_feed``)
    key_values: dict[Any, tuple[Any, str]] = field(default_factory=dict)
    #: the LangGraph mode of the payload being fed (None: not a graph's part)
    mode: str | None = None
    #: a head due in a ``values`` part: merged into the first text of the answer that part holds (``checked_whole``)
    pending_head: str = ""

    def _paired(self, out: list[Any]) -> list[Any]:
        if self.pair_meta is None and not self.messages_mode:
            return out
        return [(o, self.pair_meta or {}) if isinstance(o, BaseMessage) else o for o in out]

    @property
    def messages_mode(self) -> bool:
        """A LangGraph app streamed with its ``messages`` mode: the answer streams in ``(message, metadata)`` pairs."""
        return self.parts is not None and "messages" in self.parts.modes and (self.graph or self.pairs_seen)

    def _head(self, chunk: Any) -> list[Any]:
        """The head before ``chunk`` when it is the chain's first with text or tool calls (see ``head_due``)."""
        turn = self.turn
        text = any(p.text for p in turn.read(chunk, streamed=True).pieces)
        if not text:
            if shapes.held_calls(chunk) is not None and self.messages and not (self.graph or self.pairs_seen):
                # one model's message that calls a tool: a step of an agent's loop whose final answer, a later call,
                # gets the head (an agent's own stream, of dicts or a graph's parts, holds its final answer: the
                # head goes before its first text)
                self.head_due = False
            return []
        self.head_due = False
        head = turn.stream_head()
        if not head:
            return []
        self.altered = self.head_shown = True
        return self._made_head(chunk, head)

    def _made_head(self, chunk: Any, head: str) -> list[Any]:
        """The head as a chunk of the chain's type (a chain that declares no output type streams what it streams)."""
        turn = self.turn
        kind = turn.kind if turn.wrapper.output_forced else shapes.kind_of(chunk) or turn.kind
        return [shapes.make_output(kind, head, output_key=turn.wrapper.answer_key, metadata={}, chunk=True)]

    def _in_place(self, chunk: Any, head: list[Any]) -> list[Any]:
        """The head of a graph's state part (``values``, ``updates``) in that part's shape: a message in the answer's
        own place, as late disclaimers come, not a dict of the guard's own that code reading the state trips on."""
        if not head or not isinstance(chunk, Mapping) or not (self.graph or self.parts is not None):
            return head
        for key in chunk:
            lane = self.lanes.get(key)
            if (
                lane is not None
                and lane.whole is not None
                and lane.sample is None
                and not self._context(key)
                and _holds_messages(lane.whole)
            ):
                return [self.emit(key, lane, self.turn.streamed_head, added=True)]
        return head

    def passed(self, chunk: Any) -> None:
        """A part passed on unscreened (a graph's state part of earlier messages only): the stream's shape is
        learned from it as from a part that was fed (a stream of dicts gets no decision chunk at its end)."""
        split = None if self.parts is None else self.parts.split(chunk)
        if not self.fed:
            self._first(chunk if split is None else split[1])

    def _first(self, chunk: Any) -> None:
        """The chain's first chunk: the kind of its answers is learned."""
        self.fed = True
        self.messages = isinstance(chunk, BaseMessage) or self.messages_mode
        self.turn.wrapper.learn(chunk)

    @property
    def tool_step(self) -> bool:
        """The answer holds tool calls: a step of an agent's loop, whose final answer gets the disclaimers."""
        return any(lane.calls is not None for lane in self.lanes.values())

    def recorded(self, lane: Lane) -> Decision | None:
        """The lane's one decision: its screen's summary of every window, with the salted hash of all the text
        checked, written to the audit log the first time it is asked for (when the lane has finished). None
        when nothing of the lane was checked. The windows themselves are not recorded. Locked: an async
        stream cancelled while a worker thread ends it closes it on the event loop at the same time.

        A lane stopped while one of its checks gave no decision (still running on a worker thread when an async
        stream was cancelled, see ``runnable._in_worker``) is recorded with :data:`UNJUDGED_NOTE` in its explanation,
        even when nothing of it was judged before."""
        with self.lock:
            if lane.decision is None:
                summary, text, unjudged = lane.screen.state()
                if unjudged:
                    summary = self._unjudged(summary)
                if summary is not None:
                    lane.decision = self.turn.guard.record(summary, text=text)
            return lane.decision

    def _unjudged(self, summary: Decision | None) -> Decision:
        """The lane's record with the unjudged window said in its explanation and as a failure (a consumer that
        reads ``action`` with ``failures``, as for a failed detector, sees that a check did not complete)."""
        failure = DetectorFailure(detector="stream", error="Unjudged", message=UNJUDGED_NOTE)
        if summary is None:  # nothing of the lane was judged: the record still says it was stopped unjudged
            name = self.turn.guard.profile.name
            return Decision(
                action=Action.ALLOW,
                stage=Stage.OUTPUT,
                text="",
                explanation=UNJUDGED_NOTE,
                profile=name,
                failures=(failure,),
            )
        return replace(
            summary, explanation=f"{UNJUDGED_NOTE}; {summary.explanation}", failures=(*summary.failures, failure)
        )

    def close(self) -> None:
        """Record every lane not yet recorded: what was checked of a stream that ended early (the caller
        stopped reading, the model failed). The text not yet checked was never shown."""
        for lane in self.lanes.values():
            self.recorded(lane)

    @contextmanager
    def audited(self) -> Iterator[None]:
        """Around a stream: every lane recorded once, whatever ends it. An audit write that fails (``AuditError``)
        is raised when the stream ends normally; when it ends otherwise (the caller stopped reading, which no one
        could catch, or the model failed, whose error goes on) it is logged to the ``guardrails`` logger, with the
        file and the reason only, never the record."""
        try:
            yield
        except AuditError:  # a record of this stream failed as it ended: raised as it is, not tried again
            raise
        except BaseException:
            try:
                self.close()
            except AuditError as exc:
                _log.error("a stream ended early and its audit record was lost: %s", exc)
            raise
        self.close()

    @property
    def blocked(self) -> tuple[Any, Decision] | None:
        for key, lane in self.lanes.items():
            if lane.screen.blocked is not None:
                return key, lane.screen.blocked
        return next(((key, d) for key, d in self.whole_decisions if d.blocked), None)

    def _final(self, items: list[tuple[Any, Any]]) -> list[Any]:
        """What the guard yields at the end (``(lane key, value)``): a message of the answer's lane paired in
        ``messages`` mode, each in the wrapping of the last part that fed its lane (the answer's lane: the root
        graph's ``messages`` wrapping when no part fed it)."""
        out = []
        for key, value in items:
            if key is _WHOLE:
                value = self._paired([value])[0]
            if self.parts is not None and self.parts.wrapped:
                tag = self.tags.get(key)
                if tag is None:
                    tag = self.parts.wrapping("messages") if key is _WHOLE and self.messages_mode else self.tag
                if tag is not None:
                    value = self.parts.join(tag, value)
            out.append(value)
        return out

    def feed(self, chunk: Any) -> list[Any]:
        """What to yield for one chunk of the wrapped runnable's stream."""
        split = None if self.parts is None else self.parts.split(chunk)
        if split is None:
            mode = self.parts.mode_of(None) if self.parts is not None and self.graph else None
            return self._fed_mode(mode, chunk)
        assert self.parts is not None
        self.tag, payload = split
        return [self.parts.join(self.tag, o) for o in self._fed_mode(self.parts.mode_of(self.tag), payload)]

    def _fed_mode(self, mode: str | None, payload: Any) -> list[Any]:
        """What to yield for one payload of a LangGraph stream of ``mode`` (None: any other stream's chunk)."""
        self.mode = mode
        if mode in RECORD_MODES:  # a task's or a checkpoint's record: checked whole, passed on whole
            if not self.fed:
                self.fed, self.messages = True, self.messages_mode
            key = _ModeLane(mode)
            if self.tag is not None:
                self.tags[key] = self.tag
            if key not in self.lanes:
                self.lanes[key] = Lane(screen=self.turn.screen(context=False), container=None)
            checked = self.checked_whole(key, payload)
            return [] if checked is None else [checked]
        if mode is not None and mode != "messages" and not isinstance(payload, Mapping):
            return self._fed(payload, whole=_ModeLane(mode))  # a custom mode's strings: a stream of their own
        return self._fed(payload)

    def answer_part(self, item: Any) -> Any:
        """The part of a yielded item that is the answer's words, for its seals: the model's message chunk of a
        ``(message, metadata)`` pair, in its wrapping or not; the item itself in a stream of answers; None for
        anything else (another mode's part, a tool's result)."""
        split = None if self.parts is None else self.parts.split(item)
        if split is not None:
            item = split[1]
        if _message_pair(item):
            message = item[0]
            if isinstance(message, AIMessageChunk):
                return message
            if isinstance(message, AIMessage):  # a node's whole message: as a chunk, which adds up
                return AIMessageChunk(content=message.content, additional_kwargs=message.additional_kwargs)
            return None
        return None if split is not None or self.messages_mode else item

    def sealed_tail(self, sent: Any, tail: list[Any]) -> list[Any]:
        """The stream's last items with the seals of the whole answer (``Turn.sealed_tail``) on the decision's
        chunk, which may come paired and wrapped."""
        if not tail:
            return tail
        *rest, last = tail
        split = None if self.parts is None else self.parts.split(last)
        inner = split[1] if split is not None else last
        meta = inner[1] if _message_pair(inner) else None
        message = inner[0] if meta is not None else inner
        for item in rest:
            part = self.answer_part(item)
            sent = sent if part is None else added(sent, part)
        sealed = self.turn.sealed_tail(sent, [message])[-1]
        if meta is not None:
            sealed = (sealed, meta)
        return [*rest, sealed if split is None or self.parts is None else self.parts.join(split[0], sealed)]

    def _fed(self, chunk: Any, *, whole: Any = _WHOLE) -> list[Any]:
        if _message_pair(chunk):
            if not isinstance(chunk[0], AIMessage):  # a tool's result, a user turn: no part of the answer's words
                redacted = self._redacted_apart(chunk[0])
                return [] if redacted is None else [(redacted, chunk[1])]
            chunk, self.pair_meta = chunk
            self.pairs_seen = True
        if not self.fed:
            self._first(chunk)
        # in messages mode the head goes before the answer's first message, never into another mode's part
        due = self.head_due and (not self.messages_mode or (whole is _WHOLE and isinstance(chunk, BaseMessage)))
        # a graph's state part that holds messages (not a state of plain strings, whose text streams as before)
        state_part = (self.mode in ("values", "updates") or (self.graph and self.mode is None)) and _holds_messages(
            chunk
        )
        if due and state_part and not self.messages_mode and not _says_something(chunk):
            due = False  # a graph's state part: the head leads the model's words, never a tool's result
        head = self._head(chunk) if due else []
        if head and self.mode == "values" and isinstance(chunk, Mapping):
            # the whole state each time: the head goes into the answer's text, as invoke returns it
            head, self.pending_head = [], self.turn.streamed_head
        fed = self._feed(chunk, whole)
        if self.pending_head:  # no answer's text in the part after all: the head on its own, as before
            head, self.pending_head = self._in_place(chunk, self._made_head(chunk, self.pending_head)), ""
        out = self._in_place(chunk, head) + fed
        return self._paired(out) if whole is _WHOLE else out

    def _feed(self, chunk: Any, whole: Any = _WHOLE) -> list[Any]:
        parts = list(chunk.items()) if isinstance(chunk, Mapping) else [(whole, chunk)]
        out: dict[Any, Any] = {}
        for key, value in parts:
            if self.tag is not None:
                self.tags[key] = self.tag
            if key == shapes.META_KEY and shapes.own_metadata(value):
                out[key] = value  # decisions of a nested guard: no text
                continue
            text = "".join(p.text for p in self.turn.read(value, streamed=True).pieces)
            if type(value) is dict and isinstance(chunk, AddableDict) and not _structured(value):
                # a plain dict under a key that repeats the last one and grows it (a JSON parser's snapshots, in a
                # branch of a dict chain): the text it repeats is no new text, only what it adds is screened
                last, self.key_values[key] = self.key_values.get(key), (value, text)
                if last is not None and _extends(last[0], value) == "grows" and text.startswith(last[1]):
                    text = text[len(last[1]) :]
                    if not text:
                        continue  # a snapshot that added no text (a number, a key with no words yet)
            calls = shapes.held_calls(value)
            if not text and calls is None:
                if not (isinstance(value, str) and not value):
                    self.held.append((key, chunk, shapes.without_slots(value)))  # nothing to screen
                continue
            lane = self.lanes.get(key)
            if lane is None:
                container = chunk if not _is_whole(key) else None
                lane = self.lanes[key] = Lane(screen=self.turn.screen(context=self._context(key)), container=container)
            if not _is_whole(key) and _structured(value):
                # a whole structured value of a dict chunk (retrieved documents, a graph's message list):
                # checked as it is and passed on in its own shape, never folded into a text stream
                checked = self.checked_whole(key, value)
                if checked is None:
                    break
                out[key] = checked
                continue
            meta = shapes.metadata_only(value)
            if meta is not None:
                self.held.append((key, chunk, meta))
            media = shapes.media_only(value)
            if media is not None:  # an image beside the text: passed on after it
                self.held.append((key, chunk, media))
            if calls is not None:
                lane.calls = calls if lane.calls is None else lane.calls + calls
                lane.calls_sample = value if lane.calls_sample is None else lane.calls_sample
            if text:
                lane.sample = value if lane.sample is None else lane.sample
                released = self._released(lane, lane.screen.released, lane.screen.feed(text))
                if released:
                    lane.released = True
                    out[key] = shapes.chunk_like(value, released, output_key=self.turn.wrapper.output_key)
                if lane.screen.blocked is not None:
                    break
        return [] if not out else [out[whole] if whole in out else shapes.remap(chunk, out)]

    def end(self) -> list[Any]:
        """What to yield after the wrapped stream ended (or was stopped by a BLOCK)."""
        out: list[tuple[Any, Any]] = []
        for key, lane in self.lanes.items():
            if self.blocked is not None:
                break
            rest = self._released(lane, lane.screen.released, lane.screen.flush())
            if rest:
                lane.released = True
                out.append((key, self.emit(key, lane, rest)))
        for key, lane in self.lanes.items():
            if self.blocked is not None:
                break
            if lane.calls is not None:
                calls = self.checked_calls(lane, lane.calls)
                if calls is not None:
                    sample = lane.calls_sample
                    value = shapes.chunk_like(sample, "", output_key=self.turn.wrapper.output_key, calls=calls)
                    out.append((key, self.wrap(key, lane, value)))
        # the chain yielded no text: the head in the kind its answers take, first; a model's tool step leaves it to
        # its final answer, a later call (a graph's stream that ended on a tool step has no later call); a refused
        # answer takes no disclaimers (its refusal leads with the referral, see tail)
        if self.head_due and self.blocked is None and (not self.tool_step or self.graph or self.pairs_seen):
            self.head_due = False
            head = self.turn.stream_head()
            if head:
                self.altered = self.head_shown = True
                # a graph's state parts: in the shape of the answer's part (a bare chunk would break code reading
                # them), as late disclaimers come
                at, into = self.message_lane() or (_WHOLE, self.lanes.get(_WHOLE))
                out.insert(0, (at, self.emit(at, into, head, added=True)))
        return self._final(out + self.tail())

    def message_lane(self) -> tuple[Any, Lane] | None:
        """In a LangGraph app's stream of state parts (not ``messages`` pairs), the last lane whose value held
        messages (a state's or a node's list of them; never a record mode's, a context key's or a text key's): where
        a head still due at the end goes, as a message of the graph's shape. None for any other stream."""
        if self.messages_mode or not self.graph:
            return None
        found = [
            (key, lane)
            for key, lane in self.lanes.items()
            if not isinstance(key, _ModeLane)
            and not self._context(key)
            and lane.whole is not None
            and _holds_messages(lane.whole)
        ]
        return found[-1] if found else None

    def _redacted_apart(self, message: BaseMessage) -> BaseMessage | None:
        """A graph's message that is not the answer (a tool's result) streamed beside it: redacted as retrieved
        text is, whole, and passed on in its own pair (None when a value in it is blocked)."""
        turn = self.turn
        read = turn.read(message)
        d = turn.output_check(read.text, redact_only=True, record=False)()
        if d.blocked:
            return None
        rebuilt: BaseMessage = shapes.rebuild_output(
            message, turn.screened(read, d, None), output_key="", metadata=None
        )
        return rebuilt

    def checked_whole(self, key: Any, value: Any) -> Any:
        """A structured value checked whole, as it may be released (None when blocked)."""
        turn = self.turn
        read = turn.read(value)
        # retrieved documents: only redacted
        d = turn.output_check(read.text, pieces=read.apart, redact_only=self._context(key))()
        turn.output_domains.extend(c for c in d.disclaimer_categories if c not in turn.output_domains)
        self.whole_decisions.append((key, d))
        self.lanes[key].whole = value
        if d.blocked:
            return None
        # its context slots (the citations of a message's text): only redacted, in a check of their own
        context = read.context_text
        d_ctx = turn.output_check(context, redact_only=True, record=False)() if context.strip() else None
        rebuilt = shapes.rebuild_output(value, turn.screened(read, d, d_ctx), output_key="", metadata=None)
        if self.pending_head and self.mode == "values":
            framed = self.turn.framed_messages(rebuilt, self.pending_head, "")
            if framed != rebuilt:  # placed (a part whose messages hold no answer's text yet leaves it to _fed)
                rebuilt, self.pending_head = framed, ""
        self.lanes[key].values = self.mode == "values"
        self.lanes[key].released_whole = rebuilt
        self.altered = self.altered or rebuilt != value
        return rebuilt

    def checked_calls(self, lane: Lane, calls: AIMessageChunk) -> AIMessageChunk | None:
        """The held tool calls as they may be released (None when blocked). They are checked whole, as one more
        check of the lane's screening: the lane's one audit record covers its text and its calls."""
        turn = self.turn
        read = turn.read(calls)
        if not read.text.strip():
            return calls
        d = lane.screen.check_apart(read.text, turn.output_check(read.text, pieces=read.apart, record=False))
        turn.output_domains.extend(c for c in d.disclaimer_categories if c not in turn.output_domains)
        if d.blocked:
            return None
        texts = turn.screened(read, d)
        rebuilt: AIMessageChunk = shapes.rebuild_output(calls, texts, output_key="", metadata=None)
        self.altered = self.altered or rebuilt != calls
        return rebuilt

    def _released(self, lane: Lane, start: int, text: str) -> str:
        """``text``, released by the lane's screen from ``start`` (of its buffer) on; noted as ``altered`` when it is
        not what the model wrote there."""
        if text != lane.screen.buffer[start : lane.screen.released]:
            self.altered = True
        return text

    def wrap(self, key: Any, lane: Lane, value: Any) -> Any:
        return value if lane.container is None else shapes.remap(lane.container, {key: value})

    def emit(self, key: Any, lane: Lane | None, text: str, *, added: bool = False) -> Any:
        """A chunk the guard writes (rest of the screened text, refusal, disclaimers) in the lane's shape. ``added``:
        text beside the answer (a referral, disclaimers), which in a structured lane gets a message id of its own:
        a client that merges a graph's updates by id would otherwise replace the answer with it."""
        sample = None if lane is None else (lane.sample if lane.sample is not None else lane.calls_sample)
        if key is _WHOLE and self.messages_mode and sample is None:  # the answer's lane of a graph: a message
            return AIMessageChunk(content=text)
        if sample is None and lane is not None and lane.whole is not None:
            # a structured lane (a graph's message list): the text in that shape, only its answer slot kept
            turn = self.turn
            whole = shapes.blocked_output(lane.whole, text, kind=turn.kind, output_key="", metadata={})
            if added and lane.values and isinstance(whole, list) and isinstance(lane.released_whole, list):
                # the whole state each time: the last part stays the whole state, with the text after the answer
                whole = [*lane.released_whole, *shapes.with_new_ids(whole)]
                return self.wrap(key, lane, whole)
            return self.wrap(key, lane, shapes.with_new_ids(whole) if added else whole)
        value = self.turn.stream_chunk(sample, text)
        return value if lane is None else self.wrap(key, lane, value)

    def _context(self, key: Any) -> bool:
        """True for the lane of a context key (retrieved documents: redacted, not judged)."""
        return not _is_whole(key) and key in self.turn.wrapper.context_keys

    def primary(self) -> tuple[Any, Lane | None]:
        """The lane the answer streams in: where a refusal or a late disclaimer goes (never a context lane)."""
        if self.messages_mode:  # a graph's answer streams in its messages parts, whatever other modes say
            return _WHOLE, self.lanes.get(_WHOLE)
        key = self.turn.wrapper.output_key
        for name in (key, *shapes.ANSWER_KEYS):  # as for a whole dict: the configured key, then answer keys
            if name in self.lanes and not self._context(name):
                return name, self.lanes[name]
        answer = [(k, lane) for k, lane in self.lanes.items() if not self._context(k)]
        released = [(k, lane) for k, lane in answer if lane.released]
        return next(iter(released or answer), (key if self.lanes else _WHOLE, None))

    def tail(self) -> list[tuple[Any, Any]]:
        """The last items of the stream, each with its lane key: the refusal or the late disclaimers, the chunks
        held back, the decision."""
        turn = self.turn
        answer: list[Decision] = []
        context: list[Decision] = []  # the context keys' lanes: redaction checks, not judgements
        for key, d in [
            *((k, self.recorded(lane)) for k, lane in self.lanes.items()),
            *self.whole_decisions,
        ]:
            if d is not None:
                (context if self._context(key) else answer).append(d)
        blocked = self.blocked
        stopped = self.lanes.get(blocked[0]) if blocked is not None else None
        if blocked is not None and stopped is not None and stopped.screen.blocked is not None:
            blocked = blocked[0], self.recorded(stopped) or blocked[1]  # the block as recorded: of the whole lane
        by_context = blocked is not None and self._context(blocked[0])
        turn.d_out = max(answer, key=lambda d: d.action, default=None)
        turn.d_ctx = max(context, key=lambda d: d.action, default=None)
        if blocked is not None:
            if by_context:
                turn.d_ctx = blocked[1]
            else:
                turn.d_out = blocked[1]
        out: list[tuple[Any, Any]] = []
        late: tuple[str, ...] = ()
        if blocked is not None:
            key, decision = blocked
            turn.notify(decision)
            if turn.wrapper.raise_on_block or turn.kind == "raise":
                raise GuardrailViolation(decision)
            where: tuple[Any, Lane | None] = self.primary() if by_context else (key, self.lanes[key])
            refusal = decision.refusal or ""
            referral = turn.d_in.referral if turn.d_in is not None else None
            if referral and self.head_shown and refusal.startswith(referral):  # it led the answer already
                refusal = refusal[len(referral) :].lstrip()
            elif referral and not self.head_shown and not refusal.startswith(referral):  # never shown: it leads
                refusal = f"{referral}\n\n{refusal}"
            places = [where] + ([self.primary()] if self.messages_mode and self.primary()[0] != where[0] else [])
            for name, lane in places:  # a graph's blocked update is refused in its part, and in its messages too
                gap = "\n\n" if lane is not None and lane.released else ""
                out.append((name, self.emit(name, lane, gap + refusal)))
        else:
            if turn.d_out is not None:
                turn.notify(turn.d_out)
            late = () if self.tool_step else turn.take_disclaimers(turn.output_domains)
            if late:
                where = self.primary()
                turn.streamed_late = "\n\n" + "\n\n".join(late)
                out.append((where[0], self.emit(*where, turn.streamed_late, added=True)))
        # a structured answer's parsed value, logprobs and the like only with the answer's text as the model wrote it
        intact = blocked is None and not self.altered and not late
        held = [
            (key, chunk, value if intact else shapes.without_old_words(value, refused=blocked is not None))
            for key, chunk, value in self.held
        ]
        if blocked is not None:  # a refused answer's images and other media go with its words
            held = [(key, chunk, shapes.without_media(value)) for key, chunk, value in held]
        out += [(key, value if _is_whole(key) else shapes.remap(chunk, {key: value})) for key, chunk, value in held]
        # the decision last (as before any held metadata was passed on here), in a chunk of the stream's own type:
        # only a stream of messages gets one (others have on_decision, the audit log and the run's outputs)
        if self.messages or (not self.fed and turn.kind == "message"):
            out.append((_WHOLE, AIMessageChunk(content="", response_metadata={shapes.META_KEY: turn.metadata()})))
        return out


#: consistent snapshots after which a stream is taken for one (only the latest is kept from then on)
SNAPSHOT_COMMIT = 8
#: chunks that change only a number (a parser reading ``12``, ``12.5``) held before the first that grows; a stream
#: that changes numbers longer (a progress counter) is no parser's
SNAPSHOT_NUMBER_STEPS = 3
#: how deep a chunk's JSON values are read when telling snapshots from deltas
_JSON_DEPTH = 32


class Snapshots:
    """Tells a stream of snapshots from a stream of deltas, for chunks LangChain cannot add up.

    A JSON parser that is not the chain's last step (``model | JsonOutputParser() | RunnablePassthrough()``) streams
    the answer parsed so far, again and again; LangChain adds up such chunks by keeping the last. Screened as
    deltas, their text would be repeated, so the guard holds back a stream whose first chunk is a plain JSON value
    (a dict, a list, a parsed model) while each chunk repeats the one before and extends its text. If the stream ends
    so, its last chunk is the answer, checked whole and yielded once, as ``invoke`` returns it. At the first chunk
    that does not (a generator's stream of ``{"output": token}`` dicts), the chunks held so far and every later one
    go on as deltas. After :data:`SNAPSHOT_COMMIT` consistent chunks, only the latest is kept; a later chunk that
    does not extend it replaces it, as LangChain's own addition does.
    """

    def __init__(self) -> None:
        self.held: list[Any] = []
        self.watching: bool | None = None  # None: no chunk seen yet
        self.consistent = 0
        self.changes = 0  # chunks that changed only a number before the first that grew

    def take(self, chunk: Any) -> list[Any]:
        """The chunks to screen as deltas now: none while ``chunk`` may be one more snapshot."""
        if self.watching is None:
            self.watching = _json_like(chunk, 0)
        if not self.watching:
            return [chunk]
        if not self.held:
            self.held.append(chunk)
            return []
        step = _extends(self.held[-1], chunk)
        if step == "changes" and not self.consistent and self.changes < SNAPSHOT_NUMBER_STEPS:
            self.changes += 1  # a parser still reading a number before any text; a counter would go on
            self.held.append(chunk)
            return []
        if step == "grows" or (step == "changes" and self.consistent):
            self.consistent += 1
            self.held = [chunk] if self.consistent >= SNAPSHOT_COMMIT else [*self.held, chunk]
            return []
        if self.consistent >= SNAPSHOT_COMMIT:
            self.held = [chunk]
            return []
        self.watching = False
        out, self.held = [*self.held, chunk], []
        return out

    @property
    def answer(self) -> Any:
        """The answer when the stream was snapshots of it (ended while watching); else None."""
        return self.held[-1] if self.watching and self.held else None


def _json_like(value: Any, depth: int) -> bool:
    """A plain dict or list of JSON values, or a parsed model (not a message): what a parser's snapshot is."""
    if depth == 0 and isinstance(value, BaseModel):
        return not isinstance(value, BaseMessage)
    if depth >= _JSON_DEPTH:
        return False
    if type(value) is dict:
        return all(isinstance(k, str) and _json_like(v, depth + 1) for k, v in value.items())
    if type(value) is list:
        return all(_json_like(v, depth + 1) for v in value)
    return depth > 0 and (value is None or isinstance(value, (str, int, float, bool)))


def _extends(old: Any, new: Any) -> str | None:
    """How ``new`` follows ``old``: ``grows`` when it repeats it and adds to its structure or text (a text extended,
    a key or an item added: a parser's later snapshot of one answer), ``changes`` when it repeats it with only a
    number, flag or null changed (a parser still reading a number, or a progress counter), None otherwise (a stream
    of deltas: ``{"output": "word "}`` twice, or another text)."""
    if isinstance(old, BaseModel) or isinstance(new, BaseModel):
        if type(old) is not type(new):
            return None
        old, new = old.model_dump(), new.model_dump()
    if not _json_like(new, 1) or old == new:
        return None
    grown = _grows(old, new, 0)
    return None if grown is None else "grows" if grown else "changes"


def _grows(old: Any, new: Any, depth: int) -> bool | None:
    """None when ``old`` is no prefix of ``new`` (keys kept, texts extended, lists lengthened); else whether ``new``
    adds text, a key or an item to it."""
    if depth >= _JSON_DEPTH:
        return None
    if isinstance(old, str):
        return len(new) > len(old) if isinstance(new, str) and new.startswith(old) else None
    if isinstance(old, dict):
        if not isinstance(new, dict) or not all(k in new for k in old):
            return None
        pairs, grown = [(v, new[k]) for k, v in old.items()], len(new) > len(old)
    elif isinstance(old, list):
        if not isinstance(new, list) or len(new) < len(old):
            return None
        pairs, grown = list(zip(old, new, strict=False)), len(new) > len(old)
    elif isinstance(old, bool) or isinstance(new, bool):
        return False if old is new or type(old) is type(new) else None
    elif isinstance(old, (int, float)):  # a parser still reading a number extends its digits: 1, 12, 12.5; 0, -0.5
        if not isinstance(new, (int, float)):
            return None
        if old == 0:
            return False if abs(new) < 1 else None
        return False if (old < 0) == (new < 0) and str(abs(new)).startswith(str(abs(old))) else None
    else:
        return False if old is None else None  # null, then whatever the parser read there
    for a, b in pairs:
        inner = _grows(a, b, depth + 1)
        if inner is None:
            return None
        grown = grown or inner
    return grown


def _message_pair(chunk: Any) -> bool:
    """A ``(message, metadata)`` pair, as LangGraph's ``stream_mode="messages"`` yields."""
    return (
        isinstance(chunk, tuple)
        and len(chunk) == 2
        and isinstance(chunk[0], BaseMessage)
        and isinstance(chunk[1], Mapping)
    )
