"""The alert a trader reads at a glance (SPEC §12): the preview line, ≤ ~10 short lines, no
repeated facts, level and confidence that agree or say why, details one tap away."""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

from bot import alert_texts, keyboards
from core.signals.model import Direction, Level, Modifier, Signal
from core.storage.repo import OutboxItem
from tests.bot.test_texts import NOW, SUMMARY, plain

REGIME = Modifier(1.1, "LONG_LIQUIDATION (OI −9.0 %, price −6.3 % over 1h)")


def sig(sid, level, direction, title, confidence, values, modifiers=(REGIME,)) -> Signal:
    return Signal(id=sid, coin="ETH", level=level, direction=direction, title=title,
                  text=f"{title}: the long explanation with every figure.",
                  confidence=confidence, values=values, modifiers=modifiers)


SIX = [
    sig("liquidation_cascade", Level.HIGH, Direction.BEARISH,
        "Long liquidation cascade: $180.0M in 1h", 0.94,
        {"long_usd": 180e6, "short_usd": 4e6, "threshold": 50e6}),
    sig("oi_surge", Level.HIGH, Direction.NEUTRAL, "OI drop: −9.0 % in 1h", 0.49,
        {"oi_change_pct": -9.0, "threshold": 5.0}, modifiers=(Modifier(0.88, "regime"),)),
    sig("ls_extreme", Level.HIGH, Direction.BEARISH, "Retail crowded long: 68.0 % of accounts",
        0.55, {"long_pct": 68.0, "threshold": 65.0}),
    sig("taker_bias", Level.MEDIUM, Direction.BEARISH, "Taker sells: 70.0 % of market orders",
        0.62, {"buy_share_pct": 30.0, "threshold": 35.0}),
    sig("netflow", Level.MEDIUM, Direction.BEARISH, "Netflow −$438.2M in 1h", 0.99,
        {"netflow_usd": -438e6, "threshold": 100e6}),
    sig("oi_price_regime", Level.MEDIUM, Direction.BEARISH,
        "Long liquidation: OI −9.0 %, price −6.3 % (1h)", 0.90,
        {"oi_change_pct": -9.0, "threshold": -2.5}),
]


def item(signals=SIX, created_at=NOW - 5) -> OutboxItem:
    return OutboxItem(id=42, user_id=1, coin="ETH", kind="alert", level=3, payload={
        "signals": [s.to_dict() for s in signals],
        "triggers": {s.id: "new" for s in signals},
        "regime": {"regime": "LONG_LIQUIDATION", "window": "1h", "oi_change_pct": -9.0,
                   "price_change_pct": -6.3, "agree_factor": 1.1, "oppose_factor": 0.92},
        "summary": SUMMARY, "unevaluated": {}}, created_at=created_at, attempts=0)


def test_the_first_line_is_the_point_coin_level_direction_and_number():
    first = plain(alert_texts.alert_brief(item(), NOW)).split("\n")[0]
    assert first == "🔴 ETH ▼ $180M longs liquidated in 1h"


def test_a_six_signal_alert_fits_a_phone_screen():
    text = plain(alert_texts.alert_brief(item(), NOW))
    lines = text.split("\n")
    assert len(lines) <= 12 and len(text) < 1200
    for s in SIX:                                   # each signal once, with its number
        assert sum(1 for line in lines if s.title in line) == 1
    assert "limit $50M" in text and "conf 0.94" in text
    assert "limit 65 %" in text                     # taker: the busy side's share
    assert "limit 2.5 %" in text                    # never a negative limit
    assert text.count("LONG_LIQUIDATION") == 0 and text.count("Regime") == 1
    assert "×1.10" not in text                      # modifiers live in Details


def test_a_high_signal_below_a_medium_ones_confidence_says_why():
    text = plain(alert_texts.alert_brief(item(), NOW))
    oi_line = next(line for line in text.split("\n") if "OI drop" in line)
    assert "0.49 (the regime works against it)" in oi_line
    cascade = next(line for line in text.split("\n") if "cascade" in line)
    assert "conf 0.94*" in cascade                  # below MEDIUM netflow's 0.99: marked
    assert alert_texts.MARGIN_NOTE in text
    calm = item([SIX[0], SIX[3]])                   # nothing outranked: no note
    assert alert_texts.MARGIN_NOTE not in plain(alert_texts.alert_brief(calm, NOW))


def test_the_data_time_is_in_the_users_zone():
    berlin = ZoneInfo("Europe/Berlin")
    text = plain(alert_texts.alert_brief(item(), NOW, berlin))
    assert "CET" in text or "CEST" in text
    assert "UTC" in plain(alert_texts.alert_brief(item(), NOW, timezone.utc))


def test_details_hold_every_figure_and_what_moved_each_confidence():
    details = plain(alert_texts.alert_details(item(), NOW))
    for part in ("Funding", "OI $31.8B", "$95.2M long", "Taker flow", "×1.10 LONG_LIQUIDATION",
                 "the long explanation", "Data as of", "Not financial advice"):
        assert part in details, part


def test_every_alert_carries_details_chart_mute_settings_and_guard():
    markup = keyboards.alert_buttons(42, "ETH")
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data == ["al:more:42", "chart:ETH", "set:open", "pos:new:ETH",
                    "mute:ETH:1h", "mute:ETH:4h", "mute:ETH:day"]
    assert all(len(d.encode()) <= 64 for d in data)
    expanded = keyboards.alert_buttons(42, "ETH", expanded=True, muted=True)
    data = [b.callback_data for row in expanded.inline_keyboard for b in row]
    assert "al:less:42" in data and "mute:ETH:off" in data
