"""All-coins bodies at their real size, coins-markets (§13.2) and pairs-markets (§13.3)."""

from __future__ import annotations

import statistics
from typing import AsyncIterator

import httpx
import pytest

from core.coinglass import paths as p
from sim.coinglass import CoinGlassSim, Market
from sim.coinglass import universe as u
from tests.sim.test_coinglass_sim import START, FakeClock, call, data

WINDOWS = ("5m", "15m", "30m", "1h", "4h", "12h", "24h")
COINS_MARKETS_FIELDS = {
    "symbol", "current_price", "avg_funding_rate_by_oi", "avg_funding_rate_by_vol",
    "market_cap_usd", "open_interest_market_cap_ratio", "open_interest_usd",
    "open_interest_quantity", "open_interest_volume_ratio",
    *(f"price_change_percent_{w}" for w in WINDOWS),
    *(f"open_interest_change_percent_{w}" for w in WINDOWS if w != "12h"),
    *(f"volume_change_percent_{w}" for w in WINDOWS if w != "12h"),
    *(f"volume_change_usd_{w}" for w in ("1h", "4h", "24h")),
    *(f"long_short_ratio_{w}" for w in WINDOWS),
    *(f"{kind}liquidation_usd_{w}" for kind in ("", "long_", "short_")
      for w in ("1h", "4h", "12h", "24h")),
}
PAIRS_MARKETS_FIELDS = {
    "instrument_id", "exchange_name", "symbol", "current_price", "index_price",
    "price_change_percent_24h", "volume_usd", "volume_usd_change_percent_24h", "long_volume_usd",
    "short_volume_usd", "long_volume_quantity", "short_volume_quantity", "open_interest_quantity",
    "open_interest_usd", "open_interest_change_percent_24h", "long_liquidation_usd_24h",
    "short_liquidation_usd_24h", "funding_rate", "next_funding_time", "open_interest_volume_radio",
    "oi_vol_ratio_change_percent_24h",
}


@pytest.fixture
async def sim() -> AsyncIterator[CoinGlassSim]:
    # Live: these tests compare endpoints at one instant.
    simulator = CoinGlassSim(clock=FakeClock(), refresh_scale=0, ws_background=False)
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


# -- the universe ---------------------------------------------------------------------------------

async def test_funding_list_has_every_coin_at_the_real_size(client):
    response = await call(client, p.FUNDING_EXCHANGE_LIST)
    rows = response.json()["data"]
    assert len(rows) == 925                                   # the Nov-2025 capture
    assert 2.2e6 < len(response.content) < 2.6e6              # the real body is ≈ 2.4 MB
    symbols = [r["symbol"] for r in rows]
    assert len(set(symbols)) == 925
    assert symbols[:24] == [c.symbol for c in u.DEFAULT_COINS]
    assert symbols == await data(client, p.SUPPORTED_COINS)
    rates = [v["funding_rate"] for r in rows for v in r["stablecoin_margin_list"]
             if v["funding_rate"] is not None]
    assert all(abs(rate) < 0.1 for rate in rates)
    assert 0.005 < statistics.median(rates) < 0.015


async def test_small_coins_list_on_fewer_venues(client):
    rows = await data(client, p.FUNDING_EXCHANGE_LIST)

    def venues(row: dict) -> int:
        return sum(v["funding_rate"] is not None for v in row["stablecoin_margin_list"])

    large = statistics.mean(venues(r) for r in rows[24:124])
    small = statistics.mean(venues(r) for r in rows[-100:])
    assert large > small + 2 and min(venues(r) for r in rows) >= 1


def test_the_universe_is_deterministic_and_keeps_the_scripted_coins():
    first, second = Market(clock=lambda: START), Market(clock=lambda: START)
    assert first.coins() == second.coins() and len(first.coins()) == 925
    for coin in (first.coins()[30], first.coins()[-1]):
        assert first.price(coin) == second.price(coin)
        assert first.open_interest(coin) == second.open_interest(coin)
    assert first.profile("BTC") == u.CoinProfile("BTC", 97_000.0, 67e9)


async def test_a_synthetic_coin_answers_like_any_other(client):
    coin = (await data(client, p.SUPPORTED_COINS))[-1]
    oi = await data(client, p.OI_EXCHANGE_LIST, symbol=coin)
    assert oi[0]["exchange"] == "All" and oi[0]["open_interest_usd"] > 0
    assert await data(client, p.PAIRS_MARKETS, symbol=coin)


# -- coins-markets --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["hobby", "startup"])
async def test_coins_markets_needs_standard(client, key):
    response = await call(client, p.COINS_MARKETS, key)
    assert response.json() == {"code": "401", "msg": "Upgrade plan"}


async def test_coins_markets_pages_ten_coins_by_default(client):
    first = await data(client, p.COINS_MARKETS, key="standard")
    assert len(first) == 10 and first[0]["symbol"] == "BTC" and first[1]["symbol"] == "ETH"
    for row in first:
        assert set(row) == COINS_MARKETS_FIELDS
    caps = [r["market_cap_usd"] for r in first]
    assert caps == sorted(caps, reverse=True)
    second = await data(client, p.COINS_MARKETS, key="standard", page="2")
    assert not {r["symbol"] for r in first} & {r["symbol"] for r in second}
    everything = await data(client, p.COINS_MARKETS, key="standard", per_page="1000")
    assert len({r["symbol"] for r in everything}) == 925
    assert everything[:20] == first + second
    last = await data(client, p.COINS_MARKETS, key="standard", per_page="100", page="10")
    assert len(last) == 25
    assert await data(client, p.COINS_MARKETS, key="standard", per_page="100", page="11") == []


