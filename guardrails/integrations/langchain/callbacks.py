"""Callback handler for chains that can't be wrapped.

``GuardrailsCallbackHandler(guard)`` screens prompts in ``on_chat_model_start`` /
``on_llm_start`` and stops the call by raising GuardrailViolation (LangChain
re-raises it because ``raise_error = True``); it screens answers, tool calls included,
in ``on_llm_end`` and emits one audit record per decision.

What it cannot do: callbacks are observers. It cannot rewrite the prompt (so it
cannot redact PII before the model sees it), cannot replace an answer with a
refusal, referral or disclaimer, and cannot stop a streamed answer mid-way. Use
``guard.wrap(chain)`` for those; use the handler where you can only attach callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from guardrails.audit import AuditLog
from guardrails.errors import GuardrailViolation
from guardrails.guard import Guard
from guardrails.integrations.langchain.shapes import content_text, is_user_message, read_output
from guardrails.types import Action, Decision, Stage


class GuardrailsCallbackHandler(BaseCallbackHandler):
    """Screens LLM prompts and answers; raises GuardrailViolation to stop a call."""

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
        if on_decision is not None and not callable(on_decision):
            raise ValueError(f"on_decision must be callable, got {type(on_decision).__name__}")
        self.guard = guard
        self.audit = audit if audit is not None else (guard.audit or AuditLog())
        self.stop_on = Action.parse(stop_on)
        self.screen_output = screen_output
        self.locale = locale
        self.on_decision = on_decision

    def _judge(
        self, text: str, stage: Stage, history: Sequence[str], run_id: UUID | None, metadata: Any = None
    ) -> None:
        # per request: config={"metadata": {"locale": "en-GB"}} (callbacks never see config["configurable"])
        requested = metadata.get("locale") if isinstance(metadata, dict) else None
        decision = self.guard.check(text, stage, history=history, locale=requested or self.locale)
        if self.guard.audit is None:
            self.audit.record(decision, run_id=str(run_id) if run_id else None)
        if self.on_decision is not None:
            self.on_decision(decision)
        if decision.action >= self.stop_on:
            raise GuardrailViolation(decision)

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        for conversation in messages:
            users = [content_text(m.content) for m in conversation if is_user_message(m)]
            if users:
                self._judge(users[-1], Stage.INPUT, users[:-1], run_id, kwargs.get("metadata"))

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any) -> None:
        for prompt in prompts:
            self._judge(prompt, Stage.INPUT, (), run_id, kwargs.get("metadata"))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        if not self.screen_output:
            return
        for generations in response.generations:
            for gen in generations:
                message = getattr(gen, "message", None)
                # a chat answer is judged with its tool calls: raising here keeps an agent from running them
                text = read_output(message, output_key="").text if message is not None else gen.text
                if text.strip():
                    self._judge(text, Stage.OUTPUT, (), run_id, kwargs.get("metadata"))
