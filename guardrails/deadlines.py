"""Time limits for detectors: a detector that is too slow becomes a failure, not a slow answer.

A profile sets ``detector_timeout_s`` (every detector) or ``detectors.<name>.timeout_s`` (one).
The guard then runs that detector's call on a worker thread and waits at most that long; past
the limit the check records a :class:`~guardrails.errors.DetectorTimeout` failure, which the
detector's ``on_error`` turns into a block (the default) or a pass.

Python cannot stop a thread, so a call that timed out keeps running to its end. To keep such
left-over work from piling up (an attacker sending text that is slow to scan, say), each limit
has at most ``max_running`` worker threads; a call waits in a queue for a free one, and the wait
counts against its limit (a call whose caller gave up is dropped from the queue unrun). Past
``max_waiting`` queued calls, new calls fail at once. Workers are daemon threads, started on
demand and ended after ``IDLE_WORKER_S`` idle: a call that never returns cannot hold up the
interpreter's exit. A detector with an async ``adetect`` of its own is awaited under
``asyncio.wait_for`` instead (cancelled past the limit; no worker, no bound).

Sync and async share one implementation: a call is a :class:`_Job` that a worker runs; ``run``
waits for it on the calling thread, ``arun`` awaits it from the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from guardrails.errors import DetectorTimeout

T = TypeVar("T")

__all__ = ["IDLE_WORKER_S", "TimeLimit"]

#: a worker thread with no call to run for this many seconds ends (a new one starts on demand)
IDLE_WORKER_S = 10.0


class _Job(Generic[T]):
    """One call, run by a worker; the result (or error) is handed to whoever waits."""

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        self._fn = fn
        self._args = args
        self._context = contextvars.copy_context()
        self._done = threading.Event()
        self.abandoned = False  # the caller gave up: a job not started yet is dropped
        self._value: T | None = None
        self._error: BaseException | None = None
        self._on_done: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            value = self._context.run(self._fn, *self._args)
        except BaseException as exc:  # handed over to the waiting caller
            self.finish(None, exc)
            return
        self.finish(value, None)

    def finish(self, value: T | None, error: BaseException | None) -> None:
        self._value, self._error = value, error
        with self._lock:
            self._done.set()
            callback = self._on_done
        if callback is not None:
            callback()

    def notify(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the worker thread) once the job is done, or now if it already is."""
        with self._lock:
            if not self._done.is_set():
                self._on_done = callback
                return
        callback()

    def wait(self, seconds: float) -> bool:
        return self._done.wait(seconds)

    def result(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class TimeLimit:
    """Runs one detector's calls with at most ``seconds`` each (see the module docstring)."""

    def __init__(self, name: str, seconds: float, *, max_running: int = 4, max_waiting: int = 64) -> None:
        if not seconds > 0:
            raise ValueError(f"a time limit must be > 0 seconds, got {seconds!r}")
        if max_running < 1 or max_waiting < 0:
            raise ValueError(f"max_running must be >= 1 and max_waiting >= 0, got {max_running}, {max_waiting}")
        self.name = name
        self.seconds = float(seconds)
        self.max_running = max_running
        self.max_waiting = max_waiting
        self._queue: queue.SimpleQueue[_Job[Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers = 0  # worker threads alive (each runs one call at a time, or waits for one)
        self._pending = 0  # calls queued or running, abandoned ones included
        from guardrails._forks import forget_threads_in_child

        forget_threads_in_child(self, TimeLimit._forget_threads)

    def _forget_threads(self) -> None:
        """In a fork child: none of the parent's workers came along, nor the calls they were running."""
        self._queue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers = 0
        self._pending = 0

    def _timeout(self, seconds: float, why: str = "") -> DetectorTimeout:
        extra = f"; {why}" if why else ""
        return DetectorTimeout(f"no result within {seconds:g} s (timeout_s){extra}", detector=self.name)

    def _submit(self, fn: Callable[..., T], args: tuple[Any, ...], seconds: float) -> _Job[T]:
        job: _Job[T] = _Job(fn, args)
        with self._lock:
            if self._pending >= self.max_running + self.max_waiting:
                raise self._timeout(
                    seconds, f"{self._pending} earlier calls are still running or waiting (the slow ones time out)"
                )
            self._pending += 1
            self._queue.put(job)
            # a call no worker can take now gets a new worker, up to max_running
            start = self._pending > self._workers and self._workers < self.max_running
            if start:
                self._workers += 1
        if start:
            try:
                threading.Thread(target=self._work, name=f"guardrails-{self.name}", daemon=True).start()
            except BaseException:
                with self._lock:
                    self._workers -= 1
                raise
        return job

    def _work(self) -> None:
        while True:
            try:
                job = self._queue.get(timeout=IDLE_WORKER_S)
            except queue.Empty:
                with self._lock:  # a call put while we waited is ours to run; else this worker ends
                    if self._queue.empty():
                        self._workers -= 1
                        return
                continue
            try:
                if job.abandoned:
                    job.finish(None, self._timeout(self.seconds, "dropped before it started"))
                else:
                    job.run()
            finally:
                with self._lock:
                    self._pending -= 1

    def run(self, fn: Callable[..., T], *args: Any, scale: int = 1) -> T:
        """``fn(*args)`` within ``seconds * scale`` (``scale``: the number of texts of a batch call)."""
        seconds = self.seconds * max(1, scale)
        job = self._submit(fn, args, seconds)
        try:
            done = job.wait(seconds)
        except BaseException:  # the caller is interrupted: its call must not run later
            job.abandoned = True
            raise
        if not done:
            job.abandoned = True
            raise self._timeout(seconds)
        return job.result()

    async def arun(self, fn: Callable[..., T], *args: Any, scale: int = 1) -> T:
        """Async ``run``: the call runs on a worker thread, the event loop only awaits it."""
        seconds = self.seconds * max(1, scale)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        def wake_from_worker() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting any more
                loop.call_soon_threadsafe(wake)

        job = self._submit(fn, args, seconds)
        job.notify(wake_from_worker)
        try:
            await asyncio.wait_for(done, seconds)
        except (asyncio.TimeoutError, TimeoutError):  # distinct classes before Python 3.11
            job.abandoned = True
            raise self._timeout(seconds) from None
        except BaseException:  # the caller is cancelled: its call must not run later
            job.abandoned = True
            raise
        return job.result()

    async def await_(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await a detector's own coroutine (a native ``adetect``) within the limit; cancelled past it."""
        try:
            return await asyncio.wait_for(make(), self.seconds)
        except (asyncio.TimeoutError, TimeoutError):
            raise self._timeout(self.seconds) from None

    def __repr__(self) -> str:
        return f"TimeLimit({self.name!r}, {self.seconds:g} s, workers<={self.max_running})"
