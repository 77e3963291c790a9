"""The fitted classifier artefact: a softmax over "benign" and every category, calibrated by group.

The artefact holds two small models over MiniLM sentence embeddings, a multinomial
logistic regression and a one-hidden-layer MLP; their class probabilities are
averaged. Scores are then read by group:

* **prohibited**: ``harm = sum of P(c) over prohibited c``; every prohibited category
  whose share of ``harm`` is large enough is reported with score
  ``sigmoid(logit(harm) - logit(t_harm)) * min(1, share / top share)``;
* **crisis**: the same with ``crisis = sum of P(c) over crisis c`` and ``t_crisis``;
* **domain**: each domain on its own, ``sigmoid(logit(P(c)) - logit(t_c))``.

With a neighbour index (the embeddings of the training rows, int8, and their classes),
the class probabilities are a blend: ``(1 - w) * heads + w * neighbours``, where
``neighbours`` is the class share among the ``k`` most similar training rows, weighted
by ``exp((cosine - best cosine) / tau)``. The heads draw one smooth boundary per class;
the neighbours keep the fine local structure of minimal pairs ("kill a process" next
to "kill a person") that a linear boundary smooths over. The search is two-stage, to
read half the bytes of the int8 rows per query (an eighth of float32 rows): the rows
projected on their top 48 singular directions pick 256 candidates, whose exact cosines
(from the int8 rows) pick the neighbours (on our held-out rows, 99.6% of the exact 10
nearest are among the candidates, and the calibrated held-out results equal those of
the exact search but for one row).

Each ``t`` is calibrated on held-out rows at fit time, so a score of 0.5 sits on
the calibrated threshold and a profile's default threshold (0.5) applies as is.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from guardrails._paths import configs_dir

BENIGN = "benign"
#: a prohibited/crisis category is reported when its share of the group is at least this
MIN_SHARE = 0.25
_EPS = 1e-6


def default_model_path() -> Path:
    """configs/classifier/model.npz: the shipped artefact (it judges user turns)."""
    return configs_dir() / "classifier" / "model.npz"


def default_crisis_model_path() -> Path:
    """configs/classifier/crisis-model.npz: the shipped artefact lending its crisis and domain scores to
    model.npz (see guardrails.classifier.combined)."""
    return configs_dir() / "classifier" / "crisis-model.npz"


def default_output_model_path() -> Path:
    """configs/classifier/output-model.npz: the shipped artefact that judges the model's answers."""
    return configs_dir() / "classifier" / "output-model.npz"


def _logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    out: np.ndarray = np.log(q) - np.log1p(-q)
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def _adapter_of(model_path: Path, meta: dict[str, Any]) -> Path | None:
    """The adapter file model.json names (next to the artefact), checked against its recorded sha256."""
    entry = meta.get("adapter")
    if not entry:
        return None
    name = entry.get("file") if isinstance(entry, dict) else None
    if not isinstance(name, str) or Path(name).name != name or "\\" in name:
        raise ValueError(f"classifier artefact: bad 'adapter' entry in {model_path.with_suffix('.json').name}")
    path: Path = model_path.parent / name
    if not path.is_file():
        raise ValueError(f"classifier artefact: its encoder adapter {name!r} is missing")
    from guardrails._files import file_sha256

    if file_sha256(path) != entry.get("sha256"):
        raise ValueError(f"classifier artefact: encoder adapter {name!r} does not match its recorded sha256")
    return path


