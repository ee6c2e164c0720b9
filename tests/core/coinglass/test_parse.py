"""Parsing what CoinGlass really sends: the recorded bodies as they are, then the variants."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.coinglass import parse
from core.coinglass.errors import MalformedResponse
from tests.conftest import recorded

EP = "/test"


def data(name: str):
    return recorded(name)["body"]["data"]


# --- recorded bodies --------------------------------------------------------------------------

def test_funding_list_skips_null_padding_and_keeps_numeric_symbols():
    coins = parse.funding_exchange_list(data("funding-rate-exchange-list"), EP)
    assert set(coins) == {"BTC", "ETH", "SOL", "42", "PIRATE"}
    btc = {(v.exchange, v.margin): v for v in coins["BTC"]}
    binance = btc[("Binance", "stablecoin")]
    assert binance.rate_pct == pytest.approx(0.008631)       # percent per interval, as sent
    assert binance.interval_hours == 8
    assert binance.next_funding_time == datetime(2025, 11, 15, 0, 0, tzinfo=timezone.utc)
    # a 1 h venue is normalised to 8 h; an unknown interval is read as 8 h
    assert btc[("Hyperliquid", "stablecoin")].rate_8h_pct == pytest.approx(0.00125 * 8)
    assert btc[("KuCoin", "stablecoin")].interval_hours is None
    assert btc[("KuCoin", "stablecoin")].rate_8h_pct == pytest.approx(-0.0002)
    assert all(v.rate_pct is not None for v in coins["BTC"])
    assert len([v for v in coins["BTC"] if v.margin == "stablecoin"]) == 18
    assert [v.exchange for v in coins["PIRATE"] if v.margin == "stablecoin"] == ["dYdX"]


def test_open_interest_list_separates_the_all_row():
    oi = parse.open_interest_exchange_list(data("open-interest-exchange-list"), EP)
    assert oi.total.exchange == "All"
    assert oi.total.usd == pytest.approx(67130599066.2341)
    assert oi.total.change_pct == {"5m": -0.06, "15m": -0.53, "30m": -0.44, "1h": -0.07,
                                   "4h": 1.24, "24h": 0.66}
    assert oi.exchanges and all(r.exchange != "All" for r in oi.exchanges)
    binance = next(r for r in oi.exchanges if r.exchange == "Binance")
    assert binance.stablecoin_margin_usd and binance.stablecoin_margin_usd > 0


def test_liquidation_list_reads_the_real_camelcase_keys():
    liq = parse.liquidation_exchange_list(data("liquidation-exchange-list"), EP)
    assert liq.total.long_usd == pytest.approx(134120774.28484142)
    assert liq.total.short_usd == pytest.approx(25100195.393889)
    assert len(liq.exchanges) == 9


def test_liquidation_list_falls_back_to_documented_snake_case():
    body = [{"exchange": "All", "liquidation_usd": 10, "long_liquidation_usd": "7",
             "short_liquidation_usd": 3}]
    liq = parse.liquidation_exchange_list(body, EP)
    assert (liq.total.long_usd, liq.total.short_usd) == (7.0, 3.0)


def test_taker_list_is_an_object():
    taker = parse.taker_exchange_list(data("taker-buy-sell-volume-exchange-list"), EP)
    assert taker.buy_usd == pytest.approx(17954036996.88815)
    assert taker.buy_ratio == pytest.approx(48.77)
    assert len(taker.exchanges) == 20


def test_price_history_strings_become_floats_in_ascending_order():
    candles = parse.candles(data("price-history"), EP)
    assert len(candles) == 50
    assert candles[0].open == pytest.approx(103182.6)
    assert candles[0].volume_usd == pytest.approx(4203066530.0634)
    assert [c.time for c in candles] == sorted(c.time for c in candles)


@pytest.mark.parametrize("name", ["open-interest-aggregated-history", "funding-rate-history",
                                  "funding-rate-oi-weight-history",
                                  "funding-rate-oi-weight-history-nov2025-recorder-floats",
                                  "funding-rate-vol-weight-history", "spot-price-history",
                                  "open-interest-aggregated-coin-margin-history"])
def test_every_recorded_ohlc_history_parses_whatever_its_json_types(name):
    rows = data(name)
    candles = parse.candles(rows, EP)
    assert len(candles) == len(rows)
    assert candles[-1].close == pytest.approx(float(rows[-1]["close"]))


@pytest.mark.parametrize("name,prefix", [
    ("global-long-short-account-ratio-history", "global_account"),
    ("top-long-short-account-ratio-history", "top_account"),
    ("top-long-short-position-ratio-history", "top_position"),
])
def test_long_short_ratios(name, prefix):
    rows = data(name)
    points = parse.ratio_points(rows, EP, prefix)
    assert len(points) == 50
    assert points[-1].long_pct == pytest.approx(rows[-1][f"{prefix}_long_percent"])
    assert points[-1].long_pct + points[-1].short_pct == pytest.approx(100.0, abs=0.02)


def test_liquidation_and_taker_histories():
    liq = parse.liquidation_points(data("liquidation-aggregated-history"), EP)
    assert len(liq) == 50 and liq[0].long_usd == pytest.approx(2299111.23172)
    taker = parse.taker_points(data("aggregated-taker-buy-sell-volume-history"), EP)
    assert len(taker) == 50
    legacy = parse.taker_points(data("taker-buy-sell-volume-history"), EP)   # strings
    assert len(legacy) == 50 and isinstance(legacy[0].buy_usd, float)


def test_exchange_balances_and_pairs_markets():
    balances = parse.exchange_balances(data("exchange-balance-list"), EP)
    assert balances[0].exchange == "Coinbase"
    assert balances[0].change_pct_1d == pytest.approx(-1.2)
    markets = parse.pairs_markets(data("pairs-markets"), EP)
    assert len(markets) == 88
    binance = next(m for m in markets if m.exchange == "Binance" and m.instrument_id == "BTCUSDT")
    assert binance.price == pytest.approx(96460.1)
    delivery = [m for m in markets if m.funding_rate_pct is None]
    assert delivery, "dated contracts carry funding_rate null"


def test_supported_coin_symbols_are_never_coerced():
    coins = parse.symbols(data("spot-supported-coins"), EP)
    assert "00" in coins and "BTC" in coins


# --- variants the recordings do not cover ----------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("0.01", 0.01), (0.01, 0.01), (5, 5.0), ("-1e-06", -1e-06), (" 2.5 ", 2.5),
    (None, None), ("", None), ("abc", None), (True, None), ("nan", None), ("inf", None),
    ([], None), ({}, None),
])
def test_num_accepts_numbers_and_numeric_strings_only(value, expected):
    assert parse.num(value) == expected


def test_timestamp_reads_milliseconds_and_seconds():
    assert parse.timestamp(1763136000000) == parse.timestamp(1763136000)
    assert parse.timestamp("1763136000000").year == 2025
    assert parse.timestamp(0) is None and parse.timestamp(None) is None


def test_mixed_types_within_one_row_are_coerced():
    row = {"time": 1749556800000, "open": "0.009312", "high": "0.009345", "low": 0.005892,
           "close": "0.005892"}
    (candle,) = parse.candles([row], EP)
    assert candle.low == pytest.approx(0.005892) and candle.close == pytest.approx(0.005892)


def test_rows_missing_required_fields_are_skipped_not_zeroed():
    rows = [{"time": 1, "close": None}, {"close": "5"}, {"time": 1763136000000, "close": "7"}]
    candles = parse.candles(rows, EP)
    assert [c.close for c in candles] == [7.0]
    assert parse.ratio_points([{"time": 1763136000000}], EP, "global_account") == []
    assert parse.liquidation_exchange_list([{"exchange": "All", "longLiquidation_usd": None,
                                             "shortLiquidation_usd": 5}], EP).total is None


def test_null_data_is_empty_and_wrong_shapes_are_malformed():
    assert parse.candles(None, EP) == []
    assert parse.taker_exchange_list(None, EP) is None
    with pytest.raises(MalformedResponse):
        parse.candles("oops", EP)
    with pytest.raises(MalformedResponse):
        parse.candles({"unexpected": 1}, EP)
    with pytest.raises(MalformedResponse):
        parse.taker_exchange_list(42, EP)
    with pytest.raises(MalformedResponse):
        parse.symbols({"BTC": 1}, EP)


def test_object_endpoints_accept_a_list_of_one_object():
    body = [{"symbol": "BTC", "buy_ratio": "60", "sell_ratio": "40", "buy_vol_usd": "6",
             "sell_vol_usd": "4", "exchange_list": []}]
    taker = parse.taker_exchange_list(body, EP)
    assert (taker.buy_usd, taker.sell_usd) == (6.0, 4.0)


def test_subscription_levels_and_expiry():
    sub = parse.subscription({"level": "PROFESSIONAL", "expire_time": 1805943491000,
                              "expired": False}, EP)
    assert sub.plan.name == "PROFESSIONAL" and sub.expired is False
    unknown = parse.subscription({"level": "Gold", "expire_time": 1000}, EP)
    assert unknown.plan is None and unknown.expired is True     # derived from a past expiry
    with pytest.raises(MalformedResponse):
        parse.subscription(None, EP)


def test_dominance_uses_timestamp_key():
    points = parse.dominance_points([
        {"timestamp": 1763078400000, "price": 96000, "bitcoin_dominance": 58.1, "market_cap": 1},
        {"timestamp": 1762992000000, "price": 97000, "bitcoin_dominance": "57.9"},
    ], EP)
    assert [p.dominance_pct for p in points] == [57.9, 58.1]


def test_netflow_windows_from_strings_or_buy_minus_sell():
    flow = parse.netflow({"net_flow_usd_1h": "-1500000.5", "taker_buy_volume_usd_4h": "10",
                          "taker_sell_volume_usd_4h": "4"}, EP)
    assert flow.net_flow_usd == {"1h": -1500000.5, "4h": 6.0}
    assert parse.netflow({"symbol": "BTC"}, EP) is None


def test_whale_alerts_sides_and_actions():
    alerts = parse.whale_alerts([
        {"user": "0xabc", "symbol": "eth", "position_size": -12700, "entry_price": "1611.62",
         "liq_price": 2527.2, "position_value_usd": -21003260, "position_action": 1,
         "create_time": 1745219517000},
        {"user": "0xdef", "symbol": "BTC", "position_size": 10, "position_value_usd": 1e6,
         "position_action": 2, "create_time": 1745219518000},
        {"user": "0xbad", "symbol": "BTC", "position_size": 1, "position_action": 9},
    ], EP)
    assert [(a.symbol, a.action, a.position_size < 0) for a in alerts] == [
        ("BTC", "close", False), ("ETH", "open", True)]
    assert alerts[1].value_usd == 21003260


def test_large_orders_and_liquidation_orders_sides():
    orders = parse.large_orders([
        {"exchange_name": "Binance", "symbol": "BTCUSDT", "price": 56932, "current_usd_value": 1068844.21,
         "order_side": 2, "order_state": 1},
        {"exchange_name": "Binance", "symbol": "BTCUSDT", "price": "57932", "current_usd_value": "5e6",
         "order_side": 1, "order_state": 3},
    ], EP)
    assert [(o.side, o.open) for o in orders] == [("bid", True), ("ask", False)]
    liqs = parse.liquidation_orders([
        {"exchange_name": "BINANCE", "symbol": "BTCUSDT", "price": 95000, "usd_value": 2e6,
         "side": 2, "time": 1763136000000},
        {"exchange_name": "BINANCE", "symbol": "BTCUSDT", "price": 95000, "usd_value": 1e6,
         "side": 1, "time": 1763136000000},
    ], EP)
    assert [o.side for o in liqs] == ["long", "short"]


def test_liquidation_map_sums_levels_per_price():
    levels = parse.liquidation_map({"data": {
        "48935": [[48935, 1579370.77, 25, None], [48935, "420629.23", None, None]],
        "50000": [["50000", 1e6, None, None]], "junk": "x",
    }}, EP)
    assert [(lv.price, round(lv.usd)) for lv in levels] == [(48935.0, 2000000), (50000.0, 1000000)]
    with pytest.raises(MalformedResponse):
        parse.liquidation_map({"data": [1, 2]}, EP)
