"""The CoinGlass simulator behaves like coinglass-v4.md says CoinGlass does."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest

from core.coinglass import paths as p
from sim.coinglass import CoinGlassSim, Market

from tests.conftest import RECORDED as RECORDED_DIR  # the recorded bodies, copied as they are
ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600.0
# 2025-11-15 00:00 UTC: on a day boundary, so 1h/4h/1d candles end exactly at "now".
START = 1_763_164_800.0
KEYS = {"hobby": "hobbyist", "startup": "startup", "standard": "standard",
        "pro": "professional", "ent": "enterprise"}

# Recorded bodies the simulator does not answer, and why.
NOT_SIMULATED = {
    "funding-rate-oi-weight-history-nov2025-recorder-floats.json": "types converted by the recorder",
    "spot-price-history.json": "spot endpoints are not simulated",
    "spot-supported-coins.json": "spot endpoints are not simulated",
    "spot-taker-buy-sell-volume-history.json": "spot endpoints are not simulated",
    "futures-basis-history.json": "not in ENDPOINT_MIN_PLAN",
    "coinbase-premium-index.json": "not in ENDPOINT_MIN_PLAN",
}


class FakeClock:
    """A clock tests move by hand; the simulator and its market both read it."""

    def __init__(self, start: float = START):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[CoinGlassSim]:
    # Every endpoint real time: these tests check shapes and that endpoints agree at one
    # instant; refresh paces have their own tests (test_coinglass_paces.py).
    simulator = CoinGlassSim(clock=clock, refresh_scale=0)
    for key, plan in KEYS.items():
        simulator.add_key(key, plan)
    simulator.add_key("lapsed", "standard", expired=True)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim: CoinGlassSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=5.0) as c:
        yield c


async def call(client: httpx.AsyncClient, path: str, key: str | None = "pro",
               **params: Any) -> httpx.Response:
    headers = {"CG-API-KEY": key} if key else {}
    return await client.get(path, params=params, headers=headers)


async def data(client: httpx.AsyncClient, path: str, key: str = "pro", **params: Any) -> Any:
    response = await call(client, path, key, **params)
    body = response.json()
    assert response.status_code == 200 and body["code"] == "0", body
    return body["data"]


def json_types(value: Any, path: str = "$", out: dict[str, set[str]] | None = None
               ) -> dict[str, set[str]]:
    """Every JSON path (lists as ``[]``) with the JSON types seen there."""
    out = {} if out is None else out
    if isinstance(value, dict):
        out.setdefault(path, set()).add("object")
        for key, item in value.items():
            json_types(item, f"{path}.{key}", out)
    elif isinstance(value, list):
        out.setdefault(path, set()).add("array")
        for item in value:
            json_types(item, f"{path}[]", out)
    else:
        kind = ("null" if value is None else "boolean" if isinstance(value, bool)
                else "number" if isinstance(value, (int, float)) else "string")
        out.setdefault(path, set()).add(kind)
    return out


def recorded_files() -> list[str]:
    return sorted(f.name for f in RECORDED_DIR.glob("*.json") if f.name not in NOT_SIMULATED)


# -- shapes and types ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", recorded_files())
async def test_body_has_the_recorded_keys_and_json_types(client, name):
    recording = json.loads((RECORDED_DIR / name).read_text())
    params = {k: v for k, v in recording["request"]["params"].items()
              if k not in ("start_time", "end_time", "limit")}
    if "interval" in params:
        params["limit"] = "5"
    response = await call(client, recording["request"]["path"], **params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "0" and body["msg"] == "success"
    recorded, simulated = json_types(recording["body"]["data"]), json_types(body["data"])
    assert simulated.keys() == recorded.keys()
    for path, kinds in simulated.items():
        # Every type sent at a path was recorded there (null only where CoinGlass sent null).
        assert kinds <= recorded[path], (path, kinds, recorded[path])


async def test_funding_list_covers_every_coin_padded_like_the_recording(client):
    rows = await data(client, p.FUNDING_EXCHANGE_LIST)
    assert len(rows) == len(await data(client, p.SUPPORTED_COINS))
    for row in rows:
        assert len(row["stablecoin_margin_list"]) == 18 and len(row["token_margin_list"]) == 8
    btc = next(r for r in rows if r["symbol"] == "BTC")
    venues = {v["exchange"]: v for v in btc["stablecoin_margin_list"]}
    assert venues["Hyperliquid"]["funding_rate_interval"] == 1
    assert venues["KuCoin"]["funding_rate_interval"] is None and venues["KuCoin"]["funding_rate"]
    small = next(r for r in rows if r["symbol"] == "42")
    padding = [v for v in small["stablecoin_margin_list"] if v["funding_rate"] is None]
    assert padding and all(set(v.values()) == {v["exchange"], None} for v in padding)


async def test_supported_coins_include_numeric_looking_symbols(client):
    coins = await data(client, p.SUPPORTED_COINS)
    for coin in ("BTC", "ETH", "SOL", "XRP", "DOGE", "PEPE", "1000PEPE", "HYPE", "42"):
        assert coin in coins
    assert all(isinstance(c, str) for c in coins)


async def test_unrecorded_endpoints_have_the_documented_shapes(client):
    netflow = (await call(client, p.COIN_NETFLOW, symbol="BTC",
                          exchange_list="Binance,Bybit,OKX,Bitget,Gate")).json()
    assert netflow["success"] is True and netflow["data"]["symbol"] == "BTC"
    assert isinstance(netflow["data"]["net_flow_usd_1h"], str)
    assert isinstance(netflow["data"]["net_flow_usd_change_percent_1h"], float)
    whale = (await data(client, p.HYPERLIQUID_WHALE_ALERT))[0]
    assert set(whale) == {"user", "symbol", "position_size", "entry_price", "liq_price",
                          "position_value_usd", "position_action", "create_time"}
    wall = (await data(client, p.LARGE_LIMIT_ORDER, exchange="Binance", symbol="BTCUSDT"))[0]
    assert {"price", "start_usd_value", "current_usd_value", "order_side", "order_state"} <= set(wall)
    order = (await data(client, p.LIQUIDATION_ORDER, exchange="Binance", symbol="BTC",
                        min_liquidation_amount="10000"))[0]
    assert set(order) == {"exchange_name", "symbol", "base_asset", "price", "usd_value", "side",
                          "time"}
    levels = (await data(client, p.LIQUIDATION_AGGREGATED_MAP, symbol="BTC", range="1d"))["data"]
    key, entries = next(iter(levels.items()))
    assert float(key) == entries[0][0] and entries[0][2:] == [None, None]
    dominance = await data(client, p.BITCOIN_DOMINANCE, key="startup")
    assert set(dominance[-1]) == {"timestamp", "price", "bitcoin_dominance", "market_cap"}
    assert dominance[0]["timestamp"] < dominance[-1]["timestamp"] <= START * 1000


# -- errors -----------------------------------------------------------------------------------------

async def test_key_errors_come_as_http_200_bodies(client):
    missing = await call(client, p.OI_EXCHANGE_LIST, key=None, symbol="BTC")
    assert (missing.status_code, missing.json()) == (200, {"code": "401", "msg": "API key missing."})
    bogus = await call(client, p.OI_EXCHANGE_LIST, key="nope", symbol="BTC")
    assert (bogus.status_code, bogus.json()) == (200, {"code": "400",
                                                       "msg": "Invalid API key provided"})
    assert "API-KEY-MAX-LIMIT" not in bogus.headers


@pytest.mark.parametrize("key, path, params", [
    ("hobby", p.CVD_HISTORY, {"exchange": "Binance", "symbol": "BTCUSDT", "interval": "4h"}),
    ("hobby", p.BITCOIN_DOMINANCE, {}),
    ("startup", p.LARGE_LIMIT_ORDER, {"exchange": "Binance", "symbol": "BTCUSDT"}),
    ("standard", p.LIQUIDATION_AGGREGATED_MAP, {"symbol": "BTC", "range": "1d"}),
    ("hobby", p.OI_AGGREGATED_HISTORY, {"symbol": "BTC", "interval": "1h"}),
    ("hobby", p.PRICE_HISTORY, {"exchange": "Binance", "symbol": "BTCUSDT", "interval": "30m"}),
    ("startup", p.GLOBAL_LONG_SHORT_HISTORY, {"exchange": "Binance", "symbol": "BTCUSDT",
                                             "interval": "15m"}),
    ("lapsed", p.OI_EXCHANGE_LIST, {"symbol": "BTC"}),
])
async def test_endpoint_or_interval_above_the_plan_says_upgrade_plan(client, key, path, params):
    response = await call(client, path, key, **params)
    assert (response.status_code, response.json()) == (200, {"code": "401", "msg": "Upgrade plan"})
    assert "API-KEY-USE-LIMIT" in response.headers


@pytest.mark.parametrize("key, path, params", [
    ("hobby", p.OI_AGGREGATED_HISTORY, {"symbol": "BTC", "interval": "4h", "limit": "2"}),
    ("startup", p.PRICE_HISTORY, {"exchange": "Binance", "symbol": "BTCUSDT", "interval": "30m"}),
    ("standard", p.OI_AGGREGATED_HISTORY, {"symbol": "BTC", "interval": "1m", "limit": "2"}),
    ("pro", p.LIQUIDATION_AGGREGATED_MAP, {"symbol": "BTC", "range": "1d"}),
])
async def test_allowed_calls_answer_code_zero(client, key, path, params):
    assert (await call(client, path, key, **params)).json()["code"] == "0"


async def test_subscription_reports_plan_expiry_and_limit(client):
    expected = {"hobby": ("HOBBYIST", "30"), "startup": ("STARTUP", "80"),
                "standard": ("STANDARD", "300"), "pro": ("PROFESSIONAL", "1200"),
                "ent": ("ENTERPRISE", "6000")}
    for key, (level, limit) in expected.items():
        response = await call(client, p.SUBSCRIPTION, key)
        sub = response.json()["data"]
        assert (sub["level"], sub["expired"], response.headers["API-KEY-MAX-LIMIT"]) == (
            level, False, limit)
        assert sub["expire_time"] > START * 1000
    lapsed = (await call(client, p.SUBSCRIPTION, "lapsed")).json()
    assert lapsed["code"] == "0" and lapsed["data"]["expired"] is True
    assert lapsed["data"]["expire_time"] < START * 1000


async def test_missing_parameter_is_named(client):
    body = (await call(client, p.LIQUIDATION_AGGREGATED_HISTORY, symbol="BTC", interval="4h")).json()
    assert body == {"code": "400", "msg": "Required String parameter 'exchange_list' is not present"}
    body = (await call(client, p.LIQUIDATION_EXCHANGE_LIST, symbol="BTC")).json()
    assert body["code"] == "400" and "'range'" in body["msg"]


@pytest.mark.parametrize("path", ["/api/futures/fundingRate/exchange-list", "/api/v4/nothing",
                                  "/api/futures/open-interest/exchange-list/"])
async def test_unknown_path_is_a_real_404_without_envelope(client, path):
    response = await call(client, path, symbol="BTC")
    assert response.status_code == 404
    assert "code" not in response.json()


async def test_unknown_coin_gets_empty_data(client):
    assert await data(client, p.OI_EXCHANGE_LIST, symbol="NOPE") == []
    assert await data(client, p.TAKER_EXCHANGE_LIST, symbol="NOPE", range="1h") == {}
    assert await data(client, p.PRICE_HISTORY, exchange="Binance", symbol="NOPEUSDT",
                      interval="4h") == []


# -- rate limits --------------------------------------------------------------------------------------

async def test_31st_hobbyist_request_in_a_minute_is_refused(sim, client, clock):
    for i in range(1, 31):
        response = await call(client, p.OI_EXCHANGE_LIST, "hobby", symbol="BTC")
        assert response.status_code == 200
        assert (response.headers["API-KEY-MAX-LIMIT"], response.headers["API-KEY-USE-LIMIT"]) == (
            "30", str(i))
    refused = await call(client, p.OI_EXCHANGE_LIST, "hobby", symbol="BTC")
    assert (refused.status_code, refused.json()) == (429, {"code": "429",
                                                           "msg": "Too many requests"})
    assert refused.headers["API-KEY-USE-LIMIT"] == "30"
    clock.advance(59.9)
    assert (await call(client, p.OI_EXCHANGE_LIST, "hobby", symbol="BTC")).status_code == 429
    clock.advance(0.1)
    again = await call(client, p.OI_EXCHANGE_LIST, "hobby", symbol="BTC")
    assert again.status_code == 200 and again.headers["API-KEY-USE-LIMIT"] == "1"
    assert sim.count_429("hobby") == 2 and sim.count_429("pro") == 0
    assert sim.max_in_any_minute("hobby") == 30
    assert sim.request_count(key="hobby") == 33


async def test_keys_have_separate_windows_and_limits_can_be_overridden(sim, client):
    sim.add_key("tiny", "standard", max_limit=2)
    statuses = [(await call(client, p.SUPPORTED_COINS, "tiny")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert (await call(client, p.SUPPORTED_COINS, "hobby")).status_code == 200


async def test_body_mode_reports_the_rate_limit_in_a_200_body(clock):
    async with CoinGlassSim(clock=clock, rate_limit_mode="body") as sim:
        sim.add_key("k", "hobbyist", max_limit=1)
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            await call(client, p.SUPPORTED_COINS, "k")
            refused = await call(client, p.SUPPORTED_COINS, "k")
        assert (refused.status_code, refused.json()["code"]) == (200, "429")
        assert sim.count_429("k") == 1


async def test_reset_counters_keeps_the_window(sim, client):
    sim.add_key("k", "hobbyist", max_limit=2)
    for _ in range(2):
        await call(client, p.SUPPORTED_COINS, "k")
    sim.reset_counters()
    assert sim.request_count() == 0 and sim.max_in_any_minute("k") == 0
    assert (await call(client, p.SUPPORTED_COINS, "k")).status_code == 429


# -- faults -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, status, code", [
    ("http_500", 500, "500"), ("http_502", 502, None), ("http_503", 503, None),
    ("http_404", 404, None), ("http_429", 429, "429"), ("body_500", 200, "500"),
    ("rate_limit_body", 200, "429"),
])
async def test_fault_replaces_the_answer_then_clears(sim, client, kind, status, code):
    sim.inject_fault(kind, path="/api/futures/open-interest", times=1)
    faulted = await call(client, p.OI_EXCHANGE_LIST, symbol="BTC")
    assert faulted.status_code == status
    if code is not None:
        assert faulted.json()["code"] == code
    assert sim.requests[-1].http_status == status
    assert (await call(client, p.OI_EXCHANGE_LIST, symbol="BTC")).json()["code"] == "0"


async def test_malformed_json_fault(sim, client):
    sim.inject_fault("malformed_json")
    response = await call(client, p.SUPPORTED_COINS)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    sim.clear_faults()
    assert (await call(client, p.SUPPORTED_COINS)).json()["code"] == "0"


async def test_faults_can_target_one_key(sim, client):
    sim.inject_fault("http_503", key="hobby")
    assert (await call(client, p.SUPPORTED_COINS, "hobby")).status_code == 503
    assert (await call(client, p.SUPPORTED_COINS, "pro")).status_code == 200


async def test_latency_delays_and_timeout_outlasts_the_client(sim, client):
    sim.inject_fault("latency", seconds=0.2, times=1)
    started = time.monotonic()
    assert (await call(client, p.SUPPORTED_COINS)).json()["code"] == "0"
    assert time.monotonic() - started >= 0.2
    sim.inject_fault("timeout", seconds=10, times=1)
    with pytest.raises(httpx.ReadTimeout):
        await client.get(p.SUPPORTED_COINS, headers={"CG-API-KEY": "pro"}, timeout=0.2)
    assert (await call(client, p.SUPPORTED_COINS)).json()["code"] == "0"


# -- history parameters ----------------------------------------------------------------------------

async def test_history_is_ascending_with_the_running_candle_last(client, clock):
    clock.advance(1234)
    rows = await data(client, p.OI_AGGREGATED_HISTORY, symbol="BTC", interval="4h")
    assert len(rows) == 1000
    times = [r["time"] for r in rows]
    assert times == sorted(times) and times[1] - times[0] == 4 * HOUR * 1000
    assert times[-1] <= clock.now * 1000 < times[-1] + 4 * HOUR * 1000
    assert len(await data(client, p.OI_AGGREGATED_HISTORY, symbol="BTC", interval="4h",
                          limit="5000")) == 1000
    start = int((START - 10 * HOUR) * 1000)
    window = await data(client, p.OI_AGGREGATED_HISTORY, symbol="BTC", interval="1h",
                        start_time=start, end_time=start + int(3 * HOUR * 1000))
    assert [r["time"] for r in window] == [start + i * int(HOUR * 1000) for i in range(4)]


# -- snapshot and history agree ---------------------------------------------------------------------

async def test_oi_step_shows_in_exchange_list_and_history(sim, client):
    before = (await data(client, p.OI_EXCHANGE_LIST, symbol="BTC"))[0]
    sim.market.set("BTC", open_interest_usd=before["open_interest_usd"] * 1.08)
    after = (await data(client, p.OI_EXCHANGE_LIST, symbol="BTC"))[0]
    candles = await data(client, p.OI_AGGREGATED_HISTORY, symbol="BTC", interval="1h", limit="3")
    hour_ago = candles[-2]["open"]
    assert candles[-1]["close"] == after["open_interest_usd"]
    assert candles[-2]["close"] == round(before["open_interest_usd"])
    assert after["open_interest_change_percent_1h"] == pytest.approx(
        (after["open_interest_usd"] / hour_ago - 1) * 100, abs=0.006)
    assert after["open_interest_change_percent_1h"] == pytest.approx(8, abs=0.5)
    venues = sum(r["open_interest_usd"] for r in (await data(client, p.OI_EXCHANGE_LIST,
                                                             symbol="BTC"))[1:])
    assert venues == pytest.approx(after["open_interest_usd"], rel=1e-9)


async def test_price_move_is_the_last_close_everywhere(sim, client):
    old = sim.market.price("BTC")
    sim.market.move("BTC", price_pct=-6)
    candles = await data(client, p.PRICE_HISTORY, exchange="Binance", symbol="BTCUSDT",
                         interval="1h", limit="3")
    binance = next(r for r in await data(client, p.PAIRS_MARKETS, symbol="BTC")
                   if r["exchange_name"] == "Binance")
    assert float(candles[-1]["close"]) == binance["current_price"] == sim.market.price("BTC")
    assert binance["current_price"] == pytest.approx(old * 0.94, rel=1e-4)
    assert float(candles[-2]["close"]) == pytest.approx(old, rel=1e-4)


async def test_liquidation_event_is_in_every_window(sim, client):
    def all_row(rows):
        return next(r for r in rows if r["exchange"] == "All")

    before = all_row(await data(client, p.LIQUIDATION_EXCHANGE_LIST, symbol="BTC", range="1h"))
    sim.market.liquidate("BTC", long_usd=180e6, short_usd=2e6)
    after = all_row(await data(client, p.LIQUIDATION_EXCHANGE_LIST, symbol="BTC", range="1h"))
    assert after["longLiquidation_usd"] - before["longLiquidation_usd"] == pytest.approx(180e6)
    assert after["shortLiquidation_usd"] - before["shortLiquidation_usd"] == pytest.approx(2e6)
    four = all_row(await data(client, p.LIQUIDATION_EXCHANGE_LIST, symbol="BTC", range="4h"))
    candles = await data(client, p.LIQUIDATION_AGGREGATED_HISTORY, symbol="BTC",
                         exchange_list="ALL", interval="1h", limit="5")
    assert sum(c["aggregated_long_liquidation_usd"] for c in candles) == pytest.approx(
        four["longLiquidation_usd"], abs=0.01)
    assert candles[-1]["aggregated_long_liquidation_usd"] == pytest.approx(180e6)
    binance_only = await data(client, p.LIQUIDATION_AGGREGATED_HISTORY, symbol="BTC",
                              exchange_list="Binance", interval="1h", limit="1")
    assert 0 < binance_only[-1]["aggregated_long_liquidation_usd"] < 180e6
    orders = await data(client, p.LIQUIDATION_ORDER, exchange="Binance", symbol="BTC",
                        min_liquidation_amount="5000000")
    assert orders and all(o["side"] == 2 and o["usd_value"] >= 5e6 for o in orders)


async def test_ratios_show_the_value_in_force(sim, client):
    before = await data(client, p.GLOBAL_LONG_SHORT_HISTORY, exchange="Binance",
                        symbol="BTCUSDT", interval="1h", limit="3")
    sim.market.set("BTC", long_pct=68, top_long_pct=60)
    after = await data(client, p.GLOBAL_LONG_SHORT_HISTORY, exchange="Binance",
                       symbol="BTCUSDT", interval="1h", limit="3")
    assert after[-1]["global_account_long_percent"] == 68.0
    assert after[-1]["global_account_long_short_ratio"] == round(68 / 32, 2)
    assert after[:-1] == before[:-1]
    top = await data(client, p.TOP_LONG_SHORT_ACCOUNT_HISTORY, exchange="Binance",
                     symbol="BTCUSDT", interval="1h", limit="1")
    assert top[-1]["top_account_long_percent"] == 60.0


async def test_funding_set_for_every_venue_is_normalised_per_interval(sim, client):
    sim.market.set("BTC", funding_pct=0.05, funding={"Bybit": 0.2})
    btc = next(r for r in await data(client, p.FUNDING_EXCHANGE_LIST) if r["symbol"] == "BTC")
    for venue in btc["stablecoin_margin_list"] + btc["token_margin_list"]:
        per_8h = venue["funding_rate"] * 8 / (venue["funding_rate_interval"] or 8)
        expected = 0.2 if venue["exchange"] == "Bybit" else 0.05
        assert per_8h == pytest.approx(expected, abs=2e-6), venue
    hyperliquid = next(v for v in btc["stablecoin_margin_list"] if v["exchange"] == "Hyperliquid")
    assert hyperliquid["funding_rate"] == pytest.approx(0.05 / 8, abs=1e-6)


async def test_taker_share_netflow_and_cvd_follow_the_script(sim, client):
    sim.market.set("BTC", taker_buy_share=30)
    taker = await data(client, p.TAKER_EXCHANGE_LIST, symbol="BTC", range="1h")
    assert taker["buy_ratio"] == 30.0
    assert sum(r["buy_vol_usd"] for r in taker["exchange_list"]) == pytest.approx(
        taker["buy_vol_usd"], rel=1e-9)
    sim.market.set("BTC", netflow_usd_1h=250e6)
    netflow = await data(client, p.COIN_NETFLOW, key="startup", symbol="BTC", exchange_list="ALL")
    assert netflow["net_flow_usd_1h"] == "250000000"
    cvd = await data(client, p.AGGREGATED_CVD_HISTORY, key="startup", symbol="BTC",
                     exchange_list="ALL", interval="1h", limit="2")
    # The clock sits on an hour boundary: the last closed candle plus the running one (holding
    # only the block trades made now) cover exactly the trailing hour.
    assert cvd[-1]["cum_vol_delta"] == pytest.approx(250e6, rel=1e-6)


async def test_balance_dominance_whales_walls_and_clusters(sim, client):
    sim.market.set("BTC", balance_change_pct_1d=-2.0, dominance=62.5)
    rows = await data(client, p.EXCHANGE_BALANCE_LIST, symbol="BTC")
    change = sum(r["balance_change_1d"] for r in rows)
    total = sum(r["total_balance"] for r in rows)
    assert change / (total - change) * 100 == pytest.approx(-2.0, abs=1e-4)
    assert (await data(client, p.BITCOIN_DOMINANCE, key="startup"))[-1]["bitcoin_dominance"] == 62.5
    sim.market.add_whale("ETH", value_usd=12e6, side="short", action="open")
    whale = (await data(client, p.HYPERLIQUID_WHALE_ALERT, key="startup"))[0]
    assert (whale["symbol"], whale["position_value_usd"], whale["position_action"]) == (
        "ETH", 12e6, 1)
    assert whale["position_size"] < 0 and whale["create_time"] == START * 1000
    sim.market.add_wall("BTC", side="bid", distance_pct=0.5, usd=8e6)
    walls = await data(client, p.LARGE_LIMIT_ORDER, key="standard", exchange="Binance",
                       symbol="BTCUSDT")
    wall = next(w for w in walls if w["start_usd_value"] == 8e6)
    assert wall["order_side"] == 2
    assert wall["price"] == pytest.approx(sim.market.price("BTC") * 0.995, rel=1e-4)
    sim.market.add_cluster("BTC", distance_pct=-1.5, usd=250e6)
    levels = (await data(client, p.LIQUIDATION_AGGREGATED_MAP, symbol="BTC", range="1d"))["data"]
    big = [e for entries in levels.values() for e in entries if e[1] == 250e6]
    assert big and big[0][0] == pytest.approx(sim.market.price("BTC") * 0.985, rel=1e-4)


# -- the calm default and the scenarios ---------------------------------------------------------------

async def snapshot(client: httpx.AsyncClient, coin: str) -> dict[str, float]:
    """The numbers perpwatch's default signals read, fetched the way a client would."""
    funding = next(r for r in await data(client, p.FUNDING_EXCHANGE_LIST) if r["symbol"] == coin)
    rates = [v["funding_rate"] * 8 / (v["funding_rate_interval"] or 8)
             for v in funding["stablecoin_margin_list"] + funding["token_margin_list"]
             if v["funding_rate"] is not None]
    oi = (await data(client, p.OI_EXCHANGE_LIST, symbol=coin))[0]
    liq = (await data(client, p.LIQUIDATION_EXCHANGE_LIST, symbol=coin, range="1h"))[0]
    taker = await data(client, p.TAKER_EXCHANGE_LIST, symbol=coin, range="1h")
    pair = {"exchange": "Binance", "symbol": f"{coin}USDT", "interval": "4h", "limit": "1"}
    long_pct = (await data(client, p.GLOBAL_LONG_SHORT_HISTORY, **pair))[-1]
    top = (await data(client, p.TOP_LONG_SHORT_ACCOUNT_HISTORY, **pair))[-1]
    price = (await data(client, p.PRICE_HISTORY, **pair))[-1]
    balances = await data(client, p.EXCHANGE_BALANCE_LIST, symbol=coin)
    change = sum(r["balance_change_1d"] for r in balances)
    netflow = await data(client, p.COIN_NETFLOW, symbol=coin, exchange_list="ALL")
    return {
        "funding": sum(rates) / len(rates), "oi_1h": oi["open_interest_change_percent_1h"],
        "liq_long": liq["longLiquidation_usd"], "liq_short": liq["shortLiquidation_usd"],
        "taker_buy": taker["buy_ratio"], "long": long_pct["global_account_long_percent"],
        "top": top["top_account_long_percent"], "price": float(price["close"]),
        "balance_1d": change / (sum(r["total_balance"] for r in balances) - change) * 100,
        "netflow_1h": float(netflow["net_flow_usd_1h"]),
    }


