"""The alert as a trader reads it on a phone (SPEC §12), and its full detail one tap away.

:func:`alert_brief` is what arrives: the first line is the notification preview (level, coin,
direction, what happened with its key number), then one short line per firing signal (its
number, the user's limit, confidence), the regime once, the price and the data time in the
user's zone. :func:`alert_details` is every figure and what moved each confidence; the
Details button swaps one for the other in place. Pure: outbox rows in, HTML out.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Mapping

from bot.format import DIRECTION_MARK, LEVEL_EMOJI, duration, esc, fit, pct, price, usd, when
from core.signals.model import Direction, Level, RegimeReading, Signal
from core.storage.repo import OutboxItem

NFA = "<i>Not financial advice.</i>"
TRIGGER_TAGS = {"new": "new", "escalated": "▲ escalated", "still active": "again"}
REGIME_WORDS = {
    "CONFIRM_BULL": "longs adding (OI ▲, price ▲)", "CONFIRM_BEAR": "shorts adding (OI ▲, price ▼)",
    "LONG_LIQUIDATION": "longs closing (OI ▼, price ▼)",
    "SHORT_SQUEEZE": "shorts closing (OI ▼, price ▲)", "NEUTRAL": "no clear regime",
}
LATE_AFTER_SECONDS = 90
TEST_MARK = "🧪 TEST ALERT · "        # the test alert of /settings (bot/rule_texts.py)


def _signals(item: OutboxItem) -> list[Signal]:
    return [Signal.from_dict(d) for d in item.payload.get("signals", [])]


def lead_signal(signals: list[Signal]) -> Signal | None:
    """What the alert is about: the highest level; among equals a directional signal before
    a neutral one, then the most confident."""
    return max(signals, key=lambda s: (s.level, s.direction != Direction.NEUTRAL, s.confidence),
               default=None)


def alert_lead(signals: list[Signal], triggers: Mapping[str, Any] | None) -> Signal | None:
    """The signal a message is about: the lead among those that triggered it (a cascade the
    live stream already announced rides along in the next poll's message, but is not its news
    again); the lead of all of them when the triggers are unknown."""
    return lead_signal([s for s in signals if s.id in (triggers or {})] or signals)


def _short_usd(value: float) -> str:
    text = usd(value)
    return text.replace(".0M", "M").replace(".0B", "B").replace(".0k", "k")


def headline(signal: Signal) -> str:
    """What happened, with its number, in a few words (the notification preview)."""
    v = signal.values
    sid = signal.id
    if sid == "liquidation_cascade":
        long_usd, short_usd = v.get("long_usd", 0.0), v.get("short_usd", 0.0)
        if signal.level == Level.HIGH and signal.direction == Direction.BEARISH:
            return f"{_short_usd(long_usd)} longs liquidated in 1h"
        if signal.level == Level.HIGH:
            return f"{_short_usd(short_usd)} shorts liquidated in 1h"
        return f"{_short_usd(long_usd + short_usd)} liquidated in 1h"
    if sid == "oi_surge" and "oi_change_pct" in v:
        return f"open interest {pct(v['oi_change_pct'], 1)} in 1h"
    if sid == "funding_extreme" and "funding_8h_pct" in v:
        payer = "longs pay shorts" if v["funding_8h_pct"] > 0 else "shorts pay longs"
        return f"funding {pct(v['funding_8h_pct'], 3)}/8h, {payer}"
    title = signal.title
    return title[0].lower() + title[1:] if title[:2] != title[:2].upper() else title


def _limit(signal: Signal) -> str:
    """The user's threshold that this signal passed, in its unit."""
    threshold = signal.values.get("threshold")
    if threshold is None:
        return ""
    if signal.id == "taker_bias":
        threshold = max(threshold, 100.0 - threshold)     # the share of the busy side
    elif signal.id in ("oi_surge", "oi_price_regime"):
        threshold = abs(threshold)
    if signal.id in ("liquidation_cascade", "netflow", "whale_position", "orderbook_wall",
                     "liquidation_cluster"):
        text = _short_usd(threshold)
    elif signal.id == "funding_extreme":
        text = f"{threshold:+.3f} %/8h"
    elif signal.id in ("smart_money_divergence", "btc_dominance"):
        text = f"{threshold:g} pts"
    else:
        text = f"{threshold:g} %"
    return f" · limit {esc(text)}"


MARGIN_NOTE = "* the level ranks the event; confidence is its margin past your limit"


def _why_low(signal: Signal) -> str:
    """Why a signal shows less confidence than a lower-level one beside it."""
    factor = 1.0
    for modifier in signal.modifiers:
        factor *= modifier.factor
    if factor < 1.0:
        return " (the regime works against it)"
    return "*"


def signal_line(signal: Signal, trigger: str | None, outranked: bool) -> str:
    tag = f" · <i>{TRIGGER_TAGS.get(trigger, esc(trigger))}</i>" if trigger else ""
    confidence = f"{signal.confidence:.2f}" + (_why_low(signal) if outranked else "")
    return (f"{LEVEL_EMOJI[signal.level]} {esc(signal.title)}{_limit(signal)} · "
            f"conf {confidence}{tag}")


