"""Provider-native content blocks (LangChain's default output format, not v1), tool-call blocks in content, citations
and an image's revised prompt: each is screened with the answer, in answers, streams, earlier answers of a history
and the callback handler.

The blocks are shaped as the provider packages put them in an ``AIMessage``'s content: langchain-anthropic
(``server_tool_use``, ``web_search_tool_result``, ``mcp_tool_use``, ``mcp_tool_result``,
``code_execution_tool_result``, text ``citations``), langchain-openai's Responses API (``web_search_call``,
``file_search_call``, ``code_interpreter_call``, ``computer_call``, ``custom_tool_call``, ``image_generation_call``,
``mcp_call``, ``function_call``, text ``annotations``; ``additional_kwargs["tool_outputs"]`` in its v0 format),
langchain-google-genai (``executable_code``, ``code_execution_result``) and langchain-aws's Converse API
(``server_tool_result`` with a ``content``). The model-written parts (queries, arguments, code, typed text) are judged
as tool-call arguments are; the provider tools' results with the answer, and only redacted in a history; citations are
retrieved text, only redacted. Ids, urls, base64 payloads and signatures are left as they are. Real guards (the
keyword test detector) around plain runnables and fake chat models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.runnables import RunnableGenerator

from guardrails import GuardrailsCallbackHandler, GuardrailViolation, InputError
from tests.helpers.answers import REFUSAL, REFUSED_ANSWER, answering, dumped, guard, streamed, streamed_text
from tests.helpers.spy import SpyChatModel, spy_model
from tests.integration.test_runnable_audio_and_server_tools import text

#: a base64 payload (an image) whose letters happen to spell the keyword and a name: never read as words
PAYLOAD = "iVBORw0KGgoAAAANSUhEUgAAgrenadeJaneRoeAAAAAQAAAAEAAAAAAAAAAAAAAAAAAAAA=="
URL = "https://news.example.com/2025/local"
#: a url that happens to name the keyword and a person: an address, never read as words
NAMED_URL = "https://example.com/grenade-facts/jane-roe"


def handled(answer: AIMessage) -> None:
    """The answer through a chat model watched by the callback handler."""
    model = spy_model("unused")
    model.messages = iter([answer])
    model.invoke("hello", config={"callbacks": [GuardrailsCallbackHandler(guard())]})


def sent_to_model(earlier: AIMessage) -> Any:
    """The earlier answer as the model gets it, in a history that goes on after it."""
    guard().wrap(spy_model("ok")).invoke([HumanMessage("tell me"), earlier, HumanMessage("thanks")])
    return SpyChatModel.calls[-1][1]


# ---------------------------------------------------------------------- Anthropic
def server_tool_use(query: str) -> dict[str, Any]:
    return {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": query}}


def web_search_tool_result(title: str) -> dict[str, Any]:
    page = {"type": "web_search_result", "title": title, "url": URL, "encrypted_content": PAYLOAD, "page_age": "2d"}
    return {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": [page]}


def cited(words: str, quote: str) -> dict[str, Any]:
    """An Anthropic text block with a web search citation."""
    citation = {
        "type": "web_search_result_location",
        "cited_text": quote,
        "url": URL,
        "title": "Local news",
        "encrypted_index": PAYLOAD,
    }
    return {"type": "text", "text": words, "citations": [citation]}


def test_a_prohibited_anthropic_web_search_query_blocks_the_answer() -> None:
    answer = AIMessage(content=[server_tool_use("grenade assembly at home"), text("Here is what I found.")])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert REFUSAL in out.content
    assert "grenade" not in dumped(out)


def test_pii_in_an_anthropic_web_search_and_its_results_is_redacted_in_place_keeping_urls_and_encrypted_content() -> (
    None
):
    answer = AIMessage(
        content=[server_tool_use("Jane Roe phone"), web_search_tool_result("Jane Roe: 555-0100"), text("Found it.")]
    )
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [
        server_tool_use("<PERSON_1> phone"),
        web_search_tool_result("<PERSON_1>: <PHONE_NUMBER_1>"),
        text("Found it."),
    ]


def test_an_anthropic_mcp_tool_call_is_judged_and_its_result_redacted() -> None:
    call = {"type": "mcp_tool_use", "id": "mcptoolu_01", "name": "lookup", "server_name": "crm", "input": {"q": ""}}
    result = {
        "type": "mcp_tool_result",
        "tool_use_id": "mcptoolu_01",
        "is_error": False,
        "content": [{"type": "text", "text": "Jane Roe, 555-0100"}],
    }
    blocked = AIMessage(content=[{**call, "input": {"q": "grenade suppliers"}}, text("Done.")])
    assert REFUSAL in guard().wrap(answering(blocked)).invoke("hello").content
    out = guard().wrap(answering(AIMessage(content=[call, result, text("Done.")]))).invoke("hello")
    assert out.content[1]["content"] == [{"type": "text", "text": "<PERSON_1>, <PHONE_NUMBER_1>"}]


def test_an_anthropic_code_execution_results_output_is_screened_with_the_answer() -> None:
    result = {
        "type": "code_execution_tool_result",
        "tool_use_id": "srvtoolu_02",
        "content": {"type": "code_execution_result", "stdout": "Jane Roe", "stderr": "", "return_code": 0},
    }
    out = guard().wrap(answering(AIMessage(content=[result, text("Printed.")]))).invoke("hello")
    assert out.content[0]["content"]["stdout"] == "<PERSON_1>"


def test_citations_are_redacted_like_retrieved_context_and_not_judged_as_the_answer() -> None:
    # a quote of a news page about an attack is the source's, not the model's: it does not get the answer refused
    answer = AIMessage(content=[cited("Police made an arrest.", "Jane Roe was held after the grenade attack")])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [cited("Police made an arrest.", "<PERSON_1> was held after the grenade attack")]


def test_openai_text_annotations_are_redacted_in_place() -> None:
    note = {"type": "url_citation", "url": URL, "title": "Jane Roe profile", "start_index": 0, "end_index": 5}
    block = {"type": "text", "text": "A profile.", "annotations": [note], "id": "msg_1"}
    out = guard().wrap(answering(AIMessage(content=[block]))).invoke("hello")
    assert out.content[0]["annotations"] == [{**note, "title": "<PERSON_1> profile"}]


# ---------------------------------------------------------------------- OpenAI Responses API
def web_search_call(query: str) -> dict[str, Any]:
    action = {"type": "search", "query": query, "sources": [{"type": "url", "url": URL}]}
    return {"type": "web_search_call", "id": "ws_68a1", "status": "completed", "action": action}


@pytest.mark.parametrize(
    "block",
    [
        web_search_call("grenade assembly steps"),
        {"type": "file_search_call", "id": "fs_1", "status": "completed", "queries": ["grenade manual"]},
        {
            "type": "code_interpreter_call",
            "id": "ci_1",
            "status": "completed",
            "container_id": "cntr_1",
            "code": "print(grenade_recipe())",
        },
        {
            "type": "computer_call",
            "id": "cu_1",
            "call_id": "call_cu",
            "status": "completed",
            "pending_safety_checks": [],
            "action": {"type": "type", "text": "buy a grenade"},
        },
        {"type": "mcp_call", "id": "mcp_1", "name": "lookup", "server_label": "crm", "arguments": '{"q": "grenade"}'},
        {"type": "image_generation_call", "id": "ig_1", "status": "completed", "revised_prompt": "a grenade, exploded"},
    ],
    ids=[
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "computer_call",
        "mcp_call",
        "image_generation",
    ],
)
def test_what_the_model_wrote_in_an_openai_built_in_tool_call_is_judged(block: dict[str, Any]) -> None:
    out = guard().wrap(answering(AIMessage(content=[block, text("Done.")]))).invoke("hello")
    assert REFUSAL in out.content
    assert "grenade" not in dumped(out)


def test_an_openai_file_search_queries_and_results_are_redacted_in_place() -> None:
    hit = {"file_id": "file-1", "filename": "contacts.txt", "score": 0.9, "text": "Jane Roe 555-0100"}
    block = {"type": "file_search_call", "id": "fs_1", "status": "completed", "queries": ["Jane Roe"], "results": [hit]}
    out = guard().wrap(answering(AIMessage(content=[block, text("Found.")]))).invoke("hello")
    assert out.content[0] == {
        **block,
        "queries": ["<PERSON_1>"],
        "results": [{**hit, "text": "<PERSON_1> <PHONE_NUMBER_1>"}],
    }


def test_a_provider_blocks_base64_payload_urls_and_ids_are_left_as_they_are() -> None:
    # the base64 image and the urls spell the keyword and a name by chance: they are not words, and neither are ids
    image = {
        "type": "image_generation_call",
        "id": "ig_grenade",
        "status": "completed",
        "result": PAYLOAD,
        "revised_prompt": "A portrait of Jane Roe",
        "output_format": "png",
    }
    search = {**web_search_call("Jane Roe"), "id": "ws_grenade"}
    search["action"] = {**search["action"], "sources": [{"type": "url", "url": NAMED_URL}]}
    page = {"type": "web_fetch_result", "url": NAMED_URL, "uri": NAMED_URL, "link": NAMED_URL}
    out = guard().wrap(answering(AIMessage(content=[image, search, page, text("Here.")]))).invoke("hello")
    assert out.content == [
        {**image, "revised_prompt": "A portrait of <PERSON_1>"},
        {**search, "action": {**search["action"], "query": "<PERSON_1>"}},
        page,
        text("Here."),
    ]


def test_an_openai_custom_tool_calls_input_is_redacted_in_the_block_as_in_its_tool_call() -> None:
    block = {
        "type": "custom_tool_call",
        "id": "ctc_1",
        "call_id": "call_2",
        "name": "shell",
        "input": "finger Jane Roe",
    }
    call = {"name": "shell", "args": {"__arg1": "finger Jane Roe"}, "id": "call_2", "type": "tool_call"}
    out = guard().wrap(answering(AIMessage(content=[block], tool_calls=[call]))).invoke("hello")
    assert out.content == [{**block, "input": "finger <PERSON_1>"}]
    assert out.tool_calls[0]["args"] == {"__arg1": "finger <PERSON_1>"}


def test_openai_v0_tool_outputs_in_additional_kwargs_are_judged() -> None:
    answer = AIMessage(content="Here you go.", additional_kwargs={"tool_outputs": [web_search_call("grenade fuses")]})
    out = guard().wrap(answering(answer)).invoke("hello")
    assert REFUSAL in out.content and "tool_outputs" not in out.additional_kwargs
    named = AIMessage(content="Here you go.", additional_kwargs={"tool_outputs": [web_search_call("Jane Roe")]})
    redacted = guard().wrap(answering(named)).invoke("hello")
    assert redacted.additional_kwargs["tool_outputs"] == [web_search_call("<PERSON_1>")]


# ---------------------------------------------------------------------- Google and Bedrock
def test_gemini_executable_code_is_judged_and_its_result_redacted() -> None:
    code = {"type": "executable_code", "executable_code": "print('Jane Roe')", "language": "PYTHON", "id": "c1"}
    result = {"type": "code_execution_result", "code_execution_result": "Jane Roe", "outcome": 1, "tool_call_id": ""}
    out = guard().wrap(answering(AIMessage(content=[code, result, text("Ran it.")]))).invoke("hello")
    assert out.content[:2] == [
        {**code, "executable_code": "print('<PERSON_1>')"},
        {**result, "code_execution_result": "<PERSON_1>"},
    ]
    blocked = AIMessage(content=[{**code, "executable_code": "build_grenade()"}, text("Ran it.")])
    assert REFUSAL in guard().wrap(answering(blocked)).invoke("hello").content


def test_a_bedrock_server_tool_results_content_is_screened() -> None:
    # langchain-aws keeps a server tool's result under "content", not the v1 "output"
    result = {
        "type": "server_tool_result",
        "tool_use_id": "tooluse_1",
        "is_error": False,
        "content": [{"type": "text", "text": "Jane Roe lives here"}],
    }
    out = guard().wrap(answering(AIMessage(content=[result, text("Found.")]))).invoke("hello")
    assert out.content[0]["content"] == [{"type": "text", "text": "<PERSON_1> lives here"}]


# ---------------------------------------------------------------------- any other block: read, fail-closed
def test_a_block_of_a_type_the_library_does_not_know_is_read_as_the_models_words() -> None:
    block = {"type": "future_tool_call", "id": "ft_1", "plan": {"steps": ["order a grenade"]}}
    assert REFUSAL in guard().wrap(answering(AIMessage(content=[block, text("Ok.")]))).invoke("hello").content


def test_a_provider_block_holding_a_value_whose_text_cannot_be_read_raises_naming_its_type() -> None:
    block = {"type": "future_tool_call", "id": "ft_1", "plan": object()}
    with pytest.raises(InputError, match="object"):
        guard().wrap(answering(AIMessage(content=[block, text("Ok.")]))).invoke("hello")


def test_an_image_blocks_revised_prompt_is_judged_and_its_image_kept_when_the_text_changes() -> None:
    image = {"type": "image", "base64": PAYLOAD, "mime_type": "image/png", "id": "ig_1"}
    blocked = AIMessage(content=[{**image, "extras": {"revised_prompt": "a grenade mid-air"}}, text("Here.")])
    assert REFUSAL in guard().wrap(answering(blocked)).invoke("hello").content
    answer = AIMessage(content=[{**image, "extras": {"revised_prompt": "Jane Roe"}}, text("Jane Roe, drawn.")])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [{**image, "extras": {"revised_prompt": "<PERSON_1>"}}, text("<PERSON_1>, drawn.")]


def test_a_text_blocks_extras_are_judged_as_the_models_words_and_redacted_in_place() -> None:
    blocked = AIMessage(content=[{**text("Here."), "extras": {"note": "a grenade mid-air"}}])
    assert REFUSAL in guard().wrap(answering(blocked)).invoke("hello").content
    answer = AIMessage(content=[{**text("Done."), "extras": {"note": "for Jane Roe"}}])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [{**text("Done."), "extras": {"note": "for <PERSON_1>"}}]


def test_a_user_text_blocks_extras_are_redacted_before_the_model_sees_them() -> None:
    chain = guard().wrap(spy_model("ok"))
    chain.invoke([HumanMessage(content=[{**text("hi"), "extras": {"footer": "sent by Jane Roe"}}])])
    ((sent,),) = SpyChatModel.calls
    assert sent.content == [{**text("hi"), "extras": {"footer": "sent by <PERSON_1>"}}]


# ---------------------------------------------------------------------- tool-call blocks in content
def v1_call(args: dict[str, Any], call_id: str = "c1") -> dict[str, Any]:
    return {"type": "tool_call", "name": "send_email", "args": args, "id": call_id}


def test_a_tool_call_block_without_its_tool_call_entry_is_judged_as_a_tool_call() -> None:
    answer = AIMessage(content=[v1_call({"body": "the grenade parts list"})])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert REFUSAL in out.content
    assert "grenade" not in dumped(out)


def test_a_tool_call_block_without_its_tool_call_entry_is_redacted_in_place() -> None:
    answer = AIMessage(content=[v1_call({"to": "Jane Roe"}), text("Sending to Jane Roe.")])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [v1_call({"to": "<PERSON_1>"}), text("Sending to <PERSON_1>.")]


# ---------------------------------------------------------------------- streams
def test_streamed_provider_blocks_are_withheld_and_the_answer_still_streams() -> None:
    model = streamed(
        AIMessageChunk(content=[server_tool_use("Jane Roe grenade")]),
        AIMessageChunk(content=[web_search_tool_result("Jane Roe")]),
        AIMessageChunk(content=[web_search_call("Jane Roe")]),
        AIMessageChunk(content="Nothing found."),
    )
    chunks = list(guard().wrap(model).stream("hello"))
    assert streamed_text(chunks) == "Nothing found."
    assert "Jane Roe" not in dumped(chunks) and "grenade" not in dumped(chunks)


def test_a_streamed_tool_call_block_without_its_tool_call_chunk_is_withheld() -> None:
    model = streamed(AIMessageChunk(content=[v1_call({"to": "Jane Roe"})]), AIMessageChunk(content="Sent."))
    chunks = list(guard().wrap(model).stream("hello"))
    assert streamed_text(chunks) == "Sent."
    assert "Jane Roe" not in dumped(chunks)


def test_streamed_citations_and_a_revised_prompt_are_withheld_and_the_image_still_streams() -> None:
    image = {"type": "image", "base64": PAYLOAD, "mime_type": "image/png", "extras": {"revised_prompt": "Jane Roe"}}
    # Anthropic streams a citation as a text block of its own, without text
    quote = {"type": "text", "index": 1, "citations": [{"type": "char_location", "cited_text": "Jane Roe said"}]}
    model = streamed(AIMessageChunk(content=[image]), AIMessageChunk(content="Drawn."), AIMessageChunk(content=[quote]))
    chunks = list(guard().wrap(model).stream("hello"))
    assert streamed_text(chunks) == "Drawn."
    assert "Jane Roe" not in dumped(chunks) and PAYLOAD in dumped(chunks)


def graph(*updates: AIMessage) -> RunnableGenerator[Any, dict[str, Any]]:
    """A graph streaming its agent's updates, each a message list (checked whole, as in invoke)."""

    def run(_: Any) -> Iterator[dict[str, Any]]:
        for message in updates:
            yield {"agent": {"messages": [message]}}

    return RunnableGenerator(run)


