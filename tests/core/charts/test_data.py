"""Chart data from the CoinGlass simulator over real HTTP: intervals, caching, gaps, errors."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import pytest

from core.charts.data import ChartFetcher, TtlCache
from core.charts.model import ChartUnavailable, resolution
from core.coinglass import paths
from core.coinglass.client import CoinGlassClient, make_http_client
from core.coinglass.errors import InvalidKey, PlanTooLow
from core.plans import Plan
from sim.coinglass import CoinGlassSim

KEYS = {plan: f"{plan.name.lower()}-chart-key-000000" for plan in Plan}
HISTORY = (paths.PRICE_HISTORY, paths.OI_AGGREGATED_HISTORY, paths.FUNDING_OI_WEIGHT_HISTORY,
           paths.LIQUIDATION_AGGREGATED_HISTORY)


@pytest.fixture
async def sim() -> AsyncIterator[CoinGlassSim]:
    server = CoinGlassSim()
    for plan, key in KEYS.items():
        server.add_key(key, plan.name.lower())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(sim) -> AsyncIterator[CoinGlassClient]:
    http = make_http_client()
    yield CoinGlassClient(http, sim.base_url)
    await http.aclose()


@pytest.mark.parametrize("plan", list(Plan))
async def test_every_plan_and_window_gets_full_series_at_its_interval(sim, client, plan):
    fetcher = ChartFetcher(client)
    for window in ("6h", "24h", "3d", "7d"):
        res = resolution(plan, window)
        data = await fetcher.chart(KEYS[plan], plan, "ETH", res)
        assert len(data.times) == res.candles
        assert data.missing == {}
        for name in data.SERIES:
            # A series CoinGlass refreshes more slowly (funding: 20 s) may not have the
            # newest, still-forming candle yet: only that one may be a gap, never older ones.
            gaps = data.gaps(name)
            assert gaps == [] or (len(gaps) == 1 and gaps[0][1] >= data.times[-1]), \
                (plan, window, name, gaps)
        assert data.times[1] - data.times[0] == res.step_seconds
    assert sim.count_429() == 0


async def test_the_simulator_enforces_the_plans_interval_floor(client):
    with pytest.raises(PlanTooLow):
        await client.open_interest_history(KEYS[Plan.HOBBYIST], "ETH", "1h", 10)
    with pytest.raises(PlanTooLow):
        await client.funding_oi_weight_history(KEYS[Plan.STARTUP], "ETH", "15m", 10)
    candles = await client.funding_oi_weight_history(KEYS[Plan.STARTUP], "ETH", "30m", 10)
    assert len(candles) == 10


async def test_a_chart_asked_twice_costs_its_requests_once(sim, client):
    fetcher = ChartFetcher(client)
    res = resolution(Plan.STARTUP, "24h")
    first, second = await asyncio.gather(
        fetcher.chart(KEYS[Plan.STARTUP], Plan.STARTUP, "BTC", res),
        fetcher.chart(KEYS[Plan.STARTUP], Plan.STARTUP, "BTC", res))
    third = await fetcher.chart(KEYS[Plan.STARTUP], Plan.STARTUP, "BTC", res)
    assert first is second is third
    assert sum(sim.request_count(KEYS[Plan.STARTUP], p) for p in HISTORY) == 4
    assert fetcher.cache.loads == 1
    # another key does not share the first key's cache
    await fetcher.chart(KEYS[Plan.STANDARD], Plan.STARTUP, "BTC", res)
    assert sum(sim.request_count(KEYS[Plan.STANDARD], p) for p in HISTORY) == 4


async def test_one_failing_series_is_a_gap_the_rest_is_drawn(sim, client):
    sim.inject_fault("timeout", path=paths.LIQUIDATION_AGGREGATED_HISTORY, seconds=3)
    http = make_http_client()
    import httpx
    fast = CoinGlassClient(http, sim.base_url, timeout=httpx.Timeout(1.0))
    try:
        data = await ChartFetcher(fast).chart(KEYS[Plan.STANDARD], Plan.STANDARD, "ETH",
                                              resolution(Plan.STANDARD, "6h"))
    finally:
        await http.aclose()
    assert data.missing == {"liquidations": "CoinGlass did not answer in time"}
    assert all(v is None for v in data.liq_long) and data.close[-1] is not None


async def test_coinglass_down_bad_key_and_lapsed_plan(sim, client):
    fetcher = ChartFetcher(client)
    res = resolution(Plan.STANDARD, "24h")
    sim.inject_fault("http_502")
    with pytest.raises(ChartUnavailable) as down:
        await fetcher.chart(KEYS[Plan.STANDARD], Plan.STANDARD, "ETH", res)
    assert down.value.kind == "down"
    sim.clear_faults()
    with pytest.raises(InvalidKey):
        await fetcher.chart("nobody-knows-this-key-00000", Plan.STANDARD, "ETH", res)
    # a plan set higher than the key's: CoinGlass refuses the interval
    with pytest.raises(PlanTooLow):
        await fetcher.chart(KEYS[Plan.HOBBYIST], Plan.STANDARD, "ETH", res)
    # failures are not cached
    assert len(fetcher.cache) == 0


async def test_liquidation_map_with_its_price(client):
    fetcher = ChartFetcher(client)
    data = await fetcher.liquidation_map(KEYS[Plan.PROFESSIONAL], Plan.PROFESSIONAL, "ETH")
    assert data.price and len(data.levels) > 10
    assert data.levels == tuple(sorted(data.levels))
    with pytest.raises(PlanTooLow):
        await fetcher.liquidation_map(KEYS[Plan.STANDARD], Plan.STANDARD, "ETH")


async def test_ttl_cache_expires_and_stays_bounded():
    now = [0.0]
    cache = TtlCache(60.0, 3, lambda: now[0])
    calls = []

    def loader(value):
        async def load():
            calls.append(value)
            return value
        return load

    assert await cache.get("a", loader(1)) == 1
    assert await cache.get("a", loader(2)) == 1
    now[0] = 61.0
    assert await cache.get("a", loader(3)) == 3
    for key in "bcde":
        await cache.get(key, loader(key))
    assert len(cache) == 3 and cache.peek("a") is None       # oldest dropped
    now[0] = 200.0
    assert cache.peek("e") is None                          # expired
    assert calls == [1, 3, "b", "c", "d", "e"]


async def test_ttl_cache_does_not_keep_failures():
    cache = TtlCache(60.0, 3, lambda: 0.0)

    async def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await cache.get("k", fail)

    async def ok():
        return 5
    assert await cache.get("k", ok) == 5


async def test_oi_weighted_funding_history_request_and_recorded_body():
    import httpx

    from tests.conftest import recorded
    seen = []
    body = recorded("funding-rate-oi-weight-history")["body"]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    candles = await CoinGlassClient(http, "https://cg.test").funding_oi_weight_history(
        "key-0000000000000000", "BTC", "4h", 42)
    await http.aclose()
    (request,) = seen
    assert request.url.path == paths.FUNDING_OI_WEIGHT_HISTORY
    assert dict(request.url.params) == {"symbol": "BTC", "interval": "4h", "limit": "42"}
    assert candles and all(isinstance(c.close, float) for c in candles)   # strings coerced
    assert [c.time for c in candles] == sorted(c.time for c in candles)
