"""Threshold preview (SPEC §14): hand-built histories whose crossings are known."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.replay import (
    FOUR_HOUR_NOTE, NO_REPLAY, REPLAYABLE, THRESHOLD_SIGNALS, CoinHistory, count_alerts, preview,
    replay_support, resolution_for,
)
from core.plans import Plan
from core.signals.catalog import SIGNAL_INFO
from core.thresholds import SPECS, ThresholdSet

T0 = 1_778_486_400.0
LIQ = ("liquidation_cascade",)


def hist(n: int, resolution: str = "1h", coin: str = "ETH", **spikes: dict[int, float | None]):
    """A calm market of ``n`` candles (flat price and OI, funding 0.01 %, 50/50 shares, 2M of
    liquidations a side, balanced takers); ``spikes`` override single candles of a series."""
    step = 3600 if resolution == "1h" else 14400
    calm = {"price": 100.0, "open_interest_usd": 1e10, "funding_8h_pct": 0.01,
            "liq_long_usd": 2e6, "liq_short_usd": 2e6, "global_long_pct": 50.0,
            "top_long_pct": 50.0, "taker_buy_usd": 1e8, "taker_sell_usd": 1e8}
    series = {}
    for name, value in calm.items():
        values = [value] * n
        for i, v in spikes.get(name, {}).items():
            values[i] = v
        series[name] = tuple(values)
    return CoinHistory(coin, resolution, tuple(T0 + i * step for i in range(n)), **series)


def th(**values: float) -> ThresholdSet:
    return ThresholdSet.resolve(values)


# Two liquidation spikes 30 h apart, and a smaller one later.
SPIKES = hist(72, liq_long_usd={10: 80e6, 40: 60e6, 60: 20e6})


@pytest.mark.parametrize("threshold,alerts", [
    (50e6, 2),      # the two spikes are HIGH; the 22M total stays under the 25M MEDIUM line
    (30e6, 3),      # ...and at 30M the 22M total passes the 15M MEDIUM line
    (100e6, 2),     # both spikes only reach MEDIUM (total above 50M)
    (200e6, 0),
])
def test_liquidation_spikes(threshold, alerts):
    result = count_alerts(SPIKES, th(liquidation_usd=threshold), LIQ)
    assert result.alerts == alerts
    assert result.by_signal == ({"liquidation_cascade": alerts} if alerts else {})


def test_counted_span_and_steps():
    result = count_alerts(SPIKES, th(), LIQ)
    assert result.resolution == "1h" and result.steps == 72 and result.gaps == 0
    assert result.first_ts == T0 + 3600                 # decided at the first candle's close
    assert result.last_ts == T0 + 72 * 3600


def test_min_level_high_drops_the_medium_alert():
    assert count_alerts(SPIKES, th(liquidation_usd=30e6, min_level=3), LIQ).alerts == 2


@pytest.mark.parametrize("cooldown_high,alerts", [
    (30, 5),        # the default: a spike lasting 5 hours alerts every hour
    (180, 2),       # candles 20 and 23
    (240, 2),       # candles 20 and 24
    (300, 1),
])
def test_cooldown_respected(cooldown_high, alerts):
    long_spike = hist(48, liq_long_usd={i: 80e6 for i in range(20, 25)})
    assert count_alerts(long_spike, th(cooldown_high=cooldown_high), LIQ).alerts == alerts


def test_escalation_alerts_again_inside_the_cooldown():
    rising = hist(48, liq_long_usd={30: 30e6, 31: 80e6})     # MEDIUM, then HIGH
    assert count_alerts(rising, th(cooldown_high=600, cooldown_medium=600), LIQ).alerts == 2


def test_a_gap_keeps_the_alert_state():
    spike = {i: 80e6 for i in range(20, 25)}
    with_gap = hist(48, liq_long_usd={**spike, 22: None})
    result = count_alerts(with_gap, th(cooldown_high=600), LIQ)
    # the spike alerts once: candle 23 is not "new" after the gap at 22
    assert result.alerts == 1 and result.gaps == 1
    # a spike that really ends and comes back is new again
    ended = hist(48, liq_long_usd={**spike, 22: 2e6})
    assert count_alerts(ended, th(cooldown_high=600), LIQ).alerts == 2


def test_an_empty_series_is_all_gaps():
    h = CoinHistory("ETH", "1h", tuple(T0 + i * 3600 for i in range(10)), price=(100.0,) * 10)
    result = count_alerts(h, th(), LIQ)
    assert result.alerts == 0 and result.gaps == 10


def test_oi_and_price_from_consecutive_candles_feed_the_regime():
    # OI −3 % and price −1 % between candles 9 and 10: OI drop (MEDIUM) and long liquidation
    h = hist(24, open_interest_usd={i: 0.97e10 for i in range(10, 24)},
             price={i: 99.0 for i in range(10, 24)})
    result = count_alerts(h, th(), ("oi_surge", "oi_price_regime"))
    assert result.alerts == 1
    assert result.by_signal == {"oi_surge": 1, "oi_price_regime": 1}
    # a gap in OI at 10 leaves no change to read at 10 or 11 (11 is flat anyway)
    gap = hist(24, open_interest_usd={10: None, **{i: 0.97e10 for i in range(11, 24)}},
               price={i: 99.0 for i in range(11, 24)})
    assert count_alerts(gap, th(), ("oi_surge",)).alerts == 0


def test_four_hour_resolution_reads_figures_per_four_hours():
    # 120M of long liquidations in one 4h candle, and OI +6 % over one 4h candle
    h = hist(42, "4h", liq_long_usd={5: 120e6},
             open_interest_usd={i: 1.06e10 for i in range(20, 42)})
    liq = count_alerts(h, th(), LIQ)
    assert liq.alerts == 1 and liq.resolution == "4h" and liq.steps == 42
    assert liq.last_ts == T0 + 42 * 14400
    assert count_alerts(h, th(), ("oi_surge",)).alerts == 1
    assert count_alerts(h, th(oi_change=7.0), ("oi_surge",)).alerts == 1    # MEDIUM at 3.5
    assert count_alerts(h, th(oi_change=13.0), ("oi_surge",)).alerts == 0


def test_window_counts_the_last_seven_days_and_warms_up_before():
    # 10 days; candle 72 is the first decided inside the last 7 days
    early = hist(240, liq_long_usd={24: 80e6})
    assert count_alerts(early, th(), LIQ).alerts == 0
    assert count_alerts(early, th(), LIQ, window=timedelta(days=10)).alerts == 1
    late = hist(240, liq_long_usd={72: 80e6})
    assert count_alerts(late, th(), LIQ).steps == 168
    assert count_alerts(late, th(), LIQ).alerts == 1
    # a spike running across the window's start is already active: not new inside it
    across = hist(240, liq_long_usd={i: 80e6 for i in range(70, 74)})
    assert count_alerts(across, th(cooldown_high=600), LIQ).alerts == 0


# --- preview -----------------------------------------------------------------------------------

def test_preview_old_and_new_over_coins():
    eth = SPIKES
    btc = hist(72, coin="BTC", liq_short_usd={5: 20e6})          # a 22M total: MEDIUM at 30M
    result = preview([eth, btc], th(), th(liquidation_usd=30e6), "liquidation_usd")
    assert (result.new_count, result.old_count) == (4, 2)
    assert result.by_coin == {"ETH": (3, 2), "BTC": (1, 0)}
    assert result.coins == ("ETH", "BTC") and result.resolution == "1h"
    assert result.unsupported_reason is None and result.note is None
    assert result.signal_ids == LIQ


def test_preview_at_four_hours_says_so():
    h = hist(42, "4h", liq_long_usd={5: 120e6})
    result = preview([h], th(), th(liquidation_usd=150e6), "liquidation_usd")
    assert (result.new_count, result.old_count) == (1, 1)     # HIGH at 50M, MEDIUM at 150M
    assert result.resolution == "4h" and result.note == FOUR_HOUR_NOTE


@pytest.mark.parametrize("name,says", [
    ("wall_usd", "no history to replay"), ("cluster_distance", "no history to replay"),
    ("lock_at", "position-guard setting"), ("bogus", "unknown threshold"),
])
def test_preview_says_why_it_cannot(name, says):
    result = preview([SPIKES], th(), th(), name)
    assert says in result.unsupported_reason and (result.new_count, result.old_count) == (0, 0)


def test_preview_respects_signals_turned_off_and_no_history():
    off = preview([SPIKES], th(), th(liquidation_usd=30e6), "liquidation_usd",
                  enabled={"funding_extreme"})
    assert off.unsupported_reason == "the signals this threshold tunes are off in your settings"
    assert preview([], th(), th(), "liquidation_usd").unsupported_reason == (
        "no history for your coins")
    both = preview([SPIKES], th(), th(oi_change=2.0), "oi_change", enabled={"oi_surge"})
    assert both.signal_ids == ("oi_surge",)


def test_min_level_previews_every_replayable_signal():
    h = hist(48, liq_long_usd={10: 30e6}, funding_8h_pct={30: 0.2})
    result = preview([h], th(min_level=3), th(min_level=2), "min_level")
    assert result.signal_ids == REPLAYABLE
    assert (result.new_count, result.old_count) == (2, 1)   # the MEDIUM liquidations join


def test_every_threshold_is_in_exactly_one_table():
    assert set(THRESHOLD_SIGNALS) | set(NO_REPLAY) == set(SPECS)
    assert not set(THRESHOLD_SIGNALS) & set(NO_REPLAY)
    for name, signals in THRESHOLD_SIGNALS.items():
        assert set(signals) <= set(REPLAYABLE), name
        assert replay_support(name) == (signals, None)
    for name in SPECS:
        spec_signal = SPECS[name].signal
        if spec_signal in SIGNAL_INFO and name in THRESHOLD_SIGNALS:
            assert spec_signal in THRESHOLD_SIGNALS[name], name


def test_resolution_for_plan():
    assert resolution_for(Plan.HOBBYIST) == "4h"
    assert resolution_for(Plan.STARTUP) == "1h" and resolution_for(Plan.ENTERPRISE) == "1h"


@pytest.mark.parametrize("make,says", [
    (lambda: CoinHistory("ETH", "15m", (T0,)), "1h or 4h"),
    (lambda: CoinHistory("ETH", "1h", (T0, T0 + 3600), price=(1.0,)), "price has 1 values"),
    (lambda: CoinHistory("ETH", "1h", (T0, T0 + 7200)), "1h apart"),
])
def test_history_shape_is_checked(make, says):
    with pytest.raises(ValueError, match=says):
        make()


def test_signals_without_history_are_refused():
    with pytest.raises(ValueError, match="cannot replay orderbook_wall"):
        count_alerts(SPIKES, th(), ("orderbook_wall",))


def test_four_hour_regime_reads_the_four_hour_change():
    # OI −3 % and price −1 % within one 4h candle: the regime (window 4h) calls a long liquidation
    h = hist(42, "4h", open_interest_usd={i: 0.97e10 for i in range(10, 42)},
             price={i: 99.0 for i in range(10, 42)})
    result = count_alerts(h, th(), ("oi_price_regime",))
    assert result.alerts == 1 and result.by_signal == {"oi_price_regime": 1}


def test_oi_change_previews_the_regime_signal_too():
    assert replay_support("oi_change") == (("oi_surge", "oi_price_regime"), None)
    assert replay_support("liquidation_usd") == (("liquidation_cascade",), None)
    assert replay_support("trail")[0] == ()
