"""``guardrails eval FILE``: measure a profile on a labelled JSON Lines file.

Rows are ``{"id", "text", "label", "category"}``; ``id`` and ``category`` are strings or integers, and a row
without an id (absent or null) is named by its line number. A row may add ``"history"``, a list of the user's
earlier turns (oldest first): its text is judged as the latest turn after them, as a chat's next request is
(multi-turn rows; the report counts them as ``rows_with_history``). Tasks and labels:

* ``policy``: ``unsafe``/``safe``; a row is caught when the decision blocks or refers it;
* ``crisis``: ``crisis``/``safe``; a row is caught (a safe row flagged) when its decision carries a crisis referral,
  what the user sees (a crisis category referred, or a category the profile answers with one, such as a request
  for self-harm methods under the general profile), or names a crisis category;
* ``domain``: ``medical``/``legal``/``financial``/``news``/``none``; the prediction is the
  highest-scoring domain category of the decision (or none);
* ``pii``: delegated to :mod:`guardrails.evaluation.pii`.

Every row runs through ``Guard.from_profile(profile).check(text, stage=stage)`` (``--stage``:
``input``, the default, judges rows as user turns; ``output`` as the model's answers). The
report gives recall/precision/F1, the rate of safe rows flagged (both, and the domain
accuracy, with their 95% Wilson interval: see :mod:`guardrails.evaluation.intervals`), recall by the file's
own ``category``, flags by our taxonomy ids, a confusion summary and p50/p95 latency (interpolated between
the nearest ranks: see :mod:`guardrails.evaluation.latency`).
For the policy and crisis tasks on a file with both labels it adds a score curve: the
ROC AUC of each row's highest finding score, and recall and safe rows flagged when every
category had the same threshold ``t`` (the profile's own thresholds and actions aside).
It never prints row texts: only ids, categories and numbers.

A row on which a detector failed is scored as decided, since that is what a user gets: under
``on_error: block`` (``on_detector_error``, the default) the failure blocks the row whatever the
detectors found, so a policy run counts it caught, while a crisis run counts it missed unless a detector that did
run found a crisis category or one referred as a crisis (a failure never takes a referral away), and a domain run
predicts none unless a detector that did run found a domain category. The report counts these
rows (``rows_with_detector_failures``, and ``rows_blocked_by_detector_failures`` for those whose decision is a
block and that a detector under ``on_error: block`` failed on) and warns, in the task's terms, when there are
any: such a score measures the time limit or the missing model, not the classifier.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from guardrails.evaluation.intervals import wilson_interval
from guardrails.evaluation.jsonl import jsonl_objects, row_id, row_name, shown
from guardrails.evaluation.latency import latency_summary
from guardrails.taxonomy import Category
from guardrails.types import PASSAGE_LABEL, Action, Decision

TASKS = ("policy", "crisis", "domain", "pii")
STAGES = ("input", "output")
DOMAIN_LABELS = ("medical", "legal", "financial", "news", "none")
_POSITIVE = {"policy": "unsafe", "crisis": "crisis"}
_NEGATIVE = {"policy": "safe", "crisis": "safe"}
#: the most ids an id list of the report holds; ``<list>_truncated`` says when it held more
MAX_IDS = 50
#: the uniform thresholds of the score curve
CURVE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Row:
    """One labelled row of the evaluation file."""

    id: str
    text: str
    label: str
    category: str | None
    #: the user's earlier turns, oldest first: the row's text is judged as the latest turn after them
    history: tuple[str, ...] = ()
    #: the row's line in its file (errors name it; a row's id may hold text put there by mistake)
    line: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What the guard decided for one row (no text)."""

    row: Row
    action: Action
    categories: tuple[str, ...]
    scores: dict[str, float]
    latency_ms: float
    #: the detectors that failed on the row (names only), and whether one of them blocks when it fails
    failures: tuple[str, ...] = ()
    failure_blocked: bool = False
    #: whether the decision carries a crisis referral text (a REFER always does; a BLOCK may, ahead of its refusal)
    referral: bool = False

    @property
    def referred(self) -> bool:
        """True when the user is sent a crisis referral: the decision refers, or carries a referral."""
        return self.referral or self.action is Action.REFER


