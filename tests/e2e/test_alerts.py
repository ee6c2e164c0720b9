"""The alert pipeline end to end: polls on the JobQueue, edge-triggered alerts, durable delivery."""

from __future__ import annotations

import asyncio
import time

from sim.telegram import FloodLimits
from tests.e2e.conftest import KEYS, USER, Harness, bot_settings, run_bot


def alerts_for(h: Harness, coin: str, user: int = USER) -> list:
    return [m for m in h.tg.messages(user) if f"{coin} ·" in m.text and "signal" in m.text]


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
        alert = await tg.wait_for_message(USER, "ETH · HIGH", timeout=10)
        assert time.monotonic() - moved <= 2 * 2.0
        text = alert.text
        for part in ("Liquidation", "Funding", "OI", "L/S", "Taker flow", "Confidence",
                     "Regime: LONG_LIQUIDATION", "Data as of", "Not financial advice"):
            assert part in text, part
        assert "×" in text                           # modifiers shown with the confidence
        assert len(alert.html) <= 4096


async def test_no_repeat_inside_cooldown_across_polls_and_restart(tmp_path, tg, cg):
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await onboard(h)
        await wait_polls(h, 1)
        cg.market.scenario("cascade", "ETH")
        await tg.wait_for_message(USER, "ETH · HIGH", timeout=10)
        await wait_polls(h, 4)
        assert len(alerts_for(h, "ETH")) == 1
    # Same database, a new process of the bot: the cooldown survives.
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await wait_polls(h, 4)
        assert len(alerts_for(h, "ETH")) == 1


async def test_escalation_from_medium_to_high_alerts_again(harness):
    h = harness
    await onboard(h, "SOL")
    await wait_polls(h, 1)
    h.cg.market.move("SOL", oi_pct=3.5)              # oi_surge MEDIUM (> 2.5 %)
    medium = await h.tg.wait_for_message(USER, "SOL · MEDIUM", timeout=10)
    assert "OI" in medium.text
    await wait_polls(h, 2)
    h.cg.market.move("SOL", oi_pct=3.0)              # now ~ +6.6 % in 1 h: HIGH
    high = await h.tg.wait_for_message(USER, "SOL · HIGH", timeout=10, after=medium.message_id)
    assert "escalated" in high.text


async def test_paused_user_gets_nothing_and_is_not_polled(harness):
    h = harness
    await onboard(h)
    await wait_polls(h, 1)
    await h.say("/pause 2h", contains="paused")
    before = h.cg.request_count(KEYS["professional"])
    h.cg.market.scenario("cascade", "ETH")
    await asyncio.sleep(3.5)
    assert alerts_for(h, "ETH") == []
    assert h.cg.request_count(KEYS["professional"]) == before
    await h.say("/resume", contains="resumed")
    await h.tg.wait_for_message(USER, "ETH · HIGH", timeout=10)


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
    await asyncio.sleep(2.5)
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
