"""Draw a :class:`ChartData` or :class:`MapData` as a phone-friendly PNG, with matplotlib's
object API only (``Figure`` + the Agg canvas; no pyplot, no global rc changes), so it is safe
in a worker thread or process.

- Size: 1024 × 1280 px (4:5 portrait). Telegram re-encodes photos to at most 1280 px on the
  long side, so this size arrives untouched, and in portrait it fills a phone's width with
  four panels of readable height. Text is 13–17 pt at 128 dpi (23–30 px, about 9–11 dp on a
  phone showing the picture full width).
- Colours: one dark theme with high contrast, legible in Telegram's light and dark themes
  alike (the picture carries its own background).
- Fonts: DejaVu Sans, which ships inside matplotlib; nothing is read from the system.
- Missing data is a gap: no line or bar is drawn there, the span is shaded and labelled
  "no data", never drawn as zero.
- Speed: one artist per series (candles and bars are two polygon collections, not hundreds of
  patches), fixed layout (no layout engine), ticks computed here. About 150–250 ms per chart
  on one core (BENCHMARKS.md).

Each panel's axes carries a label (``price``, ``open_interest``, ``funding``,
``liquidations``) and each threshold line a ``gid`` (``funding_high``, ``funding_low``,
``liquidation_usd_long``, ``liquidation_usd_short``) so tests inspect the figure, not pixels.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from PIL import Image

from core.charts.model import ChartData, ChartThresholds, MapData, RenderJob

WIDTH_PX, HEIGHT_PX, DPI = 1024, 1280, 128
FONT = "DejaVu Sans"
# Every text drawn here: the bundled font, and "$" is a dollar, never mathtext.
_TEXT = {"fontfamily": FONT, "parse_math": False}


@dataclass(frozen=True)
class Theme:
    background: str = "#0e141b"
    panel: str = "#131b24"
    grid: str = "#2a3542"
    text: str = "#e6edf3"
    muted: str = "#9aa7b4"
    up: str = "#26a69a"
    down: str = "#ef5350"
    line: str = "#4aa3ff"
    oi: str = "#f0b429"
    funding: str = "#c792ea"
    high: str = "#ff9f43"
    low: str = "#48dbfb"
    gap: str = "#5c6773"


THEME = Theme()
TITLE_PT, LABEL_PT, TICK_PT = 17, 14, 13


# --- numbers -------------------------------------------------------------------------------

def usd_short(value: float) -> str:
    sign = "−" if value < 0 else ""
    v = abs(value)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= size:
            scaled = v / size
            digits = f"{scaled:.1f}".removesuffix(".0") if scaled < 100 else f"{scaled:.0f}"
            return f"{sign}${digits}{suffix}"
    return f"{sign}${v:.0f}"


def price_text(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.4g}"


def signed(value: float, digits: int = 2) -> str:
    """``+0.0123`` / ``−0.0300`` with a real minus sign."""
    return ("−" if value < 0 else "+") + f"{abs(value):.{digits}f}"


def _minus(value: float) -> str:
    return f"{value:g}".replace("-", "−")


def zone_name(moment: datetime, tz: tzinfo) -> str:
    return "UTC" if tz is timezone.utc else (moment.tzname() or "")


def interval_text(interval: str) -> str:
    unit = {"m": "min", "h": "h", "d": "day", "w": "week"}[interval[-1]]
    return f"{interval[:-1]} {unit}"


# --- time axis -----------------------------------------------------------------------------

_TICK_STEPS = (3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400)


def time_ticks(start: float, end: float, tz: tzinfo = timezone.utc,
               max_ticks: int = 6) -> list[tuple[float, str]]:
    """Tick positions (epoch s) and labels in ``tz`` for the span, on round local times.

    Hour ticks read ``14:00``; midnight and day ticks read ``21 Nov``.
    """
    span = max(1.0, end - start)
    step = next((s for s in _TICK_STEPS if span / s <= max_ticks), _TICK_STEPS[-1])
    offset = datetime.fromtimestamp(start, tz).utcoffset() or timedelta(0)
    off = offset.total_seconds()
    first = math.ceil((start + off) / step) * step - off
    ticks = []
    t = first
    while t <= end:
        local = datetime.fromtimestamp(t, tz)
        midnight = local.hour == 0 and local.minute == 0
        label = local.strftime("%d %b") if step >= 86400 or midnight else local.strftime("%H:%M")
        ticks.append((t, label.lstrip("0") if label[0] == "0" and ":" not in label else label))
        t += step
    return ticks


def _array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


# --- the four-panel chart ------------------------------------------------------------------

def _style(ax, theme: Theme, label: str) -> None:
    ax.set_label(label)
    ax.set_facecolor(theme.panel)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.grid(True, color=theme.grid, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(colors=theme.muted, labelsize=TICK_PT, length=0, pad=6)
    ax.yaxis.set_major_locator(MaxNLocator(4))


def _title(ax, theme: Theme, left: str, right: str = "") -> None:
    """The panel's name above it on the left, its latest value on the right."""
    ax.text(0.0, 1.03, left, transform=ax.transAxes, ha="left", va="bottom", color=theme.text,
            fontsize=LABEL_PT, **_TEXT)
    if right:
        ax.text(1.0, 1.03, right, transform=ax.transAxes, ha="right", va="bottom",
                color=theme.text, fontsize=LABEL_PT + 1, fontweight="bold", **_TEXT)


