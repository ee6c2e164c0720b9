"""Presentation without Telegram: what users read, escaped, within Telegram's limits."""

from __future__ import annotations

import html
import re

import pytest

from bot import alert_texts, keyboards, texts
from bot.format import duration, esc, fit, pct, price, split_html, usd
from core.plans import Plan
from core.signals.catalog import SIGNALS
from core.signals.model import Direction, Level, Modifier, Signal
from core.storage.repo import OutboxItem
from core.thresholds import SPECS

NOW = 1_795_000_000.0
TAG = re.compile(r"</?(b|i|code|u|s|a)( [^>]*)?>")


def plain(text: str) -> str:
    """What Telegram shows: tags removed, entities decoded."""
    return html.unescape(TAG.sub("", text))


def signal(sid="liquidation_cascade", level=Level.HIGH, title="Long liquidation cascade",
           text="$95.2M of longs liquidated", **kw) -> Signal:
    return Signal(id=sid, coin="ETH", level=level, direction=Direction.BEARISH, title=title,
                  text=text, confidence=0.84,
                  modifiers=(Modifier(1.1, "LONG_LIQUIDATION (OI −8.9 %, price −6.1 % over 1h)"),
                             Modifier(0.96, "1h/4h OI conflict (+2.1 % vs −1.3 %)")), **kw)


SUMMARY = {
    "coin": "ETH", "data_time": NOW - 30,
    "price": {"price": 2994.9, "change_pct": -6.12, "window": "1h"},
    "funding": {"average_8h_pct": -0.03, "method": "OI-weighted mean of 18 venues"},
    "open_interest": {"usd": 31.8e9, "change_1h": -8.95, "change_4h": -9.25},
    "liquidations": {"window": "1h", "long_usd": 95.2e6, "short_usd": 4.3e6},
    "global_ls": {"long_pct": 68.0, "short_pct": 32.0, "exchange": "Binance", "interval": "1h"},
    "top_ls": {"long_pct": 60.0, "short_pct": 40.0, "exchange": "Binance", "interval": "1h"},
    "taker": {"window": "1h", "buy_share_pct": 30.0, "buy_usd": 1e9, "sell_usd": 2.4e9},
    "missing": {"balances": "error: ExchangeBalance timed out"}, "not_in_plan": ["clusters"],
}


def alert_item(signals, created_at=NOW - 5, summary=SUMMARY) -> OutboxItem:
    return OutboxItem(id=1, user_id=1, coin="ETH", kind="alert", level=3, payload={
        "signals": [s.to_dict() for s in signals], "triggers": {signals[0].id: "new"},
        "regime": {"regime": "LONG_LIQUIDATION", "window": "1h", "oi_change_pct": -8.95,
                   "price_change_pct": -6.12, "agree_factor": 1.1, "oppose_factor": 0.92},
        "summary": summary, "unevaluated": {}}, created_at=created_at, attempts=0)


def test_alert_details_have_every_figure_a_trader_needs():
    text = plain(alert_texts.alert_details(alert_item([signal()]), NOW))
    for part in ("ETH ▼", "Price $2,994.9 (−6.12 % 1h)", "Funding −0.0300 %/8h",
                 "OI $31.8B (−8.95 % 1h, −9.25 % 4h)", "$95.2M long / $4.3M short",
                 "retail 68.0 % long vs top traders 60.0 % long", "30 % buy / 70 % sell",
                 "Long liquidation cascade", "[new]", "Confidence 0.84",
                 "×1.10 LONG_LIQUIDATION", "×0.96 1h/4h OI conflict",
                 "Regime: longs closing", "Missing: exchange balances",
                 "Data as of", "Not financial advice"):
        assert part in text, part
    assert text.count("Not financial advice") == 1
    assert "late" not in text


def test_late_delivery_says_how_late():
    text = plain(alert_texts.alert_brief(alert_item([signal()], created_at=NOW - 600), NOW))
    assert "10 min late" in text


