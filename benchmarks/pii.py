"""PII redaction speed: the guard with only the PII detector vs plain default Presidio usage.

    .venv/bin/python benchmarks/pii.py [--rounds 60] [--batch 256]

Measured in the same run, interleaved so that noise on this shared machine hits both alike:

* ``guard.check`` (profile "general" reduced to the PII detector) on a 65-word message with
  4 PII items, vs default Presidio usage: ``AnalyzerEngine`` with the same spaCy model (full
  pipeline, all default recognizers) plus ``AnonymizerEngine`` defaults. Prints medians, the
  ratio (target <= 0.8) and the share of the planted PII items each one covers (recall).
* ``guard.check_batch`` of N messages vs a per-message ``guard.check`` loop (target >= 2x), both
  warm (one batch, which starts the PII batch worker processes, and a few single checks run
  before timing), timed alternately ``--repeats`` times; medians are printed.
  Large batches run in the PII detector's worker processes (``batch_workers``, "auto" = one
  per CPU, at most 4); the number used is printed.

The messages are generated here from templates; no evaluation data is used.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

FIRST = ["Maria", "Jonas", "Aisha", "Pedro", "Yuki", "Olga", "Samuel", "Ingrid"]
LAST = ["Lopez", "Becker", "Okafor", "Santos", "Tanaka", "Ivanova", "Mensah", "Larsen"]
CITIES = ["Lisbon", "Hamburg", "Lagos", "Porto", "Osaka", "Kyiv", "Accra", "Bergen"]


def _card(i: int) -> str:
    body = f"4556737586{i:05d}"[:15]
    for d in "0123456789":
        digits = body + d
        total = 0
        for k, ch in enumerate(reversed(digits)):
            n = int(ch) * (2 if k % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return " ".join(digits[j : j + 4] for j in range(0, 16, 4))
    raise AssertionError("unreachable")


def messages(n: int) -> list[tuple[str, list[str]]]:
    """``n`` 65-word messages, each with 4 planted PII values (name, email, phone, card)."""
    out = []
    for i in range(n):
        first, last, city = FIRST[i % 8], LAST[(i * 3) % 8], CITIES[(i * 5) % 8]
        name = f"{first} {last}"
        email = f"{first.lower()}.{last.lower()}{i}@example.com"
        phone = f"+44 20 7946 {1000 + (i * 37) % 9000:04d}"
        card = _card(i)
        text = (
            f"Hello, this is {name} writing from {city} about my order from last week. The parcel never came "
            f"and the tracking page has not changed for six days. Please send the update to {email} or call me "
            f"on {phone}. I paid with the card {card}, so if a refund is easier, use that "
            "card. Thank you for your help."
        )
        out.append((text, [name, email, phone, card]))
    return out


def _median_ms(fn: Callable[[], object], samples: list[float]) -> None:
    t0 = time.perf_counter()
    fn()
    samples.append((time.perf_counter() - t0) * 1000)


def _cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """(CPU-seconds the whole machine has been busy, CPU-seconds of ``pids``), from /proc; (0, 0) elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
        own = 0
        for pid in pids:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            own += int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - ticks[3] - ticks[4]) / hz, own / hz


