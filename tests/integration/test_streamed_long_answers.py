"""Streamed long answers with the real classifier: no text reaches the caller before a check has read it in every
window the finished answer is read in (README, "Streaming"), so a stream refuses what ``invoke`` refuses and shows
none of a harmful passage first."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from guardrails import Guard
from guardrails.classifier.model import default_model_path
from guardrails.detectors.semantic import SemanticDetector
from guardrails.embeddings import get_encoder
from guardrails.testing import guard_with
from tests.helpers.long_answers import CAMPING, CURRY, SCAM_SCRIPT

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


def test_the_first_text_comes_once_the_model_has_written_more_than_one_window(detector: SemanticDetector) -> None:
    ids = get_encoder().load()._tokenizer.encode(CAMPING, add_special_tokens=False)
    window = ids.offsets[80][0]  # where the 81st word piece starts: 80 of them are some 300-500 characters

    _, _, held = _stream(guard_with(detector), CAMPING)
    _, _, lax = _stream(guard_with(detector, profile={"streaming": {"hold_last_window": False}}), CAMPING)

    assert held > window > lax > 0  # holding the last window back is what makes text come later
