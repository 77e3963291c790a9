"""Loading the hand-written exemplars (and the hand-labelled mined rows) for fitting."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from guardrails._paths import configs_dir

#: labels of rows that are not positives of any category
NEGATIVE_LABELS = frozenset({"safe", "none"})


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One training row: ``label`` is a category id, ``"safe"`` or ``"none"``; ``near`` the category it resembles."""

    text: str
    label: str
    near: str
    source: str

    @property
    def negative(self) -> bool:
        return self.label in NEGATIVE_LABELS


def exemplar_dir() -> Path:
    """The folder of the shipped exemplar files."""
    return configs_dir() / "classifier" / "exemplars"


def mined_dir() -> Path:
    """The folder of hand-labelled rows mined from third-party red-team openers."""
    return configs_dir() / "classifier" / "mined"


def data_files(dirs: Iterable[Path]) -> list[Path]:
    """All ``*.jsonl`` files of ``dirs``, sorted (a deterministic order)."""
    files: list[Path] = []
    for d in dirs:
        if d.is_dir():
            files.extend(sorted(d.glob("*.jsonl")))
    return files


def load_exemplars(files: Iterable[Path], *, known: Iterable[str]) -> list[Exemplar]:
    """Read rows ``{"text", "label", "near"}``; a label that is not a known id, "safe" or "none" is an error."""
    allowed = set(known) | NEGATIVE_LABELS
    out: list[Exemplar] = []
    seen: set[tuple[str, str]] = set()
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = str(row["text"]).strip(), str(row["label"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path.name}:{n}: not a {{text, label}} row ({exc})") from None
            if label not in allowed:
                raise ValueError(f"{path.name}:{n}: unknown label {label!r}")
            near = str(row.get("near") or path.stem)
            key = (text.lower(), label)
            if not text or key in seen:
                continue
            seen.add(key)
            out.append(Exemplar(text=text, label=label, near=near, source=path.name))
    return out


def file_hashes(files: Iterable[Path]) -> dict[str, str]:
    """sha256 of each data file, by file name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
