"""Texts for alert outcomes: the line under each /history entry and /stats. Pure.

An outcome reads ``▼ −2.4 % after 4h ✓``: the arrow and figure are what the price did from the
alert's price to the price that long after it; ✓ or ✗ says whether that is the way the
alert's lead signal pointed. Moves under 0.1 % are flat (no verdict); an alert without a
direction shows the range the price went through instead.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Mapping, Sequence

from bot.alert_texts import alert_lead
from bot.format import esc, pct, when
from core.outcomes import NOT_ENOUGH, SignalStats, horizon_label, measure
from core.signals.catalog import SIGNAL_INFO
from core.signals.model import Direction, Signal
from core.storage.outcomes import OutcomeRow
from core.storage.repo import OutboxItem

NOT_ADVICE = "<i>Not financial advice.</i>"


def _arrow(move: float) -> str:
    return "▲" if move > 0 else "▼" if move < 0 else "•"


def outcome_line(item: OutboxItem, rows: Mapping[int, OutcomeRow], horizons: Sequence[int],
                 now: float, tz: tzinfo | None = None) -> str | None:
    """What happened after the alert so far; None when it had no price to measure from."""
    summary = (item.payload.get("summary") or {}).get("price") or {}
    if not summary.get("price"):
        return None
    signals = [Signal.from_dict(d) for d in item.payload.get("signals", [])]
    lead = alert_lead(signals, item.payload.get("triggers"))
    direction = lead.direction if lead else Direction.NEUTRAL
    measured = {h: r for h, r in rows.items() if not r.missed}
    start = item.data_time if item.data_time is not None else item.created_at
    waiting = [h for h in sorted(horizons) if h not in rows]
    if not measured:
        if waiting:
            return f"⏳ outcome after {horizon_label(waiting[0])} " \
                   f"({esc(when(start + waiting[0], now, tz))})"
        return "no price near " + ", ".join(horizon_label(h) for h in sorted(rows))
    horizon = max(measured)
    row = measured[horizon]
    outcome = measure(direction, row.price_then, row.price)
    digits = 2 if outcome.flat else 1          # a flat move still shows what it was
    text = (f"{_arrow(outcome.move_pct)} {pct(outcome.move_pct, digits)} after "
            f"{horizon_label(horizon)}")
    if direction is Direction.NEUTRAL:
        if row.low_pct is not None and row.high_pct is not None:
            text += f" · range {pct(row.low_pct, 1)} to {pct(row.high_pct, 1)}"
    elif outcome.verdict is None:
        text += " · flat"
    else:
        text += " ✓" if outcome.verdict else " ✗"
    later = [h for h in waiting if h > horizon]
    if later:
        text += f" · {horizon_label(later[0])} at {esc(when(start + later[0], now, tz))}"
    return text


# --- /stats --------------------------------------------------------------------------------

STATS_USAGE = ("Usage: /stats (all your coins, 30 days), /stats ETH, /stats 7d, or /stats ETH 7d. "
               "Periods: 30d or 7d.")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _stats_line(s: SignalStats, horizons: Sequence[int]) -> str:
    info = SIGNAL_INFO.get(s.signal_id)
    name = esc(info.name if info else s.signal_id)
    count = f"{s.count} alert{'s' if s.count != 1 else ''}"
    if not s.enough:
        return f"<b>{name}</b> · {count} · {NOT_ENOUGH}"
    at = horizon_label(s.move_horizon)
    directional = any(n for n in s.measured.values())
    parts = [f"<b>{name}</b> · {count}"]
    if directional:
        parts.append("agreed " + " / ".join(f"{_share(s.agree_share.get(h))} at {horizon_label(h)}"
                                            for h in horizons))
    if s.median_move_pct is None:
        parts.append(f"no {at} moves measured yet")
    elif directional:
        parts.append(f"median {pct(s.median_move_pct, 1)} · best {pct(s.best_move_pct, 1)} · "
                     f"worst {pct(s.worst_move_pct, 1)} at {at}")
    else:
        parts.append(f"no direction: median move {pct(s.median_move_pct, 1, signed=False)}, "
                     f"largest {pct(s.best_move_pct, 1, signed=False)} at {at}")
    return " · ".join(parts)


def stats_coin_not_watched(coin: str, close: Sequence[str]) -> str:
    """After an empty record for a coin the user does not watch: perhaps a typo."""
    hint = f" Did you mean /stats {esc(close[0])}?" if close else ""
    return f"You don't watch {esc(coin)}.{hint}"


def stats_text(stats: Sequence[SignalStats], *, days: int, coin: str | None,
               horizons: Sequence[int], measured: Sequence[int] | None = None) -> str:
    """/stats: one line per signal, most frequent first. ``horizons``: where agreement is
    read; ``measured``: every horizon outcomes are taken at (default the same)."""
    scope = esc(coin) if coin else "all your coins"
    head = f"📊 <b>Your alert record</b> · last {days} days · {scope}"
    if not stats:
        return (f"{head}\nNo alerts {'for ' + esc(coin) + ' ' if coin else ''}in the last {days} "
                f"days, so no record yet. Each alert is measured "
                f"{', '.join(horizon_label(h) for h in measured or horizons)} after it fires; "
                f"/history shows how each one went.")
    lines = [head,
             "Your own alerts, with your own thresholds: a record of what followed them, "
             "not a forecast.", ""]
    lines += [_stats_line(s, horizons) for s in stats]
    lines += ["",
              "<i>Agreed: the price moved the way the signal pointed. Moves are signed that "
              "way (+ = as signalled); under 0.1 % counts as flat, not agreeing.</i>",
              NOT_ADVICE]
    return "\n".join(lines)