def test_alert_escapes_everything_and_stays_within_4096():
    evil = [signal(sid=f"s{i}", title="<script>&" * 5, text="<b>" + "x" * 900)
            for i in range(12)]
    rendered = alert_texts.alert_details(alert_item(evil), NOW)
    assert len(rendered) <= 4096
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert "ETH ▼" in rendered and "Not financial advice" in rendered


def test_snapshot_text_without_signals_and_partial_data():
    summary = {"coin": "SOL", "data_time": NOW, "missing": {"taker": "rate limited"},
               "not_in_plan": ["walls", "clusters"],
               "price": {"price": 140.12, "change_pct": None, "window": "4h"}}
    text = plain(texts.snapshot_text(summary, [], None,
                                     {"taker_bias": "no taker flow (rate limited)",
                                      "oi_surge": "no open interest (no 1h change)"}, NOW))
    assert "Price $140.12" in text and "No signal fires" in text
    assert "Missing: taker flow (rate limited)" in text
    assert "Not evaluated: OI surge — no open interest (no 1h change)" in text
    assert "taker_bias" not in text                     # already said by the missing line
    assert "Not in your plan: order-book walls, liquidation clusters" in text


def test_help_lists_every_command_once():
    text = texts.help_text()
    for name, _ in texts.COMMANDS:
        assert f"/{name} " in text
    assert "/admin" not in text and "/admin" in texts.help_text(is_admin=True)


def test_notices_point_the_way_back():
    assert "/setkey" in texts.notice_text({"notice": "key_rejected"})
    assert "coinglass.com/pricing" in texts.notice_text({"notice": "plan_lapsed"})
    refused = plain(texts.notice_text({"notice": "endpoints_refused",
                                       "sections": ["order-book walls"], "plans": ["Standard"]}))
    assert "order-book walls" in refused and "Standard" in refused


def test_unknown_command_is_escaped():
    assert texts.unknown_command("/<b>x") == "I don't know /&lt;b&gt;x — /help lists what I can do."


def test_every_callback_fits_telegrams_64_bytes():
    markups = [keyboards.settings_signals(Plan.ENTERPRISE, set()),
               keyboards.settings_thresholds(Plan.ENTERPRISE, {n: s.default for n, s in SPECS.items()}),
               keyboards.popular_coins([]), keyboards.settings_presets(), keyboards.forget_confirm()]
    markups += [keyboards.settings_threshold(name) for name in SPECS]
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                assert len(button.callback_data.encode()) <= 64


def test_signals_menu_shows_only_the_plans_signals():
    markup = keyboards.settings_signals(Plan.HOBBYIST, {"taker_bias"})
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert "⛔ Taker bias" in labels
    assert not any("Liquidation cluster" in label for label in labels)
    assert len([s for s in SIGNALS if s.min_plan == Plan.HOBBYIST]) == len(labels) - 1


@pytest.mark.parametrize("value,text", [(95.2e6, "$95.2M"), (31.8e9, "$31.8B"), (512, "$512"),
                                        (-1.5e6, "−$1.5M"), (None, "n/a")])
def test_usd(value, text):
    assert usd(value) == text


def test_small_formatters():
    assert pct(-6.123) == "−6.12 %" and pct(0.5) == "+0.50 %" and pct(0) == "±0.00 %"
    assert price(96460.12) == "$96,460.1" and price(0.000123) == "$0.000123"
    assert duration(600) == "10 min" and duration(7200) == "2 h" and duration(30) == "30 s"
    assert esc("<a & b>") == "&lt;a &amp; b&gt;"


def test_split_and_fit_keep_whole_lines():
    lines = [f"line {i} " + "x" * 100 for i in range(100)]
    chunks = split_html("\n".join(lines))
    assert all(len(c) <= 4096 for c in chunks) and "\n".join(chunks) == "\n".join(lines)
    fitted = fit(lines, 1000)
    assert len(fitted) <= 1000 and fitted.endswith("(shortened)")
