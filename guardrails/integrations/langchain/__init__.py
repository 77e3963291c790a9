"""LangChain adapters: the only modules that import langchain_core."""

from __future__ import annotations

from guardrails.integrations.langchain.callbacks import GuardrailsCallbackHandler
from guardrails.integrations.langchain.runnable import GuardedRunnable, with_guardrails

__all__ = ["GuardedRunnable", "GuardrailsCallbackHandler", "with_guardrails"]
