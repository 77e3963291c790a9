"""Detector registry: profile names to detector classes, imported lazily.

Each detector module keeps heavy imports (torch, presidio, onnxruntime) inside
functions, so importing it to validate its ``Options`` model is cheap.

A detector class provides:

* ``name`` and ``categories`` (see :class:`~guardrails.detectors.base.BaseDetector`);
* ``Options``: a pydantic model (``extra="forbid"``) of its profile options;
* ``from_options(options, *, taxonomy)``: build the detector from validated options.
"""

from __future__ import annotations

import importlib
from typing import Any

from guardrails.detectors.base import BaseDetector, DetectContext, Detector

REGISTRY: dict[str, str] = {
    "lexical": "guardrails.detectors.lexical:LexicalDetector",
    "semantic": "guardrails.detectors.semantic:SemanticDetector",
    "pii": "guardrails.detectors.pii:PIIDetector",
    "toxicity": "guardrails.detectors.toxicity:ToxicityDetector",
    "llm_judge": "guardrails.detectors.llm_judge:LLMJudgeDetector",
}


def detector_class(name: str) -> Any:
    """Return the class registered under ``name``; KeyError names the unknown detector."""
    try:
        target = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown detector {name!r}; known detectors: {known}") from None
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


__all__ = ["REGISTRY", "BaseDetector", "DetectContext", "Detector", "detector_class"]
