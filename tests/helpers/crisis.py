"""A detector that reads the earlier turns as the semantic detector joins them, for the saved crisis markers."""

from __future__ import annotations

from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.integrations.langchain.history import crisis_in_force, referred_marker
from guardrails.types import Finding


class ReadsHistory(BaseDetector):
    """Flags a question about a car as illegal activity when an earlier turn is the saved danger statement, and
    "what now" as a danger crisis then: the joins the semantic detector may make."""

    name = "reads_history"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        (statement,) = crisis_in_force([referred_marker(["crisis_danger"])])
        if statement not in ctx.history:
            return []
        if "car" in text:
            return [Finding(self.name, "illegal_activity", 0.9)]
        return [Finding(self.name, "crisis_danger", 0.9)] if "what now" in text else []
