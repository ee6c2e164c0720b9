"""Per-key request pacing, shared by every coroutine that uses the key.

CoinGlass limits each API key per minute (Hobbyist 30, Startup 80...). Whether its window is
fixed or sliding is not documented (coinglass-v4.md §4), so the limiter keeps a sliding 60 s
log, which satisfies both, and uses only ``HEADROOM`` of the limit.

Each slot is stamped with its send time while the request is in flight and re-stamped with
its completion time when the answer arrives. CoinGlass counts a request when it *receives* it,
which lies between those two instants, so our window never lags CoinGlass's.

The limit in force is the smaller of what the user's plan allows (set by the caller) and
CoinGlass's ``API-KEY-MAX-LIMIT`` header; ``API-KEY-USE-LIMIT`` above our own count means the
key is also used elsewhere, and the difference is booked as phantom slots.

**One back-off per burst of 429s** (SPEC §5). The requests in flight when the first 429
arrives belong to one episode, however many of them are refused: the key rests for
``Retry-After`` if CoinGlass sent one, else ``FIRST_BACKOFF_SECONDS`` (≤ 60 s). When the rest
ends, exactly one request goes out (the probe) while the others wait; if it is refused too,
the rest doubles (capped at ``MAX_BACKOFF_SECONDS``), otherwise the key is open again at once.

**A checkpoint before a burst into a busy window.** Another tool on the same key shows only in
``API-KEY-USE-LIMIT``, i.e. after our next answer. When our own window is at least
``CHECK_ABOVE`` full and CoinGlass has not told us its count for ``CONFIRMED_SECONDS``, one
request goes alone and the others wait for its answer (its headers book the other tool's
requests), instead of six leaving together into a window that is already full and starting a
429 episode. It costs one round trip, and only on busy keys; when that answer is slow (a busy
connection pool, a slow network) the others go after ``CHECKPOINT_WAIT`` anyway.
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
IDLE_SECONDS = 600.0          # a limiter unused this long (and at rest) is dropped
CHECK_ABOVE = 0.5             # share of the window in use above which a burst checks first
CONFIRMED_SECONDS = 2.0       # how long CoinGlass's own count of the key is taken as current
CHECKPOINT_WAIT = 0.3         # the longest the others wait for the checkpoint's answer


def key_fingerprint(api_key: str) -> str:
    """A short stable id for a key that reveals nothing about it (for maps and logs)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


class Stamp:
    """One request's slot: when it counts (send time in flight, completion after), when it
    was sent, and whether it is the probe after a back-off."""

    __slots__ = ("at", "sent_at", "probe", "_clock")

    def __init__(self, at: float, clock: Callable[[], float], probe: bool = False):
        self.at = at
        self.sent_at = at
        self.probe = probe
        self._clock = clock

    def touch(self) -> None:
        """Move the stamp to now (later is always the cautious direction)."""
        self.at = max(self.at, self._clock())

    def sent(self) -> None:
        """The request leaves now."""
        self.touch()
        self.sent_at = self.at


