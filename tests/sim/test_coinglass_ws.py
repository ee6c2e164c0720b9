"""The WebSocket /ws-api (coinglass-v4.md §13.4) over a real socket; stream and REST agree."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any, AsyncIterator, Callable

import aiohttp
import httpx
import pytest

from core.coinglass import paths as p
from sim.coinglass import CoinGlassSim
from tests.sim.test_coinglass_sim import ROOT, FakeClock, data
from tests.waiting import wait_until

KEYS = {"hobby": "hobbyist", "startup": "startup", "standard": "standard", "pro": "professional"}
DOCS_FIELDS = {"baseAsset", "exName", "price", "side", "symbol", "time", "volUsd"}
SDK_FIELDS = {"base_asset", "exchange", "price", "side", "symbol", "time", "volume_usd"}


async def start(**options: Any) -> CoinGlassSim:
    sim = CoinGlassSim(**{"refresh_scale": 0.1, "ws_background": False, **options})
    for key, plan in KEYS.items():
        sim.add_key(key, plan)
    sim.add_key("lapsed", "professional", expired=True)
    await sim.start()
    return sim


@pytest.fixture
async def sim() -> AsyncIterator[CoinGlassSim]:
    simulator = await start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def client(sim: CoinGlassSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=5.0) as c:
        yield c


async def connect(session: aiohttp.ClientSession, sim: CoinGlassSim,
                  key: str | None = "pro") -> aiohttp.ClientWebSocketResponse:
    url = sim.ws_url + (f"?cg-api-key={key}" if key is not None else "")
    return await session.ws_connect(url)


async def text(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> str:
    message = await asyncio.wait_for(ws.receive(), timeout)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return message.data


async def subscribe(ws: aiohttp.ClientWebSocketResponse, sim: CoinGlassSim, key: str = "pro",
                    channel: str = "liquidationOrders") -> None:
    await ws.send_str(json.dumps({"method": "subscribe", "channels": [channel]}))
    await wait_until(lambda: "liquidationOrders" in sim.ws_subscriptions(key))


async def orders_until(ws: aiohttp.ClientWebSocketResponse, enough: Callable[[list], bool],
                       timeout: float = 5.0) -> tuple[list[dict], set[str]]:
    """Every order received until ``enough(orders)``, and the channel names seen."""
    rows: list[dict] = []
    channels: set[str] = set()
    deadline = time.monotonic() + timeout
    while not enough(rows):
        body = json.loads(await text(ws, max(0.01, deadline - time.monotonic())))
        channels.add(body["channel"])
        rows.extend(body["data"])
    return rows, channels


# -- connecting ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key, msg", [(None, "API key missing."),
                                      ("nope", "Invalid API key provided")])
async def test_a_bad_key_gets_an_error_frame_then_close_1008(sim, session, key, msg):
    ws = await connect(session, sim, key)
    assert json.loads(await text(ws)) == {"event": "error", "msg": msg}
    closing = await asyncio.wait_for(ws.receive(), 5)
    assert closing.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1008
    assert sim.ws_connections() == 0


@pytest.mark.parametrize("key", ["hobby", "startup", "lapsed"])
async def test_below_standard_the_subscription_is_refused_but_the_socket_stays(sim, session,
                                                                              key):
    ws = await connect(session, sim, key)
    await ws.send_str(json.dumps({"method": "subscribe", "channels": ["liquidationOrders"]}))
    refusal = json.loads(await text(ws))
    assert refusal["event"] == "error" and "upgrade plan" in refusal["msg"].lower()
    await ws.send_str("ping")
    assert await text(ws) == "pong"
    assert sim.ws_connections(key) == 1 and sim.ws_subscriptions(key) == set()
    await ws.close()


async def test_ping_is_answered_pong_and_recorded(sim, session):
    ws = await connect(session, sim, "standard")
    before = time.time()
    await ws.send_str("ping")
    assert await text(ws) == "pong"
    assert sim.ws_pings[-1][1] == "standard" and sim.ws_pings[-1][0] >= before
    await ws.close()


@pytest.mark.parametrize("channel", ["liquidationOrders", "liquidation_orders"])
async def test_subscribe_and_unsubscribe_in_either_spelling(sim, session, channel):
    ws = await connect(session, sim)
    await subscribe(ws, sim, channel=channel)
    assert sim.ws_subscriptions("pro") == {"liquidationOrders"}
    await ws.send_str(json.dumps({"method": "unsubscribe", "channels": [channel]}))
    await wait_until(lambda: sim.ws_subscriptions("pro") == set())
    sim.push_liquidations("BTC", "long", 1e6)
    await ws.send_str("ping")
    assert await text(ws) == "pong"                  # nothing was sent before the pong
    await ws.close()


@pytest.mark.parametrize("frame, msg", [
    ('{"method":"subscribe","channels":["trades"]}', "unknown channel: trades"),
    ('{"method":"subscribe","channels":["futures_trades@Binance_BTCUSDT@10000"]}',
     "channel not simulated: futures_trades@Binance_BTCUSDT@10000"),
    ("hello", "invalid message"),
    ('{"method":"subscribe","channels":"liquidationOrders"}', "invalid message"),
])
async def test_bad_requests_get_an_error_frame_not_a_disconnect(sim, session, frame, msg):
    ws = await connect(session, sim)
    await ws.send_str(frame)
    assert json.loads(await text(ws)) == {"event": "error", "msg": msg}
    await ws.send_str("ping")
    assert await text(ws) == "pong" and not ws.closed
    await ws.close()


# -- messages -------------------------------------------------------------------------------------

async def test_pushed_liquidations_arrive_in_the_documented_shape(sim, session):
    ws = await connect(session, sim)
    await subscribe(ws, sim)
    booked = sim.push_liquidations("ETH", "long", 30e6, orders=5, exchange="OKX")
    rows, channels = await orders_until(ws, lambda r: len(r) >= 5)
    assert channels == {"liquidationOrders"} and len(rows) == 5
    for row in rows:
        assert set(row) == DOCS_FIELDS
        assert (row["baseAsset"], row["exName"], row["symbol"], row["side"]) == (
            "ETH", "OKX", "ETH-USDT-SWAP", 1)                # side 1: a long liquidated
        assert isinstance(row["time"], int) and abs(row["time"] / 1000 - time.time()) < 5
    assert sum(r["volUsd"] for r in rows) == pytest.approx(30e6, abs=0.05)
    assert sorted(r["volUsd"] for r in rows) == sorted(o.usd for o in booked)
    assert len({r["volUsd"] for r in rows}) == 5                   # unequal sizes
    short = sim.push_liquidations("ETH", "short", 2e6)
    rows, _ = await orders_until(ws, lambda r: len(r) >= 1)
    assert rows[0]["side"] == 2 and rows[0]["price"] == short[0].price
    await ws.close()


async def test_the_sdk_spelling_option(session):
    sim = await start(ws_spelling="sdk")
    try:
        ws = await connect(session, sim)
        await subscribe(ws, sim, channel="liquidation_orders")
        sim.push_liquidations("BTC", "short", 4e6, orders=2)
        rows, channels = await orders_until(ws, lambda r: len(r) >= 2)
        assert channels == {"liquidation_orders"}
        assert all(set(r) == SDK_FIELDS and r["side"] == 2 for r in rows)
        assert sum(r["volume_usd"] for r in rows) == pytest.approx(4e6, abs=0.05)
        await ws.close()
    finally:
        await sim.stop()


async def test_stream_and_poll_see_one_market(sim, session, client):
    ws = await connect(session, sim)
    await subscribe(ws, sim)

    async def all_row() -> dict:
        return (await data(client, p.LIQUIDATION_EXCHANGE_LIST, symbol="BTC", range="1h"))[0]

    before = await all_row()
    booked = sim.push_liquidations("BTC", "long", 80e6, orders=8)
    streamed, _ = await orders_until(ws, lambda r: len(r) >= 8)
    deadline = time.monotonic() + 3.0               # the list refreshes within 1 s at 0.1
    while (after := await all_row())["longLiquidation_usd"] < before["longLiquidation_usd"] + 1e6:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert after["longLiquidation_usd"] - before["longLiquidation_usd"] == pytest.approx(
        sum(r["volUsd"] for r in streamed), abs=1e3)   # plus a second of calm flow at most
    # The order list has its own cadence (1 s, here 0.1 s): wait for its refresh too.
    await wait_until(lambda: sim.refreshed_at(p.LIQUIDATION_ORDER) >= booked[0].time)
    venues = {o.exchange for o in booked}
    for venue in venues:
        rest = await data(client, p.LIQUIDATION_ORDER, exchange=venue, symbol="BTC",
                          min_liquidation_amount="1000000")
        mine = {(r["usd_value"], r["time"]) for r in rest if r["side"] == 2}   # REST: 2 = sell
        assert {(r["volUsd"], r["time"]) for r in streamed if r["exName"] == venue} <= mine
    await ws.close()


async def test_a_cascade_streams_its_liquidations(sim, session):
    ws = await connect(session, sim)
    await subscribe(ws, sim)
    sim.market.scenario("cascade", "ETH")
    rows, _ = await orders_until(ws, lambda r: sum(x["volUsd"] for x in r) > 90e6)
    longs = sum(r["volUsd"] for r in rows if r["side"] == 1)
    assert longs == pytest.approx(180e6 * 35 / 67, rel=1e-3)
    assert {r["exName"] for r in rows} >= {"Binance", "Bybit", "OKX", "Hyperliquid"}
    await ws.close()


async def test_an_unfolding_cascade_streams_in_tranches(sim, session):
    ws = await connect(session, sim)
    await subscribe(ws, sim)
    started = time.time()
    sim.market.scenario("squeeze", "SOL", unfold_s=1.0)
    rows, _ = await orders_until(ws, lambda r: len({x["time"] for x in r}) >= 5)
    times = sorted({r["time"] for r in rows})
    assert times[-1] - times[0] == pytest.approx(1000, abs=2)
    assert time.time() - started >= 0.9             # the last tranche came when it was due
    await ws.close()


async def test_background_orders_stream_as_time_passes():
    clock = FakeClock()
    sim = CoinGlassSim(clock=clock, ws_background=True)
    sim.add_key("pro", "professional")
    await sim.start()
    try:
        async with aiohttp.ClientSession() as session:
            ws = await connect(session, sim)
            await subscribe(ws, sim)
            clock.advance(900)
            rows, _ = await orders_until(ws, lambda r: len(r) >= 20)
            assert all(r["volUsd"] < 1e6 for r in rows)
            assert {r["baseAsset"] for r in rows} >= {"BTC", "ETH"}
            assert all(clock.now - 900 < r["time"] / 1000 <= clock.now for r in rows)
            await ws.close()
    finally:
        await sim.stop()


# -- control -------------------------------------------------------------------------------------

async def test_push_raw_sends_any_frame(sim, session):
    ws = await connect(session, sim, "standard")
    other = await connect(session, sim, "pro")
    await wait_until(lambda: sim.ws_connections() == 2)
    assert sim.push_raw('{"channel":"liquidationOrders","data":[{"baseAsset":', key="standard") == 1
    assert await text(ws) == '{"channel":"liquidationOrders","data":[{"baseAsset":'
    await other.send_str("ping")
    assert await text(other) == "pong"
    await ws.close()
    await other.close()


async def test_dropped_connections_can_reconnect_and_resubscribe(sim, session):
    ws = await connect(session, sim)
    await subscribe(ws, sim)
    assert sim.ws_connections("pro") == 1
    assert sim.drop_connections("pro") == 1
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert ws.close_code == 1006 and sim.ws_connections("pro") == 0
    again = await connect(session, sim)
    await subscribe(again, sim)
    assert sim.drop_connections(code=4000) == 1
    closing = await asyncio.wait_for(again.receive(), 5)
    assert closing.type == aiohttp.WSMsgType.CLOSE and again.close_code == 4000


async def test_control_routes_drive_the_socket(sim, session, client):
    ws = await connect(session, sim)
    await subscribe(ws, sim)
    pushed = (await client.post("/_sim/liquidations/BTC",
                                json={"side": "long", "usd_total": 5e6, "orders": 2})).json()
    assert len(pushed["orders"]) == 2 and pushed["orders"][0]["coin"] == "BTC"
    rows, _ = await orders_until(ws, lambda r: len(r) >= 2)
    assert sum(r["volUsd"] for r in rows) == pytest.approx(5e6, abs=0.05)
    assert (await client.post("/_sim/ws/raw", json={"text": "hi"})).json() == {"sent": 1}
    assert await text(ws) == "hi"
    stats = (await client.get("/_sim/ws")).json()
    assert stats["connections"] == 1 and stats["by_key"]["pro"]["subscriptions"] == [
        "liquidationOrders"]
    assert (await client.post("/_sim/ws/drop", json={"key": "pro"})).json() == {"dropped": 1}
    bad = await client.post("/_sim/liquidations/BTC", json={"side": "up", "usd_total": 1})
    assert bad.status_code == 400
    refresh = (await client.get("/_sim/refresh", params={"path": p.OI_EXCHANGE_LIST})).json()
    assert refresh["pace"] == pytest.approx(1.0) and refresh["refreshed_at"] <= time.time()


async def test_the_cli_serves_the_socket_with_its_options():
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.coinglass", "--port", "0", "--key", "cli:standard",
         "--refresh-scale", "0.1", "--ws-spelling", "sdk", "--no-ws-background"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=15)
        base_url = line.split()[-1]
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(
                    base_url.replace("http", "ws") + "/ws-api?cg-api-key=cli") as ws:
                await ws.send_str(json.dumps({"method": "subscribe",
                                              "channels": ["liquidation_orders"]}))
                async with httpx.AsyncClient(base_url=base_url) as http:
                    deadline = time.monotonic() + 5
                    while not (await http.get("/_sim/ws")).json()["by_key"].get("cli", {}).get(
                            "subscriptions"):
                        assert time.monotonic() < deadline
                        await asyncio.sleep(0.02)
                    refresh = (await http.get("/_sim/refresh",
                                              params={"path": p.FUNDING_EXCHANGE_LIST})).json()
                    assert refresh["pace"] == pytest.approx(2.0)
                    await http.post("/_sim/liquidations/ETH",
                                    json={"side": "short", "usd_total": 3e6})
                body = json.loads(await text(ws))
                assert body["channel"] == "liquidation_orders"
                assert set(body["data"][0]) == SDK_FIELDS
        process.terminate()
        assert await asyncio.wait_for(asyncio.to_thread(process.wait), timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
