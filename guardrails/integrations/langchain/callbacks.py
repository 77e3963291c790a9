"""Callback handler for chains that can't be wrapped.

``GuardrailsCallbackHandler(guard)`` screens prompts in ``on_chat_model_start`` /
``on_llm_start`` and stops the call by raising GuardrailViolation (LangChain
re-raises it because ``raise_error = True``); it screens answers, tool calls included,
in ``on_llm_end`` and emits one audit record per judgment. A user turn is judged once:
the model calls of an agent's tool loop repeat it, and the handler keeps its decision
(see :class:`GuardrailsCallbackHandler`).

Which text of a chat prompt is the turn (:func:`turn_of`): the user messages since the model's
last answer (the handler cannot withhold any of them from the model), with the earlier ones as its
history; the app's system prompt beside them is not judged. A
prompt with no user text (an app that renders the user's text into a system message, as
``ChatPromptTemplate([("system", "Answer the user: {question}")])`` does) is judged on the
text of its messages the model and tools did not write (system, developer and other
roles), or, with none, on all its text: every chat call is judged, none passes silently.

What it cannot do: callbacks are observers. It cannot rewrite the prompt (so it
cannot redact PII before the model sees it), cannot replace an answer with a
refusal, referral or disclaimer, and cannot stop a streamed answer mid-way. Use
``guard.wrap(chain)`` for those; use the handler where you can only attach callbacks.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, FunctionMessage, ToolMessage
from langchain_core.outputs import LLMResult

from guardrails._lru import LRU
from guardrails.audit import AuditLog, salted_hash
from guardrails.errors import GuardrailViolation, InputError, brief
from guardrails.guard import Guard
from guardrails.integrations.langchain.history import crisis_in_force, in_window, remember_crises, without_markers
from guardrails.integrations.langchain.shapes import (
    check_depth,
    content_text,
    is_tool_results,
    is_user_message,
    read_output,
    user_text,
    user_turns,
)
from guardrails.types import Action, Decision, Stage

#: how many judged prompts a handler keeps by default (``cache_size=``)
DEFAULT_CACHE_SIZE = 512

#: how many calls in flight a handler remembers the request's locale of, for judging their answers
RUN_LOCALES_KEPT = 4096


class _Judged:
    """Prompt decisions already judged: a bounded LRU map, safe to share between threads.

    Keys are salted hashes of everything an input decision depends on (see ``key``), under a
    random salt of this map's own (the keys never leave memory, so nothing needs to match them
    across processes). Values are decisions without their text. No user text is kept.
    """

    def __init__(self, size: int) -> None:
        self._salt = secrets.token_bytes(16)
        self._entries: LRU[str, Decision] = LRU(size)

    def key(self, text: str, history: Sequence[str], locale: str | None, *context: str) -> str:
        """The key of a prompt's decision; ``context``: anything else it depends on (the wrapper's conversation)."""
        # the stage is part of the key too: a prompt's decision must never answer for an answer
        parts = [str(Stage.INPUT), locale, text, list(history), *context]
        return salted_hash(json.dumps(parts, ensure_ascii=True), self._salt)

    def get(self, key: str) -> Decision | None:
        return self._entries.get(key)

    def put(self, key: str, decision: Decision) -> None:
        self._entries.put(key, replace(decision, text=""))


#: roles of a generic ``ChatMessage`` whose text the model or a tool wrote, not the app or the user
_MODEL_OR_TOOL_ROLES = frozenset({"assistant", "ai", "model", "tool", "function"})


def _model_or_tool(m: BaseMessage) -> bool:
    """True for a message the model wrote (an answer, a tool call) or a tool's result."""
    if isinstance(m, (AIMessage, ToolMessage, FunctionMessage)):
        return True
    return isinstance(m, ChatMessage) and m.role.lower() in _MODEL_OR_TOOL_ROLES


def _joined(messages: Sequence[BaseMessage], documents: bool, *, results: bool = False) -> str:
    texts = (content_text(m.content, documents=documents, results=results) for m in messages)
    return "\n".join(t for t in texts if t.strip())


