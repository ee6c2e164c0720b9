"""The six core signals just below, at and just above every threshold, both directions.

Each case names the threshold overrides (none = SPEC defaults), the sections that differ from a
calm market, and the expected (level, direction) — or None when the signal must stay quiet.
Non-default thresholds prove the rules read ``thresholds[...]`` instead of constants.
"""

from __future__ import annotations

import pytest

from core.signals.engine import evaluate
from tests.core.signals.factories import (
    funding, liquidations, open_interest, ratio, snap, taker, th,
)
from tests.core.signals.helpers import fired, the

HIGH_BEAR = ("HIGH", "bearish")
HIGH_BULL = ("HIGH", "bullish")
HIGH_NEUTRAL = ("HIGH", "neutral")
MED_BEAR = ("MEDIUM", "bearish")
MED_BULL = ("MEDIUM", "bullish")
MED_NEUTRAL = ("MEDIUM", "neutral")

M = 1e6
E = 1e-4  # "just" past a percentage threshold

CASES = [
    # ── funding_extreme: > funding_high HIGH bearish, < funding_low HIGH bullish,
    #    |avg| > 0.6 × funding_high MEDIUM by sign ─────────────────────────────────────
    ("funding high: just above", "funding_extreme", {}, dict(funding=funding(0.1 + E)), HIGH_BEAR),
    ("funding high: at", "funding_extreme", {}, dict(funding=funding(0.1)), MED_BEAR),
    ("funding high: just below", "funding_extreme", {}, dict(funding=funding(0.1 - E)), MED_BEAR),
    ("funding medium: just above", "funding_extreme", {}, dict(funding=funding(0.6 * 0.1 + E)),
     MED_BEAR),
    ("funding medium: at", "funding_extreme", {}, dict(funding=funding(0.6 * 0.1)), None),
    ("funding medium: just below", "funding_extreme", {}, dict(funding=funding(0.06 - E)), None),
    ("funding low: just below", "funding_extreme", {}, dict(funding=funding(-0.05 - E)), HIGH_BULL),
    ("funding low: at", "funding_extreme", {}, dict(funding=funding(-0.05)), None),
    ("funding low: just above", "funding_extreme", {}, dict(funding=funding(-0.05 + E)), None),
    ("funding medium negative: just past", "funding_extreme", {"funding_low": -0.2},
     dict(funding=funding(-0.06 - E)), MED_BULL),
    ("funding medium negative: at", "funding_extreme", {"funding_low": -0.2},
     dict(funding=funding(-0.6 * 0.1)), None),
    ("funding non-default high: 0.15 is only MEDIUM", "funding_extreme", {"funding_high": 0.2},
     dict(funding=funding(0.15)), MED_BEAR),
    ("funding non-default high: above", "funding_extreme", {"funding_high": 0.2},
     dict(funding=funding(0.2 + E)), HIGH_BEAR),
    ("funding non-default medium band: 0.07 quiet", "funding_extreme", {"funding_high": 0.2},
     dict(funding=funding(0.07)), None),
    ("funding non-default low", "funding_extreme", {"funding_low": -0.01},
     dict(funding=funding(-0.01 - E)), HIGH_BULL),
    # ── oi_surge: |1h change| > oi_change HIGH, > 0.5 × MEDIUM, always neutral ──────────
    ("oi up: just above", "oi_surge", {}, dict(open_interest=open_interest(5 + E, 5)),
     HIGH_NEUTRAL),
    ("oi up: at", "oi_surge", {}, dict(open_interest=open_interest(5.0, 5)), MED_NEUTRAL),
    ("oi up: just below", "oi_surge", {}, dict(open_interest=open_interest(5 - E, 5)), MED_NEUTRAL),
    ("oi down: just past", "oi_surge", {}, dict(open_interest=open_interest(-5 - E, -5)),
     HIGH_NEUTRAL),
    ("oi down: at", "oi_surge", {}, dict(open_interest=open_interest(-5.0, -5)), MED_NEUTRAL),
    ("oi medium: just above", "oi_surge", {}, dict(open_interest=open_interest(2.5 + E)),
     MED_NEUTRAL),
    ("oi medium: at", "oi_surge", {}, dict(open_interest=open_interest(2.5)), None),
    ("oi medium: just below", "oi_surge", {}, dict(open_interest=open_interest(2.5 - E)), None),
    ("oi medium down: just past", "oi_surge", {}, dict(open_interest=open_interest(-2.5 - E)),
     MED_NEUTRAL),
    ("oi medium down: at", "oi_surge", {}, dict(open_interest=open_interest(-2.5)), None),
    ("oi non-default: 6 % is MEDIUM at 8", "oi_surge", {"oi_change": 8.0},
     dict(open_interest=open_interest(6.0)), MED_NEUTRAL),
    ("oi non-default: 3.9 % quiet at 8", "oi_surge", {"oi_change": 8.0},
     dict(open_interest=open_interest(3.9)), None),
    ("oi non-default: 2.1 % HIGH at 2", "oi_surge", {"oi_change": 2.0},
     dict(open_interest=open_interest(-2.1)), HIGH_NEUTRAL),
    # ── liquidation_cascade: long side > L HIGH bearish; short side > L HIGH bullish;
    #    total > 0.5 L MEDIUM by the larger side ──────────────────────────────────────
    ("long liq: just above", "liquidation_cascade", {},
     dict(liquidations=liquidations(50 * M + 1, 1 * M)), HIGH_BEAR),
    ("long liq: at (total still MEDIUM)", "liquidation_cascade", {},
     dict(liquidations=liquidations(50 * M, 1 * M)), MED_BEAR),
    ("short liq: just above", "liquidation_cascade", {},
     dict(liquidations=liquidations(1 * M, 50 * M + 1)), HIGH_BULL),
    ("short liq: at", "liquidation_cascade", {},
     dict(liquidations=liquidations(1 * M, 50 * M)), MED_BULL),
    ("both sides above: long wins", "liquidation_cascade", {},
     dict(liquidations=liquidations(60 * M, 70 * M)), HIGH_BEAR),
    ("total: just above, longs lead", "liquidation_cascade", {},
     dict(liquidations=liquidations(20 * M, 5 * M + 1)), MED_BEAR),
    ("total: just above, shorts lead", "liquidation_cascade", {},
     dict(liquidations=liquidations(5 * M + 1, 20 * M)), MED_BULL),
    ("total: just above, even", "liquidation_cascade", {},
     dict(liquidations=liquidations(12.5 * M + 1, 12.5 * M + 1)), MED_NEUTRAL),
    ("total: at", "liquidation_cascade", {},
     dict(liquidations=liquidations(12.5 * M, 12.5 * M)), None),
    ("total: just below", "liquidation_cascade", {},
     dict(liquidations=liquidations(12.5 * M, 12.5 * M - 1)), None),
    ("liq non-default: $12M long HIGH at $10M", "liquidation_cascade",
     {"liquidation_usd": 10 * M}, dict(liquidations=liquidations(12 * M, 0)), HIGH_BEAR),
    ("liq non-default: $60M long only MEDIUM at $100M", "liquidation_cascade",
     {"liquidation_usd": 100 * M}, dict(liquidations=liquidations(60 * M, 0)), MED_BEAR),
    # ── ls_extreme: long share > long_ratio_high HIGH bearish; short share >
    #    short_ratio_high MEDIUM bullish ─────────────────────────────────────────────
    ("longs: just above", "ls_extreme", {}, dict(global_ls=ratio(65 + E), top_ls=ratio(65)),
     HIGH_BEAR),
    ("longs: at", "ls_extreme", {}, dict(global_ls=ratio(65.0), top_ls=ratio(65)), None),
    ("longs: just below", "ls_extreme", {}, dict(global_ls=ratio(65 - E), top_ls=ratio(65)), None),
    ("shorts: just above", "ls_extreme", {}, dict(global_ls=ratio(40 - E), top_ls=ratio(40)),
     MED_BULL),
    ("shorts: at", "ls_extreme", {}, dict(global_ls=ratio(40.0), top_ls=ratio(40)), None),
    ("shorts: just below", "ls_extreme", {}, dict(global_ls=ratio(40 + E), top_ls=ratio(40)),
     None),
    ("longs non-default: 68 % quiet at 70", "ls_extreme", {"long_ratio_high": 70.0},
     dict(global_ls=ratio(68.0), top_ls=ratio(68)), None),
    ("longs non-default: 61 % HIGH at 60", "ls_extreme", {"long_ratio_high": 60.0},
     dict(global_ls=ratio(61.0), top_ls=ratio(61)), HIGH_BEAR),
    ("shorts non-default: 56 % MEDIUM at 55", "ls_extreme", {"short_ratio_high": 55.0},
     dict(global_ls=ratio(44.0), top_ls=ratio(44)), MED_BULL),
    # ── smart_money_divergence: top long − retail long, |gap| >= divergence_gap HIGH ───
    ("gap bullish: at", "smart_money_divergence", {},
     dict(global_ls=ratio(50.0), top_ls=ratio(60.0)), HIGH_BULL),
    ("gap bullish: just above", "smart_money_divergence", {},
     dict(global_ls=ratio(50.0), top_ls=ratio(60 + E)), HIGH_BULL),
    ("gap bullish: just below", "smart_money_divergence", {},
     dict(global_ls=ratio(50.0), top_ls=ratio(60 - E)), None),
    ("gap bearish: at", "smart_money_divergence", {},
     dict(global_ls=ratio(50.0), top_ls=ratio(40.0)), HIGH_BEAR),
    ("gap bearish: just beyond", "smart_money_divergence", {},
     dict(global_ls=ratio(50.0), top_ls=ratio(40 - E)), HIGH_BEAR),
    ("gap bearish: just inside", "smart_money_divergence", {},
     dict(global_ls=ratio(50.0), top_ls=ratio(40 + E)), None),
    ("gap non-default: 12 points quiet at 15", "smart_money_divergence", {"divergence_gap": 15.0},
     dict(global_ls=ratio(50.0), top_ls=ratio(62.0)), None),
    ("gap non-default: 7 points HIGH at 7", "smart_money_divergence", {"divergence_gap": 7.0},
     dict(global_ls=ratio(50.0), top_ls=ratio(43.0)), HIGH_BEAR),
    # ── taker_bias: buy share > taker_bias MEDIUM bullish; < 100 − taker_bias bearish ──
    ("buys: just above", "taker_bias", {}, dict(taker=taker(65.01, 34.99)), MED_BULL),
    ("buys: at", "taker_bias", {}, dict(taker=taker(65.0)), None),
    ("buys: just below", "taker_bias", {}, dict(taker=taker(64.99, 35.01)), None),
    ("sells: just above", "taker_bias", {}, dict(taker=taker(34.99, 65.01)), MED_BEAR),
    ("sells: at", "taker_bias", {}, dict(taker=taker(35.0)), None),
    ("sells: just below", "taker_bias", {}, dict(taker=taker(35.01, 64.99)), None),
    ("taker non-default: 62 % buys at 60", "taker_bias", {"taker_bias": 60.0},
     dict(taker=taker(62.0)), MED_BULL),
    ("taker non-default: 68 % buys quiet at 70", "taker_bias", {"taker_bias": 70.0},
     dict(taker=taker(68.0)), None),
    ("taker non-default: 29 % buys bearish at 70", "taker_bias", {"taker_bias": 70.0},
     dict(taker=taker(29.0)), MED_BEAR),
]


