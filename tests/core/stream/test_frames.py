"""WebSocket frames: both documented spellings, the stream's own side encoding, bad input."""

from __future__ import annotations

import json

import pytest

from core.stream.frames import (
    PONG, ErrorFrame, FrameCache, Ignored, Order, Orders, parse_frame,
)

# The documented message (coinglass-v4.md §13.4) and the SDKs' snake_case spelling.
DOCS = ('{"channel":"liquidationOrders","data":[{"baseAsset":"BTC","exName":"Binance",'
        '"price":56738.0,"side":2,"symbol":"BTCUSDT","time":1725416318379,"volUsd":3065.07}]}')
SDK = ('{"channel":"liquidation_orders","data":[{"base_asset":"ETH","exchange":"OKX",'
       '"price":2500.5,"side":1,"symbol":"ETH-USDT-SWAP","time":1725416318000,'
       '"volume_usd":"120000.5"}]}')


def test_the_documented_spelling():
    frame = parse_frame(DOCS)
    assert frame == Orders((Order("BTC", "short", 3065.07, 1725416318.379, "Binance"),))


def test_the_sdk_spelling_with_numbers_as_strings():
    frame = parse_frame(SDK)
    assert frame == Orders((Order("ETH", "long", 120000.5, 1725416318.0, "OKX"),))


@pytest.mark.parametrize("side, position", [(1, "long"), (2, "short"), ("1", "long"),
                                            ("2", "short")])
def test_side_1_is_a_long_liquidated_on_the_stream(side, position):
    """The opposite of REST's order list, where 2 (a forced sell) is a long liquidated."""
    body = json.loads(DOCS)
    body["data"][0]["side"] = side
    assert parse_frame(json.dumps(body)).orders[0].side == position


def test_pong_and_error_frames():
    assert parse_frame("pong") is PONG and parse_frame(" pong\n") is PONG
    refused = parse_frame('{"event":"error","msg":"liquidationOrders need upgrade plan"}')
    assert isinstance(refused, ErrorFrame) and refused.needs_upgrade and not refused.bad_key
    bad_key = parse_frame('{"event":"error","msg":"Invalid API key provided"}')
    assert bad_key.bad_key and not bad_key.needs_upgrade
    assert parse_frame('{"event":"error"}') == ErrorFrame("unspecified error")
    unknown = parse_frame('{"event":"error","msg":"unknown channel: liquidationOrders"}')
    assert unknown.rejects("liquidationOrders") and not unknown.rejects("liquidation_orders")
    assert not refused.rejects("liquidationOrders")          # a plan refusal, not a name


@pytest.mark.parametrize("text", [
    "", "hello", "[1,2]", "null", '{"channel":"liquidationOrders"}',
    '{"channel":"liquidationOrders","data":{"baseAsset":"BTC"}}',
    '{"channel":"futures_trades@Binance_BTCUSDT@10000","data":[]}',
    '{"channel":"liquidationOrders","data":[{"baseAsset":', "[" * 100_000,
])
def test_malformed_frames_are_ignored_not_raised(text):
    assert isinstance(parse_frame(text), Ignored)


def test_malformed_orders_are_skipped_and_counted_the_rest_kept():
    good = json.loads(DOCS)["data"][0]
    rows = [good, "x", None, {**good, "side": 3}, {**good, "volUsd": "lots"},
            {**good, "baseAsset": ""}, {**good, "time": None}, {**good, "volUsd": -5},
            {**good, "volUsd": float("nan")}, {k: v for k, v in good.items() if k != "baseAsset"},
            {**good, "baseAsset": "eth", "volUsd": True}, {**good, "baseAsset": "sol"}]
    frame = parse_frame(json.dumps({"channel": "liquidationOrders", "data": rows},
                                   allow_nan=True))
    assert [o.coin for o in frame.orders] == ["BTC", "SOL"]
    assert frame.skipped == len(rows) - 2


def test_the_cache_parses_each_distinct_frame_once():
    cache = FrameCache(size=2)
    first = cache.parse(DOCS)
    assert cache.parse(DOCS) is first
    cache.parse(SDK)
    cache.parse("pong")                       # evicts the oldest
    assert cache.parse(DOCS) is not first and cache.parse(DOCS) == first
