"""How often each endpoint's data is refreshed (coinglass-v4.md §13.1), and when.

An endpoint with pace ``P`` serves the market as it was at its last refresh boundary
``k·P + phase`` (market time, seconds): a change made at ``t`` shows at the first boundary at or
after ``t``. Pace 0 is "real time": every request sees the market as of that request.

Documented paces (§13.1): open-interest and liquidation exchange-lists 10 s, funding-rate
exchange-list 20 s, taker exchange-list 1 s, liquidation orders 1 s, order book 5 s, large
orders / Hyperliquid whale alerts / price "real time", supported coins and pairs 1 min, whale
index 1 min, Bitcoin dominance 1 day (fear & greed too, §9). Accumulated funding is cached 1 h
(§8.1).

Our assumptions, where CoinGlass documents nothing:

- ``coins-markets`` and ``pairs-markets``: 10 s, like the exchange-lists they summarise (§13.1).
- History endpoints: the forming (last) candle moves at the pace of the list underneath it —
  OI 10 s, funding 20 s, liquidations 10 s, taker volume and CVD 1 s, order-book depth 5 s,
  price real time; the long/short ratio histories have no list and take 10 s.
- Exchange balances (on-chain) 1 min; netflow 10 s; everything else not listed 10 s.
- Liquidation maps are real time, like the heatmaps (§8.3): their levels sit around the live
  price, so they never lag a price move.
- Phases: we model one refresh job per cadence. Every endpoint with the same pace refreshes at
  the same instant (so the 10 s family — OI and liquidation lists, their histories, the
  long/short histories, coins- and pairs-markets — always shows one coherent market), and each
  cadence has its own fixed phase, a deterministic fraction of its period, so the 1 s, 5 s,
  10 s, 20 s… boundaries never all coincide. A move therefore reaches a client in steps: price
  at once, taker flow within 1 s, OI/liquidations/ratios within 10 s, funding within 20 s. A
  client must not assume one poll sees one instant.

``scale`` multiplies every pace and phase: tests that run the bot with 1-second polls use 0.1
(open interest every 1 s); 0 makes every endpoint real time.
"""

from __future__ import annotations

import math

from core.coinglass import paths as p
from sim.coinglass.universe import unit

REAL_TIME = 0.0
DEFAULT_PACE = 10.0
MINUTE = 60.0
DAY = 86400.0

PACES: dict[str, float] = {
    # snapshots, documented
    p.OI_EXCHANGE_LIST: 10.0,
    p.LIQUIDATION_EXCHANGE_LIST: 10.0,
    p.FUNDING_EXCHANGE_LIST: 20.0,
    p.TAKER_EXCHANGE_LIST: 1.0,
    p.LIQUIDATION_ORDER: 1.0,
    p.LARGE_LIMIT_ORDER: REAL_TIME,
    p.HYPERLIQUID_WHALE_ALERT: REAL_TIME,
    p.SUPPORTED_COINS: MINUTE,
    p.SUPPORTED_EXCHANGES: MINUTE,
    p.SUPPORTED_EXCHANGE_PAIRS: MINUTE,
    p.BITCOIN_DOMINANCE: DAY,
    p.FEAR_GREED_HISTORY: DAY,
    p.FUNDING_ACCUMULATED_EXCHANGE_LIST: 3600.0,
    p.WHALE_INDEX_HISTORY: MINUTE,
    # snapshots, assumed
    p.COINS_MARKETS: 10.0,
    p.PAIRS_MARKETS: 10.0,
    p.LIQUIDATION_COIN_LIST: 10.0,
    p.EXCHANGE_BALANCE_LIST: MINUTE,
    p.NETFLOW_LIST: 10.0,
    p.COIN_NETFLOW: 10.0,
    p.LIQUIDATION_MAP: REAL_TIME,
    p.LIQUIDATION_AGGREGATED_MAP: REAL_TIME,
    # histories: the pace of the list underneath (assumed)
    p.PRICE_HISTORY: REAL_TIME,
    p.FUNDING_HISTORY: 20.0,
    p.FUNDING_OI_WEIGHT_HISTORY: 20.0,
    p.FUNDING_VOL_WEIGHT_HISTORY: 20.0,
    p.OI_HISTORY: 10.0,
    p.OI_AGGREGATED_HISTORY: 10.0,
    p.OI_AGGREGATED_STABLECOIN_HISTORY: 10.0,
    p.OI_AGGREGATED_COIN_MARGIN_HISTORY: 10.0,
    p.LIQUIDATION_HISTORY: 10.0,
    p.LIQUIDATION_AGGREGATED_HISTORY: 10.0,
    p.GLOBAL_LONG_SHORT_HISTORY: 10.0,
    p.TOP_LONG_SHORT_ACCOUNT_HISTORY: 10.0,
    p.TOP_LONG_SHORT_POSITION_HISTORY: 10.0,
    p.TAKER_HISTORY: 1.0,
    p.TAKER_HISTORY_LEGACY: 1.0,
    p.TAKER_AGGREGATED_HISTORY: 1.0,
    p.CVD_HISTORY: 1.0,
    p.AGGREGATED_CVD_HISTORY: 1.0,
    p.ORDERBOOK_ASK_BIDS_HISTORY: 5.0,
    p.ORDERBOOK_AGGREGATED_ASK_BIDS_HISTORY: 5.0,
}


def pace(path: str, scale: float = 1.0) -> float:
    """Seconds between refreshes of ``path`` (0: real time)."""
    return PACES.get(path, DEFAULT_PACE) * scale


def phase(path: str, scale: float = 1.0) -> float:
    """Where in its period ``path`` refreshes: a fixed fraction of the period, one per cadence."""
    return unit("refresh-phase", PACES.get(path, DEFAULT_PACE)) * pace(path, scale)


def refreshed_at(path: str, now: float, scale: float = 1.0) -> float:
    """When the value ``path`` serves at ``now`` was produced: the last boundary ≤ now."""
    period = pace(path, scale)
    if period <= 0:
        return now
    offset = phase(path, scale)
    boundary = math.floor((now - offset) / period) * period + offset
    return boundary - period if boundary > now else boundary      # rounding never runs ahead
