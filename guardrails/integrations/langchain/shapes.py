"""Chain inputs and outputs: find the user's text, rewrite it, and build answers.

Inputs accepted: ``str``; a list of messages (or message-like tuples/dicts) whose
content is a str or a list of content blocks (non-text blocks pass through untouched);
a dict whose ``input``/``question``/``query``/``messages`` keys (configurable) hold either
(a string turn is the latest turn, a message list beside it its history; see ``turn_keys``);
a PromptValue. Any content block with a str ``text`` counts as text, and so does a document of plain text (see
``block_words``). The other keys of a
dict input are redacted too (unless passed through), and their message lists count as
earlier turns.

Outputs mirror what the wrapped runnable returns. Their text is read from every str,
message content, tool call (parsed arguments, invalid calls, streamed tool-call chunks,
provider-format ``additional_kwargs``), reasoning (``thinking``/``reasoning`` blocks,
``reasoning_content``) and the other slots of an answer (``extra_slots``: an audio answer's
transcript, refusals, server-side tool calls and results, provider blocks) anywhere inside
dicts, lists, tuples and pydantic models; each slot is written back in place (redacted; an
audio answer whose transcript changed keeps only the transcript), so the output keeps its
structure. An output holding a value whose text cannot be read (an audio answer without its
transcript) raises ``InputError``: nothing is returned unscreened. A refused output keeps only
its answer slot. A structured answer's parsed value (``PARSED_KWARG``) is kept only while none of
the answer's text changed.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime
import json
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, NamedTuple, cast
from uuid import UUID

from langchain_core.documents import Document
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.prompt_values import ChatPromptValue, PromptValue, StringPromptValue
from pydantic import BaseModel

from guardrails.errors import GuardrailsError, InputError, brief_token, raise_detached
from guardrails.types import Finding

#: the keys of a dict input that may hold the user's turn (see ``turn_keys``: a string turn comes before a message list)
DEFAULT_INPUT_KEYS = ("input", "question", "query", "messages")
#: keys under which retrieval chains return their documents (``create_retrieval_chain``, ``RetrievalQA``)
DEFAULT_CONTEXT_KEYS = ("context", "source_documents")
Rewrite = Callable[[str], str]
Path = tuple[Any, ...]


@dataclass(frozen=True)
class Turns:
    """The user text to judge: the latest user turn and earlier user turns (oldest first)."""

    latest: str
    history: tuple[str, ...]
    has_user_turn: bool
    #: tool results follow the latest user turn: a later step of an agent's loop within that turn
    continued: bool = False


#: content-block types that hold a model's reasoning (Anthropic and Google ``thinking``, LangChain and
#: OpenAI ``reasoning``, Bedrock ``reasoning_content``): screened as their own slots, never read as the answer
REASONING_BLOCKS = frozenset({"thinking", "reasoning", "reasoning_content"})  # the last: Bedrock Converse
#: ``additional_kwargs`` entries that hold reasoning (DeepSeek, Qwen, Ollama ``reasoning_content``;
#: OpenAI ``reasoning`` summaries)
REASONING_KWARGS = ("reasoning_content", "reasoning")
#: keys of a reasoning block or entry that are not text (ids, provider signatures, encrypted payloads)
_NOT_TEXT = frozenset(
    {
        "type",
        "id",
        "index",
        "signature",
        "status",
        "encrypted_content",
        "data",
        "format",
        "call_id",
        "tool_use_id",
        # Bedrock's redacted reasoning: bytes the provider encrypted, no words to read (langchain-aws)
        "redacted_content",
        "redactedContent",
    }
)
#: v1 content blocks (``langchain_core.messages.content``) of server-side tools (a provider's web search, code
#: execution, remote MCP): the call's arguments are the model's (a search query), the result is the tool's output
SERVER_CALL_BLOCKS = frozenset({"server_tool_call", "server_tool_call_chunk"})
SERVER_RESULT_BLOCK = "server_tool_result"
#: v1 content blocks with text outside a ``text`` key, each screened in place as its own slots (``block_slots``):
#: a refusal's words, server-side tool calls and results, and a provider's payload LangChain has no type for
SLOT_BLOCKS = SERVER_CALL_BLOCKS | {SERVER_RESULT_BLOCK, "refusal", "non_standard"}
#: content blocks of plain media (LangChain v1 and v0, OpenAI chat and Responses, Anthropic, Bedrock, Gemini): their
#: payload (``url``, ``base64``, ``data``, ``source``, ``file_id``) is not text and stays as it is; only their
#: ``extras`` (a provider's additions, such as an OpenAI image's ``revised_prompt``, the model's words) are read
MEDIA_BLOCKS = frozenset(
    {
        *("image", "audio", "video", "file", "image_url", "input_audio", "input_image", "input_file", "document"),
        *("media", "text-plain"),
    }
)
#: an Anthropic document block: media, whose ``title`` and ``context`` are the user's words, and whose text source
#: (``{"type": "text", "data": ...}`` or ``{"type": "content", "content": [...]}``) is the user's words too, read as a
#: text block's (see ``block_words``)
DOCUMENT_BLOCK = "document"
#: the media a document's ``content`` source may hold besides text (an image has no words to read)
_PICTURES = frozenset({"image", "image_url", "input_image"})
DOCUMENT_WORD_KEYS = ("title", "context")
#: LangChain's own blocks of an attached plain-text file: v1 ``text-plain`` (with ``title`` and ``context`` as
#: Anthropic's document has) and v0 ``{"type": "file", "source_type": "text", "url": ...}``, whose ``url`` holds the
#: file's text (as langchain-core reads it into a ``text-plain`` block)
PLAIN_TEXT_FILE_BLOCK = "text-plain"
#: content blocks of a tool call (Anthropic ``tool_use``, LangChain v1 ``tool_call``, ``tool_call_chunk`` and
#: ``invalid_tool_call``, OpenAI Responses ``function_call``): read from the message's tool calls when one of them has
#: the block's id (or, streamed, its index), else read in place as a tool call's arguments are
CALL_BLOCKS = frozenset({"tool_use", "tool_call", "tool_call_chunk", "invalid_tool_call", "function_call"})
#: keys of a text block that hold what it cites (Anthropic and Bedrock ``citations``, OpenAI and LangChain v1
#: ``annotations``): retrieved text, redacted like retrieved context and never judged as the model's words
CITATION_KEYS = ("annotations", "citations")
#: keys of a provider block that hold a tool's output rather than what the model wrote (OpenAI Responses ``output``,
#: ``outputs``, ``results``, ``result``, ``error``, an MCP server's ``tools``); a block whose type ends in one of
#: :data:`RESULT_SUFFIXES` is a tool's output whole (Anthropic ``web_search_tool_result``, Gemini
#: ``code_execution_result``, OpenAI ``tool_search_output``)
RESULT_KEYS = frozenset({"output", "outputs", "result", "results", "error", "tools"})
RESULT_SUFFIXES = ("_result", "_results", "_output")
#: keys whose value is a call's arguments: read whole, every str in them, as a tool call's arguments are
ARGUMENT_KEYS = frozenset({"args", "input", "arguments", "partial_json"})
#: keys of a provider block that are never words: its type, ids, indexes and status, signatures, encrypted payloads,
#: media types and addresses (also any key ending in one of ``_META_SUFFIXES`` or naming encrypted content)
_META_KEYS = frozenset(
    {"type", "id", "index", "status", "format", "signature", "mime_type", "media_type", "url", "uri", "href", "base64"}
    | {"detail", "logprobs", "top_logprobs"}  # an image's detail level; the tokens' probabilities (and alternatives)
)
_META_SUFFIXES = ("_id", "_ids", "_signature", "_url", "_uri", "_index")
#: a str that is an address (a url, a data url) or a base64 or hex payload (40 characters or more without a space,
#: or lines of them): not words, whatever key holds it (an image generation's ``result``, a web result's ``source``)
_PAYLOAD = re.compile(
    r"[a-z][a-z0-9+.-]*://\S*|data:\S*|[A-Za-z0-9+/_-]{40,}={0,2}(?:\r?\n[A-Za-z0-9+/_-]+={0,2})*\s*", re.IGNORECASE
)
#: an OpenAI Responses answer in langchain-openai's v0 format keeps its built-in tools' items (the provider blocks
#: above) in this ``additional_kwargs`` entry
TOOL_OUTPUTS_KWARG = "tool_outputs"
#: ``additional_kwargs`` entries of an answer's words beside its content (langchain-openai's chat completions):
#: ``audio`` (``{"id", "data", "expires_at", "transcript"}``: the transcript is what the audio says) and
#: ``refusal``
AUDIO_KWARG = "audio"
REFUSAL_KWARG = "refusal"
#: the ``additional_kwargs`` entries read as slots of their own (reasoning, audio, refusal, built-in tools' items)
SLOT_KWARGS = (*REASONING_KWARGS, AUDIO_KWARG, REFUSAL_KWARG, TOOL_OUTPUTS_KWARG)
#: where an audio answer's transcript is, in its message
TRANSCRIPT = ("additional_kwargs", AUDIO_KWARG, "transcript")
#: the ``additional_kwargs`` entry of a structured answer's parsed value (langchain-openai, ``response_format=`` with a
#: json_schema, chat completions and Responses, on a stream's last chunk too): a pydantic model or a dict parsed from
#: the content's JSON. Not a slot of its own: it says the content's words again, so it is kept only while every text
#: of the answer is as the model wrote it. An answer refused, or with any text changed (redacted, restored, a
#: disclaimer added), loses it: the app parses the content, which is screened, instead
PARSED_KWARG = "parsed"


def _with_arguments(block: Mapping[str, Any], calls: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A tool-call block with the arguments of the tool call of its id (OpenAI ``function_call``'s ``call_id``), in
    the block's own form: a JSON str ``arguments``, a dict ``args`` (LangChain v1) or ``input`` (Anthropic
    ``tool_use``); an invalid call's raw str only into a str. None when no call has its id or the block holds its
    arguments in another form."""
    ids = {str(block[k]) for k in ("call_id", "id") if block.get(k)}
    args = next((c.get("args") for c in calls if c.get("id") and str(c["id"]) in ids), None)
    new = dict(block)
    for key in ("arguments", "args", "input", "partial_json"):
        if key not in block:
            continue
        if isinstance(block[key], str) and isinstance(args, (str, Mapping)):
            new[key] = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        elif isinstance(block[key], Mapping) and isinstance(args, Mapping):
            new[key] = dict(args)
        else:
            return None
    return new if isinstance(args, (str, Mapping)) else None


def _is_reasoning_block(block: Any) -> bool:
    return _block_type(block) in REASONING_BLOCKS


def _block_type(block: Any) -> str | None:
    kind = block.get("type") if isinstance(block, Mapping) else None
    return kind if isinstance(kind, str) else None


def _is_text_block(block: Any) -> bool:
    """A block of the answer's words: typed ``text`` (a streamed citation may come without its text), or any block
    with a str ``text`` (``text-plain``, ``output_text``) but reasoning and the v1 blocks of :data:`SLOT_BLOCKS`."""
    if not isinstance(block, Mapping):
        return False
    kind = _block_type(block)
    if kind in REASONING_BLOCKS or kind in SLOT_BLOCKS:
        return False
    return kind == "text" or isinstance(block.get("text"), str)


def _is_media_block(block: Any) -> bool:
    return _block_type(block) in MEDIA_BLOCKS and not _is_text_block(block)


def block_words(block: Any) -> list[tuple[Path, str]]:
    """The words a content block holds as the message's own text, each with its path in the block: a text block's
    ``text`` (and an attached plain-text file's ``title`` and ``context``, see ``is_attached_document``); a
    document's (Anthropic ``document``) ``title`` and ``context`` and, from a text source, the document itself
    (``source.data`` of a ``text`` source, the str items and text blocks of a ``content`` source). A document of
    another source (a PDF's base64, a file id, a url) is media: only its title and context are words. A text source
    whose text cannot be read raises ``InputError`` (naming its shape, never its words)."""
    if not isinstance(block, Mapping):
        return []
    titles: list[tuple[Path, str]] = [
        ((key,), block[key]) for key in DOCUMENT_WORD_KEYS if isinstance(block.get(key), str)
    ]
    encoded = _encoded_text(block)
    payload = [(encoded.where, encoded.text)] if encoded is not None else []  # a provider may send it, not ``text``
    if _is_text_block(block):
        if isinstance(block.get("text"), (bytes, bytearray)):  # no provider sends it; unread, it would pass unjudged
            raise InputError("cannot screen a text block whose text is bytes: decode it to a str")
        text = [(("text",), block["text"])] if isinstance(block.get("text"), str) else []
        return titles + text + payload if is_attached_document(block) else text + payload
    if _is_v0_text_file(block):  # its words in "url"
        return titles + ([(("url",), block["url"])] if isinstance(block.get("url"), str) else [])
    if encoded is not None:
        return [*titles, *payload]
    if _block_type(block) != DOCUMENT_BLOCK:
        return []
    words = titles
    source = block.get("source")
    kind = source.get("type") if isinstance(source, Mapping) else None
    if kind not in ("text", "content"):
        return words
    assert isinstance(source, Mapping)
    key = "data" if kind == "text" else "content"
    value = source.get(key)
    if isinstance(value, str):
        return [*words, (("source", key), value)]
    if kind == "content" and isinstance(value, list):
        for i, item in enumerate(value):
            where = ("source", key, i)
            if isinstance(item, str):
                words.append((where, item))
            elif _encoded_text(item) is not None:  # no provider takes one there: never written back undecoded
                raise InputError("cannot screen a document block: its content source holds a base64-encoded file")
            elif _is_text_block(item) or is_attached_document(item):  # text, or a document inside (read the same)
                words.extend(((*where, *w), t) for w, t in block_words(item))
            elif _block_type(item) not in _PICTURES:
                # the item's type is what the client wrote there, which may be the user's words: shown only as a token
                held = brief_token(_block_type(item))
                raise InputError(f"cannot screen a document block: its content source holds an item of type {held}")
        return words
    raise InputError(f"cannot screen a document block: its {kind} source holds {type(value).__name__}")


