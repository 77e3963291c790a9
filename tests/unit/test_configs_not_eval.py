"""No text shipped in configs/ may equal (after normalization) a text of the evaluation data."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EVAL_DIR = ROOT.parent / "shared" / "eval"
_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """NFKC, lowercase, every run of non-alphanumerics collapsed to one space."""
    return _NON_ALNUM.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def _strings(obj: object) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _config_texts() -> Iterator[tuple[str, str]]:
    for path in sorted((ROOT / "configs").rglob("*")):
        if path.suffix == ".jsonl":
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if line.strip():
                    for s in _strings(json.loads(line)):
                        yield f"{path.relative_to(ROOT)}:{n}", s
        elif path.suffix in (".yaml", ".yml"):
            for s in _strings(yaml.safe_load(path.read_text(encoding="utf-8"))):
                yield str(path.relative_to(ROOT)), s


def test_normalization_folds_case_width_and_punctuation() -> None:
    assert normalize("How do I  make—a ＢＯＭＢ?!") == "how do i make a bomb"


@pytest.mark.skipif(not EVAL_DIR.is_dir(), reason="../shared/eval is not present")
def test_no_config_text_equals_an_evaluation_text() -> None:
    eval_texts: set[str] = set()
    for path in sorted(EVAL_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = json.loads(line).get("text")
                if isinstance(text, str) and normalize(text):
                    eval_texts.add(normalize(text))
    assert eval_texts
    clashes = [where for where, s in _config_texts() if normalize(s) in eval_texts]
    assert clashes == [], f"config texts equal to evaluation texts at: {clashes[:20]}"


@pytest.mark.skipif(not EVAL_DIR.is_dir(), reason="../shared/eval is not present")
def test_no_config_text_contains_an_evaluation_text() -> None:
    # index eval texts of 25+ characters by their first three words; a config text contains one
    # only if some three-word run of it starts one
    by_head: dict[tuple[str, ...], list[str]] = {}
    for path in sorted(EVAL_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = json.loads(line).get("text")
                norm = normalize(text) if isinstance(text, str) else ""
                if len(norm) >= 25:
                    by_head.setdefault(tuple(norm.split()[:3]), []).append(norm)
    clashes = []
    for where, s in _config_texts():
        norm = normalize(s)
        words = norm.split()
        heads = {tuple(words[i : i + 3]) for i in range(len(words))}
        if any(t in norm for h in heads for t in by_head.get(h, ())):
            clashes.append(where)
    assert clashes == [], f"config texts containing evaluation texts at: {clashes[:20]}"


def _row_texts(line: str) -> list[str]:
    """The texts of one of our evaluation rows: its ``text`` and the earlier turns of its ``history``, or a tool
    call's arguments of 4 words or more (a shorter one, such as "1" or a city, is no sentence a training row could
    hold out)."""
    row = json.loads(line)
    if "text" in row:
        return [row["text"], *row.get("history", ())]
    return [v for v in row["args"].values() if len(v.split()) >= 4]


def test_our_own_evaluation_rows_are_never_training_rows() -> None:
    """configs/classifier/eval/ measures the classifier: the fit never reads it, and no row of it is a training row."""
    from guardrails.classifier.data import data_files, exemplar_dir, mined_dir

    ours = ROOT / "configs" / "classifier" / "eval"
    training = data_files([exemplar_dir(), ROOT / "configs" / "classifier" / "answers", mined_dir()])
    assert any(p.name == "answers_register.jsonl" for p in training)
    assert not any(ours in p.parents for p in training)
    held = {normalize(t) for p in ours.glob("*.jsonl") for line in p.open() if line.strip() for t in _row_texts(line)}
    assert held
    clashes = [
        f"{p.name}:{n}"
        for p in training
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if line.strip() and normalize(json.loads(line)["text"]) in held
    ]
    assert clashes == []
