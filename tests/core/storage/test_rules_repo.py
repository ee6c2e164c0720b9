"""Rules in the repository: numbering, the 50-rule cap, what they make the poll cover, and
their state committed with the outbox row of the alert they fire."""

from __future__ import annotations

import sqlite3

import pytest

from core.plans import Plan
from core.rule_alerts import FIRED, WAITING
from core.storage.db import open_database
from core.storage.repo import PollWrite
from core.user_rules import MAX_RULES, Mode, Op, RuleError, RuleSpec
from tests.core.storage.test_repo import Clock, clock, repo  # noqa: F401 - fixtures

ETH_4K = RuleSpec("ETH", "price", Op.GT, 4000.0, Mode.ONCE)
SOL_FUNDING = RuleSpec("SOL", "funding", Op.LT, -0.03, Mode.REPEAT)


def polling_user(repo, uid: int = 1) -> None:
    repo.ensure_user(uid)
    repo.store_key(uid, f"key-{uid}", Plan.HOBBYIST, 30, None)


def test_rules_are_numbered_per_user_and_listed_by_number(repo):
    polling_user(repo, 1)
    polling_user(repo, 2)
    first = repo.add_rule(1, ETH_4K)
    other = repo.add_rule(2, ETH_4K)
    second = repo.add_rule(1, SOL_FUNDING)
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert [r.spec for r in repo.rules(1)] == [ETH_4K, SOL_FUNDING]
    assert first.state == WAITING and first.last_value is None and first.fired_at is None


def test_at_most_fifty_rules(repo):
    polling_user(repo)
    for i in range(MAX_RULES):
        repo.add_rule(1, RuleSpec("BTC", "price", Op.GT, 1000.0 + i, Mode.ONCE))
    with pytest.raises(RuleError, match="the most allowed is 50"):
        repo.add_rule(1, ETH_4K)
    assert len(repo.rules(1)) == MAX_RULES


def test_adding_or_deleting_a_rule_bumps_the_version(repo):
    polling_user(repo)
    version = repo.get_user(1).version
    rule = repo.add_rule(1, ETH_4K)
    assert repo.get_user(1).version == version + 1
    assert repo.delete_rules(1, numbers=[rule.number]) == [1]
    assert repo.get_user(1).version == version + 2
    assert repo.delete_rules(1, numbers=[1]) == []                 # nothing: no bump
    assert repo.get_user(1).version == version + 2


def test_delete_by_number_id_done_or_all_touches_only_the_caller_s_rules(repo):
    polling_user(repo, 1)
    polling_user(repo, 2)
    a, b = repo.add_rule(1, ETH_4K), repo.add_rule(1, SOL_FUNDING)
    theirs = repo.add_rule(2, ETH_4K)
    assert repo.delete_rules(1, ids=[theirs.id]) == []
    assert repo.delete_rules(2, numbers=[b.number]) == []
    repo.commit_poll(1, PollWrite(rule_updates={a.id: {"state": FIRED, "fired_at": 5.0}}))
    assert repo.delete_rules(1, done=True) == [a.number]
    assert repo.delete_rules(1) == [b.number]
    assert repo.rules(1) == [] and len(repo.rules(2)) == 1


def test_a_rule_s_coin_is_polled_and_counted_even_if_not_subscribed(repo):
    polling_user(repo)
    repo.add_coins(1, ["BTC", "ETH"])
    repo.add_rule(1, ETH_4K)
    repo.add_rule(1, SOL_FUNDING)
    assert repo.coins(1) == ["BTC", "ETH"]                  # subscriptions stay as they are
    assert repo.polled_coins(1) == ["BTC", "ETH", "SOL"]