class ClassifierModel:
    """Calibrated category scores from sentence embeddings (see the module docstring)."""

    ARRAYS = (
        "classes",
        "kinds",
        "lr_coef",
        "lr_bias",
        "mlp_w1",
        "mlp_b1",
        "mlp_w2",
        "mlp_b2",
        "groups",
        "group_thresholds",
    )

    #: the optional neighbour index: int8 rows, their float32 scales, their class ids, the projection of the
    #: candidate search, and (k, tau, weight, candidates)
    INDEX_ARRAYS = ("knn_rows", "knn_scales", "knn_classes", "knn_basis", "knn_settings")
    #: dimensions of the candidate search
    INDEX_DIMS = 48
    #: up to this many queries, the candidate search runs in numpy's own loops, not BLAS: a multi-threaded
    #: BLAS call right after the encoder's ONNX run costs more than it saves for one text
    SMALL_QUERY = 8

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any] | None = None) -> None:
        missing = [k for k in self.ARRAYS if k not in arrays]
        if missing:
            raise ValueError(f"classifier artefact lacks arrays: {', '.join(missing)}")
        has_index = [k in arrays for k in self.INDEX_ARRAYS]
        if any(has_index) and not all(has_index):
            raise ValueError(f"classifier artefact: its neighbour index needs all of {', '.join(self.INDEX_ARRAYS)}")
        for key, value in arrays.items():  # one NaN in a head makes every score of a text compare as "not higher"
            if np.issubdtype(np.asarray(value).dtype, np.floating) and not np.isfinite(value).all():
                raise ValueError(f"classifier artefact: array {key!r} holds values that are not finite numbers")
        self.arrays = arrays
        self.classes = [str(c) for c in arrays["classes"]]
        self.kinds = [str(k) for k in arrays["kinds"]]
        if self.classes[0] != BENIGN or len(self.kinds) != len(self.classes):
            raise ValueError("classifier artefact: classes must start with 'benign' and match kinds")
        self._lr_coef = np.ascontiguousarray(arrays["lr_coef"], dtype=np.float32)
        self._lr_bias = arrays["lr_bias"].astype(np.float32)
        self._w1 = np.ascontiguousarray(arrays["mlp_w1"], dtype=np.float32)
        self._b1 = arrays["mlp_b1"].astype(np.float32)
        self._w2 = np.ascontiguousarray(arrays["mlp_w2"], dtype=np.float32)
        self._b2 = arrays["mlp_b2"].astype(np.float32)
        self.thresholds = {str(g): float(t) for g, t in zip(arrays["groups"], arrays["group_thresholds"], strict=True)}
        self.meta = meta or {}
        #: the encoder adapter these heads were fitted with (None: the frozen encoder)
        self.adapter: Path | None = None
        #: the category ids this model reports, in order (every class but benign)
        self.categories = tuple(self.classes[1:])
        self._prohibited = np.array([k == "prohibited" for k in self.kinds])
        self._crisis = np.array([k == "crisis" for k in self.kinds])
        self._domain = [i for i, k in enumerate(self.kinds) if k == "domain"]
        self._domain_idx = np.array(self._domain, dtype=np.int64)
        self._domain_logit_t = np.array(
            [float(_logit(self.thresholds.get(self.classes[i], 0.5))) for i in self._domain], dtype=np.float64
        )
        for g in ("prohibited", "crisis"):
            if g not in self.thresholds:
                raise ValueError(f"classifier artefact lacks the {g!r} group threshold")
        #: per summed group (its kind), its columns and the logit of its threshold: constants of every scoring call
        self._summed = tuple(
            (group, np.flatnonzero(mask), _logit(self.thresholds[group]))
            for mask, group in ((self._prohibited, "prohibited"), (self._crisis, "crisis"))
            if mask.any()
        )
        self._projected: np.ndarray | None = None
        self._harmful: np.ndarray | None = None
        if all(has_index):
            rows, scales, basis = arrays["knn_rows"], arrays["knn_scales"], arrays["knn_basis"]
            labels = arrays["knn_classes"].astype(np.int64)
            if rows.ndim != 2 or len(scales) != len(rows) or len(labels) != len(rows) or len(rows) < 1:
                raise ValueError("classifier artefact: the neighbour index arrays do not match in length")
            if basis.ndim != 2 or basis.shape[0] != rows.shape[1] or basis.shape[0] != self._lr_coef.shape[1]:
                raise ValueError("classifier artefact: the neighbour index does not match the embedding size")
            if labels.min() < 0 or labels.max() >= len(self.classes):
                raise ValueError("classifier artefact: the neighbour index names a class it does not have")
            settings = [float(v) for v in arrays["knn_settings"]]
            if len(settings) != 4:
                raise ValueError("classifier artefact: knn_settings must hold k, tau, weight and candidates")
            k, tau, weight, candidates = settings
            if not (k >= 1 and tau > 0 and 0.0 <= weight <= 1.0 and candidates >= k):
                raise ValueError(
                    f"classifier artefact: bad neighbour settings k={k}, tau={tau}, weight={weight}, "
                    f"candidates={candidates}"
                )
            self._rows = np.ascontiguousarray(rows, dtype=np.int8)
            self._scales = scales.astype(np.float32)
            self._basis = np.ascontiguousarray(basis, dtype=np.float32)
            # the rows on the candidate search's directions (float32, 4 bytes x INDEX_DIMS each), stored one
            # direction per row: a query times this (INDEX_DIMS, n) matrix reads it in order, about 3x faster
            # for one text than the (n, INDEX_DIMS) layout
            projected = (rows.astype(np.float32) * self._scales[:, None]) @ self._basis
            self._projected = np.ascontiguousarray(projected.T)
            self._labels = labels
            self._k = min(int(k), len(rows))
            self._candidates = min(int(candidates), len(rows))
            self._tau = tau
            self._weight = weight

    # ------------------------------------------------------------------ io
    @classmethod
    def load(cls, path: str | Path | None = None) -> ClassifierModel:
        """Load an artefact written by ``python -m guardrails.classifier.fit``."""
        p = Path(path) if path is not None else default_model_path()
        if not p.is_file():
            raise FileNotFoundError(
                f"classifier artefact {str(p)!r} does not exist; run python -m guardrails.classifier.fit"
            )
        data = p.read_bytes()
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta: dict[str, Any] = {}
        meta_path = p.with_suffix(".json")
        loaded = hashlib.sha256(data).hexdigest()
        if meta_path.is_file():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            recorded = meta.get("npz_sha256")
            if recorded is not None and recorded != loaded:  # heads changed after the fit (or the record did)
                raise ValueError(
                    f"classifier artefact {p.name!r} does not match the npz_sha256 recorded in {meta_path.name!r}; "
                    "refit it with python -m guardrails.classifier.fit"
                )
        elif p.with_name(f"{p.stem}-adapter.npz").is_file():  # heads fitted on an adapted encoder, record lost
            raise ValueError(
                f"classifier artefact {p.name!r} has an encoder adapter beside it but no {meta_path.name!r}, which "
                "records the adapter and its hash: without it the heads would run on the wrong encoder"
            )
        meta["loaded_sha256"] = loaded
        model = cls(arrays, meta)
        model.adapter = _adapter_of(p, meta)
        return model

    def save(self, path: str | Path) -> str:
        """Write the arrays to ``path`` with deterministic bytes; return their sha256."""
        from guardrails._files import write_npz

        order = [*self.ARRAYS, *(k for k in self.INDEX_ARRAYS if k in self.arrays)]
        return write_npz(self.arrays, path, order=order)

    @staticmethod
    def index_arrays(
        embeddings: np.ndarray, classes: np.ndarray, *, k: int, tau: float, weight: float, candidates: int = 256
    ) -> dict[str, Any]:
        """The arrays of a neighbour index over ``embeddings`` (rows quantized to int8 with one scale each,
        and the top singular directions of the rows for the candidate search)."""
        x = np.asarray(embeddings, dtype=np.float32)
        scales = (np.maximum(np.abs(x).max(axis=1), 1e-12) / 127.0).astype(np.float32)
        rows = np.round(x / scales[:, None]).astype(np.int8)
        restored = rows.astype(np.float64) * scales[:, None]
        _, _, vt = np.linalg.svd(restored, full_matrices=False)
        dims = min(ClassifierModel.INDEX_DIMS, vt.shape[0])
        basis = np.zeros((x.shape[1], ClassifierModel.INDEX_DIMS), dtype=np.float32)
        basis[:, :dims] = vt[:dims].T
        return {
            "knn_rows": rows,
            "knn_scales": scales,
            "knn_classes": np.asarray(classes, dtype=np.int16),
            "knn_basis": basis,
            "knn_settings": np.array([k, tau, weight, max(k, candidates)], dtype=np.float64),
        }

    @property
    def has_index(self) -> bool:
        """True when class probabilities blend in the neighbour index."""
        return self._projected is not None

    # ------------------------------------------------------------------ scoring
    def class_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """Averaged class probabilities, shape ``(n, len(classes))``; column 0 is benign."""
        x = np.asarray(embeddings, dtype=np.float32)
        p_lr = _softmax(x @ self._lr_coef.T + self._lr_bias)
        h = np.maximum(x @ self._w1 + self._b1, 0.0)
        p_mlp = _softmax(h @ self._w2 + self._b2)
        out: np.ndarray = (p_lr + p_mlp) / 2.0
        if self._projected is not None and len(x):
            out = (1.0 - self._weight) * out + self._weight * self._neighbours(x)
        return out

    def _neighbours(self, x: np.ndarray) -> np.ndarray:
        """Class shares among the ``k`` nearest index rows (cosine; the embeddings are unit length)."""
        assert self._projected is not None
        q = x @ self._basis
        rough = np.einsum("nd,dm->nm", q, self._projected) if len(x) <= self.SMALL_QUERY else q @ self._projected
        c, k = self._candidates, self._k
        cands = np.argpartition(rough, -c, axis=1)[:, -c:] if c < rough.shape[1] else np.argsort(rough, axis=1)
        out = np.zeros((len(x), len(self.classes)), dtype=np.float32)
        for i, cand in enumerate(cands):
            exact = (self._rows[cand].astype(np.float32) @ x[i]) * self._scales[cand]
            best = np.argpartition(exact, -k)[-k:] if k < len(exact) else np.arange(len(exact))
            near = exact[best]
            w = np.exp((near - near.max()) / self._tau)
            out[i] = np.bincount(self._labels[cand[best]], weights=w / w.sum(), minlength=len(self.classes))
        return out

    @property
    def has_support(self) -> bool:
        """True when :meth:`support` measures something: the artefact has a neighbour index with harmful rows."""
        return self._harmful_rows() is not None

    def support(self, embeddings: np.ndarray) -> np.ndarray:
        """Per embedding, the cosine of its nearest harmful row of the neighbour index (a prohibited or crisis
        exemplar the artefact was fitted on): how much a text resembles a request we know to be harmful. A text
        far from all of them (a sentence of legal or technical prose) is where the heads extrapolate. An artefact
        without an index, or without harmful rows, gives 1.0 (no evidence either way, so nothing is discounted)."""
        x = np.asarray(embeddings, dtype=np.float32)
        harmful = self._harmful_rows()
        if harmful is None or not len(x):
            return np.ones(len(x), dtype=np.float32)
        out: np.ndarray = (x @ harmful.T).max(axis=1)
        return out

    def _harmful_rows(self) -> np.ndarray | None:
        """The index rows of prohibited and crisis classes, dequantized (built once, on first use)."""
        if self._projected is None:
            return None
        if self._harmful is None:
            harm = self._prohibited | self._crisis
            keep = harm[self._labels]
            self._harmful = np.ascontiguousarray(self._rows[keep].astype(np.float32) * self._scales[keep, None])
        return self._harmful if len(self._harmful) else None

    def group_scores(self, probs: np.ndarray) -> dict[str, np.ndarray]:
        """Uncalibrated group probabilities: ``prohibited``, ``crisis`` and each domain id."""
        out = {"prohibited": probs[:, self._prohibited].sum(axis=1), "crisis": probs[:, self._crisis].sum(axis=1)}
        for i in self._domain:
            out[self.classes[i]] = probs[:, i]
        return out

    def scores(self, embeddings: np.ndarray, *, kinds: Collection[str] | None = None) -> np.ndarray:
        """Calibrated per-category scores, shape ``(n, len(categories))``; 0.5 = on the threshold.

        ``kinds`` (default: all) calibrates only the categories of those kinds, the others score 0: a caller
        that takes some kinds from another artefact (guardrails.classifier.combined) skips the rest.
        """
        return self.scores_from_probabilities(self.class_probabilities(embeddings), kinds=kinds)

    def scores_from_probabilities(self, probs: np.ndarray, *, kinds: Collection[str] | None = None) -> np.ndarray:
        """Calibrated per-category scores from class probabilities (see :meth:`scores`)."""
        out = np.zeros((len(probs), len(self.classes)), dtype=np.float64)
        for group, cols, logit_t in self._summed:
            if kinds is not None and group not in kinds:
                continue
            part = probs[:, cols]
            total = part.sum(axis=1)
            calibrated = _sigmoid(_logit(total) - logit_t)
            share = part / np.maximum(total[:, None], _EPS)
            top = share.max(axis=1, keepdims=True)
            rel = np.minimum(1.0, share / np.maximum(top, _EPS))
            rel[share < MIN_SHARE] = 0.0
            rel[share == top] = 1.0
            out[:, cols] = calibrated[:, None] * rel
        if len(self._domain_idx) and (kinds is None or "domain" in kinds):
            out[:, self._domain_idx] = _sigmoid(_logit(probs[:, self._domain_idx]) - self._domain_logit_t)
        return out[:, 1:]
