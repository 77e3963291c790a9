"""The classifier's neighbour index: class shares of the nearest training rows, blended with the heads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from guardrails.classifier.model import ClassifierModel

CLASSES = ["benign", "weapons", "crisis_self_harm"]
KINDS = ["benign", "prohibited", "crisis"]


def unit(rows: list[list[float]]) -> np.ndarray:
    x = np.asarray(rows, dtype=np.float32)
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def heads(dim: int = 4, hidden: int = 3) -> dict[str, np.ndarray]:
    """Heads that say nothing: every class equally likely, whatever the embedding."""
    n = len(CLASSES)
    return {
        "classes": np.array(CLASSES),
        "kinds": np.array(KINDS),
        "lr_coef": np.zeros((n, dim)),
        "lr_bias": np.zeros(n),
        "mlp_w1": np.zeros((dim, hidden)),
        "mlp_b1": np.zeros(hidden),
        "mlp_w2": np.zeros((hidden, n)),
        "mlp_b2": np.zeros(n),
        "groups": np.array(["crisis", "prohibited"]),
        "group_thresholds": np.array([0.5, 0.5]),
    }


INDEX = unit([[1, 0, 0, 0], [0.9, 0.1, 0, 0], [0, 1, 0, 0], [0, 0.9, 0.1, 0], [0, 0, 0, 1]])
LABELS = np.array([1, 1, 0, 0, 2])  # two weapons rows, two benign rows, one crisis row


def model(*, k: int = 2, tau: float = 0.05, weight: float = 0.5) -> ClassifierModel:
    return ClassifierModel({**heads(), **ClassifierModel.index_arrays(INDEX, LABELS, k=k, tau=tau, weight=weight)})


def test_a_text_next_to_harmful_training_rows_leans_to_their_class() -> None:
    probs = model().class_probabilities(unit([[0.95, 0.05, 0, 0]]))
    assert probs[0, 1] == pytest.approx(0.5 / 3 + 0.5, abs=1e-3)  # heads' third plus the neighbours' half
    assert probs.sum() == pytest.approx(1.0)


def test_a_text_next_to_benign_look_alikes_leans_to_benign() -> None:
    probs = model().class_probabilities(unit([[0.05, 0.95, 0, 0]]))
    assert probs[0, 0] > 0.6 and probs[0, 1] < 0.2


def test_closer_neighbours_weigh_more_within_the_k_nearest() -> None:
    near_crisis = unit([[0, 0, 0.2, 1]])
    probs = model(k=3, tau=0.05).class_probabilities(near_crisis)
    assert int(np.argmax(probs[0])) == 2


def test_weight_zero_leaves_the_heads_alone() -> None:
    x = unit([[0.95, 0.05, 0, 0]])
    np.testing.assert_allclose(model(weight=0.0).class_probabilities(x), np.full((1, 3), 1 / 3), atol=1e-6)


def test_an_artefact_without_an_index_scores_with_the_heads_only() -> None:
    plain = ClassifierModel(heads())
    assert not plain.has_index and model().has_index
    np.testing.assert_allclose(plain.class_probabilities(unit([[1, 0, 0, 0]])), np.full((1, 3), 1 / 3), atol=1e-6)


def test_the_index_survives_a_save_and_load_with_the_same_bytes(tmp_path: Path) -> None:
    m = model()
    sha = m.save(tmp_path / "m.npz")
    again = ClassifierModel.load(tmp_path / "m.npz")
    assert again.meta["loaded_sha256"] == sha and again.save(tmp_path / "again.npz") == sha
    x = unit([[0.95, 0.05, 0, 0], [0, 0, 0, 1]])
    np.testing.assert_allclose(again.class_probabilities(x), m.class_probabilities(x), atol=1e-6)


def test_int8_rows_keep_the_neighbours_cosine() -> None:
    arrays = ClassifierModel.index_arrays(INDEX, LABELS, k=2, tau=0.05, weight=0.5)
    assert arrays["knn_rows"].dtype == np.int8
    restored = arrays["knn_rows"].astype(np.float32) * arrays["knn_scales"][:, None]
    assert np.min(np.sum(restored * INDEX, axis=1)) > 0.999


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"knn_classes": np.array([1, 1, 0])}, "do not match in length"),
        ({"knn_classes": np.array([1, 1, 0, 0, 7])}, "names a class"),
        ({"knn_settings": np.array([0.0, 0.05, 0.5, 128])}, "bad neighbour settings"),
        ({"knn_settings": np.array([2.0, 0.05, 1.5, 128])}, "bad neighbour settings"),
        ({"knn_settings": np.array([2.0, 0.05, 0.5])}, "k, tau, weight and candidates"),
        ({"knn_basis": np.zeros((5, 96), dtype=np.float32)}, "embedding size"),
    ],
)
def test_a_broken_index_is_rejected_naming_the_problem(change: dict[str, np.ndarray], message: str) -> None:
    arrays = {**heads(), **ClassifierModel.index_arrays(INDEX, LABELS, k=2, tau=0.05, weight=0.5), **change}
    with pytest.raises(ValueError, match=message):
        ClassifierModel(arrays)


def test_an_index_missing_some_of_its_arrays_is_rejected() -> None:
    arrays = {**heads(), **ClassifierModel.index_arrays(INDEX, LABELS, k=2, tau=0.05, weight=0.5)}
    del arrays["knn_scales"]
    with pytest.raises(ValueError, match="knn_scales"):
        ClassifierModel(arrays)


def test_the_two_stage_search_finds_the_exact_nearest_rows_of_structured_embeddings() -> None:
    rng = np.random.default_rng(0)
    dim, n = 384, 3000
    topics = rng.normal(size=(24, dim))  # embeddings live near a low-dimensional space, as sentence vectors do
    rows = unit((rng.normal(size=(n, 24)) @ topics + 0.3 * rng.normal(size=(n, dim))).tolist())
    labels = rng.integers(0, 3, size=n)
    queries = unit((rng.normal(size=(50, 24)) @ topics + 0.3 * rng.normal(size=(50, dim))).tolist())
    arrays = ClassifierModel.index_arrays(rows, labels, k=10, tau=0.05, weight=1.0)
    fast = ClassifierModel({**heads(dim=dim), **arrays})
    exact_rows = arrays["knn_rows"].astype(np.float32) * arrays["knn_scales"][:, None]
    sims = queries @ exact_rows.T
    top = np.argsort(-sims, axis=1)[:, :10]
    near = np.take_along_axis(sims, top, axis=1)
    w = np.exp((near - near[:, :1]) / 0.05)
    w /= w.sum(axis=1, keepdims=True)
    brute = np.stack([np.bincount(labels[t], weights=ww, minlength=3) for t, ww in zip(top, w, strict=True)])
    np.testing.assert_allclose(fast.class_probabilities(queries), brute, atol=1e-3)


@pytest.mark.parametrize("key", ["lr_bias", "mlp_w1", "group_thresholds"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_heads_holding_a_value_that_is_not_a_finite_number_are_rejected(key: str, bad: float) -> None:
    arrays = heads()
    broken = arrays[key].astype(np.float64)
    broken.flat[0] = bad
    with pytest.raises(ValueError, match=f"array '{key}' holds values that are not finite"):
        ClassifierModel({**arrays, key: broken})