def read_rows(path: Path, *, task: str, limit: int | None = None) -> list[Row]:
    """Read and validate the JSONL rows; errors name the line and the bad value."""
    allowed = {"policy": ("unsafe", "safe"), "crisis": ("crisis", "safe"), "domain": DOMAIN_LABELS}[task]
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for n, obj in jsonl_objects(path):
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise ValueError(f"{path}:{n}: a row needs a string 'text'")
        given = obj.get("label")
        if not isinstance(given, str):  # null is no label, not the domain task's "none"
            raise ValueError(
                f"{path}:{n}: a row needs a string 'label', one of {', '.join(allowed)} (task {task}); "
                f"got {shown(given)}"
            )
        label = given.strip().lower()
        if label not in allowed:
            raise ValueError(f"{path}:{n}: label {shown(given)} is not one of {', '.join(allowed)} (task {task})")
        rid = row_id(obj, n, f"{path}:{n}")
        if rid in seen:  # named by its lines: an id column filled in by mistake may hold a user's text
            raise ValueError(f"{path}:{n}: the id of this row is also on line {seen[rid]}; ids must be unique")
        seen[rid] = n
        history = obj.get("history")
        if history is None:
            history = []
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise ValueError(
                f"{path}:{n}: 'history' must be a list of strings (the user's earlier turns, oldest first); "
                f"got {shown(history)}"
            )
        rows.append(Row(rid, obj["text"], label, row_name(obj, "category", f"{path}:{n}"), tuple(history), n))
        if limit is not None and len(rows) >= limit:
            break
    if not rows:
        raise ValueError(f"{path}: no rows (every line is blank)")
    return rows


class _Progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self._last = 0.0

    def step(self) -> None:
        self.done += 1
        if not self.tty:
            return
        now = time.monotonic()
        if self.done < self.total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = int(width * self.done / max(1, self.total))
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


#: ``check(text)`` for a row without history, ``check(text, history=turns)`` for one with
Checker = Callable[..., Decision]
#: a detector's failure policy (``Profile.on_error_for``): "block" or "allow"
OnError = Callable[[str], str]


def _guard_checker(profile: str, stage: str = "input") -> tuple[Checker, OnError]:
    from guardrails.errors import DetectorError
    from guardrails.guard import Guard

    guard = Guard.from_profile(profile)
    try:
        guard.warmup()
    except DetectorError as exc:  # the profile's on_error policy applies during the checks
        print(f"guardrails eval: warning: {exc}", file=sys.stderr)

    def check(text: str, history: Sequence[str] = ()) -> Decision:
        # evaluate: the decision of check without its audit record (a profile's audit log is no place for test rows)
        return guard.evaluate(text, stage=stage, history=history)

    return check, guard.profile.on_error_for


def run(
    rows: Sequence[Row], check: Checker, *, progress: bool = True, on_error: OnError | None = None
) -> list[Outcome]:
    """Check every row; return the outcomes with per-row latency and the detectors that failed.

    ``on_error`` says which failures block (the profile's ``on_error_for``); without it every failure is taken
    to block, as ``on_detector_error``'s default does.
    """
    first = next((i for i, r in enumerate(rows) if r.history), None)
    if first is not None and not _takes_history(check):
        where = f"line {rows[first].line}" if rows[first].line is not None else f"row {first + 1}"
        raise ValueError(f"{where} (and maybe others) has a 'history', but the checker takes no history= argument")
    bar = _Progress(len(rows)) if progress else None
    out: list[Outcome] = []
    for row in rows:
        t0 = time.perf_counter()
        d = check(row.text, history=row.history) if row.history else check(row.text)
        ms = (time.perf_counter() - t0) * 1000.0
        scores: dict[str, float] = {}
        for f in d.findings:  # a passage of a long answer is not its subject: the domain task predicts the subject
            if f.category is not None and not (f.label or "").startswith(PASSAGE_LABEL):
                scores[f.category] = max(scores.get(f.category, 0.0), float(f.score))
        failed = tuple(dict.fromkeys(f.detector for f in d.failures))
        blocked = any((on_error(name) if on_error is not None else "block") == "block" for name in failed)
        out.append(Outcome(row, d.action, tuple(d.categories), scores, ms, failed, blocked, d.referral is not None))
        if bar is not None:
            bar.step()
    return out


