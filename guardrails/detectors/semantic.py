"""Semantic detector: the trained usage-policy classifier over MiniLM embeddings.

Classifies each text into the prohibited, crisis and domain categories of the
taxonomy with the artefact built by ``python -m guardrails.classifier.fit``
(configs/classifier/model.npz). Scores are calibrated so that a category's
fitted threshold maps to 0.5 (the profiles' default threshold).

* **Views**: the raw text and each normalized view (:func:`guardrails.normalize.views`) are
  judged; per category the most severe wins. A segment that a decoder read (base64, hex,
  rot13) is judged in its decoded view and masked (``[encoded text]``) in the others: the
  classifier reads undecoded gibberish as anything but harmless. Encoded data that decodes to no
  text (a data: URI's image, a checksum, a key) is masked (``[encoded data]``) in every view.
* **Long texts** are embedded in 256-token windows; the worst window wins. A user's text longer than one window
  is read sentence by sentence; an answer's in sliding windows of whole sentences (``long_answer_window_tokens``),
  each counting for a harmful category only at ``long_answer_min_score`` or more; its domain is what
  ``long_answer_domain_share`` of its windows show (its subject, for the disclaimer), not its highest window.
* **Multi-turn**: with history, the latest turn is also judged joined with each earlier user
  turn alone (a benign turn in between does not dilute the turn that carries the intent) and
  with all of them (intent spread over the whole window). For a category, a joined text counts only
  where it scores above the latest turn alone, each of its earlier turns alone and those
  earlier turns joined, and where none of those earlier turns (alone or joined) already
  reached ``history_handled_score``: that turn was judged, and refused, referred or
  disclaimed, when it was the latest, so it does not re-trigger on its own (a benign
  follow-up to a refused request is judged as itself). Where the earlier turns showed no harm of their own,
  a join that would decide a category that is not persistent counts only where it also beats those turns joined
  with each of ``history_neutral_turns`` (follow-ups that say nothing: the latest turn must add to the join).
  A persistent kind (a crisis) an earlier turn showed stays in force while the latest turn goes on with it (their
  join reaches it) or leans towards harm (``history_persistent_lean``).
  Each turn is read in its most
  de-obfuscated view, and only its last (the latest turn: first) ``HISTORY_TURN_CHARS``
  characters join. Scores of earlier turns are kept in a small LRU keyed by salted
  hashes, so a conversation's turns are not embedded again at every step.
* **Language**: a text that is confidently not English, or holds a stretch that is, in any of the
  views judged (invisible characters removed, decoded segments read), yields a finding with
  ``category=None`` and ``label="language:<ISO 639-1 code>"`` (score = confidence)
  so the policy can apply ``unsupported_language``.
* **No letters**: a text without a letter in any view (a number) is not judged by the classifier alone.
* **Stages**: user turns and the model's answers are judged by separate artefacts when the
  profile says so (``output_model``; by default the shipped ``output-model.npz``, fitted with
  answer-register rows, judges answers): a news report of an attack is an ordinary answer,
  while a request to write one may be disinformation.
* **Sharing**: each embedded view is stored in ``DetectContext.cache`` under
  ``"embedding:<view>"`` (a float32 ``(windows, 384)`` matrix) for other heads.

Heavy modules (onnxruntime, tokenizers, torch) load lazily on first use.
"""

from __future__ import annotations

import inspect
import math
import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from guardrails._lru import LRU
from guardrails.audit import salted_hash
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.errors import DetectorError, DetectorUnavailable, raise_detached
from guardrails.language import detect_language, load_identifier
from guardrails.taxonomy import Taxonomy, load_taxonomy
from guardrails.types import PASSAGE_LABEL, Finding, Stage

#: the view name of the latest turn joined with the history window
HISTORY_VIEW = "history"
#: how much of each turn joins the others in a history view: the end of an earlier turn, the start of the latest
HISTORY_TURN_CHARS = 2000
#: how many score vectors of earlier turns (and of their joins) a detector keeps, per artefact
HISTORY_CACHE_SIZE = 4096
#: the views that stand for the text decoded; preferred, in this order, as a turn's readable form
_DECODED_VIEWS = ("base64", "hex", "rot13")
LANGUAGE_LABEL = "language:"
#: the views of ``DetectContext.pieces`` are named ``piece<i>:<view>`` (the first piece is 1)
PIECE_VIEW = "piece"
#: with ``sentences``, each sentence of a view is a view named ``sentence<i>:<view>`` (the first sentence is 1)
SENTENCE_VIEW = "sentence"
#: the key of an earlier turn's sentence among the scored strings (and in the LRU of kept scores): its scores as
#: a sentence alone counts for, which differ from the same string's as a whole turn
_SENTENCE_KEY = "\x00sentence\x00"
#: ``scored[_PASSAGE_KEY + s]``: a long answer's highest window per domain category (``long_answer_domain_share``)
_PASSAGE_KEY = "\x00passage\x00"
_ALNUM = re.compile(r"[^\W_]", re.UNICODE)
#: a letter: a text with none in any view (digits, punctuation, emoji) is not judged by the classifier
_LETTER = re.compile(r"[^\W\d_]")


#: redaction placeholders (``<PERSON_1>``, hashed ``<PERSON:3fa2c1>``) produced by this library
_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)(?:_\d+|:[0-9a-f]{4,64})>")
#: what a placeholder stands for when the text is classified: an ordinary value of that type,
#: so that an answer addressed to "<PERSON_1>" reads like one addressed to a person
_SURROGATES = {
    "PERSON": "Alex",
    "EMAIL_ADDRESS": "alex@example.com",
    "PHONE_NUMBER": "555 0100",
    "LOCATION": "Main Street",
    "CREDIT_CARD": "my card",
    "IBAN_CODE": "my account",
    "US_SSN": "my number",
    "DATE_TIME": "Monday",
    "IP_ADDRESS": "the server",
    "MEDICAL_RECORD_NUMBER": "100200",
    "AGE_OVER_89": "90",
}


def neutralize_placeholders(text: str) -> str:
    """Replace redaction placeholders by ordinary values of their type before classification.

    Placeholders are an artefact of this library's own redaction; left in place they make
    harmless answers ("Kind regards, <PERSON_1>") look unusual to the classifier. A label with no
    surrogate (a custom entity, or anyone's text in that shape) is read as its words, never dropped:
    ``<EMPLOYEE_ID_1>`` reads "employee id", and a request written as ``<BUILD_A_PIPE_BOMB_1>`` is
    judged as "build a pipe bomb".
    """
    if "<" not in text:
        return text
    return _PLACEHOLDER.sub(_surrogate, text)


def _surrogate(placeholder: re.Match[str]) -> str:
    """What the classifier reads for a placeholder: an ordinary value of its type, or its label's words."""
    return _SURROGATES.get(placeholder.group(1)) or placeholder.group(1).replace("_", " ").lower()


