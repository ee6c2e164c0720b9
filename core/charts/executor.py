"""Render charts off the event loop: a one-process pool by default, a thread on request.

Drawing a chart is ~0.2 s of CPU-bound Python (matplotlib's artists, Agg, PNG encoding) that
holds the GIL. In a thread it competes with the event loop for the interpreter, so every
other user's reply slows while charts render; in a separate process it does not, and
matplotlib (~45 MB) never enters the bot's own process. BENCHMARKS.md has the measurements
behind the default (``mode="process"``, one worker).

The worker is started on the first chart (spawned: a fresh interpreter, never a fork of the
running bot) and stopped after ``idle_seconds`` without work, so an idle bot carries no
matplotlib at all. A worker that dies (killed for memory, say) is replaced on the next chart.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

log = logging.getLogger(__name__)


def worker_init() -> None:
    """Start-up of a render worker process: warm matplotlib, freeze what exists."""
    # Ctrl-C reaches the whole process group: the bot shuts the worker down itself, so the
    # worker must not die of it with a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from core.charts.render import warm_up
    warm_up()
    # Everything alive now (matplotlib, fonts) lives as long as the worker: keep it out of
    # the collections below, which then cost ~10 ms instead of ~35 ms.
    gc.collect()
    gc.freeze()


def worker_render(job: Any) -> bytes:
    """One picture in a worker process. A matplotlib figure is a web of reference cycles that
    only the cycle collector frees; collecting the previous one first keeps the worker at
    ~105 MB instead of ~160 MB (BENCHMARKS.md)."""
    gc.collect()
    from core.charts.render import render_job      # imported in the worker, not the bot
    return render_job(job)


def thread_render(job: Any) -> bytes:
    from core.charts.render import render_job
    return render_job(job)


class ChartRenderer:
    """``await renderer.render(job)`` → PNG bytes, computed in a worker process (or thread)."""

    def __init__(self, *, mode: str = "process", workers: int = 1, idle_seconds: float = 60.0):
        if mode not in ("process", "thread"):
            raise ValueError("mode must be 'process' or 'thread'")
        self.mode = mode
        self.workers = workers
        self.idle_seconds = idle_seconds
        self._executor: Executor | None = None
        self._lock = threading.Lock()
        self._pending = 0
        self._idle_timer: threading.Timer | None = None
        self.started = 0                     # how many pools were started (for tests)

    @property
    def running(self) -> bool:
        """Whether a worker pool is up now."""
        return self._executor is not None

    def _pool(self) -> Executor:
        with self._lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            if self._executor is None:
                if self.mode == "process":
                    self._executor = ProcessPoolExecutor(
                        self.workers, mp_context=multiprocessing.get_context("spawn"),
                        initializer=worker_init)
                else:
                    self._executor = ThreadPoolExecutor(self.workers,
                                                        thread_name_prefix="chart-render")
                self.started += 1
            self._pending += 1
            return self._executor

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending == 0 and self._executor is not None and self.idle_seconds > 0:
                # A plain timer, not the event loop: it also fires after the loop is gone.
                self._idle_timer = threading.Timer(self.idle_seconds, self._stop_if_idle)
                self._idle_timer.daemon = True
                self._idle_timer.start()

    def _stop_if_idle(self) -> None:
        with self._lock:
            if self._pending == 0 and self._executor is not None:
                executor, self._executor = self._executor, None
                executor.shutdown(wait=False, cancel_futures=True)
                log.debug("chart renderer stopped after %.0f s idle", self.idle_seconds)

    async def render(self, job: Any) -> bytes:
        """The PNG of ``job``; the event loop keeps running while it renders."""
        pool = self._pool()
        try:
            try:
                future = pool.submit(self._function(), job)
            except (OSError, RuntimeError) as exc:
                if self.mode != "process":
                    raise
                # No worker process can be started here (a script without a __main__ guard,
                # a sandbox without fork/exec): draw in a thread rather than not at all.
                log.warning("chart render process unavailable (%s); rendering in a thread",
                            exc, exc_info=True)
                self._use_threads(pool)
                pool = self._pool()
                self._done()
                future = pool.submit(self._function(), job)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            log.warning("chart render worker died; a new one starts with the next chart")
            with self._lock:
                if self._executor is pool:
                    self._executor = None
            raise
        finally:
            self._done()

    def _function(self) -> Callable[[Any], bytes]:
        return worker_render if self.mode == "process" else thread_render

    def _use_threads(self, broken: Executor) -> None:
        with self._lock:
            self.mode = "thread"
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker now (idempotent)."""
        with self._lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
