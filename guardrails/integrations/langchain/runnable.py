"""The Runnable wrapper: ``guard.wrap(chain)`` or ``with_guardrails(chain, profile="healthcare")``.

One turn: screen the user's text -> on BLOCK/REFER answer without calling the chain
-> else call the chain on the redacted input (earlier answers, tool results and tool-call
arguments redacted too, in the order written, with one numbering for the whole turn) -> screen
the answer, tool calls included (text on the fly when streaming, tool calls held until checked
whole) -> restore the values of the user's own turns (reversible mode) -> attach disclaimers and
the decisions (``response_metadata["guardrails"]``).

Tracing: the wrapper's own run records no raw input: it starts with ``{"input": "<withheld by
guardrails>"}`` and ends with the input as the wrapped chain received it (redacted; the user's turn withheld
when the chain was not called), and the screened answer as output (``_Turn.traced_output``; the user's own
values restored in reversible mode recorded as their placeholders). ``RunnableWithMessageHistory`` around
the wrapper saves its history from these (its root listener reads this run). The checks appear as child runs
``guardrails.input_check`` / ``guardrails.output_check`` whose inputs and outputs are
decision summaries (ids, categories, scores, offsets, hashes). The wrapped chain is
traced as usual, and sees only redacted text. ``astream_events``/``astream_log`` carry the
wrapper's screened chunks, not the wrapped chain's raw events (``inner_events=True`` to keep them).

Per-request settings come from ``config["configurable"]``: ``locale`` (BCP 47, e.g.
``en-GB``), ``conversation_id`` (falling back to LangGraph's ``thread_id``, then to
``RunnableWithMessageHistory``'s ``session_id``) and
``guardrails_profile`` (a name given to ``wrap(profiles=...)``, or the wrapper's own profile's; never a path).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import warnings
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any, Literal, TypeVar, overload

from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.messages import (
    AIMessageChunk,
    BaseMessage,
)
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import (
    ensure_config,
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
    patch_config,
)
from langchain_core.runnables.schema import StreamEvent
from pydantic import BaseModel

from guardrails.errors import AuditError, GuardrailsWarning, GuardrailViolation, ProfileError, brief
from guardrails.guard import Guard
from guardrails.integrations.langchain import history, shapes
from guardrails.integrations.langchain.callbacks import DEFAULT_CACHE_SIZE, _Judged, _keepable
from guardrails.integrations.langchain.history import SEALS_KEY, WITHHELD_REFERRED, WITHHELD_TURN
from guardrails.profiles import Profile, load_profile
from guardrails.redaction import PLACEHOLDER, Numbering, redaction_scope
from guardrails.streaming import StreamScreen
from guardrails.types import Action, Decision, DetectorFailure, Finding, Stage

_log = logging.getLogger("guardrails")

WITHHELD = {"input": "<withheld by guardrails>"}

#: said in the audit record of a streamed answer stopped while one of its checks gave no decision: an async stream
#: cancelled again while the cancellation waited for a window's check (or a check that raised)
UNJUDGED_NOTE = (
    "stream stopped with a window unjudged (cancelled while it was being checked, or its check failed): "
    "its decision is not in this record; none of its text was shown"
)
NO_TRIAGE_INSTRUCTION = (
    "The user may be in crisis. Do not triage, diagnose, assess risk or discuss methods. "
    "Respond briefly and warmly, encourage them to contact the emergency number or crisis line "
    "already shown to them, and do not replace that referral."
)


@dataclass
class _Turn:
    """Per-invocation state; the pure logic shared by the sync and async drivers."""

    wrapper: GuardedRunnable
    guard: Guard
    locale: str | None
    conversation_id: str | None
    kind: str
    d_in: Decision | None = None
    d_out: Decision | None = None
    d_ctx: Decision | None = None  # the redaction check of the output's context slots (retrieved documents)
    shown_disclaimers: tuple[str, ...] = ()
    #: the placeholder numbers of this turn, shared by the chain's input (the user's turn, the history, tool
    #: results) and the answer (streamed pieces alike): kept here when there is no conversation id, in the
    #: vault when there is (then this counts the turn's new vault entries)
    numbering: Numbering = field(default_factory=Numbering)
    output_domains: list[str] = field(default_factory=list)
    #: the input as the wrapper's run records it when it ends: as the chain received it (redacted, without the
    #: no-triage instruction), or with the turn withheld when the chain was not called; None: not read yet
    traced_input: Any = None
    #: the user's own values this turn restored in the answer (reversible mode), with their placeholders: the run
    #: records the answer with the placeholders, never the values
    restored: dict[str, str] = field(default_factory=dict)

    # ---- input
    def turns(self, value: Any) -> shapes.Turns:
        return shapes.extract_turns(
            value, input_keys=self.wrapper.input_keys, passthrough_keys=self.wrapper.passthrough_keys
        )

    def stops_chain(self, d_in: Decision) -> bool:
        if d_in.action is Action.BLOCK:
            return True
        if d_in.action is Action.REFER:
            return self.guard.profile.crisis_mode == "refer"
        return False

    def rewritten_input(self, value: Any, turns: shapes.Turns, d_in: Decision) -> Any:
        """The chain's input with every text redacted, numbered in the turn's numbering in the order the texts
        were written (earlier turns first: a vault that forgot the conversation numbers its values as it
        did). The user's turn reuses the input check's findings. Only the user's turns are restorable:
        values from tool results, earlier answers and documents never reach an answer in reversible mode."""
        keys, passthrough = self.wrapper.input_keys, self.wrapper.passthrough_keys
        latest = turns.latest if turns.has_user_turn else None
        users = history.user_texts(value, input_keys=keys, passthrough_keys=passthrough)
        # earlier user messages the guard refused (judged whole, as the input check read them): each of their
        # text blocks is withheld, the first replaced by WITHHELD_TURN
        done: dict[str, str] = self._withheld(value, latest)

        def fn(text: str) -> str:
            if text not in done:
                done[text] = self._redacted(text, user=text in users, d_in=d_in if text == latest else None)
            return done[text]

        if isinstance(value, Mapping):  # the other keys (a separate chat history) hold earlier turns: first
            turn = shapes.turn_keys(value, keys)
            first = {**{k: v for k, v in value.items() if k not in turn}, **{k: value[k] for k in turn}}
            shapes.rewrite_input(first, fn, input_keys=keys, passthrough_keys=passthrough)
        self.traced_input = shapes.rewrite_input(value, fn, input_keys=keys, passthrough_keys=passthrough)
        if d_in.referral is None:
            return self.traced_input
        return shapes.rewrite_input(
            value, fn, input_keys=keys, passthrough_keys=passthrough, system_instruction=NO_TRIAGE_INSTRUCTION
        )

    def withheld_input(self, value: Any, d_in: Decision) -> Any:
        """The input as the run records it when the chain is not called: the user's turn replaced by
        :data:`WITHHELD_TURN` (or :data:`WITHHELD_REFERRED`), every other text by ``<withheld by guardrails>``."""
        keys, passthrough = self.wrapper.input_keys, self.wrapper.passthrough_keys
        latest = history.latest_texts(value, input_keys=keys)
        marker = WITHHELD_TURN if d_in.blocked else WITHHELD_REFERRED
        return shapes.rewrite_input(
            value,
            lambda text: marker if text in latest else WITHHELD["input"],
            input_keys=keys,
            passthrough_keys=passthrough,
        )

    def _withheld(self, value: Any, latest: str | None) -> dict[str, str]:
        """The texts of the input to withhold from the model, each with what the model gets instead (see
        :mod:`guardrails.integrations.langchain.history`)."""
        return history.withheld_texts(
            value,
            latest,
            guard=self.guard,
            was_refused=self.wrapper.was_refused,
            input_keys=self.wrapper.input_keys,
            passthrough_keys=self.wrapper.passthrough_keys,
            locale=self.locale,
        )

    def _redacted(self, text: str, *, user: bool, d_in: Decision | None) -> str:
        """One text of the chain's input redacted in the turn's numbering (``d_in``: the user's turn, checked)."""
        guard, conv = self.guard, self.conversation_id
        if user and d_in is None and self.wrapper.was_refused(text):
            return WITHHELD_TURN  # an earlier request refused as prohibited: a follow-up has nothing to continue
        clean = history.clean(text)
        if "<" in clean and PLACEHOLDER.search(clean):
            guard.redactor.seed(clean, conversation_id=conv, numbering=self.numbering)
        if d_in is None:
            with redaction_scope(self.numbering, restorable=user):
                return guard.redact(text, "input", conversation_id=conv)
        entities = [f for f in d_in.findings if f.category is None and f.start is not None and f.label]
        if not entities:
            return clean
        return guard.redactor.redact(
            clean, entities, stage=Stage.INPUT, conversation_id=conv, numbering=self.numbering, restorable=True
        ).text

    def metadata(self) -> dict[str, Any]:
        meta = {
            "input": self.d_in.to_dict() if self.d_in is not None else None,
            "output": self.d_out.to_dict() if self.d_out is not None else None,
            "disclaimers": list(self.shown_disclaimers),
            "referral": self.d_in is not None and self.d_in.referral is not None,
        }
        if self.d_ctx is not None:
            meta["context"] = self.d_ctx.to_dict()
        return meta

    def restore(self, text: str) -> str:
        """``text`` with the user's own values put back (reversible mode), noting each value restored."""
        guard, conv = self.guard, self.conversation_id
        out = guard.restore(text, conversation_id=conv)
        if out != text:
            for m in PLACEHOLDER.finditer(text):
                value = guard.restore(m.group(0), conversation_id=conv)
                if value and value != m.group(0):
                    self.restored[value] = m.group(0)
        return out

    def traced_output(self, answer: Any) -> dict[str, Any]:
        """The outputs the wrapper's run records: the answer as the user got it (a dict answer as it is, any other
        under ``output``, with the decisions under ``guardrails``), except that the user's own values restored in
        it (reversible mode) are recorded as their placeholders."""
        answer = self._hidden(answer)
        if isinstance(answer, Mapping):
            return dict(answer)
        return {"output": answer, shapes.META_KEY: self.metadata()}

    def _hidden(self, answer: Any) -> Any:
        """``answer`` with the user's own values it restored (reversible mode) put back as their placeholders."""
        if not self.restored:
            return answer
        pairs = sorted(self.restored.items(), key=lambda pair: -len(pair[0]))

        def hide(text: str) -> str:
            for value, placeholder in pairs:
                text = text.replace(value, placeholder)
            return text

        return shapes.map_texts(answer, hide)

    def judged(self, d_in: Decision, turns: shapes.Turns) -> Decision:
        """The input check's decision: kept for the turn and passed to ``on_decision`` (once per turn, whatever it
        is; the answer's decisions follow), and kept (without its text) for the later steps of an agent's loop
        within the same turn (``reused``)."""
        self.d_in = d_in
        self.notify(d_in)
        if _keepable(d_in):
            self.wrapper.judged.put(self._judged_key(turns), d_in)
        return d_in

    def reused(self, turns: shapes.Turns) -> Decision | None:
        """The decision on this user turn when a step of an agent's loop brings it again (tool results follow it)
        and this wrapper judged it already, in the same conversation, locale and profile: the later steps write no
        second audit record and make no second ``on_decision`` call. A reused decision that stops the chain is
        recorded again, marked ``"reused": true`` (every stopped attempt is on record). None: judge it."""
        if not turns.continued:
            return None  # a user turn that is the last message is a new request, judged every time
        d_in = self.wrapper.judged.get(self._judged_key(turns))
        if d_in is None:
            return None
        self.d_in = d_in
        if self.stops_chain(d_in) and self.guard.audit is not None:
            self.guard.audit.record(d_in, reused=True)
        return d_in

    def _judged_key(self, turns: shapes.Turns) -> str:
        # a salted hash of everything the decision depends on: the turn, its history, the locale, the conversation,
        # and the guard (the profile a request named); no text is kept
        context = (self.conversation_id or "", str(id(self.guard)))
        return self.wrapper.judged.key(turns.latest, turns.history, self.locale, *context)

    def delivered(self, answer: Any) -> Any:
        """Note the texts of ``answer`` as the caller got them (screened, with the disclaimers, a refusal or a
        referral): when a later request's history brings them back, the guard does not judge them again
        (``Guard.screen_earlier``). An answer stored in another shape is judged once then. Returns ``answer`` with
        its seals when it is a message (see ``sealed``)."""
        if answer is None:
            return answer
        for shown in self._versions(answer):
            # the answer's slots, not retrieved documents (only redacted, never judged)
            for text in [p.text for p in self.read(shown).pieces if not p.context]:
                self.guard.delivered(text)
        return self.sealed(answer)

    def _versions(self, answer: Any) -> tuple[Any, ...]:
        """``answer`` as the caller got it, and as the run records it (a history saved from the run holds the
        placeholders in reversible mode, not the user's values)."""
        return (answer, self._hidden(answer)) if self.restored else (answer,)

    def sealed(self, answer: Any, *, whole: Any = None) -> Any:
        """``answer`` (a message, or a dict holding one under the output key) with the seals of the message it
        delivers in its ``guardrails`` metadata (``Guard.delivered``: keyed hashes, no text): a history that keeps
        the message with its metadata is known as this guard's own by any worker with the same salt, after a
        restart too. ``whole``: the message the seals are of, when ``answer`` is only a stream's last chunk."""
        key = self.wrapper.answer_key
        target = answer.get(key) if isinstance(answer, Mapping) else answer
        whole = target if whole is None else whole
        if not isinstance(target, BaseMessage) or not isinstance(whole, BaseMessage):
            return answer
        seals = [self.guard.delivered(history.sealed_text(m)) for m in self._versions(whole)]
        meta = target.response_metadata.get(shapes.META_KEY)
        meta = {**(meta if isinstance(meta, Mapping) else {}), SEALS_KEY: list(dict.fromkeys(seals))}
        message = target.model_copy(update={"response_metadata": {**target.response_metadata, shapes.META_KEY: meta}})
        return shapes.remap(answer, {**answer, key: message}) if isinstance(answer, Mapping) else message

    def sealed_tail(self, sent: Any, tail: list[Any]) -> list[Any]:
        """A stream's last items, the decision's chunk at their end carrying the seals of the whole answer: the
        chunks sent before (``sent``, added up) and these."""
        if not tail or not isinstance(tail[-1], AIMessageChunk) or shapes.META_KEY not in tail[-1].response_metadata:
            return tail
        for item in tail[:-1]:
            sent = _added(sent, item)
        return [*tail[:-1], self.sealed(tail[-1], whole=sent)]

    def early_answer(self, d_in: Decision, *, chunk: bool) -> Any:
        if (d_in.blocked and self.wrapper.raise_on_block) or self.kind == "raise":
            raise GuardrailViolation(d_in)  # "raise": a pydantic output type cannot hold the refusal or referral
        text = d_in.response_text() or ""
        return shapes.make_output(
            self.kind, text, output_key=self.wrapper.answer_key, metadata=self.metadata(), chunk=chunk
        )

    # ---- output
    def read(self, output: Any, *, streamed: bool = False) -> shapes.OutputText:
        """The text slots of an output; a streamed chunk's text leaves out tool calls (held apart) and reasoning
        (withheld)."""
        return shapes.read_output(
            output,
            output_key=self.wrapper.output_key,
            calls=not streamed,
            reasoning=not streamed,
            context_keys=self.wrapper.context_keys,
        )

    def context_check(self, read: shapes.OutputText) -> Callable[[], Decision]:
        """The check of an output's context slots: their entities only (they are not the model's words)."""
        return self.output_check(read.context_text, redact_only=True)

    def acontext_check(self, read: shapes.OutputText) -> Callable[[], Any]:
        return self.aoutput_check(read.context_text, redact_only=True)

    def output_check(
        self, text: str, *, pieces: Sequence[str] = (), redact_only: bool = False, record: bool = True
    ) -> Callable[[], Decision]:
        """The check of a whole output text, numbering its values in the turn's numbering (and counting its new
        vault entries with the turn's). Not for a streamed window, which may cut a value in two. ``pieces``: its
        slots, judged alone as well (``OutputText.apart``). ``record=False``: no audit record of its own, for a
        part of an answer whose screening is recorded once (a stream's lane)."""

        def check() -> Decision:
            judge = self.guard.check if record else self.guard.evaluate
            with redaction_scope(self.numbering, restorable=False):
                return judge(text, Stage.OUTPUT, **self._output_options(redact_only, pieces))

        return check

    def aoutput_check(self, text: str, *, pieces: Sequence[str] = (), redact_only: bool = False) -> Callable[[], Any]:
        async def check() -> Decision:
            with redaction_scope(self.numbering, restorable=False):
                return await self.guard.acheck(text, Stage.OUTPUT, **self._output_options(redact_only, pieces))

        return check

    def _output_options(self, redact_only: bool, pieces: Sequence[str]) -> dict[str, Any]:
        """The keyword arguments of an output check (sync and async alike)."""
        return {
            "conversation_id": self.conversation_id,
            "locale": self.locale,
            "redact_only": redact_only,
            "pieces": pieces,
        }

    def compose(self, body: str, d_out: Decision) -> str:
        """The answer text the user sees: ``body`` with the referral and (unless blocked) disclaimers."""
        disclaimers = self.take_disclaimers(d_out.disclaimer_categories) if not d_out.blocked else ()
        settings = self.guard.profile.disclaimers
        parts = [*disclaimers, body] if settings.placement == "prepend" else [body, *disclaimers]
        if self.d_in is not None and self.d_in.referral is not None:
            parts.insert(0, self.d_in.referral)
        return "\n\n".join(p for p in parts if p)

    def take_disclaimers(self, extra: Sequence[str] = ()) -> tuple[str, ...]:
        cats = [*(self.d_in.disclaimer_categories if self.d_in else ()), *extra]
        fresh = self.guard.select_disclaimers(cats, conversation_id=self.conversation_id, locale=self.locale)
        fresh = tuple(t for t in fresh if t not in self.shown_disclaimers)
        self.shown_disclaimers += fresh
        return fresh

    def screened(self, read: shapes.OutputText, d_out: Decision | None) -> dict[shapes.Path, str]:
        """Each text slot as the user sees it: redacted by the check's findings, the user's own values restored.

        Tool-call arguments are treated like the answer text, so in reversible mode a tool gets the
        user's own values back (never values the model produced).
        """
        guard, conv = self.guard, self.conversation_id
        texts = {p.path: p.text for p in read.pieces}
        answer = d_out.findings if d_out is not None else ()
        context = self.d_ctx.findings if self.d_ctx is not None else ()
        if any(f.category is None and f.start is not None and f.label for f in (*answer, *context)):
            texts = read.redacted(
                answer,
                lambda text, entities: (
                    guard.redactor.redact(
                        text, entities, stage=Stage.OUTPUT, conversation_id=conv, numbering=self.numbering
                    ).text
                ),
                context,
            )
        return {path: self.restore(text) for path, text in texts.items()}

    def finish(self, output: Any, read: shapes.OutputText, d_out: Decision | None) -> Any:
        """A non-streamed output after its check: refused (no tool calls, nothing else kept) or with every
        text slot screened, plus disclaimers and metadata."""
        self.wrapper.learn(output)
        self.d_out = d_out
        if read.primary is None and self.d_in is not None and self.d_in.referral is not None:
            # a referral must be seen, and an answer with no free-text field (a classification, say) cannot
            # carry it: the caller gets it raised, as for a refusal
            raise GuardrailViolation(self.d_in)
        checked = [d for d in (d_out, self.d_ctx) if d is not None]
        if not checked:
            return output
        for d in checked:
            self.notify(d)
        key = self.wrapper.output_key
        stop = next((d for d in checked if d.blocked), None)
        if stop is not None:
            if self.wrapper.raise_on_block or self.kind == "raise" or self._model_without_slot(output):
                raise GuardrailViolation(stop)
            text = self.compose(stop.refusal or "", stop)
            return shapes.blocked_output(
                output,
                text,
                kind=self.kind,
                output_key=key,
                metadata=self.metadata(),
                context_keys=self.wrapper.context_keys,
            )
        texts = self.screened(read, d_out)
        # a tool-calling step of an agent's loop gets no disclaimer or referral: the final answer does (the model
        # would read them again in its next step)
        agent_step = (
            not self.wrapper.schema_output and read.primary is not None and shapes.calls_tools(output, read.primary)
        )
        if read.primary is not None and d_out is not None and not agent_step:
            texts[read.primary] = self.compose(texts[read.primary], d_out)
        # an answer parsed into the caller's schema gets no "guardrails" key: on_decision and callbacks carry it
        meta = None if self.wrapper.schema_output else self.metadata()
        return shapes.rebuild_output(output, texts, output_key=key, metadata=meta)

    def _model_without_slot(self, output: Any) -> bool:
        """A pydantic answer the refusal cannot go into (unless the caller chose an ``output=`` kind)."""
        return not self.wrapper.output_forced and shapes.is_model_output(output)

    def screen(self, *, context: bool = False) -> StreamScreen:
        """The screen of one streamed lane (``context``: a context key's lane, only redacted)."""
        guard, conv = self.guard, self.conversation_id
        settings = guard.profile.streaming

        def check(window: str) -> Decision:
            # no conversation id here: a window may hold a partial value, which must not take a
            # placeholder number in the conversation; released segments are redacted in `transform`.
            # No audit record either: the lane records its summary once (`_Stream.recorded`)
            d = guard.evaluate(window, Stage.OUTPUT, conversation_id=None, locale=self.locale, redact_only=context)
            self.output_domains.extend(c for c in d.disclaimer_categories if c not in self.output_domains)
            return d

        def transform(segment: str, entities: list[Finding]) -> str:
            if entities:
                segment = guard.redactor.redact(
                    segment, entities, stage=Stage.OUTPUT, conversation_id=conv, numbering=self.numbering
                ).text
            return self.restore(segment)

        # a detector sent only redacted text (the LLM judge) must never see a window that cuts a value in two:
        # then the whole answer is held back and checked once, at its end
        whole = not context and guard.needs_whole_text(Stage.OUTPUT)
        return StreamScreen(
            check=check,
            transform=transform,
            partial_placeholder=guard.partial_placeholder,
            holdback_chars=sys.maxsize if whole else settings.holdback_chars,
            check_every_chars=settings.check_every_chars,
            window_chars=settings.window_chars,
        )

    def notify(self, decision: Decision) -> None:
        if self.wrapper.on_decision is not None:
            self.wrapper.on_decision(decision)

    def stream_chunk(self, sample: Any, text: str) -> Any:
        if sample is None:
            return shapes.make_output(self.kind, text, output_key=self.wrapper.answer_key, metadata={}, chunk=True)
        return shapes.chunk_like(sample, text, output_key=self.wrapper.output_key)

    def stream_head(self) -> str:
        """The text before the model's first chunk: referral (refer_and_continue), input disclaimers ("": none)."""
        head: list[str] = []
        if self.d_in is not None and self.d_in.referral is not None:
            head.append(self.d_in.referral)
        head.extend(self.take_disclaimers())
        return "\n\n".join(head) + "\n\n" if head else ""


#: lane key of a stream whose chunks are not dicts
_WHOLE = object()


def _structured(value: Any) -> bool:
    """A list, tuple, non-message model or dict holding one: streamed whole (a graph's state, documents)."""
    if isinstance(value, (list, tuple)):
        return True
    if isinstance(value, Mapping):  # a graph's update ({"messages": [...]}), not a nested stream of str tokens
        return any(_structured(v) for v in value.values())
    return isinstance(value, BaseModel) and not isinstance(value, BaseMessage)


@dataclass
class _Lane:
    """One streamed answer: the whole stream, or one key of a stream of dicts (each key is screened apart)."""

    screen: StreamScreen
    container: Mapping[Any, Any] | None  # the first dict chunk (rebuilds dicts of its type); None: whole stream
    sample: Any = None  # the first value with text (or tool calls): the shape of the chunks the guard writes
    released: bool = False
    calls: AIMessageChunk | None = None  # tool-call chunks held until the whole call has been checked
    calls_sample: Any = None
    whole: Any = None  # the last structured value checked whole: the shape a refusal in this lane takes
    decision: Decision | None = None  # the screen's summary once recorded in the audit log (see _Stream.recorded)


@dataclass
class _Stream:
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

    turn: _Turn
    lanes: dict[Any, _Lane] = field(default_factory=dict)
    #: the decisions of structured values checked whole (``checked_whole``), each recorded by its own check
    whole_decisions: list[tuple[Any, Decision]] = field(default_factory=list)
    #: content-less chunks (usage, finish_reason, LangChain's end marker): passed on after the last text, since
    #: the screen may still hold text back when they arrive and a consumer may stop reading at them
    held: list[tuple[Any, Any, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: the text to show before the answer (``_Turn.stream_head``: a ``refer_and_continue`` referral, the input's
    #: disclaimers) is still to come: it goes before the chain's first chunk with text, in that chunk's type, and
    #: is held for the final answer when the first chunk holds only tool calls (a tool-calling step of an agent)
    head_due: bool = True
    #: the chain has yielded a chunk; its chunks are messages (then the decision ends the stream in one)
    fed: bool = False
    messages: bool = False

    def _head(self, chunk: Any) -> list[Any]:
        """The head before ``chunk`` when it is the chain's first with text or tool calls (see ``head_due``)."""
        turn = self.turn
        text = any(p.text for p in turn.read(chunk, streamed=True).pieces)
        if not text and shapes.held_calls(chunk) is None:
            return []
        self.head_due = False
        head = turn.stream_head() if text else ""
        if not head:
            return []
        # in the type of the chain's chunks (a chain that declares no output type streams what it streams)
        kind = turn.kind if turn.wrapper.output_forced else shapes.kind_of(chunk) or turn.kind
        return [shapes.make_output(kind, head, output_key=turn.wrapper.answer_key, metadata={}, chunk=True)]

    def _first(self, chunk: Any) -> None:
        """The chain's first chunk: the kind of its answers is learned."""
        self.fed = True
        self.messages = isinstance(chunk, BaseMessage)
        self.turn.wrapper.learn(chunk)

    @property
    def tool_step(self) -> bool:
        """The answer holds tool calls: a step of an agent's loop, whose final answer gets the disclaimers."""
        return any(lane.calls is not None for lane in self.lanes.values())

    def recorded(self, lane: _Lane) -> Decision | None:
        """The lane's one decision: its screen's summary of every window, with the salted hash of all the text
        checked, written to the audit log the first time it is asked for (when the lane has finished). None
        when nothing of the lane was checked. The windows themselves are not recorded. Locked: an async
        stream cancelled while a worker thread ends it closes it on the event loop at the same time.

        A lane stopped while one of its checks gave no decision (still running on a worker thread when an async
        stream was cancelled, see ``_in_worker``) is recorded with :data:`UNJUDGED_NOTE` in its explanation,
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

    def feed(self, chunk: Any) -> list[Any]:
        """What to yield for one chunk of the wrapped runnable's stream."""
        if not self.fed:
            self._first(chunk)
        head = self._head(chunk) if self.head_due else []
        return head + self._feed(chunk)

    def _feed(self, chunk: Any) -> list[Any]:
        parts = list(chunk.items()) if isinstance(chunk, Mapping) else [(_WHOLE, chunk)]
        out: dict[Any, Any] = {}
        for key, value in parts:
            if key == shapes.META_KEY and isinstance(value, Mapping):
                out[key] = value  # decisions of a nested guard: no text
                continue
            text = "".join(p.text for p in self.turn.read(value, streamed=True).pieces)
            calls = shapes.held_calls(value)
            if not text and calls is None:
                if not (isinstance(value, str) and not value):
                    self.held.append((key, chunk, shapes.without_reasoning(value)))  # nothing to screen
                continue
            lane = self.lanes.get(key)
            if lane is None:
                container = chunk if key is not _WHOLE else None
                lane = self.lanes[key] = _Lane(screen=self.turn.screen(context=self._context(key)), container=container)
            if key is not _WHOLE and _structured(value):
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
            if calls is not None:
                lane.calls = calls if lane.calls is None else lane.calls + calls
                lane.calls_sample = value if lane.calls_sample is None else lane.calls_sample
            if text:
                lane.sample = value if lane.sample is None else lane.sample
                released = lane.screen.feed(text)
                if released:
                    lane.released = True
                    out[key] = shapes.chunk_like(value, released, output_key=self.turn.wrapper.output_key)
                if lane.screen.blocked is not None:
                    break
        return [] if not out else [out[_WHOLE] if _WHOLE in out else shapes.remap(chunk, out)]

    def end(self) -> list[Any]:
        """What to yield after the wrapped stream ended (or was stopped by a BLOCK)."""
        out: list[Any] = []
        if self.head_due:  # the chain yielded no text or tool call: the head in the kind its answers take
            self.head_due = False
            head = self.turn.stream_head()
            if head:
                out.append(self.turn.stream_chunk(None, head))
        for key, lane in self.lanes.items():
            if self.blocked is not None:
                break
            rest = lane.screen.flush()
            if rest:
                lane.released = True
                out.append(self.emit(key, lane, rest))
        for key, lane in self.lanes.items():
            if self.blocked is not None:
                break
            if lane.calls is not None:
                calls = self.checked_calls(lane, lane.calls)
                if calls is not None:
                    sample = lane.calls_sample
                    value = shapes.chunk_like(sample, "", output_key=self.turn.wrapper.output_key, calls=calls)
                    out.append(self.wrap(key, lane, value))
        return out + self.tail()

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
        return shapes.rebuild_output(value, turn.screened(read, d), output_key="", metadata=None)

    def checked_calls(self, lane: _Lane, calls: AIMessageChunk) -> AIMessageChunk | None:
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
        return rebuilt

    def wrap(self, key: Any, lane: _Lane, value: Any) -> Any:
        return value if lane.container is None else shapes.remap(lane.container, {key: value})

    def emit(self, key: Any, lane: _Lane | None, text: str) -> Any:
        """A chunk the guard writes (rest of the screened text, refusal, disclaimers) in the lane's shape."""
        sample = None if lane is None else (lane.sample if lane.sample is not None else lane.calls_sample)
        if sample is None and lane is not None and lane.whole is not None:
            # a structured lane (a graph's message list): the text in that shape, only its answer slot kept
            turn = self.turn
            whole = shapes.blocked_output(lane.whole, text, kind=turn.kind, output_key="", metadata={})
            return self.wrap(key, lane, whole)
        value = self.turn.stream_chunk(sample, text)
        return value if lane is None else self.wrap(key, lane, value)

    def _context(self, key: Any) -> bool:
        """True for the lane of a context key (retrieved documents: redacted, not judged)."""
        return key is not _WHOLE and key in self.turn.wrapper.context_keys

    def primary(self) -> tuple[Any, _Lane | None]:
        """The lane the answer streams in: where a refusal or a late disclaimer goes (never a context lane)."""
        key = self.turn.wrapper.output_key
        for name in (key, *shapes.ANSWER_KEYS):  # as for a whole dict: the configured key, then answer keys
            if name in self.lanes and not self._context(name):
                return name, self.lanes[name]
        answer = [(k, lane) for k, lane in self.lanes.items() if not self._context(k)]
        released = [(k, lane) for k, lane in answer if lane.released]
        return next(iter(released or answer), (key if self.lanes else _WHOLE, None))

    def tail(self) -> list[Any]:
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
        out: list[Any] = []
        if blocked is not None:
            key, decision = blocked
            turn.notify(decision)
            if turn.wrapper.raise_on_block or turn.kind == "raise":
                raise GuardrailViolation(decision)
            where: tuple[Any, _Lane | None] = self.primary() if by_context else (key, self.lanes[key])
            lane = where[1]
            gap = "\n\n" if lane is not None and lane.released else ""
            out.append(self.emit(where[0], lane, gap + (decision.refusal or "")))
        else:
            if turn.d_out is not None:
                turn.notify(turn.d_out)
            late = () if self.tool_step else turn.take_disclaimers(turn.output_domains)
            if late:
                out.append(self.emit(*self.primary(), "\n\n" + "\n\n".join(late)))
        out += [value if key is _WHOLE else shapes.remap(chunk, {key: value}) for key, chunk, value in self.held]
        # the decision last (as before any held metadata was passed on here), in a chunk of the stream's own type:
        # only a stream of messages gets one (others have on_decision, the audit log and the run's outputs)
        if self.messages or (not self.fed and turn.kind == "message"):
            out.append(AIMessageChunk(content="", response_metadata={shapes.META_KEY: turn.metadata()}))
        return out


def _request_profiles(profiles: object) -> dict[str, Profile]:
    """The profiles given to ``wrap(profiles=...)`` by name, each loaded now (a built-in name, a YAML path or a
    Profile); a bad name or value raises ``ValueError`` naming it (``ProfileError`` for a file)."""
    if profiles is None:
        return {}
    if not isinstance(profiles, Mapping):
        raise ValueError(
            f"profiles must map names to profiles (a built-in name, a YAML path or a Profile), got {brief(profiles)}"
        )
    out: dict[str, Profile] = {}
    for name, source in profiles.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"profiles: each name must be a non-empty str, got {brief(name)}")
        if isinstance(source, Profile):
            out[name] = source
        elif isinstance(source, (str, Path)):
            out[name] = load_profile(source)
        else:
            raise ValueError(
                f"profiles[{name!r}] must be a built-in profile name, a YAML path or a Profile, got {brief(source)}"
            )
    return out


def _check_str_keys(what: str, keys: object) -> None:
    if isinstance(keys, str) or not isinstance(keys, Collection) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{what} must be a sequence of str keys, got {keys!r}")


class GuardedRunnable(Runnable[Any, Any]):
    """A runnable that screens the input and output of another runnable."""

    def __init__(
        self,
        bound: Runnable[Any, Any],
        guard: Guard,
        *,
        input_keys: Sequence[str] = shapes.DEFAULT_INPUT_KEYS,
        passthrough_keys: Collection[str] = (),
        context_keys: Collection[str] = shapes.DEFAULT_CONTEXT_KEYS,
        output_key: str = "output",
        output: str = "auto",
        raise_on_block: bool = False,
        on_decision: Callable[[Decision], None] | None = None,
        inner_events: bool = False,
        profiles: Mapping[str, str | Path | Profile] | None = None,
    ) -> None:
        if not isinstance(bound, Runnable):
            raise TypeError(f"wrap() needs a LangChain Runnable, got {type(bound).__name__}")
        if output not in shapes.OUTPUT_KINDS:
            raise ValueError(f"output={output!r}; expected one of {shapes.OUTPUT_KINDS}")
        if isinstance(input_keys, str) or not input_keys:
            raise ValueError(f"input_keys must be a non-empty sequence of keys, got {input_keys!r}")
        _check_str_keys("passthrough_keys", passthrough_keys)
        _check_str_keys("context_keys", context_keys)
        if output_key in context_keys:
            raise ValueError(f"output_key {output_key!r} is also a context key; the answer is always judged")
        if clash := sorted(set(passthrough_keys) & set(input_keys)):
            raise ValueError(
                f"passthrough_keys {clash} are also input_keys; the user's turn is always screened (narrow input_keys)"
            )
        if shapes.keeps_history(bound):
            warnings.warn(
                GuardrailsWarning(
                    "guard.wrap(RunnableWithMessageHistory(...)): the history is loaded after the guard, so earlier "
                    "turns are not judged with the turn and earlier answers reach the model unscreened, and it saves "
                    "the model's answer before screening (a blocked answer's text). Put the history around the "
                    "guard: RunnableWithMessageHistory(guard.wrap(chain), ...)"
                ),
                stacklevel=_caller_level(),
            )
        #: the options as given, for the wrapper of a derived runnable (``bind_tools``, ``with_structured_output``)
        self._options: dict[str, Any] = {
            "input_keys": input_keys,
            "passthrough_keys": passthrough_keys,
            "context_keys": context_keys,
            "output_key": output_key,
            "output": output,
            "raise_on_block": raise_on_block,
            "on_decision": on_decision,
            "inner_events": inner_events,
            "profiles": profiles,
        }
        self.bound = bound
        self.guard = guard
        self.input_keys = tuple(input_keys)
        self.passthrough_keys = tuple(passthrough_keys)
        self.context_keys = frozenset(context_keys)
        self.output_key = output_key
        #: where the guard's own answer (a refusal, a referral, a leading disclaimer) goes in a dict output:
        #: ``output_key``, or the answer key a dict chain declares (``assign(answer=...)``)
        self.answer_key = shapes.answer_key(bound, output_key)
        #: the answer is parsed into the caller's schema (a pydantic model, a parsed JSON object): streamed
        #: snapshots of it are not text deltas, so a stream checks it whole and yields it once
        declared = shapes.declared_output_kind(bound)
        self.schema_output = declared == "raise"
        #: the kind of the guard's own answers when known: chosen (``output=``) or declared by the chain; None:
        #: the chain declares none, and ``output_kind`` is the kind it last returned (``learn``)
        self._known_kind = declared if output == "auto" else output
        self._returned_kind: str | None = None
        #: the caller chose the kind (``output=``): a pydantic answer is then refused in that kind, never raised
        self.output_forced = output != "auto"
        self.raise_on_block = raise_on_block
        self.on_decision = on_decision
        if not isinstance(inner_events, bool):
            raise ValueError(f"inner_events must be True or False, got {inner_events!r}")
        self.inner_events = inner_events
        #: decisions on user turns, for the later steps of an agent's loop (see ``_Turn.reused``): salted hashes and
        #: decisions without their text, as the callback handler keeps them
        self.judged = _Judged(DEFAULT_CACHE_SIZE)
        #: the profiles a request may name besides the wrapper's own (``profiles=``), read once here
        self.profiles = _request_profiles(profiles)
        #: the guard built for each profile a request named (once, under the lock), and every guard of this
        #: wrapper (its own first): a turn refused by one is withheld under all (``was_refused``)
        self._request_guards: dict[str, Guard] = {}
        self._guards: list[Guard] = [guard]  # appended under the lock, shared with derived wrappers
        self._guards_lock = threading.Lock()

    @property
    def output_kind(self) -> str:
        """The kind of the guard's own answers (a refusal, a referral): chosen, else declared by the chain, else
        the kind the chain last returned, else :data:`shapes.UNDECLARED_OUTPUT_KIND`."""
        return self._known_kind or self._returned_kind or shapes.UNDECLARED_OUTPUT_KIND

    @property
    def kind_known(self) -> bool:
        """True when the kind of the chain's answers is known (chosen, declared, or seen in an answer)."""
        return (self._known_kind or self._returned_kind) is not None

    def learn(self, value: Any) -> None:
        """Note the kind of an answer (or streamed chunk) of a chain that declares none: later refusals take it."""
        if self._known_kind is None:
            self._returned_kind = shapes.kind_of(value) or self._returned_kind

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        base = name or f"Guarded{self.bound.get_name()}"
        return f"{base}{suffix or ''}"

    @property
    def InputType(self) -> Any:  # noqa: N802 - LangChain's name
        return self.bound.InputType

    @property
    def OutputType(self) -> Any:  # noqa: N802
        return self.bound.OutputType

    # ------------------------------------------------------------------ a chat model's own builders
    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> GuardedRunnable:
        """The wrapped model with ``tools`` bound, guarded as this wrapper guards (same guard and options): for an
        agent that binds its tools to the model it is given, ``guard.wrap(model)``. AttributeError when the wrapped
        runnable binds no tools."""
        return self._derived("bind_tools", tools, **kwargs)

    def with_structured_output(self, schema: Any, **kwargs: Any) -> GuardedRunnable:
        """The wrapped model's ``with_structured_output(schema, ...)``, guarded as this wrapper guards; its answers
        are parsed into ``schema``, so a refusal is raised (see README, output types), whatever ``output=`` this
        wrapper was given."""
        return self._derived("with_structured_output", schema, output="auto", **kwargs)

    # ------------------------------------------------------------------ retries and fallbacks go inside the guard
    def with_retry(self, **kwargs: Any) -> GuardedRunnable:
        """The wrapped chain's ``with_retry(...)``, guarded as this wrapper guards: a failed call of the chain is
        retried, the turn is judged once, and a refusal (``raise_on_block``) is never retried (it is a verdict, the
        same every time). LangChain's own retry around this wrapper would judge the turn again per attempt."""
        return self._derived("with_retry", **kwargs)

    def with_fallbacks(self, fallbacks: Sequence[Runnable[Any, Any]], **kwargs: Any) -> GuardedRunnable:  # type: ignore[override]
        """The wrapped chain's ``with_fallbacks(fallbacks, ...)``, guarded as this wrapper guards: a fallback gets
        the input as the chain got it (redacted) and its answer is screened, and a refusal (``raise_on_block``)
        never falls back. LangChain's own fallbacks around this wrapper would hand the raw turn, refused or not,
        to an unguarded fallback. Returns a wrapper, not a ``RunnableWithFallbacks``."""
        return self._derived("with_fallbacks", fallbacks, **kwargs)

    def _derived(self, method: str, *args: Any, output: str | None = None, **kwargs: Any) -> GuardedRunnable:
        """A wrapper of ``self.bound.<method>(*args, **kwargs)`` with this one's guard and options (``output``, when
        given, replaces its own), sharing its memory: the decisions of an agent's earlier steps, the refused turns and
        the guards of request profiles (an agent may bind its tools anew at every step)."""
        build = getattr(self.bound, method, None)
        if not callable(build):
            raise AttributeError(
                f"the wrapped {type(self.bound).__name__} has no {method}(); call it on the model before wrapping"
            )
        options = {**self._options, **({"output": output} if output is not None else {})}
        derived = GuardedRunnable(build(*args, **kwargs), self.guard, **options)
        derived.judged = self.judged
        derived._request_guards = self._request_guards
        derived._guards = self._guards
        derived._guards_lock = self._guards_lock
        return derived

    # ------------------------------------------------------------------ per-request settings
    def guard_for(self, profile: object) -> Guard:
        """The guard of a request naming ``profile`` (``guardrails_profile``; None or "": the wrapper's own).

        A request may name only a profile given to ``wrap(profiles=...)`` (a built-in one too only when listed
        there, ``profiles={"healthcare": "healthcare"}``), never a file of its own choosing: where a client can set
        ``configurable`` (LangServe passes it through by default), it could otherwise pick a weaker profile than the
        app's (the general one, which leaves the dates of a health record in clear). A ``ProfileError`` names the
        value, and nothing is read. Each is built once per wrapper, under a lock, and writes to the wrapper guard's
        audit log (when it has one; else as its profile says)."""
        if profile is None or profile == "" or (profile == self.guard.profile.name and profile not in self.profiles):
            return self.guard
        if not isinstance(profile, str) or profile not in self.profiles:
            given = ", ".join(sorted(self.profiles)) or "none"
            raise ProfileError(
                f"guardrails_profile {brief(profile)} is not a profile this wrapper may use: a request may name only "
                f"one given to wrap(profiles=...) ({given}; a built-in one too only when listed there)",
                source="<request>",
                value=profile,
            )
        with self._guards_lock:
            guard = self._request_guards.get(profile)
            if guard is None:
                source = self.profiles[profile]
                if source == self.guard.profile:  # the wrapper's own profile: its own guard
                    guard = self.guard
                else:
                    guard = Guard(source, audit=self.guard.audit)
                    self._guards.append(guard)
                self._request_guards[profile] = guard
            return guard

    def was_refused(self, text: str, *, stage: str | Stage = Stage.INPUT) -> bool:
        """True when one of this wrapper's guards (its own, or one a request's profile named) refused ``text`` as a
        user turn, or with ``stage=Stage.OUTPUT`` as an answer (see ``Guard.was_refused``): a text refused under one
        profile is withheld under every other."""
        return any(g.was_refused(text, stage=stage) for g in tuple(self._guards))

    def _turn(self, config: RunnableConfig) -> _Turn:
        conf = config.get("configurable") or {}
        guard = self.guard_for(conf.get("guardrails_profile"))
        # LangGraph's thread_id, RunnableWithMessageHistory's session_id: the same conversation
        conv = conf.get("conversation_id") or conf.get("thread_id") or conf.get("session_id")
        return _Turn(
            wrapper=self,
            guard=guard,
            locale=conf.get("locale"),
            conversation_id=str(conv) if conv is not None else None,
            kind=self.output_kind,
        )

    def _inner_config(self, config: RunnableConfig, run: Any) -> RunnableConfig:
        """The config the wrapped chain runs with: its callbacks trace as usual, but (unless ``inner_events``)
        lack the handlers behind ``astream_events``/``astream_log``, which would hand the caller the inner
        model's raw, unscreened tokens; the wrapper's own screened chunks still stream as its events."""
        child = run.get_child()
        if not self.inner_events:
            for handler in list(child.handlers):
                if _streams_events(handler):
                    child.remove_handler(handler)
        return patch_config(config, callbacks=child)

    @staticmethod
    def _step(run: CallbackManagerForChainRun, stage: str, fn: Callable[[], Decision]) -> Decision:
        step = run.get_child().on_chain_start(None, {"stage": stage}, name=f"guardrails.{stage}_check")
        try:
            decision = fn()
        except BaseException as exc:
            step.on_chain_error(exc)
            raise
        step.on_chain_end(decision.to_dict())
        return decision

    @staticmethod
    def _record(
        run: CallbackManagerForChainRun, stage: str, decision: Decision | None, *, reused: bool = False
    ) -> None:
        """A finished check (the streamed answer's last screening, a reused decision) as a child run."""
        if decision is not None:
            step = run.get_child().on_chain_start(None, {"stage": stage}, name=f"guardrails.{stage}_check")
            step.on_chain_end({**decision.to_dict(), "reused": True} if reused else decision.to_dict())

    @staticmethod
    async def _arecord(
        run: AsyncCallbackManagerForChainRun, stage: str, decision: Decision | None, *, reused: bool = False
    ) -> None:
        if decision is not None:
            step = await run.get_child().on_chain_start(None, {"stage": stage}, name=f"guardrails.{stage}_check")
            await step.on_chain_end({**decision.to_dict(), "reused": True} if reused else decision.to_dict())

    def _judge_input(self, run: CallbackManagerForChainRun, turn: _Turn, turns: shapes.Turns) -> Decision:
        """The user turn's decision: reused in a later step of an agent's loop (``_Turn.reused``; traced as a
        reused check), else judged."""
        d_in = turn.reused(turns)
        if d_in is not None:
            self._record(run, "input", d_in, reused=True)
            return d_in
        return turn.judged(self._step(run, "input", self._input_check(turn, turns)), turns)

    async def _ajudge_input(self, run: AsyncCallbackManagerForChainRun, turn: _Turn, turns: shapes.Turns) -> Decision:
        d_in = turn.reused(turns)
        if d_in is not None:
            await self._arecord(run, "input", d_in, reused=True)
            return d_in
        return turn.judged(await self._astep(run, "input", self._ainput_check(turn, turns)), turns)

    @staticmethod
    async def _astep(run: AsyncCallbackManagerForChainRun, stage: str, fn: Callable[[], Any]) -> Decision:
        step = await run.get_child().on_chain_start(None, {"stage": stage}, name=f"guardrails.{stage}_check")
        try:
            decision: Decision = await fn()
        except BaseException as exc:
            await step.on_chain_error(exc)
            raise
        await step.on_chain_end(decision.to_dict())
        return decision

    def _input_check(self, turn: _Turn, turns: shapes.Turns) -> Callable[[], Decision]:
        """The check of the user's turn. Its redaction is provisional (only a judge sees it): the turn's values
        are numbered and stored when the chain's input is redacted, in order (``_Turn.rewritten_input``)."""

        def check() -> Decision:
            with redaction_scope(Numbering(), provisional=True):
                return turn.guard.check(
                    turns.latest,
                    Stage.INPUT,
                    history=turns.history,
                    locale=turn.locale,
                    conversation_id=turn.conversation_id,
                )

        return check

    def _ainput_check(self, turn: _Turn, turns: shapes.Turns) -> Callable[[], Any]:
        async def check() -> Decision:
            with redaction_scope(Numbering(), provisional=True):
                return await turn.guard.acheck(
                    turns.latest,
                    Stage.INPUT,
                    history=turns.history,
                    locale=turn.locale,
                    conversation_id=turn.conversation_id,
                )

        return check

    # ------------------------------------------------------------------ invoke
    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        config = ensure_config(config)
        turn = self._turn(config)  # first: a bad per-request profile fails before any run is started
        run = get_callback_manager_for_config(config).on_chain_start(
            None, WITHHELD, run_id=config.pop("run_id", None), name=config.get("run_name") or self.get_name()
        )
        try:
            result = self._answer(run, config, input, turn, **kwargs)
        except BaseException as exc:
            run.on_chain_error(exc)
            raise
        result = turn.delivered(result)
        run.on_chain_end(turn.traced_output(result), inputs=turn.traced_input)
        return result

    def _answer(
        self, run: CallbackManagerForChainRun, config: RunnableConfig, input: Any, turn: _Turn, **kwargs: Any
    ) -> Any:
        """One checked, non-streamed answer of ``turn`` within ``run``."""
        turns = turn.turns(input)
        d_in = self._judge_input(run, turn, turns)
        if turn.stops_chain(d_in):
            turn.traced_input = turn.withheld_input(input, d_in)
            return turn.early_answer(d_in, chunk=False)
        new_input = turn.rewritten_input(input, turns, d_in)
        output = self.bound.invoke(new_input, self._inner_config(config, run), **kwargs)
        read = turn.read(output)
        if read.context_text.strip():
            turn.d_ctx = self._step(run, "context", turn.context_check(read))
        d_out = None
        if read.text.strip():
            d_out = self._step(run, "output", turn.output_check(read.text, pieces=read.apart))
        return turn.finish(output, read, d_out)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        config = ensure_config(config)
        turn = self._turn(config)  # first: a bad per-request profile fails before any run is started
        run = await get_async_callback_manager_for_config(config).on_chain_start(
            None, WITHHELD, run_id=config.pop("run_id", None), name=config.get("run_name") or self.get_name()
        )
        try:
            result = await self._aanswer(run, config, input, turn, **kwargs)
        except BaseException as exc:
            await run.on_chain_error(exc)
            raise
        result = turn.delivered(result)
        await run.on_chain_end(turn.traced_output(result), inputs=turn.traced_input)
        return result

    async def _aanswer(
        self, run: AsyncCallbackManagerForChainRun, config: RunnableConfig, input: Any, turn: _Turn, **kwargs: Any
    ) -> Any:
        """The async twin of :meth:`_answer`."""
        turns = turn.turns(input)
        d_in = await self._ajudge_input(run, turn, turns)
        if turn.stops_chain(d_in):
            turn.traced_input = turn.withheld_input(input, d_in)
            return turn.early_answer(d_in, chunk=False)
        new_input = await asyncio.to_thread(turn.rewritten_input, input, turns, d_in)
        output = await self.bound.ainvoke(new_input, self._inner_config(config, run), **kwargs)
        read = turn.read(output)
        if read.context_text.strip():
            turn.d_ctx = await self._astep(run, "context", turn.acontext_check(read))
        d_out = None
        if read.text.strip():
            d_out = await self._astep(run, "output", turn.aoutput_check(read.text, pieces=read.apart))
        return turn.finish(output, read, d_out)

    # ------------------------------------------------------------------ stream
    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        config = ensure_config(config)
        turn = self._turn(config)  # first: a bad per-request profile fails before any run is started
        run = get_callback_manager_for_config(config).on_chain_start(
            None, WITHHELD, run_id=config.pop("run_id", None), name=config.get("run_name") or self.get_name()
        )
        shown: Any = None  # what the caller was given: the chunks added up, as LangChain records a stream's output
        try:
            with closing(self._stream(run, config, input, turn, **kwargs)) as items:
                for item in items:
                    shown = _added(shown, item)
                    yield item
        except BaseException as exc:
            run.on_chain_error(exc)
            raise
        turn.delivered(shown)
        run.on_chain_end(turn.traced_output(shown), inputs=turn.traced_input)

    def _stream(
        self, run: CallbackManagerForChainRun, config: RunnableConfig, input: Any, turn: _Turn, **kwargs: Any
    ) -> Generator[Any, None, None]:
        if self.schema_output:  # checked whole, yielded once (see ``schema_output``)
            yield self._answer(run, config, input, turn, **kwargs)
            return
        turns = turn.turns(input)
        d_in = self._judge_input(run, turn, turns)
        if turn.stops_chain(d_in):
            turn.traced_input = turn.withheld_input(input, d_in)
            yield turn.sealed(turn.early_answer(d_in, chunk=True))  # one chunk: the whole answer
            return
        screen = _Stream(turn)
        new_input = turn.rewritten_input(input, turns, d_in)
        inner = self.bound.stream(new_input, self._inner_config(config, run), **kwargs)
        # whatever ends the stream (its end, a block, the caller, an error), each lane is audited once
        sent: Any = None  # the chunks yielded, added up: the answer the tail's seals are of
        with screen.audited():
            try:
                for chunk in inner:
                    for item in screen.feed(chunk):
                        sent = _added(sent, item)
                        yield item
                    if screen.blocked is not None:
                        break
            finally:
                close = getattr(inner, "close", None)
                if close is not None:
                    close()
            tail = turn.sealed_tail(sent, screen.end())
            self._record(run, "context", turn.d_ctx)  # as invoke traces them: the documents' check, the answer's
            self._record(run, "output", turn.d_out)
            yield from tail

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        config = ensure_config(config)
        turn = self._turn(config)  # first: a bad per-request profile fails before any run is started
        run = await get_async_callback_manager_for_config(config).on_chain_start(
            None, WITHHELD, run_id=config.pop("run_id", None), name=config.get("run_name") or self.get_name()
        )
        shown: Any = None  # as in ``stream``
        items = self._astream(run, config, input, turn, **kwargs)
        try:
            async for item in items:
                shown = _added(shown, item)
                yield item
        except BaseException as exc:
            await run.on_chain_error(exc)
            raise
        finally:
            await items.aclose()
        turn.delivered(shown)
        await run.on_chain_end(turn.traced_output(shown), inputs=turn.traced_input)

    async def _astream(
        self, run: AsyncCallbackManagerForChainRun, config: RunnableConfig, input: Any, turn: _Turn, **kwargs: Any
    ) -> AsyncGenerator[Any, None]:
        if self.schema_output:  # checked whole, yielded once (see ``schema_output``)
            yield await self._aanswer(run, config, input, turn, **kwargs)
            return
        turns = turn.turns(input)
        d_in = await self._ajudge_input(run, turn, turns)
        if turn.stops_chain(d_in):
            turn.traced_input = turn.withheld_input(input, d_in)
            yield turn.sealed(turn.early_answer(d_in, chunk=True))  # one chunk: the whole answer
            return
        screen = _Stream(turn)
        new_input = await asyncio.to_thread(turn.rewritten_input, input, turns, d_in)
        inner = self.bound.astream(new_input, self._inner_config(config, run), **kwargs)
        sent: Any = None  # as in ``_stream``
        with screen.audited():  # each lane audited once, as in ``stream``
            try:
                async for chunk in inner:
                    for item in await _in_worker(screen.feed, chunk):
                        sent = _added(sent, item)
                        yield item
                    if screen.blocked is not None:
                        break
            finally:
                aclose = getattr(inner, "aclose", None)
                if aclose is not None:
                    await aclose()
            tail = turn.sealed_tail(sent, await _in_worker(screen.end))
            await self._arecord(run, "context", turn.d_ctx)
            await self._arecord(run, "output", turn.d_out)
            for item in tail:
                yield item

    @overload
    def astream_events(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        version: Literal["v1", "v2"] = "v2",
        include_names: Sequence[str] | None = None,
        include_types: Sequence[str] | None = None,
        include_tags: Sequence[str] | None = None,
        exclude_names: Sequence[str] | None = None,
        exclude_types: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @overload
    def astream_events(
        self, input: Any, config: RunnableConfig | None = None, *, version: Literal["v3"], **kwargs: Any
    ) -> Awaitable[Any]: ...

    def astream_events(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        version: Literal["v1", "v2", "v3"] = "v2",
        include_names: Sequence[str] | None = None,
        include_types: Sequence[str] | None = None,
        include_tags: Sequence[str] | None = None,
        exclude_names: Sequence[str] | None = None,
        exclude_types: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent] | Awaitable[Any]:
        """LangChain's event stream, with no event carrying the caller's raw input: LangChain's v2 stream puts
        the input it was given into its first event (the wrapper's own start), where it would reach whatever
        logs or forwards events before the guard has redacted it. That event holds the withheld marker instead,
        as the wrapper's trace run does; the screened input is in the wrapped chain's own events."""
        events = super().astream_events(
            input,
            config,
            version=version,
            include_names=include_names,
            include_types=include_types,
            include_tags=include_tags,
            exclude_names=exclude_names,
            exclude_types=exclude_types,
            exclude_tags=exclude_tags,
            **kwargs,
        )
        return _without_raw_input(events, input) if isinstance(events, AsyncIterator) else events


async def _without_raw_input(events: AsyncIterator[StreamEvent], raw: Any) -> AsyncIterator[StreamEvent]:
    """``events`` with the caller's raw input replaced by the withheld marker where LangChain puts it: in the first
    event whatever run it belongs to (v2 writes the input it was given there, even into a custom event when
    filters leave out the runs before it), and in the start events of the root run (the first event's run)."""
    root: Any = None
    first = True
    async for event in events:
        data = event.get("data")
        if first:
            root = event.get("run_id")
        raw_here = first and isinstance(data, dict) and "input" in data and _is_raw(data["input"], raw)
        root_start = event.get("run_id") == root and event["event"].endswith("_start")
        if isinstance(data, dict) and "input" in data and (raw_here or root_start):
            event = {**event, "data": {**data, "input": WITHHELD}}  # type: ignore[typeddict-item]
        first = False
        yield event


def _is_raw(value: Any, raw: Any) -> bool:
    """True when ``value`` is the caller's input (or an equal copy of it)."""
    if value is raw:
        return True
    try:
        return bool(value == raw)
    except Exception:  # a value whose comparison fails is not the input
        return False


def _added(total: Any, item: Any) -> Any:
    """``total + item`` where the chunks add up (str, message chunks, LangChain's addable dicts), else ``item``."""
    if total is None:
        return item
    try:
        return total + item
    except TypeError:
        return item


_T = TypeVar("_T")


async def _in_worker(fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` on a worker thread, for a stream's checks. A worker cannot be stopped, so when the caller is
    cancelled meanwhile the cancellation waits for it (what it judged then reaches the lane's audit record) and
    then goes on; cancelled again while it waits, it stops waiting (the record then says a window was left
    unjudged). Either way none of the worker's text is yielded."""
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    work.add_done_callback(_retrieved)
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        with suppress(BaseException):  # a second cancellation (or the worker's own error) ends the wait
            await asyncio.shield(work)
        raise


#: this package's folder: frames in it are the library's own
_PACKAGE_DIR = str(Path(__file__).resolve().parents[2]) + os.sep


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside this package, counted from the function that calls this one:
    a warning points at the user's line however they reached it (``guard.wrap``, ``with_guardrails``, the class)."""
    frame: FrameType | None = sys._getframe(2)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def _retrieved(work: asyncio.Future[Any]) -> None:
    """Take a worker's outcome, so one no one waited for to the end is not logged as never retrieved."""
    if not work.cancelled():
        work.exception()


#: the callback handlers behind ``astream_events`` (v2) and ``astream_log``/``astream_events`` (v1)
_EVENT_HANDLERS = frozenset({"_AstreamEventsCallbackHandler", "LogStreamCallbackHandler"})


def _streams_events(handler: Any) -> bool:
    return any(cls.__name__ in _EVENT_HANDLERS for cls in type(handler).__mro__)


def with_guardrails(
    runnable: Runnable[Any, Any],
    profile: str | Guard = "general",
    **kwargs: Any,
) -> GuardedRunnable:
    """Wrap ``runnable`` with a guard built from ``profile`` (a built-in name, a path, or a Guard)."""
    guard = profile if isinstance(profile, Guard) else Guard.from_profile(profile)
    return GuardedRunnable(runnable, guard, **kwargs)
