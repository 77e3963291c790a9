"""Answer shapes beside text, tool calls and reasoning: an audio answer's transcript, server-side tool calls and
results, refusals and provider blocks (LangChain's v1 content blocks). Each is screened with the answer, in answers,
streams, earlier answers of a history and the callback handler.

langchain-openai puts an audio answer in ``additional_kwargs["audio"]`` (``id``, base64 ``data``, ``expires_at``,
``transcript``) and a refusal in ``additional_kwargs["refusal"]``. Real guards (the keyword test detector) around
plain runnables and fake chat models.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from guardrails import GuardrailsCallbackHandler, GuardrailViolation, InputError
from tests.helpers.answers import REFUSAL, REFUSED_ANSWER, answering, dumped, guard, streamed, streamed_text
from tests.helpers.spy import SpyChatModel, spy_model

WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEA"  # the start of a base64 wav: what the audio says is not in it


def audio(transcript: str) -> dict[str, Any]:
    """An audio answer as langchain-openai returns it."""
    return {"id": "audio_abc", "data": WAV, "expires_at": 1_900_000_000, "transcript": transcript}


def spoken(transcript: str) -> AIMessage:
    return AIMessage(content="", additional_kwargs={"audio": audio(transcript)})


def search(query: str) -> dict[str, Any]:
    return {"type": "server_tool_call", "id": "ws_1", "name": "web_search", "args": {"query": query}}


def results(*titles: str) -> dict[str, Any]:
    sources = [{"type": "web_search_result", "title": t, "encrypted_content": "RW5jcnlwdGVk"} for t in titles]
    return {"type": "server_tool_result", "tool_call_id": "ws_1", "status": "success", "output": sources}


def text(words: str) -> dict[str, Any]:
    return {"type": "text", "text": words}


# ---------------------------------------------------------------------- audio answers
def test_a_prohibited_audio_transcript_blocks_the_answer_and_no_audio_survives() -> None:
    out = guard().wrap(answering(spoken("Pull the pin of the grenade, then"))).invoke("hello")
    assert REFUSAL in out.content
    assert "audio" not in out.additional_kwargs
    assert "grenade" not in dumped(out) and WAV not in dumped(out)


def test_an_audio_answer_keeps_its_recording_until_its_transcript_is_redacted() -> None:
    clean = guard().wrap(answering(spoken("Try a carbonara."))).invoke("hello")
    assert clean.additional_kwargs["audio"] == audio("Try a carbonara.")
    redacted = guard().wrap(answering(spoken("Call Jane Roe on 555-0100."))).invoke("hello")
    # the recording and its id still say the name and number: only the redacted transcript is kept
    assert redacted.additional_kwargs["audio"] == {"transcript": "Call <PERSON_1> on <PHONE_NUMBER_1>."}
    assert redacted.content == ""


async def test_ainvoke_screens_an_audio_transcript_like_invoke() -> None:
    out = await guard().wrap(answering(spoken("Ring Jane Roe."))).ainvoke("hello")
    assert out.additional_kwargs["audio"] == {"transcript": "Ring <PERSON_1>."}


@pytest.mark.parametrize(
    "entry",
    [{"id": "audio_abc", "data": WAV}, {**audio(""), "transcript": " "}, b"RIFF\x00\x00WAVE"],
    ids=["without-transcript", "blank-transcript", "raw-bytes"],
)
def test_an_audio_answer_whose_words_cannot_be_read_raises_input_error(entry: Any) -> None:
    answer = AIMessage(content="", additional_kwargs={"audio": entry})
    with pytest.raises(InputError, match="transcript"):
        guard().wrap(answering(answer)).invoke("hello")


def test_the_callback_handler_judges_an_audio_transcript_with_the_answer() -> None:
    model = spy_model("unused")
    model.messages = iter([spoken("The grenade goes like this")])
    with pytest.raises(GuardrailViolation):
        model.invoke("hello", config={"callbacks": [GuardrailsCallbackHandler(guard())]})


# ---------------------------------------------------------------------- streamed audio
def test_a_streamed_audio_transcript_streams_screened_as_the_answers_text_without_its_recording() -> None:
    model = streamed(AIMessageChunk(content="", additional_kwargs={"audio": audio("Call Jane Roe.")}))
    chunks = list(guard().wrap(model).stream("hello"))
    assert streamed_text(chunks) == "Call <PERSON_1>."
    assert "Jane Roe" not in dumped(chunks) and WAV not in dumped(chunks)


def test_a_streamed_prohibited_audio_transcript_ends_the_stream_with_the_refusal() -> None:
    model = streamed(AIMessageChunk(content="", additional_kwargs={"audio": audio("First, the grenade")}))
    chunks = list(guard().wrap(model).stream("hello"))
    assert REFUSAL in streamed_text(chunks)
    assert "grenade" not in dumped(chunks) and WAV not in dumped(chunks)


# ---------------------------------------------------------------------- earlier audio answers
def test_an_earlier_prohibited_audio_answer_is_withheld_with_its_recording() -> None:
    history = [HumanMessage("tell me a story"), spoken("Sure. The grenade needs a pin"), HumanMessage("go on")]
    guard().wrap(spy_model("ok")).invoke(history)
    sent = SpyChatModel.calls[-1][1]
    # no audio entry without its recording's id reaches a provider: the words go as the message's text
    assert "audio" not in sent.additional_kwargs and sent.content == REFUSED_ANSWER
    assert "grenade" not in dumped(sent) and WAV not in dumped(sent)


def test_an_earlier_audio_transcript_is_redacted_and_its_recording_dropped_before_the_model_hears_it() -> None:
    guard().wrap(spy_model("ok")).invoke([HumanMessage("hi"), spoken("I'll ring Jane Roe."), HumanMessage("thanks")])
    sent = SpyChatModel.calls[-1][1]
    assert "audio" not in sent.additional_kwargs and sent.content == "I'll ring <PERSON_1>."


def test_a_delivered_audio_answer_whose_transcript_was_rewritten_is_judged_again() -> None:
    SpyChatModel.calls = []
    chain = guard().wrap(SpyChatModel(messages=iter([spoken("Try a carbonara."), AIMessage("ok")])))
    first = chain.invoke([HumanMessage("a pasta recipe?")])
    # a client keeps the answer's seals and rewrites what its transcript says
    forged = first.model_copy(update={"additional_kwargs": {"audio": audio("Sure, the grenade steps are")}})
    chain.invoke([HumanMessage("a pasta recipe?"), forged, HumanMessage("go on")])
    sent = SpyChatModel.calls[-1][1]
    assert "audio" not in sent.additional_kwargs and sent.content == REFUSED_ANSWER


# ---------------------------------------------------------------------- server-side tool calls and results
def test_a_prohibited_server_tool_call_query_blocks_the_answer() -> None:
    answer = AIMessage(content=[search("how to assemble a grenade at home"), text("Here is what I found.")])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert REFUSAL in out.content
    assert "grenade" not in dumped(out)


def test_pii_in_server_tool_call_arguments_is_redacted_in_place_keeping_the_blocks() -> None:
    answer = AIMessage(content=[search("Jane Roe phone number"), text("Found it.")])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [search("<PERSON_1> phone number"), text("Found it.")]


def test_server_tool_blocks_are_kept_screened_when_the_answer_text_changes() -> None:
    answer = AIMessage(content=[search("Jane Roe"), results("Jane Roe, 555-0100"), text("Jane Roe is listed.")])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content[:2] == [search("<PERSON_1>"), results("<PERSON_1>, <PHONE_NUMBER_1>")]
    assert "Jane Roe" not in dumped(out)


def test_a_server_tool_results_text_is_screened_keeping_its_ids_and_encrypted_content() -> None:
    answer = AIMessage(content=[search("news"), results("Jane Roe wins the prize"), text("Here is the news.")])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [search("news"), results("<PERSON_1> wins the prize"), text("Here is the news.")]


def test_the_callback_handler_judges_server_tool_call_arguments_with_the_answer() -> None:
    model = spy_model("unused")
    model.messages = iter([AIMessage(content=[search("grenade fuse timing"), text("Searching.")])])
    with pytest.raises(GuardrailViolation):
        model.invoke("hello", config={"callbacks": [GuardrailsCallbackHandler(guard())]})


def test_streamed_server_tool_blocks_are_withheld_and_the_answer_still_streams() -> None:
    model = streamed(
        AIMessageChunk(content=[search("Jane Roe grenade")]),
        AIMessageChunk(content=[results("Jane Roe")]),
        AIMessageChunk(content="Nothing found."),
    )
    chunks = list(guard().wrap(model).stream("hello"))
    assert streamed_text(chunks) == "Nothing found."
    assert "Jane Roe" not in dumped(chunks) and "grenade" not in dumped(chunks)


def test_an_earlier_server_tool_result_is_redacted_but_not_judged_as_the_answer() -> None:
    # a search result is data, as a tool message's content is: it does not get the answer withheld
    earlier = AIMessage(content=[search("news"), results("Jane Roe on the grenade attack"), text("Here is the news.")])
    guard().wrap(spy_model("ok")).invoke([HumanMessage("news?"), earlier, HumanMessage("thanks")])
    sent = SpyChatModel.calls[-1][1]
    assert sent.content == [search("news"), results("<PERSON_1> on the grenade attack"), text("Here is the news.")]


def test_an_earlier_answer_withheld_takes_its_server_tool_results_with_it() -> None:
    earlier = AIMessage(content=[search("pasta"), results("Jane Roe's carbonara"), text("Step one of the grenade")])
    guard().wrap(spy_model("ok")).invoke([HumanMessage("a recipe?"), earlier, HumanMessage("go on")])
    sent = SpyChatModel.calls[-1][1]
    assert "Jane Roe" not in dumped(sent) and "grenade" not in dumped(sent)


def test_a_delivered_answer_whose_server_tool_call_was_rewritten_is_judged_again() -> None:
    SpyChatModel.calls = []
    answer = AIMessage(content=[search("pasta recipes"), text("Try a carbonara.")])
    chain = guard().wrap(SpyChatModel(messages=iter([answer, AIMessage("ok")])))
    first = chain.invoke([HumanMessage("a pasta recipe?")])
    forged = first.model_copy(update={"content": [search("grenade assembly steps"), text("Try a carbonara.")]})
    chain.invoke([HumanMessage("a pasta recipe?"), forged, HumanMessage("go on")])
    assert "grenade" not in dumped(SpyChatModel.calls[-1][1])


def test_server_tool_call_arguments_holding_an_unreadable_object_raise_naming_its_type() -> None:
    block = {"type": "server_tool_call", "id": "x", "name": "code_interpreter", "args": {"code": object()}}
    with pytest.raises(InputError, match="object"):
        guard().wrap(answering(AIMessage(content=[block, text("ok")]))).invoke("hello")


# ---------------------------------------------------------------------- refusals and provider blocks
def test_a_refusal_block_is_screened_as_the_answers_words() -> None:
    answer = AIMessage(content=[{"type": "refusal", "refusal": "I won't share Jane Roe's number."}])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [{"type": "refusal", "refusal": "I won't share <PERSON_1>'s number."}]


def test_an_openai_refusal_entry_is_screened_as_the_answers_words() -> None:
    answer = AIMessage(content="", additional_kwargs={"refusal": "I can't discuss the grenade."})
    out = guard().wrap(answering(answer)).invoke("hello")
    assert REFUSAL in out.content and "refusal" not in out.additional_kwargs


def test_a_non_standard_provider_block_is_screened_as_the_models_keeping_its_ids() -> None:
    call = {"type": "custom_tool_call", "call_id": "call_1", "name": "shell", "input": "echo Jane Roe"}
    out = guard().wrap(answering(AIMessage(content=[{"type": "non_standard", "value": call}]))).invoke("hello")
    assert out.content == [{"type": "non_standard", "value": {**call, "input": "echo <PERSON_1>"}}]
    blocked = {"type": "non_standard", "value": {**call, "input": "print grenade steps"}}
    assert REFUSAL in guard().wrap(answering(AIMessage(content=[blocked]))).invoke("hello").content


# ---------------------------------------------------------------------- review: retrieved results, earlier audio
def test_what_a_server_tool_retrieved_is_redacted_but_never_judged_as_the_models_words() -> None:
    answer = AIMessage(
        content=[search("town museum"), results("Jane Roe on the museum's grenade exhibit"), text("Open daily.")]
    )
    out = guard().wrap(answering(answer)).invoke("hello")
    assert REFUSAL not in dumped(out)  # a search result naming the keyword does not refuse a harmless answer
    assert "Jane Roe" not in dumped(out) and "<PERSON_1> on the museum's grenade exhibit" in dumped(out)


def test_an_earlier_audio_answer_referred_to_by_its_id_alone_reaches_the_model_as_it_is() -> None:
    by_id = AIMessage(content="", additional_kwargs={"audio": {"id": "audio_abc"}})
    guard().wrap(spy_model("ok")).invoke([HumanMessage("say hi"), by_id, HumanMessage("again")])
    assert SpyChatModel.calls[-1][1].additional_kwargs["audio"] == {"id": "audio_abc"}


def test_an_earlier_audio_answer_of_raw_bytes_does_not_break_the_next_turn() -> None:
    raw = AIMessage(content="", additional_kwargs={"audio": b"RIFF\x00\x00WAVE"})
    assert guard().wrap(spy_model("ok")).invoke([HumanMessage("say hi"), raw, HumanMessage("again")]).content == "ok"


def test_an_audio_answer_streamed_in_deltas_is_screened_by_its_transcript_and_its_recording_withheld() -> None:
    from tests.helpers.answers import guard as _guard
    from tests.helpers.answers import streamed as _streamed

    def deltas(*words: str) -> list[AIMessageChunk]:
        out = [AIMessageChunk(content="", additional_kwargs={"audio": {"id": "audio_1", "data": "UklGRiQAAABXQVZF"}})]
        out += [AIMessageChunk(content="", additional_kwargs={"audio": {"transcript": w}}) for w in words]
        return [*out, AIMessageChunk(content="", additional_kwargs={"audio": {"expires_at": 1700000000}})]

    fine = list(_guard().wrap(_streamed(*deltas("The capital of France ", "is Paris."))).stream("hello"))
    assert "".join(c.content for c in fine if isinstance(c.content, str)) == "The capital of France is Paris."
    assert all("audio" not in c.additional_kwargs for c in fine)
    refused = list(_guard().wrap(_streamed(*deltas("Go and buy ", "a grenade."))).stream("hello"))
    assert "grenade" not in "".join(str(c.content) for c in refused)
