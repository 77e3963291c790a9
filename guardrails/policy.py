"""The policy: findings in, one Decision out, driven by the profile.

Rules, in order:

1. A finding counts for its category when its score reaches the category's threshold
   and the category applies on this stage (crisis categories: input only by default).
2. Each counted category maps to an action (the profile's override, else its kind's
   default: prohibited -> BLOCK, crisis -> REFER, domain -> DISCLAIM).
3. PII entity findings mean REDACT; an entity whose operator is ``block`` means BLOCK (with the
   sensitive-data refusal, unless a category blocks: its refusal is shown).
4. A failed detector applies its ``on_error`` (the profile's ``on_detector_error``
   unless the detector overrides it): ``block`` fails closed, ``allow`` records it.
5. The most severe action wins, except that a crisis on the input is answered with a
   referral rather than a bare refusal: the chain is not called either way, and a person
   in crisis gets resources instead of a "no". A failed detector or a PII ``block``
   operator never takes the referral away; a prohibited category yields to the crisis
   under ``crisis_overrides_block``. When the turn stays BLOCKed (``refer_and_continue``,
   whose REFER calls the chain, or ``crisis_overrides_block: false``) the guard still
   attaches the referral and shows it ahead of the refusal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from guardrails import responses
from guardrails.profiles import Profile
from guardrails.taxonomy import Taxonomy
from guardrails.types import PASSAGE_LABEL, Action, DetectorFailure, Finding, Stage

#: label prefix of the language finding emitted by the semantic detector
LANGUAGE_LABEL = "language:"


@dataclass(frozen=True)
class Verdict:
    """What the policy concluded, before texts for the user are attached."""

    action: Action
    categories: tuple[str, ...]
    blocking: tuple[str, ...]
    crisis: tuple[str, ...]
    domains: tuple[str, ...]
    explanation: str
    refusal_key: str | None = None
    language: str | None = None


class Policy:
    """Turns findings into a Verdict according to a profile."""

    def __init__(self, *, profile: Profile, taxonomy: Taxonomy, supported_languages: Iterable[str] = ("en",)) -> None:
        self.profile = profile
        self.taxonomy = taxonomy
        self.supported_languages = frozenset(supported_languages)

    def as_stage(self, finding: Finding, stage: Stage) -> Finding:
        """``finding`` as the policy reads it on ``stage``: on the output stage a crisis category with ``output_as``
        is that prohibited category (an answer that reads as a self-harm crisis is self-harm content), unless the
        profile has it count there as itself (``stages`` naming output)."""
        rule = self.profile.rule(finding.category) if finding.category is not None else None
        # a profile that has the crisis count on the output as itself keeps that; ``stages: []`` never counts
        set_apart = rule is not None and rule.stages is not None and (not rule.stages or "output" in rule.stages)
        if stage is Stage.OUTPUT and rule is not None and rule.output_as is not None and not set_apart:
            return dataclasses.replace(finding, category=rule.output_as)
        return finding

    def counts(self, finding: Finding, stage: Stage) -> bool:
        """Whether a category finding counts on this stage under the profile."""
        finding = self.as_stage(finding, stage)
        if finding.category is None:
            return False
        cat = self.taxonomy.get(finding.category)
        if cat is None:
            return False
        rule = self.profile.rule(finding.category)
        # a passage of a long answer: not what the answer is about, so no disclaimer; a block or referral of the
        # domain acts on any passage of it
        passage = finding.label is not None and finding.label.startswith(PASSAGE_LABEL)
        if passage and self.profile.action_for(finding.category, cat.kind) < Action.REFER:
            return False
        stages = (
            rule.stages if rule.stages is not None else (("input",) if cat.kind == "crisis" else ("input", "output"))
        )
        if str(stage) not in stages:
            return False
        return finding.score >= self.profile.threshold_for(finding.category)

    def decide(
        self,
        *,
        stage: Stage,
        findings: Sequence[Finding],
        failures: Sequence[DetectorFailure] = (),
        blocked_entities: Sequence[str] = (),
        redacted: bool = False,
    ) -> Verdict:
        counted = [self.as_stage(f, stage) for f in findings if self.counts(f, stage)]
        categories = tuple(c for c in self.taxonomy if any(f.category == c for f in counted))
        configured = {c: self.profile.action_for(c, self.taxonomy[c].kind) for c in categories}
        actions = dict(configured)
        if stage is Stage.OUTPUT or self.profile.crisis_mode != "refer":
            # a prohibited category mapped to refer blocks an answer (a referral would come with it) and, where REFER
            # calls the chain (``refer_and_continue``), a request: the referral is still attached (``referral:``)
            actions = {
                c: Action.BLOCK if a is Action.REFER and self.taxonomy[c].kind == "prohibited" else a
                for c, a in configured.items()
            }
        action = max(actions.values(), default=Action.ALLOW)
        reasons: list[str] = []
        for c in categories:
            score = max(f.score for f in counted if f.category == c)
            reasons.append(f"{c} {score:.2f}>={self.profile.threshold_for(c):.2f} -> {actions[c]}")
        refusal_key: str | None = None
        if redacted and action < Action.REDACT:
            action = Action.REDACT
        if redacted:
            kinds = sorted({f.label for f in findings if f.category is None and f.start is not None and f.label})
            reasons.append("personal data redacted: " + (", ".join(kinds) or "entities"))
        if blocked_entities:
            if action < Action.BLOCK:  # a blocking category's refusal says why the turn is refused: it wins
                refusal_key = "pii_blocked"
            action = Action.BLOCK
            reasons.append("pii operator block: " + ", ".join(sorted(set(blocked_entities))))
        language = _language(findings)
        if language is not None and language not in self.supported_languages:
            mode = self.profile.unsupported_language
            reasons.append(f"unsupported language {language} -> {mode}")
            if mode == "block" and action < Action.BLOCK:
                action, refusal_key = Action.BLOCK, "unsupported_language"
        for failure in failures:
            mode = self.profile.on_error_for(failure.detector)
            reasons.append(f"detector {failure.detector} failed ({failure.error}) -> {mode}")
            if mode == "block" and action < Action.BLOCK:
                action, refusal_key = Action.BLOCK, "detector_error"
        # a crisis on the input is referred whatever its action (a profile may block it: the referral then comes with
        # the refusal); on the output a crisis category acts as set and carries no referral of its own
        crisis = tuple(
            c
            for c in categories
            if self.taxonomy[c].kind == "crisis"
            and (actions[c] is Action.REFER or (stage is Stage.INPUT and actions[c] is Action.BLOCK))
        )
        # a category referred as a crisis (``referral:``, self-harm methods as crisis_self_harm) gets that referral,
        # on an answer too (blocked, with the referral first: whoever it was written for may be the one at risk)
        lent = [r for c in categories if configured[c] is Action.REFER and (r := self.profile.rule(c).referral)]
        crisis = (*crisis, *(r for r in dict.fromkeys(lent) if r not in crisis))
        # (a crisis category the profile blocks keeps its block: the referral comes first in the refusal)
        crisis_blocked = any(actions[c] is Action.BLOCK for c in crisis if c in actions)
        if (
            crisis
            and stage is Stage.INPUT
            and action is Action.BLOCK
            and not crisis_blocked
            and self._crisis_overrides(actions)
        ):
            action, refusal_key = Action.REFER, None
            reasons.append("crisis on input -> refer instead of block (the chain is not called)")
        if (
            self.profile.disclaimers.always or any(a is Action.DISCLAIM for a in actions.values())
        ) and action < Action.DISCLAIM:
            action = Action.DISCLAIM
        blocking = tuple(c for c in categories if actions[c] is Action.BLOCK)
        # a domain category the profile allows gets no disclaimer (one that blocks or refers has no answer to carry it)
        domains = tuple(c for c in categories if actions[c] is Action.DISCLAIM)
        return Verdict(
            action=action,
            categories=categories,
            blocking=blocking,
            crisis=crisis,
            domains=domains,
            explanation="; ".join(reasons) or "no category reached its threshold",
            refusal_key=refusal_key,
            language=language,
        )

    def _crisis_overrides(self, actions: dict[str, Action]) -> bool:
        """Whether a crisis on the input turns a BLOCK into REFER.

        A failed detector, a PII ``block`` operator or an unsupported language never take
        a person's referral away: REFER does not call the chain either (``crisis_mode:
        refer``). A counted prohibited category yields only under
        ``crisis_overrides_block``. With ``crisis_mode: refer_and_continue`` REFER would
        call the chain, so the turn stays BLOCKed and the guard puts the referral into
        the refusal instead.
        """
        if self.profile.crisis_mode != "refer":
            return False
        return self.profile.crisis_overrides_block or not any(a is Action.BLOCK for a in actions.values())

    def refusal_text(self, verdict: Verdict, *, blocked_entities: Sequence[str] = ()) -> str | None:
        """The refusal for a BLOCK verdict (None otherwise)."""
        if verdict.action is not Action.BLOCK:
            return None
        if verdict.refusal_key == "pii_blocked":
            return responses.special_refusal("pii_blocked", entities=", ".join(sorted(set(blocked_entities))))
        if verdict.refusal_key is not None:
            return responses.special_refusal(verdict.refusal_key)
        return responses.refusal(verdict.blocking, taxonomy=self.taxonomy, overrides=self.profile.refusals)

    def disclaimer_texts(self, domains: Iterable[str], *, locale: str | None = None) -> tuple[tuple[str, str], ...]:
        """(category, text) of the disclaimers to attach: found domains plus the profile's ``always``."""
        settings = self.profile.disclaimers
        language = settings.language
        if language == "auto":
            language = _language_of(locale, self.profile.locale)
        wanted = [*settings.always, *domains]
        out: list[tuple[str, str]] = []
        for cat in dict.fromkeys(wanted):
            text = responses.disclaimer(cat, language=language, markdown=settings.format == "markdown")
            if text is not None:
                out.append((cat, text))
        return tuple(out)


def _language_of(*locales: str | None) -> str:
    """The language of the first locale that names one, else "en": a bare country ("MX", "CA") names none, so the
    next locale's language stands (it is not Catalan for Canada); a malformed tag is read by its first subtag."""
    from guardrails.locales import parse_locale

    for locale in locales:
        if locale is None or not locale.strip():
            continue
        try:
            language = parse_locale(locale)[0]
        except ValueError:
            language = locale.strip().replace("_", "-").split("-")[0]
        if language:
            return language.lower()
    return "en"


def _language(findings: Sequence[Finding]) -> str | None:
    for f in findings:
        if f.category is None and f.label and f.label.startswith(LANGUAGE_LABEL):
            return f.label[len(LANGUAGE_LABEL) :]
    return None
