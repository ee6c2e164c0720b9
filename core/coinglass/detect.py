"""Detect a key's CoinGlass plan (coinglass-v4.md §6), which also proves the key works.

1. ``/api/user/account/subscription`` names the level; ``API-KEY-MAX-LIMIT`` gives the limit.
2. If that endpoint fails for a reason other than the key (404, 5xx, odd body), probe: an
   all-plans endpoint proves the key, then one gated endpoint per tier; "Upgrade plan"
   on a probe means the plan stops below that tier.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from core.coinglass import paths
from core.coinglass.client import CoinGlassClient
from core.coinglass.errors import (
    AuthError, CoinGlassError, NoActivePlan, PlanTooLow, RateLimited, TransportError,
)
from core.plans import PLAN_INFO, Plan, plan_for_limit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanDetection:
    plan: Plan
    per_minute: int
    expires_at: datetime | None
    source: str                    # "subscription", "limit header" or "probing"


# (plan reached when the probe answers, path, params) — cheapest call of each tier.
_PROBES: tuple[tuple[Plan, str, dict], ...] = (
    (Plan.STARTUP, paths.CVD_HISTORY,
     {"exchange": "Binance", "symbol": "BTCUSDT", "interval": "4h", "limit": 1}),
    (Plan.STANDARD, paths.LIQUIDATION_ORDER,
     {"exchange": "Binance", "symbol": "BTC", "min_liquidation_amount": 1_000_000}),
    (Plan.PROFESSIONAL, paths.LIQUIDATION_AGGREGATED_MAP, {"symbol": "BTC", "range": "1d"}),
)


def _limit_for(plan: Plan, header: int | None) -> int:
    return header if header else PLAN_INFO[plan].per_minute


async def detect_plan(client: CoinGlassClient, api_key: str) -> PlanDetection:
    """The key's plan; raises AuthError (bad key), NoActivePlan (lapsed), or the failure
    that made CoinGlass unreachable (TransportError / UpstreamError / RateLimited)."""
    try:
        sub = await client.subscription(api_key)
    except PlanTooLow as exc:
        raise NoActivePlan("the CoinGlass subscription is not active",
                           endpoint=paths.SUBSCRIPTION) from exc
    except (AuthError, TransportError, RateLimited):
        raise
    except CoinGlassError as exc:
        log.info("subscription endpoint unusable (%s); probing the plan instead", exc)
        return await _probe(client, api_key)
    if sub.expired:
        raise NoActivePlan("the CoinGlass subscription has expired", endpoint=paths.SUBSCRIPTION)
    header = sub.headers.max_limit
    if sub.plan is not None:
        return PlanDetection(sub.plan, _limit_for(sub.plan, header), sub.expires_at,
                             "subscription")
    if header:
        return PlanDetection(plan_for_limit(header), header, sub.expires_at, "limit header")
    detection = await _probe(client, api_key)
    return PlanDetection(detection.plan, detection.per_minute, sub.expires_at, "probing")


async def _probe(client: CoinGlassClient, api_key: str) -> PlanDetection:
    try:
        _, headers = await client.get(api_key, paths.LIQUIDATION_EXCHANGE_LIST,
                                      {"symbol": "BTC", "range": "24h"})
    except PlanTooLow as exc:
        raise NoActivePlan("the CoinGlass subscription is not active",
                           endpoint=paths.LIQUIDATION_EXCHANGE_LIST) from exc
    if headers.max_limit:
        plan = plan_for_limit(headers.max_limit)
        return PlanDetection(plan, headers.max_limit, None, "limit header")
    plan = Plan.HOBBYIST
    for tier, path, params in _PROBES:
        try:
            await client.get(api_key, path, params)
        except PlanTooLow:
            break
        plan = tier
    return PlanDetection(plan, PLAN_INFO[plan].per_minute, None, "probing")
