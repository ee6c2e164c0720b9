"""The position guard as a trader reads it (SPEC §16): advice messages and /position replies.

Advice arrives like an alert. Its first line, the notification preview, says what to consider
doing with the position (``🛡 ETH long: consider moving your stop below 3,060``); then why,
with the figures and the data and plan they came from; the user's own levels and P&amp;L once;
what the plan cannot see once; "Not financial advice". Pure: outbox rows and domain data in,
HTML out (user text escaped).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Iterable, Mapping

from bot.format import duration, esc, fit, pct, when
from core.guard_alerts import Guarded
from core.guard_prices import PriceNow
from core.numbers import Ambiguous
from core.position_guard import DISCLAIMER, LONG, Position, level_text, pnl_pct
from core.position_input import USAGE
from core.storage.repo import OutboxItem

MARK = "🛡"
NFA = f"<i>{DISCLAIMER}</i>"
LATE_AFTER_SECONDS = 90
PHASES = {
    "OPEN": "OPEN",
    "LOCKED": "LOCKED (stop at break-even or better)",
    "EXIT": "EXIT (an exit condition holds)",
}


def _lv(x: float | None) -> str:
    return level_text(x) if x is not None else "—"


def is_advice(item: OutboxItem) -> bool:
    """An outbox row the guard decided (kind ``alert``, ``payload["guard"]``)."""
    return item.kind == "alert" and bool(item.payload.get("guard"))


# --- advice --------------------------------------------------------------------------------

def first_line(item: OutboxItem) -> str:
    """The notification preview: the most urgent advice that triggered."""
    advice = item.payload["guard"].get("advice") or []
    headline = advice[0]["headline"] if advice else f"{item.coin} position"
    return f"{MARK} <b>{esc(headline)}</b>"


def levels_line(side: str, coin: str, entry: float, stop: float | None,
                take_profit: float | None, trailed: float | None = None) -> str:
    """``ETH long from 3,150 · stop 3,080 · tp 3,300``, with the trailed stop once locked."""
    parts = [f"<b>{esc(coin)} {esc(side)}</b> from {_lv(entry)}",
             f"stop {_lv(stop)}" if stop is not None else "no stop",
             f"tp {_lv(take_profit)}" if take_profit is not None else "no tp"]
    if trailed is not None:
        parts.append(f"trailed stop {_lv(trailed)}")
    return " · ".join(parts)


def _now_line(price: float | None, pnl: float | None, phase: str, at: str | None) -> str:
    if price is None:
        now = "price unavailable right now"
    else:
        now = (f"now {_lv(price)}" + (f" ({at})" if at else "")
               + f" · P&amp;L <b>{pct(round(pnl, 2))}</b>")
    return f"{now} · {PHASES.get(phase, esc(phase))}"


def advice_text(item: OutboxItem, now: float, tz: tzinfo | None = None) -> str:
    """The advice message as sent: every advice that triggered (most urgent first) with its
    figures, what else still holds in a line, then the position once."""
    g: Mapping[str, Any] = item.payload["guard"]
    advice = list(g.get("advice") or [])
    triggered = [a for a in advice if a.get("trigger")] or advice[:1]
    rest = [a for a in advice if a not in triggered]
    lines: list[str] = []
    late = now - item.created_at
    for i, a in enumerate(triggered):
        if i:
            lines.append("")
        lines.append(f"{MARK} <b>{esc(a['headline'])}</b>")
        if i == 0 and late > LATE_AFTER_SECONDS:
            lines.append(f"⏱ <i>{duration(late)} late (decided "
                         f"{when(item.created_at, now, tz)})</i>")
        lines.append(esc(a["detail"]))
    if rest:
        lines.append("")
        lines.append("Still holds: " + "; ".join(esc(a["headline"]) for a in rest) + ".")
    lines.append("")
    lines.append("Your " + levels_line(g["side"], g["coin"], g["entry"], g.get("stop"),
                                       g.get("take_profit"), g.get("trailed_stop")))
    lines.append(_now_line(g.get("price"), g.get("pnl_pct"), g.get("phase", ""),
                           f"data {when(item.data_time, now, tz)}" if item.data_time else None))
    if g.get("unavailable"):
        lines.append(f"<i>Your {esc(g.get('plan', ''))} plan cannot see: "
                     + esc("; ".join(g["unavailable"])) + ".</i>")
    lines.append(f"{NFA} /position lists your positions.")
    return fit(lines)


# --- /position -------------------------------------------------------------------------------

def usage(problem: str | None = None) -> str:
    head = f"❌ {esc(problem)}\n" if problem else ""
    return head + esc(USAGE) + (" Nothing was saved." if problem else "")


def positions_text(entries: Iterable[tuple[Guarded, PriceNow | None]], plan: str | None,
                   gaps: Iterable[str], now: float, tz: tzinfo | None = None,
                   priced: bool = True) -> str:
    """/position: each position with its live P&amp;L and phase."""
    entries = list(entries)
    if not entries:
        return ("🛡 You have no positions for me to guard. Declare one: "
                + esc("/position ETH long 3150 stop 3080 tp 3300") + " — I watch it with your "
                "CoinGlass data and tell you when to consider moving the stop, locking in, or "
                "getting out. " + NFA)
    lines = [f"{MARK} <b>Your positions</b>" + (f" · {esc(plan)} plan data" if plan else "")]
    for guarded, price in entries:
        p, st = guarded.position, guarded.state
        lines.append(levels_line(p.side, p.coin, p.entry, p.stop, p.take_profit,
                                 st.trailed_stop))
        if price is None:
            lines.append("   " + _now_line(None, None, st.phase.value, None)
                         + ("" if priced else " (prices after /setkey)"))
        else:
            lines.append("   " + _now_line(price.price, pnl_pct(p, price.price), st.phase.value,
                                           when(price.at, now, tz)))
    gaps = list(gaps)
    if gaps:
        lines.append(f"<i>Your plan cannot see: {esc('; '.join(gaps))}.</i>")
    lines.append("/position SYM close forgets one. " + NFA)
    return fit(lines)


def declared(position: Position, price: PriceNow | None, *, lock_at: float, trail: float,
             gaps: Iterable[str], notes: Iterable[str] = (), replaced: bool = False,
             now: float, tz: tzinfo | None = None) -> str:
    """The reply to a declaration: what is guarded, how it locks and trails, what the plan
    cannot see, and anything else worth knowing (``notes``, already HTML)."""
    p = position
    long = p.side == LONG
    lock_price = p.entry * (1 + lock_at / 100.0) if long else p.entry * (1 - lock_at / 100.0)
    verb = "Replaced: now guarding" if replaced else "Guarding"
    lines = [f"{MARK} {verb} your " + levels_line(p.side, p.coin, p.entry, p.stop, p.take_profit)
             + "."]
    if price is not None:
        lines.append(f"Now {_lv(price.price)} ({when(price.at, now, tz)}) · P&amp;L "
                     f"<b>{pct(round(pnl_pct(p, price.price), 2))}</b>.")
        if crossed := _already_crossed(p, price.price):
            lines.append(f"⚠️ <b>The price is already {crossed}.</b>")
    lines.append(f"It locks at {pct(lock_at)} ({_lv(lock_price)}): then I suggest moving the "
                 f"stop to break-even and trail it {trail:g} % behind the best price "
                 "(/set lock_at, /set trail).")
    lines.append("I'll tell you when a liquidation cluster or order wall sits near your stop or "
                 "take-profit, when whales turn against you, when the OI × price regime turns "
                 "against the position, or when funding costs you.")
    gaps = list(gaps)
    if gaps:
        lines.append(f"<i>Your plan cannot see: {esc('; '.join(gaps))}.</i>")
    lines += list(notes)
    lines.append(f"/position lists it · /position {esc(p.coin)} close forgets it. {NFA}")
    return "\n".join(lines)


def _already_crossed(p: Position, price: float) -> str | None:
    """Whether the price has already reached the stop or the take-profit just declared."""
    long = p.side == LONG
    if p.stop is not None and (price <= p.stop if long else price >= p.stop):
        return f"through your stop ({_lv(p.stop)})"
    if p.take_profit is not None and (price >= p.take_profit if long
                                      else price <= p.take_profit):
        return f"at your take-profit ({_lv(p.take_profit)})"
    return None


def read_as(name: str, value: Ambiguous, chosen: float, reference: float) -> str:
    """A note when an ambiguous price was settled by the coin's price."""
    return (f"(I read {esc(value.text)} as {_lv(chosen)} for the {name.replace('_', '-')}: "
            f"{_lv(reference)} is the price now.)")


