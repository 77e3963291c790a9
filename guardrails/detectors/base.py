"""The Detector contract: detectors find, the policy decides.

A detector turns a text into Findings. It holds no thresholds or actions of the
policy (a detector may still drop hits below its own noise floor). Heavy models
load lazily, once, on first use or on ``warmup()``.

Sync and async share one implementation: ``adetect`` runs ``detect`` in a worker
thread, so CPU-heavy work never blocks the event loop. Detectors that batch
(embedding models, spaCy) override ``detect_batch``.

Two class flags tell the guard how to run a detector (it reads them with ``getattr``,
so a detector that does not subclass :class:`BaseDetector` may set them too):

* ``redacts``: its entity findings are redacted (PII). The guard also runs it alone on
  earlier turns, tool results and tool-call arguments.
* ``needs_redacted_text``: it sends the text off the machine (the LLM judge, a hosted
  API), so it must never see personal data. The guard runs it after the others, on the
  text redacted exactly as the decision's ``text`` is, with earlier turns redacted too
  and views computed from the redacted text. Its findings' offsets would point into
  that redacted text, so the guard drops them: such a detector finds categories. When
  a redacting detector (or the redaction) fails, it is not run at all and counts as
  failed (its ``on_error`` applies). A detector cannot set both flags.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from guardrails.types import Finding, Stage, StreamPart


@dataclass(frozen=True)
class DetectContext:
    """What a detector may know about the text besides the text itself.

    ``history`` holds earlier user turns (oldest first) for multi-turn judgement: as
    the caller gave them, except for a detector that ``needs_redacted_text``, which
    gets them redacted. ``views`` are normalized views of the text (name, text),
    raw first, computed once per check and shared by all detectors. ``cache`` is a
    per-check scratch space that detectors use to share work (one embedding of the
    text shared by the policy, crisis and domain heads, say). ``conversation_id``
    keys per-conversation state (the PII vault). ``pieces`` are parts of the text to judge
    alone as well (see ``Guard.check``): a detector that reads a text as a whole judges each
    and keeps the worst; one that finds words or entities anywhere in the text may ignore them.
    """

    stage: Stage = Stage.INPUT
    history: tuple[str, ...] = ()
    views: tuple[tuple[str, str], ...] = ()
    locale: str | None = None
    conversation_id: str | None = None
    pieces: tuple[str, ...] = ()
    #: an earlier message of the conversation judged alone (``Guard.screen_earlier``), not the request's own text:
    #: an answer there may have been written by the client rather than delivered by this guard
    earlier: bool = False
    #: a text checked while an answer is streamed (None: a whole text): where it lies in the answer (a detector that
    #: reads windows reads those the finished answer will have, ``SemanticDetector.settled_chars``) and the scratch
    #: space the stream's checks share
    stream: StreamPart | None = None
    cache: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@runtime_checkable
class Detector(Protocol):
    """What the Guard needs of a detector (plus the optional ``redacts`` and ``needs_redacted_text`` flags)."""

    @property
    def name(self) -> str: ...

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]: ...

    async def adetect(self, text: str, ctx: DetectContext) -> list[Finding]: ...

    def detect_batch(self, texts: Sequence[str], ctxs: Sequence[DetectContext]) -> list[list[Finding]]: ...

    def warmup(self) -> None: ...


class BaseDetector:
    """Convenience base: async and batch in terms of ``detect``.

    Subclasses set ``name`` and ``categories`` (the ids they may emit, checked by the
    profile loader against the taxonomy) and implement ``detect``.
    """

    name: ClassVar[str] = "base"
    #: category ids this detector may emit; () for detectors that only emit entity findings
    categories: tuple[str, ...] = ()
    #: True for detectors whose entity findings are redacted (PII): the guard also runs
    #: them alone on earlier turns, tool results and tool-call arguments
    redacts: ClassVar[bool] = False
    #: True for detectors that send the text off the machine (the LLM judge): the guard gives
    #: them only redacted text and history, after the redacting detectors ran (see the module docstring)
    needs_redacted_text: ClassVar[bool] = False
    #: reports the language of non-English text (a ``language:<code>`` finding), so ``unsupported_language: block``
    #: can act on it (the semantic detector does)
    detects_language: ClassVar[bool] = False

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        raise NotImplementedError

    async def adetect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return await asyncio.to_thread(self.detect, text, ctx)

    def detect_batch(self, texts: Sequence[str], ctxs: Sequence[DetectContext]) -> list[list[Finding]]:
        if len(texts) != len(ctxs):
            raise ValueError(f"detect_batch got {len(texts)} texts but {len(ctxs)} contexts")
        return [self.detect(t, c) for t, c in zip(texts, ctxs, strict=True)]

    def warmup(self) -> None:
        """Load models now instead of on the first call (no-op by default)."""

    def describe(self) -> Mapping[str, Any]:
        """A JSON-safe description for `guardrails profiles show` and audits."""
        return {"name": self.name, "categories": list(self.categories)}
