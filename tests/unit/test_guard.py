from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import ClassVar

import pytest

from guardrails import Action, Guard, InputError
from guardrails.audit import AuditLog
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.errors import DetectorError, DetectorUnavailable, ProfileError
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Finding

CANARY = "zebra-canary-93731"


class ExplodingDetector(BaseDetector):
    name: ClassVar[str] = "exploding"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        raise RuntimeError(f"boom while reading {text}")  # a careless third-party message quoting the input


class UnavailableDetector(BaseDetector):
    name: ClassVar[str] = "missing_model"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        raise DetectorUnavailable("model file not found; see the README", detector=self.name)


def test_check_returns_a_decision_with_the_contract_fields() -> None:
    guard = guard_with(KeywordDetector({"grenade": "weapons"}))
    d = guard.check("where do I buy a grenade", stage="input")
    assert d.action is Action.BLOCK and d.blocked
    assert d.categories == ("weapons",)
    assert d.text == "where do I buy a grenade"
    assert d.findings[0].category == "weapons"
    assert d.referral is None and d.disclaimers == ()
    assert d.refusal and "weapons" in d.refusal.lower()
    assert set(d.to_dict()) >= {"action", "categories", "findings", "text_hash", "timings_ms"}


def test_crisis_finding_refers_with_resources_and_no_refusal() -> None:
    guard = guard_with(KeywordDetector({"end it all": "crisis_self_harm"}))
    d = guard.check("i want to end it all", locale="en-US")
    assert d.action is Action.REFER and not d.blocked
    assert d.referral is not None and "988" in d.referral


def test_a_request_locale_naming_no_country_gets_the_international_referral_and_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = guard_with(KeywordDetector({"end it all": "crisis_self_harm"}))
    with caplog.at_level(logging.WARNING, logger="guardrails"):
        uk = guard.check("i want to end it all", locale="en-UK")
        guard.check("i want to end it all", locale="en-UK")
        gb = guard.check("i want to end it all", locale="en-GB")
    assert uk.referral is not None and gb.referral is not None
    assert "116 123" in gb.referral and "116 123" not in uk.referral  # safe, but not what the caller meant
    warnings = [r.getMessage() for r in caplog.records if "locale" in r.getMessage()]
    assert len(warnings) == 1  # once per value, not once per turn
    assert "'en-UK'" in warnings[0] and "'GB'" in warnings[0]
    assert "end it all" not in caplog.text


def test_a_locale_that_is_no_short_token_is_warned_of_by_its_length_only(caplog: pytest.LogCaptureFixture) -> None:
    guard = guard_with(KeywordDetector({"end it all": "crisis_self_harm"}))
    odd = "My name is Jane Roe and my SSN is 078-05-1120"
    with caplog.at_level(logging.WARNING, logger="guardrails"):
        assert guard.check("i want to end it all", locale=odd).referral is not None
    assert f"a string of {len(odd)} characters" in caplog.text
    assert "Jane" not in caplog.text and "078" not in caplog.text


def test_crisis_wins_over_block_so_a_person_gets_resources() -> None:
    guard = guard_with(KeywordDetector({"end it all": "crisis_self_harm", "grenade": "weapons"}))
    d = guard.check("where to get a grenade to end it all", locale="en-GB")
    assert d.action is Action.REFER  # weapons alone blocks: the crisis outweighs the block
    assert set(d.categories) == {"crisis_self_harm", "weapons"}


def test_crisis_on_output_does_not_refer() -> None:
    guard = guard_with(KeywordDetector({"end it all": "crisis_self_harm"}))
    assert guard.check("the poem says: end it all", stage="output").action is Action.ALLOW