def test_a_provider_block_in_a_streamed_graph_update_is_judged_as_in_invoke() -> None:
    chain = graph(AIMessage(content=[web_search_call("grenade assembly"), text("Searching.")]))
    chunks = list(guard().wrap(chain, output="dict").stream("hello"))
    assert REFUSAL in str(chunks) and "grenade" not in str(chunks)


def test_citations_in_a_streamed_graph_update_are_redacted_and_not_judged() -> None:
    chain = graph(AIMessage(content=[cited("An arrest.", "Jane Roe was held after the grenade attack")]))
    chunks = list(guard().wrap(chain, output="dict").stream("hello"))
    message = chunks[0]["agent"]["messages"][0]
    assert message.content == [cited("An arrest.", "<PERSON_1> was held after the grenade attack")]


# ---------------------------------------------------------------------- earlier answers in a history
def test_an_earlier_built_in_tool_calls_query_is_redacted_before_the_model_sees_it() -> None:
    sent = sent_to_model(AIMessage(content=[web_search_call("Jane Roe address"), text("Found it.")]))
    assert sent.content == [web_search_call("<PERSON_1> address"), text("Found it.")]


def test_an_earlier_answer_with_a_prohibited_built_in_tool_call_is_withheld() -> None:
    sent = sent_to_model(AIMessage(content=[web_search_call("grenade assembly"), text("Here are the steps.")]))
    assert REFUSED_ANSWER in dumped(sent) and "grenade" not in dumped(sent)


