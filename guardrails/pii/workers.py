"""Worker processes for large PII batches: spaCy NER and Presidio on several cores.

spaCy and Presidio hold the GIL, so threads do not make a batch faster; processes do.
:func:`detect_parallel` splits a batch into contiguous chunks (balanced by length), runs
them in a persistent pool of worker processes and merges the findings in order. Each
worker builds the detector once per configuration from a pickled
``(PIIOptions, ResolvedConfig)`` payload (custom recognizers and spaCy models included)
and keeps it; workers receive texts and send back only finding data (entity, span,
score), and never log text.

The pool is created lazily (or by :func:`start`, from ``PIIDetector.start_batch_workers``), shared by
every detector of the process that asks for the same number of workers, and uses the
``spawn`` start method: the parent may be running ONNX Runtime or torch threads, which
``fork`` would copy mid-flight. Like any ``spawn`` user, a script that calls
``check_batch`` at import time needs the ``if __name__ == "__main__":`` guard.

Failures never hang a batch and never pass it silently: a dead worker
(``BrokenProcessPool``), a pickling error, a pool that cannot start or a batch past its
(generous) deadline makes :func:`detect_parallel` return ``None``, and the detector
computes the batch in-process. The warning names the error type only. A broken pool is
discarded and rebuilt on the next large batch, at most ``MAX_POOL_STARTS`` times per
process. A ``DetectorError`` raised by the detector inside a worker is re-raised as is,
as it would be in-process.

Thread-safety: pool creation, submission and teardown happen under a per-pool lock;
several threads may run batches at once (their chunks queue in the same pool). Pools are
shut down at interpreter exit, and a forked child never reuses its parent's pools.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from guardrails._forks import forget_threads_in_child
from guardrails.errors import DetectorError
from guardrails.types import Finding

if TYPE_CHECKING:
    from guardrails.detectors.pii import PIIDetector

__all__ = ["MAX_POOL_STARTS", "WorkerPool", "detect_parallel", "pool_for", "resolve_workers", "shutdown_all", "start"]

logger = logging.getLogger(__name__)

#: how many worker processes ``batch_workers="auto"`` uses at most
AUTO_MAX_WORKERS = 4
#: a pool that broke this many times in one process is not started again (batches stay in-process)
MAX_POOL_STARTS = 3
#: chunks per worker: a little slack so a worker slowed by other load does not hold up the batch
_CHUNKS_PER_WORKER = 2
#: deadlines: worker start-up (imports, model load), and a batch (~40x the measured time per character)
_START_TIMEOUT_S = 180.0
_BATCH_BASE_TIMEOUT_S = 60.0
_BATCH_TIMEOUT_S_PER_CHAR = 1e-3
#: per-text cost of Presidio's analyze, in characters of text, for balancing chunks
_TEXT_OVERHEAD_CHARS = 120

#: finding data sent back by a worker: (detector, category, score, start, end, label, view)
_Row = tuple[str, str | None, float, int | None, int | None, str | None, str]


def resolve_workers(setting: int | Literal["auto"]) -> int:
    """Worker processes for a ``batch_workers`` setting: 0 means in-process.

    ``"auto"`` uses the CPUs this process may run on, at most ``AUTO_MAX_WORKERS``, and
    stays in-process on a single CPU; 0 and 1 mean in-process. Inside a worker it is
    always 0 (workers never start pools of their own).
    """
    if _STATE.in_worker:
        return 0
    if setting == "auto":
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cpus = os.cpu_count() or 1
        n = min(cpus, AUTO_MAX_WORKERS)
    else:
        n = int(setting)
    return n if n > 1 else 0


@dataclass(frozen=True)
class _Job:
    """What a worker needs to build the detector: a pickled (options, resolved config) and its digest."""

    key: str
    payload: bytes


def _job_for(detector: PIIDetector) -> _Job:
    # the worker's copy runs in-process (batch_workers=0); the resolved config carries the
    # preset, custom recognizers and model name, so workers never re-read YAML files
    options = detector.options.model_copy(update={"batch_workers": 0})
    payload = pickle.dumps((options, detector.config), protocol=pickle.HIGHEST_PROTOCOL)
    return _Job(key=hashlib.sha256(payload).hexdigest()[:24], payload=payload)


# --------------------------------------------------------------------------- worker side


class _State:
    """Per-process state: whether this process is a worker, and the pools it owns."""

    def __init__(self) -> None:
        self.in_worker = False
        self.lock = threading.Lock()
        self.pools: dict[int, WorkerPool] = {}
        self.detectors: OrderedDict[str, PIIDetector] = OrderedDict()


_STATE = _State()
_WORKER_CACHE_SIZE = 8


def _worker_detector(key: str, payload: bytes) -> PIIDetector:
    det = _STATE.detectors.get(key)
    if det is None:
        from guardrails.detectors.pii import PIIDetector

        options, config = pickle.loads(payload)
        det = PIIDetector.from_resolved(options=options, config=config)
        _STATE.detectors[key] = det
        while len(_STATE.detectors) > _WORKER_CACHE_SIZE:
            _STATE.detectors.popitem(last=False)
    else:
        _STATE.detectors.move_to_end(key)
    return det


def _import_presidio_lean() -> None:
    """Import Presidio with ``transformers`` hidden: only its optional Hugging Face NLP engine wants it.

    That import costs a worker 2-3 s and ~140 MB; workers use spaCy only. The block is lifted
    right after, so a spaCy model that does need transformers still imports it.
    """
    if "presidio_analyzer" in sys.modules or "transformers" in sys.modules:
        return
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    sys.modules["transformers"] = None  # type: ignore[assignment]
    try:
        import presidio_analyzer  # noqa: F401
    finally:
        if "transformers" in sys.modules and sys.modules["transformers"] is None:
            del sys.modules["transformers"]


def _init_worker(key: str, payload: bytes, ready: Any) -> None:
    """Worker start-up: imports, the first configuration's detector built and run once."""
    _STATE.in_worker = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        _import_presidio_lean()
        _worker_detector(key, payload).warmup()
    except Exception:
        pass  # the first task raises the same error, where the parent sees it
    finally:
        ready.release()