def _gaps(ax, data: ChartData, name: str, theme: Theme) -> None:
    """Shade the spans without data; name the panel's whole absence."""
    runs = data.gaps(name)
    whole = len(runs) == 1 and runs[0][0] <= data.times[0] and \
        runs[0][1] >= data.times[-1] + data.step_seconds
    for start, end in runs:
        ax.axvspan(start, end, facecolor=theme.gap, alpha=0.22, hatch="//", edgecolor=theme.gap,
                   linewidth=0, gid="gap")
        if not whole and end - start >= 0.08 * (data.times[-1] - data.times[0]):
            ax.text((start + end) / 2, 0.5, "no data", transform=ax.get_xaxis_transform(),
                    ha="center", va="center", color=theme.muted, fontsize=TICK_PT,
                    **_TEXT)
    if whole:
        why = data.missing.get(name, "no data")
        ax.text(0.5, 0.45, f"no data: {why}", transform=ax.transAxes, ha="center", va="center",
                color=theme.text, fontsize=LABEL_PT, **_TEXT, gid="no-data")


def _candles(ax, x: np.ndarray, data: ChartData, width: float, theme: Theme) -> None:
    o, h, lo, c = (_array(s) for s in (data.open, data.high, data.low, data.close))
    ok = ~np.isnan(c)
    if not ok.any():
        return
    o = np.where(np.isnan(o), c, o)
    h = np.where(np.isnan(h), np.maximum(o, c), h)
    lo = np.where(np.isnan(lo), np.minimum(o, c), lo)
    xs, o, h, lo, c = x[ok], o[ok], h[ok], lo[ok], c[ok]
    rising = c >= o
    colors = np.where(rising, theme.up, theme.down)
    wicks = np.stack([np.column_stack([xs, lo]), np.column_stack([xs, h])], axis=1)
    ax.add_collection(LineCollection(wicks, colors=colors, linewidths=1.2, gid="wicks"))
    half = width * 0.38
    bottom, top = np.minimum(o, c), np.maximum(o, c)
    # A doji still shows: at least a sliver of the panel's price range.
    span = float(np.nanmax(h) - np.nanmin(lo)) or abs(float(c[-1])) * 0.01 or 1.0
    top = np.maximum(top, bottom + span * 0.003)
    bodies = np.stack([np.column_stack([xs - half, bottom]), np.column_stack([xs + half, bottom]),
                       np.column_stack([xs + half, top]), np.column_stack([xs - half, top])],
                      axis=1)
    ax.add_collection(PolyCollection(bodies, facecolors=colors, edgecolors="none", gid="candles"))
    ax.set_ylim(float(np.nanmin(lo)) - span * 0.06, float(np.nanmax(h)) + span * 0.22)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: price_text(v)))


