"""One truth per user: a poll held inside CoinGlass races each command that changes the user,
and the user's change wins. Updates of one chat are handled in order, chats in parallel.

Each race holds a poll in CoinGlass (the simulator's latency fault on the user's key), makes
the change while the poll waits, and then waits for that poll's outcome before asserting.
"""

from __future__ import annotations

import pytest

from core.coinglass import paths
from core.plans import Plan
from tests.e2e.conftest import KEYS, USER, Harness
from tests.e2e.test_alerts import alerts_for, triggered, wait_polls, witness_polls
from tests.e2e.test_polling import onboard

HOLD_SECONDS = 2.5


def record_outcomes(h: Harness) -> list:
    """Every poll outcome from now on (the scheduler's completion hook, chained)."""
    outcomes: list = []
    scheduler = h.services.scheduler
    previous = scheduler.on_done

    def on_done(outcome) -> None:
        outcomes.append(outcome)
        if previous:
            previous(outcome)

    scheduler.on_done = on_done
    return outcomes


async def hold_a_poll(h: Harness, key: str, **fault) -> list:
    """Start holding the next poll of ``key`` inside CoinGlass; returns the outcome log."""
    outcomes = record_outcomes(h)
    h.cg.inject_fault("latency", key=key, seconds=HOLD_SECONDS, **fault)
    await h.tg.wait_until(lambda: h.cg.in_flight > 0 and h.services.scheduler.in_flight > 0,
                          timeout=10)
    return outcomes


async def held_poll_dropped(h: Harness, outcomes: list) -> None:
    h.cg.clear_faults()
    await h.tg.wait_until(lambda: any(not o.applied for o in outcomes), timeout=15)


async def test_a_poll_of_a_revoked_key_cannot_reject_the_new_key(harness):
    h = harness
    old, new = "old-key-00000000000000000001", "new-key-00000000000000000002"
    h.cg.add_key(old, "professional")
    h.cg.add_key(new, "professional")
    await onboard(h, old)
    await wait_polls(h, 1)
    outcomes = await hold_a_poll(h, old)
    h.cg.remove_key(old)                         # revoked while the poll waits in CoinGlass
    await h.say(f"/setkey {new}", contains="Key saved")
    await held_poll_dropped(h, outcomes)
    await wait_polls(h, 2)                       # polling goes on, with the new key
    repo = h.services.repo
    user = repo.get_user(USER)
    assert user.key_state == "valid" and "key_rejected" not in user.notices
    assert repo.api_key(USER) == new
    assert not [m for m in h.tg.messages(USER) if "rejected your API key" in m.text]
    assert h.cg.request_count(new) > 0


async def test_pause_during_a_poll_wins_and_nothing_is_sent(harness):
    h = harness
    await onboard(h, KEYS["professional"])
    await wait_polls(h, 1)
    h.cg.market.scenario("cascade", "ETH")
    outcomes = await hold_a_poll(h, KEYS["professional"])
    await h.say("/pause", contains="paused")
    await held_poll_dropped(h, outcomes)
    await witness_polls(h, 2)
    assert h.services.repo.get_user(USER).paused
    assert triggered(h, "ETH", "liquidation_cascade") == 0
    assert alerts_for(h, "ETH") == []


async def test_unsubscribe_during_a_poll_queues_nothing_for_the_removed_coin(harness):
    h = harness
    await onboard(h, KEYS["professional"], coins="ETH BTC")
    await wait_polls(h, 1)
    h.cg.market.scenario("cascade", "ETH")
    outcomes = await hold_a_poll(h, KEYS["professional"])
    await h.say("/unsubscribe ETH", contains="Stopped watching ETH")
    await held_poll_dropped(h, outcomes)
    await wait_polls(h, 2)
    assert h.services.repo.coins(USER) == ["BTC"]
    assert triggered(h, "ETH", "liquidation_cascade") == 0
    assert ("ETH", "liquidation_cascade") not in h.services.repo.alert_states(USER)


async def test_forget_during_a_poll_leaves_nothing_and_no_error(harness, caplog):
    h = harness
    await onboard(h, KEYS["professional"])
    await wait_polls(h, 1)
    outcomes = await hold_a_poll(h, KEYS["professional"])
    question = await h.say("/forget", contains="Delete everything")
    await h.press(question, "forget:yes")
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == question.message_id
                                and "Done" in m.text)
    await held_poll_dropped(h, outcomes)
    repo = h.services.repo
    assert repo.get_user(USER) is None and repo.coins(USER) == []
    assert list(repo.db.query("SELECT * FROM alerts WHERE user_id = ?", [USER])) == []
    assert "Task exception was never retrieved" not in caplog.text
    assert "failed" not in " ".join(r.getMessage() for r in caplog.records
                                    if r.name == "core.poller")


async def test_plan_override_during_a_poll_is_kept(harness):
    h = harness
    key = "upgrading-key-00000000000009"
    h.cg.add_key(key, "startup")
    await onboard(h, key)
    await wait_polls(h, 1)
    outcomes = await hold_a_poll(h, key)
    h.cg.add_key(key, "standard")                # the held poll will see a new limit...
    await h.say("/plan hobbyist", contains="Hobbyist")          # ...but the user decided
    await held_poll_dropped(h, outcomes)
    await wait_polls(h, 1)
    user = h.services.repo.get_user(USER)
    assert user.plan_override == Plan.HOBBYIST


