"""Each endpoint serves the market as of its last refresh, at CoinGlass's documented pace."""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator

import httpx
import pytest

from core.coinglass import paths as p
from sim.coinglass import CoinGlassSim
from tests.sim.test_coinglass_sim import FakeClock, data

DOCUMENTED = {               # coinglass-v4.md §13.1, seconds (0 = real time)
    p.OI_EXCHANGE_LIST: 10, p.LIQUIDATION_EXCHANGE_LIST: 10, p.FUNDING_EXCHANGE_LIST: 20,
    p.TAKER_EXCHANGE_LIST: 1, p.LIQUIDATION_ORDER: 1, p.ORDERBOOK_ASK_BIDS_HISTORY: 5,
    p.LARGE_LIMIT_ORDER: 0, p.HYPERLIQUID_WHALE_ALERT: 0, p.PRICE_HISTORY: 0,
    p.SUPPORTED_COINS: 60, p.BITCOIN_DOMINANCE: 86400,
    p.COINS_MARKETS: 10, p.PAIRS_MARKETS: 10,                       # assumed ≈ the lists
    p.OI_AGGREGATED_HISTORY: 10, p.FUNDING_OI_WEIGHT_HISTORY: 20,   # forming candle: its list
    p.LIQUIDATION_AGGREGATED_HISTORY: 10, p.TAKER_AGGREGATED_HISTORY: 1,
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[CoinGlassSim]:
    simulator = CoinGlassSim(clock=clock, ws_background=False)
    simulator.add_key("pro", "professional")
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: CoinGlassSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=5.0) as c:
        yield c


def next_refresh(sim: CoinGlassSim, path: str) -> float:
    return sim.refreshed_at(path) + sim.pace(path)


async def oi_all(client: httpx.AsyncClient) -> float:
    return (await data(client, p.OI_EXCHANGE_LIST, symbol="BTC"))[0]["open_interest_usd"]


def test_paces_follow_the_reference_and_scale():
    full, tenth, live = (CoinGlassSim(refresh_scale=s) for s in (1.0, 0.1, 0.0))
    for path, seconds in DOCUMENTED.items():
        assert full.pace(path) == seconds, path
        assert tenth.pace(path) == pytest.approx(seconds * 0.1), path
        assert live.pace(path) == 0
    with pytest.raises(ValueError):
        CoinGlassSim(refresh_scale=-1)


def test_refreshed_at_is_the_last_boundary_and_cadences_are_offset(sim, clock):
    for path, seconds in DOCUMENTED.items():
        for step in range(25):
            clock.advance(0.37)
            produced = sim.refreshed_at(path)
            assert produced <= clock.now < produced + max(seconds, 1e-9) or seconds == 0
            if seconds == 0:
                assert produced == clock.now
    # One job per cadence: the same pace refreshes at the same instant, different paces don't.
    assert sim.refreshed_at(p.OI_EXCHANGE_LIST) == sim.refreshed_at(p.LIQUIDATION_EXCHANGE_LIST)
    phases = {sim.refreshed_at(path, now=0.0) % 1.0 for path in
              (p.TAKER_EXCHANGE_LIST, p.ORDERBOOK_ASK_BIDS_HISTORY, p.OI_EXCHANGE_LIST,
               p.FUNDING_EXCHANGE_LIST)}
    assert len(phases) == 4


async def test_a_change_shows_at_each_endpoints_next_refresh(sim, client, clock):
    before = await oi_all(client)
    funding_before = await data(client, p.FUNDING_EXCHANGE_LIST)
    sim.market.set("BTC", open_interest_usd=before * 1.08, funding_pct=0.1, price=90_000.0)
    changed_at = clock.now
    # Price is real time; the lists still serve their last refresh.
    candles = await data(client, p.PRICE_HISTORY, exchange="Binance", symbol="BTCUSDT",
                         interval="1m", limit="1")
    assert candles[-1]["close"] == "90000"
    assert await oi_all(client) == before
    assert await data(client, p.FUNDING_EXCHANGE_LIST) == funding_before
    oi_due, funding_due = next_refresh(sim, p.OI_EXCHANGE_LIST), next_refresh(
        sim, p.FUNDING_EXCHANGE_LIST)
    assert changed_at < oi_due <= changed_at + 10 and changed_at < funding_due <= changed_at + 20
    clock.now = oi_due - 0.001
    assert await oi_all(client) == before
    clock.now = oi_due
    assert await oi_all(client) == pytest.approx(before * 1.08, rel=1e-3)
    assert sim.refreshed_at(p.OI_EXCHANGE_LIST) == oi_due
    if funding_due > oi_due:
        assert await data(client, p.FUNDING_EXCHANGE_LIST) == funding_before
    clock.now = funding_due
    btc = next(r for r in await data(client, p.FUNDING_EXCHANGE_LIST) if r["symbol"] == "BTC")
    binance = next(v for v in btc["stablecoin_margin_list"] if v["exchange"] == "Binance")
    assert binance["funding_rate"] == pytest.approx(0.1, abs=1e-4)


