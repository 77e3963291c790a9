"""The toxicity detector with the real Detoxify loading and predict code and a tiny checkpoint.

The tiny checkpoint (tests/helpers/tiny_detoxify.py) is a hand-set BERT in Detoxify's format
whose labels fire exactly when a trigger word is present: "zorp" raises toxicity and threat,
"blick" toxicity and sexual_explicit, "quux" toxicity and identity_attack. It reads at most
128 tokens, so windowing is observable.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guardrails.detectors.base import DetectContext
from guardrails.detectors.toxicity import (
    WINDOW_LIMIT_LABEL,
    ToxicityDetector,
    ToxicityOptions,
    count_windows,
    plan_windows,
)
from guardrails.errors import DetectorError, DetectorUnavailable, ProfileError
from guardrails.taxonomy import load_taxonomy
from tests.helpers.tiny_detoxify import TinyDetoxify, build_tiny_detoxify, filler_text

CTX = DetectContext()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyDetoxify:
    return build_tiny_detoxify(tmp_path_factory.mktemp("tiny-detoxify"))


def make(tiny: TinyDetoxify, **options: Any) -> ToxicityDetector:
    opts = ToxicityOptions.model_validate({"checkpoint": tiny.checkpoint, "download": False, **options})
    return ToxicityDetector.from_options(opts, taxonomy=load_taxonomy())


@pytest.fixture(scope="module")
def detector(tiny: TinyDetoxify) -> ToxicityDetector:
    return make(tiny, window_chars=400, window_overlap=100)


def by_label(findings: list[Any]) -> dict[str, Any]:
    return {f.label: f for f in findings}


@pytest.fixture()
def isolated_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the torch hub cache at an empty folder so no real cache is read or written."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return tmp_path


# --------------------------------------------------------------------------- import and options


def test_importing_the_module_loads_no_torch_transformers_or_detoxify() -> None:
    code = (
        "import sys, guardrails.detectors.toxicity, guardrails.models;"
        "print(sorted(m for m in ('torch', 'transformers', 'detoxify') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_registry_resolves_toxicity_to_this_detector() -> None:
    from guardrails.detectors import detector_class

    assert detector_class("toxicity") is ToxicityDetector


def test_the_default_mapping_sends_identity_attack_and_threat_to_hate_harassment_and_sexual_explicit_to_adult() -> None:
    rules = ToxicityOptions().resolved_labels()
    assert rules["identity_attack"].category == "hate_harassment"
    assert rules["threat"].category == "hate_harassment"
    assert rules["sexual_explicit"].category == "adult_content"
    assert {rules[k].category for k in ("toxicity", "severe_toxicity", "obscene", "insult")} == {None}


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        pytest.param({"modle": "original"}, "modle", id="unknown-key"),
        pytest.param({"model": "huge"}, "huge", id="unknown-model"),
        pytest.param({"labels": {"identity_atack": {"category": None}}}, "identity_atack", id="typo-in-label"),
        pytest.param({"labels": {"threat": {"min_score": 1.5}}}, "1.5", id="min-score-above-one"),
        pytest.param({"window_chars": 1000, "window_overlap": 600}, "600", id="overlap-over-half-window"),
        pytest.param({"mapping": "nonexistent"}, "nonexistent", id="unknown-mapping"),
        pytest.param({"device": "cuda"}, "cuda", id="device-not-cpu"),
    ],
)
def test_options_reject_bad_values_naming_them(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ToxicityOptions.model_validate(options)


def test_check_options_rejects_a_category_id_not_in_the_taxonomy() -> None:
    opts = ToxicityOptions(labels={"insult": {"category": "rudeness"}})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"'insult'.*'rudeness'"):
        ToxicityDetector.check_options(opts, taxonomy=load_taxonomy())


def test_a_profile_with_an_unknown_category_in_toxicity_labels_fails_at_load() -> None:
    from guardrails.profiles import validate_profile_mapping

    data = {
        "name": "t",
        "detectors": {"toxicity": {"options": {"labels": {"threat": {"category": "threats"}}}}},
    }
    with pytest.raises(ProfileError, match="threats"):
        validate_profile_mapping(data)


def test_a_profile_configures_model_checkpoint_and_labels(tiny: TinyDetoxify) -> None:
    from guardrails.profiles import validate_profile_mapping

    data = {
        "name": "t",
        "detectors": {
            "toxicity": {
                "options": {
                    "checkpoint": str(tiny.checkpoint),
                    "huggingface_config_path": str(tiny.config_dir),
                    "labels": {"insult": {"category": "hate_harassment", "min_score": 0.2}},
                }
            }
        },
    }
    profile = validate_profile_mapping(data)
    opts = ToxicityOptions.model_validate(profile.detectors["toxicity"].options)
    assert opts.checkpoint == tiny.checkpoint
    assert opts.resolved_labels()["insult"].category == "hate_harassment"


# --------------------------------------------------------------------------- findings


@pytest.mark.parametrize(
    ("text", "label", "category"),
    [
        pytest.param("you are zorp", "threat", "hate_harassment", id="threat-to-hate_harassment"),
        pytest.param("hello blick", "sexual_explicit", "adult_content", id="sexual_explicit-to-adult_content"),
        pytest.param("quux and the world", "identity_attack", "hate_harassment", id="identity_attack-to-hate"),
    ],
)
def test_labels_become_findings_with_the_mapped_category(
    detector: ToxicityDetector, text: str, label: str, category: str
) -> None:
    found = by_label(detector.detect(text, CTX))
    assert found[label].category == category
    assert found[label].detector == "toxicity"
    assert found[label].score > 0.9
    assert found[label].start is None and found[label].end is None


def test_unmapped_labels_are_informational_findings_without_a_category(detector: ToxicityDetector) -> None:
    found = by_label(detector.detect("you are zorp", CTX))
    assert found["toxicity"].category is None
    assert found["toxicity"].score > 0.9


def test_scores_below_the_min_score_floor_produce_no_finding(detector: ToxicityDetector) -> None:
    assert detector.detect("hello world, how are you", CTX) == []


def test_a_zero_floor_records_every_label_the_model_produces(tiny: TinyDetoxify) -> None:
    det = make(tiny, labels={lab: {"min_score": 0.0} for lab in tiny.labels})
    found = by_label(det.detect("hello world", CTX))
    assert set(found) == set(tiny.labels)
    assert all(f.score < 0.05 for f in found.values())


def test_a_label_floor_above_the_score_drops_only_that_label(tiny: TinyDetoxify) -> None:
    det = make(tiny, labels={"threat": {"category": "hate_harassment", "min_score": 0.99}})
    found = by_label(det.detect("zorp", CTX))
    assert "threat" not in found
    assert "toxicity" in found


def test_inline_labels_override_the_mapping_file(tiny: TinyDetoxify) -> None:
    det = make(tiny, labels={"toxicity": {"category": "hate_harassment", "min_score": 0.05}})
    found = by_label(det.detect("zorp", CTX))
    assert found["toxicity"].category == "hate_harassment"
    assert det.categories == ("adult_content", "hate_harassment")


def test_labels_the_model_does_not_produce_are_skipped(tmp_path: Path) -> None:
    small = build_tiny_detoxify(
        tmp_path, classes=("toxic", "threat"), triggers={"zorp": ("toxicity", "threat")}, name="two-labels"
    )
    det = make(small)
    found = by_label(det.detect("zorp blick", CTX))
    assert set(found) == {"toxicity", "threat"}


# --------------------------------------------------------------------------- windows


def test_a_toxic_sentence_after_5000_chars_of_padding_is_windowed_and_scored(detector: ToxicityDetector) -> None:
    text = filler_text(5000) + " you are zorp."
    # one truncated Detoxify pass over the whole text never sees the trigger
    whole = detector.score_windows([text])[0]
    assert whole["threat"] < 0.05
    spans = detector.windows(text)
    window_chars, overlap = 400, 100
    assert len(spans) == -(-(len(text) - window_chars) // (window_chars - overlap)) + 1
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    per_window = detector.score_windows([text[s:e] for s, e in spans])
    assert sum(w["threat"] > 0.9 for w in per_window) >= 1
    assert sum(w["threat"] < 0.05 for w in per_window) >= len(spans) - 2
    found = by_label(detector.detect(text, CTX))
    assert found["threat"].score == pytest.approx(max(w["threat"] for w in per_window))
    assert found["threat"].category == "hate_harassment"
    assert found["toxicity"].score == pytest.approx(max(w["toxicity"] for w in per_window))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param(" \n\t  ", [], id="whitespace-only"),
        pytest.param("short text", [(0, 10)], id="short-is-one-window"),
        pytest.param("x" * 400, [(0, 400)], id="exactly-one-window"),
    ],
)
def test_plan_windows_small_cases(text: str, expected: list[tuple[int, int]]) -> None:
    assert plan_windows(text, window_chars=400, overlap=100, max_windows=32) == expected


def test_every_span_up_to_half_the_overlap_lies_inside_one_window() -> None:
    text = filler_text(20_000, seed=3)
    spans = plan_windows(text, window_chars=400, overlap=100, max_windows=10_000)
    for start in range(0, len(text) - 50, 7):
        assert any(s <= start and start + 50 <= e for s, e in spans), start


def test_inner_window_boundaries_fall_on_whitespace() -> None:
    text = filler_text(5000, seed=4)
    for s, e in plan_windows(text, window_chars=400, overlap=100, max_windows=100)[1:-1]:
        assert text[s - 1].isspace() and (e == len(text) or text[e].isspace())


def test_a_window_that_tokenizes_longer_than_the_model_accepts_is_split_not_truncated(tiny: TinyDetoxify) -> None:
    det = make(tiny, window_chars=1000, window_overlap=100)
    # "the," is two tokens per four characters: 900 characters are about 450 tokens, far over 128
    text = "the," * 225 + " zorp"
    assert len(det.windows(text)) == 1
    assert det.score_windows([text])[0]["threat"] < 0.05
    assert by_label(det.detect(text, CTX))["threat"].score > 0.9


def test_a_one_megabyte_text_is_scored_in_a_bounded_number_of_windows(detector: ToxicityDetector) -> None:
    text = filler_text(1_000_000, seed=5) + " zorp"
    spans = detector.windows(text)
    assert len(spans) <= detector.options.max_windows
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    found = by_label(detector.detect(text, CTX))  # the last window is always scored
    assert found["threat"].score > 0.9


def test_max_windows_samples_evenly_across_the_text() -> None:
    text = filler_text(100_000, seed=6)
    spans = plan_windows(text, window_chars=1000, overlap=200, max_windows=8)
    assert len(spans) == 8
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(spans)]
    assert max(gaps) - min(gaps) < 1500


# --------------------------------------------------------------------------- partial coverage


def notes(findings: list[Any]) -> list[Any]:
    return [f for f in findings if (f.label or "").startswith(f"{WINDOW_LIMIT_LABEL}:")]


def with_triggers(n_chars: int, count: int, *, seed: int) -> str:
    """Filler of about ``n_chars`` with ``count`` " zorp" triggers inserted at random word boundaries."""
    text = filler_text(n_chars, seed=seed)
    rng = random.Random(seed)
    for p in sorted(rng.sample(range(1, len(text)), count), reverse=True):
        q = max(0, text.rfind(" ", 0, p))
        text = text[:q] + " zorp" + text[q:]
    return text


def test_a_200k_text_with_unread_triggers_is_noted_with_windows_read_and_needed_and_no_text(tiny: TinyDetoxify) -> None:
    # the reviewer's case: 40 triggers at random in 200,000 characters, default options (32 windows of 1,000)
    text = with_triggers(200_000, 40, seed=11)
    det = make(tiny)
    spans = det.windows(text)
    triggers = [m.start() + 1 for m in re.finditer(" zorp", text)]
    unread = [t for t in triggers if not any(s <= t and t + 4 <= e for s, e in spans)]
    assert len(triggers) == 40 and len(unread) > 20
    needed = count_windows(text, window_chars=1000, overlap=200)
    assert needed == 250
    [note] = notes(det.detect(text, CTX))
    assert note.label == f"{WINDOW_LIMIT_LABEL}:32/250"
    assert note.category is None and note.detector == "toxicity"
    assert note.start is None and note.end is None
    assert note.score == pytest.approx(1 - sum(e - s for s, e in spans) / len(text))  # share not read, about 84%


def test_the_window_note_appears_exactly_when_a_text_needs_more_windows_than_max_windows(tiny: TinyDetoxify) -> None:
    text = filler_text(3000, seed=8) + " zorp"
    needed = count_windows(text, window_chars=400, overlap=100)
    assert notes(make(tiny, window_chars=400, window_overlap=100, max_windows=needed).detect(text, CTX)) == []
    found = make(tiny, window_chars=400, window_overlap=100, max_windows=needed - 1).detect(text, CTX)
    assert [f.label for f in notes(found)] == [f"{WINDOW_LIMIT_LABEL}:{needed - 1}/{needed}"]
    assert by_label(found)["threat"].score > 0.9  # the sampled windows' findings are kept beside the note


def test_a_window_the_model_still_truncates_once_the_split_budget_is_spent_is_noted_as_not_read_whole(
    tiny: TinyDetoxify,
) -> None:
    # "the," is two tokens per four characters: one 965-character window of about 480 tokens, but with
    # "," is a token of its own: one 985-character window of about 980 tokens, but with max_windows=2 splitting
    # stops at 8 pieces, each still over the model's 128
    text = ",," * 490 + " zorp"
    det = make(tiny, window_chars=1000, window_overlap=200, max_windows=2)
    assert len(det.windows(text)) == 1
    found = det.detect(text, CTX)
    assert "threat" not in by_label(found)  # the trigger sits in the truncated tail
    [note] = notes(found)
    assert note.label == f"{WINDOW_LIMIT_LABEL}:0/1" and note.score == 1.0
    with pytest.raises(DetectorError, match="after splitting"):
        make(tiny, window_chars=1000, window_overlap=200, max_windows=2, on_partial="fail").detect(text, CTX)


def test_on_partial_fail_raises_a_detector_error_with_the_counts_and_no_text_before_loading(
    tiny: TinyDetoxify,
) -> None:
    text = filler_text(3000, seed=9) + " secretword"
    det = make(tiny, window_chars=400, window_overlap=100, max_windows=4, on_partial="fail")
    needed = count_windows(text, window_chars=400, overlap=100)
    with pytest.raises(DetectorError) as info:
        det.detect_batch(["zorp", text], [CTX, CTX])
    message = str(info.value)
    assert f"text 2 of 2 ({len(text)} characters) needs {needed} windows" in message
    assert "max_windows=4" in message and f"4 of {needed} windows" in message
    assert "secretword" not in message and "lorem" not in message
    assert det.describe()["loaded"] is False  # refused before the model loads or runs
    assert by_label(det.detect("you are zorp", CTX))["threat"].score > 0.9  # texts read whole are judged


def _guard(toxicity: dict[str, Any], **profile: Any) -> Any:
    from guardrails.guard import Guard
    from guardrails.profiles import validate_profile_mapping

    return Guard(validate_profile_mapping({"name": "tox", "detectors": {"toxicity": toxicity}, **profile}))


def test_the_window_note_changes_no_decision_and_is_shown_in_the_decision_record(tiny: TinyDetoxify) -> None:
    guard = _guard({"options": {"checkpoint": str(tiny.checkpoint), "window_chars": 400, "window_overlap": 100}})
    text = filler_text(20_000, seed=10)
    decision = guard.check(text)
    assert decision.served and decision.categories == () and decision.failures == ()
    recorded = [f for f in decision.to_dict()["findings"] if f["detector"] == "toxicity"]
    assert [f["label"] for f in recorded] == [
        f"{WINDOW_LIMIT_LABEL}:32/{count_windows(text, window_chars=400, overlap=100)}"
    ]
    assert recorded[0]["category"] is None and "start" not in recorded[0]


@pytest.mark.parametrize(
    ("on_error", "served"),
    [
        pytest.param("allow", True, id="on_error-allow-serves"),
        pytest.param("block", False, id="on_error-block-refuses"),
    ],
)
def test_on_partial_fail_hands_a_text_not_read_whole_to_on_error(
    tiny: TinyDetoxify, on_error: str, served: bool
) -> None:
    options = {"checkpoint": str(tiny.checkpoint), "window_chars": 400, "window_overlap": 100, "on_partial": "fail"}
    guard = _guard({"on_error": on_error, "options": options})
    text = filler_text(20_000, seed=12)
    decision = guard.check(text)
    assert decision.served is served
    [failure] = decision.failures
    assert failure.detector == "toxicity" and not failure.unavailable
    assert "max_windows=32" in failure.message and text[:40] not in failure.message
    assert guard.check("hello world").failures == ()


# --------------------------------------------------------------------------- symbols glued to words


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("you are zorp😡", id="emoji-after"),
        pytest.param("😡zorp", id="emoji-before"),
        pytest.param("zorp™", id="trademark-sign"),
        pytest.param("zorp❤️", id="emoji-with-variation-selector"),
        pytest.param("zorp👍🏽", id="emoji-with-skin-tone"),
        pytest.param("zorp👨\u200d👩\u200d👧", id="zwj-sequence"),
    ],
)
def test_a_word_with_a_symbol_glued_to_it_is_still_read(detector: ToxicityDetector, text: str) -> None:
    # WordPiece turns "zorp😡" into a single [UNK]: the detector spaces symbols off first
    found = by_label(detector.detect(text, CTX))
    assert found["threat"].score > 0.9
    assert found["threat"].start is None and found["threat"].end is None  # no spans, so no offsets to shift


# --------------------------------------------------------------------------- bad input


def test_empty_text_gives_no_findings_and_loads_nothing(tiny: TinyDetoxify) -> None:
    det = make(tiny)
    assert det.detect("", CTX) == []
    assert det.detect("   ", CTX) == []
    assert det.describe()["loaded"] is False


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("😀😀😀", id="emoji-only"),
        pytest.param("🔥" * 3000, id="long-emoji-run"),
        pytest.param("\u200b\u200d\ufeff", id="zero-width-only"),
    ],
)
def test_emoji_and_symbol_only_text_is_scored_without_error(detector: ToxicityDetector, text: str) -> None:
    assert detector.detect(text, CTX) == []


def test_non_string_text_is_a_type_error(detector: ToxicityDetector) -> None:
    with pytest.raises(TypeError, match="bytes"):
        detector.detect(b"zorp", CTX)  # type: ignore[arg-type]


@pytest.mark.parametrize("where", ["tokenizer", "model"])
def test_a_tokenizer_or_model_error_is_a_detector_error_naming_only_its_type_with_no_chained_cause(
    tiny: TinyDetoxify, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    from detoxify import detoxify as detoxify_module
    from transformers import PreTrainedTokenizerBase

    det = make(tiny)
    det.warmup()

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("cannot handle 'my secret sentence'")

    if where == "model":
        monkeypatch.setattr(detoxify_module.Detoxify, "predict", boom)
    else:
        monkeypatch.setattr(PreTrainedTokenizerBase, "__call__", boom)
    with pytest.raises(DetectorError) as info:
        det.detect("my secret sentence", CTX)
    assert type(info.value) is DetectorError
    assert "ValueError" in str(info.value) and "secret" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None  # no chained error quoting the text


def _torch_save(obj: Any) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _bad_checkpoints(tiny: TinyDetoxify) -> dict[str, bytes]:
    good = tiny.checkpoint.read_bytes()
    return {
        "random-bytes": os.urandom(4096),
        "truncated": good[: len(good) // 2],
        "text-file": b"this is not a checkpoint\n",
        "empty-file": b"",
    }


@pytest.mark.parametrize("case", ["random-bytes", "truncated", "text-file", "empty-file"])
def test_a_corrupt_checkpoint_is_a_detector_error_naming_the_file(
    tiny: TinyDetoxify, tmp_path: Path, case: str
) -> None:
    path = tmp_path / f"{case}.ckpt"
    path.write_bytes(_bad_checkpoints(tiny)[case])
    det = make(tiny, checkpoint=path)
    with pytest.raises(DetectorError) as info:
        det.detect("zorp", CTX)
    assert type(info.value) is DetectorError
    assert str(path) in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        pytest.param(lambda: {"weights": 1}, "'config' and 'state_dict'", id="dict-without-config"),
        pytest.param(lambda: [1, 2, 3], "got list", id="a-list"),
        pytest.param(lambda: {"config": {}, "state_dict": {}}, "config.arch.args", id="empty-config"),
    ],
)
def test_a_wrong_format_checkpoint_is_a_detector_error_naming_the_file(
    tiny: TinyDetoxify, tmp_path: Path, payload: Any, fragment: str
) -> None:
    path = tmp_path / "wrong.ckpt"
    path.write_bytes(_torch_save(payload()))
    with pytest.raises(DetectorError, match=fragment) as info:
        make(tiny, checkpoint=path).warmup()
    assert str(path) in str(info.value)


def test_a_checkpoint_whose_weights_do_not_fit_the_architecture_is_refused(tiny: TinyDetoxify, tmp_path: Path) -> None:
    import torch

    loaded = torch.load(tiny.checkpoint, weights_only=True)
    loaded["state_dict"] = {k: v for k, v in loaded["state_dict"].items() if not k.startswith("classifier")}
    path = tmp_path / "partial.ckpt"
    torch.save(loaded, path)
    with pytest.raises(DetectorError, match="weights were not loaded") as info:
        make(tiny, checkpoint=path).warmup()
    assert str(path) in str(info.value)


def test_a_lightning_style_checkpoint_with_model_prefixed_weights_loads(tiny: TinyDetoxify, tmp_path: Path) -> None:
    import torch

    loaded = torch.load(tiny.checkpoint, weights_only=True)
    loaded["state_dict"] = {f"model.{k}": v for k, v in loaded["state_dict"].items()}
    path = tmp_path / "lightning.ckpt"
    torch.save(loaded, path)
    assert by_label(make(tiny, checkpoint=path).detect("zorp", CTX))["threat"].score > 0.9


class _Opener:
    """A pickle payload that would create a file if it were ever unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.target), "w"))