def test_a_user_with_rules_only_is_due_until_the_last_once_rule_fired(repo, clock):
    polling_user(repo)
    assert repo.due_users(clock.now) == []                  # a key, nothing to watch
    rule = repo.add_rule(1, ETH_4K)
    assert [u.id for u in repo.due_users(clock.now)] == [1]
    assert repo.polled_coins(1) == ["ETH"]
    repo.commit_poll(1, PollWrite(rule_updates={rule.id: {"state": FIRED, "fired_at": 1.0}}))
    assert repo.due_users(clock.now + 10_000) == [] and repo.polled_coins(1) == []
    repo.add_rule(1, SOL_FUNDING)                           # repeat rules stay watched
    assert [u.id for u in repo.due_users(clock.now + 10_000)] == [1]


def test_a_rule_s_fired_state_commits_with_its_outbox_row_or_not_at_all(repo):
    polling_user(repo)
    rule = repo.add_rule(1, ETH_4K)
    version = repo.get_user(1).version
    write = PollWrite(rule_updates={rule.id: {"state": FIRED, "fired_at": 9.0,
                                              "last_value": 4012.0}},
                      alerts=[{"kind": "alert", "coin": "ETH", "level": 2,
                               "payload": {"rule": {"id": rule.id}}}])
    repo.add_rule(1, SOL_FUNDING)                            # the user changed meanwhile
    assert not repo.commit_poll(1, write, version)
    assert repo.rules(1)[0].state == WAITING and repo.recent_alerts(1) == []
    assert repo.commit_poll(1, write, repo.get_user(1).version)
    fired = repo.rules(1)[0]
    assert (fired.state, fired.fired_at, fired.last_value) == (FIRED, 9.0, 4012.0)
    assert len(repo.recent_alerts(1)) == 1


def test_a_failing_poll_commit_leaves_the_rule_waiting(repo):
    polling_user(repo)
    rule = repo.add_rule(1, ETH_4K)
    # The users row is written after the rules in the transaction: make that step fail.
    broken = PollWrite(rule_updates={rule.id: {"state": FIRED, "fired_at": 9.0}},
                       alerts=[{"kind": "alert", "coin": "ETH", "level": 2, "payload": {}}],
                       user_changes={"no_such_column": 1})
    with pytest.raises(sqlite3.OperationalError):
        repo.commit_poll(1, broken)
    assert repo.rules(1)[0].state == WAITING and repo.recent_alerts(1) == []


def test_a_poll_only_writes_a_rule_s_own_fields(repo):
    polling_user(repo)
    rule = repo.add_rule(1, ETH_4K)
    repo.commit_poll(1, PollWrite(rule_updates={rule.id: {"value": 1.0, "user_id": 2,
                                                          "last_value": 3.0}}))
    stored = repo.rules(1)[0]
    assert stored.spec == ETH_4K and stored.last_value == 3.0


def test_forget_deletes_the_rules(repo):
    polling_user(repo)
    repo.add_rule(1, ETH_4K)
    repo.delete_user(1)
    assert repo.db["rules"].count_where("user_id = ?", [1]) == 0


def test_a_database_from_before_rules_migrates_and_keeps_its_due_users(tmp_path):
    """m001–m003 as they ran before this feature, then the bot starts with m004."""
    from core.storage import db as schema
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    from sqlite_utils import Database
    old = Database(conn)
    for name in ("m001_initial", "m002_versions_and_due", "m003_mutes_and_calm"):
        getattr(schema, name)(old)
    old.execute("CREATE TABLE _sqlite_migrations (migration_set TEXT, name TEXT, "
                "applied_at TEXT, PRIMARY KEY (migration_set, name))")
    for name in ("m001_initial", "m002_versions_and_due", "m003_mutes_and_calm"):
        old.execute("INSERT INTO _sqlite_migrations VALUES ('perpwatch', ?, '2026-01-01')",
                    [name])
    old["users"].insert({"id": 5, "created_at": 1.0, "active": 1, "paused": 0,
                         "key_state": "valid", "next_poll_at": 100.0})
    old["subscriptions"].insert({"user_id": 5, "coin": "BTC", "created_at": 1.0})
    old.execute(schema._DUE_SQL_M002)
    conn.commit()
    conn.close()
    db = open_database(path)
    assert "rules" in db.table_names()
    assert next(db.query("SELECT due_at FROM users WHERE id = 5"))["due_at"] == 100.0
