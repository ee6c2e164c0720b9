"""Typed results of the CoinGlass endpoints the snapshot uses.

Where a snapshot section has the same shape (a funding venue, an exchange balance) the
client returns the ``core.market`` type directly instead of a twin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.market import ExchangeBalance, FundingVenue
from core.plans import Plan

__all__ = [
    "Subscription", "OpenInterestRow", "OpenInterestList", "LiquidationRow", "LiquidationList",
    "TakerRow", "TakerList", "PairMarket", "CoinMarket", "Candle", "RatioPoint", "LiquidationPoint",
    "TakerPoint", "DominancePoint", "Netflow", "CvdPoint", "WhaleAlert", "LargeOrder",
    "LiquidationOrder", "MapLevel", "FundingVenue", "ExchangeBalance", "RateHeaders",
]


@dataclass(frozen=True)
class RateHeaders:
    """``API-KEY-MAX-LIMIT`` / ``API-KEY-USE-LIMIT`` of one response (None when absent)."""

    max_limit: int | None = None
    used: int | None = None


@dataclass(frozen=True)
class Subscription:
    level: str | None                 # as CoinGlass spells it, e.g. "PROFESSIONAL"
    plan: Plan | None                 # the level understood, when we know the name
    expires_at: datetime | None
    expired: bool
    headers: RateHeaders = field(default_factory=RateHeaders)


@dataclass(frozen=True)
class OpenInterestRow:
    exchange: str
    usd: float
    stablecoin_margin_usd: float | None
    change_pct: dict[str, float]      # "5m", "15m", "30m", "1h", "4h", "24h"
    quantity: float | None = None     # in coins; usd / quantity is the price the OI is valued at


@dataclass(frozen=True)
class OpenInterestList:
    total: OpenInterestRow | None     # the "All" row
    exchanges: tuple[OpenInterestRow, ...]


@dataclass(frozen=True)
class LiquidationRow:
    exchange: str
    long_usd: float
    short_usd: float


@dataclass(frozen=True)
class LiquidationList:
    total: LiquidationRow | None      # the "All" row
    exchanges: tuple[LiquidationRow, ...]


@dataclass(frozen=True)
class TakerRow:
    exchange: str
    buy_usd: float
    sell_usd: float
    buy_ratio: float | None


@dataclass(frozen=True)
class TakerList:
    buy_usd: float
    sell_usd: float
    buy_ratio: float | None
    exchanges: tuple[TakerRow, ...]


@dataclass(frozen=True)
class PairMarket:
    instrument_id: str
    exchange: str
    price: float
    price_change_pct_24h: float | None
    open_interest_usd: float | None
    funding_rate_pct: float | None
    long_liquidation_usd_24h: float | None
    short_liquidation_usd_24h: float | None
    symbol: str | None = None           # the pair as CoinGlass writes it, e.g. "BTC/USDT"


@dataclass(frozen=True)
class CoinMarket:
    """One coin of ``/api/futures/coins-markets`` (coinglass-v4.md §13.2)."""

    symbol: str
    price: float
    price_change_pct: dict[str, float]          # "5m" … "24h"
    open_interest_usd: float | None
    oi_change_pct: dict[str, float]             # "5m" … "24h" (no 12h)
    avg_funding_by_oi: float | None
    long_liquidation_usd: dict[str, float]      # "1h", "4h", "12h", "24h"
    short_liquidation_usd: dict[str, float]


@dataclass(frozen=True)
class Candle:
    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume_usd: float | None = None


@dataclass(frozen=True)
class RatioPoint:
    time: datetime
    long_pct: float
    short_pct: float
    ratio: float | None


@dataclass(frozen=True)
class LiquidationPoint:
    time: datetime
    long_usd: float
    short_usd: float


@dataclass(frozen=True)
class TakerPoint:
    time: datetime
    buy_usd: float
    sell_usd: float


@dataclass(frozen=True)
class DominancePoint:
    time: datetime
    dominance_pct: float


@dataclass(frozen=True)
class Netflow:
    net_flow_usd: dict[str, float]    # window -> taker buy − sell USD


@dataclass(frozen=True)
class CvdPoint:
    time: datetime
    buy: float
    sell: float
    cumulative: float


@dataclass(frozen=True)
class WhaleAlert:
    address: str
    symbol: str
    position_size: float              # negative = short
    entry_price: float | None
    liquidation_price: float | None
    value_usd: float
    action: str                       # "open" or "close"
    time: datetime


@dataclass(frozen=True)
class LargeOrder:
    exchange: str
    pair: str
    price: float
    side: str                         # "ask" (order_side 1, sell) or "bid" (order_side 2, buy)
    usd: float
    open: bool                        # order_state 1


@dataclass(frozen=True)
class LiquidationOrder:
    exchange: str
    symbol: str
    price: float
    usd: float
    side: str                         # "long" (a forced sell) or "short" (a forced buy)
    time: datetime


@dataclass(frozen=True)
class MapLevel:
    price: float
    usd: float
