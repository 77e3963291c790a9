"""The encoder's ONNX cache: a broken one is built again or fails closed, never swapped for another encoder.

The classifier is fitted on the int8 ONNX encoder; torch's float32 vectors change its decisions (a review found 74
of 3,008 of our evaluation rows decided otherwise) and cost about a hundred times as much per check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from guardrails.embeddings import Encoder, get_encoder
from guardrails.errors import DetectorUnavailable


def test_a_cache_folder_that_cannot_be_made_fails_naming_it_instead_of_running_on_torch(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    encoder = Encoder(cache=blocker / "cache")
    with pytest.raises(DetectorUnavailable, match="GUARDRAILS_CACHE") as info:
        encoder.load()
    assert str(blocker) in str(info.value)
    assert encoder.backend is None  # nothing loaded: no torch model standing in


@pytest.mark.slow
def test_a_cached_model_file_cut_short_is_built_again(tmp_path: Path) -> None:
    shipped = get_encoder().load()
    target = tmp_path / shipped._onnx_path(shipped.weights_sha256 or "").name
    target.write_bytes(b"\x08\x07" + b"\x00" * 1000)  # the start of a file a full disk or a killed export left
    encoder = Encoder(cache=tmp_path).load()
    assert encoder.backend == "onnx"
    assert target.stat().st_size > 1_000_000
    text = ["how do I repot a fern"]
    assert np.allclose(encoder.encode(text), shipped.encode(text), atol=1e-6)


@pytest.mark.parametrize("value", ["abc", "2.5", "0", "-1", "65"])
def test_a_bad_guardrails_threads_value_is_a_detector_error_naming_the_variable(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardrails.detectors.base import DetectContext
    from guardrails.detectors.semantic import SemanticDetector, SemanticOptions
    from guardrails.errors import DetectorError

    monkeypatch.setenv("GUARDRAILS_THREADS", value)
    # backend onnx builds an encoder of its own (the shared one may already exist in this process)
    detector = SemanticDetector(options=SemanticOptions(backend="onnx", crisis_model="none"))
    with pytest.raises(DetectorError, match="GUARDRAILS_THREADS must be a whole number from 1 to 64"):
        detector.detect("hello there", DetectContext())
