"""Rendering off the event loop: the loop keeps answering, the worker comes and goes."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.charts import executor as ex
from core.charts.executor import ChartRenderer
from core.charts.model import RenderJob
from core.plans import Plan
from tests.core.charts.factories import THRESHOLDS, chart_data

PNG = b"\x89PNG\r\n\x1a\n"


def job() -> RenderJob:
    return RenderJob(chart_data(Plan.STANDARD, "7d"), THRESHOLDS)


async def longest_stall_while(awaitable) -> tuple[object, float]:
    """Run ``awaitable`` while a heartbeat ticks every 5 ms; the longest gap between ticks."""
    gaps, done = [], asyncio.Event()

    async def heartbeat():
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    try:
        result = await awaitable
    finally:
        done.set()
        await beat
    return result, max(gaps, default=0.0)


async def test_the_event_loop_keeps_answering_while_a_chart_renders_in_the_worker():
    renderer = ChartRenderer(mode="process")
    try:
        await renderer.render(job())                             # start and warm the worker
        started = time.perf_counter()
        png, stall = await longest_stall_while(
            asyncio.gather(*(renderer.render(job()) for _ in range(3))))
        elapsed = time.perf_counter() - started
    finally:
        renderer.close()
    assert all(p.startswith(PNG) for p in png)
    assert elapsed > 0.2                      # three real renders happened meanwhile
    assert stall < 0.1, f"the loop stalled {stall * 1000:.0f} ms"


async def test_thread_mode_renders_the_same_picture_size():
    renderer = ChartRenderer(mode="thread")
    try:
        png = await renderer.render(job())
    finally:
        renderer.close()
    assert png.startswith(PNG) and 20_000 < len(png) < 200_000


async def test_an_idle_worker_stops_and_a_new_one_starts_on_demand():
    renderer = ChartRenderer(mode="thread", idle_seconds=0.1)
    await renderer.render(job())
    await asyncio.sleep(0.3)
    assert not renderer.running
    await renderer.render(job())
    assert renderer.started == 2
    renderer.close()
    renderer.close()                                              # idempotent


async def test_without_worker_processes_it_renders_in_a_thread(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise RuntimeError("no processes here")

    monkeypatch.setattr(ex.ProcessPoolExecutor, "submit", refuse)
    renderer = ChartRenderer(mode="process")
    try:
        png = await renderer.render(job())
    finally:
        renderer.close()
    assert png.startswith(PNG) and renderer.mode == "thread"


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        ChartRenderer(mode="gpu")
