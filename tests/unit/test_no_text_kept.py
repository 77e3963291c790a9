"""What a check leaves behind holds none of the user's text: no PII stays in the PII detector's memory (spaCy's
string store, the recognizers' memos) once a check is over, and a stopped turn whose values could not be redacted
is not carried whole by its decision."""

from __future__ import annotations

from typing import ClassVar

import pytest

from guardrails import Action, Guard
from guardrails.detectors.base import DetectContext
from guardrails.errors import DetectorError
from guardrails.pii import recognizers
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Finding

TEXT = "Hi, I'm Zyxwortha Quennelby, mail zyx.quennelby@example.org or call 415-555-0132 about the grenade."


@pytest.fixture(scope="module")
def guard() -> Guard:
    return Guard.from_profile("general")


def test_no_word_of_a_checked_text_stays_in_spacys_string_stores(guard: Guard) -> None:
    from guardrails.detectors.pii import _ENGINES

    guard.check("warm the engine up", "input")
    engines = list(_ENGINES.values())
    assert engines
    before = [len(e.nlp.vocab.strings) + len(e.blank.vocab.strings) for e in engines]
    guard.check(TEXT, "input", conversation_id="c1")
    for engine, size in zip(engines, before, strict=True):
        stores = (engine.nlp.vocab.strings, engine.blank.vocab.strings)
        assert not any(word in store for store in stores for word in ("Zyxwortha", "Quennelby", "zyx.quennelby"))
        assert len(engine.nlp.vocab.strings) + len(engine.blank.vocab.strings) == size


def test_the_recognizers_remember_no_text_or_value_after_an_analysis(guard: Guard) -> None:
    d = guard.check(TEXT, "input", conversation_id="c2")
    assert "<PHONE_NUMBER" in d.text and "Zyxwortha" not in d.text
    assert recognizers._MEMO.get() is None
    for memoized in (recognizers._folded, recognizers._phone_validity):
        assert not hasattr(memoized, "cache_info")  # no process-wide cache keyed by the text or a value


class BrokenRedactor(KeywordDetector):
    """Finds PII by failing: the values of the text can never be redacted."""

    name: ClassVar[str] = "broken_pii"

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        raise DetectorError("the recognizer crashed", detector=self.name)


def test_a_stopped_turn_whose_values_could_not_be_redacted_is_not_carried_by_its_decision() -> None:
    guard = guard_with(BrokenRedactor({}, entities={"Jane Roe": "PERSON"}))
    d = guard.check("I'm Jane Roe, SSN 536-22-8745", "input")
    assert d.action is Action.BLOCK and d.failures and d.text == ""


def test_an_allowed_turn_whose_redactor_failed_under_on_error_allow_keeps_its_text_for_the_chain() -> None:
    profile = {"on_detector_error": "allow"}
    guard = guard_with(BrokenRedactor({}, entities={"Jane Roe": "PERSON"}), profile=profile)
    d = guard.check("I'm Jane Roe, what's the weather like?", "input")
    assert d.action is Action.ALLOW and d.failures and d.text == "I'm Jane Roe, what's the weather like?"
