"""Your hours end to end (SPEC §14): /timezone, /quiet and /digest through the production
Application, both simulators over HTTP, and a wall clock the test moves (the Application's
``clock=``): real seconds flow, and a jump to the end of the quiet hours or the next morning is
instant. Everything waits on conditions with deadlines."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime, timezone
from typing import AsyncIterator
from zoneinfo import ZoneInfo

from bot.app import build_application, running
from tests.e2e.conftest import KEYS, USER, Harness, bot_settings
from tests.e2e.test_alerts import alerts_for as alert_messages, wait_polls
from tests.e2e.test_polling import onboard

BERLIN = ZoneInfo("Europe/Berlin")


class MovedClock:
    """The bot's wall clock: now + an offset the test moves."""

    def __init__(self, start: float):
        self.offset = start - time.time()

    def __call__(self) -> float:
        return time.time() + self.offset

    def jump(self, seconds: float) -> None:
        self.offset += seconds

    def set(self, moment: float) -> None:
        self.offset = moment - time.time()


def local(tz, *args) -> float:
    return datetime(*args, tzinfo=tz).timestamp()


@contextlib.asynccontextmanager
async def bot_at(settings, tg, cg, clock: MovedClock) -> AsyncIterator[Harness]:
    app = build_application(settings, clock=clock)
    async with running(app, poll_timeout=1):
        yield Harness(tg, cg, settings, app)


def alerts_for(h: Harness, coin: str) -> list:
    """Alert messages of ``coin`` sent one by one (not the one message after quiet hours)."""
    return [m for m in alert_messages(h, coin) if not m.text.startswith("🌙")]


def rows(h: Harness, kind: str = "alert") -> list[dict]:
    return list(h.services.repo.db.query(
        "SELECT * FROM alerts WHERE user_id = ? AND kind = ? ORDER BY id", [USER, kind]))


def held_messages(h: Harness) -> list:
    return [m for m in h.tg.messages(USER) if m.text.startswith("🌙 Quiet hours are over")]


def digests(h: Harness) -> list:
    return [m for m in h.tg.messages(USER) if m.text.startswith("📰 Your day")]


async def until(h: Harness, condition, timeout: float = 15.0) -> None:
    await h.tg.wait_until(condition, timeout=timeout)


# --- quiet hours ----------------------------------------------------------------------------

async def quiet_night(h: Harness, mode: str = "hold") -> None:
    """Berlin time, quiet 01:00-05:00, two coins watched."""
    await h.say("/timezone berlin", contains="Europe/Berlin")
    await h.say(f"/quiet 01:00-05:00 {mode}", contains="Quiet now, until 05:00")
    await onboard(h, KEYS["professional"], "ETH SOL BTC")
    await wait_polls(h, 2)


async def test_hold_one_grouped_message_at_the_end_and_high_passes(tmp_path, tg, cg):
    clock = MovedClock(local(BERLIN, 2026, 1, 15, 3, 0))
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with bot_at(settings, tg, cg, clock) as h:
        await quiet_night(h)
        cg.market.move("SOL", oi_pct=3.5)                       # MEDIUM: waits
        cg.market.move("BTC", oi_pct=3.5)
        await until(h, lambda: {r["coin"] for r in rows(h) if r["status"] == "held"}
                    >= {"SOL", "BTC"})
        cg.market.scenario("cascade", "ETH")                    # HIGH: arrives at once
        high = await tg.wait_for_message(USER, "🔴 ETH", timeout=10)
        assert not high.text.startswith("🌙")
        # An hour later, still quiet: SOL's MEDIUM is due again (cooldown) and waits too.
        clock.jump(3660)
        await until(h, lambda: sum(r["coin"] == "SOL" and r["status"] == "held"
                                   for r in rows(h)) >= 2)
        assert alerts_for(h, "SOL") == [] and alerts_for(h, "BTC") == []
        assert held_messages(h) == []
        status = await h.say("/status", contains="held for your quiet hours")
        assert "until 05:00 CET" in status.text
        # 05:00 in Berlin: everything held arrives as ONE message.
        clock.set(local(BERLIN, 2026, 1, 15, 5, 0, 1))
        message = await tg.wait_for_message(USER, "🌙 Quiet hours are over", timeout=10)
        lines = message.text.split("\n")
        for coin in ("SOL", "BTC"):                             # grouped per coin
            head = next(i for i, line in enumerate(lines) if line.startswith(f"{coin} ·"))
            assert lines[head].startswith(f"{coin} · 2 alerts") and "→" in lines[head]
            newest, older = lines[head + 1], lines[head + 2]    # newest first
            assert newest.split(" ", 2)[1].startswith("04:0") and f"🟡 {coin}" in newest
            assert older.split(" ", 2)[1].startswith("03:0") and f"🟡 {coin}" in older
        assert "HIGH alerts came through at once" in message.text
        assert [t for row in message.buttons for t, _ in row][:3] == ["1", "2", "3"]
        held = [r for r in rows(h) if r["group_id"]]
        assert {r["coin"] for r in held} >= {"SOL", "BTC"}
        # Marked sent with the message, all at once, once Telegram has accepted it.
        await until(h, lambda: all(r["status"] == "sent" for r in rows(h) if r["group_id"]))
        assert {r["message_id"] for r in rows(h) if r["group_id"]} == {message.message_id}
        await wait_polls(h, 2)
        assert len(held_messages(h)) == 1
        assert alerts_for(h, "SOL") == [] and alerts_for(h, "BTC") == []
        # A number opens that alert in full.
        await h.press(message, next(d for row in message.buttons for t, d in row if t == "1"))
        full = await tg.wait_for_message(USER, "Data as of", after=message.message_id)
        first = next(line for line in lines if line.startswith("1. "))
        assert full.text.split(" ", 2)[1] == first.split(" ", 4)[3]      # that alert's coin


