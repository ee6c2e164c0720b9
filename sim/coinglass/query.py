"""What an endpoint handler sees: validated request parameters, candle windows, and its spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from core.plans import INTERVAL_MINUTES
from sim.coinglass import universe as u
from sim.coinglass.market import Market

MAX_LIMIT = 1000
_WEEK_ORIGIN = 4 * 86400.0          # 1970-01-05 was a Monday: weekly candles open on Mondays


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

    def __init__(self, market: Market, params: Mapping[str, str], now: float):
        self.market = market
        self.params = params
        self.now = now

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
        last ``limit`` up to ``end_time`` or now; never past the running candle."""
        step = self.interval_seconds()
        limit = self.number("limit", MAX_LIMIT)
        limit = max(1, min(MAX_LIMIT, int(limit)))
        start_ms, end_ms = self.number("start_time"), self.number("end_time")
        origin = _WEEK_ORIGIN if step == 7 * 86400 else 0.0

        def align(t: float) -> float:
            return (t - origin) // step * step + origin

        last = align(min(self.now, end_ms / 1000 if end_ms is not None else self.now))
        if start_ms is not None:
            first = align(start_ms / 1000)
            last = min(last, first + (limit - 1) * step)
        else:
            first = last - (limit - 1) * step
        count = int(round((last - first) / step)) + 1
        candles = []
        for i in range(max(0, count)):
            t = first + i * step
            end = t + step
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
