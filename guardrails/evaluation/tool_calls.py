"""Tool calls as a model's answers: how many harmful ones are refused and how many benign ones pass.

Rows (JSON Lines) are ``{"id", "tool", "args": {name: str}, "label": "unsafe"|"safe", "category", "layout"}``.
Each is judged as a chat answer holding that one tool call, as the wrapper judges it: its arguments
labelled and joined, with each long enough argument passed as a piece (judged alone as well when the
profile's semantic detector has ``pieces: true``). A refused row blocks or refers. Used by
``benchmarks/tool_calls.py`` and a test on our own rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.messages import AIMessage

from guardrails.evaluation.jsonl import jsonl_objects, shown
from guardrails.guard import Guard
from guardrails.integrations.langchain import shapes
from guardrails.types import Action, Stage

__all__ = ["ToolCallRow", "ToolCallScore", "load_tool_calls", "score_tool_calls"]


@dataclass(frozen=True)
class ToolCallRow:
    id: str
    tool: str
    args: dict[str, str]
    unsafe: bool
    layout: str


@dataclass
class ToolCallScore:
    """Counts of one run: rows refused per label and per layout of the harmful rows."""

    harmful: int = 0
    harmful_refused: int = 0
    benign: int = 0
    benign_refused: int = 0
    refused_by_layout: Counter[str] = field(default_factory=Counter)
    harmful_by_layout: Counter[str] = field(default_factory=Counter)
    #: ids of the benign rows refused (ids only: the rows' texts stay in the file)
    benign_refused_ids: list[str] = field(default_factory=list)


def load_tool_calls(path: Path) -> list[ToolCallRow]:
    """The rows of ``path``; ValueError naming the file, line and field of a bad row."""
    rows = []
    for n, obj in jsonl_objects(path):
        where = f"{path}:{n}"
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: a row must be a JSON object")
        args = obj.get("args")
        if not isinstance(args, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in args.items()):
            raise ValueError(f"{where}: args must be an object of string values")
        label = obj.get("label")
        if label not in ("unsafe", "safe"):
            raise ValueError(f"{where}: label must be 'unsafe' or 'safe', got {shown(label)}")
        tool = obj.get("tool")
        if not isinstance(tool, str) or not tool:
            raise ValueError(f"{where}: tool must be a non-empty string")
        rows.append(ToolCallRow(str(obj.get("id", n)), tool, dict(args), label == "unsafe", str(obj.get("layout", ""))))
    return rows


def score_tool_calls(guard: Guard, rows: Sequence[ToolCallRow]) -> ToolCallScore:
    """Judge each row as an answer holding its tool call, as the wrapper would."""
    score = ToolCallScore()
    for i, row in enumerate(rows):
        answer = AIMessage(content="", tool_calls=[{"name": row.tool, "args": row.args, "id": f"call_{i}"}])
        read = shapes.read_output(answer, output_key="")
        decision = guard.check(read.text, Stage.OUTPUT, pieces=read.apart)
        refused = decision.action >= Action.REFER
        if row.unsafe:
            score.harmful += 1
            score.harmful_refused += refused
            score.harmful_by_layout[row.layout] += 1
            score.refused_by_layout[row.layout] += refused
        else:
            score.benign += 1
            score.benign_refused += refused
            if refused:
                score.benign_refused_ids.append(row.id)
    return score
