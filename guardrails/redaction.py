"""Redaction of PII entity findings, per entity and stage, optionally reversible per conversation.

Operators, chosen per entity in the profile's ``redaction:`` block:

* ``replace``: a typed placeholder ``<PERSON_1>``; the same value gets the same placeholder
  within a text and, with a conversation id, within the conversation (the default);
* ``mask``: keep the last ``keep_last`` (and first ``keep_first``) letters/digits, mask the
  others with ``mask_char``, keep separators (``**** **** **** 1111``); fewer than half of a
  value's letters/digits ever stay visible (``keep_last: 4`` shows ``*** **ith`` of "Bob Smith");
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
      vault: {max_conversations: 10000, max_entries: 500, max_total_entries: 100000,
              max_new_entries_per_request: 100, ttl_seconds: 3600}

In reversible mode the model sees placeholders, and :meth:`Redactor.restore` puts back the
values the user gave in that conversation (never a value the model produced, a tool returned
or a document held, never another conversation's), through the output stage's operator of
the entity (``mask`` masks the restored value; ``block`` keeps the placeholder). Values live
only in the in-memory :class:`~guardrails.pii.vault.Vault`; without reversible mode it keeps
no values, only salted hashes for stable numbering. Nothing here logs them.

A caller that redacts several texts of one request (an adapter: the user's turn, the history,
tool results) numbers them alike by passing one :class:`Numbering`, or by redacting them
within :func:`redaction_scope`, which also says whether their values are the user's own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guardrails.normalize import INVISIBLE_CHARS
from guardrails.pii.spans import resolve_nested
from guardrails.pii.vault import Vault
from guardrails.types import Finding, Stage

__all__ = [
    "Numbering",
    "OperatorSpec",
    "RedactionConfig",
    "RedactionResult",
    "Redactor",
    "VaultSettings",
    "redaction_scope",
    "scope_restorable",
]

OperatorName = Literal["replace", "mask", "hash", "redact", "block"]
_ENTITY_KEY = re.compile(r"^(?:default|[A-Z][A-Z0-9_]{1,63})$")
#: a complete placeholder made by this module
PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)_(\d{1,9})>")
_PARTIAL_PLACEHOLDER = re.compile(r"<(?:[A-Z][A-Z0-9_]*(?::[0-9a-f]*)?)?$")
_MAX_PLACEHOLDER = 80
#: a placeholder number found in a text seeds the numbering only up to this (a typed "<PERSON_999999999>" must
#: not push the next numbers past what PLACEHOLDER matches)
_MAX_SEED = 100_000
#: hex characters of the value hash that key the vault (128 bits)
_VAULT_KEY_CHARS = 32
#: invisible characters a value may carry (soft hyphen, zero-width space / non-joiner / joiner, word joiner,
#: invisible operators, BOM, Mongolian vowel separator): the same value with or without them is one value
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")
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
    """Bounds of the per-conversation vault (clients choose conversation ids: every bound counts).

    ``max_entries`` per conversation, ``max_total_entries`` across all of them (least recently used
    conversations are evicted whole), ``max_conversations``, ``ttl_seconds`` after a conversation's
    last use. ``max_new_entries_per_request``: the values one request (a guarded turn, or one
    redaction with no turn around it) may add; the values past it are still replaced, but with
    numbers the vault does not keep (not restorable, not numbered alike on later turns).
    """

    max_conversations: int = Field(default=10_000, ge=1, le=10_000_000)
    max_entries: int = Field(default=500, ge=1, le=1_000_000)
    max_total_entries: int = Field(default=100_000, ge=1, le=100_000_000)
    max_new_entries_per_request: int = Field(default=100, ge=0, le=1_000_000)
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
    def _operators(cls, v: object) -> dict[str, object]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError(f"expected a mapping of entity type to operator, got {v!r}")
        out: dict[str, object] = {}
        for key, value in v.items():
            if not isinstance(key, str) or not _ENTITY_KEY.match(key):
                raise ValueError(f"entity key {key!r} must be 'default' or an UPPER_SNAKE_CASE entity type")
            if isinstance(value, str) and value not in ("replace", "mask", "hash", "redact", "block"):
                raise ValueError(f"unknown operator {value!r} for {key}; expected replace, mask, hash, redact or block")
            # a name becomes its spec here; a mapping is validated as the field's own value, so an error in it is
            # located under its entity (redaction.input.US_SSN.keep_last)
            out[key] = _spec(value) if isinstance(value, (str, OperatorSpec)) else value  # type: ignore[arg-type]
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
    """The placeholder numbers of one request, shared by its redactions (a turn: its input, history,
    tool results and answer pieces).

    With no conversation id it holds the numbers themselves (``placeholders``, ``counts``). With
    one, the conversation's vault does, and this holds only the request's count of new vault
    entries and the numbers given to the values past ``max_new_entries_per_request``
    (``reserved``). Not thread-safe: one request redacts in turn.
    """

    placeholders: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    new_entries: int = 0
    reserved: dict[tuple[str, str], str] = field(default_factory=dict)
    #: the vault's epoch of the conversation when this request first numbered a value in it (see
    #: ``Vault.lookup``): its answer restores only that life's values
    epoch: int | None = None

    def bump(self, label: str, number: int) -> None:
        """Make the next number given for ``label`` greater than ``number``."""
        if number > self.counts.get(label, 0):
            self.counts[label] = number


@dataclass(frozen=True)
class _Scope:
    numbering: Numbering
    restorable: bool
    provisional: bool


_SCOPE: ContextVar[_Scope | None] = ContextVar("guardrails_redaction_scope", default=None)


@contextmanager
def redaction_scope(numbering: Numbering, *, restorable: bool = True, provisional: bool = False) -> Iterator[None]:
    """Within this block (this thread or task, and what it starts), redactions given no ``numbering`` use
    ``numbering``, and those given no ``restorable`` use ``restorable``.

    For callers that redact through code they do not control (``Guard.redact``, ``Guard.check``).
    ``restorable=False``: the values are not the user's own (tool results, earlier answers,
    documents), so reversible mode never shows them in an answer. ``provisional=True``: the
    redactions number values as the vault and ``numbering`` would, but change neither (a check whose
    placeholders only a judge sees, made before the request's texts are numbered in order).
    """
    token = _SCOPE.set(_Scope(numbering=numbering, restorable=restorable, provisional=provisional))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def scope_restorable(default: bool) -> bool:
    """The ``restorable`` of the enclosing :func:`redaction_scope`, or ``default`` outside any."""
    scope = _SCOPE.get()
    return default if scope is None else scope.restorable


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
        self.vault = Vault(
            max_conversations=v.max_conversations,
            max_entries=v.max_entries,
            max_total_entries=v.max_total_entries,
            ttl_seconds=v.ttl_seconds,
        )

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
        restorable: bool | None = None,
    ) -> RedactionResult:
        """Apply the operators to the PII entity findings of ``text``.

        Only findings with a span and a label count; overlapping spans are resolved first
        (a containing span wins, then the higher score, then the longer span), except that a
        finding of another entity inside a span, at least as strong, keeps its own operator when
        it differs from the container's (:func:`_layout`); an entity whose operator is ``block``
        blocks wherever it lies. Without a
        conversation id, placeholders are numbered within this call, or within ``numbering``
        when given (so that the pieces of one answer number alike). ``restorable`` (default
        True): whether the values are the user's own, kept for :meth:`restore` in reversible
        mode; only input-stage values ever are. :func:`redaction_scope` supplies both when omitted.
        """
        stage = Stage.parse(stage)
        scope = _SCOPE.get()
        nested = resolve_nested(
            f
            for f in findings
            if f.start is not None and f.end is not None and f.label and 0 <= f.start < f.end <= len(text)
        )
        if numbering is None:
            numbering = scope.numbering if scope is not None else Numbering()
        provisional = scope is not None and scope.provisional
        if "<" in text and PLACEHOLDER.search(text):
            # a placeholder the text already holds (typed by the user, or from an earlier answer) is never given to
            # a new value of it: new values are numbered after it (a provisional redaction changes no vault)
            self.seed(text, conversation_id=None if provisional else conversation_id, numbering=numbering)
        if not nested:
            return RedactionResult(text=text, blocked_entities=(), replaced=0)
        spans, blocked = _layout(text, nested, lambda label: self.config.operator_for(stage, label))
        if restorable is None:
            restorable = scope.restorable if scope is not None else True
        keep = restorable and self.config.reversible and stage is Stage.INPUT
        parts: list[str] = []
        pos = 0
        for f, spec in spans:
            assert f.start is not None and f.end is not None and f.label is not None
            value = text[f.start : f.end]
            parts.append(text[pos : f.start])
            if spec.operator == "block":
                parts.append(
                    self._placeholder(f.label, value, conversation_id, numbering, keep=False, provisional=provisional)
                )
            elif spec.operator == "replace":
                parts.append(
                    self._placeholder(f.label, value, conversation_id, numbering, keep=keep, provisional=provisional)
                )
            elif spec.operator == "mask":
                parts.append(_mask(value, spec))
            elif spec.operator == "hash":
                parts.append(self._hashed(f.label, value, spec))
            # "redact": nothing
            pos = f.end
        parts.append(text[pos:])
        return RedactionResult(text="".join(parts), blocked_entities=tuple(blocked), replaced=len(spans))

    def seed(self, text: str, *, conversation_id: str | None, numbering: Numbering) -> None:
        """Number new values after the placeholders already in ``text`` (an earlier turn or answer of the
        history, which a vault that forgot the conversation no longer knows), so no new value takes the
        placeholder of another. :meth:`redact` does this for the text it redacts; a caller redacting a history
        in order calls it for each text first, as a text with nothing to redact may hold placeholders too."""
        for m in PLACEHOLDER.finditer(text):
            label, number = m.group(1), int(m.group(2))
            if number > _MAX_SEED:
                continue
            if conversation_id:
                self.vault.seed(conversation_id, label, number)
            else:
                numbering.bump(label, number)

    def restore(self, text: str, *, conversation_id: str | None, epoch: int | None = None) -> str:
        """Put the user's own values of that conversation back in place of placeholders (reversible mode only),
        each through the output stage's operator of its entity, as a value the model wrote would be.

        ``replace`` shows the value; ``mask`` and ``hash`` show it masked or hashed; ``redact``
        removes the placeholder; ``block`` keeps the placeholder (the value must not reach an
        answer; the model named it only by its placeholder, so the answer is not refused).
        Unknown placeholders, placeholders of values that are not the user's own, and everything
        when the mode is not reversible or there is no conversation id, stay as they are. ``epoch``
        (``Numbering.epoch`` of the request): placeholders of another life of the conversation stay too.
        """
        if not self.config.reversible or not conversation_id or "<" not in text:
            return text

        def swap(m: re.Match[str]) -> str:
            value = self.vault.lookup(conversation_id, m.group(0), epoch=epoch)
            if value is None:
                return m.group(0)
            label = m.group(1)
            spec = self.config.operator_for(Stage.OUTPUT, label)
            if spec.operator == "replace":
                return value
            if spec.operator == "mask":
                return _mask(value, spec)
            if spec.operator == "hash":
                return self._hashed(label, value, spec)
            if spec.operator == "redact":
                return ""
            return m.group(0)  # block

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
        numbering: Numbering,
        *,
        keep: bool,
        provisional: bool,
    ) -> str:
        key = self._digest(label, value)
        if conversation_id and not provisional:
            placeholder = numbering.reserved.get((label, key))
            if placeholder is not None:
                return placeholder
            allowed = numbering.new_entries < self.config.vault.max_new_entries_per_request
            placeholder, how, epoch = self.vault.assign(
                conversation_id, label, key[:_VAULT_KEY_CHARS], value, restorable=keep, create=allowed
            )
            if numbering.epoch is None:
                numbering.epoch = epoch
            if how == "stored":
                numbering.new_entries += 1
            elif how == "reserved":
                numbering.reserved[(label, key)] = placeholder
            return placeholder
        local = numbering.placeholders.get((label, key))
        if local is not None:
            return local
        last = numbering.counts.get(label, 0)
        if conversation_id:  # provisional: the vault's placeholder if it has one, else the number it would give
            known, given = self.vault.peek(conversation_id, label, key[:_VAULT_KEY_CHARS])
            if known is not None:
                numbering.placeholders[(label, key)] = known
                return known
            last = max(last, given)
        numbering.counts[label] = last + 1
        placeholder = numbering.placeholders[(label, key)] = f"<{label}_{last + 1}>"
        return placeholder

    def _hashed(self, label: str, value: str, spec: OperatorSpec) -> str:
        return f"<{label}:{self._digest(label, value)[: spec.hash_chars]}>"

    def _digest(self, label: str, value: str) -> str:
        # "jane\u200b@example.com" is "jane@example.com": invisible characters change no placeholder
        norm = unicodedata.normalize("NFKC", _INVISIBLE.sub("", value)).strip().casefold()
        if label in _COMPACT:
            norm = re.sub(r"[\s\-.()/]", "", norm)
        else:
            norm = " ".join(norm.split())
        return hmac.new(self._salt, f"{label}\x00{norm}".encode(), hashlib.sha256).hexdigest()


def _layout(
    text: str, nested: Sequence[Finding], operator: Callable[[str], OperatorSpec]
) -> tuple[list[tuple[Finding, OperatorSpec]], list[str]]:
    """The spans to change, sorted and disjoint, each with its operator, and the blocked entities, from
    :func:`~guardrails.pii.spans.resolve_nested`'s findings (a container before what it contains).

    A finding inside another (a stronger one of another label) is changed with its container when
    their operators are the same: one placeholder, and nothing is treated otherwise than asked. When
    they differ, the inner finding keeps its own operator (a masked card inside an address span stays
    masked, an SSN stays an SSN) and the container is changed in its pieces around it, each trimmed of
    blanks and commas (a piece with no letter or digit stays as it is). Every entity whose operator is
    ``block`` blocks, contained or not.
    """
    blocked: list[str] = []
    owners: list[tuple[Finding, OperatorSpec]] = []  # findings changed by their own operator
    holes: dict[int, list[tuple[int, int]]] = {}  # owner index -> spans inside it changed by their own operator
    open_: list[tuple[int, int]] = []  # containers around the current finding: (end, owner index)
    for f in nested:
        assert f.start is not None and f.end is not None and f.label is not None
        while open_ and open_[-1][0] <= f.start:
            open_.pop()
        spec = operator(f.label)
        if spec.operator == "block" and f.label not in blocked:
            blocked.append(f.label)
        if open_:
            owner = open_[-1][1]
            if owners[owner][1] == spec:
                open_.append((f.end, owner))  # changed with its container
                continue
            holes.setdefault(owner, []).append((f.start, f.end))
        open_.append((f.end, len(owners)))
        owners.append((f, spec))
    out: list[tuple[Finding, OperatorSpec]] = []
    for i, (f, spec) in enumerate(owners):
        assert f.start is not None and f.end is not None
        if i not in holes:
            out.append((f, spec))
            continue
        cuts = [f.start, *(p for hole in holes[i] for p in hole), f.end]
        for s, e in zip(cuts[::2], cuts[1::2], strict=True):
            piece = text[s:e]
            value = piece.strip(_PIECE_TRIM)
            if any(ch.isalnum() for ch in value):
                s += piece.index(value)
                out.append((dataclasses.replace(f, start=s, end=s + len(value)), spec))
    out.sort(key=lambda pair: pair[0].start or 0)
    return out, blocked


#: what a piece of a container cut around a finding inside it is trimmed of
_PIECE_TRIM = " \t\r\n,;:"


def _mask(value: str, spec: OperatorSpec) -> str:
    """``value`` with its letters/digits masked but the first ``keep_first`` and last ``keep_last``, and always
    fewer than half of them visible (the last ones first): "Bob Smith" -> "*** **ith", "Alice" -> "***ce"."""
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    budget = max(0, (len(positions) - 1) // 2)
    last = min(spec.keep_last, budget)
    first = min(spec.keep_first, budget - last)
    keep = set(positions[:first]) | set(positions[len(positions) - last :] if last else [])
    return "".join(spec.mask_char if (ch.isalnum() and i not in keep) else ch for i, ch in enumerate(value))
