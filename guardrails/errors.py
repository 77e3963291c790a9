"""Exception hierarchy. Verdicts are values (Decision); these are for misuse and failures."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from guardrails.types import Decision


def brief(value: object, limit: int = 40) -> str:
    """A bad value for an error message: short, and a mapping or list by its shape (a misplaced field or a
    mistyped path may hold a user's text, which an error must not echo)."""
    if isinstance(value, dict):
        keys = ", ".join(map(str, list(value)[:5]))
        return f"a mapping with keys {keys}" + (", ..." if len(value) > 5 else "")
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: a short token a client may send in a request's settings (a locale, a profile name or path, a charset) ...
_TOKEN = re.compile(r"[A-Za-z0-9_.=+/~-]{1,64}")
#: ... with no run of three digits: an SSN, a card or a phone number is never one
_DIGIT_RUN = re.compile(r"\d{3}")


def brief_token(value: object) -> str:
    """A value a client sent where a short token belongs (a locale, a profile name or path, a charset), for a log
    line or an error: as written when it is such a token (up to 64 letters, digits or ``_.=+/~-``, with at most four
    digits and no run of three; no space, no ``@``), or a small number, a bool or None; else only its type (and a
    string's length), since it may hold the user's text or PII."""
    if is_token(value):
        return repr(value)
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    return f"a value of type {type(value).__name__}"


def is_token(value: object) -> bool:
    """True when :func:`brief_token` shows ``value`` as written."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        value = str(value)
    elif not isinstance(value, str) or _TOKEN.fullmatch(value) is None:
        return False
    return _DIGIT_RUN.search(value) is None and sum(c.isdigit() for c in value) <= 4


def raise_detached(error: BaseException) -> NoReturn:
    """Raise ``error`` with no exception chained to it. ``raise ... from None`` only hides the exception being
    handled: ``__context__`` still holds it, message and all, and the one a chain input, a parser or a detector
    raised may quote the user's text or the model's answer."""
    try:
        raise error from None
    finally:
        error.__context__ = None


class GuardrailsError(Exception):
    """Base class of every error this library raises."""


class GuardrailsWarning(UserWarning):
    """A set-up that works but screens less than the user may expect (the message says what, and the fix)."""


class ProfileError(GuardrailsError, ValueError):
    """A profile could not be loaded: names the file, the field path and the bad value."""

    def __init__(self, message: str, *, source: str = "<profile>", field: str = "", value: object = None) -> None:
        self.source = source
        self.field = field
        self.value = value
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + message)


class AuditError(GuardrailsError):
    """An audit record could not be written: names the file and the reason, never the record."""


class TaxonomyError(GuardrailsError, ValueError):
    """An unknown category id, or a broken taxonomy file."""


class DetectorError(GuardrailsError):
    """A detector failed while checking a text. Never carries raw user text."""

    def __init__(self, message: str, *, detector: str = "") -> None:
        self.detector = detector
        super().__init__(f"{detector}: {message}" if detector else message)


class DetectorUnavailable(DetectorError):
    """A detector's model or dependency is not present on this machine."""


class DetectorTimeout(DetectorError):
    """A detector gave no result within its time limit (``timeout_s`` in the profile)."""


class InputError(GuardrailsError, TypeError):
    """The text or the chain input given to the guard has a shape it cannot judge."""


class GuardrailViolation(GuardrailsError):
    """Raised by adapters (the callback handler, ``raise_on_block``) when a turn is stopped."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        cats = ", ".join(decision.categories) or "none"
        super().__init__(f"guardrails stopped the {decision.stage} ({decision.action}; categories: {cats})")
