"""The alert pipeline end to end: polls on the JobQueue, edge-triggered alerts, durable delivery."""

from __future__ import annotations

import asyncio
import json
import time

from sim.telegram import FloodLimits
from tests.e2e.conftest import KEYS, USER, Harness, bot_settings, run_bot


def is_alert(message, coin: str) -> bool:
    """An alert message for ``coin``: the Details button under it, the coin on its first line."""
    buttons = [data for row in message.buttons for _, data in row]
    return (any((data or "").startswith("al:") for data in buttons)
            and f" {coin} " in message.text.split("\n", 1)[0] + " ")


def alerts_for(h: Harness, coin: str, user: int = USER) -> list:
    return [m for m in h.tg.messages(user) if is_alert(m, coin)]


def triggered(h: Harness, coin: str, signal_id: str, user: int = USER) -> int:
    """How many alerts for ``coin`` ``signal_id`` triggered (new, escalated, or due again)."""
    rows = h.services.repo.db.query(
        "SELECT payload FROM alerts WHERE user_id = ? AND coin = ? AND kind = 'alert'",
        [user, coin])
    return sum(1 for r in rows if signal_id in json.loads(r["payload"]).get("triggers", {}))


async def onboard(h: Harness, coin: str = "ETH", plan: str = "professional",
                  user: int = USER) -> None:
    await h.say(f"/setkey {KEYS[plan] if user == USER else h.cg_key(user)}", user=user)
    await h.tg.wait_for_message(user, "Key saved")
    await h.say(f"/subscribe {coin}", user=user, contains="Watching")


async def wait_polls(h: Harness, n: int, user: int = USER, timeout: float = 20.0) -> None:
    """Wait until ``n`` more polls of ``user`` have completed."""
    repo = h.services.repo
    seen = []
    deadline = time.monotonic() + timeout
    last = repo.get_user(user).last_poll_at
    while len(seen) < n:
        assert time.monotonic() < deadline, f"only {len(seen)} polls happened"
        await asyncio.sleep(0.05)
        current = repo.get_user(user).last_poll_at
        if current != last:
            seen.append(current)
            last = current


async def test_alert_arrives_within_two_intervals(tmp_path, tg, cg):
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite", POLL_INTERVAL_SECONDS="2")
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await onboard(h)
        await wait_polls(h, 2)
        assert alerts_for(h, "ETH") == []            # the calm market alerts nothing
        moved = time.monotonic()
        cg.market.scenario("cascade", "ETH")
        alert = await tg.wait_for_message(USER, "🔴 ETH", timeout=10)
        assert time.monotonic() - moved <= 2 * 2.0
        first = alert.text.split("\n")[0]
        assert first.startswith("🔴 ETH ▼") and "longs liquidated in 1h" in first
        assert len(alert.text.split("\n")) <= 12 and "conf" in alert.text
        # Details: every figure and what moved each confidence, in the same message.
        details = next(d for row in alert.buttons for t, d in row if "Details" in t)
        await h.press(alert, details)
        alert = await tg.wait_for_message(USER, predicate=lambda m: m.message_id == alert.message_id
                                          and "Data as of" in m.text)
        for part in ("Liquidation", "Funding", "OI", "L/S", "Taker flow", "Confidence",
                     "Regime", "Data as of", "Not financial advice"):
            assert part in alert.text, part
        assert "×" in alert.text                     # modifiers shown with the confidence
        assert len(alert.html) <= 4096
        less = next(d for row in alert.buttons for t, d in row if "Less" in t)
        await h.press(alert, less)
        await tg.wait_for_message(USER, predicate=lambda m: m.message_id == alert.message_id
                                  and "Data as of" not in m.text and "conf" in m.text)


async def test_no_repeat_inside_cooldown_across_polls_and_restart(tmp_path, tg, cg):
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await onboard(h)
        await wait_polls(h, 1)
        cg.market.scenario("cascade", "ETH")
        await tg.wait_for_message(USER, "🔴 ETH", timeout=10)
        await wait_polls(h, 4)
        # (A faster figure, taker flow, may alert a moment before the cascade: count triggers.)
        assert triggered(h, "ETH", "liquidation_cascade") == 1
    # Same database, a new process of the bot: the cooldown survives. (The new process reads
    # the slow figures afresh, so a signal only they show may alert as new; the cascade may not.)
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await wait_polls(h, 4)
        assert triggered(h, "ETH", "liquidation_cascade") == 1
        assert triggered(h, "ETH", "oi_surge") == 1


