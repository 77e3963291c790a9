"""Redaction of PII entity findings, per entity and stage, optionally reversible per conversation.

Operators, chosen per entity in the profile's ``redaction:`` block:

* ``replace``: a typed placeholder ``<PERSON_1>``; the same value gets the same placeholder
  within a text and, with a conversation id, within the conversation (the default);
* ``mask``: keep the last ``keep_last`` (and first ``keep_first``) letters/digits, mask the
  others with ``mask_char``, keep separators (``**** **** **** 1111``);
* ``hash``: ``<EMAIL_ADDRESS:9f2c1a0b4d3e5f67>``, an HMAC-SHA256 of the normalised value with
  the redactor's salt (stable across turns and, with a fixed salt, across processes);
* ``redact``: remove the value;
* ``block``: refuse the turn (the entity is reported in ``blocked_entities``; the value is
  still replaced by a placeholder so the text never carries it).

Profile example::

    redaction:
      reversible: true          # answers show the user's own values again
      input:
        default: replace
        CREDIT_CARD: {operator: mask, keep_last: 4}
        US_SSN: block
      output:
        default: replace
      vault: {max_conversations: 10000, max_entries: 1000, ttl_seconds: 3600}

In reversible mode the model sees placeholders, and :meth:`Redactor.restore` puts back the
values the user gave in that conversation (never a value the model produced, never another
conversation's). Values live only in the in-memory :class:`~guardrails.pii.vault.Vault`;
nothing here logs them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guardrails.pii.spans import resolve_overlaps
from guardrails.pii.vault import Vault
from guardrails.types import Finding, Stage

__all__ = ["OperatorSpec", "RedactionConfig", "RedactionResult", "Redactor", "VaultSettings"]

OperatorName = Literal["replace", "mask", "hash", "redact", "block"]
_ENTITY_KEY = re.compile(r"^(?:default|[A-Z][A-Z0-9_]{1,63})$")
#: a complete placeholder made by this module
PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d{1,9})>")
_PARTIAL_PLACEHOLDER = re.compile(r"<(?:[A-Z][A-Z0-9_]*(?::[0-9a-f]*)?)?$")
_MAX_PLACEHOLDER = 80
#: entities whose values are compared without separators and case ("4111 1111" == "4111-1111")
_COMPACT = frozenset({"CREDIT_CARD", "PHONE_NUMBER", "US_SSN", "IBAN_CODE", "US_BANK_NUMBER", "US_ITIN", "US_PASSPORT"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OperatorSpec(_Strict):
    """One operator with its parameters."""

    operator: OperatorName = "replace"
    mask_char: str = Field(default="*", min_length=1, max_length=1)
    keep_last: int = Field(default=4, ge=0, le=64)
    keep_first: int = Field(default=0, ge=0, le=64)
    hash_chars: int = Field(default=16, ge=8, le=64)


def _spec(value: OperatorName | OperatorSpec | dict[str, object]) -> OperatorSpec:
    if isinstance(value, OperatorSpec):
        return value
    if isinstance(value, str):
        return OperatorSpec(operator=value)
    return OperatorSpec.model_validate(value)


class VaultSettings(_Strict):
    """Bounds of the per-conversation vault."""

    max_conversations: int = Field(default=10_000, ge=1, le=10_000_000)
    max_entries: int = Field(default=1_000, ge=1, le=1_000_000)
    ttl_seconds: float = Field(default=3_600.0, gt=0, le=30 * 24 * 3_600)


class RedactionConfig(_Strict):
    """The profile's ``redaction:`` block (validated; unknown keys are errors).

    ``input`` / ``output`` map an entity type (or ``default``) to an operator name or an
    operator mapping. Defaults: ``replace`` on both stages.
    """

    reversible: bool = False
    input: dict[str, OperatorSpec] = Field(default_factory=dict)
    output: dict[str, OperatorSpec] = Field(default_factory=dict)
    vault: VaultSettings = VaultSettings()

    @field_validator("input", "output", mode="before")
    @classmethod
    def _operators(cls, v: object) -> dict[str, OperatorSpec]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError(f"expected a mapping of entity type to operator, got {v!r}")
        out: dict[str, OperatorSpec] = {}
        for key, value in v.items():
            if not isinstance(key, str) or not _ENTITY_KEY.match(key):
                raise ValueError(f"entity key {key!r} must be 'default' or an UPPER_SNAKE_CASE entity type")
            if isinstance(value, str) and value not in ("replace", "mask", "hash", "redact", "block"):
                raise ValueError(f"unknown operator {value!r} for {key}; expected replace, mask, hash, redact or block")
            out[key] = _spec(value)  # type: ignore[arg-type]
        return out

    def operator_for(self, stage: Stage, entity: str) -> OperatorSpec:
        """The operator for an entity on a stage (entity entry, else the stage's default, else replace)."""
        table = self.input if stage is Stage.INPUT else self.output
        return table.get(entity) or table.get("default") or _REPLACE


_REPLACE = OperatorSpec()


@dataclass(frozen=True)
class RedactionResult:
    """The redacted text, the entity types whose operator is ``block``, and how many values changed."""

    text: str
    blocked_entities: tuple[str, ...]
    replaced: int


@dataclass
class Numbering:
    """Placeholder numbers shared by several redactions with no conversation id (one answer's pieces)."""

    placeholders: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class Redactor:
    """Applies the profile's operators to PII findings; holds the conversation vault.

    Thread-safe: the only shared state is the vault, which locks. ``salt`` keys the value
    hashes (vault keys and the ``hash`` operator); without one a random per-process salt is
    used, so hashes are stable within the process only.
    """

    def __init__(self, *, config: RedactionConfig, salt: bytes | None = None) -> None:
        if not isinstance(config, RedactionConfig):
            raise TypeError(f"config must be a RedactionConfig, got {type(config).__name__}")
        self.config = config
        self._salt = salt if salt else os.urandom(32)
        v = config.vault
        self.vault = Vault(max_conversations=v.max_conversations, max_entries=v.max_entries, ttl_seconds=v.ttl_seconds)

    def __repr__(self) -> str:
        return f"Redactor(reversible={self.config.reversible}, vault={self.vault!r})"

    def redact(
        self,
        text: str,
        findings: Sequence[Finding],
        *,
        stage: Stage,
        conversation_id: str | None,
        numbering: Numbering | None = None,
    ) -> RedactionResult:
        """Apply the operators to the PII entity findings of ``text``.

        Only findings with a span and a label count; overlapping spans are resolved first
        (a containing span wins, then the higher score, then the longer span). Without a
        conversation id, placeholders are numbered within this call, or within ``numbering``
        when given (so that the pieces of one streamed answer number alike).
        """
        stage = Stage.parse(stage)
        spans = resolve_overlaps(
            f
            for f in findings
            if f.start is not None and f.end is not None and f.label and 0 <= f.start < f.end <= len(text)
        )
        if not spans:
            return RedactionResult(text=text, blocked_entities=(), replaced=0)
        scope = numbering if numbering is not None else Numbering()
        local, local_counts = scope.placeholders, scope.counts
        blocked: list[str] = []
        parts: list[str] = []
        pos = 0
        restorable = self.config.reversible and stage is Stage.INPUT
        for f in spans:
            assert f.start is not None and f.end is not None and f.label is not None
            value = text[f.start : f.end]
            spec = self.config.operator_for(stage, f.label)
            parts.append(text[pos : f.start])
            if spec.operator == "block":
                if f.label not in blocked:
                    blocked.append(f.label)
                parts.append(self._placeholder(f.label, value, conversation_id, local, local_counts, restorable=False))
            elif spec.operator == "replace":
                parts.append(
                    self._placeholder(f.label, value, conversation_id, local, local_counts, restorable=restorable)
                )
            elif spec.operator == "mask":
                parts.append(_mask(value, spec))
            elif spec.operator == "hash":
                parts.append(f"<{f.label}:{self._digest(f.label, value)[: spec.hash_chars]}>")
            # "redact": nothing
            pos = f.end
        parts.append(text[pos:])
        return RedactionResult(text="".join(parts), blocked_entities=tuple(blocked), replaced=len(spans))

    def restore(self, text: str, *, conversation_id: str | None) -> str:
        """Replace placeholders by the user's own values of that conversation (reversible mode only).

        Unknown placeholders, placeholders of values the model produced, and everything
        when the mode is not reversible or there is no conversation id, stay as they are.
        """
        if not self.config.reversible or not conversation_id or "<" not in text:
            return text

        def swap(m: re.Match[str]) -> str:
            value = self.vault.lookup(conversation_id, m.group(0))
            return m.group(0) if value is None else value

        return PLACEHOLDER.sub(swap, text)

    def placeholder_prefix_len(self, text: str) -> int:
        """Length of a trailing incomplete placeholder ("<", "<PERS", "<PERSON_", "<PERSON_1"), else 0.

        A streamer holds these characters back until the placeholder is complete (or
        turns out not to be one).
        """
        idx = text.rfind("<", max(0, len(text) - _MAX_PLACEHOLDER))
        if idx < 0:
            return 0
        tail = text[idx:]
        if _PARTIAL_PLACEHOLDER.match(tail) or re.fullmatch(r"<[A-Z][A-Z0-9_]*_\d{0,9}", tail):
            return len(tail)
        return 0

    def forget(self, conversation_id: str) -> None:
        """Drop a conversation's vault entries (e.g. when the user ends it)."""
        self.vault.forget(conversation_id)

    # -- internals

    def _placeholder(
        self,
        label: str,
        value: str,
        conversation_id: str | None,
        local: dict[tuple[str, str], str],
        local_counts: dict[str, int],
        *,
        restorable: bool,
    ) -> str:
        key = self._digest(label, value)
        if conversation_id:
            return self.vault.placeholder(conversation_id, label, key, value, restorable=restorable)
        found = local.get((label, key))
        if found is None:
            n = local_counts.get(label, 0) + 1
            local_counts[label] = n
            found = local[(label, key)] = f"<{label}_{n}>"
        return found

    def _digest(self, label: str, value: str) -> str:
        norm = unicodedata.normalize("NFKC", value).strip().casefold()
        if label in _COMPACT:
            norm = re.sub(r"[\s\-.()/]", "", norm)
        else:
            norm = " ".join(norm.split())
        return hmac.new(self._salt, f"{label}\x00{norm}".encode(), hashlib.sha256).hexdigest()


def _mask(value: str, spec: OperatorSpec) -> str:
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = set(positions[: spec.keep_first]) | set(
        positions[len(positions) - spec.keep_last :] if spec.keep_last else []
    )
    if len(keep) >= len(positions):  # too short to keep anything visible
        keep = set()
    return "".join(spec.mask_char if (ch.isalnum() and i not in keep) else ch for i, ch in enumerate(value))
