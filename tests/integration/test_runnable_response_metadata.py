"""An answer's ``response_metadata`` beside its words: provider entries that repeat or extend the words (OpenAI
``logprobs``: the answer's tokens; Gemini ``grounding_metadata``: its sentences and search queries; Bedrock's
``trace``) must not outlive a refusal or a redaction, while the entries that say nothing of the words (ids, the
model, why it stopped, token counts) stay."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage

from tests.helpers.answers import REFUSAL, answering, guard

PLAIN = {
    "id": "chatcmpl-1",
    "model_name": "gpt-test",
    "finish_reason": "stop",
    "system_fingerprint": "fp_1",
    "token_usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


def wordy(words: str) -> dict[str, Any]:
    """Provider entries that say the answer's words again."""
    return {
        "logprobs": {"content": [{"token": w, "logprob": -0.1, "top_logprobs": []} for w in words.split()]},
        "grounding_metadata": {
            "web_search_queries": [words],
            "grounding_supports": [{"segment": {"text": words, "start_index": 0}, "confidence_scores": [0.9]}],
        },
    }


def delivered(words: str) -> AIMessage:
    answer = AIMessage(content=words, response_metadata={**PLAIN, **wordy(words)})
    out = guard().wrap(answering(answer)).invoke("hello")
    assert isinstance(out, AIMessage)
    return out


def without_guard_meta(m: AIMessage) -> dict[str, Any]:
    return {k: v for k, v in m.response_metadata.items() if k != "guardrails"}


def test_a_refused_answer_keeps_no_provider_entry_that_says_its_words() -> None:
    out = delivered("Wire the grenade fuse like so")
    assert REFUSAL in out.content
    assert without_guard_meta(out) == PLAIN
    assert "grenade" not in str(without_guard_meta(out))


def test_a_redacted_answer_keeps_no_provider_entry_that_says_the_words_it_replaced() -> None:
    out = delivered("Call Jane Roe on 555-0100")
    assert out.content == "Call <PERSON_1> on <PHONE_NUMBER_1>"
    assert without_guard_meta(out) == PLAIN


def test_an_answer_delivered_as_the_model_wrote_it_keeps_its_whole_response_metadata() -> None:
    out = delivered("Pasta needs salted water")
    assert without_guard_meta(out) == {**PLAIN, **wordy("Pasta needs salted water")}
    assert "guardrails" in out.response_metadata