def test_an_earlier_provider_tool_result_is_redacted_but_not_judged_as_the_answer() -> None:
    # a search result is data, as a tool message's content is: it does not get the answer withheld
    earlier = AIMessage(content=[web_search_tool_result("Jane Roe on the grenade attack"), text("Here is the news.")])
    sent = sent_to_model(earlier)
    assert sent.content == [web_search_tool_result("<PERSON_1> on the grenade attack"), text("Here is the news.")]


def test_earlier_citations_are_redacted_but_not_judged() -> None:
    sent = sent_to_model(AIMessage(content=[cited("An arrest.", "Jane Roe was held after the grenade attack")]))
    assert sent.content == [cited("An arrest.", "<PERSON_1> was held after the grenade attack")]


def test_an_earlier_openai_function_call_blocks_arguments_are_redacted_as_its_tool_call_is() -> None:
    # langchain-openai sends a function_call block of the content as it is, its arguments as the raw JSON string
    block = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "dial",
        "arguments": '{"to": "Jane Roe"}',
    }
    call = {"name": "dial", "args": {"to": "Jane Roe"}, "id": "call_1", "type": "tool_call"}
    sent = sent_to_model(AIMessage(content=[block], tool_calls=[call]))
    assert sent.content == [{**block, "arguments": '{"to": "<PERSON_1>"}'}]
    assert sent.tool_calls[0]["args"] == {"to": "<PERSON_1>"}


