"""Plans: limits, intervals, endpoint availability, detection from the limit header."""

from __future__ import annotations

import pytest

from core.coinglass import paths
from core.plans import Plan, interval_allowed, plan_allows, plan_for_limit
from core.snapshot import required_interval, requests_per_poll


@pytest.mark.parametrize("limit,plan", [(30, Plan.HOBBYIST), (80, Plan.STARTUP),
                                        (300, Plan.STANDARD), (1200, Plan.PROFESSIONAL),
                                        (6000, Plan.ENTERPRISE), (10, Plan.HOBBYIST),
                                        (100, Plan.STARTUP)])
def test_plan_from_limit_header(limit, plan):
    assert plan_for_limit(limit) == plan


def test_interval_limits_apply_to_history_endpoints_only():
    assert not interval_allowed(Plan.HOBBYIST, paths.PRICE_HISTORY, "1h")
    assert interval_allowed(Plan.HOBBYIST, paths.PRICE_HISTORY, "4h")
    assert interval_allowed(Plan.STARTUP, paths.PRICE_HISTORY, "30m")
    assert not interval_allowed(Plan.STARTUP, paths.PRICE_HISTORY, "15m")
    assert interval_allowed(Plan.STANDARD, paths.PRICE_HISTORY, "1m")
    assert interval_allowed(Plan.HOBBYIST, paths.OI_EXCHANGE_LIST, "5m")


def test_availability_table():
    assert plan_allows(Plan.HOBBYIST, paths.LIQUIDATION_EXCHANGE_LIST)
    assert not plan_allows(Plan.HOBBYIST, paths.BITCOIN_DOMINANCE)
    assert plan_allows(Plan.STARTUP, paths.HYPERLIQUID_WHALE_ALERT)
    assert not plan_allows(Plan.STARTUP, paths.LARGE_LIMIT_ORDER)
    assert plan_allows(Plan.STANDARD, paths.LARGE_LIMIT_ORDER)
    assert not plan_allows(Plan.STANDARD, paths.LIQUIDATION_AGGREGATED_MAP)
    assert plan_allows(Plan.PROFESSIONAL, paths.LIQUIDATION_AGGREGATED_MAP)


def test_budget_raises_the_interval_for_many_coins():
    assert requests_per_poll(Plan.HOBBYIST, 3) == 1 + 7 * 3
    # 22 requests at 27 usable per minute need 49 s; 300 s covers 19 coins
    assert required_interval(Plan.HOBBYIST, 30, 3) == 49
    assert required_interval(Plan.HOBBYIST, 30, 19) <= 300 < required_interval(Plan.HOBBYIST, 30, 20)
    assert required_interval(Plan.PROFESSIONAL, 1200, 1) == 1
