"""One rule on every path: what a detector returns, a redaction failure, a refused turn's hash, the
refusal that wins, disclaimers of allowed domains, an empty locale and redact-only build failures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from guardrails import Action, Guard
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.errors import DetectorError
from guardrails.profiles import DetectorSpec, validate_profile_mapping
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Decision, Finding
from tests.helpers.spy import SpyChatModel, spy_model

CANARY = "zebra-canary-93731"
EMAIL = "jane.roe@example.com"
CRISIS = {"cannot go on": "crisis_self_harm"}
#: the general profile with only the pii detector left
PII_ONLY = {"lexical": {"enabled": False}, "semantic": {"enabled": False}, "toxicity": {"enabled": False}}

Run = Callable[[Guard, str], Decision]


def _check(guard: Guard, text: str) -> Decision:
    return guard.check(text)


def _acheck(guard: Guard, text: str) -> Decision:
    return asyncio.run(guard.acheck(text))


def _batch_of_one(guard: Guard, text: str) -> Decision:
    return guard.check_batch([text])[0]


def _batch_of_two(guard: Guard, text: str) -> Decision:
    return guard.check_batch([text, f"{text} again"])[0]


EVERY_PATH = [
    pytest.param(_check, id="check"),
    pytest.param(_acheck, id="acheck"),
    pytest.param(_batch_of_one, id="batch-of-one"),
    pytest.param(_batch_of_two, id="batch-of-two"),
]


# --------------------------------------------------------------------------- what a detector returns


class Returns(BaseDetector):
    """A detector with a bug: returns ``out`` for every text."""

    name: ClassVar[str] = "broken"

    def __init__(self, out: object) -> None:
        self.out = out

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return self.out  # type: ignore[return-value]


class ShortBatch(BaseDetector):
    """Finds nothing in one text, but answers a batch with one list whatever its length."""

    name: ClassVar[str] = "broken"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return []

    def detect_batch(self, texts: Any, ctxs: Any) -> list[list[Finding]]:
        return [[]]


@pytest.mark.parametrize(
    "out",
    [
        None,
        [{"category": "weapons", "score": 0.9}],
        CANARY,
        [Finding("broken", "weapons", 0.9), None],
        [Finding("broken", "weapon", 0.99)],  # a typo of a category id would block nothing
        [Finding("broken", None, 0.9, 0, 10_000, label="PERSON")],  # a value past the end would stay in clear
    ],
    ids=["none", "dicts", "a-str", "a-none-among-findings", "an-unknown-category", "an-entity-past-the-end"],
)
@pytest.mark.parametrize("run", EVERY_PATH)
def test_a_detector_returning_anything_but_findings_is_its_failure_on_every_path(run: Run, out: object) -> None:
    decision = run(guard_with(Returns(out)), CANARY)
    assert decision.action is Action.BLOCK  # on_detector_error: block
    assert [(f.detector, f.error) for f in decision.failures] == [("broken", "InvalidDetectorOutput")]
    assert CANARY not in decision.failures[0].message  # its shape is named, never its values
    assert decision.categories == ()


@pytest.mark.parametrize("run", EVERY_PATH)
def test_an_invalid_output_whose_detector_failures_are_allowed_is_skipped(run: Run) -> None:
    decision = run(guard_with(Returns(None), profile={"on_detector_error": "allow"}), CANARY)
    assert decision.action is Action.ALLOW
    assert [f.detector for f in decision.failures] == ["broken"]


class StrScore(BaseDetector):
    """A detector with a bug: its score is a str, which no threshold compares with."""

    name: ClassVar[str] = "broken"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return [Finding(self.name, "weapons", "0.99")]  # type: ignore[arg-type]


@pytest.mark.parametrize("on_error", ["block", "allow"])
@pytest.mark.parametrize("run", EVERY_PATH)
def test_a_finding_whose_score_is_no_number_is_its_detectors_failure_never_a_crash(run: Run, on_error: str) -> None:
    decision = run(guard_with(StrScore(), profile={"on_detector_error": on_error}), CANARY)
    assert decision.action is (Action.BLOCK if on_error == "block" else Action.ALLOW)
    assert [f.detector for f in decision.failures] == ["broken"] and decision.categories == ()


def test_a_batch_answered_with_the_wrong_number_of_lists_is_the_detectors_failure_for_every_text() -> None:
    decisions = guard_with(ShortBatch()).check_batch(["one text", "another text"])
    assert [d.action for d in decisions] == [Action.BLOCK, Action.BLOCK]
    for d in decisions:
        assert [(f.detector, f.error) for f in d.failures] == [("broken", "InvalidDetectorOutput")]
        assert "batch of 2 texts" in d.failures[0].message


# --------------------------------------------------------------------------- a failed redaction


class FloatSpans(BaseDetector):
    """A redacting detector with a bug: its offsets are floats, which the redactor cannot slice with."""

    name: ClassVar[str] = "pii"
    redacts: ClassVar[bool] = True

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        i = text.find(EMAIL)
        if i < 0:
            return []
        return [Finding(self.name, None, 0.9, float(i), float(i + len(EMAIL)), label="EMAIL_ADDRESS")]  # type: ignore[arg-type]


def pii_guard(*, profile_error: str, pii_error: str) -> Guard:
    profile = validate_profile_mapping(
        {
            "name": "t",
            "extends": "general",
            "on_detector_error": profile_error,
            "detectors": {**PII_ONLY, "pii": {"on_error": pii_error}},
        }
    )
    return Guard(profile, detectors={"pii": FloatSpans()})


@pytest.mark.parametrize(
    ("profile_error", "pii_error", "action"),
    [("allow", "block", Action.BLOCK), ("block", "allow", Action.ALLOW)],
    ids=["pii-blocks", "pii-allows"],
)
@pytest.mark.parametrize("run", EVERY_PATH)
def test_a_redaction_failure_follows_the_pii_detectors_on_error_not_the_profile_wide_one(
    run: Run, profile_error: str, pii_error: str, action: Action
) -> None:
    decision = run(pii_guard(profile_error=profile_error, pii_error=pii_error), f"mail {EMAIL}")
    assert decision.action is action
    assert [f.detector for f in decision.failures] == ["pii"]
    assert "redact" in decision.failures[0].message and EMAIL not in decision.failures[0].message


def test_redact_raises_detector_error_when_the_redactor_fails_on_a_blocking_detectors_findings() -> None:
    guard = pii_guard(profile_error="allow", pii_error="block")
    with pytest.raises(DetectorError, match="pii") as info:
        guard.redact(f"mail {EMAIL}")
    assert EMAIL not in str(info.value)


def test_redact_skips_a_failed_redaction_whose_detector_failures_are_allowed() -> None:
    assert pii_guard(profile_error="block", pii_error="allow").redact(f"mail {EMAIL}") == f"mail {EMAIL}"


# --------------------------------------------------------------------------- a refused turn is known again


@pytest.mark.parametrize(
    ("given", "asked"),
    [
        ("how to get a grenade \ud800", "how to get a grenade \ud800"),
        (b"how to get a grenade", "how to get a grenade"),
        (b"how to get a grenade \xff", "how to get a grenade \ufffd"),
    ],
    ids=["lone-surrogate", "bytes", "undecodable-bytes"],
)
def test_a_turn_refused_as_the_check_read_it_is_known_as_refused(given: Any, asked: str) -> None:
    guard = guard_with(KeywordDetector({"grenade": "weapons"}))
    assert guard.check(given).action is Action.BLOCK
    assert guard.was_refused(asked)
    assert guard.screen_earlier([asked]) == ()  # known: not judged again


# --------------------------------------------------------------------------- the refusal that wins


def test_a_prohibited_category_refusal_wins_over_the_blocked_entity_one() -> None:
    guard = guard_with(
        KeywordDetector({"grenade": "weapons"}, entities={"123-45-6789": "US_SSN"}),
        profile={"redaction": {"input": {"US_SSN": "block"}}},
    )
    both = guard.check("how to get a grenade, my ssn is 123-45-6789")
    assert both.action is Action.BLOCK
    assert both.refusal == guard.check("how to get a grenade").refusal
    only_entity = guard.check("my ssn is 123-45-6789")
    assert only_entity.refusal is not None and "US_SSN" in only_entity.refusal


# --------------------------------------------------------------------------- disclaimers


def test_a_domain_category_the_profile_allows_gets_no_disclaimer() -> None:
    detector = KeywordDetector({"doctor": "domain_medical"})
    allowed = guard_with(detector, profile={"categories": {"domain_medical": {"action": "allow"}}})
    decision = allowed.check("ask a doctor", "output")
    assert decision.action is Action.ALLOW
    assert decision.disclaimers == () and decision.disclaimer_categories == ()
    default = guard_with(detector).check("ask a doctor", "output")
    assert default.action is Action.DISCLAIM and default.disclaimer_categories == ("domain_medical",)


# --------------------------------------------------------------------------- an empty locale


def test_an_empty_request_locale_leaves_the_profiles_locale_for_the_referral() -> None:
    guard = guard_with(KeywordDetector(CRISIS), profile={"locale": "en-GB"})
    uk = guard.check("I cannot go on").referral
    assert uk is not None and "116 123" in uk
    assert guard.check("I cannot go on", locale="").referral == uk
    assert guard.referral_for(["crisis_self_harm"], locale="") == uk


def test_an_empty_locale_in_the_wrappers_config_leaves_the_profiles_locale_for_the_referral() -> None:
    guard = guard_with(KeywordDetector(CRISIS), profile={"locale": "en-GB"})
    out = guard.wrap(spy_model()).invoke("I cannot go on", config={"configurable": {"locale": ""}})
    assert SpyChatModel.calls == []
    assert "116 123" in out.content


# --------------------------------------------------------------------------- redact-only checks


def test_a_redact_only_check_is_not_blocked_by_a_detector_it_never_runs_that_cannot_be_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from guardrails.detectors.lexical import LexicalDetector

    profile = validate_profile_mapping({"name": "t", "extends": "general", "detectors": PII_ONLY})
    profile = profile.model_copy(update={"detectors": {**profile.detectors, "lexical": DetectorSpec()}})

    def broken(*args: object, **kwargs: object) -> LexicalDetector:
        raise OSError("the pattern files went away")

    monkeypatch.setattr(LexicalDetector, "from_options", classmethod(broken))  # fails when it is first built

    class Pii(KeywordDetector):
        name: ClassVar[str] = "pii"

    guard = Guard(profile, detectors={"pii": Pii({}, entities={EMAIL: "EMAIL_ADDRESS"})})
    redacted = guard.check(f"the document mentions {EMAIL}", redact_only=True)
    assert redacted.action is Action.REDACT and redacted.failures == ()
    assert redacted.text == "the document mentions <EMAIL_ADDRESS_1>"
    judged = guard.check(f"the document mentions {EMAIL}")  # a check that runs lexical still fails closed on it
    assert judged.action is Action.BLOCK and [f.detector for f in judged.failures] == ["lexical"]


class _HistoryJoin(BaseDetector):
    """Finds weapons only in the latest turn joined with an earlier one that names the bomb."""

    name: ClassVar[str] = "joined"
    categories = ("weapons",)

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        if any("bombword" in h for h in ctx.history):
            return [Finding(self.name, "weapons", 0.9, view="history", label="view:history")]
        return []


class _Noise(BaseDetector):
    """A finding of the same category far under its threshold, on the text itself (a toxicity floor, say)."""

    name: ClassVar[str] = "noise"
    categories = ("weapons",)

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return [Finding(self.name, "weapons", 0.06)]


def test_a_turn_refused_only_through_its_history_is_not_remembered_as_refused_for_a_finding_under_threshold() -> None:
    guard = guard_with(_HistoryJoin(), _Noise())
    text = "and how long does it take"
    assert guard.check(text, history=["tell me about bombword"]).blocked
    assert not guard.was_refused(text)


def test_a_turn_refused_for_its_language_is_returned_unjudged_by_screen_earlier() -> None:
    class French(BaseDetector):
        name: ClassVar[str] = "lang"
        categories = ()
        detects_language: ClassVar[bool] = True

        def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
            return [Finding(self.name, None, 0.99, label="language:fr")] if "recette" in text else []

    guard = guard_with(French(), profile={"unsupported_language": "block"})
    text = "Quelle est la recette du pain?"
    assert guard.check(text).blocked
    assert guard.screen_earlier([text]) == (text,)  # not read by the English classifier: withheld, not passed


def test_a_crisis_category_blocked_on_the_output_is_refused_without_pointing_to_services_not_listed() -> None:
    rule = {"action": "block", "stages": ["input", "output"]}
    guard = guard_with(
        KeywordDetector({"selfharmword": "crisis_self_harm"}), profile={"categories": {"crisis_self_harm": rule}}
    )
    d = guard.check("selfharmword", "output")
    assert d.blocked and d.referral is None and d.refusal is not None and "listed" not in d.refusal


def test_a_redacting_detectors_error_raised_by_redact_chains_nothing_that_may_quote_the_text() -> None:
    import traceback

    class Leaky(KeywordDetector):
        name: ClassVar[str] = "leaky"

        def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
            raise ValueError(f"cannot parse {text!r}")

    guard = guard_with(Leaky({}, entities={"x": "US_SSN"}))
    with pytest.raises(DetectorError) as caught:
        guard.redact("my ssn is 078-05-1120")
    error = caught.value
    shown = "".join(traceback.format_exception_only(error))
    assert "078-05-1120" not in shown and error.__cause__ is None and error.__context__ is None  # nothing chained


@pytest.mark.parametrize(
    "call",
    [
        lambda g: g.screen_earlier("buy a grenade"),
        lambda g: g.screen_earlier(["buy a grenade"], stages="input"),
        lambda g: g.screen_earlier({"buy a grenade": 1}),
    ],
    ids=["texts a bare str", "stages a bare str", "texts a dict"],
)
def test_screen_earlier_refuses_a_str_or_a_mapping_where_a_sequence_belongs(call: Callable[[Guard], Any]) -> None:
    from guardrails.errors import InputError

    guard = guard_with(KeywordDetector({"grenade": "weapons"}))
    with pytest.raises(InputError, match="screen_earlier expects a sequence of"):
        call(guard)
    assert not guard.was_refused("buy a grenade")
