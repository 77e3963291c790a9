"""Evaluation of profiles on labelled data: ``guardrails eval`` (see :mod:`guardrails.evaluation.cli`)."""

from __future__ import annotations

__all__: list[str] = []
