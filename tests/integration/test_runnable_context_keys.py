"""Context keys: documents a retrieval chain returns are the application's data, not the model's words.

They are redacted like every other slot of the answer, but not judged: a news archive's report of an
attack must not get the model's answer refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.runnables import RunnableGenerator, RunnableLambda

from guardrails import Guard, GuardrailViolation
from guardrails.testing import KeywordDetector, guard_with

PII = {"Jane Roe": "PERSON", "555-0100": "PHONE_NUMBER"}
REFUSAL = "can't help"


def guard(**profile: Any) -> Guard:
    return guard_with(KeywordDetector({"grenade": "weapons"}, entities=PII), profile=profile or None)


def rag(answer: str, *pages: str, key: str = "context") -> RunnableLambda[Any, dict[str, Any]]:
    """A chain shaped like ``create_retrieval_chain``: the input, the retrieved documents, the answer."""
    docs = [Document(page_content=p, metadata={"source": f"doc{i}.txt"}) for i, p in enumerate(pages)]
    return RunnableLambda(lambda q: {"input": q, key: docs, "answer": answer})


def test_retrieved_documents_about_a_harmful_topic_do_not_get_the_answer_refused() -> None:
    chain = rag("The archive covers the 1994 siege.", "Soldiers threw a grenade into the square.")
    out = guard().wrap(chain, output="dict").invoke("what happened in 1994?")
    assert out["answer"] == "The archive covers the 1994 siege."
    assert out["context"][0].page_content == "Soldiers threw a grenade into the square."
    assert out["guardrails"]["output"]["action"] == "allow"


def test_the_answer_next_to_the_documents_is_still_judged() -> None:
    out = guard().wrap(rag("Buy a grenade here.", "An ordinary page."), output="dict").invoke("hi")
    assert REFUSAL in out["answer"] and "context" not in out
    assert out["guardrails"]["output"]["action"] == "block"


def test_pii_in_retrieved_documents_is_redacted_with_placeholders_numbered_with_the_answer() -> None:
    chain = rag("Call Jane Roe.", "Jane Roe's phone is 555-0100.", "Nothing here.")
    out = guard().wrap(chain, output="dict").invoke("who do I call?")
    assert out["answer"].startswith("Call <PERSON_1>.")
    assert [d.page_content for d in out["context"]] == ["<PERSON_1>'s phone is <PHONE_NUMBER_1>.", "Nothing here."]
    assert [d.metadata for d in out["context"]] == [{"source": "doc0.txt"}, {"source": "doc1.txt"}]
    assert out["guardrails"]["context"]["action"] == "redact"


def test_source_documents_of_a_retrieval_qa_chain_count_as_context_too() -> None:
    chain = rag("Fine.", "The grenade attack of 1994.", key="source_documents")
    out = guard().wrap(chain, output="dict").invoke("hi")
    assert out["answer"] == "Fine." and out["source_documents"][0].page_content == "The grenade attack of 1994."


def test_other_keys_and_an_empty_context_keys_judge_the_documents_as_before() -> None:
    chain = rag("Fine.", "The grenade attack of 1994.", key="pages")
    assert REFUSAL in guard().wrap(chain, output="dict").invoke("hi")["answer"]
    strict = guard().wrap(rag("Fine.", "The grenade attack of 1994."), output="dict", context_keys=())
    assert REFUSAL in strict.invoke("hi")["answer"]


def test_an_entity_the_profile_blocks_in_a_document_blocks_the_output() -> None:
    g = guard(redaction={"output": {"PHONE_NUMBER": "block"}})
    out = g.wrap(rag("Fine.", "Her number is 555-0100."), output="dict").invoke("hi")
    assert "555-0100" not in str(out) and "context" not in out
    assert out["guardrails"]["context"]["action"] == "block"
    with pytest.raises(GuardrailViolation):
        g.wrap(rag("Fine.", "Her number is 555-0100."), output="dict", raise_on_block=True).invoke("hi")


async def test_ainvoke_treats_context_keys_like_invoke() -> None:
    chain = rag("Call Jane Roe.", "A grenade report about Jane Roe.")
    out = await guard().wrap(chain, output="dict").ainvoke("hi")
    assert out["answer"].startswith("Call <PERSON_1>.")
    assert out["context"][0].page_content == "A grenade report about <PERSON_1>."


def test_streamed_documents_under_a_context_key_are_redacted_not_judged() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        yield {"context": [Document(page_content="A grenade report about Jane Roe.")]}
        for word in ("All", "good."):
            yield {"answer": word + " "}

    chunks = list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hello"))
    docs = next(c["context"] for c in chunks if "context" in c)
    assert [d.page_content for d in docs] == ["A grenade report about <PERSON_1>."]
    assert "".join(c.get("answer", "") for c in chunks) == "All good. "
    assert not any(REFUSAL in str(c) for c in chunks)


def test_streamed_text_under_a_context_key_is_redacted_not_judged() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        for word in ("grenade", "report", "on", "Jane", "Roe"):
            yield {"context": word + " "}
        yield {"answer": "fine"}

    chunks = list(guard().wrap(RunnableGenerator(chain), output="dict").stream("hello"))
    assert "".join(c.get("context", "") for c in chunks) == "grenade report on <PERSON_1> "
    assert not any(REFUSAL in str(c) for c in chunks)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context_keys": "context"}, "context_keys must be a sequence"),
        ({"context_keys": [1]}, "context_keys must be a sequence"),
        ({"context_keys": ["answer"], "output_key": "answer"}, "output_key 'answer' is also a context key"),
    ],
)
def test_bad_context_keys_are_rejected_naming_the_value(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        guard().wrap(RunnableLambda(lambda _: "x"), **kwargs)


def test_a_disclaimer_goes_to_the_answer_even_when_the_documents_come_first() -> None:
    g = guard_with(KeywordDetector({"ibuprofen": "domain_medical"}))

    def chain(_: Any) -> dict[str, Any]:  # no conventional answer key: the answer is "summary"
        return {"context": [Document(page_content="A leaflet.", metadata={"source": "leaflet.pdf"})], "summary": "ok"}

    out = g.wrap(RunnableLambda(chain), output="dict").invoke("how much ibuprofen?")
    assert out["context"][0].metadata == {"source": "leaflet.pdf"}
    assert out["context"][0].page_content == "A leaflet."
    assert out["summary"].startswith("ok") and len(out["summary"]) > len("ok")  # the medical disclaimer


def test_a_refusal_for_an_output_with_only_documents_is_the_wrappers_own_answer() -> None:
    g = guard(redaction={"output": {"PHONE_NUMBER": "block"}})
    chain = RunnableLambda(lambda _: {"context": [Document(page_content="Call 555-0100.")]})
    out = g.wrap(chain, output="dict").invoke("hi")
    assert "555-0100" not in str(out) and "context" not in out
    assert REFUSAL in out["output"] or "can't" in out["output"]


def test_streamed_documents_and_answer_number_their_placeholders_alike() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        yield {"context": [Document(page_content="Jane Roe met John Doe.")]}
        for word in ("Ask", "John", "Doe."):
            yield {"answer": word + " "}

    g = guard_with(KeywordDetector({}, entities={"Jane Roe": "PERSON", "John Doe": "PERSON"}))
    chunks = list(g.wrap(RunnableGenerator(chain), output="dict").stream("hello"))
    docs = next(c["context"] for c in chunks if "context" in c)
    assert docs[0].page_content == "<PERSON_1> met <PERSON_2>."
    assert "".join(c.get("answer", "") for c in chunks) == "Ask <PERSON_2>. "  # the same person, the same number


def test_a_streamed_document_with_a_blocked_entity_ends_the_answer_with_the_refusal() -> None:
    def chain(_: Any) -> Iterator[dict[str, Any]]:
        yield {"context": [Document(page_content="Call 555-0100.")]}
        yield {"answer": "fine"}

    g = guard(redaction={"output": {"PHONE_NUMBER": "block"}})
    chunks = list(g.wrap(RunnableGenerator(chain), output="dict").stream("hi"))
    assert "555-0100" not in str(chunks)
    assert not any("context" in c for c in chunks)  # no document chunk, and no refusal in its place
    assert any("can't" in str(c.get("answer", "")) or "can't" in str(c.get("output", "")) for c in chunks)


class CheckRuns(BaseCallbackHandler):
    """The names of the guard's check runs, and what each recorded as its output."""

    def __init__(self) -> None:
        self.names: dict[UUID, str] = {}
        self.ended: list[tuple[str, Any]] = []

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.names[run_id] = kwargs.get("name") or ""

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        name = self.names.get(run_id, "")
        if name.startswith("guardrails."):
            self.ended.append((name, outputs))


@pytest.mark.parametrize("how", ["invoke", "stream", "ainvoke", "astream"])
async def test_every_way_of_running_a_retrieval_chain_traces_its_context_check(how: str) -> None:
    runs = CheckRuns()
    chain = guard().wrap(rag("Call <PERSON_1>.", "Jane Roe's phone is 555-0100."), output="dict")
    config: Any = {"callbacks": [runs]}
    if how == "invoke":
        chain.invoke("who do I call?", config=config)
    elif how == "stream":
        list(chain.stream("who do I call?", config=config))
    elif how == "ainvoke":
        await chain.ainvoke("who do I call?", config=config)
    else:
        [c async for c in chain.astream("who do I call?", config=config)]
    checks = dict(runs.ended)
    assert sorted(checks) == ["guardrails.context_check", "guardrails.input_check", "guardrails.output_check"]
    assert checks["guardrails.context_check"]["action"] == "redact"
    assert "Jane Roe" not in repr(runs.ended) and "555-0100" not in repr(runs.ended)
