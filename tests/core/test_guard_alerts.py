"""A position's advice through the alert decision: edge trigger, cooldowns, events, mutes, gaps."""

from __future__ import annotations

from datetime import datetime, timezone

from core.guard_alerts import Guarded, decide_guard, signal_id
from core.plans import Plan
from core.position_guard import GuardState, Phase, Position
from core.signals.engine import evaluate
from tests.core.signals.factories import clusters, funding, open_interest, price, snap, th

OPENED = datetime(2026, 5, 11, 6, 0, tzinfo=timezone.utc)
NOW = 1_800_000_000.0
EXIT = signal_id("early_exit")
NEAR = signal_id("stop_near_cluster")
LOCK = signal_id("locked")


def long_eth(stop=None, entry=3150.0) -> Position:
    return Position("ETH", "long", entry, stop, None, OPENED)


def falling(last=3100.0, **sections):
    """LONG_LIQUIDATION: OI and price both down."""
    return snap("ETH", Plan.PROFESSIONAL, price=price(change=-1.0, last=last),
                open_interest=open_interest(-3.0, -4.0), **sections)


def calm(last=3160.0, **sections):
    return snap("ETH", Plan.PROFESSIONAL, price=price(change=0.1, last=last), **sections)


def step(position, market, previous=None, state=None, now=NOW, **kw):
    guarded = Guarded(position, state or GuardState.start(position))
    return decide_guard(guarded, market, th(**kw.pop("thresholds", {})), previous or {}, now,
                        **kw)


def test_advice_alerts_once_then_waits_for_its_cooldown():
    p = long_eth()
    first = step(p, falling())
    assert first.alert is not None and first.state.phase is Phase.EXIT
    assert first.alert["payload"]["triggers"] == {EXIT: "new"}
    assert first.alert["level"] == 3 and first.alert["coin"] == "ETH"
    again = step(p, falling(), first.alert_states, first.state, now=NOW + 60)
    assert again.alert is None and again.alert_states[EXIT].active
    # HIGH cooldown (30 min by default) passed: due again, as a reminder
    later = step(p, falling(), again.alert_states, again.state, now=NOW + 31 * 60)
    assert later.alert["payload"]["triggers"] == {EXIT: "still active"}


def test_advice_that_stops_holding_is_not_kept_and_alerts_as_new_next_time():
    p = long_eth()
    first = step(p, falling())
    calmer = step(p, calm(), first.alert_states, first.state, now=NOW + 60)
    assert calmer.alert is None and EXIT not in calmer.keep and calmer.state.phase is Phase.OPEN
    stored = {sid: st for sid, st in first.alert_states.items() if sid in calmer.keep}
    back = step(p, falling(), stored, calmer.state, now=NOW + 120)
    assert back.alert["payload"]["triggers"] == {EXIT: "new"}


def test_advice_ignores_the_users_minimum_level():
    r = step(long_eth(stop=3120.0), calm(clusters=clusters(("long", 3080.0, 120e6))),
             thresholds={"min_level": 3.0})
    assert r.alert["payload"]["triggers"] == {NEAR: "new"} and r.alert["level"] == 2


def test_each_trailed_stop_move_is_news_even_inside_the_cooldown():
    p = Position("BTC", "long", 2000.0, None, None, OPENED)
    first = decide_guard(Guarded(p, GuardState.start(p)), snap("BTC", price=price(last=2030.0)),
                         th(), {}, NOW)
    assert first.alert["payload"]["triggers"] == {LOCK: "new"}
    second = decide_guard(Guarded(p, first.state), snap("BTC", price=price(last=2045.0)), th(),
                          first.alert_states, NOW + 10)
    assert second.alert["payload"]["triggers"] == {LOCK: "new"}
    assert second.alert["payload"]["guard"]["trailed_stop"] == second.state.trailed_stop


def test_a_muted_coin_tracks_advice_but_sends_nothing():
    p = long_eth()
    muted = step(p, falling(), muted=True)
    assert muted.alert is None and muted.alert_states[EXIT].active
    assert muted.alert_states[EXIT].last_alert_at is None
    # the mute ends while it still holds: due then
    after = step(p, falling(), muted.alert_states, muted.state, now=NOW + 60)
    assert after.alert is not None


def test_no_price_keeps_the_stored_advice_states():
    p = long_eth()
    first = step(p, falling())
    gap = step(p, snap("ETH", Plan.PROFESSIONAL, price=None), first.alert_states, first.state,
               now=NOW + 60)
    assert gap.alert is None and EXIT in gap.keep and gap.state == first.state


def test_the_row_lists_triggered_advice_first_and_carries_what_the_message_shows():
    p = long_eth(stop=3120.0)
    market = falling(last=3130.0, clusters=clusters(("long", 3080.0, 120e6)),
                     funding=funding(0.2))
    r = step(p, market, evaluation=evaluate(market, th()))
    g = r.alert["payload"]["guard"]
    assert [a["kind"] for a in g["advice"]] == ["early_exit", "stop_near_cluster",
                                               "funding_against"]
    assert all(a["trigger"] == "new" for a in g["advice"])
    assert g["side"] == "long" and g["entry"] == 3150.0 and g["stop"] == 3120.0
    assert g["phase"] == "EXIT" and g["price"] == 3130.0 and g["plan"] == "Professional"
    assert g["pnl_pct"] < 0 and g["unavailable"] == []
    assert r.alert["payload"]["summary"]["coin"] == "ETH"
    # the next poll: funding cools off, the rest still holds and nothing new triggers
    quiet = step(p, falling(last=3130.0, clusters=clusters(("long", 3080.0, 120e6))),
                 r.alert_states, r.state, now=NOW + 60)
    assert quiet.alert is None


def test_a_plan_without_clusters_names_it_in_the_row():
    p = long_eth(stop=3120.0)
    r = step(p, snap("ETH", Plan.HOBBYIST, price=price(change=-1.0, last=3130.0),
                     open_interest=open_interest(-3.0, -4.0)))
    assert r.alert["payload"]["guard"]["unavailable"] == [
        "liquidation clusters need Professional", "order-book walls need Standard",
        "Hyperliquid whales need Startup"]