def is_attached_document(block: Any) -> bool:
    """A document the user attached: an Anthropic ``document`` block, LangChain's ``text-plain`` or v0 text ``file``
    block, a file of text sent base64-encoded (see ``_encoded_text``); a profile's ``attached_documents`` says whether
    its words are judged with the turn."""
    if _block_type(block) in (DOCUMENT_BLOCK, PLAIN_TEXT_FILE_BLOCK) or _is_v0_text_file(block):
        return True
    return _encoded_text(block) is not None


#: the media types of a file whose bytes are text (its words are read as an attached document's): ``text/*``, JSON,
#: XML, YAML, CSV and ``+json``/``+xml`` types, with parameters (a ``charset``)
_TEXT_MEDIA = re.compile(
    r"\s*(?:text/[\w.+-]+|application/(?:json|xml|(?:x-)?yaml|csv|x-ndjson|[\w.-]+\+(?:json|xml)))\s*(?:;.*)?",
    re.IGNORECASE | re.DOTALL,
)
#: the keys of an attached file's payload (a text file's words in ``url``, a document's ``source``, base64 data)
_FILE_KEYS = frozenset({"url", "source", "source_type", "base64", "data", "file", "file_data", "mime_type"})
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)
#: a data url of base64 bytes: its media type (with parameters) and payload
_DATA_URL = re.compile(r"data:([^,]*);base64,(.*)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class _EncodedText:
    """The words of a file of text attached base64-encoded, at ``where`` in its block, and how to encode new words
    the same way (``prefix``: a data url's head; ``charset``; ``altchars``: the url-safe alphabet's, or None)."""

    where: Path
    text: str
    prefix: str
    charset: str
    altchars: bytes | None
    #: the payload was the bytes themselves, not base64
    raw: bool = False

    def encode(self, text: str) -> str | bytes:
        data = text.encode(self.charset, errors="replace")
        if self.raw:
            return data
        return self.prefix + base64.b64encode(data, altchars=self.altchars).decode("ascii")


def _encoded_text(block: Any) -> _EncodedText | None:
    """A file of text (see :data:`_TEXT_MEDIA`) attached base64-encoded: LangChain's v1 ``text-plain`` or ``file``
    block with ``base64`` (or a data url in ``url``), its v0 ``file`` block of ``source_type`` base64, an Anthropic
    document of a base64 source, an OpenAI ``file``'s or ``input_file``'s ``file_data`` data url. None for any other
    block (a PDF, an image: media, not read). Payload that does not decode as base64, or as text in its charset,
    raises ``InputError`` naming the media type: the model would read what the guard could not."""
    kind = _block_type(block)
    if kind not in MEDIA_BLOCKS or not isinstance(block, Mapping):
        return None
    found: list[tuple[Path, Any, Any]] = []  # (where, media type, payload)
    media = block.get("mime_type") or ("text/plain" if kind == PLAIN_TEXT_FILE_BLOCK else None)
    if kind in (PLAIN_TEXT_FILE_BLOCK, "file"):
        found += [(("base64",), media, block.get("base64")), (("url",), None, block.get("url"))]
        if block.get("source_type") == "base64":
            found.append((("data",), media, block.get("data")))
        if isinstance(block.get("file"), Mapping):
            found.append((("file", "file_data"), None, block["file"].get("file_data")))
    elif kind == "input_file":
        found.append((("file_data",), None, block.get("file_data")))
    elif kind == "media":  # langchain-google-genai's inline data: base64 or bytes
        found.append((("data",), media, block.get("data")))
    elif kind == DOCUMENT_BLOCK and isinstance(source := block.get("source"), Mapping):
        base = source.get("type") == "base64"
        found += [(("source", "data"), source.get("media_type"), source.get("data"))] if base else []
    for where, media_type, payload in found:
        if isinstance(payload, (bytes, bytearray)) and where[-1] in ("base64", "data"):  # the bytes themselves
            if isinstance(media_type, str) and _TEXT_MEDIA.fullmatch(media_type):
                return _decoded(where, media_type, bytes(payload), "")
            continue
        if not isinstance(payload, str):
            continue
        prefix = ""
        if (url := _DATA_URL.fullmatch(payload.strip())) is not None:
            media_type, payload, prefix = url.group(1), url.group(2), f"data:{url.group(1)};base64,"
        elif where[-1] in ("url", "file_data"):
            continue  # an address, a file id: nothing to read
        if not isinstance(media_type, str) or not _TEXT_MEDIA.fullmatch(media_type):
            continue
        return _decoded(where, media_type, payload, prefix)
    return None


def _decoded(where: Path, media_type: str, payload: str | bytes, prefix: str) -> _EncodedText:
    named = _CHARSET.search(media_type)
    charset = named.group(1) if named else "utf-8"
    compact = "".join(payload.split()) if isinstance(payload, str) else ""
    altchars = b"-_" if ("-" in compact or "_" in compact) else None
    try:
        codecs.lookup(charset)
        data = payload if isinstance(payload, bytes) else base64.b64decode(compact, altchars=altchars, validate=True)
        text = data.decode(charset)
    except (binascii.Error, ValueError, LookupError) as exc:  # UnicodeDecodeError is a ValueError
        what = brief_token(media_type.split(";")[0].strip())
        raise_detached(
            InputError(
                f"cannot screen an attached file ({what}): its base64 payload does not decode as text in the "
                f"charset {brief_token(charset)} ({type(exc).__name__}); send it as text, or in the charset its media "
                "type names"
            )
        )
    return _EncodedText(where, text, prefix, charset, altchars, raw=isinstance(payload, bytes))


def _is_v0_text_file(block: Any) -> bool:
    """LangChain's v0 ``{"type": "file", "source_type": "text", "url": ...}`` (see :data:`PLAIN_TEXT_FILE_BLOCK`)."""
    return _block_type(block) == "file" and isinstance(block, Mapping) and block.get("source_type") == "text"


def _flattened(block: Any) -> bool:
    """A block whose every word goes into the one text of a changed answer (see ``_Walk.message``): a text block, a
    v0 text file, a document of a text source."""
    if _is_text_block(block) or _is_v0_text_file(block) or _encoded_text(block) is not None:
        return True
    source = block.get("source") if _block_type(block) == DOCUMENT_BLOCK else None
    return isinstance(source, Mapping) and source.get("type") in ("text", "content")


def _is_slot_block(block: Any) -> bool:
    """A content block screened in place as its own slots, apart from the answer's words: reasoning, the v1 blocks of
    :data:`SLOT_BLOCKS`, tool-call blocks and every block of a type not known as text or plain media (a provider's
    own: read whole, fail-closed, see ``block_slots``)."""
    return isinstance(block, Mapping) and not _is_text_block(block) and not _is_media_block(block)


def _call_keys(m: BaseMessage) -> frozenset[str]:
    """The ids of a message's tool calls (parsed, invalid, streamed chunks, provider-format ``additional_kwargs``),
    and ``#index`` for each streamed chunk's index: a tool-call block with one of them is read there."""
    found: set[str] = set()
    if isinstance(m, AIMessage):
        found.update(str(c["id"]) for c in [*m.tool_calls, *m.invalid_tool_calls] if c.get("id"))
    if isinstance(m, AIMessageChunk):
        found.update(str(c["id"]) for c in m.tool_call_chunks if c.get("id"))
        found.update(f"#{c['index']}" for c in m.tool_call_chunks if c.get("index") is not None)
    raw = m.additional_kwargs.get("tool_calls")
    if isinstance(raw, list):
        found.update(str(c["id"]) for c in raw if isinstance(c, Mapping) and c.get("id"))
    return frozenset(found)


def _in_calls(block: Mapping[str, Any], calls: Collection[str]) -> bool:
    """True when a tool-call block is one of the message's tool calls (``_call_keys``): by its ``call_id`` (OpenAI's
    ``function_call``, whose ``id`` is the item's) or ``id``, else, streamed without one, by its index."""
    ids = [str(block[k]) for k in ("call_id", "id") if block.get(k)]
    if ids:
        return any(i in calls for i in ids)
    return block.get("index") is not None and f"#{block['index']}" in calls


def is_user_message(m: BaseMessage) -> bool:
    """A user turn: a HumanMessage, or a generic ChatMessage in the user's role; not one that holds only tools'
    results (Anthropic's format sends ``tool_result`` blocks in a user message), which is read as a tool message
    is (:func:`is_tool_results`)."""
    user = isinstance(m, HumanMessage) or (isinstance(m, ChatMessage) and m.role.lower() in ("user", "human"))
    return user and not is_tool_results(m)


def is_tool_results(m: BaseMessage) -> bool:
    """A message whose content is only tools' results (blocks typed ``tool_result`` and the like, see
    :data:`RESULT_SUFFIXES`): the next step of an agent's turn, not words of the user's, whoever sends it."""
    blocks = m.content if isinstance(m.content, list) else []
    return bool(blocks) and all(str(_block_type(b) or "").endswith(RESULT_SUFFIXES) for b in blocks)


def is_model_message(m: BaseMessage) -> bool:
    """A message of the model: an AIMessage (or chunk), or a generic ChatMessage in the assistant's role."""
    return isinstance(m, AIMessage) or (isinstance(m, ChatMessage) and m.role.lower() in ("assistant", "ai", "model"))


def user_turns(
    messages: Sequence[BaseMessage], *, documents: bool = True, unanswered: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The latest user turn of ``messages`` and the earlier user turns (oldest first); ("", ()) with none.

    The latest user message is the turn. When it holds no text (only an image or a file, or blanks), the turn
    is the text of the unanswered user messages before it (those since the last message of the model or a
    tool), so a request sent just before an image is judged, not skipped as an empty turn; with none of those
    either it is the empty turn it is. ``unanswered=True`` makes the text of every unanswered user message the
    turn, joined in order, even when the latest holds text (for a reader that cannot withhold the earlier ones
    from the model, as the callback handler cannot). ``documents=False`` leaves attached documents' words out
    (``content_text``).
    """
    users = [(i, user_text(m, documents=documents)) for i, m in enumerate(messages) if is_user_message(m)]
    if not users:
        return "", ()
    # answered: by the model's last answer without tool calls (a tool call and its result are steps of the same turn)
    answered = max((i for i, m in enumerate(messages) if _final_answer(m)), default=-1)
    pending = [t for i, t in users if i > answered and t.strip()]
    if (pending and not users[-1][1].strip()) or (unanswered and len(pending) > 1):
        return "\n".join(pending), tuple(t for i, t in users if i < answered)
    return users[-1][1], tuple(t for _, t in users[:-1])


def _final_answer(m: BaseMessage) -> bool:
    """A message of the model that answers the user: no tool calls in it (those are a step of the same turn)."""
    if isinstance(m, AIMessage):
        return not (m.tool_calls or m.invalid_tool_calls or m.additional_kwargs.get("tool_calls"))
    return isinstance(m, ChatMessage) and m.role.lower() in ("assistant", "ai", "model")


def content_text(content: Any, *, documents: bool = True, others: bool = True, results: bool = False) -> str:
    """The text of a message's content: the str itself, or every str block and every block's words (``block_words``:
    a text block's ``text``, a document's; reasoning and the other blocks screened as slots of their own excluded, see
    ``extra_slots``). ``documents=False`` leaves a document block's words out (a profile's ``attached_documents:
    redact``: they are only redacted, not judged).

    ``others`` (a user's or a tool's message): the words of blocks the library does not know, and of keys of known
    blocks it does not read as words (a ``note`` block, a ``text`` that is ``{"value": ...}``, an image's
    ``caption``), as an answer's are read (``block_slots``); never a tool's output or a citation's quote (but with
    ``results``, a tool's output in its blocks: a prompt with no user turn is judged on it). An answer's reader
    passes False: it reads those as slots of their own (``extra_slots``). Content that is neither a str nor a list
    raises ``InputError`` (``readable_content``)."""
    if isinstance(content, str):
        return content
    kinds = _USER_SLOT_KINDS | {"result"} if results else _USER_SLOT_KINDS
    parts = []
    for block in readable_content(content):
        if isinstance(block, str):
            parts.append(block)
        elif documents or not is_attached_document(block):
            if not _is_slot_block(block):
                parts.extend(text for _, text in block_words(block))
            if others and not _is_reasoning_block(block):
                parts.extend(s.text for s in block_slots(block) if s.kind in kinds)
    return "\n".join(parts)


def readable_content(content: Any) -> list[Any]:
    """The blocks of a message's content that is a list; InputError for content that is neither a str nor a list (a
    message changed after it was built: a tuple, a dict, bytes, None), whose text the guard cannot read."""
    if not isinstance(content, list):
        raise InputError(
            f"cannot screen a message whose content is of type {type(content).__name__}: a message's content is a "
            "str or a list of content blocks"
        )
    return content


def user_text(m: BaseMessage, *, documents: bool = True) -> str:
    """The text of a user's message (``content_text``); InputError for a reasoning block in it (a model's thinking,
    which the guard reads only in the model's messages: in a user's it would be neither judged nor redacted)."""
    if isinstance(m.content, list) and any(_is_reasoning_block(b) for b in m.content):
        raise InputError(
            "cannot screen a user message that holds a reasoning block (thinking): reasoning is the model's, "
            "so the guard does not read it in a user's turn; send the user's words as text"
        )
    return content_text(m.content, documents=documents)


#: the slots of a user's content block that are the user's words (not a tool's output, not a quoted source)
_USER_SLOT_KINDS = frozenset({"words", "provider", "call"})


def _leaves(
    value: Any, where: Path, *, skip: Collection[str] = _NOT_TEXT, what: str = "reasoning"
) -> Iterator[tuple[Path, str]]:
    """The str leaves of reasoning (or ``what`` else: dicts and lists of them), the keys in ``skip`` left out;
    anything else with possible text is refused."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if k not in skip:
                yield from _leaves(v, (*where, k), skip=skip, what=what)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _leaves(v, (*where, i), skip=skip, what=what)
    elif value is not None and not isinstance(value, _INERT):
        raise InputError(f"cannot screen a message's {what}: it holds a value of type {type(value).__name__}")


