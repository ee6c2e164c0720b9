"""Your hours in words (SPEC §14): /timezone, /quiet and /digest replies, their /settings
screens and buttons, the one message that ends quiet hours, and the daily digest.

Pure: domain data in, HTML (and inline keyboards) out; every time in the user's zone with the
date when it is not today (``bot.format.when``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Mapping

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup

from bot import alert_texts, keyboards
from bot.format import esc, fit, pct, price, usd, when
from core.hours import NOTICE_DIGEST, NOTICE_HELD, held_ids, quiet_of
from core.quiet import QuietHours, QuietMode, is_quiet, local_moment, quiet_ends_at
from core.signals.model import Level, Signal
from core.storage.repo import OutboxItem
from core.timezones import ACCEPTED as ZONE_FORMS
from core.timezones import UTC_NAME, ZoneChoice, format_time, tz_of, zone_label
from core.users import User

NFA = "<i>Not financial advice.</i>"
NOTICES = frozenset({NOTICE_HELD, NOTICE_DIGEST})

MODE_WORDS = {
    QuietMode.HOLD: "alerts below HIGH wait and arrive as one message when they end; HIGH "
                    "alerts still arrive at once",
    QuietMode.SILENT: "alerts arrive as usual, without sound",
    QuietMode.ALL: "every alert waits and they arrive as one message when they end",
}
MODE_BUTTONS = ((QuietMode.HOLD, "hold — HIGH still comes"), (QuietMode.SILENT, "silent — no sound"),
                (QuietMode.ALL, "all — everything waits"))
# The timezone picker of /settings; /timezone NAME takes any other.
COMMON_ZONES = (
    ("UTC", UTC_NAME), ("London", "Europe/London"), ("Berlin", "Europe/Berlin"),
    ("Kyiv", "Europe/Kyiv"), ("Moscow", "Europe/Moscow"), ("Dubai", "Asia/Dubai"),
    ("India", "Asia/Kolkata"), ("Singapore", "Asia/Singapore"), ("Tokyo", "Asia/Tokyo"),
    ("Sydney", "Australia/Sydney"), ("New York", "America/New_York"),
    ("Chicago", "America/Chicago"), ("Los Angeles", "America/Los_Angeles"),
    ("São Paulo", "America/Sao_Paulo"), ("Lagos", "Africa/Lagos"),
)
BACK = Button("« Settings", callback_data="set:main")


def _rows(buttons: list[Button], per_row: int) -> list[list[Button]]:
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def _hhmm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def span(q: QuietHours) -> str:
    """``23:00–07:00``."""
    return f"{_hhmm(q.start)}–{_hhmm(q.end)}"


def zone_name(stored: str | None) -> str:
    return stored or UTC_NAME


def _zone_now(stored: str | None, now: float) -> str:
    """``Europe/Berlin (14:05 CET now)``."""
    tz = tz_of(stored)
    local = datetime.fromtimestamp(now, tz)
    return (f"{esc(zone_name(stored))} ({local.hour:02d}:{local.minute:02d} "
            f"{esc(zone_label(tz, now))} now)")


def _utc_hint(user: User) -> str:
    return ("" if user.timezone else
            "\nTimes are UTC: set yours with /timezone Berlin (a city, or an offset like +3).")


# --- /timezone --------------------------------------------------------------------------

TIMEZONE_USAGE = (f"Change it: /timezone Berlin, /timezone America/New_York or /timezone +3. "
                  f"{ZONE_FORMS}.")


def timezone_shown(user: User, now: float) -> str:
    return f"🕐 Your timezone: {_zone_now(user.timezone, now)}.\n{TIMEZONE_USAGE}"


def _follows(user: User) -> str:
    parts = []
    if (q := quiet_of(user)) is not None:
        parts.append(f"your quiet hours ({span(q)})")
    if user.digest_at:
        parts.append(f"your digest ({esc(user.digest_at)})")
    return (" " + " and ".join(parts).capitalize() + " follow it.") if parts else ""


def timezone_set(choice: ZoneChoice, user: User, now: float) -> str:
    fixed = (" A fixed offset: it does not follow daylight saving time." if choice.kind == "offset"
             and choice.stored != UTC_NAME else "")
    return (f"✅ Timezone: {_zone_now(choice.stored, now)}. Every time I show is in it.{fixed}"
            f"{_follows(user)}")


def timezone_error(message: str) -> str:
    return f"❌ {esc(message)} Nothing changed."


def zone_suggestions(zones: tuple[str, ...]) -> Markup | None:
    """One button per close match (``hr:tzn:Europe/Berlin``), checked again when pressed."""
    buttons = [Button(z, callback_data=f"hr:tzn:{z}") for z in zones if len(z) <= 40]
    return Markup([buttons]) if buttons else None


# --- /quiet -----------------------------------------------------------------------------

QUIET_USAGE = ("/quiet 23:00-07:00 (hold, the default), /quiet 23:00-07:00 silent or "
               "/quiet 23:00-07:00 all; /quiet off.")


def _quiet_now(q: QuietHours, tz: tzinfo, now: float, held: int) -> str:
    if is_quiet(q, tz, now):
        waiting = (f" {held} message{'s are' if held != 1 else ' is'} waiting."
                   if held else "")
        return f"Quiet now, until {when(quiet_ends_at(q, tz, now), now, tz)}.{waiting}"
    today = datetime.fromtimestamp(now, tz).date()
    starts = min(m for m in (local_moment(today + timedelta(days=d), q.start, tz)
                             for d in range(0, 3)) if m > now)
    return f"Not quiet now; they start {when(starts, now, tz)}."


def quiet_shown(user: User, now: float, held: int = 0) -> str:
    q = quiet_of(user)
    if q is None:
        return "🌙 Quiet hours are off.\n" + QUIET_USAGE
    tz = tz_of(user.timezone)
    return (f"🌙 Quiet hours: {span(q)} ({esc(zone_name(user.timezone))}), "
            f"<b>{q.mode.value}</b> — {MODE_WORDS[q.mode]}.\n{_quiet_now(q, tz, now, held)}\n"
            f"{QUIET_USAGE}")


def quiet_set(q: QuietHours, user: User, now: float, held: int = 0) -> str:
    tz = tz_of(user.timezone)
    return (f"✅ Quiet hours {span(q)} your time ({esc(zone_name(user.timezone))}), "
            f"<b>{q.mode.value}</b>: {MODE_WORDS[q.mode]}.\n{_quiet_now(q, tz, now, held)}"
            f"{_utc_hint(user)}")


def quiet_off(released: int) -> str:
    tail = (f" The {released} message{'s' if released != 1 else ''} held so far "
            f"{'are' if released != 1 else 'is'} on {'their' if released != 1 else 'its'} way "
            "as one message." if released else "")
    return "🔔 Quiet hours off: alerts arrive as they happen." + tail


def quiet_error(message: str) -> str:
    # The core's message already lists the accepted forms (QUIET_FORMS).
    return f"❌ {esc(message)} Nothing changed."


# --- /digest ----------------------------------------------------------------------------

DIGEST_ABOUT = ("one message a day: each coin's price, funding, open interest and "
                "liquidations over 24 h, and your alerts of the last 24 h")


def digest_shown(user: User, now: float, next_at: float | None) -> str:
    if not user.digest_at or next_at is None:
        return (f"📰 The daily digest is off. /digest 08:00 sends {DIGEST_ABOUT}, at that "
                "time of your day.")
    tz = tz_of(user.timezone)
    return (f"📰 Daily digest at {esc(user.digest_at)} your time "
            f"({esc(zone_name(user.timezone))}); the next one {when(next_at, now, tz)}.\n"
            "/digest HH:MM moves it, /digest off stops it.")


def digest_set(user: User, now: float, next_at: float) -> str:
    tz = tz_of(user.timezone)
    return (f"✅ Daily digest at {esc(user.digest_at)} your time "
            f"({esc(zone_name(user.timezone))}); the first one {when(next_at, now, tz)}.\n"
            f"{DIGEST_ABOUT[0].upper()}{DIGEST_ABOUT[1:]}. It reuses what your polls fetch, so "
            f"it costs your key a request or two per coin at most.{_utc_hint(user)}")


DIGEST_OFF = "📰 Daily digest off. /digest 08:00 starts it again."


def digest_error(message: str) -> str:
    return f"❌ {esc(message)} Or /digest off. Nothing changed."


# --- /settings screens ------------------------------------------------------------------

def settings_lines(user: User) -> str:
    """The three lines the /settings menu shows for your hours."""
    q = quiet_of(user)
    quiet = f"{span(q)} {q.mode.value}" if q else "off"
    return (f"Timezone: {esc(zone_name(user.timezone))}\nQuiet hours: {quiet}\n"
            f"Daily digest: {esc(user.digest_at) if user.digest_at else 'off'}")


def settings_timezone(user: User, now: float) -> tuple[str, Markup]:
    text = (f"🕐 <b>Timezone</b>: {_zone_now(user.timezone, now)}.\nTap one, or type "
            "/timezone NAME for any city, IANA name or offset (+3, UTC-5).")
    buttons = [Button(("✅ " if zone == zone_name(user.timezone) else "") + label,
                      callback_data=f"hr:tz:{n}") for n, (label, zone) in enumerate(COMMON_ZONES)]
    return text, Markup(_rows(buttons, 3) + [[BACK]])


def _hours(prefix: str, skip: int | None = None) -> list[list[Button]]:
    buttons = [Button(f"{h:02d}", callback_data=f"{prefix}:{h:02d}") for h in range(24)
               if h != skip]
    return _rows(buttons, 6)


def settings_quiet(user: User, now: float, held: int = 0) -> tuple[str, Markup]:
    q = quiet_of(user)
    state = (f"{span(q)} {q.mode.value}\n{_quiet_now(q, tz_of(user.timezone), now, held)}"
             if q else "off")
    text = (f"🌙 <b>Quiet hours</b>: {state}\nWhen should they start? "
            f"(hours in {esc(zone_name(user.timezone))}; /quiet 22:30-06:45 for minutes)")
    rows = _hours("hr:q") + ([[Button("Off", callback_data="hr:q:off")]] if q else [])
    return text, Markup(rows + [[BACK]])


def settings_quiet_end(start: int) -> tuple[str, Markup]:
    return (f"🌙 Quiet from {start:02d}:00 — until when?",
            Markup(_hours(f"hr:q:{start:02d}", skip=start) + [[BACK]]))


def settings_quiet_mode(start: int, end: int) -> tuple[str, Markup]:
    text = (f"🌙 Quiet {start:02d}:00–{end:02d}:00. And then?\n"
            + "\n".join(f"• <b>{m.value}</b>: {MODE_WORDS[m]}" for m in QuietMode))
    rows = [[Button(label, callback_data=f"hr:q:{start:02d}:{end:02d}:{m.value}")]
            for m, label in MODE_BUTTONS]
    return text, Markup(rows + [[BACK]])


def settings_digest(user: User, now: float, next_at: float | None) -> tuple[str, Markup]:
    state = (f"{esc(user.digest_at)}, the next one {when(next_at, now, tz_of(user.timezone))}"
             if user.digest_at and next_at else "off")
    text = (f"📰 <b>Daily digest</b>: {state}\n{DIGEST_ABOUT[0].upper()}{DIGEST_ABOUT[1:]}. "
            f"At which hour? (in {esc(zone_name(user.timezone))}; /digest 7:30 for minutes)")
    rows = _hours("hr:dg") + ([[Button("Off", callback_data="hr:dg:off")]]
                              if user.digest_at else [])
    return text, Markup(rows + [[BACK]])


# --- the message that ends quiet hours --------------------------------------------------

def _clock(ts: float, now: float, tz: tzinfo) -> str:
    """A time in a list whose heading names the zone: ``04:05``, ``Mon 23:14``."""
    return format_time(ts, tz, now)


def _headline(entry: Mapping[str, Any]) -> str:
    """``🟡 <b>SOL ▼ open interest −6.1 % in 1h</b>`` for a stored alert entry."""
    item = OutboxItem(id=entry.get("id", 0), user_id=0, coin=entry.get("coin"), kind="alert",
                      level=entry.get("level"), payload={"triggers": entry.get("triggers")},
                      created_at=entry.get("created_at", 0),
                      attempts=0)
    signals = [Signal.from_dict(d) for d in entry.get("signals") or []]
    return alert_texts.first_line(item, signals)


def _levels(counts: Mapping[str, int]) -> str:
    named = [f"{n} {Level(int(lv)).name}" for lv, n in counts.items() if int(lv) in (1, 2, 3)]
    return f" ({', '.join(named)})" if len(named) > 1 else ""


def _notice_line(payload: Mapping[str, Any], now: float, tz: tzinfo) -> str:
    from bot import texts                     # texts dispatches to this module
    if payload.get("notice") == "all_clear":
        return alert_texts.all_clear(payload, now, tz)
    return texts.notice_text(payload)


def held_text(payload: Mapping[str, Any], now: float, tz: tzinfo) -> str:
    """One message for everything held during the quiet hours: per coin, newest first, what
    happened since the first one; then held notices; a number opens an alert in full."""
    groups = payload.get("coins") or []
    notices = payload.get("notices") or []
    total = payload.get("alerts", 0)
    if total:
        names = ", ".join(g["coin"] for g in groups)
        head = (f"🌙 <b>Quiet hours are over</b>: {total} alert{'s' if total != 1 else ''} "
                f"held on {esc(names)}")
    else:
        head = (f"🌙 <b>Quiet hours are over</b>: {len(notices)} message"
                f"{'s' if len(notices) != 1 else ''} held")
    quiet = payload.get("quiet") or ""
    high = " HIGH alerts came through at once." if quiet.endswith(QuietMode.HOLD.value) else ""
    lines = [head, f"<i>Held since {when(payload.get('since'), now, tz)}, newest first.{high}</i>"]
    number = 0
    for group in groups:
        first, newest = group.get("first_price"), group.get("newest_price")
        since = ""
        if group["count"] > 1 and first and newest:
            since = (f" · {price(first)} → {price(newest)} ({pct((newest / first - 1) * 100, 1)}) "
                     f"since {when(group['first_at'], now, tz)}")
        count = group["count"]
        lines += ["", f"<b>{esc(group['coin'])}</b> · {count} alert{'s' if count != 1 else ''}"
                      f"{_levels(group.get('levels') or {})}{since}"]
        for entry in group["alerts"]:
            number += 1
            at = f" · {price(entry['price'])}" if entry.get("price") else ""
            lines.append(f"{number}. {_clock(entry['created_at'], now, tz)} "
                         f"{_headline(entry)}{at}")
        if count > len(group["alerts"]):
            lines.append(f"… and {count - len(group['alerts'])} earlier (/history)")
    for notice in notices:
        lines += ["", _notice_line(notice, now, tz)]
    if number:
        lines += ["", "Tap a number to open that alert in full."]
    return fit(lines)


def held_buttons(payload: Mapping[str, Any]) -> Markup | None:
    """Numbers under the message, each opening one alert in full (as /history does)."""
    return keyboards.history_buttons(held_ids(dict(payload))[:20])


# --- the daily digest -------------------------------------------------------------------

NOTE_TEXTS = {
    "no_coins": "You watch no coins yet: /subscribe BTC.",
    "no_key": "Market figures need your CoinGlass key: /setkey.",
    "key_rejected": "CoinGlass rejected your key, so there are no market figures: /setkey.",
    "unavailable": "CoinGlass did not answer, so there are no market figures today.",
}


def _outcome(value: Any) -> str:
    """An alert's outcome once the outcomes work records one (core.digest.alert_outcome)."""
    if isinstance(value, Mapping):
        value = value.get("text")
    return f" · {esc(value)}" if isinstance(value, str) and value else ""