def test_a_checkpoint_with_code_in_its_pickle_is_refused_without_running_it(tiny: TinyDetoxify, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.ckpt"
    path.write_bytes(_torch_save({"config": _Opener(marker), "state_dict": {}}))
    with pytest.raises(DetectorError, match="trust_checkpoint") as info:
        make(tiny, checkpoint=path).warmup()
    assert str(path) in str(info.value)
    assert not marker.exists()


# --------------------------------------------------------------------------- unavailable offline


@pytest.mark.parametrize(
    "download", [pytest.param(True, id="download-attempted"), pytest.param(False, id="download-off")]
)
def test_a_missing_model_offline_is_unavailable_with_a_how_to_message(isolated_caches: Path, download: bool) -> None:
    det = ToxicityDetector.from_options(ToxicityOptions(model="original", download=download), taxonomy=load_taxonomy())
    with pytest.raises(DetectorUnavailable) as first:
        det.detect("hello", CTX)
    message = str(first.value)
    assert "guardrails models fetch" in message
    assert "checkpoint:" in message and "huggingface_config_path:" in message
    assert "toxic_original-c1212f89.ckpt" in message
    assert len(message) <= 500  # a Decision keeps the first 500 characters of a failure message
    with pytest.raises(DetectorUnavailable) as second:
        det.detect("hello again", CTX)
    assert second.value is first.value  # reported once, cached, not retried
    assert det.describe()["unavailable"] is True
    assert not (isolated_caches / "torch" / "hub" / "checkpoints").exists()


def test_a_configured_checkpoint_path_that_does_not_exist_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.ckpt"
    det = ToxicityDetector.from_options(ToxicityOptions(checkpoint=missing), taxonomy=load_taxonomy())
    with pytest.raises(DetectorUnavailable, match="does not exist") as info:
        det.warmup()
    assert str(missing) in str(info.value)


def test_a_checkpoint_naming_a_hub_model_loads_from_the_local_config_folder(tmp_path: Path) -> None:
    hub_named = build_tiny_detoxify(tmp_path, model_type="bert-base-uncased", name="hub-named")
    det = make(hub_named, huggingface_config_path=hub_named.config_dir)
    assert by_label(det.detect("zorp", CTX))["threat"].score > 0.9


def test_a_checkpoint_naming_a_hub_model_without_a_local_folder_is_unavailable_and_says_so(tmp_path: Path) -> None:
    hub_named = build_tiny_detoxify(tmp_path, model_type="bert-base-uncased", name="hub-named")
    det = make(hub_named)
    with pytest.raises(DetectorUnavailable, match="huggingface_config_path") as info:
        det.warmup()
    assert "'bert-base-uncased'" in str(info.value)
    assert "download is off" in str(info.value) and "opt in with download: true" in str(info.value)


def test_download_is_off_unless_a_profile_asks_so_an_own_profile_never_fetches_and_says_how_to_provide_the_model(
    isolated_caches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import guardrails.detectors.toxicity as toxicity

    assert ToxicityOptions().download is False
    fetched: list[str] = []

    def no_download(*args: Any, **kwargs: Any) -> Any:
        fetched.append(repr(args))
        raise OSError("no network in this test")

    monkeypatch.setattr(toxicity, "download_release", no_download)
    # a profile of its own (extending no built-in one) that never mentions download
    guard = _guard({"on_error": "allow", "options": {"model": "original"}})
    assert guard.profile.detectors["toxicity"].options == {"model": "original"}
    [failure] = guard.check("hello there").failures
    assert failure.detector == "toxicity" and failure.unavailable
    assert fetched == []  # not even attempted
    message = failure.message
    assert "download is off" in message
    assert "guardrails models fetch --model original --to DIR" in message  # how to provide it offline
    assert "checkpoint: DIR/original/toxic_original-c1212f89.ckpt" in message
    assert "huggingface_config_path: DIR/original/hf" in message
    assert "opt in with download: true" in message
    assert len(message) <= 500  # a Decision keeps the first 500 characters of a failure message
    # a profile that asks for it does try (and, offline, says so)
    asking = _guard({"on_error": "allow", "options": {"model": "original", "download": True}})
    [failure] = asking.check("hello there").failures
    assert failure.unavailable and "could not be downloaded" in failure.message and len(fetched) == 1


def test_a_config_folder_without_config_json_is_unavailable(tiny: TinyDetoxify, tmp_path: Path) -> None:
    det = make(tiny, huggingface_config_path=tmp_path)
    with pytest.raises(DetectorUnavailable, match=r"config\.json"):
        det.warmup()


# --------------------------------------------------------------------------- batch and async


def test_detect_batch_scores_windows_of_all_texts_together_and_matches_detect(detector: ToxicityDetector) -> None:
    texts = ["zorp", "", "blick", filler_text(3000) + " quux", "hello", "zorp"]
    batch = detector.detect_batch(texts, [CTX] * len(texts))
    assert batch == [detector.detect(t, CTX) for t in texts]
    assert by_label(batch[3])["identity_attack"].category == "hate_harassment"
    assert batch[1] == [] and batch[4] == []


def test_detect_batch_rejects_mismatched_contexts(detector: ToxicityDetector) -> None:
    with pytest.raises(ValueError, match="2 texts but 1 contexts"):
        detector.detect_batch(["a", "b"], [CTX])


def test_async_detection_gives_the_same_findings_off_the_event_loop(detector: ToxicityDetector) -> None:
    texts = ["zorp", "blick", "hello", filler_text(2000) + " zorp"]

    async def run() -> list[list[Any]]:
        return list(await asyncio.gather(*(detector.adetect(t, CTX) for t in texts)))

    assert asyncio.run(run()) == [detector.detect(t, CTX) for t in texts]


def test_concurrent_first_use_loads_the_model_once(tiny: TinyDetoxify) -> None:
    det = make(tiny)

    async def run() -> list[list[Any]]:
        return list(await asyncio.gather(*(det.adetect("zorp", CTX) for _ in range(4))))

    results = asyncio.run(run())
    assert all(r == results[0] for r in results)
    assert det.describe()["loaded"] is True


def test_torch_threads_option_is_applied_when_the_model_loads(tiny: TinyDetoxify) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        make(tiny, torch_threads=1).warmup()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- guardrails models


def test_models_check_reports_detoxify_missing_honestly(isolated_caches: Path) -> None:
    from guardrails.models import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["check"], out=out, err=err) == 0
    text = out.getvalue()
    assert "Detoxify original" in text and "missing" in text
    assert "toxicity: unavailable" in text
    assert str(isolated_caches / "torch" / "hub" / "checkpoints") in text


def test_models_check_reports_a_checkpoint_placed_in_the_torch_hub_cache(isolated_caches: Path) -> None:
    from guardrails.models import check_models

    hub = isolated_caches / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "toxic_original-c1212f89.ckpt").write_bytes(b"x")
    rows = {r.model: r for r in check_models()}
    assert rows["Detoxify original"].present
    assert not rows["Detoxify unbiased"].present


