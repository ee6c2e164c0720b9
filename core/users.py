"""A user as the domain sees them, and the values derived from their row in one place.

:class:`User` is what storage maps a ``users`` row to. Whatever depends on the plan — the
plan in force, the request limit, the interval the budget allows — comes from
:func:`core.budget.budget_for`, never from a stored copy or a fallback written inline.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.plans import PLAN_INFO, Plan

INTERVAL_AUTO = 0            # users.interval_seconds: 0 = auto, NULL = the operator's default


@dataclass(frozen=True)
class User:
    id: int
    created_at: float
    active: bool
    paused: bool
    paused_until: float | None
    interval_seconds: int | None      # the user's own choice: None default, 0 auto, N seconds
    plan: Plan | None                 # detected from the key
    plan_override: Plan | None        # /plan NAME
    plan_limit: int | None            # the key's limit as CoinGlass reported it
    plan_expires_at: float | None
    key_state: str                    # none | valid | rejected
    key_state_at: float | None
    disabled_endpoints: frozenset[str]
    notices: frozenset[str]
    last_poll_at: float | None
    next_poll_at: float | None
    last_error: str | None
    last_error_at: float | None
    version: int = 0                  # bumped by every change a poll must not overwrite
    all_clear: bool = True            # say when a coin that alerted HIGH has calmed down
    timezone: str | None = None       # what /timezone stored; None = UTC
    quiet: str | None = None          # what /quiet stored ("23:00-07:00 hold"); None = off
    digest_at: str | None = None      # what /digest stored ("08:00", local time); None = off
    digest_since: float | None = None     # when the digest was switched on (or moved)
    digest_sent_at: float | None = None   # when the last digest was queued

    def is_paused(self, now: float) -> bool:
        return self.paused and (self.paused_until is None or self.paused_until > now)

    @property
    def effective_plan(self) -> Plan:
        """The plan in force: the user's override, else the detected plan, else Hobbyist
        (the cautious choice before a key tells us more)."""
        return self.plan_override or self.plan or Plan.HOBBYIST

    @property
    def known_plan(self) -> Plan | None:
        """The plan in force when there is one to speak of (None before /setkey)."""
        return self.plan_override or self.plan

    @property
    def per_minute(self) -> int:
        """The request limit in force. A /plan override takes that plan's limit, but never
        more than CoinGlass said the key has (a Standard key called Professional stays at
        300); the detected plan keeps CoinGlass's own figure (an Enterprise key's custom
        limit)."""
        plan = self.effective_plan
        reported = self.plan_limit
        if self.plan_override is None or (self.plan is not None and self.plan_override == self.plan):
            return reported or PLAN_INFO[plan].per_minute
        nominal = PLAN_INFO[plan].per_minute
        return min(nominal, reported) if reported else nominal
