"""CoinGlass API plans: request limits, history intervals and endpoint availability.

Facts from coinglass-v4.md §4–§5 (SPEC §7). Plans are ordered, so ``plan >= Plan.STARTUP``
reads as "Startup or better".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from core.coinglass import paths as p


class Plan(IntEnum):
    HOBBYIST = 1
    STARTUP = 2
    STANDARD = 3
    PROFESSIONAL = 4
    ENTERPRISE = 5

    @property
    def title(self) -> str:
        return self.name.capitalize()

    @property
    def info(self) -> PlanInfo:
        return PLAN_INFO[self]

    @classmethod
    def parse(cls, text: str) -> Plan | None:
        """The plan named by ``text`` (any case), or None."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            return None

    def next(self) -> Plan | None:
        return Plan(self + 1) if self < Plan.ENTERPRISE else None


# History intervals CoinGlass accepts, with their length in minutes.
INTERVAL_MINUTES: dict[str, int] = {
    "1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "4h": 240,
    "6h": 360, "8h": 480, "12h": 720, "1d": 1440, "1w": 10080,
}


@dataclass(frozen=True)
class PlanInfo:
    plan: Plan
    per_minute: int                 # requests per minute per key (Enterprise: header decides)
    min_interval: str               # shortest interval history endpoints accept
    price_usd_month: int | None     # commonly quoted, not from an official page (coinglass-v4.md §5.1)
    adds: tuple[str, ...]           # what this plan adds to perpwatch's snapshot (SPEC §7)

    def allows_interval(self, interval: str) -> bool:
        return INTERVAL_MINUTES[interval] >= INTERVAL_MINUTES[self.min_interval]


PLAN_INFO: dict[Plan, PlanInfo] = {
    Plan.HOBBYIST: PlanInfo(
        Plan.HOBBYIST, 30, "4h", 29,
        ("funding per exchange", "open interest with 5m–24h change", "liquidations",
         "taker buy/sell", "global and top-trader long/short ratios", "price",
         "exchange balances"),
    ),
    Plan.STARTUP: PlanInfo(
        Plan.STARTUP, 80, "30m", 79,
        ("Bitcoin dominance", "coin netflow", "aggregated CVD", "Hyperliquid whale alerts",
         "history at 30m/1h instead of 4h"),
    ),
    Plan.STANDARD: PlanInfo(
        Plan.STANDARD, 300, "1m", 299,
        ("order-book walls (large limit orders)", "liquidation orders", "history at any interval"),
    ),
    Plan.PROFESSIONAL: PlanInfo(
        Plan.PROFESSIONAL, 1200, "1m", 699,
        ("liquidation map: clusters of liquidations near price",),
    ),
    Plan.ENTERPRISE: PlanInfo(
        Plan.ENTERPRISE, 1200, "1m", None,
        ("a custom request limit (read from CoinGlass's API-KEY-MAX-LIMIT header)",),
    ),
}

