"""Did the alert matter? Outcomes in /history, the user's record in /stats, end to end.

OUTCOME_HORIZONS are seconds here (SPEC §2), so a horizon comes within the test."""

from __future__ import annotations

import json

from core.coinglass import paths as p
from core.storage.outcomes import OutcomeRow, OutcomeStore
from core.storage.repo import PollWrite
from tests.e2e.conftest import KEYS, USER, Harness, bot_settings, run_bot
from tests.e2e.test_alerts import onboard, wait_polls

HORIZONS = "3s,6s"


def outcome_rows(h: Harness, user: int = USER) -> list[dict]:
    return list(h.services.repo.db.query(
        "SELECT * FROM alert_outcomes WHERE user_id = ? ORDER BY alert_id, horizon", [user]))


async def cascade_alert(h: Harness) -> None:
    """A long-liquidation cascade on ETH (▼ bearish), then the price keeps falling 2 %."""
    h.cg.market.scenario("cascade", "ETH")
    await h.tg.wait_for_message(USER, "🔴 ETH", timeout=15)
    h.cg.market.move("ETH", price_pct=-2)


async def test_history_shows_what_followed_each_alert(tmp_path, tg, cg):
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite", OUTCOME_HORIZONS=HORIZONS)
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await onboard(h)
        await wait_polls(h, 1)
        await cascade_alert(h)
        waiting = await h.say("/history", contains="Your last alerts")
        assert any(part in waiting.text for part in ("⏳ outcome after 3s", "after 3s", "after 6s"))
        await tg.wait_until(lambda: len(outcome_rows(h)) == 2, timeout=20)
        rows = outcome_rows(h)
        assert [r["horizon"] for r in rows] == [3, 6]
        # Polls every second bring the prices (one a request when a poll comes late: the unit
        # tests pin down which; here only that nothing is missed).
        assert {r["source"] for r in rows} <= {"poll", "request"}
        assert all(-2.6 < r["move_pct"] < -1.4 for r in rows)
        history = await h.say("/history", contains="Your last alerts")
        line = next(l for l in history.text.split("\n") if "after 6s" in l)
        assert line.strip().startswith("▼ −") and line.strip().endswith("after 6s ✓")
        # The user's own record: one alert is not enough to judge a signal by.
        stats = await h.say("/stats", contains="record")
        assert "Liquidation cascade · 1 alert · not enough alerts yet" in stats.text
        assert "your own thresholds" in stats.text and "Not financial advice" in stats.text


async def test_a_restart_between_alert_and_horizon(tmp_path, tg, cg):
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite", OUTCOME_HORIZONS="8s,16s")
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await onboard(h)
        await wait_polls(h, 1)
        await cascade_alert(h)
        assert outcome_rows(h) == []
        alert_id = h.services.repo.recent_alerts(USER, 1)[0].id
    # A new process on the same database, before the first horizon has come.
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)

        def measured() -> list[dict]:
            return [r for r in outcome_rows(h) if r["alert_id"] == alert_id]

        await tg.wait_until(lambda: len(measured()) == 2, timeout=30)
        assert [r["horizon"] for r in measured()] == [8, 16]
        assert all(r["price"] and r["move_pct"] < -1.4 for r in measured())


async def test_without_polls_one_price_request_per_horizon(tmp_path, tg, cg):
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite", OUTCOME_HORIZONS=HORIZONS)
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await onboard(h)
        await wait_polls(h, 1)
        await cascade_alert(h)
        await h.say("/pause", contains="paused")               # no more polls
        before = cg.request_count(KEYS["professional"], p.PRICE_HISTORY)
        await tg.wait_until(lambda: len(outcome_rows(h)) == 2, timeout=20)
        requested = [r for r in outcome_rows(h) if r["source"] == "request"]
        assert requested                                      # at least the 6 s one
        assert cg.request_count(KEYS["professional"], p.PRICE_HISTORY) - before == \
            len(requested)


