"""A guard used before a fork works in the forked children (gunicorn --preload, Celery prefork, multiprocessing).

A fork child gets copies of its parent's objects but none of its threads. Each test uses a component in the parent
first (so its threads exist there), forks one child with multiprocessing's "fork" start method and asks the child
to do the same work again; a child that waits on a thread it does not have would never answer, so every answer is
awaited with a time limit and a missing one fails the test.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guardrails import Guard
from guardrails.deadlines import TimeLimit
from guardrails.detectors.base import DetectContext
from tests.helpers.tiny_detoxify import build_tiny_detoxify

#: what the child works with: set by a test before it forks (the child inherits it)
_SHARED: dict[str, Any] = {}

#: ordinary sentences: a long text is read one sentence per window, so 30 distinct ones take the encoder's parallel
#: lanes (8 windows or more; identical windows are embedded once)
_SENTENCES = [
    "How long should I boil an egg for a soft yolk?",
    "What is a good name for a grey kitten?",
    "Can you suggest a three day itinerary for Lisbon?",
    "Which houseplants do well in a dark bathroom?",
    "How do I get candle wax out of a tablecloth?",
    "What are some easy stretches after a long run?",
]


def _in_child(work: Callable[[], Any], seconds: float = 60) -> Any:
    """``work()`` run in a forked child; fails the test if the child gives no answer within ``seconds``."""
    pool = multiprocessing.get_context("fork").Pool(1)
    try:
        return pool.apply_async(work).get(timeout=seconds)
    except multiprocessing.TimeoutError:
        pytest.fail(f"the forked child gave no answer within {seconds:g} s")
    finally:
        pool.terminate()
        pool.join()


def _check_long_text() -> tuple[str, list[str]]:
    decision = _SHARED["guard"].check(_SHARED["text"])
    return decision.action.value, sorted(decision.categories)


def test_a_guard_that_read_a_long_text_before_the_fork_reads_one_in_the_child(tmp_path: Path) -> None:
    profile = tmp_path / "semantic.yaml"
    profile.write_text(
        "extends: general\nname: semantic-only\ndetectors:\n  toxicity: {enabled: false}\n  pii: {enabled: false}\n"
    )
    guard = Guard.from_profile(str(profile))
    text = " ".join(f"{_SENTENCES[k % len(_SENTENCES)][:-1]}, question {k}?" for k in range(30))  # 30 distinct windows
    parent = guard.check(text)
    _SHARED.update(guard=guard, text=text)
    # the child hung here: the encoder's pool of lanes had been copied without its threads
    assert _in_child(_check_long_text) == (parent.action.value, sorted(parent.categories))


def _time_limited_call() -> int:
    limit: TimeLimit = _SHARED["limit"]
    return limit.run(lambda: 42)


def test_a_time_limit_used_before_the_fork_runs_calls_in_the_child() -> None:
    limit = TimeLimit("probe", 5.0)
    assert limit.run(lambda: 1) == 1  # the parent's worker thread now exists (and idles for a while)
    _SHARED["limit"] = limit
    # the child's call waited its whole limit and failed: the worker count was copied, the worker was not
    assert _in_child(_time_limited_call, seconds=30) == 42


def _toxicity_scores() -> dict[str, float]:
    findings = _SHARED["toxicity"].detect(_SHARED["text"], DetectContext())
    return {f.label: f.score for f in findings}


def test_toxicity_scored_on_several_torch_threads_before_the_fork_is_scored_in_the_child(tmp_path: Path) -> None:
    from guardrails.detectors.toxicity import ToxicityDetector, ToxicityOptions
    from guardrails.taxonomy import load_taxonomy

    tiny = build_tiny_detoxify(tmp_path / "tiny")
    options = ToxicityOptions.model_validate({"checkpoint": tiny.checkpoint, "download": False, "torch_threads": 2})
    detector = ToxicityDetector.from_options(options, taxonomy=load_taxonomy())
    text = "a calm sentence about the weather and the garden " * 40
    parent = {f.label: f.score for f in detector.detect(text, DetectContext())}
    _SHARED.update(toxicity=detector, text=text)
    # the child hung in torch's first parallel operation (its thread pool cannot start again after a fork)
    assert _in_child(_toxicity_scores) == pytest.approx(parent)
