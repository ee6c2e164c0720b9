"""OI × price regime: quadrants, dead band, the MEDIUM regime signal, modifiers, 1h/4h conflict."""

from __future__ import annotations

import pytest

from core.signals.engine import evaluate
from core.signals.model import Direction, Modifier, Regime
from core.signals.regime import REGIME_EFFECTS, REGIME_TABLE, classify
from tests.core.signals.factories import (
    funding, open_interest, price, ratio, snap, taker, th,
)
from tests.core.signals.helpers import fired, the


def regime_of(oi: float, px: float, window: str = "1h", **overrides: float):
    kwargs = {"h1": oi} if window == "1h" else {"h1": 0.1, "h4": oi}
    ev = evaluate(snap(open_interest=open_interest(**kwargs), price=price(px, window)),
                  th(**overrides))
    return ev.regime


@pytest.mark.parametrize("oi, px, expected", [
    (3.0, 1.0, Regime.CONFIRM_BULL),
    (3.0, -1.0, Regime.CONFIRM_BEAR),
    (-3.0, -1.0, Regime.LONG_LIQUIDATION),
    (-3.0, 1.0, Regime.SHORT_SQUEEZE),
])
def test_four_quadrants(oi, px, expected):
    reading = regime_of(oi, px)
    assert reading.regime is expected
    assert (reading.window, reading.oi_change_pct, reading.price_change_pct) == ("1h", oi, px)
    effect = REGIME_EFFECTS[expected]
    assert (reading.agree_factor, reading.oppose_factor) == (effect.agree_factor,
                                                              effect.oppose_factor)


def test_regime_uses_the_price_window_for_open_interest():
    # Hobbyist plans get 4h price history: OI must be read over 4h too, not 1h.
    reading = regime_of(-3.0, -1.0, window="4h")
    assert reading.regime is Regime.LONG_LIQUIDATION
    assert reading.window == "4h" and reading.oi_change_pct == -3.0


@pytest.mark.parametrize("oi, px, expected", [
    # OI dead band (regime_oi_min = 1.0): below → NEUTRAL, at and above → called
    (0.99, 1.0, Regime.NEUTRAL),
    (1.0, 1.0, Regime.CONFIRM_BULL),
    (1.01, 1.0, Regime.CONFIRM_BULL),
    (-0.99, -1.0, Regime.NEUTRAL),
    (-1.0, -1.0, Regime.LONG_LIQUIDATION),
    # price dead band (regime_price_min = 0.5)
    (3.0, 0.49, Regime.NEUTRAL),
    (3.0, 0.5, Regime.CONFIRM_BULL),
    (3.0, -0.5, Regime.CONFIRM_BEAR),
    (-3.0, 0.51, Regime.SHORT_SQUEEZE),
    (-3.0, -0.49, Regime.NEUTRAL),
    (0.0, 0.0, Regime.NEUTRAL),
])
def test_dead_band(oi, px, expected):
    assert regime_of(oi, px).regime is expected


def test_dead_band_reads_the_thresholds():
    assert regime_of(1.5, 1.0, regime_oi_min=2.0).regime is Regime.NEUTRAL
    assert regime_of(2.0, 1.0, regime_oi_min=2.0).regime is Regime.CONFIRM_BULL
    assert regime_of(3.0, 0.2, regime_price_min=0.25).regime is Regime.NEUTRAL
    assert regime_of(3.0, 0.25, regime_price_min=0.25).regime is Regime.CONFIRM_BULL


def test_zero_change_has_no_sign_even_with_a_zero_dead_band():
    assert classify(0.0, 1.0, 0.0, 0.0) is Regime.NEUTRAL
    assert classify(2.0, 0.0, 0.0, 0.0) is Regime.NEUTRAL
    assert classify(float("nan"), 1.0, 0.0, 0.0) is Regime.NEUTRAL


def test_regime_is_none_without_open_interest_or_price():
    assert evaluate(snap(price=None), th()).regime is None
    assert evaluate(snap(open_interest=None), th()).regime is None
    ev = evaluate(snap(open_interest=open_interest(h1=2.0, h4=None), price=price(1.0, "4h")), th())
    assert ev.regime is None
    assert ev.unevaluated == {"oi_price_regime": "no open interest (no 4h change)"}


# ── the MEDIUM oi_price_regime signal: OI drop ≥ 0.5 × oi_change into LL or SS ─────────

@pytest.mark.parametrize("oi, px, overrides, expected", [
    (-2.5, -1.0, {}, ("MEDIUM", "bearish")),           # at 0.5 × oi_change
    (-2.51, -1.0, {}, ("MEDIUM", "bearish")),
    (-2.49, -1.0, {}, None),
    (-2.5, 1.0, {}, ("MEDIUM", "bullish")),
    (-2.49, 1.0, {}, None),
    (-4.0, 1.0, {"oi_change": 10.0}, None),            # needs −5 at oi_change 10
    (-5.0, 1.0, {"oi_change": 10.0}, ("MEDIUM", "bullish")),
    (3.0, -1.0, {}, None),                             # CONFIRM_BEAR is no signal
    (3.0, 1.0, {}, None),                              # nor CONFIRM_BULL
    (-3.0, -0.4, {}, None),                            # price inside the dead band
])
def test_regime_signal(oi, px, overrides, expected):
    ev = evaluate(snap(open_interest=open_interest(oi, oi), price=price(px)), th(**overrides))
    assert fired(ev, "oi_price_regime") == expected


