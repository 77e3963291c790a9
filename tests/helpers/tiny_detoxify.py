"""Build a tiny Detoxify-format checkpoint inside a test's tmp_path.

Detoxify 0.5.4 loads a checkpoint with ``torch.load`` and expects a dict::

    {"config": {"arch": {"args": {"model_type": ..., "model_name": ..., "tokenizer_name": ..., "num_classes": N}},
                "dataset": {"args": {"classes": [...]}}},
     "state_dict": {...}}

``model_type`` is handed to ``transformers`` ``from_pretrained`` (config and tokenizer), so
here it names a local folder holding a tiny BERT config and a small-vocab tokenizer.

The weights are not random: they are set by hand so the model is a *trigger detector*.
A label's score is high (about 0.98) exactly when one of its trigger words occurs anywhere
in the (untruncated part of the) input, and low (about 0.02 or less) otherwise. That makes
windowing testable with the real loading and predict code: a trigger hidden behind
padding longer than the model's maximum length is invisible to one truncated pass and
visible to the window that holds it.

How: each label owns one hidden dimension; every token embedding is zero except the
trigger words, whose embedding is 1 on the dimensions of the labels they raise; attention
queries and keys are zero, so [CLS] attends uniformly to all tokens;
values and the attention output are the identity, and the LayerNorm after them is scale
invariant, so a single trigger among hundreds of zero tokens still reaches a full-size
activation on its dimension. The feed-forward block is zero, the pooler is the identity
followed by tanh, and each classifier row reads its label's dimension.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Detoxify's own class names (it renames toxic/identity_hate/severe_toxic when loading).
DEFAULT_CLASSES: tuple[str, ...] = (
    "toxic",
    "severe_toxic",
    "obscene",
    "threat",
    "insult",
    "identity_hate",
    "sexual_explicit",
)

#: trigger word -> Detoxify label names it raises (after Detoxify's renaming)
DEFAULT_TRIGGERS: Mapping[str, tuple[str, ...]] = {
    "zorp": ("toxicity", "threat"),
    "blick": ("toxicity", "sexual_explicit"),
    "quux": ("toxicity", "identity_attack"),
}

_RENAMES = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
_FILLER_WORDS = ("the", "a", "and", "of", "to", "is", "in", "it", "you", "that", "lorem", "ipsum", "hello", "world")


@dataclass(frozen=True)
class TinyDetoxify:
    """Paths of a built tiny checkpoint and what it responds to."""

    checkpoint: Path
    config_dir: Path
    labels: tuple[str, ...]
    triggers: Mapping[str, tuple[str, ...]]
    model_max_length: int


def build_tiny_detoxify(
    root: Path,
    *,
    classes: Sequence[str] = DEFAULT_CLASSES,
    triggers: Mapping[str, Sequence[str]] = DEFAULT_TRIGGERS,
    model_max_length: int = 128,
    model_type: str | None = None,
    name: str = "tiny",
) -> TinyDetoxify:
    """Write ``root/<name>-hf/`` (config + tokenizer) and ``root/<name>.ckpt``; return their paths.

    ``model_type`` overrides the name stored in the checkpoint (default: the local folder);
    pass a hub name such as ``"bert-base-uncased"`` to reproduce the real checkpoints' catch.
    """
    import importlib

    import torch

    tf: Any = importlib.import_module("transformers")  # typed loosely: its stubs vary across versions

    root = Path(root)
    config_dir = root / f"{name}-hf"
    config_dir.mkdir(parents=True, exist_ok=True)
    labels = tuple(_RENAMES.get(c, c) for c in classes)
    trigger_words = list(triggers)
    unknown = {lab for labs in triggers.values() for lab in labs} - set(labels)
    if unknown:
        raise ValueError(f"triggers name labels not in classes: {sorted(unknown)}")

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *_FILLER_WORDS, *trigger_words]
    (config_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    if "vocab" in inspect.signature(tf.BertTokenizerFast.__init__).parameters:  # transformers >= 5
        tokenizer = tf.BertTokenizerFast(
            vocab={tok: i for i, tok in enumerate(vocab)}, do_lower_case=True, model_max_length=model_max_length
        )
    else:  # transformers 4.x
        tokenizer = tf.BertTokenizerFast(
            vocab_file=str(config_dir / "vocab.txt"), do_lower_case=True, model_max_length=model_max_length
        )
    tokenizer.save_pretrained(config_dir)

    hidden = max(8, len(labels) + len(labels) % 2)
    config = tf.BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=4,
        max_position_embeddings=model_max_length,
        num_labels=len(labels),
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    config.save_pretrained(config_dir)

    model: Any = tf.BertForSequenceClassification(config)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        # every LayerNorm: weight 1, bias 0
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.fill_(1.0)
        bert = model.bert
        eye = torch.eye(hidden)
        for word in trigger_words:
            for label in triggers[word]:
                bert.embeddings.word_embeddings.weight[vocab.index(word), labels.index(label)] = 1.0
        layer = bert.encoder.layer[0]
        layer.attention.self.value.weight.copy_(eye)
        layer.attention.output.dense.weight.copy_(eye)
        bert.pooler.dense.weight.copy_(eye)
        model.classifier.bias.fill_(-4.0)
        for i in range(len(labels)):
            model.classifier.weight[i, i] = 8.0

    checkpoint = root / f"{name}.ckpt"
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": model_type or str(config_dir),
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizerFast",
                        "num_classes": len(labels),
                    }
                },
                "dataset": {"args": {"classes": list(classes)}},
            },
            "state_dict": model.state_dict(),
        },
        checkpoint,
    )
    return TinyDetoxify(
        checkpoint=checkpoint,
        config_dir=config_dir,
        labels=labels,
        triggers={w: tuple(ls) for w, ls in triggers.items()},
        model_max_length=model_max_length,
    )


def filler_text(n_chars: int, *, seed: int = 0) -> str:
    """Harmless padding of about ``n_chars`` characters made of in-vocabulary words (no triggers)."""
    import random

    rng = random.Random(seed)
    words: list[str] = []
    size = 0
    while size < n_chars:
        w = rng.choice(_FILLER_WORDS)
        words.append(w)
        size += len(w) + 1
    return " ".join(words)[:n_chars]
