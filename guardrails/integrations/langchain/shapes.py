"""Chain inputs and outputs: find the user's text, rewrite it, and build answers.

Inputs accepted: ``str``; a list of messages (or message-like tuples/dicts) whose
content is a str or a list of content blocks (non-text blocks pass through untouched);
a dict whose ``messages``/``input``/``question`` key (configurable) holds either; a
PromptValue. Outputs mirror what the wrapped runnable returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)
from langchain_core.prompt_values import ChatPromptValue, PromptValue, StringPromptValue

from guardrails.errors import InputError

DEFAULT_INPUT_KEYS = ("messages", "input", "question")
Rewrite = Callable[[str], str]


@dataclass(frozen=True)
class Turns:
    """The user text to judge: the latest user turn and earlier user turns (oldest first)."""

    latest: str
    history: tuple[str, ...]
    has_user_turn: bool


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping) and block.get("type") == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "\n".join(parts)
    return ""


def _rewrite_content(content: Any, fn: Rewrite) -> Any:
    if isinstance(content, str):
        return fn(content)
    if isinstance(content, list):
        out: list[Any] = []
        for block in content:
            if isinstance(block, str):
                out.append(fn(block))
            elif isinstance(block, Mapping) and block.get("type") == "text" and isinstance(block.get("text"), str):
                out.append({**block, "text": fn(block["text"])})
            else:
                out.append(block)
        return out
    return content


def _rewrite_json(value: Any, fn: Rewrite) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_rewrite_json(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _rewrite_json(v, fn) for k, v in value.items()}
    return value


def _as_messages(value: Any) -> list[BaseMessage] | None:
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        try:
            return convert_to_messages(value)
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise InputError(f"cannot read the chain input as messages: {exc}") from None
    return None


def _pick_key(data: Mapping[str, Any], keys: Sequence[str]) -> str:
    for key in keys:
        if key in data:
            return key
    raise InputError(f"the chain input dict has none of the keys {list(keys)}; set input_keys= on wrap()")


def extract_turns(value: Any, *, input_keys: Sequence[str] = DEFAULT_INPUT_KEYS) -> Turns:
    """The user text the guard must judge, from any supported input shape."""
    if isinstance(value, str):
        return Turns(latest=value, history=(), has_user_turn=True)
    if isinstance(value, StringPromptValue):
        return Turns(latest=value.text, history=(), has_user_turn=True)
    if isinstance(value, Mapping):
        return extract_turns(value[_pick_key(value, input_keys)], input_keys=input_keys)
    messages = _as_messages(value)
    if messages is None:
        raise InputError(
            f"unsupported chain input type {type(value).__name__}; expected str, messages, dict or PromptValue"
        )
    users = [content_text(m.content) for m in messages if isinstance(m, HumanMessage)]
    if users:
        return Turns(latest=users[-1], history=tuple(users[:-1]), has_user_turn=True)
    # no user turn: judge what the chain would read (tool results, other non-system text)
    others = [content_text(m.content) for m in messages if not isinstance(m, (SystemMessage, AIMessage))]
    return Turns(latest="\n".join(t for t in others if t), history=(), has_user_turn=False)


def rewrite_input(
    value: Any,
    fn: Rewrite,
    *,
    input_keys: Sequence[str] = DEFAULT_INPUT_KEYS,
    system_instruction: str | None = None,
) -> Any:
    """The same input with every user turn, tool result and tool-call argument passed through ``fn``.

    ``system_instruction`` (for ``crisis_mode: refer_and_continue``) is added as a leading
    system message; a str input becomes a message list for that.
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
        key = _pick_key(value, input_keys)
        return {
            **value,
            key: rewrite_input(value[key], fn, input_keys=input_keys, system_instruction=system_instruction),
        }
    messages = _as_messages(value)
    if messages is None:
        raise InputError(f"unsupported chain input type {type(value).__name__}")
    out: list[BaseMessage] = [SystemMessage(content=system_instruction)] if system_instruction else []
    for m in messages:
        if isinstance(m, (HumanMessage, ToolMessage)):
            out.append(m.model_copy(update={"content": _rewrite_content(m.content, fn)}))
        elif isinstance(m, AIMessage) and m.tool_calls:
            calls = [{**c, "args": _rewrite_json(c["args"], fn)} for c in m.tool_calls]
            out.append(m.model_copy(update={"tool_calls": calls}))
        else:
            out.append(m)
    if isinstance(value, PromptValue):
        return ChatPromptValue(messages=out)
    return out


# ---------------------------------------------------------------------- outputs
OUTPUT_KINDS = ("auto", "message", "str", "dict")


def infer_output_kind(runnable: Any) -> str:
    """What the wrapped runnable returns: ``message`` (default), ``str`` or ``dict``."""
    try:
        out_type = runnable.OutputType
    except Exception:
        return "message"
    if out_type is str:
        return "str"
    if out_type is dict or getattr(out_type, "__origin__", None) is dict:
        return "dict"
    return "message"


def output_text(output: Any, *, output_key: str) -> str | None:
    """The answer text inside an output, or None when it carries none we can screen."""
    if isinstance(output, BaseMessage):
        return content_text(output.content)
    if isinstance(output, str):
        return output
    if isinstance(output, Mapping):
        value = output.get(output_key)
        if isinstance(value, (str, BaseMessage)):
            return output_text(value, output_key=output_key)
    return None


def tool_call_text(output: Any) -> str:
    """Tool-call arguments of an AI message, as text to screen (empty when none)."""
    if isinstance(output, AIMessage) and output.tool_calls:
        return "\n".join(json.dumps(c.get("args", {}), ensure_ascii=False) for c in output.tool_calls)
    return ""


def replace_output_text(output: Any, text: str, *, output_key: str, metadata: Mapping[str, Any]) -> Any:
    """The same output with its answer text replaced and the guard's metadata attached."""
    if isinstance(output, BaseMessage):
        meta = {**output.response_metadata, "guardrails": dict(metadata)}
        return output.model_copy(update={"content": text, "response_metadata": meta})
    if isinstance(output, str):
        return text
    if isinstance(output, Mapping):
        value = output.get(output_key)
        new_value = replace_output_text(value, text, output_key=output_key, metadata=metadata)
        return {**output, output_key: new_value, "guardrails": dict(metadata)}
    return output


def make_output(kind: str, text: str, *, output_key: str, metadata: Mapping[str, Any], chunk: bool = False) -> Any:
    """An answer of the given kind that the guard wrote itself (refusal, referral)."""
    if kind == "str":
        return text
    if kind == "dict":
        return {output_key: text, "guardrails": dict(metadata)}
    cls = AIMessageChunk if chunk else AIMessage
    return cls(content=text, response_metadata={"guardrails": dict(metadata)})


def chunk_like(sample: Any, text: str) -> Any:
    """A streamed chunk of the same kind as ``sample`` carrying ``text``."""
    if isinstance(sample, AIMessageChunk):
        return AIMessageChunk(content=text, id=sample.id)
    if isinstance(sample, BaseMessage):
        return AIMessageChunk(content=text)
    if isinstance(sample, Mapping):
        return {k: (text if isinstance(v, str) else v) for k, v in sample.items()}
    return text
