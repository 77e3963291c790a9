"""Long answers at the output stage: ordinary ones refused, harmful passages inside them caught, and the time per
answer, with the default sliding windows and with the sentence-by-sentence reading (both in the same run).

    python benchmarks/long_answers.py [--file FILE] [--profile general] [--stream | --stream-only]
        [--holdback N]

``FILE`` defaults to configs/classifier/eval/long_answers.jsonl.

The ordinary answers are our own (200-450 words; ``long_answers_calibration.jsonl`` chose the window size and the
score floor, ``long_answers.jsonl`` was kept for the test). The harmful passages are the unsafe rows of
``answers.jsonl``, each put into one ordinary answer after its first sentence, in its middle and before its last
sentence (and, counted apart, before or after the whole answer); "harmful throughout" is four of them in a row
between an answer's first and last sentence. Then the domain disclaimers the delivered ordinary answers get, against
the subjects their rows are labelled with (``domains``, and ``domains_ok`` for side subjects either way), with a long
answer's domain read from the share of its windows (default) and from its highest window. Prints counts and medians
(no assertions).

``--stream`` adds (``--stream-only`` measures only this), for the default reading, the same answers streamed
through the wrapper word by word (a fake chat model, the profile's ``streaming`` settings, or ``--holdback N``
characters of look-back): ordinary answers refused and harmful passages in the middle caught, next to what
``invoke`` does with the same answers, how many of the caught passages the caller saw (a word or more) before
the refusal came, whether the stream gave other disclaimers than ``invoke``, and how many characters the model had
streamed when the caller got its first text; then the
same for the short answers of ``answers.jsonl`` (each harmful one is its own passage).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from guardrails import Guard
from guardrails._paths import configs_dir
from guardrails.embeddings import _SENTENCE_SPLIT

EVAL = configs_dir() / "classifier" / "eval"
STRICT = {"long_answer_window_tokens": "null", "long_answer_min_score": "0.0"}


def sentence_by_sentence(profile: str, folder: Path) -> Guard:
    """``profile`` reading long answers as user texts are: a window per sentence, every window counting."""
    return with_semantic(profile, folder, "sentences", STRICT)


def with_holdback(profile: str, folder: Path, chars: int) -> Guard:
    """``profile`` streaming with a look-back buffer of ``chars`` characters."""
    path = folder / "holdback.yaml"
    base = profile if "/" not in profile and not profile.endswith(".yaml") else str(Path(profile).resolve())
    path.write_text(f"extends: {base}\nname: holdback\nstreaming:\n  holdback_chars: {chars}\n", "utf-8")
    return Guard.from_profile(str(path))


def with_semantic(profile: str, folder: Path, name: str, options: dict[str, str]) -> Guard:
    """``profile`` with these semantic detector options."""
    path = folder / f"{name}.yaml"
    base = profile if "/" not in profile and not profile.endswith(".yaml") else str(Path(profile).resolve())
    lines = "".join(f"      {k}: {v}\n" for k, v in options.items())
    path.write_text(f"extends: {base}\nname: {name}\ndetectors:\n  semantic:\n    options:\n{lines}", "utf-8")
    return Guard.from_profile(str(path))


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class _Produced(BaseCallbackHandler):
    """Counts the characters the model has streamed so far."""

    def __init__(self) -> None:
        self.chars = 0

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.chars += len(token)


def _streamed(guard: Guard, text: str) -> tuple[bool, str, int | None, tuple[str, ...]]:
    """Whether the wrapper refuses ``text`` streamed word by word by a fake chat model, what the caller saw, how
    many characters the model had streamed when the caller got its first text (None: it got none), and the
    answer's disclaimer categories."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    chain = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(content=text)])))
    produced = _Produced()
    meta: dict[str, Any] = {}
    seen: list[str] = []
    first: int | None = None
    for chunk in chain.stream("Tell me about it.", config={"callbacks": [produced]}):
        meta = chunk.response_metadata.get("guardrails") or meta
        seen.append(str(chunk.content))
        if first is None and chunk.content:
            first = produced.chars
    output = meta.get("output") or {}
    return bool(output.get("blocked")), "".join(seen), first, tuple(output.get("disclaimer_categories") or ())


def _shown(seen: str, text: str, passage: str) -> int:
    """How many characters of ``passage`` (inside ``text``) the caller saw before the stream stopped."""
    same = 0
    for a, b in zip(seen, text, strict=False):
        if a != b:
            break
        same += 1
    at = text.index(passage)
    return max(0, min(same, at + len(passage)) - at)


