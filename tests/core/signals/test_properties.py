"""Properties over arbitrary snapshots and thresholds: never raise, confidence in [0, 1],
modifier factors within [0.88, 1.15] ∪ {0.96} and applied exactly where they should be,
signals only from present sections, and a lossless dict round trip."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.market import (
    AccountRatio, BalanceSection, ClusterSection, CvdSection, DominanceSection, ExchangeBalance,
    ExchangeOpenInterest, FundingSection, FundingVenue, LiquidationCluster,
    LiquidationOrdersSection, LiquidationSection, MarketSnapshot, Missing, MissingReason,
    NetflowSection, OpenInterestSection, PriceSection, TakerSection, Wall, WallSection, WhaleMove,
    WhaleSection,
)
from core.plans import Plan
from core.signals.engine import evaluate
from core.signals.model import Direction, Regime, Signal
from core.signals.regime import REGIME_EFFECTS
from core.thresholds import SPECS, ThresholdSet
from tests.core.signals.factories import NEEDS

T0 = datetime(2026, 5, 11, 8, 0, tzinfo=timezone.utc)

# Finite floats of every size, with the interesting small values over-represented.
num = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 50.0, 100.0, 1e308, -1e308, 5e-324]),
)
maybe = st.none() | num
times = st.integers(-10**6, 10**6).map(lambda s: T0 + timedelta(seconds=s))
windows = st.sampled_from(["5m", "15m", "30m", "1h", "4h", "24h"])
text = st.text(max_size=12)


def tuples(strategy):
    return st.lists(strategy, max_size=4).map(tuple)


SECTION_STRATEGIES = {
    "funding": st.builds(FundingSection, tuples(st.builds(
        FundingVenue, text, st.sampled_from(["stablecoin", "token"]), num,
        st.none() | st.sampled_from([1.0, 4.0, 8.0]))), num, text, num, times),
    "open_interest": st.builds(OpenInterestSection, num, st.dictionaries(windows, num),
                               tuples(st.builds(ExchangeOpenInterest, text, num)), times),
    "liquidations": st.builds(LiquidationSection, st.just("1h"), num, num, times),
    "taker": st.builds(TakerSection, st.just("1h"), num, num, times),
    "global_ls": st.builds(AccountRatio, num, num, text, text, st.just("1h"), times),
    "top_ls": st.builds(AccountRatio, num, num, text, text, st.just("1h"), times),
    "price": st.builds(PriceSection, num, st.sampled_from(["1h", "4h"]), maybe, times),
    "balances": st.builds(BalanceSection, tuples(st.builds(
        ExchangeBalance, text, num, maybe, maybe)), times),
    "dominance": st.builds(DominanceSection, num, maybe, maybe, times),
    "netflow": st.builds(NetflowSection, st.dictionaries(windows, num), times),
    "cvd": st.builds(CvdSection, st.just("1h"), num, num, times),
    "whales": st.builds(WhaleSection, tuples(st.builds(
        WhaleMove, text, st.sampled_from(["long", "short", "?"]),
        st.sampled_from(["open", "close", "?"]), num, num, maybe, maybe, times)), times),
    "walls": st.builds(WallSection, tuples(st.builds(
        Wall, st.sampled_from(["bid", "ask", "?"]), num, num, text, text)), times),
    "liquidation_orders": st.builds(LiquidationOrdersSection, st.integers(0, 10**6), num, num,
                                    num, times),
    "clusters": st.builds(ClusterSection, tuples(st.builds(
        LiquidationCluster, num, num, st.sampled_from(["long", "short", "?"]))), text, times),
}


@st.composite
def snapshots(draw):
    sections, missing = {}, {}
    for name, strategy in SECTION_STRATEGIES.items():
        if draw(st.booleans()):
            sections[name] = draw(strategy)
        elif draw(st.booleans()):
            missing[name] = Missing(draw(st.sampled_from(list(MissingReason))))
    return MarketSnapshot(draw(st.sampled_from(["BTC", "ETH", "1000PEPE", ""])),
                          draw(st.sampled_from(list(Plan))), T0, missing=missing, **sections)


@st.composite
def threshold_sets(draw):
    values = {}
    for spec in SPECS.values():
        values[spec.name] = draw(st.one_of(
            st.just(spec.default), st.sampled_from([spec.minimum, spec.maximum]),
            st.floats(spec.minimum, spec.maximum, allow_nan=False)))
    return ThresholdSet(values)


PROPERTY_SETTINGS = settings(max_examples=400, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def _signs_conflict(snapshot: MarketSnapshot) -> bool:
    oi = snapshot.open_interest
    if oi is None or oi.change("1h") is None or oi.change("4h") is None:
        return False
    a, b = oi.change("1h"), oi.change("4h")
    return (a > 0 > b) or (a < 0 < b)


@PROPERTY_SETTINGS
@given(snapshot=snapshots(), thresholds=threshold_sets())
def test_evaluate_never_raises_and_stays_in_bounds(snapshot, thresholds):
    ev = evaluate(snapshot, thresholds)
    assert ev.coin == snapshot.coin
    conflict = _signs_conflict(snapshot)
    reading = ev.regime
    for s in ev.signals:
        assert 0.0 <= s.confidence <= 1.0
        assert all(getattr(snapshot, name) is not None for name in NEEDS[s.id])
        assert s.coin == snapshot.coin and s.title and s.text
        assert s.data_time is not None
        for m in s.modifiers:
            assert 0.88 <= m.factor <= 1.15 or m.factor == 0.96
        # exactly the modifiers that apply, in order: regime, then conflict
        expected = []
        if (reading is not None and reading.regime is not Regime.NEUTRAL
                and s.direction is not Direction.NEUTRAL and s.id != "oi_price_regime"):
            favours = REGIME_EFFECTS[reading.regime].favours
            expected.append(reading.agree_factor if s.direction is favours
                            else reading.oppose_factor)
        if conflict:
            expected.append(0.96)
        assert [m.factor for m in s.modifiers] == expected
        assert Signal.from_dict(s.to_dict()) == s
    assert not set(ev.unevaluated) & {s.id for s in ev.signals}
    if reading is not None:
        assert snapshot.open_interest is not None and snapshot.price is not None
        assert {reading.agree_factor, reading.oppose_factor} <= {0.88, 0.92, 1.0, 1.10, 1.15}


@PROPERTY_SETTINGS
@given(snapshot=snapshots(), thresholds=threshold_sets(),
       enabled=st.none() | st.sets(st.sampled_from(sorted(NEEDS))))
def test_enabled_is_respected(snapshot, thresholds, enabled):
    ev = evaluate(snapshot, thresholds, enabled=enabled)
    allowed = set(NEEDS) if enabled is None else enabled
    assert {s.id for s in ev.signals} <= allowed
    assert set(ev.unevaluated) <= allowed


@settings(max_examples=200, deadline=None)
@given(oi1=num, oi4=num, px=num, level=st.floats(0, 1e6, allow_nan=False),
       th_oi=st.floats(0, 50), th_px=st.floats(0, 50))
def test_regime_factor_bounds_for_any_changes(oi1, oi4, px, level, th_oi, th_px):
    snapshot = MarketSnapshot(
        "SOL", Plan.STARTUP, T0,
        open_interest=OpenInterestSection(level, {"1h": oi1, "4h": oi4}, (), T0),
        price=PriceSection(100.0, "1h", px, T0),
        taker=TakerSection("1h", 90.0, 10.0, T0), global_ls=AccountRatio(80, 20, "", "", "1h", T0),
    )
    ev = evaluate(snapshot, ThresholdSet.resolve({"regime_oi_min": th_oi,
                                                  "regime_price_min": th_px}))
    called = (abs(oi1) >= th_oi and abs(px) >= th_px and oi1 != 0 and px != 0)
    assert (ev.regime.regime is not Regime.NEUTRAL) == called
    for s in ev.signals:
        factors = [m.factor for m in s.modifiers]
        assert all(0.88 <= f <= 1.15 for f in factors)
        assert (0.96 in factors) == ((oi1 > 0 > oi4) or (oi1 < 0 < oi4))
        assert 0 <= s.confidence <= 1
        json.dumps(s.to_dict())          # storable in the outbox
        assert not any(math.isnan(v) for v in s.values.values())


near = st.floats(-0.05, 0.05, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(last=st.floats(1e-9, 1e9, allow_nan=False),
       walls=st.lists(st.tuples(st.sampled_from(["bid", "ask"]), near, num), max_size=4),
       clusters=st.lists(st.tuples(st.sampled_from(["long", "short"]), near, num), max_size=4),
       thresholds=threshold_sets())
def test_walls_and_clusters_near_price(last, walls, clusters, thresholds):
    snapshot = MarketSnapshot(
        "BTC", Plan.PROFESSIONAL, T0, price=PriceSection(last, "1h", 0.0, T0),
        walls=WallSection(tuple(Wall(s, last * (1 + d), u, "Binance", "BTCUSDT")
                                for s, d, u in walls), T0),
        clusters=ClusterSection(tuple(LiquidationCluster(last * (1 + d), u, s)
                                      for s, d, u in clusters), "1d", T0),
    )
    ev = evaluate(snapshot, thresholds, enabled={"orderbook_wall", "liquidation_cluster"})
    for s in ev.signals:
        assert 0 <= s.confidence <= 1 and s.modifiers == ()
        assert s.level.name in ({"LOW", "MEDIUM"} if s.id == "orderbook_wall"
                                else {"MEDIUM", "HIGH"})
        assert Signal.from_dict(s.to_dict()) == s
