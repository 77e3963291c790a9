"""Added latency of the wrapper (lexical detector) over the bare fake chain; import time.

    .venv/bin/python benchmarks/overhead.py [--turns 300]

Prints medians and p95 measured in the same run (machines here are shared and noisy).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from guardrails import Guard
from guardrails.profiles import DetectorSpec, load_profile

TEXT = "Could you help me plan a three-day trip to Lisbon with a mix of museums, food and a day at the beach?"


def _time_calls(fn: object, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()
    answers = [AIMessage(content="Day one: Belem and pasteis. Day two: Alfama. Day three: Cascais.")]
    bare = GenericFakeChatModel(messages=iter(answers * (args.turns * 2 + 20)))
    # the wrapper's own overhead with the lexical detector only (the baseline)
    profile = load_profile("general").model_copy(update={"detectors": {"lexical": DetectorSpec()}})
    guard = Guard(profile)
    wrapped = guard.wrap(GenericFakeChatModel(messages=iter(answers * (args.turns * 2 + 20))))
    for _ in range(10):
        bare.invoke(TEXT)
        wrapped.invoke(TEXT)
    base, guarded = [], []
    for _ in range(args.turns):  # interleave so noise hits both alike
        base += _time_calls(lambda: bare.invoke(TEXT), 1)
        guarded += _time_calls(lambda: wrapped.invoke(TEXT), 1)
    added = [g - b for g, b in zip(guarded, base, strict=True)]
    print(f"detectors: {', '.join(guard.profile.detectors_for('input'))}")
    print(f"bare fake chain      p50 {statistics.median(base):7.3f} ms  p95 {_pct(base, 0.95):7.3f} ms")
    print(f"wrapped fake chain   p50 {statistics.median(guarded):7.3f} ms  p95 {_pct(guarded, 0.95):7.3f} ms")
    print(
        f"added per turn       p50 {statistics.median(added):7.3f} ms  p95 {_pct(added, 0.95):7.3f} ms"
        "  (target p50 <= 1 ms)"
    )
    # interleaved, so noise hits each alike: a bare interpreter, the package (lazy), and what every use imports
    statements = {"pass": "pass", "import": "import guardrails", "guard": "from guardrails import Guard"}
    runs: dict[str, list[float]] = {k: [] for k in statements}
    for _ in range(5):
        for key, code in statements.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs[key].append(time.perf_counter() - t0)
    bare = statistics.median(runs["pass"])
    for key, label in (("import", "import guardrails"), ("guard", "from guardrails import Guard")):
        med = statistics.median(runs[key])
        print(f"python -c '{label}': median {med:.3f} s, {med - bare:.3f} s over a bare interpreter (target <= 0.3 s)")


if __name__ == "__main__":
    main()
