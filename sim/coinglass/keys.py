"""API keys the simulator knows, each with its plan and a sliding one-minute request window."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from core.plans import PLAN_INFO, Plan

WINDOW_S = 60.0
ENTERPRISE_DEFAULT_LIMIT = 6000


def parse_plan(plan: Plan | str) -> Plan:
    if isinstance(plan, Plan):
        return plan
    parsed = Plan.parse(str(plan))
    if parsed is None:
        raise ValueError(f"unknown plan {plan!r}; known: {', '.join(p.name for p in Plan)}")
    return parsed


def default_limit(plan: Plan) -> int:
    return ENTERPRISE_DEFAULT_LIMIT if plan == Plan.ENTERPRISE else PLAN_INFO[plan].per_minute


@dataclass
class KeyState:
    """One key: what it may do, and what it did.

    ``window`` holds the times of accepted requests of the last 60 s and enforces the limit;
    ``stats_window``/``max_in_minute`` measure the same thing but restart on ``reset_stats``.
    """

    key: str
    plan: Plan
    limit: int
    expired: bool
    expire_time_ms: int
    window: deque[float] = field(default_factory=deque)
    stats_window: deque[float] = field(default_factory=deque)
    max_in_minute: int = 0
    requests: int = 0
    rejected_429: int = 0
    bytes_sent: int = 0               # body bytes answered to this key (for benchmarks)

    def admit(self, now: float) -> bool:
        """Count a request at ``now`` if the window has room; False means answer 429."""
        self.requests += 1
        _trim(self.window, now)
        if len(self.window) >= self.limit:
            self.rejected_429 += 1
            return False
        self.window.append(now)
        _trim(self.stats_window, now)
        self.stats_window.append(now)
        self.max_in_minute = max(self.max_in_minute, len(self.stats_window))
        return True

    def used(self, now: float) -> int:
        _trim(self.window, now)
        return len(self.window)

    def reset_stats(self) -> None:
        self.stats_window.clear()
        self.max_in_minute = 0
        self.requests = 0
        self.rejected_429 = 0
        self.bytes_sent = 0


def _trim(window: deque[float], now: float) -> None:
    # A request exactly 60 s old has left the window: the window is (now − 60 s, now].
    while window and window[0] <= now - WINDOW_S:
        window.popleft()
