"""A fake chat model that records every call: proves when the wrapped chain is (not) called."""

from __future__ import annotations

from typing import Any, ClassVar

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk


class SpyChatModel(GenericFakeChatModel):
    """GenericFakeChatModel that appends the messages of each call to ``SpyChatModel.calls``."""

    calls: ClassVar[list[Any]] = []

    def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        type(self).calls.append(messages)
        return super()._generate(messages, *args, **kwargs)

    def _stream(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        type(self).calls.append(messages)
        return super()._stream(messages, *args, **kwargs)


def spy_model(*answers: str) -> SpyChatModel:
    """A fresh spy (its call list emptied) that answers with ``answers`` in turn."""
    SpyChatModel.calls = []
    return SpyChatModel(messages=iter([AIMessage(content=a) for a in answers or ("model answer",)]))


class ChunkedChatModel(GenericFakeChatModel):
    """Streams an answer in exactly the chunks given (``chunks``), for split-boundary tests."""

    chunks: list[str]

    def _stream(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
        from langchain_core.outputs import ChatGenerationChunk

        for piece in self.chunks:
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


def chunked_model(chunks: list[str]) -> ChunkedChatModel:
    """A model whose invoke answers ``"".join(chunks)`` and whose stream yields ``chunks``."""
    return ChunkedChatModel(messages=iter([AIMessage(content="".join(chunks))]), chunks=list(chunks))


def last_contents() -> list[str]:
    """The content of each message the spy model got in its latest call, as text."""
    return [str(m.content) for m in SpyChatModel.calls[-1]]
