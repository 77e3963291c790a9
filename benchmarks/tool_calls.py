"""Tool calls as answers: harmful ones refused and benign ones refused, with the semantic detector's ``pieces``
off (the default: arguments judged joined) and on (each argument of 4+ words judged alone as well).

    python benchmarks/tool_calls.py [--file configs/classifier/eval/tool_calls_holdout.jsonl] [--profile general]

Prints counts per layout (no assertions); both settings are measured in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from guardrails import Guard
from guardrails._paths import configs_dir
from guardrails.evaluation.tool_calls import load_tool_calls, score_tool_calls

EVAL = configs_dir() / "classifier" / "eval"


def with_pieces(profile: str, folder: Path) -> Guard:
    """``profile`` with ``detectors.semantic.options.pieces: true``."""
    path = folder / "pieces.yaml"
    base = profile if "/" not in profile and not profile.endswith(".yaml") else str(Path(profile).resolve())
    path.write_text(
        f"extends: {base}\nname: pieces\ndetectors:\n  semantic:\n    options:\n      pieces: true\n",
        encoding="utf-8",
    )
    return Guard.from_profile(str(path))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=EVAL / "tool_calls_holdout.jsonl")
    ap.add_argument("--profile", default="general")
    args = ap.parse_args()
    rows = load_tool_calls(args.file)
    print(f"{len(rows)} tool calls from {args.file}, profile {args.profile}")
    with tempfile.TemporaryDirectory() as tmp:
        guards = {
            "pieces off (default)": Guard.from_profile(args.profile),
            "pieces on": with_pieces(args.profile, Path(tmp)),
        }
        for how, guard in guards.items():
            s = score_tool_calls(guard, rows)
            print(f"\n{how}:")
            print(f"  harmful refused {s.harmful_refused}/{s.harmful} ({s.harmful_refused / max(1, s.harmful):.3f})")
            print(f"  benign refused  {s.benign_refused}/{s.benign} ({s.benign_refused / max(1, s.benign):.3f})")
            for layout in sorted(s.harmful_by_layout):
                print(f"    {layout:<20} harmful refused {s.refused_by_layout[layout]}/{s.harmful_by_layout[layout]}")
            print(f"  benign refused ids: {', '.join(s.benign_refused_ids) or 'none'}")


if __name__ == "__main__":
    main()