@pytest.mark.parametrize("offset_days", [0, 37.3, 411.9])
async def test_default_market_is_calm(client, clock, offset_days):
    clock.advance(offset_days * 86400)
    now = clock.now
    for coin, liq_cap in (("BTC", 25e6), ("ETH", 15e6), ("SOL", 5e6), ("DOGE", 3e6)):
        s = await snapshot(client, coin)
        assert 0.005 < s["funding"] < 0.015, (coin, s)
        assert abs(s["oi_1h"]) < 1 and s["liq_long"] < liq_cap and s["liq_short"] < liq_cap
        assert 52 <= s["long"] <= 58 and abs(s["top"] - s["long"]) <= 5
        assert 47 <= s["taker_buy"] <= 53 and abs(s["balance_1d"]) < 0.5
        assert abs(s["netflow_1h"]) < 100e6
        walls = await data(client, p.LARGE_LIMIT_ORDER, exchange="Binance", symbol=f"{coin}USDT")
        assert not [w for w in walls if w["current_usd_value"] >= 5e6
                    and abs(w["price"] / s["price"] - 1) <= 0.01]
        levels = (await data(client, p.LIQUIDATION_AGGREGATED_MAP, symbol=coin, range="1d"))["data"]
        assert not [e for entries in levels.values() for e in entries
                    if e[1] >= 100e6 and abs(e[0] / s["price"] - 1) <= 0.02]
    whales = await data(client, p.HYPERLIQUID_WHALE_ALERT)
    assert not [w for w in whales
                if w["position_value_usd"] >= 3e6 and w["create_time"] >= (now - HOUR) * 1000]
    dominance = await data(client, p.BITCOIN_DOMINANCE)
    assert abs(dominance[-1]["bitcoin_dominance"] - dominance[-2]["bitcoin_dominance"]) < 0.3