# ---------------------------------------------------------------------- a changed answer keeps its items' identity
#: an OpenAI Responses answer's reasoning item: the API refuses it sent back without the item that followed it (the
#: message, by its ``msg_`` id; a function call, by its ``fc_`` id)
REASONING = {"type": "reasoning", "id": "rs_1", "summary": []}


def function_call(args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "dial", "arguments": json.dumps(args)}


def test_a_redacted_answer_keeps_its_text_items_id_after_its_reasoning() -> None:
    words = {"type": "text", "text": "Ring Jane Roe.", "id": "msg_1", "annotations": []}
    out = guard().wrap(answering(AIMessage(content=[REASONING, words]))).invoke("hello")
    assert out.content == [REASONING, {"type": "text", "text": "Ring <PERSON_1>.", "id": "msg_1"}]


def test_a_redacted_answer_keeps_its_function_call_items_in_place_with_the_screened_arguments() -> None:
    call = {"name": "dial", "args": {"to": "Jane Roe"}, "id": "call_1", "type": "tool_call"}
    answer = AIMessage(content=[REASONING, function_call({"to": "Jane Roe"})], tool_calls=[call])
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [REASONING, function_call({"to": "<PERSON_1>"})]
    assert out.tool_calls[0]["args"] == {"to": "<PERSON_1>"}
    with_text = AIMessage(
        content=[REASONING, text("Calling Jane Roe."), function_call({"to": "Bob"})],
        tool_calls=[{**call, "args": {"to": "Bob"}}],
    )
    out = guard().wrap(answering(with_text)).invoke("hello")
    assert out.content == [REASONING, text("Calling <PERSON_1>."), function_call({"to": "Bob"})]


