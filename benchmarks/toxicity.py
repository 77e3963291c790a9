"""Toxicity detector speed: ms per message and per batch, for whichever real Detoxify model is present.

    .venv/bin/python benchmarks/toxicity.py [--repeats 20] [--models original,unbiased]
                                            [--checkpoint PATH --config DIR]

For each requested model the detector loads as a profile would configure it (checkpoint in
the torch hub cache, or ``--checkpoint``/``--config``); a model that cannot be loaded prints
"unavailable" with the reason. A tiny hand-set BERT checkpoint (tests/helpers/tiny_detoxify.py)
is timed in the same run as a labelled plumbing baseline: it measures windowing, batching,
tokenization and Detoxify's predict path, not a real model's cost; real-model rows also
print their ratio to it. Medians over ``--repeats`` runs (machines here are shared and noisy).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from guardrails.detectors.base import DetectContext  # noqa: E402
from guardrails.detectors.toxicity import RELEASES, ToxicityDetector, ToxicityOptions  # noqa: E402
from guardrails.errors import DetectorError, DetectorUnavailable  # noqa: E402
from guardrails.taxonomy import load_taxonomy  # noqa: E402
from tests.helpers.tiny_detoxify import build_tiny_detoxify, filler_text  # noqa: E402

CTX = DetectContext()
SHORT = "Could you help me plan a three-day trip to Lisbon with a mix of museums, food and a day at the beach?"
BATCH = [f"{SHORT} Variant {i}: what should I pack for the weather in spring?" for i in range(16)]
LONG = filler_text(5000, seed=1) + " " + SHORT
HUGE = filler_text(1_000_000, seed=2)


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _measure(det: ToxicityDetector, repeats: int) -> dict[str, float]:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    det.warmup()
    out["load"] = (time.perf_counter() - t0) * 1000
    out["message"] = _median_ms(lambda: det.detect(SHORT, CTX), repeats)
    out["batch16"] = _median_ms(lambda: det.detect_batch(BATCH, [CTX] * len(BATCH)), max(3, repeats // 4))
    out["loop16"] = _median_ms(lambda: [det.detect(t, CTX) for t in BATCH], max(3, repeats // 4))
    out["long5k"] = _median_ms(lambda: det.detect(LONG, CTX), max(3, repeats // 4))
    out["huge1mb"] = _median_ms(lambda: det.detect(HUGE, CTX), 3)
    return out


def _row(label: str, m: dict[str, float], base: dict[str, float] | None) -> str:
    cells = [
        f"load {m['load']:8.1f}",
        f"msg {m['message']:7.2f}",
        f"batch16 {m['batch16']:8.2f} ({m['batch16'] / 16:6.2f}/msg)",
        f"loop16 {m['loop16']:8.2f}",
        f"5k {m['long5k']:8.2f}",
        f"1MB {m['huge1mb']:8.1f}",
    ]
    line = f"{label:<28}" + "  ".join(cells) + "  ms"
    if base is not None:
        line += f"\n{'':<28}x tiny baseline: msg {m['message'] / base['message']:.1f}, batch16 "
        line += f"{m['batch16'] / base['batch16']:.1f}, 5k {m['long5k'] / base['long5k']:.1f}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--models", default=",".join(RELEASES), help="comma-separated Detoxify model names")
    parser.add_argument("--checkpoint", type=Path, help="a local Detoxify checkpoint to time as well")
    parser.add_argument("--config", type=Path, help="its local config/tokenizer folder")
    args = parser.parse_args()
    logging.getLogger("guardrails").setLevel(logging.ERROR)  # the unavailable rows say it already
    taxonomy = load_taxonomy()

    with tempfile.TemporaryDirectory() as tmp:
        tiny = build_tiny_detoxify(Path(tmp))
        tiny_det = ToxicityDetector.from_options(
            ToxicityOptions(checkpoint=tiny.checkpoint, download=False), taxonomy=taxonomy
        )
        base = _measure(tiny_det, args.repeats)
        windows = len(tiny_det.windows(LONG)), len(tiny_det.windows(HUGE))
        print(f"windows: 5k text {windows[0]}, 1 MB text {windows[1]} (window_chars 1000, overlap 200, max 32)")
        print(_row("tiny checkpoint (plumbing)", base, None))

        candidates: list[tuple[str, ToxicityOptions]] = [
            (name, ToxicityOptions(model=name, download=False))  # type: ignore[arg-type]
            for name in args.models.split(",")
            if name
        ]
        if args.checkpoint is not None:
            candidates.append(
                (str(args.checkpoint), ToxicityOptions(checkpoint=args.checkpoint, huggingface_config_path=args.config))
            )
        for label, opts in candidates:
            det = ToxicityDetector.from_options(opts, taxonomy=taxonomy)
            try:
                m = _measure(det, args.repeats)
            except DetectorUnavailable as exc:
                reason = str(exc).split(". To provide it offline")[0]
                print(f"{label:<28}unavailable ({reason})")
                continue
            except DetectorError as exc:
                print(f"{label:<28}error ({exc})")
                continue
            print(_row(label, m, base))


if __name__ == "__main__":
    main()
