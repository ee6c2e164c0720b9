"""The price of a position's coin now, for ``/position`` (live P&L), at the least cost.

A price the key's last poll kept is used while it is fresh (:func:`fresh_for`): the poll
fetches price on every round anyway. Otherwise one request per coin: the coin's Binance price
candle at the plan's regime window, whose forming candle closes at the live price
(core/freshness.py). A coin whose price CoinGlass cannot give now is left out; the caller says
so rather than guessing. At most :data:`MAX_REQUESTS` requests per call, each given
:data:`REQUEST_TIMEOUT_SECONDS` (the key's limiter may make it wait): a reply to a command
must not wait on a busy key.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Iterable

from core.budget import Budget
from core.coinglass.errors import CoinGlassError
from core.snapshot import WATCH_EXCHANGE, SnapshotBuilder, pair_of, regime_window

log = logging.getLogger(__name__)

MIN_FRESH_SECONDS = 60.0
MAX_REQUESTS = 5
REQUEST_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class PriceNow:
    price: float
    at: float              # Unix seconds of the figure
    requested: bool        # True: asked CoinGlass now; False: the last poll's figure


def fresh_for(budget: Budget) -> float:
    """How old a kept price may be and still count as "now": two polls, at least a minute."""
    return max(MIN_FRESH_SECONDS, 2.0 * budget.interval)


async def current_prices(builder: SnapshotBuilder, api_key: str, budget: Budget,
                         coins: Iterable[str], now: float) -> dict[str, PriceNow]:
    """coin -> its price now, from the last poll when fresh, else one request per coin."""
    found: dict[str, PriceNow] = {}
    wanted = []
    for coin in dict.fromkeys(coins):
        kept = builder.last_known(api_key, budget, coin)
        if kept is not None and kept.price is not None:
            at = kept.price.time.timestamp()
            if now - at <= fresh_for(budget):
                found[coin] = PriceNow(kept.price.price, at, False)
                continue
        wanted.append(coin)
    wanted = wanted[:MAX_REQUESTS]
    asked = await asyncio.gather(*(_ask(builder, api_key, budget, coin, now) for coin in wanted))
    found.update({coin: price for coin, price in zip(wanted, asked) if price is not None})
    return found


async def _ask(builder: SnapshotBuilder, api_key: str, budget: Budget, coin: str,
               now: float) -> PriceNow | None:
    try:
        candles = await asyncio.wait_for(builder.client.price_history(
            api_key, pair_of(coin), regime_window(budget.plan), 1, exchange=WATCH_EXCHANGE,
            per_minute=budget.per_minute), REQUEST_TIMEOUT_SECONDS)
    except (CoinGlassError, TimeoutError) as exc:
        log.info("price of %s unavailable for /position: %s", coin, exc or "timed out")
        return None
    if not candles or not candles[-1].close or candles[-1].close <= 0:
        return None
    return PriceNow(candles[-1].close, now, True)
