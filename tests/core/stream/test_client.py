"""The stream client against the CoinGlass simulator's WebSocket over 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from core.stream.client import LinkState, StreamClient, backoff_delay
from core.stream.frames import Order
from sim.coinglass import CoinGlassSim
from tests.waiting import wait_until

KEYS = {"standard": "standard-key-stream-000000001", "hobbyist": "hobbyist-key-stream-00000002",
        "startup": "startup-key-stream-000000003", "pro": "pro-key-stream-000000000004"}


async def start_sim(**options) -> CoinGlassSim:
    sim = CoinGlassSim(**{"refresh_scale": 0.1, "ws_background": False, **options})
    for name, key in KEYS.items():
        sim.add_key(key, "professional" if name == "pro" else name)
    await sim.start()
    return sim


@pytest.fixture
async def sim() -> AsyncIterator[CoinGlassSim]:
    simulator = await start_sim()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class Received:
    def __init__(self) -> None:
        self.orders: list[Order] = []

    def __call__(self, orders: tuple[Order, ...]) -> None:
        self.orders.extend(orders)


def client_for(session, url: str, key: str, received=None, **options) -> StreamClient:
    options.setdefault("backoff", lambda failures: 0.05)
    return StreamClient(session, url, key, received or Received(), **options)


async def test_subscribes_and_receives_pushed_orders(sim, session):
    received = Received()
    client = client_for(session, sim.ws_url, KEYS["standard"], received)
    client.start()
    await wait_until(lambda: sim.ws_subscriptions(KEYS["standard"]) == {"liquidationOrders"})
    assert client.status.state == LinkState.CONNECTED
    sim.push_liquidations("BTC", "long", 12e6, orders=3)
    sim.push_liquidations("ETH", "short", 1e6)
    await wait_until(lambda: len(received.orders) == 4)
    assert {(o.coin, o.side) for o in received.orders} == {("BTC", "long"), ("ETH", "short")}
    assert sum(o.usd for o in received.orders if o.coin == "BTC") == pytest.approx(12e6)
    await client.stop()
    await wait_until(lambda: sim.ws_connections() == 0)
    assert client.status.state == LinkState.STOPPED


async def test_the_sdk_spelling_is_read_too(session):
    sim = await start_sim(ws_spelling="sdk")
    try:
        received = Received()
        client = client_for(session, sim.ws_url, KEYS["pro"], received)
        client.start()
        await wait_until(lambda: sim.ws_subscriptions(KEYS["pro"]) == {"liquidationOrders"})
        sim.push_liquidations("SOL", "short", 2e6, orders=2)
        await wait_until(lambda: len(received.orders) == 2)
        assert all(o.coin == "SOL" and o.side == "short" for o in received.orders)
        await client.stop()
    finally:
        await sim.stop()


async def test_pings_are_answered_and_the_socket_stays(sim, session):
    client = client_for(session, sim.ws_url, KEYS["standard"], ping_interval=0.1)
    client.start()
    await wait_until(lambda: len([p for p in sim.ws_pings if p[1] == KEYS["standard"]]) >= 3)
    await wait_until(lambda: client.last_pong_at is not None)
    assert client.connections == 1 and client.status.state == LinkState.CONNECTED
    await client.stop()


async def test_reconnects_and_resubscribes_after_the_socket_is_dropped(sim, session):
    received = Received()
    client = client_for(session, sim.ws_url, KEYS["standard"], received)
    client.start()
    key = KEYS["standard"]
    await wait_until(lambda: sim.ws_subscriptions(key) == {"liquidationOrders"})
    for code in (None, 4000):                    # a cut connection, then a close frame
        assert sim.drop_connections(key, code=code) == 1
        await wait_until(lambda: client.status.state == LinkState.RETRYING)
        await wait_until(lambda: sim.ws_subscriptions(key) == {"liquidationOrders"})
    assert client.connections == 3 and client.status.failures == 2
    sim.push_liquidations("BTC", "long", 5e6)
    await wait_until(lambda: len(received.orders) == 1)
    await client.stop()


@pytest.mark.parametrize("plan", ["hobbyist", "startup"])
async def test_a_refused_subscription_ends_the_client_and_closes_the_socket(sim, session, plan):
    client = client_for(session, sim.ws_url, KEYS[plan])
    client.start()
    await wait_until(lambda: not client.running)
    assert client.status.state == LinkState.REFUSED and client.connections == 1
    await wait_until(lambda: sim.ws_connections(KEYS[plan]) == 0)


async def test_an_unknown_key_is_refused_and_never_logged(sim, session, caplog):
    secret = "nobody-knows-this-key-0000099"
    caplog.set_level(logging.DEBUG)
    client = client_for(session, sim.ws_url, secret)
    client.start()
    await wait_until(lambda: not client.running)
    assert client.status.state == LinkState.KEY_REFUSED
    unreachable = client_for(session, "ws://127.0.0.1:9/ws-api", secret)
    unreachable.start()
    await wait_until(lambda: unreachable.status.failures >= 2)
    await unreachable.stop()
    assert secret not in caplog.text and "cg-api-key" not in caplog.text


async def test_malformed_frames_and_a_failing_callback_do_not_end_the_connection(sim, session):
    calls = []

    def explode_once(orders):
        calls.append(orders)
        if len(calls) == 1:
            raise RuntimeError("bug while folding")

    client = client_for(session, sim.ws_url, KEYS["standard"], explode_once)
    client.start()
    key = KEYS["standard"]
    await wait_until(lambda: sim.ws_subscriptions(key) == {"liquidationOrders"})
    for text in ('{"channel":"liquidationOrders","data":[{"baseAsset":', "garbage", "[]",
                 '{"channel":"liquidationOrders","data":[{"baseAsset":"BTC","side":9}]}',
                 '{"event":"error","msg":"something else"}'):
        assert sim.push_raw(text, key=key) == 1
    sim.push_liquidations("BTC", "long", 1e6)
    await wait_until(lambda: len(calls) == 1)         # the callback raised on this one
    sim.push_liquidations("BTC", "long", 1e6)
    await wait_until(lambda: len(calls) == 2)
    assert client.connections == 1 and client.status.state == LinkState.CONNECTED
    assert client.malformed == 4
    await client.stop()


async def test_a_socket_that_stops_answering_pong_is_replaced(session):
    """A server that accepts the subscription but never answers ``ping``."""
    pings = []

    async def mute(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.data == "ping":
                pings.append(time.monotonic())
        return ws

    runner, url = await serve(mute)
    try:
        statuses = []
        client = client_for(session, url, KEYS["standard"],
                            ping_interval=0.05, pong_timeout=0.1, on_status=statuses.append)
        client.start()
        await wait_until(lambda: client.connections >= 2)
        assert pings
        lost = [s for s in statuses if s.state == LinkState.RETRYING]
        assert lost and lost[0].reason == "no pong"
        await client.stop()
    finally:
        await runner.cleanup()


async def serve(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/ws-api", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"ws://127.0.0.1:{runner.addresses[0][1]}/ws-api"


async def test_a_coinglass_that_only_knows_the_sdk_channel_name_gets_it(session):
    """The docs say ``liquidationOrders``, the SDKs ``liquidation_orders``: if the first is
    rejected as unknown, the client subscribes with the second and keeps it on reconnect."""
    asked: list[str] = []
    sockets: list[web.WebSocketResponse] = []

    async def sdk_only(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets.append(ws)
        async for message in ws:
            channel = json.loads(message.data)["channels"][0]
            asked.append(channel)
            if channel != "liquidation_orders":
                await ws.send_str(json.dumps({"event": "error",
                                              "msg": f"unknown channel: {channel}"}))
            else:
                await ws.send_str(json.dumps({"channel": "liquidation_orders", "data": [
                    {"base_asset": "BTC", "exchange": "OKX", "side": 1, "time": 1725416318000,
                     "volume_usd": 5.0}]}))
        return ws

    runner, url = await serve(sdk_only)
    try:
        received = Received()
        client = client_for(session, url, KEYS["standard"], received)
        client.start()
        await wait_until(lambda: len(received.orders) == 1)
        assert asked == ["liquidationOrders", "liquidation_orders"]
        await sockets[0].close()
        await wait_until(lambda: len(received.orders) == 2)
        assert asked[2:] == ["liquidation_orders"] and client.connections == 2
        await client.stop()
    finally:
        await runner.cleanup()


async def test_stop_is_quick_even_while_waiting_to_reconnect(sim, session):
    client = client_for(session, sim.ws_url, KEYS["standard"], backoff=lambda failures: 30.0)
    client.start()
    await wait_until(lambda: sim.ws_subscriptions(KEYS["standard"]) == {"liquidationOrders"})
    sim.drop_connections(KEYS["standard"])
    await wait_until(lambda: client.status.state == LinkState.RETRYING)
    started = time.monotonic()
    await client.stop()
    assert time.monotonic() - started < 1.0 and not client.running


def test_backoff_doubles_with_jitter_up_to_its_cap():
    low = [backoff_delay(n, rand=lambda: 0.0) for n in range(1, 10)]
    high = [backoff_delay(n, rand=lambda: 1.0) for n in range(1, 10)]
    assert high[:4] == [1.0, 2.0, 4.0, 8.0] and high[-1] == 60.0
    assert low[:2] == [0.5, 1.0] and low[-1] == 30.0