def _warm_task(key: str, payload: bytes) -> int:
    _worker_detector(key, payload).warmup()
    time.sleep(0.05)  # hold this worker a moment so the other warm tasks reach other workers
    return os.getpid()


def _detect_task(key: str, payload: bytes, texts: list[str]) -> list[list[_Row]]:
    """Finding data for a chunk of texts, one list per text."""
    from guardrails.detectors.base import DetectContext

    det = _worker_detector(key, payload)
    # PII detection reads nothing from the context: fresh ones equal the caller's
    found = det.detect_batch(texts, [DetectContext() for _ in texts])
    return [[(f.detector, f.category, f.score, f.start, f.end, f.label, f.view) for f in fs] for fs in found]


def _findings(rows: list[list[_Row]]) -> list[list[Finding]]:
    return [
        [Finding(detector=d, category=c, score=s, start=a, end=b, label=lab, view=v) for d, c, s, a, b, lab, v in fs]
        for fs in rows
    ]


# --------------------------------------------------------------------------- parent side


def _chunks(texts: Sequence[str], parts: int) -> list[tuple[int, int]]:
    """Contiguous ``[start, end)`` ranges of ``texts``, about equal in characters, none empty."""
    parts = max(1, min(parts, len(texts)))
    weights = [len(t) + _TEXT_OVERHEAD_CHARS for t in texts]
    total = sum(weights)
    bounds: list[tuple[int, int]] = []
    start, acc = 0, 0
    for i, w in enumerate(weights):
        acc += w
        left_parts = parts - len(bounds) - 1
        left_texts = len(texts) - (i + 1)
        if left_parts == 0:
            break
        if acc >= total * (len(bounds) + 1) / parts or left_texts == left_parts:
            bounds.append((start, i + 1))
            start = i + 1
    bounds.append((start, len(texts)))
    return bounds