def test_models_check_reports_paths_a_profile_configures(tiny: TinyDetoxify, tmp_path: Path) -> None:
    from guardrails.models import main

    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: p\ndetectors:\n  toxicity:\n    options:\n"
        f"      checkpoint: {tiny.checkpoint}\n      huggingface_config_path: {tmp_path / 'absent'}\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    assert main(["check", "--profile", str(profile), "--json"], out=out, err=io.StringIO()) == 0
    import json

    rows = {r["model"]: r for r in json.loads(out.getvalue())}
    assert rows["checkpoint configured by profile p"]["present"] is True
    assert rows["huggingface_config_path configured by profile p"]["present"] is False


def _readme_fetch_snippet() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("`guardrails models fetch --model original --to DIR`") :]
    return section[section.index("```yaml\n") + len("```yaml\n") : section.index("```\n", section.index("```yaml"))]


def _fetched_dir(tiny: TinyDetoxify, root: Path) -> tuple[Path, Path]:
    """What `guardrails models fetch --to root` leaves (the tiny model in the original's file names)."""
    import shutil

    folder = root / "original"
    folder.mkdir(parents=True)
    ckpt = folder / "toxic_original-c1212f89.ckpt"
    shutil.copyfile(tiny.checkpoint, ckpt)
    shutil.copytree(tiny.config_dir, folder / "hf")
    return ckpt, folder / "hf"


