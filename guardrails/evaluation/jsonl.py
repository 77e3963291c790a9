"""Reading the JSON Lines files ``guardrails eval`` measures: errors name the file and line, never a row's text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["jsonl_objects", "row_id", "row_name", "shown"]

#: a value an error may repeat as it is: a name such as a label, an entity type or a category (a letter, then up to
#: 23 letters, digits, "_" or "-") ...
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,23}")
#: ... with no run of three digits and at most four digits in all: an SSN, a card or a phone number is never one
_DIGIT_RUN = re.compile(r"\d{3}")
_MAX_DIGITS = 4


def _is_name(value: str) -> bool:
    return (
        _NAME.fullmatch(value) is not None
        and _DIGIT_RUN.search(value) is None
        and sum(c.isdigit() for c in value) <= _MAX_DIGITS
    )


def shown(value: object) -> str:
    """A value of an eval file for an error message: a name (a label, a type, a category: "unsafe",
    "EMAIL_ADDRESS", "domain_medical") as written, any other string by its length only (a column filled in by
    mistake may hold a user's text, an SSN or a card number), a number likewise (one of many digits by its type
    only), anything else by its shape."""
    if isinstance(value, str):
        return repr(value) if _is_name(value) else f"a string of {len(value)} characters"
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):  # a card or an SSN written as a number is no name either
        return repr(value) if _is_name(f"n{value}".replace(".", "_").replace("-", "_")) else "a number"
    if isinstance(value, Mapping):
        return f"a mapping of {len(value)} keys"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} items"
    return f"a {type(value).__name__}"


def row_name(row: Mapping[str, Any], key: str, where: str) -> str | None:
    """A row's ``key`` as a string: a string as written, an integer in decimal, None when absent or null.

    Anything else (true/false, a fraction, a list, an object) is a ValueError naming ``where`` (the file and line)
    and the value's shape, not a repr passed off as an id or a category.
    """
    value = row.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{where}: '{key}' must be a string or an integer, got {shown(value)}")


def row_id(row: Mapping[str, Any], line: int, where: str) -> str:
    """A row's id (see ``row_name``), or its line number in the file when it has none (absent or null)."""
    value = row_name(row, "id", where)
    return str(line) if value is None else value


def jsonl_objects(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank line; a UTF-8 byte-order mark on the first line is allowed.

    A file that cannot be opened or read (no permission, a device that fails) is a ValueError naming the file
    and the reason.
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or type(exc).__name__}") from None
    with fh:
        lines = iter(fh)
        n = 0
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except OSError as exc:
                raise ValueError(f"{path}:{n + 1}: cannot read: {exc.strerror or type(exc).__name__}") from None
            n += 1
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}:{n}: not UTF-8 (byte {exc.start})") from None
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from None
            except RecursionError:
                raise ValueError(f"{path}:{n}: JSON nested too deeply to read") from None
            yield n, value
