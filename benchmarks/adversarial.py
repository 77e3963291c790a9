"""Benchmark the guard on long, repetitive inputs built to make pattern matching slow.

Each input repeats a short unit ("a-", "12-", "Ab ", ...) to a small and a 4x larger size and
times ``guard.check`` on both (median of ``--repeat`` runs). Linear work grows about 4x; a
ratio near 16x means quadratic work (as the spelled-out email pattern and the name
propagation once did: 25 s for 48,000 characters of "12-"). Then the same for loading a profile of 4,000 and
16,000 keys over its parent (merging the layers was once quadratic: 14 s for 15,000 keys). Prints a table; no
assertions.

    python benchmarks/adversarial.py [--profile general] [--size 12000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

UNITS = (
    "a-", "12-", "1 ", "a.", "a@", "+1 (", "DE89 ", "Ab ", "Jo ", "x:1:", "1-2 ", "a at ", "a dot ",
    "http://a.", "k i l l ", "a\u200b", "QUJD", "123 Main St. ", "#", "h0wT0", "h0w+", "u8j ",
)  # fmt: skip
#: a label put once before the repeats of a unit (the healthcare MRN pattern once backtracked on "MRN" then "#"s)
PREFIX = {"#": "MRN"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="general")
    parser.add_argument("--size", type=int, default=12_000, help="characters of the small input (the large is 4x)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from guardrails import Guard

    guard = Guard.from_profile(args.profile)
    guard.warmup()
    guard.check("warm up the code paths once")

    def timed(text: str) -> tuple[float, dict[str, float]]:
        runs, timings = [], {}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            decision = guard.check(text)
            runs.append(time.perf_counter() - t0)
            timings = decision.timings_ms
        return statistics.median(runs) * 1000, timings

    print(f"profile {args.profile}; sizes {args.size:,} and {4 * args.size:,} characters; median of {args.repeat}")
    print(f"{'unit':>16s} {'small ms':>9s} {'large ms':>9s} {'ratio':>6s}  slowest detector (large)")
    for unit in UNITS:
        head = PREFIX.get(unit, "")
        small, _ = timed(head + unit * (args.size // len(unit)))
        large, timings = timed(head + unit * (4 * args.size // len(unit)))
        slowest = max(((k, v) for k, v in timings.items() if k != "total"), key=lambda kv: kv[1], default=("-", 0.0))
        flag = "  <- superlinear" if large > 8 * max(small, 1.0) else ""
        ratio = large / max(small, 1e-9)
        print(f"{unit!r:>16s} {small:9.0f} {large:9.0f} {ratio:6.1f}  {slowest[0]} {slowest[1]:.0f} ms{flag}")

    print()
    print(f"{'profile keys':>16s} {'small ms':>9s} {'large ms':>9s} {'ratio':>6s}")
    small, large = (_profile_load_ms(n, args.repeat) for n in (4_000, 16_000))
    flag = "  <- superlinear" if large > 8 * max(small, 1.0) else ""
    print(f"{'4,000 / 16,000':>16s} {small:9.0f} {large:9.0f} {large / max(small, 1e-9):6.1f}{flag}")


def _profile_load_ms(keys: int, repeat: int) -> float:
    """Median ms to load (and refuse: the keys are unknown) a profile of ``keys`` keys that extends ``general``."""
    import tempfile
    from pathlib import Path

    from guardrails import ProfileError, load_profile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.yaml"
        path.write_text("name: big\nextends: general\nredaction:\n" + "".join(f"  k{i}: v\n" for i in range(keys)))
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            with contextlib.suppress(ProfileError):
                load_profile(path)
            runs.append(time.perf_counter() - t0)
    return statistics.median(runs) * 1000


if __name__ == "__main__":
    main()