def test_models_fetch_prints_the_readme_snippet_and_it_loads_as_a_complete_detector_entry(
    tiny: TinyDetoxify, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import guardrails.models as models
    from guardrails.guard import Guard

    readme = _readme_fetch_snippet()
    example = Path("/models/detoxify/original")
    assert readme == models.profile_snippet("original", example / "toxic_original-c1212f89.ckpt", example / "hf")

    root = tmp_path / "fetched dir #1"  # a space and a '#': the printed paths are quoted where YAML needs it
    ckpt, hf_dir = _fetched_dir(tiny, root)
    monkeypatch.setattr(models, "fetch_model", lambda release, dest, *, timeout: (ckpt, hf_dir))
    out = io.StringIO()
    assert models.main(["fetch", "--to", str(root)], out=out, err=io.StringIO()) == 0
    printed = out.getvalue()
    snippet = models.profile_snippet("original", ckpt, hf_dir)
    assert snippet in printed
    # the README's snippet with DIR substituted, and the printed one, each a whole detector entry of a profile
    plain_root = tmp_path / "plain"
    _fetched_dir(tiny, plain_root)
    for body in (readme.replace("/models/detoxify", str(plain_root)), snippet):
        path = tmp_path / "fetched.yaml"
        path.write_text("name: fetched\n" + body, encoding="utf-8")
        guard = Guard.from_profile(path)
        options = ToxicityOptions.model_validate(guard.profile.detectors["toxicity"].options)
        assert options.checkpoint is not None and options.checkpoint.is_file()
        decision = guard.check("you are zorp")
        assert decision.failures == () and decision.blocked and "hate_harassment" in decision.categories


def test_models_fetch_without_network_fails_cleanly(tmp_path: Path) -> None:
    from guardrails.models import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["fetch", "--to", str(tmp_path / "models"), "--timeout", "2"], out=out, err=err) == 1
    message = err.getvalue()
    assert "could not fetch the Detoxify 'original' model" in message
    assert "Traceback" not in message
    assert not list((tmp_path / "models").rglob("*.ckpt"))


