"""PII evaluation: ``guardrails eval FILE --task pii [--profile NAME] [--json]``.

The file is JSON Lines, one record per line: ``{"id", "text", "spans": [{"start", "end",
"entity_type"}]}`` with Python string offsets (``end`` exclusive).

Type mapping (the file's type -> the library's type)::

    PERSON -> PERSON            GPE -> LOCATION            STREET_ADDRESS -> LOCATION
    LOCATION -> LOCATION        EMAIL_ADDRESS, CREDIT_CARD, IBAN_CODE, IP_ADDRESS, US_SSN,
                                PHONE_NUMBER, US_DRIVER_LICENSE -> themselves

STREET_ADDRESS maps to LOCATION because an address is the location PII we redact; GPE maps
to LOCATION too, although the general preset only redacts a place given as an address
("I live in ..."), so LOCATION recall measures that choice. Ignored types (not PII for the
library by default): ORGANIZATION, NRP, DATE_TIME, TITLE, AGE, ZIP_CODE, DOMAIN_NAME. Any other
type is refused with an error naming its line (a misspelled ``EMAIL`` would otherwise be dropped
from the count without a word).

The profile must run the pii detector: a profile without ``detectors.pii``, or with it
disabled, redacts nothing, and is refused rather than measured with a detector it does not run.
``--profile`` may also name a PII preset (configs/pii/) that is not a profile.

Span matching is overlap-based: a gold span is found when a prediction of the same mapped
type overlaps it by at least one character; a prediction is a true positive when it overlaps
a gold span of its type, is not counted when it overlaps only gold spans of ignored types
(a ZIP code inside an address, an organisation), and is a false positive otherwise. The
``leaked`` column counts gold spans that no PII prediction of any type overlaps: the values
that would reach the model verbatim.

The run also reports the share of ordinary prompts that the detector would alter: on the
library's own PII-free prompts (configs/pii/eval/ordinary_prompts.jsonl, target <= 2%) and on
the classifier's benign exemplars (configs/classifier/exemplars/benign_general.jsonl, label
``safe``; many of those ask to write to a named person at an address, so part of that share
is correct redaction), and p50/p95 latency per record (see :mod:`guardrails.evaluation.latency`). Nothing from
the files is printed but counts and ids.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeGuard

from guardrails._paths import configs_dir
from guardrails.errors import ProfileError
from guardrails.evaluation.jsonl import jsonl_objects, row_id, shown
from guardrails.evaluation.latency import latency_summary

TYPE_MAP: dict[str, str] = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "STREET_ADDRESS": "LOCATION",
    "LOCATION": "LOCATION",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_SSN": "US_SSN",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
}
IGNORED_TYPES: tuple[str, ...] = ("ORGANIZATION", "NRP", "DATE_TIME", "TITLE", "AGE", "ZIP_CODE", "DOMAIN_NAME")
TARGET_TYPES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "PHONE_NUMBER",
    "PERSON",
    "LOCATION",
    "US_DRIVER_LICENSE",
)
#: (min recall, min precision) per type
TARGETS: dict[str, tuple[float, float]] = {
    "EMAIL_ADDRESS": (0.98, 0.90),
    "CREDIT_CARD": (0.98, 0.90),
    "IBAN_CODE": (0.98, 0.90),
    "IP_ADDRESS": (0.98, 0.90),
    "US_SSN": (0.98, 0.90),
    "PHONE_NUMBER": (0.98, 0.90),
    "PERSON": (0.85, 0.0),
}
BENIGN_TARGET = 0.02


def benign_prompts_path() -> Path:
    """The classifier's benign exemplars (label ``safe``); some of them carry real PII on purpose."""
    return configs_dir() / "classifier" / "exemplars" / "benign_general.jsonl"


def ordinary_prompts_path() -> Path:
    """This library's own ordinary prompts with no PII in them (configs/pii/eval/ordinary_prompts.jsonl)."""
    return configs_dir() / "pii" / "eval" / "ordinary_prompts.jsonl"


