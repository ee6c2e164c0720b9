"""Alert outcomes and the track record (SPEC §14): verdicts, horizons, prices, stats."""

from __future__ import annotations

import pytest

from core.outcomes import (
    NOT_ENOUGH, AlertRecord, Outcome, due_horizons, horizon_label, measure, nearest_price,
    parse_horizons, stats, tolerance_for,
)
from core.signals.model import Direction

BULL, BEAR, NEUTRAL = Direction.BULLISH, Direction.BEARISH, Direction.NEUTRAL
H1, H4 = 3600, 14400


@pytest.mark.parametrize("direction,then,later,move,verdict", [
    (BEAR, 100.0, 97.6, -2.4, True),
    (BEAR, 100.0, 101.0, 1.0, False),
    (BULL, 100.0, 101.0, 1.0, True),
    (BULL, 100.0, 99.0, -1.0, False),
    ("bullish", 100.0, 99.0, -1.0, False),          # the stored string form works too
    (NEUTRAL, 100.0, 105.0, 5.0, None),             # neutral: no verdict
    (BULL, 100.0, 100.05, 0.05, None),              # inside the 0.1 % dead band: flat
    (BEAR, 100.0, 99.95, -0.05, None),
    (BEAR, 1000.0, 999.0, -0.1, True),              # exactly 0.1 %: called
])
def test_measure(direction, then, later, move, verdict):
    outcome = measure(direction, then, later)
    assert outcome.move_pct == pytest.approx(move)
    assert outcome.verdict is verdict
    assert outcome.flat is (abs(move) < 0.1)


def test_measure_refuses_nonsense_prices():
    with pytest.raises(ValueError):
        measure(BULL, 0.0, 100.0)
    with pytest.raises(ValueError):
        measure("sideways", 100.0, 100.0)


@pytest.mark.parametrize("text,seconds", [
    ("1h,4h,24h", (3600, 14400, 86400)),
    ("5s,10s", (5, 10)),
    (" 10s , 5s ", (5, 10)),
    ("30m 1h", (1800, 3600)),
    ("1.5h", (5400,)),
    ("1d,24h", (86400,)),
    ("4H", (14400,)),
])
def test_parse_horizons(text, seconds):
    assert parse_horizons(text) == seconds


@pytest.mark.parametrize("text,says", [
    ("", "no horizons"), ("1x", "'1x' is not a horizon"), ("h", "'h' is not"),
    ("0s", "not a positive horizon"), ("-1h", "is not a horizon"),
])
def test_bad_horizons(text, says):
    with pytest.raises(ValueError, match=says):
        parse_horizons(text)


def test_horizon_labels():
    assert [horizon_label(s) for s in (5, 1800, 3600, 14400, 86400, 5400, 90)] == [
        "5s", "30m", "1h", "4h", "24h", "90m", "90s"]


def test_due_horizons():
    t0 = 1_000_000.0
    assert due_horizons(t0, (H1, H4, 86400), (), t0 + 3599) == []
    assert due_horizons(t0, (H1, H4, 86400), (), t0 + 3600) == [H1]
    assert due_horizons(t0, (86400, H1, H4), (), t0 + 20000) == [H1, H4]
    assert due_horizons(t0, (H1, H4, 86400), (H1,), t0 + 20000) == [H4]
    assert due_horizons(t0, (H1, H4), (H1, H4), t0 + 10**6) == []
    assert due_horizons(t0, (5, 10), (), t0 + 7) == [5]


@pytest.mark.parametrize("horizon,tolerance", [
    (5, 1.0), (60, 3.0), (3600, 180.0), (14400, 600.0), (86400, 600.0),
])
def test_tolerance_rule(horizon, tolerance):
    assert tolerance_for(horizon) == tolerance


def test_nearest_price_within_tolerance():
    points = [(1000.0, 10.0), (1170.0, 11.0), (1230.0, 12.0), (1400.0, 13.0)]
    assert nearest_price(points, 1200.0, 60.0) == (1230.0, 12.0)     # tie 30 s each: the later
    assert nearest_price(points, 1180.0, 60.0) == (1170.0, 11.0)
    assert nearest_price(points, 1300.0, 60.0) is None               # 70 s from both
    assert nearest_price(points, 1300.0, 70.0) == (1230.0, 12.0)     # at the limit counts
    assert nearest_price([], 1300.0, 600.0) is None
    assert nearest_price([(1300.0, 0.0), (1310.0, 14.0)], 1300.0, 60.0) == (1310.0, 14.0)