def _covered(text: str, spans: list[tuple[int, int]], values: list[str]) -> int:
    hit = 0
    for v in values:
        s = text.index(v)
        e = s + len(v)
        if any(a < e and s < b for a, b in spans):
            hit += 1
    return hit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3, help="alternating loop/batch timings (median)")
    args = parser.parse_args()
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    from guardrails import Guard
    from guardrails.detectors.pii import DEFAULT_NER_MODEL
    from guardrails.profiles import DetectorSpec, load_profile

    profile = load_profile("general").model_copy(update={"detectors": {"pii": DetectorSpec()}})
    guard = Guard(profile)
    guard.warmup()
    provider = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": DEFAULT_NER_MODEL}]}
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine())
    anonymizer = AnonymizerEngine()  # type: ignore[no-untyped-call]

    def presidio(text: str) -> tuple[str, list[tuple[int, int]]]:
        results = analyzer.analyze(text=text, language="en")
        anonymizer.anonymize(text=text, analyzer_results=results)  # type: ignore[arg-type]
        return text, [(r.start, r.end) for r in results]

    msgs = messages(max(args.batch, 16))
    words = len(msgs[0][0].split())
    for text, _ in msgs[:5]:  # warm both
        guard.check(text)
        presidio(text)

    ours_ms: list[float] = []
    base_ms: list[float] = []
    for r in range(args.rounds):
        text = msgs[r % len(msgs)][0]
        _median_ms(lambda t=text: guard.check(t), ours_ms)  # type: ignore[misc]
        _median_ms(lambda t=text: presidio(t), base_ms)  # type: ignore[misc]

    ours_hit = base_hit = total = 0
    for text, values in msgs[:32]:
        d = guard.check(text)
        ours_hit += _covered(
            text, [(f.start, f.end) for f in d.findings if f.start is not None and f.end is not None], values
        )
        base_hit += _covered(text, presidio(text)[1], values)
        total += len(values)

    ours, base = statistics.median(ours_ms), statistics.median(base_ms)
    print(f"message: {words} words, 4 PII items (name, email, phone, card); {args.rounds} rounds, interleaved")
    print(f"guard.check (PII only)             median {ours:7.2f} ms   planted PII covered {ours_hit}/{total}")
    print(f"Presidio defaults (analyze+anon.)  median {base:7.2f} ms   planted PII covered {base_hit}/{total}")
    print(f"ratio guard/presidio               {ours / base:7.2f}   (target <= 0.80 at equal or better recall)")

    texts = [t for t, _ in msgs[: args.batch]]
    detector = guard.detector("pii")
    workers = getattr(detector, "batch_workers", 0)
    options = getattr(detector, "options", None)
    guard.check_batch(texts[:64])  # warm the batch path (in the workers when there are any) ...
    for t in texts[:16]:  # ... and the single-check path
        guard.check(t)
    from guardrails.pii.workers import pool_for

    pids = [os.getpid(), *(p.pid for p in pool_for(workers).processes() if p.pid)] if workers else [os.getpid()]
    busy0, own0 = _cpu_seconds(pids)
    loop_runs: list[float] = []
    batch_runs: list[float] = []
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        singles = [guard.check(t) for t in texts]
        loop_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        batch = guard.check_batch(texts)
        batch_runs.append(time.perf_counter() - t0)
    same = [(d.text, d.findings) for d in singles] == [(d.text, d.findings) for d in batch]
    busy1, own1 = _cpu_seconds(pids)
    loop_s, batch_s = statistics.median(loop_runs), statistics.median(batch_runs)
    others = max(0.0, (busy1 - busy0) - (own1 - own0))
    where = f"{workers} worker processes" if workers else "in-process"
    setting = (
        f"batch_workers={options.batch_workers!r}, parallel_min_batch={options.parallel_min_batch}" if options else ""
    )
    print(f"check_batch runs {where} ({setting}; {os.cpu_count()} CPUs); medians of {len(loop_runs)} runs")
    print(
        f"other processes used {others:.1f} CPU-s during the {sum(loop_runs) + sum(batch_runs):.1f} s timed "
        "(near 0 on an idle machine; more means other work shared the CPUs and the timings below are noisy)"
    )
    print(f"check_batch findings and redacted texts identical to the per-message loop: {'yes' if same else 'NO'}")
    print(f"per-message loop of {len(texts)}               {len(texts) / loop_s:8.1f} msg/s")
    print(f"check_batch of {len(texts)}                    {len(texts) / batch_s:8.1f} msg/s")
    t0 = time.perf_counter()
    for t in texts[:64]:
        presidio(t)
    base_rate = 64 / (time.perf_counter() - t0)
    print(f"batch speed-up                     {loop_s / batch_s:7.2f}x  (target >= 2x)")
    gain = len(texts) / batch_s / base_rate
    print(f"Presidio defaults loop (64 msgs)         {base_rate:8.1f} msg/s  (check_batch is {gain:.1f}x that)")


if __name__ == "__main__":
    main()
