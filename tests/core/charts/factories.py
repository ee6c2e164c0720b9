"""Synthetic chart data: a calm market, with knobs for gaps and extremes."""

from __future__ import annotations

import math

from core.charts.model import ChartData, ChartThresholds, MapData, resolution
from core.plans import Plan

NOW = 1_764_000_000.0           # a fixed moment (2025-11-24 16:00 UTC)
THRESHOLDS = ChartThresholds(funding_high=0.10, funding_low=-0.05, liquidation_usd=50e6)


def chart_data(plan: Plan = Plan.STANDARD, window: str = "24h", *, coin: str = "ETH",
               funding: float = 0.01, oi_jump_pct: float = 0.0, liq_long_last: float = 0.0,
               gaps: dict[str, range] | None = None, missing: dict[str, str] | None = None,
               now: float = NOW) -> ChartData:
    """``gaps`` blanks candle index ranges per series; ``missing`` blanks whole series."""
    res = resolution(plan, window)
    step = res.step_seconds
    n = res.candles
    last = now // step * step
    times = tuple(last - (n - 1 - i) * step for i in range(n))
    price = [3000 + 30 * math.sin(i / 5) for i in range(n)]
    open_ = [price[i - 1] if i else price[0] for i in range(n)]
    oi = [30e9 + 2e8 * math.sin(i / 7) for i in range(n)]
    if oi_jump_pct:
        oi[-1] = oi[-2] * (1 + oi_jump_pct / 100)
    series = {
        "open": open_, "high": [max(o, c) + 5 for o, c in zip(open_, price)],
        "low": [min(o, c) - 5 for o, c in zip(open_, price)], "close": price,
        "open_interest": oi, "funding": [funding] * n,
        "liq_long": [1e6 + 0.5e6 * (i % 3) for i in range(n)],
        "liq_short": [0.8e6 + 0.4e6 * (i % 2) for i in range(n)],
    }
    series["liq_long"][-1] = liq_long_last or series["liq_long"][-1]
    members = {"price": ("open", "high", "low", "close"), "liquidations": ("liq_long", "liq_short")}
    for name, span in (gaps or {}).items():
        for field in members.get(name, (name,)):
            for i in span:
                series[field][i] = None
    for name in (missing or {}):
        for field in members.get(name, (name,)):
            series[field] = [None] * n
    return ChartData(coin=coin, plan=plan, resolution=res, times=times,
                     fetched_at=now, pair=f"{coin}USDT", liq_exchanges=("Binance", "OKX", "Bybit"),
                     missing=dict(missing or {}), **{k: tuple(v) for k, v in series.items()})


def map_data(price: float | None = 3000.0) -> MapData:
    levels = tuple((3000 * (1 + k / 100), 10e6 + 1e6 * abs(k)) for k in range(-12, 13) if k)
    return MapData("ETH", price, levels, "1d", NOW)