def reasoning_slots(m: BaseMessage) -> list[tuple[Path, str]]:
    """Every reasoning text of a message, with its path inside the message (``content``/``additional_kwargs``)."""
    slots: list[tuple[Path, str]] = []
    if isinstance(m.content, list):
        for i, block in enumerate(m.content):
            if _is_reasoning_block(block):
                slots.extend(_leaves(block, ("content", i)))
    for key in REASONING_KWARGS:
        if key in m.additional_kwargs:
            slots.extend(_leaves(m.additional_kwargs[key], ("additional_kwargs", key)))
    return slots


class Slot(NamedTuple):
    """One text of a message beside its content's text, tool calls and reasoning (see ``extra_slots``)."""

    where: Path  # inside the message (``content``/``additional_kwargs``), or inside its block (``block_slots``)
    label: str  # what it is, for the guard ("" for the answer's own words)
    text: str
    #: ``words``: the answer's words (an audio transcript, a refusal); ``call``: a tool call's arguments (a server-side
    #: tool's, a tool-call block's); ``result``: a tool's output (a server-side or provider tool's); ``provider``: what
    #: the model wrote in a provider's block; ``cited``: the text a citation quotes (retrieved: redacted, not judged)
    kind: Literal["words", "call", "result", "provider", "cited"]


#: the kinds of slot that are not the model's words: judged with an answer, but only redacted in a history
NOT_THE_MODELS = frozenset({"result", "cited"})


def block_slots(block: Any, calls: Collection[str] | None = None) -> list[Slot]:
    """The texts of a content block screened in place as slots of their own, each with its path in the block:

    - a ``refusal``'s words;
    - a text block's citations (``annotations``, ``citations``): the quoted text and titles, as retrieved context;
    - a text or media block's ``extras`` (an image's ``revised_prompt``), as the model's; a media payload stays as it
      is;
    - a tool-call block (:data:`CALL_BLOCKS`) none of ``calls`` covers (see ``_in_calls``; ``calls=None``: every one,
      for the input rewriter), and a v1 ``server_tool_call``: its arguments, as a tool call's;
    - a v1 ``server_tool_result``: every text of it (its ``output``, or langchain-aws's ``content``), as a tool's
      result;
    - any other block (a provider's own, as LangChain's default output keeps them: Anthropic ``server_tool_use``,
      ``web_search_tool_result``, ``mcp_tool_use``; OpenAI ``web_search_call``, ``code_interpreter_call``,
      ``custom_tool_call``; Gemini ``executable_code``; and a v1 ``non_standard`` block's ``value``): read whole,
      fail-closed, by ``_provider_slots``.

    Text and reasoning blocks' own words: see ``content_text`` and ``reasoning_slots``. A value whose text cannot be
    read raises ``InputError``."""
    if not isinstance(block, Mapping):
        return []
    kind = _block_type(block)
    if kind in REASONING_BLOCKS:
        return []
    if kind == "refusal":
        return [Slot(w, "", t, "words") for w, t in _leaves(block.get("refusal"), ("refusal",), skip=(), what=kind)]
    extras = [
        Slot(w, f"{kind} {_dotted(w[1:])}: ", t, "provider")
        for w, t in _provider_leaves(block.get("extras"), ("extras",), what=f"{kind} block")
    ]
    if _is_text_block(block):
        found = [w_t for key in CITATION_KEYS for w_t in _provider_leaves(block.get(key), (key,), what="citation")]
        return [Slot(w, f"{_dotted(w)}: ", t, "cited") for w, t in found] + extras + _other_keys(block, kind)
    if _is_media_block(block):
        return extras + _other_keys(block, kind)
    if kind in SERVER_CALL_BLOCKS or kind in CALL_BLOCKS:
        if kind in CALL_BLOCKS and calls is not None and _in_calls(block, calls):
            return []  # read from the message's tool calls
        name = block.get("name")
        title = name if isinstance(name, str) and name else kind
        args = _provider_leaves({k: v for k, v in block.items() if k != "name"}, (), what=f"{kind} block")
        return [Slot(w, f"{title} {_arguments(w)}: ", t, "call") for w, t in args]
    if kind == SERVER_RESULT_BLOCK:
        return [Slot(w, "server tool result: ", t, "result") for w, t in _provider_leaves(block, (), what=kind)]
    if kind == "non_standard":
        return _provider_slots(block.get("value"), ("value",))
    return _provider_slots(block, ())


def _other_keys(block: Mapping[str, Any], kind: str | None) -> list[Slot]:
    """The texts of a text or media block under keys the library does not read as its words (an image's
    ``caption``, a ``summary`` beside the text, a ``text`` that is no str but ``{"value": ...}``): read as the
    model's, so that none passes unscreened. Ids, urls, media types and payloads are left out (``_provider_leaves``)."""
    if _encoded_text(block) is not None:  # an encoded attachment's payload is read by block_words
        return []
    read = {"type", "extras", *(where[0] for where, _ in block_words(block))}
    if _is_text_block(block):
        read |= set(CITATION_KEYS)
    rest = {k: v for k, v in block.items() if k not in read}
    if not rest:
        return []
    return [
        Slot(w, f"{kind or 'block'} {_dotted(w)}: ", t, "provider")
        for w, t in _provider_leaves(rest, (), what=f"{kind} block")
    ]


def _provider_slots(value: Any, base: Path) -> list[Slot]:
    """The slots of a provider's block (at ``base`` in its content block), read whole: every str in it (see
    ``_provider_leaves``), a tool's output (a block typed as a result, or under one of :data:`RESULT_KEYS`) as a
    result, the rest as the model's. Unknown to the library, its every text is read: none passes unscreened."""
    kind = _block_type(value) or "provider block"
    whole_result = kind.endswith(RESULT_SUFFIXES)
    name = value.get("name") if isinstance(value, Mapping) else None
    if isinstance(name, str) and name:  # a tool's name: its label, as a tool call's is
        value = {k: v for k, v in value.items() if k != "name"}
    title = name if isinstance(name, str) and name else kind
    slots = []
    for where, text in _provider_leaves(value, base, what=f"{kind} block"):
        inner = where[len(base) :]
        result = whole_result or (bool(inner) and inner[0] in RESULT_KEYS)
        slots.append(Slot(where, f"{title} {_arguments(inner) or 'value'}: ", text, "result" if result else "provider"))
    return slots


def _item_slots(item: Any) -> list[Slot]:
    """The slots of an item of a list of provider blocks: a block's (``block_slots``), else its texts read whole."""
    return block_slots(item) if isinstance(item, Mapping) else _provider_slots(item, ())


def _provider_leaves(value: Any, where: Path, *, what: str) -> Iterator[tuple[Path, str]]:
    """The str leaves of a provider's block that may be words: its arguments (:data:`ARGUMENT_KEYS`) whole, as a tool
    call's are; elsewhere, keys that are never words (``_is_meta``: ids, signatures, encrypted content, urls, media
    types) and payloads (``_PAYLOAD``: urls, base64; bytes) left out. Any other value with possible text raises
    ``InputError``."""
    if isinstance(value, str):
        if not _PAYLOAD.fullmatch(value):
            yield where, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if k in ARGUMENT_KEYS:
                yield from _leaves(v, (*where, k), skip=(), what=what)
            elif not _is_meta(k):
                yield from _provider_leaves(v, (*where, k), what=what)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _provider_leaves(v, (*where, i), what=what)
    elif not isinstance(value, (bytes, bytearray)):  # raw bytes: a binary payload (an image, a signature)
        yield from _leaves(value, where, what=what)  # None and numbers pass; anything else is refused


def _is_meta(key: Any) -> bool:
    """A key of a provider block whose value is never words (see :data:`_META_KEYS`)."""
    name = str(key).lower()
    return name in _META_KEYS or name.endswith(_META_SUFFIXES) or "encrypted" in name


def _arguments(where: Path) -> str:
    """A slot's place in its block for its label: the path, the key of a call's arguments left out."""
    if len(where) > 1 and where[0] in ARGUMENT_KEYS:
        where = where[1:]
    return _dotted(where)


def _dotted(where: Path) -> str:
    return ".".join(map(str, where))


def extra_slots(m: BaseMessage, *, earlier: bool = False) -> list[Slot]:
    """Every text of a message beside its content's text, tool calls and reasoning, with its path in the message: its
    content blocks' (``block_slots``; a tool-call block is read here only when none of its tool calls has its id),
    the built-in tools' items of an OpenAI answer in the v0 format (``additional_kwargs["tool_outputs"]``, read as
    provider blocks), and an answer's audio transcript and refusal in ``additional_kwargs`` (langchain-openai's chat
    completions). An ``audio`` entry without a str ``transcript`` (only an id, or bytes), or with a recording
    (``data`` or ``id``) and a blank one, raises ``InputError``: what it says cannot be read. Not so in an earlier
    answer (``earlier``, a history the model is given): there such an entry is left as it is, unread, as an
    encrypted payload is (OpenAI's multi-turn audio refers to an earlier answer by its id alone, which the provider
    resolves and a client cannot fill with words; Gemini's bytes are never sent back to the model)."""
    calls = _call_keys(m)
    slots = [
        s._replace(where=("content", i, *s.where))
        for i, block in enumerate(_blocks(m.content))
        for s in block_slots(block, calls)
    ]
    outputs = m.additional_kwargs.get(TOOL_OUTPUTS_KWARG)
    base: Path = ("additional_kwargs", TOOL_OUTPUTS_KWARG)
    if isinstance(outputs, list):
        slots += [s._replace(where=(*base, i, *s.where)) for i, item in enumerate(outputs) for s in _item_slots(item)]
    elif outputs is not None:
        slots += [s._replace(where=(*base, *s.where)) for s in _item_slots(outputs)]
    audio = m.additional_kwargs.get(AUDIO_KWARG)
    if audio:
        transcript = audio.get("transcript") if isinstance(audio, Mapping) else None
        recorded = not isinstance(audio, Mapping) or audio.get("data") or audio.get("id")
        if isinstance(transcript, str) and (transcript.strip() or not recorded):
            slots.append(Slot(TRANSCRIPT, "", transcript, "words"))
        elif not earlier:
            raise InputError(
                f"cannot screen a message's audio ({type(audio).__name__} without a 'transcript' of its words): the "
                "guard reads what an audio answer says from its transcript; drop the audio or keep its transcript"
            )
    refusal = _leaves(m.additional_kwargs.get(REFUSAL_KWARG), ("additional_kwargs", REFUSAL_KWARG), what="refusal")
    slots += [Slot(w, "", t, "words") for w, t in refusal]
    for key, value in m.additional_kwargs.items():
        # a provider's own entries of plain values: every text read, a tool's output (``output``, ``results``) as
        # retrieved; entries of objects (Cohere's citation models) are left as they are, unread
        if key not in _KNOWN_KWARGS and _plain(value):
            items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for i, item in items:  # each item of a list as a provider's block of its own (a tool's output in it)
                at = ("additional_kwargs", key) if i is None else ("additional_kwargs", key, i)
                slots += [s._replace(where=(*at, *s.where)) for s in _provider_slots(item, ())]
    return slots


