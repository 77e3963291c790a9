"""The trained usage-policy classifier: exemplar data, fitting and the fitted model.

``python -m guardrails.classifier.fit`` rebuilds ``configs/classifier/model.npz``
from the exemplars in ``configs/classifier/exemplars/``. :class:`ClassifierModel`
loads the artefact and turns sentence embeddings into calibrated per-category
probabilities (a category's calibrated threshold maps to 0.5).
"""

from __future__ import annotations

from guardrails.classifier.data import Exemplar, load_exemplars
from guardrails.classifier.model import BENIGN, ClassifierModel, default_model_path

__all__ = ["BENIGN", "ClassifierModel", "Exemplar", "default_model_path", "load_exemplars"]
