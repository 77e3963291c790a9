"""Usage-policy guardrails for LangChain chat applications.

``import guardrails`` is cheap: torch, transformers, Presidio and spaCy load only when
a detector first needs them, and LangChain only when the adapters are used.

    from guardrails import Guard, Action
    guard = Guard.from_profile("general")
    safe_chain = guard.wrap(chain)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from guardrails.errors import (
    AuditError,
    DetectorError,
    DetectorTimeout,
    DetectorUnavailable,
    GuardrailsError,
    GuardrailsWarning,
    GuardrailViolation,
    InputError,
    ProfileError,
    TaxonomyError,
)
from guardrails.types import Action, Decision, DetectorFailure, Finding, Stage

if TYPE_CHECKING:
    from guardrails.guard import Guard
    from guardrails.integrations.langchain.callbacks import GuardrailsCallbackHandler
    from guardrails.integrations.langchain.runnable import GuardedRunnable, with_guardrails
    from guardrails.profiles import Profile, load_profile

__version__ = "0.1.0"

_LAZY = {
    "Guard": "guardrails.guard",
    "Profile": "guardrails.profiles",
    "load_profile": "guardrails.profiles",
    "GuardedRunnable": "guardrails.integrations.langchain.runnable",
    "with_guardrails": "guardrails.integrations.langchain.runnable",
    "GuardrailsCallbackHandler": "guardrails.integrations.langchain.callbacks",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'guardrails' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Action",
    "AuditError",
    "Decision",
    "DetectorError",
    "DetectorFailure",
    "DetectorTimeout",
    "DetectorUnavailable",
    "Finding",
    "Guard",
    "GuardedRunnable",
    "GuardrailViolation",
    "GuardrailsCallbackHandler",
    "GuardrailsError",
    "GuardrailsWarning",
    "InputError",
    "Profile",
    "ProfileError",
    "Stage",
    "TaxonomyError",
    "__version__",
    "load_profile",
    "with_guardrails",
]
