"""What the user actually sees: referrals by locale, disclaimers, refusals (issue: safe responses)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.messages import SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import RunnableConfig

from guardrails.guard import Guard
from guardrails.integrations.langchain.history import CRISIS_KIND_WORDS, crisis_in_force, referred_marker
from guardrails.taxonomy import load_taxonomy
from guardrails.testing import KeywordDetector, guard_with
from tests.helpers.spy import SpyChatModel, spy_model

CRISIS_WORDS = {
    "unbearable pain inside": "crisis_self_harm",
    "collapsed and not breathing": "crisis_medical_emergency",
    "he has a knife at the door": "crisis_danger",
}
PROHIBITED = load_taxonomy().ids("prohibited")


def spy(*answers: str) -> SpyChatModel:
    return spy_model(*answers)


def crisis_guard(**profile: Any) -> Guard:
    return guard_with(KeywordDetector(CRISIS_WORDS), profile=profile or None)


# (crisis kind, locale, the exact resource that must appear, and what must come first)
CASES = [
    ("crisis_self_harm", "en-US", "988", None),
    ("crisis_self_harm", "en-GB", "116 123", None),
    ("crisis_self_harm", "en-AU", "13 11 14", None),
    ("crisis_self_harm", "fr-FR", "3114", None),
    ("crisis_self_harm", "de-DE", "0800 111 0 111", None),
    ("crisis_self_harm", "pt-BR", "188", None),
    ("crisis_medical_emergency", "en-US", "911", "911"),
    ("crisis_medical_emergency", "en-AU", "000", "000"),
    ("crisis_medical_emergency", "en-GB", "999", "999"),
    ("crisis_medical_emergency", "ja-JP", "119", "119"),
    ("crisis_medical_emergency", "es-ES", "112", "112"),
    ("crisis_danger", "en-US", "1-800-799-7233", "911"),
    ("crisis_danger", "en-GB", "0808 2000 247", "999"),
    ("crisis_danger", "de-DE", "116 016", "110"),
    ("crisis_danger", "en-NZ", "0800 733 843", "111"),
    ("crisis_danger", "en-IN", "181", "112"),
]


@pytest.mark.parametrize(("kind", "locale", "resource", "first"), CASES, ids=[f"{k}-{loc}" for k, loc, _, _ in CASES])
def test_crisis_gets_the_locale_resource_and_the_model_is_not_called(
    kind: str, locale: str, resource: str, first: str | None
) -> None:
    trigger = next(w for w, c in CRISIS_WORDS.items() if c == kind)
    out = crisis_guard().wrap(spy()).invoke(trigger, config={"configurable": {"locale": locale}})
    assert SpyChatModel.calls == []
    assert resource in out.content
    if first is not None:
        numbers = re.findall(r"\d[\d -]{1,14}\d|\b\d{3}\b", out.content)
        assert numbers and numbers[0].strip() == first


@pytest.mark.parametrize(
    "locale", [None, "xx-ZZ", "fr", "es-419"], ids=["none", "unknown", "language-only", "un-region"]
)
def test_unknown_locale_gets_the_international_directory_and_no_country_number(locale: str | None) -> None:
    out = crisis_guard().wrap(spy()).invoke("unbearable pain inside", config={"configurable": {"locale": locale}})
    assert "findahelpline.com" in out.content.lower()
    assert "local emergency number" in out.content
    assert not re.search(r"\d{3}", out.content)


def test_a_bare_region_is_accepted_as_a_locale() -> None:
    out = crisis_guard().wrap(spy()).invoke("unbearable pain inside", config={"configurable": {"locale": "GB"}})
    assert "116 123" in out.content


def test_profile_locale_is_used_when_the_request_has_none() -> None:
    out = crisis_guard(locale="en-NZ").wrap(spy()).invoke("unbearable pain inside")
    assert "1737" in out.content


@pytest.mark.parametrize(
    ("words", "lines"),
    [
        ("he has a knife at the door and I feel unbearable pain inside", ["0808 2000 247", "116 123", "85258"]),
        ("collapsed and not breathing after unbearable pain inside", ["116 123", "85258"]),
    ],
    ids=["danger-and-self-harm", "medical-and-self-harm"],
)
def test_several_crisis_kinds_at_once_get_each_kinds_lines_after_the_most_urgent_kinds_emergency_number(
    words: str, lines: list[str]
) -> None:
    text = crisis_guard().check(words, locale="en-GB").referral or ""
    numbers = re.findall(r"\d[\d -]{1,14}\d|\b\d{3}\b", text)
    assert numbers and numbers[0].strip() == "999"
    assert [text.count(line) for line in lines] == [1] * len(lines)
    assert [text.index(line) for line in lines] == sorted(text.index(line) for line in lines)


def test_referral_is_warm_and_does_not_triage_or_mention_methods() -> None:
    text = crisis_guard().check("unbearable pain inside", locale="en-US").referral or ""
    assert "sorry" in text.lower() or "you don't have to" in text.lower()
    for word in ("diagnos", "method", "overdose", "pills", "how many"):
        assert word not in text.lower()


def test_refer_and_continue_shows_the_referral_first_then_the_model_under_instruction() -> None:
    chain = crisis_guard(crisis_mode="refer_and_continue").wrap(spy("I'm listening."))
    out = chain.invoke("unbearable pain inside", config={"configurable": {"locale": "en-CA"}})
    (messages,) = SpyChatModel.calls
    assert isinstance(messages[0], SystemMessage) and "not triage" in messages[0].content.lower()
    assert out.content.index("9-8-8") < out.content.index("I'm listening.")


@pytest.mark.parametrize("answer", ["", "   "], ids=["empty", "blank"])
async def test_refer_and_continue_shows_the_referral_even_when_the_model_answers_nothing(answer: str) -> None:
    chain = crisis_guard(crisis_mode="refer_and_continue").wrap(spy(answer, answer) | StrOutputParser())
    config: RunnableConfig = {"configurable": {"locale": "en-GB"}}
    for out in (chain.invoke("unbearable pain inside", config), await chain.ainvoke("unbearable pain inside", config)):
        assert "116 123" in out and out == out.strip()


@pytest.mark.parametrize("category", [c for c in PROHIBITED if c != "self_harm_promotion"])
def test_each_prohibited_category_gets_its_refusal_without_repeating_the_request(category: str) -> None:
    secret_detail = f"zq{category}detail"
    g = guard_with(KeywordDetector({secret_detail: category}))
    out = g.wrap(spy()).invoke(f"please do {secret_detail} now")
    assert SpyChatModel.calls == []
    assert secret_detail not in out.content
    assert "can't" in out.content
    assert len(re.findall(r"[.!?](\s|$)", out.content)) <= 2


def test_profile_can_override_a_refusal() -> None:
    g = guard_with(
        KeywordDetector({"roulette": "gambling"}), profile={"refusals": {"gambling": "No betting help here."}}
    )
    assert g.check("roulette system").refusal == "No betting help here."


@pytest.mark.parametrize(
    ("word", "domain", "marker"),
    [
        ("symptom", "domain_medical", "doctor"),
        ("lawsuit", "domain_legal", "lawyer"),
        ("portfolio", "domain_financial", "financial adviser"),
        ("headline", "domain_news", "primary sources"),
    ],
    ids=["medical", "legal", "financial", "news"],
)
def test_each_domain_attaches_its_own_disclaimer(word: str, domain: str, marker: str) -> None:
    out = guard_with(KeywordDetector({word: domain})).wrap(spy("answer")).invoke(f"a {word} question")
    assert "generated by an AI" in out.content and marker in out.content
    assert out.response_metadata["guardrails"]["disclaimers"] == [out.content.split("\n\n", 1)[1]]


def test_disclaimer_follows_the_request_language_when_available() -> None:
    g = guard_with(KeywordDetector({"symptom": "domain_medical"}))
    out = g.wrap(spy("respuesta")).invoke("symptom?", config={"configurable": {"locale": "es-MX"}})
    assert "generada por una IA" in out.content


def test_markdown_format_marks_the_disclaimer() -> None:
    g = guard_with(KeywordDetector({"symptom": "domain_medical"}), profile={"disclaimers": {"format": "markdown"}})
    out = g.wrap(spy("answer")).invoke("symptom?")
    assert "> **AI-generated information.**" in out.content


def test_disclaimer_found_only_in_the_output_is_the_last_streamed_chunk() -> None:
    g = guard_with(KeywordDetector({"portfolio": "domain_financial"}))
    chunks = [c.content for c in g.wrap(spy("rebalance your portfolio yearly")).stream("hello") if c.content]
    assert "financial adviser" in chunks[-1] and "financial adviser" not in "".join(chunks[:-1])


@pytest.mark.parametrize(
    "profile", ["healthcare", "legal", "finance", "news"], ids=["healthcare", "legal", "finance", "news"]
)
def test_domain_profiles_disclaim_every_answer(profile: str) -> None:
    chain = Guard.from_profile(profile).wrap(spy("one", "two"))
    first = chain.invoke("hello there", config={"configurable": {"conversation_id": "p"}})
    second = chain.invoke("and again", config={"configurable": {"conversation_id": "p"}})
    assert "generated by an AI" in first.content and "generated by an AI" in second.content


def test_a_self_harm_methods_request_gets_the_self_harm_referral_without_repeating_it_or_calling_the_model() -> None:
    secret_detail = "zqselfharmdetail"
    g = guard_with(KeywordDetector({secret_detail: "self_harm_promotion"}))
    out = g.wrap(spy()).invoke(f"please do {secret_detail} now", config={"configurable": {"locale": "en-US"}})
    assert SpyChatModel.calls == []
    assert secret_detail not in out.content and "988" in out.content


def test_each_crisis_statement_that_stands_for_a_referred_turn_is_referred_to_its_own_kind_alone() -> None:
    general = Guard.from_profile("general")
    for kind in CRISIS_KIND_WORDS:
        (statement,) = crisis_in_force([referred_marker([kind])])
        decision = general.check(statement)
        assert decision.referral is not None and kind in decision.categories, kind


def test_words_typed_beside_a_marker_keep_the_turn_as_written() -> None:
    marker = referred_marker(["crisis_self_harm"])
    typed = f"{marker}\nhow do I pick a lock"
    assert crisis_in_force([typed, f"{marker}\n[withheld]"]) == (typed, crisis_in_force([marker])[0])
