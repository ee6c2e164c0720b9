"""Fetch what a chart draws with the user's own key, through the plan-aware client.

One chart costs four history requests (price candles, aggregated open interest, OI-weighted
funding, aggregated liquidations), one per series at the interval :func:`resolution` chose;
the liquidation map costs two (the map and one price candle). They go through the client like
any other request, so the key's limiter paces them together with polling and the key never
exceeds its plan's limit. A chart that cannot get its answers within ``wait_seconds`` (plus
the requests' own timeout) because the key's budget is taken gives up and says so
(:class:`BudgetBusy`) rather than queueing behind polls for longer.

Results are cached per key for ``ttl`` seconds (60 by default) in a small bounded cache, and a
request arriving while the same fetch is in flight joins it: a chart asked for twice within a
minute costs its requests once. Failures are not cached.

A series CoinGlass fails to deliver becomes a gap (``None`` values) named in
``ChartData.missing``; only when every series fails does :meth:`ChartFetcher.chart` raise.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Hashable

from core.charts.model import (
    BudgetBusy, ChartData, ChartUnavailable, MapData, Resolution,
)
from core.coinglass.client import DEFAULT_EXCHANGES, CoinGlassClient
from core.coinglass.errors import (
    AuthError, CoinGlassError, PlanTooLow, RateLimited, Timeout, TransportError,
)
from core.coinglass.models import Candle, LiquidationPoint
from core.coinglass.ratelimit import key_fingerprint
from core.plans import PLAN_INFO, Plan

PRICE_EXCHANGE = "Binance"
MAP_RANGE = "1d"
CHART_REQUESTS = 4
MAP_REQUESTS = 2


def pair_of(coin: str) -> str:
    return f"{coin}USDT"


class TtlCache:
    """At most ``max_entries`` values, each for ``ttl`` seconds; concurrent loads of one key
    share a single task. Oldest entries go first when full."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float]):
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._loading: dict[Hashable, asyncio.Task] = {}
        self.loads = 0                      # how many times a value was really loaded

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    def _store(self, key: Hashable, value: Any) -> None:
        now = self._clock()
        for stale in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[stale]
        self._entries[key] = (now + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """The cached value, or ``load()``'s result (shared with concurrent callers)."""
        value = self.peek(key)
        if value is not None:
            return value
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, load))
            self._loading[key] = task
        # One caller giving up (its handler cancelled) must not cancel the others' load.
        return await asyncio.shield(task)

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        try:
            self.loads += 1
            value = await load()
            self._store(key, value)
            return value
        finally:
            self._loading.pop(key, None)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, Timeout):
        return "CoinGlass did not answer in time"
    if isinstance(exc, TransportError):
        return "CoinGlass could not be reached"
    if isinstance(exc, RateLimited):
        return "CoinGlass rate limit"
    if isinstance(exc, PlanTooLow):
        return "not in your plan"
    if isinstance(exc, CoinGlassError):
        return "CoinGlass error"
    return "no data"


def _grid(step: int, count: int, newest: float) -> tuple[float, ...]:
    last = newest // step * step
    return tuple(float(last - (count - 1 - i) * step) for i in range(count))