def turn_of(conversation: Sequence[BaseMessage], *, documents: bool = True) -> tuple[str, tuple[str, ...]]:
    """The text of a chat prompt to judge as the turn, and the earlier user turns (its history).

    * With a user message that holds text: the text of the unanswered user messages (those since
      the model's last answer), joined in order, the earlier ones its history; with none unanswered,
      the latest user message (:func:`~guardrails.integrations.langchain.shapes.user_turns` with
      ``unanswered=True``). All of them reach the model, so none is left to history unjudged.
      The app's system prompt beside it is not judged (it may say "never help with weapons").
    * Without one (no user message, or only blank or image-only ones), the user's text, if any, was
      rendered into another message: the turn is the text of every message the model and tools did
      not write (system, developer and other roles; tool results are left out, so an agent's later
      steps keep the same turn), joined in order.
    * With none of those either: all the prompt's text (tool results, earlier answers), so that no
      text reaches the model unjudged; an empty string if it holds none (an image only).

    ``documents=False`` leaves attached documents' words out (a profile's ``attached_documents: redact``).
    """
    # (a user message of a document alone counts as one, its words left out or not: as the wrapper reads a turn)
    if any(user_text(m).strip() for m in conversation if is_user_message(m)):
        # an image-only latest turn after answered ones is the empty turn it is
        return user_turns(conversation, documents=documents, unanswered=True)
    others = _joined([m for m in conversation if not _model_or_tool(m) and not is_tool_results(m)], documents)
    return (others or _joined(conversation, documents, results=True)), ()


def _requested_locale(metadata: Any) -> Any:
    """The locale a request's metadata names (``config={"metadata": {"locale": "en-GB"}}``), or None."""
    return metadata.get("locale") if isinstance(metadata, dict) else None


def _keepable(decision: Decision) -> bool:
    """True when judging the same prompt again would give the same decision: no detector failed, or each
    failed one is unavailable (its model or dependency is not on this machine, which a retry cannot change).
    A timeout or an error may pass, so a decision with one is judged again next time."""
    return all(f.unavailable for f in decision.failures)


