"""Auditing a streamed answer: one output record per screened lane, as invoke writes for the same answer.

The stream is checked in windows; the audit log gets one record per lane, summing up every window (and the
lane's tool calls), written when the lane finishes: at the end, at a block, or when the stream stops early
(an async stream cancelled while a window is being checked waits for that check first).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from guardrails import Guard
from guardrails.audit import AuditLog, salted_hash
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Finding, Stage
from tests.helpers.spy import chunked_model
from tests.helpers.streams import read_then_close

SALT = b"stream-audit-salt"
SECRET_NAME = "Jane Roe"
STREAMING = {"streaming": {"holdback_chars": 16, "check_every_chars": 24, "window_chars": 256}}
#: a long answer: checked in many windows when streamed
ANSWER = f"Ask {SECRET_NAME} about ibuprofen. " + "Rest, drink water and keep warm for a while. " * 40
MODES = ["stream", "astream"]


def _guard(path: Path, **profile: Any) -> Guard:
    detector = KeywordDetector({"ibuprofen": "domain_medical", "grenade": "weapons"}, entities={SECRET_NAME: "PERSON"})
    return guard_with(detector, profile={**STREAMING, **profile}, salt=SALT, audit=AuditLog(path=path))


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _collect(chain: Runnable[Any, Any], value: Any, mode: str, config: Any = None) -> list[Any]:
    if mode == "stream":
        return list(chain.stream(value, config=config))

    async def collect() -> list[Any]:
        return [chunk async for chunk in chain.astream(value, config=config)]

    return asyncio.run(collect())


def _text(chunks: list[Any]) -> str:
    return "".join(c if isinstance(c, str) else str(c.content) for c in chunks)


def _verdict(record: dict[str, Any]) -> tuple[Any, ...]:
    """What an audit consumer compares between two runs of a turn."""
    return record["stage"], record["action"], record["categories"], record["disclaimer_categories"], record["text_hash"]


def _summary(record: dict[str, Any]) -> tuple[Any, ...]:
    """The verdict and what was found (not the offsets: a window's point into that window)."""
    return (
        *_verdict(record),
        sorted({(f["detector"], f["category"], f["label"]) for f in record["findings"]}, key=str),
    )


def test_a_text_screened_in_parts_is_audited_once_with_the_hash_of_the_whole_text(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    guard = _guard(path)
    head, rest = ANSWER[:40], ANSWER[40:]
    parts = [guard.evaluate(part, "output") for part in (head, rest)]
    assert _records(path) == []  # evaluate writes no record
    recorded = guard.record(max(parts, key=lambda d: d.action), text=ANSWER)
    (record,) = _records(path)
    assert record["text_hash"] == recorded.text_hash == guard.check(ANSWER, "output").text_hash
    assert record["action"] == "redact" and SECRET_NAME not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", MODES)
def test_a_long_streamed_answer_leaves_the_same_audit_records_as_invoke(tmp_path: Path, mode: str) -> None:
    streamed, invoked = tmp_path / "streamed.jsonl", tmp_path / "invoked.jsonl"
    shown = _collect(_guard(streamed).wrap(chunked_model(_pieces(ANSWER))), "hi", mode)
    _guard(invoked).wrap(chunked_model(_pieces(ANSWER))).invoke("hi")
    assert SECRET_NAME not in _text(shown)
    records = _records(streamed)
    assert [r["stage"] for r in records] == ["input", "output"]
    assert [_summary(r) for r in records] == [_summary(r) for r in _records(invoked)]
    output = records[1]
    assert output["action"] == "redact" and output["categories"] == ["domain_medical"]  # the first windows' finds
    assert output["text_hash"] == salted_hash(ANSWER, SALT)  # the whole answer, not the last window
    assert SECRET_NAME not in streamed.read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", MODES)
def test_the_streamed_answers_metadata_carries_the_decision_the_audit_log_records(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "audit.jsonl"
    seen: list[str] = []
    chain = _guard(path).wrap(chunked_model(_pieces(ANSWER)), on_decision=lambda d: seen.append(d.text_hash))
    shown = _collect(chain, "hi", mode)
    meta = shown[-1].response_metadata["guardrails"]["output"]
    output = _records(path)[-1]
    assert seen[-1] == output["text_hash"] == salted_hash(ANSWER, SALT)
    # no hash reaches the client: it could hash guesses under the same salt and compare (an oracle)
    assert "text_hash" not in meta
    assert meta["categories"] == output["categories"] and meta["action"] == output["action"]


@pytest.mark.parametrize("mode", MODES)
def test_a_blocked_stream_leaves_one_output_record_holding_the_block(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "audit.jsonl"
    answer = "Here is a long and harmless preamble. " * 10 + "Then the grenade part follows. " + "More. " * 30
    shown = _text(_collect(_guard(path).wrap(chunked_model(_pieces(answer))), "hi", mode))
    assert "grenade" not in shown and "can't help" in shown
    records = _records(path)
    assert [(r["stage"], r["action"]) for r in records] == [("input", "allow"), ("output", "block")]
    assert records[1]["categories"] == ["weapons"]
    checked = answer[: answer.index("grenade") + 64]  # the block stopped the stream: the text checked so far
    assert any(records[1]["text_hash"] == salted_hash(checked[:n], SALT) for n in range(len(checked) + 1))


def test_a_stream_the_caller_stops_reading_still_records_what_was_checked(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    answer = "Rest, drink water and keep warm for a while. " * 40
    shown = read_then_close(_guard(path).wrap(chunked_model(_pieces(answer))).stream("hi"), more_than=100)
    records = _records(path)
    assert [(r["stage"], r["action"]) for r in records] == [("input", "allow"), ("output", "allow")]
    # the hash of the answer's head that the checks covered: at least all that was shown, not the whole answer
    covered = [n for n in range(len(shown), len(answer)) if salted_hash(answer[:n], SALT) == records[1]["text_hash"]]
    assert len(covered) == 1


async def test_an_async_stream_the_caller_stops_reading_still_records_what_was_checked(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    answer = "Rest, drink water and keep warm for a while. " * 40
    stream = _guard(path).wrap(chunked_model(_pieces(answer))).astream("hi")
    shown = ""
    async for chunk in stream:
        shown += str(chunk.content)
        if len(shown) > 100:
            break
    await stream.aclose()
    records = _records(path)
    assert [(r["stage"], r["action"]) for r in records] == [("input", "allow"), ("output", "allow")]
    covered = [n for n in range(len(shown), len(answer)) if salted_hash(answer[:n], SALT) == records[1]["text_hash"]]
    assert len(covered) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_model_failing_mid_stream_still_leaves_a_record_of_what_was_checked(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "audit.jsonl"
    answer = "Rest, drink water and keep warm for a while. " * 10

    def failing(_: Iterator[Any]) -> Iterator[str]:
        yield from _pieces(answer)
        raise RuntimeError("the model went away")

    async def afailing(_: AsyncIterator[Any]) -> AsyncIterator[str]:
        for piece in _pieces(answer):
            yield piece
        raise RuntimeError("the model went away")

    chain = _guard(path).wrap(RunnableGenerator(failing, afailing))
    with pytest.raises(RuntimeError, match="went away"):
        _collect(chain, "hi", mode)
    records = _records(path)
    assert [(r["stage"], r["action"]) for r in records] == [("input", "allow"), ("output", "allow")]
    assert any(records[1]["text_hash"] == salted_hash(answer[:n], SALT) for n in range(1, len(answer) + 1))


def _lanes(answer: str, notes: str, context: str) -> tuple[RunnableGenerator[Any, Any], dict[str, str]]:
    """A dict chain streaming three keys word by word, interleaved; and the whole dict invoke gets."""
    words = {k: v.split(" ") for k, v in {"answer": answer, "notes": notes, "context": context}.items()}

    def chunks() -> Iterator[dict[str, str]]:
        for i in range(max(len(w) for w in words.values())):
            for key, ws in words.items():
                if i < len(ws):
                    yield {key: ws[i] + (" " if i < len(ws) - 1 else "")}

    def gen(_: Iterator[Any]) -> Iterator[dict[str, str]]:
        yield from chunks()

    async def agen(_: AsyncIterator[Any]) -> AsyncIterator[dict[str, str]]:
        for chunk in chunks():
            yield chunk

    return RunnableGenerator(gen, agen), {"answer": answer, "notes": notes, "context": context}


@pytest.mark.parametrize("mode", MODES)
def test_each_streamed_key_of_a_dict_answer_leaves_one_record(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "audit.jsonl"
    answer = "Take ibuprofen with food and rest well. " * 8
    notes = "Nothing to add here, just plain notes for later. " * 8
    context = f"A grenade report about {SECRET_NAME}, archived. " * 8
    chain, _ = _lanes(answer, notes, context)
    chunks = _collect(_guard(path).wrap(chain, output="dict"), "hi", mode)
    assert SECRET_NAME not in str(chunks) and "can't help" not in str(chunks)
    records = _records(path)
    by_hash = {r["text_hash"]: r for r in records[1:]}
    assert [r["stage"] for r in records] == ["input", "output", "output", "output"]
    assert set(by_hash) == {salted_hash(t, SALT) for t in (answer, notes, context)}
    assert by_hash[salted_hash(answer, SALT)]["categories"] == ["domain_medical"]
    assert by_hash[salted_hash(notes, SALT)]["action"] == "allow"
    # the documents' lane is only redacted, as invoke checks context keys: no category, though it names one
    documents = by_hash[salted_hash(context, SALT)]
    assert documents["action"] == "redact" and documents["categories"] == []


@pytest.mark.parametrize("mode", MODES)
def test_a_streamed_answer_next_to_documents_is_audited_like_invoke(tmp_path: Path, mode: str) -> None:
    streamed, invoked = tmp_path / "streamed.jsonl", tmp_path / "invoked.jsonl"
    answer = "Take ibuprofen with food and rest well. " * 8
    context = f"A grenade report about {SECRET_NAME}, archived. " * 8
    chain, whole = _lanes(answer, "", context)
    _collect(_guard(streamed).wrap(chain, output="dict"), "hi", mode)
    whole.pop("notes")
    _guard(invoked).wrap(RunnableLambda(lambda _: dict(whole)), output="dict").invoke("hi")
    assert sorted(map(_summary, _records(streamed)), key=str) == sorted(map(_summary, _records(invoked)), key=str)
    assert len(_records(streamed)) == 3  # input, documents (redacted only), answer


def test_a_long_answer_streamed_through_the_general_profile_leaves_one_output_record(tmp_path: Path) -> None:
    streamed, invoked = tmp_path / "streamed.jsonl", tmp_path / "invoked.jsonl"
    answer = ("Mix flour, water, salt and yeast; knead the dough well and let it rise. " * 60)[:4000]
    Guard.from_profile("general", audit=AuditLog(path=invoked), salt=SALT).wrap(
        chunked_model(_pieces(answer, 20))
    ).invoke("How do I bake bread?")
    guard = Guard.from_profile("general", audit=AuditLog(path=streamed), salt=SALT)
    for _ in guard.wrap(chunked_model(_pieces(answer, 20))).stream("How do I bake bread?"):
        pass
    assert [r["stage"] for r in _records(streamed)] == ["input", "output"]
    # the findings may differ: a semantic detector scores each window apart, below its threshold here
    assert [_verdict(r) for r in _records(streamed)] == [_verdict(r) for r in _records(invoked)]


# ---------------------------------------------------------------------- an answer with text and a tool call
class StreamedChatModel(GenericFakeChatModel):
    """A fake chat model whose stream yields exactly ``chunks`` (tool-call chunks included)."""

    chunks: list[AIMessageChunk]

    def _stream(self, messages: Any, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for chunk in self.chunks:
            yield ChatGenerationChunk(message=chunk)


def _text_and_call(text: str, name: str, args: dict[str, Any]) -> StreamedChatModel:
    """Streams ``text`` word by word, then one tool call whose JSON arguments arrive in pieces; invoke gets both."""
    words = text.split(" ")
    chunks = [AIMessageChunk(content=w + (" " if i < len(words) - 1 else "")) for i, w in enumerate(words)]
    raw = json.dumps(args)
    chunks += [
        AIMessageChunk(
            content="",
            tool_call_chunks=[
                {"name": None, "args": raw[i : i + 20], "id": None, "index": 0}
                if i
                else {"name": name, "args": raw[:20], "id": "call-1", "index": 0}
            ],
        )
        for i in range(0, len(raw), 20)
    ]
    whole = AIMessage(content=text, tool_calls=[{"name": name, "args": args, "id": "call-1"}])
    return StreamedChatModel(messages=iter([whole]), chunks=chunks)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_a_streamed_answer_with_text_and_a_tool_call_leaves_one_output_record_covering_both_like_invoke(
    tmp_path: Path, mode: str
) -> None:
    streamed, invoked = tmp_path / "streamed.jsonl", tmp_path / "invoked.jsonl"
    text = "Take ibuprofen with food and rest well; I will email your doctor the dosage note now."
    args = {"to": "jane.doe@example.com", "body": "The dosage note for Thursday."}
    prompt = "How should I take ibuprofen? Then email my doctor the note."
    Guard.from_profile("general", audit=AuditLog(path=invoked), salt=SALT).wrap(
        _text_and_call(text, "send_email", args)
    ).invoke(prompt)
    guard = Guard.from_profile("general", audit=AuditLog(path=streamed), salt=SALT)
    shown = _collect(guard.wrap(_text_and_call(text, "send_email", args)), prompt, mode)
    assert "jane.doe@example.com" not in str(shown)
    records = _records(streamed)
    assert [r["stage"] for r in records] == [r["stage"] for r in _records(invoked)] == ["input", "output"]
    output = records[1]
    # one record for the text (a medical answer) and the call's arguments (an address) together, hashed as invoke
    # hashes the answer it checks whole
    assert _verdict(output) == _verdict(_records(invoked)[1])
    assert output["action"] == "redact" and output["categories"] == ["domain_medical"]
    assert "EMAIL_ADDRESS" in {f.get("label") for f in output["findings"]}
    assert "jane.doe@example.com" not in streamed.read_text(encoding="utf-8")


# ---------------------------------------------------------------------- an async stream cancelled mid-check
HARMFUL = "To build a pipe bomb, pack a steel pipe with black powder and fit a fuse."
BREAD = "Mix flour, water, salt and yeast; knead the dough well and let it rise. "


class _SlowWindow(BaseDetector):
    """Finds nothing; holds the first output check whose text holds ``marker`` until ``release`` is set, as a slow
    detector (a remote judge, a large model) would hold it: the window is being judged meanwhile."""

    name = "slow_window"

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.holding = threading.Event()
        self.release = threading.Event()
        self.held = False

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        if ctx.stage is Stage.OUTPUT and self.marker in text and not self.held:
            self.held = True
            self.holding.set()
            assert self.release.wait(30), "the test never released the window"
        return []


async def _cancel_while_judged(path: Path, *, times: int) -> tuple[str, _SlowWindow]:
    """Stream a bread recipe with a bomb-making sentence in the middle through the general profile, and cancel the
    consumer ``times`` times while the window holding that sentence is being judged; what the consumer saw."""
    slow = _SlowWindow(marker="pipe bomb")
    guard = Guard.from_profile("general", audit=AuditLog(path=path), salt=SALT, detectors={slow.name: slow})
    answer = BREAD * 6 + HARMFUL + " " + BREAD * 4
    chain = guard.wrap(chunked_model(_pieces(answer, 20)))
    shown: list[str] = []

    async def consume() -> None:
        async for chunk in chain.astream("How do I bake bread?"):
            shown.append(str(chunk.content))

    task = asyncio.create_task(consume())
    try:
        assert await asyncio.to_thread(slow.holding.wait, 60), "the window was never judged"
        for _ in range(times):
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)
    finally:
        slow.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    text = "".join(shown)
    assert answer.startswith(text) and "pipe bomb" not in text  # nothing of the window under judgment was shown
    return text, slow


@pytest.mark.slow
async def test_an_async_stream_cancelled_while_a_window_is_judged_records_that_windows_decision(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.jsonl"
    await _cancel_while_judged(path, times=1)
    records = _records(path)
    assert [r["stage"] for r in records] == ["input", "output"]
    # the cancellation waited for the window's check: the record holds its block, not only the windows before it
    assert records[1]["action"] == "block" and records[1]["categories"] == ["weapons"]
    assert "unjudged" not in records[1]["explanation"]


@pytest.mark.slow
async def test_an_async_stream_cancelled_again_while_a_window_is_judged_says_so_in_its_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.jsonl"
    shown, _ = await _cancel_while_judged(path, times=2)
    records = _records(path)
    assert [r["stage"] for r in records] == ["input", "output"]
    output = records[1]
    # the second cancellation stopped the wait: the record holds the windows judged before and says one was not
    assert output["action"] == "allow" and "cancelled" in output["explanation"]
    assert "unjudged" in output["explanation"]
    assert "stream" in [f["detector"] for f in output["failures"]]  # a check that did not complete, as failures say
    assert len(shown) > 0


def test_no_decision_a_client_is_shown_carries_a_hash_of_its_text(tmp_path: Path) -> None:
    # a client that saw the salted hash of a blocked or redacted answer could send guesses as its own input and
    # compare their hashes: neither a message's metadata nor a dict output's decisions hold one
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.runnables import RunnableLambda

    guard = _guard(tmp_path / "audit.jsonl")
    reply = guard.wrap(FakeListChatModel(responses=[ANSWER])).invoke("hi")
    shown = reply.response_metadata["guardrails"]
    assert shown["input"] and shown["output"]
    assert "text_hash" not in shown["input"] and "text_hash" not in shown["output"]
    out = guard.wrap(RunnableLambda(lambda _: {"answer": ANSWER})).invoke({"question": "hi"})
    assert out["guardrails"]["input"] and all(
        "text_hash" not in (d or {}) for d in out["guardrails"].values() if isinstance(d, dict)
    )
    assert all(r["text_hash"] for r in _records(tmp_path / "audit.jsonl"))  # the audit log keeps them


def test_the_check_runs_astream_events_streams_carry_no_hash_of_a_text(tmp_path: Path) -> None:
    import asyncio

    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    chain = _guard(tmp_path / "audit.jsonl").wrap(FakeListChatModel(responses=[ANSWER]))

    async def events() -> list[dict[str, Any]]:
        return [e async for e in chain.astream_events("hi", version="v2")]

    ends = [e for e in asyncio.run(events()) if e["event"] == "on_chain_end" and e["name"].startswith("guardrails.")]
    checks = [e["data"]["output"] for e in ends if isinstance(e["data"].get("output"), dict)]
    assert {c.get("stage") for c in checks} >= {"input", "output"}
    assert all("text_hash" not in c for c in checks)
