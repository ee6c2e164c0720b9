"""The threshold preview under a changed threshold (SPEC §14). Pure.

``liquidation_usd 30M → 5 alerts in 7 days on ETH, BTC (at 50M: 1)``: what the new value would
have sent on the user's coins over the last 7 days, beside the old value's count.
"""

from __future__ import annotations

from core.previews import PreviewAsk, PreviewPlan, PreviewResult
from core.signals.catalog import SIGNAL_INFO
from core.thresholds import ThresholdSet, format_value
from bot.format import esc

MAX_COINS_NAMED = 6


def _value(ask: PreviewAsk, new: bool, name: str) -> float:
    prefs = ask.new if new else ask.old
    if ask.coin:
        return prefs.thresholds(ask.coin)[name]
    return ThresholdSet.resolve(prefs.user_wide)[name]


def labels(ask: PreviewAsk) -> tuple[str, str]:
    """(what the change is, what it was): ``("liquidation_usd 30M", "at 50M")``."""
    if ask.preset:
        return f"preset {ask.preset}", "before"
    name = ask.names[0]
    scope = f"{ask.coin} " if ask.coin else ""
    return (f"{scope}{name} {format_value(name, _value(ask, True, name))}",
            f"at {format_value(name, _value(ask, False, name))}")


def _coins(coins: tuple[str, ...]) -> str:
    if len(coins) > MAX_COINS_NAMED:
        return f"your {len(coins)} coins"
    return ", ".join(coins)


def _alerts(n: int) -> str:
    return f"{n} alert{'s' if n != 1 else ''}"


def pending_text(plan: PreviewPlan) -> str:
    why = " (your key's requests are busy with polling)" if plan.short else ""
    return (f"⏳ Preview in a moment: counting what this would have sent over the last 7 days "
            f"on {esc(_coins(plan.coins))}{why}…")


def reason_text(reason: str) -> str:
    return f"📊 No preview: {esc(reason)}."


def preview_text(result: PreviewResult) -> str:
    if result.preview is None:
        return f"📊 Preview unavailable: {esc(result.error or 'no history')}. Your change is saved."
    p = result.preview
    new, old = labels(result.plan.ask)
    lines = [f"📊 {esc(new)} → {_alerts(p.new_count)} in 7 days on {esc(_coins(p.coins))} "
             f"({esc(old)}: {p.old_count})"]
    if len(p.coins) > 1:
        lines.append(" · ".join(f"{esc(c)} {n}" + (f" (was {o})" if o != n else "")
                                for c, (n, o) in p.by_coin.items()))
    notes = []
    if p.note:
        notes.append(p.note[0].upper() + p.note[1:] + ".")
    if result.plan.dropped:
        names = ", ".join(SIGNAL_INFO[s].name for s in result.plan.dropped)
        notes.append(f"Not counted: {names} (its history would be a 7th request per coin; "
                     f"it is counted the next time).")
    if p.gaps:
        notes.append(f"{p.gaps} candle{'s' if p.gaps != 1 else ''} had gaps in CoinGlass's "
                     f"history: counted what was there.")
    if result.failed:
        notes.append(f"CoinGlass did not send {', '.join(result.failed)}: counted without it.")
    lines += [f"<i>{esc(n)}</i>" for n in notes]
    return "\n".join(lines)