class SemanticOptions(BaseModel):
    """Options of the semantic detector (``detectors.semantic.options`` in a profile)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: classifier artefact (default: the shipped configs/classifier/model.npz)
    model: str | None = None
    #: artefact for the output stage (the model's answers): "same" as ``model``, or a path. Default: the shipped
    #: configs/classifier/output-model.npz when ``model`` is the default too, else ``model``
    output_model: str | None = None
    #: artefact that scores the crisis and domain categories of the artefact judging user turns (its prohibited
    #: scores stay): a path, "none", or None for the shipped configs/classifier/crisis-model.npz when ``model`` is
    #: the default too. It must share that artefact's encoder adapter. It also serves the output stage when
    #: ``output_model`` is "same" (see guardrails.classifier.combined)
    crisis_model: str | None = None
    #: emit only these category ids (default: every category the artefact knows)
    categories: tuple[str, ...] | None = None
    #: judge the raw text only, or the raw text and its normalized views
    views: Literal["all", "raw"] = "all"
    max_views: int = Field(default=8, ge=1, le=8)
    #: judge the latest turn joined with the history window as well
    history: bool = True
    #: a joined text must beat the latest turn alone and its earlier turns (alone and joined) by at least this much
    history_margin: float = Field(default=0.0, ge=0.0, le=1.0)
    #: follow-ups that say nothing: a join of earlier turns with the latest that reaches ``history_handled_score``
    #: for a category that is not persistent counts only where it beats each of these joined with the same turns
    #: (the encoder reads "can you make it shorter?" after a question about a genocide as violent); empty: no test.
    #: A join below ``history_handled_score`` is not tested (a profile with lower thresholds lowers that score too)
    history_neutral_turns: tuple[str, ...] = Field(
        default=("ok", "thanks", "tell me more", "can you make it shorter?"), max_length=8
    )
    #: a persistent kind (a crisis) that an earlier turn in the window showed also stays in force, whatever the join
    #: scores for it, when the latest turn, alone or joined with that turn, scores at least this for any prohibited
    #: category: a follow-up that leans towards harm ("which bridge is the tallest?"); None: only the join keeps it
    history_persistent_lean: float | None = Field(default=0.3, gt=0.0, le=1.0)
    #: an earlier turn (or join of earlier turns) scoring at least this for a category was judged for it already
    #: (0.5 is each category's calibrated threshold); it does not make a later turn count for that category
    history_handled_score: float = Field(default=0.5, gt=0.0, le=1.0)
    #: kinds an earlier turn keeps in force while it is in the window, whatever the latest turn says: by default a
    #: crisis, so a follow-up ("what's the quickest way?") is never handed to the model as if it stood alone
    history_persistent_kinds: tuple[Literal["prohibited", "crisis", "domain"], ...] = ("crisis",)
    #: judge each piece of a text alone as well (``DetectContext.pieces``: an answer's text and tool-call arguments);
    #: off by default: on our held-out tool calls it refused 0.57 -> 0.77 of the harmful ones and 7.8% -> 10.0% of
    #: the benign ones (README, tool calls)
    pieces: bool = False
    #: a category counts from a piece alone only at this score or more (the whole text's threshold is 0.5): a lone
    #: argument is out of the classifier's usual reading, and ordinary ones (a clinic's name, a friendly email about
    #: a scam warning) score high for some category far more often than whole answers do (README, tool calls)
    piece_min_score: float = Field(default=0.96, ge=0.0, le=1.0)
    #: judge each sentence of a user turn that fits one window alone as well, so a harmful request padded with
    #: harmless sentences is not averaged away; off by default (README, "Dilution": it catches more padded requests
    #: and flags more multi-sentence look-alikes). Never an answer's sentences: on our answers set that blocked
    #: 28% of the harmless answers (3.7% whole), as a sentence of safety advice alone reads like the harm it warns of
    sentences: bool = False
    #: a prohibited or crisis category counts from a sentence judged alone (``sentences``) only where the sentence
    #: resembles a harmful exemplar the classifier was fitted on: its nearest one at this cosine or more. A lone
    #: sentence of technical or legal prose is far from every request, and there the heads extrapolate
    sentence_min_support: float = Field(default=0.6, ge=0.0, le=1.0)
    #: the same for each window of a text longer than one window (judged sentence by sentence); 0 (the default)
    #: counts every window, so a harmful sentence in pages of anything is caught, at the price of refusing most
    #: long documents (README, "Long documents")
    long_text_min_support: float = Field(default=0.0, ge=0.0, le=1.0)
    #: an answer (the output stage) longer than one window is read in sliding windows of the whole sentences that
    #: fit in this many word pieces (``Encoder._long_text_pieces``); None reads it sentence by sentence, as a user's
    #: long text. A sentence of an ordinary answer out of its context is text the answers' classifier never saw, and
    #: with one test per sentence nearly every long answer was refused (24 of 30 ordinary answers of 300-400 words;
    #: README, "Long answers")
    long_answer_window_tokens: int | None = Field(default=80, ge=6, le=254)
    #: a window of such an answer counts for a prohibited or crisis category only at this score or more (0.5 is
    #: the calibrated threshold, 0 counts every window): the more windows an answer has, the more chances one of
    #: them has to cross the threshold by chance
    long_answer_min_score: float = Field(default=0.9, ge=0.0, le=1.0)
    #: a domain (medical, legal, financial, news) of such an answer scores what at least this share of its windows
    #: reach (the k-th highest window, k = share x windows rounded up), so the answer's subject decides its
    #: disclaimer, not one sentence (a sourdough recipe's "wash your hands" is no medical answer); 0 takes the
    #: highest window, as for a short answer. Chosen on the 40 calibration answers (README, "Long answers")
    long_answer_domain_share: float = Field(default=0.35, ge=0.0, le=1.0)
    #: noise floor: scores below it are not reported
    min_score: float = Field(default=0.05, ge=0.0, le=1.0)
    #: detect non-English text and report it as a ``language:<code>`` finding
    language: bool = True
    language_min_confidence: float = Field(default=0.9, ge=0.0, le=1.0)
    backend: Literal["auto", "onnx", "torch"] = "auto"
    batch_size: int = Field(default=64, ge=1, le=1024)

    @field_validator("history_neutral_turns")
    @classmethod
    def _short_plain_turns(cls, turns: tuple[str, ...]) -> tuple[str, ...]:
        for t in turns:
            if not t.strip() or len(t) > 200:
                raise ValueError(f"history_neutral_turns: each must be 1-200 characters of text, got {t!r}")
        return turns


def _all_ids() -> tuple[str, ...]:
    try:
        return load_taxonomy().ids()
    except Exception:
        return ()


class SemanticDetector(BaseDetector):
    """The trained classifier for prohibited, crisis and domain categories (see the module docstring)."""

    name: ClassVar[str] = "semantic"
    detects_language: ClassVar[bool] = True
    categories: tuple[str, ...] = _all_ids()
    Options: ClassVar[type[SemanticOptions]] = SemanticOptions

    def __init__(
        self, *, options: SemanticOptions | None = None, taxonomy: Taxonomy | None = None, encoder: Any = None
    ) -> None:
        self.options = options or SemanticOptions()
        self.taxonomy = taxonomy or load_taxonomy()
        if self.options.categories is not None:
            self.categories = tuple(self.options.categories)
        # an injected encoder (a test's, or another backend) serves both stages, so it must apply the encoder adapter
        # of each stage's artefact it is used for (its ``adapter_sha256``): else that stage fails with a DetectorError
        self._injected_encoder = encoder
        self._heads: dict[str, _Head] = {}  # by artefact path: the input head, and the output one when it differs
        self._by_stage: dict[Stage, _Head] = {}
        self._lang: Any = None
        self._langid_loaded = False
        self._lock = threading.Lock()
        # score vectors of history strings by (artefact, salted hash): no text is kept
        self._history_scores: LRU[tuple[str, str], np.ndarray] = LRU(HISTORY_CACHE_SIZE)
        self._history_salt = secrets.token_bytes(16)

    @classmethod
    def from_options(cls, options: SemanticOptions, *, taxonomy: Taxonomy) -> SemanticDetector:
        """Build the detector from validated profile options (nothing is loaded yet)."""
        return cls(options=options, taxonomy=taxonomy)

    @classmethod
    def check_options(cls, options: SemanticOptions, *, taxonomy: Taxonomy) -> None:
        """Reject unknown category ids and a model path that does not exist."""
        for cid in options.categories or ():
            if cid not in taxonomy:
                raise ValueError(f"categories: unknown category id {cid!r}")
        if options.model is not None and not Path(options.model).expanduser().is_file():
            raise ValueError(f"model: classifier artefact {options.model!r} does not exist")
        out = options.output_model
        if out is not None and out != "same" and not Path(out).expanduser().is_file():
            raise ValueError(f"output_model: classifier artefact {out!r} does not exist")
        lender = options.crisis_model
        if lender is not None and lender != "none" and not Path(lender).expanduser().is_file():
            raise ValueError(f"crisis_model: classifier artefact {lender!r} does not exist")

    # ------------------------------------------------------------------ loading
    def warmup(self) -> None:
        """Load the encoders, the classifiers (both stages) and the language model now."""
        for stage in (Stage.INPUT, Stage.OUTPUT):
            self._head(stage).encoder.encode_windows(["warm up"])

    def _artefact(self, stage: Stage) -> Path:
        """The artefact that judges ``stage`` (see ``SemanticOptions.output_model``)."""
        from guardrails.classifier.model import default_model_path, default_output_model_path

        model = Path(self.options.model).expanduser() if self.options.model else None
        if stage is Stage.OUTPUT:
            out = self.options.output_model
            if out is not None and out != "same":
                return Path(out).expanduser()
            if out is None and model is None and default_output_model_path().is_file():
                return default_output_model_path()
        return model if model is not None else default_model_path()

    def _lender(self, stage: Stage) -> Path | None:
        """The artefact lending ``stage``'s artefact its crisis and domain scores (``crisis_model``), if any."""
        from guardrails.classifier.model import default_crisis_model_path, default_model_path

        if self._artefact(stage) != self._artefact(Stage.INPUT):
            return None  # the output stage's own artefact (fitted on answers) is used as it is
        lender = self.options.crisis_model
        if lender == "none":
            return None
        if lender is not None:
            return Path(lender).expanduser()
        shipped, model = default_crisis_model_path(), self.options.model
        default = model is None or Path(model).expanduser().resolve() == default_model_path().resolve()
        return shipped if default and shipped.is_file() else None

    def _head(self, stage: Stage) -> _Head:
        head = self._by_stage.get(stage)
        if head is not None:
            return head
        path, lender = self._artefact(stage), self._lender(stage)
        key = self._head_key(stage)
        with self._lock:
            head = self._heads.get(key)
            if head is None:
                head = self._heads[key] = self._load_head(path, lender, first=not self._heads)
            self._by_stage[stage] = head
            return head

    def _head_key(self, stage: Stage) -> str:
        """The key of ``stage``'s head among the loaded ones: its artefact, and the artefact lending to it."""
        lender = self._lender(stage)
        return f"{self._artefact(stage)}+{lender}" if lender is not None else str(self._artefact(stage))

    def _load_head(self, path: Path, lender: Path | None, *, first: bool) -> _Head:
        from guardrails.classifier.combined import CombinedModel
        from guardrails.classifier.model import ClassifierModel

        model: ClassifierModel | CombinedModel
        try:
            model = ClassifierModel.load(path)
            if lender is not None:
                lends = ClassifierModel.load(lender)
        except FileNotFoundError as exc:
            raise DetectorUnavailable(str(exc), detector=self.name) from None
        except (ValueError, KeyError, OSError) as exc:
            raise DetectorError(f"broken classifier artefact: {exc}", detector=self.name) from None
        if lender is not None:
            try:
                model = CombinedModel(model, lends)
            except ValueError as exc:
                raise DetectorError(f"{exc} (crisis_model {str(lender)!r})", detector=self.name) from None
        unknown = [c for c in model.categories if c not in self.taxonomy]
        if unknown:
            raise DetectorError(
                f"classifier artefact has categories not in the taxonomy: {unknown}", detector=self.name
            )
        if first and self.options.categories is None:
            self.categories = tuple(model.categories)  # custom categories of a re-fitted artefact too
        elif self._heads and set(model.categories) != set(next(iter(self._heads.values())).model.categories):
            raise DetectorError(
                f"the artefacts of the input and output stages know different categories ({path.name})",
                detector=self.name,
            )
        wanted = set(self.categories)
        emit = np.array([c in wanted for c in model.categories])
        encoder = self._injected_encoder
        if encoder is None:
            from guardrails.embeddings import Encoder, get_encoder

            backend = self.options.backend
            adapter = model.adapter
            try:
                encoder = (
                    get_encoder(adapter=adapter) if backend == "auto" else Encoder(backend=backend, adapter=adapter)
                )
            except ValueError as exc:  # a bad $GUARDRAILS_THREADS, say
                raise DetectorError(f"encoder: {exc}", detector=self.name) from None
        try:
            encoder.load()
        except (DetectorError, DetectorUnavailable):
            raise
        except ValueError as exc:  # a malformed adapter, or one for other base weights
            raise DetectorError(f"encoder: {exc}", detector=self.name) from None
        if self._injected_encoder is not None:
            self._check_injected_adapter(encoder, model.adapter, path)
        if self.options.language and not self._langid_loaded:
            self._lang = load_identifier()
            self._langid_loaded = True
        persistent = np.array([self._kind(c) in self.options.history_persistent_kinds for c in model.categories])
        harmful = np.array([self._kind(c) in ("prohibited", "crisis") for c in model.categories])
        # what a follow-up leans towards (``history_persistent_lean``): the prohibited categories, persistent or not
        leaning = np.array([self._kind(c) == "prohibited" for c in model.categories])
        return _Head(
            model=model,
            encoder=encoder,
            emit=emit,
            persistent=persistent,
            harmful=harmful,
            leaning=leaning,
            domain=np.array([self._kind(c) == "domain" for c in model.categories]),
            context_windows=_takes(getattr(encoder, "encode_windows", None), "context_tokens"),
            open_end=_takes(getattr(encoder, "encode_windows", None), "open_end")
            and callable(getattr(encoder, "settled_chars", None)),
            memo_windows=_takes(getattr(encoder, "encode_windows", None), "memo"),
        )

    def _check_injected_adapter(self, encoder: Any, adapter: Path | None, artefact: Path) -> None:
        """An injected encoder must apply the adapter the artefact's heads were fitted on (its ``adapter_sha256``,
        None for the frozen encoder): fed other embeddings, the heads' scores mean nothing, silently."""
        from guardrails._files import file_sha256

        want = file_sha256(adapter) if adapter is not None else None
        got = getattr(encoder, "adapter_sha256", None)  # none said: taken as the frozen encoder
        if got != want:
            applies = f"encoder adapter {str(got)[:12]}" if got else "no encoder adapter"
            fitted = f"{adapter.name} ({str(want)[:12]})" if adapter is not None else "the frozen encoder"
            fix = (
                f"inject Encoder(adapter={adapter.name!r}), loaded by its load()"
                if adapter is not None
                else "inject an encoder without an adapter (get_encoder())"
            )
            raise DetectorError(
                f"the injected encoder applies {applies} (its adapter_sha256), but {artefact.name} was fitted on "
                f"{fitted}: its scores would mean nothing; {fix}",
                detector=self.name,
            )

    # ------------------------------------------------------------------ detection
    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        """Findings for one text (see :meth:`detect_batch`)."""
        return self.detect_batch([text], [ctx])[0]

    def detect_batch(self, texts: Sequence[str], ctxs: Sequence[DetectContext]) -> list[list[Finding]]:
        """Findings per text; every view of every text is embedded in one batched pass per stage."""
        if len(texts) != len(ctxs):
            raise ValueError(f"detect_batch got {len(texts)} texts but {len(ctxs)} contexts")
        out: list[list[Finding]] = [[] for _ in texts]
        # a stream's check of the answer's last characters reads the whole answer so far (``StreamPart.head``): its
        # windows are the finished answer's, and those read before come from the stream's memo
        texts = [t if c.stream is None else c.stream.head + t for t, c in zip(texts, ctxs, strict=True)]
        for stage, answer, partial in dict.fromkeys((c.stage, _read_as_answer(c), _partial(c)) for c in ctxs):
            idx = [
                i
                for i, c in enumerate(ctxs)
                if c.stage == stage and _read_as_answer(c) == answer and _partial(c) == partial
            ]
            head = self._head(stage)
            found = self._detect_with(
                head,
                [texts[i] for i in idx],
                [ctxs[i] for i in idx],
                answer=answer,
                partial=partial and answer and self._reads_partial(head),
            )
            for i, f in zip(idx, found, strict=True):
                out[i] = f
        return out

    def settled_chars(self, text: str) -> int:
        """How many leading characters of ``text``, the answer so far of a stream, a check of it with
        ``StreamPart.partial`` has read in every sliding window (``long_answer_window_tokens``) of the finished
        answer that holds them: the rest may yet be read in a window not written to its end, so a stream holds it
        back. ``len(text)`` where answers are read otherwise (sentence by sentence, or by an injected encoder
        without ``open_end``): then the stream's ``holdback_chars`` alone holds text back. Placeholders count as
        the classifier reads them (:func:`neutralize_placeholders`), and so does each normalized view (the least
        over them, mapped back by :func:`_aligned`); a view decided over the whole text (look-alike letters folded
        where Latin letters are most of it) can still change as the answer grows (README, "Streaming")."""
        head = self._head(Stage.OUTPUT)
        tokens = self.options.long_answer_window_tokens
        if tokens is None or not self._reads_partial(head):
            return len(text)
        neutral = neutralize_placeholders(text)
        if self.options.views == "raw":
            read = [neutral]
        else:
            from guardrails.normalize import views as make_views

            read = [v for _, v in make_views(neutral, max_views=self.options.max_views, mask_encoded=True)]
        settled = len(neutral)
        for view in dict.fromkeys(read):  # each view as it is read (the raw one with encoded data masked)
            at = int(head.encoder.settled_chars(view, context_tokens=tokens))
            settled = min(settled, _aligned(neutral, view, at))
        return _raw_offset(text, settled)

    def _window_memo(self, head: _Head, ctxs: Sequence[DetectContext]) -> Any:
        """The vectors of windows the checks of one stream already embedded (``StreamPart.memo``), when these texts
        are checks of one stream and the encoder keeps them; else None."""
        memos = {id(c.stream.memo): c.stream.memo for c in ctxs if c.stream is not None}
        if len(memos) != 1 or len(ctxs) != sum(c.stream is not None for c in ctxs) or not head.memo_windows:
            return None
        from guardrails.embeddings import WindowMemo

        shared = next(iter(memos.values()))
        key = f"semantic:windows:{id(head.encoder)}"
        found = shared.get(key)
        if not isinstance(found, WindowMemo) or found.encoder is not head.encoder:
            found = shared[key] = WindowMemo(head.encoder)
        return found

    def _reads_partial(self, head: _Head) -> bool:
        """True when ``head`` reads a streamed answer so far in the windows :meth:`settled_chars` vouches for."""
        return head.open_end and head.context_windows and self.options.long_answer_window_tokens is not None

    def _detect_with(
        self,
        head: _Head,
        texts: Sequence[str],
        ctxs: Sequence[DetectContext],
        *,
        answer: bool = False,
        partial: bool = False,
    ) -> list[list[Finding]]:
        """Findings for texts of one stage, read alike (``answer``: as an answer, see :func:`_read_as_answer`;
        ``partial``: as the answer so far of a stream, see :meth:`settled_chars`)."""
        plans = [self._plan(head, t, c) for t, c in zip(texts, ctxs, strict=True)]
        artefact = str(head.model.meta.get("loaded_sha256") or id(head))
        # embed every distinct string once; earlier turns (and their joins) come from the LRU when kept there
        wanted: dict[str, None] = {}
        known: dict[str, np.ndarray] = {}
        for plan, ctx in zip(plans, ctxs, strict=True):
            for name, s in plan.views:
                if f"embedding:{name}" not in ctx.cache:
                    wanted.setdefault(s, None)
            for s in plan.earlier():
                self._recall(artefact, s, s, known, wanted)
            for s in plan.joined():
                wanted.setdefault(s, None)
            for s in plan.turn_sentences():
                self._recall(artefact, _SENTENCE_KEY + s, s, known, wanted)
        mats: dict[str, np.ndarray] = {}
        scored: dict[str, np.ndarray] = {}
        # the answer's own views are read as an answer; earlier user turns and their joins as a user's texts are
        answering = {s for plan in plans for _, s in plan.views} if answer else set()
        memo = self._window_memo(head, ctxs)
        self._embed(head, [s for s in wanted if s in answering], mats, scored, answer=True, partial=partial, memo=memo)
        self._embed(head, [s for s in wanted if s not in answering], mats, scored)
        for plan in plans:
            for s in plan.earlier():
                if s not in known:
                    known[s] = scored[s]
                    self._keep_scores(artefact, s, scored[s])
            for s in plan.turn_sentences():  # kept as they count: harmful kinds only, where supported
                key = _SENTENCE_KEY + s
                if key not in known:
                    known[key] = self._sentence_alone(head, mats[s], scored[s])
                    self._keep_scores(artefact, key, known[key])
        scored.update(known)
        self._join_kept_sentences(head, plans, mats, scored)
        self._neutral_joins(head, artefact, plans, mats, scored)
        return [
            self._judge(head, text, ctx, plan, mats, scored, partial=partial)
            for text, ctx, plan in zip(texts, ctxs, plans, strict=True)
        ]

    def _join_kept_sentences(
        self, head: _Head, plans: Sequence[_Plan], mats: dict[str, np.ndarray], scored: dict[str, np.ndarray]
    ) -> None:
        """With ``sentences``: an earlier turn's sentence that reached a persistent kind (a crisis) joins the latest
        turn, as a whole earlier turn does, so the kind stays in force only while the latest turn goes on with it
        (the turn itself, padded, would dilute its join). A second, small round of embedding, only for those."""
        handled_at = self.options.history_handled_score
        joins: dict[str, None] = {}
        for plan in plans:
            for x in plan.turn_sentences():
                if bool((head.persistent & (scored[_SENTENCE_KEY + x] >= handled_at)).any()):
                    plan.kept_sentences.add(x)
                    if plan.join((x,)) not in scored:
                        joins.setdefault(plan.join((x,)), None)
        self._embed(head, list(joins), mats, scored)

    def _neutral_joins(
        self,
        head: _Head,
        artefact: str,
        plans: Sequence[_Plan],
        mats: dict[str, np.ndarray],
        scored: dict[str, np.ndarray],
    ) -> None:
        """The earlier turns of a join that would decide a category that is not persistent (it reaches
        ``history_handled_score`` above what those turns scored, which was below it), where those turns showed
        no harm of their own (:meth:`_showed_harm`), joined with each of
        ``history_neutral_turns`` instead of the latest turn: the join counts only where the latest turn takes it
        above all of those (a "thanks" after a question about a bombing adds nothing; "which of these is
        untraceable?" after a question about poisons does). Those joins depend on earlier turns alone, so they are
        kept in the LRU. A small second round of embedding, only for those."""
        handled_at = self.options.history_handled_score
        wanted: dict[str, None] = {}
        known: dict[str, np.ndarray] = {}
        keys: list[str] = []
        for plan in plans:
            for group in plan.groups():
                earlier = self._earlier(plan, group, scored)
                joined = scored[plan.join(group)]
                deciding = ~head.persistent & (joined >= handled_at) & (joined > earlier) & (earlier < handled_at)
                if bool(deciding.any()) and not self._showed_harm(head, earlier):
                    plan.tested[group] = plan.neutral(group, self.options.history_neutral_turns)
                    for key in plan.tested[group]:
                        keys.append(key)
                        self._recall(artefact, key, key, known, wanted)
        uniq = [s for s in wanted if s not in scored]
        self._embed(head, uniq, mats, scored)
        for key in keys:
            if key in known:
                scored[key] = known[key]
            elif key in scored:
                self._keep_scores(artefact, key, scored[key])

    def _showed_harm(self, head: _Head, earlier: np.ndarray) -> bool:
        """True when earlier turns reached a prohibited or crisis category (they were refused or referred): the
        latest turn is read with them as before, without the neutral test, since a follow-up to a harmful request
        needs to add nothing of its own to go on with it ("how long does a wooden porch take to catch?")."""
        return bool((head.harmful & (earlier >= self.options.history_handled_score)).any())

    def _earlier(self, plan: _Plan, group: tuple[str, ...], scored: dict[str, np.ndarray]) -> np.ndarray:
        """What a group's earlier turns scored when they were judged: each alone, (two or more) joined without the
        latest turn and, with ``sentences``, each turn's sentences."""
        parts = [scored[t] for t in group]
        if len(group) >= 2:
            parts.append(scored["\n".join(group)])
        alone = [scored[_SENTENCE_KEY + x] for t in group for x in plan.sentences.get(t, ())]
        return np.asarray(np.max([*parts, *alone], axis=0))

    def _embed(
        self,
        head: _Head,
        uniq: list[str],
        mats: dict[str, np.ndarray],
        scored: dict[str, np.ndarray],
        *,
        answer: bool = False,
        partial: bool = False,
        memo: Any = None,
    ) -> None:
        """Embed each string's windows into ``mats`` and score them into ``scored``: one scoring pass over every
        window of the batch, the worst window of each string winning. An answer's long strings are read in
        sliding windows (``long_answer_window_tokens``) by an encoder that takes ``context_tokens``; an injected
        one that does not windows them its own way. ``partial``: the strings are answers so far of streams,
        read whole when they fit one window and in the sliding windows :meth:`settled_chars` vouches for; ``memo``:
        the vectors of the windows earlier checks of the stream embedded."""
        if not uniq:
            return
        extra: dict[str, Any] = {}
        tokens = self.options.long_answer_window_tokens
        if answer and tokens is not None and head.context_windows:
            extra["context_tokens"] = tokens
            if partial:
                extra["open_end"] = True
        if memo is not None:
            extra["memo"] = memo
        try:
            vecs, owner = head.encoder.encode_windows(uniq, batch_size=self.options.batch_size, **extra)
        except DetectorError:
            raise
        except Exception as exc:
            raise_detached(DetectorError(f"encoder failed: {type(exc).__name__}", detector=self.name))
        window_scores = head.model.scores(vecs) if len(vecs) else np.zeros((0, len(head.model.categories)))
        for k, s in enumerate(uniq):
            rows = owner == k
            mats[s] = vecs[rows]
            scored[s] = self._worst(head, s, vecs[rows], window_scores[rows], answer=answer, partial=partial)
            passage = self._passage(head, s, vecs[rows], window_scores[rows], answer=answer, partial=partial)
            if passage is not None:
                scored[_PASSAGE_KEY + s] = passage

    def _recall(self, artefact: str, key: str, s: str, known: dict[str, np.ndarray], wanted: dict[str, None]) -> None:
        """The kept scores of ``key`` into ``known``, or ``s`` into the strings to embed when none are kept."""
        if key in known:
            return
        kept = self._kept_scores(artefact, key)
        if kept is None:
            wanted.setdefault(s, None)
        else:
            known[key] = kept

    def _kept_scores(self, artefact: str, s: str) -> np.ndarray | None:
        return self._history_scores.get((artefact, salted_hash(s, self._history_salt)))

    def _keep_scores(self, artefact: str, s: str, vec: np.ndarray) -> None:
        self._history_scores.put((artefact, salted_hash(s, self._history_salt)), vec)

    def _readable(self, text: str) -> str:
        """A turn in its most de-obfuscated view: decoded when a decoder read part of it, else the last fold."""
        if self.options.views == "raw":
            return text
        from guardrails.normalize import ENCODED_MARKER
        from guardrails.normalize import views as make_views

        found = dict(make_views(text, mask_encoded=True))
        if ENCODED_MARKER in found["raw"]:  # a decoder read a segment for sure (a whole-text rot13 guess masks nothing)
            for name in _DECODED_VIEWS:
                if name in found:
                    return found[name]
        return [v for n, v in found.items() if n not in _DECODED_VIEWS][-1]

    def _worst(
        self,
        head: _Head,
        s: str,
        mat: np.ndarray,
        window_scores: np.ndarray,
        *,
        answer: bool = False,
        partial: bool = False,
    ) -> np.ndarray:
        """The worst window of a string wins; of a long text (more than one window's tokens, however few distinct
        windows it has) with ``long_text_min_support``, a window counts for a prohibited or crisis category only
        where it resembles a harmful exemplar, and of a long answer only at ``long_answer_min_score`` or more; a
        long answer's domain scores what ``long_answer_domain_share`` of its windows reach (:meth:`_passage` keeps
        its highest window). The answer so far of a stream (``partial``) is read as a long answer's windows and, when
        it fits one window, whole as well (its first row); it reports no domain but its passages: the finished
        answer, read by the stream's last check, has the subject."""
        if len(mat) == 0:  # no window at all (an injected encoder may give none for a text): nothing found
            return np.zeros(len(head.model.categories))
        parts = np.ones(len(mat), dtype=bool)
        if partial:
            parts[0] = not _fits_one_window(head, s)
        floor = self.options.long_text_min_support
        if floor > 0 and (partial or len(mat) > 1 or not self._encoder_call(head, "fits_one_window")(s)):
            far = parts & (head.model.support(mat) < floor)
            window_scores = np.where(far[:, None] & head.harmful[None, :], 0.0, window_scores)
        least = self.options.long_answer_min_score if answer else 0.0
        if least > 0 and (partial or len(mat) > 1 or not _fits_one_window(head, s)):
            low = parts[:, None] & head.harmful[None, :] & (window_scores < least)
            window_scores = np.where(low, 0.0, window_scores)
        worst = np.asarray(window_scores.max(axis=0))
        if partial:  # the answer goes on: its subject, so its disclaimer, is the finished answer's (the last check)
            worst[head.domain] = 0.0
        elif self._by_subject(head, s, mat, answer=answer, partial=partial):
            windows = window_scores[:, head.domain]
            k = max(1, math.ceil(self.options.long_answer_domain_share * len(windows) - 1e-9))
            worst[head.domain] = np.sort(windows, axis=0)[-k]  # the score k windows reach, per domain
        return worst

    def _by_subject(self, head: _Head, s: str, mat: np.ndarray, *, answer: bool, partial: bool) -> bool:
        """Whether the domains of ``s`` are read by the share of its windows (``long_answer_domain_share``): a
        finished answer longer than one window."""
        if partial or not answer or self.options.long_answer_domain_share <= 0 or not head.domain.any():
            return False
        return len(mat) > 1 or (len(mat) == 1 and not _fits_one_window(head, s))

    def _passage(
        self, head: _Head, s: str, mat: np.ndarray, window_scores: np.ndarray, *, answer: bool, partial: bool
    ) -> np.ndarray | None:
        """The highest window of each domain category of a long answer whose domains are read by their share of its
        windows, or of a stream's answer so far, which reports no domain of its own (zeros elsewhere): a passage a
        blocking profile acts on (:data:`PASSAGE_LABEL`). None otherwise. While the answer so far fits one window
        the finished answer may too, and ``invoke`` reads such an answer whole: its windows count only at
        ``long_answer_min_score`` or more (the stream refuses a sure passage before showing it, not a sentence the
        whole answer reads in context)."""
        if not head.domain.any() or len(mat) == 0:
            return None
        windows = window_scores[:, head.domain]
        if partial and _fits_one_window(head, s):
            windows = np.where(windows[1:] >= self.options.long_answer_min_score, windows[1:], 0.0)  # not the whole
        elif not partial and not self._by_subject(head, s, mat, answer=answer, partial=partial):
            return None
        out = np.zeros(len(head.model.categories))
        out[head.domain] = windows.max(axis=0, initial=0.0)
        return out

    def _sentence_alone(self, head: _Head, mat: np.ndarray, sc: np.ndarray) -> np.ndarray:
        """The scores a sentence judged alone counts for: harmful kinds only, and only where it resembles a harmful
        exemplar (``sentence_min_support``)."""
        near = bool(head.model.support(mat).max() >= self.options.sentence_min_support)
        return np.where(head.harmful & near, sc, 0.0)

    def _encoder_call(self, head: _Head, method: str) -> Any:
        """A method of the encoder that the sentence options need; a clear error for an injected encoder without."""
        found = getattr(head.encoder, method, None)
        if not callable(found):
            raise DetectorError(
                f"the encoder has no {method}(), which the sentences and long_text_min_support options need",
                detector=self.name,
            )
        return found

    def _plan(self, head: _Head, text: str, ctx: DetectContext) -> _Plan:
        neutral = neutralize_placeholders(text)
        if self.options.views == "raw":
            views: tuple[tuple[str, str], ...] = (("raw", neutral),)
        else:
            from guardrails.normalize import views as make_views

            # its own views, not the shared ones: a segment a decoder read is masked in the other views, as the
            # classifier reads undecoded base64, hex or rot13 as anything but harmless
            cut: list[str] = []
            views = make_views(neutral, max_views=self.options.max_views, mask_encoded=True, cut=cut)
            if cut:  # encoded text left undecoded: never judged in part (``on_error`` decides)
                reasons = ", ".join(sorted(set(cut)))
                raise DetectorError(f"encoded text too large to decode whole ({reasons})", detector=self.name)
        # each sentence of a user turn alone too, so a harmful request padded with harmless sentences is not averaged
        # away (not an answer's: a sentence of safety advice alone reads like the harm it warns about)
        by_sentence = self.options.sentences and ctx.stage is Stage.INPUT
        if by_sentence:
            views = (*views, *self._sentence_views(head, views))
        # each piece alone too (an answer's text, a tool-call argument), so a harmful one is not averaged away
        if self.options.pieces:
            views = (*views, *self._piece_views(ctx.pieces))
        # the gate is on each view, not the raw text: NFKC makes circled or full-width letters readable
        judged = [(n, v) for n, v in views if _ALNUM.search(v)]
        # a text without a letter in any view (a number, digits only) is no request: the classifier, which reads it
        # as anything, does not judge it alone; with history it still joins the earlier turns (a crisis stays)
        plan = _Plan(views=judged if any(_LETTER.search(v) for _, v in judged) else [])
        plan.language_views = [v for n, v in judged if not n.startswith((SENTENCE_VIEW, PIECE_VIEW))]
        # (a turn of no letter or digit at all, "..." or an emoji, joins them too: a crisis stays in force after it)
        if not self.options.history or not ctx.history:
            return plan
        turns = [self._readable(neutralize_placeholders(h[-HISTORY_TURN_CHARS * 4 :])) for h in ctx.history if h]
        plan.turns = [t[-HISTORY_TURN_CHARS:] for t in turns if _ALNUM.search(t)]
        plan.latest = self._readable(neutral[: HISTORY_TURN_CHARS * 4])[:HISTORY_TURN_CHARS]
        if by_sentence:  # an earlier turn counts as it was judged when it was the latest: its sentences too
            split = self._encoder_call(head, "sentences")
            plan.sentences = {t: tuple(split(t)) for t in dict.fromkeys(plan.turns)}
        return plan

    def _sentence_views(self, head: _Head, views: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The sentences of each view that fits one window, named ``sentence<i>:<view>`` (each string once)."""
        split = self._encoder_call(head, "sentences")
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for name, view in views:
            for i, sentence in enumerate(split(view), 1):
                if sentence not in seen:
                    seen.add(sentence)
                    out.append((f"{SENTENCE_VIEW}{i}:{name}", sentence))
        return out

    def _piece_views(self, pieces: Sequence[str]) -> list[tuple[str, str]]:
        """The views of each piece of the text (``DetectContext.pieces``), named ``piece<i>:<view>``."""
        out: list[tuple[str, str]] = []
        for i, piece in enumerate(pieces, 1):
            neutral = neutralize_placeholders(piece)
            if self.options.views == "raw":
                out.append((f"{PIECE_VIEW}{i}:raw", neutral))
                continue
            from guardrails.normalize import views as make_views

            out.extend(
                (f"{PIECE_VIEW}{i}:{n}", v)
                for n, v in make_views(neutral, max_views=self.options.max_views, mask_encoded=True)
            )
        return out

    def _window_scores(
        self,
        head: _Head,
        ctx: DetectContext,
        name: str,
        s: str,
        mats: dict[str, np.ndarray],
        scored: dict[str, np.ndarray],
        *,
        partial: bool = False,
    ) -> np.ndarray:
        key = f"embedding:{name}"  # one stage per check, so one head's embeddings
        mat = ctx.cache.get(key)
        if mat is None:
            ctx.cache[key] = mats[s]
            mat, sc = mats[s], scored[s]
        else:  # the worst wins
            answer, window_scores = _read_as_answer(ctx), head.model.scores(mat)
            sc = self._worst(head, s, mat, window_scores, answer=answer, partial=partial)
            passage = self._passage(head, s, mat, window_scores, answer=answer, partial=partial)
            scored.pop(_PASSAGE_KEY + s, None)
            if passage is not None:
                scored[_PASSAGE_KEY + s] = passage
        if name.startswith(SENTENCE_VIEW):
            sc = self._sentence_alone(head, mat, sc)
        return sc

    def _judge(
        self,
        head: _Head,
        text: str,
        ctx: DetectContext,
        plan: _Plan,
        mats: dict[str, np.ndarray],
        scored: dict[str, np.ndarray],
        *,
        partial: bool = False,
    ) -> list[Finding]:
        findings: list[Finding] = []
        lang = self._language(plan.language_views or [text])
        if lang is not None:
            findings.append(Finding(self.name, None, round(lang[1], 4), label=LANGUAGE_LABEL + lang[0]))
        if not plan.views and not plan.turns:
            return findings
        n = len(head.model.categories)
        best = np.zeros(n)
        best_view = np.array(["raw"] * n, dtype=object)
        passage = np.zeros(n)
        passage_view = np.array(["raw"] * n, dtype=object)
        for name, s in plan.views:
            sc = self._window_scores(head, ctx, name, s, mats, scored, partial=partial)
            if name.startswith(PIECE_VIEW):  # a piece alone counts only where it is sure (``piece_min_score``)
                sc = np.where(sc >= self.options.piece_min_score, sc, 0.0)
            better = sc > best
            best[better] = sc[better]
            best_view[better] = name
            if not name.startswith(PIECE_VIEW) and (_PASSAGE_KEY + s) in scored:
                pv = scored[_PASSAGE_KEY + s]
                higher = pv > passage
                passage[higher] = pv[higher]
                passage_view[higher] = name
        latest = best.copy()
        margin, handled_at = self.options.history_margin, self.options.history_handled_score
        lean = self.options.history_persistent_lean
        for group in plan.groups():
            # the group's earlier turns: each alone, and (two or more) joined without the latest turn
            parts = [scored[t] for t in group]
            if len(group) >= 2:
                parts.append(scored["\n".join(group)])
            whole = np.max(parts, axis=0)
            # with ``sentences``, each turn's sentences too, as the turn was judged when it was the latest
            earlier = self._earlier(plan, group, scored)
            handled = earlier >= handled_at
            joined = scored[plan.join(group)]
            adds = (joined > np.maximum(latest, earlier) + margin) & ~handled
            tested = plan.tested.get(group)
            if tested:  # a join that would decide counts only where the latest turn adds to it (``_neutral_joins``)
                adds &= head.persistent | (joined > np.max([scored[k] for k in tested], axis=0) + margin)
            # a persistent kind (a crisis) already shown stays in force while its turn is in the window and the
            # latest turn goes on with it; shown only through one of the turn's sentences (the turn padded), it is
            # that sentence that joins the latest turn
            stays = head.persistent & handled & (joined >= handled_at)
            value = joined
            if lean is not None and len(group) == 1:
                # a follow-up that leans towards harm keeps the crisis an earlier turn showed in force whatever the
                # join scores for it ("does it still work after years in a closet?" after a mention of a gun reads
                # as a question about an old gun, joined or not); the lean must be the follow-up's own (it scores
                # so alone, or takes the join above the earlier turn), and the crisis one turn's own, as judged
                # when it was the latest (a join of several earlier turns was never judged)
                own = (latest >= lean) | ((joined >= lean) & (joined > earlier + margin))
                if bool((head.leaning & own).any()):
                    extra = head.persistent & handled & ~stays
                    value = np.where(extra, np.maximum(joined, earlier), joined)
                    stays = stays | extra
            kept = [x for t in group for x in plan.sentences.get(t, ()) if x in plan.kept_sentences]
            if kept:
                via = np.max([scored[plan.join((x,))] for x in kept], axis=0)
                by_sentence = head.persistent & handled & (whole < handled_at) & (via >= handled_at) & ~stays
                value = np.where(by_sentence, via, value)
                stays = stays | by_sentence
            counts = (adds | stays) & (value > best)
            best[counts] = value[counts]
            best_view[counts] = HISTORY_VIEW
        for j, cid in enumerate(head.model.categories):
            score = float(best[j])
            if not head.emit[j] or score < self.options.min_score:
                continue
            view = str(best_view[j])
            findings.append(Finding(self.name, cid, min(1.0, round(score, 4)), label=f"view:{view}", view=view))
        # a domain a passage of a long answer shows more than the whole answer does: what a blocking profile acts on
        for k in np.flatnonzero(head.emit & (passage > np.maximum(best, self.options.min_score))).tolist():
            view = str(passage_view[k])
            score = min(1.0, round(float(passage[k]), 4))
            label = f"{PASSAGE_LABEL}view:{view}"
            findings.append(Finding(self.name, head.model.categories[k], score, label=label, view=view))
        return findings

    def _kind(self, category: str) -> str:
        cat = self.taxonomy.get(category)
        return cat.kind if cat is not None else ""

    def _language(self, views: Sequence[str]) -> tuple[str, float] | None:
        """The language of the text: over every view of it the classifier judges (decoded ones too), the most
        confident one that is not English, or None."""
        if self._lang is None:
            return None
        worst: tuple[str, float] | None = None
        for view in dict.fromkeys(views):
            found = detect_language(view, self._lang, min_confidence=self.options.language_min_confidence)
            if found is not None and (worst is None or found[1] > worst[1]):
                worst = found
        return worst

    def describe(self) -> dict[str, Any]:
        """Options and, once loaded, each stage's artefact hash, adapter and encoder backend."""
        out: dict[str, Any] = {
            "name": self.name,
            "categories": list(self.categories),
            "options": self.options.model_dump(),
        }
        for stage in (Stage.INPUT, Stage.OUTPUT):
            head = self._heads.get(self._head_key(stage))
            if head is not None:
                out[f"{stage}_model"] = {
                    "sha256": head.model.meta.get("model_sha256") or head.model.meta.get("loaded_sha256"),
                    "crisis_model_sha256": head.model.meta.get("crisis_model_sha256"),
                    "adapter": str(head.model.adapter) if head.model.adapter is not None else None,
                    "backend": getattr(head.encoder, "backend", None),
                }
        return out


def _read_as_answer(ctx: DetectContext) -> bool:
    """True when a text is read as an answer: the output stage's, but not an earlier message a client may have
    written (``DetectContext.earlier``), which is read as a user's long text is, sentence by sentence, so that
    filler written around a fabricated "compliant" answer cannot dilute it."""
    return ctx.stage is Stage.OUTPUT and not ctx.earlier


def _partial(ctx: DetectContext) -> bool:
    """True when the text is the answer so far of a stream that goes on (``StreamPart.partial``)."""
    return ctx.stream is not None and ctx.stream.partial


def _aligned(text: str, view: str, offset: int) -> int:
    """The offset in ``text`` of ``offset`` in ``view``, a normalized view of it: walked side by side, resuming after
    each change where the next :data:`_ALIGN_RUN` characters agree again within :data:`_ALIGN_REACH` characters (an
    ellipsis folded to three dots, a name joined, a non-breaking space made plain leave the rest in step). Inside a
    change, or where none resumes, the text's offset where the change starts: nothing after ``offset`` in the view
    is counted before it."""
    if view == text:
        return offset
    i = j = 0
    while j < offset:
        if i < len(text) and text[i] == view[j]:
            i, j = i + 1, j + 1
            continue
        step = _resume(text, view, i, j)
        if step is None or j + step[1] > offset:
            return i
        i, j = i + step[0], j + step[1]
    return i


#: characters that must agree again after a change for :func:`_aligned` to walk on
_ALIGN_RUN = 8
#: how far past a change :func:`_aligned` looks for them (in both texts together)
_ALIGN_REACH = 128


def _resume(text: str, view: str, i: int, j: int) -> tuple[int, int] | None:
    """The least skip ``(in text, in view)`` after which the two agree for :data:`_ALIGN_RUN` characters (or to both
    ends), or None within :data:`_ALIGN_REACH`."""
    for reach in range(1, _ALIGN_REACH + 1):
        for di in range(reach + 1):
            a, b = i + di, j + reach - di
            if a > len(text) or b > len(view):
                continue
            run = text[a : a + _ALIGN_RUN]
            if run == view[b : b + _ALIGN_RUN] and (
                len(run) == _ALIGN_RUN or (a + len(run), b + len(run)) == (len(text), len(view))
            ):
                return di, reach - di
    return None


def _raw_offset(text: str, offset: int) -> int:
    """The offset in ``text`` of ``offset`` in ``neutralize_placeholders(text)``: a placeholder's surrogate maps to
    the placeholder's start, so what comes before an offset stays before it."""
    if "<" not in text:
        return offset
    done = 0  # characters of the neutral text before ``last``
    last = 0
    for m in _PLACEHOLDER.finditer(text):
        plain = m.start() - last
        if offset <= done + plain:
            return last + offset - done
        done += plain
        surrogate = _surrogate(m)
        if offset < done + len(surrogate):
            return m.start()
        done += len(surrogate)
        last = m.end()
    return min(len(text), last + offset - done)


def _fits_one_window(head: _Head, text: str) -> bool:
    """The encoder's ``fits_one_window``; an injected encoder without one: a text of one distinct window is read as
    one window (it is judged whole either way)."""
    fits = getattr(head.encoder, "fits_one_window", None)
    return bool(fits(text)) if callable(fits) else True


def _takes(fn: object, name: str) -> bool:
    """True when the callable ``fn`` accepts the keyword argument ``name``."""
    if not callable(fn):
        return False
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


@dataclass(frozen=True)
class _Head:
    """One artefact ready to judge: the classifier, its adapted encoder, which of its categories to emit, and
    which of them stay in force from an earlier turn (``history_persistent_kinds``; fixed per artefact, so
    looked up once, not at every check)."""

    model: Any
    encoder: Any
    emit: np.ndarray
    persistent: np.ndarray
    #: the prohibited and crisis categories: what a sentence judged alone may count for, with support
    harmful: np.ndarray
    #: the prohibited categories: a follow-up leaning towards one keeps a crisis in force
    leaning: np.ndarray
    #: the domain categories: a long answer's subject, not its highest window, decides them
    domain: np.ndarray
    #: the encoder's ``encode_windows`` takes ``context_tokens`` (the shipped one does; an injected one may not)
    context_windows: bool = False
    #: ... and ``open_end``, and it has ``settled_chars``: it can read the answer so far of a stream
    open_end: bool = False
    #: ... and ``memo``: it keeps the vectors of a stream's windows across its checks
    memo_windows: bool = False


@dataclass
class _Plan:
    """What one check embeds: the latest turn's views and, with history, its readable earlier turns.

    The latest turn joins each earlier turn alone (intent split over two turns, whatever came
    between them) and, with two or more, all of them (intent spread over the whole window).
    """

    views: list[tuple[str, str]]
    #: the whole-text views (not a sentence's or a piece's) whose language is detected
    language_views: list[str] = field(default_factory=list)
    #: the earlier turns to join (oldest first), each its readable view's last HISTORY_TURN_CHARS characters
    turns: list[str] = field(default_factory=list)
    #: the start of the latest turn's readable view
    latest: str = ""
    #: with ``sentences``: each earlier turn's sentences (none for a turn of one sentence or longer than a window)
    sentences: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: those of them that reached a persistent kind (see ``SemanticDetector._join_kept_sentences``)
    kept_sentences: set[str] = field(default_factory=set)
    #: the groups whose join is put to the neutral test, each with its neutral joins (``_neutral_joins``): only
    #: those, so a check in a batch is judged as it is alone
    tested: dict[tuple[str, ...], list[str]] = field(default_factory=dict)

    def turn_sentences(self) -> list[str]:
        """Every sentence of the earlier turns, once."""
        return list(dict.fromkeys(x for group in self.sentences.values() for x in group))

    def groups(self) -> list[tuple[str, ...]]:
        """The groups of earlier turns the latest turn joins: each turn, then all of them."""
        out: list[tuple[str, ...]] = [(t,) for t in dict.fromkeys(self.turns)]
        if len(self.turns) >= 2:
            out.append(tuple(self.turns))
        return out

    def earlier(self) -> list[str]:
        """Every string of earlier turns only: each turn alone, and all of them joined."""
        return [*dict.fromkeys(self.turns), *("\n".join(g) for g in self.groups() if len(g) >= 2)]

    def joined(self) -> list[str]:
        return [self.join(g) for g in self.groups()]

    def join(self, group: tuple[str, ...]) -> str:
        return "\n".join((*group, self.latest))

    def neutral(self, group: tuple[str, ...], turns: Sequence[str]) -> list[str]:
        """The group's turns joined with each follow-up that says nothing (``history_neutral_turns``)."""
        return ["\n".join((*group, t)) for t in turns]


__all__ = ["HISTORY_VIEW", "LANGUAGE_LABEL", "SemanticDetector", "SemanticOptions"]