def _plain(value: Any, depth: int = 0) -> bool:
    """A JSON-like value: str, number, bool, None, or lists and dicts of them."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if depth > 32:
        return False
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value)
    return False


def _put(value: Any, where: Path, new: Any) -> Any:
    """A copy of ``value`` with the item at ``where`` replaced by ``new``."""
    if not where:
        return new
    key, rest = where[0], where[1:]
    if isinstance(value, Mapping):
        return {**value, key: _put(value[key], rest, new)}
    items = list(value)
    items[key] = _put(items[key], rest, new)
    return items if isinstance(value, list) else tuple(items)


def with_reasoning(fields: dict[str, Any], texts: Mapping[Path, str]) -> dict[str, Any]:
    """``fields`` (a message's ``content`` and ``additional_kwargs``) with reasoning texts (and the other slots, see
    ``extra_slots``) replaced by path. An audio answer whose transcript changed (redacted, withheld) keeps only its
    new transcript: its recording and id still say the old words, so neither is played or sent on."""
    old = _get(fields, TRANSCRIPT)
    for where, text in texts.items():
        fields = _put(fields, where, text)
    if TRANSCRIPT in texts and texts[TRANSCRIPT] != old:
        fields = _put(fields, TRANSCRIPT[:2], {"transcript": texts[TRANSCRIPT]})
    return fields


def _without_parsed(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k != PARSED_KWARG}


def _each_message(value: Any, fn: Callable[[BaseMessage], BaseMessage]) -> Any:
    """``value`` with ``fn`` applied to every message in it (inside dicts, lists and tuples), its shape kept."""
    if isinstance(value, BaseMessage):
        return fn(value)
    if isinstance(value, Mapping):
        return remap(value, {k: _each_message(v, fn) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        out = [_each_message(v, fn) for v in value]
        return out if isinstance(value, list) else tuple(out)
    return value


def without_old_words(value: Any, *, refused: bool = False) -> Any:
    """``value`` with what says an answer's words again removed from every message in it: the parsed value
    (:data:`PARSED_KWARG`) and the response metadata that may (``_wordless``; ``refused``: the response's id too),
    for an answer whose words changed."""

    def drop(m: BaseMessage) -> BaseMessage:
        update: dict[str, Any] = {}
        if PARSED_KWARG in m.additional_kwargs:
            update["additional_kwargs"] = _without_parsed(m.additional_kwargs)
        if (plain := _wordless(m.response_metadata, refused=refused)) != m.response_metadata:
            update["response_metadata"] = plain
        return m.model_copy(update=update) if update else m

    return _each_message(value, drop)


def _get(value: Any, where: Path) -> Any:
    """The item at ``where`` inside ``value`` (dicts by key, lists by index), or None."""
    for key in where:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, (list, tuple)) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def without_slots(value: Any) -> Any:
    """``value`` with the slots of every message in it removed: reasoning, audio, refusals, server-side tool blocks,
    tool-call and provider blocks, citations and a media block's ``extras`` read as slots (its payload is kept). A
    stream withholds them (an audio transcript or a refusal streams as the answer's text, screened; the recording
    does not)."""

    def drop(m: BaseMessage) -> BaseMessage:
        # (a provider's own entries too: read whole only on a whole answer, a stream never sends them unread)
        kwargs = {k: v for k, v in m.additional_kwargs.items() if k in _KNOWN_KWARGS and k not in SLOT_KWARGS}
        content = _streamed_blocks(m.content) if isinstance(m.content, list) else m.content
        if kwargs == m.additional_kwargs and content == m.content:
            return m
        # an emptied list would swallow the text of the chunks added to it: LangChain merges [] + "x" into []
        return m.model_copy(update={"additional_kwargs": kwargs, "content": content or ""})

    return _each_message(value, drop)


def _streamed_blocks(content: list[Any]) -> list[Any]:
    """The content blocks a stream passes on as they are: no slot blocks; text blocks without their citations (a
    citation streamed alone, without text, goes whole); media without the ``extras`` read as slots."""
    out: list[Any] = []
    for block in content:
        if _is_slot_block(block):
            continue
        if isinstance(block, Mapping):
            gone = {s.where[: 2 if s.where[0] == "extras" else 1] for s in block_slots(block)}
            if gone:
                block = _without(block, gone)
                if _is_text_block(block) and not block.get("text"):
                    continue
        out.append(block)
    return out


def _without(block: Mapping[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    """A copy of ``block`` without the items at ``paths`` (a key, or a key of a dict under a key)."""
    new = dict(block)
    for where in paths:
        inner = new.get(where[0])
        if len(where) > 1 and isinstance(inner, Mapping):
            rest = {k: v for k, v in inner.items() if k != where[1]}
            if rest:
                new[where[0]] = rest
                continue
        new.pop(where[0], None)
    return new


def _blocks(content: Any) -> list[Any]:
    return content if isinstance(content, list) else []


def _rewrite_content(content: Any, fn: Rewrite) -> Any:
    """Content with every text (a text block's ``text``) and block slot (``block_slots``: tool-call blocks' arguments,
    provider blocks, citations, media ``extras``) passed through ``fn``; reasoning blocks are left (see
    ``reasoning_slots``)."""
    if isinstance(content, str):
        return fn(content)
    if isinstance(content, list):
        out: list[Any] = []
        for block in content:
            if isinstance(block, str):
                out.append(fn(block))
            elif isinstance(block, Mapping) and not _is_reasoning_block(block):
                new: Any = dict(block)
                encoded = _encoded_text(block)
                for where, text in block_words(block):
                    if (value := fn(text)) != text:
                        put = encoded.encode(value) if encoded is not None and encoded.where == where else value
                        new = _put(new, where, put)
                for slot in block_slots(block):
                    new = _put(new, slot.where, fn(slot.text))
                out.append(new)
            else:
                out.append(block)
        return out
    return content


def _as_messages(value: Any) -> list[BaseMessage] | None:
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        try:
            return convert_to_messages(value)
        except Exception as exc:
            # LangChain's coercion errors quote the offending message: name only the types
            kinds = sorted({type(item).__name__ for item in value})
            raise_detached(
                InputError(
                    f"cannot read the chain input ({type(value).__name__} of {', '.join(kinds) or 'nothing'}) as "
                    f"messages ({type(exc).__name__}): each item must be a message, a (role, content) pair, or a dict "
                    "with 'role' and 'content'"
                )
            )
    return None


def _is_text(value: Any) -> bool:
    return isinstance(value, (str, StringPromptValue))


def _text(value: str | StringPromptValue) -> str:
    return value if isinstance(value, str) else value.text


def turn_keys(data: Mapping[str, Any], keys: Sequence[str]) -> tuple[str, ...]:
    """The keys of a dict input that hold the user's latest turn.

    Every key of ``keys`` holding a non-blank string (or string prompt value): the turn is their texts, in the
    order of ``keys``; else the first key of ``keys`` whose messages include a user message (a LangGraph state, a
    chat model's input). A key that holds no user turn (an empty history, a blank string, only AI or tool
    messages) is never the turn: when a dict holds a string turn and a message list, the string is the turn and
    the list its history (unless the list ends with a user message nobody has answered yet: that message is part
    of the turn too, judged with the strings, never passed to the model unjudged as history). A dict with no user
    turn under any of ``keys`` raises :class:`InputError` (there is
    nothing the guard could judge as the user's request).
    """
    present = [k for k in keys if k in data]
    if not present:
        raise InputError(f"the chain input dict has none of the keys {list(keys)}; set input_keys= on wrap()")
    texts = tuple(k for k in present if _is_text(data[k]) and _text(data[k]).strip())
    if texts:  # a message list whose last message is the user's, not yet answered, is part of the turn too
        return texts + tuple(k for k in present if not _is_text(data[k]) and _ends_with_user(data[k]))
    for key in present:
        value = data[key]
        if _is_text(value):
            continue
        messages = _as_messages(value)
        if messages is None:
            raise InputError(
                f"unsupported value of type {type(value).__name__} under the input key {key!r}; expected str, "
                "messages or PromptValue"
            )
        if any(is_user_message(m) for m in messages):
            return (key,)
    # no user message anywhere (an agent's inner step: tool results only): the first message list is judged as a
    # bare list would be, for what the chain would read
    for key in present:
        if not _is_text(data[key]) and _as_messages(data[key]):
            return (key,)
    raise InputError(
        f"the chain input dict holds no user turn under its input keys {present} (blank text, or messages "
        "without a user message): there is nothing to judge as the user's request; put the turn under one of "
        "them or set input_keys= on wrap()"
    )


def _ends_with_user(value: Any) -> bool:
    messages = _as_messages(value)
    return bool(messages) and is_user_message(messages[-1])  # type: ignore[index]


def extract_turns(
    value: Any,
    *,
    input_keys: Sequence[str] = DEFAULT_INPUT_KEYS,
    passthrough_keys: Collection[str] = (),
    documents: bool = True,
) -> Turns:
    """The user text the guard must judge, from any supported input shape.

    In a dict (see :func:`turn_keys`), the user turns of message lists under the other keys (a
    separate ``chat_history``) count as earlier turns, before those of the turn's own message list.
    Several string turn keys are judged as one turn, their texts joined in the order of ``input_keys``.
    ``documents=False`` leaves attached documents' words out of the text to judge (see ``content_text``).
    """
    if isinstance(value, str):
        return Turns(latest=value, history=(), has_user_turn=True)
    if isinstance(value, StringPromptValue):
        return Turns(latest=value.text, history=(), has_user_turn=True)
    if isinstance(value, Mapping):
        keys = turn_keys(value, input_keys)
        parts: list[str] = []
        own: list[str] = []  # earlier user turns of the turn's own message list
        continued, user = False, False
        for k in keys:
            if _is_text(value[k]):
                parts.append(_text(value[k]))
                user = True
                continue
            inner = extract_turns(value[k], input_keys=input_keys, documents=documents)
            parts.append(inner.latest)
            own.extend(inner.history)
            continued, user = continued or inner.continued, user or inner.has_user_turn
        turns = Turns(latest="\n".join(parts), history=tuple(own), has_user_turn=user, continued=continued)
        earlier = [
            user_text(m, documents=documents)
            for k, v in value.items()
            if k not in keys and k not in passthrough_keys
            for m in _message_list(v)
            if is_user_message(m)
        ]
        return replace(turns, history=(*earlier, *turns.history)) if earlier else turns
    messages = _as_messages(value)
    if messages is None:
        raise InputError(
            f"unsupported chain input type {type(value).__name__}; expected str, messages, dict or PromptValue"
        )
    if any(is_user_message(m) for m in messages):
        last = max(i for i, m in enumerate(messages) if is_user_message(m))
        continued = any(isinstance(m, ToolMessage) or is_tool_results(m) for m in messages[last + 1 :])
        latest, history = user_turns(messages, documents=documents)
        return Turns(latest=latest, history=history, has_user_turn=True, continued=continued)
    # no user turn: judge what the chain would read (tool results, other non-system text); with nothing but system
    # messages, their text (the user's words may have been rendered into one: nothing reaches the chain unjudged)
    others = [
        content_text(m.content, documents=documents, results=True)
        for m in messages
        if not isinstance(m, (SystemMessage, AIMessage))
    ]
    if not any(t.strip() for t in others) and all(isinstance(m, SystemMessage) for m in messages):
        others = [content_text(m.content, documents=documents) for m in messages]
    return Turns(latest="\n".join(t for t in others if t), history=(), has_user_turn=False)


def _message_like(item: Any) -> bool:
    """A message as LangChain's ``convert_to_messages`` takes one: a message, a (role, content) pair, or a dict with
    a ``role`` or ``type`` and a ``content``."""
    if isinstance(item, BaseMessage):
        return True
    if isinstance(item, tuple):
        return len(item) == 2 and isinstance(item[0], str)
    return isinstance(item, Mapping) and ("role" in item or "type" in item) and "content" in item


def is_message_list(value: Any) -> bool:
    """A chat history under another key of a dict input: a list of messages as ``_message_like`` reads them, plain
    strings (user turns, to LangChain) among them; a list of strings alone is data, not a history."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    return all(_message_like(v) or isinstance(v, str) for v in value) and any(_message_like(v) for v in value)


def _message_list(value: Any) -> list[BaseMessage]:
    """The messages of a chat history under another key (``is_message_list``), else []."""
    if not is_message_list(value):
        return []
    try:
        return convert_to_messages(value)
    except Exception:
        return []


def _rewrite_other(value: Any, fn: Rewrite) -> Any:
    """A value under another key of a dict input with its text passed through ``fn``: strings, messages,
    prompt values and documents, inside dicts, lists and tuples. Anything else passes as it is."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, BaseMessage):
        return _rewrite_messages([value], fn)[0]
    if isinstance(value, PromptValue):
        return rewrite_input(value, fn)
    if isinstance(value, Document):
        return value.model_copy(update={"page_content": fn(value.page_content)})
    if isinstance(value, Mapping):
        items: dict[Any, Any] = {}
        for k, v in value.items():
            key = fn(k) if isinstance(k, str) else k  # a key may be the user's words too (an email as a key)
            if key in items:
                raise InputError(
                    "cannot redact a dict under another input key: two of its keys redact to the same text"
                )
            items[key] = _rewrite_other(v, fn)
        return remap(value, items)
    if isinstance(value, (list, tuple, set, frozenset)):
        return _same_sequence(value, [_rewrite_other(v, fn) for v in value])
    return value


def _same_sequence(original: Any, items: list[Any]) -> Any:
    """``items`` in the container type of ``original`` (list, tuple, namedtuple, set, frozenset or a subclass)."""
    if isinstance(original, list):
        return items
    if hasattr(original, "_fields"):  # a namedtuple takes its fields as arguments
        return type(original)(*items)
    try:
        return type(original)(items)
    except Exception:  # a subclass with another constructor: the plain container
        return (frozenset if isinstance(original, frozenset) else set if isinstance(original, set) else tuple)(items)


def rewrite_input(
    value: Any,
    fn: Rewrite,
    *,
    input_keys: Sequence[str] = DEFAULT_INPUT_KEYS,
    passthrough_keys: Collection[str] = (),
    system_instruction: str | None = None,
) -> Any:
    """The same input with every user turn, tool result and tool-call argument passed through ``fn``.

    In a dict, every other key's text (strings, messages, documents; see ``_rewrite_other``) is
    passed through ``fn`` too, except under ``passthrough_keys``. ``system_instruction`` (for
    ``crisis_mode: refer_and_continue``) is added as a leading system message; a str input
    becomes a message list for that.
    """
    if isinstance(value, str):
        if system_instruction is None:
            return fn(value)
        return [SystemMessage(content=system_instruction), HumanMessage(content=fn(value))]
    if isinstance(value, StringPromptValue):
        if system_instruction is None:
            return StringPromptValue(text=fn(value.text))
        return ChatPromptValue(
            messages=[SystemMessage(content=system_instruction), HumanMessage(content=fn(value.text))]
        )
    if isinstance(value, Mapping):
        keys = turn_keys(value, input_keys)

        def turn(v: Any, instruction: str | None) -> Any:
            if isinstance(v, str) and instruction is not None:
                # a prompt variable: a message list would be formatted into the prompt as its repr, so the
                # instruction goes in front of the text instead
                return f"{instruction}\n\n{fn(v)}"
            return rewrite_input(v, fn, input_keys=input_keys, system_instruction=instruction)

        return {
            k: (
                turn(v, system_instruction if k == keys[0] else None)
                if k in keys
                else v
                if k in passthrough_keys
                else _rewrite_other(v, fn)
            )
            for k, v in value.items()
        }
    messages = _as_messages(value)
    if messages is None:
        raise InputError(f"unsupported chain input type {type(value).__name__}")
    head: list[BaseMessage] = [SystemMessage(content=system_instruction)] if system_instruction else []
    out = head + _rewrite_messages(messages, fn)
    if isinstance(value, PromptValue):
        return ChatPromptValue(messages=out)
    return out


def _transcript_as_text(fields: dict[str, Any]) -> dict[str, Any]:
    """An earlier answer as the model gets it: an audio entry left with nothing but its transcript (redacted or
    withheld, see ``with_reasoning``) goes as the message's text instead. A provider wants an earlier audio answer
    by its recording's id (OpenAI's chat completions refuse one without), and that recording says the old words."""
    kwargs = fields["additional_kwargs"]
    audio = kwargs.get(AUDIO_KWARG)
    if not (isinstance(audio, Mapping) and set(audio) == {"transcript"}):
        return fields
    spoken = audio["transcript"]
    content = fields["content"]
    if isinstance(content, list):
        content = [*content, {"type": "text", "text": spoken}]
    else:
        content = f"{content}\n\n{spoken}" if isinstance(content, str) and content.strip() else spoken
    rest = {k: v for k, v in kwargs.items() if k != AUDIO_KWARG}
    return {**fields, "content": content, "additional_kwargs": rest}


#: what a provider accepts as a message's ``name`` (OpenAI: letters, digits, ``_`` and ``-``)
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
#: a redaction placeholder ("<PERSON_1>"; as ``guardrails.redaction.PLACEHOLDER``)
_PLACEHOLDER_IN_NAME = re.compile(r"<[A-Z][A-Z0-9_]*_\d{1,9}>")


def _user_extras(m: BaseMessage, fn: Rewrite) -> dict[str, Any]:
    """A user message's other words, passed through ``fn`` as its content is: its ``name`` (a client may send the
    user's own name there, and OpenAI sends it on; a changed one keeps only the characters a name may hold, so
    ``<PERSON_1>`` goes as ``PERSON_1``) and the strings of its ``additional_kwargs``."""
    update: dict[str, Any] = {}
    if isinstance(m.name, str) and m.name:
        name = fn(m.name)
        if name != m.name:  # redacted: its placeholder as a name; withheld (a marker, no placeholder): none
            update["name"] = _NAME_UNSAFE.sub("", name) if _PLACEHOLDER_IN_NAME.search(name) else None
    if m.additional_kwargs:
        kwargs = _rewrite_other(m.additional_kwargs, fn)
        if kwargs != m.additional_kwargs:
            update["additional_kwargs"] = kwargs
    return update


def _rewrite_messages(messages: Sequence[BaseMessage], fn: Rewrite, *, extras: bool = True) -> list[BaseMessage]:
    """``messages`` with their texts passed through ``fn``; ``extras``: a user message's name and
    ``additional_kwargs`` as well (see :func:`_user_extras`; not read as texts of the turn)."""
    out: list[BaseMessage] = []
    for m in messages:
        if isinstance(m, (HumanMessage, ToolMessage, FunctionMessage)) or (
            isinstance(m, ChatMessage) and m.role.lower() != "system"
        ):
            update = {"content": _rewrite_content(m.content, fn)}
            if extras and is_user_message(m):
                update.update(_user_extras(m, fn))
            out.append(m.model_copy(update=update))
        elif isinstance(m, AIMessage):
            # earlier answers too: in reversible mode they hold the user's restored values
            update = _Walk(lambda _path, _label, text: fn(text), output_key="").calls_update(m, ())
            fields = {
                "content": _rewrite_content(m.content, fn),
                "additional_kwargs": update.get("additional_kwargs", m.additional_kwargs),
            }
            texts = {where: fn(text) for where, text in reasoning_slots(m)}
            # the slots in additional_kwargs (an audio transcript, a refusal); those of content blocks are rewritten
            texts.update(
                (s.where, fn(s.text)) for s in extra_slots(m, earlier=True) if s.where[0] == "additional_kwargs"
            )
            update.update(_transcript_as_text(with_reasoning(fields, texts)))
            if any(v != getattr(m, k) for k, v in update.items()):  # the parsed value, logprobs: the old words
                if PARSED_KWARG in m.additional_kwargs:
                    update["additional_kwargs"] = _without_parsed(update["additional_kwargs"])
                update["response_metadata"] = _wordless(m.response_metadata)
            out.append(m.model_copy(update=update))
        else:
            out.append(m)
    return out


def message_texts(m: BaseMessage, *, results: bool = True) -> list[str]:
    """Every text of a message that the input rewriter reads (and so redacts or withholds): its content's texts, and
    for an answer its tool-call arguments, reasoning and other slots (``extra_slots``) as well; none for a system
    message. ``results=False`` leaves out the slots that are not the model's words (:data:`NOT_THE_MODELS`: server-side
    and provider tools' results, the provider's tool output, as a tool message's content is; and citations)."""
    seen: list[str] = []

    def keep(text: str) -> str:
        seen.append(text)
        return text

    hidden = {s.where: "" for s in extra_slots(m, earlier=True) if s.kind in NOT_THE_MODELS} if not results else {}
    if hidden:  # blanked where they are: a blank text is no text to judge
        fields = {"content": m.content, "additional_kwargs": m.additional_kwargs}
        m = m.model_copy(update=with_reasoning(fields, hidden))
    _rewrite_messages([m], keep, extras=False)
    content = [t for t in seen if t in content_texts(m.content)]
    return content + [t for t in seen if t not in content]  # its words first, then arguments and reasoning