# The lowest plan each endpoint answers on (coinglass-v4.md §5.4). Endpoints not listed are
# assumed to need Standard, the cautious choice for anything we have no evidence about.
ENDPOINT_MIN_PLAN: dict[str, Plan] = {
    **dict.fromkeys(
        [
            p.SUBSCRIPTION, p.SUPPORTED_COINS, p.SUPPORTED_EXCHANGES, p.SUPPORTED_EXCHANGE_PAIRS,
            p.PAIRS_MARKETS, p.PRICE_HISTORY,
            p.FUNDING_EXCHANGE_LIST, p.FUNDING_ACCUMULATED_EXCHANGE_LIST, p.FUNDING_HISTORY,
            p.FUNDING_OI_WEIGHT_HISTORY, p.FUNDING_VOL_WEIGHT_HISTORY,
            p.OI_EXCHANGE_LIST, p.OI_HISTORY, p.OI_AGGREGATED_HISTORY,
            p.OI_AGGREGATED_STABLECOIN_HISTORY, p.OI_AGGREGATED_COIN_MARGIN_HISTORY,
            p.OI_EXCHANGE_HISTORY_CHART,
            p.LIQUIDATION_EXCHANGE_LIST, p.LIQUIDATION_HISTORY, p.LIQUIDATION_AGGREGATED_HISTORY,
            p.GLOBAL_LONG_SHORT_HISTORY, p.TOP_LONG_SHORT_ACCOUNT_HISTORY,
            p.TOP_LONG_SHORT_POSITION_HISTORY,
            p.TAKER_EXCHANGE_LIST, p.TAKER_HISTORY, p.TAKER_HISTORY_LEGACY,
            p.TAKER_AGGREGATED_HISTORY,
            p.ORDERBOOK_ASK_BIDS_HISTORY, p.ORDERBOOK_AGGREGATED_ASK_BIDS_HISTORY,
            p.EXCHANGE_BALANCE_LIST, p.EXCHANGE_BALANCE_CHART, p.FEAR_GREED_HISTORY,
        ],
        Plan.HOBBYIST,
    ),
    **dict.fromkeys(
        [
            p.FUNDING_ARBITRAGE, p.LIQUIDATION_COIN_LIST, p.CVD_HISTORY, p.AGGREGATED_CVD_HISTORY,
            p.NETFLOW_LIST, p.COIN_NETFLOW, p.HYPERLIQUID_WHALE_ALERT,
            p.HYPERLIQUID_WHALE_POSITION, p.CHAIN_WHALE_TRANSFER, p.BITCOIN_DOMINANCE,
            p.WHALE_INDEX_HISTORY,
        ],
        Plan.STARTUP,
    ),
    **dict.fromkeys(
        [p.COINS_MARKETS, p.LIQUIDATION_ORDER, p.LARGE_LIMIT_ORDER, p.LARGE_LIMIT_ORDER_HISTORY,
         p.ORDERBOOK_HEATMAP],
        Plan.STANDARD,
    ),
    **dict.fromkeys(
        [p.LIQUIDATION_AGGREGATED_MAP, p.LIQUIDATION_MAP, p.LIQUIDATION_AGGREGATED_HEATMAP,
         p.LIQUIDATION_MAX_PAIN, p.FOOTPRINT_HISTORY],
        Plan.PROFESSIONAL,
    ),
}

# History endpoints carry the per-plan interval limit; snapshot endpoints do not (§5.2).
HISTORY_ENDPOINTS: frozenset[str] = frozenset({
    p.PRICE_HISTORY, p.FUNDING_HISTORY, p.FUNDING_OI_WEIGHT_HISTORY, p.FUNDING_VOL_WEIGHT_HISTORY,
    p.OI_HISTORY, p.OI_AGGREGATED_HISTORY, p.OI_AGGREGATED_STABLECOIN_HISTORY,
    p.OI_AGGREGATED_COIN_MARGIN_HISTORY, p.LIQUIDATION_HISTORY, p.LIQUIDATION_AGGREGATED_HISTORY,
    p.GLOBAL_LONG_SHORT_HISTORY, p.TOP_LONG_SHORT_ACCOUNT_HISTORY,
    p.TOP_LONG_SHORT_POSITION_HISTORY, p.TAKER_HISTORY, p.TAKER_HISTORY_LEGACY,
    p.TAKER_AGGREGATED_HISTORY, p.ORDERBOOK_ASK_BIDS_HISTORY,
    p.ORDERBOOK_AGGREGATED_ASK_BIDS_HISTORY, p.CVD_HISTORY, p.AGGREGATED_CVD_HISTORY,
    p.WHALE_INDEX_HISTORY,
})


def min_plan_for(path: str) -> Plan:
    return ENDPOINT_MIN_PLAN.get(path, Plan.STANDARD)


def plan_allows(plan: Plan, path: str) -> bool:
    return plan >= min_plan_for(path)


def interval_allowed(plan: Plan, path: str, interval: str) -> bool:
    """Whether ``plan`` may call history endpoint ``path`` at ``interval``."""
    if path not in HISTORY_ENDPOINTS:
        return True
    return PLAN_INFO[plan].allows_interval(interval)


def plan_for_limit(per_minute: int) -> Plan:
    """The plan a key's ``API-KEY-MAX-LIMIT`` header implies (§6 step 2)."""
    for plan in (Plan.HOBBYIST, Plan.STARTUP, Plan.STANDARD, Plan.PROFESSIONAL):
        if per_minute == PLAN_INFO[plan].per_minute:
            return plan
    if per_minute < PLAN_INFO[Plan.STARTUP].per_minute:
        return Plan.HOBBYIST
    if per_minute > PLAN_INFO[Plan.PROFESSIONAL].per_minute:
        return Plan.ENTERPRISE
    # An unlisted limit between two plans: the lower plan, so we never ask for what it lacks.
    below = [pl for pl in Plan if pl != Plan.ENTERPRISE and PLAN_INFO[pl].per_minute <= per_minute]
    return max(below)
