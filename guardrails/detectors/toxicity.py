"""Toxicity detector: Detoxify scores, mapped to policy categories, over overlapping windows.

Detoxify (https://github.com/unitaryai/detoxify) scores a text for ``toxicity``,
``severe_toxicity``, ``obscene``, ``threat``, ``insult``, ``identity_attack`` and, in the
unbiased and multilingual models, ``sexual_explicit``. A label mapping (data in
``configs/toxicity/<mapping>.yaml``, overridable inline in the profile) sends some labels to
taxonomy categories (``identity_attack``/``threat`` -> ``hate_harassment``,
``sexual_explicit`` -> ``adult_content``) and keeps the others as information only: a
Finding with ``category=None`` whose label is the Detoxify label. Detectors find, the policy
decides: ``min_score`` is only a noise floor.

**Long texts.** Detoxify truncates at the model's maximum length (512 tokens) without a
word, so harmless padding can hide a toxic sentence. The text is cut into overlapping
character windows (``window_chars``, ``window_overlap``; boundaries snap to whitespace),
each window is scored, and each label takes its maximum over the windows. Any span of up to
``window_overlap // 2`` characters lies whole inside some window. A window that still
tokenizes longer than the model accepts (emoji- or symbol-dense text) is split again, so no
window is silently truncated (at most four rounds of splitting, and four times ``max_windows``
pieces per text). Identical windows are scored once. At most ``max_windows`` windows are
scored per text: beyond that, windows are taken evenly spaced over the text (always the first
and the last), which bounds the time for a 1 MB text at the price of not reading all of it
(the default 32 windows of 1,000 characters, 200 overlap, read a text of up to 25,800
characters whole; of a 200,000-character text, which needs 250 windows, they read about 16%).

**Streams.** A stream's check (``DetectContext.stream``) reads the whole answer so far, the check's text after
``StreamPart.head``, and its views as the guard built them for the check's text. While the answer goes on
(``partial``) it reads the answer so far up to the last multiple of half a window step it goes past
(:func:`stream_read_chars`, every 400 characters by default), in :func:`open_windows`: the windows the finished
answer is read in that this text holds whole, and the rest as one open window; :meth:`ToxicityDetector.settled_chars`
tells the stream it may show no more, so no text is shown that a check has not scored. Windows are scored once per
stream (:class:`ScoreMemo` in ``StreamPart.memo``, keyed by salted hashes, no text), so a check scores a window only
when the answer has crossed such a step since the last one, and the stream's last check, which reads the finished
answer as a single check does, finds its windows but the last scored. While the answer goes on no window is sampled
away (``max_windows`` applies to the last check, as to a single one).

**A text not read whole says so.** When a text needs more windows than ``max_windows``, or a
piece the model still truncates after the split budget is spent, its findings carry a note:
category ``None``, no span, label ``window_limit:<windows read whole>/<windows needed>``, score
= the share of the text outside every window read whole. The policy ignores it; the decision,
its trace and the audit record show it (counts only, never text). ``on_partial: fail`` raises a
:class:`~guardrails.errors.DetectorError` instead (before the model runs when the window count
is the reason), so the detector's ``on_error`` decides: ``block`` refuses such texts,
``allow`` serves them without any toxicity finding, even ones the sampled windows would have made.

**Symbols glued to words.** BERT's WordPiece (the ``original`` model) splits words at
whitespace and punctuation but not at symbols (Unicode categories S*: emoji, ``™``, ``€``), and a
word with any piece outside its vocabulary becomes one ``[UNK]``: "idiot😡" would lose
"idiot". Before tokenizing, each run of non-ASCII symbol characters (with the joiners and
variation selectors inside an emoji) gets a space on either side (:func:`separate_symbols`).
Toxicity findings have no spans, so the shifted offsets matter nowhere.

**Loading.** Nothing is imported or loaded until the first non-empty text or
:meth:`ToxicityDetector.warmup`. The checkpoint is ``options.checkpoint``, else the named
model's release file in the torch hub cache, else, only when the profile asks for it
(``download: true``; off by default, so nothing is downloaded at run time unless asked) and
there is a network, it is downloaded there. The checkpoint is read with
``torch.load(weights_only=True)``; a file that holds other Python objects is unpickled only
when trusted (``trust_checkpoint: true``, or an official release file whose sha256 matches
its name). Detoxify's checkpoint names a Hugging Face hub model (``bert-base-uncased``...)
for the config and tokenizer, which ``transformers`` would fetch from the network: the
detector resolves it to a local folder first (``huggingface_config_path``, the folder
itself, or the Hugging Face cache) and hands Detoxify's own ``get_model_and_tokenizer`` that
folder. Prediction is Detoxify's ``Detoxify.predict``.

When the model cannot be obtained the detector raises
:class:`~guardrails.errors.DetectorUnavailable` with a message saying how to provide it;
the failure is cached (reported once, raised again without retrying), and the Guard records
it in the Decision and applies the profile's ``on_detector_error``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import secrets
import threading
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from guardrails._files import file_sha256
from guardrails._lru import LRU
from guardrails._paths import configs_dir
from guardrails._threads import default_threads
from guardrails._yaml import describe_yaml_error, load_strict
from guardrails.audit import salted_hash
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.errors import DetectorError, DetectorUnavailable, raise_detached
from guardrails.taxonomy import Taxonomy
from guardrails.types import Finding, StreamPart

logger = logging.getLogger(__name__)

DETECTOR = "toxicity"
#: the label prefix of the note on a text not read whole (see the module docstring)
WINDOW_LIMIT_LABEL = "window_limit"
#: rounds of splitting a window that tokenizes longer than the model accepts
_SPLIT_ROUNDS = 4

ModelName = Literal["original", "unbiased", "multilingual", "original-small", "unbiased-small"]

#: labels Detoxify models produce (after Detoxify's own renaming); the last nine are the
#: identity-mention labels of the unbiased model
KNOWN_LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
    "sexual_explicit",
    "male",
    "female",
    "homosexual_gay_or_lesbian",
    "christian",
    "jewish",
    "muslim",
    "black",
    "white",
    "psychiatric_or_mental_illness",
)

#: Detoxify renames these class names when loading a checkpoint (detoxify 0.5.4 load_checkpoint)
_CLASS_RENAMES = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}

_RELEASES = "https://github.com/unitaryai/detoxify/releases/download/"


@dataclass(frozen=True)
class DetoxifyRelease:
    """One published Detoxify model: its release file and the hub model its checkpoint names."""

    name: str
    url: str
    hub_model: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def sha256_prefix(self) -> str | None:
        """The hash prefix torch hub conventions put in the file name (``name-<sha256[:8]>.ckpt``)."""
        m = re.search(r"-([0-9a-f]{6,})\.\w+$", self.filename)
        return m.group(1) if m else None


#: the release files Detoxify 0.5.4 downloads (its MODEL_URLS) and the hub model each names
RELEASES: Mapping[str, DetoxifyRelease] = {
    r.name: r
    for r in (
        DetoxifyRelease("original", _RELEASES + "v0.1-alpha/toxic_original-c1212f89.ckpt", "bert-base-uncased"),
        DetoxifyRelease("unbiased", _RELEASES + "v0.3-alpha/toxic_debiased-c7548aa0.ckpt", "roberta-base"),
        DetoxifyRelease(
            "multilingual", _RELEASES + "v0.4-alpha/multilingual_debiased-0b549669.ckpt", "xlm-roberta-base"
        ),
        DetoxifyRelease("original-small", _RELEASES + "v0.1.2/original-albert-0e1d6498.ckpt", "albert-base-v2"),
        DetoxifyRelease("unbiased-small", _RELEASES + "v0.1.2/unbiased-albert-c8519128.ckpt", "albert-base-v2"),
    )
}

#: files of a hub model that config + tokenizer need (never the weights: those are in the checkpoint)
HF_FILE_PATTERNS: tuple[str, ...] = ("*.json", "*.txt", "*.model")


def offline_howto(model: str = "original", *, verbose: bool = False) -> str:
    """How to provide a Detoxify model on a machine without network (short enough for a Decision record)."""
    release = RELEASES.get(model, RELEASES["original"])
    text = (
        f"Provide it offline: where there is network run `guardrails models fetch --model {release.name} --to DIR`, "
        f"copy DIR here and set the toxicity options checkpoint: DIR/{release.name}/{release.filename} and "
        f"huggingface_config_path: DIR/{release.name}/hf."
    )
    if verbose:
        text += (
            f" Or put {release.filename} in {torch_hub_checkpoints_dir()} and the {release.hub_model!r} config and "
            "tokenizer in the Hugging Face cache. Until then the profile's on_detector_error (or the detector's "
            "on_error) applies."
        )
    return text


#: how a profile opts in to downloading at run time (said where a missing model is reported with download off)
_DOWNLOAD_OPT_IN = "Or opt in with download: true, which fetches it on first use (needs network)."


def torch_hub_checkpoints_dir() -> Path:
    """Where torch hub (and so Detoxify) keeps downloaded checkpoints, without importing torch."""
    env_torch_home = os.environ.get("TORCH_HOME")
    if env_torch_home:
        return Path(env_torch_home).expanduser() / "hub" / "checkpoints"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "torch" / "hub" / "checkpoints"


# --------------------------------------------------------------------------- options


class LabelRule(BaseModel):
    """What one Detoxify label means to the policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a taxonomy id this label's score counts towards, or None (score recorded as information only)
    category: str | None = None
    #: noise floor: scores below it produce no finding
    min_score: float = Field(default=0.05, ge=0.0, le=1.0)


