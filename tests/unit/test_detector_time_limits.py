"""Time limits (``timeout_s``): a detector that is too slow is a failure under its on_error policy."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest

from guardrails import Action, DetectorTimeout, ProfileError
from guardrails.deadlines import TimeLimit
from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.profiles import validate_profile_mapping
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Finding

#: long enough that no machine, however busy, takes it for the slow detector's answer
NEVER = 60.0


class Stuck(BaseDetector):
    """Blocks every call until the test releases it (a detector caught in a pathological input)."""

    name: ClassVar[str] = "stuck"
    categories = ("weapons",)
    redacts: ClassVar[bool] = True

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = 0
        self.finished = 0
        self._lock = threading.Lock()

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        with self._lock:
            self.started += 1
        self.release.wait(NEVER)
        with self._lock:
            self.finished += 1
        return [Finding(self.name, "weapons", 0.99, label="stuck")]


class SlowToLoad(BaseDetector):
    """Takes a while to load its model, then answers at once."""

    name: ClassVar[str] = "slow_load"
    categories = ("weapons",)

    def __init__(self, load_s: float) -> None:
        self.load_s = load_s
        self.loaded = False

    def warmup(self) -> None:
        if not self.loaded:
            time.sleep(self.load_s)
            self.loaded = True

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        self.warmup()
        return [Finding(self.name, "weapons", 0.99)] if "grenade" in text else []


class NativeAsyncStuck(BaseDetector):
    """Has its own async path (a remote judge, say) that never answers."""

    name: ClassVar[str] = "remote"
    categories = ("weapons",)

    def __init__(self) -> None:
        self.cancelled = False

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        return []

    async def adetect(self, text: str, ctx: DetectContext) -> list[Finding]:
        try:
            await asyncio.sleep(NEVER)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return []


@pytest.fixture
def stuck() -> Iterator[Stuck]:
    det = Stuck()
    yield det
    det.release.set()  # let the left-over worker threads end


def test_a_detector_past_its_time_limit_fails_closed_by_default(stuck: Stuck) -> None:
    guard = guard_with(stuck, KeywordDetector({"zzz": "weapons"}), profile={"detector_timeout_s": 0.2})
    t0 = time.perf_counter()
    d = guard.check("an ordinary question")
    elapsed = time.perf_counter() - t0
    assert d.action is Action.BLOCK
    (failure,) = d.failures
    assert failure.detector == "stuck" and failure.error == "DetectorTimeout"
    assert "0.2 s" in failure.message
    assert elapsed < NEVER / 2  # the check did not wait for the stuck call
    assert stuck.finished == 0


def test_a_detector_past_its_time_limit_is_skipped_when_its_failures_are_allowed(stuck: Stuck) -> None:
    profile = {"detector_timeout_s": 0.2, "on_detector_error": "allow"}
    guard = guard_with(stuck, KeywordDetector({"grenade": "weapons"}), profile=profile)
    assert guard.check("an ordinary question").action is Action.ALLOW
    d = guard.check("where to buy a grenade")
    assert d.action is Action.BLOCK and d.categories == ("weapons",)  # the other detectors still judge
    assert [f.error for f in d.failures] == ["DetectorTimeout"]


def test_a_detector_within_its_limit_answers_as_without_one() -> None:
    limited = guard_with(KeywordDetector({"grenade": "weapons"}), profile={"detector_timeout_s": NEVER})
    free = guard_with(KeywordDetector({"grenade": "weapons"}))
    for text in ["where to buy a grenade", "how do I bake bread"]:
        a, b = limited.check(text), free.check(text)
        assert (a.action, a.categories, a.failures) == (b.action, b.categories, b.failures)


async def test_acheck_times_out_a_detector_that_runs_on_a_thread(stuck: Stuck) -> None:
    guard = guard_with(stuck, profile={"detector_timeout_s": 0.2})
    d = await guard.acheck("an ordinary question")
    assert d.action is Action.BLOCK and [f.error for f in d.failures] == ["DetectorTimeout"]


async def test_acheck_cancels_a_native_async_detector_past_its_limit() -> None:
    remote = NativeAsyncStuck()
    guard = guard_with(remote, profile={"detector_timeout_s": 0.2})
    d = await guard.acheck("an ordinary question")
    assert d.action is Action.BLOCK and [f.error for f in d.failures] == ["DetectorTimeout"]
    assert remote.cancelled


def test_the_clock_starts_after_the_detector_has_loaded_its_model() -> None:
    det = SlowToLoad(load_s=1.0)
    guard = guard_with(det, profile={"detector_timeout_s": 0.3})
    d = guard.check("where to buy a grenade")  # the first call loads for 1 s, longer than the limit
    assert d.failures == () and d.categories == ("weapons",)


def test_a_per_detector_limit_overrides_the_profile_wide_one(stuck: Stuck) -> None:
    profile = validate_profile_mapping(
        {"name": "p", "extends": "general", "detector_timeout_s": 0.2, "detectors": {"pii": {"timeout_s": None}}}
    )
    assert profile.timeout_for("pii") is None
    assert profile.timeout_for("semantic") == 0.2
    assert profile.timeout_for("an_injected_one") == 0.2
    own = validate_profile_mapping({"name": "p", "extends": "general", "detectors": {"pii": {"timeout_s": 5}}})
    assert own.timeout_for("pii") == 5.0 and own.timeout_for("semantic") is None


def test_check_batch_gives_each_text_the_limit(stuck: Stuck) -> None:
    class Steady(BaseDetector):
        """Takes 0.1 s per text: a batch of 6 takes 0.6 s, within 6 x 0.15 s but past 0.15 s."""

        name: ClassVar[str] = "steady"
        categories = ("weapons",)

        def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
            time.sleep(0.1)
            return []

    texts = [f"question {i}" for i in range(6)]
    decisions = guard_with(Steady(), profile={"detector_timeout_s": 1.0}).check_batch(texts)
    assert all(d.failures == () for d in decisions)
    stuck_decisions = guard_with(stuck, profile={"detector_timeout_s": 0.1}).check_batch(texts)
    assert all(d.blocked and [f.error for f in d.failures] == ["DetectorTimeout"] for d in stuck_decisions)


def test_redacting_a_history_turn_with_a_stuck_detector_raises_rather_than_passing_it_on(stuck: Stuck) -> None:
    guard = guard_with(stuck, profile={"detector_timeout_s": 0.2})
    with pytest.raises(DetectorTimeout, match="stuck"):
        guard.redact("my name is someone")


def test_calls_left_running_are_capped_and_the_detector_recovers_once_they_end(stuck: Stuck) -> None:
    limit = TimeLimit("stuck", 0.1, max_running=2, max_waiting=1)
    ctx = DetectContext()
    for _ in range(2):  # two calls time out and keep running (they hold both slots)
        with pytest.raises(DetectorTimeout):
            limit.run(stuck.detect, "text", ctx)
    with pytest.raises(DetectorTimeout):  # waits for a slot, times out while waiting, never starts
        limit.run(stuck.detect, "text", ctx)
    deadline = time.monotonic() + 5
    while stuck.started < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stuck.started == 2  # the waiting call never ran
    stuck.release.set()
    deadline = time.monotonic() + NEVER
    while stuck.finished < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # a freed worker drops the abandoned call, unrun
    assert limit.run(stuck.detect, "text", ctx)[0].category == "weapons"
    assert stuck.started == 3


def test_new_calls_fail_at_once_when_too_many_are_left_over(stuck: Stuck) -> None:
    limit = TimeLimit("stuck", 0.05, max_running=1, max_waiting=0)
    ctx = DetectContext()
    with pytest.raises(DetectorTimeout):
        limit.run(stuck.detect, "text", ctx)
    t0 = time.perf_counter()
    with pytest.raises(DetectorTimeout, match="earlier calls are still running"):
        limit.run(stuck.detect, "text", ctx)
    assert time.perf_counter() - t0 < 0.05 + 1.0  # refused, not waited for (margin for a busy machine)


def test_a_detectors_own_error_passes_through_the_limit_unchanged() -> None:
    class Broken(BaseDetector):
        name: ClassVar[str] = "broken"

        def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
            raise ValueError("bad")

        def detect_batch(self, texts: Sequence[str], ctxs: Sequence[DetectContext]) -> list[list[Finding]]:
            raise ValueError("bad")

    d = guard_with(Broken(), profile={"detector_timeout_s": NEVER}).check("hello")
    assert d.blocked and [f.error for f in d.failures] == ["ValueError"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"detector_timeout_s": 0}, "detector_timeout_s"),
        ({"detector_timeout_s": "soon"}, "detector_timeout_s"),
        ({"detectors": {"pii": {"timeout_s": -1}}}, "detectors.pii.timeout_s"),
        ({"detectors": {"pii": {"timeout_s": "fast"}}}, "detectors.pii.timeout_s"),
        ({"detectors": {"pii": {"timeout_s": True}}}, "detectors.pii.timeout_s"),
        ({"detectors": {"pii": {"timeout_s": 7200}}}, "detectors.pii.timeout_s"),
    ],
)
def test_a_bad_time_limit_is_refused_naming_its_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ProfileError) as err:
        validate_profile_mapping({"name": "p", "extends": "general", **data})
    assert err.value.field == field


def test_concurrent_calls_each_get_a_worker_up_to_max_running() -> None:
    meet = threading.Barrier(3, timeout=5)  # passes only when three calls run at the same time

    def call() -> str:
        meet.wait()
        return "met"

    limit = TimeLimit("together", NEVER, max_running=4)
    assert limit.run(lambda: "warm") == "warm"  # one worker now idles: the next calls must not all queue on it
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(limit.run(call))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(NEVER)
    assert results == ["met", "met", "met"]


async def test_acheck_runs_concurrent_checks_side_by_side() -> None:
    meet = threading.Barrier(3, timeout=5)

    class Meeting(BaseDetector):
        name: ClassVar[str] = "meeting"

        def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
            if text != "warm up":
                meet.wait()
            return []

    guard = guard_with(Meeting(), profile={"detector_timeout_s": NEVER})
    assert (await guard.acheck("warm up")).failures == ()  # leaves one idle worker behind
    decisions = await asyncio.gather(*(guard.acheck(f"text {i}") for i in range(3)))
    assert [d.failures for d in decisions] == [(), (), ()]


async def test_a_call_whose_caller_was_cancelled_never_runs(stuck: Stuck) -> None:
    limit = TimeLimit("stuck", NEVER, max_running=1)
    ran: list[str] = []
    first = asyncio.create_task(limit.arun(stuck.detect, "text", DetectContext()))
    second = asyncio.create_task(limit.arun(lambda: ran.append("second")))
    await asyncio.sleep(0.1)  # the first holds the only worker; the second waits in the queue
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    stuck.release.set()
    await first
    await asyncio.sleep(0.2)  # the worker has moved on past the dropped call
    assert ran == []


def test_idle_workers_end(monkeypatch: pytest.MonkeyPatch) -> None:
    from guardrails import deadlines

    monkeypatch.setattr(deadlines, "IDLE_WORKER_S", 0.05)
    limit = TimeLimit("short_lived", NEVER)
    assert limit.run(lambda: 1) == 1

    def alive() -> int:
        return sum(t.name == "guardrails-short_lived" for t in threading.enumerate())

    deadline = time.monotonic() + 5
    while alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert alive() == 0
    assert limit.run(lambda: 2) == 2  # a new worker starts on demand


def test_redacting_follows_the_detectors_on_error_like_a_check_does(stuck: Stuck) -> None:
    profile = {"detector_timeout_s": 0.2, "on_detector_error": "allow"}
    guard = guard_with(stuck, KeywordDetector({"zzz": "weapons"}, entities={"Jane Roe": "PERSON"}), profile=profile)
    # the stuck detector is skipped, the other one still redacts
    assert guard.redact("ask Jane Roe") == "ask <PERSON_1>"


def test_redacting_never_passes_on_a_detector_error_that_quotes_the_text() -> None:
    class Careless(BaseDetector):
        name: ClassVar[str] = "careless"
        redacts: ClassVar[bool] = True

        def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
            raise RuntimeError(f"could not parse {text}")

    from guardrails import DetectorError

    with pytest.raises(DetectorError) as err:
        guard_with(Careless()).redact("my secret is zebra-canary")
    assert "zebra-canary" not in str(err.value) and "RuntimeError" in str(err.value)
