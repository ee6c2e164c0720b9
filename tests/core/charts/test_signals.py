"""The signals a chart's own data decides, through the same engine and thresholds as alerts."""

from __future__ import annotations

from core.charts.signals import CHART_SIGNALS, chart_snapshot, signals_now
from core.plans import Plan
from core.signals.model import Level
from core.thresholds import ThresholdSet
from tests.core.charts.factories import chart_data


def fired(evaluation) -> dict[str, Level]:
    return {s.id: s.level for s in evaluation.signals}


def test_calm_data_fires_nothing_and_checks_all_four():
    evaluation = signals_now(chart_data(Plan.STANDARD, "24h"), ThresholdSet.defaults())
    assert fired(evaluation) == {}
    assert evaluation.unevaluated == {}


def test_funding_above_the_users_threshold_fires_high():
    data = chart_data(funding=0.2)
    assert fired(signals_now(data, ThresholdSet.defaults()))["funding_extreme"] == Level.HIGH
    calm = ThresholdSet.resolve({"funding_high": 0.5})
    assert "funding_extreme" not in fired(signals_now(data, calm))


def test_oi_jump_and_long_liquidations_in_the_last_hour_fire():
    data = chart_data(Plan.STANDARD, "24h", oi_jump_pct=8.0, liq_long_last=60e6)
    signals = fired(signals_now(data, ThresholdSet.defaults()))
    assert signals["oi_surge"] == Level.HIGH
    assert signals["liquidation_cascade"] == Level.HIGH
    snap = chart_snapshot(data)
    assert snap.liquidations.window == "1h"
    assert snap.open_interest.change("1h") > 7.0


def test_four_hour_candles_leave_the_one_hour_signals_unchecked_not_guessed():
    data = chart_data(Plan.HOBBYIST, "7d", oi_jump_pct=8.0, liq_long_last=400e6)
    evaluation = signals_now(data, ThresholdSet.defaults())
    assert "oi_surge" in evaluation.unevaluated
    assert "liquidation_cascade" in evaluation.unevaluated
    assert {"oi_surge", "liquidation_cascade"}.isdisjoint(fired(evaluation))
    assert evaluation.regime is not None and evaluation.regime.window == "4h"


def test_disabled_signals_and_missing_series():
    data = chart_data(funding=0.2, missing={"funding": "CoinGlass error"})
    evaluation = signals_now(data, ThresholdSet.defaults())
    assert "funding_extreme" in evaluation.unevaluated
    only = signals_now(chart_data(funding=0.2), ThresholdSet.defaults(), enabled={"oi_surge"})
    assert fired(only) == {}
    assert set(CHART_SIGNALS) >= set(fired(signals_now(
        chart_data(funding=0.2, oi_jump_pct=9), ThresholdSet.defaults())))
