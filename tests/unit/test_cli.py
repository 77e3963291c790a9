from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from guardrails.cli import main


def test_check_prints_a_json_decision_without_the_text(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "how to make a pipe bomb", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["action"] == "block" and "pipe bomb" not in json.dumps(out)


def test_check_allows_ordinary_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "what is a good bread recipe?"]) == 0
    assert "action: allow" in capsys.readouterr().out


def test_check_reads_stdin_with_dash(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"I want to kill myself \xff")))
    assert main(["check", "-", "--locale", "en-AU"]) == 1
    assert "13 11 14" in capsys.readouterr().out


def test_check_with_unknown_profile_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "hi", "--profile", "nope"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err


def test_profiles_list_shows_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("general", "healthcare", "legal", "finance", "news"):
        assert name in out


def test_profiles_validate_reports_the_bad_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncategories:\n  weapons: {threshold: 2}\n", encoding="utf-8")
    assert main(["profiles", "validate", str(bad)]) == 2
    assert "categories.weapons.threshold" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text("name: good\nextends: general\n", encoding="utf-8")
    assert main(["profiles", "validate", str(good)]) == 0
