"""Optional LLM judge: ask a user-supplied LangChain chat model to classify a text.

Off by default. The judge sends a Llama Guard-style prompt that lists the taxonomy
clauses (``S1: <clause>``...), the earlier user turns and the text, and asks for a
JSON verdict ``{"safe": bool, "categories": [{"id": "...", "confidence": 0.9}]}``.
The reply is parsed robustly (code fences, prose around the JSON, ``S<n>`` codes or
the Llama Guard ``unsafe\\nS1,S3`` format). Any failure (the model raises, the reply
cannot be parsed, the text needs more than ``max_windows`` calls) raises
:class:`~guardrails.errors.DetectorError`, and the profile's ``on_detector_error`` decides
what happens. A text longer than ``max_chars`` is judged in overlapping windows and the
worst score of each category wins: no part of a text goes unjudged.

The model comes from ``options.model`` (``"package.module:attr"``, where ``attr`` is a
chat model instance or a zero-argument factory returning one) or is passed to the
constructor. ``langchain_core`` is imported only when the judge runs.

The judge usually sends the text off the machine (a hosted model), so it declares
``needs_redacted_text``: the guard runs it after the redacting detectors (PII), on the
text redacted exactly as the decision's ``text`` (placeholders such as
``<EMAIL_ADDRESS_1>``, what the chain's model gets), with the earlier turns redacted
too. If a redacting detector or the redaction fails, whatever that detector's
``on_error``, the guard does not call the judge at all: it records the judge as failed
and the judge's own ``on_error`` decides (skipping it is the safe choice; judging the
unredacted text would send the very data the redaction exists to keep). Called
directly, ``detect`` sends what it is given.

Its call is also kept out of every callback handler and tracer (it is the guard's
call, not the user's run): it runs with no callbacks, outside any LangSmith or
``tracing_v2_enabled`` context, whatever run it happens inside.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import json
import math
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guardrails.detectors.base import BaseDetector, DetectContext
from guardrails.errors import DetectorError, DetectorUnavailable, raise_detached
from guardrails.taxonomy import Taxonomy, load_taxonomy
from guardrails.types import Finding, Stage

#: the judge's run config: no inherited callbacks (the judge's prompt is no part of the user's run)
_JUDGE_RUN: dict[str, Any] = {"callbacks": [], "run_name": "guardrails.llm_judge"}


@contextmanager
def _untraced() -> Iterator[None]:
    """No tracer for the judge's call: neither LangSmith's context or environment nor ``tracing_v2_enabled``."""
    from langchain_core.tracers.context import tracing_v2_callback_var
    from langsmith.run_helpers import tracing_context

    token = tracing_v2_callback_var.set(None)
    try:
        with tracing_context(enabled=False):
            yield
    finally:
        tracing_v2_callback_var.reset(token)


#: sync judge calls still running past their time limit (threads cannot be stopped), and the most allowed; calls
#: still within their limit are not counted, however many run at once
_PENDING = [0]
_PENDING_LOCK = threading.Lock()
MAX_PENDING = 16

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_SCODE = re.compile(r"\bS(\d{1,3})\b")


class LLMJudgeOptions(BaseModel):
    """Options of the LLM judge (``detectors.llm_judge.options`` in a profile)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: import path "module:attr" of a chat model instance or a zero-argument factory
    model: str | None = None
    #: the categories the judge is asked about (default: every taxonomy category)
    categories: tuple[str, ...] | None = None
    #: include the earlier user turns in the prompt
    include_history: bool = True
    #: a text longer than this is judged in windows of at most this many characters (overlapping), the worst
    #: score of each category across them wins; each earlier turn sent as history is cut to it
    max_chars: int = Field(default=8000, ge=100, le=200_000)
    #: the most judge calls (windows) one text may take; a longer text is a failure (``on_error`` applies),
    #: never judged in part
    max_windows: int = Field(default=4, ge=1, le=100)
    #: score of a flagged category when the model gives no confidence
    default_confidence: float = Field(default=0.9, ge=0.0, le=1.0)
    #: seconds to wait for the judge's reply; then the call counts as failed (``on_error`` applies)
    timeout_s: float = Field(default=30.0, gt=0.0, le=600.0)

    @field_validator("model")
    @classmethod
    def _import_path(cls, v: str | None) -> str | None:
        if v is not None:
            module, sep, attr = v.partition(":")
            if not sep or not module.strip() or not attr.strip():
                raise ValueError(f"model must look like 'package.module:attr', got {v!r}")
        return v


