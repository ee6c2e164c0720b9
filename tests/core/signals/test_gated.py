"""Plan-gated signals at their thresholds: balances, netflow, dominance, whales, walls, clusters."""

from __future__ import annotations

import pytest

from core.plans import Plan
from core.signals.engine import evaluate
from tests.core.signals.factories import (
    balances, clusters, dominance, netflow, price, snap, th, walls, whale, whales,
)
from tests.core.signals.helpers import fired, the

M = 1e6
PRO = Plan.PROFESSIONAL


def ev_of(overrides=None, coin="ETH", **sections):
    return evaluate(snap(coin, PRO, **sections), th(**(overrides or {})))


# ── exchange_balance: |1-day change| >= balance_change → MEDIUM; onto exchanges bearish ──

@pytest.mark.parametrize("pct, overrides, expected", [
    (1.5, {}, ("MEDIUM", "bearish")),
    (1.51, {}, ("MEDIUM", "bearish")),
    (1.49, {}, None),
    (-1.5, {}, ("MEDIUM", "bullish")),
    (-1.49, {}, None),
    (2.5, {"balance_change": 3.0}, None),
    (-3.0, {"balance_change": 3.0}, ("MEDIUM", "bullish")),
])
def test_exchange_balance(pct, overrides, expected):
    # The factory builds balances whose aggregate change is pct up to float rounding; nudge
    # "at" cases a hair outward so they stay at-or-past the threshold.
    nudged = pct * (1 + 1e-12)
    assert fired(ev_of(overrides, balances=balances(nudged)), "exchange_balance") == expected


def test_exchange_balance_text():
    s = the(ev_of(balances=balances(2.0, total=1_020_000.0)), "exchange_balance")
    assert "ETH held on exchanges rose +2.00 %" in s.text
    assert "+20,000 ETH to 1,020,000 ETH" in s.text
    assert "24 h" in s.text


# ── netflow: |1h taker buy − sell| >= netflow_usd → MEDIUM, sign → direction ─────────

@pytest.mark.parametrize("flow, overrides, expected", [
    (100 * M, {}, ("MEDIUM", "bullish")),
    (100 * M + 1, {}, ("MEDIUM", "bullish")),
    (100 * M - 1, {}, None),
    (-100 * M, {}, ("MEDIUM", "bearish")),
    (-100 * M + 1, {}, None),
    (30 * M, {"netflow_usd": 25 * M}, ("MEDIUM", "bullish")),
    (-150 * M, {"netflow_usd": 200 * M}, None),
])
def test_netflow(flow, overrides, expected):
    assert fired(ev_of(overrides, netflow=netflow(flow)), "netflow") == expected


# ── btc_dominance: |24h change| >= dominance_change MEDIUM, >= half LOW ────────────────

@pytest.mark.parametrize("change, overrides, expected", [
    (1.0, {}, ("MEDIUM", "bearish")),
    (1.01, {}, ("MEDIUM", "bearish")),
    (0.99, {}, ("LOW", "bearish")),
    (0.5, {}, ("LOW", "bearish")),
    (0.49, {}, None),
    (-1.0, {}, ("MEDIUM", "bullish")),
    (-0.5, {}, ("LOW", "bullish")),
    (-0.49, {}, None),
    (1.5, {"dominance_change": 2.0}, ("LOW", "bearish")),
    (0.3, {"dominance_change": 0.25}, ("MEDIUM", "bearish")),
])
def test_btc_dominance_for_altcoins(change, overrides, expected):
    assert fired(ev_of(overrides, dominance=dominance(change)), "btc_dominance") == expected


def test_btc_dominance_is_neutral_for_btc():
    assert fired(ev_of(coin="BTC", dominance=dominance(1.2)), "btc_dominance") == ("MEDIUM",
                                                                                  "neutral")
    assert fired(ev_of(coin="BTC", dominance=dominance(-0.6)), "btc_dominance") == ("LOW",
                                                                                   "neutral")


# ── whale_position: moves >= whale_usd → one MEDIUM signal led by the largest ──────────

@pytest.mark.parametrize("side, action, direction", [
    ("long", "open", "bullish"), ("short", "close", "bullish"),
    ("short", "open", "bearish"), ("long", "close", "bearish"),
])
def test_whale_directions(side, action, direction):
    ev = ev_of(whales=whales(whale(5 * M, side, action)))
    assert fired(ev, "whale_position") == ("MEDIUM", direction)


@pytest.mark.parametrize("value, overrides, expected", [
    (3 * M, {}, ("MEDIUM", "bullish")),
    (3 * M - 1, {}, None),
    (8 * M, {"whale_usd": 10 * M}, None),
    (1 * M, {"whale_usd": 500_000}, ("MEDIUM", "bullish")),
])
def test_whale_threshold(value, overrides, expected):
    assert fired(ev_of(overrides, whales=whales(whale(value))), "whale_position") == expected