def regime_line(regime: RegimeReading | None) -> str | None:
    if regime is None:
        return None
    words = REGIME_WORDS.get(regime.regime.value, regime.regime.value)
    return (f"Regime: {esc(words)} — OI {pct(regime.oi_change_pct, 1)}, "
            f"price {pct(regime.price_change_pct, 1)} over {regime.window}")


def _price_line(summary: Mapping[str, Any], now: float, tz: tzinfo | None) -> str:
    parts = []
    if p := summary.get("price"):
        change = f" ({pct(p['change_pct'], 1)} {p['window']})" if p.get("change_pct") is not None else ""
        parts.append(f"{price(p['price'])}{change}")
    parts.append(f"data {when(summary.get('data_time'), now, tz)}")
    return " · ".join(parts)


def _missing_line(summary: Mapping[str, Any]) -> str | None:
    from core.market import SECTION_TITLES
    missing = summary.get("missing") or {}
    if not missing:
        return None
    return "⚠️ missing: " + esc(", ".join(SECTION_TITLES.get(k, k) for k in missing))


def source_line(payload: Mapping[str, Any]) -> str | None:
    """Where the figure came from, when it was not a poll: CoinGlass's live stream."""
    if payload.get("source") == "stream":
        return "⚡ <i>live stream: liquidation orders as CoinGlass pushed them</i>"
    return None


def first_line(item: OutboxItem, signals: list[Signal]) -> str:
    lead = alert_lead(signals, item.payload.get("triggers"))
    level = lead.level if lead else (Level(item.level) if item.level else Level.LOW)
    coin = esc(item.coin or "")
    if item.payload.get("test"):
        return f"{TEST_MARK}{LEVEL_EMOJI[level]} <b>{coin}</b>"
    if lead is None:
        return f"{LEVEL_EMOJI[level]} <b>{coin}</b>"
    mark = DIRECTION_MARK[lead.direction]
    return f"{LEVEL_EMOJI[level]} <b>{coin} {mark} {esc(headline(lead))}</b>"


def alert_brief(item: OutboxItem, now: float, tz: tzinfo | None = None) -> str:
    """The alert as it arrives: a headline and at most ~10 short lines."""
    payload = item.payload
    summary = payload.get("summary", {})
    signals = _signals(item)
    triggers = payload.get("triggers", {})
    lines = [first_line(item, signals)]
    if line := source_line(payload):
        lines.append(line)
    late = now - item.created_at
    if late > LATE_AFTER_SECONDS:
        lines.append(f"⏱ <i>{duration(late)} late (decided {when(item.created_at, now, tz)})</i>")
    ordered = sorted(signals, key=lambda s: (s.id not in triggers, -s.level, -s.confidence))
    for signal in ordered[:7]:
        outranked = any(o.level < signal.level and o.confidence > signal.confidence
                        for o in signals)
        lines.append(signal_line(signal, triggers.get(signal.id), outranked))
    if len(ordered) > 7:
        lines.append(f"… and {len(ordered) - 7} more (Details)")
    if any(line.split(" · ")[-1].endswith("*") or "*" in line.split("conf ")[-1][:6]
           for line in lines[1:]):
        lines.append(f"<i>{MARGIN_NOTE}</i>")
    regime = RegimeReading.from_dict(payload["regime"]) if payload.get("regime") else None
    if line := regime_line(regime):
        lines.append(line)
    if line := _missing_line(summary):
        lines.append(line)
    lines.append(_price_line(summary, now, tz))
    return "\n".join(lines)


def alert_details(item: OutboxItem, now: float, tz: tzinfo | None = None) -> str:
    """Every figure, each signal's explanation and what moved its confidence."""
    from bot.texts import gap_lines, market_lines, signal_lines
    payload = item.payload
    summary = payload.get("summary", {})
    signals = _signals(item)
    triggers = payload.get("triggers", {})
    head = [first_line(item, signals)]
    head += [line] if (line := source_line(payload)) else []
    head += [""] + market_lines(summary) + [""]
    tail = []
    regime = RegimeReading.from_dict(payload["regime"]) if payload.get("regime") else None
    if line := regime_line(regime):
        tail.append(line)
    tail += gap_lines(summary, payload.get("unevaluated") or {})
    tail.append(f"Data as of {when(summary.get('data_time'), now, tz)} · {NFA}")
    body: list[str] = []
    for signal in signals:
        body += signal_lines(signal, triggers.get(signal.id)) + [""]
    text = "\n".join(head + body + tail)
    if len(text) <= 4096:
        return text
    # Too long: keep every signal's title line and the footer; drop the explanations.
    short = [signal_lines(signal, triggers.get(signal.id))[0] for signal in signals]
    return fit(head + short + [""] + tail[-1:])


def all_clear(payload: Mapping[str, Any], now: float, tz: tzinfo | None = None) -> str:
    coin = esc(payload.get("coin", ""))
    since = payload.get("last_high_at")
    minutes = payload.get("quiet_minutes") or 30
    return (f"✅ <b>{coin}</b> calm again: no signal at your level for {minutes:g} min "
            f"(last HIGH alert {when(since, now, tz)}).")