class _MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: dict[str, LabelRule]


def _check_label_names(labels: Mapping[str, Any]) -> None:
    unknown = sorted(set(labels) - set(KNOWN_LABELS))
    if unknown:
        raise ValueError(f"unknown Detoxify label(s) {unknown}; known labels: {', '.join(KNOWN_LABELS)}")


class ToxicityOptions(BaseModel):
    """Profile options of the toxicity detector (``detectors.toxicity.options``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: which published Detoxify model (ignored for loading when ``checkpoint`` is set)
    model: ModelName = "original"
    #: a local Detoxify checkpoint file (offline deployments)
    checkpoint: Path | None = None
    #: a local folder with the hub model's config and tokenizer files (offline deployments)
    huggingface_config_path: Path | None = None
    device: Literal["cpu"] = "cpu"
    #: a label mapping in configs/toxicity/ (name without .yaml) or a path to a YAML file
    mapping: str = "default"
    #: per-label overrides on top of the mapping file (the fields given here replace the mapping's)
    labels: dict[str, LabelRule] = Field(default_factory=dict)
    window_chars: int = Field(default=1000, ge=64, le=100_000)
    #: characters each window shares with the next (at least 32: a word at a boundary is whole in one of them)
    window_overlap: int = Field(default=200, ge=32)
    #: windows scored per text at most; more are sampled evenly (bounded time for huge texts) and noted.
    #: Not derived from the profile's max_text_chars: reading 200,000 characters whole needs 250 windows, about
    #: eight times the default's time (see README "Toxicity")
    max_windows: int = Field(default=32, ge=2, le=4096)
    #: a text not read whole: ``note`` scores the windows it can and adds a window_limit note to the findings;
    #: ``fail`` raises a DetectorError (the detector's on_error decides: block refuses the text)
    on_partial: Literal["note", "fail"] = "note"
    #: score the normalized views of a text too (``all``), or the raw text only
    views: Literal["all", "raw"] = "all"
    #: windows per forward pass
    batch_size: int = Field(default=16, ge=1, le=1024)
    #: torch intra-op threads, set once when the model loads (process-wide); None: $GUARDRAILS_THREADS or min(4, CPUs)
    torch_threads: int | None = Field(default=None, ge=1, le=256)
    #: download the named model (and its config and tokenizer) on first use when it is not on this machine. Off by
    #: default: the library never downloads at run time unless a profile asks for it (and there is a network)
    download: bool = False
    #: unpickle a checkpoint that holds Python objects besides tensors (only for files you trust)
    trust_checkpoint: bool = False

    @field_validator("labels")
    @classmethod
    def _known_labels(cls, v: dict[str, LabelRule]) -> dict[str, LabelRule]:
        _check_label_names(v)
        return v

    @field_validator("mapping")
    @classmethod
    def _mapping_exists(cls, v: str) -> str:
        _mapping_path(v)
        return v

    @model_validator(mode="after")
    def _overlap_fits(self) -> ToxicityOptions:
        if self.window_overlap * 2 > self.window_chars:
            raise ValueError(
                f"window_overlap ({self.window_overlap}) must be at most half of window_chars ({self.window_chars})"
            )
        return self

    def resolved_labels(self) -> dict[str, LabelRule]:
        """The mapping file's rules with the inline ``labels`` overrides applied, field by field: an override of
        ``min_score`` alone keeps the label's category (``category: null`` written out drops it)."""
        rules = dict(load_label_mapping(self.mapping))
        for label, rule in self.labels.items():
            base = rules.get(label)
            set_here = {f: getattr(rule, f) for f in rule.model_fields_set}
            rules[label] = base.model_copy(update=set_here) if base is not None else rule
        return rules


def _mapping_path(ref: str) -> Path:
    if ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref:
        path = Path(ref).expanduser()
    else:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", ref):
            raise ValueError(f"mapping {ref!r} is neither a mapping name nor a .yaml path")
        path = configs_dir() / "toxicity" / f"{ref}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem for p in (configs_dir() / "toxicity").glob("*.yaml"))
        raise ValueError(f"toxicity mapping {ref!r} not found ({path}); shipped mappings: {', '.join(shipped)}")
    return path


@lru_cache(maxsize=16)
def _load_mapping_file(path: Path) -> Mapping[str, LabelRule]:
    try:
        raw = load_strict(path.read_text(encoding="utf-8"), aliases=False)  # no key twice, no 010 or 1:30
        parsed = _MappingFile.model_validate(raw, strict=True)  # no "0.05" or yes for a number
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read toxicity mapping: {type(exc).__name__}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: cannot read toxicity mapping: {describe_yaml_error(exc)}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"{path}: {where}: {err['msg']} (got {err.get('input')!r})") from None
    _check_label_names(parsed.labels)
    return dict(parsed.labels)