def test_whale_text_and_summary():
    ev = ev_of(whales=whales(whale(4 * M, "short", "open"), whale(21_003_260, "long", "open"),
                             whale(2 * M, "short", "open")))
    s = the(ev, "whale_position")
    assert "0x12ab…89cd opened a $21.0M ETH long at $1,611.62 (liq. $527.25)" in s.text
    assert "1 more move" in s.text                      # the $2M one does not qualify
    assert s.direction.value == "bullish"               # $21M bullish beats $4M bearish
    assert s.values["moves"] == 2


def test_whales_netting_bearish():
    ev = ev_of(whales=whales(whale(5 * M, "long", "open"), whale(4 * M, "long", "close"),
                             whale(4 * M, "short", "open")))
    assert fired(ev, "whale_position") == ("MEDIUM", "bearish")


# ── orderbook_wall: usd >= wall_usd within wall_distance % → LOW; >= 2 × → MEDIUM ──────

P = 100_000.0


@pytest.mark.parametrize("items, overrides, expected", [
    ([("bid", 99_000.0, 5 * M)], {}, ("LOW", "bullish")),           # at size, at distance
    ([("bid", 99_000.0, 5 * M - 1)], {}, None),
    ([("bid", 98_990.0, 5 * M)], {}, None),                          # 1.01 % away
    ([("bid", 99_500.0, 10 * M)], {}, ("MEDIUM", "bullish")),
    ([("bid", 99_500.0, 10 * M - 1)], {}, ("LOW", "bullish")),
    ([("ask", 101_000.0, 6 * M)], {}, ("LOW", "bearish")),
    ([("ask", 100_500.0, 12 * M)], {}, ("MEDIUM", "bearish")),
    ([("ask", 101_500.0, 6 * M)], {"wall_distance": 2.0}, ("LOW", "bearish")),
    ([("ask", 100_500.0, 6 * M)], {"wall_usd": 8 * M}, None),
    ([("bid", 99_500.0, 20 * M), ("ask", 100_200.0, 6 * M)], {}, ("MEDIUM", "bullish")),
    ([("bid", 99_500.0, 6 * M), ("ask", 100_200.0, 6 * M)], {}, ("LOW", "neutral")),
])
def test_orderbook_wall(items, overrides, expected):
    ev = ev_of(overrides, walls=walls(*items), price=price(0.1, last=P))
    assert fired(ev, "orderbook_wall") == expected


def test_orderbook_wall_text():
    ev = ev_of(walls=walls(("bid", 99_200.0, 12 * M)), price=price(0.1, last=P))
    s = the(ev, "orderbook_wall")
    assert s.text.startswith("A $12.0M bid wall at $99,200 (Binance BTCUSDT) sits 0.80 % below "
                             "price ($100,000): support.")


# ── liquidation_cluster: usd >= cluster_usd within cluster_distance % → MEDIUM, half → HIGH

@pytest.mark.parametrize("items, overrides, expected", [
    ([("long", 98_000.0, 100 * M)], {}, ("MEDIUM", "bearish")),      # at 2 %, at size
    ([("long", 97_990.0, 100 * M)], {}, None),                       # 2.01 %
    ([("long", 98_000.0, 100 * M - 1)], {}, None),
    ([("long", 99_000.0, 100 * M)], {}, ("HIGH", "bearish")),        # at half the distance
    ([("long", 98_990.0, 100 * M)], {}, ("MEDIUM", "bearish")),
    ([("short", 101_000.0, 150 * M)], {}, ("HIGH", "bullish")),
    ([("short", 101_500.0, 150 * M)], {}, ("MEDIUM", "bullish")),
    ([("short", 101_500.0, 150 * M)], {"cluster_distance": 4.0}, ("HIGH", "bullish")),
    ([("short", 101_500.0, 150 * M)], {"cluster_usd": 200 * M}, None),
    # a closer cluster (HIGH) leads a bigger farther one
    ([("long", 98_500.0, 400 * M), ("short", 100_800.0, 120 * M)], {}, ("HIGH", "bullish")),
])
def test_liquidation_cluster(items, overrides, expected):
    ev = ev_of(overrides, clusters=clusters(*items), price=price(0.1, last=P))
    assert fired(ev, "liquidation_cluster") == expected


def test_liquidation_cluster_text():
    ev = ev_of(clusters=clusters(("long", 94_300.0, 240 * M)), price=price(0.1, last=96_030.0))
    s = the(ev, "liquidation_cluster")
    assert "Price is 1.8 % from $240.0M of long liquidations at $94,300" in s.text
    assert "1d range" in s.text


def test_price_that_is_not_positive_is_reported_not_guessed():
    ev = ev_of(walls=walls(("bid", 0.0, 50 * M)), clusters=clusters(("long", 0.0, 500 * M)),
               price=price(0.1, last=0.0))
    assert fired(ev, "orderbook_wall") is None and fired(ev, "liquidation_cluster") is None
    assert ev.unevaluated["orderbook_wall"] == "no price (not a positive number)"