def content_texts(content: Any) -> list[str]:
    """A message content's texts, in order: the str itself, or its str blocks, every block's ``text`` and a document's
    words (``block_words``), and the words ``content_text`` reads in a user's other blocks and keys."""
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    for b in readable_content(content):
        if isinstance(b, str):
            out.append(b)
            continue
        if isinstance(b, Mapping) and isinstance(b.get("text"), str) and not _is_text_block(b):
            out.append(b["text"])  # a slot block's (a reasoning block with a ``text``)
        else:
            out.extend(text for _, text in block_words(b))
        if isinstance(b, Mapping) and not _is_reasoning_block(b):
            out.extend(s.text for s in block_slots(b) if s.kind in _USER_SLOT_KINDS and s.text not in out)
    return out


# ---------------------------------------------------------------------- outputs
#: ``raise``: the guard's own answer (a refusal, a referral) is raised as ``GuardrailViolation``, for chains whose
#: output type cannot carry it (a pydantic model)
OUTPUT_KINDS = ("auto", "message", "str", "dict", "raise")


def keeps_history(runnable: Any) -> bool:
    """True when a ``RunnableWithMessageHistory`` is part of ``runnable``: itself, or under a binding
    (``with_config``, ``bind``, ``with_retry``, ``with_listeners``), a fallback, a step of a sequence or a
    parallel map, an ``assign``, a branch, ``map()``, or a function that calls it (LangChain lists the runnables
    a ``RunnableLambda`` closes over as its ``deps``). Wrapped, it loads and saves the history out of the guard's
    sight."""
    from langchain_core.runnables import (
        RunnableBranch,
        RunnableLambda,
        RunnableParallel,
        RunnableSequence,
        RunnableWithFallbacks,
    )
    from langchain_core.runnables.base import RunnableBindingBase, RunnableEachBase
    from langchain_core.runnables.history import RunnableWithMessageHistory
    from langchain_core.runnables.passthrough import RunnableAssign

    seen: set[int] = set()  # each part once: a composition may share one runnable in many places
    todo = [runnable]
    while todo and len(seen) < 10_000:
        part = todo.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        if isinstance(part, RunnableWithMessageHistory):
            return True
        if isinstance(part, RunnableBindingBase):
            todo.append(part.bound)
        elif isinstance(part, RunnableSequence):
            todo.extend(part.steps)
        elif isinstance(part, RunnableWithFallbacks):
            todo.extend([part.runnable, *part.fallbacks])
        elif isinstance(part, RunnableParallel):
            todo.extend(part.steps__.values())
        elif isinstance(part, RunnableAssign):
            todo.append(part.mapper)
        elif isinstance(part, RunnableEachBase):
            todo.append(part.bound)
        elif isinstance(part, RunnableBranch):
            todo.extend([r for pair in part.branches for r in pair] + [part.default])
        elif isinstance(part, RunnableLambda):
            todo.extend(_lambda_deps(part))
    return False


def _lambda_deps(part: Any) -> list[Any]:
    """The runnables a ``RunnableLambda``'s function closes over; none when LangChain cannot read its source."""
    try:
        return list(part.deps)
    except Exception:  # reading a function's source or closure can fail (a builtin, a C extension): none known
        return []


def _history_inner(runnable: Any) -> Any:
    """The chain a ``RunnableWithMessageHistory`` runs (it returns that chain's answer, whatever its declared
    ``OutputType``), else ``runnable``. The history wrapper keeps it only in the closure of its last step, which
    LangChain lists as that step's ``deps``."""
    from langchain_core.runnables import RunnableLambda
    from langchain_core.runnables.base import RunnableBindingBase
    from langchain_core.runnables.history import RunnableWithMessageHistory

    if not isinstance(runnable, RunnableWithMessageHistory):
        return runnable
    last = _tail(runnable.bound)
    deps = last.deps if isinstance(last, RunnableLambda) else []
    if len(deps) != 1:
        return runnable
    inner = deps[0]  # the chain with the history's listeners bound to it
    return inner.bound if isinstance(inner, RunnableBindingBase) else inner