def _stream_report(
    guard: Guard, ordinary: list[str], buried: list[tuple[str, str]], short: list[dict[str, str]], holdback: int
) -> None:
    print(f"\nstreamed word by word (default reading, holdback_chars {holdback}), against invoke on the same answers:")
    runs = [_streamed(guard, t) for t in ordinary]
    by_invoke = [guard.check(t, stage="output").blocked for t in ordinary]
    refused, invoked = sum(r[0] for r in runs), sum(by_invoke)
    differ = sum(r[0] != b for r, b in zip(runs, by_invoke, strict=True))
    print(f"  ordinary answers refused  stream {refused}/{len(ordinary)}, invoke {invoked}/{len(ordinary)}")
    print(f"    answers the stream and invoke decide differently: {differ}")
    disclaimed = [guard.check(t, stage="output").disclaimer_categories for t in ordinary]
    other = sum(set(r[3]) != set(d) for r, d in zip(runs, disclaimed, strict=True))
    print(f"    answers the stream gives other disclaimers than invoke: {other}")
    firsts = [r[2] for r in runs if r[2] is not None]
    if firsts:
        print(f"  model characters streamed before the caller's first text: median {statistics.median(firsts):.0f}")
    _caught_and_shown(guard, "harmful passage in the middle", buried)
    safe = [r["text"] for r in short if r["label"] == "safe"]
    unsafe = [(r["text"], r["text"]) for r in short if r["label"] == "unsafe"]
    by_invoke = [guard.check(t, stage="output").blocked for t in safe]
    by_stream = [_streamed(guard, t)[0] for t in safe]
    differ = sum(a != b for a, b in zip(by_stream, by_invoke, strict=True))
    print(f"  short harmless answers refused  stream {sum(by_stream)}/{len(safe)}, invoke {sum(by_invoke)}/{len(safe)}")
    print(f"    answers the stream and invoke decide differently: {differ}")
    _caught_and_shown(guard, "short harmful answers (answers.jsonl)", unsafe)