def test_a_changed_answer_of_two_message_items_keeps_each_reasoning_items_follower() -> None:
    # a commentary message before a web search, then the final answer: each after its own reasoning item
    commentary = {"type": "text", "text": "I'll look that up.", "id": "msg_1", "phase": "commentary"}
    final = {"type": "text", "text": "Jane Roe's shop sells it.", "id": "msg_2", "phase": "final_answer"}
    second = {**REASONING, "id": "rs_2"}
    answer = AIMessage(content=[REASONING, commentary, web_search_call("pasta shops"), second, final])
    out = guard().wrap(answering(answer)).invoke("hello")
    merged = {**final, "text": "I'll look that up.\n<PERSON_1>'s shop sells it."}
    assert out.content == [REASONING, {**commentary, "text": ""}, web_search_call("pasta shops"), second, merged]


def test_a_changed_answer_keeps_no_title_of_a_plain_text_block_that_said_the_old_words() -> None:
    block = {"type": "text-plain", "text": "Ring Jane Roe", "title": "Notes of Jane Roe", "mime_type": "text/plain"}
    image = {"type": "image", "url": URL}
    out = guard().wrap(answering(AIMessage(content=[block, image]))).invoke("hello")
    # its title is among the words judged: joined into the one text, never left as the model wrote it
    assert out.content == [
        {"type": "text", "text": "Notes of <PERSON_1>\nRing <PERSON_1>"},
        image,
    ]


