"""The per-conversation PII vault: placeholders that stay stable within a conversation.

For every conversation id it remembers which placeholder (``<PERSON_1>``) stands for which
value, keyed by a salted hash of the normalised value, so the same person gets the same
placeholder on every turn. That is all it keeps unless the mode is reversible: then it also
keeps the user's own values (only those the caller marks restorable: the user's turns) so
answers can be restored; values from tool results, earlier answers, documents or the model
itself are never restorable until the user gives the same value themselves.

Bounded in size and time, since callers choose the conversation ids:

* ``max_entries`` per conversation (oldest entry evicted first; its number is not reused);
* ``max_total_entries`` across all conversations (least recently used conversations evicted
  whole, never the one being written);
* ``max_conversations`` (least recently used evicted first);
* a conversation expires ``ttl_seconds`` after its last use;
* the entity labels a conversation numbers after placeholders found in its texts (``seed``: typed by anyone, any
  label) are at most :data:`SEEDED_LABELS_MAX`, each at most :data:`SEEDED_LABEL_CHARS` long; past that a found
  placeholder is not remembered (the labels the redactor gives values, and :data:`STANDARD_LABELS`, always are).

An entry takes about 320 bytes, plus its value in reversible mode (about 110 bytes for a
25-character value), so the default bounds (100,000 entries) hold the vault near 45 MB.
Thread-safe: one lock guards all state. Values are never logged: the vault has no logging, its
``repr`` shows counts only, and stored values are wrapped in :class:`Secret`, whose
``repr``/``str`` hide them.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["SEEDED_LABELS_MAX", "SEEDED_LABEL_CHARS", "Assigned", "Secret", "Vault"]

#: bounds on the labels ``seed`` adds to a conversation's numbering: placeholders anyone may type (``<L000001_1>``
#: thousands of times) must not grow a conversation without limit
SEEDED_LABELS_MAX = 64
SEEDED_LABEL_CHARS = 48
#: the entity labels of the shipped PII presets (and Presidio's common ones): always numbered after a placeholder
#: found, so typed junk labels never keep a real one from being seeded
STANDARD_LABELS = frozenset(
    {
        *("PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN"),
        *("US_ITIN", "US_DRIVER_LICENSE", "US_PASSPORT", "US_BANK_NUMBER", "CRYPTO", "MEDICAL_LICENSE", "UK_NHS"),
        *("DATE_TIME", "NRP", "URL", "ORGANIZATION", "MEDICAL_RECORD_NUMBER"),
    }
)
#: how :meth:`Vault.assign` answered: an existing entry, a new entry, or a number given without an entry
Assigned = Literal["found", "stored", "reserved"]


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


@dataclass(slots=True)
class _Entry:
    placeholder: str
    value: Secret | None  # kept only in reversible mode, for values the caller marked restorable


@dataclass(slots=True)
class _Conversation:
    last_used: float
    epoch: int  # which life of the conversation id this is: one forgotten and started again is another
    by_key: OrderedDict[str, _Entry] = field(default_factory=OrderedDict)  # _key(label, value hash)
    by_placeholder: dict[str, _Entry] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class Vault:
    """Conversation id -> (entity, value hash) -> placeholder [-> value]."""

    def __init__(
        self,
        *,
        max_conversations: int = 10_000,
        max_entries: int = 500,
        max_total_entries: int = 100_000,
        ttl_seconds: float = 3_600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_conversations < 1 or max_entries < 1 or max_total_entries < 1 or ttl_seconds <= 0:
            raise ValueError(
                f"vault bounds must be positive (max_conversations={max_conversations!r}, "
                f"max_entries={max_entries!r}, max_total_entries={max_total_entries!r}, ttl_seconds={ttl_seconds!r})"
            )
        self.max_conversations = max_conversations
        self.max_entries = max_entries
        self.max_total_entries = max_total_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._convs: OrderedDict[bytes, _Conversation] = OrderedDict()  # by a digest of the id: ids of any length
        self._total = 0  # entries across all conversations
        self._epochs = itertools.count(1)
        # one conversation never holds more than the whole vault may
        self._per_conversation = min(max_entries, max_total_entries)

    def __repr__(self) -> str:
        return (
            f"Vault(conversations={len(self._convs)}, entries={self._total}, "
            f"max_conversations={self.max_conversations}, max_total_entries={self.max_total_entries})"
        )

    def __len__(self) -> int:
        """The number of live conversations."""
        with self._lock:
            self._sweep(self._clock())
            return len(self._convs)

    @property
    def total_entries(self) -> int:
        """The number of entries across all live conversations."""
        with self._lock:
            self._sweep(self._clock())
            return self._total

    def placeholder(self, conversation_id: str, label: str, key: str, value: str | None, *, restorable: bool) -> str:
        """The placeholder for ``(label, key)`` in a conversation, assigning the next number if new.

        ``key`` is a salted hash of the normalised value. ``value`` is stored only when
        ``restorable`` (reversible mode, the user's own turn): a value from anywhere else is
        never restorable until the user gives the same value themselves.
        """
        return self.assign(conversation_id, label, key, value, restorable=restorable)[0]

    def assign(
        self,
        conversation_id: str,
        label: str,
        key: str,
        value: str | None,
        *,
        restorable: bool,
        create: bool = True,
    ) -> tuple[str, Assigned, int]:
        """As :meth:`placeholder`, saying how: ``found`` (an existing entry), ``stored`` (a new entry) or,
        with ``create=False`` and no entry, ``reserved``: the next number, taken (never given again in
        the conversation) but not remembered, so the value is neither restorable nor numbered alike later.
        Third, the conversation's epoch (see :meth:`lookup`).
        """
        with self._lock:
            now = self._clock()
            conv = self._conversation(conversation_id, now)
            k = _key(label, key)
            entry = conv.by_key.get(k)
            if entry is not None:
                conv.by_key.move_to_end(k)
                if restorable and value is not None and entry.value is None:
                    entry.value = Secret(value)
                return entry.placeholder, "found", conv.epoch
            n = conv.counters.get(label, 0) + 1
            conv.counters[label] = n
            placeholder = f"<{label}_{n}>"
            if not create:
                return placeholder, "reserved", conv.epoch
            entry = _Entry(placeholder=placeholder, value=Secret(value) if restorable and value is not None else None)
            conv.by_key[k] = entry
            conv.by_placeholder[placeholder] = entry
            self._total += 1
            while len(conv.by_key) > self._per_conversation:
                _, old = conv.by_key.popitem(last=False)
                conv.by_placeholder.pop(old.placeholder, None)
                self._total -= 1
            # whole conversations out, least recently used first (this one was just moved to the end)
            while self._total > self.max_total_entries and len(self._convs) > 1:
                self._drop(next(iter(self._convs)))
            return placeholder, "stored", conv.epoch

    def peek(self, conversation_id: str, label: str, key: str) -> tuple[str | None, int]:
        """The placeholder of ``(label, key)`` if known, and the last number given for ``label``; changes nothing."""
        with self._lock:
            self._sweep(self._clock())
            conv = self._convs.get(_conv_key(conversation_id))
            if conv is None:
                return None, 0
            entry = conv.by_key.get(_key(label, key))
            return (None if entry is None else entry.placeholder), conv.counters.get(label, 0)

    def seed(self, conversation_id: str, label: str, number: int) -> None:
        """Make the next number given for ``label`` in the conversation greater than ``number`` (a placeholder
        already in its history, whose entry this vault no longer has)."""
        with self._lock:
            conv = self._conversation(conversation_id, self._clock())
            if (
                label not in conv.counters
                and label not in STANDARD_LABELS
                and (len(label) > SEEDED_LABEL_CHARS or len(conv.counters) >= SEEDED_LABELS_MAX)
            ):
                return
            if number > conv.counters.get(label, 0):
                conv.counters[label] = number

    def lookup(self, conversation_id: str, placeholder: str, *, epoch: int | None = None) -> str | None:
        """The user's value behind a placeholder, or None (unknown, expired, or not restorable).

        ``epoch``: the one :meth:`assign` gave when the placeholder was handed out. A conversation the vault
        forgot (too many conversations, or idle past its time) and then started again numbers its values from 1
        again, so its ``<PERSON_1>`` may be another value: with ``epoch`` given, such a placeholder is unknown.
        """
        with self._lock:
            now = self._clock()
            self._sweep(now)
            conv = self._convs.get(_conv_key(conversation_id))
            if conv is None or (epoch is not None and conv.epoch != epoch):
                return None
            conv.last_used = now
            self._convs.move_to_end(_conv_key(conversation_id))
            entry = conv.by_placeholder.get(placeholder)
            return None if entry is None or entry.value is None else entry.value.reveal()

    def forget(self, conversation_id: str) -> None:
        """Drop everything remembered for a conversation."""
        with self._lock:
            self._drop(_conv_key(conversation_id))

    def clear(self) -> None:
        """Drop every conversation."""
        with self._lock:
            self._convs.clear()
            self._total = 0

    # -- internals (lock held)

    def _drop(self, key: bytes) -> None:
        conv = self._convs.pop(key, None)
        if conv is not None:
            self._total -= len(conv.by_key)

    def _conversation(self, conversation_id: str, now: float) -> _Conversation:
        self._sweep(now)
        key = _conv_key(conversation_id)
        conv = self._convs.get(key)
        if conv is None:
            conv = _Conversation(last_used=now, epoch=next(self._epochs))
            self._convs[key] = conv
            while len(self._convs) > self.max_conversations:
                self._drop(next(iter(self._convs)))
        else:
            conv.last_used = now
            self._convs.move_to_end(key)
        return conv

    def _sweep(self, now: float) -> None:
        # conversations are kept in least-recently-used order: expired ones are at the front
        while self._convs:
            cid, conv = next(iter(self._convs.items()))
            if now - conv.last_used <= self.ttl_seconds:
                break
            self._drop(cid)


def _key(label: str, key: str) -> str:
    # one str, not a tuple of two: about 70 bytes less per entry
    return f"{label}\x00{key}"


def _conv_key(conversation_id: str) -> bytes:
    """The vault's key for a conversation: a 16-byte digest of its id (callers choose ids, of any length; the vault
    keeps neither them nor their size)."""
    return hashlib.blake2b(str(conversation_id).encode("utf-8", "surrogatepass"), digest_size=16).digest()
