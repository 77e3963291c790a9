"""An answer's ``response_metadata`` beside its words: provider entries that repeat or extend the words (OpenAI
``logprobs``: the answer's tokens; Gemini ``grounding_metadata``: its sentences and search queries; Bedrock's
``trace``) must not outlive a refusal or a redaction, while the entries that say nothing of the words (ids, the
model, why it stopped, token counts) stay."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from tests.helpers.answers import REFUSAL, answering, guard, streamed
from tests.helpers.spy import SpyChatModel, spy_model

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


def without_guard_meta(m: AIMessage | AIMessageChunk) -> dict[str, Any]:
    return {k: v for k, v in m.response_metadata.items() if k != "guardrails"}


def test_a_refused_answer_keeps_no_provider_entry_that_says_its_words_nor_the_id_they_are_stored_under() -> None:
    out = delivered("Wire the grenade fuse like so")
    assert REFUSAL in out.content
    # the id too: langchain-openai's use_previous_response_id would continue from the refused words stored under it
    assert without_guard_meta(out) == {k: v for k, v in PLAIN.items() if k != "id"}
    assert "grenade" not in str(without_guard_meta(out))


def test_a_redacted_answer_keeps_no_provider_entry_that_says_the_words_it_replaced() -> None:
    out = delivered("Call Jane Roe on 555-0100")
    assert out.content == "Call <PERSON_1> on <PHONE_NUMBER_1>"
    assert without_guard_meta(out) == PLAIN


def test_an_answer_delivered_as_the_model_wrote_it_keeps_its_whole_response_metadata() -> None:
    out = delivered("Pasta needs salted water")
    assert without_guard_meta(out) == {**PLAIN, **wordy("Pasta needs salted water")}
    assert "guardrails" in out.response_metadata


def test_entries_langchain_reads_back_stay_on_a_changed_answer() -> None:
    # the content's format (v1 blocks go back to the provider converted only with it) and Anthropic's container
    kept = {
        "output_version": "v1",
        "model_provider": "anthropic",
        "container": {"id": "container_1", "expires_at": "x"},
    }
    answer = AIMessage(content="Call Jane Roe", response_metadata={**kept, **wordy("Call Jane Roe")})
    out = guard().wrap(answering(answer)).invoke("hello")
    assert without_guard_meta(out) == kept


def test_a_streamed_refusal_passes_on_no_provider_entry_that_says_the_refused_words() -> None:
    chunks = [
        AIMessageChunk(content="Wire the grenade fuse"),
        AIMessageChunk(content="", response_metadata=wordy("grenade")),
    ]
    out = list(guard().wrap(streamed(*chunks)).stream("hello"))
    assert REFUSAL in "".join(str(c.content) for c in out)
    assert "grenade" not in str([without_guard_meta(c) for c in out])


def test_a_streamed_redacted_answer_passes_on_no_provider_entry_that_says_the_redacted_words() -> None:
    chunks = [
        AIMessageChunk(content="Call Jane Roe now"),
        AIMessageChunk(content="", response_metadata=wordy("Jane Roe")),
    ]
    out = list(guard().wrap(streamed(*chunks)).stream("hello"))
    assert "Jane Roe" not in str([(c.content, without_guard_meta(c)) for c in out])


def test_an_earlier_answer_rewritten_for_the_model_keeps_no_entry_that_says_its_old_words() -> None:
    earlier = AIMessage(content="Call Jane Roe", response_metadata={**PLAIN, **wordy("Call Jane Roe")})
    guard().wrap(spy_model("ok")).invoke([HumanMessage("who?"), earlier, HumanMessage("thanks")])
    sent = SpyChatModel.calls[-1][1]
    assert sent.content == "Call <PERSON_1>" and sent.response_metadata == PLAIN