async def test_silent_sends_without_sound(tmp_path, tg, cg):
    clock = MovedClock(local(BERLIN, 2026, 1, 15, 3, 0))
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with bot_at(settings, tg, cg, clock) as h:
        await quiet_night(h, "silent")
        cg.market.scenario("cascade", "ETH")
        alert = await tg.wait_for_message(USER, "🔴 ETH", timeout=10)
        send = next(c for c in tg.calls_to("sendMessage")
                    if c.result and c.result.get("message_id") == alert.message_id)
        assert send.params.get("disable_notification") in (True, "true")
        reply = next(c for c in tg.calls_to("sendMessage")
                     if "Quiet now" in str(c.params.get("text")))
        assert not reply.params.get("disable_notification")       # replies keep their sound
        # After the quiet hours, alerts ring again.
        clock.set(local(BERLIN, 2026, 1, 15, 5, 0, 1))
        cg.market.move("SOL", oi_pct=3.5)
        medium = await tg.wait_for_message(USER, "🟡 SOL", timeout=10)
        send = next(c for c in tg.calls_to("sendMessage")
                    if c.result and c.result.get("message_id") == medium.message_id)
        assert not send.params.get("disable_notification")


async def test_restart_during_quiet_hours_loses_nothing_and_sends_nothing_twice(tmp_path, tg, cg):
    clock = MovedClock(local(BERLIN, 2026, 1, 15, 3, 0))
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with bot_at(settings, tg, cg, clock) as h:
        await quiet_night(h)
        cg.market.move("SOL", oi_pct=3.5)
        await until(h, lambda: any(r["status"] == "held" for r in rows(h)))
    async with bot_at(settings, tg, cg, clock) as h:
        await wait_polls(h, 2)
        assert held_messages(h) == [] and alerts_for(h, "SOL") == []
        assert [r["status"] for r in rows(h) if r["coin"] == "SOL"] == ["held"]
        clock.set(local(BERLIN, 2026, 1, 15, 5, 0, 1))
        await tg.wait_for_message(USER, "🌙 Quiet hours are over", timeout=10)
    async with bot_at(settings, tg, cg, clock) as h:
        await wait_polls(h, 2)
        assert len(held_messages(h)) == 1
        assert all(r["status"] == "sent" for r in rows(h) if r["coin"] == "SOL")


async def test_quiet_off_releases_what_was_held(tmp_path, tg, cg):
    clock = MovedClock(local(BERLIN, 2026, 1, 15, 3, 0))
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with bot_at(settings, tg, cg, clock) as h:
        await quiet_night(h, "all")
        cg.market.scenario("cascade", "ETH")                    # even HIGH waits with "all"
        await until(h, lambda: any(r["coin"] == "ETH" and r["status"] == "held"
                                   for r in rows(h)))
        assert alerts_for(h, "ETH") == []
        quiet = await h.say("/quiet", contains="Quiet now")
        assert "1 message is waiting" in quiet.text or "messages are waiting" in quiet.text
        await h.say("/quiet off", contains="on its way")
        message = await tg.wait_for_message(USER, "🌙 Quiet hours are over", timeout=10)
        assert "🔴 ETH" in message.text
        assert "HIGH alerts came through" not in message.text