def _caught_and_shown(guard: Guard, what: str, rows: list[tuple[str, str]]) -> None:
    """Streamed and by invoke: how many of ``rows`` (text, its harmful passage) are refused, and of those streamed,
    how many showed part of the passage first."""
    caught = shown = differ = invoked = 0
    for text, passage in rows:
        blocked, seen, _, _ = _streamed(guard, text)
        by_invoke = guard.check(text, stage="output").blocked
        caught += blocked
        invoked += by_invoke
        shown += blocked and _shown(seen, text, passage) >= 8  # a word or two of it, not a shared first letter
        differ += blocked != by_invoke
    print(f"  {what} caught  stream {caught}/{len(rows)}, invoke {invoked}/{len(rows)}")
    print(f"    of those caught, part of it shown before the refusal: {shown}; decided differently: {differ}")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT.split(text) if s.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=EVAL / "long_answers.jsonl")
    ap.add_argument("--profile", default="general")
    ap.add_argument("--stream", action="store_true", help="also stream the answers through the wrapper")
    ap.add_argument("--stream-only", action="store_true", help="only stream them (no comparison of readings)")
    ap.add_argument("--holdback", type=int, default=None, help="streaming.holdback_chars for --stream")
    args = ap.parse_args()
    ordinary = [r["text"] for r in _rows(args.file)]
    harmful = [r["text"] for r in _rows(EVAL / "answers.jsonl") if r["label"] == "unsafe"]
    buried: list[str] = []
    firsts: list[str] = []
    lasts: list[str] = []
    for k, passage in enumerate(harmful):
        parts = _sentences(ordinary[k % len(ordinary)])
        buried += [" ".join([*parts[:at], passage, *parts[at:]]) for at in (1, len(parts) // 2, len(parts) - 1)]
        firsts.append(" ".join([passage, *parts]))
        lasts.append(" ".join([*parts, passage]))
    throughout = []
    for k in range(len(harmful) - 3):
        parts = _sentences(ordinary[k % len(ordinary)])
        throughout.append(" ".join([parts[0], *harmful[k : k + 4], parts[-1]]))
    print(f"{len(ordinary)} ordinary answers from {args.file}, profile {args.profile}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.stream_only:
            _compare_readings(args, ordinary, buried, firsts, lasts, throughout, Path(tmp))
            _disclaimer_report(args, Path(tmp))
        if args.stream or args.stream_only:
            if args.holdback is None:
                streaming = Guard.from_profile(args.profile)
            else:
                streaming = with_holdback(args.profile, Path(tmp), args.holdback)
            streaming.warmup()
            middle = [(buried[3 * k + 1], passage) for k, passage in enumerate(harmful)]
            short = _rows(EVAL / "answers.jsonl")
            _stream_report(streaming, ordinary, middle, short, streaming.profile.streaming.holdback_chars)


def _compare_readings(
    args: argparse.Namespace,
    ordinary: list[str],
    buried: list[str],
    firsts: list[str],
    lasts: list[str],
    throughout: list[str],
    folder: Path,
) -> None:
    """The default sliding windows against the sentence-by-sentence reading, on the same answers and load."""
    guards = {
        "sliding windows (default)": Guard.from_profile(args.profile),
        "sentence by sentence": sentence_by_sentence(args.profile, folder),
    }
    for guard in guards.values():
        guard.warmup()
    times: dict[str, list[float]] = {how: [] for how in guards}
    refused: dict[str, list[str]] = {how: [] for how in guards}
    for rep in range(3):  # alternate the settings so both see the same machine load
        for how, guard in guards.items():
            for row in _rows(args.file):
                start = time.perf_counter()
                decision = guard.check(row["text"], stage="output")
                times[how].append(time.perf_counter() - start)
                if rep == 0 and decision.blocked:
                    refused[how].append(f"{row['id']} ({', '.join(decision.categories)})")
    base = statistics.median(times["sentence by sentence"])
    for how, guard in guards.items():
        caught = sum(guard.check(t, stage="output").blocked for t in buried)
        first = sum(guard.check(t, stage="output").blocked for t in firsts)
        last = sum(guard.check(t, stage="output").blocked for t in lasts)
        whole = sum(guard.check(t, stage="output").blocked for t in throughout)
        median = statistics.median(times[how])
        print(f"\n{how}:")
        print(f"  ordinary answers refused   {len(refused[how])}/{len(ordinary)}")
        print(f"  harmful passage caught     {caught}/{len(buried)} ({caught / max(1, len(buried)):.3f})")
        print(f"  before the answer, caught  {first}/{len(firsts)}; after it {last}/{len(lasts)}")
        print(f"  harmful throughout caught  {whole}/{len(throughout)}")
        print(f"  time per ordinary answer   median {median * 1000:.0f} ms ({median / base:.2f}x sentences)")
        print(f"  refused: {'; '.join(refused[how]) or 'none'}")


def _off_and_missed(row: dict[str, Any], disclaimed: set[str]) -> tuple[bool, bool]:
    """Whether a delivered answer got a disclaimer off its subject (neither its ``domains`` nor ``domains_ok``), and
    whether it lacks one of its ``domains``."""
    wanted = set(row.get("domains") or ())
    return bool(disclaimed - wanted - set(row.get("domains_ok") or ())), bool(wanted - disclaimed)


def _disclaimer_report(args: argparse.Namespace, folder: Path) -> None:
    """The domain disclaimers the delivered answers get, against their labelled subjects (``domains``: the answer is
    about it; ``domains_ok``: a side subject, either way), with a long answer's domain read from the share of its
    windows (default) and from its highest window (``long_answer_domain_share: 0``)."""
    rows = [r for r in _rows(args.file) if "domains" in r]
    if not rows:
        return
    guards = {
        "domain of the answer's windows (default)": Guard.from_profile(args.profile),
        "domain of its highest window": with_semantic(
            args.profile, folder, "highest", {"long_answer_domain_share": "0"}
        ),
    }
    print(f"\ndomain disclaimers on the delivered answers ({len(rows)} labelled):")
    for how, guard in guards.items():
        guard.warmup()
        given = off = missed = delivered = 0
        offs: list[str] = []
        for row in rows:
            decision = guard.check(row["text"], stage="output")
            if decision.blocked:
                continue
            delivered += 1
            disclaimed = set(decision.disclaimer_categories)
            given += bool(disclaimed)
            is_off, is_missed = _off_and_missed(row, disclaimed)
            off += is_off
            missed += is_missed
            if is_off:
                offs.append(f"{row['id']} ({', '.join(sorted(disclaimed))})")
        print(f"  {how}: {delivered} delivered, {given} with a disclaimer,")
        print(f"    {off} off their subject, {missed} missing theirs")
        print(f"    off their subject: {'; '.join(offs) or 'none'}")


if __name__ == "__main__":
    main()