def build_prompt(text: str, *, history: Sequence[str], categories: Sequence[tuple[str, str]], stage: Stage) -> str:
    """The Llama Guard-style classification prompt (categories numbered S1..Sn)."""
    role = "User" if stage is Stage.INPUT else "Agent"
    lines = [
        f"Task: Check if there is unsafe content in the '{role}' message of the conversation below according to "
        "our usage policy with the categories below. Crisis categories mean the person may need urgent help; "
        "domain categories mean the message asks for medical, legal, financial or news content.",
        "",
        "<BEGIN CATEGORIES>",
    ]
    lines += [f"S{i}: {cid}: {clause}" for i, (cid, clause) in enumerate(categories, start=1)]
    lines += ["<END CATEGORIES>", "", "<BEGIN CONVERSATION>"]
    lines += [f"User (earlier turn): {_defanged(h)}" for h in history]
    lines += [f"{role}: {_defanged(text)}", "<END CONVERSATION>", ""]
    lines.append(
        f"Provide your assessment of the last '{role}' message as one JSON object and nothing else: "
        '{"safe": true|false, "categories": [{"id": "<category id>", "confidence": <0..1>}]}. '
        "List every category that applies (domain and crisis categories too); an empty list when none applies."
    )
    return "\n".join(lines)


#: the prompt's own delimiters, written in a text the judge reads: turned into plain words, so a text cannot close
#: the conversation and write instructions (or a verdict) after it
_DELIMITER = re.compile(r"<\s*/?\s*(BEGIN|END)\s+(CONVERSATION|CATEGORIES)\s*>", re.IGNORECASE)


def _defanged(text: str) -> str:
    return _DELIMITER.sub(lambda m: f"({m.group(1)} {m.group(2)})".lower(), text)


def parse_verdict(reply: str, *, categories: Sequence[str], default_confidence: float = 0.9) -> dict[str, float]:
    """Category id -> confidence from a judge reply; raises ValueError when the reply cannot be read."""
    known = list(categories)
    text = reply.strip()
    if len(text) > MAX_REPLY_CHARS:
        raise ValueError(f"the judge reply has {len(text)} characters, more than {MAX_REPLY_CHARS}")
    # every object of the whole reply, fenced or not: a quoted object in one fence and the verdict after it are two
    found = _json_objects(text)
    if len(found) > 1:  # a verdict and another object (a text the judge quoted): which is the verdict is unknown
        raise ValueError(f"the judge reply holds {len(found)} JSON objects, not one verdict")
    if found:
        return _from_json(found[0], known, default_confidence)
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    # Llama Guard's own format: "safe" or "unsafe\nS1,S3" (or category ids)
    first = text.splitlines()[0].strip().lower() if text else ""
    if first == "safe":
        return {}
    if first.startswith("unsafe"):
        out: dict[str, float] = {}
        for m in _SCODE.finditer(text):
            k = int(m.group(1))
            if 1 <= k <= len(known):
                out[known[k - 1]] = default_confidence
        for cid in known:
            if re.search(rf"\b{re.escape(cid)}\b", text):
                out[cid] = default_confidence
        if not out:
            raise ValueError("the judge said unsafe but named no known category")
        return out
    raise ValueError("the judge reply is neither JSON nor a safe/unsafe verdict")


