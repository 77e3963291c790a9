"""Confidence intervals of the rates `guardrails eval` reports."""

from __future__ import annotations

import pytest

from guardrails.evaluation.intervals import wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (94, 100, (0.8752, 0.9722)),  # reference values of the Wilson score interval
        (0, 10, (0.0, 0.2775)),
        (10, 10, (0.7225, 1.0)),
        (1, 2, (0.0945, 0.9055)),
    ],
)
def test_the_wilson_interval_matches_reference_values(k: int, n: int, expected: tuple[float, float]) -> None:
    assert wilson_interval(k, n) == pytest.approx(expected, abs=1e-4)


def test_the_interval_narrows_as_more_rows_are_measured() -> None:
    small, large = wilson_interval(95, 100), wilson_interval(950, 1000)
    assert small[0] < large[0] < 0.95 < large[1] < small[1]


@pytest.mark.parametrize(
    ("k", "n", "error", "message"),
    [
        (1, 0, ValueError, "n must be >= 1"),
        (11, 10, ValueError, r"successes must be in \[0, n=10\]"),
        (-1, 10, ValueError, "successes must be in"),
        (0.5, 10, TypeError, "must be integers"),
        (True, 10, TypeError, "must be integers"),
    ],
)
def test_impossible_counts_are_rejected_naming_the_value(k: object, n: int, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        wilson_interval(k, n)  # type: ignore[arg-type]
