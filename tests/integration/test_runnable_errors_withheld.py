"""Errors the wrapper raises carry none of the user's text and none of the model's unscreened answer: a parser's
error quotes the answer it could not parse, and an error chained to another (``__context__``) keeps that one's
message, so both are raised clean."""

from __future__ import annotations

import asyncio
import base64
import itertools
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import JsonOutputParser

from guardrails import InputError
from guardrails.testing import KeywordDetector, guard_with

ANSWER = "Here is where to buy a grenade, ask Jane Roe at 555-0100."


class ErrorSpy(BaseCallbackHandler):
    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(error)


def everything_in(error: BaseException) -> str:
    """All an error carries that a caller or a log could read: its message, args, fields and the errors chained."""
    seen = [repr(error), repr(error.args), repr(vars(error))]
    for chained in (error.__cause__, error.__context__):
        if chained is not None:
            seen.append(everything_in(chained))
    return " ".join(seen)


def parsed_chain() -> Any:
    model = GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=ANSWER)]))
    guard = guard_with(KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"}))
    return guard.wrap(model | JsonOutputParser())


@pytest.mark.parametrize("path", ["invoke", "ainvoke", "stream", "astream", "batch"])
def test_a_parse_error_is_raised_as_its_type_without_the_unscreened_answer(path: str) -> None:
    chain, spy = parsed_chain(), ErrorSpy()
    config: Any = {"callbacks": [spy]}

    async def astream() -> list[Any]:
        return [c async for c in chain.astream("hi", config)]

    run = {
        "invoke": lambda: chain.invoke("hi", config),
        "ainvoke": lambda: asyncio.run(chain.ainvoke("hi", config)),
        "stream": lambda: list(chain.stream("hi", config)),
        "astream": lambda: asyncio.run(astream()),
        "batch": lambda: chain.batch(["hi"], config),
    }[path]
    with pytest.raises(OutputParserException) as info:
        run()
    assert info.value.llm_output is None and "could not be parsed" in str(info.value)
    wrapper_errors = [e for e in spy.errors if "could not be parsed" in str(e)]
    assert wrapper_errors  # the wrapper's own run records the clean error
    for error in [info.value, *wrapper_errors]:
        assert "grenade" not in everything_in(error) and "Jane Roe" not in everything_in(error)


@pytest.mark.parametrize(
    "bad_input",
    [
        [("human", "I am Jane Roe, call 555-0100"), ("bogusrole", "Jane Roe again")],
        [{"role": "human", "content": "hi"}, {"nope": "Jane Roe 555-0100"}],
        [
            HumanMessage(
                content=[
                    {"type": "text", "text": "read this"},
                    {
                        "type": "file",
                        "mime_type": "text/plain",
                        "base64": base64.b64encode(b"My name is Jane Roe, 555-0100 \xff").decode(),
                    },
                ]
            )
        ],
    ],
    ids=["unknown-role", "no-role-key", "undecodable-attachment"],
)
def test_an_input_error_has_no_chained_error_that_quotes_the_input(bad_input: Any) -> None:
    guard = guard_with(KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"}))
    chain = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content="never")])))
    with pytest.raises(InputError) as info:
        chain.invoke(bad_input)
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert "Jane Roe" not in everything_in(info.value) and "555-0100" not in everything_in(info.value)
