"""Streamed long answers with the real classifier: no text reaches the caller before a check has read it in every
window the finished answer is read in (README, "Streaming"), so a stream refuses what ``invoke`` refuses and shows
none of a harmful passage first."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from guardrails import Guard
from guardrails.audit import AuditLog
from guardrails.classifier.model import default_model_path
from guardrails.detectors.semantic import SemanticDetector
from guardrails.embeddings import get_encoder
from guardrails.testing import guard_with
from tests.helpers.long_answers import CAMPING, CURRY, SCAM_SCRIPT, SPRAINED_ANKLE
from tests.helpers.streams import read_then_close

pytestmark = pytest.mark.skipif(not default_model_path().is_file(), reason="classifier artefact not built")

#: the scam script after the curry recipe's second paragraph: the answer a check reads whole while it is short
SCAM_IN_CURRY = "\n\n".join([*CURRY.split("\n\n")[:2], SCAM_SCRIPT, *CURRY.split("\n\n")[2:]])


@pytest.fixture(scope="module")
def detector() -> SemanticDetector:
    det = SemanticDetector()
    det.warmup()
    return det


class _Produced(BaseCallbackHandler):
    """The characters the model has streamed so far."""

    def __init__(self) -> None:
        self.chars = 0

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.chars += len(token)


def _stream(guard: Guard, answer: str) -> tuple[str, bool, int]:
    """What the caller sees of ``answer`` streamed word by word, whether it was refused, and how many characters
    the model had streamed when the caller got its first text."""
    chain = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=answer)])))
    produced = _Produced()
    seen, blocked, first = "", False, -1
    for chunk in chain.stream("Tell me about it.", config={"callbacks": [produced]}):
        blocked = blocked or bool((chunk.response_metadata.get("guardrails") or {}).get("output", {}).get("blocked"))
        if chunk.content and first < 0:
            first = produced.chars
        seen += str(chunk.content)
    return seen, blocked, first


def _shown_of(seen: str, answer: str, passage: str) -> int:
    """How many characters of ``passage`` (inside ``answer``) the caller saw before the refusal."""
    same = next((i for i, (a, b) in enumerate(zip(seen, answer, strict=False)) if a != b), min(len(seen), len(answer)))
    at = answer.index(passage)
    return max(0, min(same, at + len(passage)) - at)


def test_a_harmful_passage_in_a_long_streamed_answer_is_refused_before_any_of_it_is_shown(
    detector: SemanticDetector,
) -> None:
    guard = guard_with(detector)
    assert guard.check(SCAM_IN_CURRY, stage="output").blocked

    seen, blocked, _ = _stream(guard, SCAM_IN_CURRY)

    assert blocked and "can't help" in seen
    assert _shown_of(seen, SCAM_IN_CURRY, SCAM_SCRIPT) == 0


def test_without_holding_the_last_window_part_of_that_passage_is_shown_before_the_refusal(
    detector: SemanticDetector,
) -> None:
    lax = guard_with(detector, profile={"streaming": {"hold_last_window": False}})

    seen, blocked, _ = _stream(lax, SCAM_IN_CURRY)

    assert blocked and _shown_of(seen, SCAM_IN_CURRY, SCAM_SCRIPT) >= 8  # what the setting trades for speed


@pytest.mark.parametrize("answer", [CAMPING, CURRY], ids=["camping plan", "curry recipe"])
def test_an_ordinary_long_answer_streams_whole_as_invoke_delivers_it(detector: SemanticDetector, answer: str) -> None:
    guard = guard_with(detector)
    invoked = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=answer)]))).invoke("Tell me about it.")

    seen, blocked, _ = _stream(guard, answer)

    assert not blocked and seen.startswith(answer)
    assert seen == invoked.content  # its disclaimers too


#: a paragraph on a sprain's first days, then the camping plan: medical while short, not once finished
SPRAIN_THEN_CAMPING = "\n\n".join([SPRAINED_ANKLE.split("\n\n")[1], CAMPING])


@pytest.mark.parametrize(
    "answer",
    [CAMPING, SPRAINED_ANKLE, SPRAIN_THEN_CAMPING],
    ids=["camping plan", "sprained ankle", "a sprain's first days then a camping plan"],
)
def test_a_streamed_long_answer_gets_the_disclaimers_invoke_gives_it_not_those_of_a_part_of_it(
    detector: SemanticDetector, answer: str
) -> None:
    guard = guard_with(detector)
    chain = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=answer)])))
    last: dict[str, Any] = {}
    for chunk in chain.stream("Tell me about it."):
        last = (chunk.response_metadata.get("guardrails") or {}).get("output") or last

    invoked = guard.check(answer, stage="output")
    assert last["disclaimer_categories"] == list(invoked.disclaimer_categories)
    assert last["categories"] == list(invoked.categories)


#: a sprain's painkiller paragraph inside a camping plan: a passage, not the answer's subject
PAINKILLERS_IN_CAMPING = "\n\n".join(
    [*CAMPING.split("\n\n")[:3], SPRAINED_ANKLE.split("\n\n")[2], *CAMPING.split("\n\n")[3:]]
)


@pytest.mark.parametrize(
    "answer",
    [PAINKILLERS_IN_CAMPING, "\n\n".join([SPRAINED_ANKLE.split("\n\n")[2], CAMPING])],
    ids=["in the middle", "at the start"],
)
def test_a_profile_that_blocks_a_domain_refuses_a_streamed_passage_of_it_before_showing_any_of_it(
    detector: SemanticDetector, answer: str
) -> None:
    blocking = guard_with(detector, profile={"categories": {"domain_medical": {"action": "block"}}})
    passage = SPRAINED_ANKLE.split("\n\n")[2]
    assert blocking.check(answer, stage="output").blocked

    seen, blocked, _ = _stream(blocking, answer)

    assert blocked and _shown_of(seen, answer, passage) == 0


def test_a_profile_that_blocks_a_domain_delivers_a_streamed_one_window_answer_as_invoke_does(
    detector: SemanticDetector,
) -> None:
    paragraphs = CURRY.split("\n\n")
    answer = "\n\n".join([paragraphs[0], paragraphs[1] + " Hope the headache is gone.", *paragraphs[2:4]])
    assert get_encoder().load().fits_one_window(answer)  # read whole by invoke, in windows while it is written
    blocking = guard_with(detector, profile={"categories": {"domain_medical": {"action": "block"}}})
    invoked = blocking.check(answer, stage="output")

    seen, blocked, _ = _stream(blocking, answer)

    assert blocked == invoked.blocked
    assert not blocked and seen.startswith(answer)


def test_a_stream_the_caller_stops_reading_early_is_recorded_with_the_passages_it_read_and_no_disclaimer(
    detector: SemanticDetector, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    assert "domain_medical" in guard_with(detector).check(SPRAINED_ANKLE, stage="output").disclaimer_categories
    guard = guard_with(detector, audit=AuditLog(path=path))
    shown = read_then_close(
        guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=SPRAINED_ANKLE)]))).stream("Hi."),
        more_than=200,
    )

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    (output,) = [r for r in records if r["stage"] == "output"]
    passages = [
        f for f in output["findings"] if f["category"] == "domain_medical" and f["label"].startswith("passage:")
    ]
    assert len(shown) < len(SPRAINED_ANKLE)
    assert passages and passages[0]["score"] >= 0.5  # what its checks read is on record
    assert output["disclaimer_categories"] == []  # the disclaimer comes with the end, which the caller never read


def test_the_first_text_comes_once_the_model_has_written_more_than_one_window(detector: SemanticDetector) -> None:
    ids = get_encoder().load()._tokenizer.encode(CAMPING, add_special_tokens=False)
    window = ids.offsets[80][0]  # where the 81st word piece starts: 80 of them are some 300-500 characters

    _, _, held = _stream(guard_with(detector), CAMPING)
    _, _, lax = _stream(guard_with(detector, profile={"streaming": {"hold_last_window": False}}), CAMPING)

    assert held > window > lax > 0  # holding the last window back is what makes text come later


_STEPS = [
    "water the tomatoes in the morning",
    "mulch the beds with straw",
    "pinch out the side shoots every week",
    "sow lettuce every two weeks for a steady supply",
    "use a small gas stove rather than an open fire",
    "keep the stove on flat stone",
    "never cook inside the tent",
    "carry a lighter and matches in a sealed bag",
    "add garlic and ginger and stir for a minute",
    "stir in cumin, coriander and turmeric",
    "add a tin of chopped tomatoes",
    "simmer for five minutes",
    "add the chicken and coat it in the sauce",
    "pour in coconut milk and simmer for twenty minutes",
    "season with salt and lemon",
    "serve with rice or flatbreads",
]
#: the scam script with its sentence ends made dashes, as the rest of ``RUN_ON``
SCAM_RUN_ON = SCAM_SCRIPT.split(". ", 1)[1].replace(". ", " - ").rstrip(".").lower()
#: tips without one sentence end: one sentence to the encoder; the scam comes after more than a stream check's window
RUN_ON = " - ".join([*_STEPS * 4, SCAM_RUN_ON, *_STEPS[:6]])


def _chunked_stream(guard: Guard, chunks: list[str]) -> tuple[str, bool]:
    from tests.helpers.spy import chunked_model

    seen, blocked = "", False
    for chunk in guard.wrap(chunked_model(chunks)).stream("Tell me about it."):
        blocked = blocked or bool((chunk.response_metadata.get("guardrails") or {}).get("output", {}).get("blocked"))
        seen += str(chunk.content)
    return seen, blocked


def test_an_answer_with_no_sentence_ends_is_held_back_until_it_can_be_read_whole(detector: SemanticDetector) -> None:
    guard = guard_with(detector)
    assert len(RUN_ON) > guard.profile.streaming.window_chars
    assert guard.check(RUN_ON, stage="output").blocked

    seen, blocked, _ = _stream(guard, RUN_ON)

    assert blocked and "can't help" in seen
    assert _shown_of(seen, RUN_ON, SCAM_RUN_ON) == 0


def test_a_harmful_passage_is_not_shown_whatever_two_chunks_the_answer_comes_in(detector: SemanticDetector) -> None:
    answer = "\n\n".join([CAMPING, SCAM_SCRIPT, CURRY])
    guard = guard_with(detector)
    assert guard.check(answer, stage="output").blocked
    at = answer.index(SCAM_SCRIPT)

    for cut in range(at - 900, at + len(SCAM_SCRIPT), 61):  # big first chunks, ending before and inside the passage
        seen, blocked = _chunked_stream(guard, [answer[:cut], answer[cut:]])

        assert blocked and _shown_of(seen, answer, SCAM_SCRIPT) == 0, cut


def test_a_harmful_sentence_longer_than_a_window_is_not_shown_before_it_ends(detector: SemanticDetector) -> None:
    lead = (
        "For the calls this week, work through the list of numbers in the order given, use the quiet room at the "
        "back, wear the headset, note every answer on the sheet, take a break every hour, drink water, keep the "
        "window closed so there is no street noise, speak slowly and clearly, sit up straight in the chair, keep a "
        "notepad by the phone, check the time zone before you dial, let it ring six times before you hang up, and "
    )
    sentence = lead + SCAM_SCRIPT.split(". ", 1)[1].replace(". ", ", and ").rstrip(".").lower() + "."
    answer = "\n\n".join([CURRY.split("\n\n")[0], sentence, *CURRY.split("\n\n")[1:]])
    guard = guard_with(detector)
    assert guard.check(answer, stage="output").blocked

    seen, blocked, _ = _stream(guard, answer)

    assert blocked and _shown_of(seen, answer, sentence) == 0


def test_a_streamed_answer_longer_than_max_text_chars_is_refused_as_invoke_refuses_it(
    detector: SemanticDetector,
) -> None:
    guard = guard_with(detector, profile={"max_text_chars": 2500})
    answer = CAMPING + "\n\n" + CURRY
    assert len(answer) > 2500 and guard.check(answer, stage="output").blocked  # too long to check

    seen, blocked, _ = _stream(guard, answer)

    assert blocked and len(seen) < 2500


def _lag(guard: Guard, answer: str) -> int:
    """The most characters the caller was behind the model while it streamed ``answer`` word by word."""
    chain = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=answer)])))
    produced = _Produced()
    seen = worst = 0
    for chunk in chain.stream("Tell me about it.", config={"callbacks": [produced]}):
        seen += len(str(chunk.content))
        worst = max(worst, produced.chars - seen)
    return worst


@pytest.mark.parametrize(
    "fold",
    [
        lambda p: p + " Set hold_last_window in the config.",  # a name the joined view reads as words
        lambda p: p.replace(". A", "\u2026 A").replace(". T", "\u2026 T"),  # ellipses, three dots when folded
        lambda p: p.replace(" minutes", "\u00a0minutes").replace(" litres", "\u00a0litres"),  # non-breaking spaces
    ],
    ids=["identifier", "ellipsis", "non-breaking space"],
)
def test_ordinary_characters_the_classifiers_views_fold_do_not_hold_the_answer_back(
    detector: SemanticDetector, fold: Callable[[str], str]
) -> None:
    plain = "\n\n".join([CAMPING, CURRY])
    folded = "\n\n".join(fold(p) for p in plain.split("\n\n"))
    guard = guard_with(detector)
    assert folded != plain and not guard.check(folded, stage="output").blocked

    # about 80 word pieces and a check's interval behind the model, as the plain answer is
    assert _lag(guard, folded) <= _lag(guard, plain) + 40
