"""Per-key request pacing, shared by every coroutine that uses the key.

CoinGlass limits each API key per minute (Hobbyist 30, Startup 80...). Whether its window is
fixed or sliding is not documented (coinglass-v4.md §4), so the limiter keeps a sliding 60 s
log, which satisfies both, and uses only ``HEADROOM`` of the limit.

Each slot is stamped with its send time while the request is in flight and re-stamped with
its completion time when the answer arrives. CoinGlass counts a request when it *receives* it,
which lies between those two instants, so our window never lags CoinGlass's even when
latencies vary (requests time out well inside 60 s).

``API-KEY-MAX-LIMIT`` replaces the plan's nominal limit; ``API-KEY-USE-LIMIT`` above our own
count means the key is also used elsewhere, and the difference is booked as phantom slots.
A 429 blocks the key for ``retry_after`` (or an exponential 30 s … 5 min) before anything else
is sent with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

WINDOW_SECONDS = 60.0
HEADROOM = 0.9
FIRST_BACKOFF_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 300.0


def key_fingerprint(api_key: str) -> str:
    """A short stable id for a key that reveals nothing about it (for maps and logs)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


class _Stamp:
    """When a slot's request counts: its send time in flight, its completion time after."""

    __slots__ = ("at", "_clock")

    def __init__(self, at: float, clock: Callable[[], float]):
        self.at = at
        self._clock = clock

    def touch(self) -> None:
        """Move the stamp to now (later is always the cautious direction)."""
        self.at = max(self.at, self._clock())


class KeyLimiter:
    """Sliding-window limiter for one API key."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 window: float = WINDOW_SECONDS):
        self._clock = clock
        self._window = window
        self._stamps: list[_Stamp] = []
        self._blocked_until = 0.0
        self._consecutive_429 = 0
        self._wakeup = asyncio.Event()
        self.per_minute = per_minute
        self.total_sent = 0

    @property
    def capacity(self) -> int:
        return max(1, math.floor(self.per_minute * HEADROOM))

    @property
    def blocked_for(self) -> float:
        return max(0.0, self._blocked_until - self._clock())

    def _prune(self, now: float) -> None:
        horizon = now - self._window
        if self._stamps and min(s.at for s in self._stamps) <= horizon:
            self._stamps = [s for s in self._stamps if s.at > horizon]

    def used_last_minute(self) -> int:
        self._prune(self._clock())
        return len(self._stamps)

    def _wait_time(self, now: float) -> float:
        """Seconds until a slot may be taken (0 = now)."""
        if self._blocked_until > now:
            return self._blocked_until - now
        self._prune(now)
        if len(self._stamps) < self.capacity:
            return 0.0
        oldest = sorted(s.at for s in self._stamps)[len(self._stamps) - self.capacity]
        return max(0.001, oldest + self._window - now + 0.001)

    async def _acquire(self) -> _Stamp:
        while True:
            now = self._clock()
            wait = self._wait_time(now)
            if wait <= 0:
                stamp = _Stamp(now, self._clock)
                self._stamps.append(stamp)
                self.total_sent += 1
                return stamp
            self._wakeup.clear()
            try:
                # woken early when a header raises the limit or a backoff ends sooner
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[_Stamp]:
        """Hold one request's slot: wait for room, then stamp completion on exit.

        A caller that waits again before sending (for a connection) calls ``touch()`` on the
        yielded stamp right before the request leaves.
        """
        stamp = await self._acquire()
        try:
            yield stamp
        finally:
            stamp.touch()

    def observe(self, max_limit: int | None, used: int | None) -> None:
        """Fold in CoinGlass's own view of this key from the response headers."""
        if max_limit and max_limit > 0 and max_limit != self.per_minute:
            self.per_minute = max_limit
            self._wakeup.set()
        if used is not None:
            now = self._clock()
            self._prune(now)
            missing = min(used, self.per_minute) - len(self._stamps)
            if missing > 0:
                self._stamps.extend(_Stamp(now, self._clock) for _ in range(missing))

    def rate_limited(self, retry_after: float | None = None) -> float:
        """Block the key after a 429; returns the back-off in seconds."""
        self._consecutive_429 += 1
        if retry_after and retry_after > 0:
            delay = min(MAX_BACKOFF_SECONDS, retry_after)
        else:
            delay = min(MAX_BACKOFF_SECONDS,
                        FIRST_BACKOFF_SECONDS * 2 ** (self._consecutive_429 - 1))
        self._blocked_until = max(self._blocked_until, self._clock() + delay)
        return delay

    def succeeded(self) -> None:
        self._consecutive_429 = 0


class LimiterRegistry:
    """One :class:`KeyLimiter` per API key, created on first use with the plan's limit."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._limiters: dict[str, KeyLimiter] = {}
        self._nominal: dict[str, int] = {}

    def for_key(self, api_key: str, per_minute: int | None = None) -> KeyLimiter:
        """The key's limiter; ``per_minute`` (the plan's limit) applies when the plan changes."""
        fp = key_fingerprint(api_key)
        limiter = self._limiters.get(fp)
        if limiter is None:
            # Before we know the plan, pace like the smallest plan (Hobbyist: 30/min).
            limiter = KeyLimiter(per_minute or 30, clock=self._clock)
            self._limiters[fp] = limiter
            if per_minute:
                self._nominal[fp] = per_minute
        elif per_minute and self._nominal.get(fp) != per_minute:
            self._nominal[fp] = per_minute
            limiter.per_minute = per_minute
        return limiter

    def peek(self, api_key: str) -> KeyLimiter | None:
        return self._limiters.get(key_fingerprint(api_key))

    def forget(self, api_key: str) -> None:
        fp = key_fingerprint(api_key)
        self._limiters.pop(fp, None)
        self._nominal.pop(fp, None)
