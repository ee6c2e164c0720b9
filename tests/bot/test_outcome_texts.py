"""What users read about outcomes and previews: /history lines, /stats, the preview line."""

from __future__ import annotations

import html
import re
from datetime import timezone

from bot import texts
from bot.outcome_texts import outcome_line, stats_text
from bot.preview_texts import pending_text, preview_text, reason_text
from core.evaluation import Prefs
from core.outcomes import AlertRecord, Outcome, stats
from core.plans import Plan
from core.previews import PreviewAsk, PreviewPlan, PreviewResult
from core.replay import FOUR_HOUR_NOTE, Preview
from core.signals.model import Direction
from core.storage.outcomes import OutcomeRow
from core.storage.repo import OutboxItem

NOW = 1_795_000_000.0
T = NOW - 5 * 3600
HORIZONS = (3600, 14400, 86400)
TAG = re.compile(r"</?(b|i|code)>")


def plain(text: str) -> str:
    return html.unescape(TAG.sub("", text))


def item(direction: str = "bearish", price: float | None = 100.0, alert_id: int = 1) -> OutboxItem:
    summary = {"price": {"price": price}} if price else {}
    payload = {"signals": [{"id": "liquidation_cascade", "coin": "ETH", "level": "HIGH",
                            "direction": direction, "title": "Long liquidation cascade",
                            "text": "", "confidence": 0.9, "values": {}, "modifiers": [],
                            "data_time": T}],
               "triggers": {"liquidation_cascade": "new"}, "summary": summary}
    return OutboxItem(alert_id, 7, "ETH", "alert", 3, payload, T, 1, "sent", T, data_time=T)


def row(horizon: int, price: float | None, low: float = -3.0, high: float = 1.0) -> OutcomeRow:
    move = None if price is None else price - 100.0
    return OutcomeRow(1, horizon, 7, "ETH", 100.0, price, T + horizon, move, low, high,
                      "missed" if price is None else "poll", T + horizon)


def test_the_line_reads_like_the_spec():
    line = outcome_line(item(), {3600: row(3600, 99.0), 14400: row(14400, 97.6)}, HORIZONS, NOW,
                        timezone.utc)
    assert line.startswith("▼ −2.4 % after 4h ✓")
    assert "24h at" in line                                   # what is still to come


def test_against_the_direction_flat_and_neutral():
    assert "after 1h ✗" in outcome_line(item("bullish"), {3600: row(3600, 98.0)}, (3600,), NOW)
    assert outcome_line(item(), {3600: row(3600, 100.05)}, (3600,), NOW) == \
        "▲ +0.05 % after 1h · flat"
    neutral = outcome_line(item("neutral"), {3600: row(3600, 101.0)}, (3600,), NOW)
    assert neutral == "▲ +1.0 % after 1h · range −3.0 % to +1.0 %"


def test_waiting_missed_and_no_price():
    assert outcome_line(item(), {}, HORIZONS, NOW).startswith("⏳ outcome after 1h")
    assert outcome_line(item(), {3600: row(3600, None)}, (3600,), NOW) == "no price near 1h"
    assert outcome_line(item(price=None), {}, HORIZONS, NOW) is None


def test_history_puts_the_outcome_under_its_alert():
    items = [item(alert_id=1), item(alert_id=2)]
    text = plain(texts.history_text(items, NOW, timezone.utc, outcomes={1: "▼ −2.4 % after 4h ✓"}))
    lines = text.split("\n")
    assert lines[1].startswith("1.") and lines[2].strip() == "▼ −2.4 % after 4h ✓"
    assert lines[3].startswith("2.") and len(lines) == 4


def records(n: int, signal_id: str, direction: Direction, moves: list[float]) -> list:
    return [AlertRecord(signal_id, "ETH", direction, NOW - 60 * i,
                        {3600: Outcome(m, (m < 0) == (direction is Direction.BEARISH)
                                       if direction is not Direction.NEUTRAL else None),
                         14400: Outcome(m, (m < 0) == (direction is Direction.BEARISH)
                                        if direction is not Direction.NEUTRAL else None)})
            for i, m in zip(range(n), moves)]