def _tail(runnable: Any) -> Any:
    """The step that produces a runnable's output: the last step of a sequence, through bindings
    (``with_config``, ``with_retry``), fallbacks and message histories."""
    from langchain_core.runnables import RunnableSequence, RunnableWithFallbacks
    from langchain_core.runnables.base import RunnableBindingBase

    for _ in range(16):  # nesting is shallow in practice; the bound only guards against cycles
        inner = _history_inner(runnable)
        if inner is not runnable:
            runnable = inner
        elif isinstance(runnable, RunnableSequence):
            runnable = runnable.last
        elif isinstance(runnable, RunnableBindingBase):
            runnable = runnable.bound
        elif isinstance(runnable, RunnableWithFallbacks):
            runnable = runnable.runnable
        else:
            break
    return runnable


def answer_key(runnable: Any, output_key: str) -> str:
    """The key a dict chain answers under: ``output_key`` when the chain builds it, else the first of
    :data:`ANSWER_KEYS` it builds (``RunnablePassthrough.assign(answer=...)``), else ``output_key``."""
    for name in (output_key, *ANSWER_KEYS):
        if name in _branches(runnable):
            return name
    return output_key


def _branches(runnable: Any) -> Mapping[str, Any]:
    """The named branches of a dict chain (``RunnableParallel``, ``RunnablePassthrough.assign``); else none."""
    from langchain_core.runnables import RunnableParallel
    from langchain_core.runnables.passthrough import RunnableAssign

    tail = _tail(runnable)
    branches = tail.mapper if isinstance(tail, RunnableAssign) else tail
    return branches.steps__ if isinstance(branches, RunnableParallel) else {}


def ends_in_schema_parser(runnable: Any) -> bool:
    """True when the runnable's answer is parsed into the caller's own schema, which no refusal fits: it ends in
    a JSON or tool-call parser (``with_structured_output`` chains do, and declare no output type), or it is a
    dict whose ``parsed`` value is so parsed (``include_raw=True``), or one every value of which is."""
    return _schema_parsed(runnable, 0)


def _schema_parsed(runnable: Any, depth: int) -> bool:
    from langchain_core.output_parsers import JsonOutputParser
    from langchain_core.output_parsers.openai_tools import JsonOutputToolsParser

    if isinstance(_tail(runnable), (JsonOutputParser, JsonOutputToolsParser)):
        return True
    steps = _branches(runnable)
    if depth >= 4 or not steps:
        return False

    def parsed(branch: Any) -> bool:
        return _declares_model(branch) or _schema_parsed(branch, depth + 1)

    if "parsed" in steps:  # with_structured_output(include_raw=True): {"raw", "parsed", "parsing_error"}
        return parsed(steps["parsed"])
    return all(parsed(b) for b in steps.values())


def _declares_model(runnable: Any) -> bool:
    """True when the runnable declares a pydantic model (not a message) as its output type."""
    try:
        out_type = runnable.OutputType
    except Exception:
        return False
    return isinstance(out_type, type) and issubclass(out_type, BaseModel) and not issubclass(out_type, BaseMessage)


#: the kind of the guard's own answer for a chain that declares no output type (an unannotated function at its end)
#: and has not answered yet: such a last step most often turns text or a message into text (``m.content``,
#: ``s.strip()``); once the chain has answered, the wrapper uses the kind it returned (:func:`kind_of`)
UNDECLARED_OUTPUT_KIND = "str"


def declared_output_kind(runnable: Any) -> str | None:
    """What the wrapped runnable declares it returns: ``message``, ``str``, ``dict``, or ``raise`` for a pydantic
    model or a schema parsed from the model's reply (neither can hold a refusal); None when it declares nothing
    (``Any``: a function without a return annotation at its end, a runnable whose type cannot be inferred)."""
    runnable = _history_inner(runnable)
    if _declares_model(runnable) or ends_in_schema_parser(runnable):
        return "raise"
    try:
        out_type = runnable.OutputType
    except Exception:
        return None
    if out_type is Any or out_type is object:
        return None
    if out_type is str:
        return "str"
    if out_type is dict or getattr(out_type, "__origin__", None) is dict:
        return "dict"
    return "message"


def infer_output_kind(runnable: Any) -> str:
    """The kind of the guard's own answers for ``runnable``: what it declares (:func:`declared_output_kind`), else
    :data:`UNDECLARED_OUTPUT_KIND`."""
    declared = declared_output_kind(runnable)
    return declared if declared is not None else UNDECLARED_OUTPUT_KIND


def kind_of(value: Any) -> str | None:
    """The kind of an answer (or streamed chunk) a chain returned: ``str``, ``message`` or ``dict``; else None."""
    if isinstance(value, str):
        return "str"
    if isinstance(value, BaseMessage):
        return "message"
    if isinstance(value, Mapping):
        return "dict"
    return None


def is_model_output(output: Any) -> bool:
    """True when ``output`` is a pydantic model (not a message): a refusal has no place in it."""
    return isinstance(output, BaseModel) and not isinstance(output, BaseMessage)


#: the key under which the guard's decisions are attached to dict outputs (not screened at the top level when the
#: value is the guard's own, a :class:`GuardMetadata`: a parsed answer may hold a "guardrails" key of its own)
META_KEY = "guardrails"


class GuardMetadata(dict):  # type: ignore[type-arg]
    """The guard's decisions as attached to a dict output: a dict only a guard makes (a JSON parser makes plain
    dicts), so a model's answer that writes a "guardrails" key of its own is screened like any other."""


def own_metadata(value: object) -> bool:
    """True for the guard's own decisions (a :class:`GuardMetadata`), not for a "guardrails" value a model wrote."""
    return isinstance(value, GuardMetadata)


#: keys a dict output conventionally holds its answer under (after ``output_key``): the refusal and
#: disclaimers go there, e.g. ``RunnablePassthrough.assign(answer=...)`` returns question, context, answer
ANSWER_KEYS = ("answer", "output", "result", "response", "text", "content", "generation")
#: additional_kwargs entries that hold provider-format tool calls (raw JSON arguments)
_CALL_KWARGS = ("tool_calls", "function_call")
#: the ``additional_kwargs`` entries read as what they are (tool calls, slots, a parsed value); any other is a
#: provider's own, read whole by ``extra_slots``
_KNOWN_KWARGS = frozenset({*_CALL_KWARGS, *SLOT_KWARGS, PARSED_KWARG})
#: whole numbers of thirteen digits and more are read as text (of a whole answer; a stream passes numbers on as
#: they are): such a number may be a card number (a timestamp in seconds has ten digits, in milliseconds it
#: starts with 1, which no card does)
_NUMBER_AS_TEXT = 10**12
#: values that carry no text: passed through unscreened
_INERT = (bool, int, float, complex, Decimal, datetime.date, datetime.time, datetime.timedelta, UUID, Enum)

#: called for each text slot of an output: (where it is, context label for the guard, text) -> text to put back
Visit = Callable[[Path, str, str], str]


@dataclass(frozen=True)
class Piece:
    """One text slot of an output: the answer text, a dict value, a tool-call argument.

    ``context`` marks a slot under one of the wrapper's ``context_keys`` (retrieved documents, say):
    redacted like the rest, but not judged as the model's words.
    """

    path: Path
    label: str
    text: str
    context: bool = False


#: a slot shorter than this is judged only within the joined text, not alone: the classifier reads a bare
#: fragment ("ibuprofen", "maximum daily dose", a street name) as anything, and a harmful payload is a sentence.
#: Measured on 70 tool calls we wrote: harmful arguments caught 29/40 joined only, 37/40 with slots of 4+ words
#: alone too; benign calls blocked 2/30 either way (4/30 with every slot alone, or with labelled slots)
MIN_APART_WORDS = 4


@dataclass(frozen=True)
class OutputText:
    """Every text slot of an output, in a fixed order, and the slot the answer (and refusal) goes to."""

    pieces: tuple[Piece, ...]
    primary: Path | None

    @property
    def text(self) -> str:
        """What the guard judges: each non-blank slot but context ones on its own line, tool arguments labelled."""
        return _joined(p for p in self.pieces if not p.context)

    @property
    def apart(self) -> tuple[str, ...]:
        """The judged slots of two or more, each on its own, for the guard to judge alone as well as joined
        (``Guard.check``'s ``pieces``): a harmful tool argument is not averaged away by the others. Unlabelled and
        only those of ``MIN_APART_WORDS`` words or more (see there); () for a single slot."""
        live = [p.text for p in self.pieces if not p.context and p.text.strip()]
        return tuple(t for t in live if len(t.split()) >= MIN_APART_WORDS) if len(live) > 1 else ()

    @property
    def context_text(self) -> str:
        """The context slots, joined like :attr:`text`: only redacted (their entities found), never judged."""
        return _joined(p for p in self.pieces if p.context)

    def redacted(
        self,
        findings: Sequence[Finding],
        redact: Callable[[str, list[Finding]], str],
        context_findings: Sequence[Finding] = (),
    ) -> dict[Path, str]:
        """Each slot's text after redaction, given the findings of a check of :attr:`text` (and of a
        check of :attr:`context_text`).

        The slots are redacted in one ``redact`` call (so placeholders number consistently),
        joined by a separator none of them contains; entity findings are clipped to the slots.
        """
        live = [p for p in self.pieces if p.text.strip()]
        sep = _separator("".join(p.text for p in live))
        mapped: list[Finding] = []
        joined = 0  # where the slot starts in the joined slots
        checked = {False: 0, True: 0}  # where the slot starts in `self.text` / in `self.context_text`
        for p in live:
            start = checked[p.context] + len(p.label)
            end = start + len(p.text)
            for f in context_findings if p.context else findings:
                if f.category is None and f.start is not None and f.end is not None and f.label:
                    lo, hi = max(f.start, start), min(f.end, end)
                    if lo < hi:
                        mapped.append(replace(f, start=lo - start + joined, end=hi - start + joined))
            checked[p.context] = end + 1
            joined += len(p.text) + len(sep)
        parts = redact(sep.join(p.text for p in live), mapped).split(sep)
        if len(parts) != len(live):
            raise GuardrailsError("redaction changed the layout of the chain's output; it cannot be returned")
        out = {p.path: p.text for p in self.pieces}
        out.update((p.path, t) for p, t in zip(live, parts, strict=True))
        return out


def _joined(pieces: Iterable[Piece]) -> str:
    return "\n".join(p.label + p.text for p in pieces if p.text.strip())


def _separator(text: str) -> str:
    for cp in range(0xE000, 0xF900):  # private use area: never in a placeholder or mask
        if chr(cp) not in text:
            return chr(cp)
    raise GuardrailsError("the chain's output uses every private-use character; it cannot be screened")


def read_output(
    output: Any,
    *,
    output_key: str,
    calls: bool = True,
    reasoning: bool = True,
    context_keys: Collection[str] = (),
) -> OutputText:
    """The text slots of an output (``calls=False``/``reasoning=False``: leave tool calls/reasoning out).

    The slots under a key of ``context_keys`` of a dict output, and the citations of a message's text blocks, are
    marked ``context``.

    Text is found in str values, message contents and tool calls, anywhere inside dicts,
    lists, tuples and pydantic models. Any other value (not a number, date, id or enum)
    raises :class:`InputError`: an output the guard cannot read is never passed unscreened.
    """
    check_depth(output, what="the chain's output")
    pieces: list[Piece] = []

    top = isinstance(output, Mapping)

    def visit(path: Path, label: str, text: str) -> str:
        context = (top and bool(path) and path[0] in context_keys) or path in walk.cited
        pieces.append(Piece(path, label, text, context=context))
        return text

    walk = _Walk(visit, output_key=output_key, calls=calls, reasoning=reasoning)
    walk.value(output, ())
    primary = _primary(output, output_key, (), skip=context_keys)
    # the answer first: a detector that reads only the start of a very long text still sees it whole
    pieces.sort(key=lambda p: p.path != primary)
    return OutputText(tuple(pieces), primary)


def rebuild_output(
    output: Any, texts: Mapping[Path, str], *, output_key: str, metadata: Mapping[str, Any] | None
) -> Any:
    """The same output with each slot's text replaced by ``texts[path]`` and the guard's metadata attached."""
    new = _Walk(lambda path, _label, text: texts.get(path, text), output_key=output_key).value(output, ())
    return new if metadata is None else _attach(new, metadata, output_key)


def map_texts(value: Any, fn: Rewrite) -> Any:
    """``value`` with every text slot (as :func:`read_output` finds them, tool calls and reasoning included) passed
    through ``fn``, keeping its structure; the guard's decisions at the top of a dict are left as they are."""
    return _Walk(lambda _path, _label, text: fn(text), output_key="").value(value, ())