class GuardrailsCallbackHandler(BaseCallbackHandler):
    """Screens LLM prompts and answers; raises GuardrailViolation to stop a call.

    **One judgment per user turn.** In an agent or tool-calling loop the model is called
    several times within one user turn (the user's message, then the model's tool call, the
    tool's result, the model again...), and each call shows the handler the same user
    turn. The handler keeps the decision on a prompt and reuses it when the same prompt comes
    again: the same user turn (see :func:`turn_of`) after the same earlier user turns (its history), in the
    same locale (the handler's ``locale=`` or the request's), or the same plain prompt for
    ``on_llm_start``. In a chat prompt without user text the turn is the text of its system
    (and other non-model, non-tool) messages (see :func:`turn_of`), so the steps of an
    agent started from a system prompt alone, which add only answers and tool results, reuse
    its decision too. For a given guard that decision depends on nothing else (the handler
    passes the guard no conversation id), so a repeat in another conversation reuses it too.

    * A kept decision that stopped the call stops a repeat too: it raises GuardrailViolation
      again, with the kept decision, whose ``text`` is empty (refusal and referral are kept).
    * The audit record and ``on_decision`` come once per judgment, not per reuse: a repeated
      prompt, an agent's later steps included, writes no second record and makes no second call;
      except that a reuse which stops the call is recorded again, marked ``"reused": true``, so
      every refused attempt is on record.
    * A decision with a detector failure that a retry could change (a timeout, an error) is
      not kept: the next call judges the prompt again. A failure of an unavailable detector
      (its model is not on this machine) is kept, as a retry gives the same decision.
    * Answers (``on_llm_end``) are judged every time: each answer is new.

    The decisions are kept in a bounded LRU map of ``cache_size`` entries (512 by default; 0
    keeps none), keyed by salted hashes and holding each decision without its text, so the
    handler keeps no user text. It is guarded by a lock: one handler can serve threads
    (``batch``) and async calls (LangChain runs this sync handler off the event loop). Two
    concurrent first calls with the same prompt may each judge it.
    """

    raise_error = True

    def __init__(
        self,
        guard: Guard,
        *,
        audit: AuditLog | None = None,
        stop_on: Action = Action.REFER,
        screen_output: bool = True,
        locale: str | None = None,
        on_decision: Callable[[Decision], None] | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if not isinstance(guard, Guard):
            raise TypeError(f"GuardrailsCallbackHandler needs a Guard, got {type(guard).__name__}")
        if audit is not None and guard.audit is not None and audit is not guard.audit:
            raise ValueError(
                "audit= was given, but the guard already writes its own audit log (its profile enables audit); "
                "pass audit= only with a guard that has none, so each decision is recorded once"
            )
        if locale is not None and not isinstance(locale, str):
            raise ValueError(f"locale must be a BCP 47 string such as 'en-GB', got {locale!r}")
        if locale is not None and locale.strip():
            from guardrails.locales import parse_locale

            try:
                parse_locale(locale)
            except ValueError as exc:  # as a profile's locale is refused at load ("en-UK": did you mean 'GB'?)
                raise ValueError(f"locale {brief(locale)} is not usable: {exc}") from None
        if on_decision is not None and not callable(on_decision):
            raise ValueError(f"on_decision must be callable, got {type(on_decision).__name__}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError(
                f"cache_size must be a whole number of entries, 0 or more (0 keeps none), got {brief(cache_size)}"
            )
        self.guard = guard
        self.audit = audit if audit is not None else (guard.audit or AuditLog())
        self.stop_on = Action.parse(stop_on)
        self.screen_output = screen_output
        self.locale = locale
        self.on_decision = on_decision
        self.cache_size = cache_size
        self._judged = _Judged(cache_size) if cache_size else None
        # on_llm_end gets no metadata: a request's locale is kept by run id until its answer is judged
        self._run_locales: LRU[UUID, object] = LRU(RUN_LOCALES_KEPT)

    def _judge(
        self,
        text: str,
        stage: Stage,
        history: Sequence[str],
        run_id: UUID | None,
        requested: Any = None,
        pieces: Sequence[str] = (),
        parts: Sequence[str] = (),
        *,
        stop: bool = True,
    ) -> None:
        """Judge one text; ``requested``: the request's own locale, if it named one; ``parts``: the user messages a
        turn of several was joined from (each remembered alone if it showed a crisis); ``stop=False``: record the
        decision, raise nothing (a call that has ended already)."""
        locale = _merged_locale(requested, self.locale)
        # answers differ, so each one is judged; a text or locale of another type is left to the guard's check,
        # which names it
        keep = stage is Stage.INPUT and isinstance(text, str) and (locale is None or isinstance(locale, str))
        judged = self._judged if keep else None
        key = judged.key(text, history, locale) if judged is not None else ""
        decision = judged.get(key) if judged is not None else None
        run = str(run_id) if run_id else None
        if decision is None:
            # a guard with its own audit log records the decision itself, with this call's run id
            ids = {"run_id": run} if run and self.guard.audit is not None else None
            # a saved referred turn keeps its crisis in force here too; a statement never makes a question prohibited
            window = in_window(history, self.guard.profile.history_window)
            earlier = crisis_in_force(window, kinds_of=self.guard.crisis_kinds)
            plain = without_markers(window)
            if earlier != plain:
                joined = self.guard.evaluate(text, stage, history=earlier, locale=locale)
                if joined.blocked and not self.guard.stopped_by_failure(joined):  # a failure says nothing of them
                    earlier = plain
            decision = self.guard.check(text, stage, history=earlier, locale=locale, pieces=pieces, audit_context=ids)
            if stage is Stage.INPUT and decision.referral is not None and isinstance(text, str):
                # a crisis in the turn's own words stays in force however the next prompt holds it
                remember_crises(self.guard, text, parts, decision, history=bool(window), locale=locale)
            if self.guard.audit is None:
                self.audit.record(decision, run_id=run)
            if self.on_decision is not None:
                self.on_decision(decision)
            if judged is not None and _keepable(decision):
                judged.put(key, decision)
        elif self._stops(decision):
            # each stopped attempt is on record, marked as a reuse: a refused request sent again is a new attempt
            self.audit.record(decision, run_id=run, reused=True)
        if stop and self._stops(decision):
            raise GuardrailViolation(decision)

    def _stops(self, decision: Decision) -> bool:
        """``stop_on`` reached, or any referral (a crisis, or a self-harm methods request referred rather than
        blocked): the model must never triage it, whatever ``stop_on`` says, and a handler cannot put the
        no-triage instruction of ``crisis_mode: refer_and_continue`` into the prompt."""
        return decision.action >= self.stop_on or decision.action is Action.REFER

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        requested = _requested_locale(kwargs.get("metadata"))
        for conversation in _conversations(messages):
            check_depth(conversation, what="the prompt")
            # every conversation is judged once: a prompt without a user message is judged on its other text
            documents = self.guard.profile.attached_documents == "judge"
            text, history = turn_of(conversation, documents=documents)
            users = [user_text(m, documents=documents) for m in conversation if is_user_message(m)]
            parts = [t for t in users if t.strip() and t != text and t in text] if "\n" in text else []
            self._judge(text, Stage.INPUT, history, run_id, requested, parts=parts)
        self._keep_locale(run_id, requested)

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any) -> None:
        requested = _requested_locale(kwargs.get("metadata"))
        for prompt in _sequence(prompts, "on_llm_start expects a list of prompt strings"):
            self._judge(prompt, Stage.INPUT, (), run_id, requested)
        self._keep_locale(run_id, requested)

    def _keep_locale(self, run_id: UUID, requested: Any) -> None:
        """Keep the locale of a call the handler let through, for its answer (``on_llm_end`` gets no metadata)."""
        if requested is not None and self.screen_output:
            self._run_locales.put(run_id, requested)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """A call that ended early (the consumer stopped reading a stream, the request was cancelled, the provider
        failed half-way): what the model had streamed until then (LangChain's ``response``) already reached the
        caller, so it is judged and recorded (audit log, ``on_decision``) as an answer is, but nothing is raised:
        the call has failed already, and its own error is the one to see."""
        requested = self._run_locales.pop(run_id)
        response = kwargs.get("response")
        if self.screen_output and isinstance(response, LLMResult):
            self._judge_answers(response, run_id, requested, stop=False)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        requested = self._run_locales.pop(run_id)
        if self.screen_output:
            self._judge_answers(response, run_id, requested, stop=True)

    def _judge_answers(self, response: LLMResult, run_id: UUID, requested: Any, *, stop: bool) -> None:
        for generations in response.generations:
            for gen in generations:
                message = getattr(gen, "message", None)
                # a chat answer is judged with its tool calls: raising here keeps an agent from running them
                # each of its slots (text, tool arguments) judged alone as well, as the wrapper does
                read = read_output(message, output_key="") if message is not None else None
                text = read.text if read is not None else gen.text
                if text.strip():
                    pieces = read.apart if read is not None else ()
                    self._judge(text, Stage.OUTPUT, (), run_id, requested, pieces, stop=stop)