def test_stats_none_few_many():
    none = plain(stats_text([], days=30, coin=None, horizons=(3600, 14400), measured=HORIZONS))
    assert "no record yet" in none and "1h, 4h, 24h after it fires" in none
    few = stats(records(3, "taker_bias", Direction.BULLISH, [1, 2, 3]), 0)
    text = plain(stats_text(few, days=7, coin="ETH", horizons=(3600, 14400)))
    assert "last 7 days · ETH" in text
    assert "Taker bias · 3 alerts · not enough alerts yet" in text
    many = stats(records(6, "liquidation_cascade", Direction.BEARISH, [-2, -1, -3, 1, -4, -2])
                 + records(5, "oi_surge", Direction.NEUTRAL, [1, -2, 3, -4, 5]), 0)
    text = plain(stats_text(many, days=30, coin=None, horizons=(3600, 14400)))
    lines = text.split("\n")
    first = lines.index(next(l for l in lines if l.startswith("Liquidation cascade")))
    assert lines[first] == ("Liquidation cascade · 6 alerts · agreed 83 % at 1h / 83 % at 4h · "
                            "median +2.0 % · best +4.0 % · worst −1.0 % at 4h")
    assert lines[first + 1] == ("OI surge · 5 alerts · no direction: median move 3.0 %, "
                                "largest 5.0 % at 4h")
    assert "your own thresholds" in text and "not a forecast" in text
    assert "Not financial advice" in text


def plan(**kw) -> PreviewPlan:
    ask = PreviewAsk(7, ("liquidation_usd",), Prefs({}), Prefs({"liquidation_usd": 30e6}))
    base = dict(coins=("ETH", "BTC"), plan=Plan.STANDARD, resolution="1h",
                signals=("liquidation_cascade",), series=("liquidations",), requests=2)
    base.update(kw)
    return PreviewPlan(ask, **base)


def test_the_preview_line_reads_like_the_spec():
    p = plan()
    result = PreviewResult(p, Preview(5, 1, ("ETH", "BTC"), "1h", None,
                                      {"ETH": (3, 1), "BTC": (2, 0)}, p.signals))
    text = plain(preview_text(result))
    assert text.split("\n")[0] == "📊 liquidation_usd 30M → 5 alerts in 7 days on ETH, BTC (at 50M: 1)"
    assert text.split("\n")[1] == "ETH 3 (was 1) · BTC 2 (was 0)"


def test_preview_notes_and_other_answers():
    p = plan(resolution="4h", dropped=("smart_money_divergence",))
    result = PreviewResult(p, Preview(1, 1, ("ETH",), "4h", None, {"ETH": (1, 1)}, p.signals,
                                      FOUR_HOUR_NOTE, gaps=2))
    text = plain(preview_text(result))
    assert "1 alert in 7 days" in text and "4h candles" in text
    assert "Not counted: Smart-money divergence" in text and "2 candles had gaps" in text
    assert "busy with polling" in plain(pending_text(plan(short=True)))
    assert "busy" not in plain(pending_text(plan()))
    assert plain(reason_text("no history to replay: x <y>")) == \
        "📊 No preview: no history to replay: x <y>."
    failed = plain(preview_text(PreviewResult(p, error="CoinGlass did not answer")))
    assert failed.startswith("📊 Preview unavailable: CoinGlass did not answer")
    preset = PreviewAsk(7, ("oi_change", "taker_bias"), Prefs({}), Prefs({}), preset="aggressive")
    result = PreviewResult(plan(coins=("ETH",)), Preview(4, 2, ("ETH",), "1h", None,
                                                          {"ETH": (4, 2)}, ()))
    result = PreviewResult(PreviewPlan(preset, coins=("ETH",)), result.preview)
    assert plain(preview_text(result)) == "📊 preset aggressive → 4 alerts in 7 days on ETH (before: 2)"
