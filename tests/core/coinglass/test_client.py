"""The client over httpx.MockTransport: requests it sends, and every error branch."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from core.coinglass import paths
from core.coinglass.client import CoinGlassClient
from core.coinglass.errors import (
    AuthError, BadParameters, CoinGlassError, EndpointNotFound, InvalidKey, MalformedResponse,
    MissingKey, PlanTooLow, RateLimited, Timeout, TransportError, UpstreamError,
)
from tests.conftest import recorded

KEY = "cg-secret-key-0123456789abcdef"


def make_client(handler) -> CoinGlassClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return CoinGlassClient(http, "https://cg.test")


def replay(name: str, seen: list | None = None, headers: dict | None = None):
    """A handler answering with one recorded body, remembering the requests."""
    body = recorded(name)["body"]

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(200, json=body, headers=headers or {})

    return handler


async def test_key_goes_only_in_the_header():
    seen: list[httpx.Request] = []
    client = make_client(replay("open-interest-exchange-list", seen))
    await client.open_interest(KEY, "BTC")
    (request,) = seen
    assert request.headers["CG-API-KEY"] == KEY
    assert KEY not in str(request.url)
    assert request.url.path == "/api/futures/open-interest/exchange-list"
    assert dict(request.url.params) == {"symbol": "BTC"}
    assert KEY not in repr(client)


@pytest.mark.parametrize("method,args,fixture,path,params", [
    ("funding_rates", (), "funding-rate-exchange-list", paths.FUNDING_EXCHANGE_LIST, {}),
    ("liquidations", ("ETH",), "liquidation-exchange-list", paths.LIQUIDATION_EXCHANGE_LIST,
     {"symbol": "ETH", "range": "1h"}),
    ("taker_volume", ("ETH", "4h"), "taker-buy-sell-volume-exchange-list",
     paths.TAKER_EXCHANGE_LIST, {"symbol": "ETH", "range": "4h"}),
    ("pairs_markets", ("BTC",), "pairs-markets", paths.PAIRS_MARKETS, {"symbol": "BTC"}),
    ("exchange_balances", ("BTC",), "exchange-balance-list", paths.EXCHANGE_BALANCE_LIST,
     {"symbol": "BTC"}),
    ("price_history", ("BTCUSDT", "4h", 3), "price-history", paths.PRICE_HISTORY,
     {"exchange": "Binance", "symbol": "BTCUSDT", "interval": "4h", "limit": "3"}),
    ("open_interest_history", ("BTC", "4h", 2), "open-interest-aggregated-history",
     paths.OI_AGGREGATED_HISTORY, {"symbol": "BTC", "interval": "4h", "limit": "2"}),
    ("global_long_short", ("BTCUSDT", "4h"), "global-long-short-account-ratio-history",
     paths.GLOBAL_LONG_SHORT_HISTORY,
     {"exchange": "Binance", "symbol": "BTCUSDT", "interval": "4h", "limit": "1"}),
    ("top_long_short_accounts", ("BTCUSDT", "1h"), "top-long-short-account-ratio-history",
     paths.TOP_LONG_SHORT_ACCOUNT_HISTORY,
     {"exchange": "Binance", "symbol": "BTCUSDT", "interval": "1h", "limit": "1"}),
    ("top_long_short_positions", ("BTCUSDT", "1h"), "top-long-short-position-ratio-history",
     paths.TOP_LONG_SHORT_POSITION_HISTORY,
     {"exchange": "Binance", "symbol": "BTCUSDT", "interval": "1h", "limit": "1"}),
    ("liquidation_history", ("BTC", "4h", 2), "liquidation-aggregated-history",
     paths.LIQUIDATION_AGGREGATED_HISTORY,
     {"exchange_list": "Binance,OKX,Bybit", "symbol": "BTC", "interval": "4h", "limit": "2"}),
    ("taker_history", ("BTC", "4h", 2), "aggregated-taker-buy-sell-volume-history",
     paths.TAKER_AGGREGATED_HISTORY,
     {"exchange_list": "Binance,OKX,Bybit", "symbol": "BTC", "interval": "4h", "limit": "2"}),
])
async def test_each_endpoint_sends_v4_path_and_params(method, args, fixture, path, params):
    seen: list[httpx.Request] = []
    client = make_client(replay(fixture, seen))
    result = await getattr(client, method)(KEY, *args)
    assert result
    (request,) = seen
    assert request.url.path == path
    assert dict(request.url.params) == params


async def test_startup_and_higher_endpoints_send_their_params():
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"code": "0", "data": []})

    client = make_client(handler)
    await client.coin_netflow(KEY, "SOL")
    await client.aggregated_cvd(KEY, "SOL", "1h", 2)
    await client.whale_alerts(KEY)
    await client.bitcoin_dominance(KEY)
    await client.large_limit_orders(KEY, "SOLUSDT")
    await client.liquidation_orders(KEY, "SOL", min_usd=250_000)
    await client.liquidation_map(KEY, "SOL")
    got = {r.url.path: dict(r.url.params) for r in seen}
    assert got[paths.COIN_NETFLOW] == {"symbol": "SOL", "exchange_list": "Binance,OKX,Bybit"}
    assert got[paths.AGGREGATED_CVD_HISTORY]["interval"] == "1h"
    assert got[paths.HYPERLIQUID_WHALE_ALERT] == {}
    assert got[paths.LARGE_LIMIT_ORDER] == {"exchange": "Binance", "symbol": "SOLUSDT"}
    assert got[paths.LIQUIDATION_ORDER]["min_liquidation_amount"] == "250000"
    assert len(got[paths.LIQUIDATION_ORDER]["start_time"]) == 13           # milliseconds
    assert got[paths.LIQUIDATION_AGGREGATED_MAP] == {"symbol": "SOL", "range": "1d"}


async def test_code_as_number_is_success():
    client = make_client(lambda r: httpx.Response(200, json={"code": 0, "data": ["BTC", "42"]}))
    assert await client.supported_coins(KEY) == ["BTC", "42"]


async def test_success_without_msg_and_with_extra_keys():
    client = make_client(lambda r: httpx.Response(
        200, json={"code": "0", "data": {"net_flow_usd_1h": "5"}, "success": True}))
    assert (await client.coin_netflow(KEY, "BTC")).net_flow_usd == {"1h": 5.0}


def body_response(status: int, body) -> callable:
    payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return lambda r: httpx.Response(status, content=payload)


@pytest.mark.parametrize("status,body,error", [
    (200, {"code": "401", "msg": "API key missing."}, MissingKey),
    (200, {"code": "400", "msg": "API key missing."}, MissingKey),
    (200, {"code": "400", "msg": "Invalid API key provided"}, InvalidKey),
    (401, {"code": "401", "msg": "Invalid API key provided"}, InvalidKey),
    (200, {"code": "401", "msg": "Upgrade plan"}, PlanTooLow),
    (200, {"code": "40001", "msg": "Upgrade plan"}, PlanTooLow),
    (200, {"code": "400", "msg": "Upgrade plan"}, PlanTooLow),
    (200, {"code": "429", "msg": "Too many requests"}, RateLimited),
    (429, {"code": "429", "msg": "Too many requests"}, RateLimited),
    (429, "", RateLimited),
    (200, {"code": "400", "msg": "Required String parameter 'exchange_list' is not present"},
     BadParameters),
    (200, {"code": "422", "msg": ""}, BadParameters),
    (200, {"code": "500", "msg": "Server Error"}, UpstreamError),
    (200, {"code": "9999", "msg": "something new"}, UpstreamError),
    (500, {"code": "500", "msg": "Server Error"}, UpstreamError),
    (502, "<html>bad gateway</html>", UpstreamError),
    (503, "", UpstreamError),
    (404, "404 Endpoint not found", EndpointNotFound),
    (200, "{not json", MalformedResponse),
    (200, b"\xff\xfe\x00", MalformedResponse),
    (200, "[1, 2, 3]", MalformedResponse),
    (200, {"data": []}, MalformedResponse),
    (403, "forbidden", UpstreamError),
])
async def test_error_classification(status, body, error):
    client = make_client(body_response(status, body))
    with pytest.raises(error) as caught:
        await client.liquidations(KEY, "BTC")
    assert isinstance(caught.value, CoinGlassError)
    assert KEY not in str(caught.value)
    assert caught.value.endpoint == paths.LIQUIDATION_EXCHANGE_LIST


async def test_malformed_shape_inside_a_success_envelope():
    client = make_client(lambda r: httpx.Response(200, json={"code": "0", "data": "surprise"}))
    with pytest.raises(MalformedResponse):
        await client.open_interest(KEY, "BTC")


async def test_timeouts_and_connection_errors_are_transport_errors():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request):
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(Timeout) as caught:
        await make_client(slow).funding_rates(KEY)
    assert isinstance(caught.value, TransportError)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    with pytest.raises(TransportError) as caught:
        await make_client(refused).funding_rates(KEY)
    assert KEY not in str(caught.value)


async def test_auth_errors_share_a_base_class():
    client = make_client(body_response(200, {"code": "400", "msg": "Invalid API key provided"}))
    with pytest.raises(AuthError):
        await client.funding_rates(KEY)


async def test_rate_limit_backs_the_key_off():
    client = make_client(lambda r: httpx.Response(
        429, json={"code": "429", "msg": "Too many requests"}, headers={"Retry-After": "12"}))
    with pytest.raises(RateLimited) as caught:
        await client.funding_rates(KEY)
    assert caught.value.retry_after == 12
    limiter = client.limiters.peek(KEY)
    assert 11 < limiter.blocked_for <= 12


async def test_rate_headers_update_the_limiter():
    client = make_client(replay("funding-rate-exchange-list",
                                headers={"API-KEY-MAX-LIMIT": "80", "API-KEY-USE-LIMIT": "50"}))
    _, headers = await client.get(KEY, paths.FUNDING_EXCHANGE_LIST)
    assert (headers.max_limit, headers.used) == (80, 50)
    limiter = client.limiters.peek(KEY)
    assert limiter.header_limit == 80
    assert limiter.used_last_minute() == 30      # used elsewhere too; capped at our limit in force


async def test_subscription_returns_plan_and_headers():
    client = make_client(lambda r: httpx.Response(
        200, json={"code": "0", "data": {"level": "STARTUP", "expire_time": 1805943491000,
                                          "expired": False}},
        headers={"API-KEY-MAX-LIMIT": "80", "API-KEY-USE-LIMIT": "1"}))
    sub = await client.subscription(KEY)
    assert sub.plan.name == "STARTUP" and sub.headers.max_limit == 80


async def test_the_key_never_reaches_the_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for status, body in [(429, ""), (500, ""), (200, {"code": "400", "msg": "Invalid API key provided"})]:
        client = make_client(body_response(status, body))
        with pytest.raises(CoinGlassError):
            await client.funding_rates(KEY)
    assert KEY not in caplog.text