# --------------------------------------------------------------------------- through the Guard


@pytest.mark.parametrize(
    ("on_error", "served"),
    [pytest.param("allow", True, id="on_error-allow-keeps-serving"), pytest.param("block", False, id="on_error-block")],
)
def test_an_unavailable_model_is_recorded_in_every_decision_and_on_error_applies(
    isolated_caches: Path, on_error: str, served: bool
) -> None:
    guard = _guard({"on_error": on_error, "options": {"model": "original", "download": False}})
    for text in ("hello there", "another turn"):
        decision = guard.check(text)
        assert decision.served is served
        [failure] = decision.failures
        assert failure.detector == "toxicity" and failure.unavailable
        assert "guardrails models fetch" in failure.message
        assert text not in failure.message


def test_the_guard_blocks_a_mapped_label_over_threshold(tiny: TinyDetoxify) -> None:
    guard = _guard({"options": {"checkpoint": str(tiny.checkpoint)}})
    decision = guard.check("you are zorp")
    assert decision.blocked and "hate_harassment" in decision.categories


def test_the_guard_serves_a_turn_whose_toxicity_scores_are_informational_only(tiny: TinyDetoxify) -> None:
    guard = _guard({"options": {"checkpoint": str(tiny.checkpoint), "labels": {"threat": {"category": None}}}})
    decision = guard.check("you are zorp")
    assert decision.served and decision.categories == ()
    recorded = {f.label: f for f in decision.findings if f.detector == "toxicity"}
    assert recorded["threat"].category is None and recorded["threat"].score > 0.9
    assert recorded["toxicity"].category is None


