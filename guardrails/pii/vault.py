"""The per-conversation PII vault: placeholders that stay stable within a conversation.

For every conversation id it remembers which placeholder (``<PERSON_1>``) stands for which
value, keyed by a salted hash of the normalised value, so the same person gets the same
placeholder on every turn. In reversible mode it also keeps the user's own values (only
those first seen on the input side) so answers can be restored; values the model produced
itself are never restorable.

Bounded in size (``max_conversations``, least recently used evicted first;
``max_entries`` per conversation, oldest evicted first) and in time (a conversation
expires ``ttl_seconds`` after its last use). Thread-safe: one lock guards all state.
Values are never logged: the vault has no logging, its ``repr`` shows counts only, and
stored values are wrapped in :class:`Secret`, whose ``repr``/``str`` hide them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Secret", "Vault"]


class Secret:
    """A string that does not show itself in ``repr``/``str`` (use :meth:`reveal`)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The wrapped value."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    __str__ = __repr__


@dataclass
class _Entry:
    placeholder: str
    value: Secret | None  # kept only in reversible mode, for values first seen on input


@dataclass
class _Conversation:
    last_used: float
    by_key: OrderedDict[tuple[str, str], _Entry] = field(default_factory=OrderedDict)
    by_placeholder: dict[str, _Entry] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class Vault:
    """Conversation id -> (entity, value hash) -> placeholder [-> value]."""

    def __init__(
        self,
        *,
        max_conversations: int = 10_000,
        max_entries: int = 1_000,
        ttl_seconds: float = 3_600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_conversations < 1 or max_entries < 1 or ttl_seconds <= 0:
            raise ValueError(
                f"vault bounds must be positive (max_conversations={max_conversations!r}, "
                f"max_entries={max_entries!r}, ttl_seconds={ttl_seconds!r})"
            )
        self.max_conversations = max_conversations
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._convs: OrderedDict[str, _Conversation] = OrderedDict()

    def __repr__(self) -> str:
        return f"Vault(conversations={len(self._convs)}, max_conversations={self.max_conversations})"

    def __len__(self) -> int:
        with self._lock:
            self._sweep(self._clock())
            return len(self._convs)

    def placeholder(self, conversation_id: str, label: str, key: str, value: str | None, *, restorable: bool) -> str:
        """The placeholder for ``(label, key)`` in a conversation, assigning the next number if new.

        ``key`` is a salted hash of the normalised value. ``value`` is stored only when
        ``restorable`` (reversible mode, input side): a value the model produced is never
        restorable until the user gives the same value themselves.
        """
        with self._lock:
            now = self._clock()
            conv = self._conversation(conversation_id, now)
            entry = conv.by_key.get((label, key))
            if entry is not None:
                conv.by_key.move_to_end((label, key))
                if restorable and value is not None and entry.value is None:
                    entry.value = Secret(value)
                return entry.placeholder
            n = conv.counters.get(label, 0) + 1
            conv.counters[label] = n
            entry = _Entry(
                placeholder=f"<{label}_{n}>", value=Secret(value) if restorable and value is not None else None
            )
            conv.by_key[(label, key)] = entry
            conv.by_placeholder[entry.placeholder] = entry
            while len(conv.by_key) > self.max_entries:
                _, old = conv.by_key.popitem(last=False)
                conv.by_placeholder.pop(old.placeholder, None)
            return entry.placeholder

    def lookup(self, conversation_id: str, placeholder: str) -> str | None:
        """The user's value behind a placeholder, or None (unknown, expired, or not restorable)."""
        with self._lock:
            now = self._clock()
            self._sweep(now)
            conv = self._convs.get(conversation_id)
            if conv is None:
                return None
            conv.last_used = now
            self._convs.move_to_end(conversation_id)
            entry = conv.by_placeholder.get(placeholder)
            return None if entry is None or entry.value is None else entry.value.reveal()

    def forget(self, conversation_id: str) -> None:
        """Drop everything remembered for a conversation."""
        with self._lock:
            self._convs.pop(conversation_id, None)

    def clear(self) -> None:
        """Drop every conversation."""
        with self._lock:
            self._convs.clear()

    # -- internals (lock held)

    def _conversation(self, conversation_id: str, now: float) -> _Conversation:
        self._sweep(now)
        conv = self._convs.get(conversation_id)
        if conv is None:
            conv = _Conversation(last_used=now)
            self._convs[conversation_id] = conv
            while len(self._convs) > self.max_conversations:
                self._convs.popitem(last=False)
        else:
            conv.last_used = now
            self._convs.move_to_end(conversation_id)
        return conv

    def _sweep(self, now: float) -> None:
        # conversations are kept in least-recently-used order: expired ones are at the front
        while self._convs:
            cid, conv = next(iter(self._convs.items()))
            if now - conv.last_used <= self.ttl_seconds:
                break
            del self._convs[cid]
