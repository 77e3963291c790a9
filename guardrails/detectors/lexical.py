"""Lexical detector: YAML regex patterns per category, after text normalization.

High-precision phrases only: it catches blunt, unambiguous wording fast and offline
and complements the semantic classifier, which handles paraphrase. Patterns are data
(configs/lexical/*.yaml); each names its taxonomy id and a score.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from guardrails._paths import configs_dir
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.errors import DetectorError
from guardrails.normalize import basic
from guardrails.taxonomy import Taxonomy
from guardrails.types import Finding

#: texts longer than this are scanned in overlapping windows (bounded regex work per call)
_WINDOW = 20_000
_OVERLAP = 500


class PatternSpec(BaseModel):
    """One pattern: either a regex or a list of phrases matched on word boundaries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    category: str
    score: float = Field(default=0.9, ge=0.0, le=1.0)
    regex: str | None = None
    phrases: tuple[str, ...] = ()
    stages: tuple[Literal["input", "output"], ...] = ("input", "output")

    @model_validator(mode="after")
    def _matches_something(self) -> PatternSpec:
        if not self.regex and not any(p.split() for p in self.phrases):
            raise ValueError(f"pattern {self.id!r} has neither a regex nor a non-empty phrase")
        return self

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"regex {v!r} does not compile: {exc}") from None
        return v

    def compile(self) -> re.Pattern[str]:
        parts = [self.regex] if self.regex else []
        parts += [r"\b" + r"\s+".join(re.escape(w) for w in p.split()) + r"\b" for p in self.phrases]
        if not parts:
            raise ValueError(f"pattern {self.id!r} has neither regex nor phrases")
        return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


class LexicalOptions(BaseModel):
    """Profile options of the lexical detector."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: pattern files: names of files in configs/lexical/ (without .yaml) or paths
    pattern_files: tuple[str, ...] = ("default",)
    #: extra patterns declared inline in the profile
    patterns: tuple[PatternSpec, ...] = ()
    #: also scan the normalized views (de-obfuscated, decoded) of the text
    scan_views: bool = True


class LexicalDetector(BaseDetector):
    """Regex/phrase patterns per category; case-insensitive, after NFKC and zero-width removal."""

    name: ClassVar[str] = "lexical"
    Options: ClassVar[type[LexicalOptions]] = LexicalOptions

    def __init__(self, *, patterns: tuple[PatternSpec, ...], taxonomy: Taxonomy, scan_views: bool = True) -> None:
        self._compiled: list[tuple[PatternSpec, re.Pattern[str]]] = []
        for spec in patterns:
            taxonomy.require(spec.category, where=f"lexical pattern {spec.id!r}")
            try:
                self._compiled.append((spec, spec.compile()))
            except ValueError as exc:
                raise DetectorError(str(exc), detector=self.name) from None
        self.categories = tuple(sorted({s.category for s in patterns}))
        self.scan_views = scan_views

    @classmethod
    def from_options(cls, options: LexicalOptions, *, taxonomy: Taxonomy) -> LexicalDetector:
        specs: list[PatternSpec] = []
        for ref in options.pattern_files:
            specs.extend(load_pattern_file(ref))
        specs.extend(options.patterns)
        return cls(patterns=tuple(specs), taxonomy=taxonomy, scan_views=options.scan_views)

    @classmethod
    def check_options(cls, options: LexicalOptions, *, taxonomy: Taxonomy) -> None:
        for ref in options.pattern_files:
            for spec in load_pattern_file(ref):
                taxonomy.require(spec.category, where=f"lexical pattern {spec.id!r} in {ref!r}")
        for spec in options.patterns:
            taxonomy.require(spec.category, where=f"lexical pattern {spec.id!r}")

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        stage = str(ctx.stage)
        best: dict[tuple[str, str], Finding] = {}
        for view_name, view_text in self._views(text, ctx):
            normalized = basic(view_text)
            spans_valid = view_name == "raw" and normalized == view_text
            for spec, rx in self._compiled:
                if stage not in spec.stages:
                    continue
                match = _search_windowed(rx, normalized)
                if match is None:
                    continue
                key = (spec.category, spec.id)
                if key in best and best[key].view == "raw":
                    continue
                start, end = (match.start(), match.end()) if spans_valid else (None, None)
                best[key] = Finding(self.name, spec.category, spec.score, start, end, label=spec.id, view=view_name)
        return list(best.values())

    def _views(self, text: str, ctx: DetectContext) -> tuple[tuple[str, str], ...]:
        if self.scan_views and ctx.views:
            return ctx.views
        return (("raw", text),)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "categories": list(self.categories), "patterns": len(self._compiled)}


def _search_windowed(rx: re.Pattern[str], text: str) -> re.Match[str] | None:
    if len(text) <= _WINDOW:
        return rx.search(text)
    start = 0
    while start < len(text):
        m = rx.search(text, start, min(len(text), start + _WINDOW))
        if m is not None:
            return m
        start += _WINDOW - _OVERLAP
    return None


def load_pattern_file(ref: str) -> tuple[PatternSpec, ...]:
    """Load a pattern file by name (configs/lexical/NAME.yaml) or path; errors name the file."""
    path = Path(ref) if ref.endswith((".yaml", ".yml")) else configs_dir() / "lexical" / f"{ref}.yaml"
    return _load_patterns(str(path.resolve()))


@lru_cache(maxsize=32)
def _load_patterns(path_str: str) -> tuple[PatternSpec, ...]:
    path = Path(path_str)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"lexical pattern file {path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("patterns"), list):
        raise ValueError(f"lexical pattern file {path}: expected a mapping with a 'patterns' list")
    out = []
    for i, item in enumerate(data["patterns"]):
        try:
            out.append(PatternSpec.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ValueError(f"lexical pattern file {path}: patterns[{i}].{loc}: {err['msg']}") from None
    return tuple(out)
