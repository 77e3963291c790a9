"""Toxicity detector speed: ms per message and per batch, for whichever real Detoxify model is present.

    .venv/bin/python benchmarks/toxicity.py [--repeats 20] [--models original,unbiased]
                                            [--checkpoint PATH --config DIR]
    .venv/bin/python benchmarks/toxicity.py --stream N [--window-chars CHARS]

For each requested model the detector loads as a profile would configure it (checkpoint in
the torch hub cache, or ``--checkpoint``/``--config``); a model that cannot be loaded prints
"unavailable" with the reason. A tiny hand-set BERT checkpoint (tests/helpers/tiny_detoxify.py)
is timed in the same run as a labelled plumbing baseline: it measures windowing, batching,
tokenization and Detoxify's predict path, not a real model's cost; real-model rows also
print their ratio to it. Medians over ``--repeats`` runs (machines here are shared and noisy).

``--stream N`` counts instead what a streamed answer costs the detector against ``invoke``: the first N ordinary
answers of ``configs/classifier/eval/long_answers_calibration.jsonl`` go through the general profile (the tiny
checkpoint, taking 512 tokens as the real ones do, in place of ``original``) by a fake chat model, invoked and
streamed word by word, and the windows and characters the detector scores are counted (``--window-chars`` sets
``streaming.window_chars``). A real model's time grows with both (one window of up to 1,000 characters, about 250
word pieces, costs a BERT-base model some 250-340 ms here, README "Toxicity"); counts, not times, so the machine's
noise does not enter. It prints as well the wall time the streamed answers took (seconds, total and median per
answer, the first answer's stream run once before to load the models; and the part of it spent in the toxicity
detector's checks), how many characters were shown before the answer ended (the rest waits for the last check),
and ``--decisions PATH`` writes per answer
the final decisions of invoke and stream (action and categories of each stage's last decision, no text) as JSON
lines, to compare two versions of the detector.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from guardrails.detectors.base import DetectContext  # noqa: E402
from guardrails.detectors.toxicity import RELEASES, ToxicityDetector, ToxicityOptions  # noqa: E402
from guardrails.errors import DetectorError, DetectorUnavailable  # noqa: E402
from guardrails.streaming import StreamScreen  # noqa: E402
from guardrails.taxonomy import load_taxonomy  # noqa: E402
from tests.helpers.tiny_detoxify import TinyDetoxify, build_tiny_detoxify, filler_text  # noqa: E402

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


class _Counted:
    """Counts the windows and characters ``ToxicityDetector`` scores while installed, and the seconds its checks
    take (``detect_batch``)."""

    def __init__(self) -> None:
        self.windows = 0
        self.chars = 0
        self.seconds = 0.0
        self._inner = ToxicityDetector._predict
        self._detect = ToxicityDetector.detect_batch

    def __enter__(self) -> _Counted:
        inner, detect = self._inner, self._detect

        def counting(det: ToxicityDetector, windows: list[str], loaded: Any) -> list[dict[str, float]]:
            self.windows += len(windows)
            self.chars += sum(len(w) for w in windows)
            return inner(det, windows, loaded)

        def timed(det: ToxicityDetector, texts: Any, ctxs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return detect(det, texts, ctxs)
            finally:
                self.seconds += time.perf_counter() - t0

        ToxicityDetector._predict = counting  # type: ignore[method-assign]
        ToxicityDetector.detect_batch = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        ToxicityDetector._predict = self._inner  # type: ignore[method-assign]
        ToxicityDetector.detect_batch = self._detect  # type: ignore[method-assign]


class _Flushes:
    """Adds up, while installed, the characters streams had shown when their answer ended (``StreamScreen.flush``)."""

    def __init__(self) -> None:
        self.released = 0
        self._inner = StreamScreen.flush

    def __enter__(self) -> _Flushes:
        inner = self._inner

        def flush(screen: StreamScreen) -> str:
            if screen.check_part is not None:  # the answer's lane, not a context key's
                self.released += screen.released
            return inner(screen)

        StreamScreen.flush = flush  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        StreamScreen.flush = self._inner  # type: ignore[method-assign]


def _final(decisions: list[Any]) -> dict[str, list[Any]]:
    """Per stage, the action and categories of the last decision of ``decisions`` (no text)."""
    out: dict[str, list[Any]] = {}
    for d in decisions:
        out[d.stage.value] = [d.action.name, sorted(d.categories)]
    return out


def _stream_costs(
    tiny: TinyDetoxify, folder: Path, n: int, window_chars: int | None, *, decisions: Path | None = None
) -> None:
    """Windows and characters the toxicity detector scores for answers invoked and streamed (``--stream``)."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from guardrails import Guard
    from guardrails._paths import configs_dir

    rows = (configs_dir() / "classifier" / "eval" / "long_answers_calibration.jsonl").read_text("utf-8").splitlines()
    answers = [json.loads(r)["text"] for r in rows if r.strip()][:n]
    profile = folder / "tiny-toxicity.yaml"
    profile.write_text(
        "extends: general\nname: tiny-toxicity\ndetectors:\n  toxicity:\n    on_error: block\n    options:\n"
        f"      checkpoint: {tiny.checkpoint}\n      huggingface_config_path: {tiny.config_dir}\n"
        + (f"streaming:\n  window_chars: {window_chars}\n" if window_chars else ""),
        "utf-8",
    )
    guard = Guard.from_profile(str(profile))
    warm = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=answers[0])])))
    for _ in warm.stream("Tell me about it."):  # models load here, outside the timed runs
        pass
    seconds: list[float] = []
    detector_seconds: list[float] = []
    shown_early = [0, 0]  # characters shown before the stream's last chunk, characters shown
    records: list[dict[str, Any]] = []
    ratios: list[float] = []
    char_ratios: list[float] = []
    totals = [0, 0, 0, 0]
    for text in answers:
        counts = []
        record: dict[str, Any] = {}
        for mode in ("invoke", "stream"):
            made: list[Any] = []
            chain = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=text)])), on_decision=made.append)
            with _Counted() as c:
                if mode == "invoke":
                    chain.invoke("Tell me about it.")
                else:
                    t0 = time.perf_counter()
                    with _Flushes() as f:
                        for _ in chain.stream("Tell me about it."):
                            pass
                    seconds.append(time.perf_counter() - t0)
                    detector_seconds.append(c.seconds)
                    shown_early = [shown_early[0] + f.released, shown_early[1] + len(text)]
            counts.append((c.windows, c.chars))
            record[mode] = _final(made)
        records.append(record)
        (wi, ci), (ws, cs) = counts
        totals = [totals[0] + wi, totals[1] + ws, totals[2] + ci, totals[3] + cs]
        ratios.append(ws / wi)
        char_ratios.append(cs / ci)
    lengths = sorted(len(a) for a in answers)
    print(
        f"{len(answers)} answers of {lengths[0]}-{lengths[-1]} characters (median {statistics.median(lengths):.0f}), "
        f"general profile, input and output checks, streaming.window_chars {window_chars or 'default'}"
    )
    print(
        f"windows scored: invoke {totals[0]}, stream {totals[1]}; per answer stream/invoke median "
        f"{statistics.median(ratios):.1f}x (range {min(ratios):.1f}-{max(ratios):.1f})"
    )
    print(
        f"characters scored: invoke {totals[2]}, stream {totals[3]}; per answer stream/invoke median "
        f"{statistics.median(char_ratios):.1f}x"
    )
    print(
        f"stream wall time: total {sum(seconds):.2f} s, per answer median {statistics.median(seconds):.3f} s; "
        f"in the toxicity detector: total {sum(detector_seconds):.3f} s, per answer median "
        f"{statistics.median(detector_seconds) * 1000:.1f} ms"
    )
    print(f"characters shown before the answer ended: {shown_early[0]} of {shown_early[1]}")
    if decisions is not None:
        decisions.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--models", default=",".join(RELEASES), help="comma-separated Detoxify model names")
    parser.add_argument("--checkpoint", type=Path, help="a local Detoxify checkpoint to time as well")
    parser.add_argument("--config", type=Path, help="its local config/tokenizer folder")
    parser.add_argument("--stream", type=int, default=0, help="count the windows N streamed answers cost instead")
    parser.add_argument("--window-chars", type=int, default=None, help="streaming.window_chars for --stream")
    parser.add_argument("--decisions", type=Path, default=None, help="with --stream: write the final decisions here")
    args = parser.parse_args()
    logging.getLogger("guardrails").setLevel(logging.ERROR)  # the unavailable rows say it already
    taxonomy = load_taxonomy()

    with tempfile.TemporaryDirectory() as tmp:
        tiny = build_tiny_detoxify(Path(tmp))
        if args.stream > 0:  # windows of the real models' size: 512 tokens, as Detoxify's BERT and ALBERT take
            _stream_costs(
                build_tiny_detoxify(Path(tmp), model_max_length=512, name="tiny512"),
                Path(tmp),
                args.stream,
                args.window_chars,
                decisions=args.decisions,
            )
            return
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