def blocked_output(
    output: Any,
    text: str,
    *,
    kind: str,
    output_key: str,
    metadata: Mapping[str, Any],
    context_keys: Collection[str] = (),
) -> Any:
    """The refusal in the output's shape: only the answer slot is kept (with ``text``); no tool calls, no other
    values. Shapes with no such slot (a pydantic model, only context) become the wrapper's own answer of
    ``kind``."""
    path = _primary(output, output_key, (), skip=context_keys)
    if path is None or _lands_in_model(output, path):
        return make_output(kind, text, output_key=output_key, metadata=metadata)
    return _attach(_only(output, path, text), metadata, output_key)


def _lands_in_model(value: Any, path: Path) -> bool:
    """True when the path to the answer slot passes through a pydantic model (not a message)."""
    for key in path:
        if isinstance(value, BaseMessage):
            return False
        if isinstance(value, BaseModel):
            return True
        value = value[key]
    return False


def _only(value: Any, path: Path, text: str) -> Any:
    if isinstance(value, BaseMessage):
        update: dict[str, Any] = {
            "content": text,
            "response_metadata": _wordless(value.response_metadata, refused=True),
        }
        if isinstance(value, AIMessage):
            update.update(_drop_calls(value))
        # reasoning, an audio answer's recording, a structured answer's parsed value, a provider's own entries: the
        # refusal replaces every one (none of the refused answer's words stays)
        if value.additional_kwargs:
            update["additional_kwargs"] = {}
        return value.model_copy(update=update)
    if not path:
        return text
    key, rest = path[0], path[1:]
    if isinstance(value, Mapping):
        return remap(value, {key: _only(value[key], rest, text)})
    return [_only(value[key], rest, text)]


def _attach(output: Any, metadata: Mapping[str, Any], output_key: str) -> Any:
    if isinstance(output, BaseMessage):
        meta = {**output.response_metadata, META_KEY: dict(metadata)}
        return output.model_copy(update={"response_metadata": meta})
    if isinstance(output, Mapping):
        out = dict(output)
        if isinstance(out.get(output_key), BaseMessage):
            out[output_key] = _attach(out[output_key], metadata, output_key)
        out[META_KEY] = GuardMetadata(metadata)
        return remap(output, out)
    return output


def make_output(kind: str, text: str, *, output_key: str, metadata: Mapping[str, Any], chunk: bool = False) -> Any:
    """An answer of the given kind that the guard wrote itself (refusal, referral); ``raise`` is the caller's to
    handle (an ``AIMessage`` here)."""
    if kind == "str":
        return text
    if kind == "dict":
        return {output_key: text, META_KEY: GuardMetadata(metadata)}
    cls = AIMessageChunk if chunk else AIMessage
    return cls(content=text, response_metadata={META_KEY: dict(metadata)})


# ---------------------------------------------------------------------- streamed outputs
def chunk_like(sample: Any, text: str, *, output_key: str, calls: AIMessageChunk | None = None) -> Any:
    """A streamed chunk shaped like ``sample``: ``text`` in its answer slot, its other text emptied,
    messages as fresh ``AIMessageChunk``s (no tool calls; usage travels apart, see ``metadata_only``)
    and ``calls`` (screened tool-call chunks) on its first message."""
    primary = _primary(sample, output_key, ())
    walk = _Walk(
        lambda path, _label, _text: text if path == primary else "",
        output_key=output_key,
        calls=False,
        fresh=True,
        attach=calls,
        reasoning=False,
    )
    return walk.value(sample, ())


#: response_metadata entries that carry no text (streamed on their own, apart from the screened text)
_PLAIN_RESPONSE_METADATA = (
    "finish_reason", "stop_reason", "model_name", "model", "model_provider", "system_fingerprint", "service_tier",
)  # fmt: skip


#: response_metadata entries that say nothing of an answer's words (ids, the model, why it stopped, token counts, a
#: provider's safety ratings and request metadata): an answer the guard changed or refused keeps only these (and any
#: entry with no str in it), since the others may say the old words again (OpenAI ``logprobs``: the answer's tokens;
#: Gemini ``grounding_metadata``: its sentences and search queries; Bedrock's guardrail ``trace``)
_WORDLESS_RESPONSE_METADATA = frozenset(
    {
        *_PLAIN_RESPONSE_METADATA, META_KEY, "id", "created", "created_at", "object", "status", "token_usage", "usage",
        "usage_metadata", "stop_sequence", "stopReason", "safety_ratings", "prompt_feedback", "headers",
        "ResponseMetadata", "metrics", "model_version", "incomplete_details",
        # read back by LangChain: the content's format (v1 blocks are converted back only with it), Anthropic's
        # code-execution container (``reuse_last_container``)
        "output_version", "container",
    }
)  # fmt: skip


def _wordless(metadata: Mapping[str, Any], *, refused: bool = False) -> dict[str, Any]:
    """The entries of ``metadata`` that say nothing of the answer's words (see :data:`_WORDLESS_RESPONSE_METADATA`);
    ``refused``: without the response's ``id`` either (langchain-openai's ``use_previous_response_id`` would continue
    from the refused words the provider stored under it)."""
    return {
        k: v
        for k, v in metadata.items()
        if (k in _WORDLESS_RESPONSE_METADATA or not _has_str(v)) and not (refused and k == "id")
    }


