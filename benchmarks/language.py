"""Time of the language detection: a 60-word English message and 100,000 characters of English prose.

    python benchmarks/language.py [--runs 9]

Prints the median (and min) over ``--runs`` runs of :func:`guardrails.language.detect_language` alone, and of the
detection over every view the semantic detector judges (the views made by :func:`guardrails.normalize.views`, as the
detector makes them; the making of the views is not timed), measured in the same run (machines here are shared and
noisy). The texts are written here; no data set is read.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from guardrails.language import detect_language, load_identifier
from guardrails.normalize import views

MESSAGE = (
    "Hi, I am planning a small garden behind our house this spring and would like some advice. The soil is "
    "heavy clay, the spot gets about six hours of sun, and I want tomatoes, beans and a few herbs. Which plants "
    "should go together, how far apart should they be, and what should I add to the soil before planting?"
)
PROSE = (
    "The committee met on Tuesday to review the draft budget for the coming year. Several members asked "
    "whether the library could keep its longer opening hours, and the treasurer explained how the new "
    "heating system would lower the running costs over the next decade. "
)


def _time(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out), min(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    identifier = load_identifier()
    long_text = (PROSE * (100_000 // len(PROSE) + 1))[:100_000]
    print(f"message: {len(MESSAGE.split())} words; long text: {len(long_text):,} characters")
    for name, text in (("60-word message", MESSAGE), ("100,000 characters", long_text)):
        made = [v for _, v in views(text, mask_encoded=True)]
        med, low = _time(lambda t=text: detect_language(t, identifier), args.runs)  # type: ignore[misc]
        print(f"{name:>20}  detect_language   median {med:9.3f} ms  min {low:9.3f} ms")
        med, low = _time(lambda m=made: [detect_language(v, identifier) for v in m], args.runs)  # type: ignore[misc]
        print(f"{name:>20}  over {len(made)} view(s)   median {med:9.3f} ms  min {low:9.3f} ms")


if __name__ == "__main__":
    main()
