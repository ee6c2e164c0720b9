"""Seven days of history at every interval, agreeing with the present, with scriptable past
episodes so a threshold replay has known crossings."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest

from core.coinglass import paths as p
from core.plans import INTERVAL_MINUTES
from sim.coinglass import CoinGlassSim
from tests.sim.test_coinglass_sim import START, FakeClock, call, data

HOUR = 3600.0
DAY = 86400.0
WEEK_MS = int(7 * DAY * 1000)
NOW = START + 30 * 60                        # 00:30 UTC: every interval up to 30m is aligned
PAIR = {"exchange": "Binance", "symbol": "BTCUSDT"}
COIN = {"symbol": "BTC"}
ALL = {"symbol": "BTC", "exchange_list": "ALL"}
SERIES = {                                   # the histories a chart or a replay reads
    "price": (p.PRICE_HISTORY, PAIR, "close"),
    "open interest": (p.OI_AGGREGATED_HISTORY, COIN, "close"),
    "OI-weighted funding": (p.FUNDING_OI_WEIGHT_HISTORY, COIN, "close"),
    "liquidations": (p.LIQUIDATION_AGGREGATED_HISTORY, ALL, "aggregated_long_liquidation_usd"),
    "retail long/short": (p.GLOBAL_LONG_SHORT_HISTORY, PAIR, "global_account_long_percent"),
    "top long/short": (p.TOP_LONG_SHORT_ACCOUNT_HISTORY, PAIR, "top_account_long_percent"),
    "taker volume": (p.TAKER_AGGREGATED_HISTORY, ALL, "aggregated_buy_volume_usd"),
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[CoinGlassSim]:
    simulator = CoinGlassSim(clock=clock, refresh_scale=0, ws_background=False)
    for key, plan in {"hobby": "hobbyist", "startup": "startup", "standard": "standard",
                      "pro": "professional"}.items():
        simulator.add_key(key, plan)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: CoinGlassSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=10.0) as c:
        yield c


async def week(client: httpx.AsyncClient, path: str, params: dict, interval: str,
               key: str = "pro", days: float = 7.0) -> list[dict]:
    """``days`` of candles, paged by time the way a client must (at most 1000 per call)."""
    step_ms = INTERVAL_MINUTES[interval] * 60_000
    start = int((NOW - days * DAY) * 1000)
    end = int(NOW * 1000)
    rows: list[dict] = []
    while start <= end:
        page = await data(client, path, key=key, interval=interval, start_time=start,
                          end_time=end, limit="1000", **params)
        if not page:
            break
        rows.extend(page)
        start = page[-1]["time"] + step_ms
    return rows


def value(row: dict, field: str) -> float:
    return float(row[field])


@pytest.mark.parametrize("name", SERIES)
async def test_seven_days_at_every_interval(client, name):
    path, params, field = SERIES[name]
    for interval, minutes in INTERVAL_MINUTES.items():
        if interval == "1w":
            continue                                          # one candle: nothing to page
        rows = await week(client, path, params, interval)
        step_ms = minutes * 60_000
        first = int((NOW - 7 * DAY) * 1000) // step_ms * step_ms      # the candle holding it
        last = int(NOW * 1000) // step_ms * step_ms
        times = [r["time"] for r in rows]
        assert times == list(range(first, last + 1, step_ms)), (name, interval)
        assert all(value(r, field) == value(r, field) for r in rows)      # no NaN, all numeric


async def test_history_is_deterministic(client, clock):
    first = await week(client, p.OI_AGGREGATED_HISTORY, COIN, "4h")
    async with CoinGlassSim(clock=FakeClock(NOW), refresh_scale=0) as other:
        other.add_key("pro", "professional")
        async with httpx.AsyncClient(base_url=other.base_url, timeout=10.0) as c:
            assert await week(c, p.OI_AGGREGATED_HISTORY, COIN, "4h") == first


async def test_the_last_candle_is_the_present(sim, client):
    sim.market.scenario("cascade", "BTC")
    price = (await data(client, p.PRICE_HISTORY, interval="1m", limit="1", **PAIR))[-1]
    binance = next(r for r in await data(client, p.PAIRS_MARKETS, symbol="BTC")
                   if r["exchange_name"] == "Binance")
    assert float(price["close"]) == binance["current_price"]
    oi = (await data(client, p.OI_AGGREGATED_HISTORY, interval="5m", limit="1", **COIN))[-1]
    listed = (await data(client, p.OI_EXCHANGE_LIST, symbol="BTC"))[0]
    assert oi["close"] == listed["open_interest_usd"]
    funding = (await data(client, p.FUNDING_OI_WEIGHT_HISTORY, interval="1h", limit="1",
                          **COIN))[-1]
    assert float(funding["close"]) == pytest.approx(-0.03, abs=1e-6)
    ratio = (await data(client, p.GLOBAL_LONG_SHORT_HISTORY, interval="5m", limit="1", **PAIR))
    assert ratio[-1]["global_account_long_percent"] == 68.0
    minutes = await data(client, p.LIQUIDATION_AGGREGATED_HISTORY, interval="1m", limit="61",
                         **ALL)
    hour = (await data(client, p.LIQUIDATION_EXCHANGE_LIST, symbol="BTC", range="1h"))[0]
    assert sum(r["aggregated_long_liquidation_usd"] for r in minutes) == pytest.approx(
        hour["longLiquidation_usd"], abs=0.1)
    takers = await data(client, p.TAKER_AGGREGATED_HISTORY, interval="1m", limit="61", **ALL)
    flow = await data(client, p.TAKER_EXCHANGE_LIST, symbol="BTC", range="1h")
    assert sum(r["aggregated_buy_volume_usd"] for r in takers) == pytest.approx(
        flow["buy_vol_usd"], rel=1e-6)


def crossings(rows: list[dict], field: str, above: float) -> list[int]:
    return [r["time"] for r in rows if value(r, field) > above]


async def test_a_replay_finds_exactly_the_scripted_episodes(sim, client):
    oi_at = START - 3 * DAY
    liquidation_at = START - 2 * DAY + 25 * 60
    funding_at = START - 5 * DAY
    crowd_at = START - DAY
    market = sim.market
    market.script_history("BTC", oi_at, until=oi_at + 2 * HOUR, oi_change_pct=10)
    market.script_history("BTC", liquidation_at, liquidation_long_usd=120e6)
    market.script_history("BTC", funding_at, until=funding_at + 8 * HOUR, funding_pct=0.12)
    market.script_history("BTC", crowd_at, until=crowd_at + 4 * HOUR, long_pct=72)

    oi = await week(client, p.OI_AGGREGATED_HISTORY, COIN, "1h")
    changes = [(b["time"], b["close"] / a["close"] - 1) for a, b in zip(oi, oi[1:])]
    assert [t for t, change in changes if abs(change) > 0.05] == [
        int(oi_at * 1000), int((oi_at + 2 * HOUR) * 1000)]
    liquidations = await week(client, p.LIQUIDATION_AGGREGATED_HISTORY, ALL, "1h")
    assert crossings(liquidations, "aggregated_long_liquidation_usd", 50e6) == [
        int((START - 2 * DAY) * 1000)]
    funding = await week(client, p.FUNDING_OI_WEIGHT_HISTORY, COIN, "1h")
    assert crossings(funding, "close", 0.05) == [
        int((funding_at + h * HOUR) * 1000) for h in range(8)]
    crowd = await week(client, p.GLOBAL_LONG_SHORT_HISTORY, PAIR, "1h")
    assert crossings(crowd, "global_account_long_percent", 65) == [
        int((crowd_at + h * HOUR) * 1000) for h in range(4)]
    # The episodes ended: the present is calm again.
    listed = (await data(client, p.OI_EXCHANGE_LIST, symbol="BTC"))[0]
    assert abs(listed["open_interest_change_percent_24h"]) < 2


async def test_a_lasting_episode_moves_the_present_too(sim, client):
    before = (await data(client, p.OI_EXCHANGE_LIST, symbol="BTC"))[0]["open_interest_usd"]
    sim.market.script_history("BTC", NOW - 2 * DAY, oi_change_pct=-20)
    after = (await data(client, p.OI_EXCHANGE_LIST, symbol="BTC"))[0]
    assert after["open_interest_usd"] == pytest.approx(before * 0.8, rel=1e-9)
    candles = await data(client, p.OI_AGGREGATED_HISTORY, interval="1h", limit="1", **COIN)
    assert candles[-1]["close"] == after["open_interest_usd"]


async def test_script_history_refuses_the_future_and_works_out_of_process(sim, client):
    with pytest.raises(ValueError):
        sim.market.script_history("BTC", NOW + 60, oi_change_pct=5)
    with pytest.raises(ValueError):
        sim.market.script_history("BTC", NOW - 60, until=NOW - 120, oi_change_pct=5)
    response = await client.post("/_sim/history/ETH", json={
        "at": START - DAY, "liquidation_short_usd": 70e6})
    assert response.status_code == 200
    rows = await data(client, p.LIQUIDATION_AGGREGATED_HISTORY, interval="1d", limit="2",
                      symbol="ETH", exchange_list="ALL")
    assert rows[0]["aggregated_short_liquidation_usd"] > 70e6


@pytest.mark.parametrize("key, interval, days, allowed", [
    ("standard", "1m", 7, 6), ("pro", "1m", 7, 7), ("startup", "30m", 100, 90),
    ("hobby", "4h", 200, 180), ("standard", "1d", 1000, 1000),
])
async def test_history_stops_at_the_plans_length(client, key, interval, days, allowed):
    rows = await week(client, p.PRICE_HISTORY, PAIR, interval, key=key, days=days)
    step = INTERVAL_MINUTES[interval] * 60
    if allowed < days:          # the oldest candle the plan may read
        expected = -(-(NOW - allowed * DAY) // step) * step
    else:                       # the candle holding start_time
        expected = (NOW - days * DAY) // step * step
    assert rows[0]["time"] == int(expected * 1000)
    assert rows[-1]["time"] == int(NOW // step * step * 1000)


async def test_a_page_entirely_older_than_the_plan_allows_is_empty(client):
    old = int((NOW - 10 * DAY) * 1000)
    body = (await call(client, p.PRICE_HISTORY, "standard", interval="1m", start_time=old,
                       end_time=old + 3_600_000, **PAIR)).json()
    assert body == {"code": "0", "msg": "success", "data": []}