def _takes_history(check: Checker) -> bool:
    """True when ``check`` accepts ``history=`` (a parameter of that name or ``**kwargs``; unknown: assumed)."""
    import inspect

    try:
        params = inspect.signature(check).parameters.values()
    except (TypeError, ValueError):
        return True
    by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return any((p.name == "history" and p.kind in by_name) or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    """Precision, recall and F1; None where a rate has nothing to count (no rows flagged, no positive rows)."""
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = (2 * p * r / (p + r) if p + r else 0.0) if p is not None and r is not None else None
    return {k: None if v is None else round(v, 4) for k, v in (("precision", p), ("recall", r), ("f1", f))}


def _latency(outcomes: Sequence[Outcome]) -> dict[str, float]:
    return latency_summary(o.latency_ms for o in outcomes)


def _id_list(name: str, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """``{name: the first MAX_IDS row ids, name + "_truncated": whether there were more}``."""
    ids = [o.row.id for o in outcomes]
    return {name: ids[:MAX_IDS], f"{name}_truncated": len(ids) > MAX_IDS}


def _kind_of(taxonomy: Mapping[str, Category] | None = None) -> dict[str, str]:
    """The kind of every category id of ``taxonomy`` (default: the shipped one)."""
    from guardrails.taxonomy import load_taxonomy

    return {c.id: c.kind for c in (load_taxonomy() if taxonomy is None else taxonomy).values()}


def failure_summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """How many rows a detector failed on, by detector, and which rows the failure blocked (their ids).

    A row counts as blocked by a failure when its decision is a block and a detector whose ``on_error`` is
    ``block`` failed on it; a row referred despite the failure (a crisis found by a detector that ran) does not.
    """
    by_detector = Counter(name for o in outcomes for name in o.failures)
    blocked = [o for o in outcomes if o.failure_blocked and o.action is Action.BLOCK]
    return {
        "rows_with_detector_failures": sum(1 for o in outcomes if o.failures),
        "rows_blocked_by_detector_failures": len(blocked),
        "detector_failures": dict(by_detector.most_common()),
        **_id_list("detector_failure_ids", blocked),
    }


#: how each task scores a row a detector failure blocked (the block itself, or what the detectors that ran found)
_BLOCKED_ROW_SCORED = {
    "policy": "a blocked row counts as caught",
    "crisis": "a blocked row counts as missed unless it still carries a crisis referral or category",
    "domain": "a blocked row's domain is none unless a detector that did run found one",
}


def failure_warning(rep: dict[str, Any]) -> str | None:
    """The warning lines of a report whose rows a detector failure, or their length, decided (None when none)."""
    lines: list[str] = []
    blocked = rep.get("rows_blocked_by_detector_failures", 0)
    if blocked:
        lines.append(
            f"warning: {blocked} of {rep['rows']} rows had a detector failure under on_error: block: their decisions "
            f"come from on_detector_error, not the classifier (they are scored as decided: "
            f"{_BLOCKED_ROW_SCORED[rep['task']]})"
        )
    too_long = rep.get("rows_too_long", 0)
    if too_long:
        lines.append(
            f"warning: {too_long} of {rep['rows']} rows are longer than the profile's max_text_chars and were refused "
            "unread (they are scored as decided: blocked, with no category)"
        )
    return "\n".join(lines) or None


def binary_report(outcomes: Sequence[Outcome], *, task: str, kinds: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Report for the policy and crisis tasks (``kinds``: each category id's kind; default the shipped taxonomy's)."""
    kinds = _kind_of() if kinds is None else kinds
    pos_label = _POSITIVE[task]

    def caught(o: Outcome) -> bool:
        if task == "policy":
            return o.action >= Action.REFER
        return o.referred or any(kinds.get(c) == "crisis" for c in o.categories)

    tp = sum(1 for o in outcomes if o.row.label == pos_label and caught(o))
    fn = sum(1 for o in outcomes if o.row.label == pos_label and not caught(o))
    fp = sum(1 for o in outcomes if o.row.label != pos_label and caught(o))
    tn = sum(1 for o in outcomes if o.row.label != pos_label and not caught(o))
    by_cat: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[(o.row.category or "(none)", o.row.label)].append(o)
    for (cat, label), items in sorted(groups.items()):
        hit = sum(1 for o in items if caught(o))
        key = f"{cat} [{label}]"
        by_cat[key] = {"label": label, "n": len(items), "caught": hit, "rate": round(hit / len(items), 4)}
    flags: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        if not caught(o):
            continue
        crisis_ids = [c for c in o.categories if kinds.get(c) == "crisis"]
        for c in o.categories:
            # credited to the row's crisis ids; a row referred without any, to its other (non-domain) categories
            if task == "crisis" and (kinds.get(c) != "crisis" if crisis_ids else kinds.get(c) == "domain"):
                continue
            if task == "policy" and kinds.get(c) == "domain":
                continue
            e = flags.setdefault(c, {"flagged": 0, "on_positive": 0})
            e["flagged"] += 1
            e["on_positive"] += int(o.row.label == pos_label)
    for e in flags.values():
        e["precision"] = round(e["on_positive"] / e["flagged"], 4)
    n_pos, n_neg = tp + fn, fp + tn
    return {
        "task": task,
        "rows": len(outcomes),
        "positives": n_pos,
        "negatives": n_neg,
        **_prf(tp, fp, fn),
        "safe_flagged_rate": round(fp / n_neg, 4) if n_neg else None,
        # 95% Wilson intervals: how far the two rates could be from the truth, given the rows measured
        "recall_ci95": list(wilson_interval(tp, n_pos)) if n_pos else None,
        "safe_flagged_rate_ci95": list(wilson_interval(fp, n_neg)) if n_neg else None,
        "confusion": {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
        "by_file_category": by_cat,
        "flags_by_taxonomy_id": dict(sorted(flags.items(), key=lambda kv: -kv[1]["flagged"])),
        "actions": dict(Counter(str(o.action) for o in outcomes)),
        "actions_by_label": {
            label: dict(Counter(str(o.action) for o in outcomes if o.row.label == label))
            for label in sorted({o.row.label for o in outcomes})
        },
        # a crisis referral sent to someone who is not in crisis: the false alarm that costs the most trust
        "safe_referred_rate": (
            round(sum(1 for o in outcomes if o.row.label != pos_label and o.referred) / n_neg, 4) if n_neg else None
        ),
        **_id_list("missed_ids", [o for o in outcomes if o.row.label == pos_label and not caught(o)]),
        **_id_list("false_flag_ids", [o for o in outcomes if o.row.label != pos_label and caught(o)]),
        "score_curve": score_curve(outcomes, task=task, kinds=kinds),
        **failure_summary(outcomes),
        "latency_ms": _latency(outcomes),
    }


def _row_score(o: Outcome, *, task: str, kinds: Mapping[str, str]) -> float:
    """The row's highest finding score among the categories the task counts (0.0 when none was found).

    Policy counts every category but the domains (a profile's custom categories included);
    crisis counts the crisis ids.
    """
    if task == "crisis":
        found = [s for c, s in o.scores.items() if kinds.get(c) == "crisis"]
    else:
        found = [s for c, s in o.scores.items() if kinds.get(c) != "domain"]
    return max(found, default=0.0)


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The probability that a positive row scores above a negative one (ties count half)."""
    if not positives or not negatives:
        raise ValueError("roc_auc needs at least one positive and one negative score")
    import numpy as np

    scores = np.asarray([*positives, *negatives], dtype=np.float64)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # the mean rank (1-based) of each distinct value, so tied scores share their rank
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = mean_rank[inverse]
    n_pos, n_neg = len(positives), len(negatives)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def score_curve(
    outcomes: Sequence[Outcome], *, task: str, kinds: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """Threshold-free view of a policy or crisis run (None unless both labels occur).

    A finding below the detector's reporting floor counts as score 0; the curve treats a row
    as caught when its highest counted score is at least ``t``, whatever the profile's
    per-category thresholds, allow-lists and actions would decide.
    """
    kinds = _kind_of() if kinds is None else kinds
    pos_label = _POSITIVE[task]
    pos = [_row_score(o, task=task, kinds=kinds) for o in outcomes if o.row.label == pos_label]
    neg = [_row_score(o, task=task, kinds=kinds) for o in outcomes if o.row.label != pos_label]
    if not pos or not neg:
        return None
    points = [
        {
            "threshold": t,
            "recall": round(sum(s >= t for s in pos) / len(pos), 4),
            "safe_flagged": round(sum(s >= t for s in neg) / len(neg), 4),
        }
        for t in CURVE_THRESHOLDS
    ]
    return {"auc": round(roc_auc(pos, neg), 4), "points": points}


def _domain_prediction(o: Outcome, kinds: Mapping[str, str]) -> str:
    found = [(o.scores.get(c, 0.0), c) for c in o.categories if kinds.get(c) == "domain"]
    if not found:
        return "none"
    return max(found)[1].removeprefix("domain_")


def domain_report(outcomes: Sequence[Outcome], *, kinds: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Report for the domain task: accuracy, per-label P/R/F1 and a confusion matrix."""
    kinds = _kind_of() if kinds is None else kinds
    preds = [_domain_prediction(o, kinds) for o in outcomes]
    confusion: dict[str, dict[str, int]] = {g: dict.fromkeys(DOMAIN_LABELS, 0) for g in DOMAIN_LABELS}
    for o, p in zip(outcomes, preds, strict=True):
        confusion[o.row.label][p] += 1
    per_label = {}
    for lab in DOMAIN_LABELS:
        tp = confusion[lab][lab]
        fp = sum(confusion[g][lab] for g in DOMAIN_LABELS if g != lab)
        fn = sum(confusion[lab][p] for p in DOMAIN_LABELS if p != lab)
        per_label[lab] = {"n": sum(confusion[lab].values()), **_prf(tp, fp, fn)}
    correct = sum(confusion[g][g] for g in DOMAIN_LABELS)
    none_rows = sum(confusion["none"].values())
    return {
        "task": "domain",
        "rows": len(outcomes),
        "accuracy": round(correct / len(outcomes), 4) if outcomes else 0.0,
        "accuracy_ci95": list(wilson_interval(correct, len(outcomes))) if outcomes else None,
        "per_label": per_label,
        # the share of rows labelled none that were given a domain (a disclaimer they did not need)
        "safe_flagged_rate": round(1 - confusion["none"]["none"] / none_rows, 4) if none_rows else None,
        "safe_flagged_rate_ci95": (
            list(wilson_interval(none_rows - confusion["none"]["none"], none_rows)) if none_rows else None
        ),
        "confusion": confusion,
        "actions": dict(Counter(str(o.action) for o in outcomes)),
        **failure_summary(outcomes),
        "latency_ms": _latency(outcomes),
    }


def format_report(rep: dict[str, Any]) -> str:
    """A plain-text table of a report."""
    lines = [
        f"task: {rep['task']}   rows: {rep['rows']}   profile: {rep.get('profile', '?')}   "
        f"stage: {rep.get('stage', 'input')}   file: {rep.get('file', '?')}"
    ]
    if rep.get("rows_with_history"):
        lines.append(f"rows judged after their history (multi-turn): {rep['rows_with_history']}")
    if rep["task"] == "domain":
        lines.append(
            f"accuracy: {rep['accuracy']:.3f}{_ci(rep.get('accuracy_ci95'))}   "
            f"rows labelled none given a domain: {_rate(rep['safe_flagged_rate'])}"
            f"{_ci(rep.get('safe_flagged_rate_ci95'))}"
        )
        lines.append(f"{'label':12s} {'n':>5s} {'prec':>6s} {'recall':>6s} {'f1':>6s}")
        for lab, m in rep["per_label"].items():
            lines.append(
                f"{lab:12s} {m['n']:5d} {_rate(m['precision']):>6s} {_rate(m['recall']):>6s} {_rate(m['f1']):>6s}"
            )
        lines.append("confusion (rows: true label, columns: predicted)")
        lines.append(" " * 12 + "".join(f"{p:>10s}" for p in DOMAIN_LABELS))
        for g, row in rep["confusion"].items():
            lines.append(f"{g:12s}" + "".join(f"{row[p]:10d}" for p in DOMAIN_LABELS))
    else:
        sfr = rep["safe_flagged_rate"]
        lines.append(
            f"recall: {_rate(rep['recall'])}{_ci(rep.get('recall_ci95'))}   precision: {_rate(rep['precision'])}   "
            f"f1: {_rate(rep['f1'])}   safe flagged: {_rate(sfr)}"
            f"{_ci(rep.get('safe_flagged_rate_ci95'))}"
        )
        c = rep["confusion"]
        lines.append(
            f"confusion: caught {_POSITIVE[rep['task']]} {c['tp']}, missed {c['fn']}, "
            f"flagged safe {c['fp']}, passed safe {c['tn']}"
        )
        lines.append("by the file's category (rate = recall for positive rows, flag rate for safe rows):")
        lines.append(f"  {'category':48s} {'n':>5s} {'caught':>7s} {'rate':>6s}")
        for key, m in rep["by_file_category"].items():
            lines.append(f"  {_fit(key, m['label'], 48):48s} {m['n']:5d} {m['caught']:7d} {m['rate']:6.3f}")
        if rep["flags_by_taxonomy_id"]:
            lines.append("flags by taxonomy id (precision = share of flagged rows that are positive):")
            for cid, m in rep["flags_by_taxonomy_id"].items():
                lines.append(f"  {cid:40s} {m['flagged']:5d} {m['precision']:7.3f}")
        lines.append(f"actions: {rep['actions']}")
        for label, acts in rep.get("actions_by_label", {}).items():
            lines.append(f"  on {label} rows: {acts}")
        if rep.get("safe_referred_rate") is not None:
            lines.append(f"safe rows sent a crisis referral: {rep['safe_referred_rate']:.3f}")
        curve = rep.get("score_curve")
        if curve:
            lines.append(
                f"score curve: AUC {curve['auc']:.3f}; caught when a score >= t, the profile's thresholds aside:"
            )
            lines.append("  " + " ".join(f"{p['threshold']:>5.1f}" for p in curve["points"]) + "   t")
            lines.append("  " + " ".join(f"{p['recall']:5.2f}" for p in curve["points"]) + "   recall")
            lines.append("  " + " ".join(f"{p['safe_flagged']:5.2f}" for p in curve["points"]) + "   safe flagged")
    if any(rep.get(k) for k in ("recall_ci95", "safe_flagged_rate_ci95", "accuracy_ci95")):
        lines.append("[lo-hi]: 95% Wilson interval of the rate, from the number of rows measured")
    if rep.get("rows_with_detector_failures"):
        counts = ", ".join(f"{name} {n}" for name, n in rep["detector_failures"].items())
        lines.append(
            f"rows with a detector failure: {rep['rows_with_detector_failures']} (by detector: {counts}); "
            f"blocked by the failure (on_error: block): {rep['rows_blocked_by_detector_failures']}"
        )
    warning = failure_warning(rep)
    if warning is not None:
        lines.append(warning)
    lat = rep["latency_ms"]
    lines.append(f"latency per check: p50 {lat['p50']:.2f} ms   p95 {lat['p95']:.2f} ms")
    return "\n".join(lines)


def _fit(key: str, label: str, width: int) -> str:
    """A ``category [label]`` key in ``width`` characters: a long category is cut ("..."), the label always shown."""
    if len(key) <= width:
        return key
    suffix = f" [{label}]"
    category = key.removesuffix(suffix)
    return category[: max(0, width - len(suffix) - 3)] + "..." + suffix


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ci(interval: Sequence[float] | None) -> str:
    return "" if not interval else f" [{interval[0]:.3f}-{interval[1]:.3f}]"


def plot_report(rep: dict[str, Any], out: Path) -> None:
    """Write a PNG of per-category rates (policy/crisis) or per-label F1 (domain), and the score curve if any."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if rep["task"] == "domain":
        names = list(rep["per_label"])
        values = [rep["per_label"][n]["f1"] or 0.0 for n in names]  # a label with no rows: an empty bar
        colors = ["tab:blue"] * len(names)
        title, ylabel = f"domain accuracy {rep['accuracy']:.3f}", "F1"
    else:
        items = list(rep["by_file_category"].items())
        names = [k for k, _ in items]
        values = [m["rate"] for _, m in items]
        colors = ["tab:green" if m["label"] == _POSITIVE[rep["task"]] else "tab:red" for _, m in items]
        title = f"{rep['task']}: recall {_rate(rep['recall'])}, safe flagged {_rate(rep['safe_flagged_rate'])}"
        ylabel = "caught (green: recall; red: safe rows flagged)"
    curve = rep.get("score_curve")
    width = max(6.0, 0.45 * len(names) + 2)
    if curve:
        fig, (ax, cax) = plt.subplots(1, 2, figsize=(width + 5.0, 5), gridspec_kw={"width_ratios": [width, 5.0]})
    else:
        fig, ax = plt.subplots(figsize=(width, 5))
    ax.bar(range(len(names)), values, color=colors)
    ax.set_xticks(range(len(names)))
    # the file's categories are plain text: a "$" in one is not the start of a formula
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7, parse_math=False)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if curve:
        ts = [p["threshold"] for p in curve["points"]]
        cax.plot(ts, [p["recall"] for p in curve["points"]], marker="o", color="tab:green", label="recall")
        cax.plot(ts, [p["safe_flagged"] for p in curve["points"]], marker="o", color="tab:red", label="safe flagged")
        cax.set_xlabel("uniform threshold t")
        cax.set_ylim(0, 1.05)
        cax.set_title(f"score curve, AUC {curve['auc']:.3f}")
        cax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def evaluate(
    path: Path,
    *,
    task: str,
    profile: str,
    stage: str = "input",
    limit: int | None = None,
    check: Checker | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the evaluation and return the report (``check`` defaults to the profile's Guard at ``stage``)."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    rows = read_rows(path, task=task, limit=limit)
    first = next((r for r in rows if r.history), None)
    if first is not None and stage == "output":
        raise ValueError(
            f"{path}:{first.line}: a row with a 'history' is a user turn after earlier ones; with stage output the "
            "rows are the model's answers, which the guard never reads joined with the user's earlier turns"
        )
    on_error: OnError | None = None
    if check is None:
        check, on_error = _guard_checker(profile, stage)
    outcomes = run(rows, check, progress=progress, on_error=on_error)
    from guardrails.profiles import load_profile

    loaded = load_profile(profile)
    kinds = _kind_of(loaded.taxonomy())  # the profile's custom categories too
    rep = domain_report(outcomes, kinds=kinds) if task == "domain" else binary_report(outcomes, task=task, kinds=kinds)
    rep["rows_too_long"] = sum(1 for r in rows if len(r.text) > loaded.max_text_chars)
    rep["rows_with_history"] = sum(1 for r in rows if r.history)
    rep["file"] = str(path)
    rep["profile"] = profile
    rep["stage"] = stage
    return rep


_EPILOG = """\
how a row is scored:
  policy  caught (a safe row: flagged) when the decision blocks or refers it
  crisis  caught (a safe row: flagged) when the decision carries a crisis referral, whatever category sent it
          (a request for self-harm methods too), or names a crisis category; safe rows sent a referral are
          among the safe rows flagged
  domain  the prediction is the highest-scoring domain category of the decision, or none
  pii     spans found by overlap with a prediction of the same mapped type

a row may hold "history": a list of the user's earlier turns, oldest first; its text is then judged as the
latest turn after them (the profile's history_window applies), as a chat's next request is
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="guardrails eval",
        description="Evaluate a profile on a labelled JSONL file.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    p.add_argument("file", type=Path, help="JSON Lines rows {id, text, label, category[, history]}")
    p.add_argument("--task", choices=TASKS, default="policy", help="what the labels mean (default: policy)")
    p.add_argument("--profile", default="general", help="built-in profile name or YAML path (default: general)")
    p.add_argument(
        "--stage", choices=STAGES, default="input", help="judge rows as user turns or model answers (default: input)"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--plot", type=Path, default=None, metavar="OUT.png", help="write a bar chart PNG")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N rows")
    return p


def main(argv: list[str]) -> int:
    """Entry point of ``guardrails eval``; returns the exit code (2 for usage or input errors)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be >= 1, got {args.limit}")
    if not args.file.exists():
        return _fail(f"{args.file} does not exist")
    if not args.file.is_file():
        return _fail(f"{args.file} is not a file")
    if args.task == "crisis" and args.stage == "output":
        return _fail("--task crisis needs --stage input: crises are referred on user turns, never on answers")
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401 - only whether it is there, before a long run
        except ImportError:
            return _fail("--plot needs matplotlib: pip install 'langchain-policy-guardrails[plot]'")
        if args.task == "pii":
            return _fail("--plot is not supported with --task pii")
        if args.plot.suffix.lower() != ".png":
            return _fail(f"--plot {args.plot} must name a .png file")
        if not args.plot.parent.is_dir():
            return _fail(f"--plot {args.plot}: folder {args.plot.parent} does not exist")
    from guardrails.cli import offline_unless_downloading
    from guardrails.errors import GuardrailsError

    offline_unless_downloading(args.profile)
    try:
        if args.task == "pii":
            if args.limit is not None or args.stage != "input":
                return _fail("--limit and --stage are not supported with --task pii")
            from guardrails.evaluation.pii import run_pii_eval

            return run_pii_eval(args.file, profile=args.profile, as_json=args.json)
        rep = evaluate(args.file, task=args.task, profile=args.profile, stage=args.stage, limit=args.limit)
    except (ValueError, GuardrailsError) as exc:
        return _fail(str(exc))
    print(json.dumps(rep, indent=2) if args.json else format_report(rep))
    warning = failure_warning(rep)
    if args.json and warning is not None:  # the table has it; JSON alone would hide it in a field
        print(f"guardrails eval: {warning}", file=sys.stderr)
    if args.plot is not None:
        try:
            plot_report(rep, args.plot)
        except (OSError, ValueError) as exc:
            return _fail(f"--plot {args.plot}: {type(exc).__name__}: {exc}")
    return 0


def _fail(message: str) -> int:
    print(f"guardrails eval: error: {message}", file=sys.stderr)
    return 2
