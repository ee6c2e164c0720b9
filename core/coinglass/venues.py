"""Funding intervals per venue, for rates that arrive without one (``pairs-markets``).

``funding-rate/exchange-list`` sends ``funding_rate_interval`` per venue; ``pairs-markets``
does not. The table starts from the recorded capture (2025-11-14, stablecoin-margined lists)
and learns from every funding list the bot reads, so a venue that changes its interval is
followed. Unknown venues count as 8 h, as a null interval does in the list.
"""

from __future__ import annotations

from typing import Iterable

from core.market import FundingVenue

_HOURS: dict[str, float] = {
    "binance": 8, "okx": 8, "bybit": 8, "dydx": 1, "mexc": 8, "coinex": 8, "kraken": 1,
    "bingx": 8, "gate": 8, "crypto.com": 1, "coinbase": 1, "hyperliquid": 1, "bitget": 8,
    "whitebit": 8,
}


def interval_hours(exchange: str) -> float | None:
    return _HOURS.get(exchange.lower())


def learn(venues: Iterable[FundingVenue]) -> None:
    """Remember the stablecoin-margined intervals a funding list just told us."""
    for venue in venues:
        if venue.margin == "stablecoin" and venue.interval_hours:
            _HOURS[venue.exchange.lower()] = venue.interval_hours
