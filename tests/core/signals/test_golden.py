"""The five rows of the reference tutorial's "Signal Combination Reference", with SPEC defaults.

Each row asserts the exact set of (id, level, direction) the engine produces: a signal the
row does not call for would be as wrong as a missing one.
"""

from __future__ import annotations

import json

from core.plans import Plan
from core.signals.engine import evaluate
from core.signals.model import Regime, Signal
from tests.core.signals.factories import (
    NEEDS, funding, open_interest, price, ratio, snap, stressed_sections, th,
)
from tests.core.signals.helpers import the, triples


def test_classic_top_setup():
    """Funding > +0.10 %, OI surging, longs > 65 % → avoid new longs."""
    ev = evaluate(snap(funding=funding(0.12), open_interest=open_interest(6.5, 9.0),
                       global_ls=ratio(68.0), top_ls=ratio(66.0)), th())
    assert triples(ev) == {
        ("funding_extreme", "HIGH", "bearish"),
        ("oi_surge", "HIGH", "neutral"),
        ("ls_extreme", "HIGH", "bearish"),
    }


def test_short_squeeze_forming():
    """Funding < −0.05 %, OI surging, shorts > 60 % → watch for a bullish catalyst."""
    ev = evaluate(snap(funding=funding(-0.07), open_interest=open_interest(6.0, 8.0),
                       global_ls=ratio(38.0), top_ls=ratio(40.0)), th())
    assert triples(ev) == {
        ("funding_extreme", "HIGH", "bullish"),
        ("oi_surge", "HIGH", "neutral"),
        ("ls_extreme", "MEDIUM", "bullish"),
    }


def test_deleveraging_in_progress():
    """Extreme funding, OI falling, L/S normalising → wait for the dust to settle."""
    sections = dict(funding=funding(0.12), open_interest=open_interest(-6.0, -7.5),
                    global_ls=ratio(56.0), top_ls=ratio(54.0))
    flat = evaluate(snap(**sections, price=price(0.2)), th())
    assert triples(flat) == {
        ("funding_extreme", "HIGH", "bearish"),
        ("oi_surge", "HIGH", "neutral"),
    }
    assert "dropped −6.0 %" in the(flat, "oi_surge").text
    assert flat.regime.regime is Regime.NEUTRAL

    # With price falling too, OI down + price down is a long liquidation: the regime signal
    # joins and bearish signals gain confidence.
    falling = evaluate(snap(**sections, price=price(-2.3)), th())
    assert falling.regime.regime is Regime.LONG_LIQUIDATION
    assert triples(falling) == {
        ("funding_extreme", "HIGH", "bearish"),
        ("oi_surge", "HIGH", "neutral"),
        ("oi_price_regime", "MEDIUM", "bearish"),
    }
    assert [m.factor for m in the(falling, "funding_extreme").modifiers] == [1.10]
    assert the(falling, "funding_extreme").confidence > the(flat, "funding_extreme").confidence


def test_distribution_signal():
    """Top traders short vs retail long > 60 %, OI stable → smart money fading retail."""
    ev = evaluate(snap(open_interest=open_interest(0.4, 0.6), global_ls=ratio(62.0),
                       top_ls=ratio(45.0)), th())
    assert triples(ev) == {("smart_money_divergence", "HIGH", "bearish")}
    assert "top traders 45.0 % long vs retail 62.0 % long" in the(
        ev, "smart_money_divergence").text.lower()


def test_accumulation_signal():
    """Top traders long vs retail short > 55 %, OI stable → smart money buying fear."""
    ev = evaluate(snap(open_interest=open_interest(-0.3, 0.2), global_ls=ratio(44.0),
                       top_ls=ratio(61.0)), th())
    assert triples(ev) == {("smart_money_divergence", "HIGH", "bullish")}


def test_every_signal_survives_a_json_round_trip():
    # One snapshot that fires all thirteen signals, each with modifiers (regime and conflict).
    ev = evaluate(snap("ETH", Plan.PROFESSIONAL, **stressed_sections()), th())
    assert {s.id for s in ev.signals} == set(NEEDS)
    assert any(len(s.modifiers) == 2 for s in ev.signals)
    for s in ev.signals:
        assert Signal.from_dict(json.loads(json.dumps(s.to_dict()))) == s
        assert Signal.from_dict(s.to_dict()) == s
