"""Audit records: one JSON line per decision, never the raw text.

A record holds the action, categories, scores, detector timings, spans as offsets and
a salted hash of the text (so equal texts can be correlated without being stored).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from guardrails.errors import AuditError
from guardrails.types import Decision

logger = logging.getLogger("guardrails.audit")

_PROCESS_SALT = secrets.token_bytes(16)


def resolve_salt(env_var: str = "GUARDRAILS_AUDIT_SALT") -> bytes:
    """The hashing salt: from ``env_var`` when set (stable across processes), else random per process."""
    value = os.environ.get(env_var)
    return value.encode("utf-8") if value else _PROCESS_SALT


def salted_hash(text: str, salt: bytes) -> str:
    """A keyed BLAKE2b digest of ``text`` (32 hex characters)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), key=salt[:64], digest_size=16).hexdigest()


#: the mode a new audit file is created with: readable by its owner only (an existing file's mode is left alone)
AUDIT_FILE_MODE = 0o600


def _append(path: Path, data: bytes) -> int:
    """Append ``data`` to ``path`` (created with :data:`AUDIT_FILE_MODE` when it does not exist); return how many
    bytes were written when an OSError interrupts it (raised with ``written`` set on the exception)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, AUDIT_FILE_MODE)
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        exc.written = len(data) - len(view)  # type: ignore[attr-defined]
        raise
    finally:
        os.close(fd)
    return len(data)


def _checked_path(path: object) -> Path | None:
    """The audit log's file, or None (records go to the logger); ValueError naming what is wrong with ``path``, so
    that a path no file can have fails when the log is made, not at its first record."""
    if path is None:
        return None
    if not isinstance(path, (str, Path)):
        raise ValueError(f"the audit log path must be a str or a Path, got {type(path).__name__}")
    if not str(path).strip():
        raise ValueError("the audit log path is empty")
    if "\x00" in str(path):
        raise ValueError("the audit log path holds a NUL character, which no file name can")
    return Path(path)


class AuditLog:
    """Writes one JSON line per decision to a file (created readable by its owner only), or to the
    ``guardrails.audit`` logger."""

    def __init__(self, *, path: str | Path | None = None) -> None:
        self.path = _checked_path(path)
        self._lock = threading.Lock()
        self._torn = False  # the last record was written in part: the file does not end with a line break

    def record(self, decision: Decision, **context: Any) -> dict[str, Any]:
        """Write and return the record. ``context`` must hold ids only (run id, conversation id hash).

        Raises :class:`~guardrails.errors.AuditError` (naming the file and the reason) when the file
        cannot be written: a decision that should be on record is not passed on unrecorded.
        """
        entry = {"ts": round(time.time(), 3), **decision.to_dict(), **context}
        line = json.dumps(entry, sort_keys=True, ensure_ascii=True)
        if self.path is None:
            logger.info(line)
            return entry
        with self._lock:
            # a record cut short (the disk filled up) is ended by the next one's line break, so that record parses
            data = (b"\n" if self._torn else b"") + (line + "\n").encode("utf-8")
            try:
                _append(self.path, data)
            except OSError as exc:
                self._torn = self._torn or getattr(exc, "written", 0) > 0
                raise AuditError(
                    f"cannot write the audit log {self.path}: {exc.strerror or type(exc).__name__}"
                ) from exc
            self._torn = False
        return entry