@pytest.mark.parametrize("params", [{"per_page": "0"}, {"page": "-1"}, {"per_page": "ten"}])
async def test_coins_markets_refuses_bad_paging(client, params):
    body = (await call(client, p.COINS_MARKETS, "standard", **params)).json()
    assert body["code"] == "400" and "Invalid parameter" in body["msg"]


async def test_coins_markets_agrees_with_the_per_coin_endpoints(sim, client):
    sim.market.scenario("cascade", "ETH")
    rows = {r["symbol"]: r for r in await data(client, p.COINS_MARKETS, per_page="30")}
    for coin in ("BTC", "ETH"):
        row = rows[coin]
        oi = (await data(client, p.OI_EXCHANGE_LIST, symbol=coin))[0]
        assert row["open_interest_usd"] == oi["open_interest_usd"]
        for w in ("5m", "15m", "30m", "1h", "4h", "24h"):
            assert row[f"open_interest_change_percent_{w}"] == oi[
                f"open_interest_change_percent_{w}"]
        for w in ("1h", "4h", "12h", "24h"):
            liq = (await data(client, p.LIQUIDATION_EXCHANGE_LIST, symbol=coin, range=w))[0]
            assert row[f"long_liquidation_usd_{w}"] == pytest.approx(liq["longLiquidation_usd"])
            assert row[f"liquidation_usd_{w}"] == pytest.approx(liq["liquidation_usd"])
        funding = await data(client, p.FUNDING_OI_WEIGHT_HISTORY, symbol=coin, interval="1h",
                             limit="1")
        assert row["avg_funding_rate_by_oi"] == pytest.approx(float(funding[-1]["close"]),
                                                              abs=1e-6)
        binance = next(r for r in await data(client, p.PAIRS_MARKETS, symbol=coin)
                       if r["exchange_name"] == "Binance")
        assert row["current_price"] == binance["current_price"]
        taker = await data(client, p.TAKER_EXCHANGE_LIST, symbol=coin, range="1h")
        assert row["long_short_ratio_1h"] == pytest.approx(
            taker["buy_vol_usd"] / taker["sell_vol_usd"], abs=1e-4)
    eth = rows["ETH"]
    assert eth["long_liquidation_usd_1h"] > 50e6 and eth["price_change_percent_1h"] < -5
    assert eth["avg_funding_rate_by_oi"] == pytest.approx(-0.03, abs=1e-6)


async def test_coins_markets_exchange_list_reports_those_venues(client):
    rows = await data(client, p.COINS_MARKETS, exchange_list="Binance", per_page="3")
    binance = next(r for r in await data(client, p.OI_EXCHANGE_LIST, symbol="BTC")
                   if r["exchange"] == "Binance")
    btc = next(r for r in rows if r["symbol"] == "BTC")
    assert btc["open_interest_usd"] == pytest.approx(binance["open_interest_usd"], rel=1e-9)
    assert btc["open_interest_change_percent_1h"] == pytest.approx(
        binance["open_interest_change_percent_1h"], abs=0.011)


# -- pairs-markets -------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["hobby", "pro"])
async def test_pairs_markets_has_the_documented_fields_on_every_plan(client, key):
    rows = await data(client, p.PAIRS_MARKETS, key=key, symbol="ETH")
    assert rows
    for row in rows:
        assert set(row) == PAIRS_MARKETS_FIELDS


async def test_pushed_liquidations_show_in_every_liquidation_figure(sim, client):
    before = {r["exchange"]: r for r in await data(client, p.LIQUIDATION_EXCHANGE_LIST,
                                                  symbol="SOL", range="1h")}
    markets_before = next(r for r in await data(client, p.COINS_MARKETS, per_page="30")
                          if r["symbol"] == "SOL")
    sim.push_liquidations("SOL", "long", 12e6, orders=4, exchange="Bybit")
    after = {r["exchange"]: r for r in await data(client, p.LIQUIDATION_EXCHANGE_LIST,
                                                 symbol="SOL", range="1h")}
    assert after["All"]["longLiquidation_usd"] - before["All"]["longLiquidation_usd"] == \
        pytest.approx(12e6, abs=0.05)
    assert after["Bybit"]["longLiquidation_usd"] - before["Bybit"]["longLiquidation_usd"] == \
        pytest.approx(12e6, abs=0.05)
    assert after["Binance"] == before["Binance"]
    markets = next(r for r in await data(client, p.COINS_MARKETS, per_page="30")
                   if r["symbol"] == "SOL")
    assert markets["long_liquidation_usd_1h"] - markets_before["long_liquidation_usd_1h"] == \
        pytest.approx(12e6, abs=0.05)
    bybit = next(r for r in await data(client, p.PAIRS_MARKETS, symbol="SOL")
                 if r["exchange_name"] == "Bybit")
    assert bybit["long_liquidation_usd_24h"] > 12e6
    candles = await data(client, p.LIQUIDATION_HISTORY, exchange="Bybit", symbol="SOLUSDT",
                         interval="1m", limit="1")
    assert float(candles[-1]["long_liquidation_usd"]) >= 12e6
