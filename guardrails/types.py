"""Core value types: Action, Stage, Finding, Decision, StreamPart.

Plain frozen dataclasses and enums with no heavy imports. A verdict is a value,
never an exception; only the adapters raise (``GuardrailViolation``).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

from guardrails.errors import brief


class Action(IntEnum):
    """What the guard does with a turn, ordered by severity (the most severe wins)."""

    ALLOW = 0
    DISCLAIM = 1
    REDACT = 2
    REFER = 3
    BLOCK = 4

    @classmethod
    def parse(cls, value: str | Action) -> Action:
        """Return the action named ``value`` (case-insensitive)."""
        if isinstance(value, Action):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            names = ", ".join(a.name.lower() for a in cls)
            raise ValueError(f"unknown action {value!r}; expected one of: {names}") from None

    def __str__(self) -> str:
        return self.name.lower()


class Stage(str, Enum):
    """Which side of the model a text comes from."""

    INPUT = "input"
    OUTPUT = "output"

    @classmethod
    def parse(cls, value: str | Stage) -> Stage:
        """Return the stage named ``value``; raise ValueError naming the bad value."""
        if isinstance(value, Stage):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(f"unknown stage {value!r}; expected 'input' or 'output'") from None

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class StreamPart:
    """A text checked while an answer is streamed: where it lies in the answer, and what the checks of one stream
    share.

    ``partial``: the answer goes on after the text. ``head``: the answer's text before it, when the check reads only
    the answer's last characters (``streaming.window_chars``); a detector that reads windows (the semantic and the
    toxicity detectors) reads the whole answer so far, ``head`` and text, and others the text alone. ``memo`` is
    scratch space the checks of one stream share, dropped with the stream: the semantic detector keeps there the
    vectors of the windows it embedded and the toxicity detector the scores of the windows it scored, keyed by
    salted hashes, so a check reads only the windows new text brings. Never shown: its repr names no text.
    """

    partial: bool = False
    head: str = ""
    memo: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.partial, bool):
            raise TypeError(f"StreamPart.partial must be a bool, got {self.partial!r}")
        if not isinstance(self.head, str):
            raise TypeError(f"StreamPart.head must be a str, got {type(self.head).__name__}")
        if not isinstance(self.memo, dict):
            raise TypeError(f"StreamPart.memo must be a dict, got {type(self.memo).__name__}")

    def __repr__(self) -> str:
        return f"StreamPart(partial={self.partial}, head={len(self.head)} characters)"


#: the label prefix of a finding that a passage of a long answer shows a domain category the answer as a whole is not
#: about (the semantic detector's highest window; the whole answer's score is the category's plain finding): a domain
#: disclaimer follows the answer's subject, a profile that blocks or refers a domain acts on any passage of it
PASSAGE_LABEL = "passage:"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a detector found.

    ``category`` is a taxonomy id (or a profile's custom category id), or ``None``
    for findings that carry no policy category of their own (a PII entity, an
    informational score). ``label`` is the detector's own label: the PII entity type,
    the toxicity label, the lexical pattern id. ``start``/``end`` are offsets into the
    checked text when the finding has a span there, else ``None``. ``view`` names the
    normalized view the finding came from (``raw`` for the text as given).
    """

    detector: str
    category: str | None
    score: float
    start: int | None = None
    end: int | None = None
    label: str | None = None
    view: str = "raw"

    def __post_init__(self) -> None:
        # a number (a str "0.99" compares with no threshold); NaN is not within [0, 1]
        if isinstance(self.score, bool) or not isinstance(self.score, numbers.Real) or not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Finding.score must be a number within [0, 1], got {brief(self.score)}")
        if (self.start is None) != (self.end is None):
            raise ValueError("Finding.start and Finding.end must both be set or both be None")
        if self.start is not None and self.end is not None and not 0 <= self.start <= self.end:
            raise ValueError(f"Finding span ({self.start}, {self.end}) is not a valid span")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ids, scores and offsets only."""
        out: dict[str, Any] = {
            "detector": self.detector,
            "category": self.category,
            "score": round(float(self.score), 4),
        }
        if self.label is not None:
            out["label"] = self.label
        if self.start is not None:
            out["start"], out["end"] = self.start, self.end
        if self.view != "raw":
            out["view"] = self.view
        return out


@dataclass(frozen=True, slots=True)
class DetectorFailure:
    """A detector that failed or was unavailable during a check (no raw text inside)."""

    detector: str
    error: str
    message: str
    unavailable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "error": self.error,
            "message": self.message,
            "unavailable": self.unavailable,
        }


@dataclass(frozen=True)
class Decision:
    """The outcome of one check: one value per text and stage.

    ``text`` is the text after redaction (equal to the input when nothing changed).
    ``to_dict()`` never contains it: only ids, categories, scores, offsets and a
    salted hash of the original text.
    """

    action: Action
    stage: Stage
    text: str = field(repr=False)  # repr(decision) may end up in a log line: it never shows the text
    findings: tuple[Finding, ...] = ()
    categories: tuple[str, ...] = ()
    referral: str | None = None
    refusal: str | None = None
    disclaimers: tuple[str, ...] = ()
    explanation: str = ""
    profile: str = ""
    text_hash: str = ""
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    failures: tuple[DetectorFailure, ...] = ()
    disclaimer_categories: tuple[str, ...] = ()
    language: str | None = None

    @property
    def blocked(self) -> bool:
        """True when the turn is refused."""
        return self.action is Action.BLOCK

    @property
    def referred(self) -> bool:
        """True when the turn is answered with a crisis referral instead of the model."""
        return self.action is Action.REFER

    @property
    def redacted(self) -> bool:
        """True when the text was changed by redaction."""
        return self.action >= Action.REDACT and any(f.category is None and f.start is not None for f in self.findings)

    @property
    def served(self) -> bool:
        """True when the wrapped chain may run (ALLOW, DISCLAIM or REDACT)."""
        return self.action < Action.REFER

    def response_text(self) -> str | None:
        """The text to show instead of the model's answer, if any (refusal or referral)."""
        if self.action is Action.BLOCK:
            return self.refusal
        if self.action is Action.REFER:
            return self.referral
        return None

    def to_client_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without ``text_hash``: what a client may see (an answer's metadata, the check runs that
        ``astream_events`` streams). A client that saw the salted hash of a blocked or redacted answer could hash
        guesses of its own, sent as input, under the same salt and compare; the audit log keeps the hash."""
        out = self.to_dict()
        del out["text_hash"]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary with no raw user text."""
        return {
            "action": str(self.action),
            "blocked": self.blocked,
            "stage": str(self.stage),
            "profile": self.profile,
            "categories": list(self.categories),
            "findings": [f.to_dict() for f in self.findings],
            "disclaimer_categories": list(self.disclaimer_categories),
            "has_referral": self.referral is not None,
            "explanation": self.explanation,
            "text_hash": self.text_hash,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            "failures": [f.to_dict() for f in self.failures],
            "language": self.language,
        }
