"""An interactive chatbot under the guard: ``python -m demos.chatbot [--profile P] [--locale L]``.

Type a message; above each reply the guard shows what it decided about your turn and the answer (action,
categories, disclaimers: ids only). The chain is the usual shape of a chat app, a prompt with a history
placeholder and a model, wrapped in one line; the app keeps the conversation as a list of messages and sends it
with each turn, as a web client does (the guard judges the earlier turns with the latest one and withholds a
refused one from the model).

It runs offline: a stand-in model answers by saying back the message it was sent, so you see what a real model
would be sent (names, emails and numbers already redacted). Plug in any LangChain chat model you have installed,
with its API key in the environment as usual:

    python -m demos.chatbot --model langchain_openai:ChatOpenAI --model-kwargs '{"model": "gpt-4o-mini"}'

Commands: ``/reset`` forgets the conversation, ``/quit`` (or end of input) leaves. When standard input is not a
terminal, each line is one turn, so ``printf 'hi\\n' | python -m demos.chatbot`` works too.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, RunnableLambda

from guardrails import Guard
from guardrails.errors import ProfileError

SYSTEM = "You are a helpful assistant."
STAND_IN_PREFIX = "(offline stand-in model) I was sent: "


def stand_in_model(prompt: PromptValue | Sequence[BaseMessage]) -> AIMessage:
    """The offline model: it answers with the latest user message it was sent, as the guard let it through."""
    messages = prompt.to_messages() if isinstance(prompt, PromptValue) else list(prompt)
    latest = next((m for m in reversed(messages) if m.type == "human"), None)
    return AIMessage(content=STAND_IN_PREFIX + (latest.text if latest is not None else ""))


def load_model(spec: str, kwargs: Mapping[str, Any]) -> Runnable[Any, Any]:
    """The chat model ``module:Class`` built with ``kwargs``; ValueError naming ``spec`` when it is none."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--model {spec!r}: expected module:Class, such as langchain_openai:ChatOpenAI")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(
            f"--model {spec!r}: cannot import it ({type(exc).__name__}); is its package installed?"
        ) from exc
    model = factory(**kwargs)
    if not isinstance(model, Runnable):
        raise ValueError(f"--model {spec!r}: built a {type(model).__name__}, not a LangChain chat model")
    return model


def build_bot(guard: Guard, model: Runnable[Any, Any]) -> Runnable[Any, Any]:
    """The chat app, prompt | model, wrapped by the guard: one line."""
    prompt = ChatPromptTemplate.from_messages(
        [("system", SYSTEM), MessagesPlaceholder("history"), ("human", "{question}")]
    )
    return guard.wrap(prompt | model)


def summary(stage: str, decision: Any) -> str:
    """One line of a decision's metadata: its action, categories and disclaimers (ids only, never text)."""
    if not isinstance(decision, Mapping):
        return f"{stage}: -"
    parts = [f"{stage}: {decision.get('action', '?')}"]
    if decision.get("categories"):
        parts.append("categories " + ", ".join(map(str, decision["categories"])))
    if decision.get("disclaimer_categories"):
        parts.append("disclaimers " + ", ".join(map(str, decision["disclaimer_categories"])))
    return " | ".join(parts)


def chat(bot: Runnable[Any, Any], *, locale: str | None, stdin: TextIO, stdout: TextIO) -> None:
    """The loop: one turn per line until /quit or the end of input. The conversation is the app's own list of
    messages: each user turn as typed, each answer as the user got it (a refusal or referral included)."""
    interactive = stdin.isatty()
    history: list[BaseMessage] = []
    conversation = 1
    while True:
        if interactive:
            stdout.write("you> ")
            stdout.flush()
        line = stdin.readline()
        if not line or line.strip() == "/quit":
            return
        text = line.strip()
        if not text:
            continue
        if text == "/reset":
            history, conversation = [], conversation + 1
            stdout.write("[conversation forgotten]\n\n")
            continue
        if not interactive:
            stdout.write(f"you> {text}\n")
        config: Any = {"configurable": {"conversation_id": f"demo-{conversation}", "locale": locale}}
        reply = bot.invoke({"history": history, "question": text}, config=config)
        meta = reply.response_metadata.get("guardrails", {}) if isinstance(reply, BaseMessage) else {}
        stdout.write(f"[guard {summary('input', meta.get('input'))} || {summary('answer', meta.get('output'))}]\n")
        answer = reply.text if isinstance(reply, BaseMessage) else str(reply)
        stdout.write(f"assistant> {answer}\n\n")
        stdout.flush()
        history += [HumanMessage(content=text), AIMessage(content=answer)]


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos.chatbot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="general", help="built-in profile name or YAML path (default: general)")
    parser.add_argument("--locale", default=None, help="the user's locale for crisis resources, e.g. en-GB")
    parser.add_argument("--model", default=None, help="a chat model class, module:Class (default: offline stand-in)")
    parser.add_argument("--model-kwargs", default="{}", help="JSON object of the model's arguments")
    args = parser.parse_args(argv)
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    logging.getLogger("guardrails").setLevel(logging.ERROR)  # decisions are shown per turn; no loading logs
    try:
        kwargs = json.loads(args.model_kwargs)
    except json.JSONDecodeError:
        parser.error("--model-kwargs must be a JSON object")
    if not isinstance(kwargs, dict):
        parser.error("--model-kwargs must be a JSON object")
    try:
        guard = Guard.from_profile(args.profile)
        model = RunnableLambda(stand_in_model) if args.model is None else load_model(args.model, kwargs)
    except (ProfileError, ValueError) as exc:
        parser.error(str(exc))
    bot = build_bot(guard, model)
    which = "offline stand-in model" if args.model is None else args.model
    stdout.write(f"guarded chat: profile {args.profile}, {which}. /reset forgets, /quit leaves.\n\n")
    chat(bot, locale=args.locale, stdin=stdin, stdout=stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