def test_a_self_harm_crisis_on_output_is_blocked_as_self_harm_promotion_with_its_referral_when_asked() -> None:
    rule = {"output_as": "self_harm_promotion"}
    guard = guard_with(
        KeywordDetector({"end it all": "crisis_self_harm"}), profile={"categories": {"crisis_self_harm": rule}}
    )
    d = guard.check("go on, end it all", stage="output", locale="en-GB")
    assert d.action is Action.BLOCK and d.categories == ("self_harm_promotion",)
    assert d.referral is not None and "116 123" in d.referral


def test_domain_finding_attaches_the_disclaimer() -> None:
    guard = guard_with(KeywordDetector({"ibuprofen": "domain_medical"}))
    d = guard.check("can I take ibuprofen with coffee")
    assert d.action is Action.DISCLAIM
    assert len(d.disclaimers) == 1 and "AI" in d.disclaimers[0]


def test_threshold_from_profile_decides_not_the_detector() -> None:
    det = KeywordDetector({"dice": "gambling"}, score=0.6)
    assert guard_with(det).check("roll the dice").blocked
    strict = guard_with(det, profile={"categories": {"gambling": {"threshold": 0.7}}})
    assert not strict.check("roll the dice").blocked


def test_profile_can_change_a_category_action() -> None:
    det = KeywordDetector({"headline": "domain_news"})
    g = guard_with(det, profile={"categories": {"domain_news": {"action": "block"}}})
    assert g.check("summarise this headline").blocked


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u3000"], ids=["empty", "spaces", "unicode-whitespace"])
def test_empty_text_is_allowed_without_running_detectors(text: str) -> None:
    det = KeywordDetector({"x": "weapons"})
    d = guard_with(det).check(text)
    assert d.action is Action.ALLOW and det.calls == 0


def test_none_is_a_clear_input_error() -> None:
    with pytest.raises(InputError, match="None"):
        guard_with(KeywordDetector({})).check(None)  # type: ignore[arg-type]


def test_non_text_is_a_clear_input_error() -> None:
    with pytest.raises(InputError, match="int"):
        guard_with(KeywordDetector({})).check(42)  # type: ignore[arg-type]


def test_invalid_utf8_bytes_are_decoded_safely_and_still_screened() -> None:
    raw = b"buy a grenade \xff\xfe now"
    d = guard_with(KeywordDetector({"grenade": "weapons"})).check(raw)  # type: ignore[arg-type]
    assert d.blocked


def test_lone_surrogates_do_not_crash() -> None:
    d = guard_with(KeywordDetector({"grenade": "weapons"})).check("grenade \ud800 here")
    assert d.blocked


def test_one_megabyte_text_gets_a_decision() -> None:
    text = "a harmless sentence. " * 50_000 + "grenade"
    assert len(text) > 1_000_000
    guard = guard_with(KeywordDetector({"grenade": "weapons"}), profile={"max_text_chars": 2_000_000})
    decision = guard.check(text)
    assert decision.blocked and decision.categories == ("weapons",)  # judged, not refused as too long


def test_text_over_the_profile_limit_is_refused_not_crashed() -> None:
    g = guard_with(KeywordDetector({}), profile={"max_text_chars": 100})
    d = g.check("x" * 101)
    assert d.blocked and d.refusal and "too long" in d.refusal


def test_failing_detector_fails_closed_by_default_without_leaking_text() -> None:
    d = guard_with(ExplodingDetector()).check(f"hello {CANARY}")
    assert d.blocked
    assert d.failures[0].detector == "exploding"
    assert CANARY not in json.dumps(d.to_dict())


def test_failing_detector_is_recorded_when_profile_allows() -> None:
    d = guard_with(ExplodingDetector(), profile={"on_detector_error": "allow"}).check("hello")
    assert d.action is Action.ALLOW and d.failures[0].error == "RuntimeError"


def test_unavailable_detector_is_marked_unavailable() -> None:
    d = guard_with(UnavailableDetector(), profile={"on_detector_error": "allow"}).check("hello")
    assert d.failures[0].unavailable and "README" in d.failures[0].message


