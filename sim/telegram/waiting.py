"""Waiting on the simulator without sleeping: wake on every change, give up at a deadline."""

from __future__ import annotations

import asyncio
import inspect
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")


class Changes:
    """Wakes every waiter after a change; capture ``event`` before checking to miss nothing."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def notify(self) -> None:
        event, self.event = self.event, asyncio.Event()
        event.set()


async def wait_for(
    changes: Changes,
    check: Callable[[], T | None | Awaitable[T | None]],
    timeout: float,
    poll: float | None = None,
) -> T | None:
    """Re-run ``check`` after every change (and every ``poll`` s) until truthy or timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        event = changes.event
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        try:
            await asyncio.wait_for(event.wait(), min(remaining, poll or remaining))
        except TimeoutError:
            pass
