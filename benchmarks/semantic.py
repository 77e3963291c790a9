"""Benchmark the semantic detector: ms per 60-word message and check_batch throughput.

Prints a table of medians (no assertions). Baselines measured in the same run: the
bare encoder the detector uses (int8 ONNX with the classifier's adapter merged), the
same encoder in float32 ONNX, and (with --torch) the torch fallback encoder.

    python benchmarks/semantic.py [--repeat 50] [--batch 256] [--profile general] [--torch] [--model PATH]

``--model`` times another classifier artefact (a candidate fit, say).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

MESSAGE = (
    "I have been planning a small vegetable garden for the spring and I would like some advice on which plants "
    "grow well together, how much sunlight tomatoes and peppers really need each day, whether raised beds are "
    "worth the extra cost, and how often I should water the seedlings during a dry and windy week in April"
)

TOPICS = [
    "gardening",
    "tax forms",
    "a birthday party",
    "learning Spanish",
    "fixing a bicycle",
    "a job interview",
    "baking sourdough",
    "a trip to Lisbon",
    "training a puppy",
    "saving for a house",
    "writing a poem",
    "a chemistry exam",
    "repainting a kitchen",
    "running a 10k",
    "a broken laptop",
    "a book club",
]


def batch_texts(n: int) -> list[str]:
    """``n`` distinct ordinary messages of 20-60 words."""
    out = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        words = " ".join(["and some more detail about it"] * (i % 7))
        out.append(f"Message {i}: could you help me think through {topic}? I want practical steps {words}.")
    return out


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def interleaved_medians(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median ms of each function, timed in rounds that call every function once (in a rotating order), so a
    burst of load on a shared machine hits every row alike and their ratios stay comparable."""
    names = list(fns)
    for name in names:
        fns[name]()  # warm
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append((time.perf_counter() - t0) * 1000.0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--profile", default=None, help="also time Guard.check/check_batch with this profile")
    parser.add_argument("--torch", action="store_true", help="also time the torch fallback encoder")
    parser.add_argument("--model", default=None, help="classifier artefact to time (default: the shipped one)")
    args = parser.parse_args()

    from guardrails.detectors.base import DetectContext
    from guardrails.detectors.semantic import SemanticDetector, SemanticOptions
    from guardrails.embeddings import Encoder, get_encoder
    from guardrails.normalize import views

    print(f"message: {len(MESSAGE.split())} words")
    det = SemanticDetector(options=SemanticOptions(model=args.model))
    det.warmup()
    adapter = det.describe()["input_model"]["adapter"]
    print(f"classifier: {args.model or 'shipped'}")
    enc = get_encoder(adapter=adapter).load()
    fp32 = Encoder(adapter=adapter, quantize=False).load()
    rows: list[tuple[str, float, str]] = []
    # baseline in the same rounds: the same detector without the crisis model's second pass of the heads
    alone = SemanticDetector(options=SemanticOptions(model=args.model, crisis_model="none"))
    alone.warmup()
    ms = interleaved_medians(
        {
            "int8": lambda: enc.encode([MESSAGE]),
            "fp32": lambda: fp32.encode([MESSAGE]),
            "views": lambda: views(MESSAGE),
            "detect": lambda: det.detect(MESSAGE, DetectContext(views=views(MESSAGE))),
            "alone": lambda: alone.detect(MESSAGE, DetectContext(views=views(MESSAGE))),
        },
        args.repeat,
    )
    base, fp32_ms, det_ms, alone_ms = ms["int8"], ms["fp32"], ms["detect"], ms["alone"]
    rows.append((f"encoder.encode, 1 text ({enc.backend}, int8)", base, "ms p50"))
    rows.append((f"encoder.encode, 1 text ({fp32.backend}, float32 baseline)", fp32_ms, "ms p50"))
    rows.append(("normalize.views, 1 text", ms["views"], "ms p50"))
    rows.append(("SemanticDetector.detect, 1 text", det_ms, "ms p50"))
    rows.append(("SemanticDetector.detect, 1 text, crisis_model: none (baseline)", alone_ms, "ms p50"))
    texts = batch_texts(args.batch)
    ctxs = [DetectContext(views=views(t)) for t in texts]
    det.detect_batch(texts[:16], ctxs[:16])
    rates = []
    for _ in range(3):
        ctxs = [DetectContext(views=views(t)) for t in texts]
        t0 = time.perf_counter()
        det.detect_batch(texts, ctxs)
        rates.append(args.batch / (time.perf_counter() - t0))
    label = f"SemanticDetector.detect_batch, {args.batch} texts (median of 3)"
    batch_rate = statistics.median(rates)
    rows.append((label, batch_rate, "texts/s"))
    # baseline in the same run: the same windows, one after another on the main session (no lanes)
    windows, _ = enc._windows(texts)
    serial = []
    for _ in range(3):
        t0 = time.perf_counter()
        for w in windows:
            enc._run([w])
        serial.append(args.batch / (time.perf_counter() - t0))
    serial_rate = statistics.median(serial)
    rows.append((f"encoder, {args.batch} texts one by one on one session (baseline)", serial_rate, "texts/s"))
    if args.torch:
        tenc = Encoder(backend="torch", adapter=adapter).load()
        rows.append(
            (
                "torch encoder.encode, 1 text (baseline)",
                median_ms(lambda: tenc.encode([MESSAGE]), args.repeat),
                "ms p50",
            )
        )
    if args.profile:
        from guardrails.guard import Guard

        guard = Guard.from_profile(args.profile)
        try:
            guard.warmup()
        except Exception as exc:
            print(f"warmup: {type(exc).__name__}")
        rows.append(
            (f"Guard.check ({args.profile}), 1 text", median_ms(lambda: guard.check(MESSAGE), args.repeat), "ms p50")
        )
        t0 = time.perf_counter()
        guard.check_batch(texts)
        rows.append(
            (
                f"Guard.check_batch ({args.profile}), {args.batch} texts",
                args.batch / (time.perf_counter() - t0),
                "texts/s",
            )
        )
    width = max(len(r[0]) for r in rows)
    for name, value, unit in rows:
        print(f"{name:{width}s}  {value:9.2f} {unit}")
    print(f"detector overhead over the bare encoder: {det_ms / base:.2f}x ({det_ms - base:.2f} ms)")
    print(f"crisis model cost (same run): {det_ms / alone_ms:.2f}x the detector without it")
    print(f"int8 speed-up over float32 (same run): {fp32_ms / base:.2f}x")
    print(f"detect_batch over the one-by-one encoder baseline (same run): {batch_rate / serial_rate:.2f}x")


if __name__ == "__main__":
    main()