def test_a_function_call_block_of_an_invalid_tool_call_stays_with_its_screened_raw_arguments() -> None:
    raw = '{"to": "Jane Roe"'  # cut off: an invalid call
    invalid = {"name": "dial", "args": raw, "id": "call_1", "error": None, "type": "invalid_tool_call"}
    block = {**function_call({}), "arguments": raw}
    out = guard().wrap(answering(AIMessage(content=[REASONING, block], invalid_tool_calls=[invalid]))).invoke("hi")
    assert out.content == [REASONING, {**block, "arguments": '{"to": "<PERSON_1>"'}]


def test_an_answer_whose_tool_call_alone_changed_keeps_its_text_blocks_and_their_citations() -> None:
    call = {"name": "dial", "args": {"to": "Jane Roe"}, "id": "call_1", "type": "tool_call"}
    answer = AIMessage(
        content=[cited("Calling.", "a local shop"), function_call({"to": "Jane Roe"})], tool_calls=[call]
    )
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == [cited("Calling.", "a local shop"), function_call({"to": "<PERSON_1>"})]


def test_a_delivered_answer_whose_provider_block_was_rewritten_is_judged_again() -> None:
    SpyChatModel.calls = []
    answer = AIMessage(content=[web_search_call("pasta recipes"), text("Try a carbonara.")])
    chain = guard().wrap(SpyChatModel(messages=iter([answer, AIMessage("ok")])))
    first = chain.invoke([HumanMessage("a pasta recipe?")])
    forged = first.model_copy(update={"content": [web_search_call("grenade assembly"), text("Try a carbonara.")]})
    chain.invoke([HumanMessage("a pasta recipe?"), forged, HumanMessage("go on")])
    assert "grenade" not in dumped(SpyChatModel.calls[-1][1])


