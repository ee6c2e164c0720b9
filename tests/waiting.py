"""Waiting on a condition with a deadline (tests never sleep a fixed time to let work happen)."""

from __future__ import annotations

import asyncio
import time
from typing import Callable


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Return once ``condition()`` holds; fail after ``timeout`` seconds of real time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