def _line(ax, x: np.ndarray, values, color: str, gid: str, fill: bool = False) -> np.ndarray:
    y = _array(values)
    ax.plot(x, y, color=color, linewidth=2.2, gid=gid, solid_joinstyle="round")
    if fill and (~np.isnan(y)).any():
        base = float(np.nanmin(y))
        ax.fill_between(x, y, base, where=~np.isnan(y), color=color, alpha=0.12, linewidth=0)
    return y


def _hline(ax, y: float, color: str, gid: str, label: str, theme: Theme,
           style: str = "--") -> None:
    ax.axhline(y, color=color, linewidth=1.6, linestyle=style, gid=gid, zorder=3)
    ax.text(0.995, y, f" {label} ", transform=ax.get_yaxis_transform(), ha="right",
            va="bottom" if y >= 0 else "top", color=color, fontsize=TICK_PT - 1, **_TEXT, zorder=4)


def _bars(ax, x: np.ndarray, up, down, width: float, theme: Theme) -> float:
    """Shorts liquidated as bars up, longs as bars down; returns the tallest bar."""
    half = width * 0.4
    tallest = 0.0
    for values, sign, color, gid in ((up, 1.0, theme.up, "liq_short"),
                                     (down, -1.0, theme.down, "liq_long")):
        v = _array(values)
        ok = ~np.isnan(v) & (v > 0)
        if not ok.any():
            continue
        xs, hs = x[ok], v[ok] * sign
        tallest = max(tallest, float(np.max(v[ok])))
        zero = np.zeros_like(xs)
        rects = np.stack([np.column_stack([xs - half, zero]), np.column_stack([xs + half, zero]),
                          np.column_stack([xs + half, hs]), np.column_stack([xs - half, hs])],
                         axis=1)
        ax.add_collection(PolyCollection(rects, facecolors=color, edgecolors="none", gid=gid))
    return tallest


