"""What a chart shows: windows, the candle interval a plan allows, and the data drawn.

Everything here is plain, immutable and picklable: a :class:`ChartData` crosses into a
render process as it is.

Which candles a window gets (``resolution``): the finest interval the plan's history allows
(coinglass-v4.md §5.2: Hobbyist ≥ 4h, Startup ≥ 30m, Standard and above any) that keeps the
window at most ``MAX_CANDLES`` candles, so bars stay a few pixels wide on a phone and one
request per series covers the window. A window the plan's interval would draw with fewer than
``MIN_CANDLES`` candles (Hobbyist's 6h and 24h: 2 and 6 four-hour candles) is widened to
``FALLBACK_WINDOW`` rather than refused::

    window   Hobbyist        Startup        Standard, Professional, Enterprise
    6h       7d at 4h (42)   30m (12)       3m (120)
    24h      7d at 4h (42)   30m (48)       15m (96)
    3d       4h (18)         30m (144)      30m (144)
    7d       4h (42)         1h (168)       1h (168)

``2h`` is skipped: most history endpoints do not list it (coinglass-v4.md §5.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timezone, tzinfo
from typing import Mapping

from core.plans import INTERVAL_MINUTES, PLAN_INFO, Plan

WINDOWS: dict[str, int] = {"6h": 360, "24h": 1440, "3d": 4320, "7d": 10080}   # minutes
DEFAULT_WINDOW = "24h"
FALLBACK_WINDOW = "7d"
MAP = "map"                           # the liquidation-map view (Professional and above)
MAX_CANDLES = 200
MIN_CANDLES = 12
CANDIDATE_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "4h", "6h", "12h", "1d")

_ALIASES = {"1d": "24h", "d": "24h", "day": "24h", "24": "24h", "6": "6h", "w": "7d", "1w": "7d",
            "week": "7d", "7": "7d", "3": "3d", "72h": "3d", "168h": "7d"}


def parse_window(text: str) -> str | None:
    """``24h``, ``1d``, ``7D``, ``week``, ``map``… as a window name (or ``map``); None if
    unknown."""
    word = text.strip().lower()
    if word in WINDOWS or word == MAP:
        return word
    return _ALIASES.get(word)


@dataclass(frozen=True)
class Resolution:
    """The candles drawn for a window the user asked for."""

    asked: str            # the window asked for
    window: str           # the window drawn (wider than asked when the plan's candles are coarse)
    interval: str         # candle interval, e.g. "15m"
    candles: int          # candles in the window

    @property
    def widened(self) -> bool:
        return self.window != self.asked

    @property
    def step_seconds(self) -> int:
        return INTERVAL_MINUTES[self.interval] * 60


def resolution(plan: Plan, window: str) -> Resolution:
    """The finest candles ``plan`` allows for ``window`` (see the module docstring's table)."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}")
    floor = INTERVAL_MINUTES[PLAN_INFO[plan].min_interval]
    allowed = [i for i in CANDIDATE_INTERVALS if INTERVAL_MINUTES[i] >= floor]
    minutes = WINDOWS[window]
    interval = next((i for i in allowed if minutes / INTERVAL_MINUTES[i] <= MAX_CANDLES),
                    allowed[-1])
    candles = math.ceil(minutes / INTERVAL_MINUTES[interval])
    if candles < MIN_CANDLES and window != FALLBACK_WINDOW:
        wider = resolution(plan, FALLBACK_WINDOW)
        return Resolution(window, wider.window, wider.interval, wider.candles)
    return Resolution(window, window, interval, candles)


Series = tuple["float | None", ...]


@dataclass(frozen=True)
class ChartThresholds:
    """The user's thresholds a chart draws."""

    funding_high: float          # % per 8 h
    funding_low: float           # % per 8 h
    liquidation_usd: float       # USD per 1 h, per side

    @classmethod
    def from_values(cls, values: Mapping[str, float]) -> ChartThresholds:
        return cls(values["funding_high"], values["funding_low"], values["liquidation_usd"])


@dataclass(frozen=True)
class ChartData:
    """Four series on one grid of candles; ``None`` where CoinGlass had no value (a gap).

    ``times`` are the candles' open times (epoch seconds, ascending, one interval apart); the
    last candle is the running one. ``missing`` names each series CoinGlass did not deliver
    at all, with why (``"funding": "CoinGlass timed out"``).
    """

    coin: str
    plan: Plan
    resolution: Resolution
    times: tuple[float, ...]
    open: Series
    high: Series
    low: Series
    close: Series
    open_interest: Series        # aggregated OI close, USD
    funding: Series              # OI-weighted funding close, % per 8 h
    liq_long: Series             # USD liquidated per candle, longs
    liq_short: Series            # USD liquidated per candle, shorts
    fetched_at: float            # epoch seconds
    pair: str = ""               # the price's pair, e.g. "ETHUSDT"
    price_exchange: str = "Binance"
    liq_exchanges: tuple[str, ...] = ()
    missing: Mapping[str, str] = field(default_factory=dict)

    SERIES = ("price", "open_interest", "funding", "liquidations")

    @property
    def step_seconds(self) -> int:
        return self.resolution.step_seconds

    @property
    def data_time(self) -> float:
        """When the data was true: the fetch time, or the end of the newest candle that has any
        value when CoinGlass lags behind."""
        newest = None
        for i in range(len(self.times) - 1, -1, -1):
            if any(s[i] is not None for s in (self.close, self.open_interest, self.funding,
                                              self.liq_long)):
                newest = self.times[i]
                break
        if newest is None:
            return self.fetched_at
        return min(self.fetched_at, newest + self.step_seconds)

    def series(self, name: str) -> Series:
        """The values behind one panel (``liquidations``: long + short where either is known)."""
        if name == "price":
            return self.close
        if name == "liquidations":
            return tuple(None if a is None and b is None else (a or 0.0) + (b or 0.0)
                         for a, b in zip(self.liq_long, self.liq_short))
        return getattr(self, name)

    def gaps(self, name: str) -> list[tuple[float, float]]:
        """(start, end) epoch seconds of each run of candles without a value in a series."""
        values = self.series(name)
        runs, start = [], None
        for t, v in zip(self.times, values):
            if v is None and start is None:
                start = t
            elif v is not None and start is not None:
                runs.append((start, t))
                start = None
        if start is not None:
            runs.append((start, self.times[-1] + self.step_seconds))
        return runs

    def has_values(self) -> bool:
        return any(v is not None for name in self.SERIES for v in self.series(name))


@dataclass(frozen=True)
class MapData:
    """A liquidation map: USD of positions that would be liquidated at each price level."""

    coin: str
    price: float | None               # the current price (None: unknown)
    levels: tuple[tuple[float, float], ...]   # (price level, USD), ascending by price
    range: str                        # the map's look-back, e.g. "1d"
    fetched_at: float


@dataclass(frozen=True)
class RenderJob:
    """Everything a render worker needs to draw one picture (picklable)."""

    data: ChartData | MapData
    thresholds: ChartThresholds | None = None
    tz: tzinfo = timezone.utc


class ChartError(Exception):
    """A chart that cannot be made; the message is safe to show the user."""


class ChartUnavailable(ChartError):
    """CoinGlass delivered nothing to draw. ``kind``: ``"down"`` (errors, timeouts),
    ``"empty"`` (it answered with no data), ``"rate_limited"``."""

    def __init__(self, message: str, kind: str = "down"):
        super().__init__(message)
        self.kind = kind


class BudgetBusy(ChartError):
    """The key's request budget has no room for the chart soon enough."""

    def __init__(self, message: str, retry_in: float):
        super().__init__(message)
        self.retry_in = retry_in