# --- the daily digest -----------------------------------------------------------------------

async def test_digest_once_a_day_also_across_a_restart(tmp_path, tg, cg):
    clock = MovedClock(local(BERLIN, 2026, 1, 15, 7, 59, 50))
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with bot_at(settings, tg, cg, clock) as h:
        await h.say("/timezone Europe/Berlin", contains="Europe/Berlin")
        await onboard(h, KEYS["professional"], "ETH BTC")
        cg.market.move("SOL", oi_pct=0.0)
        reply = await h.say("/digest 08:00", contains="Daily digest at 08:00")
        assert "the first one 08:00 CET" in reply.text
        digest = await tg.wait_for_message(USER, "📰 Your day", timeout=20)
        for part in ("ETH $", "BTC $", "24h)", "Funding", "/8h", "OI $", "Liquidations 24h:",
                     "long /", "Not financial advice"):
            assert part in digest.text, part
        (row,) = [json.loads(r["payload"]) for r in rows(h, "notice")
                  if json.loads(r["payload"]).get("notice") == "digest"]
        assert row["requests"] <= 1 + 2 * 2                      # bounded: 1 + 2 per coin
        await wait_polls(h, 2)
    async with bot_at(settings, tg, cg, clock) as h:
        await wait_polls(h, 3)
        assert len(digests(h)) == 1
        clock.set(local(BERLIN, 2026, 1, 16, 8, 0, 0))
        await tg.wait_for_message(USER, "📰 Your day", after=digest.message_id, timeout=20)
        await wait_polls(h, 3)
        assert len(digests(h)) == 2


async def test_digest_missed_by_a_long_downtime_is_skipped(tmp_path, tg, cg):
    clock = MovedClock(local(BERLIN, 2026, 1, 15, 7, 0))
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with bot_at(settings, tg, cg, clock) as h:
        await h.say("/timezone berlin", contains="Europe/Berlin")
        await onboard(h, KEYS["professional"], "ETH")
        await h.say("/digest 8", contains="Daily digest at 08:00")
    clock.set(local(BERLIN, 2026, 1, 15, 14, 30))               # down from 07:00 to 14:30
    async with bot_at(settings, tg, cg, clock) as h:
        await wait_polls(h, 3)
        assert digests(h) == []
        shown = await h.say("/digest", contains="next one")
        assert "Fri 08:00 CET" in shown.text                      # tomorrow, not late today
        clock.set(local(BERLIN, 2026, 1, 16, 7, 59, 58))
        await tg.wait_for_message(USER, "📰 Your day", timeout=20)
        await wait_polls(h, 2)
        assert len(digests(h)) == 1


# --- timezone, settings, bad input ----------------------------------------------------------

async def test_times_are_shown_in_the_users_zone(tmp_path, tg, cg):
    clock = MovedClock(datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc).timestamp())
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with bot_at(settings, tg, cg, clock) as h:
        await onboard(h, KEYS["professional"], "ETH")
        await wait_polls(h, 1)
        assert " UTC" in (await h.say("/status", contains="Last poll")).text
        typo = await h.say("/timezone Europe/Berln", contains="Did you mean")
        assert "Europe/Berlin" in typo.text and "Nothing changed" in typo.text
        assert h.services.repo.get_user(USER).timezone is None
        await h.press(typo, "hr:tzn:Europe/Berlin")
        await tg.wait_for_message(USER, predicate=lambda m: m.message_id == typo.message_id
                                  and m.text.startswith("✅ Timezone"))
        assert h.services.repo.get_user(USER).timezone == "Europe/Berlin"
        status = await h.say("/status", contains="Last poll")
        assert "CEST" in status.text and " UTC" not in status.text
        paused = await h.say("/pause 2h", contains="paused")
        assert "until 16:00 CEST" in paused.text                 # 14:00 CEST now + 2 h
        tokyo = await h.say("/timezone tokyo", contains="Asia/Tokyo")
        assert "21:00 JST now" in tokyo.text
        longer = await h.say("/pause 3d", contains="paused")
        assert "until Sat 21:00 JST" in longer.text               # the date when not today
        cg.market.scenario("cascade", "ETH")
        await h.say("/resume", contains="resumed")
        alert = await tg.wait_for_message(USER, "🔴 ETH", timeout=10)
        assert "JST" in alert.text
        history = await h.say("/history", contains="Your last alerts")
        assert "\n1. 21:0" in history.text