# --------------------------------------------------------------------------- views, broken checkpoints, settings


@pytest.mark.parametrize(
    "text",
    [
        "you are a \uff5a\uff4f\uff52\uff50",
        "you are a z o r p",
        "you are a z.o.r.p",
        "you are a z0rp",
        "you are a z\u043erp",
    ],
    ids=["fullwidth", "spaced", "dotted", "leet", "cyrillic-o"],
)
def test_a_disguised_trigger_scores_as_the_plain_word_through_the_guards_views(
    detector: ToxicityDetector, text: str
) -> None:
    from guardrails.normalize import views

    assert "threat" not in by_label(detector.detect(text, CTX))  # the raw text alone hides it
    found = by_label(detector.detect(text, DetectContext(views=views(text))))
    assert found["threat"].score > 0.9 and found["threat"].category == "hate_harassment"


def test_views_raw_scores_the_text_alone(tiny: TinyDetoxify) -> None:
    from guardrails.normalize import views

    text = "you are a z o r p"
    det = make(tiny, window_chars=400, window_overlap=100, views="raw")
    assert "threat" not in by_label(det.detect(text, DetectContext(views=views(text))))


def test_a_guard_blocks_a_spaced_out_trigger_as_it_blocks_the_word(tiny: TinyDetoxify) -> None:
    guard = _guard({"options": {"checkpoint": str(tiny.checkpoint), "window_chars": 400, "window_overlap": 100}})
    plain, spaced = guard.check("you are a zorp"), guard.check("you are a z o r p")
    assert plain.blocked and spaced.blocked and spaced.categories == plain.categories


