"""The figure, inspected before rendering (axes, lines, gaps), and the PNG it becomes."""

from __future__ import annotations

import io
import math
import sys
from datetime import timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from PIL import Image

from core.charts.model import ChartThresholds
from core.charts.render import (
    DPI, HEIGHT_PX, WIDTH_PX, build_figure, build_map_figure, map_bins, render_png, time_ticks,
)
from core.plans import Plan
from tests.core.charts.factories import NOW, THRESHOLDS, chart_data, map_data

PANELS = ["price", "open_interest", "funding", "liquidations"]


def by_label(fig):
    return {ax.get_label(): ax for ax in fig.axes}


def line(ax, gid):
    (found,) = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    return found


def test_four_panels_on_one_time_axis():
    fig = build_figure(chart_data(), THRESHOLDS)
    assert [ax.get_label() for ax in fig.axes] == PANELS
    axes = by_label(fig)
    shared = axes["price"].get_shared_x_axes()
    assert all(shared.joined(axes["price"], axes[name]) for name in PANELS)
    assert fig.get_size_inches() * fig.dpi == pytest.approx([WIDTH_PX, HEIGHT_PX])
    assert fig.dpi == DPI
    price = axes["price"]
    assert {c.get_gid() for c in price.collections} >= {"candles", "wicks"}
    assert line(axes["open_interest"], "open_interest").get_ydata()[-1] > 1e9
    liq = {c.get_gid() for c in axes["liquidations"].collections}
    assert {"liq_long", "liq_short"} <= liq


def test_the_users_thresholds_are_drawn():
    thresholds = ChartThresholds(funding_high=0.08, funding_low=-0.03, liquidation_usd=20e6)
    data = chart_data(Plan.STANDARD, "24h", liq_long_last=15e6)      # 15 min candles
    axes = by_label(build_figure(data, thresholds))
    funding = axes["funding"]
    assert line(funding, "funding_high").get_ydata()[0] == pytest.approx(0.08)
    assert line(funding, "funding_low").get_ydata()[0] == pytest.approx(-0.03)
    low, high = funding.get_ylim()
    assert low < -0.03 and high > 0.08                      # both in view
    liq = axes["liquidations"]
    per_candle = 20e6 * 15 / 60                             # USD per 1 h, scaled to the candle
    assert line(liq, "liquidation_usd_short").get_ydata()[0] == pytest.approx(per_candle)
    assert line(liq, "liquidation_usd_long").get_ydata()[0] == pytest.approx(-per_candle)
    assert liq.get_ylim()[1] > per_candle
    texts = " ".join(t.get_text() for t in liq.texts)
    assert "liquidation_usd $20M/h ≈ $5M per 15 min" in texts


def test_a_threshold_far_above_every_bar_is_named_not_squashing_the_bars():
    data = chart_data(Plan.HOBBYIST, "7d")                   # 4 h candles: $200M per candle
    liq = by_label(build_figure(data, THRESHOLDS))["liquidations"]
    notes = [t.get_text() for t in liq.texts if t.get_gid() == "threshold-note"]
    assert notes and "above this scale" in notes[0]
    assert liq.get_ylim()[1] < 50e6


def test_missing_data_is_a_gap_never_zero():
    data = chart_data(gaps={"funding": range(20, 30), "price": range(40, 45)},
                      missing={"open_interest": "CoinGlass did not answer in time"})
    axes = by_label(build_figure(data, THRESHOLDS))
    funding = line(axes["funding"], "funding").get_ydata()
    assert np.isnan(funding[20:30]).all() and not np.isnan(funding[:20]).any()
    assert any(p.get_gid() == "gap" for p in axes["funding"].patches)
    oi_ax = axes["open_interest"]
    assert np.isnan(line(oi_ax, "open_interest").get_ydata()).all()
    assert any("no data: CoinGlass did not answer in time" in t.get_text() for t in oi_ax.texts)
    bodies = next(c for c in axes["price"].collections if c.get_gid() == "candles")
    assert len(bodies.get_paths()) == len(data.times) - 5          # no candle drawn as 0


def test_liquidation_gaps_are_not_drawn_as_zero_bars():
    data = chart_data(gaps={"liquidations": range(0, 50)})
    liq = by_label(build_figure(data, THRESHOLDS))["liquidations"]
    longs = next(c for c in liq.collections if c.get_gid() == "liq_long")
    assert len(longs.get_paths()) == len(data.times) - 50


def test_png_is_valid_of_the_stated_size_and_small():
    png = render_png(build_figure(chart_data(Plan.STARTUP, "7d"), THRESHOLDS))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.size == (WIDTH_PX, HEIGHT_PX)
    assert len(png) <= 200_000
    colours = Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colours) > 50                               # not an empty picture


def test_rendering_uses_no_pyplot_state():
    render_png(build_figure(chart_data(), THRESHOLDS))
    render_png(build_map_figure(map_data()))
    assert "matplotlib.pyplot" not in sys.modules


def test_times_on_the_axis_are_in_the_users_timezone():
    day = 86400
    start = NOW - day
    utc = time_ticks(start, NOW)
    berlin = time_ticks(start, NOW, ZoneInfo("Europe/Berlin"))
    assert 3 <= len(utc) <= 6
    assert all(label.endswith(":00") or label[0].isdigit() for _, label in utc)
    assert utc[0][0] != berlin[0][0] or utc[0][1] != berlin[0][1]
    week = time_ticks(NOW - 7 * day, NOW, timezone.utc)
    assert all(" " in label for _, label in week)          # day ticks read "21 Nov"


def test_map_draws_longs_below_and_shorts_above_the_price():
    fig = build_map_figure(map_data(3000.0))
    (ax,) = fig.axes
    assert ax.get_label() == "liquidation_map"
    longs = [p for p in ax.patches if p.get_gid() == "longs"]
    shorts = [p for p in ax.patches if p.get_gid() == "shorts"]
    assert longs and shorts
    assert all(p.get_y() + p.get_height() <= 3000 for p in longs)
    assert all(p.get_y() >= 3000 - 1e-6 for p in shorts)
    assert line(ax, "price").get_ydata()[0] == 3000.0
    centres, sums, height = map_bins(map_data(3000.0))
    assert math.isclose(sums.sum(), sum(u for p, u in map_data().levels
                                        if 3000 * 0.9 <= p <= 3000 * (1 + 10 / 100)),
                        rel_tol=1e-9)


def test_map_without_a_price_still_draws_around_the_levels():
    png = render_png(build_map_figure(map_data(None)))
    assert Image.open(io.BytesIO(png)).size == (WIDTH_PX, HEIGHT_PX)
