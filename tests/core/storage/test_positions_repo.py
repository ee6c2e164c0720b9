"""Positions in the repository (m007): declared, replaced, closed, polled, committed, forgotten."""

from __future__ import annotations

from datetime import datetime, timezone

from core.plans import Plan
from core.position_guard import GuardState, Phase, Position
from core.storage.db import open_database
from core.storage.repo import AlertState, PollWrite
from tests.core.storage.test_repo import KEY, clock, repo  # noqa: F401 - fixtures

T = datetime(2027, 1, 15, 8, 0, tzinfo=timezone.utc)


def eth_long(entry=3150.0, stop=3080.0, tp=None, at=T) -> Position:
    return Position("ETH", "long", entry, stop, tp, at)


def test_fresh_database_has_the_positions_table_and_old_ones_gain_it(tmp_path):
    db = open_database(tmp_path / "fresh.db")
    assert "positions" in db.table_names()
    assert "m007_positions" in {r["name"] for r in db["_sqlite_migrations"].rows}
    db.close()


def test_a_position_round_trips_with_a_fresh_state(repo):
    repo.ensure_user(1)
    repo.save_position(1, eth_long(tp=3300.0))
    guarded = repo.position(1, "ETH")
    assert guarded.position == eth_long(tp=3300.0)
    assert guarded.state == GuardState(Phase.OPEN, 3150.0, None)
    assert list(repo.positions(1)) == ["ETH"] and repo.position(1, "BTC") is None


def test_saving_bumps_the_version_and_replacing_starts_over(repo):
    repo.ensure_user(1)
    v0 = repo.get_user(1).version
    repo.save_position(1, eth_long())
    assert repo.get_user(1).version == v0 + 1
    write = PollWrite(guards={"ETH": (T.timestamp(), GuardState(Phase.LOCKED, 3200.0, 3168.0))},
                      states=[("ETH", "guard:locked", AlertState("guard:locked", 2, True, 5.0, 2)),
                              ("ETH", "oi_surge", AlertState("oi_surge", 2, True, 5.0, 2))])
    assert repo.commit_poll(1, write, repo.get_user(1).version)
    assert repo.position(1, "ETH").state.phase is Phase.LOCKED
    short = Position("ETH", "short", 3200.0, 3300.0, None, T.replace(hour=9))
    repo.save_position(1, short)
    assert repo.position(1, "ETH").state == GuardState(Phase.OPEN, 3200.0, None)
    # the old position's advice states are gone, the coin's signal states stay
    assert set(repo.alert_states(1)) == {("ETH", "oi_surge")}


def test_a_poll_commit_only_updates_the_position_it_read(repo):
    repo.ensure_user(1)
    repo.save_position(1, eth_long())
    version = repo.get_user(1).version
    stale = PollWrite(guards={"ETH": (T.timestamp() - 60, GuardState(Phase.EXIT, 3000.0, None))})
    assert repo.commit_poll(1, stale, version)       # applied, but for another position
    assert repo.position(1, "ETH").state.phase is Phase.OPEN


def test_close_forgets_the_position_and_its_advice_states(repo):
    repo.ensure_user(1)
    repo.save_position(1, eth_long())
    repo.commit_poll(1, PollWrite(states=[
        ("ETH", "guard:early_exit", AlertState("guard:early_exit", 3, True, 5.0, 3))]))
    assert repo.close_position(1, "ETH")
    assert repo.positions(1) == {} and repo.alert_states(1) == {}
    assert not repo.close_position(1, "ETH")


def test_position_only_coins_are_polled_and_due(repo):
    repo.ensure_user(1)
    repo.store_key(1, KEY, Plan.HOBBYIST, 30, None)
    assert repo.get_user(1).key_state == "valid"
    assert repo.due_users(repo.clock() + 1) == []            # nothing to watch yet
    repo.save_position(1, eth_long())
    assert [u.id for u in repo.due_users(repo.clock() + 1)] == [1]
    assert repo.position_only_coins(1) == ["ETH"]
    repo.add_coins(1, ["ETH", "BTC"])
    assert repo.position_only_coins(1) == []                  # subscribed: signals and guard
    repo.remove_coins(1, None)
    assert repo.position_only_coins(1) == ["ETH"]
    repo.close_position(1, "ETH")
    assert repo.due_users(repo.clock() + 1) == []


def test_users_cannot_touch_each_others_positions(repo):
    repo.ensure_user(1)
    repo.ensure_user(2)
    repo.save_position(1, eth_long())
    assert repo.positions(2) == {} and not repo.close_position(2, "ETH")
    assert repo.position(1, "ETH") is not None


def test_delete_user_deletes_positions(repo):
    repo.ensure_user(1)
    repo.save_position(1, eth_long())
    repo.delete_user(1)
    assert list(repo.db["positions"].rows) == []


def test_unsubscribing_a_coin_keeps_its_positions_advice_states(repo):
    repo.ensure_user(1)
    repo.add_coins(1, ["ETH"])
    repo.save_position(1, eth_long())
    repo.commit_poll(1, PollWrite(states=[
        ("ETH", "guard:early_exit", AlertState("guard:early_exit", 3, True, 5.0, 3)),
        ("ETH", "oi_surge", AlertState("oi_surge", 2, True, 5.0, 2))]))
    repo.remove_coins(1, ["ETH"])
    assert set(repo.alert_states(1)) == {("ETH", "guard:early_exit")}
    assert repo.position_only_coins(1) == ["ETH"]