async def test_default_market_is_deterministic():
    first, second = Market(clock=lambda: START), Market(clock=lambda: START + 0)
    for coin in ("BTC", "ETH", "42"):
        assert first.price(coin) == second.price(coin)
        assert first.open_interest(coin) == second.open_interest(coin)
    assert 90_000 < first.price("BTC") < 105_000 and 60e9 < first.open_interest("BTC") < 75e9
    assert 2_900 < first.price("ETH") < 3_500 and 120 < first.price("SOL") < 160


async def test_cascade_scenario_fires_the_default_signals(sim, client):
    calm = await snapshot(client, "ETH")
    sim.market.scenario("cascade", "ETH")
    s = await snapshot(client, "ETH")
    assert s["liq_long"] > 50e6 and s["oi_1h"] <= -8.5 and s["funding"] < 0
    assert s["taker_buy"] == 30.0 and s["long"] == 68.0
    assert s["price"] == pytest.approx(calm["price"] * 0.94, rel=1e-3)
    btc = await snapshot(client, "BTC")
    assert btc["liq_long"] < 25e6


async def test_top_and_squeeze_scenarios_then_calm_again(sim, client):
    calm = await snapshot(client, "BTC")
    sim.market.scenario("top", "BTC")
    top = await snapshot(client, "BTC")
    assert top["funding"] == pytest.approx(0.15, abs=1e-5)
    assert top["oi_1h"] == pytest.approx(7, abs=0.5) and top["long"] == 70.0
    sim.market.scenario("squeeze", "SOL")
    squeeze = await snapshot(client, "SOL")
    assert squeeze["liq_short"] > 50e6 and squeeze["taker_buy"] == 70.0 and squeeze["long"] == 36
    sim.market.scenario("calm", "BTC")
    assert await snapshot(client, "BTC") == calm
    with pytest.raises(ValueError):
        sim.market.scenario("moon", "BTC")


