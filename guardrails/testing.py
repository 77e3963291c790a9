"""Helpers for your own tests: a keyword detector and a chain spy.

from guardrails.testing import KeywordDetector, guard_with
guard = guard_with(KeywordDetector({"forbidden": "weapons"}))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.guard import Guard
from guardrails.profiles import validate_profile_mapping
from guardrails.types import Finding


class KeywordDetector(BaseDetector):
    """Finds a category wherever a keyword occurs (case-insensitive); for tests."""

    name: ClassVar[str] = "keyword"

    def __init__(
        self, keywords: Mapping[str, str], *, score: float = 0.99, entities: Mapping[str, str] | None = None
    ) -> None:
        self.keywords = {k.lower(): v for k, v in keywords.items()}
        self.entities = dict(entities or {})
        self.score = score
        self.categories = tuple(sorted(set(self.keywords.values())))
        self.calls = 0

    @property
    def redacts(self) -> bool:  # type: ignore[override]
        return bool(self.entities)

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        self.calls += 1
        low = text.lower()
        out = []
        for word, cat in self.keywords.items():
            i = low.find(word)
            if i >= 0:
                out.append(Finding(self.name, cat, self.score, i, i + len(word), label=word))
        for value, entity in self.entities.items():
            start = text.find(value)
            while start >= 0:
                out.append(Finding(self.name, None, self.score, start, start + len(value), label=entity))
                start = text.find(value, start + len(value))
        return out


def guard_with(*detectors: BaseDetector, profile: Mapping[str, Any] | None = None, **kwargs: Any) -> Guard:
    """A Guard that runs exactly ``detectors`` (on input and output) under a profile mapping.

    ``profile`` defaults to the built-in ``general`` settings; its detector list is emptied
    so only the given detectors run.
    """
    data: dict[str, Any] = {"name": "test", "extends": "general", **(profile or {})}
    profile_obj = validate_profile_mapping(data).model_copy(update={"detectors": {}})
    return Guard(profile_obj, detectors={d.name: d for d in detectors}, **kwargs)