def test_a_checkpoint_that_scores_nan_is_a_detector_failure_not_a_pass(tiny: TinyDetoxify, tmp_path: Path) -> None:
    import torch

    data = torch.load(str(tiny.checkpoint), map_location="cpu", weights_only=True)
    row = list(tiny.labels).index("threat")
    weight = data["state_dict"]["classifier.weight"]
    toxic = list(tiny.labels).index("toxicity")  # "zorp" raises both dimensions: inf - inf, the threat logit is NaN
    weight[row, row], weight[row, toxic] = float("inf"), float("-inf")
    broken = tmp_path / "nan.ckpt"
    torch.save(data, str(broken))
    det = ToxicityDetector.from_options(
        ToxicityOptions.model_validate({"checkpoint": broken, "window_chars": 400, "window_overlap": 100}),
        taxonomy=load_taxonomy(),
    )
    with pytest.raises(DetectorError, match="non-finite threat score"):
        det.detect("you are a zorp", CTX)


def test_a_checkpoint_that_cannot_be_read_fails_once_naming_the_model_and_stays_failed(
    tiny: TinyDetoxify, tmp_path: Path
) -> None:
    import torch

    data = torch.load(str(tiny.checkpoint), map_location="cpu", weights_only=True)
    data["config"]["arch"]["args"]["num_classes"] = "seven"
    broken = tmp_path / "bad.ckpt"
    torch.save(data, str(broken))
    det = ToxicityDetector.from_options(
        ToxicityOptions.model_validate({"checkpoint": broken}), taxonomy=load_taxonomy()
    )
    with pytest.raises(DetectorError, match="cannot load the toxicity model") as first:
        det.detect("hello", CTX)
    with pytest.raises(DetectorError) as second:
        det.detect("hello again", CTX)
    assert second.value is first.value  # kept: the checkpoint is not read again on every check


def test_an_inline_override_of_a_labels_floor_keeps_the_category_of_the_mapping(tiny: TinyDetoxify) -> None:
    det = make(tiny, labels={"threat": {"min_score": 0.2}})
    assert by_label(det.detect("zorp", CTX))["threat"].category == "hate_harassment"
    dropped = make(tiny, labels={"threat": {"category": None}})
    assert by_label(dropped.detect("zorp", CTX))["threat"].category is None  # written out, it is dropped


@pytest.mark.parametrize(
    "body",
    [
        "labels:\n  threat: {category: hate_harassment, min_score: yes}\n",
        'labels:\n  threat: {category: hate_harassment, min_score: "0.05"}\n',
        "labels:\n  threat: {category: hate_harassment}\n  threat: {category: null}\n",
    ],
    ids=["boolean-number", "quoted-number", "duplicate-key"],
)
def test_a_mapping_file_is_read_as_strictly_as_a_profile(tmp_path: Path, body: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=str(path)):
        ToxicityOptions.model_validate({"mapping": str(path)}).resolved_labels()


@pytest.mark.parametrize("option", [{"window_overlap": 0}, {"window_overlap": 31}, {"max_windows": 1}])
def test_window_settings_that_break_the_coverage_guarantees_are_refused(option: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(option))):
        ToxicityOptions.model_validate(option)


def test_a_view_that_differs_only_by_punctuation_or_a_symbol_costs_no_second_pass(
    detector: ToxicityDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardrails.normalize import views

    scored: list[int] = []
    real = detector._predict

    def counting(windows: list[str], loaded: Any) -> list[dict[str, float]]:
        scored.append(len(windows))
        return real(windows, loaded)

    monkeypatch.setattr(detector, "_predict", counting)
    text = "Quarterly results\u2026 our sales grew by \u00bd a point in every region " * 20
    assert len(views(text)) > 1  # NFKC spells out the ellipsis and the half
    detector.detect(text, DetectContext(views=views(text)))
    with_views = sum(scored)
    scored.clear()
    detector.detect(text, CTX)
    assert with_views == sum(scored)


def test_models_check_says_toxicity_is_unavailable_when_only_another_models_checkpoint_is_there(
    isolated_caches: Path,
) -> None:
    from guardrails.models import main

    hub = isolated_caches / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "toxic_debiased-c7548aa0.ckpt").write_bytes(b"x")  # unbiased: not the model the defaults use
    out = io.StringIO()
    assert main(["check"], out=out, err=io.StringIO()) == 0
    assert "toxicity: unavailable for the default options" in out.getvalue()


