"""Guard: runs the profile's detectors on a text and applies the policy.

Sync and async share one implementation: ``_prepare`` validates the text and builds
the context, detectors run (``detect`` in sync paths; ``adetect``, which runs off the
event loop, in async paths), and ``_finish`` turns the findings into a Decision. A detector with a
time limit (``timeout_s``) runs each call on a worker of its :class:`~guardrails.deadlines.TimeLimit`. What a
detector returns is checked on every path (a list of Finding; a batch: one per text): anything else is a failure of
that detector (``InvalidDetectorOutput``), so its ``on_error`` decides.
``evaluate`` stops there; ``check`` also writes the decision's audit record (``record``), one per call.

Detectors that send text off the machine (``needs_redacted_text``: the LLM judge) run in a second
pass, only when the profile has one: ``_second_pass`` redacts the text with the first pass's PII
findings (the very redaction ``_finish`` then puts in the decision) and the earlier turns as
``redact`` does, and they see only that. If a redacting detector or the redaction failed, they are
not run and count as failed: the text they would get might still hold personal data.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import threading
import time
import unicodedata
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrails._lru import LRU
from guardrails.audit import AUDIT_FILE_MODE, AuditLog, resolve_salt, salted_hash
from guardrails.deadlines import TimeLimit
from guardrails.detectors.base import BaseDetector, DetectContext, Detector
from guardrails.errors import (
    DetectorError,
    DetectorTimeout,
    DetectorUnavailable,
    GuardrailsWarning,
    InputError,
    ProfileError,
    brief,
    brief_token,
    is_token,
    raise_detached,
)
from guardrails.policy import Policy, Verdict
from guardrails.profiles import Profile, checked_profile, load_profile
from guardrails.types import Action, Decision, DetectorFailure, Finding, Stage, StreamPart

if TYPE_CHECKING:
    from guardrails.redaction import RedactionResult, Redactor
    from guardrails.taxonomy import Taxonomy

_log = logging.getLogger("guardrails")

#: crisis kinds in the order their referral takes precedence (emergency number first)
_CRISIS_ORDER = ("crisis_medical_emergency", "crisis_danger", "crisis_self_harm")


@dataclass
class _Request:
    text: str
    stage: Stage
    ctx: DetectContext
    detectors: list[Detector]
    failures: list[DetectorFailure] = field(default_factory=list)
    early: Decision | None = None
    redact_only: bool = False
    started: float = field(default_factory=time.perf_counter)
    #: detectors that must see only redacted text (``needs_redacted_text``): the second pass
    later: list[Detector] = field(default_factory=list)
    #: names of this check's redacting detectors (built or not): if one fails, ``later`` is not run
    redactors: frozenset[str] = frozenset()
    #: the entity findings ``text`` was redacted by and the result (None: the redactor failed), made once
    redaction: tuple[tuple[Finding, ...], RedactionResult | None] | None = None


@dataclass
class _Pass:
    """Some detectors run on one text: what they are sent, and where their findings and timings go."""

    req: _Request
    text: str
    ctx: DetectContext
    detectors: list[Detector]
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class Guard:
    """Checks texts against a profile. Thread-safe; build once and share.

    >>> guard = Guard.from_profile("general")
    >>> guard.check("How do I bake bread?").action
    <Action.ALLOW: 0>
    """

    def __init__(
        self,
        profile: Profile,
        *,
        detectors: Mapping[str, Detector] | None = None,
        salt: bytes | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        if not isinstance(profile, Profile):
            raise TypeError(f"Guard needs a Profile (use Guard.from_profile), got {type(profile).__name__}")
        # one built by hand passes the loader's rules too; with detector instances given, the rule about redaction
        # is checked below with them, and the language rule counts an instance that ``detects_language``
        given = dict(detectors or {})
        profile = checked_profile(
            profile,
            injected=tuple(given),
            injected_language=any(getattr(d, "detects_language", False) for d in given.values()),
        )
        self.profile = profile
        self.taxonomy = profile.taxonomy()
        self.policy = Policy(profile=profile, taxonomy=self.taxonomy)
        # an empty salt is no salt (as for the redactor): every keyed hash would be public
        self._salt = salt if salt else resolve_salt(profile.audit.salt_env)
        self._injected = dict(detectors or {})
        for key, det in self._injected.items():
            _check_detector(key, det)
            if key != det.name and key in profile.detectors:  # its failures and time limit go by its own name
                raise TypeError(
                    f"detector {key!r} ({type(det).__name__}) is named {det.name!r}, but the profile's settings "
                    f"for {key!r} (its on_error, timeout_s) are found by a detector's name: give it under its own "
                    "name, or name it as the profile does"
                )
            unknown = [c for c in getattr(det, "categories", ()) if c not in self.taxonomy]
            if unknown:  # its findings would never count (a typo never blocks)
                raise ProfileError(
                    f"detector {key!r} reports category {unknown[0]!r}, which is not in the profile's taxonomy "
                    "(declare new ones under custom_categories)",
                    source=profile.source,
                    field=f"detectors.{key}",
                    value=unknown[0],
                )
        for stage in Stage:  # with the instances given: still never a detector sent text that nothing redacts
            declared = [self._declared(name) for name in self._names_for(stage)]
            if any(getattr(d, "needs_redacted_text", False) for d in declared) and not any(
                getattr(d, "redacts", False) for d in declared
            ):
                raise ProfileError(
                    f"a detector on the {stage} stage is only ever sent redacted text, but no detector there redacts",
                    source=profile.source,
                    field="detectors",
                )
        self._built: dict[str, Detector] = {}
        self._build_errors: dict[str, DetectorFailure] = {}
        self._lock = threading.Lock()
        self._warned_locales: set[str] = set()  # request locales that named no country, already logged
        # salted hashes of user turns (input) and answers (output) refused as prohibited, and of those judged alone
        # and not refused
        self._refused: dict[Stage, LRU[str, bool]] = {s: LRU(REFUSED_KEPT) for s in Stage}
        self._judged: dict[Stage, LRU[str, bool]] = {s: LRU(REFUSED_KEPT) for s in Stage}
        self._delivered: LRU[str, bool] = LRU(REFUSED_KEPT)  # salted hashes of answers as an adapter delivered them
        #: salted hashes of user turns that showed a crisis in their own words, with its kinds (``crisis_kinds``)
        self._crises: LRU[str, tuple[str, ...]] = LRU(REFUSED_KEPT)
        self._seal_key: bytes | None = None  # derived from the salt on first use (see ``_seal``)
        self._redactor: Redactor | None = None
        #: the entities a redacting detector found in a text only redacted (an earlier turn, a tool result), by the
        #: detector's name here and a salted hash of the stage, conversation and text: a detector's findings must
        #: depend on those alone (a detector whose findings change for the same text, say with a tenant's list, is
        #: read again only once its entry has gone)
        self._entities_found: LRU[tuple[str, tuple[str, str, str]], tuple[Finding, ...]] = LRU(ENTITIES_KEPT)
        if audit is None and profile.audit.enabled:
            audit = _profile_audit_log(profile)
        self.audit = audit
        self._disclaimed: OrderedDict[str, set[str]] = OrderedDict()
        self._limits: dict[str, TimeLimit | None] = {}
        self._warm: set[str] = set()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_profile(cls, profile: str | Path | Profile = "general", **kwargs: Any) -> Guard:
        """Build a guard from a built-in profile name, a YAML path, or a Profile."""
        if not isinstance(profile, Profile):
            profile = load_profile(profile)
        return cls(profile, **kwargs)

    def detector(self, name: str) -> Detector:
        """The detector ``name``, built on first use (raises DetectorError if it cannot be built)."""
        if name in self._injected:
            return self._injected[name]
        with self._lock:
            if name in self._built:
                return self._built[name]
            from guardrails.detectors import detector_class

            cls = detector_class(name)
            spec = self.profile.detectors[name]
            options = cls.Options.model_validate(spec.options)
            det: Detector = cls.from_options(options, taxonomy=self.taxonomy)
            _check_detector(name, det)
            self._built[name] = det
            return det

    @property
    def redactor(self) -> Redactor:
        """The profile's redactor (built on first PII finding)."""
        if self._redactor is None:
            with self._lock:
                if self._redactor is None:
                    from guardrails.redaction import RedactionConfig, Redactor

                    config = RedactionConfig.model_validate(self.profile.redaction)
                    self._redactor = Redactor(config=config, salt=self._salt)
        return self._redactor

    def _names_for(self, stage: Stage) -> list[str]:
        """Detectors for a stage: the profile's, plus injected ones it does not list (both stages)."""
        names = list(self.profile.detectors_for(str(stage)))
        names += [n for n in self._injected if n not in self.profile.detectors]
        return names

    def needs_whole_text(self, stage: str | Stage) -> bool:
        """True when a detector of ``stage`` may be sent only redacted text (``needs_redacted_text``: the LLM
        judge). Such a stage must be checked on whole texts: a streamed window cut in the middle of a value
        (``jane.doe@exa``) is not recognised as PII, so it would reach that detector unredacted."""
        return any(
            getattr(self._declared(name), "needs_redacted_text", False) for name in self._names_for(Stage.parse(stage))
        )

    def _declared(self, name: str) -> object | None:
        """What says how the detector ``name`` behaves without building it: the injected instance, or the
        registered class; None when the name is unknown."""
        if name in self._injected:
            return self._injected[name]
        from guardrails.detectors import detector_class

        try:
            cls: object = detector_class(name)
        except Exception:
            return None
        return cls

    def warmup(self) -> list[DetectorFailure]:
        """Build every enabled detector and load its models now, not on the first request.

        A detector that cannot load raises here when its failures block (``on_error: block``, the
        default): every request would be refused, so a deployment should find out at start-up. One
        whose failures are allowed (``on_error: allow``) is skipped, as every check will skip it:
        its failure is returned (and recorded in each decision), never raised.
        """
        skipped: list[DetectorFailure] = []
        for name in dict.fromkeys([*self._names_for(Stage.INPUT), *self._names_for(Stage.OUTPUT)]):
            try:
                det = self.detector(name)
                det.warmup()
            except Exception as exc:
                if self.profile.on_error_for(name) == "block":
                    raise
                skipped.append(_failure(name, exc))
            else:
                with self._lock:
                    self._warm.add(det.name)
        self._warn_unreported()
        return skipped

    def _warn_unreported(self) -> None:
        """A ``GuardrailsWarning`` naming the profile's custom categories that none of the loaded detectors can
        report (the shipped classifier knows only the policy's own): such a category never fires, whatever action
        the profile gives it."""
        reported = {c for name in self._warm for c in getattr(self.detector(name), "categories", ()) or ()}
        unreported = [c.id for c in self.profile.custom_categories if c.id not in reported]
        if unreported:
            warnings.warn(
                GuardrailsWarning(
                    f"custom categories {unreported} of profile {self.profile.name!r} can be reported by none of its "
                    "detectors, so they never fire: refit the classifier with their exemplars (python -m "
                    "guardrails.classifier.fit --profile P, see the README), enable the LLM judge, or inject a "
                    "detector that reports them"
                ),
                stacklevel=2,
            )

    # ------------------------------------------------------------------ time limits
    def _limit(self, det: Detector) -> TimeLimit | None:
        """The detector's time limit (``timeout_s``), None when it has none."""
        try:
            return self._limits[det.name]
        except KeyError:
            pass
        seconds = self.profile.timeout_for(det.name)
        with self._lock:
            return self._limits.setdefault(det.name, None if seconds is None else TimeLimit(det.name, seconds))

    def _warm_up(self, det: Detector) -> None:
        """Load a time-limited detector's models before its first timed call: the clock is for the check."""
        if det.name in self._warm:
            return
        det.warmup()
        with self._lock:
            self._warm.add(det.name)

    # every call of a detector goes through these three, which check what it returned (see ``_checked_findings``)
    def _detect(self, det: Detector, text: str, ctx: DetectContext) -> list[Finding]:
        limit = self._limit(det)
        if limit is None:
            return self._valid(det.name, det.detect(text, ctx), text)
        self._warm_up(det)
        return self._valid(det.name, limit.run(det.detect, text, ctx), text)

    async def _adetect(self, det: Detector, text: str, ctx: DetectContext) -> list[Finding]:
        limit = self._limit(det)
        if limit is None:
            return self._valid(det.name, await det.adetect(text, ctx), text)
        if det.name not in self._warm:
            await asyncio.to_thread(self._warm_up, det)
        if _threaded_adetect(det):  # adetect would only run detect on a thread: run it on the limit's own
            return self._valid(det.name, await limit.arun(det.detect, text, ctx), text)
        return self._valid(det.name, await limit.await_(lambda: det.adetect(text, ctx)), text)

    def _detect_batch(self, det: Detector, texts: list[str], ctxs: list[DetectContext]) -> list[list[Finding]]:
        limit = self._limit(det)
        if limit is None:
            return self._valid_batch(det.name, det.detect_batch(texts, ctxs), texts)
        self._warm_up(det)
        return self._valid_batch(det.name, limit.run(det.detect_batch, texts, ctxs, scale=len(texts)), texts)

    def _valid(self, name: str, out: object, text: str) -> list[Finding]:
        return _checked_findings(name, out, text=text, taxonomy=self.taxonomy)

    def _valid_batch(self, name: str, out: object, texts: list[str]) -> list[list[Finding]]:
        return _checked_batch(name, out, texts, taxonomy=self.taxonomy)

    def wrap(self, runnable: Any, **kwargs: Any) -> Any:
        """Wrap a LangChain Runnable so every turn passes this guard (see GuardedRunnable)."""
        from guardrails.integrations.langchain.runnable import GuardedRunnable

        return GuardedRunnable(runnable, self, **kwargs)

    # ------------------------------------------------------------------ checks
    def check(
        self,
        text: str,
        stage: str | Stage = "input",
        *,
        history: Iterable[str] | None = (),
        locale: str | None = None,
        conversation_id: str | None = None,
        redact_only: bool = False,
        pieces: Sequence[str] = (),
        audit_context: Mapping[str, str] | None = None,
    ) -> Decision:
        """Check one text; returns a Decision (never raises for a verdict) and writes its audit record.

        ``history`` holds earlier user turns, oldest first (None for none); the last
        ``history_window`` of them reach the detectors. A bad ``text``, ``history``,
        ``locale`` or ``conversation_id`` raises InputError naming its type.
        ``redact_only=True`` runs only the redacting detectors (PII): the decision redacts (or
        blocks an entity the profile blocks), it finds no category. For text that is not anyone's
        request or answer, such as the documents a retrieval chain returns.
        ``pieces`` are parts of ``text`` that are judged alone as well as within it (an answer's text
        and each tool-call argument, say): a detector that reads a text as a whole (the semantic
        classifier's embedding) then cannot miss a harmful part averaged with harmless ones. The
        decision is the most severe; entities are found in ``text`` only. ``audit_context``: ids (str to str, never
        text) written into the audit record beside the decision, such as the ``run_id`` of the caller's run.
        """
        context = _audit_context(audit_context)
        decision = self.evaluate(
            text,
            stage,
            history=history,
            locale=locale,
            conversation_id=conversation_id,
            redact_only=redact_only,
            pieces=pieces,
        )
        return self._checked(decision, text, redact_only=redact_only, context=context)

    async def acheck(
        self,
        text: str,
        stage: str | Stage = "input",
        *,
        history: Iterable[str] | None = (),
        locale: str | None = None,
        conversation_id: str | None = None,
        redact_only: bool = False,
        pieces: Sequence[str] = (),
        audit_context: Mapping[str, str] | None = None,
    ) -> Decision:
        """Async ``check``: detectors run concurrently, off the event loop."""
        context = _audit_context(audit_context)
        decision = await self.aevaluate(
            text,
            stage,
            history=history,
            locale=locale,
            conversation_id=conversation_id,
            redact_only=redact_only,
            pieces=pieces,
        )
        return self._checked(decision, text, redact_only=redact_only, context=context)

    def _checked(
        self, decision: Decision, text: object, *, redact_only: bool, context: Mapping[str, str] | None = None
    ) -> Decision:
        """The end of ``check`` and ``acheck``: the record written (with the caller's ids), and the turn remembered
        (a redact-only check is no judgment of a turn)."""
        recorded = self.record(decision, context=context)
        return recorded if redact_only else self._remember_refused(recorded, text)

    def record(
        self, decision: Decision, *, text: str | None = None, context: Mapping[str, str] | None = None
    ) -> Decision:
        """Write ``decision``'s audit record (when this guard keeps an audit log); returns it as recorded.

        ``check`` records each of its decisions. A caller that screens one text in several
        ``evaluate`` calls (a streamed answer, checked in windows) records once the decision that
        sums them up, with ``text`` the whole text screened: the decision then carries that text's
        salted hash as ``text_hash`` instead of one part's (the text itself is never stored). ``context``: ids
        written beside it (see ``check``).
        """
        if text is not None:
            decision = replace(decision, text_hash=salted_hash(text, self._salt))
        if self.audit is not None:
            self.audit.record(decision, **_audit_context(context))
        return decision

    def _remember_refused(self, decision: Decision, text: object, *, earlier: bool = False) -> Decision:
        """Keep (a salted hash of) a user turn, or an answer, refused (blocked or referred) for a prohibited category
        found in the text itself, and of every other text judged (for ``screen_earlier``); see :meth:`was_refused`.
        A turn refused only through its history (the category found in the joined turns) is kept as neither: the
        same words may be harmless after other turns, and whether they are refused alone is judged when they come
        back. A text left unjudged (too long, or decided by a failed detector
        whose ``on_error`` blocks) is not kept either: judged again, it may be judged then. ``text`` is kept as the
        check read it (bytes decoded, a lone surrogate replaced), as :meth:`was_refused` looks it up. An answer judged
        as the model's own (``earlier`` false: a long one read in sliding windows) is not kept as judged: back in a
        history this guard did not deliver, it is read again as a client's text (``DetectContext.earlier``)."""
        clean = _coerce_text(text)  # the check accepted it: a str, bytes or bytearray
        if self._unjudged(decision, clean):
            return decision
        key = self._refused_key(clean)
        prohibited = {  # those the profile refuses (a prohibited category it allows or disclaims refuses nothing)
            c
            for c in decision.categories
            if (k := self.taxonomy.get(c)) is not None
            and k.kind == "prohibited"
            and self.profile.action_for(c, k.kind) >= Action.REFER
        }
        # refused: blocked, or referred (a self-harm methods request gets the crisis referral) for a prohibited category
        counted = [f for f in decision.findings if f.category in prohibited and self.policy.counts(f, decision.stage)]
        if decision.action >= Action.REFER and any(f.view != "history" for f in counted):
            self._refused[decision.stage].put(key, True)
        elif decision.action >= Action.REFER and counted:
            # refused through its history: a detector keeps the best view of a category, so whether the words
            # alone are refused is not known. Neither kept: ``screen_earlier`` judges them alone when they come back
            pass
        else:
            # judged, not refused as prohibited (allowed, referred, a blocked entity, a refusal through history):
            # ``screen_earlier`` does not judge it again, unless it was an answer read as the model's own
            if decision.stage is Stage.INPUT or earlier:
                self._judged[decision.stage].put(key, True)
        return decision

    def own_crises(self, text: str, decision: Decision, *, history: bool, locale: str | None = None) -> tuple[str, ...]:
        """The crisis kinds a referred user turn ``text`` showed in its own words: its crisis categories, and the
        crisis a prohibited category it was referred for lends (``referral:``). Judged on ``decision`` when the turn
        had no earlier turns; else on the turn alone (a detector may have read the earlier turns, a crisis in force
        among them, without saying so: the LLM judge does)."""
        from guardrails.redaction import Numbering, redaction_scope

        if decision.referral is None:
            return ()
        categories = set(decision.categories)
        if history:
            with redaction_scope(Numbering(), provisional=True):
                categories &= set(self.evaluate(text, Stage.INPUT, locale=locale).categories)
        kinds: list[str] = []
        for c in decision.categories:
            if c not in categories:
                continue
            cat = self.taxonomy.get(c)
            if cat is not None and cat.kind == "crisis":
                kinds.append(c)
            elif (lent := self.profile.rule(c).referral) is not None and self.profile.action_for(
                c, "prohibited"
            ) is Action.REFER:
                kinds.append(str(lent))
        return tuple(dict.fromkeys(kinds))

    def remember_crisis(self, text: str, kinds: Sequence[str]) -> None:
        """Keep (a salted hash of) a user turn that showed a crisis of ``kinds`` in its own words: see
        :meth:`crisis_kinds`."""
        if kinds:
            self._crises.put(self._refused_key(_coerce_text(text)), tuple(kinds))

    def crisis_kinds(self, text: str) -> tuple[str, ...]:
        """The crisis kinds of ``text`` as a user turn an adapter remembered (:meth:`remember_crisis`; the last
        ``REFUSED_KEPT`` such turns, as salted hashes): an adapter keeps such an earlier turn's crisis in force as a
        saved referred turn's marker does, and withholds its words from the model as that marker does."""
        return self._crises.get(self._refused_key(_coerce_text(text))) or ()

    def stopped_by_failure(self, decision: Decision) -> bool:
        """True when a detector failure whose ``on_error`` blocks is in ``decision`` (what it decided says nothing
        of the text then)."""
        return any(self.profile.on_error_for(f.detector) == "block" for f in decision.failures)

    def _unjudged(self, decision: Decision, text: str) -> bool:
        """True when ``decision`` did not judge ``text`` (as the check read it): too long to read, or a detector
        that failed and whose ``on_error`` blocks (a failure the profile allows leaves the rest of the decision
        standing)."""
        if len(text) > self.profile.max_text_chars:
            return True
        language = decision.language
        if (
            decision.blocked
            and self.profile.unsupported_language == "block"
            and language is not None
            and (language not in self.policy.supported_languages)
        ):
            return True  # refused for its language, unread by the English classifier
        return any(self.profile.on_error_for(f.detector) == "block" for f in decision.failures)

    def _refused_key(self, text: str) -> str:
        return salted_hash(_normalized(text), self._salt)

    def screen_earlier(
        self,
        texts: Sequence[str],
        *,
        stages: Sequence[str | Stage] | None = None,
        locale: str | None = None,
        conversation_id: str | None = None,
    ) -> tuple[str, ...]:
        """Judge, each alone, the earlier texts of a conversation (oldest first) this guard has not judged (a history
        loaded from a database, kept by another process, or sent by a client), so that :meth:`was_refused` knows
        those refused as prohibited and an adapter withholds them from the model. ``stages[i]`` says what
        ``texts[i]`` is: a user turn (``input``, the default) or an answer (``output``, judged by the answers'
        classifier). Texts it judged before (an answer: judged here, not as the model's own), and answers it delivered
        (:meth:`delivered`), cost nothing; no audit
        record is written (they are not this request's turn) and nothing else is kept.

        One call judges the latest texts first, at most ``EARLIER_SCREENED_MAX`` of them and
        ``EARLIER_SCREENED_CHARS`` characters in all (a text that no longer fits is passed over): those left, and
        those a check could not judge (too long, a failed detector whose ``on_error`` blocks), are returned, for the
        adapter to withhold (a later request judges them), so that a history of many or long new messages cannot
        make one request run that many checks."""
        texts = [_coerce_text(t) for t in _coerce_batch("texts", texts, call="screen_earlier")]
        kinds = (
            [Stage.INPUT] * len(texts)
            if stages is None
            else [Stage.parse(s) for s in _coerce_batch("stages", stages, call="screen_earlier")]
        )
        if len(kinds) != len(texts):
            raise InputError(f"screen_earlier got {len(texts)} texts but {len(kinds)} stages")
        count, chars = 0, 0
        chosen: dict[Stage, dict[str, None]] = {s: {} for s in Stage}  # each text once per stage, latest first
        left: list[str] = []
        for text, stage in zip(reversed(texts), reversed(kinds), strict=True):
            if not text.strip() or text in chosen[stage] or self._known(text, stage):
                continue
            if count < EARLIER_SCREENED_MAX and chars + len(text) <= EARLIER_SCREENED_CHARS:
                chosen[stage][text] = None
                count, chars = count + 1, chars + len(text)
            else:
                left.append(text)
        for stage, group in chosen.items():
            judged = list(group)
            if judged:
                self._batch(
                    judged,
                    stage,
                    locale=locale,
                    conversation_ids=[conversation_id] * len(judged),
                    record=False,
                    earlier=True,  # an answer there may be the client's own writing (DetectContext.earlier)
                )
                left += [t for t in judged if not self._known(t, stage)]  # those it could not judge
        return tuple(dict.fromkeys(left))

    def _known(self, text: str, stage: Stage) -> bool:
        key = self._refused_key(text)
        # read with ``get``: a conversation's texts, asked for on every request, stay among the most recent
        found = self._refused[stage].get(key) or self._judged[stage].get(key)
        return bool(found or (stage is Stage.OUTPUT and self._delivered.get(key)))

    def delivered(self, text: str) -> str:
        """Note that ``text`` is an answer as this guard's adapter delivered it (screened, with its disclaimers or
        the refusal): sent back in a later request's history, it is not judged again (see ``screen_earlier``).
        Returns its seal: a keyed hash an adapter attaches to the answer, so that a guard with the same salt (another
        worker, or this one after a restart, with ``GUARDRAILS_AUDIT_SALT`` set) knows it too (``was_delivered``);
        a client cannot make one for a text of its own without the salt."""
        clean = _coerce_text(text)
        if clean.strip():
            self._delivered.put(self._refused_key(clean), True)
        return self._seal(clean)

    def was_delivered(self, text: str, *, seals: Iterable[object] = ()) -> bool:
        """True when an adapter of this guard delivered ``text`` as an answer (see :meth:`delivered`): this guard
        remembers it, or one of ``seals`` (read from the answer as it was stored) is its seal. An answer the guard
        only judged is not delivered: several of them side by side were never judged together."""
        clean = _coerce_text(text)
        if self._delivered.get(self._refused_key(clean)) is not None:
            return True
        seal = self._seal(clean)
        return any(isinstance(s, str) and hmac.compare_digest(s, seal) for s in seals)

    def _seal(self, text: str) -> str:
        """The seal of an answer: a keyed BLAKE2b of its normalized text under a key of its own, derived from the
        salt with a personalisation no other hash of this library uses. Never a function of anything a client is
        shown: a decision's ``text_hash`` (the salted hash of the client's own turn) must not seal any text."""
        if self._seal_key is None:  # the whole salt, however long (a BLAKE2b key holds 64 bytes)
            self._seal_key = hashlib.blake2b(self._salt, digest_size=64, person=_SEAL_PERSON).digest()
        normal = _normalized(text).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(normal, key=self._seal_key, digest_size=16, person=_SEAL_PERSON).hexdigest()

    def was_refused(self, text: str, *, stage: str | Stage = Stage.INPUT) -> bool:
        """True when this guard refused ``text`` as a user turn (or, with ``stage="output"``, as an answer): blocked
        it, or referred it, as a self-harm methods request is, for a prohibited category found in the text itself
        (kept as a salted hash, the last ``REFUSED_KEPT`` of them). An adapter withholds such an earlier turn from
        the model, so that a follow-up ("go on", "give me the exact steps") has nothing to continue; and such an
        earlier answer, which a client wrote into the history for the model to take as its own."""
        return self._refused[Stage.parse(stage)].get(self._refused_key(_coerce_text(text))) is not None

    def evaluate(
        self,
        text: str,
        stage: str | Stage = "input",
        *,
        history: Iterable[str] | None = (),
        locale: str | None = None,
        conversation_id: str | None = None,
        redact_only: bool = False,
        pieces: Sequence[str] = (),
        stream: StreamPart | None = None,
    ) -> Decision:
        """``check`` without the audit record: for one part of a text screened in parts (see ``record``).
        ``stream``: the text is checked while an answer is streamed (see :class:`StreamPart` and
        :meth:`settled_chars`)."""
        req = self._prepare(
            text,
            stage,
            history,
            locale,
            conversation_id,
            redact_only=redact_only,
            pieces=pieces,
            stream=stream,
        )
        if req.early is not None:
            return req.early
        first = _Pass(req, req.text, req.ctx, req.detectors)
        self._run(first)
        if req.later:  # only profiles with a detector that needs redacted text pay for a second pass
            second = self._second_pass(first)
            if second is not None:
                self._run(second)
                _merge(first, second)
        return self._finish(req, first.findings, first.timings)

    async def aevaluate(
        self,
        text: str,
        stage: str | Stage = "input",
        *,
        history: Iterable[str] | None = (),
        locale: str | None = None,
        conversation_id: str | None = None,
        redact_only: bool = False,
        pieces: Sequence[str] = (),
        stream: StreamPart | None = None,
    ) -> Decision:
        """Async ``evaluate``: detectors run concurrently, off the event loop; no audit record."""
        req = self._prepare(
            text,
            stage,
            history,
            locale,
            conversation_id,
            redact_only=redact_only,
            pieces=pieces,
            stream=stream,
        )
        if req.early is not None:
            return req.early
        first = _Pass(req, req.text, req.ctx, req.detectors)
        await self._arun(first)
        if req.later:  # as in evaluate; redacting earlier turns runs detectors, so that goes off the event loop
            second = await asyncio.to_thread(self._second_pass, first) if req.ctx.history else self._second_pass(first)
            if second is not None:
                await self._arun(second)
                _merge(first, second)
        return self._finish(req, first.findings, first.timings)

    def check_batch(
        self,
        texts: Sequence[str],
        stage: str | Stage = "input",
        *,
        locale: str | None = None,
        conversation_ids: Sequence[str | None] | None = None,
    ) -> list[Decision]:
        """Check many texts; detectors that batch (embeddings, spaCy) see them together."""
        return self._batch(texts, stage, locale=locale, conversation_ids=conversation_ids, record=True)

    def _batch(
        self,
        texts: Sequence[str],
        stage: str | Stage,
        *,
        locale: str | None,
        conversation_ids: Sequence[str | None] | None,
        record: bool,
        earlier: bool = False,
    ) -> list[Decision]:
        texts = _coerce_batch("texts", texts)
        conv = (
            _coerce_batch("conversation_ids", conversation_ids) if conversation_ids is not None else [None] * len(texts)
        )
        if len(conv) != len(texts):
            raise InputError(f"check_batch got {len(texts)} texts but {len(conv)} conversation ids")
        reqs = [self._prepare(t, stage, (), locale, c, earlier=earlier) for t, c in zip(texts, conv, strict=True)]
        firsts = {i: _Pass(r, r.text, r.ctx, r.detectors) for i, r in enumerate(reqs) if r.early is None}
        self._run_batch(list(firsts.values()))
        pairs = [(p, s) for p in firsts.values() if p.req.later and (s := self._second_pass(p)) is not None]
        if pairs:
            self._run_batch([s for _, s in pairs])
            for p, s in pairs:
                _merge(p, s)
        decisions = [
            r.early if r.early is not None else self._finish(r, firsts[i].findings, firsts[i].timings)
            for i, r in enumerate(reqs)
        ]
        return [
            self._remember_refused(self.record(d) if record else d, t, earlier=earlier)
            for d, t in zip(decisions, texts, strict=True)
        ]

    async def acheck_batch(
        self,
        texts: Sequence[str],
        stage: str | Stage = "input",
        *,
        locale: str | None = None,
        conversation_ids: Sequence[str | None] | None = None,
    ) -> list[Decision]:
        """Async ``check_batch`` (runs the batch in a worker thread)."""
        return await asyncio.to_thread(self.check_batch, texts, stage, locale=locale, conversation_ids=conversation_ids)

    # ------------------------------------------------------------------ redaction helpers for adapters
    def redact(
        self,
        text: str,
        stage: str | Stage = "input",
        *,
        conversation_id: str | None = None,
        restorable: bool | None = None,
    ) -> str:
        """Only redact ``text`` (no policy categories): runs the profile's redacting detectors.

        Used for earlier turns, tool results and tool-call arguments. A redacting detector that
        fails (or runs out of time, or whose findings the redactor fails on) follows its ``on_error``:
        ``block`` raises DetectorError, as
        callers must not pass the text on unredacted; ``allow`` skips it, as ``check`` would.
        ``restorable``: whether the values are the user's own, which reversible mode puts back in
        answers; pass True only for the user's own earlier turns. Default: the enclosing
        :func:`~guardrails.redaction.redaction_scope`'s, else False (a tool result's or a
        document's values must never come back in an answer as if the user had given them).
        """
        from guardrails.redaction import scope_restorable

        stage = Stage.parse(stage)
        clean = _coerce_text(text)
        if not clean.strip():
            return clean
        if restorable is None:
            restorable = scope_restorable(False)
        (redacted,), errors = self._redact_texts([clean], stage, conversation_id, restorable=restorable)
        for name, exc in errors:
            failure = _failure(name, exc)
            if self.profile.on_error_for(name) == "allow":
                _log.warning("detector %s failed while redacting (%s); on_error: allow", name, failure.error)
                continue
            if isinstance(exc, DetectorError):
                raise_detached(exc)  # what it was raised from may quote the text
            raise_detached(DetectorError(failure.message, detector=name))  # the error's message may quote the text
        return redacted

    def _redact_texts(
        self, texts: Sequence[str], stage: Stage, conversation_id: str | None, *, restorable: bool | None
    ) -> tuple[list[str], list[tuple[str, Exception]]]:
        """``texts`` redacted by the stage's redacting detectors, and the (name, error) of each that failed (the
        redactor failing on a detector's findings counts as that detector's failure, a DetectorError).
        ``restorable`` as :meth:`Redactor.redact` takes it (None: the enclosing scope's, else True).

        A failed detector's entities are missing from the texts: the caller decides what that means
        (``redact`` applies its ``on_error``; the second pass of a check does not run). A detector that
        cannot be built counts as failed when it would redact (or that is unknown), else it is no concern here.
        """
        entities: list[list[Finding]] = [[] for _ in texts]
        errors: list[tuple[str, Exception]] = []
        live = [i for i, t in enumerate(texts) if t.strip()]
        # a conversation's earlier turns come back with every request: each text's entities are found once per
        # detector, stage and conversation, and kept by salted hash (offsets and labels, no text)
        # (the stage and conversation apart from the text: no choice of conversation id can make two texts one key)
        where = (stage.value, salted_hash(conversation_id or "", self._salt))
        keys = {i: (*where, salted_hash(texts[i], self._salt)) for i in live}
        for name in self._names_for(stage) if live else ():
            try:
                det = self.detector(name)
            except Exception as exc:
                if self._may_redact(name):
                    errors.append((name, exc))
                continue
            if not getattr(det, "redacts", False):
                continue
            known = {i: self._entities_found.get((name, keys[i])) for i in live}
            todo = [i for i in live if known[i] is None]
            ctxs = [
                DetectContext(stage=stage, views=(("raw", texts[i]),), conversation_id=conversation_id) for i in todo
            ]
            try:
                if len(todo) == 1:
                    found = [self._detect(det, texts[todo[0]], ctxs[0])]
                else:
                    found = self._detect_batch(det, [texts[i] for i in todo], ctxs) if todo else []
            except Exception as exc:
                errors.append((det.name, exc))
                continue
            for i, part in zip(todo, found, strict=True):
                known[i] = entities_of = tuple(_entities(part))
                if len(entities_of) <= ENTITIES_KEPT_PER_TEXT:  # a text full of values is found again, not kept
                    self._entities_found.put((name, keys[i]), entities_of)
            for i in live:
                entities[i].extend(known[i] or ())
        out: list[str] = []
        for t, ents in zip(texts, entities, strict=True):
            try:
                if ents:
                    t = self.redactor.redact(
                        t, ents, stage=stage, conversation_id=conversation_id, restorable=restorable
                    ).text
            except Exception as exc:  # the failure of each detector whose findings it could not redact
                errors += [(name, _redaction_error(name, exc)) for name in dict.fromkeys(f.detector for f in ents)]
            out.append(t)
        return out, errors

    def _may_redact(self, name: str) -> bool:
        """Whether the detector ``name``, which could not be built, would redact (True when that is unknown)."""
        declared = self._declared(name)
        return declared is None or bool(getattr(declared, "redacts", False))

    @property
    def reversible(self) -> bool:
        """True when the profile restores the user's own values in answers."""
        return bool(self.profile.redaction.get("reversible", False))

    def restore(self, text: str, *, conversation_id: str | None, epoch: int | None = None) -> str:
        """Put the user's own values back in place of placeholders (reversible mode only). ``epoch``: the
        ``Numbering.epoch`` of the request that redacted them, so that a conversation the vault forgot and started
        again meanwhile does not lend its values (its numbers start again at 1)."""
        if not self.reversible or self._redactor is None:
            return text
        return self._redactor.restore(text, conversation_id=conversation_id, epoch=epoch)

    def settled_chars(self, text: str) -> int:
        """How many leading characters of ``text``, the beginning of an answer still being streamed, a check of it
        (``evaluate(text, "output", stream=StreamPart(partial=True))``) has read as they will be read in the
        finished answer: a stream releases no more. The least over the output stage's detectors that say (the
        semantic detector's sliding windows); ``len(text)`` when none does. 0 (hold everything back) when a
        detector cannot say: it failed."""
        settled = len(text)
        for name in self._names_for(Stage.OUTPUT):
            try:
                det = self.detector(name)
                vouch = getattr(det, "settled_chars", None)
                if callable(vouch):
                    settled = min(settled, max(0, int(vouch(text))))
            except Exception as exc:  # nothing more is released; the checks record their own failures
                _log.warning(
                    "settled_chars of detector %s failed (%s): the stream holds its text back", name, type(exc).__name__
                )
                return 0
        return settled

    def partial_placeholder(self, text: str) -> int:
        """Length of an incomplete placeholder at the end of ``text`` (held back when streaming)."""
        if self._redactor is None:
            return 0
        return self._redactor.placeholder_prefix_len(text)

    # ------------------------------------------------------------------ disclaimers per conversation
    def select_disclaimers(
        self, categories: Iterable[str], *, conversation_id: str | None, locale: str | None = None
    ) -> tuple[str, ...]:
        """Disclaimer texts to show now for these domain categories, honouring the profile's frequency.

        With ``frequency: first`` a domain's disclaimer is shown on the first answer of a
        conversation only (per conversation id; always shown when there is no id).
        """
        locale = _optional_str("locale", locale)
        pairs = self.policy.disclaimer_texts(_category_ids("categories", categories), locale=locale)
        if self.profile.disclaimers.frequency == "every" or conversation_id is None:
            return tuple(t for _, t in pairs)
        conv = salted_hash(str(conversation_id), self._salt)  # ids of any length, none of them kept
        with self._lock:
            seen = self._disclaimed.setdefault(conv, set())
            self._disclaimed.move_to_end(conv)
            while len(self._disclaimed) > 10_000:
                self._disclaimed.popitem(last=False)
            fresh = [(c, t) for c, t in pairs if c not in seen]
            seen.update(c for c, _ in fresh)
        return tuple(t for _, t in fresh)

    def referral_for(self, categories: Iterable[str], *, locale: str | None) -> str | None:
        """The crisis referral text for a turn's crisis categories, for a locale.

        The built-in crisis kinds get one message: the most urgent kind's, with each further
        kind's own lines added (most urgent first, no service twice). Any other crisis category
        of the taxonomy (a profile's custom one) alone gets the general crisis referral for the
        country. None when no category is a crisis.
        """
        locale = _optional_str("locale", locale)
        cats = set(_category_ids("categories", categories))
        kinds = [cat for cat in _CRISIS_ORDER if cat in cats]
        if kinds:
            return self._render_referral(kinds, locale)
        if any((c := self.taxonomy.get(cat)) is not None and c.kind == "crisis" for cat in cats):
            return self._render_referral((), locale)
        return None

    def _render_referral(self, kinds: Sequence[str], locale: str | None) -> str:
        """The referral for built-in crisis kinds (most urgent first), or the general one (no kind)."""
        from guardrails.locales import parse_locale
        from guardrails.resources import ResourceDirectory, render_general_referral, render_referrals

        # a blank locale names none, as for the disclaimers; one that names only a language ("en") says nothing of
        # the country either, so the profile's country stands (a malformed one is warned about and names none)
        where = locale if locale is not None and locale.strip() else self.profile.locale
        if where is not None:
            self._warn_bad_locale(where)
            try:
                language_only = parse_locale(where)[1] is None
            except ValueError:
                language_only = False
            if language_only and self.profile.locale is not None:
                where = self.profile.locale
        markdown = self.profile.disclaimers.format == "markdown"
        directory = ResourceDirectory.load()
        if not kinds:
            return render_general_referral(directory.lookup_general(where), markdown=markdown)
        return render_referrals([(kind, directory.lookup(kind, where)) for kind in kinds], markdown=markdown)

    def _warn_bad_locale(self, locale: str) -> None:
        """Log once per value when a request's locale names no real country ("en-UK"): its referral uses the
        international directory, which is safe but likely not what the caller meant. (A profile's locale is
        refused at load for this; a request's is the caller's data, so it gets a safe answer and a log line.)"""
        from guardrails.locales import parse_locale

        try:
            parse_locale(locale)
        except ValueError as exc:
            with self._lock:
                if locale in self._warned_locales or len(self._warned_locales) >= _MAX_WARNED_LOCALES:
                    return
                self._warned_locales.add(locale)
            _log.warning(
                "locale %s is not usable (%s): crisis referrals use the international directory",
                brief_token(locale),
                exc if is_token(locale) else "not a locale",
            )

    def _referral(self, req: _Request, verdict: Verdict) -> str:
        """The referral to attach to a decision; never empty (falls back to a fixed text)."""
        try:
            referral = self.referral_for(verdict.crisis, locale=req.ctx.locale)
            if referral is None:  # REFER from a non-crisis category the profile maps to refer
                referral = self._render_referral((), req.ctx.locale)
            return referral
        except Exception as exc:
            req.failures.append(_failure("resources", exc))
            return _FALLBACK_REFERRAL

    # ------------------------------------------------------------------ internals
    def _prepare(
        self,
        text: object,
        stage: str | Stage,
        history: object,
        locale: object,
        conversation_id: object,
        *,
        redact_only: bool = False,
        pieces: object = (),
        earlier: bool = False,
        stream: StreamPart | None = None,
    ) -> _Request:
        stage = Stage.parse(stage)
        if stream is not None:
            if not isinstance(stream, StreamPart):
                raise TypeError(f"stream must be a StreamPart or None, got {type(stream).__name__}")
            if stage is not Stage.OUTPUT:
                raise ValueError(f"stream: only an answer (the output stage) is streamed, got stage {stage.value!r}")
        clean = _coerce_text(text)
        apart = _coerce_pieces(pieces, clean)
        turns = _coerce_history(history)
        window = self.profile.history_window
        # a turn with no text (an image alone, a blank message) is no turn: it takes no place in the window
        hist = tuple(t for t in map(_coerce_text, turns) if t.strip())[-window:] if window else ()
        loc = _optional_str("locale", locale) or None  # "" names no locale: the profile's applies
        conv = _optional_str("conversation_id", conversation_id)
        from guardrails.normalize import views

        detectors: list[Detector] = []
        later: list[Detector] = []
        redactors: set[str] = set()
        failures: list[DetectorFailure] = []
        for name in self._names_for(stage):
            try:
                det = self.detector(name)
            except Exception as exc:
                may_redact = self._may_redact(name)
                if may_redact:
                    redactors.add(name)
                if may_redact or not redact_only:  # a redact-only check runs (so can miss) only redacting ones
                    failures.append(_failure(name, exc))
                continue
            redacts = bool(getattr(det, "redacts", False))
            if redacts:
                redactors.add(det.name)
            elif redact_only:
                continue
            (later if getattr(det, "needs_redacted_text", False) else detectors).append(det)
        # no views of a text that is refused unread (empty, or too long: building them would cost seconds); a
        # stream's check counts the whole answer so far, as invoke would
        length = len(clean) + (len(stream.head) if stream is not None else 0)
        unread = not clean.strip() or length > self.profile.max_text_chars
        ctx = DetectContext(
            stage=stage,
            history=hist,
            views=(("raw", clean),) if unread else views(clean),
            locale=loc,
            conversation_id=conv,
            pieces=apart,
            earlier=earlier,
            stream=stream,
        )
        req = _Request(
            text=clean,
            stage=stage,
            ctx=ctx,
            detectors=detectors,
            failures=failures,
            redact_only=redact_only,
            later=later,
            redactors=frozenset(redactors),
        )
        if not clean.strip():
            req.detectors = []
            req.later = []
            req.failures = []
            req.early = self._finish(req, [], {}, note="empty text")
        elif length > self.profile.max_text_chars:
            req.early = self._too_long(req, length)
        return req

    def _run(self, p: _Pass) -> None:
        """Run the pass's detectors one after the other; a failure is recorded, never raised."""
        for det in p.detectors:
            t0 = time.perf_counter()
            try:
                p.findings.extend(self._detect(det, p.text, p.ctx))
            except Exception as exc:
                p.req.failures.append(_failure(det.name, exc))
            p.timings[det.name] = (time.perf_counter() - t0) * 1000

    async def _arun(self, p: _Pass) -> None:
        """Async ``_run``: the pass's detectors run concurrently, off the event loop."""

        async def run(det: Detector) -> tuple[str, list[Finding], float, DetectorFailure | None]:
            t0 = time.perf_counter()
            try:
                found = await self._adetect(det, p.text, p.ctx)
                return det.name, found, (time.perf_counter() - t0) * 1000, None
            except Exception as exc:
                return det.name, [], (time.perf_counter() - t0) * 1000, _failure(det.name, exc)

        for name, found, ms, failure in await asyncio.gather(*(run(d) for d in p.detectors)):
            p.findings.extend(found)
            p.timings[name] = ms
            if failure is not None:
                p.req.failures.append(failure)

    def _run_batch(self, passes: Sequence[_Pass]) -> None:
        """``_run`` for many passes: each detector sees the texts of every pass that runs it together."""
        # by instance, not name: two instances of one class (given under keys of their own) share a name
        instances: dict[int, Detector] = {}
        for p in passes:
            for det in p.detectors:
                instances.setdefault(id(det), det)
        for det in instances.values():
            name = det.name
            group = [p for p in passes if any(d is det for d in p.detectors)]
            t0 = time.perf_counter()
            try:
                out = self._detect_batch(det, [p.text for p in group], [p.ctx for p in group])
            except _PartlyInvalid as exc:  # only the texts whose findings are not findings fail
                out = []
                for p, found in zip(group, exc.results, strict=True):
                    if found is None:
                        p.req.failures.append(_failure(name, InvalidDetectorOutput(str(exc), detector=name)))
                    out.append(found or [])
            except Exception as exc:
                if len(group) == 1 or isinstance(exc, (DetectorTimeout, DetectorUnavailable, InvalidDetectorOutput)):
                    for p in group:
                        p.req.failures.append(_failure(name, exc))
                    out = [[] for _ in group]
                else:
                    # one text may have failed the whole call (too many windows, say): each text on its own,
                    # so only the texts that fail alone count as failed
                    out = [self._detect_alone(det, p) for p in group]
            per = (time.perf_counter() - t0) * 1000 / max(1, len(group))
            for p, found in zip(group, out, strict=True):
                p.findings.extend(found)
                p.timings[name] = per

    def _detect_alone(self, det: Detector, p: _Pass) -> list[Finding]:
        try:
            return self._detect(det, p.text, p.ctx)
        except Exception as exc:
            p.req.failures.append(_failure(det.name, exc))
            return []

    def _second_pass(self, first: _Pass) -> _Pass | None:
        """The pass of the detectors that need redacted text, once the first pass has run.

        They are sent the text redacted by the first pass's entity findings (the redaction the
        decision carries) and the earlier turns redacted as ``redact`` does for the chain (input
        operators, same conversation), with views of the redacted text and a fresh cache. When a
        redacting detector failed (on the text or an earlier turn) or the redaction did, there is
        no text fit to send: each of them is recorded as failed (its ``on_error`` decides) and None
        is returned, whatever the failed detector's own ``on_error``.
        """
        req = first.req
        why = next((f"{f.detector} failed" for f in req.failures if f.detector in req.redactors), None)
        if why is None and not req.redactors:  # nothing on this stage redacts: the text is not fit to send
            why = "no detector redacts on this stage"
        text = req.text
        entities = _entities(first.findings)
        if why is None and entities:
            result = self._redaction(req, entities)
            if result is None:
                why = "the redaction failed"
            else:
                text = result.text
        history = req.ctx.history
        if why is None and history:
            t0 = time.perf_counter()
            try:
                # the history: the user's earlier turns, their own values (unless an enclosing redaction_scope says not)
                turns, errors = self._redact_texts(history, Stage.INPUT, req.ctx.conversation_id, restorable=None)
            except Exception as exc:
                req.failures += [_failure(name, _redaction_error(name, exc)) for name in sorted(req.redactors)]
                why = "the redaction of an earlier turn failed"
            else:
                history = tuple(turns)
                for name, error in errors:  # the redacting detector's on_error applies, as on the text itself
                    req.failures.append(_failure(name, error))
                if errors:
                    why = f"{errors[0][0]} failed on an earlier turn"
            first.timings["redaction:history"] = (time.perf_counter() - t0) * 1000
        if why is not None:
            for det in req.later:
                reason = f"not run: {why}, and it is only ever sent redacted text"
                req.failures.append(_failure(det.name, DetectorError(reason, detector=det.name)))
            return None
        from guardrails.normalize import views

        ctx = DetectContext(
            stage=req.stage,
            history=history,
            views=views(text) if text.strip() else (("raw", text),),
            locale=req.ctx.locale,
            conversation_id=req.ctx.conversation_id,
            earlier=req.ctx.earlier,
            stream=req.ctx.stream,
        )
        return _Pass(req, text, ctx, req.later, timings=first.timings)

    def _redaction(self, req: _Request, entities: list[Finding]) -> RedactionResult | None:
        """``req.text`` redacted by these entity findings, made once per check (the second pass and the
        decision share it); None when the redactor failed (recorded once, as the failure of each detector whose
        findings it could not redact: that detector's ``on_error`` decides)."""
        key = tuple(entities)
        if req.redaction is None or req.redaction[0] != key:
            try:
                result: RedactionResult | None = self.redactor.redact(
                    req.text, entities, stage=req.stage, conversation_id=req.ctx.conversation_id
                )
            except Exception as exc:
                names = dict.fromkeys(f.detector for f in entities)
                req.failures += [_failure(name, _redaction_error(name, exc)) for name in names]
                result = None
            req.redaction = (key, result)
        return req.redaction[1]

    def _finish(self, req: _Request, findings: list[Finding], timings: dict[str, float], *, note: str = "") -> Decision:
        text = req.text
        blocked_entities: tuple[str, ...] = ()
        entities = _entities(findings)
        if req.redact_only:  # entities (and notes such as NER's limit) only: no category is asked for here
            findings = [f for f in findings if f.category is None]
        redacted = False
        unredacted = any(f.detector in req.redactors for f in req.failures)  # a redacting detector failed
        if entities:
            result = self._redaction(req, entities)
            if result is None:
                unredacted = True
            else:
                text, blocked_entities, redacted = result.text, result.blocked_entities, result.replaced > 0
        verdict = self.policy.decide(
            stage=req.stage,
            findings=findings,
            failures=req.failures,
            blocked_entities=blocked_entities,
            redacted=redacted,
        )
        # a counted crisis always carries its referral, whatever the action; REFER always has one
        referral = self._referral(req, verdict) if verdict.crisis or verdict.action is Action.REFER else None
        refusal = self.policy.refusal_text(verdict, blocked_entities=blocked_entities)
        if refusal is not None and referral is not None:
            # a BLOCKed turn that shows a crisis (or an answer blocked for a category referred as one): the person
            # sees the referral first, never only a "no"
            refusal = f"{referral}\n\n{refusal}"
        # an answer is coming: below REFER, and a REFER of the input that calls the chain (refer_and_continue)
        answered = verdict.action < Action.REFER or (
            verdict.action is Action.REFER
            and req.stage is Stage.INPUT
            and self.profile.crisis_mode == "refer_and_continue"
        )
        disclaimer_pairs = self.policy.disclaimer_texts(verdict.domains, locale=req.ctx.locale) if answered else ()
        if unredacted and not answered:  # a stopped text that could not be redacted: not carried by its decision
            text = ""
        timings["total"] = (time.perf_counter() - req.started) * 1000
        return Decision(
            action=verdict.action,
            stage=req.stage,
            text=text,
            findings=tuple(findings),
            categories=verdict.categories,
            referral=referral,
            refusal=refusal,
            disclaimers=tuple(t for _, t in disclaimer_pairs),
            disclaimer_categories=tuple(c for c, _ in disclaimer_pairs),
            explanation=(note + "; " if note else "") + verdict.explanation,
            profile=self.profile.name,
            text_hash=salted_hash(req.text, self._salt),
            timings_ms=timings,
            failures=tuple(req.failures),
            language=verdict.language,
        )

    def _too_long(self, req: _Request, length: int) -> Decision:
        from guardrails import responses

        verdict = Verdict(
            action=Action.BLOCK,
            categories=(),
            blocking=(),
            crisis=(),
            domains=(),
            explanation=f"text of {length} characters exceeds max_text_chars={self.profile.max_text_chars}",
        )
        return Decision(
            action=verdict.action,
            stage=req.stage,
            text="",
            refusal=responses.special_refusal("too_long"),
            explanation=verdict.explanation,
            profile=self.profile.name,
            text_hash=salted_hash(req.text, self._salt),
        )