class WorkerPool:
    """A lazily started pool of ``workers`` spawned processes that run PII detection."""

    def __init__(self, workers: int) -> None:
        if workers < 2:
            raise ValueError(f"a worker pool needs at least 2 workers, got {workers!r}")
        self.workers = workers
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._ready: Any = None  # semaphore each worker releases once initialised; None once all were
        self._starts = 0
        self._proven = False  # the current executor has completed work (it did start)
        #: batches computed by the workers so far (for monitoring and tests)
        self.batches = 0

    @property
    def running(self) -> bool:
        """True while the pool has an executor (started, not broken or shut down)."""
        return self._executor is not None

    @property
    def starts(self) -> int:
        """How many times this pool created its worker processes."""
        return self._starts

    def processes(self) -> list[multiprocessing.process.BaseProcess]:
        """The live worker processes (for monitoring and tests)."""
        ex = self._executor
        procs = getattr(ex, "_processes", None) or {}
        return [p for p in list(procs.values()) if p.is_alive()]

    def _executor_locked(self, job: _Job) -> ProcessPoolExecutor | None:
        if self._executor is not None:
            return self._executor
        if self._starts >= MAX_POOL_STARTS:
            return None
        self._starts += 1  # counted first: a pool that cannot even be created is not retried forever
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Semaphore(0)
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=ctx, initializer=_init_worker, initargs=(job.key, job.payload, ready)
        )
        self._ready = ready
        self._proven = False
        return self._executor

    def start(self, job: _Job) -> bool:
        """Start the workers (if needed) and build ``job``'s detector in each; True when all are ready.

        A ``DetectorError`` of the detector itself (a model that is not installed) propagates.
        """
        with self._lock:  # held while starting: batches from other threads wait for ready workers
            ex: ProcessPoolExecutor | None = None
            try:
                ex = self._executor_locked(job)
                if ex is None:
                    return False
                deadline = time.monotonic() + _START_TIMEOUT_S
                futures = [ex.submit(_warm_task, job.key, job.payload) for _ in range(self.workers)]
                _, pending = wait(futures, timeout=_START_TIMEOUT_S)
                if pending:
                    raise TimeoutError("worker start-up took too long")
                for f in futures:
                    f.result(timeout=0)  # a worker's error, if any
                if self._ready is not None:
                    for _ in range(self.workers):
                        if not self._ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                            raise TimeoutError("worker start-up took too long")
                    self._ready = None
                self._proven = True
                return True
            except DetectorError:
                raise
            except Exception as exc:
                self._discard_locked(ex, exc, texts=0)
                return False

    def run(self, job: _Job, texts: Sequence[str]) -> list[list[Finding]] | None:
        """Findings for ``texts`` computed in the workers, in order; None when the pool failed."""
        bounds = _chunks(texts, self.workers * _CHUNKS_PER_WORKER)
        with self._lock:
            ex: ProcessPoolExecutor | None = None
            try:
                ex = self._executor_locked(job)
                if ex is None:
                    return None
                futures = [ex.submit(_detect_task, job.key, job.payload, list(texts[a:b])) for a, b in bounds]
            except Exception as exc:  # BrokenProcessPool, or a pool that could not be created or spawn
                self._discard_locked(ex, exc, texts=len(texts))
                return None
        timeout = _BATCH_BASE_TIMEOUT_S + _BATCH_TIMEOUT_S_PER_CHAR * sum(len(t) for t in texts)
        if self._ready is not None:
            timeout += _START_TIMEOUT_S  # a cold pool: the workers are still starting
        done, pending = wait(futures, timeout=timeout, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f in done and f.exception(timeout=0) is not None), None)
        if failed is not None:
            error = failed.exception(timeout=0)
            assert error is not None
            for f in pending:
                f.cancel()
            if isinstance(error, DetectorError):
                raise error from None  # the detector's own failure (its message carries no text), as in-process
            self._discard(ex, error, texts=len(texts), broken=isinstance(error, (BrokenProcessPool, OSError)))
            return None
        if pending:
            self._discard(ex, TimeoutError(f"no result within {timeout:.0f} s"), texts=len(texts), broken=True)
            return None
        out: list[list[Finding]] = []
        for f in futures:
            out.extend(_findings(f.result(timeout=0)))
        with self._lock:
            self.batches += 1
            self._proven = self._proven or ex is self._executor
        return out

    def _discard(self, ex: ProcessPoolExecutor, exc: BaseException, *, texts: int, broken: bool) -> None:
        if not broken:
            logger.warning(
                "PII batch worker task failed (%s); computing %d texts in-process", type(exc).__name__, texts
            )
            return
        with self._lock:
            self._discard_locked(ex, exc, texts=texts)

    def _discard_locked(self, ex: ProcessPoolExecutor | None, exc: BaseException, *, texts: int) -> None:
        """Tear down a failed executor (if it is still this pool's) and its processes.

        A pool whose workers never completed anything is not started again: they most likely
        die at start-up (under ``spawn``, a script without a main guard ends them, see
        :func:`_refuse_in_bootstrapping_child`), and each new start would repeat that.
        """
        current = ex is not None and ex is self._executor
        if current and not self._proven:
            self._starts = MAX_POOL_STARTS
        logger.warning(
            "PII batch worker pool failed (%s); computing %d texts in-process; %s",
            type(exc).__name__,
            texts,
            "the pool restarts on the next large batch"
            if self._starts < MAX_POOL_STARTS
            else "batches stay in-process from now on",
        )
        if ex is None or not current:
            return  # another thread already discarded it
        self._executor = None
        self._ready = None
        _stop(ex)

    def shutdown(self) -> None:
        """Stop the workers (pending chunks are cancelled); the pool may start again later."""
        with self._lock:
            ex, self._executor, self._ready = self._executor, None, None
        if ex is not None:
            _stop(ex, graceful=True)