async def test_plan_auto_during_a_poll_keeps_the_reset_refusals(harness):
    h = harness
    await onboard(h, KEYS["standard"])
    await h.say("/plan professional", contains="Professional")  # claims more than it has
    await h.tg.wait_for_message(USER, "refused", timeout=15)
    repo = h.services.repo
    assert paths.LIQUIDATION_AGGREGATED_MAP in repo.get_user(USER).disabled_endpoints
    outcomes = await hold_a_poll(h, KEYS["standard"])
    await h.say("/plan auto", contains="detected plan")
    await held_poll_dropped(h, outcomes)
    await wait_polls(h, 1)
    user = repo.get_user(USER)
    assert user.plan_override is None and user.disabled_endpoints == frozenset()


async def test_a_smaller_plan_lengthens_the_interval_and_the_deadline(harness):
    h = harness
    await onboard(h, KEYS["professional"], coins="BTC")
    budget = h.services.poller.budget
    repo = h.services.repo
    assert budget(repo.get_user(USER), 3).interval == 1
    reply = await h.say("/plan hobbyist", contains="Hobbyist")
    after = budget(repo.get_user(USER), 3)
    assert after.per_minute == 30 and after.interval == 20
    assert after.poll_deadline() >= 2 * after.interval
    await h.say("/subscribe ETH SOL", contains="every 20 s")
    await wait_polls(h, 1, timeout=60)
    user = repo.get_user(USER)
    assert user.next_poll_at - user.last_poll_at == pytest.approx(20, abs=1)
    status = await h.say("/status")
    assert "every 20 s" in status.text and "/30 in the last minute" in status.text
    assert h.cg.count_429() == 0


async def test_a_key_sent_in_the_same_batch_as_setkey_is_deleted_and_stored(harness):
    h = harness
    h.tg.user_sends(USER, "/setkey")             # both land in one getUpdates answer
    key_message = h.tg.user_sends(USER, KEYS["startup"])
    await h.tg.wait_for_message(USER, "Key saved", timeout=15)
    assert h.tg.user_message_deleted(USER, key_message["message_id"])
    assert h.services.repo.api_key(USER) == KEYS["startup"]
    assert not [m for m in h.tg.messages(USER) if "only understand commands" in m.text]


async def test_a_backlog_of_50_updates_from_10_users_is_handled_in_order(harness):
    h = harness
    users = [USER + 100 + i for i in range(10)]
    keys = {}
    for user in users:
        keys[user] = f"backlog-key-{user}-0000000"
        h.cg.add_key(keys[user], "startup")
    sent = {}
    for user in users:                           # all queued before the bot reads any
        h.tg.user_sends(user, "/start")
        h.tg.user_sends(user, "/setkey")
        sent[user] = h.tg.user_sends(user, keys[user])["message_id"]
        h.tg.user_sends(user, "/subscribe ETH")
        h.tg.user_sends(user, "/status")
    for user in users:
        await h.tg.wait_for_message(user, "Key:", timeout=30)
    repo = h.services.repo
    for user in users:
        assert h.tg.user_message_deleted(user, sent[user])
        assert repo.api_key(user) == keys[user] and repo.coins(user) == ["ETH"]
        texts = [m.text for m in h.tg.messages(user)]
        order = [next(i for i, t in enumerate(texts) if needle in t)
                 for needle in ("Welcome", "Send me your CoinGlass API key", "Key saved",
                                "Watching ETH", "Key:")]
        assert order == sorted(order), texts
        assert "Key: valid" in texts[-1]


async def test_a_groups_403_leaves_private_alerts_alone(harness):
    h = harness
    await onboard(h, KEYS["professional"])
    group = -100123
    h.tg.fail_next("sendMessage", error_code=403,
                   description="Forbidden: bot was kicked from the supergroup chat")
    h.tg.user_sends(USER, "/help", chat_id=group, chat_type="supergroup")
    await h.tg.wait_until(lambda: any(c.error_code == 403 for c in h.tg.calls_to("sendMessage")),
                          timeout=10)
    assert h.services.repo.get_user(USER).active
    h.cg.market.scenario("cascade", "ETH")
    await h.tg.wait_for_message(USER, "🔴 ETH", timeout=15)


async def test_an_alert_that_cannot_be_rendered_is_kept_for_the_next_deploy(tmp_path, tg, cg):
    from tests.e2e.conftest import bot_settings, run_bot
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite", ADMIN_USER_IDS=str(USER))
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        sender = h.services.sender
        working = sender.render

        def broken(item, now):
            if item.kind == "alert":
                raise RuntimeError("a rendering bug")
            return working(item, now)

        sender.render = broken
        await onboard(h, KEYS["professional"])
        h.cg.market.scenario("cascade", "ETH")
        repo = h.services.repo
        await h.tg.wait_until(lambda: triggered(h, "ETH", "liquidation_cascade") == 1
                              and repo.overview()["pending_alerts"] == 0, timeout=15)
        held = repo.overview()["unrenderable"]
        assert held >= 1 and alerts_for(h, "ETH") == []
        admin = await h.say("/admin", contains="render bug")
        assert f"render bug (retried after a restart): {held}" in admin.text
        await h.say("/pause", contains="paused")         # nothing new meanwhile
    async with run_bot(settings) as app:                # the fixed version is deployed
        h = Harness(tg, cg, settings, app)
        await tg.wait_for_message(USER, "Long liquidation cascade", timeout=15)
        await h.tg.wait_until(lambda: h.services.repo.overview()["unrenderable"] == 0
                              and h.services.repo.overview()["pending_alerts"] == 0, timeout=15)
        assert len(alerts_for(h, "ETH")) == held