#: a guard warns about this many distinct unusable request locales at most (a caller passing many gets the first few)
_MAX_WARNED_LOCALES = 64
#: how many refused user turns (and, apart, answers) a guard remembers, as salted hashes, to withhold them from later
#: model calls; as many judged ones are remembered, not to judge them again
REFUSED_KEPT = 10_000
#: how many earlier texts (user turns and answers) the guard has not judged one ``screen_earlier`` call judges, the
#: latest first, and how many characters of them in all
EARLIER_SCREENED_MAX = 128
#: how many texts' entities a guard keeps (see ``Guard._redact_texts``), and the most entities of one text it keeps
#: (a text with more is read again each time): at most about 40 MB
ENTITIES_KEPT = 4096
ENTITIES_KEPT_PER_TEXT = 64
EARLIER_SCREENED_CHARS = 200_000


_FALLBACK_REFERRAL = (
    "I'm really sorry you're going through this. I can't help with this here, but you don't have to face it alone: "
    "please call your local emergency number now if you are in danger, or find a crisis line near you at "
    "https://findahelpline.com."
)


def _normalized(text: str) -> str:
    """``text`` as the guard knows a turn or an answer again: NFKC and runs of whitespace collapsed (a turn stored
    with a trailing space or a newline is the same turn)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


#: the BLAKE2b personalisation of answer seals (``Guard._seal``), which no other hash of this library uses
_SEAL_PERSON = b"guardrails-seal"


#: the fields of an audit record that a caller's ``audit_context`` may not replace: the time, the decision's own,
#: and an adapter's mark of a reused decision
_RECORD_FIELDS = frozenset({"ts", "reused", *Decision(action=Action.ALLOW, stage=Stage.INPUT, text="").to_dict()})


def _audit_context(context: object) -> dict[str, str]:
    """``audit_context`` checked: ids only, a mapping of str to str, none of them a field of the record itself."""
    if context is None:
        return {}
    if not isinstance(context, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in context.items()
    ):
        raise InputError(f"audit_context must map str ids to str values, got {type(context).__name__}")
    clash = sorted(context.keys() & _RECORD_FIELDS)
    if clash:
        raise InputError(f"audit_context may not replace the record's own fields: {', '.join(clash)}")
    return dict(context)


def _category_ids(name: str, items: object) -> list[str]:
    """Category ids given as a sequence; InputError for a single str (read as its characters, a crisis id would
    get no referral) or for anything but strings."""
    if isinstance(items, (str, bytes, bytearray, Mapping)) or not isinstance(items, Iterable):
        raise InputError(f"{name} must be a sequence of category ids, not a {type(items).__name__}")
    out = list(items)
    bad = next((c for c in out if not isinstance(c, str)), None)
    if bad is not None:
        raise InputError(f"{name} must hold category ids (str), got a {type(bad).__name__}")
    return out


def _coerce_batch(name: str, items: object, *, call: str = "check_batch") -> list[Any]:
    """The items of a batch argument as a list; InputError (naming the type) for a str, a mapping or a non-iterable:
    a str iterated would be judged a character at a time, which passes anything."""
    if isinstance(items, (str, bytes, bytearray)):
        raise InputError(f"{call} expects a sequence of {name}, not a single {type(items).__name__}")
    if isinstance(items, Mapping) or not isinstance(items, Iterable):
        raise InputError(f"{call} expects a sequence of {name}, got {type(items).__name__}")
    return list(items)


def _coerce_text(text: object) -> str:
    if isinstance(text, str):
        # lone surrogates (from broken decoders) cannot be encoded: replace them
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return text.encode("utf-8", "replace").decode("utf-8")
        return text
    if isinstance(text, (bytes, bytearray)):
        return bytes(text).decode("utf-8", errors="replace")
    if text is None:
        raise InputError("text must be a str, got None")
    raise InputError(f"text must be a str, got {type(text).__name__}")


def _coerce_history(history: object) -> list[str]:
    """Earlier user turns as a list of str; InputError (naming types only) for anything else."""
    if history is None:
        return []
    if isinstance(history, (str, bytes, bytearray)) or not isinstance(history, Iterable):
        raise InputError(
            f"history must be an iterable of str (earlier user turns) or None, got {type(history).__name__}"
        )
    turns = list(history)
    for index, turn in enumerate(turns):
        if not isinstance(turn, str):
            raise InputError(f"history items must be str, got {type(turn).__name__} at index {index}")
    return turns


def _coerce_pieces(pieces: object, text: str) -> tuple[str, ...]:
    """The pieces of ``text`` to judge alone as well: each a str (InputError naming the type otherwise), blank
    ones, repeats and the whole text itself left out."""
    if isinstance(pieces, (str, bytes, bytearray)) or not isinstance(pieces, Iterable):
        raise InputError(f"pieces must be an iterable of str (parts of the text), got {type(pieces).__name__}")
    out: dict[str, None] = {}
    for index, piece in enumerate(pieces):
        if not isinstance(piece, str):
            raise InputError(f"pieces items must be str, got {type(piece).__name__} at index {index}")
        piece = _coerce_text(piece)  # as the text: a lone surrogate would fail the encoder
        if piece.strip() and piece.strip() != text.strip():
            out.setdefault(piece, None)
    return tuple(out)


def _optional_str(what: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"{what} must be a str or None, got {type(value).__name__}")


#: what the guard calls on a detector (the Detector protocol of guardrails.detectors.base)
_DETECTOR_METHODS = ("detect", "adetect", "detect_batch", "warmup")


def _check_detector(key: str, det: object) -> None:
    """Reject an injected detector that does not meet the Detector contract, naming what it lacks."""
    missing = [m for m in _DETECTOR_METHODS if not callable(getattr(det, m, None))]
    name = getattr(det, "name", None)
    if not isinstance(name, str) or not name:
        missing.insert(0, "name (a str)")

    if missing:
        raise TypeError(
            f"detector {key!r} ({type(det).__name__}) does not meet the Detector contract: missing "
            + ", ".join(missing)
            + "; subclass guardrails.detectors.base.BaseDetector and implement detect()"
        )
    if getattr(det, "redacts", False) and getattr(det, "needs_redacted_text", False):
        raise TypeError(
            f"detector {key!r} ({type(det).__name__}) sets both redacts and needs_redacted_text: a detector that "
            "redacts reads the raw text, one that needs redacted text never does"
        )


def _entities(findings: Iterable[Finding]) -> list[Finding]:
    """The entity findings the redactor acts on: no category, a span and a label (PII)."""
    return [f for f in findings if f.category is None and f.start is not None and f.label]


def _merge(first: _Pass, second: _Pass) -> None:
    """Add the second pass's findings to the check's, without their spans: those point into the redacted
    text, not the checked one, so nothing may map them onto it (a second-pass detector finds categories)."""
    first.findings.extend(f if f.start is None else replace(f, start=None, end=None) for f in second.findings)


def _threaded_adetect(det: Detector) -> bool:
    """True when ``det.adetect`` is BaseDetector's: ``detect`` on a worker thread, nothing of its own."""
    return getattr(type(det), "adetect", None) is BaseDetector.adetect