# --- stats -----------------------------------------------------------------------------------

def _records(signal_id, direction, moves_1h, moves_4h, start=10_000.0, coin="ETH"):
    """One record per alert; a move of None means not measured yet at that horizon."""
    out = []
    for i, (m1, m4) in enumerate(zip(moves_1h, moves_4h)):
        outcomes = {}
        if m1 is not None:
            outcomes[H1] = measure(direction, 100.0, 100.0 * (1 + m1 / 100))
        if m4 is not None:
            outcomes[H4] = measure(direction, 100.0, 100.0 * (1 + m4 / 100))
        out.append(AlertRecord(signal_id, coin, direction, start + i * 3600, outcomes))
    return out


def test_stats_with_no_records():
    assert stats([], since=0.0) == []


def test_stats_with_three_records_are_flagged():
    records = _records("funding_extreme", BULL, [1.0, -1.0, 0.5], [2.0, -1.0, None])
    (s,) = stats(records, since=0.0)
    assert s.count == 3 and not s.enough and s.note == NOT_ENOUGH
    assert s.agree_1h == pytest.approx(2 / 3) and s.agree_4h == pytest.approx(1 / 2)
    assert s.measured == {H1: 3, H4: 2}
    assert s.median_move_pct == pytest.approx(0.5)
    assert (s.best_move_pct, s.worst_move_pct) == (pytest.approx(2.0), pytest.approx(-1.0))


def test_stats_with_twenty_records():
    liq = _records("liquidation_cascade", BEAR,
                   [-1, -2, 0.5, -0.05, -3, 1, -1, -1, -2, 0.2, -0.5, -4],
                   [-2, -3, 1, -1, -5, 2, 0.05, -1, -1, -2, None, None])
    funding = _records("funding_extreme", BULL, [0.5, -0.5, 0.3, 0.0, 2.0],
                       [1.0, -1.0, 0.5, 0.2, 3.0])
    surge = _records("oi_surge", NEUTRAL, [1.0, -2.0, 0.5], [-3.0, 1.0, 2.0])
    old = _records("taker_bias", BULL, [1.0], [1.0], start=0.0)      # before `since`
    records = surge + funding + old + liq
    assert len(records) == 21
    result = stats(records, since=5_000.0)
    assert [(s.signal_id, s.count, s.enough) for s in result] == [
        ("liquidation_cascade", 12, True), ("funding_extreme", 5, True), ("oi_surge", 3, False)]
    a, b, c = result
    # bearish: agree when price fell ≥ 0.1 %; the flat −0.05 % counts as not agreeing
    assert a.agree_1h == pytest.approx(8 / 12) and a.agree_4h == pytest.approx(7 / 10)
    assert a.measured == {H1: 12, H4: 10}
    # moves at 4h in the signal's direction: 2 3 −1 1 5 −2 −0.05 1 1 2 → median 1, best 5, worst −2
    assert a.median_move_pct == pytest.approx(1.0)
    assert (a.best_move_pct, a.worst_move_pct) == (pytest.approx(5.0), pytest.approx(-2.0))
    assert a.note is None
    assert b.agree_1h == pytest.approx(3 / 5) and b.agree_4h == pytest.approx(4 / 5)
    assert b.median_move_pct == pytest.approx(0.5)
    # neutral alerts: no agreement share; the move is its size
    assert c.agree_1h is None and c.measured == {H1: 0, H4: 0}
    assert c.median_move_pct == pytest.approx(2.0) and c.worst_move_pct == pytest.approx(1.0)
    assert c.note == NOT_ENOUGH


def test_stats_for_one_coin_and_another_horizon():
    records = (_records("funding_extreme", BULL, [1.0] * 5, [2.0] * 5, coin="ETH")
               + _records("funding_extreme", BULL, [-1.0] * 2, [-2.0] * 2, coin="BTC"))
    (eth,) = stats(records, since=0.0, coin="ETH")
    assert eth.count == 5 and eth.agree_1h == 1.0
    (both,) = stats(records, since=0.0, horizons=(H1,))
    assert both.count == 7 and both.agree_share == {H1: pytest.approx(5 / 7)}
    assert both.move_horizon == H1 and both.median_move_pct == pytest.approx(1.0)


def test_outcome_is_plain_data():
    assert Outcome(1.0, True) == measure(BULL, 100.0, 101.0)