def _last_value(values) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def build_figure(data: ChartData, thresholds: ChartThresholds,
                 tz: tzinfo = timezone.utc, theme: Theme = THEME) -> Figure:
    """The four panels (price, open interest, funding, liquidations) on one time axis."""
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=theme.background)
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={
        "height_ratios": [3.0, 1.5, 1.5, 1.7], "hspace": 0.3,
        "left": 0.115, "right": 0.975, "top": 0.875, "bottom": 0.05})
    price_ax, oi_ax, funding_ax, liq_ax = axes
    for ax, label in zip(axes, ("price", "open_interest", "funding", "liquidations")):
        _style(ax, theme, label)
    step = data.step_seconds
    x = np.array(data.times, dtype=float) + step / 2          # candle centres
    start, end = data.times[0], data.times[-1] + step

    # Header: what, which window, which candles, when.
    res = data.resolution
    moment = datetime.fromtimestamp(data.data_time, tz)
    fig.text(0.03, 0.975, f"{data.coin} · last {res.window}", color=theme.text,
             fontsize=TITLE_PT + 5, fontweight="bold", ha="left", va="top", **_TEXT)
    fig.text(0.03, 0.937, f"{interval_text(res.interval)} candles · {data.plan.title} plan · "
             f"data to {moment.strftime('%d %b %H:%M')} {zone_name(moment, tz)}".rstrip(),
             color=theme.muted, fontsize=LABEL_PT, ha="left", va="top", **_TEXT)

    # Price.
    _candles(price_ax, x, data, step, theme)
    last_price = _last_value(data.close)
    _title(price_ax, theme, f"Price · {data.price_exchange} {data.pair}",
           f"${price_text(last_price)}" if last_price is not None else "")
    _gaps(price_ax, data, "price", theme)

    # Open interest.
    _line(oi_ax, x, data.open_interest, theme.oi, "open_interest", fill=True)
    oi_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: usd_short(v)))
    last_oi = _last_value(data.open_interest)
    _title(oi_ax, theme, "Open interest, all venues",
           usd_short(last_oi) if last_oi is not None else "")
    _gaps(oi_ax, data, "open_interest", theme)
    _pad_ylim(oi_ax, _array(data.open_interest), top=0.35)

    # Funding, with the user's thresholds.
    f = _line(funding_ax, x, data.funding, theme.funding, "funding")
    funding_ax.axhline(0.0, color=theme.muted, linewidth=1.0, gid="zero")
    _hline(funding_ax, thresholds.funding_high, theme.high, "funding_high",
           f"funding_high {_minus(thresholds.funding_high)} %", theme)
    _hline(funding_ax, thresholds.funding_low, theme.low, "funding_low",
           f"funding_low {_minus(thresholds.funding_low)} %", theme)
    funding_ax.yaxis.set_major_formatter(
        FuncFormatter(lambda v, _: f"{v:.3g} %".replace("-", "−")))
    last_f = _last_value(data.funding)
    _title(funding_ax, theme, "Funding, OI-weighted, % per 8 h",
           signed(last_f, 4) + " %" if last_f is not None else "")
    _gaps(funding_ax, data, "funding", theme)
    values = np.concatenate([f[~np.isnan(f)], [thresholds.funding_high, thresholds.funding_low]])
    lo_f, hi_f = float(values.min()), float(values.max())
    pad = (hi_f - lo_f) * 0.15 or 0.01
    funding_ax.set_ylim(lo_f - pad * 2.4, hi_f + pad * 2.6)

    # Liquidations per candle, with the user's threshold scaled to the candle.
    tallest = _bars(liq_ax, x, data.liq_short, data.liq_long, step, theme)
    per_candle = thresholds.liquidation_usd * step / 3600.0
    scaled = ("" if step == 3600
              else f" ≈ {usd_short(per_candle)} per {interval_text(res.interval)}")
    label = f"liquidation_usd {usd_short(thresholds.liquidation_usd)}/h{scaled}"
    liq_ax.axhline(0.0, color=theme.muted, linewidth=1.0, gid="zero")
    for sign, gid in ((1.0, "liquidation_usd_short"), (-1.0, "liquidation_usd_long")):
        liq_ax.axhline(sign * per_candle, color=theme.high, linewidth=1.6, linestyle=":",
                       gid=gid, zorder=3)
    if tallest > 0 and per_candle > 3 * tallest:
        # A threshold far above every bar would flatten them: keep the bars readable and
        # say where the threshold is.
        limit = tallest * 1.5
        liq_ax.text(0.995, 0.96, f"{label}: above this scale ↑", transform=liq_ax.transAxes,
                    ha="right", va="top", color=theme.high, fontsize=TICK_PT - 1,
                    gid="threshold-note", **_TEXT)
    else:
        limit = max(tallest, per_candle) * 1.35
        liq_ax.text(0.995, -per_candle, f"{label} ", transform=liq_ax.get_yaxis_transform(),
                    ha="right", va="top", color=theme.high, fontsize=TICK_PT - 1, **_TEXT)
    liq_ax.set_ylim(-limit, limit)
    liq_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: usd_short(abs(v))))
    venues = ", ".join(data.liq_exchanges) or "all venues"
    _title(liq_ax, theme, f"Liquidations per {interval_text(res.interval)}: "
                          f"shorts ▲ longs ▼ ({venues})")
    _gaps(liq_ax, data, "liquidations", theme)

    ticks = time_ticks(start, end, tz)
    liq_ax.set_xlim(start, end)
    liq_ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    return fig


def _pad_ylim(ax, y: np.ndarray, top: float = 0.2) -> None:
    ok = y[~np.isnan(y)]
    if not ok.size:
        return
    lo, hi = float(ok.min()), float(ok.max())
    span = (hi - lo) or abs(hi) * 0.01 or 1.0
    ax.set_ylim(lo - span * 0.08, hi + span * top)


