"""What a market snapshot holds: one typed section per kind of CoinGlass data.

A snapshot never invents a value. A section that could not be fetched is ``None`` and the
reason sits in ``MarketSnapshot.missing``; the signal engine reports it instead of reading
a calm market into an outage (the reference monitor's defect).

All times are timezone-aware UTC. Percentages are in percent units (1.5 means 1.5 %).
Funding rates are percent per funding interval as CoinGlass sends them; ``rate_8h_pct``
normalises a venue to 8 hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Mapping

from core.plans import Plan

# Section names, in the order a snapshot is shown.
FUNDING = "funding"
OPEN_INTEREST = "open_interest"
LIQUIDATIONS = "liquidations"
TAKER = "taker"
GLOBAL_LS = "global_ls"
TOP_LS = "top_ls"
PRICE = "price"
BALANCES = "balances"
DOMINANCE = "dominance"
NETFLOW = "netflow"
CVD = "cvd"
WHALES = "whales"
WALLS = "walls"
LIQUIDATION_ORDERS = "liquidation_orders"
CLUSTERS = "clusters"

SECTIONS: tuple[str, ...] = (
    FUNDING, OPEN_INTEREST, LIQUIDATIONS, TAKER, GLOBAL_LS, TOP_LS, PRICE, BALANCES,
    DOMINANCE, NETFLOW, CVD, WHALES, WALLS, LIQUIDATION_ORDERS, CLUSTERS,
)

SECTION_TITLES: dict[str, str] = {
    FUNDING: "funding", OPEN_INTEREST: "open interest", LIQUIDATIONS: "liquidations",
    TAKER: "taker flow", GLOBAL_LS: "retail long/short", TOP_LS: "top-trader long/short",
    PRICE: "price", BALANCES: "exchange balances", DOMINANCE: "BTC dominance",
    NETFLOW: "netflow", CVD: "CVD", WHALES: "Hyperliquid whales", WALLS: "order-book walls",
    LIQUIDATION_ORDERS: "liquidation orders", CLUSTERS: "liquidation clusters",
}

# The lowest plan whose snapshot carries each section (SPEC §7).
SECTION_MIN_PLAN: dict[str, Plan] = {
    FUNDING: Plan.HOBBYIST, OPEN_INTEREST: Plan.HOBBYIST, LIQUIDATIONS: Plan.HOBBYIST,
    TAKER: Plan.HOBBYIST, GLOBAL_LS: Plan.HOBBYIST, TOP_LS: Plan.HOBBYIST, PRICE: Plan.HOBBYIST,
    BALANCES: Plan.HOBBYIST, DOMINANCE: Plan.STARTUP, NETFLOW: Plan.STARTUP, CVD: Plan.STARTUP,
    WHALES: Plan.STARTUP, WALLS: Plan.STANDARD, LIQUIDATION_ORDERS: Plan.STANDARD,
    CLUSTERS: Plan.PROFESSIONAL,
}


class MissingReason(str, Enum):
    NOT_IN_PLAN = "not in plan"           # we did not ask: the plan lacks the endpoint
    REFUSED = "refused"                   # CoinGlass answered "Upgrade plan"
    DISABLED = "disabled"                 # dropped from this user's set after a refusal
    RATE_LIMITED = "rate limited"
    ERROR = "error"                       # timeout, 5xx, malformed body...
    NO_DATA = "no data"                   # the endpoint answered without data for this coin


@dataclass(frozen=True)
class Missing:
    reason: MissingReason
    detail: str = ""

    def describe(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value


@dataclass(frozen=True)
class FundingVenue:
    exchange: str
    margin: str                      # "stablecoin" or "token"
    rate_pct: float                  # percent per funding interval
    interval_hours: float | None     # None when CoinGlass does not say (assume 8 h)
    next_funding_time: datetime | None = None

    @property
    def rate_8h_pct(self) -> float:
        hours = self.interval_hours or 8.0
        return self.rate_pct * 8.0 / hours


@dataclass(frozen=True)
class FundingSection:
    venues: tuple[FundingVenue, ...]
    average_8h_pct: float            # the average the signals use
    average_method: str              # e.g. "OI-weighted mean of 12 USDT-margined venues"
    mean_8h_pct: float               # plain mean of the same venues, for display
    time: datetime

    @property
    def max_venue(self) -> FundingVenue | None:
        return max(self.venues, key=lambda v: v.rate_8h_pct, default=None)

    @property
    def min_venue(self) -> FundingVenue | None:
        return min(self.venues, key=lambda v: v.rate_8h_pct, default=None)


@dataclass(frozen=True)
class ExchangeOpenInterest:
    exchange: str
    usd: float
    stablecoin_margin_usd: float | None = None


@dataclass(frozen=True)
class OpenInterestSection:
    total_usd: float
    change_pct: Mapping[str, float]  # window ("5m", "15m", "30m", "1h", "4h", "24h") -> %
    by_exchange: tuple[ExchangeOpenInterest, ...]
    time: datetime

    def change(self, window: str) -> float | None:
        return self.change_pct.get(window)


@dataclass(frozen=True)
class LiquidationSection:
    window: str                      # "1h"
    long_usd: float
    short_usd: float
    time: datetime

    @property
    def total_usd(self) -> float:
        return self.long_usd + self.short_usd


@dataclass(frozen=True)
class TakerSection:
    window: str                      # "1h"
    buy_usd: float
    sell_usd: float
    time: datetime

    @property
    def buy_share_pct(self) -> float | None:
        total = self.buy_usd + self.sell_usd
        return self.buy_usd / total * 100.0 if total > 0 else None


@dataclass(frozen=True)
class AccountRatio:
    """Long/short share of accounts on one venue (Binance by default) for the latest candle."""

    long_pct: float
    short_pct: float
    exchange: str
    pair: str
    interval: str
    time: datetime


@dataclass(frozen=True)
class PriceSection:
    price: float
    window: str                      # the window of change_pct: the regime window of the plan
    change_pct: float | None
    time: datetime


@dataclass(frozen=True)
class ExchangeBalance:
    exchange: str
    balance: float                   # coin units
    change_1d: float | None
    change_pct_1d: float | None
    change_7d: float | None = None
    change_pct_7d: float | None = None


@dataclass(frozen=True)
class BalanceSection:
    exchanges: tuple[ExchangeBalance, ...]
    time: datetime

    @property
    def total(self) -> float:
        return sum(e.balance for e in self.exchanges)

    @property
    def change_1d(self) -> float:
        return sum(e.change_1d or 0.0 for e in self.exchanges)

    @property
    def change_pct_1d(self) -> float | None:
        before = self.total - self.change_1d
        return self.change_1d / before * 100.0 if before > 0 else None


@dataclass(frozen=True)
class DominanceSection:
    dominance_pct: float
    change_24h_pts: float | None
    change_7d_pts: float | None
    time: datetime


@dataclass(frozen=True)
class NetflowSection:
    net_flow_usd: Mapping[str, float]   # window ("5m", "1h", "4h", "24h"...) -> taker buy − sell USD
    time: datetime


@dataclass(frozen=True)
class CvdSection:
    interval: str
    cumulative_delta: float
    last_delta: float                # buy − sell of the latest candle
    time: datetime


@dataclass(frozen=True)
class WhaleMove:
    address: str
    side: str                        # "long" or "short"
    action: str                      # "open" or "close"
    size: float
    value_usd: float
    entry_price: float | None
    liquidation_price: float | None
    time: datetime


@dataclass(frozen=True)
class WhaleSection:
    moves: tuple[WhaleMove, ...]     # this coin's Hyperliquid whale alerts, newest first
    time: datetime


@dataclass(frozen=True)
class Wall:
    side: str                        # "bid" (below price, support) or "ask" (above, resistance)
    price: float
    usd: float
    exchange: str
    pair: str


@dataclass(frozen=True)
class WallSection:
    walls: tuple[Wall, ...]
    time: datetime


@dataclass(frozen=True)
class LiquidationOrdersSection:
    """Large forced orders of the last hour on the watched venue."""

    count: int
    long_usd: float
    short_usd: float
    largest_usd: float
    time: datetime


@dataclass(frozen=True)
class LiquidationCluster:
    price: float
    usd: float
    side: str                        # "long" (below price) or "short" (above price)


@dataclass(frozen=True)
class ClusterSection:
    clusters: tuple[LiquidationCluster, ...]
    range: str                       # the map's range, e.g. "1d"
    time: datetime


@dataclass(frozen=True)
class MarketSnapshot:
    coin: str
    plan: Plan
    fetched_at: datetime
    funding: FundingSection | None = None
    open_interest: OpenInterestSection | None = None
    liquidations: LiquidationSection | None = None
    taker: TakerSection | None = None
    global_ls: AccountRatio | None = None
    top_ls: AccountRatio | None = None
    price: PriceSection | None = None
    balances: BalanceSection | None = None
    dominance: DominanceSection | None = None
    netflow: NetflowSection | None = None
    cvd: CvdSection | None = None
    whales: WhaleSection | None = None
    walls: WallSection | None = None
    liquidation_orders: LiquidationOrdersSection | None = None
    clusters: ClusterSection | None = None
    missing: Mapping[str, Missing] = field(default_factory=dict)

    def section(self, name: str):
        return getattr(self, name)

    def present(self) -> list[str]:
        return [name for name in SECTIONS if getattr(self, name) is not None]

    @property
    def data_time(self) -> datetime:
        """The newest time among the sections held (the data's time)."""
        times = [getattr(self, name).time for name in self.present()]
        return max(times, default=self.fetched_at)