def ambiguous(found: list[tuple[str, Ambiguous]]) -> str:
    name, value = found[0]
    what = name.replace("_", "-")
    return (f"❓ {esc(value.text)} could be {value.decimal:g} or {_lv(value.grouped)} for the "
            f"{what}. Write it without the separator ({_lv(value.grouped).replace(',', '')}) "
            f"or with a decimal point ({value.decimal:g}). Nothing was saved.")


def unknown_coin(coin: str, close: list[str]) -> str:
    hint = f" Did you mean {esc(', '.join(close))}?" if close else ""
    return (f"❓ Unknown coin {esc(coin)}: CoinGlass has no futures data for it.{hint} "
            "Nothing was saved.")


def replace_question(old: Guarded, new: Position) -> str:
    o = old.position
    return (f"{MARK} You already have " + levels_line(o.side, o.coin, o.entry, o.stop,
                                                      o.take_profit)
            + f" ({esc(old.state.phase.value)}). One position per coin: replace it with "
            + levels_line(new.side, new.coin, new.entry, new.stop, new.take_profit) + "?")


def too_many(limit: int) -> str:
    return (f"You can guard at most {limit} positions. /position lists them; "
            "/position SYM close forgets one. Nothing was saved.")


def closed(position: Position) -> str:
    return (f"{MARK} Stopped guarding your " + levels_line(position.side, position.coin,
                                                           position.entry, position.stop,
                                                           position.take_profit)
            + ". /position lists the rest.")


