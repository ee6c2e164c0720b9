"""The repository against a real SQLite file: one behaviour per test."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from core.plans import Plan
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import AlertState, PollWrite, Repository

KEY = "cg-key-4f1e2d3c4b5a69788796a5b4c3d2e1f0"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def repo(tmp_path, clock):
    db = open_database(tmp_path / "perpwatch.db")
    repository = Repository(db, KeyVault(Fernet.generate_key().decode()), clock=clock)
    yield repository
    repository.close()


def test_migrations_are_idempotent(tmp_path):
    path = tmp_path / "x.db"
    open_database(path).close()
    db = open_database(path)
    assert {"users", "api_keys", "subscriptions", "thresholds", "alert_state", "alerts",
            "counters", "disabled_signals"} <= set(db.table_names())
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_ensure_user_is_idempotent(repo):
    user, created = repo.ensure_user(7)
    again, created_again = repo.ensure_user(7)
    assert created and not created_again
    assert user == again and user.key_state == "none" and user.active


def test_key_is_stored_encrypted_and_nowhere_in_plain_text(repo, tmp_path):
    repo.ensure_user(7)
    repo.store_key(7, KEY, Plan.STARTUP, 80, None)
    assert repo.api_key(7) == KEY
    user = repo.get_user(7)
    assert (user.plan, user.plan_limit, user.key_state) == (Plan.STARTUP, 80, "valid")
    for name in ("perpwatch.db", "perpwatch.db-wal"):
        path = tmp_path / name
        if path.exists():
            assert KEY.encode() not in path.read_bytes()


def test_coins_keep_order_and_ignore_duplicates(repo):
    repo.ensure_user(1)
    assert repo.add_coins(1, ["ETH", "SOL"]) == ["ETH", "SOL"]
    assert repo.add_coins(1, ["SOL", "BTC"]) == ["BTC"]
    assert repo.coins(1) == ["ETH", "SOL", "BTC"]
    assert repo.remove_coins(1, ["SOL", "DOGE"]) == ["SOL"]
    assert repo.remove_coins(1, None) == ["ETH", "BTC"]
    assert repo.coins(1) == []


def test_thresholds_user_wide_and_per_coin(repo):
    repo.ensure_user(1)
    repo.set_threshold(1, "oi_change", 3.0)
    repo.set_threshold(1, "oi_change", 8.0, coin="SOL")
    assert repo.thresholds(1) == ({"oi_change": 3.0}, {"SOL": {"oi_change": 8.0}})
    repo.reset_threshold(1, "oi_change", coin="SOL")
    assert repo.thresholds(1) == ({"oi_change": 3.0}, {})


def test_removing_a_coin_drops_its_overrides(repo):
    repo.ensure_user(1)
    repo.add_coins(1, ["SOL"])
    repo.set_threshold(1, "oi_change", 8.0, coin="SOL")
    repo.remove_coins(1, ["SOL"])
    assert repo.thresholds(1) == ({}, {})


def test_users_cannot_touch_each_other(repo):
    for uid in (1, 2):
        repo.ensure_user(uid)
        repo.add_coins(uid, ["BTC"])
        repo.set_threshold(uid, "funding_high", 0.2)
    repo.store_key(2, "other-key", Plan.HOBBYIST, 30, None)
    repo.delete_user(1)
    assert repo.get_user(1) is None and repo.coins(1) == [] and repo.thresholds(1) == ({}, {})
    assert repo.coins(2) == ["BTC"] and repo.api_key(2) == "other-key"


def test_delete_user_removes_every_row(repo):
    repo.ensure_user(1)
    repo.store_key(1, KEY, Plan.HOBBYIST, 30, None)
    repo.add_coins(1, ["BTC"])
    repo.set_threshold(1, "oi_change", 3.0)
    repo.set_signal_enabled(1, "taker_bias", False)
    repo.commit_poll(1, PollWrite(
        states=[("BTC", "oi_surge", AlertState("oi_surge", 3, True, 1.0, 3))],
        alerts=[{"kind": "alert", "coin": "BTC", "level": 3, "payload": {"x": 1}}]))
    repo.delete_user(1)
    for table in ("users", "api_keys", "subscriptions", "thresholds", "disabled_signals",
                  "alert_state", "alerts"):
        column = "id" if table == "users" else "user_id"
        assert repo.db[table].count_where(f"{column} = ?", [1]) == 0, table


def test_due_users_need_valid_key_coins_and_no_pause(repo, clock):
    for uid in (1, 2, 3, 4, 5):
        repo.ensure_user(uid)
        repo.store_key(uid, f"k{uid}", Plan.HOBBYIST, 30, None)
        repo.add_coins(uid, ["BTC"])
    repo.remove_coins(2, None)                       # no coins
    repo.reject_key(3, "bad")                        # key rejected
    repo.pause(4, None)                              # paused until /resume
    repo.set_active(5, False)                        # blocked the bot
    assert [u.id for u in repo.due_users(clock.now)] == [1]
    repo.pause(1, clock.now + 60)                    # timed pause
    assert repo.due_users(clock.now) == []
    clock.now += 61
    assert [u.id for u in repo.due_users(clock.now)] == [1]


def test_resume_keeps_what_was_already_alerted(repo):
    repo.ensure_user(1)
    repo.commit_poll(1, PollWrite(states=[("BTC", "oi_surge", AlertState("oi_surge", 3, True, 5.0, 3))]))
    repo.pause(1, None)
    repo.resume(1)
    assert repo.alert_states(1)[("BTC", "oi_surge")].active is True    # not new again (SPEC §5)
    assert not repo.get_user(1).paused


def test_a_poll_commit_loses_to_a_change_the_user_made_meanwhile(repo, clock):
    repo.ensure_user(1)
    repo.store_key(1, "key-a-000000000000001", Plan.PROFESSIONAL, 1200, None)
    started = repo.get_user(1)
    repo.store_key(1, "key-b-000000000000002", Plan.PROFESSIONAL, 1200, None)   # new key
    applied = repo.commit_poll(1, PollWrite(
        user_changes={"key_state": "rejected"}, notices_added={"key_rejected"},
        alerts=[{"kind": "notice", "payload": {"notice": "key_rejected"}}]), started.version)
    assert applied is False
    user = repo.get_user(1)
    assert user.key_state == "valid" and "key_rejected" not in user.notices
    assert repo.due_outbox(clock.now + 1) == []
    assert repo.api_key(1) == "key-b-000000000000002"


def test_a_poll_merges_notices_it_does_not_own(repo):
    repo.ensure_user(1)
    started = repo.get_user(1)
    repo.notice_once(1, "plan_changed")              # written meanwhile, not by this poll
    assert repo.commit_poll(1, PollWrite(notices_added={"key_rejected"}), started.version)
    assert repo.get_user(1).notices == {"plan_changed", "key_rejected"}


def test_a_poll_for_a_forgotten_user_ends_quietly(repo):
    repo.ensure_user(1)
    started = repo.get_user(1)
    repo.delete_user(1)
    assert repo.commit_poll(1, PollWrite(alerts=[{"kind": "alert", "coin": "BTC", "level": 3,
                                                  "payload": {}}]), started.version) is False
    assert repo.get_user(1) is None


def test_commit_poll_clears_signals_that_stopped(repo):
    repo.ensure_user(1)
    repo.commit_poll(1, PollWrite(states=[
        ("BTC", "a", AlertState("a", 2, True, None, None)),
        ("BTC", "b", AlertState("b", 2, True, None, None)),
        ("ETH", "a", AlertState("a", 2, True, None, None))]))
    repo.commit_poll(1, PollWrite(cleared=[("BTC", ["b"])]))
    states = repo.alert_states(1)
    assert not states[("BTC", "a")].active and states[("BTC", "b")].active
    assert states[("ETH", "a")].active


def test_commit_poll_is_atomic(repo):
    repo.ensure_user(1)
    bad = PollWrite(states=[("BTC", "a", AlertState("a", 2, True, None, None))],
                    alerts=[{"kind": "alert", "coin": "BTC", "payload": {"x": object()}}])
    with pytest.raises(TypeError):
        repo.commit_poll(1, bad)
    assert repo.alert_states(1) == {} and repo.due_outbox(1e12) == []


def test_outbox_lifecycle(repo, clock):
    repo.ensure_user(1)
    assert repo.commit_poll(1, PollWrite(alerts=[
        {"kind": "alert", "coin": "BTC", "level": 3, "payload": {"n": 1}, "data_time": 5.0}]))
    (alert_id,) = [i.id for i in repo.due_outbox(clock.now)]
    assert [i.id for i in repo.due_outbox(clock.now)] == [alert_id]
    repo.retry_later(alert_id, clock.now + 30, "flood control")
    assert repo.due_outbox(clock.now) == []
    assert repo.next_outbox_time() == clock.now + 30
    clock.now += 31
    repo.mark_sent(alert_id, message_id=99)
    assert repo.due_outbox(clock.now) == []
    (item,) = repo.recent_alerts(1)
    assert item.status == "sent" and item.attempts == 2 and item.payload == {"n": 1}


def test_outbox_skips_inactive_users(repo, clock):
    repo.ensure_user(1)
    repo.enqueue(1, kind="alert", payload={})
    repo.set_active(1, False)
    assert repo.due_outbox(clock.now) == []


def test_notice_once(repo):
    repo.ensure_user(1)
    assert repo.notice_once(1, "key_rejected") is True
    assert repo.notice_once(1, "key_rejected") is False


def test_counters_sum_recent_buckets(repo, clock):
    repo.count("polls")
    repo.count("polls", 2)
    clock.now += 3600 * 30
    repo.count("polls")
    assert repo.counters_since(clock.now - 86400) == {"polls": 1}


def test_prune_keeps_pending_alerts_and_recent_history(repo, clock):
    repo.ensure_user(1)
    old_sent = repo.enqueue(1, kind="alert", payload={})
    old_pending = repo.enqueue(1, kind="alert", payload={})
    repo.mark_sent(old_sent, 1)
    repo.count("polls")
    clock.now += 40 * 86400
    recent = repo.enqueue(1, kind="alert", payload={})
    repo.mark_sent(recent, 2)
    assert repo.prune(alerts_older_than=clock.now - 30 * 86400,
                      counters_older_than=clock.now - 8 * 86400) == 1
    assert {i.id for i in repo.recent_alerts(1)} == {old_pending, recent}
    assert repo.counters_since(0) == {}