#: a reply longer than this is not read (a verdict is a few hundred characters; parsing cost must stay bounded)
MAX_REPLY_CHARS = 20_000
#: at most this many "{" positions are tried as the start of the verdict
_MAX_JSON_STARTS = 64


def _json_objects(text: str) -> list[Any]:
    """The JSON objects in ``text`` (prose around them allowed), outermost only; ValueError when more than
    ``_MAX_JSON_STARTS`` "{" would have to be tried (the verdict may stand after those not read)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    start = text.find("{")
    for _ in range(_MAX_JSON_STARTS):
        if start == -1:
            return found
        try:
            obj, end = decoder.raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            start = text.find("{", start + 1)
            continue
        found.append(obj)
        start = text.find("{", end)
    if start == -1:
        return found
    raise ValueError(f"the judge reply holds more than {_MAX_JSON_STARTS} '{{' to read")


def _resolve_id(raw: Any, known: list[str]) -> str | None:
    s = str(raw).strip()
    if s in known:
        return s
    m = re.fullmatch(r"S?(\d{1,3})", s, flags=re.IGNORECASE)
    if m and 1 <= int(m.group(1)) <= len(known):
        return known[int(m.group(1)) - 1]
    low = s.lower()
    return low if low in known else None


def _from_json(obj: Any, known: list[str], default_confidence: float) -> dict[str, float]:
    """Read ``{"safe": bool, "categories": [...]}``; anything else is unreadable (and so fails closed)."""
    if not isinstance(obj, dict):
        raise ValueError("the judge reply is not a JSON object")
    safe = obj.get("safe")
    if safe is not None and not isinstance(safe, bool):
        raise ValueError(f"'safe' is not true or false but a {type(safe).__name__}")
    if safe is None and "categories" not in obj:
        raise ValueError("the judge reply has neither 'safe' nor 'categories'")
    cats = obj.get("categories", [])
    if isinstance(cats, (str, dict)):
        cats = [cats]
    if not isinstance(cats, list):
        raise ValueError("'categories' is not a list")
    out: dict[str, float] = {}
    unknown = 0
    for item in cats:
        if isinstance(item, dict):
            raw: Any = item.get("id", item.get("category", ""))
            cid = _resolve_id(raw, known)
            conf: Any = item.get("confidence", item.get("score", default_confidence))
        else:
            raw, cid, conf = item, _resolve_id(item, known), default_confidence
        if cid is None:
            unknown += str(raw).strip().lower() not in _NO_CATEGORY
            continue
        try:
            c = float(conf)
        except (TypeError, ValueError):
            c = default_confidence
        if not math.isfinite(c):
            raise ValueError(f"confidence of {cid} is not a finite number")
        out[cid] = max(out.get(cid, 0.0), min(1.0, max(0.0, c)))
    if unknown and safe is not True:  # a flag the guard cannot place: never dropped for the known ones beside it
        raise ValueError(f"the judge named {unknown} categories that are not in the taxonomy")
    if not out and (safe is False or (cats and safe is not True and not all(_none(c) for c in cats))):
        raise ValueError("the judge flagged the text but named no known category")
    if safe is False and max(out.values(), default=0.0) < 0.5:  # "unsafe", every confidence low: not an allow
        raise ValueError("the judge said unsafe but gave no category a confidence of 0.5 or more")
    return out


#: what a judge may name for "no category"
_NO_CATEGORY = frozenset({"", "none", "safe", "benign", "n/a"})


def _none(item: Any) -> bool:
    raw = item.get("id", item.get("category", "")) if isinstance(item, dict) else item
    return str(raw).strip().lower() in _NO_CATEGORY


def judge_windows(text: str, *, max_chars: int) -> list[tuple[int, int]]:
    """The spans ``(start, end)`` of ``text`` judged one call each: at most ``max_chars`` long, together covering
    all of it; each next one starts at least an eighth of ``max_chars`` before the last one ended (just after
    whitespace where there is some), so a sentence cut by one boundary is whole in a window when it is shorter
    than that."""
    if len(text) <= max_chars:
        return [(0, len(text))]
    overlap = max_chars // 8
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end = start + max_chars
        if end >= len(text):
            spans.append((start, len(text)))
            return spans
        # end the window at the last whitespace in its last sixteenth, if there is one
        space = text.rfind(" ", end - max_chars // 16, end)
        if space > start:
            end = space
        spans.append((start, end))
        nxt = end - overlap
        space = text.rfind(" ", nxt - max_chars // 16, nxt)
        start = space + 1 if space != -1 else nxt


def _reply_text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        parts = [b.get("text", "") if isinstance(b, dict) else str(b) for b in content]
        return "".join(parts)
    return str(content)


class LLMJudgeDetector(BaseDetector):
    """Classifies texts with a user-supplied LangChain chat model (see the module docstring)."""

    name: ClassVar[str] = "llm_judge"
    categories: tuple[str, ...] = load_taxonomy().ids()
    Options: ClassVar[type[LLMJudgeOptions]] = LLMJudgeOptions
    #: the prompt leaves the machine: the guard gives the judge only redacted text and history
    needs_redacted_text: ClassVar[bool] = True

    def __init__(
        self, *, model: Any = None, options: LLMJudgeOptions | None = None, taxonomy: Taxonomy | None = None
    ) -> None:
        self.options = options or LLMJudgeOptions()
        self.taxonomy = taxonomy or load_taxonomy()
        ids = self.options.categories or self.taxonomy.ids()
        for cid in ids:
            self.taxonomy.require(cid, where="llm_judge options")
        self.categories = tuple(ids)
        self._clauses = [(cid, self.taxonomy[cid].clause) for cid in self.categories]
        self._model = model
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, options: LLMJudgeOptions, *, taxonomy: Taxonomy) -> LLMJudgeDetector:
        """Build the judge from validated profile options (the model is imported on first use)."""
        return cls(options=options, taxonomy=taxonomy)

    @classmethod
    def check_options(cls, options: LLMJudgeOptions, *, taxonomy: Taxonomy) -> None:
        """Reject unknown category ids."""
        for cid in options.categories or ():
            if cid not in taxonomy:
                raise ValueError(f"categories: unknown category id {cid!r}")

    def _chat_model(self) -> Any:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                if self.options.model is None:
                    raise DetectorUnavailable(
                        "no judge model: set options.model ('module:attr') or pass model=", detector=self.name
                    )
                module_name, _, attr = self.options.model.partition(":")
                try:
                    obj = getattr(importlib.import_module(module_name), attr)
                except (ImportError, AttributeError) as exc:
                    raise DetectorUnavailable(
                        f"cannot import the judge model {self.options.model!r}: {exc}", detector=self.name
                    ) from None
                if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "invoke")):
                    try:
                        obj = obj()  # a class or a zero-argument factory
                    except Exception as exc:
                        raise DetectorUnavailable(
                            f"cannot build the judge model {self.options.model!r} ({type(exc).__name__})",
                            detector=self.name,
                        ) from None
                if not hasattr(obj, "invoke"):
                    raise DetectorUnavailable(f"{self.options.model!r} is not a chat model", detector=self.name)
                self._model = obj
        return self._model

    def warmup(self) -> None:
        """Import the chat model now."""
        self._chat_model()

    def _prompts(self, text: str, ctx: DetectContext) -> list[str]:
        """One prompt per window of ``text``; a text needing more than ``max_windows`` is a DetectorError."""
        cut = self.options.max_chars
        pieces = [text[a:b] for a, b in judge_windows(text, max_chars=cut)]
        if len(pieces) > self.options.max_windows:
            raise DetectorError(
                f"a text of {len(text)} characters needs {len(pieces)} judge calls of max_chars={cut}; "
                f"max_windows is {self.options.max_windows}",
                detector=self.name,
            )
        history = [h[:cut] for h in ctx.history] if self.options.include_history else []
        return [build_prompt(p, history=history, categories=self._clauses, stage=ctx.stage) for p in pieces]

    def _verdict(self, reply: Any) -> dict[str, float]:
        try:
            return parse_verdict(
                _reply_text(reply), categories=self.categories, default_confidence=self.options.default_confidence
            )
        except ValueError as exc:
            raise DetectorError(f"unreadable judge reply: {exc}", detector=self.name) from None

    def _findings(self, replies: Sequence[Any]) -> list[Finding]:
        """The worst score of each category over the windows' replies (every reply must be readable)."""
        worst: dict[str, float] = {}
        for reply in replies:
            for cid, score in self._verdict(reply).items():
                worst[cid] = max(score, worst.get(cid, 0.0))
        return [Finding(self.name, cid, round(score, 4), label="llm_judge") for cid, score in worst.items()]

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        """Ask the judge about ``text`` (window by window); raises DetectorError when the model fails, a reply is
        unreadable or the text needs more than ``max_windows`` calls."""
        model = self._chat_model()
        return self._findings([self._ask(model, prompt) for prompt in self._prompts(text, ctx)])

    def _ask(self, model: Any, prompt: str) -> Any:
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                with _untraced():
                    box["reply"] = model.invoke(prompt, config=_JUDGE_RUN)
            except BaseException as exc:  # handed over to the calling thread
                box["error"] = exc

        # a daemon thread, so that a judge that never answers can neither hang the check nor the exit; a call that
        # outlives its time limit is counted until it ends, and past MAX_PENDING such calls the judge refuses new
        # work (fails closed); calls within their limit are not counted, however many run at once
        with _PENDING_LOCK:
            if _PENDING[0] >= MAX_PENDING:
                raise DetectorError(
                    f"{_PENDING[0]} earlier judge calls are still running past their time limit", detector=self.name
                )

        def counted() -> None:
            try:
                call()
            finally:
                with _PENDING_LOCK:
                    box["done"] = True
                    if box.get("overdue"):
                        _PENDING[0] -= 1

        worker = threading.Thread(target=counted, name="guardrails-llm-judge", daemon=True)
        worker.start()
        worker.join(self.options.timeout_s)
        with _PENDING_LOCK:
            overdue = not box.get("done")
            if overdue:
                box["overdue"] = True
                _PENDING[0] += 1
        if overdue:
            raise DetectorError(
                f"the judge model gave no reply within {self.options.timeout_s:g} s", detector=self.name
            )
        if "error" in box:
            exc = box["error"]
            raise_detached(DetectorError(f"the judge model failed ({type(exc).__name__})", detector=self.name))
        return box["reply"]

    async def adetect(self, text: str, ctx: DetectContext) -> list[Finding]:
        """Async ``detect`` through the model's own ``ainvoke``."""
        model = self._chat_model()
        return self._findings([await self._aask(model, prompt) for prompt in self._prompts(text, ctx)])

    async def _aask(self, model: Any, prompt: str) -> Any:
        async def ask() -> Any:
            with _untraced():
                return await model.ainvoke(prompt, config=_JUDGE_RUN)

        # an empty context: no tracer or run collector of the caller (configure hooks live in context variables)
        # sees the judge's prompt; a thread started for ``detect`` begins with an empty context the same way
        task = asyncio.get_running_loop().create_task(ask(), context=contextvars.Context())
        try:
            reply = await asyncio.wait_for(task, timeout=self.options.timeout_s)
        except TimeoutError:
            raise DetectorError(
                f"the judge model gave no reply within {self.options.timeout_s:g} s", detector=self.name
            ) from None
        except Exception as exc:
            raise_detached(DetectorError(f"the judge model failed ({type(exc).__name__})", detector=self.name))
        return reply


__all__ = ["LLMJudgeDetector", "LLMJudgeOptions", "build_prompt", "judge_windows", "parse_verdict"]