def not_held(coin: str) -> str:
    return (f"You have no {esc(coin)} position. Declare one: "
            + esc(f"/position {coin} long 3150 stop 3080") + ".")


def close_question(position: Position) -> str:
    return ("Stop guarding your " + levels_line(position.side, position.coin, position.entry,
                                                position.stop, position.take_profit) + "?")


KEPT = "Kept — nothing changed."
EXPIRED = "That question expired. Send /position again (/position ETH long 3150)."
POLLED_ONLY = ("{coin} is not in your /subscribe list: I poll it for the guard only (no market "
               "alerts for it).")
NO_KEY = "I start watching it after /setkey (your CoinGlass key)."
UNCHECKED = "(CoinGlass's coin list was unavailable, so I could not check the symbol.)"


def polled_only(coin: str) -> str:
    return POLLED_ONLY.format(coin=esc(coin))


# --- the short conversation from an alert or the settings ------------------------------------

def ask_side(coin: str, held: Guarded | None) -> str:
    note = ""
    if held is not None:
        p = held.position
        note = ("\nYou already have " + levels_line(p.side, p.coin, p.entry, p.stop,
                                                    p.take_profit) + "; a new one replaces it.")
    return f"{MARK} Guard your <b>{esc(coin)}</b> position — which side?{note}\n/cancel to stop."


def ask_entry(coin: str, side: str) -> str:
    return (f"{MARK} <b>{esc(coin)} {esc(side)}</b>: send your entry price, e.g. <code>3150</code>"
            " — or with your stop and take-profit: <code>3150 stop 3080 tp 3300</code>.\n"
            "/cancel to stop.")


def entry_again(problem: str) -> str:
    return f"❌ {esc(problem)}\nSend the entry again (e.g. 3150 stop 3080), or /cancel."


CANCELLED = "Cancelled — no position was saved."
SIDE_PLEASE = "Tap Long or Short (or type long or short), or /cancel."