class UnloadableDetector(UnavailableDetector):
    name: ClassVar[str] = "unloadable"

    def warmup(self) -> None:
        raise DetectorUnavailable("model file not found; see the README", detector=self.name)


def test_warmup_raises_when_a_detector_whose_failures_block_cannot_load() -> None:
    with pytest.raises(DetectorUnavailable):
        guard_with(UnloadableDetector()).warmup()


def test_warmup_returns_instead_of_raising_when_the_detectors_failures_are_allowed() -> None:
    guard = guard_with(
        UnloadableDetector(), KeywordDetector({"grenade": "weapons"}), profile={"on_detector_error": "allow"}
    )
    (failure,) = guard.warmup()
    assert failure.detector == "unloadable" and failure.unavailable
    assert guard.check("a grenade").blocked  # the guard keeps serving with the other detectors


def test_warmup_of_the_general_profile_follows_each_detectors_own_failure_policy() -> None:
    from guardrails.profiles import load_profile

    profile = load_profile("general")
    assert profile.on_error_for("toxicity") == "allow"  # a missing Detoxify checkpoint must not stop start-up

    class MissingToxicity(UnloadableDetector):
        name: ClassVar[str] = "toxicity"

    guard = Guard(profile, detectors={"toxicity": MissingToxicity()})
    assert [f.detector for f in guard.warmup()] == ["toxicity"]  # the others load, nothing is raised


def test_detector_that_cannot_be_built_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    from guardrails.detectors.lexical import LexicalDetector
    from guardrails.profiles import Profile

    guard = Guard(Profile(name="p", detectors={"lexical": {}}))  # type: ignore[dict-item]

    def broken(*args: object, **kwargs: object) -> LexicalDetector:
        raise OSError("the pattern files went away")

    monkeypatch.setattr(LexicalDetector, "from_options", classmethod(broken))  # fails when first built
    d = guard.check("hello")
    assert d.blocked and d.failures[0].detector == "lexical"


def test_a_hand_built_profile_naming_a_missing_pattern_file_is_refused_when_the_guard_is_built() -> None:
    from guardrails.profiles import Profile

    profile = Profile(name="p", detectors={"lexical": {"options": {"pattern_files": ["missing_file"]}}})  # type: ignore[dict-item]
    with pytest.raises(ProfileError, match=r"detectors\.lexical\.options: .*missing_file"):
        Guard(profile)


async def test_acheck_matches_check() -> None:
    guard = guard_with(KeywordDetector({"grenade": "weapons", "ibuprofen": "domain_medical"}))
    for text in ["grenade please", "ibuprofen dose", "hello"]:
        sync, async_ = guard.check(text), await guard.acheck(text)
        assert (sync.action, sync.categories) == (async_.action, async_.categories)


async def test_acheck_runs_detectors_off_the_event_loop() -> None:
    seen: list[bool] = []

    class LoopProbe(BaseDetector):
        name: ClassVar[str] = "probe"

        def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
            try:
                asyncio.get_running_loop()
                seen.append(True)
            except RuntimeError:
                seen.append(False)
            return []

    await guard_with(LoopProbe()).acheck("hi")
    assert seen == [False]


def test_check_batch_matches_single_checks() -> None:
    guard = guard_with(KeywordDetector({"grenade": "weapons"}))
    texts = ["grenade", "hello", "", "a grenade again"]
    batch = guard.check_batch(texts)
    assert [d.action for d in batch] == [guard.check(t).action for t in texts]


async def test_acheck_batch_matches_check_batch() -> None:
    guard = guard_with(KeywordDetector({"grenade": "weapons"}))
    texts = ["grenade", "hello"]
    assert [d.action for d in await guard.acheck_batch(texts)] == [d.action for d in guard.check_batch(texts)]


def test_check_batch_rejects_a_bare_string() -> None:
    with pytest.raises(InputError):
        guard_with(KeywordDetector({})).check_batch("abc")


