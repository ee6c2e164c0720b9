"""A user's plan, request limit and poll interval: derived in one place, never stored.

The poller, the scheduler's deadline, ``/subscribe``, ``/plan``, ``/status``, ``/list`` and
the snapshot builder all read :func:`budget_for`; nothing else recomputes these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from core import freshness as fr
from core.plans import Plan
from core.users import INTERVAL_AUTO, User


@dataclass(frozen=True)
class Budget:
    plan: Plan
    per_minute: int                  # the key's limit in force
    coins: int
    interval: int                    # seconds between two polls, as polled
    base: int | None                 # what the user (or the operator's default) asked; None = auto
    required: int                    # the shortest interval the budget allows
    funding: str                     # fr.FUNDING_LIST or fr.FUNDING_PAIRS
    sources: tuple[fr.Source, ...]

    @property
    def auto(self) -> bool:
        return self.base is None

    @property
    def raised(self) -> bool:
        """The user asked for a shorter interval than their budget allows."""
        return self.base is not None and self.interval > self.base

    @property
    def usable_per_minute(self) -> int:
        return fr.usable_per_minute(self.per_minute)

    @property
    def requests_per_minute(self) -> float:
        """Steady requests per minute at this interval (average)."""
        return fr.steady_cost(self.sources, self.coins, self.interval)

    @property
    def window_requests(self) -> float:
        """Requests the busiest 60 s window holds at this interval (what the limit bounds)."""
        return fr.window_cost(self.sources, self.coins, self.interval)

    @property
    def fast_per_poll(self) -> int:
        """Requests every poll must make (the fast sources)."""
        return fr.fast_per_poll(self.sources, self.coins)

    @property
    def per_poll(self) -> int:
        """One poll's share of the key's window: its fast requests plus the slow ones due that
        fit (the rest wait for a later poll, their kept values still usable)."""
        share = self.usable_per_minute // fr.polls_per_window(self.interval)
        return max(self.fast_per_poll, share)

    def poll_deadline(self, pacing_wait: float = 0.0) -> float:
        """How long one poll may run before it is abandoned: CoinGlass's own timeouts, the
        pacing the limiter imposes, and the interval itself; never a cut-off for pacing."""
        return max(60.0, 2.0 * self.interval) + pacing_wait


@lru_cache(maxsize=4096)
def _derive(plan: Plan, per_minute: int, coins: int, base: int | None,
            disabled: frozenset[str]) -> Budget:
    floor = fr.MIN_AUTO_INTERVAL if base is None else 1
    funding = fr.funding_choice(plan, coins, per_minute, floor, disabled)
    sources = tuple(fr.sources_for(plan, funding, disabled))
    required = fr.required_interval(list(sources), coins, per_minute, floor)
    interval = required if base is None else max(base, required)
    return Budget(plan, per_minute, coins, interval, base, required, funding, sources)


def plan_budget(plan: Plan, coins: int, *, per_minute: int | None = None,
                interval: int | None = None,
                disabled: frozenset[str] = frozenset()) -> Budget:
    """The budget of a key on ``plan`` (its nominal limit unless given) polling ``coins``
    coins, at ``interval`` seconds asked (None = auto)."""
    from core.plans import PLAN_INFO
    return _derive(plan, per_minute or PLAN_INFO[plan].per_minute, coins, interval,
                   frozenset(disabled))


def interval_base(user: User, default_interval: int | None) -> int | None:
    """The interval asked for: the user's own, else the operator's default (None = auto)."""
    choice = user.interval_seconds
    if choice is None:
        return default_interval
    return None if choice == INTERVAL_AUTO else choice


def budget_for(user: User, coins: int, default_interval: int | None) -> Budget:
    """The budget of ``user`` watching ``coins`` coins (``default_interval`` is
    POLL_INTERVAL_SECONDS: a number, or None for auto)."""
    return _derive(user.effective_plan, user.per_minute, coins,
                   interval_base(user, default_interval), user.disabled_endpoints)
