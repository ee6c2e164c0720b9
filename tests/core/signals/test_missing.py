"""Missing data is reported, never read as a calm market, and never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.market import SECTION_TITLES, SECTIONS, Missing, MissingReason
from core.plans import Plan
from core.signals.catalog import SIGNALS
from core.signals.engine import evaluate
from tests.core.signals.factories import (
    NEEDS, dominance, funding, netflow, open_interest, price, ratio, snap, stressed_sections,
    taker, th, whales,
)
from tests.core.signals.helpers import fired


def test_every_catalogued_signal_is_covered():
    assert set(NEEDS) == {s.id for s in SIGNALS}


def test_missing_funding_is_reported_with_its_reason():
    ev = evaluate(snap(funding=None), th())
    assert fired(ev, "funding_extreme") is None
    assert ev.unevaluated == {"funding_extreme": "no funding (error: timeout)"}


def test_missing_ratios_are_not_read_as_fifty_fifty():
    # The reference monitor read an outage as long_pct = 50: "no divergence, calm market".
    ev = evaluate(snap(global_ls=None, top_ls=ratio(80.0),
                       missing={"global_ls": Missing(MissingReason.RATE_LIMITED)}), th())
    assert fired(ev, "smart_money_divergence") is None and fired(ev, "ls_extreme") is None
    assert ev.unevaluated == {
        "ls_extreme": "no retail long/short (rate limited)",
        "smart_money_divergence": "no retail long/short (rate limited)",
    }


def test_two_missing_sections_are_both_named():
    ev = evaluate(snap(global_ls=None, top_ls=None,
                       missing={"top_ls": Missing(MissingReason.REFUSED, "Upgrade plan")}), th())
    assert ev.unevaluated["smart_money_divergence"] == (
        "no retail long/short (error: timeout); no top-trader long/short (refused: Upgrade plan)")


def test_sections_outside_the_plan_are_not_noise():
    # A Hobbyist snapshot: the Startup+ sections were never asked for.
    missing = {name: Missing(MissingReason.NOT_IN_PLAN)
               for name in ("dominance", "netflow", "cvd", "whales", "walls",
                            "liquidation_orders", "clusters")}
    ev = evaluate(snap(plan=Plan.HOBBYIST, missing=missing), th())
    assert ev.unevaluated == {}
    # Same without any "missing" entries: the plan alone says they were not expected.
    assert evaluate(snap(plan=Plan.HOBBYIST), th()).unevaluated == {}


def test_a_section_the_plan_should_have_had_is_reported():
    ev = evaluate(snap(plan=Plan.STARTUP), th())           # no dominance/netflow/whales given
    assert ev.unevaluated == {
        "netflow": "no netflow (not fetched)",
        "btc_dominance": "no BTC dominance (not fetched)",
        "whale_position": "no Hyperliquid whales (not fetched)",
    }
    ev = evaluate(snap(plan=Plan.STARTUP, dominance=None,
                       missing={"dominance": Missing(MissingReason.DISABLED, "upgrade refused")},
                       netflow=netflow(), whales=whales()), th())
    assert ev.unevaluated == {"btc_dominance": "no BTC dominance (disabled: upgrade refused)"}


def test_present_section_without_the_needed_value():
    ev = evaluate(snap(open_interest=open_interest(h1=None, h4=2.0), taker=taker(0.0, 0.0)), th())
    assert ev.unevaluated["oi_surge"] == "no open interest (no 1h change)"
    assert ev.unevaluated["taker_bias"] == "no taker flow (no volume in the last 1h)"
    ev = evaluate(snap(plan=Plan.STARTUP, price=price(None), dominance=dominance(None),
                       netflow=netflow(None), whales=whales()), th())
    assert ev.unevaluated == {
        "oi_price_regime": "no price (no 1h change)",
        "netflow": "no netflow (no 1h window)",
        "btc_dominance": "no BTC dominance (no 24h change)",
    }
    assert ev.regime is None


def test_enabled_limits_signals_and_unevaluated():
    s = snap(funding=funding(0.3), open_interest=None, taker=taker(90.0))
    ev = evaluate(s, th(), enabled={"funding_extreme", "oi_surge"})
    assert [x.id for x in ev.signals] == ["funding_extreme"]
    assert set(ev.unevaluated) == {"oi_surge"}
    assert evaluate(s, th(), enabled=()).signals == ()
    assert evaluate(s, th(), enabled=()).unevaluated == {}


def test_regime_still_modifies_when_its_signal_is_disabled():
    ev = evaluate(snap(open_interest=open_interest(3.0, 3.0), price=price(1.0), taker=taker(80.0)),
                  th(), enabled=["taker_bias"])
    assert ev.regime is not None
    assert [m.factor for m in ev.signals[0].modifiers] == [1.15]


# ── any subset of sections absent, for any reason ─────────────────────────────────────
def test_the_full_stressed_snapshot_fires_everything():
    ev = evaluate(snap("ETH", Plan.PROFESSIONAL, **stressed_sections()), th())
    assert {s.id for s in ev.signals} == set(NEEDS)
    assert ev.unevaluated == {}


REASONS = st.sampled_from(list(MissingReason))


@settings(max_examples=150, deadline=None)
@given(absent=st.dictionaries(st.sampled_from(SECTIONS), REASONS),
       plan=st.sampled_from(list(Plan)))
def test_any_subset_of_absent_sections(absent, plan):
    sections = {name: None if name in absent else value
                for name, value in stressed_sections().items()}
    missing = {name: Missing(reason, "x") for name, reason in absent.items()}
    ev = evaluate(snap("ETH", plan, calm=False, missing=missing, **sections), th())

    produced = {s.id for s in ev.signals}
    for sid, needs in NEEDS.items():
        gone = needs & set(absent)
        if not gone:
            assert sid in produced and sid not in ev.unevaluated
            continue
        assert sid not in produced
        if any(absent[name] is MissingReason.NOT_IN_PLAN for name in gone):
            assert sid not in ev.unevaluated
        else:
            for name in gone:
                line = f"no {SECTION_TITLES[name]} ({absent[name].value}: x)"
                assert line in ev.unevaluated[sid]
    if {"open_interest", "price"} & set(absent):
        assert ev.regime is None
    else:
        assert ev.regime is not None
