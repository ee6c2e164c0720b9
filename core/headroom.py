"""Requests a key can spare beside its polling, right now (outcome prices, threshold previews).

Polling owns a user's request budget (``core.budget``); anything extra must leave the next
poll its room. A request sent now stays in the key's 60-second window until ``now + 60``, so
it only competes with a poll that starts before then: ``k`` extra requests fit when the
limiter has ``k`` slots free now *and* will have the next poll's requests plus those ``k`` free
by the time that poll starts (:meth:`KeyLimiter.ready_in`). A user who is not polled (paused,
no coins) leaves the whole room to spare; a key resting after a 429 spares nothing.
"""

from __future__ import annotations

import time
from typing import Callable

from core.budget import Budget
from core.coinglass.ratelimit import WINDOW_SECONDS, KeyLimiter
from core.snapshot import SnapshotBuilder
from core.users import User


def spare_requests(limiter: KeyLimiter, reserve: int, until_next_poll: float | None) -> int:
    """How many requests may leave now and still leave ``reserve`` slots for a poll starting
    in ``until_next_poll`` seconds (None: no poll coming)."""
    room = limiter.room()
    if room <= 0 or until_next_poll is None or reserve <= 0 \
            or until_next_poll >= WINDOW_SECONDS:
        return max(0, room)
    until = max(0.0, until_next_poll)
    lo, hi = 0, min(room, limiter.capacity - reserve)
    while lo < hi:                     # the largest k with ready_in(reserve + k) <= until
        mid = (lo + hi + 1) // 2
        if limiter.ready_in(reserve + mid) <= until:
            lo = mid
        else:
            hi = mid - 1
    return lo


class Headroom:
    """:func:`spare_requests` for a user's key, with the user's own next poll."""

    def __init__(self, builder: SnapshotBuilder, clock: Callable[[], float] = time.time):
        self.builder = builder
        self.clock = clock

    def spare(self, api_key: str, user: User, coins: list[str], budget: Budget) -> int:
        limiter = self.builder.client.limiters.for_key(api_key, budget.per_minute)
        now = self.clock()
        polled = (user.active and user.key_state == "valid" and bool(coins)
                  and not user.is_paused(now))
        if not polled:
            return spare_requests(limiter, 0, None)
        reserve = self.builder.planned_requests(api_key, budget, coins)
        next_at = user.next_poll_at if user.next_poll_at is not None else now
        return spare_requests(limiter, reserve, next_at - now)