async def test_the_forming_candle_moves_with_its_list(sim, client, clock):
    before = await oi_all(client)
    sim.market.move("BTC", oi_pct=-9)
    clock.now = next_refresh(sim, p.OI_EXCHANGE_LIST)
    after = await oi_all(client)
    candles = await data(client, p.OI_AGGREGATED_HISTORY, symbol="BTC", interval="1h", limit="2")
    assert after == pytest.approx(before * 0.91, rel=1e-3)
    assert candles[-1]["close"] == after          # same cadence, same instant, same value
    clock.advance(9.0)                              # inside the next 10 s: nothing moves
    assert (await data(client, p.OI_AGGREGATED_HISTORY, symbol="BTC", interval="1h",
                       limit="2"))[-1]["close"] == after


async def test_a_scenario_reaches_the_ten_second_family_together(sim, client, clock):
    sim.market.scenario("cascade", "ETH")
    clock.now = next_refresh(sim, p.OI_EXCHANGE_LIST) - 0.001
    liq = await data(client, p.LIQUIDATION_EXCHANGE_LIST, symbol="ETH", range="1h")
    assert liq[0]["longLiquidation_usd"] < 50e6
    clock.advance(0.001)
    oi = (await data(client, p.OI_EXCHANGE_LIST, symbol="ETH"))[0]
    liq = await data(client, p.LIQUIDATION_EXCHANGE_LIST, symbol="ETH", range="1h")
    ratio = await data(client, p.GLOBAL_LONG_SHORT_HISTORY, exchange="Binance",
                       symbol="ETHUSDT", interval="5m", limit="1")
    assert oi["open_interest_change_percent_1h"] <= -8.5
    assert liq[0]["longLiquidation_usd"] > 50e6
    assert ratio[-1]["global_account_long_percent"] == 68.0


async def test_a_body_is_built_once_per_refresh(sim, client, clock):
    await data(client, p.FUNDING_EXCHANGE_LIST)
    built = sim.bodies_built
    for _ in range(20):
        clock.advance(0.01)
        await data(client, p.FUNDING_EXCHANGE_LIST)
    assert sim.bodies_built == built
    clock.now = next_refresh(sim, p.FUNDING_EXCHANGE_LIST)
    await data(client, p.FUNDING_EXCHANGE_LIST)
    assert sim.bodies_built == built + 1
    clock.advance(0.5)
    sim.market.set("BTC", price=80_000.0)          # a step now does not touch the served past
    await data(client, p.FUNDING_EXCHANGE_LIST)
    assert sim.bodies_built == built + 1
    clock.now = sim.refreshed_at(p.FUNDING_EXCHANGE_LIST)
    sim.market.set("BTC", price=81_000.0)          # a step at the served instant does
    await data(client, p.FUNDING_EXCHANGE_LIST)
    assert sim.bodies_built == built + 2


async def test_editing_the_past_rebuilds_what_was_served(sim, client, clock):
    before = await oi_all(client)
    sim.market.script_history("BTC", clock.now - 3 * 3600, oi_change_pct=10)
    assert await oi_all(client) == pytest.approx(before * 1.10, rel=1e-6)


async def test_refresh_scale_compresses_paces_on_a_real_clock():
    async with CoinGlassSim(refresh_scale=0.1, ws_background=False) as sim:
        sim.add_key("pro", "professional")
        assert sim.pace(p.OI_EXCHANGE_LIST) == pytest.approx(1.0)
        async with httpx.AsyncClient(base_url=sim.base_url, timeout=5.0) as client:
            before = await oi_all(client)
            sim.market.move("BTC", oi_pct=5)
            moved = time.monotonic()
            deadline = moved + 3.0
            while await oi_all(client) == before:
                assert time.monotonic() < deadline, "the OI list never refreshed"
                await asyncio.sleep(0.02)
            assert time.monotonic() - moved <= 1.0 + 0.5
