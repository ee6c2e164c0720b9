"""Threshold names, values users type, steps of the menu buttons, and per-coin resolution."""

from __future__ import annotations

import re

import pytest

from core.plans import Plan
from core.signals.model import Level
from core.thresholds import (
    DEFAULTS, PRESETS, SPECS, AmbiguousValue, ThresholdError, ThresholdSet, format_value,
    parse_value, visible_specs,
)


def test_spec_defaults_are_the_spec_table():
    assert {k: DEFAULTS[k] for k in ("funding_high", "funding_low", "oi_change", "liquidation_usd",
                                     "long_ratio_high", "short_ratio_high", "divergence_gap",
                                     "taker_bias")} == {
        "funding_high": 0.10, "funding_low": -0.05, "oi_change": 5.0,
        "liquidation_usd": 50_000_000, "long_ratio_high": 65, "short_ratio_high": 60,
        "divergence_gap": 10, "taker_bias": 65}
    assert DEFAULTS["min_level"] == Level.MEDIUM
    assert (DEFAULTS["cooldown_high"], DEFAULTS["cooldown_medium"], DEFAULTS["cooldown_low"]) == (
        30, 60, 360)


@pytest.mark.parametrize("name,text,value", [
    ("oi_change", "3", 3.0), ("oi_change", "2.5%", 2.5), ("liquidation_usd", "25M", 25e6),
    ("liquidation_usd", "1_000_000", 1e6), ("liquidation_usd", "2,500,000", 2.5e6),
    ("min_level", "high", float(Level.HIGH)), ("funding_low", "-0.08", -0.08),
    ("oi_change", "3,5", 3.5), ("liquidation_usd", "50,000,000", 5e7),
    ("liquidation_usd", "50.000.000", 5e7), ("funding_high", "0,05", 0.05),
    ("funding_low", "-0,05", -0.05), ("funding_low", "\u22120.05", -0.05),
    ("liquidation_usd", "50M", 5e7), ("liquidation_usd", "2,5M", 2.5e6),
    ("liquidation_usd", "1.5B", 1.5e9), ("whale_usd", "500k", 5e5), ("oi_change", "+4", 4.0),
    ("divergence_gap", "12%", 12.0), ("cooldown_low", "1,440", None),
])
def test_values_users_type(name, text, value):
    if value is None:           # a value that reads two ways is asked, not guessed
        with pytest.raises(AmbiguousValue):
            parse_value(name, text)
    else:
        assert parse_value(name, text) == value


@pytest.mark.parametrize("name,text,readings,choices,says", [
    ("cooldown_low", "1,500", (1.5, 1500.0), (1.5, 1500.0),
     "cooldown_low: 1,500 could be 1.5 or 1500; send 1.5 or 1500 to say which"),
    ("oi_change", "1,500", (1.5, 1500.0), (1.5,), "only 1.5 is between 0.1 and 100"),
    ("liquidation_usd", "1,500M", (1.5e6, 1.5e9), (1.5e6, 1.5e9), "could be 1.5M or 1.5B"),
    ("wall_usd", "50.000M", (5e7, 5e10), (5e7,), "only 50M is between"),
    ("cooldown_low", "1,125", (1.125, 1125.0), (1.125, 1125.0), "send 1.1250 or 1125"),
])
def test_ambiguous_values_carry_both_readings(name, text, readings, choices, says):
    with pytest.raises(AmbiguousValue) as info:
        parse_value(name, text)
    error = info.value
    assert (error.readings, error.choices, error.name, error.text) == (readings, choices, name, text)
    assert says in str(error)
    assert isinstance(error, ThresholdError)
    # what the question suggests sending is read without another question
    suggested = re.search(r"send (\S+)(?: or (\S+))?", str(error)).groups()
    assert [parse_value(name, text) for text in suggested if text] == list(choices)


@pytest.mark.parametrize("name,text,says", [
    ("oi_change", "abc", "between 0.1 and 100"), ("oi_change", "0", "between"),
    ("oi_change", "nan", "between"), ("oi_change", "inf", "between"),
    ("funding_low", "0.05", "between -5 and -0.005"), ("taker_bias", "50", "between 50.5"),
    ("min_level", "sometimes", "LOW, MEDIUM or HIGH"), ("nope", "1", "unknown threshold"),
    ("oi_change", "5M", "needs a number"), ("oi_change", "5M", "k/M/B suffix only fits"),
    ("liquidation_usd", "5%", "% sign does not fit"), ("liquidation_usd", "1,500", "between 10k"),
    ("oi_change", "12,34,567", "grouped by three"), ("oi_change", "", "needs a number"),
])
def test_bad_values_say_the_valid_range(name, text, says):
    with pytest.raises(ThresholdError, match=says):
        parse_value(name, text)


def test_formatting_reads_like_input():
    assert format_value("liquidation_usd", 50e6) == "50M"
    assert format_value("oi_change", 5.0) == "5"
    assert format_value("min_level", 2.0) == "MEDIUM"
    for name, spec in SPECS.items():
        if name != "min_level":
            assert parse_value(name, format_value(name, spec.default)) == pytest.approx(spec.default)


def test_buttons_step_within_range():
    oi = SPECS["oi_change"]
    assert oi.stepped(5.0, +1) == 5.5 and oi.stepped(0.1, -1) == 0.1
    liq = SPECS["liquidation_usd"]
    assert liq.stepped(50e6, +1) == 75e6 and liq.stepped(50e6, -1) == 33e6


def test_resolution_order_defaults_user_coin():
    values = ThresholdSet.resolve({"oi_change": 3.0, "bogus": 1.0}, {"oi_change": 8.0})
    assert values["oi_change"] == 8.0 and values.overridden == {"oi_change"}
    assert values["funding_high"] == 0.10 and "bogus" not in values.values
    assert values.cooldown_minutes(Level.HIGH) == 30


def test_presets_only_use_known_names_within_range():
    for preset in PRESETS.values():
        for name, value in preset.items():
            assert SPECS[name].minimum <= value <= SPECS[name].maximum


def test_higher_plans_see_more_thresholds():
    hobbyist = {s.name for s in visible_specs(Plan.HOBBYIST)}
    professional = {s.name for s in visible_specs(Plan.PROFESSIONAL)}
    assert "cluster_usd" not in hobbyist and "cluster_usd" in professional
    assert hobbyist < professional


def test_position_guard_thresholds_on_every_plan():
    assert (DEFAULTS["lock_at"], DEFAULTS["trail"]) == (1.5, 1.0)
    hobbyist = {s.name for s in visible_specs(Plan.HOBBYIST)}
    assert {"lock_at", "trail"} <= hobbyist
    assert parse_value("trail", "0.5") == 0.5
    with pytest.raises(ThresholdError, match="between 0.1 and 20"):
        parse_value("trail", "25")