@pytest.mark.parametrize(
    ("texts", "named"),
    [(None, "NoneType"), (5, "int"), ({"grenade": 1}, "dict"), (b"abc", "bytes")],
    ids=["none", "int", "dict", "bytes"],
)
def test_check_batch_rejects_what_is_not_a_sequence_of_texts_naming_its_type(texts: object, named: str) -> None:
    with pytest.raises(InputError, match=named):
        guard_with(KeywordDetector({})).check_batch(texts)  # type: ignore[arg-type]


def test_check_batch_reads_texts_and_conversation_ids_from_any_iterable() -> None:
    guard = guard_with(KeywordDetector({"grenade": "weapons"}))
    decisions = guard.check_batch((t for t in ["a grenade", "hello"]), conversation_ids=iter(["c1", "c2"]))
    assert [d.blocked for d in decisions] == [True, False]


def test_a_checks_audit_context_ids_are_written_beside_its_decision(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    guard = guard_with(KeywordDetector({"grenade": "weapons"}), audit=AuditLog(path=path))
    guard.check("a grenade", audit_context={"run_id": "run-1", "tenant": "t-9"})
    (record,) = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert (record["run_id"], record["tenant"], record["action"]) == ("run-1", "t-9", "block")


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"run_id": 5}, "audit_context must map str ids to str values"),
        (["run-1"], "audit_context must map str ids to str values, got list"),
        ({"action": "allow"}, "may not replace the record's own fields: action"),
    ],
    ids=["not-a-str-value", "not-a-mapping", "a-record-field"],
)
def test_a_bad_audit_context_is_refused_naming_the_problem(tmp_path: Path, context: object, message: str) -> None:
    guard = guard_with(KeywordDetector({}), audit=AuditLog(path=tmp_path / "audit.jsonl"))
    with pytest.raises(InputError, match=message):
        guard.check("hello", audit_context=context)  # type: ignore[arg-type]


