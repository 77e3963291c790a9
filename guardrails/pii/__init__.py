"""PII support: recognizers beyond Presidio's defaults, YAML-declared recognizers, the vault and streaming.

Importing this package is cheap. Modules that need Presidio or spaCy
(:mod:`guardrails.pii.recognizers`, :mod:`guardrails.pii.yaml_recognizers`) import them at
their top and are only imported lazily by :mod:`guardrails.detectors.pii`.
"""

from __future__ import annotations
