"""What an endpoint handler sees: validated request parameters, candle windows, and its spec."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from core.plans import INTERVAL_MINUTES, Plan
from sim.coinglass import universe as u
from sim.coinglass.market import Market

MAX_LIMIT = 1000
_WEEK_ORIGIN = 4 * 86400.0          # 1970-01-05 was a Monday: weekly candles open on Mondays

# How many days back each plan may read per interval (coinglass-v4.md §5.3), in plan order
# Hobbyist, Startup, Standard, Professional; None = no cap. Enterprise is "customisable": we
# give it Professional's. What CoinGlass does with an older start_time is UNVERIFIED; the
# strict reading is that candles older than the cap are never returned (a page asking for
# them starts at the oldest allowed candle instead).
_HISTORY_DAYS: dict[str, tuple[float | None, ...]] = {
    "1m": (0, 0, 6, 12), "3m": (0, 0, 20, 40), "5m": (0, 0, 30, 60), "15m": (0, 0, 90, 180),
    "30m": (0, 90, 180, 360), "1h": (0, 180, 360, 720), "2h": (0, 180, 360, 720),
    "4h": (180, 180, 360, 720), "6h": (360, 360, 360, 720), "8h": (360, 360, 360, 720),
    "12h": (360, 360, 360, 720), "1d": (None,) * 4, "1w": (None,) * 4,
}


def history_days(plan: Plan, interval: str) -> float | None:
    """Days of history ``plan`` may read at ``interval`` (None: all of it)."""
    return _HISTORY_DAYS[interval][min(int(plan), int(Plan.PROFESSIONAL)) - 1]


class ParamError(Exception):
    """A parameter CoinGlass would refuse; the message is the body's ``msg``."""


class NoData(Exception):
    """The request names something the market does not have (unknown coin, pair, venue)."""


def missing(name: str) -> ParamError:
    return ParamError(f"Required String parameter '{name}' is not present")


@dataclass(frozen=True)
class Candle:
    open: float            # seconds
    end: float             # min(open + interval, now): where its last value is read
    stop: float            # open + interval: where its flows (volume, liquidations) stop
    is_open: bool          # the still-running candle (end == now)

    @property
    def time_ms(self) -> int:
        return int(round(self.open * 1000))


class Query:
    """One request's parameters, read the way CoinGlass reads them."""

    def __init__(self, market: Market, params: Mapping[str, str], now: float,
                 plan: Plan = Plan.PROFESSIONAL):
        self.market = market
        self.params = params
        self.now = now
        self.plan = plan

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        return default if value is None or value == "" else value

    def coin(self, name: str = "symbol") -> str:
        symbol = self.get(name) or ""
        for candidate in (symbol, symbol.upper()):
            if self.market.has(candidate):
                return candidate
        raise NoData(symbol)

    def pair_coin(self) -> str:
        coin = u.coin_of_pair(self.get("symbol") or "", self.market.symbols)
        if coin is None:
            raise NoData(self.get("symbol"))
        return coin

    def exchange(self, known: tuple[str, ...] = u.SUPPORTED_EXCHANGES) -> str:
        venue = u.canonical_exchange(self.get("exchange") or "", known)
        if venue is None:
            raise NoData(self.get("exchange"))
        return venue

    def exchanges(self) -> frozenset[str] | None:
        """The ``exchange_list`` venues; None = all. Raises NoData if none is known."""
        venues = u.parse_exchange_list(self.get("exchange_list") or "")
        if venues is not None and not venues:
            raise NoData(self.get("exchange_list"))
        return venues

    def choice(self, name: str, allowed: tuple[str, ...], aliases: Mapping[str, str] = {},
               default: str | None = None) -> str:
        value = self.get(name, default)
        if value is None:
            raise missing(name)
        value = aliases.get(value, value)
        if value not in allowed:
            raise ParamError(f"Invalid parameter '{name}': {value}")
        return value

    def number(self, name: str, default: float | None = None) -> float | None:
        value = self.get(name)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise ParamError(f"Invalid parameter '{name}': {value}") from None

    def interval_seconds(self) -> float:
        interval = self.choice("interval", tuple(INTERVAL_MINUTES))
        return INTERVAL_MINUTES[interval] * 60.0

    def candles(self) -> list[Candle]:
        """Ascending candles per ``interval``, ``limit`` (default and max 1000), ``start_time``
        and ``end_time`` (ms). With ``start_time`` the first ``limit`` candles from it, else the
        last ``limit`` up to ``end_time`` or now; never past the running candle, never older
        than the plan's history length for the interval (a ``start_time`` before it counts from
        the oldest candle the plan may read)."""
        step = self.interval_seconds()
        days = history_days(self.plan, self.choice("interval", tuple(INTERVAL_MINUTES)))
        limit = self.number("limit", MAX_LIMIT)
        limit = max(1, min(MAX_LIMIT, int(limit)))
        start_ms, end_ms = self.number("start_time"), self.number("end_time")
        origin = _WEEK_ORIGIN if step == 7 * 86400 else 0.0

        def align(t: float) -> float:
            return (t - origin) // step * step + origin

        earliest = -math.inf if days is None else self.now - days * 86400.0
        last = align(min(self.now, end_ms / 1000 if end_ms is not None else self.now))
        if start_ms is not None:
            first = align(start_ms / 1000)
            if first < earliest:                  # a start before the plan's reach: from there
                first = -align(-earliest)
            last = min(last, first + (limit - 1) * step)
        else:
            first = last - (limit - 1) * step
        count = int(round((last - first) / step)) + 1
        candles = []
        for i in range(max(0, count)):
            t = first + i * step
            end = t + step
            if t >= earliest:
                candles.append(Candle(t, min(end, self.now), end, end > self.now))
        return candles


Handler = Callable[[Query], Any]


@dataclass(frozen=True)
class Endpoint:
    """One CoinGlass path the simulator answers with data."""

    path: str
    handler: Handler
    required: tuple[str, ...] = ()
    empty: Callable[[], Any] = list          # the data for an unknown coin/pair/venue
    extra: Mapping[str, Any] | None = None   # extra top-level keys in the envelope