# ---------------------------------------------------------------------- the callback handler
@pytest.mark.parametrize(
    "answer",
    [
        AIMessage(content=[server_tool_use("grenade fuse timing"), text("Searching.")]),
        AIMessage(content=[web_search_call("grenade fuse timing"), text("Searching.")]),
        AIMessage(content=[v1_call({"body": "grenade fuse timing"})]),
        AIMessage(content=[{"type": "image", "url": URL, "extras": {"revised_prompt": "a grenade"}}, text("Drawn.")]),
    ],
    ids=["anthropic-server-tool-use", "openai-web-search-call", "tool-call-block", "revised-prompt"],
)
def test_the_callback_handler_judges_provider_blocks_with_the_answer(answer: AIMessage) -> None:
    with pytest.raises(GuardrailViolation):
        handled(answer)


@pytest.mark.parametrize(
    "content",
    [
        [{"type": "text", "text": {"value": "where to buy a grenade"}}],
        [{"type": "text", "text": "Fine.", "summary": "where to buy a grenade"}],
        [{"type": "image", "url": "https://example.com/a.png", "caption": "where to buy a grenade"}],
    ],
    ids=["text-not-a-str", "text-block-extra-key", "image-caption"],
)
def test_words_under_keys_a_text_or_media_block_is_not_read_by_are_screened(content: list[Any]) -> None:
    out = guard().wrap(answering(AIMessage(content=content))).invoke("hello")
    assert REFUSAL in out.content and "grenade" not in dumped(out)


def test_a_value_in_an_image_caption_is_redacted_and_the_image_kept() -> None:
    block = {"type": "image", "url": "https://example.com/a.png", "caption": "Jane Roe at the beach"}
    out = guard().wrap(answering(AIMessage(content=[block]))).invoke("hello")
    assert out.content == [{**block, "caption": "<PERSON_1> at the beach"}]


def test_a_providers_own_additional_kwargs_are_screened_and_a_refusal_keeps_none() -> None:
    harmful = AIMessage(content="where to buy a grenade", additional_kwargs={"custom": "where to buy a grenade"})
    refused = guard().wrap(answering(harmful)).invoke("hello")
    assert REFUSAL in refused.content and refused.additional_kwargs == {}
    beside = AIMessage(content="Sure.", additional_kwargs={"custom": "where to buy a grenade"})
    assert REFUSAL in guard().wrap(answering(beside)).invoke("hello").content
    personal = AIMessage(
        content="Sure.", additional_kwargs={"related": ["call Jane Roe"], "system_fingerprint": "fp_1"}
    )
    out = guard().wrap(answering(personal)).invoke("hello")
    assert out.additional_kwargs == {"related": ["call <PERSON_1>"], "system_fingerprint": "fp_1"}


