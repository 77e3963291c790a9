"""An audit log that keeps its records in memory, for tests that count and read them."""

from __future__ import annotations

from typing import Any

from guardrails.audit import AuditLog
from guardrails.types import Decision


class MemoryAudit(AuditLog):
    """An audit log that keeps its records in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def record(self, decision: Decision, **context: Any) -> dict[str, Any]:
        entry = super().record(decision, **context)
        self.records.append(entry)
        return entry