def _detector_for(profile: str) -> tuple[Any, tuple[str, ...]]:
    """The profile's PII detector and the stages it runs on; ``profile`` may also name a PII preset (configs/pii/)
    that is not a profile. A profile that does not run the pii detector is a ValueError."""
    from guardrails.detectors.pii import PIIDetector, PIIOptions
    from guardrails.pii.yaml_recognizers import builtin_presets
    from guardrails.profiles import load_profile

    try:
        prof = load_profile(profile)
    except ProfileError:
        if profile in builtin_presets():
            return PIIDetector(options=PIIOptions(preset=profile)), ("input", "output")
        raise
    spec = prof.detectors.get("pii")
    if spec is None:
        raise ValueError(f"profile {profile} does not redact PII: it has no detectors.pii")
    if not spec.enabled:
        raise ValueError(f"profile {profile} does not redact PII: detectors.pii is disabled")
    return PIIDetector(options=PIIOptions.model_validate(spec.options)), tuple(spec.stages)


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) of each row of ``path``."""
    rows = []
    for n, obj in jsonl_objects(path):
        if not isinstance(obj, dict):
            raise ValueError(f"{path}:{n}: a row must be a JSON object")
        rows.append((n, obj))
    return rows


def _offset(value: object) -> TypeGuard[int]:
    """An integer offset: true/false are ints to Python, not to a JSON file."""
    return isinstance(value, int) and not isinstance(value, bool)


def _read_pii_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a PII evaluation file, validated: a string ``text`` and well-formed ``spans`` of known types.

    Errors name the file's line (blank lines count) and repeat a type only when it is a name (see ``shown``).
    """
    rows = []
    for n, row in jsonl_objects(path):
        where = f"{path}:{n}"
        if not isinstance(row, dict):
            raise ValueError(f"{where}: a row must be a JSON object")
        text = row.get("text")
        if not isinstance(text, str):
            raise ValueError(f"{where}: a row needs a string 'text'")
        spans = row.get("spans", [])
        if not isinstance(spans, list):
            raise ValueError(f"{where}: 'spans' must be a list, got {type(spans).__name__}")
        for span in spans:
            if not isinstance(span, dict) or not isinstance(span.get("entity_type"), str):
                raise ValueError(f"{where}: each span needs a string 'entity_type'")
            kind = span["entity_type"]
            if kind not in TYPE_MAP and kind not in IGNORED_TYPES:
                raise ValueError(
                    f"{where}: span type {shown(kind)} is not one this eval knows; scored: {', '.join(TYPE_MAP)}; "
                    f"ignored: {', '.join(IGNORED_TYPES)}"
                )
            start, end = span.get("start"), span.get("end")
            if not (_offset(start) and _offset(end) and 0 <= start < end <= len(text)):
                raise ValueError(
                    f"{where}: span {shown(kind)} needs integer offsets with "
                    f"0 <= start < end <= {len(text)}, got start={shown(start)}, end={shown(end)}"
                )
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows (every line is blank)")
    return rows