def load_label_mapping(ref: str = "default") -> Mapping[str, LabelRule]:
    """Load a label mapping by name (configs/toxicity/<name>.yaml) or path."""
    return _load_mapping_file(_mapping_path(ref).resolve())


# --------------------------------------------------------------------------- windows


def plan_windows(text: str, *, window_chars: int, overlap: int, max_windows: int) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the windows scored for ``text``.

    Empty and whitespace-only texts have no windows; a text up to ``window_chars`` long is
    one window. Longer texts get windows of ``window_chars`` advancing by
    ``window_chars - overlap``, the last one aligned to the end; inner boundaries move to the
    nearest whitespace within ``overlap // 4`` characters. Windows that are whitespace only are
    dropped. When more than ``max_windows`` remain (:func:`count_windows`), evenly spaced ones
    are kept (always the first and the last).
    """
    return _sample(_all_windows(text, window_chars=window_chars, overlap=overlap), max_windows)


def count_windows(text: str, *, window_chars: int, overlap: int) -> int:
    """How many windows reading ``text`` whole takes (what :func:`plan_windows` keeps at most ``max_windows`` of)."""
    return len(_all_windows(text, window_chars=window_chars, overlap=overlap))


def _all_windows(text: str, *, window_chars: int, overlap: int) -> list[tuple[int, int]]:
    n = len(text)
    if not text.strip():
        return []
    if n <= window_chars:
        return [(0, n)]
    step = window_chars - overlap
    count = -(-(n - window_chars) // step) + 1
    starts = [i * step for i in range(count - 1)] + [n - window_chars]
    return _snapped(text, [(s, min(n, s + window_chars)) for s in starts], overlap // 4)


def _snapped(text: str, bounds: Sequence[tuple[int, int]], snap: int) -> list[tuple[int, int]]:
    """The windows ``bounds`` with their edges moved to the nearest whitespace within ``snap`` characters (kept
    where that would empty a window), those of whitespace only dropped."""
    spans: list[tuple[int, int]] = []
    for s, e in bounds:
        s2, e2 = _snap_start(text, s, snap), _snap_end(text, e, snap)
        if e2 <= s2:
            s2, e2 = s, e
        if not text[s2:e2].isspace():
            spans.append((s2, e2))
    return spans


def open_windows(text: str, *, window_chars: int, overlap: int) -> list[tuple[int, int]]:
    """The windows a stream's check reads of ``text``, the answer so far while it goes on: every window reading the
    finished answer takes that ``text`` already holds whole (they start every ``window_chars - overlap``
    characters; the last window of a finished text is aligned to its end instead, and is not known yet), and the
    rest, from where the next of them starts, as one open window (shorter than ``window_chars``). So each character
    is read in a window as the finished answer reads it or in a part of one, and a check scores only the open window
    and windows completed since the last check (:class:`ScoreMemo`). No window is sampled away: every part of the
    answer is read before it is shown."""
    n = len(text)
    if n <= window_chars or not text.strip():  # no window or one, as for a finished text
        return _all_windows(text, window_chars=window_chars, overlap=overlap)
    step, snap = window_chars - overlap, overlap // 4
    whole = range(0, n - window_chars, step)  # the finished answer's windows this text holds whole
    spans = _snapped(text, [(start, start + window_chars) for start in whole], snap)
    start = len(whole) * step  # the open window: from where the next of them starts
    s2 = _snap_start(text, start, snap)
    if not text[s2:].isspace():
        spans.append((s2, n))
    return spans


def stream_read_chars(text: str, *, window_chars: int, overlap: int) -> int:
    """How many leading characters of ``text``, the answer so far of a stream, a check of it reads
    (:func:`stream_windows`): up to the last multiple of half a window step (``(window_chars - overlap) // 2``, 400
    characters by default) that ``text`` goes past, moved back to a whitespace within ``overlap // 4`` characters.
    It moves only when the answer crosses the next multiple, so checks between two crossings read the same text,
    which the stream's memo holds scored; a stream releases no text past it (:meth:`ToxicityDetector.settled_chars`)
    before a later check or the last one has read it."""
    grid = max(1, (window_chars - overlap) // 2)
    mark = (len(text) - 1) // grid * grid
    if mark <= 0:
        return 0
    return _snap_end(text, mark, overlap // 4)


def stream_windows(text: str, *, window_chars: int, overlap: int, settled: bool = True) -> list[tuple[int, int]]:
    """The windows a check of ``text``, the answer so far of a stream, scores: :func:`open_windows` of the
    characters :func:`stream_read_chars` says it reads (``settled``), or of all of it (a view of the check's text,
    which no settling holds back)."""
    end = stream_read_chars(text, window_chars=window_chars, overlap=overlap) if settled else len(text)
    return open_windows(text[:end], window_chars=window_chars, overlap=overlap)


class ScoreMemo:
    """The scores of the windows the checks of one streamed answer scored, by salted hash of the window (no text):
    per window the worst score of each label over its pieces, and whether a piece was truncated. So a check neither
    tokenizes nor scores a window an earlier check read (``StreamPart.memo``). The least recently used go past
    ``max_windows``."""

    def __init__(self, *, max_windows: int = 4096) -> None:
        self._salt = secrets.token_bytes(16)
        self._scores: LRU[str, tuple[Mapping[str, float], bool]] = LRU(max_windows)
        #: windows scored by the model since the memo was made (the rest came from it)
        self.scored = 0

    def __repr__(self) -> str:
        return f"ScoreMemo({len(self._scores)} windows)"

    def __len__(self) -> int:
        return len(self._scores)

    def key(self, window: str) -> str:
        """The salted hash a window's scores are kept under."""
        return salted_hash(window, self._salt)

    def get(self, key: str) -> tuple[Mapping[str, float], bool] | None:
        """The window's worst scores and whether a piece of it was truncated; None when not kept."""
        return self._scores.get(key)

    def put(self, key: str, scores: Mapping[str, float], *, truncated: bool = False) -> None:
        """Keep a window's worst scores (a read-only copy)."""
        self.scored += 1
        self._scores.put(key, (MappingProxyType(dict(scores)), truncated))


def _covered(spans: Sequence[tuple[int, int]]) -> int:
    """How many characters the (sorted, possibly overlapping) spans cover together."""
    total, reach = 0, 0
    for s, e in spans:
        if e > reach:
            total += e - max(s, reach)
            reach = e
    return total


def _sample(spans: list[tuple[int, int]], max_windows: int) -> list[tuple[int, int]]:
    count = len(spans)
    if count <= max_windows:
        return spans
    if max_windows == 1:
        return spans[:1]
    picked = sorted({round(k * (count - 1) / (max_windows - 1)) for k in range(max_windows)})
    return [spans[i] for i in picked]