def _stop(ex: ProcessPoolExecutor, *, graceful: bool = False) -> None:
    procs = list((getattr(ex, "_processes", None) or {}).values())
    ex.shutdown(wait=graceful, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():  # pragma: no cover - a worker ignoring SIGTERM
            p.kill()
            p.join(timeout=5)


def pool_for(workers: int) -> WorkerPool:
    """The process-wide pool of ``workers`` processes (created on first use; nothing starts yet)."""
    with _STATE.lock:
        pool = _STATE.pools.get(workers)
        if pool is None:
            pool = WorkerPool(workers)
            _STATE.pools[workers] = pool
        return pool


def _refuse_in_bootstrapping_child() -> None:
    """Stop a ``spawn`` child that is re-running an unguarded main script and reached this module.

    Under ``spawn`` every new process imports the parent's main script; without an
    ``if __name__ == "__main__":`` guard it runs the whole script again, and would call the
    guard (and start pools) once per worker. Python refuses to start processes there; this
    ends such a child before it runs more of the script (the parent computes in-process).
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(
            "guardrails: a process started with multiprocessing 'spawn' is re-running the main script, which "
            "reaches the PII batch workers at import time; put the script's entry point under "
            "`if __name__ == '__main__':`, or set detectors.pii.options.batch_workers: 0"
        )


def start(detector: PIIDetector) -> bool:
    """Start the detector's worker pool and warm every worker; False when it runs in-process."""
    n = resolve_workers(detector.options.batch_workers)
    if n == 0:
        return False
    _refuse_in_bootstrapping_child()
    return pool_for(n).start(_job_for(detector))


def detect_parallel(detector: PIIDetector, texts: Sequence[str]) -> list[list[Finding]] | None:
    """Findings for ``texts`` from the worker pool, in order; None when the caller must run in-process."""
    n = resolve_workers(detector.options.batch_workers)
    if n == 0:
        return None
    _refuse_in_bootstrapping_child()
    return pool_for(n).run(_job_for(detector), texts)


def shutdown_all() -> None:
    """Stop every pool of this process (registered with :mod:`atexit`)."""
    with _STATE.lock:
        pools = list(_STATE.pools.values())
    for pool in pools:
        pool.shutdown()


def _forget_pools(state: _State) -> None:
    # a forked child has copies of the parent's executors but none of their threads: never use them
    state.lock = threading.Lock()
    state.pools = {}


atexit.register(shutdown_all)
forget_threads_in_child(_STATE, _forget_pools)
