"""Your hours in words, without Telegram: times in the user's zone with the date rule, the one
message after quiet hours, the digest, and the settings screens' buttons."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot import hours_texts as ht
from bot import texts
from bot.handlers.hours import PATTERN
from core.budget import plan_budget
from core.hours import held_summary
from core.plans import Plan
from core.signals.model import Direction, Level, Signal
from core.storage.repo import OutboxItem
from core.timezones import parse_timezone, tz_of
from core.users import User
from tests.bot.test_texts import plain

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 1, 15, 7, 0, tzinfo=BERLIN).timestamp()       # a Thursday, 07:00 CET
USER = User(id=1, created_at=0, active=True, paused=False, paused_until=None,
            interval_seconds=None, plan=Plan.STANDARD, plan_override=None, plan_limit=300,
            plan_expires_at=None, key_state="valid", key_state_at=NOW - 3600,
            disabled_endpoints=frozenset(), notices=frozenset(), last_poll_at=NOW - 20,
            next_poll_at=NOW + 10, last_error="CoinGlass slow", last_error_at=NOW - 2 * 86400,
            timezone="Europe/Berlin")


def item(id_, coin, level, created_at, price, kind="alert", payload=None) -> OutboxItem:
    signal = Signal(id="oi_surge", coin=coin, level=level, direction=Direction.BULLISH,
                    title="OI surge", text="up", confidence=0.7,
                    values={"oi_change_pct": 3.4, "threshold": 5.0})
    return OutboxItem(id=id_, user_id=1, coin=coin, kind=kind, level=int(level),
                      payload=payload or {"signals": [signal.to_dict()], "summary": {
                          "price": {"price": price, "change_pct": 0.1, "window": "1h"}}},
                      created_at=created_at, attempts=0, status="held")


# --- times in the user's zone ----------------------------------------------------------------

def test_status_shows_every_time_in_the_users_zone_with_the_date_when_not_today():
    text = plain(texts.status_text(USER, now=NOW, used=3, coins=["ETH"],
                                   budget=plan_budget(Plan.STANDARD, 1), alerts_24h=2,
                                   pending=0, held=3, held_until=NOW + 3600))
    assert "Last poll: 06:59 CET" in text and "next: 07:00 CET" in text
    assert "(Tue 07:00 CET)" in text                                # two days ago: the weekday
    assert "3 held for your quiet hours, until 08:00 CET" in text
    assert "UTC" not in text


def test_status_in_utc_by_default():
    text = plain(texts.status_text(replace(USER, timezone=None), now=NOW, used=3, coins=["ETH"],
                                   budget=plan_budget(Plan.STANDARD, 1), alerts_24h=0,
                                   pending=0))
    assert "Last poll: 05:59 UTC" in text and "held" not in text


def test_pause_replies_in_the_users_zone():
    assert "until 09:00 CET" in texts.paused(NOW + 7200, NOW, BERLIN)
    assert "until 22 Jan 07:00 CET" in texts.paused(NOW + 7 * 86400, NOW, BERLIN)
    paused = replace(USER, paused=True, paused_until=NOW + 86400)
    assert texts.pause_state(paused, NOW) == "paused until Fri 07:00 CET"


def test_timezone_replies():
    choice = parse_timezone("new york")
    text = plain(ht.timezone_set(choice, replace(USER, quiet="23:00-07:00 hold",
                                                 digest_at="08:00"), NOW))
    assert text.startswith("✅ Timezone: America/New_York (01:00 EST now)")
    assert "Your quiet hours (23:00–07:00) and your digest (08:00) follow it." in text
    offset = plain(ht.timezone_set(parse_timezone("+5:30"), USER, NOW))
    assert "UTC+05:30 (11:30 UTC+5:30 now)" in offset and "daylight saving" in offset
    shown = plain(ht.timezone_shown(replace(USER, timezone=None), NOW))
    assert "UTC (06:00 UTC now)" in shown and "UTC-5" in shown


def test_quiet_replies_say_the_mode_and_whether_it_is_quiet_now():
    user = replace(USER, quiet="23:00-07:00 hold")
    shown = plain(ht.quiet_shown(user, NOW - 3600, held=2))
    assert "23:00–07:00 (Europe/Berlin), hold — alerts below HIGH wait" in shown
    assert "Quiet now, until 07:00 CET. 2 messages are waiting." in shown
    assert "Not quiet now; they start 23:00 CET." in plain(ht.quiet_shown(user, NOW))
    assert "Quiet hours are off" in ht.quiet_shown(USER, NOW)
    assert "on their way as one message" in ht.quiet_off(3)
    assert "on its way" in ht.quiet_off(1) and "held" not in ht.quiet_off(0)
    hint = ht.quiet_set(ht.quiet_of(user), replace(user, timezone=None), NOW)
    assert "/timezone Berlin" in hint


def test_digest_replies():
    user = replace(USER, digest_at="08:00")
    assert "the next one 08:00 CET" in plain(ht.digest_shown(user, NOW, NOW + 3600))
    assert "the first one Fri 08:00 CET" in plain(ht.digest_set(user, NOW, NOW + 25 * 3600))
    assert "digest is off" in ht.digest_shown(USER, NOW, None)


def test_errors_are_escaped():
    assert "&lt;b&gt;" in ht.timezone_error("I don't know <b>")
    assert ht.digest_error("x").endswith("Nothing changed.")


# --- the one message after quiet hours -------------------------------------------------------

def held(items, quiet="23:00-07:00 hold"):
    return held_summary(items, quiet, NOW)


def test_held_message_grouped_per_coin_newest_first_with_what_happened_since():
    night = NOW - 8 * 3600                                           # 23:00 the day before
    payload = held([item(1, "SOL", Level.MEDIUM, night + 600, 150.0),
                    item(2, "BTC", Level.MEDIUM, night + 3600, 97_000.0),
                    item(3, "SOL", Level.LOW, night + 7 * 3600, 141.0)])
    text = plain(ht.held_text(payload, NOW, BERLIN))
    lines = text.split("\n")
    assert lines[0] == "🌙 Quiet hours are over: 3 alerts held on SOL, BTC"
    assert lines[1] == "Held since Wed 23:10 CET, newest first. HIGH alerts came through at once."
    assert lines[3] == ("SOL · 2 alerts (1 MEDIUM, 1 LOW) · $150.00 → $141.00 (−6.0 %) since "
                        "Wed 23:10 CET")
    assert lines[4].startswith("1. 06:00 🟢 SOL ▲ open interest +3.4 % in 1h · $141.00")
    assert lines[5].startswith("2. Wed 23:10 🟡 SOL")
    assert lines[7] == "BTC · 1 alert"
    assert lines[8].startswith("3. 00:00 🟡 BTC")
    assert lines[-1] == "Tap a number to open that alert in full."
    buttons = ht.held_buttons(payload).inline_keyboard
    assert [b.callback_data for row in buttons for b in row] == ["al:open:3", "al:open:1",
                                                                 "al:open:2"]


def test_held_message_names_each_alert_by_what_triggered_it():
    """The live stream announced the cascade; the next poll's alert carries it along but its
    news is the cluster. Held together, the two lines must not read as the same alert twice."""
    cascade = Signal(id="liquidation_cascade", coin="ETH", level=Level.HIGH,
                     direction=Direction.BEARISH, title="Long liquidation cascade", text="",
                     confidence=0.93, values={"long_usd": 94.6e6, "short_usd": 4.1e6})
    cluster = Signal(id="liquidation_cluster", coin="ETH", level=Level.MEDIUM,
                     direction=Direction.BEARISH, title="Liquidation cluster", text="",
                     confidence=0.6, values={})
    stream = item(1, "ETH", Level.HIGH, NOW - 600, 0, payload={
        "signals": [cascade.to_dict()], "triggers": {"liquidation_cascade": "new"},
        "summary": {}})
    poll = item(2, "ETH", Level.HIGH, NOW - 590, 3003.1, payload={
        "signals": [cascade.to_dict(), cluster.to_dict()],
        "triggers": {"liquidation_cluster": "new"},
        "summary": {"price": {"price": 3003.1, "change_pct": -5.8, "window": "1h"}}})
    text = plain(ht.held_text(held([stream, poll], quiet="23:00-07:00 all"), NOW, BERLIN))
    assert "1. 06:50 🟡 ETH ▼ liquidation cluster" in text
    assert "2. 06:50 🔴 ETH ▼ $94.6M longs liquidated in 1h" in text
    assert text.count("longs liquidated") == 1
    entry = {"id": 2, "coin": "ETH", "level": 3, "created_at": NOW - 590,
             "signals": poll.payload["signals"], "triggers": poll.payload["triggers"]}
    day = plain(ht.digest_text(digest(alerts=[entry], alerts_total=1), NOW, BERLIN))
    assert "06:50 🟡 ETH ▼ liquidation cluster" in day and "longs liquidated" not in day


def test_held_message_with_all_mode_and_notices():
    payload = held([item(1, "ETH", Level.HIGH, NOW - 600, 3000.0),
                    item(2, None, Level.LOW, NOW - 300, 0, kind="notice",
                         payload={"notice": "key_rejected"})], quiet="23:00-07:00 all")
    text = plain(ht.held_text(payload, NOW, BERLIN))
    assert "HIGH alerts came through" not in text
    assert "🔴 ETH" in text and "CoinGlass rejected your API key" in text


def test_a_long_night_fits_one_message():
    items = [item(i, f"C{i % 30}", Level.MEDIUM, NOW - 8 * 3600 + i * 60, 1.0 + i)
             for i in range(400)]
    payload = held(items)
    html = ht.held_text(payload, NOW, BERLIN)
    assert len(html) <= 4096 and "400 alerts held" in html
    assert "earlier (/history)" in html or "(shortened)" in html
    assert len(ht.held_buttons(payload).inline_keyboard) == 4            # 20 numbers


def test_render_outbox_dispatches_to_the_held_message():
    payload = held([item(1, "SOL", Level.MEDIUM, NOW - 600, 150.0)])
    row = OutboxItem(id=9, user_id=1, coin=None, kind="notice", level=2, payload=payload,
                     created_at=NOW, attempts=0, timezone="Europe/Berlin")
    assert texts.render_outbox(row, NOW).startswith("🌙 <b>Quiet hours are over</b>")


# --- the digest -------------------------------------------------------------------------------

DAY = {"coin": "ETH", "price": 2994.9, "price_change_24h": -6.12, "funding_8h": -0.03,
       "oi_usd": 31.8e9, "oi_change_24h": -9.25, "liq_long_24h": 120.5e6,
       "liq_short_24h": 8.2e6, "missing": None}


def digest(**extra):
    payload = {"notice": "digest", "at": "08:00", "made_at": NOW, "plan": "Standard",
               "note": None, "requests": 0, "coins": [DAY], "alerts_total": 0, "alerts": []}
    payload.update(extra)
    return payload


def test_digest_shows_each_coins_day():
    text = plain(ht.digest_text(digest(), NOW, BERLIN))
    assert text.split("\n")[:5] == [
        "📰 Your day · 07:00 CET", "", "ETH $2,994.9 (−6.1 % 24h)",
        "Funding −0.0300 %/8h · OI $31.8B (−9.2 % 24h)",
        "Liquidations 24h: $120.5M long / $8.2M short"]
    assert "No alerts in the last 24 h." in text and text.endswith("Not financial advice.")


def test_digest_lists_the_days_alerts_and_their_outcome_once_recorded():
    signal = item(1, "ETH", Level.HIGH, NOW - 3600, 1.0).payload["signals"]
    medium = item(2, "SOL", Level.MEDIUM, NOW - 20 * 3600, 1.0).payload["signals"]
    alerts = [{"id": 1, "coin": "ETH", "level": 3, "created_at": NOW - 3600, "signals": signal,
               "outcome": "▼ −2.4 % after 4h ✓"},
              {"id": 2, "coin": "SOL", "level": 2, "created_at": NOW - 20 * 3600,
               "signals": medium, "outcome": None}]
    text = plain(ht.digest_text(digest(alerts=alerts, alerts_total=3), NOW, BERLIN))
    assert "Alerts in the last 24 h: 3 (1 HIGH, 1 MEDIUM)" in text
    assert "06:00 🔴 ETH ▲ open interest +3.4 % in 1h · ▼ −2.4 % after 4h ✓" in text
    sol = next(line for line in text.split("\n") if "SOL" in line)
    assert sol.startswith("Wed 11:00 🟡 SOL") and "·" not in sol.split("1h", 1)[1]
    assert "… and 1 more (/history)" in text


@pytest.mark.parametrize("note,says", [("no_key", "/setkey"), ("no_coins", "/subscribe"),
                                       ("unavailable", "did not answer")])
def test_digest_notes(note, says):
    assert says in ht.digest_text(digest(note=note, coins=[]), NOW, BERLIN)


def test_a_coin_without_figures_says_why_not_zero():
    empty = {"coin": "SOL", "missing": "CoinGlass server error"}
    text = plain(ht.digest_text(digest(coins=[empty]), NOW, BERLIN))
    assert "SOL: no figures (CoinGlass server error)" in text and "$0" not in text
    partial = dict(DAY, funding_8h=None, oi_change_24h=None)
    text = plain(ht.digest_text(digest(coins=[partial]), NOW, BERLIN))
    assert "Funding n/a · OI $31.8B" in text


# --- settings screens -------------------------------------------------------------------------

def test_settings_lines_and_buttons_are_short_and_match_the_handler():
    user = replace(USER, quiet="23:00-07:00 silent", digest_at="08:00")
    assert ht.settings_lines(user) == ("Timezone: Europe/Berlin\nQuiet hours: 23:00–07:00 silent"
                                       "\nDaily digest: 08:00")
    screens = [ht.settings_timezone(user, NOW), ht.settings_quiet(user, NOW),
               ht.settings_quiet_end(23), ht.settings_quiet_mode(23, 7),
               ht.settings_digest(user, NOW, NOW + 3600),
               ("", ht.zone_suggestions(("Europe/Berlin", "America/Argentina/Buenos_Aires")))]
    for _, markup in screens:
        for row in markup.inline_keyboard:
            for button in row:
                data = button.callback_data
                assert len(data.encode()) <= 64
                assert data == "set:main" or re.match(PATTERN, data), data
    end = [b.callback_data for row in ht.settings_quiet_end(23)[1].inline_keyboard for b in row]
    assert "hr:q:23:23" not in end and "hr:q:23:07" in end
    assert [tz_of(zone) for _, zone in ht.COMMON_ZONES]           # every zone is known
    assert all(tz_of(zone) is not timezone.utc for label, zone in ht.COMMON_ZONES
               if label != "UTC")
