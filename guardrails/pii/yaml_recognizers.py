"""Custom recognizers declared in YAML, and the PII presets in configs/pii/.

A custom recognizer is data::

    recognizers:
      - name: employee_id
        entity: EMPLOYEE_ID
        patterns:
          - {regex: "\\bEMP-\\d{6}\\b", score: 0.6}
        context: [employee, staff, badge]     # words before a match raise its score
      - name: ticket_number
        entity: TICKET_ID
        patterns:                            # a group named `value`: only it is the finding ("ticket <TICKET_ID_1>")
          - {regex: "\\bticket\\s*(?:no\\.?|#)?\\s*(?P<value>\\d{6})\\b", score: 0.7}
      - name: project_codenames
        entity: CODENAME
        deny_list: [Bluebird, Nightjar]      # exact words, whole-word, case-insensitive

A preset may also hold a ``date_time:`` rule (:class:`guardrails.pii.dates.DateTimeRule`): which date and
time expressions count as DATE_TIME.

The specs are validated here without importing Presidio; :func:`to_presidio` builds
Presidio ``PatternRecognizer`` objects from them (importing Presidio).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from guardrails._paths import configs_dir
from guardrails._yaml import describe_yaml_error
from guardrails.pii.dates import DateTimeRule

if TYPE_CHECKING:
    from presidio_analyzer import PatternRecognizer

_ENTITY = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: the regex group that, when a pattern has it, is the finding (the rest of the match is context in clear)
VALUE_GROUP = "value"


class PatternSpec(_Strict):
    """One regex of a custom recognizer and its base score; a group named ``value`` narrows the finding to it."""

    regex: str = Field(min_length=1)
    score: float = Field(default=0.5, ge=0.0, le=1.0)
    name: str | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"regex {v!r} does not compile: {exc}") from None
        return v


class RecognizerSpec(_Strict):
    """A recognizer declared in YAML: regex patterns with context words, and/or a deny-list."""

    name: str = Field(min_length=1, max_length=64)
    entity: str
    patterns: tuple[PatternSpec, ...] = ()
    context: tuple[str, ...] = ()
    deny_list: tuple[str, ...] = ()
    deny_list_score: float = Field(default=0.9, ge=0.0, le=1.0)

    @field_validator("entity")
    @classmethod
    def _entity_name(cls, v: str) -> str:
        if not _ENTITY.match(v):
            raise ValueError(f"entity {v!r} must be UPPER_SNAKE_CASE, like EMPLOYEE_ID")
        return v

    @field_validator("context")
    @classmethod
    def _single_words(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for word in v:
            if not word.strip() or len(word.split()) > 1:
                raise ValueError(
                    f"context entry {word!r} is not one word: Presidio compares the context word by word, so a "
                    "phrase never matches (write its words as entries of their own, e.g. ['member', 'number'])"
                )
        return v

    @model_validator(mode="after")
    def _something_to_match(self) -> RecognizerSpec:
        if not self.patterns and not self.deny_list:
            raise ValueError(f"recognizer {self.name!r} needs `patterns` or a `deny_list`")
        return self


class PIIPreset(_Strict):
    """A default PII set for a domain (configs/pii/<name>.yaml)."""

    description: str = ""
    entities: tuple[str, ...]
    thresholds: dict[str, float] = Field(default_factory=dict)
    allow_list: tuple[str, ...] = ()
    #: never report names of historical/public figures and fictional characters (configs/pii/names/public_figures.txt)
    allow_public_figures: bool = False
    recognizers: tuple[RecognizerSpec, ...] = ()
    #: which date and time expressions DATE_TIME covers (None: all that spaCy and Presidio's date patterns find)
    date_time: DateTimeRule | None = None

    @field_validator("thresholds")
    @classmethod
    def _in_range(cls, v: dict[str, float]) -> dict[str, float]:
        for key, value in v.items():
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"threshold for {key!r} must be within [0, 1], got {value!r}")
        return v


def presets_dir() -> Path:
    """The folder of shipped PII presets."""
    return configs_dir() / "pii"


def builtin_presets() -> tuple[str, ...]:
    """Names of the shipped presets (configs/pii/*.yaml)."""
    return tuple(sorted(p.stem for p in presets_dir().glob("*.yaml")))


def load_preset(name_or_path: str) -> PIIPreset:
    """Load a preset by name (configs/pii/<name>.yaml) or by path; ValueError names a bad one."""
    return _load_preset(name_or_path)


@lru_cache(maxsize=32)
def _load_preset(name_or_path: str) -> PIIPreset:
    path = Path(name_or_path) if name_or_path.endswith((".yaml", ".yml")) else presets_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown PII preset {name_or_path!r}; built-in presets: {', '.join(builtin_presets())}")
    data = _read_mapping(path)
    try:
        return PIIPreset.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"{path}: {where}: {err['msg']}") from None


def load_recognizer_file(path: str | Path) -> tuple[RecognizerSpec, ...]:
    """Read a YAML file with a top-level ``recognizers:`` list."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"recognizer file {str(path)!r} does not exist")
    data = _read_mapping(p)
    try:
        return tuple(RecognizerSpec.model_validate(r) for r in data.get("recognizers", []) or [])
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ValueError(f"{p}: recognizers: {where}: {err['msg']}") from None


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read YAML: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: {describe_yaml_error(exc)}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping")
    return data


def to_presidio(spec: RecognizerSpec, *, language: str = "en") -> PatternRecognizer:
    """Build a Presidio PatternRecognizer from a spec (imports Presidio).

    It reads full-width digits, other scripts' digits and typographic dashes as ASCII, and skips invisible
    characters, as the library's own recognizers do (:class:`guardrails.pii.recognizers.FoldedPatternRecognizer`):
    "MRN \uff11\uff12\uff13\uff14\uff15\uff16\uff17" and an age in Arabic-Indic digits match an ASCII regex.
    """
    from presidio_analyzer import Pattern

    from guardrails.pii.recognizers import FoldedPatternRecognizer

    patterns = [Pattern(p.name or f"{spec.name}_{i}", p.regex, p.score) for i, p in enumerate(spec.patterns)]
    kwargs: dict[str, Any] = {
        "patterns": patterns or None,
        "deny_list": list(spec.deny_list) or None,
        "context": list(spec.context) or None,
    }
    narrowing = {pt.name: pt for pt in patterns if VALUE_GROUP in re.compile(pt.regex).groupindex}

    class ValueGroupRecognizer(FoldedPatternRecognizer):
        """A PatternRecognizer whose matches of a pattern with a ``value`` group are narrowed to that group."""

        def analyze_text(self, text: str, entities: list[str], nlp_artifacts: Any, regex_flags: Any) -> Any:
            results = super().analyze_text(text, entities, nlp_artifacts, regex_flags)
            for r in results:
                pattern = narrowing.get(str(getattr(r.analysis_explanation, "pattern_name", "")))
                rx = getattr(pattern, "compiled_regex", None)  # compiled by Presidio with its flags
                match = rx.match(text, r.start) if rx is not None else None
                if match is not None and match.end() == r.end and match.start(VALUE_GROUP) >= 0:
                    r.start, r.end = match.span(VALUE_GROUP)
            return [r for r in results if r.end > r.start]

    cls = ValueGroupRecognizer if narrowing else FoldedPatternRecognizer
    return cls(
        supported_entity=spec.entity,
        name=f"yaml:{spec.name}",
        supported_language=language,
        deny_list_score=spec.deny_list_score,
        **kwargs,
    )
