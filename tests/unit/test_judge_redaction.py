"""A detector that sends text off the machine (the LLM judge) sees only redacted text.

The real Presidio detector redacts; the judge is a LangChain fake chat model that records every prompt
it is sent, so each test can say exactly what would have left the machine.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import Field

from guardrails import Action, Guard
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.detectors.llm_judge import LLMJudgeDetector
from guardrails.detectors.pii import PIIDetector
from guardrails.profiles import DetectorSpec, validate_profile_mapping
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Decision, Finding

NAME, EMAIL, PHONE = "Oksana Kowalczyk", "oksana.k@example.com", "+44 20 7946 0958"
TEXT = f"Hi, I'm {NAME}, mail {EMAIL} or call {PHONE}. Is it safe to mix bleach and vinegar?"
EARLIER = "My colleague Marek Nowak (marek.nowak@example.org) said it was fine."
RAW_VALUES = (NAME, EMAIL, PHONE, "Marek Nowak", "marek.nowak@example.org")
SAFE = '{"safe": true, "categories": []}'
#: the time limit of the late PII detector, which cannot answer before the test has its decision
LIMIT_S = 0.05


class RecordingJudgeModel(FakeListChatModel):
    """A fake chat model that keeps every prompt it is sent (sync and async)."""

    responses: list[str] = Field(default_factory=lambda: [SAFE])
    sent: list[str] = Field(default_factory=list)

    def invoke(self, input: Any, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(str(input))
        return super().invoke(input, *args, **kwargs)

    async def ainvoke(self, input: Any, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(str(input))
        return await super().ainvoke(input, *args, **kwargs)


class HangingJudgeModel(RecordingJudgeModel):
    """Records the prompt, then gives no reply until the test releases it."""

    release: ClassVar[threading.Event] = threading.Event()

    def invoke(self, input: Any, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(str(input))
        self.release.wait(30)
        return FakeListChatModel.invoke(self, input, *args, **kwargs)

    async def ainvoke(self, input: Any, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(str(input))
        await asyncio.sleep(30)
        return await FakeListChatModel.ainvoke(self, input, *args, **kwargs)


@pytest.fixture(scope="module")
def pii() -> PIIDetector:
    detector = PIIDetector()
    detector.warmup()
    return detector


class LatePIIDetector(PIIDetector):
    """The real PII detector, held back after its warm-up until the test releases it: its time limit
    always passes first.

    (A limit shorter than any Presidio call is not enough: a worker that gets the interpreter first can
    finish before the waiting caller even starts its clock.)
    """

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self._release = release
        self._held = False

    def warmup(self) -> None:  # the guard warms a time-limited detector up (again) before its clock starts
        self._held = False
        super().warmup()
        self._held = True

    def detect_batch(self, texts: Sequence[str], ctxs: Sequence[DetectContext]) -> list[list[Finding]]:
        if self._held:
            self._release.wait(30)
        return super().detect_batch(texts, ctxs)


@pytest.fixture
def late_pii(pii: PIIDetector) -> Iterator[PIIDetector]:
    release = threading.Event()
    detector = LatePIIDetector(release)
    detector.warmup()
    yield detector
    release.set()  # the abandoned calls finish on their worker threads


def judged_guard(
    pii: BaseDetector,
    model: FakeListChatModel,
    *,
    pii_spec: DetectorSpec | None = None,
    judge_spec: DetectorSpec | None = None,
) -> Guard:
    """The real PII detector and the LLM judge, with per-detector on_error and time limits."""
    profile = validate_profile_mapping({"name": "judged", "extends": "general"}).model_copy(
        update={"detectors": {"pii": pii_spec or DetectorSpec(), "llm_judge": judge_spec or DetectorSpec()}}
    )
    return Guard(profile, detectors={"pii": pii, "llm_judge": LLMJudgeDetector(model=model)})


Run = Callable[..., Decision]


def _check(guard: Guard, text: str, **kwargs: Any) -> Decision:
    return guard.check(text, **kwargs)


def _acheck(guard: Guard, text: str, **kwargs: Any) -> Decision:
    return asyncio.run(guard.acheck(text, **kwargs))


def _check_batch(guard: Guard, text: str) -> Decision:
    return guard.check_batch([text, "How do I bake bread?"])[0]


def _acheck_batch(guard: Guard, text: str) -> Decision:
    return asyncio.run(guard.acheck_batch([text, "How do I bake bread?"]))[0]


EVERY_ENTRY = [
    pytest.param(_check, id="check"),
    pytest.param(_acheck, id="acheck"),
    pytest.param(_check_batch, id="check_batch"),
    pytest.param(_acheck_batch, id="acheck_batch"),
]


def leaked(prompts: list[str]) -> list[str]:
    return [value for value in RAW_VALUES if any(value in p for p in prompts)]


@pytest.mark.parametrize("run", EVERY_ENTRY)
def test_the_judge_is_sent_the_text_redacted_exactly_as_the_decision_never_the_raw_values(
    pii: PIIDetector, run: Run
) -> None:
    model = RecordingJudgeModel()
    decision = run(judged_guard(pii, model), TEXT)
    assert decision.action is Action.REDACT and "<EMAIL_ADDRESS_1>" in decision.text
    assert leaked(model.sent) == []
    assert len(model.sent) >= 1 and f"User: {decision.text}\n" in model.sent[0]


SYNC_AND_ASYNC = [pytest.param(_check, id="check"), pytest.param(_acheck, id="acheck")]


@pytest.mark.parametrize("run", SYNC_AND_ASYNC)
def test_earlier_turns_reach_the_judge_redacted_with_the_conversations_placeholders(pii: PIIDetector, run: Run) -> None:
    model = RecordingJudgeModel()
    guard = judged_guard(pii, model)
    history = [EARLIER, f"Write to me at {EMAIL} please."]
    decision = run(guard, TEXT, history=history, conversation_id="conv-7")
    (prompt,) = model.sent
    assert leaked(model.sent) == []
    assert "User (earlier turn): My colleague <PERSON_" in prompt
    # the email of the latest turn and of an earlier one is the same value: one placeholder, as the chain's model sees
    assert "User (earlier turn): Write to me at <EMAIL_ADDRESS_1> please." in prompt
    assert guard.redact(history[1], conversation_id="conv-7") == "Write to me at <EMAIL_ADDRESS_1> please."
    assert "<EMAIL_ADDRESS_1>" in decision.text


@pytest.mark.parametrize("run", EVERY_ENTRY)
def test_a_pii_failure_that_blocks_fails_the_turn_closed_and_the_judge_is_never_called(
    late_pii: PIIDetector, run: Run
) -> None:
    model = RecordingJudgeModel()
    guard = judged_guard(late_pii, model, pii_spec=DetectorSpec(on_error="block", timeout_s=LIMIT_S))
    decision = run(guard, TEXT)
    assert decision.action is Action.BLOCK
    assert model.sent == []
    failed = {f.detector: f for f in decision.failures}
    assert failed["pii"].error == "DetectorTimeout"
    assert "not run: pii failed" in failed["llm_judge"].message


@pytest.mark.parametrize(
    ("judge_on_error", "action"),
    [pytest.param("allow", Action.ALLOW, id="judge-allowed"), pytest.param("block", Action.BLOCK, id="judge-blocks")],
)
@pytest.mark.parametrize("run", SYNC_AND_ASYNC)
def test_a_pii_failure_that_is_allowed_still_keeps_the_raw_text_from_the_judge_whose_on_error_decides(
    late_pii: PIIDetector, run: Run, judge_on_error: Any, action: Action
) -> None:
    model = RecordingJudgeModel()
    guard = judged_guard(
        late_pii,
        model,
        pii_spec=DetectorSpec(on_error="allow", timeout_s=LIMIT_S),
        judge_spec=DetectorSpec(on_error=judge_on_error),
    )
    decision = run(guard, TEXT)
    assert model.sent == []
    assert decision.action is action
    assert [(f.detector, f.error) for f in decision.failures] == [
        ("pii", "DetectorTimeout"),
        ("llm_judge", "DetectorError"),
    ]


def test_earlier_turns_are_redacted_only_when_a_detector_needs_redacted_text() -> None:
    history = ["ask Jane Roe", "and Jane Roe again"]
    without = KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"})
    guard_with(without).check("tell Jane Roe hello", history=history)
    assert without.calls == 1  # the text only: no second pass, no history redaction

    model = RecordingJudgeModel()
    keyword = KeywordDetector({"grenade": "weapons"}, entities={"Jane Roe": "PERSON"})
    guard_with(keyword, LLMJudgeDetector(model=model)).check("tell Jane Roe hello", history=history)
    assert keyword.calls == 1 + len(history)
    assert "Jane Roe" not in model.sent[0] and "User (earlier turn): ask <PERSON_1>" in model.sent[0]


class OffSite(BaseDetector):
    """A detector that would send its text away: records what it got, answers with spans into it."""

    name: ClassVar[str] = "offsite"
    categories = ("weapons",)
    needs_redacted_text: ClassVar[bool] = True

    def __init__(self) -> None:
        self.seen: list[tuple[str, DetectContext]] = []

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        self.seen.append((text, ctx))
        return [
            Finding(self.name, "weapons", 0.99, 0, 4, label="offsite"),
            Finding(self.name, None, 0.99, 0, 4, label="PERSON"),  # offsets into the redacted text
        ]


@pytest.mark.parametrize("run", EVERY_ENTRY)
def test_a_second_pass_detector_sees_only_redacted_text_and_its_spans_never_touch_the_checked_text(
    pii: PIIDetector, run: Run
) -> None:
    offsite = OffSite()
    profile = validate_profile_mapping({"name": "offsite", "extends": "general"}).model_copy(update={"detectors": {}})
    guard = Guard(profile, detectors={"pii": pii, "offsite": offsite})
    decision = run(guard, f"Mail {EMAIL} now")
    assert decision.text == "Mail <EMAIL_ADDRESS_1> now"  # only Presidio's span was redacted
    text, ctx = offsite.seen[0]
    assert text == decision.text and ctx.views[0] == ("raw", decision.text)
    assert all(EMAIL not in view for _, view in ctx.views) and ctx.cache == {}
    assert decision.categories == ("weapons",)
    assert all(f.start is None and f.end is None for f in decision.findings if f.detector == "offsite")


@pytest.mark.parametrize("run", SYNC_AND_ASYNC)
def test_a_judge_past_its_time_limit_fails_under_its_on_error_having_been_sent_only_redacted_text(
    pii: PIIDetector, run: Run
) -> None:
    HangingJudgeModel.release.clear()
    model = HangingJudgeModel()
    guard = judged_guard(pii, model, judge_spec=DetectorSpec(on_error="block", timeout_s=0.3))
    try:
        decision = run(guard, TEXT)
    finally:
        HangingJudgeModel.release.set()
    assert decision.action is Action.BLOCK
    assert [(f.detector, f.error) for f in decision.failures] == [("llm_judge", "DetectorTimeout")]
    assert "<EMAIL_ADDRESS_1>" in decision.text  # the first pass's redaction stands
    assert len(model.sent) == 1 and leaked(model.sent) == []


def test_a_detector_may_not_both_redact_and_need_redacted_text() -> None:
    class Confused(KeywordDetector):
        name: ClassVar[str] = "confused"
        needs_redacted_text: ClassVar[bool] = True

    with pytest.raises(TypeError, match="both redacts and needs_redacted_text"):
        guard_with(Confused({}, entities={"Jane Roe": "PERSON"}))


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_streamed_answer_reaches_the_judge_whole_and_redacted_never_a_window_cutting_a_value(
    pii: PIIDetector, mode: str
) -> None:
    from tests.helpers.spy import chunked_model

    model = RecordingJudgeModel()
    filler = "Here is some general advice about staying organised at work and at home. " * 4
    answer = f"{filler}You can write to {EMAIL} for the details, or ask {NAME} in person."
    chain = judged_guard(pii, model).wrap(chunked_model([answer[i : i + 5] for i in range(0, len(answer), 5)]))

    async def astream() -> list[Any]:
        return [c async for c in chain.astream("hi")]

    chunks = list(chain.stream("hi")) if mode == "stream" else asyncio.run(astream())
    shown = "".join(str(getattr(c, "content", c)) for c in chunks)
    outputs = [p for p in model.sent if filler[:40] in p]
    assert len(outputs) == 1  # the answer is judged once, whole
    assert EMAIL[:10] not in outputs[0] and NAME.split()[0] not in outputs[0]  # not even a fragment of a value
    assert "<EMAIL_ADDRESS_1>" in outputs[0]
    assert EMAIL not in shown and "You can write to" in shown