def _profile_audit_log(profile: Profile) -> AuditLog:
    """The audit log a profile asks for. A file must be one that can be created in a folder that exists (refused
    here, at start-up, rather than at the first check); without a path the records go to the ``guardrails.audit``
    logger at INFO, which Python drops until logging is configured (warned here when it is not, yet)."""
    path = profile.audit.path
    if path is None:
        if not logging.getLogger("guardrails.audit").isEnabledFor(logging.INFO):
            warnings.warn(
                GuardrailsWarning(
                    f"{profile.source}: audit is enabled without a path, so each record goes to the "
                    "'guardrails.audit' logger at INFO, which is not enabled: the records are dropped. Set audit.path "
                    "to write a file, or configure logging (logging.basicConfig(level=logging.INFO))"
                ),
                stacklevel=3,  # Guard(...) itself, or from_profile: one warning per process from there
            )
        return AuditLog(path=None)
    if "\x00" in str(path):
        raise ProfileError(
            "holds a NUL character, which no file name can", source=profile.source, field="audit.path", value=path
        )
    # a relative path is taken from the working directory now, once: a later chdir must not move (or split) the log
    target = Path(path).expanduser().absolute()
    if target.is_dir():
        raise ProfileError(
            f"{path} is a folder; name a file in it", source=profile.source, field="audit.path", value=path
        )
    if not target.parent.is_dir():
        raise ProfileError(
            f"the folder of {path} does not exist (the audit log is created in it, the folder is not)",
            source=profile.source,
            field="audit.path",
            value=path,
        )
    try:  # a read-only file system or folder, or a file not ours to write, fails here, not at the first check
        os.close(os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, AUDIT_FILE_MODE))
    except OSError as exc:
        raise ProfileError(
            f"cannot write the audit log {path}: {exc.strerror or type(exc).__name__}",
            source=profile.source,
            field="audit.path",
            value=path,
        ) from None
    return AuditLog(path=target)