def test_models_check_with_a_profile_whose_checkpoint_is_missing_says_toxicity_is_unavailable(
    tmp_path: Path, tiny: TinyDetoxify
) -> None:
    from guardrails.models import main

    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: p\ndetectors:\n  toxicity:\n    options:\n"
        f"      checkpoint: {tmp_path / 'missing.ckpt'}\n      huggingface_config_path: {tiny.config_dir}\n"
    )
    out = io.StringIO()
    assert main(["check", "--profile", str(profile)], out=out, err=io.StringIO()) == 0
    assert "toxicity: unavailable for profile p" in out.getvalue()


def test_models_fetch_sets_a_damaged_checkpoint_aside_and_fetches_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardrails import models
    from guardrails.detectors import toxicity

    release = models.RELEASES["original"]
    folder = tmp_path / "original"
    folder.mkdir()
    (folder / release.filename).write_bytes(b"garbage")
    fetched: list[Path] = []

    def no_network(rel: Any, where: Path, *, timeout: float = 30.0) -> None:
        import urllib.error

        fetched.append(where)
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(toxicity, "download_release", no_network)
    err = io.StringIO()
    assert models.main(["fetch", "--to", str(tmp_path)], out=io.StringIO(), err=err) == 1
    assert fetched == [folder] and (folder / (release.filename + ".damaged")).is_file()
    assert "needs network access" in err.getvalue()


# --------------------------------------------------------------------------- streams


def _counting(detector: ToxicityDetector, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The window texts the real model is asked to score from now on (a counting wrapper, the model untouched)."""
    scored: list[str] = []
    real = detector._predict

    def counting(windows: list[str], loaded: Any) -> list[dict[str, float]]:
        scored.extend(windows)
        return real(windows, loaded)

    monkeypatch.setattr(detector, "_predict", counting)
    return scored


def _stream_checks(detector: ToxicityDetector, answer: str, *, every: int = 160) -> list[tuple[int, list[Any]]]:
    """The checks a stream makes of ``answer`` growing by ``every`` characters (the answer so far, the last one the
    finished answer), sharing one memo as a stream's checks do: per check, its length and findings."""
    from guardrails.types import StreamPart

    memo: dict[str, Any] = {}
    out: list[tuple[int, list[Any]]] = []
    for n in [*range(every, len(answer), every), len(answer)]:
        part = StreamPart(partial=n < len(answer), memo=memo)
        out.append((n, detector.detect(answer[:n], DetectContext(stream=part))))
    return out


def test_a_streamed_answers_checks_score_each_window_once(
    detector: ToxicityDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = filler_text(3000, seed=21)
    scored = _counting(detector, monkeypatch)
    _stream_checks(detector, answer)
    assert scored and len(scored) == len(set(scored))


def test_a_streamed_check_that_reads_no_new_text_scores_no_window(
    detector: ToxicityDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardrails.types import StreamPart

    answer = filler_text(2000, seed=22)
    at = detector.settled_chars(answer[:1200])
    n = next(n for n in range(1201, 2000) if detector.settled_chars(answer[:n]) != at)  # the next step's start
    memo: dict[str, Any] = {}
    scored = _counting(detector, monkeypatch)
    detector.detect(answer[:n], DetectContext(stream=StreamPart(partial=True, memo=memo)))
    assert scored
    scored.clear()
    later = n + 40  # the same text read: nothing to score
    assert detector.settled_chars(answer[:later]) == detector.settled_chars(answer[:n])
    detector.detect(answer[:later], DetectContext(stream=StreamPart(partial=True, memo=memo)))
    assert scored == []


def test_checking_a_streamed_answer_four_times_as_often_scores_hardly_more_windows(
    detector: ToxicityDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = filler_text(3000, seed=23)
    scored = _counting(detector, monkeypatch)
    _stream_checks(detector, answer, every=160)
    seldom = len(scored)
    scored.clear()
    _stream_checks(detector, answer, every=40)
    assert len(scored) <= seldom + seldom // 4  # each check's open window ends at one of the same steps


@pytest.mark.parametrize("at", [150, 390, 700, 1130, 1490])
def test_a_streamed_check_has_scored_every_character_it_vouches_for(detector: ToxicityDetector, at: int) -> None:
    answer = filler_text(at, seed=24) + " zorp " + filler_text(1800 - at, seed=25)
    start = answer.index("zorp")
    found_by: int | None = None
    for n, findings in _stream_checks(detector, answer, every=37):
        if n == len(answer):
            break
        settled = detector.settled_chars(answer[:n])
        assert 0 <= settled <= n
        if "threat" in by_label(findings):
            found_by = found_by or n
        elif settled > start:  # a stream would show the trigger: its check must have scored it
            pytest.fail(f"check of {n} characters vouched for {settled} without scoring the trigger at {start}")
    assert found_by is not None  # found before the answer ended


def test_a_stream_through_the_guard_refuses_a_trigger_before_showing_it_and_scores_half_as_many_windows(
    tiny: TinyDetoxify, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    guard = _guard({"options": {"checkpoint": str(tiny.checkpoint)}})  # windows of 1,000 characters, as shipped
    det = guard.detector("toxicity")
    clean = filler_text(2400, seed=26)
    harmful = clean[:1700] + " zorp " + clean[1700:]

    def stream(answer: str) -> tuple[str, bool]:
        chain = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=answer)])))
        seen, blocked = "", False
        for chunk in chain.stream("Tell me about it."):
            meta = (chunk.response_metadata.get("guardrails") or {}).get("output", {})
            blocked = blocked or bool(meta.get("blocked"))
            seen += str(chunk.content)
        return seen, blocked

    scored = _counting(det, monkeypatch)
    seen, blocked = stream(harmful)
    assert blocked and "zorp" not in seen
    scored.clear()
    seen, blocked = stream(clean)
    assert not blocked and seen == clean
    streamed = len(scored)
    scored.clear()
    guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=clean)]))).invoke("Tell me about it.")
    assert streamed <= 2 * len(scored)
