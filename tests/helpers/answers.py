"""What the tests of answer shapes share: a keyword guard, a model that answers one message, a fake model that
streams given chunks, and a dump of messages without the guard's metadata."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import RunnableLambda

from guardrails import Guard
from guardrails.testing import KeywordDetector, guard_with

REFUSAL = "can't help"
REFUSED_ANSWER = "[An earlier answer, refused under the usage policy, is withheld.]"


def guard() -> Guard:
    """Refuses "grenade" (weapons); finds "Jane Roe" (a person) and "555-0100" (a phone number)."""
    return guard_with(
        KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON", "555-0100": "PHONE_NUMBER"}),
    )


def answering(message: AIMessage) -> RunnableLambda[Any, AIMessage]:
    return RunnableLambda(lambda _: message)


def dumped(value: Any) -> str:
    """Everything of a message except the guard's metadata (whose findings name the keyword matched)."""
    messages = value if isinstance(value, list) else [value]
    return json.dumps([m.model_dump(exclude={"response_metadata"}) for m in messages], default=str)


class StreamedChatModel(GenericFakeChatModel):
    """A fake chat model whose stream yields exactly ``chunks``."""

    chunks: list[AIMessageChunk]

    def _stream(self, messages: Any, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for chunk in self.chunks:
            yield ChatGenerationChunk(message=chunk)


def streamed(*chunks: AIMessageChunk) -> StreamedChatModel:
    return StreamedChatModel(messages=iter([AIMessage(content="unused")]), chunks=list(chunks))


def streamed_text(chunks: list[Any]) -> str:
    return "".join(c.content for c in chunks if isinstance(c.content, str))
