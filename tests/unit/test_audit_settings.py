"""The profile's ``audit:`` block: a file that cannot be written is refused at start-up (or named when a write
fails), and records sent to a logger that drops them are warned about."""

from __future__ import annotations

import logging
import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from guardrails import AuditError, GuardrailsWarning, ProfileError
from guardrails.audit import AuditLog
from guardrails.cli import main
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Action, Decision, Stage

CANARY = "zebra-canary-93731"


def _profile(tmp_path: Path, audit: str) -> Path:
    path = tmp_path / "audited.yaml"
    path.write_text(f"name: audited\nextends: general\naudit: {audit}\n", encoding="utf-8")
    return path


def test_a_guard_whose_audit_folder_does_not_exist_is_refused_when_it_is_built(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "audit.jsonl"
    with pytest.raises(ProfileError) as info:
        guard_with(KeywordDetector({}), profile={"audit": {"enabled": True, "path": str(target)}})
    assert info.value.field == "audit.path"
    assert f"the folder of {target} does not exist" in str(info.value)
    with pytest.raises(ProfileError, match="is a folder; name a file in it"):
        guard_with(KeywordDetector({}), profile={"audit": {"enabled": True, "path": str(tmp_path)}})


def test_a_guard_whose_audit_log_cannot_be_written_is_refused_when_it_is_built() -> None:
    # /proc exists but takes no new file (as a read-only file system or folder refuses one): every check would
    # have raised AuditError, after warmup() and the start-up had passed
    with pytest.raises(ProfileError, match=r"cannot write the audit log /proc/guardrails-audit\.jsonl") as info:
        guard_with(KeywordDetector({}), profile={"audit": {"enabled": True, "path": "/proc/guardrails-audit.jsonl"}})
    assert info.value.field == "audit.path"


def test_check_with_an_audit_file_it_cannot_create_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = _profile(tmp_path, "{enabled: true, path: /nonexistent-dir/audit.jsonl}")
    assert main(["check", CANARY, "--profile", str(profile)]) == 2
    err = capsys.readouterr().err
    assert f"guardrails: error: {profile}: audit.path: the folder of /nonexistent-dir/audit.jsonl" in err
    assert CANARY not in err
    # the file itself is valid (the folder may exist where it is deployed): validate says ok and warns
    assert main(["profiles", "validate", str(profile)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("ok:") and "the folder of /nonexistent-dir/audit.jsonl does not exist" in out.err


def test_an_audit_record_that_cannot_be_written_is_an_audit_error_naming_the_file_not_the_record(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "audit.jsonl"
    guard = guard_with(KeywordDetector({"grenade": "weapons"}), profile={"audit": {"enabled": True, "path": str(path)}})
    guard.check("fine")
    path.unlink()
    folder.rmdir()  # gone after start-up
    with pytest.raises(AuditError) as info:
        guard.check(f"grenade {CANARY}")
    message = str(info.value)
    assert message == f"cannot write the audit log {path}: No such file or directory"
    decision = Decision(action=Action.BLOCK, stage=Stage.INPUT, text=CANARY, text_hash="f" * 32)
    with pytest.raises(AuditError) as info:
        AuditLog(path=tmp_path).record(decision)  # a folder: IsADirectoryError
    assert "Is a directory" in str(info.value) and "f" * 32 not in str(info.value)


def test_audit_without_a_path_warns_that_the_records_go_to_a_logger_that_drops_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.warns(GuardrailsWarning, match="'guardrails.audit' logger at INFO, which is not enabled"):
        guard_with(KeywordDetector({}), profile={"audit": {"enabled": True}})
    caplog.set_level(logging.INFO, logger="guardrails.audit")  # logging configured: the records are kept
    with warnings.catch_warnings():
        warnings.simplefilter("error", GuardrailsWarning)
        guard = guard_with(KeywordDetector({}), profile={"audit": {"enabled": True}})
    guard.check(CANARY)
    assert '"action": "allow"' in caplog.text and CANARY not in caplog.text


def test_a_relative_audit_path_is_taken_from_the_working_directory_when_the_guard_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app" / "logs").mkdir(parents=True)
    (tmp_path / "elsewhere" / "logs").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "app")
    guard = guard_with(KeywordDetector({}), profile={"audit": {"enabled": True, "path": "logs/audit.jsonl"}})
    monkeypatch.chdir(tmp_path / "elsewhere")  # a later chdir does not move (or split) the log
    guard.check("fine")
    assert (tmp_path / "app" / "logs" / "audit.jsonl").is_file()
    assert not (tmp_path / "elsewhere" / "logs" / "audit.jsonl").exists()


def _stream_whose_log_goes_away(tmp_path: Path, text: str) -> tuple[Iterator[Any], Any]:
    """A stream of a long answer (so text is shown before it ends), its first chunk read (the input's record
    written), and then the audit log's folder removed: the answer's record can no longer be written."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "audit.jsonl"
    guard = guard_with(KeywordDetector({}), profile={"audit": {"enabled": True, "path": str(path)}})
    answer = " ".join(f"word{i}" for i in range(400))
    stream = guard.wrap(GenericFakeChatModel(messages=iter([AIMessage(answer)]))).stream(text)
    first = next(stream)
    path.unlink()
    folder.rmdir()
    return stream, first


def test_a_stream_the_caller_stops_logs_a_failed_audit_write_instead_of_raising_it_into_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stream, first = _stream_whose_log_goes_away(tmp_path, f"hello {CANARY}")
    with caplog.at_level(logging.ERROR, logger="guardrails"):
        stream.close()  # the caller stopped reading: nothing can catch an error raised here
    assert str(first.content) and "its audit record was lost: cannot write the audit log" in caplog.text
    assert CANARY not in caplog.text and "word1" not in caplog.text


def test_a_stream_read_to_its_end_raises_a_failed_audit_write_once_and_logs_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stream, _ = _stream_whose_log_goes_away(tmp_path, "hello")
    with caplog.at_level(logging.ERROR, logger="guardrails"), pytest.raises(AuditError):
        list(stream)
    assert "audit record was lost" not in caplog.text  # raised to the caller, not also logged as lost


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_new_audit_file_is_created_readable_by_its_owner_only_and_an_existing_files_mode_is_left_alone(
    tmp_path: Path,
) -> None:
    decision = Decision(action=Action.ALLOW, stage=Stage.INPUT, text="")
    new = tmp_path / "new.jsonl"
    AuditLog(path=new).record(decision)
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    existing = tmp_path / "existing.jsonl"
    existing.touch()
    existing.chmod(0o640)
    AuditLog(path=existing).record(decision)
    AuditLog(path=existing).record(decision)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640
    assert len(existing.read_text(encoding="utf-8").splitlines()) == 2


def test_an_audit_path_holding_a_nul_character_is_refused_when_the_guard_is_built(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as info:
        guard_with(KeywordDetector({}), profile={"audit": {"enabled": True, "path": str(tmp_path / "a\x00b.jsonl")}})
    assert info.value.field == "audit.path" and "NUL character" in str(info.value)


@pytest.mark.parametrize(
    ("path", "reason"),
    [("a\x00b.jsonl", "NUL character"), ("  ", "empty"), (42, "got int")],
    ids=["NUL", "blank", "int"],
)
def test_an_audit_log_made_with_a_path_no_file_can_have_says_so_when_it_is_made(path: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        AuditLog(path=path)


def test_a_record_cut_short_by_a_full_disk_leaves_the_next_record_on_a_line_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import json

    import guardrails.audit as audit

    log = AuditLog(path=tmp_path / "audit.jsonl")
    decision = Decision(action=Action.ALLOW, stage=Stage.INPUT, text="")
    log.record(decision, n=1)
    real_write = os.write

    def disk_fills_up(fd: int, data: Any) -> int:  # the disk fills after 10 bytes of the record
        monkeypatch.setattr(audit.os, "write", lambda fd, data: _raise(OSError(errno.ENOSPC, "No space left")))
        return real_write(fd, bytes(data[:10]))

    monkeypatch.setattr(audit.os, "write", disk_fills_up)
    with pytest.raises(AuditError, match="No space left"):
        log.record(decision, n=2)
    monkeypatch.setattr(audit.os, "write", real_write)  # space freed
    log.record(decision, n=3)
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert [json.loads(lines[0])["n"], json.loads(lines[-1])["n"]] == [1, 3]  # the last record parses
    assert len(lines) == 3  # the cut one alone on its line


def _raise(exc: BaseException) -> Any:
    raise exc