class InvalidDetectorOutput(DetectorError):
    """A detector returned something other than what the Detector contract asks: a list of Finding per text (a
    batch: one such list per text, in order). A failure of that detector like any other: its ``on_error`` decides."""


def _shape(out: object) -> str:
    """What a detector returned, by type and length only (never a value: a finding's fields may quote the text)."""
    if isinstance(out, (list, tuple)):
        kinds = ", ".join(sorted({type(x).__name__ for x in out}))
        return f"a {type(out).__name__} of {len(out)}" + (f" ({kinds})" if kinds else "")
    return f"a {type(out).__name__}"


def _checked_findings(name: str, out: object, *, text: str, taxonomy: Taxonomy) -> list[Finding]:
    """``out``, what the detector ``name`` returned for ``text``, as a list of Finding; InvalidDetectorOutput
    (naming its shape, never the text) for anything else: a category the taxonomy does not hold (a typo would
    otherwise block nothing), or an entity whose span is not in the text (it would be left in clear)."""
    if not isinstance(out, (list, tuple)) or not all(isinstance(f, Finding) for f in out):
        raise InvalidDetectorOutput(f"returned {_shape(out)}, not a list of Finding", detector=name)
    for f in out:
        if f.category is not None and (not isinstance(f.category, str) or f.category not in taxonomy):
            raise InvalidDetectorOutput(
                f"found the category {brief(f.category)}, which is not in the taxonomy (declare new ones under "
                "custom_categories)",
                detector=name,
            )
        if f.category is None and f.label and f.end is not None and f.end > len(text):
            raise InvalidDetectorOutput(
                f"found a {brief(f.label)} at ({f.start}, {f.end}), past the end of a text of {len(text)} characters",
                detector=name,
            )
    return list(out)


