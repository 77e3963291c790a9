"""Two artefacts over one embedding: prohibited scores from one, crisis and domain scores from the other.

The shipped input artefact is a softmax over benign and every category, so rows added to teach it one
thing move every group: the everyday-register rows that taught the crisis heads urgency, not grammar
(an ordinary symptom or a bad day told as a statement is no crisis), also cost the prohibited group a
little recall on harmful requests when fitted into the same softmax. ``crisis-model.npz`` is that fit,
on the same encoder adapter, and lends its crisis and domain scores to the shipped model, whose
prohibited scores stay as they were. Both read the same embedding, so it costs one more pass of the
small heads and neighbour search, not a second encoder run.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from guardrails.classifier.model import ClassifierModel

__all__ = ["LENT_KINDS", "CombinedModel"]

#: the kinds of category whose scores the second artefact lends
LENT_KINDS = frozenset({"crisis", "domain"})


class CombinedModel:
    """``main``'s scores, with the crisis and domain categories scored by ``lender``.

    Offers what the semantic detector reads of an artefact: ``categories``, ``adapter``, ``meta`` and
    ``scores``. ValueError when the two were fitted on different encoder adapters (their embeddings
    would differ) or the lender lacks one of ``main``'s crisis or domain categories.
    """

    def __init__(self, main: ClassifierModel, lender: ClassifierModel) -> None:
        if _adapter_sha(main) != _adapter_sha(lender):
            raise ValueError(
                "crisis_model: it was fitted on another encoder adapter than the model it lends to "
                f"({_adapter_sha(lender) or 'none'} vs {_adapter_sha(main) or 'none'}); re-fit it with "
                "--adapter set to the model's adapter file"
            )
        kinds = dict(zip(main.classes[1:], main.kinds[1:], strict=True))
        lent = [c for c in main.categories if kinds[c] in LENT_KINDS]
        missing = [c for c in lent if c not in lender.categories]
        if missing:
            raise ValueError(f"crisis_model: it does not score {missing}, which the model it lends to knows")
        self.main = main
        self.lender = lender
        self.categories = main.categories
        self.adapter = main.adapter
        self._into = np.array([main.categories.index(c) for c in lent], dtype=np.int64)
        #: the kinds ``main`` scores itself (every category of a lent kind is lent: ``missing`` is empty)
        self._main_kinds = frozenset(main.kinds[1:]) - LENT_KINDS
        self._from = np.array([lender.categories.index(c) for c in lent], dtype=np.int64)
        #: the kinds the lender's lent categories have in its own artefact (the taxonomy's: crisis and domain)
        self._lender_kinds = frozenset(lender.kinds[1 + i] for i in self._from)
        both = f"{main.meta.get('loaded_sha256')}+{lender.meta.get('loaded_sha256')}"
        #: ``loaded_sha256`` names the pair (caches of scores are keyed by it)
        self.meta: dict[str, Any] = {
            **main.meta,
            "loaded_sha256": hashlib.sha256(both.encode()).hexdigest(),
            "model_sha256": main.meta.get("loaded_sha256"),
            "crisis_model_sha256": lender.meta.get("loaded_sha256"),
        }

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """Calibrated per-category scores, shape ``(n, len(categories))``, as :meth:`ClassifierModel.scores`."""
        # each artefact calibrates only the kinds it gives (the rest of its calibration would be overwritten)
        out = self.main.scores(embeddings, kinds=self._main_kinds)
        if len(self._into):
            out[:, self._into] = self.lender.scores(embeddings, kinds=self._lender_kinds)[:, self._from]
        return out

    @property
    def has_support(self) -> bool:
        return self.main.has_support or self.lender.has_support

    def support(self, embeddings: np.ndarray) -> np.ndarray:
        """The nearer of the two artefacts' harmful rows (see :meth:`ClassifierModel.support`): both were fitted
        on harmful exemplars, the lender's of its own kinds. An artefact without an index has no say (its 1.0
        means "no evidence", which would switch every support floor off)."""
        parts = [m.support(embeddings) for m in (self.main, self.lender) if m.has_support]
        if not parts:
            return np.ones(len(embeddings), dtype=np.float32)
        nearer: np.ndarray = np.maximum.reduce(parts)
        return nearer


def _adapter_sha(model: ClassifierModel) -> str | None:
    entry = model.meta.get("adapter")
    return str(entry.get("sha256")) if isinstance(entry, dict) else None
