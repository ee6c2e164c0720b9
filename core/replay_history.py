"""CoinGlass history for the threshold preview: one request per series, cached an hour per key.

A replay (``core.replay``) reads up to seven history series per coin, one request each:
price candles (Binance), aggregated open interest, OI-weighted funding, aggregated
liquidations, retail and top-trader long/short shares (Binance), aggregated taker volume. Only
the series the previewed signals read are fetched (:func:`series_for`), at the plan's
resolution (``core.replay.resolution_for``), 7 days plus a day of warm-up. Each series is
cached per (key, coin, resolution) for ``HISTORY_TTL`` seconds, so the next preview on the same
coins costs nothing; a load in flight is shared by whoever asks for it meanwhile.

Liquidations and taker volume are summed over the venues CoinGlass lists most of them on
(:data:`VENUES`), to match the all-venue totals live polling compares with the thresholds.
The chart code (``core.charts.data``) fetches the same kind of series for a picture; the cache
class, the pair naming and the price venue are shared with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from core.charts.data import PRICE_EXCHANGE, TtlCache, pair_of
from core.coinglass.client import CoinGlassClient
from core.coinglass.ratelimit import key_fingerprint
from core.market import FUNDING, GLOBAL_LS, LIQUIDATIONS, OPEN_INTEREST, PRICE, TAKER, TOP_LS
from core.replay import DEFAULT_WINDOW, RESOLUTION_SECONDS, CoinHistory
from core.signals.engine import SIGNAL_SECTIONS

HISTORY_TTL = 3600.0
WARMUP_SECONDS = 86400                      # candles before the window warm the alert state up
MAX_REQUESTS_PER_COIN = 6

# The history series, most needed first (the order a request cap keeps them in).
SERIES: tuple[str, ...] = ("liquidations", "oi", "price", "funding", "global_ls", "taker",
                           "top_ls")
SECTION_SERIES: dict[str, str] = {
    LIQUIDATIONS: "liquidations", OPEN_INTEREST: "oi", PRICE: "price", FUNDING: "funding",
    GLOBAL_LS: "global_ls", TOP_LS: "top_ls", TAKER: "taker",
}
VENUES: tuple[str, ...] = ("Binance", "OKX", "Bybit", "Hyperliquid", "Gate", "Bitget", "HTX",
                           "Bitmex", "CoinEx", "Bitfinex", "MEXC", "BingX", "KuCoin", "Deribit",
                           "dYdX", "Kraken", "Coinbase", "Crypto.com", "WhiteBIT", "Bitunix")


def series_for(signal_ids: Iterable[str]) -> tuple[str, ...]:
    """The series the given signals read, in :data:`SERIES` order."""
    wanted = {SECTION_SERIES[s] for sid in signal_ids for s in SIGNAL_SECTIONS[sid]}
    return tuple(s for s in SERIES if s in wanted)


def candles_for(resolution: str) -> int:
    """Candles a replay reads: the 7-day window and the warm-up (closed candles only)."""
    step = RESOLUTION_SECONDS[resolution]
    return int((DEFAULT_WINDOW.total_seconds() + WARMUP_SECONDS) // step)


@dataclass(frozen=True)
class SeriesData:
    """One fetched series: candle open time (aligned to the step) → value."""

    fetched_at: float
    step: int
    points: Mapping[float, Any]

    def last_closed(self) -> float | None:
        closed = [t for t in self.points if t + self.step <= self.fetched_at]
        return max(closed, default=None)


class HistoryLoader:
    def __init__(self, client: CoinGlassClient, *, ttl: float = HISTORY_TTL,
                 max_entries: int = 4096, clock: Callable[[], float] = time.time):
        self.client = client
        self.clock = clock
        self.cache = TtlCache(ttl, max_entries, time.monotonic)

    @staticmethod
    def _key(api_key: str, coin: str, resolution: str, series: str) -> tuple:
        return ("replay", key_fingerprint(api_key), coin, resolution, series)

    def cached(self, api_key: str, coin: str, resolution: str, series: str) -> SeriesData | None:
        return self.cache.peek(self._key(api_key, coin, resolution, series))

    async def load(self, api_key: str, coin: str, resolution: str, series: str, *,
                   per_minute: int | None = None) -> SeriesData:
        """The series, from the cache or one request (raises the client's errors)."""
        return await self.cache.get(self._key(api_key, coin, resolution, series),
                                    lambda: self._fetch(api_key, coin, resolution, series,
                                                        per_minute))

    async def _fetch(self, api_key: str, coin: str, resolution: str, series: str,
                     per_minute: int | None) -> SeriesData:
        c, pair = self.client, pair_of(coin)
        limit = candles_for(resolution) + 1           # + the running candle, dropped later
        kw: dict[str, Any] = {"per_minute": per_minute}
        if series == "price":
            rows = await c.price_history(api_key, pair, resolution, limit,
                                         exchange=PRICE_EXCHANGE, **kw)
            values = [(r.time, r.close) for r in rows]
        elif series == "oi":
            rows = await c.open_interest_history(api_key, coin, resolution, limit, **kw)
            values = [(r.time, r.close) for r in rows]
        elif series == "funding":
            # Percent per funding interval; the venues holding most of the OI settle every
            # 8 h, so it is read as % per 8 h, the unit of funding_high (as the chart does).
            rows = await c.funding_oi_weight_history(api_key, coin, resolution, limit, **kw)
            values = [(r.time, r.close) for r in rows]
        elif series == "liquidations":
            rows = await c.liquidation_history(api_key, coin, resolution, limit,
                                               exchanges=VENUES, **kw)
            values = [(r.time, (r.long_usd, r.short_usd)) for r in rows]
        elif series == "taker":
            rows = await c.taker_history(api_key, coin, resolution, limit, exchanges=VENUES, **kw)
            values = [(r.time, (r.buy_usd, r.sell_usd)) for r in rows]
        elif series == "global_ls":
            rows = await c.global_long_short(api_key, pair, resolution, limit,
                                             exchange=PRICE_EXCHANGE, **kw)
            values = [(r.time, r.long_pct) for r in rows]
        elif series == "top_ls":
            rows = await c.top_long_short_accounts(api_key, pair, resolution, limit,
                                                   exchange=PRICE_EXCHANGE, **kw)
            values = [(r.time, r.long_pct) for r in rows]
        else:
            raise ValueError(f"unknown series {series!r}")
        step = RESOLUTION_SECONDS[resolution]
        # CoinGlass stamps candles at their open time; align anything slightly off the grid.
        return SeriesData(self.clock(), step,
                          {t.timestamp() // step * step: v for t, v in values if v is not None})


def assemble(coin: str, resolution: str, data: Mapping[str, SeriesData | None]) -> CoinHistory:
    """A :class:`CoinHistory` from the fetched series (``None``: not fetched or failed): the
    closed candles every fetched series has reached, gaps as ``None``."""
    step = RESOLUTION_SECONDS[resolution]
    n = candles_for(resolution)
    ends = [d.last_closed() for d in data.values() if d is not None]
    ends = [e for e in ends if e is not None]
    if not ends:
        return CoinHistory(coin, resolution, ())
    end = min(ends)
    times = tuple(end - (n - 1 - i) * step for i in range(n))

    def column(name: str, part: int | None = None) -> tuple:
        d = data.get(name)
        if d is None:
            return ()
        values = [d.points.get(t) for t in times]
        if part is not None:
            values = [v[part] if v is not None else None for v in values]
        return tuple(values)

    return CoinHistory(
        coin, resolution, times, price=column("price"), open_interest_usd=column("oi"),
        funding_8h_pct=column("funding"), liq_long_usd=column("liquidations", 0),
        liq_short_usd=column("liquidations", 1), global_long_pct=column("global_ls"),
        top_long_pct=column("top_ls"), taker_buy_usd=column("taker", 0),
        taker_sell_usd=column("taker", 1), ratio_venue=PRICE_EXCHANGE)