@pytest.mark.parametrize(
    "signal_id, overrides, sections, expected",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_threshold_edges(signal_id, overrides, sections, expected):
    ev = evaluate(snap(**sections), th(**overrides))
    assert fired(ev, signal_id) == expected


def test_calm_market_fires_nothing():
    ev = evaluate(snap(), th())
    assert ev.signals == ()
    assert ev.unevaluated == {}


def test_funding_text_names_the_average_and_venue_count():
    f = funding(0.1234, venues=12, method="OI-weighted mean of 12 USDT-margined venues")
    s = the(evaluate(snap(funding=f), th()), "funding_extreme")
    assert s.title == "Funding extreme: +0.1234 %/8h"
    assert "OI-weighted mean of 12 USDT-margined venues" in s.text
    assert "12 venues" in s.text
    assert "per 8 h" in s.text or "/8h" in s.text
    assert s.values == {"funding_8h_pct": 0.1234, "threshold": 0.1, "venues": 12.0}
    assert s.data_time == f.time
    assert s.coin == "BTC"


def test_negative_funding_reads_with_a_minus_sign():
    s = the(evaluate(snap(funding=funding(-0.08)), th()), "funding_extreme")
    assert s.title == "Funding extreme: −0.0800 %/8h"
    assert "Shorts are paying" in s.text


def test_oi_text_says_surged_or_dropped_with_percent_and_total():
    up = the(evaluate(snap(open_interest=open_interest(6.2, 6, total=12.3e9)), th()), "oi_surge")
    assert "surged +6.2 %" in up.text and "$12.3B" in up.text
    assert up.title == "OI surge: +6.2 % in 1h"
    down = the(evaluate(snap(open_interest=open_interest(-6.2, -6, total=4.5e8)), th()),
               "oi_surge")
    assert "dropped −6.2 %" in down.text and "$450.0M" in down.text
    assert "not directional" in down.text


def test_divergence_compares_long_share_with_long_share():
    # The reference monitor printed the top traders' SHORT share beside retail's LONG share.
    ev = evaluate(snap(global_ls=ratio(58.0), top_ls=ratio(72.0)), th())
    s = the(ev, "smart_money_divergence")
    assert "top traders 72.0 % long vs retail 58.0 % long" in s.text.lower()
    assert "28.0" not in s.text and "42.0" not in s.text       # no short shares mixed in
    assert s.values["gap_pts"] == pytest.approx(14.0)

    bear = the(evaluate(snap(global_ls=ratio(62.0), top_ls=ratio(45.0)), th()),
               "smart_money_divergence")
    assert "top traders 45.0 % long vs retail 62.0 % long" in bear.text.lower()


def test_texts_carry_no_disclaimer_and_name_the_window():
    ev = evaluate(snap(funding=funding(0.2), open_interest=open_interest(7, 8),
                       liquidations=liquidations(80 * M, 1 * M), global_ls=ratio(70),
                       top_ls=ratio(50), taker=taker(80)), th())
    assert len(ev.signals) == 6
    for s in ev.signals:
        assert "financial advice" not in s.text.lower()
        assert "\n" not in s.text
    assert "last 1h" in the(ev, "liquidation_cascade").text
    assert "last 1h" in the(ev, "taker_bias").text
    assert "latest 1h candle" in the(ev, "ls_extreme").text


@pytest.mark.parametrize("value, expected", [
    (0.1 + 1e-9, 0.4),   # just past the threshold: the floor
    (0.15, 0.65),        # halfway to twice the threshold
    (0.2, 0.9),          # twice the threshold: the ceiling
    (5.0, 0.9),
])
def test_confidence_grows_with_distance_past_the_threshold(value, expected):
    s = the(evaluate(snap(funding=funding(value)), th()), "funding_extreme")
    assert s.confidence == pytest.approx(expected, abs=1e-3)
    assert s.modifiers == ()
