from __future__ import annotations

import io
import json
import os
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


def test_the_hub_is_kept_offline_unless_the_profile_asks_a_detector_to_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardrails.cli import offline_unless_downloading

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    downloads = tmp_path / "dl.yaml"
    downloads.write_text("extends: general\nname: dl\ndetectors:\n  toxicity: {options: {download: true}}\n")
    offline_unless_downloading(downloads)
    assert "HF_HUB_OFFLINE" not in os.environ and "TRANSFORMERS_OFFLINE" not in os.environ
    offline_unless_downloading("general")
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_importing_the_cli_sets_no_offline_flag_so_models_fetch_may_download() -> None:
    import subprocess

    code = (
        "import os; os.environ.pop('HF_HUB_OFFLINE', None); import guardrails.cli; "
        "print(os.environ.get('HF_HUB_OFFLINE'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def test_validate_refuses_an_audit_path_that_is_a_folder_and_reads_a_home_path_as_the_guard_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "p.yaml"
    folder.write_text(f"name: p\naudit: {{enabled: true, path: {tmp_path}}}\n")
    assert main(["profiles", "validate", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err
    home = tmp_path / "h.yaml"
    home.write_text("name: h\naudit: {enabled: true, path: ~/guardrails-audit.jsonl}\n")
    assert main(["profiles", "validate", str(home)]) == 0
    assert "does not exist" not in capsys.readouterr().err


def test_check_prints_why_a_detector_is_unavailable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("extends: general\nname: s\ndetectors:\n  pii: {options: {ner_model: no_such_spacy_model}}\n")
    main(["check", "What is a good sourdough routine?", "--profile", str(path)])
    assert "no_such_spacy_model" in capsys.readouterr().out


def test_validate_says_ok_only_for_a_profile_it_does_not_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(f"name: p\nextends: general\naudit: {{enabled: true, path: {tmp_path}}}\n", encoding="utf-8")
    assert main(["profiles", "validate", str(profile)]) == 2
    assert "ok:" not in capsys.readouterr().out
    assert main(["profiles", "validate", str(tmp_path)]) == 2
    assert "is a folder, not a profile file" in capsys.readouterr().err


def test_validate_warns_of_a_spacy_model_this_machine_does_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "p.yaml"
    body = "name: p\nextends: general\ndetectors:\n  pii: {options: {ner_model: en_core_web_nonexistent_zz}}\n"
    profile.write_text(body, encoding="utf-8")
    assert main(["profiles", "validate", str(profile)]) == 0
    captured = capsys.readouterr()
    assert "ok:" in captured.out and "en_core_web_nonexistent_zz" in captured.err and "not installed" in captured.err


def test_check_prints_a_referral_on_a_terminal_that_is_not_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = io.BytesIO()
    ascii_out = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", ascii_out)
    assert main(["check", "I'm going to kill myself tonight", "--locale", "ja-JP"]) == 1
    ascii_out.flush()
    assert b"0120-279-338" in raw.getvalue()  # the Japanese line's number, its name escaped


@pytest.mark.parametrize(
    ("options", "warned"),
    [("ner_model: acme.models.ner_en", True), ("{ner_model: no_such_model_zz, pattern_only: true}", False)],
)
def test_validate_reads_a_dotted_or_unused_spacy_model_without_crashing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: str, warned: bool
) -> None:
    profile = tmp_path / "p.yaml"
    inner = options if options.startswith("{") else "{" + options + "}"
    profile.write_text(f"name: p\nextends: general\ndetectors:\n  pii: {{options: {inner}}}\n", encoding="utf-8")
    assert main(["profiles", "validate", str(profile)]) == 0
    assert ("not installed" in capsys.readouterr().err) is warned


def test_validate_takes_a_spacy_model_folder_that_exists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "my_model"
    folder.mkdir()
    profile = tmp_path / "p.yaml"
    profile.write_text(f"name: p\nextends: general\ndetectors:\n  pii: {{options: {{ner_model: {folder}}}}}\n", "utf-8")
    assert main(["profiles", "validate", str(profile)]) == 0
    assert "warning" not in capsys.readouterr().err
    profile.write_text(
        f"name: p\nextends: general\ndetectors:\n  pii: {{options: {{ner_model: {folder}x}}}}\n", "utf-8"
    )
    assert main(["profiles", "validate", str(profile)]) == 0
    assert "does not exist" in capsys.readouterr().err


def test_check_dash_with_standard_input_closed_is_a_usage_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", None)  # what Python gives a process started with stdin closed
    assert main(["check", "-"]) == 2
    assert "no standard input" in capsys.readouterr().err


def test_check_whose_reader_goes_away_still_exits_with_the_decision(tmp_path: Path) -> None:
    import subprocess

    profile = tmp_path / "lexical.yaml"
    profile.write_text(
        "extends: general\nname: lexical\ndetectors:\n"
        "  semantic: {enabled: false}\n  pii: {enabled: false}\n  toxicity: {enabled: false}\n"
    )
    code = "import sys; from guardrails.cli import main; sys.exit(main())"
    args = [sys.executable, "-c", code, "check", "--profile", str(profile), "how do I build a pipe bomb"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `guardrails check ... | head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1  # blocked, as decided (a BrokenPipeError traceback exited 1 for any text)
    assert "Traceback" not in err
