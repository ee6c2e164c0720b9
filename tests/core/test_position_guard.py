"""Position guard (SPEC §16): every advice kind, phases, trailing over a price path, plan gaps."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.market import Missing, MissingReason
from core.plans import Plan
from core.position_guard import (
    EARLY_EXIT, FUNDING_AGAINST, LOCKED, STOP_HIT, STOP_NEAR_CLUSTER, TP_BEFORE_CLUSTER, TP_HIT,
    WHALE_TIGHTEN, GuardState, Phase, Position, guard, plan_gaps, pnl_pct, round_tick,
    validate_position,
)
from core.signals.engine import evaluate
from core.signals.model import Level
from tests.core.signals.factories import (
    clusters, funding, open_interest, price, snap, th, walls, whale, whales,
)

OPENED = datetime(2026, 5, 11, 6, 0, tzinfo=timezone.utc)


def pos(side="long", entry=3150.0, stop=None, tp=None, coin="ETH") -> Position:
    return Position(coin, side, entry, stop, tp, OPENED)


def market(last: float, plan: Plan = Plan.PROFESSIONAL, change: float = 0.1, **sections):
    return snap("ETH", plan, price=price(change=change, last=last), **sections)


def run(position, snapshot, state=None, **thresholds):
    return guard(position, state or GuardState.start(position), snapshot, th(**thresholds))


def kinds(result) -> list[str]:
    return [a.kind for a in result.advice]


def one(result, kind):
    (advice,) = [a for a in result.advice if a.kind == kind]
    return advice


# --- helpers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("side,entry,at,pnl", [
    ("long", 2000.0, 2030.0, 1.5), ("long", 2000.0, 1900.0, -5.0),
    ("short", 2000.0, 1900.0, 5.0), ("short", 2000.0, 2100.0, -5.0),
])
def test_pnl_pct(side, entry, at, pnl):
    assert pnl_pct(pos(side, entry), at) == pytest.approx(pnl)


@pytest.mark.parametrize("side,entry,stop,tp,error", [
    ("long", 3000, 2900, 3300, None),
    ("short", 3000, 3100, 2700, None),
    ("LONG", 3000, None, None, None),
    ("sideways", 3000, None, None, "the side must be long or short"),
    ("long", 0, None, None, "the entry must be a positive price"),
    ("long", float("nan"), None, None, "the entry must be a positive price"),
    ("long", 3000, -5, None, "the stop must be a positive price"),
    ("long", 3000, None, 0, "the take-profit must be a positive price"),
    ("long", 3000, 3000, None, "a long's stop must be below the entry (3,000)"),
    ("long", 3000, 3100, None, "a long's stop must be below the entry (3,000)"),
    ("long", 3000, None, 2900, "a long's take-profit must be above the entry (3,000)"),
    ("short", 3000, 2900, None, "a short's stop must be above the entry (3,000)"),
    ("short", 3000, None, 3100, "a short's take-profit must be below the entry (3,000)"),
])
def test_validate_position(side, entry, stop, tp, error):
    assert validate_position(side, entry, stop, tp) == error


@pytest.mark.parametrize("level,down,rounded", [
    (3064.6, True, 3060.0), (3095.4, False, 3100.0), (94_525.0, True, 94_400.0),
    (3283.5, True, 3280.0), (0.53211, True, 0.532), (3060.0, True, 3060.0),
])
def test_round_tick(level, down, rounded):
    assert round_tick(level, down) == pytest.approx(rounded)


# --- stop near a cluster or wall -------------------------------------------------------------

def test_stop_near_a_long_liquidation_cluster_the_spec_example():
    p = pos(entry=3150.0, stop=3120.0)
    r = run(p, market(3160.0, clusters=clusters(("long", 3080.0, 120e6))))
    assert kinds(r) == [STOP_NEAR_CLUSTER]
    a = one(r, STOP_NEAR_CLUSTER)
    assert a.headline == "ETH long: consider moving your stop below 3,060"
    assert a.suggested_level == 3060.0 and a.level is Level.MEDIUM
    assert ("$120.0M of long liquidations at 3,080, 40 below your stop at 3,120 — a sweep "
            "would take it") in a.detail
    assert "liquidation map (1d range), on your Professional plan" in a.detail
    assert a.data_sources == ("clusters", "price")
    assert r.state.phase is Phase.OPEN and r.unavailable == ()


@pytest.mark.parametrize("stop,exposed", [
    (3127.0, False),      # more than 1.5 % above the cluster: not in the sweep band
    (3126.0, True),       # just inside the band
    (3080.0, True),       # at the cluster
    (3065.0, True),       # beyond it, but by less than 0.5 %
    (3064.0, False),      # beyond it by more than 0.5 %: already safe
])
def test_sweep_band_edges(stop, exposed):
    r = run(pos(entry=3150.0, stop=stop),
            market(3160.0, clusters=clusters(("long", 3080.0, 120e6))))
    assert (STOP_NEAR_CLUSTER in kinds(r)) is exposed


def test_small_clusters_and_other_sides_are_ignored():
    near = clusters(("long", 3080.0, 50e6),            # below the user's cluster_usd (100M)
                    ("short", 3125.0, 500e6))          # the other side of price
    assert kinds(run(pos(entry=3150.0, stop=3120.0), market(3160.0, clusters=near))) == []
    # ...but a lower cluster_usd lets the small one count
    r = run(pos(entry=3150.0, stop=3120.0), market(3160.0, clusters=near), cluster_usd=40e6)
    assert kinds(r) == [STOP_NEAR_CLUSTER]


def test_suggestion_clears_every_cluster_it_would_land_near():
    r = run(pos(entry=3150.0, stop=3120.0),
            market(3160.0, clusters=clusters(("long", 3080.0, 120e6), ("long", 3050.0, 150e6))))
    a = one(r, STOP_NEAR_CLUSTER)
    # 3,080 → 3,060, which sits near 3,050 too → 3,050 × 0.995 = 3,034.75 → 3,030
    assert a.suggested_level == 3030.0
    assert a.detail.startswith("$150.0M of long liquidations at 3,050")   # the largest leads
    assert "Also near it: $120.0M of long liquidations at 3,080" in a.detail


def test_short_stop_near_a_short_cluster():
    r = run(pos("short", entry=3000.0, stop=3080.0),
            market(2990.0, clusters=clusters(("short", 3100.0, 200e6))))
    a = one(r, STOP_NEAR_CLUSTER)
    assert a.headline == "ETH short: consider moving your stop above 3,120"   # 3,115.5 rounded up
    assert "20 above your stop at 3,080" in a.detail


def test_stop_near_an_order_wall_on_standard():
    r = run(pos(entry=3150.0, stop=3095.0),
            market(3160.0, Plan.STANDARD, walls=walls(("bid", 3100.0, 8e6), ("ask", 3200.0, 9e6))))
    a = one(r, STOP_NEAR_CLUSTER)
    assert a.suggested_level == 3080.0 and a.data_sources == ("walls", "price")
    assert "a $8.0M bid wall at 3,100 (Binance BTCUSDT)" in a.detail
    assert "large limit orders, on your Standard plan" in a.detail
    assert r.unavailable == ("liquidation clusters need Professional",)


# --- take-profit before a cluster ------------------------------------------------------------

def test_take_profit_just_beyond_a_short_cluster():
    r = run(pos(entry=3090.0, tp=3320.0),
            market(3100.0, clusters=clusters(("short", 3300.0, 150e6))))
    a = one(r, TP_BEFORE_CLUSTER)
    assert a.headline == "ETH long: consider moving your take-profit to 3,280"
    assert a.suggested_level == 3280.0
    assert "20 before your take-profit at 3,320" in a.detail


@pytest.mark.parametrize("tp,exposed", [(3349.0, True), (3351.0, False), (3295.0, False)])
def test_take_profit_band(tp, exposed):
    r = run(pos(entry=3090.0, tp=tp), market(3100.0, clusters=clusters(("short", 3300.0, 150e6))))
    assert (TP_BEFORE_CLUSTER in kinds(r)) is exposed


def test_short_take_profit_and_a_cluster_too_close_to_price():
    r = run(pos("short", entry=3000.0, tp=2700.0),
            market(2950.0, clusters=clusters(("long", 2720.0, 150e6))))
    assert one(r, TP_BEFORE_CLUSTER).suggested_level == 2735.0     # 2,733.6 rounded up
    close = run(pos(entry=3090.0, tp=3110.0),
                market(3100.0, clusters=clusters(("short", 3102.0, 150e6))))
    a = one(close, TP_BEFORE_CLUSTER)
    assert a.suggested_level is None and "too close to price" in a.detail


# --- locking and trailing --------------------------------------------------------------------

def test_trailing_over_a_price_path_step_by_step():
    p = Position("BTC", "long", 2000.0, 1950.0, None, OPENED)
    state = GuardState.start(p)
    seen = []
    for last in (2010.0, 2030.0, 2037.0, 2045.0, 2040.0, 2024.0, 2050.0, 2060.0):
        r = guard(p, state, snap("BTC", Plan.HOBBYIST, price=price(last=last)), th())
        state = r.state
        seen.append((last, state.phase.value, state.best_price, state.trailed_stop,
                     [a.suggested_level for a in r.advice if a.kind in (LOCKED, STOP_HIT)],
                     kinds(r)))
    assert seen == [
        (2010.0, "OPEN", 2010.0, None, [], []),
        # +1.5 %: locked; trail 1 % below 2,030 = 2,009.7 (above break-even)
        (2030.0, "LOCKED", 2030.0, pytest.approx(2009.7), [pytest.approx(2009.7)], [LOCKED]),
        # new best, but the trail gains 6.93 < the 0.5 % step (10.19): no move, no advice
        (2037.0, "LOCKED", 2037.0, pytest.approx(2009.7), [], []),
        # 2,024.55 − 2,009.7 = 14.85 ≥ 10.2: moves
        (2045.0, "LOCKED", 2045.0, pytest.approx(2024.55), [pytest.approx(2024.55)], [LOCKED]),
        (2040.0, "LOCKED", 2045.0, pytest.approx(2024.55), [], []),
        # through the trailed stop: exit
        (2024.0, "EXIT", 2045.0, pytest.approx(2024.55), [pytest.approx(2024.55)], [STOP_HIT]),
        # back above it: LOCKED again; 2,029.5 is only 4.95 better
        (2050.0, "LOCKED", 2050.0, pytest.approx(2024.55), [], []),
        (2060.0, "LOCKED", 2060.0, pytest.approx(2039.4), [pytest.approx(2039.4)], [LOCKED]),
    ]


def test_lock_moves_the_stop_to_break_even_when_the_trail_is_wider():
    p = Position("BTC", "long", 2000.0, None, None, OPENED)
    r = guard(p, GuardState.start(p), snap("BTC", price=price(last=2030.0)), th(trail=2.0))
    a = one(r, LOCKED)
    assert a.headline == "BTC long: consider moving your stop to break-even (2,000)"
    assert a.suggested_level == 2000.0
    assert "The position is now LOCKED" in a.detail and "Your stop: none set" in a.detail


def test_short_trails_above_the_best_price():
    p = Position("BTC", "short", 2000.0, 2100.0, None, OPENED)
    r = guard(p, GuardState.start(p), snap("BTC", price=price(last=1960.0)), th())
    assert r.state.phase is Phase.LOCKED and r.state.best_price == 1960.0
    assert one(r, LOCKED).suggested_level == pytest.approx(1979.6)
    assert one(r, LOCKED).headline == "BTC short: consider lowering your stop to 1,979.60"


def test_custom_lock_at_and_no_advice_when_the_users_stop_is_already_tighter():
    p = Position("BTC", "long", 2000.0, 2015.0, None, OPENED)
    early = guard(p, GuardState.start(p), snap("BTC", price=price(last=2020.0)), th(lock_at=1.0))
    assert early.state.phase is Phase.LOCKED
    assert early.state.trailed_stop == pytest.approx(2000.0)   # 2,020 × 0.99 < entry
    assert kinds(early) == []                                   # the user's 2,015 is tighter


def test_lock_is_kept_when_price_falls_back():
    p = Position("BTC", "long", 2000.0, None, None, OPENED)
    locked = GuardState(Phase.LOCKED, 2030.0, 2009.7)
    r = guard(p, locked, snap("BTC", price=price(last=2012.0)), th())
    assert r.state == GuardState(Phase.LOCKED, 2030.0, 2009.7) and r.advice == ()


# --- whales tighten the trail ----------------------------------------------------------------

def test_whales_against_a_locked_long_halve_the_trail():
    p = Position("ETH", "long", 2000.0, None, None, OPENED)
    locked = GuardState(Phase.LOCKED, 2030.0, 2009.7)
    r = guard(p, locked, snap("ETH", Plan.STARTUP, price=price(last=2040.0),
                              whales=whales(whale(5e6, side="short"))), th())
    # trail 0.5 %: 2,040 × 0.995 = 2,029.8, 20.1 better, step now 0.25 % (5.1)
    assert r.state.trailed_stop == pytest.approx(2029.8)
    assert kinds(r) == [LOCKED, WHALE_TIGHTEN]
    w = one(r, WHALE_TIGHTEN)
    assert w.suggested_level == pytest.approx(2029.8)
    assert w.headline == ("ETH long: consider a tighter trail (0.5 %) — whales opened $5.0M of "
                          "shorts against it")
    assert "The trail halves from 1 % to 0.5 %" in w.detail and "Startup plan" in w.detail
    assert "(your trail halved: whales are against you)" in one(r, LOCKED).detail


@pytest.mark.parametrize("move", [
    whale(5e6, side="long"),                    # with the position
    whale(5e6, side="short", action="close"),   # closing, not opening against
    whale(1e6, side="short"),                   # below whale_usd (3M)
])
def test_whales_that_do_not_count(move):
    p = Position("ETH", "long", 2000.0, None, None, OPENED)
    r = guard(p, GuardState(Phase.LOCKED, 2030.0, 2009.7),
              snap("ETH", Plan.STARTUP, price=price(last=2031.0), whales=whales(move)), th())
    assert kinds(r) == [] and r.state.trailed_stop == pytest.approx(2009.7)


def test_whales_do_nothing_while_open():
    p = Position("ETH", "long", 2000.0, None, None, OPENED)
    r = guard(p, GuardState.start(p), snap("ETH", Plan.STARTUP, price=price(last=2010.0),
                                            whales=whales(whale(50e6, side="short"))), th())
    assert kinds(r) == [] and r.state.phase is Phase.OPEN


# --- early exit --------------------------------------------------------------------------------

def test_long_liquidation_regime_exits_a_long():
    s = snap("ETH", price=price(change=-1.0, last=3100.0), open_interest=open_interest(-3.0, -4.0))
    p = pos(entry=3150.0)
    r = run(p, s)
    a = one(r, EARLY_EXIT)
    assert a.level is Level.HIGH and r.state.phase is Phase.EXIT
    assert a.headline == ("ETH long: consider an early exit — longs are being closed out into a "
                          "falling price")
    assert "LONG_LIQUIDATION" in a.detail and "1h and 4h OI agree (−3.0 %, −4.0 %)" in a.detail
    # the engine's evaluation gives the same reading
    assert guard(p, GuardState.start(p), s, th(), evaluation=evaluate(s, th())) == r


def test_oi_conflict_is_noted_and_lowers_the_level():
    s = snap("ETH", price=price(change=-1.0, last=3100.0), open_interest=open_interest(-3.0, 2.0))
    a = one(run(pos(entry=3150.0), s), EARLY_EXIT)
    assert a.level is Level.MEDIUM and "1h and 4h OI disagree (−3.0 % vs +2.0 %)" in a.detail


@pytest.mark.parametrize("side,oi,px,regime,exits", [
    ("long", 3.0, -1.0, "CONFIRM_BEAR", True),
    ("long", 3.0, 1.0, "CONFIRM_BULL", False),
    ("long", -3.0, 1.0, "SHORT_SQUEEZE", False),
    ("short", -3.0, 1.0, "SHORT_SQUEEZE", True),
    ("short", 3.0, 1.0, "CONFIRM_BULL", True),
    ("short", -3.0, -1.0, "LONG_LIQUIDATION", False),
    ("long", 0.5, -1.0, "NEUTRAL", False),       # inside the OI dead band
])
def test_regimes_against_each_side(side, oi, px, regime, exits):
    p = pos(side, entry=3100.0)
    s = snap("ETH", price=price(change=px, last=3100.0), open_interest=open_interest(oi, oi))
    r = run(p, s)
    assert (EARLY_EXIT in kinds(r)) is exits
    assert (r.state.phase is Phase.EXIT) is exits
    if exits:
        assert regime in one(r, EARLY_EXIT).detail


def test_exit_phase_ends_when_the_regime_turns_back():
    p = pos(entry=3150.0)
    out = GuardState(Phase.EXIT, 3150.0, None)
    assert run(p, snap("ETH", price=price(last=3100.0)), out).state.phase is Phase.OPEN
    locked_out = GuardState(Phase.EXIT, 3200.0, 3168.0)
    assert run(p, snap("ETH", price=price(last=3180.0)), locked_out).state.phase is Phase.LOCKED


# --- funding against the position ------------------------------------------------------------

@pytest.mark.parametrize("side,avg,against", [
    ("long", 0.15, True), ("long", 0.10, False), ("long", -0.2, False),
    ("short", -0.08, True), ("short", -0.05, False), ("short", 0.3, False),
])
def test_funding_against(side, avg, against):
    entry = 3100.0
    r = run(pos(side, entry=entry), snap("ETH", price=price(last=entry), funding=funding(avg)))
    assert (FUNDING_AGAINST in kinds(r)) is against
    if against:
        a = one(r, FUNDING_AGAINST)
        assert a.data_sources == ("funding",)
        mine = "funding_high of 0.1 %" if side == "long" else "funding_low of -0.05 %"
        assert f"your {mine}" in a.detail


def test_funding_advice_reads_what_it_costs():
    r = run(pos(entry=3100.0), snap("ETH", price=price(last=3100.0), funding=funding(0.15)))
    a = one(r, FUNDING_AGAINST)
    assert a.headline == "ETH long: consider the cost of holding — you pay +0.150 % funding per 8 h"
    assert "longs pay shorts about 0.45 % of the position a day" in a.detail


# --- stop and take-profit hit ----------------------------------------------------------------

def test_stop_hit_says_only_that_and_exits():
    r = run(pos(entry=3150.0, stop=3100.0, tp=3300.0),
            market(3090.0, clusters=clusters(("long", 3080.0, 120e6)), funding=funding(0.3)))
    assert kinds(r) == [STOP_HIT] and r.state.phase is Phase.EXIT
    assert r.advice[0].headline == "ETH long: price reached your stop 3,100 — consider closing"
    assert r.advice[0].level is Level.HIGH


def test_tp_hit_is_informational():
    r = run(pos("short", entry=3150.0, stop=3200.0, tp=3000.0), market(2990.0))
    assert kinds(r) == [TP_HIT] and r.state.phase is not Phase.EXIT
    assert r.advice[0].headline == ("ETH short: price reached your take-profit 3,000 — consider "
                                       "taking profit")


# --- what the plan cannot see, and missing data ----------------------------------------------

def test_a_plan_without_clusters_says_so_once():
    r = run(pos(entry=3150.0, stop=3120.0, tp=3400.0), market(3160.0, Plan.HOBBYIST))
    assert r.unavailable == ("liquidation clusters need Professional",
                             "order-book walls need Standard", "Hyperliquid whales need Startup")
    assert r.advice == ()
    # no stop or take-profit: clusters and walls would not be used, so not mentioned
    assert run(pos(entry=3150.0), market(3160.0, Plan.HOBBYIST)).unavailable == (
        "Hyperliquid whales need Startup",)
    # a refused endpoint on a plan that should have it reads the same
    refused = market(3160.0, Plan.PROFESSIONAL, whales=whales(), walls=None,
                     missing={"clusters": Missing(MissingReason.REFUSED)})
    assert run(pos(entry=3150.0, stop=3120.0), refused).unavailable == (
        "liquidation clusters need Professional",)


def test_missing_sections_give_no_advice_and_no_guess():
    s = market(3160.0, Plan.PROFESSIONAL, clusters=None, walls=None, whales=None, funding=None)
    r = run(pos(entry=3150.0, stop=3120.0), s)
    assert r.advice == () and r.unavailable == ()


def test_no_price_keeps_the_state_and_only_funding_speaks():
    p = pos(entry=3150.0, stop=3120.0)
    state = GuardState(Phase.LOCKED, 3200.0, 3168.0)
    r = guard(p, state, snap("ETH", price=None, funding=funding(0.2)), th())
    assert r.state == state and kinds(r) == [FUNDING_AGAINST]


def test_plan_gaps_before_any_snapshot_match_what_the_guard_says():
    p = pos(entry=3150.0, stop=3120.0, tp=3400.0)
    assert plan_gaps(p, Plan.HOBBYIST) == run(p, market(3160.0, Plan.HOBBYIST)).unavailable
    assert plan_gaps(p, Plan.STANDARD) == ("liquidation clusters need Professional",)
    assert plan_gaps(p, Plan.PROFESSIONAL) == ()
    assert plan_gaps(p, Plan.PROFESSIONAL, refused=["clusters"]) == (
        "liquidation clusters need Professional",)
    assert plan_gaps(pos(entry=3150.0), Plan.STARTUP) == ()


def test_the_trailed_stop_hit_names_the_direction():
    p = Position("BTC", "short", 2000.0, None, None, OPENED)
    r = guard(p, GuardState(Phase.LOCKED, 1950.0, 1969.5), snap("BTC", price=price(last=1975.0)),
              th())
    assert kinds(r) == [STOP_HIT] and r.state.phase is Phase.EXIT
    assert r.advice[0].headline == ("BTC short: price rose through the trailed stop 1,969.50 — "
                                    "consider closing")