async def test_escalation_from_medium_to_high_alerts_again(harness):
    h = harness
    await onboard(h, "SOL")
    await wait_polls(h, 1)
    h.cg.market.move("SOL", oi_pct=3.5)              # oi_surge MEDIUM (> 2.5 %)
    medium = await h.tg.wait_for_message(USER, "🟡 SOL", timeout=10)
    assert "OI" in medium.text
    await wait_polls(h, 2)
    h.cg.market.move("SOL", oi_pct=3.0)              # now ~ +6.6 % in 1 h: HIGH
    high = await h.tg.wait_for_message(USER, "🔴 SOL", timeout=10, after=medium.message_id)
    assert "escalated" in high.text


WITNESS = USER + 999


async def witness_polls(h: Harness, n: int) -> None:
    """Let the bot run ``n`` polls of a second user: time passes for the system as a whole,
    waited for as a condition rather than slept."""
    if not h.services.repo.coins(WITNESS):
        await h.say(f"/setkey {KEYS['enterprise']}", user=WITNESS, contains="Key saved")
        await h.say("/subscribe BTC", user=WITNESS, contains="Watching")
    await wait_polls(h, n, user=WITNESS)


async def test_paused_user_gets_nothing_and_is_not_polled(harness):
    h = harness
    await onboard(h)
    await wait_polls(h, 1)
    await h.say("/pause 2h", contains="paused")
    before = h.cg.request_count(KEYS["professional"])
    h.cg.market.scenario("cascade", "ETH")
    await witness_polls(h, 3)
    assert alerts_for(h, "ETH") == []
    assert h.cg.request_count(KEYS["professional"]) == before
    await h.say("/resume", contains="resumed")
    await h.tg.wait_for_message(USER, "🔴 ETH", timeout=10)


async def test_blocked_user_is_marked_inactive_after_first_403(harness):
    h = harness
    await onboard(h)
    await wait_polls(h, 1)
    h.tg.user_blocks_bot(USER, notify=False)       # only the 403 will tell the bot
    h.cg.market.scenario("cascade", "ETH")
    repo = h.services.repo
    await h.tg.wait_until(lambda: not repo.get_user(USER).active, timeout=10)
    forbidden = [c for c in h.tg.calls_to("sendMessage") if c.error_code == 403]
    assert len(forbidden) == 1
    polled = h.cg.request_count(KEYS["professional"])
    await witness_polls(h, 3)
    assert h.cg.request_count(KEYS["professional"]) == polled      # no polling, no sends
    assert len([c for c in h.tg.calls_to("sendMessage") if c.error_code == 403]) == 1


async def test_flood_control_every_alert_arrives_exactly_once(tmp_path, tg, cg):
    users = [USER + i for i in range(12)]
    for user in users:
        cg.add_key(f"pro-key-{user}-00000000000", "professional")
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        for user in users:
            await h.say(f"/setkey pro-key-{user}-00000000000", user=user)
            await tg.wait_for_message(user, "Key saved")
            await h.say("/subscribe ETH BTC", user=user, contains="Watching")
        await wait_polls(h, 1, user=users[-1])
        # no escalation until the bot paces every send (issue 11): its retry bursts would escalate
        tg.set_flood(FloodLimits(global_per_second=4, private_per_second=1, escalate=False))
        tg.fail_next("sendMessage", error_code=429, retry_after=1, times=3)
        cg.market.scenario("cascade", "ETH")
        cg.market.scenario("squeeze", "BTC")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(alerts_for(h, "ETH", u) and alerts_for(h, "BTC", u) for u in users):
                break
            await asyncio.sleep(0.2)
        await tg.wait_until(lambda: h.services.repo.overview()["pending_alerts"] == 0, timeout=30)
        repo = h.services.repo
        for user in users:
            decided = repo.recent_alerts(user, 50)
            assert decided and all(item.status == "sent" for item in decided)
            delivered = alerts_for(h, "ETH", user) + alerts_for(h, "BTC", user)
            assert len(delivered) == len(decided), user           # each exactly once
            assert len({m.text for m in delivered}) == len(delivered)
        assert any(c.error_code == 429 for c in tg.calls_to("sendMessage"))