def _has_str(value: Any) -> bool:
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, Mapping):
        return any(_has_str(k) or _has_str(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_has_str(v) for v in value)
    return value is not None and not isinstance(value, (bool, int, float))


def metadata_only(value: Any) -> AIMessageChunk | None:
    """A content-less chunk with the token usage (and plain response metadata) of a streamed message chunk that
    also carries text, or None. Streamed text is re-chunked by the screen, so its counts travel apart and
    still add up (``AIMessageChunk`` addition sums usage)."""
    if not isinstance(value, AIMessageChunk):
        return None
    plain = {k: value.response_metadata[k] for k in _PLAIN_RESPONSE_METADATA if k in value.response_metadata}
    if value.usage_metadata is None and not plain:
        return None
    return AIMessageChunk(content="", usage_metadata=value.usage_metadata, response_metadata=plain, id=value.id)


def without_media(value: Any) -> Any:
    """``value`` with the media blocks of every message in it removed (a refused answer's image)."""

    def drop(m: BaseMessage) -> BaseMessage:
        if not isinstance(m.content, list) or not any(_is_media_block(b) for b in m.content):
            return m
        return m.model_copy(update={"content": [b for b in m.content if not _is_media_block(b)] or ""})

    return _each_message(value, drop)


def media_only(value: Any) -> AIMessageChunk | None:
    """A chunk with the media blocks (an image, an audio clip, as a stream passes them on) of a streamed message
    chunk that also carries text, or None: the screen re-chunks the text, and the media travel apart."""
    if not isinstance(value, AIMessageChunk) or not isinstance(value.content, list):
        return None
    media = [b for b in _streamed_blocks(value.content) if _is_media_block(b)]
    return AIMessageChunk(content=media, id=value.id) if media else None


def held_calls(value: Any) -> AIMessageChunk | None:
    """The tool-call parts of the messages in a streamed value, as one content-less chunk (None when none)."""
    found: AIMessageChunk | None = None
    for m in _messages(value):
        part = _calls_chunk(m)
        if part is not None:
            found = part if found is None else found + part
    return found


def calls_tools(output: Any, primary: Path) -> bool:
    """True when the answer at ``primary`` (a path into ``output``) is the text of a message that calls tools (a
    step of an agent's loop, not its final answer)."""
    value = output
    for key in primary:
        if isinstance(value, BaseMessage):
            break
        if isinstance(value, (Mapping, list, tuple)):
            value = value[key]
        elif isinstance(value, BaseModel):
            value = getattr(value, key)
        else:
            return False
    return isinstance(value, BaseMessage) and _calls_chunk(value) is not None


def _messages(value: Any) -> Iterator[BaseMessage]:
    if isinstance(value, BaseMessage):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if not (k == META_KEY and own_metadata(v)):
                yield from _messages(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _messages(v)


#: how deep a value the guard reads may nest (dicts, lists, tuples, messages, pydantic models, each a level): a
#: deeper one is refused with ``InputError``, as is a value that holds itself, rather than exhausting Python's
#: recursion limit half-way through a check (a JSON body 600 levels deep did); no chat input or answer nests so deep
MAX_DEPTH = 100
_NESTED = (Mapping, list, tuple, BaseMessage, BaseModel)


def check_depth(value: Any, *, what: str) -> None:
    """InputError when ``value`` nests deeper than :data:`MAX_DEPTH` levels (or holds itself); read without
    recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"cannot screen {what}: it nests deeper than {MAX_DEPTH} levels (or holds itself)")
        if isinstance(item, BaseMessage):
            children: Iterable[Any] = (item.content, item.additional_kwargs, *(getattr(item, "tool_calls", None) or ()))
        elif isinstance(item, Mapping):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        elif isinstance(item, BaseModel):
            children = [getattr(item, name, None) for name in type(item).model_fields]
        else:
            continue
        stack.extend((child, depth + 1) for child in children if isinstance(child, _NESTED))


def _json_arguments(args: Any) -> str:
    """A tool call's arguments as the JSON a streamed tool-call chunk holds; InputError for arguments that are not
    JSON (bytes, a set), as ``invoke`` refuses them."""

    def inert(value: Any) -> Any:  # a date, a number type, an id or an enum: read as text, as invoke reads them
        if isinstance(value, _INERT):
            return value.value if isinstance(value, Enum) else str(value)
        raise TypeError(type(value).__name__)

    try:
        return json.dumps(args, ensure_ascii=False, default=inert)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"cannot screen a tool call's arguments: they hold a value JSON cannot hold ({type(exc).__name__}); "
            "return str, numbers, or dicts and lists of them"
        ) from None


def _calls_chunk(m: BaseMessage) -> AIMessageChunk | None:
    if not isinstance(m, AIMessage):
        return None
    kwargs = {k: m.additional_kwargs[k] for k in _CALL_KWARGS if k in m.additional_kwargs}
    if isinstance(m, AIMessageChunk):
        chunks = list(m.tool_call_chunks)
    else:
        chunks = [
            tool_call_chunk(name=c["name"], args=_json_arguments(c["args"]), id=c.get("id"), index=i)
            for i, c in enumerate(m.tool_calls)
        ]
        chunks += [
            tool_call_chunk(name=c.get("name"), args=c.get("args"), id=c.get("id"), index=len(chunks) + i)
            for i, c in enumerate(m.invalid_tool_calls)
        ]
    if not chunks and not kwargs:
        return None
    return AIMessageChunk(content="", tool_call_chunks=chunks, additional_kwargs=kwargs, id=m.id)


# ---------------------------------------------------------------------- one pass over an output
#: the keys of ``with_structured_output(include_raw=True)``'s answer
_STRUCTURED_KEYS = frozenset({"raw", "parsed", "parsing_error"})


def _primary(value: Any, output_key: str, path: Path, *, skip: Collection[str] = ()) -> Path | None:
    """Where the answer text is: a str, a message's content, ``output_key`` of a dict (else its first value
    with text), the last item of a list with text, the first field of a model with text. The top-level keys
    in ``skip`` (context keys: documents, not the answer) are never it."""
    if isinstance(value, str):
        return path
    if isinstance(value, BaseMessage):
        return (*path, "content")
    found: Path | None
    if isinstance(value, Mapping):
        keys = [k for k in value if not (not path and ((k == META_KEY and own_metadata(value[k])) or k in skip))]
        # the configured key, then the keys chains conventionally answer under, then the rest in order
        preferred = [k for k in (output_key, *ANSWER_KEYS) if k in keys]
        if not path and output_key not in keys and {"raw", "parsed"} <= set(keys) <= _STRUCTURED_KEYS:
            preferred.insert(0, "parsed")  # with_structured_output(include_raw=True): the parsed answer
        keys = [*preferred, *(k for k in keys if k not in preferred)]
        for k in keys:
            if (found := _primary(value[k], output_key, (*path, k))) is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for i in reversed(range(len(value))):
            if (found := _primary(value[i], output_key, (*path, i))) is not None:
                return found
    elif isinstance(value, BaseModel):
        names = [n for n in [*type(value).model_fields, *(value.model_extra or {})] if _free_text(value, n)]
        preferred = [n for n in (output_key, *ANSWER_KEYS) if n in names]
        for name in [*preferred, *(n for n in names if n not in preferred)]:
            if (found := _primary(getattr(value, name), output_key, (*path, name))) is not None:
                return found
    return None


def _free_text(model: BaseModel, name: str) -> bool:
    """True when a model's field can take the guard's text (a disclaimer, a referral) and stay valid: a plain
    ``str`` (or optional ``str``) with no constraints, or a nested value; never a ``Literal``, an enum or a
    length- or pattern-constrained string."""
    field = type(model).model_fields.get(name)
    if field is None:  # an extra field of a model that allows them
        return True
    ann = field.annotation
    if ann is str or ann == str | None:  # typing.Optional[str] compares equal too
        return not field.metadata
    return not isinstance(getattr(model, name), str)


def with_new_ids(value: Any) -> Any:
    """``value`` with each message in it (in dicts and lists, as a graph's state holds them) given an id of its own,
    as the assistant's: text the guard adds beside an answer is never a tool's result or the user's words."""
    if isinstance(value, AIMessage):
        return value.model_copy(update={"id": str(uuid.uuid4())})
    if isinstance(value, BaseMessage):
        return AIMessage(content=value.content, id=str(uuid.uuid4()))
    if isinstance(value, Mapping):
        return remap(value, {k: with_new_ids(v) for k, v in value.items()})
    if isinstance(value, list):
        return [with_new_ids(v) for v in value]
    return value


def remap(original: Mapping[Any, Any], items: Mapping[Any, Any]) -> Any:
    """``items`` in the mapping type of ``original`` when it can be rebuilt (AddableDict), else a dict."""
    if type(original) is not dict:
        try:
            return cast(Any, type(original))(items)
        except Exception:
            pass
    return dict(items)


def _drop_calls(m: AIMessage) -> dict[str, Any]:
    update: dict[str, Any] = {}
    if m.tool_calls or m.invalid_tool_calls:
        update.update(tool_calls=[], invalid_tool_calls=[])
    if isinstance(m, AIMessageChunk) and m.tool_call_chunks:
        update["tool_call_chunks"] = []
    if any(k in m.additional_kwargs for k in _CALL_KWARGS):
        update["additional_kwargs"] = {k: v for k, v in m.additional_kwargs.items() if k not in _CALL_KWARGS}
    return update


def _changed_words(
    blocks: Sequence[Any], new: str, keep: Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
) -> Any:
    """The content of an answer whose words changed to ``new`` (all its words, joined): the words go into one text
    block in the place of the first text block of its last message item, keeping that block's keys (an OpenAI
    Responses message's ``msg_`` id and ``phase``: the API refuses a reasoning item sent back without the item that
    followed it) but a document's words and the citations, which said the old words. Text blocks of other message
    items (an earlier ``msg_`` id: a commentary before a tool call) stay in place, emptied, so each reasoning item
    keeps the item after it. The other blocks stay in their places (``keep``: media, reasoning, server-side tools,
    refusals, provider blocks; a tool-call block with its call's screened arguments, or dropped). Only ``new``, a
    str, when no other block is left."""

    def item(block: Any) -> Any:
        return block.get("id") if isinstance(block, Mapping) else None

    flat = [i for i, b in enumerate(blocks) if isinstance(b, str) or _flattened(b)]
    last_id = item(blocks[flat[-1]]) if flat else None
    # the first text block of the last message item (last, after an answer of no words: a disclaimer after a call)
    flat_at = next((i for i in flat if item(blocks[i]) == last_id), len(blocks))
    head = blocks[flat_at] if flat_at < len(blocks) and isinstance(blocks[flat_at], Mapping) else {}
    gone = {"type", "text", *_FILE_KEYS, *DOCUMENT_WORD_KEYS, *CITATION_KEYS}
    words = {"type": "text", **{k: v for k, v in head.items() if k not in gone}, "text": new}
    out: list[Any] = []
    for i, b in enumerate([*blocks, None]):
        if i == flat_at and new:
            out.append(words)  # never an empty text block of its own: a provider may refuse one sent back
        if b is None or i == flat_at:
            continue
        if i in flat:
            if item(b) is not None and item(b) != last_id and _is_text_block(b):  # another message item's: emptied
                out.append({k: v for k, v in b.items() if k not in CITATION_KEYS} | {"text": ""})
        elif isinstance(b, Mapping) and (kept := keep(b)) is not None:
            out.append(kept)
    return out if any(b is not words for b in out) else new


class _Walk:
    """Visits every text slot of a value in a fixed order and rebuilds the value from what ``visit`` returns.

    ``calls=False`` leaves tool calls out (not visited, kept as they are, or dropped when ``fresh``);
    ``reasoning=False`` likewise leaves reasoning out (``fresh`` messages never carry it).
    ``fresh`` rebuilds messages as bare ``AIMessageChunk``s for streaming, ``attach`` adding tool-call
    chunks to the first one.
    """

    def __init__(
        self,
        visit: Visit,
        *,
        output_key: str,
        calls: bool = True,
        fresh: bool = False,
        attach: AIMessageChunk | None = None,
        reasoning: bool = True,
    ) -> None:
        self.visit = visit
        self.output_key = output_key
        self.calls = calls
        self.reasoning = reasoning
        self.fresh = fresh
        self.attach = attach
        #: where the citations visited are: retrieved text, marked as context by ``read_output``
        self.cited: set[Path] = set()

    def value(self, value: Any, path: Path, tool: tuple[str, int] | None = None) -> Any:
        if isinstance(value, str):
            label = f"{tool[0]} {'.'.join(map(str, path[tool[1] :]))}: " if tool else ""
            return self.visit(path, label, value)
        if self.calls and isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _NUMBER_AS_TEXT:
            # a card, phone or account number parsed from JSON as a number: read as its digits, a string where changed
            label = f"{tool[0]} {'.'.join(map(str, path[tool[1] :]))}: " if tool else ""
            digits = str(value)
            seen = self.visit(path, label, digits)
            return value if seen == digits else seen
        if isinstance(value, BaseMessage):
            return self.message(value, path)
        if isinstance(value, Mapping):
            items = {
                # only the guard's own decisions at the top of an output are not text to screen
                k: v if k == META_KEY and not path and own_metadata(v) else self.value(v, (*path, k), tool)
                for k, v in value.items()
            }
            return remap(value, items)
        if isinstance(value, (list, tuple)):
            out = [self.value(v, (*path, i), tool) for i, v in enumerate(value)]
            return out if isinstance(value, list) else tuple(out)
        if isinstance(value, BaseModel):
            names = [*type(value).model_fields, *(value.model_extra or {})]
            update = {n: self.value(getattr(value, n), (*path, n), tool) for n in names}
            return value.model_copy(update=update)
        if value is None or isinstance(value, _INERT):
            return value
        raise InputError(
            f"cannot screen the chain's output: it holds a value of type {type(value).__name__}, whose text the "
            "guard cannot read; return str, messages, or dicts, lists or pydantic models of them"
        )

    def message(self, m: BaseMessage, path: Path) -> BaseMessage:
        old = content_text(m.content, others=False)  # the other blocks' words: slots of their own
        new = self.visit((*path, "content"), "", old)
        if self.fresh:  # streamed: a bare chunk (reasoning, tool calls and metadata left out)
            chunk = AIMessageChunk(content=new, id=m.id)
            if self.attach is not None:
                chunk = AIMessageChunk(
                    content=new,
                    id=m.id,
                    tool_call_chunks=list(self.attach.tool_call_chunks),
                    additional_kwargs=dict(self.attach.additional_kwargs),
                )
                self.attach = None
            return chunk
        update = self.calls_update(m, path) if self.calls and isinstance(m, AIMessage) else {}
        calls_changed = bool(update)
        slots = reasoning_slots(m) if self.reasoning else []
        texts = {where: self.visit((*path, *where), "reasoning: ", text) for where, text in slots}
        # server-side tools and provider blocks go with tool calls (a stream withholds them); a streamed chunk's audio
        # may be a delta of the recording alone (its transcript comes in other chunks): withheld, not an error
        for s in extra_slots(m, earlier=not self.calls):
            if self.calls or s.kind == "words":
                # what a tool retrieved (a fetched page, search results) and what a citation quotes is context, as
                # retrieved documents are: redacted, not judged as the model's words (nor counted as its length)
                if s.kind in NOT_THE_MODELS:
                    self.cited.add((*path, *s.where))
                texts[s.where] = self.visit((*path, *s.where), s.label, s.text)
        fields = with_reasoning({"content": m.content, "additional_kwargs": m.additional_kwargs}, texts)
        if fields["additional_kwargs"] != m.additional_kwargs:
            changed = {
                k: v for k, v in fields["additional_kwargs"].items() if k in SLOT_KWARGS or k not in _KNOWN_KWARGS
            }
            update["additional_kwargs"] = {**update.get("additional_kwargs", m.additional_kwargs), **changed}
        blocks = _blocks(fields["content"])
        if new != old:
            update["content"] = _changed_words(blocks, new, lambda b: self._kept(b, m, update))
        elif calls_changed and any(_block_type(b) in CALL_BLOCKS for b in blocks):
            # the words as they were; a tool-call block says its call's screened arguments
            placed = [self._kept(b, m, update) if _block_type(b) in CALL_BLOCKS else b for b in blocks]
            update["content"] = [b for b in placed if b is not None]
        elif fields["content"] != m.content:
            update["content"] = fields["content"]
        if update and PARSED_KWARG in m.additional_kwargs:  # a text changed: the parsed value says the old words
            update["additional_kwargs"] = _without_parsed(update.get("additional_kwargs", m.additional_kwargs))
        if update and _wordless(m.response_metadata) != m.response_metadata:  # so may logprobs, grounding metadata
            update["response_metadata"] = _wordless(m.response_metadata)
        return m.model_copy(update=update) if update else m

    @staticmethod
    def _kept(block: Mapping[str, Any], m: BaseMessage, update: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """A block of a changed answer as it is kept: a document kept for its payload (a PDF) without its words (they
        went into the text); a tool-call block of one of the message's tool calls with that call's screened arguments
        (None, dropped, when none has its id: it would say the arguments as they were before they were screened)."""
        if _block_type(block) in CALL_BLOCKS and _in_calls(block, _call_keys(m)):
            calls = [
                *update.get("tool_calls", getattr(m, "tool_calls", [])),
                *update.get("invalid_tool_calls", getattr(m, "invalid_tool_calls", [])),
            ]
            return _with_arguments(block, calls)
        found = block_words(block)
        return _without(block, [w for w, _ in found]) if found else block

    def calls_update(self, m: AIMessage, path: Path) -> dict[str, Any]:
        """Changed tool-call fields of ``m``: parsed calls (each str argument), then the raw JSON forms."""
        update: dict[str, Any] = {}
        replaced: dict[str, str] = {}  # call id -> new raw arguments, for the raw forms of the same call
        calls = []
        for i, c in enumerate(m.tool_calls):
            base = (*path, "tool_calls", i, "args")
            args = self.value(c["args"], base, (c["name"], len(base)))
            calls.append({**c, "args": args})
            if args != c["args"] and c.get("id"):
                replaced[str(c["id"])] = json.dumps(args, ensure_ascii=False)
        invalid = []
        for i, ic in enumerate(m.invalid_tool_calls):
            raw = ic.get("args")
            if isinstance(raw, str):
                new = self.visit((*path, "invalid_tool_calls", i), f"{ic.get('name') or 'tool'} arguments: ", raw)
                if new != raw and ic.get("id"):
                    replaced[str(ic["id"])] = new
                ic = {**ic, "args": new}
            invalid.append(ic)
        known = {str(c["id"]) for c in [*m.tool_calls, *m.invalid_tool_calls] if c.get("id")}

        def raw_args(where: Path, call_id: Any, name: Any, raw: str) -> str:
            if call_id is not None and str(call_id) in known:
                return replaced.get(str(call_id), raw)
            return self.visit(where, f"{name or 'tool'} arguments: ", raw)

        if calls != m.tool_calls:
            update["tool_calls"] = calls
        if invalid != m.invalid_tool_calls:
            update["invalid_tool_calls"] = invalid
        if isinstance(m, AIMessageChunk):
            chunks = []
            for i, tc in enumerate(m.tool_call_chunks):
                raw = tc.get("args")
                if isinstance(raw, str):
                    tc = {**tc, "args": raw_args((*path, "tool_call_chunks", i), tc.get("id"), tc.get("name"), raw)}
                chunks.append(tc)
            if chunks != m.tool_call_chunks:
                update["tool_call_chunks"] = chunks
        kwargs = dict(m.additional_kwargs)
        raw_calls = kwargs.get("tool_calls")
        if isinstance(raw_calls, list):  # OpenAI format: {"id", "function": {"name", "arguments"}}
            new_calls = []
            for i, rc in enumerate(raw_calls):
                fn = rc.get("function") if isinstance(rc, Mapping) else None
                if isinstance(fn, Mapping) and isinstance(fn.get("arguments"), str):
                    where = (*path, "additional_kwargs", "tool_calls", i)
                    args = raw_args(where, rc.get("id"), fn.get("name"), fn["arguments"])
                    rc = {**rc, "function": {**fn, "arguments": args}}
                new_calls.append(rc)
            kwargs["tool_calls"] = new_calls
        fc = kwargs.get("function_call")
        if isinstance(fc, Mapping) and isinstance(fc.get("arguments"), str):
            where = (*path, "additional_kwargs", "function_call")
            kwargs["function_call"] = {**fc, "arguments": raw_args(where, None, fc.get("name"), fc["arguments"])}
        if kwargs != m.additional_kwargs:
            update["additional_kwargs"] = kwargs
        return update