# -- control API and CLI --------------------------------------------------------------------------

async def test_control_api_scripts_the_simulator_out_of_process(sim, client):
    assert (await client.post("/_sim/keys", json={"key": "ctl", "plan": "startup"})).status_code == 200
    assert (await data(client, p.SUBSCRIPTION, key="ctl"))["level"] == "STARTUP"
    await client.post("/_sim/market/BTC", json={"long_pct": 66.5})
    rows = await data(client, p.GLOBAL_LONG_SHORT_HISTORY, exchange="Binance", symbol="BTCUSDT",
                      interval="4h", limit="1")
    assert rows[-1]["global_account_long_percent"] == 66.5
    await client.post("/_sim/scenario/cascade/ETH")
    assert (await snapshot(client, "ETH"))["long"] == 68.0
    await client.post("/_sim/faults", json={"kind": "http_502", "path": "/api/futures", "times": 1})
    assert (await call(client, p.SUPPORTED_COINS)).status_code == 502
    await client.post("/_sim/faults", json={"kind": "http_500"})
    await client.delete("/_sim/faults")
    assert (await call(client, p.SUPPORTED_COINS)).status_code == 200
    bad = await client.post("/_sim/market/BTC", json={"nonsense": 1})
    assert bad.status_code == 400 and "error" in bad.json()
    stats = (await client.get("/_sim/stats")).json()
    assert stats["keys"]["ctl"]["requests"] == 1 and stats["keys"]["pro"]["count_429"] == 0
    assert not [r for r in sim.requests if r.path.startswith("/_sim")]


async def test_cli_serves_until_terminated():
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.coinglass", "--port", "0", "--key", "cli:startup"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=15)
        base_url = line.split()[-1]
        assert base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
            response = await call(client, p.SUBSCRIPTION, "cli")
        assert response.json()["data"]["level"] == "STARTUP"
        assert response.headers["API-KEY-MAX-LIMIT"] == "80"
        process.terminate()
        assert await asyncio.wait_for(asyncio.to_thread(process.wait), timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