def test_regime_signal_text_and_values():
    ev = evaluate(snap(open_interest=open_interest(-3.2, -3.0), price=price(-1.4)), th())
    s = the(ev, "oi_price_regime")
    assert s.title == "Long liquidation: OI −3.2 %, price −1.4 % (1h)"
    assert "LONG_LIQUIDATION" in s.text and "last 1h" in s.text
    assert s.values == {"oi_change_pct": -3.2, "price_change_pct": -1.4, "threshold": -2.5}
    # The regime does not modify its own signal.
    assert s.modifiers == ()


# ── modifiers ─────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("oi, px, regime, bullish_factor, bearish_factor", [
    (3.2, 1.1, Regime.CONFIRM_BULL, 1.15, 0.88),
    (3.2, -1.1, Regime.CONFIRM_BEAR, 0.88, 1.15),
    (-1.5, -1.1, Regime.LONG_LIQUIDATION, 0.92, 1.10),
    (-1.5, 1.1, Regime.SHORT_SQUEEZE, 1.10, 0.92),
])
def test_regime_modifies_other_signals_by_direction(oi, px, regime, bullish_factor,
                                                    bearish_factor):
    # taker buys → bullish; crowded retail longs → bearish; OI ±3.2 % → MEDIUM oi_surge (neutral)
    ev = evaluate(snap(open_interest=open_interest(oi, oi), price=price(px), taker=taker(75.0),
                       global_ls=ratio(70.0), top_ls=ratio(70.0)), th())
    assert ev.regime.regime is regime
    reason = f"{regime.value} (OI {oi:+.1f} %, price {px:+.1f} % over 1h)".replace("-", "−")
    bull, bear = the(ev, "taker_bias"), the(ev, "ls_extreme")
    assert bull.modifiers == (Modifier(bullish_factor, reason),)
    assert bear.modifiers == (Modifier(bearish_factor, reason),)
    # confidence = base × factor; the base is the unmodified confidence of the same snapshot
    calm = evaluate(snap(taker=taker(75.0), global_ls=ratio(70.0), top_ls=ratio(70.0)), th())
    assert bull.confidence == pytest.approx(the(calm, "taker_bias").confidence * bullish_factor,
                                            abs=2e-3)
    assert bear.confidence == pytest.approx(the(calm, "ls_extreme").confidence * bearish_factor,
                                            abs=2e-3)


def test_reason_reads_like_the_spec():
    ev = evaluate(snap(open_interest=open_interest(3.2, 3.0), price=price(1.1),
                       taker=taker(75.0)), th())
    reason = the(ev, "taker_bias").modifiers[0].reason
    assert reason == "CONFIRM_BULL (OI +3.2 %, price +1.1 % over 1h)"
    assert the(ev, "taker_bias").modifiers[0].describe().startswith("×1.15 CONFIRM_BULL")


def test_neutral_direction_and_neutral_regime_get_no_regime_modifier():
    ev = evaluate(snap(open_interest=open_interest(6.0, 6.0), price=price(1.1)), th())
    assert ev.regime.regime is Regime.CONFIRM_BULL
    assert the(ev, "oi_surge").modifiers == ()                 # OI alone is not directional
    ev = evaluate(snap(price=price(0.1), taker=taker(75.0)), th())
    assert ev.regime.regime is Regime.NEUTRAL
    assert the(ev, "taker_bias").modifiers == ()


def test_regime_table_factors_stay_within_the_spec_bounds():
    for e in REGIME_TABLE:
        assert 0.88 <= e.agree_factor <= 1.15 and 0.88 <= e.oppose_factor <= 1.15
        if e.regime is Regime.NEUTRAL:
            assert (e.agree_factor, e.oppose_factor, e.favours) == (1.0, 1.0, Direction.NEUTRAL)
        else:
            assert e.agree_factor > 1 > e.oppose_factor
    assert [e.regime for e in REGIME_TABLE] == list(Regime)


# ── 1h/4h OI conflict: strictly opposite signs → ×0.96 on every signal ─────────────────

@pytest.mark.parametrize("h1, h4, conflict", [
    (2.1, -1.3, True),
    (-2.1, 1.3, True),
    (2.1, 1.3, False),
    (-2.1, -1.3, False),
    (0.0, -1.3, False),     # zero has no sign
    (2.1, 0.0, False),
    (2.1, None, False),     # no 4h change: nothing to compare
])
def test_oi_conflict(h1, h4, conflict):
    ev = evaluate(snap(open_interest=open_interest(h1, h4), funding=funding(0.2),
                       taker=taker(75.0)), th())
    assert len(ev.signals) == 2
    for s in ev.signals:
        factors = [m.factor for m in s.modifiers]
        assert factors == ([0.96] if conflict else [])


def test_conflict_reason_and_stacking_with_the_regime():
    ev = evaluate(snap(open_interest=open_interest(-2.1, 1.3), price=price(1.0),
                       taker=taker(75.0)), th())
    assert ev.regime.regime is Regime.SHORT_SQUEEZE
    s = the(ev, "taker_bias")
    assert [m.factor for m in s.modifiers] == [1.10, 0.96]
    assert s.modifiers[1].reason == "1h/4h OI conflict (−2.1 % vs +1.3 %)"
    regime = evaluate(snap(open_interest=open_interest(-3.0, 1.3), price=price(1.0)), th())
    # the conflict applies to the regime signal too, the regime's own factor does not
    assert [m.factor for m in the(regime, "oi_price_regime").modifiers] == [0.96]