def _f2(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 5 * p * r / (4 * p + r)


def score_records(rows: Sequence[dict[str, Any]], predictions: Sequence[Sequence[Any]]) -> dict[str, dict[str, Any]]:
    """Per-type counts and rates for gold rows and predicted findings (same order).

    A rate with nothing to count is None, as in the policy task: precision of a type never predicted, recall of a
    type not in the file, and F2 when either is None.
    """
    tp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    ptp: Counter[str] = Counter()
    pfp: Counter[str] = Counter()
    for row, preds in zip(rows, predictions, strict=True):
        gold = [(int(s["start"]), int(s["end"]), str(s["entity_type"])) for s in row.get("spans", [])]
        mapped = [(s, e, TYPE_MAP[t]) for s, e, t in gold if t in TYPE_MAP]
        ignored = [(s, e) for s, e, t in gold if t not in TYPE_MAP]
        spans = [(f.start, f.end, f.label) for f in preds if f.start is not None]
        for s, e, t in mapped:
            if any(ps < e and s < pe and pt == t for ps, pe, pt in spans):
                tp[t] += 1
            else:
                fn[t] += 1
            if not any(ps < e and s < pe for ps, pe, _ in spans):
                leaked[t] += 1
        for ps, pe, pt in spans:
            if any(ps < e and s < pe and t == pt for s, e, t in mapped):
                ptp[pt] += 1
            elif any(ps < e and s < pe for s, e in ignored) and not any(ps < e and s < pe for s, e, _ in mapped):
                continue
            else:
                pfp[pt] += 1
    out: dict[str, dict[str, Any]] = {}
    for t in sorted(set(tp) | set(fn) | set(ptp) | set(pfp)):
        support = tp[t] + fn[t]
        recall = tp[t] / support if support else None
        predicted = ptp[t] + pfp[t]
        precision = ptp[t] / predicted if predicted else None
        f2 = _f2(precision, recall) if precision is not None and recall is not None else None
        out[t] = {
            "support": support,
            "found": tp[t],
            "leaked": leaked[t],
            "predicted": predicted,
            "false_positives": pfp[t],
            "precision": None if precision is None else round(precision, 4),
            "recall": None if recall is None else round(recall, 4),
            "f2": None if f2 is None else round(f2, 4),
        }
    return out


def _meets(rate: float | None, minimum: float) -> bool:
    """Whether a rate reaches its target; a rate with nothing to count (None) reaches none but 0."""
    return minimum == 0.0 if rate is None else rate >= minimum


def _cell(rate: float | None, width: int) -> str:
    return f"{'n/a' if rate is None else f'{rate:.3f}':>{width}}"


def benign_altered(detector: Any, path: Path | None = None) -> dict[str, Any] | None:
    """Share of ordinary prompts (label ``safe``) in which the detector finds anything; the altered ones by id (a
    row without one by its line number)."""
    from guardrails.detectors.base import DetectContext

    path = path or benign_prompts_path()
    if not path.is_file():
        return None
    rows = [(n, r) for n, r in _read_jsonl(path) if r.get("label", "safe") == "safe" and r.get("text")]
    texts = [r["text"] for _, r in rows]
    if not texts:
        return None
    found = detector.detect_batch(texts, [DetectContext() for _ in texts])
    altered = [f for f in found if f]
    by_type: Counter[str] = Counter(x.label for fs in altered for x in fs)
    return {
        "file": str(path),
        "prompts": len(texts),
        "altered": len(altered),
        "share": round(len(altered) / len(texts), 4),
        "by_entity": dict(by_type.most_common()),
        "altered_ids": [row_id(r, n, f"{path}:{n}") for (n, r), f in zip(rows, found, strict=True) if f],
        "target": BENIGN_TARGET,
    }


def run_pii_eval(
    path: Path,
    *,
    profile: str = "general",
    as_json: bool = False,
    ordinary_prompts: Path | None = None,
    benign_prompts: Path | None = None,
) -> int:
    """Evaluate the profile's PII detector on ``path``; print a table (or JSON). Returns 0 when the run completes.

    ``ordinary_prompts`` and ``benign_prompts`` are the files of prompts it should leave alone (default: the
    library's own, ``ordinary_prompts_path()`` and ``benign_prompts_path()``).
    """
    from guardrails.detectors.base import DetectContext

    rows = _read_pii_rows(Path(path))
    detector, stages = _detector_for(profile)
    detector.warmup()
    latencies: list[float] = []
    predictions = []
    for row in rows:
        t0 = time.perf_counter()
        predictions.append(detector.detect(str(row.get("text", "")), DetectContext()))
        latencies.append((time.perf_counter() - t0) * 1000)
    scores = score_records(rows, predictions)
    file_types = Counter(str(s["entity_type"]) for r in rows for s in r.get("spans", []))
    ignored_present = sorted(t for t in file_types if t not in TYPE_MAP)
    benign = benign_altered(detector, benign_prompts)
    ordinary = benign_altered(detector, ordinary_prompts or ordinary_prompts_path())
    latency = latency_summary(latencies)
    checks = {}
    for t, (min_r, min_p) in TARGETS.items():
        s = scores.get(t)
        if s is not None and s["support"]:
            checks[t] = _meets(s["recall"], min_r) and _meets(s["precision"], min_p)
    if ordinary is not None:
        checks["ordinary_prompts_altered"] = ordinary["share"] <= BENIGN_TARGET
    other = {t: v for t, v in scores.items() if t not in TARGET_TYPES}
    report = {
        "file": str(path),
        "records": len(rows),
        "profile": profile,
        "pii_stages": list(stages),
        "entities": list(detector.entities),
        "mapping": TYPE_MAP,
        "ignored_types": ignored_present,
        "matching": "overlap: same mapped type, >= 1 character in common",
        "per_entity": {t: scores[t] for t in TARGET_TYPES if t in scores},
        "other_predictions": other,
        "latency_ms": latency,
        "ordinary_prompts": ordinary,
        "benign_exemplars": benign,
        "targets_met": checks,
    }
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"PII eval: {path} ({len(rows)} records), profile {profile!r} (redacts PII on: {', '.join(stages)})")
    print("mapping: " + ", ".join(f"{k}->{v}" for k, v in TYPE_MAP.items() if k != v) + " (others map to themselves)")
    print("ignored types: " + (", ".join(ignored_present) or "none"))
    print("matching: a gold span is found when a prediction of the same mapped type overlaps it")
    header = f"{'entity':<18}{'support':>8}{'found':>7}{'leaked':>7}{'pred':>6}{'FP':>5}"
    print(header + f"{'prec':>7}{'recall':>8}{'F2':>7}  target")
    for t in TARGET_TYPES:
        s = scores.get(t)
        if s is None:
            continue
        target = ""
        if t in TARGETS and s["support"]:
            min_r, min_p = TARGETS[t]
            target = ("ok" if checks.get(t) else "MISSED") + f" (R>={min_r}" + (f", P>={min_p})" if min_p else ")")
        print(
            f"{t:<18}{int(s['support']):>8}{int(s['found']):>7}{int(s['leaked']):>7}{int(s['predicted']):>6}"
            f"{int(s['false_positives']):>5}{_cell(s['precision'], 7)}{_cell(s['recall'], 8)}{_cell(s['f2'], 7)}"
            f"  {target}"
        )
    for t, s in other.items():
        dashes = f"{'-':>8}{'-':>7}{'-':>7}"
        print(f"{t:<18}{dashes}{int(s['predicted']):>6}{int(s['false_positives']):>5}   (type not in the file)")
    print(f"latency per record: p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms")
    if ordinary is not None:
        status = "ok" if ordinary["share"] <= BENIGN_TARGET else "MISSED"
        print(
            f"ordinary prompts without PII altered: {ordinary['altered']}/{ordinary['prompts']} "
            f"= {ordinary['share']:.1%} (target <= {BENIGN_TARGET:.0%}: {status}); "
            f"by entity: {ordinary['by_entity']}; ids: {ordinary['altered_ids']}"
        )
    if benign is None:
        print(f"benign exemplars: {benign_prompts or benign_prompts_path()} not found; not measured")
    else:
        print(
            f"benign classifier exemplars altered: {benign['altered']}/{benign['prompts']} = {benign['share']:.1%} "
            f"(many carry real names, emails and phones on purpose: this share counts correct redactions too); "
            f"by entity: {benign['by_entity']}"
        )
    return 0
