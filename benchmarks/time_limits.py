"""What detector time limits (``detector_timeout_s``) cost and what they bound.

    .venv/bin/python benchmarks/time_limits.py [--repeat 60] [--limit 2]

1. The general profile on an ordinary 59-word message, with and without a limit, interleaved in one run:
   the cost of handing each detector call to a worker thread (medians and their ratio).
2. A long input built to be slow to scan (48,000 characters of "12-", see benchmarks/adversarial.py):
   the time to a decision without a limit and with one, and what the limited decision was.
"""

from __future__ import annotations

import argparse
import statistics
import time

from guardrails import Guard
from guardrails.profiles import validate_profile_mapping

MESSAGE = (
    "I have been reading about how compound interest works and I would like to understand how my savings "
    "account grows each month if I deposit a fixed amount, and whether it is better to pay off my credit card "
    "first or to keep investing in an index fund while the interest rate is this high, thanks for the help"
)


def _guard(limit: float | None) -> Guard:
    data: dict[str, object] = {"name": "bench", "extends": "general"}
    if limit is not None:
        data["detector_timeout_s"] = limit
    guard = Guard(validate_profile_mapping(data))
    guard.warmup()
    return guard


def _ms(guard: Guard, text: str) -> float:
    t0 = time.perf_counter()
    guard.check(text)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--limit", type=float, default=2.0, help="seconds, for the slow input")
    args = parser.parse_args()

    free, limited = _guard(None), _guard(30.0)
    a: list[float] = []
    b: list[float] = []
    for i in range(args.repeat):  # interleaved, alternating who goes first
        order = ((free, a), (limited, b)) if i % 2 else ((limited, b), (free, a))
        for guard, out in order:
            out.append(_ms(guard, MESSAGE))
    pa, pb = statistics.median(a), statistics.median(b)
    print(f"ordinary message, {len(MESSAGE.split())} words, general profile, {args.repeat} checks each")
    print(f"  no limit            p50 {pa:7.2f} ms")
    print(f"  with limits (30 s)  p50 {pb:7.2f} ms   ratio {pb / pa:.3f}")

    slow = "12-" * 16_000
    tight = _guard(args.limit)
    t_free = _ms(free, slow)
    t0 = time.perf_counter()
    d = tight.check(slow)
    t_tight = (time.perf_counter() - t0) * 1000
    timed_out = [f.detector for f in d.failures if f.error == "DetectorTimeout"]
    print('48,000 characters of "12-"')
    print(f"  no limit            {t_free:9.0f} ms")
    print(
        f"  limit {args.limit:g} s         {t_tight:9.0f} ms   decision {d.action.name}; timed out: "
        f"{', '.join(timed_out) or 'none'}"
    )


if __name__ == "__main__":
    main()
