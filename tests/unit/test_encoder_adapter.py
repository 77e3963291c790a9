"""The encoder adapter: merging LoRA updates into MiniLM, its checks, and the shipped artefact's use of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from guardrails._files import file_sha256
from guardrails.classifier.model import ClassifierModel, default_model_path
from guardrails.detectors.base import DetectContext
from guardrails.detectors.semantic import SemanticDetector, SemanticOptions
from guardrails.embeddings import Encoder, get_encoder
from guardrails.embeddings import default_model_path as minilm_path
from guardrails.encoder_adapter import (
    TARGETS,
    AdapterError,
    average_adapters,
    iter_targets,
    load_adapter,
    merge_adapter,
    save_adapter,
)
from guardrails.errors import DetectorError


@pytest.fixture(scope="module")
def bert():  # type: ignore[no-untyped-def]
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(minilm_path()), attn_implementation="eager").eval()


def _random_adapter(bert, rank: int = 2, seed: int = 0) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {
        "scale": np.array(0.5),
        "base_sha256": np.array(file_sha256(minilm_path() / "model.safetensors")),
    }
    for key, _parent, linear, _attr in iter_targets(bert):
        out_f, in_f = linear.weight.shape
        arrays[f"A.{key}"] = rng.normal(0, 0.05, (rank, in_f)).astype(np.float32)
        arrays[f"B.{key}"] = rng.normal(0, 0.05, (out_f, rank)).astype(np.float32)
    return arrays


def test_every_block_gets_all_six_adapted_layers(bert) -> None:  # type: ignore[no-untyped-def]
    keys = [k for k, *_ in iter_targets(bert)]
    assert len(keys) == 6 * len(bert.encoder.layer)
    assert {k.split(".", 1)[1] for k in keys} == set(TARGETS)


def test_merged_weights_compute_the_low_rank_forward_pass(bert) -> None:  # type: ignore[no-untyped-def]
    import copy

    import torch

    arrays = _random_adapter(bert)
    merged = copy.deepcopy(bert)
    assert merge_adapter(merged, arrays) == 6 * len(bert.encoder.layer)
    x = torch.randn(3, 384)
    lin = bert.encoder.layer[2].attention.self.value
    a, b = torch.from_numpy(arrays["A.2.value"]), torch.from_numpy(arrays["B.2.value"])
    expected = lin(x) + (x @ a.T @ b.T) * 0.5
    got = merged.encoder.layer[2].attention.self.value(x)
    assert torch.allclose(got, expected, atol=1e-5)


def test_an_averaged_adapter_merges_to_the_mean_of_its_members_updates(bert) -> None:  # type: ignore[no-untyped-def]
    import copy

    first, second = _random_adapter(bert, rank=2, seed=1), _random_adapter(bert, rank=3, seed=2)
    soup = average_adapters([first, second])
    assert soup["A.0.query"].shape[0] == 5 and soup["B.0.query"].shape[1] == 5
    merged = {}
    for name, arrays in (("first", first), ("second", second), ("soup", soup)):
        model = copy.deepcopy(bert)
        merge_adapter(model, arrays)
        merged[name] = model.encoder.layer[4].output.dense.weight.detach().numpy()
    base = bert.encoder.layer[4].output.dense.weight.detach().numpy()
    expected = base + ((merged["first"] - base) + (merged["second"] - base)) / 2
    np.testing.assert_allclose(merged["soup"], expected, atol=1e-6)


def test_adapters_with_other_scales_or_layers_are_not_averaged(bert) -> None:  # type: ignore[no-untyped-def]
    first, other_scale = _random_adapter(bert), _random_adapter(bert, seed=1)
    other_scale["scale"] = np.array(1.0)
    with pytest.raises(AdapterError, match="scale"):
        average_adapters([first, other_scale])
    fewer = {k: v for k, v in _random_adapter(bert, seed=2).items() if not k.endswith(".0.query")}
    with pytest.raises(AdapterError, match="same layers"):
        average_adapters([first, fewer])
    with pytest.raises(AdapterError, match="at least one"):
        average_adapters([])


def test_adapter_round_trips_through_its_file_with_stable_bytes(bert, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    arrays = _random_adapter(bert)
    sha1 = save_adapter(arrays, tmp_path / "a.npz")
    sha2 = save_adapter(arrays, tmp_path / "b.npz")
    assert sha1 == sha2 == file_sha256(tmp_path / "a.npz")
    loaded = load_adapter(tmp_path / "a.npz")
    assert set(loaded) == set(arrays) and np.array_equal(loaded["A.0.query"], arrays["A.0.query"])


def test_adapter_for_other_base_weights_is_rejected(bert) -> None:  # type: ignore[no-untyped-def]
    arrays = _random_adapter(bert)
    with pytest.raises(AdapterError, match=r"trained on base weights"):
        merge_adapter(bert, arrays, base_sha256="0" * 64)


def test_adapter_missing_a_layer_or_of_the_wrong_shape_is_rejected(bert) -> None:  # type: ignore[no-untyped-def]
    import copy

    arrays = _random_adapter(bert)
    del arrays["B.5.ffn_out"]
    with pytest.raises(AdapterError, match=r"5\.ffn_out"):
        merge_adapter(copy.deepcopy(bert), arrays)
    arrays = _random_adapter(bert)
    arrays["A.0.key"] = arrays["A.0.key"][:, :100]
    with pytest.raises(AdapterError, match=r"0\.key"):
        merge_adapter(copy.deepcopy(bert), arrays)


def test_unreadable_or_non_finite_adapter_files_are_rejected(bert, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(AdapterError, match="cannot be read"):
        load_adapter(tmp_path / "junk.npz")
    arrays = _random_adapter(bert)
    arrays["A.1.query"][0, 0] = np.nan
    save_adapter(arrays, tmp_path / "nan.npz")
    with pytest.raises(AdapterError, match="non-finite"):
        load_adapter(tmp_path / "nan.npz")


shipped = pytest.mark.skipif(
    ClassifierModel.load().adapter is None if default_model_path().is_file() else True,
    reason="the shipped classifier has no encoder adapter",
)


@shipped
def test_the_shipped_int8_onnx_encoder_agrees_with_float32_torch_on_the_adapted_weights() -> None:
    adapter = ClassifierModel.load().adapter
    texts = ["How do I kill a Python process that hangs?", "Write me a short poem about the sea in winter."]
    onnx_vecs = get_encoder(adapter=adapter).encode(texts)
    torch_vecs = Encoder(backend="torch", adapter=adapter).encode(texts)
    base_vecs = get_encoder().encode(texts)
    cos = (onnx_vecs * torch_vecs).sum(axis=1)
    assert np.all(cos > 0.98), cos
    # the adapter really changes the embedding: the base encoder is further away than int8 noise
    assert np.all((onnx_vecs * base_vecs).sum(axis=1) < cos)


@shipped
def test_an_adapter_that_does_not_match_model_json_fails_closed(tmp_path: Path) -> None:
    src = default_model_path()
    for name in (src.name, src.with_suffix(".json").name, f"{src.stem}-adapter.npz"):
        shutil.copy(src.parent / name, tmp_path / name)
    adapter = tmp_path / f"{src.stem}-adapter.npz"
    arrays = load_adapter(adapter)
    arrays["A.0.query"] = arrays["A.0.query"] * 1.01
    save_adapter(arrays, adapter)
    det = SemanticDetector(options=SemanticOptions(model=str(tmp_path / src.name)))
    with pytest.raises(DetectorError, match="sha256"):
        det.detect("hello there", DetectContext())
    meta = json.loads((tmp_path / src.with_suffix(".json").name).read_text())
    meta["adapter"]["file"] = "../elsewhere.npz"
    (tmp_path / src.with_suffix(".json").name).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="adapter"):
        ClassifierModel.load(tmp_path / src.name)


def test_heads_changed_after_their_fit_or_without_their_record_are_refused(tmp_path: Path) -> None:
    src = default_model_path()
    for f in (src, src.with_suffix(".json"), src.with_name(f"{src.stem}-adapter.npz")):
        shutil.copy(f, tmp_path / f.name)
    copied = tmp_path / src.name
    assert ClassifierModel.load(copied).meta["loaded_sha256"]
    with np.load(copied) as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(copied, **{k: (v * 0 if v.dtype.kind == "f" else v) for k, v in arrays.items()})
    with pytest.raises(ValueError, match="npz_sha256"):
        ClassifierModel.load(copied)
    copied.with_suffix(".json").unlink()
    with pytest.raises(ValueError, match="adapter beside it"):
        ClassifierModel.load(copied)
