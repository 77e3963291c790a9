"""Stage 1 of the fit: adapt the encoder to the policy task with low-rank adapters (LoRA).

Frozen MiniLM embeddings put "how do I kill a Python process" and "how do I kill my
neighbour" close together: sentence similarity is not intent. Here the encoder itself
learns the task. Every adapted linear layer (see :data:`guardrails.encoder_adapter.TARGETS`)
gets a trainable low-rank update; the base weights stay frozen. Training: mean-pooled,
L2-normalised embeddings times ``HEAD_SCALE`` into a linear softmax over the classes
(a cosine classifier), weighted cross-entropy (the row weights of the fit, classes
balanced by the square root of their frequency), AdamW with warm-up and linear decay.

Only the adapter is kept: the classifier heads are fitted afterwards on the adapted
embeddings by :mod:`guardrails.classifier.fit`, exactly as they are computed at run time.
Repeatable on one machine: fixed seeds and a fixed thread count; float reductions can
differ across CPUs, so the shipped artefact is stored with its hash.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guardrails.encoder_adapter import iter_targets

__all__ = ["TuneSettings", "tune_adapter"]

RANK = 16
ALPHA = 32.0
EPOCHS = 3
LEARNING_RATE = 1e-3
BATCH = 32
WARMUP_STEPS = 50
#: training texts are cut at this many tokens (the exemplars are short; run time is not cut)
MAX_TRAIN_TOKENS = 96
#: the cosine classifier's temperature
HEAD_SCALE = 20.0
SEED = 0
#: adapters tuned with seeds SEED, SEED+1, ... and averaged (see ``encoder_adapter.average_adapters``)
SOUP = 2


class TuneSettings:
    """The settings of one tuning run (recorded in model.json)."""

    def __init__(
        self,
        *,
        rank: int = RANK,
        alpha: float = ALPHA,
        epochs: int = EPOCHS,
        learning_rate: float = LEARNING_RATE,
        batch: int = BATCH,
        seed: int = SEED,
        soup: int = SOUP,
    ) -> None:
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank!r}")
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs!r}")
        if not 0 < learning_rate < 1:
            raise ValueError(f"learning_rate must be in (0, 1), got {learning_rate!r}")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch!r}")
        if soup < 1:
            raise ValueError(f"soup must be >= 1, got {soup!r}")
        self.rank, self.alpha, self.epochs = rank, float(alpha), epochs
        self.learning_rate, self.batch, self.seed = learning_rate, batch, seed
        self.soup = soup

    def with_seed(self, seed: int) -> TuneSettings:
        """The same settings for one run (no soup) with another seed."""
        run = copy.copy(self)
        run.seed, run.soup = seed, 1
        return run

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "alpha": self.alpha,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "batch": self.batch,
            "seed": self.seed,
            "soup": self.soup,
            "max_train_tokens": MAX_TRAIN_TOKENS,
            "head_scale": HEAD_SCALE,
            "targets": "query,key,value,attn_out,ffn_in,ffn_out",
        }


def tune_adapter(
    texts: Sequence[str],
    labels: np.ndarray,
    weights: np.ndarray,
    n_classes: int,
    *,
    settings: TuneSettings | None = None,
    model_path: Path | None = None,
    threads: int | None = None,
    quiet: bool = False,
) -> dict[str, np.ndarray]:
    """Train LoRA adapters for the encoder on ``texts``; return the adapter arrays (see ``encoder_adapter``)."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    from guardrails._files import file_sha256
    from guardrails._threads import default_threads
    from guardrails.embeddings import default_model_path

    s = settings or TuneSettings()
    if len(texts) != len(labels) or len(texts) != len(weights):
        raise ValueError(f"tune_adapter got {len(texts)} texts, {len(labels)} labels, {len(weights)} weights")
    path = model_path or default_model_path()
    torch.set_num_threads(threads or default_threads())
    torch.manual_seed(s.seed)
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_TRAIN_TOKENS)
    bert = AutoModel.from_pretrained(str(path), attn_implementation="eager")
    for p in bert.parameters():
        p.requires_grad_(False)

    scale = s.alpha / s.rank
    adapters: dict[str, tuple[Any, Any]] = {}

    class _LoRA(torch.nn.Module):
        def __init__(self, linear: Any, key: str) -> None:
            super().__init__()
            self.linear = linear
            self.A = torch.nn.Parameter(torch.randn(s.rank, linear.in_features) / math.sqrt(linear.in_features))
            self.B = torch.nn.Parameter(torch.zeros(linear.out_features, s.rank))
            adapters[key] = (self.A, self.B)

        def forward(self, x: Any) -> Any:
            return self.linear(x) + (x @ self.A.T @ self.B.T) * scale

    for key, parent, linear, attr in list(iter_targets(bert)):
        setattr(parent, attr, _LoRA(linear, key))
    head = torch.nn.Linear(bert.config.hidden_size, n_classes)

    def embed(batch: Sequence[str]) -> Any:
        encs = tok.encode_batch(list(batch))
        width = max(len(e.ids) for e in encs)
        ids = torch.zeros(len(encs), width, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = torch.tensor(e.ids)
            mask[i, : len(e.ids)] = 1
        hidden = bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).float()
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)

    params = [p for pair in adapters.values() for p in pair] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=s.learning_rate, weight_decay=0.01)
    y = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    class_w = torch.tensor((counts.sum() / (n_classes * np.maximum(counts, 1))) ** 0.5, dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_w, reduction="none")
    steps_per_epoch = math.ceil(len(y) / s.batch)
    total = s.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / WARMUP_STEPS) * max(0.0, 1.0 - k / total)
    )
    rng = np.random.default_rng(s.seed)
    w = np.asarray(weights, dtype=np.float32)
    t0 = time.time()
    bert.train()
    if not quiet:
        print(
            f"tune: seed {s.seed}, {len(y)} rows, {s.epochs} epochs of {steps_per_epoch} steps (minutes each on a CPU)",
            file=sys.stderr,
        )
    tick = max(1, steps_per_epoch // 10)  # a progress line about every tenth of an epoch
    for epoch in range(s.epochs):
        order = rng.permutation(len(y))
        running = 0.0
        for step, start in enumerate(range(0, len(order), s.batch), start=1):
            idx = order[start : start + s.batch]
            logits = head(embed([texts[i] for i in idx]) * HEAD_SCALE)
            loss = (loss_fn(logits, torch.from_numpy(y[idx])) * torch.from_numpy(w[idx])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += float(loss.item())
            if not quiet and step % tick == 0 and step < steps_per_epoch:
                print(
                    f"tune: epoch {epoch + 1}/{s.epochs} step {step}/{steps_per_epoch} ({time.time() - t0:.0f}s)",
                    file=sys.stderr,
                )
        if not quiet:
            print(
                f"tune: epoch {epoch + 1}/{s.epochs} loss {running / steps_per_epoch:.4f} ({time.time() - t0:.0f}s)",
                file=sys.stderr,
            )
    arrays: dict[str, np.ndarray] = {
        "scale": np.array(scale, dtype=np.float64),
        "base_sha256": np.array(file_sha256(path / "model.safetensors")),
    }
    for key, (a, b) in sorted(adapters.items()):
        arrays[f"A.{key}"] = a.detach().numpy().astype(np.float32).copy()
        arrays[f"B.{key}"] = b.detach().numpy().astype(np.float32).copy()
    return arrays