def _on_grid(times: tuple[float, ...], step: int, points: dict[float, Any]) -> list[Any]:
    # CoinGlass stamps candles at their open time; align anything slightly off to the grid.
    aligned = {t // step * step: v for t, v in points.items()}
    return [aligned.get(t) for t in times]


class ChartFetcher:
    """ChartData and MapData for (key, coin, window), cached per key for ``ttl`` seconds."""

    def __init__(self, client: CoinGlassClient, *, ttl: float = 60.0, max_entries: int = 128,
                 wait_seconds: float = 20.0, clock: Callable[[], float] = time.time):
        self.client = client
        self.clock = clock
        self.wait_seconds = wait_seconds
        self.cache = TtlCache(ttl, max_entries, time.monotonic)

    # --- the four-panel chart ---------------------------------------------------------------

    async def chart(self, api_key: str, plan: Plan, coin: str, res: Resolution, *,
                    per_minute: int | None = None) -> ChartData:
        """The chart's data; raises AuthError, ChartUnavailable or BudgetBusy."""
        key = ("chart", key_fingerprint(api_key), coin, res.window, res.interval)
        return await self.cache.get(key, lambda: self._budgeted(
            api_key, per_minute, CHART_REQUESTS,
            lambda: self._fetch_chart(api_key, plan, coin, res, per_minute)))

    async def _budgeted(self, api_key: str, per_minute: int | None, requests: int,
                        fetch: Callable[[], Awaitable[Any]]) -> Any:
        limiter = self.client.limiters.for_key(
            api_key, per_minute or PLAN_INFO[Plan.HOBBYIST].per_minute)
        if limiter.blocked_for > self.wait_seconds:
            raise BudgetBusy("CoinGlass asked this key to slow down", limiter.blocked_for)
        try:
            return await asyncio.wait_for(fetch(), self.wait_seconds + 15.0)
        except asyncio.TimeoutError:
            raise BudgetBusy("the key's request budget is in use", 60.0) from None

    async def _fetch_chart(self, api_key: str, plan: Plan, coin: str, res: Resolution,
                           per_minute: int | None) -> ChartData:
        c, pair, n = self.client, pair_of(coin), res.candles
        kw = {"per_minute": per_minute}
        results = await asyncio.gather(
            c.price_history(api_key, pair, res.interval, n, exchange=PRICE_EXCHANGE, **kw),
            c.open_interest_history(api_key, coin, res.interval, n, **kw),
            c.funding_oi_weight_history(api_key, coin, res.interval, n, **kw),
            c.liquidation_history(api_key, coin, res.interval, n, **kw),
            return_exceptions=True,
        )
        names = ("price", "open_interest", "funding", "liquidations")
        errors = {name: r for name, r in zip(names, results) if isinstance(r, BaseException)}
        for exc in errors.values():
            if isinstance(exc, AuthError):
                raise exc
            if not isinstance(exc, CoinGlassError):
                raise exc                    # a bug, not CoinGlass: let the error handler see it
        got: dict[str, list] = {name: r for name, r in zip(names, results)
                                if not isinstance(r, BaseException)}
        if len(errors) == len(names):
            first = next(iter(errors.values()))
            if all(isinstance(e, PlanTooLow) for e in errors.values()):
                raise first
            kind = "rate_limited" if isinstance(first, RateLimited) else "down"
            raise ChartUnavailable(_describe(first), kind) from first
        if not any(got.values()):
            raise ChartUnavailable(f"CoinGlass has no history for {coin}", "empty")
        return self._assemble(coin, plan, res, got, errors)

    def _assemble(self, coin: str, plan: Plan, res: Resolution, got: dict[str, list],
                  errors: dict[str, BaseException]) -> ChartData:
        step = res.step_seconds
        newest = max((points[-1].time.timestamp() for points in got.values() if points),
                     default=self.clock())
        times = _grid(step, res.candles, newest)
        candles: dict[float, Candle] = {c.time.timestamp(): c for c in got.get("price", [])}
        oi = {c.time.timestamp(): c.close for c in got.get("open_interest", [])}
        # OI-weighted funding is in percent per funding interval; the venues that carry most
        # of the OI (Binance, OKX, Bybit) settle every 8 h, so it is read as % per 8 h, the
        # unit of funding_high and funding_low (an approximation where 1 h venues weigh in).
        funding = {c.time.timestamp(): c.close for c in got.get("funding", [])}
        liqs: dict[float, LiquidationPoint] = {p.time.timestamp(): p
                                               for p in got.get("liquidations", [])}
        price = _on_grid(times, step, candles)
        liq = _on_grid(times, step, liqs)
        missing = {name: _describe(exc) for name, exc in errors.items()}
        for name in ("price", "open_interest", "funding", "liquidations"):
            if name in got and not got[name]:
                missing[name] = "no data"
        data = ChartData(
            coin=coin, plan=plan, resolution=res, times=times,
            open=tuple(c.open if c else None for c in price),
            high=tuple(c.high if c else None for c in price),
            low=tuple(c.low if c else None for c in price),
            close=tuple(c.close if c else None for c in price),
            open_interest=tuple(_on_grid(times, step, oi)),
            funding=tuple(_on_grid(times, step, funding)),
            liq_long=tuple(p.long_usd if p else None for p in liq),
            liq_short=tuple(p.short_usd if p else None for p in liq),
            fetched_at=self.clock(), pair=pair_of(coin), price_exchange=PRICE_EXCHANGE,
            liq_exchanges=DEFAULT_EXCHANGES, missing=missing,
        )
        if not data.has_values():
            # Answers whose candles all fall outside the window: nothing to draw, and an
            # empty picture is worse than a line saying so.
            raise ChartUnavailable(f"CoinGlass has no recent history for {coin}", "empty")
        return data

    # --- the liquidation map (Professional and above) ---------------------------------------

    async def liquidation_map(self, api_key: str, plan: Plan, coin: str, *,
                              per_minute: int | None = None) -> MapData:
        key = ("map", key_fingerprint(api_key), coin)
        return await self.cache.get(key, lambda: self._budgeted(
            api_key, per_minute, MAP_REQUESTS,
            lambda: self._fetch_map(api_key, plan, coin, per_minute)))

    async def _fetch_map(self, api_key: str, plan: Plan, coin: str,
                         per_minute: int | None) -> MapData:
        interval = PLAN_INFO[plan].min_interval
        levels, candles = await asyncio.gather(
            self.client.liquidation_map(api_key, coin, MAP_RANGE, per_minute=per_minute),
            self.client.price_history(api_key, pair_of(coin), interval, 1,
                                      exchange=PRICE_EXCHANGE, per_minute=per_minute),
            return_exceptions=True,
        )
        if isinstance(levels, BaseException):
            if isinstance(levels, (AuthError, PlanTooLow)) or not isinstance(levels,
                                                                               CoinGlassError):
                raise levels
            kind = "rate_limited" if isinstance(levels, RateLimited) else "down"
            raise ChartUnavailable(_describe(levels), kind) from levels
        if not levels:
            raise ChartUnavailable(f"CoinGlass has no liquidation map for {coin}", "empty")
        price = None
        if not isinstance(candles, BaseException) and candles:
            price = candles[-1].close
        elif isinstance(candles, AuthError):
            raise candles
        return MapData(coin, price, tuple((lv.price, lv.usd) for lv in levels), MAP_RANGE,
                       self.clock())


__all__ = ["ChartFetcher", "TtlCache", "pair_of", "CHART_REQUESTS", "MAP_REQUESTS"]
