"""Windows, the candles each plan gets for them, and the data's gaps."""

from __future__ import annotations

import pickle

import pytest

from core.charts.model import (
    MAX_CANDLES, WINDOWS, ChartThresholds, RenderJob, parse_window, resolution,
)
from core.plans import INTERVAL_MINUTES, PLAN_INFO, Plan
from core.thresholds import DEFAULTS
from tests.core.charts.factories import chart_data


@pytest.mark.parametrize("plan,window,shown,interval", [
    (Plan.HOBBYIST, "6h", "7d", "4h"), (Plan.HOBBYIST, "24h", "7d", "4h"),
    (Plan.HOBBYIST, "3d", "3d", "4h"), (Plan.HOBBYIST, "7d", "7d", "4h"),
    (Plan.STARTUP, "6h", "6h", "30m"), (Plan.STARTUP, "24h", "24h", "30m"),
    (Plan.STARTUP, "3d", "3d", "30m"), (Plan.STARTUP, "7d", "7d", "1h"),
    (Plan.STANDARD, "6h", "6h", "3m"), (Plan.STANDARD, "24h", "24h", "15m"),
    (Plan.STANDARD, "3d", "3d", "30m"), (Plan.STANDARD, "7d", "7d", "1h"),
    (Plan.PROFESSIONAL, "24h", "24h", "15m"), (Plan.ENTERPRISE, "6h", "6h", "3m"),
])
def test_each_plan_gets_its_finest_candles_for_the_window(plan, window, shown, interval):
    res = resolution(plan, window)
    assert (res.window, res.interval) == (shown, interval)
    assert res.widened == (shown != window)


@pytest.mark.parametrize("plan", list(Plan))
@pytest.mark.parametrize("window", list(WINDOWS))
def test_resolution_never_asks_what_the_plan_refuses(plan, window):
    res = resolution(plan, window)
    assert PLAN_INFO[plan].allows_interval(res.interval)
    assert 12 <= res.candles <= MAX_CANDLES
    assert res.candles * INTERVAL_MINUTES[res.interval] >= WINDOWS[res.window]
    assert res.interval != "2h"           # not on most history endpoints' interval lists


@pytest.mark.parametrize("text,window", [
    ("24h", "24h"), ("1d", "24h"), ("7D", "7d"), ("week", "7d"), ("1w", "7d"), (" 3d ", "3d"),
    ("6H", "6h"), ("map", "map"), ("MAP", "map"), ("2w", None), ("", None), ("24 h", None),
    ("<b>", None),
])
def test_parse_window(text, window):
    assert parse_window(text) == window


def test_gaps_are_runs_of_missing_candles_and_never_zero():
    data = chart_data(gaps={"funding": range(10, 14), "price": range(0, 3)})
    step = data.step_seconds
    assert data.gaps("funding") == [(data.times[10], data.times[14])]
    assert data.gaps("price") == [(data.times[0], data.times[3])]
    assert data.funding[10] is None and data.close[0] is None
    assert data.gaps("open_interest") == []
    whole = chart_data(missing={"liquidations": "CoinGlass error"})
    assert whole.gaps("liquidations") == [(whole.times[0], whole.times[-1] + step)]
    assert all(v is None for v in whole.series("liquidations"))


def test_data_time_is_the_fetch_unless_coinglass_lags():
    data = chart_data()
    assert data.data_time == data.fetched_at
    lagging = chart_data(gaps={name: range(90, 96) for name in
                               ("price", "open_interest", "funding", "liquidations")})
    assert lagging.data_time == lagging.times[90]


def test_a_render_job_crosses_into_a_process():
    job = RenderJob(chart_data(), ChartThresholds.from_values(DEFAULTS))
    assert pickle.loads(pickle.dumps(job)) == job
