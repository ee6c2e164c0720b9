"""Chart captions and buttons, without Telegram."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from bot import chart_texts as ct
from core.charts.signals import signals_now
from core.plans import Plan
from core.signals.model import Direction, Evaluation, Level, Signal
from core.thresholds import ThresholdSet
from tests.core.charts.factories import NOW, chart_data, map_data


def caption_for(data, evaluation=None, **kwargs) -> str:
    if evaluation is None:
        evaluation = signals_now(data, ThresholdSet.defaults())
    return ct.caption(data, evaluation, NOW, **kwargs)


def test_caption_names_coin_window_candles_plan_and_data_time():
    text = caption_for(chart_data(Plan.STARTUP, "24h"))
    assert text.startswith("📈 <b>ETH</b> · 24 h · 30 min candles · Startup plan")
    assert "Data to 16:00 UTC" in text
    assert "Price $" in text and "OI $" in text and "funding +0.0100 %/8h" in text
    # the bars are CoinGlass's aggregate of three venues, not the all-venue figure of alerts
    assert "Liquidated in 24 h on Binance, OKX, Bybit: longs $" in text
    assert "No signal fires on this data with your thresholds." in text
    assert "/snapshot ETH" in text
    assert ct.caption_length(text) <= 1024


def test_data_time_in_the_users_timezone_with_the_date_when_not_today():
    data = chart_data()
    assert "Data to 17:00 CET" in caption_for(data, tz=ZoneInfo("Europe/Berlin"))
    yesterday = ct.caption(data, None, NOW + 86400)
    assert "Data to Mon 16:00 UTC" in yesterday          # the date rule of bot.format.when


def test_hobbyist_gets_the_plain_fallback_note():
    text = caption_for(chart_data(Plan.HOBBYIST, "24h"))
    assert text.splitlines()[0] == "ℹ️ Your plan's history is 4 h candles: here are 7 days."
    assert "OI surge and Liquidation cascade need 1 h candles" in text
    assert "here are" not in caption_for(chart_data(Plan.HOBBYIST, "3d"))


def test_firing_signals_lead_and_gaps_are_named():
    data = chart_data(funding=0.3, oi_jump_pct=9.0, liq_long_last=80e6,
                      gaps={"price": range(3, 6)}, missing={"funding": "CoinGlass error"})
    text = caption_for(data)
    assert "<b>Firing now</b>: 🔴" in text
    assert re.search(r"liquidation cascade: \$[\d.]+M in 1h on Binance, OKX, Bybit", text), text
    assert "Missing (left blank, not zero): price" in text and "funding: none (CoinGlass error)" \
        in text


def many_signals(n: int) -> Evaluation:
    signal = Signal("oi_surge", "ETH", Level.HIGH, Direction.NEUTRAL, "X" * 120, "", 0.9)
    return Evaluation("ETH", (signal,) * n, None, {})


@pytest.mark.parametrize("coin", ["ETH", "A" * 20, "1000PEPE"])
def test_caption_never_exceeds_telegrams_limit(coin):
    data = chart_data(Plan.HOBBYIST, "6h", coin=coin,
                      gaps={"price": range(1, 2), "funding": range(3, 4),
                            "open_interest": range(5, 6), "liquidations": range(7, 8)})
    text = ct.caption(data, many_signals(30), NOW)
    assert ct.caption_length(text) <= 1024
    assert "here are 7 days" in text and coin in text and "Hobbyist plan" in text
    assert "+26 more" in text


def test_fit_caption_drops_the_least_important_lines_first_and_counts_utf16():
    lines = [("keep 📈", 0), ("signals " + "s" * 500, 1), ("market " + "m" * 500, 2)]
    text = ct.fit_caption(lines, limit=600)
    assert "signals" in text and "market" not in text
    assert ct.caption_length("📈") == 2                       # as Telegram counts it
    assert ct.caption_length("<b>a&amp;b</b>") == 3
    cut = ct.fit_caption([("x " * 800, 0)], limit=100)
    assert ct.caption_length(cut) <= 100


def test_map_caption():
    text = ct.map_caption(map_data(3000.0), Plan.PROFESSIONAL, NOW)
    assert "ETH</b> liquidation map" in text and "price $3,000.0" in text
    assert re.search(r"Biggest long cluster: \$\d", text) and "Biggest short cluster" in text
    assert "unavailable" in ct.map_caption(map_data(None), Plan.PROFESSIONAL, NOW)


def test_window_buttons_and_their_callback_pattern():
    def data(markup):
        return [b.callback_data for row in markup.inline_keyboard for b in row]

    assert data(ct.chart_keyboard("ETH", Plan.STARTUP, "24h")) == [
        "chart:ETH:6h", "chart:ETH:24h", "chart:ETH:3d", "chart:ETH:7d"]
    assert data(ct.chart_keyboard("ETH", Plan.HOBBYIST, "7d")) == ["chart:ETH:3d", "chart:ETH:7d"]
    assert data(ct.chart_keyboard("ETH", Plan.PROFESSIONAL, "map"))[-1] == "chart:ETH:map"
    pattern = re.compile(ct.CALLBACK_PATTERN)
    for ok in ("chart:ETH", "chart:1000PEPE:7d", "chart:BTC:map"):
        assert pattern.match(ok)
    for bad in ("chart:eth", "chart:ETH:2w", "xchart:ETH", "chart:ETH:7d:x", "chart:"):
        assert not pattern.match(bad)
    assert all(len(d.encode()) <= 64 for d in data(ct.chart_keyboard("A" * 20, Plan.ENTERPRISE,
                                                                      "6h")))


def test_refusals_say_what_to_do():
    assert "/setkey" in ct.NO_KEY
    assert "6h, 24h (default), 3d, 7d" in ct.unknown_window("2w", Plan.STARTUP)
    assert "map" in ct.unknown_window("2w", Plan.PROFESSIONAL)
    assert "&lt;b&gt;" in ct.unknown_window("<b>", Plan.STARTUP)
    assert "Did you mean ETH" in ct.unknown_coin("ETHH", ["ETH"])
    assert "Professional" in ct.map_needs_professional(Plan.STARTUP)
    assert "not answering" in ct.coinglass_down("CoinGlass could not be reached")
