"""Screening a streamed answer on the fly with a bounded look-back buffer.

The screen holds back the last ``holdback_chars`` characters of the answer (and any
PII value or placeholder that straddles that point) until they have been checked in
context, so no text reaches the caller before a check has read it. Each check sees at most
``window_chars`` characters: the text not yet released plus some already-released context.
Given ``check_part`` and ``settled`` (``guard.settled_chars``), a check is told whether the
answer goes on and what of it comes before its text (a detector that reads windows reads the
whole answer so far), and the screen releases no text past what that check has read in every
window the finished answer will hold it in (about the last 80 word pieces are held back), so a
later check cannot refuse the answer for a window whose text was already shown (README,
"Streaming"). The caller gets text only after a check that covered it; a BLOCK stops
the stream and yields the refusal instead.

The checks are parts of one screening: ``check`` should not write an audit record of its own
(``guard.evaluate``); the caller records :attr:`StreamScreen.summary` once, for the whole
:attr:`StreamScreen.checked_text` (``guard.record(summary, text=checked_text)``). A part of the
same answer that is not streamed text (the tool calls held back until the model has finished) is
checked whole by :meth:`StreamScreen.check_apart`, as one more check of the same screening.

A screen may be read from another thread while a check runs (an async stream cancelled while a worker
thread judges a window): :meth:`StreamScreen.state` reads what to record at once, and says whether a check
is under way, whose decision is then not in the summary (and none of whose text was released).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from guardrails.types import Action, Decision, Finding

CheckFn = Callable[[str], Decision]
#: with ``check_part``, a check comes at most this many times per doubling of the answer's length, and so on
CHECK_SHARE = 16


class PartCheck(Protocol):
    """Screens a text of a streamed answer knowing where it lies: ``partial``, the answer goes on after it;
    ``head``, the answer's text before it (the check's text is the answer's last ``window_chars``; a detector that reads
    windows reads ``head`` too)."""

    def __call__(self, text: str, /, *, partial: bool, head: str) -> Decision: ...


_T = TypeVar("_T")


def _union(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


@dataclass(repr=False)  # it holds the answer's and the user's words: never shown
class StreamScreen:
    """Feed raw model chunks, get screened text back.

    ``check`` screens a window of output text (usually ``guard.evaluate(..., stage="output")``);
    ``transform`` turns a released raw segment and its entity findings into what the user
    sees (redaction, then restoration of the user's own values in reversible mode);
    ``partial_placeholder`` returns the length of a trailing incomplete placeholder.
    ``check_part``, when given, screens instead of ``check``, told where the text lies in the answer, and
    ``settled`` says how many leading characters of the answer so far a check has read as the finished answer
    will be read (``guard.settled_chars``): no more of it is released until a later check.
    """

    check: CheckFn
    transform: Callable[[str, list[Finding]], str]
    partial_placeholder: Callable[[str], int] = lambda _text: 0
    check_part: PartCheck | None = None
    settled: Callable[[str], int] = len
    holdback_chars: int = 96
    check_every_chars: int = 160
    window_chars: int = 2000
    buffer: str = ""
    released: int = 0
    #: how much of ``buffer`` the checks have seen (the checks end where the buffer ended)
    checked: int = 0
    decisions: list[Decision] = field(default_factory=list)
    blocked: Decision | None = None
    #: the texts checked whole apart from the streamed text (``check_apart``), in the order checked
    parts: list[str] = field(default_factory=list)
    #: a check was started and has given no decision: it is still running (on another thread), or it raised
    unjudged: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    #: characters of new text before the next check: ``check_every_chars``, doubled after each check that read more
    #: than ``window_chars`` (all the unreleased text) and could release nothing (a sentence longer than a window,
    #: text without sentence ends), so that such checks cost a multiple of the answer's length, not its square
    _every: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._every = self.check_every_chars

    def feed(self, chunk: str) -> str:
        """Add a chunk; return the text that may now be shown (possibly empty)."""
        if self.blocked is not None:
            return ""
        self.buffer += chunk
        # a check is due once enough text came in past what the last one read (or past the look-back buffer)
        # ... and at least a sixteenth of the answer so far: a check that reads the whole answer so far (the semantic
        # detector's, with ``check_part``) then costs a multiple of the answer's length in all, not its square
        every = max(self._every, len(self.buffer) // CHECK_SHARE if self.check_part is not None else 0)
        if len(self.buffer) - max(self.checked, self.released + self.holdback_chars) < every:
            return ""
        return self._release(final=False)

    def flush(self) -> str:
        """The stream ended: screen and release everything left."""
        if self.blocked is not None or self.released >= len(self.buffer):
            return ""
        return self._release(final=True)

    @property
    def last(self) -> Decision | None:
        return self.decisions[-1] if self.decisions else None

    @property
    def checked_text(self) -> str:
        """The raw answer as far as the checks have seen it: all of it once flushed, less when stopped early;
        then each part checked apart, on its own line (as a whole answer's slots are joined when checked at once)."""
        text = self.buffer[: self.checked]
        if not self.parts:
            return text
        return "\n".join(t for t in (text, *self.parts) if t.strip())

    def check_apart(self, text: str, check: Callable[[], Decision]) -> Decision:
        """Check ``text``, a part of the answer that is not streamed (held tool calls), whole with ``check``: its
        decision joins the screening's (a BLOCK stops it) and ``text`` joins :attr:`checked_text`."""
        return self._judge(check, part=text)

    def state(self) -> tuple[Decision | None, str, bool]:
        """What to record, read at once (from any thread): :attr:`summary`, :attr:`checked_text`, and
        :attr:`unjudged` (a check under way or failed: its decision is in neither, none of its text was released)."""
        with self._lock:
            return self.summary, self.checked_text, self.unjudged

    def _judge(self, check: Callable[[], Decision], *, checked: int | None = None, part: str | None = None) -> Decision:
        """Run one check; its decision and what it saw (the buffer up to ``checked``, or the ``part`` checked
        apart) join the screening together, so that :meth:`state` sees both or neither."""
        with self._lock:
            self.unjudged = True
        decision = check()  # raising, it leaves the screening unjudged
        with self._lock:
            self.unjudged = False
            self.decisions.append(decision)
            if checked is not None:
                self.checked = checked
            if part is not None:
                self.parts.append(part)
            if decision.action is Action.BLOCK and self.blocked is None:
                self.blocked = decision
        return decision

    @property
    def summary(self) -> Decision | None:
        """One decision for the whole streamed answer: the block if any, else the most severe check, with the
        categories, domains, findings and failures of every check (a finding's offsets are dropped when the
        checks saw different windows: they would point into one window only)."""
        if len(self.decisions) <= 1:
            return self.blocked or self.last
        top = self.blocked or max(self.decisions, key=lambda d: d.action)
        best: dict[tuple[str, str | None, str | None], Finding] = {}
        for d in self.decisions:
            for f in d.findings:
                key = (f.detector, f.category, f.label)
                if key not in best or f.score > best[key].score:
                    best[key] = replace(f, start=None, end=None)
        # a referred or blocked answer carries no disclaimer (as a single check would not)
        disclaiming = self.decisions if top.action < Action.REFER else [top]
        return replace(
            top,
            categories=_union(c for d in self.decisions for c in d.categories),
            disclaimer_categories=_union(c for d in disclaiming for c in d.disclaimer_categories),
            disclaimers=_union(t for d in disclaiming for t in d.disclaimers),
            findings=tuple(best.values()),
            failures=_union(x for d in self.decisions for x in d.failures),
        )

    def _release(self, *, final: bool) -> str:
        context = max(0, min(self.released, len(self.buffer) - self.window_chars))
        window = self.buffer[context:]
        part = self.check_part
        if part is None:
            decision = self._judge(lambda: self.check(window), checked=len(self.buffer))
        else:
            decision = self._judge(
                lambda: part(window, partial=not final, head=self.buffer[:context]), checked=len(self.buffer)
            )
        if decision.action is Action.BLOCK:
            return ""
        if final:
            end = len(self.buffer)
        else:
            # what the check read as the finished answer will be read, counted over the answer so far
            end = min(len(self.buffer) - self.holdback_chars, max(0, self.settled(self.buffer)))
        entities = [
            Finding(f.detector, f.category, f.score, f.start + context, f.end + context, f.label, f.view)
            for f in decision.findings
            if f.category is None and f.start is not None and f.end is not None and f.label
        ]
        if not final:
            moved = True
            while moved:  # until the cut is inside no value (moving it back may put it inside an earlier one)
                moved = False
                for f in entities:
                    if f.start is not None and f.end is not None and f.start < end < f.end:
                        end, moved = f.start, True
            end -= self.partial_placeholder(self.buffer[:end])
        if end <= self.released:
            if len(window) > self.window_chars:  # it had to read all the unreleased text, more than a window
                self._every *= 2
            return ""
        self._every = self.check_every_chars
        segment = self.buffer[self.released : end]
        # a value longer than the look-back may have had its head released before it could be recognised:
        # its unreleased rest is still redacted (clipped to this segment), never passed on raw
        local = [
            Finding(
                f.detector,
                f.category,
                f.score,
                max(f.start, self.released) - self.released,
                min(f.end, end) - self.released,
                f.label,
                f.view,
            )
            for f in entities
            if f.start is not None and f.end is not None and f.end > self.released and f.start < end
        ]
        self.released = end
        return self.transform(segment, local)