def _checked_batch(name: str, out: object, texts: list[str], *, taxonomy: Taxonomy) -> list[list[Finding]]:
    """``out``, what the detector ``name`` returned for a batch of texts, as one list of Finding per text (each as
    :func:`_checked_findings` checks it); InvalidDetectorOutput (naming its shape) for anything else."""
    count = len(texts)
    if not isinstance(out, (list, tuple)) or len(out) != count:
        raise InvalidDetectorOutput(
            f"returned {_shape(out)} for a batch of {count} texts, not one list of Finding per text", detector=name
        )
    results: list[list[Finding] | None] = []
    error: InvalidDetectorOutput | None = None
    for found, text in zip(out, texts, strict=True):
        try:
            results.append(_checked_findings(name, found, text=text, taxonomy=taxonomy))
        except InvalidDetectorOutput as exc:
            results.append(None)
            error = exc
    if error is not None:
        raise _PartlyInvalid(str(error), detector=name, results=results)
    return [r for r in results if r is not None]


class _PartlyInvalid(InvalidDetectorOutput):
    """A batch's output of the right length of which some entries are no list of Finding (``results``: None
    there): only those texts fail."""

    def __init__(self, message: str, *, detector: str, results: list[list[Finding] | None]) -> None:
        super().__init__(message, detector=detector)
        self.results = results


def _redaction_error(name: str, exc: Exception) -> DetectorError:
    """The redactor's failure on the findings of the detector ``name``, as a failure of that detector: its
    ``on_error`` decides, as when it fails to find them (either way its values are not redacted)."""
    # no cause chained: a traceback that logs it would print its message, which may quote the text
    why = f"redacting its findings failed ({type(exc).__name__} raised inside the redactor)"
    return DetectorError(why, detector=name)


def _failure(name: str, exc: BaseException) -> DetectorFailure:
    unavailable = isinstance(exc, DetectorUnavailable)
    if isinstance(exc, DetectorError):
        message = str(exc)
    else:
        # exception messages of third-party code may quote the input: keep only the type
        message = f"{type(exc).__name__} raised inside the detector"
    return DetectorFailure(detector=name, error=type(exc).__name__, message=message[:500], unavailable=unavailable)