# --- the liquidation map -------------------------------------------------------------------

MAP_BINS = 40
MAP_SPAN_PCT = 10.0


def map_bins(data: MapData, bins: int = MAP_BINS,
             span_pct: float = MAP_SPAN_PCT) -> tuple[np.ndarray, np.ndarray, float]:
    """(bin centre prices, USD per bin, bin height) of the levels within ±``span_pct`` of the
    current price (or of the levels' middle when the price is unknown)."""
    prices = np.array([p for p, _ in data.levels], dtype=float)
    amounts = np.array([u for _, u in data.levels], dtype=float)
    centre = data.price if data.price else float(np.median(prices))
    lo, hi = centre * (1 - span_pct / 100), centre * (1 + span_pct / 100)
    keep = (prices >= lo) & (prices <= hi)
    edges = np.linspace(lo, hi, bins + 1)
    sums, _ = np.histogram(prices[keep], bins=edges, weights=amounts[keep])
    return (edges[:-1] + edges[1:]) / 2, sums, float(edges[1] - edges[0])


def build_map_figure(data: MapData, tz: tzinfo = timezone.utc, theme: Theme = THEME) -> Figure:
    """Liquidation clusters by price level as horizontal bars around the current price: longs
    (liquidated if price falls) below it, shorts above."""
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=theme.background)
    ax = fig.add_axes((0.16, 0.06, 0.8, 0.81))
    _style(ax, theme, "liquidation_map")
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(10))
    centres, sums, height = map_bins(data)
    price = data.price if data.price else float(np.median(centres))
    below = centres < price
    for mask, color, gid in ((below, theme.down, "longs"), (~below, theme.up, "shorts")):
        ok = mask & (sums > 0)
        if ok.any():
            ax.barh(centres[ok], sums[ok], height=height * 0.85, color=color, gid=gid)
    if data.price:
        ax.axhline(data.price, color=theme.text, linewidth=1.6, linestyle="--", gid="price")
        ax.text(0.99, data.price, f" price {price_text(data.price)} ",
                transform=ax.get_yaxis_transform(), ha="right", va="bottom", color=theme.text,
                fontsize=LABEL_PT, fontweight="bold", **_TEXT)
    top = float(sums.max()) if sums.size and sums.max() > 0 else 1.0
    ax.set_xlim(0, top * 1.1)
    ax.set_ylim(float(centres[0] - height), float(centres[-1] + height))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: usd_short(v)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: price_text(v)))
    moment = datetime.fromtimestamp(data.fetched_at, tz)
    zone = zone_name(moment, tz)
    fig.text(0.03, 0.975, f"{data.coin} liquidation map", color=theme.text,
             fontsize=TITLE_PT + 3, fontweight="bold", ha="left", va="top", **_TEXT)
    fig.text(0.03, 0.94, f"all venues, {data.range} look-back · longs ▼ below price, "
             f"shorts ▲ above\n{moment.strftime('%d %b %H:%M')} {zone}",
             color=theme.muted, fontsize=TICK_PT, ha="left", va="top", **_TEXT)
    return fig


# --- PNG -----------------------------------------------------------------------------------

def render_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (Agg canvas, no pyplot). Saved as RGB: the picture is opaque,
    and the alpha channel would cost a quarter more bytes and encoding time."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "png")
    return buffer.getvalue()


def render_job(job: RenderJob) -> bytes:
    """The worker's entry point: build the figure and return its PNG."""
    if isinstance(job.data, MapData):
        return render_png(build_map_figure(job.data, job.tz))
    return render_png(build_figure(job.data, job.thresholds, job.tz))


def warm_up() -> None:
    """Import and touch what the first chart needs (fonts, Agg), so it is not slow."""
    fig = Figure(figsize=(2, 2), dpi=50)
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, "warm", **_TEXT)
    render_png(fig)
