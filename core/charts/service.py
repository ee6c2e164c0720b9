"""Charts end to end: data from the fetcher, a PNG from the renderer, both cached for a minute.

The PNG cache is keyed by the data's version (its fetch time) and what changes the picture
(thresholds, timezone), so a chart asked for twice within a minute, by a command and an
alert's button say, is fetched once and rendered once; two identical requests arriving at the
same moment share one render.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timezone, tzinfo
from typing import Callable

from core.charts.data import ChartFetcher, TtlCache
from core.charts.executor import ChartRenderer
from core.charts.model import (
    ChartData, ChartThresholds, MapData, RenderJob, Resolution, resolution,
)
from core.coinglass.client import CoinGlassClient
from core.coinglass.ratelimit import key_fingerprint
from core.plans import Plan


@dataclass(frozen=True)
class Chart:
    png: bytes
    data: ChartData | MapData


class ChartService:
    def __init__(self, client: CoinGlassClient, *, renderer: ChartRenderer | None = None,
                 fetcher: ChartFetcher | None = None, ttl: float = 60.0, max_pngs: int = 64,
                 clock: Callable[[], float] = time.time):
        self.fetcher = fetcher or ChartFetcher(client, ttl=ttl, clock=clock)
        self.renderer = renderer or ChartRenderer()
        self.pngs = TtlCache(ttl, max_pngs, time.monotonic)

    @staticmethod
    def resolution(plan: Plan, window: str) -> Resolution:
        return resolution(plan, window)

    async def chart(self, api_key: str, plan: Plan, coin: str, window: str,
                    thresholds: ChartThresholds, *, tz: tzinfo = timezone.utc,
                    per_minute: int | None = None) -> Chart:
        """The four-panel chart of ``coin`` over ``window`` (widened when the plan's candles are
        too coarse). Raises AuthError, PlanTooLow, ChartUnavailable or BudgetBusy."""
        res = resolution(plan, window)
        data = await self.fetcher.chart(api_key, plan, coin, res, per_minute=per_minute)
        key = ("chart", key_fingerprint(api_key), coin, res.window, res.interval,
               data.fetched_at, thresholds, str(tz))
        png = await self.pngs.get(key, lambda: self.renderer.render(
            RenderJob(data, thresholds, tz)))
        return Chart(png, data)

    async def liquidation_map(self, api_key: str, plan: Plan, coin: str, *,
                              tz: tzinfo = timezone.utc, per_minute: int | None = None) -> Chart:
        """The liquidation map of ``coin`` (Professional and above)."""
        data = await self.fetcher.liquidation_map(api_key, plan, coin, per_minute=per_minute)
        key = ("map", key_fingerprint(api_key), coin, data.fetched_at, str(tz))
        png = await self.pngs.get(key, lambda: self.renderer.render(RenderJob(data, None, tz)))
        return Chart(png, data)

    def close(self) -> None:
        self.renderer.close()