def sent_alert(h: Harness, user: int, signal_id: str, direction: str, moves: dict[int, float],
               at: float) -> None:
    """A delivered alert of ``signal_id`` with its outcomes already measured."""
    repo = h.services.repo
    payload = {"signals": [{"id": signal_id, "coin": "ETH", "level": "HIGH",
                            "direction": direction, "title": signal_id, "text": "",
                            "confidence": 0.8, "values": {}, "modifiers": [],
                            "data_time": at}],
               "triggers": {signal_id: "new"}, "summary": {"price": {"price": 100.0}}}
    repo.commit_poll(user, PollWrite(alerts=[{"kind": "alert", "coin": "ETH", "level": 3,
                                              "data_time": at, "payload": payload}]))
    alert_id = next(repo.db.query("SELECT MAX(id) AS id FROM alerts"))["id"]
    repo.mark_sent(alert_id, 1)
    for horizon, move in moves.items():
        OutcomeStore(repo.db).record(OutcomeRow(
            alert_id, horizon, user, "ETH", 100.0, 100.0 + move, at + horizon, move,
            min(0.0, move), max(0.0, move), "poll", at + horizon))


async def test_stats_with_none_few_and_many_alerts(tmp_path, tg, cg):
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite", OUTCOME_HORIZONS=HORIZONS)
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        none = await h.say("/stats", contains="record")
        assert "No alerts in the last 30 days, so no record yet" in none.text
        assert "3s, 6s" in none.text
        now = h.services.clock()
        # Synchronous inserts: the outcome job cannot look at an alert before its outcomes.
        for i in range(8):                   # bearish: the price fell after 6 of 8 at 6 s
            sent_alert(h, USER, "liquidation_cascade", "bearish",
                       {3: -1.0 if i < 4 else 1.0, 6: -2.0 if i < 6 else 0.5}, now - 3600 * i)
        for i in range(6):                   # no direction: the size of the move
            sent_alert(h, USER, "oi_surge", "neutral", {3: 0.5, 6: 1.0 + i * 0.2}, now - 600 * i)
        for i in range(2):
            sent_alert(h, USER, "taker_bias", "bullish", {3: 1.0, 6: 2.0}, now - 60 * i)
        sent_alert(h, USER, "liquidation_cascade", "bearish", {3: -9.0, 6: -9.0},
                   now - 10 * 86400)         # older than 7 days
        many = await h.say("/stats", contains="record")
        lines = many.text.split("\n")
        cascade = next(i for i, l in enumerate(lines) if l.startswith("Liquidation cascade"))
        assert lines[cascade] == ("Liquidation cascade · 9 alerts · agreed 56 % at 3s / 78 % at "
                                  "6s · median +2.0 % · best +9.0 % · worst −0.5 % at 6s")
        assert lines[cascade + 1] == ("OI surge · 6 alerts · no direction: median move 1.5 %, "
                                      "largest 2.0 % at 6s")
        assert lines[cascade + 2] == "Taker bias · 2 alerts · not enough alerts yet"
        week = await h.say("/stats ETH 7d", contains="record")
        assert "last 7 days · ETH" in week.text and "Liquidation cascade · 8 alerts" in week.text
        assert "agreed 50 % at 3s / 75 % at 6s" in week.text
        other = await h.say("/stats btc", contains="record")
        assert "No alerts for BTC in the last 30 days" in other.text


async def test_stats_bad_input_lists_what_is_accepted(harness):
    h = harness
    for text in ("/stats 14d", "/stats ETH BTC", "/stats 7", "/stats ETH 7d 30d", "/stats <b>",
                 "/stats 24h", "/stats " + "E" * 2000):
        answer = await h.say(text, contains="Usage")
        assert "/stats ETH 7d" in answer.text and "30d or 7d" in answer.text
    assert h.services.repo.db["alert_outcomes"].count == 0


async def test_stats_for_a_coin_not_watched_points_at_the_likely_one(harness):
    h = harness
    await h.say(f"/setkey {KEYS['startup']}", contains="Key saved")
    await h.say("/subscribe ETH SOL", contains="Watching")
    answer = await h.say("/stats ETHH")
    assert "No alerts for ETHH" in answer.text
    assert answer.text.endswith("You don't watch ETHH. Did you mean /stats ETH?")
    answer = await h.say("/stats SOL")
    assert "You don't watch" not in answer.text