async def test_settings_buttons_set_all_three(harness):
    h = harness
    menu = await h.say("/settings", contains="Settings")
    assert "Timezone: UTC" in menu.text and "Quiet hours: off" in menu.text
    repo = h.services.repo

    async def press(data: str, *contains: str):
        await h.press(menu, data)
        await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == menu.message_id
                                    and all(c in m.text for c in contains))

    await press("hr:tz", "Tap one")
    await press("hr:tz:2", "Europe/Berlin")
    await press("set:main", "saved at once", "Timezone: Europe/Berlin")
    await press("hr:q", "When should they start")
    await press("hr:q:23", "until when")
    await press("hr:q:23:07", "And then")
    await press("hr:q:23:07:silent", "23:00–07:00 silent")
    await press("set:main", "saved at once", "Quiet hours: 23:00–07:00 silent")
    await press("hr:dg", "At which hour")
    await press("hr:dg:08", "08:00, the next one")
    await press("set:main", "saved at once", "Daily digest: 08:00")
    user = repo.get_user(USER)
    assert (user.timezone, user.quiet, user.digest_at) == (
        "Europe/Berlin", "23:00-07:00 silent", "08:00")
    await press("hr:q", "When should they start")
    await press("hr:q:off", "Quiet hours: off\nWhen")
    assert repo.get_user(USER).quiet is None
    await press("set:main", "saved at once", "Quiet hours: off")
    await press("hr:dg", "At which hour")
    await press("hr:dg:off", "Daily digest: off\n")
    assert repo.get_user(USER).digest_at is None


async def test_bad_input_gets_the_accepted_forms_and_changes_nothing(harness):
    h = harness
    await h.say("/timezone berlin", contains="Europe/Berlin")
    await h.say("/quiet 23:00-07:00", contains="Quiet")
    await h.say("/digest 07:30", contains="Daily digest at 07:30")
    before = h.services.repo.get_user(USER)
    cases = {
        "/quiet 25:00-07:00": "23:00-07:00, 23-7",
        "/quiet 23:00-23:00": "differ",
        "/quiet always": "23:00-07:00, 23-7",
        "/timezone Mars/Olympus": "an offset from UTC (+3, UTC-5, UTC+5:30)",
        "/timezone +15": "UTC-12 to UTC+14",
        "/digest noon": "08:00, 8, 8:30, 08.00, 8am, 8 pm or 20h",
        "/digest 24:00": "Midnight is 00:00",
        "/digest <b>8</b>": "08:00, 8, 8:30",
        "/quiet " + "9" * 4000: "too long",
    }
    for command, accepted in cases.items():
        answer = await h.say(command, contains="Nothing changed")
        assert accepted in answer.text, command
    after = h.services.repo.get_user(USER)
    assert (after.timezone, after.quiet, after.digest_at, after.digest_since) == (
        before.timezone, before.quiet, before.digest_at, before.digest_since)


async def test_the_three_commands_are_in_the_menu_and_help(harness):
    h = harness
    names = {c["command"] for c in h.tg.commands}
    assert {"timezone", "quiet", "digest"} <= names
    help_text = (await h.say("/help", contains="/quiet")).text
    assert "/timezone" in help_text and "/digest" in help_text
    shown = await h.say("/quiet", contains="Quiet hours are off")
    assert "/quiet 23:00-07:00" in shown.text
    assert "off" in (await h.say("/digest", contains="digest is off")).text
    assert "UTC" in (await h.say("/timezone", contains="Your timezone")).text


# --- races ----------------------------------------------------------------------------------

async def test_quiet_hours_set_during_a_poll_win(tmp_path, tg, cg):
    """A poll that read the user before /quiet all must not deliver its HIGH alert: its result
    is dropped (the user's version changed) and the repoll holds it."""
    from tests.e2e.test_races import held_poll_dropped, hold_a_poll
    clock = MovedClock(local(BERLIN, 2026, 1, 15, 3, 0))
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with bot_at(settings, tg, cg, clock) as h:
        await h.say("/timezone berlin", contains="Europe/Berlin")
        await onboard(h, KEYS["professional"], "ETH")
        await wait_polls(h, 1)
        cg.market.scenario("cascade", "ETH")
        outcomes = await hold_a_poll(h, KEYS["professional"])
        await h.say("/quiet 01:00-05:00 all", contains="Quiet now")
        await held_poll_dropped(h, outcomes)
        await until(h, lambda: any(r["coin"] == "ETH" and r["status"] == "held"
                                   for r in rows(h)))
        await wait_polls(h, 2)
        assert alerts_for(h, "ETH") == []