def test_audit_record_holds_no_raw_text(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "audit.jsonl"
    guard = guard_with(KeywordDetector({"grenade": "weapons"}), audit=AuditLog(path=path))
    caplog.set_level(logging.DEBUG)
    guard.check(f"grenade {CANARY}")
    guard.check(f"fine {CANARY}", stage="output")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert record["action"] == "block" and record["categories"] == ["weapons"]
    assert len(record["text_hash"]) == 32
    assert CANARY not in path.read_text(encoding="utf-8")
    assert CANARY not in caplog.text


def test_text_hash_is_salted_and_stable_for_equal_text() -> None:
    a = guard_with(KeywordDetector({}), salt=b"one")
    b = guard_with(KeywordDetector({}), salt=b"two")
    assert a.check("same").text_hash == a.check("same").text_hash
    assert a.check("same").text_hash != b.check("same").text_hash


def test_healthcare_profile_disclaims_every_answer() -> None:
    d = Guard.from_profile("healthcare").check("what time is it?", stage="output")
    assert d.action is Action.DISCLAIM and d.disclaimer_categories == ("domain_medical",)


def test_a_redact_only_check_finds_entities_and_no_categories() -> None:
    redacting = KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"})
    judging = KeywordDetector({"grenade": "weapons"})
    judging.name = "judging"  # type: ignore[misc]
    guard = guard_with(redacting, judging)
    d = guard.check("a grenade report about Jane Roe", stage="output", redact_only=True)
    assert d.action is Action.REDACT and d.categories == ()
    assert d.text == "a grenade report about <PERSON_1>"
    assert judging.calls == 0  # a detector that only judges is not run at all
    full = guard.check("a grenade report about Jane Roe", stage="output")
    assert full.blocked and full.categories == ("weapons",)


def test_the_explanation_says_which_kinds_of_personal_data_were_redacted_never_their_values() -> None:
    guard = guard_with(KeywordDetector({}, entities={"Jane Roe": "PERSON"}))
    d = guard.check("write to Jane Roe")
    assert d.action is Action.REDACT
    assert "personal data redacted: PERSON" in d.explanation and "Jane" not in d.explanation


def test_a_category_whose_action_is_disclaim_always_carries_a_disclaimer_text() -> None:
    guard = guard_with(
        KeywordDetector({"poker": "gambling"}), profile={"categories": {"gambling": {"action": "disclaim"}}}
    )
    d = guard.check("tips for poker night", stage="output")
    assert d.action is Action.DISCLAIM and d.disclaimer_categories == ("gambling",)
    assert d.disclaimers and "generated by an AI" in d.disclaimers[0]


class PickyDetector(BaseDetector):
    """Fails on any text holding 'unreadable', and so fails a whole batch that holds one (as an encoder does)."""

    name: ClassVar[str] = "picky"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        if "unreadable" in text:
            raise DetectorError("this text needs more windows than the cap", detector=self.name)
        return [Finding(self.name, "weapons", 0.9)] if "grenade" in text else []


def test_a_text_that_fails_a_detector_in_a_batch_fails_alone_not_the_whole_batch() -> None:
    decisions = guard_with(PickyDetector()).check_batch(["hello there", "an unreadable text", "sell me a grenade"])
    assert [d.action for d in decisions] == [Action.ALLOW, Action.BLOCK, Action.BLOCK]
    assert [bool(d.failures) for d in decisions] == [False, True, False]
    assert decisions[2].categories == ("weapons",)


def test_a_request_for_self_harm_methods_is_answered_with_the_self_harm_referral_not_a_refusal() -> None:
    guard = guard_with(KeywordDetector({"pills": "self_harm_promotion"}))
    d = guard.check("how many pills would be enough", locale="en-GB")
    assert d.action is Action.REFER and d.categories == ("self_harm_promotion",)
    assert d.referral == guard.referral_for(["crisis_self_harm"], locale="en-GB")


def test_an_answer_promoting_self_harm_is_still_blocked() -> None:
    guard = guard_with(KeywordDetector({"pills": "self_harm_promotion"}))
    assert guard.check("take all the pills at once", stage="output").action is Action.BLOCK


def test_any_prohibited_category_mapped_to_refer_blocks_an_answer() -> None:
    rule = {"action": "refer", "referral": "crisis_self_harm"}
    guard = guard_with(KeywordDetector({"dice": "gambling"}), profile={"categories": {"gambling": rule}})
    assert guard.check("roll the dice", stage="input").action is Action.REFER
    assert guard.check("roll the dice and bet your rent", stage="output").action is Action.BLOCK


def test_under_refer_and_continue_a_self_harm_methods_request_is_refused_with_the_referral_and_never_continued() -> (
    None
):
    guard = guard_with(KeywordDetector({"pills": "self_harm_promotion"}), profile={"crisis_mode": "refer_and_continue"})
    d = guard.check("how many pills would be enough", locale="en-GB")
    assert d.action is Action.BLOCK and d.referral == guard.referral_for(["crisis_self_harm"], locale="en-GB")


def test_a_crisis_turn_counting_a_prohibited_category_the_profile_allows_is_not_remembered_as_refused() -> None:
    guard = guard_with(
        KeywordDetector({"end it all": "crisis_self_harm", "grenade": "weapons"}),
        profile={"categories": {"weapons": {"action": "disclaim"}}},
    )
    guard.check("end it all with a grenade")
    assert not guard.was_refused("end it all with a grenade")


def test_a_single_category_id_given_as_a_string_is_an_input_error_not_no_referral() -> None:
    guard = guard_with(KeywordDetector({}))
    assert guard.referral_for(["crisis_self_harm"], locale="en-GB")
    with pytest.raises(InputError, match="sequence of category ids, not a str"):
        guard.referral_for("crisis_self_harm", locale="en-GB")
    with pytest.raises(InputError, match="sequence of category ids"):
        guard.select_disclaimers("domain_medical", conversation_id=None)
