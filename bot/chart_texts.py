"""Texts and buttons of /chart: captions, refusals, the window keyboard. Pure, no I/O.

A caption is HTML of at most 1,024 characters (Telegram's limit, counted on the text the user
reads, in UTF-16 units as Telegram counts them): coin, window, candles and plan; the data's
time in the user's timezone; what moved over the window; the signals firing now on the
chart's own data; every gap named.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.format import LEVEL_EMOJI, esc, pct, price, usd, when
from core.charts.model import (
    DEFAULT_WINDOW, MAP, WINDOWS, ChartData, MapData, resolution,
)
from core.charts.signals import CHART_SIGNALS
from core.plans import INTERVAL_MINUTES, Plan
from core.signals.catalog import SIGNAL_INFO
from core.signals.model import Evaluation

MAX_CAPTION = 1024
CALLBACK_PREFIX = "chart"
# chart:ETH (an alert's button: the 24 h chart) or chart:ETH:7d / chart:ETH:map.
CALLBACK_PATTERN = (rf"^{CALLBACK_PREFIX}:([A-Z0-9]{{1,20}})"
                    rf"(?::({'|'.join(list(WINDOWS) + [MAP])}))?$")

SERIES_NAMES = {"price": "price", "open_interest": "open interest", "funding": "funding",
                "liquidations": "liquidations"}


def window_list(plan: Plan) -> str:
    names = [f"{w} (default)" if w == DEFAULT_WINDOW else w for w in WINDOWS]
    text = ", ".join(names)
    if plan >= Plan.PROFESSIONAL:
        text += "; map (the liquidation map)"
    return text


def usage(plan: Plan) -> str:
    return (f"Which coin? /chart ETH, or with a window: /chart ETH 7d. "
            f"Windows: {window_list(plan)}.")


def unknown_window(word: str, plan: Plan) -> str:
    return f"I don't know the window {esc(word[:20])}. Windows: {window_list(plan)}."


def map_needs_professional(plan: Plan) -> str:
    return (f"The liquidation map needs the Professional plan; yours is {plan.title}. "
            "/chart ETH draws price, OI, funding and liquidations on every plan; "
            "/plan shows what each plan unlocks.")


NO_KEY = ("Charts use your own CoinGlass key and plan. Set it first: /setkey "
          "(get a key at coinglass.com → API).")
KEY_REJECTED = "CoinGlass rejected your key — send a new one with /setkey, then /chart again."
PLAN_LAPSED = ("CoinGlass knows your key, but its subscription is not active. Renew at "
               "coinglass.com/pricing, then /setkey again.")
GROUP_ONLY_PRIVATE = "Charts use your own key: ask me in a private chat."


def unknown_coin(coin: str, close: list[str]) -> str:
    hint = f" Did you mean {esc(', '.join(close))}?" if close else ""
    return f"❓ Unknown coin {esc(coin)}: CoinGlass does not list it.{hint}"


def coinglass_down(reason: str) -> str:
    return (f"⏳ CoinGlass is not answering right now ({esc(reason)}), so no chart this time. "
            "Try again in a minute.")


def coinglass_empty(coin: str) -> str:
    return f"CoinGlass has no history for {esc(coin)} to draw yet."


def budget_busy(seconds: float) -> str:
    wait = max(10, int(round(seconds / 10.0)) * 10)
    return (f"⏳ Your CoinGlass key's request budget is taken right now (polling your coins "
            f"comes first). Try the chart again in about {wait} s.")


def plan_refused(interval: str) -> str:
    return (f"CoinGlass refused {esc(interval)} history for your key (\"Upgrade plan\"). If your "
            "plan changed, /setkey detects it again; /plan shows what each plan allows.")


RENDER_FAILED = "⚠️ I could not draw that chart; nothing else is affected. Please try again."


# --- times ---------------------------------------------------------------------------------

def local_time(ts: float, now: float, tz: tzinfo = timezone.utc) -> str:
    """``14:05 UTC`` today (in ``tz``), ``Mon 14:05 CET`` this week, else ``29 Nov 14:05 CET``:
    the date rule of every time the bot shows (``bot.format.when``)."""
    return when(ts, now, tz)


def interval_words(interval: str) -> str:
    minutes = INTERVAL_MINUTES[interval]
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


def window_words(window: str) -> str:
    return {"6h": "6 h", "24h": "24 h", "3d": "3 days", "7d": "7 days"}[window]


# --- caption -------------------------------------------------------------------------------

def caption_length(text: str) -> int:
    """Length as Telegram counts a caption: the visible text in UTF-16 code units."""
    visible = html.unescape(re.sub(r"<[^>]+>", "", text))
    return len(visible.encode("utf-16-le")) // 2


def widened_note(data: ChartData) -> str | None:
    res = data.resolution
    if not res.widened:
        return None
    return (f"ℹ️ Your plan's history is {interval_words(res.interval)} candles: "
            f"here are {window_words(res.window)}.")


def _first(values) -> float | None:
    return next((v for v in values if v is not None), None)


def _last(values) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def _change(values) -> float | None:
    first, last = _first(values), _last(values)
    if first is None or last is None or not first:
        return None
    return (last / first - 1.0) * 100.0


def market_lines(data: ChartData) -> list[str]:
    lines = []
    last_price = _last(data.close)
    if last_price is not None:
        first = _first(data.open) or _first(data.close)
        change = (last_price / first - 1.0) * 100.0 if first else None
        lines.append(f"Price {price(last_price)} ({pct(change, 1)} in "
                     f"{window_words(data.resolution.window)})")
    parts = []
    oi = _last(data.open_interest)
    if oi is not None:
        parts.append(f"OI {usd(oi)} ({pct(_change(data.open_interest), 1)})")
    funding = _last(data.funding)
    if funding is not None:
        parts.append(f"funding {pct(funding, 4)}/8h")
    if parts:
        lines.append(" · ".join(parts))
    longs = [v for v in data.liq_long if v is not None]
    shorts = [v for v in data.liq_short if v is not None]
    if longs or shorts:
        venues = f" on {esc(', '.join(data.liq_exchanges))}" if data.liq_exchanges else ""
        lines.append(f"Liquidated in {window_words(data.resolution.window)}{venues}: "
                     f"longs {usd(sum(longs))} · "
                     f"shorts {usd(sum(shorts))}")
    return lines


def gaps_line(data: ChartData, now: float, tz: tzinfo = timezone.utc) -> str | None:
    """Every series with missing candles, named; the picture leaves them blank."""
    notes = []
    for name in ChartData.SERIES:
        label = SERIES_NAMES[name]
        runs = data.gaps(name)
        if not runs:
            continue
        whole = runs[0][0] <= data.times[0] and runs[-1][1] >= data.times[-1] + data.step_seconds \
            and len(runs) == 1
        if whole:
            why = data.missing.get(name, "no data")
            notes.append(f"{label}: none ({esc(why)})")
        elif len(runs) == 1:
            start, end = runs[0]
            notes.append(f"{label} {local_time(start, now, tz)} to "
                         f"{datetime.fromtimestamp(end, tz).strftime('%H:%M')}")
        else:
            notes.append(f"{label}: {len(runs)} gaps")
    if not notes:
        return None
    return "⚠️ Missing (left blank, not zero): " + "; ".join(notes) + "."


def signals_lines(data: ChartData, evaluation: Evaluation | None, enabled: set[str] | None,
                  max_signals: int = 4) -> tuple[list[str], str]:
    """(the firing signals' lines, the note on what was checked)."""
    if evaluation is None:
        return [], f"<i>Signals: /snapshot {esc(data.coin)}</i>"
    signals = sorted(evaluation.signals, key=lambda s: -s.level)
    wanted = [s for s in CHART_SIGNALS if enabled is None or s in enabled]
    checked = [SIGNAL_INFO[s].name for s in wanted if s not in evaluation.unevaluated]
    unchecked = [SIGNAL_INFO[s].name for s in wanted if s in evaluation.unevaluated]
    lines = []
    if signals:
        venues = f" on {', '.join(data.liq_exchanges)}" if data.liq_exchanges else ""
        # The chart's liquidations cover those venues only; an alert's, every venue.
        shown = [f"{LEVEL_EMOJI[s.level]} {esc(s.title)}"
                 + (esc(venues) if s.id == "liquidation_cascade" else "")
                 for s in signals[:max_signals]]
        more = len(signals) - max_signals
        lines.append("<b>Firing now</b>: " + "; ".join(shown)
                     + (f"; +{more} more" if more > 0 else ""))
    elif checked:
        lines.append("No signal fires on this data with your thresholds.")
    note = []
    if checked:
        note.append("Checked on this data: " + ", ".join(checked) + ".")
    if unchecked:
        why = "need 1 h candles" if data.step_seconds > 3600 else "lack data here"
        note.append(" and ".join(unchecked) + f" {why}.")
    note.append(f"Every signal: /snapshot {data.coin}")
    return lines, "<i>" + esc(" ".join(note)) + "</i>"


def caption(data: ChartData, evaluation: Evaluation | None, now: float, *,
            tz: tzinfo = timezone.utc, enabled: set[str] | None = None) -> str:
    """The chart's caption (HTML, ≤ 1,024 visible characters)."""
    res = data.resolution
    head = (f"📈 <b>{esc(data.coin)}</b> · {window_words(res.window)} · "
            f"{interval_words(res.interval)} candles · {data.plan.title} plan")
    # (line, priority): when too long, the highest priority number goes first.
    lines: list[tuple[str, int]] = []
    if note := widened_note(data):
        lines.append((note, 0))
    lines += [(head, 0), (f"Data to {local_time(data.data_time, now, tz)}", 0)]
    lines += [(line, 2) for line in market_lines(data)]
    firing, checked = signals_lines(data, evaluation, enabled)
    lines += [(line, 1) for line in firing]
    if gaps := gaps_line(data, now, tz):
        lines.append((gaps, 1))
    lines.append((checked, 3))
    return fit_caption(lines)


def fit_caption(lines: list[tuple[str, int]], limit: int = MAX_CAPTION) -> str:
    """Join the lines, dropping the least important (highest priority number, later first)
    until the caption fits; priority 0 lines always stay (a line still too long is cut)."""
    lines = list(lines)

    def joined() -> str:
        return "\n".join(line for line, _ in lines)

    while caption_length(joined()) > limit:
        droppable = [i for i, (_, p) in enumerate(lines) if p > 0]
        if not droppable:
            break
        worst = max(droppable, key=lambda i: (lines[i][1], i))
        del lines[worst]
    text = joined()
    if caption_length(text) > limit:
        # Only a pathological line gets here (ours are far shorter): cut the longest.
        index = max(range(len(lines)), key=lambda i: caption_length(lines[i][0]))
        plain = html.unescape(re.sub(r"<[^>]+>", "", lines[index][0]))
        keep = max(0, len(plain) - (caption_length(text) - limit) - 4)
        lines[index] = (esc(plain[:keep]) + " …", 0)
        text = joined()
    return text


def map_caption(data: MapData, plan: Plan, now: float, *, tz: tzinfo = timezone.utc) -> str:
    below = [(p, u) for p, u in data.levels if data.price and p < data.price]
    above = [(p, u) for p, u in data.levels if data.price and p > data.price]
    lines = [f"🗺 <b>{esc(data.coin)}</b> liquidation map · {esc(data.range)} look-back · "
             f"{plan.title} plan",
             f"Data to {local_time(data.fetched_at, now, tz)}"
             + (f" · price {price(data.price)}" if data.price else "")]
    if below:
        p, u = max(below, key=lambda x: x[1])
        lines.append(f"Biggest long cluster: {usd(u)} at {price(p)} "
                     f"({pct((p / data.price - 1) * 100, 1)})")
    if above:
        p, u = max(above, key=lambda x: x[1])
        lines.append(f"Biggest short cluster: {usd(u)} at {price(p)} "
                     f"({pct((p / data.price - 1) * 100, 1)})")
    if not data.price:
        lines.append("⚠️ Current price unavailable: bars are drawn around the levels' middle.")
    lines.append(f"<i>Price history: /chart {esc(data.coin)}</i>")
    return fit_caption([(line, 0 if i < 2 else 1) for i, line in enumerate(lines)])


# --- buttons -------------------------------------------------------------------------------

def callback_data(coin: str, window: str | None = None) -> str:
    return f"{CALLBACK_PREFIX}:{coin}" + (f":{window}" if window else "")


def chart_keyboard(coin: str, plan: Plan, current: str) -> InlineKeyboardMarkup:
    """Other windows of the same coin, one tap each (windows the plan would widen to the same
    picture are left out)."""
    buttons = []
    for window in WINDOWS:
        if resolution(plan, window).window != window:
            continue            # Hobbyist's 6h and 24h would draw the 7-day picture again
        label = f"• {window} •" if window == current else window
        buttons.append(InlineKeyboardButton(label, callback_data=callback_data(coin, window)))
    if plan >= Plan.PROFESSIONAL:
        label = f"• {MAP} •" if current == MAP else MAP
        buttons.append(InlineKeyboardButton(label, callback_data=callback_data(coin, MAP)))
    return InlineKeyboardMarkup([buttons])