def _coin_lines(day: Mapping[str, Any]) -> list[str]:
    coin = esc(day["coin"])
    if day.get("price") is None and day.get("oi_usd") is None and day.get("liq_long_24h") is None:
        why = f" ({esc(day['missing'])})" if day.get("missing") else ""
        return [f"<b>{coin}</b>: no figures{why}"]
    change = (f" ({pct(day['price_change_24h'], 1)} 24h)"
              if day.get("price_change_24h") is not None else "")
    funding = (f"Funding {pct(day['funding_8h'], 4)}/8h"
               if day.get("funding_8h") is not None else "Funding n/a")
    oi_change = (f" ({pct(day['oi_change_24h'], 1)} 24h)"
                 if day.get("oi_change_24h") is not None else "")
    return [f"<b>{coin}</b> {price(day.get('price'))}{change}",
            f"{funding} · OI {usd(day.get('oi_usd'))}{oi_change}",
            f"Liquidations 24h: {usd(day.get('liq_long_24h'))} long / "
            f"{usd(day.get('liq_short_24h'))} short"]


def digest_text(payload: Mapping[str, Any], now: float, tz: tzinfo) -> str:
    made = payload.get("made_at") or now
    lines = [f"📰 <b>Your day</b> · {when(made, now, tz)}"]
    for day in payload.get("coins") or []:
        lines += [""] + _coin_lines(day)
    if note := NOTE_TEXTS.get(payload.get("note") or ""):
        lines += ["", note]
    alerts = payload.get("alerts") or []
    total = payload.get("alerts_total", len(alerts))
    lines.append("")
    if not total:
        lines.append("No alerts in the last 24 h.")
    else:
        counts: dict[str, int] = {}
        for entry in alerts:
            key = str(entry.get("level") or 0)
            counts[key] = counts.get(key, 0) + 1
        lines.append(f"<b>Alerts in the last 24 h</b>: {total}"
                     f"{_levels(dict(sorted(counts.items(), reverse=True)))}")
        for entry in alerts:
            lines.append(f"{_clock(entry['created_at'], now, tz)} {_headline(entry)}"
                         f"{_outcome(entry.get('outcome'))}")
        if total > len(alerts):
            lines.append(f"… and {total - len(alerts)} more (/history)")
    lines += ["", NFA]
    return fit(lines)


def render(item: OutboxItem, now: float, tz: tzinfo) -> str:
    """An outbox notice of this module (``NOTICES``) as it is sent."""
    if item.payload.get("notice") == NOTICE_HELD:
        return held_text(item.payload, now, tz)
    return digest_text(item.payload, now, tz)


def markup(item: OutboxItem) -> Markup | None:
    if item.payload.get("notice") == NOTICE_HELD:
        return held_buttons(item.payload)
    return None