def _snap_start(text: str, s: int, limit: int) -> int:
    if s == 0 or text[s - 1].isspace():
        return s
    for i in range(s, min(len(text), s + limit)):
        if text[i].isspace():
            return i + 1
    return s


def _snap_end(text: str, e: int, limit: int) -> int:
    if e >= len(text) or text[e].isspace():
        return e
    for i in range(e - 1, max(0, e - limit) - 1, -1):
        if text[i].isspace():
            return i
    return e


#: characters that belong to the symbol before them (zero-width joiner, variation selectors, combining keycap)
_SYMBOL_JOINERS = frozenset("\u200d\ufe0e\ufe0f\u20e3")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def separate_symbols(text: str) -> str:
    """``text`` with a space on either side of each run of non-ASCII symbol characters (Unicode S*).

    BERT's WordPiece splits at whitespace and punctuation, not at symbols, and turns a word
    with a piece outside its vocabulary into one ``[UNK]``, so "idiot😡" would hide "idiot".
    ASCII symbols are split as punctuation already; emoji sequences (joiners, variation
    selectors, skin tones) stay together. Offsets change: only for texts whose findings have no span.
    """
    if text.isascii():
        return text
    return _NON_ASCII_RUN.sub(_space_symbol_runs, text)


def _space_symbol_runs(match: re.Match[str]) -> str:
    out: list[str] = []
    in_symbols = False
    for c in match.group():
        symbol = unicodedata.category(c)[0] == "S" or (in_symbols and c in _SYMBOL_JOINERS)
        if symbol != in_symbols:
            out.append(" ")
            in_symbols = symbol
        out.append(c)
    if in_symbols:
        out.append(" ")
    return "".join(out)


# --------------------------------------------------------------------------- detector


@dataclass
class _Loaded:
    detoxify: Any  # a detoxify.Detoxify instance
    labels: tuple[str, ...]
    max_tokens: int
    source: str