def _sequence(value: object, expects: str) -> list[Any]:
    """``value``, a list LangChain passes, as a list; InputError naming its type otherwise. A str (or a message)
    iterated would be judged a character (or a field) at a time, which passes anything."""
    if isinstance(value, (str, bytes, bytearray, BaseMessage, Mapping)) or not isinstance(value, Sequence):
        raise InputError(f"{expects}, got {type(value).__name__}")
    return list(value)


def _conversations(messages: object) -> list[list[BaseMessage]]:
    """The conversations ``on_chat_model_start`` gets, each a list of messages; InputError naming what is not."""
    expects = "on_chat_model_start expects a list of conversations, each a list of messages"
    out = [_sequence(conversation, expects + "; a conversation") for conversation in _sequence(messages, expects)]
    for conversation in out:
        for message in conversation:
            if not isinstance(message, BaseMessage):
                raise InputError(f"{expects}; a conversation holds a {type(message).__name__}")
    return out


def _merged_locale(requested: Any, own: str | None) -> Any:
    """The locale a request is judged in: its own (``requested``); one that names only a language ("es") keeps the
    handler's country ("es-US" for a handler made with "en-US"), one that names only a country ("MX") the handler's
    language ("es-MX" for "es"); a blank one names none. A value of another type is left to the guard's check."""
    if not isinstance(requested, str) or own is None:
        return requested or own
    if not requested.strip():
        return own
    from guardrails.locales import parse_locale

    try:
        language, region = parse_locale(requested)
        own_language, own_region = parse_locale(own)
    except ValueError:
        return requested
    if region is None and language and own_region is not None:  # a language alone: the handler's country
        return f"{language}-{own_region}"
    if region is not None and not language and own_language:  # a country alone: the handler's language
        return f"{own_language}-{region}"
    return requested
