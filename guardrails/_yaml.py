"""YAML read errors that point at the place, not at the content (a mistyped path may name a file of user data)."""

from __future__ import annotations

import yaml

__all__ = ["describe_yaml_error"]


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """``invalid YAML at line L, column C: <problem>``, without PyYAML's quote of the offending text."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
