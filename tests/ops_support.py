"""Shared by the operations tests: free ports, a running :class:`bot.serve.Runner`, /healthz."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import AsyncIterator

import httpx

from bot.serve import Runner
from core.config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(settings: Settings, **options) -> AsyncIterator[Runner]:
    """The production runner on 127.0.0.1 until the block ends; then it must exit 0."""
    runner = Runner(settings, host="127.0.0.1", **options)
    task = asyncio.create_task(runner.run())
    ready = asyncio.create_task(runner.ready.wait())
    done, _ = await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        runner.stop()
        raise AssertionError(f"the runner did not start (exit {await task if task.done() else '?'})")
    try:
        yield runner
    finally:
        runner.stop()
        assert await asyncio.wait_for(task, 15) == 0


async def healthz(port: int) -> tuple[int, dict]:
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.get(f"http://127.0.0.1:{port}/healthz")
    return answer.status_code, answer.json()


async def eventually_health(port: int, status: int, timeout: float = 15.0,
                            problem: str | None = None) -> dict:
    """Wait until /healthz answers ``status`` (with ``problem`` among its problems)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while loop.time() < deadline:
        try:
            last = await healthz(port)
        except httpx.HTTPError as exc:
            last = (None, repr(exc))
        if last[0] == status and (problem is None or
                                  any(problem in p for p in last[1].get("problems", []))):
            return last[1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"/healthz never answered {status} {problem or ''}; last: {last}")