def test_a_streamed_chunk_holding_only_a_providers_own_entry_never_sends_it_unread() -> None:
    chunks = [AIMessageChunk(content="Sure."), AIMessageChunk(content="", additional_kwargs={"custom": "a grenade"})]
    out = list(guard().wrap(streamed(*chunks)).stream("hello"))
    assert "grenade" not in dumped(out)


#: an image block a model streams (the start of a PNG's base64)
_IMAGE = {
    "type": "image",
    "base64": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4",
    "mime_type": "image/png",
}


def test_an_image_sharing_a_streamed_chunk_with_text_streams_after_the_text() -> None:
    image = dict(_IMAGE)
    chunk = AIMessageChunk(content=[{"type": "text", "text": "Here is the picture you asked for."}, image])
    out = list(guard().wrap(streamed(chunk)).stream("hello"))
    assert streamed_text(out) == "Here is the picture you asked for."
    assert [b for c in out if isinstance(c.content, list) for b in c.content] == [image]


def test_a_refused_streamed_answer_delivers_none_of_its_images() -> None:
    image = dict(_IMAGE)
    chunk = AIMessageChunk(content=[{"type": "text", "text": "Here is how to build a grenade."}, image])
    alone = AIMessageChunk(content=[image])
    out = list(guard().wrap(streamed(chunk, alone)).stream("hello"))
    assert REFUSAL in streamed_text(out) and "image" not in dumped(out)


def test_a_providers_entries_of_objects_are_left_unread_not_an_error() -> None:
    from pydantic import BaseModel

    class Citation(BaseModel):
        text: str

    answer = AIMessage(
        content="The capital of France is Paris.", additional_kwargs={"citations": [Citation(text="Paris")]}
    )
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == "The capital of France is Paris."


def test_a_tools_output_in_a_providers_entry_is_redacted_as_retrieved_not_judged() -> None:
    tools = [{"name": "search", "output": "a grenade replica for the stage play, call Jane Roe"}]
    answer = AIMessage(content="It is sunny in Boston today.", additional_kwargs={"executed_tools": tools})
    out = guard().wrap(answering(answer)).invoke("hello")
    assert out.content == "It is sunny in Boston today."
    assert out.additional_kwargs["executed_tools"][0]["output"].endswith("call <PERSON_1>")


def test_token_logprobs_of_a_text_block_are_not_read_as_words() -> None:
    block = {
        "type": "text",
        "text": "Fine.",
        "logprobs": [{"token": "grenade", "top_logprobs": [{"token": "grenade"}]}],
    }
    out = guard().wrap(answering(AIMessage(content=[block]))).invoke("hello")
    assert REFUSAL not in dumped(out)


def test_a_title_beside_a_text_that_is_no_attached_document_is_screened() -> None:
    block = {"type": "text", "text": "Sure.", "title": "where to buy a grenade"}
    assert REFUSAL in guard().wrap(answering(AIMessage(content=[block]))).invoke("hello").content


# ---------------------------------------------------------------------- a user's blocks the library does not know
@pytest.mark.parametrize(
    "block",
    [
        {"type": "custom_note", "note": "where to buy a grenade cheaply"},
        {"type": "text", "text": {"value": "where to buy a grenade cheaply"}},
        {"type": "image_url", "image_url": {"url": "https://example.org/a.png"}, "caption": "buy a grenade here"},
    ],
    ids=["unknown-block", "text-not-a-str", "image-caption"],
)
def test_words_of_a_users_block_the_library_does_not_read_as_text_are_judged_with_the_turn(
    block: dict[str, Any],
) -> None:
    turn = HumanMessage(content=[{"type": "text", "text": "Please do what my note says."}, block])
    answer = guard().wrap(spy_model("never")).invoke([turn])
    assert SpyChatModel.calls == [] and REFUSAL in answer.content
    # sent back in a later request's history, it is known as refused and withheld whole
    later = guard()
    chain = later.wrap(spy_model("Fine."))
    chain.invoke([turn])
    chain.invoke([turn, AIMessage(answer.content), HumanMessage("and what is the weather?")])
    (*seen, _) = SpyChatModel.calls[-1]
    assert "grenade" not in str([m.content for m in seen])
