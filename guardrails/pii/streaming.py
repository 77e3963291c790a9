"""A small stream-safe redactor: PII split across chunks never reaches the caller.

``StreamRedactor`` accumulates the streamed text, re-detects PII on a bounded window of
it at each chunk, and releases only the prefix that can no longer change: everything but
the last ``holdback`` characters, moved back so the cut never falls inside a detected
entity or a word. The released prefix is redacted with the same
:class:`~guardrails.redaction.Redactor` and conversation numbering as a non-streamed
redaction, so the concatenated output equals ``redactor.redact(full_text, ...)``.

It holds back at most ``holdback`` characters plus the rest of an entity or word that
straddles the cut. The lead's stream plumbing (guardrails/streaming.py) does the same job
for the LangChain wrapper; this helper is the reference used by the exhaustive split tests.
"""

from __future__ import annotations

import uuid

from guardrails.detectors.base import DetectContext, Detector
from guardrails.redaction import Redactor
from guardrails.types import Finding, Stage

__all__ = ["StreamRedactor"]


class StreamRedactor:
    """Redacts a stream of text chunks; ``feed`` returns what may be released now, ``flush`` the rest."""

    def __init__(
        self,
        *,
        detector: Detector,
        redactor: Redactor,
        stage: Stage = Stage.OUTPUT,
        conversation_id: str | None = None,
        holdback: int = 96,
        window: int = 2_000,
    ) -> None:
        if holdback < 1 or window <= holdback:
            raise ValueError(f"need holdback >= 1 and window > holdback (got holdback={holdback!r}, window={window!r})")
        self.detector = detector
        self.redactor = redactor
        self.stage = Stage.parse(stage)
        # placeholders must be numbered across segments: use the conversation, or a private one
        self.conversation_id = conversation_id or f"stream-{uuid.uuid4().hex}"
        self.holdback = holdback
        self.window = window
        self._text = ""  # unreleased text plus up to `window` chars of released context before it
        self._released = 0  # offset in self._text of the first unreleased character

    def feed(self, chunk: str) -> str:
        """Add a chunk; return the redacted text that is safe to release now (may be empty)."""
        if not chunk:
            return ""
        self._text += chunk
        cut = len(self._text) - self.holdback
        if cut <= self._released:
            return ""
        findings = self._detect()
        while True:  # never cut inside an entity or a word; repeat until both hold
            new = cut
            for f in findings:
                if f.start is not None and f.end is not None and f.start < new < f.end:
                    new = f.start
            while new > self._released and not self._text[new - 1].isspace():
                new -= 1
            if new == cut:
                break
            cut = new
        if cut <= self._released:
            return ""
        out = self._redact_segment(self._released, cut, findings)
        self._released = cut
        self._trim()
        return out

    def flush(self) -> str:
        """Release (redacted) everything still held back."""
        if self._released >= len(self._text):
            return ""
        findings = self._detect()
        out = self._redact_segment(self._released, len(self._text), findings)
        self._released = len(self._text)
        self._trim()
        return out

    def _detect(self) -> list[Finding]:
        ctx = DetectContext(stage=self.stage, conversation_id=self.conversation_id)
        return self.detector.detect(self._text, ctx)

    def _redact_segment(self, start: int, end: int, findings: list[Finding]) -> str:
        inside = [
            Finding(f.detector, f.category, f.score, f.start - start, f.end - start, f.label, f.view)
            for f in findings
            if f.start is not None and f.end is not None and start <= f.start and f.end <= end
        ]
        segment = self._text[start:end]
        return self.redactor.redact(segment, inside, stage=self.stage, conversation_id=self.conversation_id).text

    def _trim(self) -> None:
        excess = self._released - self.window
        if excess > 0:
            # keep `window` chars of released text as left context for detection
            cut = excess
            while cut < self._released and not self._text[cut - 1].isspace():
                cut += 1
            self._text = self._text[cut:]
            self._released -= cut
