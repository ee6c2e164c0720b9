"""The signals a chart's own data can show, through the same engine alerts use.

A full snapshot costs a key about seven requests per coin (too many to spend on a picture), so
a chart's caption reads the signals from the four series it fetched anyway: funding (the
newest OI-weighted rate), open interest (its change over 1h and 4h, read off the candles),
liquidations (the last hour, when candles are 1h or finer) and the OI × price regime. The
rest (long/short ratios, taker flow, plan-gated signals) are left to ``/snapshot``, and a
window whose candles are too coarse for a 1h figure (Hobbyist's 4h) leaves that signal
unchecked rather than guessing it. Zero requests, same thresholds, same wording as alerts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Collection

from core import market as m
from core.charts.model import ChartData
from core.plans import Plan
from core.signals.engine import evaluate
from core.signals.model import Evaluation
from core.thresholds import ThresholdSet

# The signals a chart's data can decide, in catalogue order.
CHART_SIGNALS = ("funding_extreme", "oi_surge", "liquidation_cascade", "oi_price_regime")
_NOT_CHARTED = m.Missing(m.MissingReason.NOT_IN_PLAN, "not part of a chart")


def _last(values, times, step: int, now: float) -> tuple[float, float] | None:
    """(value, candle end) of the newest value, if it is from the last two candles."""
    for i in range(len(values) - 1, max(-1, len(values) - 3), -1):
        if values[i] is not None:
            return values[i], min(now, times[i] + step)
    return None


def _change(values, times, step: int, now: float, minutes: int) -> float | None:
    """Percent change of the newest value against the value ``minutes`` before it, read at
    the candle boundary nearest to that time; None when candles are coarser than that."""
    if step > minutes * 60 or not values or values[-1] is None:
        return None
    target = now - minutes * 60
    best = None
    for i in range(len(values) - 1):
        if values[i] is None:
            continue
        distance = abs(times[i] + step - target)
        if best is None or distance < best[0]:
            best = (distance, values[i])
    if best is None or best[0] > step / 2 or not best[1]:
        return None
    return (values[-1] / best[1] - 1.0) * 100.0


def chart_snapshot(data: ChartData) -> m.MarketSnapshot:
    """The snapshot sections a chart's data can fill; the rest marked as not charted."""
    step, times, now = data.step_seconds, data.times, data.data_time
    at = datetime.fromtimestamp(now, timezone.utc)
    missing: dict[str, m.Missing] = {s: _NOT_CHARTED for s in m.SECTIONS}
    sections: dict[str, object] = {}

    funding = _last(data.funding, times, step, now)
    if funding is not None:
        sections[m.FUNDING] = m.FundingSection((), funding[0], "OI-weighted, from history",
                                               funding[0], at)
    else:
        missing[m.FUNDING] = m.Missing(m.MissingReason.NO_DATA, data.missing.get("funding", ""))

    oi = _last(data.open_interest, times, step, now)
    if oi is not None and data.open_interest[-1] is not None:
        changes = {w: c for w, minutes in (("1h", 60), ("4h", 240), ("24h", 1440))
                   if (c := _change(data.open_interest, times, step, now, minutes)) is not None}
        sections[m.OPEN_INTEREST] = m.OpenInterestSection(oi[0], changes, (), at)
    else:
        missing[m.OPEN_INTEREST] = m.Missing(m.MissingReason.NO_DATA,
                                             data.missing.get("open_interest", ""))

    if step <= 3600:
        recent = [i for i, t in enumerate(times) if t > now - 3600]
        longs = [data.liq_long[i] for i in recent]
        shorts = [data.liq_short[i] for i in recent]
        if recent and None not in longs and None not in shorts:
            sections[m.LIQUIDATIONS] = m.LiquidationSection("1h", sum(longs), sum(shorts), at)
        else:
            missing[m.LIQUIDATIONS] = m.Missing(m.MissingReason.NO_DATA,
                                                data.missing.get("liquidations", "gap"))
    else:
        missing[m.LIQUIDATIONS] = m.Missing(
            m.MissingReason.NO_DATA, f"{data.resolution.interval} candles, no 1h figure")

    window = "1h" if step <= 3600 else "4h"
    if data.close and data.close[-1] is not None:
        change = _change(data.close, times, step, now, 60 if window == "1h" else 240)
        sections[m.PRICE] = m.PriceSection(data.close[-1], window, change, at)
    for name in sections:
        missing.pop(name, None)
    return m.MarketSnapshot(coin=data.coin, plan=data.plan or Plan.HOBBYIST, fetched_at=at,
                            missing=missing, **sections)


def signals_now(data: ChartData, thresholds: ThresholdSet,
                enabled: Collection[str] | None = None) -> Evaluation:
    """The chart-decidable signals (``CHART_SIGNALS`` ∩ ``enabled``) firing on the chart's data.

    ``Evaluation.unevaluated`` names those the data could not decide (e.g. 4h candles give no
    1h OI change).
    """
    wanted = [s for s in CHART_SIGNALS if enabled is None or s in enabled]
    return evaluate(chart_snapshot(data), thresholds, enabled=wanted)