class KeyLimiter:
    """Sliding-window limiter for one API key."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 window: float = WINDOW_SECONDS):
        self._clock = clock
        self._window = window
        self._stamps: list[Stamp] = []
        self._blocked_until = 0.0
        self._episode_started: float | None = None   # set while a 429 episode is unresolved
        self._backoff = 0.0
        self._probe_out = False
        self._confirmed_at = -math.inf               # last API-KEY-USE-LIMIT seen
        self._checkpoint_out: Stamp | None = None    # the request sent alone, see module doc
        self._checkpoint_at = 0.0                    # when it took its slot
        self._wakeup = asyncio.Event()
        self.per_minute = per_minute                 # what the user's plan allows
        self.header_limit: int | None = None         # what CoinGlass says the key has
        self.total_sent = 0
        self.episodes = 0                            # distinct 429 bursts seen
        self.last_used = clock()

    @property
    def limit(self) -> int:
        if self.header_limit:
            return min(self.per_minute, self.header_limit)
        return self.per_minute

    @property
    def capacity(self) -> int:
        return max(1, math.floor(self.limit * HEADROOM))

    @property
    def blocked_for(self) -> float:
        """Seconds until the key may be used again after 429s (0 when open)."""
        return max(0.0, self._blocked_until - self._clock())

    @property
    def in_episode(self) -> bool:
        return self._episode_started is not None

    def _prune(self, now: float) -> None:
        horizon = now - self._window
        if self._stamps and min(s.at for s in self._stamps) <= horizon:
            self._stamps = [s for s in self._stamps if s.at > horizon]

    def used_last_minute(self) -> int:
        self._prune(self._clock())
        return len(self._stamps)

    def room(self) -> int:
        """Requests that may leave right now."""
        now = self._clock()
        if self._blocked_until > now:
            return 0
        if self._episode_started is not None:
            return 0 if self._probe_out else 1
        self._prune(now)
        return max(0, self.capacity - len(self._stamps))

    def ready_in(self, requests: int) -> float:
        """Seconds until ``requests`` slots are free at once (0 = now)."""
        now = self._clock()
        if self._blocked_until > now:
            return self._blocked_until - now
        if self._episode_started is not None:
            return 0.0 if not self._probe_out else 1.0
        self._prune(now)
        needed = len(self._stamps) + min(requests, self.capacity) - self.capacity
        if needed <= 0:
            return 0.0
        times = sorted(s.at for s in self._stamps)
        return max(0.0, times[needed - 1] + self._window - now + 0.001)

    def _needs_checkpoint(self, now: float) -> bool:
        return (self._episode_started is None and now - self._confirmed_at > CONFIRMED_SECONDS
                and len(self._stamps) >= self.capacity * CHECK_ABOVE)

    def _wait_time(self, now: float) -> float:
        """Seconds until a slot may be taken (0 = now)."""
        if self._blocked_until > now:
            return self._blocked_until - now
        if self._episode_started is not None and self._probe_out:
            return 1.0          # woken early when the probe's answer arrives
        self._prune(now)
        if self._checkpoint_out is not None:
            # Woken early when its answer arrives; a slow answer (a busy connection pool) holds
            # the others back no longer than CHECKPOINT_WAIT.
            waited = now - self._checkpoint_at
            if waited < CHECKPOINT_WAIT:
                return CHECKPOINT_WAIT - waited + 0.001
        if len(self._stamps) < self.capacity:
            return 0.0
        oldest = sorted(s.at for s in self._stamps)[len(self._stamps) - self.capacity]
        return max(0.001, oldest + self._window - now + 0.001)

    async def _acquire(self) -> Stamp:
        while True:
            now = self._clock()
            wait = self._wait_time(now)
            if wait <= 0:
                probe = self._episode_started is not None
                if probe:
                    self._probe_out = True
                stamp = Stamp(now, self._clock, probe)
                if not probe and self._checkpoint_out is None and self._needs_checkpoint(now):
                    self._checkpoint_out, self._checkpoint_at = stamp, now
                self._stamps.append(stamp)
                self.total_sent += 1
                self.last_used = now
                return stamp
            self._wakeup.clear()
            try:
                # woken early when a header raises the limit, a back-off ends, a probe returns
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Stamp]:
        """Hold one request's slot: wait for room, then stamp completion on exit.

        A caller that waits again before sending (for a connection) calls ``touch()`` on the
        yielded stamp right before the request leaves.
        """
        stamp = await self._acquire()
        try:
            yield stamp
        finally:
            stamp.touch()
            if self._checkpoint_out is stamp:
                # Answered (its headers are in) or failed: either way, let the others go.
                self._checkpoint_out = None
                self._wakeup.set()
            if stamp.probe and self._probe_out and self._episode_started is not None \
                    and self._blocked_until <= self._clock():
                # A probe that ended without a verdict (network error): let another go.
                self._probe_out = False
                self._wakeup.set()

    def observe(self, max_limit: int | None, used: int | None) -> None:
        """Fold in CoinGlass's own view of this key from the response headers."""
        if max_limit and max_limit > 0 and max_limit != self.header_limit:
            self.header_limit = max_limit
            self._wakeup.set()
        if used is not None:
            now = self._clock()
            self._confirmed_at = now
            self._prune(now)
            missing = min(used, self.limit) - len(self._stamps)
            if missing > 0:
                self._stamps.extend(Stamp(now, self._clock) for _ in range(missing))

    def rate_limited(self, retry_after: float | None = None,
                     stamp: Stamp | None = None) -> float:
        """A 429 for the request holding ``stamp``; returns the key's remaining rest (s)."""
        now = self._clock()
        started = self._episode_started
        probe = stamp is not None and stamp.probe
        if started is not None and not probe:
            return self.blocked_for          # in flight when the burst began: same episode
        if probe and started is not None:
            delay = retry_after if retry_after and retry_after > 0 else self._backoff * 2
        else:
            self.episodes += 1
            self._episode_started = now
            delay = retry_after if retry_after and retry_after > 0 else FIRST_BACKOFF_SECONDS
        self._backoff = min(MAX_BACKOFF_SECONDS, max(1.0, delay))
        self._blocked_until = max(self._blocked_until, now + self._backoff)
        self._probe_out = False
        return self._backoff

    def succeeded(self, stamp: Stamp | None = None) -> None:
        """An answer that was not a 429: the key is open again."""
        if self._episode_started is not None and (stamp is None or stamp.probe):
            self._episode_started = None
            self._backoff = 0.0
            self._probe_out = False
            self._wakeup.set()

    def idle(self, now: float) -> bool:
        """Nothing in the window, no back-off, unused for ``IDLE_SECONDS``."""
        self._prune(now)
        return (not self._stamps and self._blocked_until <= now
                and self._episode_started is None and now - self.last_used > IDLE_SECONDS)


class LimiterRegistry:
    """One :class:`KeyLimiter` per API key, created on first use with the plan's limit."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._limiters: dict[str, KeyLimiter] = {}

    def __len__(self) -> int:
        return len(self._limiters)

    def for_key(self, api_key: str, per_minute: int | None = None) -> KeyLimiter:
        """The key's limiter; ``per_minute`` (the limit in force for its user) updates it."""
        fp = key_fingerprint(api_key)
        limiter = self._limiters.get(fp)
        if limiter is None:
            # Before we know the plan, pace like the smallest plan (Hobbyist: 30/min).
            limiter = KeyLimiter(per_minute or 30, clock=self._clock)
            self._limiters[fp] = limiter
        elif per_minute and limiter.per_minute != per_minute:
            limiter.per_minute = per_minute
            limiter._wakeup.set()
        return limiter

    def peek(self, api_key: str) -> KeyLimiter | None:
        return self._limiters.get(key_fingerprint(api_key))

    def forget(self, api_key: str) -> None:
        self._limiters.pop(key_fingerprint(api_key), None)

    def sweep(self) -> int:
        """Drop limiters of keys nobody has used for a while; returns how many."""
        now = self._clock()
        idle = [fp for fp, limiter in self._limiters.items() if limiter.idle(now)]
        for fp in idle:
            del self._limiters[fp]
        return len(idle)