class ToxicityDetector(BaseDetector):
    """Detoxify toxicity scores as findings: mapped labels count towards policy categories.

    Keyword-only construction; :meth:`from_options` builds it from a profile. Safe to share
    between threads (loading is locked; prediction is serialized, since a tokenizer is not
    safe for concurrent use).
    """

    name: ClassVar[str] = DETECTOR
    Options: ClassVar[type[ToxicityOptions]] = ToxicityOptions
    categories: tuple[str, ...] = ("hate_harassment", "adult_content")

    def __init__(self, *, options: ToxicityOptions | None = None, taxonomy: Taxonomy | None = None) -> None:
        self.options = options if options is not None else ToxicityOptions()
        self.rules: dict[str, LabelRule] = self.options.resolved_labels()
        if taxonomy is not None:
            self.check_options(self.options, taxonomy=taxonomy)
        self.categories = tuple(sorted({r.category for r in self.rules.values() if r.category is not None}))
        self._load_lock = threading.Lock()
        self._predict_lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._failure: DetectorError | None = None

    @classmethod
    def from_options(cls, options: ToxicityOptions, *, taxonomy: Taxonomy) -> ToxicityDetector:
        """Build the detector from validated profile options (nothing is loaded yet)."""
        return cls(options=options, taxonomy=taxonomy)

    @classmethod
    def check_options(cls, options: ToxicityOptions, *, taxonomy: Taxonomy) -> None:
        """Raise ValueError naming a label whose category id is not in the taxonomy."""
        for label, rule in options.resolved_labels().items():
            if rule.category is not None and rule.category not in taxonomy:
                raise ValueError(
                    f"toxicity label {label!r} maps to unknown category id {rule.category!r}; not in the taxonomy"
                )

    # ---- public API

    def windows(self, text: str) -> list[tuple[int, int]]:
        """The character spans this detector scores for ``text`` (before any token-length split)."""
        o = self.options
        return plan_windows(text, window_chars=o.window_chars, overlap=o.window_overlap, max_windows=o.max_windows)

    def settled_chars(self, text: str) -> int:
        """How many leading characters of ``text``, the answer so far of a stream, a check of it with
        ``StreamPart.partial`` has scored (:func:`stream_read_chars`): a stream releases no more until a later
        check has read it (``guard.settled_chars``). Windows of up to half a window step are so held back beyond
        what the stream holds anyway, and checks between two such steps score no window (README, "Streaming")."""
        o = self.options
        return stream_read_chars(text, window_chars=o.window_chars, overlap=o.window_overlap)

    def warmup(self) -> None:
        """Load the model now (raises DetectorUnavailable/DetectorError like the first check would)."""
        self._model()

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return self.detect_batch([text], [ctx])[0]

    def detect_batch(self, texts: Sequence[str], ctxs: Sequence[DetectContext]) -> list[list[Finding]]:
        """Score all windows of all texts in shared batches; one findings list per text.

        Each normalized view the guard built for a text (``DetectContext.views``: width and homoglyphs folded,
        spaced letters joined, leetspeak, decoded segments) that differs from it is scored too, and each label's
        worst score wins: "ｚｏｒｐ" or "z o r p" scores as the word does. A note on windows not read comes from
        the text itself."""
        if len(texts) != len(ctxs):
            raise ValueError(f"detect_batch got {len(texts)} texts but {len(ctxs)} contexts")
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"toxicity detector expects str texts, got {type(t).__name__}")
        units: list[str] = []
        owner: list[int] = []
        streams: list[StreamPart | None] = []
        raw: list[bool] = []
        for i, (text, ctx) in enumerate(zip(texts, ctxs, strict=True)):
            # a stream's check of the answer's last characters reads the whole answer so far (its windows scored by
            # an earlier check come from the stream's memo); its views are those of the check's text, as the guard
            # built them (rebuilding them over the whole answer at each check would cost more than it reads)
            units.append(text if ctx.stream is None else ctx.stream.head + text)
            owner.append(i)
            streams.append(ctx.stream)
            raw.append(True)
            words = set(_WORDS.findall(text.casefold()))
            for name, view in ctx.views if self.options.views == "all" else ():
                # a view is scored when it reads a word the text does not have (a folded "z0rp", "z o r p"): one
                # that differs by punctuation or a symbol ("…" as "...") costs no second pass. A piece's views
                # ("piece1:basic") are parts of the text's own
                if name == "raw" or ":" in name or not isinstance(view, str):
                    continue
                new = set(_WORDS.findall(view.casefold())) - words
                if any(len(w) >= 3 for w in new):
                    words |= new
                    units.append(view)
                    owner.append(i)
                    streams.append(ctx.stream)
                    raw.append(False)
        scored = self._score(units, owner, texts, streams, raw)
        out: list[list[Finding]] = [[] for _ in texts]
        for k, found in enumerate(scored):
            i = owner[k]
            if k > 0 and owner[k - 1] == i:  # a view: its labels' scores join the text's, its notes do not
                out[i] = _worst(
                    out[i], [f for f in found if f.label is None or not f.label.startswith(WINDOW_LIMIT_LABEL)]
                )
            else:
                out[i] = found
        return out

    def _score(
        self,
        texts: Sequence[str],
        owner: Sequence[int],
        originals: Sequence[str],
        streams: Sequence[StreamPart | None] | None = None,
        raw: Sequence[bool] | None = None,
    ) -> list[list[Finding]]:
        """One findings list per text of ``texts``; ``owner[k]``: the index in ``originals`` text ``k`` stands for
        (errors name it); ``streams[k]``: text ``k`` is the answer so far of a stream, or a view of the check's text
        when ``raw[k]`` is False (see :func:`stream_windows`)."""
        o = self.options
        parts = list(streams) if streams is not None else [None] * len(texts)
        is_raw = list(raw) if raw is not None else [True] * len(texts)
        # per text: the windows reading it whole takes, and those scored (all, or an even sample; the answer so far
        # of a stream that goes on: its windows up to where the check reads, see stream_windows)
        needed = [_all_windows(t, window_chars=o.window_chars, overlap=o.window_overlap) for t in texts]
        plans = [
            stream_windows(t, window_chars=o.window_chars, overlap=o.window_overlap, settled=r)
            if part is not None and part.partial
            else _sample(spans, o.max_windows)
            for t, spans, part, r in zip(texts, needed, parts, is_raw, strict=True)
        ]
        if o.on_partial == "fail":  # before the model loads or runs: refused texts cost no scoring
            for i, all_spans in enumerate(needed):
                spans = _sample(all_spans, o.max_windows)  # what reading it as a finished text would read
                if len(spans) < len(all_spans):
                    why = f"needs {len(all_spans)} windows, more than max_windows={o.max_windows}"
                    raise self._partial_error(owner[i], originals, why, len(spans), len(all_spans))
        # the answer so far of a stream is read in all the windows planned: none is sampled away, none noted
        needed = [
            plan if part is not None and part.partial else spans
            for plan, spans, part in zip(plans, needed, parts, strict=True)
        ]
        if not any(plans):
            return [[] for _ in texts]
        loaded = self._model()
        memo = self._memo(parts)
        rows_of: list[list[Mapping[str, float]]] | None = None
        if memo is None:
            fitted = [self._fit(text, spans, loaded) for text, spans in zip(texts, plans, strict=True)]
        else:  # a stream's checks score each window once
            fitted, rows_of = self._remembered(texts, plans, loaded, memo)
        if o.on_partial == "fail":
            for i, (spans, all_spans, (_, truncated)) in enumerate(zip(plans, needed, fitted, strict=True)):
                if truncated:
                    why = (
                        f"has {len(truncated)} window(s) longer than the model's {loaded.max_tokens} tokens after "
                        f"splitting ({4 * o.max_windows} pieces at most)"
                    )
                    raise self._partial_error(owner[i], originals, why, len(spans) - len(truncated), len(all_spans))
        if rows_of is None:  # refused texts cost no scoring
            rows_of = self._scored_rows(fitted, loaded)
        out: list[list[Finding]] = []
        for rows, (_, truncated), spans, all_spans in zip(rows_of, fitted, plans, needed, strict=True):
            found: list[Finding] = []
            if rows:
                found = self._findings({label: max(r[label] for r in rows) for label in loaded.labels})
            whole = [sp for k, sp in enumerate(spans) if k not in truncated]
            if len(whole) < len(all_spans):
                found.append(self._window_note(whole, all_spans))
            out.append(found)
        return out

    def _scored_rows(
        self, fitted: Sequence[tuple[list[str], set[int]]], loaded: _Loaded
    ) -> list[list[Mapping[str, float]]]:
        """Per text, the scores of its window pieces (``fitted``, from :meth:`_fit`), identical pieces scored once."""
        unique: dict[str, int] = {}
        for ws, _ in fitted:
            for w in ws:
                unique.setdefault(w, len(unique))
        scores = self._predict(list(unique), loaded)
        return [[scores[unique[w]] for w in ws] for ws, _ in fitted]

    def _memo(self, parts: Sequence[StreamPart | None]) -> ScoreMemo | None:
        """The scores of windows the checks of one stream already scored (``StreamPart.memo``), when the texts
        scored together are the checks of one stream."""
        memos = {id(p.memo): p.memo for p in parts if p is not None}
        if len(memos) != 1 or any(p is None for p in parts):
            return None
        shared = next(iter(memos.values()))
        key = f"toxicity:scores:{id(self)}"
        found = shared.get(key)
        if not isinstance(found, ScoreMemo):
            found = shared[key] = ScoreMemo()
        return found

    def _remembered(
        self, texts: Sequence[str], plans: Sequence[Sequence[tuple[int, int]]], loaded: _Loaded, memo: ScoreMemo
    ) -> tuple[list[tuple[list[str], set[int]]], list[list[Mapping[str, float]]]]:
        """:meth:`_fit` and :meth:`_scored_rows` for the texts of one stream's check: a window ``memo`` keeps (its
        pieces' worst scores, and whether one was truncated) is neither tokenized nor scored again; the others are,
        and are kept. Returns, per text, its window pieces (none for the windows kept; the indices of the windows
        with a truncated piece) and the scores of its windows."""
        keys = [[memo.key(text[s:e]) for s, e in spans] for text, spans in zip(texts, plans, strict=True)]
        todo: list[list[int]] = []
        fitted: list[tuple[list[str], set[int]]] = []
        pieces_of: list[list[list[str]]] = []
        for text, spans, ks in zip(texts, plans, keys, strict=True):
            missing = [j for j, k in enumerate(ks) if memo.get(k) is None]
            todo.append(missing)
            pieces, truncated = self._fit_each(text, [spans[j] for j in missing], loaded)
            pieces_of.append(pieces)
            fitted.append(([w for ws in pieces for w in ws], {missing[j] for j in truncated}))
        rows_of = self._scored_rows(fitted, loaded)
        out: list[list[Mapping[str, float]]] = []
        for ks, missing, pieces, rows, (_, truncated) in zip(keys, todo, pieces_of, rows_of, fitted, strict=True):
            at = 0
            for j, ws in zip(missing, pieces, strict=True):
                window_rows = rows[at : at + len(ws)]
                at += len(ws)
                worst = {label: max(r[label] for r in window_rows) for label in loaded.labels}
                memo.put(ks[j], worst, truncated=j in truncated)
            kept = [memo.get(k) for k in ks]
            out.append([found[0] for found in kept if found is not None])
            truncated.update(j for j, found in enumerate(kept) if found is not None and found[1])
        return fitted, out

    def score_windows(self, windows: Sequence[str]) -> list[dict[str, float]]:
        """Detoxify's scores for each given window text (symbols spaced as in :meth:`detect`), unmapped.

        For audits, tests and benchmarks: a window longer than the model accepts is truncated here.
        """
        return self._predict([separate_symbols(w) for w in windows], self._model())

    def describe(self) -> Mapping[str, Any]:
        o = self.options
        out: dict[str, Any] = {
            "name": self.name,
            "categories": list(self.categories),
            "model": o.model if o.checkpoint is None else None,
            "checkpoint": str(o.checkpoint) if o.checkpoint is not None else None,
            "labels": {k: r.model_dump() for k, r in self.rules.items()},
            "window_chars": o.window_chars,
            "window_overlap": o.window_overlap,
            "max_windows": o.max_windows,
            "on_partial": o.on_partial,
            "loaded": self._loaded is not None,
        }
        if self._loaded is not None:
            out["model_labels"] = list(self._loaded.labels)
            out["source"] = self._loaded.source
        if self._failure is not None:
            out["failure"] = str(self._failure)
            out["unavailable"] = isinstance(self._failure, DetectorUnavailable)
        return out

    # ---- scoring

    def _findings(self, best: Mapping[str, float]) -> list[Finding]:
        found: list[Finding] = []
        for label, rule in self.rules.items():
            if label not in best:
                continue
            score = min(1.0, max(0.0, float(best[label])))
            if score >= rule.min_score:
                found.append(Finding(detector=self.name, category=rule.category, score=score, label=label))
        return found

    def _window_note(self, whole: Sequence[tuple[int, int]], needed: Sequence[tuple[int, int]]) -> Finding:
        """The note on a text of which only the windows ``whole`` of those ``needed`` were read whole.

        Label: the two counts; score: the share of the characters in the needed windows outside every
        window read whole (a truncated window's characters count as unread, though its start was read).
        """
        unread = 1.0 - _covered(whole) / _covered(needed)
        return Finding(
            detector=self.name,
            category=None,
            score=min(1.0, max(0.0, unread)),
            label=f"{WINDOW_LIMIT_LABEL}:{len(whole)}/{len(needed)}",
        )

    def _partial_error(self, i: int, texts: Sequence[str], why: str, whole: int, needed: int) -> DetectorError:
        return DetectorError(
            f"text {i + 1} of {len(texts)} ({len(texts[i])} characters) {why}: {whole} of {needed} windows would be "
            "read whole, and on_partial: fail does not judge a text in part (raise max_windows, or set "
            "on_partial: note to score a sample and note it)",
            detector=self.name,
        )

    def _fit(self, text: str, spans: Sequence[tuple[int, int]], loaded: _Loaded) -> tuple[list[str], set[int]]:
        """Window texts, split further where a window tokenizes longer than the model accepts, and the indices
        of the ``spans`` that keep a piece the model will truncate (split budget spent)."""
        done, truncated = self._fit_pieces(text, spans, loaded)
        return [w for _, w in done], truncated

    def _fit_each(
        self, text: str, spans: Sequence[tuple[int, int]], loaded: _Loaded
    ) -> tuple[list[list[str]], set[int]]:
        """:meth:`_fit`, with the pieces of each span apart (in the order of ``spans``)."""
        done, truncated = self._fit_pieces(text, spans, loaded)
        pieces: list[list[str]] = [[] for _ in spans]
        for k, w in done:
            pieces[k].append(w)
        return pieces, truncated

    def _fit_pieces(
        self, text: str, spans: Sequence[tuple[int, int]], loaded: _Loaded
    ) -> tuple[list[tuple[int, str]], set[int]]:
        """:meth:`_fit`'s pieces, each with the index of its span."""
        pending = [(k, separate_symbols(text[s:e])) for k, (s, e) in enumerate(spans)]
        done: list[tuple[int, str]] = []
        truncated: set[int] = set()
        budget = 4 * self.options.max_windows  # splitting never more than quadruples the work per text
        for round_ in range(_SPLIT_ROUNDS + 1):  # the last round only measures the last split's pieces
            if not pending:
                break
            lengths = self._token_lengths([w for _, w in pending], loaded)
            again: list[tuple[int, str]] = []
            for i, ((k, w), n) in enumerate(zip(pending, lengths, strict=True)):
                if n <= loaded.max_tokens:
                    done.append((k, w))
                    continue
                room = budget - len(done) - len(again) - (len(pending) - i)
                if round_ == _SPLIT_ROUNDS or len(w) < 16 or room < 1:
                    done.append((k, w))  # Detoxify truncates this one
                    truncated.add(k)
                else:
                    half, pad = len(w) // 2, min(len(w) // 8, self.options.window_overlap // 2)
                    again.extend([(k, w[: half + pad]), (k, w[half - pad :])])
            pending = again
        return done, truncated

    def _token_lengths(self, windows: list[str], loaded: _Loaded) -> list[int]:
        tok = loaded.detoxify.tokenizer
        try:
            with self._predict_lock, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                enc = tok(windows, add_special_tokens=True, truncation=False, padding=False)
        except Exception as exc:
            # its message or a chained cause may quote the input: keep only the type
            raise_detached(DetectorError(f"tokenizing failed ({type(exc).__name__})", detector=self.name))
        return [len(ids) for ids in enc["input_ids"]]

    def _predict(self, windows: list[str], loaded: _Loaded) -> list[dict[str, float]]:
        if not windows:
            return []
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        results: list[dict[str, float]] = [{} for _ in windows]
        size = self.options.batch_size
        for b in range(0, len(order), size):
            idx = order[b : b + size]
            batch = [windows[i] for i in idx]
            try:
                with self._predict_lock:
                    raw = loaded.detoxify.predict(batch)
            except Exception as exc:
                # its message or a chained cause may quote the input: keep only the type
                raise_detached(DetectorError(f"Detoxify prediction failed ({type(exc).__name__})", detector=self.name))
            for label in loaded.labels:
                values = raw[label]
                if not isinstance(values, list):
                    values = [values]
                for i, v in zip(idx, values, strict=True):
                    score = float(v)
                    if not math.isfinite(score):  # a broken checkpoint: never read as "not toxic"
                        raise DetectorError(f"Detoxify gave a non-finite {label} score", detector=self.name)
                    results[i][label] = score
        return results

    # ---- loading

    def _model(self) -> _Loaded:
        if self._loaded is not None:
            return self._loaded
        if self._failure is not None:
            raise self._failure
        with self._load_lock:
            if self._loaded is not None:
                return self._loaded
            if self._failure is not None:
                raise self._failure
            try:
                try:
                    self._loaded = self._load()
                except DetectorError:
                    raise
                except Exception as exc:  # a malformed checkpoint (num_classes: "seven"): one failure, kept
                    raise DetectorError(
                        f"cannot load the toxicity model ({type(exc).__name__}: {_first_line(exc)})",
                        detector=self.name,
                    ) from None
            except DetectorError as exc:
                self._failure = exc
                logger.warning(
                    "toxicity detector %s: %s", "unavailable" if isinstance(exc, DetectorUnavailable) else "failed", exc
                )
                raise
            return self._loaded

    def _load(self) -> _Loaded:
        o = self.options
        # find the checkpoint before importing torch: a missing model is reported in microseconds
        path, trusted = self._resolve_checkpoint()
        try:
            import torch
            import transformers
            from detoxify import detoxify as detoxify_module
        except ImportError as exc:
            raise DetectorUnavailable(
                f"the detoxify package or one of its dependencies is not installed ({exc.name}); pip install detoxify",
                detector=self.name,
            ) from None
        _configure_torch_threads(torch, o.torch_threads)
        loaded = read_checkpoint(path, trusted=trusted)
        arch = _checkpoint_arch(loaded, path)
        classes = [_CLASS_RENAMES.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"]]
        folder = self._resolve_hf_folder(str(arch["model_type"]), path)
        state = dict(loaded["state_dict"])
        if all(str(k).startswith("model.") for k in state):  # a PyTorch Lightning module's state, wrapper included
            state = {str(k)[len("model.") :]: v for k, v in state.items()}
        model_class = getattr(transformers, str(arch["model_name"]), None)
        if model_class is None or not str(arch["model_name"]).endswith("ForSequenceClassification"):
            raise DetectorError(
                f"checkpoint {path} names model class {arch['model_name']!r}, not a transformers "
                "*ForSequenceClassification class",
                detector=self.name,
            )
        try:
            with _QuietTransformers(transformers):
                model, tokenizer = detoxify_module.get_model_and_tokenizer(
                    model_type=str(folder),
                    model_name=str(arch["model_name"]),
                    tokenizer_name=str(arch["tokenizer_name"]),
                    num_classes=int(arch["num_classes"]),
                    state_dict=state,
                    huggingface_config_path=None,
                )
        except Exception as exc:
            raise DetectorError(
                f"cannot build the model from checkpoint {path} with the config and tokenizer in {folder}: "
                f"{type(exc).__name__}: {_first_line(exc)}",
                detector=self.name,
            ) from None
        not_loaded = _weights_not_loaded(model.state_dict(), state)
        if not_loaded:
            raise DetectorError(
                f"checkpoint {path} does not fit {arch['model_name']}: {len(not_loaded)} weights were not loaded "
                f"from it (e.g. {not_loaded[0]!r}); it is not a Detoxify checkpoint for this architecture",
                detector=self.name,
            )
        instance = detoxify_module.Detoxify.__new__(detoxify_module.Detoxify)
        instance.model, instance.tokenizer, instance.class_names, instance.device = model, tokenizer, classes, o.device
        instance.model.to(o.device)
        instance.model.eval()
        max_tokens = _max_tokens(tokenizer, model)
        # Detoxify truncates to the tokenizer's model_max_length: one the tokenizer lacks (a huge default) would let a
        # window past the model's positions crash the whole text
        tokenizer.model_max_length = max_tokens
        # windows are measured untruncated on purpose (then split): silence the tokenizer's one-off length warning
        warned = getattr(tokenizer, "deprecation_warnings", None)
        if isinstance(warned, dict):
            warned["sequence-length-is-longer-than-the-specified-maximum"] = True
        source = str(path)
        logger.info("toxicity detector loaded %s (%d labels, %d tokens max)", source, len(classes), max_tokens)
        return _Loaded(detoxify=instance, labels=tuple(classes), max_tokens=max_tokens, source=source)

    def _resolve_checkpoint(self) -> tuple[Path, Callable[[], bool]]:
        o = self.options
        if o.checkpoint is not None:
            path = o.checkpoint.expanduser()
            if not path.is_file():
                raise DetectorUnavailable(
                    f"the configured Detoxify checkpoint {path} does not exist. {offline_howto(o.model)}",
                    detector=self.name,
                )
            return path, lambda: o.trust_checkpoint
        release = RELEASES[o.model]
        cached = torch_hub_checkpoints_dir() / release.filename
        if not cached.is_file():
            if not o.download:
                raise DetectorUnavailable(
                    f"the Detoxify {o.model!r} checkpoint is not in {cached.parent} and download is off. "
                    f"{offline_howto(o.model)} {_DOWNLOAD_OPT_IN}",
                    detector=self.name,
                )
            try:
                download_release(release, cached.parent)
            except Exception as exc:
                raise DetectorUnavailable(
                    f"the Detoxify {o.model!r} checkpoint is not on this machine and could not be downloaded "
                    f"({type(exc).__name__}: {_first_line(exc)}). {offline_howto(o.model)}",
                    detector=self.name,
                ) from None
        return cached, lambda: o.trust_checkpoint or release_hash_matches(release, cached)

    def _resolve_hf_folder(self, model_type: str, checkpoint: Path) -> Path:
        """A local folder with config + tokenizer for the checkpoint's ``model_type``."""
        o = self.options
        if o.huggingface_config_path is not None:
            folder = o.huggingface_config_path.expanduser()
            if not (folder / "config.json").is_file():
                raise DetectorUnavailable(
                    f"huggingface_config_path {folder} has no config.json; it must hold the config and tokenizer "
                    f"files of {model_type!r} (`guardrails models fetch` prepares such a folder)",
                    detector=self.name,
                )
            return folder
        local = Path(model_type).expanduser()
        if local.is_dir():
            return local
        try:
            return hf_snapshot(model_type, download=False)
        except Exception:
            pass
        if o.download:
            try:
                return hf_snapshot(model_type, download=True)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {_first_line(exc)}"
        else:
            reason = "download is off"
        raise DetectorUnavailable(
            f"checkpoint {checkpoint} names the hub model {model_type!r} for its config and tokenizer, which is not "
            f"in the local Hugging Face cache ({reason}). Set huggingface_config_path to a local folder with that "
            "model's config and tokenizer files (`guardrails models fetch` prepares one)"
            + ("" if o.download else f". {_DOWNLOAD_OPT_IN}"),
            detector=self.name,
        )


# --------------------------------------------------------------------------- helpers (lazy heavy imports)


def read_checkpoint(path: Path, *, trusted: Callable[[], bool] | bool = False) -> dict[str, Any]:
    """Read a Detoxify checkpoint safely; DetectorError naming the file when it is not one.

    The file is read with ``weights_only=True`` (tensors and plain containers only). A file
    that holds other Python objects is unpickled only when ``trusted`` says so, since
    unpickling can run code.
    """
    import pickle

    import torch

    def _load(weights_only: bool) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(str(path), map_location="cpu", weights_only=weights_only)

    try:
        loaded = _load(True)
    except pickle.UnpicklingError as exc:
        m = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if m is None:
            raise DetectorError(
                f"cannot read checkpoint {path}: not a PyTorch checkpoint, or the file is damaged",
                detector=DETECTOR,
            ) from None
        is_trusted = trusted() if callable(trusted) else trusted
        if not is_trusted:
            raise DetectorError(
                f"checkpoint {path} holds Python objects besides tensors and plain containers ({m.group(1)}); "
                "refusing to unpickle it, since that can run code. If the file comes from a source you trust, "
                "set trust_checkpoint: true, or re-save it as a plain dict with 'config' and 'state_dict'",
                detector=DETECTOR,
            ) from None
        try:
            loaded = _load(False)
        except Exception as exc2:
            raise DetectorError(
                f"cannot read checkpoint {path}: {type(exc2).__name__}: {_first_line(exc2)}", detector=DETECTOR
            ) from None
    except FileNotFoundError:
        raise DetectorUnavailable(f"checkpoint {path} does not exist", detector=DETECTOR) from None
    except Exception as exc:
        raise DetectorError(
            f"cannot read checkpoint {path}: not a PyTorch checkpoint, or the file is damaged ({type(exc).__name__})",
            detector=DETECTOR,
        ) from None
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise DetectorError(
            f"checkpoint {path} is not in Detoxify's format: expected a dict with 'config' and 'state_dict', "
            f"got {type(loaded).__name__}",
            detector=DETECTOR,
        )
    return loaded


def _checkpoint_arch(loaded: Mapping[str, Any], path: Path) -> Mapping[str, Any]:
    try:
        arch = loaded["config"]["arch"]["args"]
        classes = loaded["config"]["dataset"]["args"]["classes"]
        state = loaded["state_dict"]
    except (KeyError, TypeError):
        raise DetectorError(
            f"checkpoint {path} is not in Detoxify's format: "
            "config.arch.args and config.dataset.args.classes are needed",
            detector=DETECTOR,
        ) from None
    needed = ("model_type", "model_name", "tokenizer_name", "num_classes")
    missing = [k for k in needed if not isinstance(arch, Mapping) or k not in arch]
    if missing:
        raise DetectorError(f"checkpoint {path}: config.arch.args lacks {', '.join(missing)}", detector=DETECTOR)
    assert isinstance(arch, Mapping)
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise DetectorError(f"checkpoint {path}: config.dataset.args.classes is not a list of names", detector=DETECTOR)
    if not isinstance(state, Mapping) or not state:
        raise DetectorError(f"checkpoint {path}: state_dict is empty or not a mapping", detector=DETECTOR)
    if int(arch["num_classes"]) != len(classes):
        raise DetectorError(
            f"checkpoint {path}: num_classes {arch['num_classes']} but {len(classes)} class names", detector=DETECTOR
        )
    return arch


def _weights_not_loaded(model_state: Mapping[str, Any], checkpoint_state: Mapping[str, Any]) -> list[str]:
    """Model weights that do not hold the checkpoint's values (missing keys load silently as random init).

    Keys are matched by their dotted suffixes (at least two parts), so a checkpoint saved with
    or without a wrapper prefix (``model.``) or the base-model prefix (``bert.``) still matches.
    """
    by_suffix: dict[str, Any] = {}
    for key, tensor in checkpoint_state.items():
        parts = str(key).split(".")
        for i in range(len(parts) - 1):
            by_suffix.setdefault(".".join(parts[i:]), tensor)
    bad: list[str] = []
    for key, value in model_state.items():
        if key.endswith(("position_ids", "token_type_ids")):
            continue  # buffers, not weights
        parts = key.split(".")
        source = next((by_suffix[s] for i in range(len(parts) - 1) if (s := ".".join(parts[i:])) in by_suffix), None)
        if (
            source is None
            or tuple(source.shape) != tuple(value.shape)
            or not bool((source.to(value.dtype) == value).all())
        ):
            bad.append(key)
    return bad


def release_hash_matches(release: DetoxifyRelease, path: Path) -> bool:
    """True when the file's sha256 starts with the hash in the release file name."""
    prefix = release.sha256_prefix
    if prefix is None or not path.is_file():
        return False
    return file_sha256(path).startswith(prefix)


def download_release(release: DetoxifyRelease, dest_dir: Path, *, timeout: float = 30.0) -> Path:
    """Download a Detoxify release checkpoint into ``dest_dir`` atomically, checking its hash prefix."""
    import tempfile
    import urllib.request

    target = dest_dir / release.filename
    h = hashlib.sha256()
    with urllib.request.urlopen(release.url, timeout=timeout) as resp:  # a fixed https URL
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=release.filename + ".", suffix=".partial", dir=dest_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for block in iter(lambda: resp.read(1 << 20), b""):
                    h.update(block)
                    out.write(block)
            prefix = release.sha256_prefix
            if prefix and not h.hexdigest().startswith(prefix):
                raise DetectorError(
                    f"downloaded {release.url} but its sha256 does not start with {prefix}; not saved",
                    detector=DETECTOR,
                )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


def hf_snapshot(repo_id: str, *, download: bool, local_dir: Path | None = None) -> Path:
    """A local folder with ``repo_id``'s config and tokenizer files (the HF cache, or ``local_dir``)."""
    from huggingface_hub import snapshot_download

    folder = snapshot_download(
        repo_id,
        allow_patterns=list(HF_FILE_PATTERNS),
        local_files_only=not download,
        local_dir=str(local_dir) if local_dir is not None else None,
    )
    path = Path(folder)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{repo_id}: no config.json in {path}")
    return path


_threads_configured = False
_threads_lock = threading.Lock()


def _configure_torch_threads(torch: Any, requested: int | None) -> None:
    """Set torch's intra-op threads once per process, when a model first loads (never at import)."""
    global _threads_configured
    from guardrails._forks import torch_threads, torch_threads_started

    with _threads_lock:
        torch_threads_started()
        if _threads_configured and requested is None:
            return
        wanted = torch_threads(requested or default_threads())
        if requested is not None or torch.get_num_threads() > wanted:
            torch.set_num_threads(wanted)
        _threads_configured = True


class _QuietTransformers:
    """Silence transformers' progress bars and load reports while loading, then restore them."""

    def __init__(self, transformers: Any) -> None:
        self._logging = transformers.utils.logging
        self._bar = True
        self._level = 0

    def __enter__(self) -> None:
        self._bar = self._logging.is_progress_bar_enabled()
        self._level = self._logging.get_verbosity()
        self._logging.disable_progress_bar()
        self._logging.set_verbosity_error()

    def __exit__(self, *exc: object) -> None:
        if self._bar:
            self._logging.enable_progress_bar()
        self._logging.set_verbosity(self._level)


def _max_tokens(tokenizer: Any, model: Any) -> int:
    limits = [int(getattr(tokenizer, "model_max_length", 0) or 0)]
    positions = int(getattr(model.config, "max_position_embeddings", 0) or 0)
    if positions:
        # RoBERTa-style models reserve two positions (padding offset)
        limits.append(
            positions - 2 if getattr(model.config, "model_type", "") in ("roberta", "xlm-roberta") else positions
        )
    usable = [n for n in limits if 0 < n < 1_000_000]
    return min(usable) if usable else 512


#: the words a view is compared by (letters, so a symbol NFKC spells out in digits adds none)
_WORDS = re.compile(r"[^\W\d_]+")


def _worst(found: Sequence[Finding], more: Sequence[Finding]) -> list[Finding]:
    """``found`` with the findings of ``more`` merged in: per label, the higher score."""
    by_label = {f.label: f for f in found}
    extra: list[Finding] = []
    for f in more:
        have = by_label.get(f.label)
        if have is None:
            extra.append(f)
        elif f.score > have.score:
            by_label[f.label] = f
    return [by_label.get(f.label, f) for f in found] + extra


def _first_line(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:limit] if text else ""


__all__ = [
    "KNOWN_LABELS",
    "RELEASES",
    "WINDOW_LIMIT_LABEL",
    "DetoxifyRelease",
    "LabelRule",
    "ToxicityDetector",
    "ToxicityOptions",
    "count_windows",
    "load_label_mapping",
    "offline_howto",
    "plan_windows",
    "read_checkpoint",
    "separate_symbols",
    "torch_hub_checkpoints_dir",
]
