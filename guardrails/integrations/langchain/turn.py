"""One invocation of the Runnable wrapper: the pure logic its sync, async and streaming drivers share.

A :class:`Turn` holds what one request learned (its guard, locale, conversation, decisions, the placeholder
numbering of its texts) and does each step on it: the chain's input rewritten (redacted, earlier messages withheld,
see :mod:`guardrails.integrations.langchain.history`), the answer read, checked, screened and composed with its
referral and disclaimers, the decisions put in its metadata, and the delivered answer noted and sealed.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage

from guardrails.errors import GuardrailViolation
from guardrails.guard import Guard
from guardrails.integrations.langchain import history, shapes
from guardrails.integrations.langchain.callbacks import _keepable
from guardrails.integrations.langchain.history import SEALS_KEY, WITHHELD_TURN
from guardrails.redaction import PLACEHOLDER, Numbering, redaction_scope
from guardrails.streaming import PartCheck, StreamScreen
from guardrails.types import Action, Decision, Finding, Stage, StreamPart

if TYPE_CHECKING:
    from guardrails.integrations.langchain.graphs import GraphState
    from guardrails.integrations.langchain.runnable import GuardedRunnable
    from guardrails.integrations.langchain.stream import GraphParts

#: what the wrapper's run records as its input until the chain has been called (never the raw input)
WITHHELD = {"input": "<withheld by guardrails>"}

NO_TRIAGE_INSTRUCTION = (
    "The user may be in crisis. Do not triage, diagnose, assess risk or discuss methods. "
    "Respond briefly and warmly, encourage them to contact the emergency number or crisis line "
    "already shown to them, and do not replace that referral."
)


@dataclass(repr=False)  # it holds the answer's and the user's words: never shown
class Turn:
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
    #: what a stream gave before the model's words (a referral, disclaimers) and after them (late disclaimers)
    streamed_head: str = ""
    streamed_late: str = ""
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
    #: each text the answer's values were restored in, with the text before (its placeholders where they stood)
    unrestored: dict[str, str] = field(default_factory=dict)
    #: the user's earlier turns a wrapped LangGraph app keeps for this conversation in its checkpointer (the request
    #: brings only the new message): they come before the input's own earlier turns (``graphs.stored_turns``)
    stored: tuple[str, ...] = ()
    #: what the run records for the user's turn when the chain is not called (``withheld_input``)
    withheld_marker: str = WITHHELD_TURN
    #: a LangGraph app's state key of messages, and the ids of the messages in the state it returns that are not this
    #: turn's answer (the conversation it keeps, the input's messages): not judged again (``split_earlier``)
    state_key: str | None = None
    earlier_ids: Mapping[str, str] = field(default_factory=dict)
    #: the words of earlier messages a reducer may return without their ids (``add_messages`` with ``format=``)
    earlier_unnamed: Counter[str] = field(default_factory=Counter)

    # ---- input
    def turns(self, value: Any) -> shapes.Turns:
        shapes.check_depth(value, what="the chain's input")
        found = shapes.extract_turns(
            value,
            input_keys=self.wrapper.input_keys,
            passthrough_keys=self.wrapper.passthrough_keys,
            documents=self.guard.profile.attached_documents == "judge",
        )
        return replace(found, history=(*self.stored, *found.history)) if self.stored else found

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
        if d_in.referral is not None and turns.has_user_turn:  # the chain is called after a referral: remembered
            self._referred_kinds(value, d_in)
        users = history.user_texts(value, input_keys=keys, passthrough_keys=passthrough)
        # the earlier messages to withhold (refused or not yet judged user turns, what answered them, refused
        # answers), each text with what the model gets instead (see history.withheld_texts)
        done: dict[str, str] = self._withheld(value, latest)

        def fn(text: str) -> str:
            if text not in done and (plain := history.model_marker(text)) is not None:
                done[text] = plain
            if text not in done:
                # a text of the user's that stands in the turn judged (a block of it, or one of the unanswered
                # messages before an image-only one, judged joined)
                if latest is not None and text in users and text != latest and text.strip() and text in latest:
                    done[text] = self._redacted_piece(text, latest, d_in)
                else:
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
        # a refused turn that showed a crisis too (blocked, with the referral first) is marked as referred: that
        # marker withholds its words as well, and keeps its crisis in force for the window
        kinds = self._referred_kinds(value, d_in) if d_in.referral is not None else []
        marker = WITHHELD_TURN if d_in.blocked and not kinds else history.referred_marker(kinds)
        self.withheld_marker = marker
        marked = False

        def withheld(text: str) -> str:
            nonlocal marked
            if text not in latest:
                return WITHHELD["input"]
            if marked:  # the turn's further texts: one marker per turn, read back whole (``crisis_in_force``)
                return history.WITHHELD_PART
            marked = True
            return marker

        return shapes.rewrite_input(value, withheld, input_keys=keys, passthrough_keys=passthrough)

    def _referred_kinds(self, value: Any, d_in: Decision) -> list[str]:
        """The crisis kinds the turn's own words were referred for (``Guard.own_crises``: judged alone when it had
        earlier turns, since a crisis in force among them is marked already), of those a marker names; remembered
        by the guard, so that the turn keeps its crisis in force however a later request's history holds it."""
        turns = self.turns(value)
        parts = history.latest_texts(value, input_keys=self.wrapper.input_keys)
        return history.remember_crises(
            self.guard, turns.latest, parts, d_in, history=bool(turns.history), locale=self.locale
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
            documents=self.guard.profile.attached_documents == "judge",
            crisis_kinds=self.wrapper.crisis_kinds,
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
                return guard.redact(text, "input", conversation_id=conv, restorable=user)
        entities = [f for f in d_in.findings if f.category is None and f.start is not None and f.label]
        if not entities:
            return clean
        return guard.redactor.redact(
            clean, entities, stage=Stage.INPUT, conversation_id=conv, numbering=self.numbering, restorable=True
        ).text

    def _redacted_piece(self, text: str, latest: str, d_in: Decision) -> str:
        """A text of the user's turn that is a piece of it (one of several content blocks, or messages, judged joined
        as the turn): the values the input check found in the joined turn where this piece stands (in any place it
        stands; a value cut by the piece's edge is redacted in the part inside it), then any value found in the piece
        alone. A value only recognisable with the words of another block ("My SSN is" | "536221234") is redacted."""
        if self.wrapper.was_refused(text):
            return WITHHELD_TURN  # as ``_redacted`` has it
        pieces: list[Finding] = []
        at = latest.find(text)
        while at >= 0:
            for f in d_in.findings:
                if f.category is None and f.start is not None and f.end is not None and f.label:
                    start, end = max(f.start, at) - at, min(f.end, at + len(text)) - at
                    if start < end:
                        pieces.append(replace(f, start=start, end=end))
            at = latest.find(text, at + 1)
        clean = history.clean(text)
        if pieces:
            if "<" in clean and PLACEHOLDER.search(clean):
                self.guard.redactor.seed(clean, conversation_id=self.conversation_id, numbering=self.numbering)
            clean = self.guard.redactor.redact(
                clean,
                pieces,
                stage=Stage.INPUT,
                conversation_id=self.conversation_id,
                numbering=self.numbering,
                restorable=True,
            ).text
        return self._redacted(clean, user=True, d_in=None)

    def metadata(self) -> dict[str, Any]:
        """The turn's decisions as the client sees them (an answer's metadata): without ``text_hash``, which would
        let a client hash texts of its choice under the guard's salt and compare them with a hash of a blocked or
        redacted answer (the audit log and ``on_decision`` keep it; see ``Decision.to_client_dict``)."""
        meta: dict[str, Any] = {
            "input": _shown(self.d_in),
            "output": _shown(self.d_out),
            "disclaimers": list(self.shown_disclaimers),
            "referral": self.d_in is not None and self.d_in.referral is not None,
        }
        if self.d_ctx is not None:
            meta["context"] = _shown(self.d_ctx)
        return meta

    def restore(self, text: str) -> str:
        """``text`` with the user's own values put back (reversible mode), noting each value restored."""
        guard, conv, epoch = self.guard, self.conversation_id, self.numbering.epoch
        out = guard.restore(text, conversation_id=conv, epoch=epoch)
        if out != text:
            self.unrestored[out] = text
            for m in PLACEHOLDER.finditer(text):
                value = guard.restore(m.group(0), conversation_id=conv, epoch=epoch)
                if value and value != m.group(0):
                    self.restored[value] = m.group(0)
        return out

    def traced_output(self, answer: Any) -> dict[str, Any]:
        """The outputs the wrapper's run records: the answer as the user got it (a dict answer as it is, any other
        under ``output``, with the decisions under ``guardrails``), except that the user's own values restored in
        it (reversible mode) are recorded as their placeholders."""
        answer = self.hidden(answer)
        if isinstance(answer, Mapping):
            return dict(answer)
        return {"output": answer, shapes.META_KEY: shapes.GuardMetadata(self.metadata())}

    def hidden(self, answer: Any, *, exact: bool = False) -> Any:
        """``answer`` with the user's own values it restored (reversible mode) put back as their placeholders.
        ``exact``: a text that holds one this turn restored gets back that text's placeholders where they stood (the
        text the model reads again: "Mark" must not take "Marketing" apart); anything else, and every trace, has every
        occurrence of a value hidden."""
        if not self.restored:
            return answer
        pairs = sorted(self.restored.items(), key=lambda pair: -len(pair[0]))
        texts = sorted(self.unrestored, key=len, reverse=True) if exact else []
        whole = re.compile("|".join(re.escape(t) for t in texts)) if texts else None

        def values_hidden(text: str) -> str:
            # every occurrence, longest value first: a value touching other characters ("_Jane Roe_", "田中さん") is
            # hidden too, at the price of a short value inside a longer word ("Al" in "Alabama") in the trace
            for value, placeholder in pairs:
                text = text.replace(value, placeholder)
            return text

        def hide(text: str) -> str:
            if whole is None:
                return values_hidden(text)
            out, pos = [], 0
            for m in whole.finditer(text):  # a restored text back as it was; whatever is around it, hidden
                out += [values_hidden(text[pos : m.start()]), self.unrestored[m.group(0)]]
                pos = m.end()
            return "".join([*out, values_hidden(text[pos:])])

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
        _, own = self.split_earlier(answer)  # a graph's state: its earlier messages were noted when they came
        for shown in self._versions(own):
            # the answer's slots, not retrieved documents (only redacted, never judged)
            for text in [p.text for p in self.read(shown).pieces if not p.context]:
                self.guard.delivered(text)
        return self.sealed(answer)

    def _versions(self, answer: Any) -> tuple[Any, ...]:
        """``answer`` as the caller got it, and as the run records it (a history saved from the run holds the
        placeholders in reversible mode, not the user's values)."""
        return (answer, self.hidden(answer)) if self.restored else (answer,)

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
            sent = added(sent, item)
        return [*tail[:-1], self.sealed(tail[-1], whole=sent)]

    def early_answer(self, d_in: Decision, *, chunk: bool, state: GraphState | None = None) -> Any:
        """The answer to a turn answered without the chain (a refusal, a referral), in the kind of the chain's
        answers; a LangGraph app's ``state`` (unless ``output=`` chose a kind) as its state, the guard's sealed
        message its last message, with the decisions under ``guardrails`` as the graph's own answers have them."""
        if (d_in.blocked and self.wrapper.raise_on_block) or self.kind == "raise":
            raise GuardrailViolation(d_in)  # "raise": a pydantic output type cannot hold the refusal or referral
        text = d_in.response_text() or ""
        if state is not None and not self.wrapper.output_forced:
            message = shapes.make_output("message", text, output_key="", metadata=self.metadata(), chunk=chunk)
            return {state.key: [self.sealed(message)], shapes.META_KEY: shapes.GuardMetadata(self.metadata())}
        return shapes.make_output(
            self.kind, text, output_key=self.wrapper.answer_key, metadata=self.metadata(), chunk=chunk
        )

    def recorded_turn(self, d_in: Decision) -> list[BaseMessage]:
        """A turn answered without the chain as a conversation keeps it (``graphs.record``): the marker the run
        records for the user's turn (``withheld_input``, called first), and the answer, sealed; the marker alone
        when the refusal is raised (``raise_on_block``), not shown."""
        marker = HumanMessage(content=self.withheld_marker)
        if d_in.blocked and self.wrapper.raise_on_block:
            return [marker]
        text = d_in.response_text() or ""
        answer = AIMessage(content=text, response_metadata={shapes.META_KEY: self.metadata()})
        return [marker, self.sealed(answer)]

    def split_earlier(self, output: Any) -> tuple[list[BaseMessage], Any]:
        """A LangGraph app's returned state without the messages that are not this turn's answer
        (``earlier_ids``: they were judged and delivered before, or are the input the guard judged), and those
        messages; ``([], output)`` for any other output."""
        key = self.state_key
        if not (self.earlier_ids or self.earlier_unnamed) or key is None or not isinstance(output, Mapping):
            return [], output
        messages = output.get(key)
        if not isinstance(messages, list):
            return [], output
        flags = self._earlier_flags(messages)
        if not any(flags):
            return [], output
        earlier = [m for m, e in zip(messages, flags, strict=True) if e]
        rest = [m for m, e in zip(messages, flags, strict=True) if not e]
        return earlier, shapes.remap(output, {**output, key: rest})

    def _earlier_flags(self, messages: Sequence[Any]) -> list[bool]:
        """Which of a graph's returned messages the turn began with (see ``earlier_ids``): one with a known id and its
        words unchanged (``graphs.words``: content, tool calls, reasoning); a user's or the app's message with a
        known id (judged as input, never the answer, whatever a node tagged it with); and, for messages a reducer
        stored without their ids (``add_messages`` with ``format=``), one whose words match an earlier message's,
        each earlier message matched once."""
        from guardrails.integrations.langchain.graphs import words

        unmatched = Counter(self.earlier_unnamed)
        flags: list[bool] = []
        for m in messages:
            said = words(m) if isinstance(m, BaseMessage) else None
            known = isinstance(m, BaseMessage) and m.id is not None and m.id in self.earlier_ids
            if known and (self.earlier_ids[m.id] == said or m.type in ("human", "system")):
                flags.append(True)
            elif said is not None and m.id is None and unmatched[said] > 0:  # a reducer that dropped the ids
                unmatched[said] -= 1
                flags.append(True)
            else:
                flags.append(False)
        return flags

    def join_earlier(self, result: Any, earlier: Sequence[BaseMessage]) -> Any:
        """``result`` (of a state ``split_earlier`` split) with the earlier messages back before its own."""
        key = self.state_key
        if not earlier or key is None or not isinstance(result, Mapping) or not isinstance(result.get(key), list):
            return result
        return shapes.remap(result, {**result, key: [*earlier, *result[key]]})

    def values_earlier(self, chunk: Any, parts: GraphParts | None) -> tuple[Any, Any]:
        """A LangGraph app's streamed state part without the messages that are not this turn's answer
        (``split_earlier``), and those messages: of a ``values`` part (the whole state, each time) a list, of an
        ``updates`` part a list per node (a node may return the whole list of messages). ``(None, chunk)`` for any
        other chunk, and ``(earlier, None)`` for a part of earlier messages only (the input's state before any node
        ran: nothing to judge, passed on as it is)."""
        if not self.earlier_ids or parts is None:
            return None, chunk
        split = parts.split(chunk) if parts.wrapped else (None, chunk)
        mode = parts.mode_of(split[0]) if split is not None else None
        if split is None or mode not in ("values", "updates"):
            return None, chunk
        tag, payload = split
        earlier: Any
        if mode == "values":
            earlier, rest = self.split_earlier(payload)
            only = bool(earlier) and not rest.get(self.state_key) and set(rest) <= {self.state_key}
        elif isinstance(payload, Mapping):
            found = {node: self.split_earlier(update) for node, update in payload.items()}
            earlier = {node: e for node, (e, _) in found.items() if e}
            rest = shapes.remap(payload, {node: r for node, (_, r) in found.items()})
            only = bool(earlier) and all(
                isinstance(r, Mapping) and not r.get(self.state_key) and set(r) <= {self.state_key}
                for r in rest.values()
            )
        else:
            return None, chunk
        if not earlier:
            return None, chunk
        if only:
            return earlier, None
        return earlier, rest if tag is None else parts.join(tag, rest)

    def values_joined(self, item: Any, earlier: Any, parts: GraphParts | None) -> Any:
        """An item the screen yielded for a state part ``values_earlier`` split, with those messages back."""
        if not earlier or parts is None:
            return item
        split = parts.split(item) if parts.wrapped else (None, item)
        mode = parts.mode_of(split[0]) if split is not None else None
        if split is None or mode not in ("values", "updates"):
            return item
        tag, payload = split
        if mode == "values" and isinstance(earlier, list):
            joined = self.join_earlier(payload, earlier)
        elif mode == "updates" and isinstance(earlier, Mapping) and isinstance(payload, Mapping):
            joined = shapes.remap(
                payload, {node: self.join_earlier(u, earlier.get(node, [])) for node, u in payload.items()}
            )
        else:
            return item
        return joined if tag is None else parts.join(tag, joined)

    def streamed_answer(
        self, how: str, blocked: tuple[Any, Decision] | None, before: list[Any]
    ) -> tuple[list[Any], bool] | None:
        """This turn's messages (``before``, as a graph stored them) as a stream's caller got them, to write back into
        the conversation the graph keeps (``graphs.stream_back``), and whether the answer was refused; None when
        there is nothing to write. ``how`` the stream ended: ``end`` (its decisions made: a refused answer is its
        refusal, a redacted one redacted as the stream redacted it, restorable values as placeholders, as the run
        records them), ``raised`` (refused by raising: nothing in its place), ``early`` (stopped before its end, by
        its caller or an error: the refusal if the screen had refused, ``blocked``, else every value redacted, since
        the check of the whole answer never came; a redaction is not written into a run with a node still to run,
        ``graphs.paused``)."""
        if how == "raised":
            return [], True
        decisions = [d for d in (self.d_out, self.d_ctx) if d is not None] if how == "end" else []
        if how == "early" and blocked is not None:
            decisions = [blocked[1]]
        refused = next((d for d in decisions if d.blocked), None)
        if refused is not None:
            text = refused.response_text() or ""
            referral = self.d_in.referral if self.d_in is not None else None
            if referral and not text.startswith(referral):  # as invoke keeps it: the referral leads the refusal
                text = f"{referral}\n\n{text}"
            return [AIMessage(content=text)], True
        framed = how == "end" and bool(self.streamed_head or self.streamed_late)
        if how == "end" and not framed and not any(d.action is Action.REDACT for d in decisions):
            return None

        def redact(text: str) -> str:  # numbered as the stream numbered the turn's values
            with redaction_scope(self.numbering, restorable=False):
                return self.guard.redact(text, Stage.OUTPUT, conversation_id=self.conversation_id, restorable=False)

        after = [shapes.map_texts(m, redact) for m in before]
        return (self.framed_messages(after, self.streamed_head, self.streamed_late) if framed else after), False

    def framed_messages(self, messages: Any, head: str, late: str) -> Any:
        """Messages of this turn's answer with what a stream gave around the model's words: ``head`` (a referral,
        disclaimers) before the first answer's text, ``late`` (disclaimers) after the last one's, as ``invoke``
        keeps them (anything but a list of messages comes back as it is)."""
        if not isinstance(messages, list):
            return messages

        def answer_text(message: Any) -> tuple[shapes.Path, str] | None:
            read = self.read(message) if isinstance(message, AIMessage) else None
            text = next((p.text for p in read.pieces if p.path == read.primary), "") if read is not None else ""
            return (read.primary, text) if read is not None and read.primary is not None and text.strip() else None

        spoken = [i for i, m in enumerate(messages) if answer_text(m) is not None]
        out = list(messages)
        for i, before, after in ((spoken[:1], head, ""), (spoken[-1:], "", late)):
            slot = answer_text(out[i[0]]) if i and (before or after) else None
            if slot is not None:
                texts = {slot[0]: before + slot[1] + after}
                out[i[0]] = shapes.rebuild_output(out[i[0]], texts, output_key="", metadata=None)
        return out

    def kept_answer(self, output: Any, result: Any) -> tuple[list[Any], list[Any], bool]:
        """What the conversation a graph keeps gets for this turn's answer after ``invoke``: its messages as the graph
        stored them (``output``), as the caller got them (``result``, restored values as the placeholders the model
        wrote, so the model never reads them next turn), and whether the answer was refused."""
        refused = any(d is not None and d.blocked for d in (self.d_out, self.d_ctx))
        return self.answer_messages(output), self.answer_messages(self.hidden(result, exact=True)), refused

    def answer_messages(self, output: Any) -> list[Any]:
        """The messages of this turn's answer in a LangGraph app's returned state (see ``split_earlier``)."""
        _, rest = self.split_earlier(output)
        found = rest.get(self.state_key) if isinstance(rest, Mapping) and self.state_key is not None else None
        return list(found) if isinstance(found, list) else []

    def early_stream_answer(self, d_in: Decision, parts: GraphParts | None, state: GraphState | None = None) -> Any:
        """The one item a stream yields for a turn answered without the chain: the early answer, sealed, and in
        the shape of a LangGraph app's stream when it was asked for one (``parts``, a ``GraphParts``), or is one
        (``state``, a ``GraphState``): a ``(message, metadata)`` pair in ``messages`` mode, the state with the
        guard's message in ``values`` mode, a ``guardrails`` node's update holding it in ``updates`` mode (the
        graph's own mode when the stream names none), wrapped as that stream wraps its parts."""
        default = state.default_mode if state is not None else "values"
        mode = parts.answer_mode(default) if parts is not None else default if state is not None else None
        if parts is not None and state is not None and mode != "messages" and not state.holds(str(mode)):
            mode = next((m for m in parts.modes if state.holds(m)), mode)  # the state's, not a custom channel's
        if mode is None:
            return self.sealed(self.early_answer(d_in, chunk=True))
        if mode == "messages":
            answer = self.early_answer(d_in, chunk=True)  # raises where a refusal must be raised
            text = d_in.response_text() or ""
            message = shapes.make_output("message", text, output_key="", metadata=self.metadata(), chunk=True)
            answer = (self.sealed(message), {})
        elif state is not None and state.holds(mode):
            answer = self.early_answer(d_in, chunk=False, state=state)  # raises where a refusal must be raised
            if not self.wrapper.output_forced:  # the guard's message, as a node's update or the state's last
                answer = state.payload(mode, answer[state.key][0])
        else:
            answer = self.sealed(self.early_answer(d_in, chunk=True))
        if parts is None or (tag := parts.wrapping(mode)) is None:
            return answer
        return parts.join(tag, answer)

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

    def compose(self, body: str, d_out: Decision | None) -> str:
        """The answer text the user sees: ``body`` with the referral and (unless blocked) disclaimers. ``d_out``:
        ``None`` for a blank answer, which had no check."""
        if d_out is None:
            disclaimers = self.take_disclaimers()
        else:
            disclaimers = self.take_disclaimers(d_out.disclaimer_categories) if not d_out.blocked else ()
        settings = self.guard.profile.disclaimers
        parts = [*disclaimers, body] if settings.placement == "prepend" else [body, *disclaimers]
        referral = self.d_in.referral if self.d_in is not None else None
        if referral is not None and not body.startswith(referral):  # a refused answer may lead with it already
            parts.insert(0, referral)
        return "\n\n".join(p for p in parts if p.strip())

    def take_disclaimers(self, extra: Sequence[str] = ()) -> tuple[str, ...]:
        cats = [*(self.d_in.disclaimer_categories if self.d_in else ()), *extra]
        fresh = self.guard.select_disclaimers(cats, conversation_id=self.conversation_id, locale=self.locale)
        fresh = tuple(t for t in fresh if t not in self.shown_disclaimers)
        self.shown_disclaimers += fresh
        return fresh

    def screened(
        self, read: shapes.OutputText, d_out: Decision | None, d_ctx: Decision | None = None
    ) -> dict[shapes.Path, str]:
        """Each text slot as the user sees it: redacted by the check's findings (the context slots by ``d_ctx``'s,
        else by the turn's context check), the user's own values restored.

        Tool-call arguments are treated like the answer text, so in reversible mode a tool gets the
        user's own values back (never values the model produced).
        """
        guard, conv = self.guard, self.conversation_id
        texts = {p.path: p.text for p in read.pieces}
        answer = d_out.findings if d_out is not None else ()
        d_ctx = d_ctx if d_ctx is not None else self.d_ctx
        context = d_ctx.findings if d_ctx is not None else ()
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
        referred = self.d_in is not None and self.d_in.referral is not None
        if not checked and not referred:
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
        # a blank answer (no output check) still carries the referral: it must be seen on every path
        if read.primary is not None and (d_out is not None or referred) and not agent_step:
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

        memo: dict[str, Any] = {}  # what the checks of this lane share (StreamPart.memo), dropped with the lane

        def check(window: str) -> Decision:
            return check_part(window, partial=False, head="")

        def check_part(window: str, *, partial: bool, head: str) -> Decision:
            # no conversation id here: a window may hold a partial value, which must not take a
            # placeholder number in the conversation; released segments are redacted in `transform`.
            # No audit record either: the lane records its summary once (`ScreenedStream.recorded`)
            d = guard.evaluate(
                window,
                Stage.OUTPUT,
                conversation_id=None,
                locale=self.locale,
                redact_only=context,
                stream=StreamPart(partial=partial, head=head, memo=memo),
            )
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
        # checks told where their text lies in the answer, and no text released that a check has not read in
        # every window the finished answer has (README, "Streaming")
        settling = not context and settings.hold_last_window
        located: PartCheck | None = check_part if settling else None
        return StreamScreen(
            check=check,
            transform=transform,
            partial_placeholder=guard.partial_placeholder,
            check_part=located,
            settled=guard.settled_chars if settling else len,
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
        self.streamed_head = "\n\n".join(head) + "\n\n" if head else ""
        return self.streamed_head


def added(total: Any, item: Any) -> Any:
    """``total + item`` where the chunks add up (str, message chunks, LangChain's addable dicts), else ``item``."""
    if total is None:
        return item
    try:
        return total + item
    except (TypeError, NotImplementedError):  # a message added to what no message adds up with
        return item


def _shown(decision: Decision | None) -> dict[str, Any] | None:
    return None if decision is None else decision.to_client_dict()
