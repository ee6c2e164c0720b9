"""Plans: limits, intervals, endpoint availability, detection from the limit header."""

from __future__ import annotations

import pytest

from core.coinglass import paths
from core.plans import Plan, interval_allowed, plan_allows, plan_for_limit
from core.budget import plan_budget


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


def test_auto_interval_is_the_shortest_the_budget_allows():
    # Hobbyist, 3 coins: liquidations and OI of each coin every poll, three polls in any
    # 60 s window (6 × 3 = 18), the slow sources' average on top: 20 s fits 27 requests.
    hobbyist = plan_budget(Plan.HOBBYIST, 3)
    assert hobbyist.interval == 20 and hobbyist.window_requests <= 27
    assert plan_budget(Plan.HOBBYIST, 3, per_minute=30).interval == 20
    # never faster than CoinGlass refreshes (10 s), whatever the budget
    assert plan_budget(Plan.PROFESSIONAL, 1).interval == 10
    assert plan_budget(Plan.STARTUP, 3).interval == 10


def test_a_fixed_interval_is_raised_only_when_the_budget_needs_it():
    assert plan_budget(Plan.PROFESSIONAL, 1, interval=1).interval == 1
    assert plan_budget(Plan.HOBBYIST, 21, interval=300).interval == 300
    raised = plan_budget(Plan.HOBBYIST, 22, interval=300)
    assert raised.interval > 300 and raised.raised
    assert raised.requests_per_minute <= 27
