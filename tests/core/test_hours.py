"""Quiet hours on what a poll queues, the one message that ends them, and the digest's clock,
against a real SQLite repository and an injected clock (no sleeps)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet

from core.hours import (
    HELD, NOTICE_HELD, apply_quiet, digest_step, held_ids, held_summary, held_until,
    release_held,
)
from core.quiet import Due
from core.signals.model import Direction, Level, Signal
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import PollWrite, Repository

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
USER = 7


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def at(tz, *args) -> float:
    return datetime(*args, tzinfo=tz).timestamp()


@pytest.fixture
def clock():
    return Clock(at(BERLIN, 2026, 1, 15, 3, 0))


def open_repo(path, clock) -> Repository:
    return Repository(open_database(path), KeyVault(KEY), clock=clock)


KEY = Fernet.generate_key().decode()


@pytest.fixture
def repo(tmp_path, clock):
    repository = open_repo(tmp_path / "perpwatch.db", clock)
    repository.ensure_user(USER)
    yield repository
    repository.close()


def user_with(repo, **changes):
    return replace(repo.get_user(USER), **changes)


def alert_row(coin="SOL", level=Level.MEDIUM, price=150.0, title="OI surge") -> dict:
    signal = Signal(id="oi_surge", coin=coin, level=level, direction=Direction.BULLISH,
                    title=title, text="open interest up", confidence=0.7,
                    values={"oi_change_pct": 3.5, "threshold": 5.0})
    return {"kind": "alert", "coin": coin, "level": int(level), "data_time": None,
            "payload": {"signals": [signal.to_dict()], "triggers": {"oi_surge": "new"},
                        "summary": {"coin": coin, "price": {"price": price, "change_pct": 1.0,
                                                            "window": "1h"}}}}


# --- apply_quiet: what a poll queues -----------------------------------------------------

def test_no_quiet_hours_leave_rows_alone(repo, clock):
    rows = [alert_row()]
    assert apply_quiet(user_with(repo), rows, clock()) == 0
    assert "status" not in rows[0] and "silent" not in rows[0]


def test_hold_keeps_medium_until_the_end_and_lets_high_through(repo, clock):
    user = user_with(repo, timezone="Europe/Berlin", quiet="23:00-07:00 hold")
    rows = [alert_row(level=Level.MEDIUM), alert_row("ETH", Level.HIGH),
            {"kind": "notice", "coin": "BTC", "payload": {"notice": "all_clear"}}]
    assert apply_quiet(user, rows, clock()) == 2
    assert rows[0]["status"] == HELD and rows[2]["status"] == HELD
    assert rows[0]["not_before"] == at(BERLIN, 2026, 1, 15, 7, 0)
    assert "status" not in rows[1] and "silent" not in rows[1]      # HIGH arrives as usual


def test_silent_marks_everything_without_sound(repo, clock):
    user = user_with(repo, timezone="Europe/Berlin", quiet="23:00-07:00 silent")
    rows = [alert_row(level=Level.MEDIUM), alert_row("ETH", Level.HIGH)]
    assert apply_quiet(user, rows, clock()) == 0
    assert [r.get("silent") for r in rows] == [1, 1]
    assert all("status" not in r for r in rows)


def test_all_holds_high_too(repo, clock):
    user = user_with(repo, timezone="Europe/Berlin", quiet="23:00-07:00 all")
    rows = [alert_row("ETH", Level.HIGH)]
    assert apply_quiet(user, rows, clock()) == 1 and rows[0]["status"] == HELD


def test_outside_the_window_nothing_changes(repo, clock):
    user = user_with(repo, timezone="Europe/Berlin", quiet="23:00-07:00 all")
    rows = [alert_row()]
    assert apply_quiet(user, rows, at(BERLIN, 2026, 1, 15, 7, 0)) == 0    # the end: not quiet
    assert apply_quiet(user, rows, at(BERLIN, 2026, 1, 15, 22, 59)) == 0
    assert apply_quiet(user, rows, at(BERLIN, 2026, 1, 15, 23, 0)) == 1   # across midnight
    assert rows[0]["not_before"] == at(BERLIN, 2026, 1, 16, 7, 0)


def test_the_window_is_local_time_not_utc(repo):
    user = user_with(repo, timezone="America/New_York", quiet="23:00-07:00 hold")
    rows = [alert_row()]
    assert apply_quiet(user, rows, at(timezone.utc, 2026, 1, 15, 3, 0)) == 0   # 22:00 in NY
    assert apply_quiet(user, rows, at(timezone.utc, 2026, 1, 15, 5, 0)) == 1   # 00:00 in NY
    assert rows[0]["not_before"] == at(NEW_YORK, 2026, 1, 15, 7, 0)


def test_spring_forward_night_ends_at_the_local_end(repo):
    # Berlin, 29 Mar 2026: 02:00 CET jumps to 03:00 CEST. A window 01:30-02:30 ends when the
    # clock jumps past 02:30 (03:00 CEST); 01:45 is quiet, 03:00 is not.
    user = user_with(repo, timezone="Europe/Berlin", quiet="01:30-02:30 hold")
    rows = [alert_row()]
    assert apply_quiet(user, rows, at(BERLIN, 2026, 3, 29, 1, 45)) == 1
    assert rows[0]["not_before"] == at(BERLIN, 2026, 3, 29, 3, 0)
    assert rows[0]["not_before"] - at(BERLIN, 2026, 3, 29, 1, 30) == 30 * 60
    assert apply_quiet(user, [alert_row()], at(BERLIN, 2026, 3, 29, 3, 0)) == 0


def test_fall_back_night_keeps_an_hour_longer(repo):
    # New York, 1 Nov 2026: 02:00 EDT falls back to 01:00 EST. 23:00-07:00 lasts 9 real hours.
    user = user_with(repo, timezone="America/New_York", quiet="23:00-07:00 hold")
    start = at(NEW_YORK, 2026, 10, 31, 23, 0)
    rows = [alert_row()]
    assert apply_quiet(user, rows, start + 60) == 1
    assert rows[0]["not_before"] - start == 9 * 3600
    # In the repeated hour (01:30 EST, the second time) it is still quiet.
    repeated = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=1).timestamp()
    assert apply_quiet(user, [alert_row()], repeated) == 1


def test_unreadable_stored_quiet_hours_count_as_off(repo, clock):
    user = user_with(repo, quiet="nonsense")
    assert apply_quiet(user, [alert_row()], clock()) == 0


def test_held_until_follows_the_current_setting(repo, clock):
    quiet = user_with(repo, timezone="Europe/Berlin", quiet="23:00-07:00 hold")
    assert held_until(quiet, clock()) == at(BERLIN, 2026, 1, 15, 7, 0)
    assert held_until(user_with(repo, quiet=None), clock()) == clock()
    assert held_until(user_with(repo, timezone="Europe/Berlin", quiet="23:00-07:00 silent"),
                      clock()) == clock()


# --- the poll's commit and the release ----------------------------------------------------

def commit(repo, clock, user, rows) -> None:
    apply_quiet(user, rows, clock())
    assert repo.commit_poll(USER, PollWrite(alerts=rows))


def statuses(repo) -> list[tuple[str, str]]:
    return [(r["kind"], r["status"]) for r in repo.db.query(
        "SELECT kind, status FROM alerts ORDER BY id")]


def test_held_rows_wait_in_the_outbox_and_are_not_due(repo, clock):
    user = user_with(repo, timezone="Europe/Berlin", quiet="23:00-07:00 hold")
    commit(repo, clock, user, [alert_row()])
    assert statuses(repo) == [("alert", HELD)]
    assert repo.due_outbox_fair(clock() + 86400) == []       # never sent one by one
    assert repo.held(USER) == (1, at(BERLIN, 2026, 1, 15, 7, 0))
    assert release_held(repo, clock()) == 0


def test_release_makes_one_message_grouped_per_coin_newest_first(repo, clock):
    repo.set_quiet(USER, "23:00-07:00 hold")
    repo.set_timezone(USER, "Europe/Berlin")
    user = repo.get_user(USER)
    commit(repo, clock, user, [alert_row("SOL", price=150.0)])
    clock.now += 1800
    commit(repo, clock, user, [alert_row("BTC", price=97_000.0)])
    clock.now += 1800
    commit(repo, clock, user, [alert_row("SOL", price=141.0, title="OI surge again"),
                               {"kind": "notice", "coin": "ETH", "payload": {
                                   "notice": "all_clear", "coin": "ETH"}}])
    clock.now = at(BERLIN, 2026, 1, 15, 7, 0)
    assert release_held(repo, clock()) == 1
    assert release_held(repo, clock()) == 0                  # nothing left to group
    (item,) = repo.due_outbox_fair(clock())
    payload = item.payload
    assert item.kind == "notice" and payload["notice"] == NOTICE_HELD
    assert payload["alerts"] == 3 and payload["quiet"] == "23:00-07:00 hold"
    sol, btc = payload["coins"]
    assert (sol["coin"], sol["count"], btc["coin"]) == ("SOL", 2, "BTC")   # newest coin first
    assert [a["price"] for a in sol["alerts"]] == [141.0, 150.0]         # newest first
    assert (sol["first_price"], sol["newest_price"]) == (150.0, 141.0)
    assert payload["notices"][0]["notice"] == "all_clear"
    assert statuses(repo).count(("alert", "grouped")) == 3
    # Telegram accepts the message: every row it carried is sent with it, at once.
    repo.mark_sent(item.id, 555)
    rows = list(repo.db.query("SELECT status, message_id FROM alerts WHERE kind = 'alert'"))
    assert rows == [{"status": "sent", "message_id": 555}] * 3
    assert repo.alerts_sent_since(USER, 0) == 3
    assert held_ids(payload) == [a["id"] for a in sol["alerts"] + btc["alerts"]]


def test_a_restart_during_quiet_hours_loses_nothing_and_sends_nothing_twice(tmp_path, clock):
    path = tmp_path / "restart.db"
    repo = open_repo(path, clock)
    repo.ensure_user(USER)
    repo.set_quiet(USER, "23:00-07:00 hold")
    commit(repo, clock, repo.get_user(USER), [alert_row()])
    repo.close()
    # A new process during the quiet hours: still held, nothing due.
    repo = open_repo(path, clock)
    assert statuses(repo) == [("alert", HELD)] and release_held(repo, clock()) == 0
    clock.now = at(timezone.utc, 2026, 1, 15, 7, 0)
    assert release_held(repo, clock()) == 1
    repo.close()
    # Stopped after grouping, before sending: the one message waits; the rows are not held.
    repo = open_repo(path, clock)
    assert release_held(repo, clock()) == 0
    assert [i.payload["notice"] for i in repo.due_outbox_fair(clock())] == [NOTICE_HELD]
    repo.close()


def test_release_goes_in_batches_of_users(repo, clock):
    for uid in (USER, USER + 1, USER + 2):
        repo.ensure_user(uid)
        repo.set_quiet(uid, "23:00-07:00 hold")
        rows = [alert_row(), alert_row("BTC")]
        apply_quiet(repo.get_user(uid), rows, clock())
        repo.commit_poll(uid, PollWrite(alerts=rows))
    clock.now = at(timezone.utc, 2026, 1, 15, 7, 0)               # no /timezone: UTC
    assert [release_held(repo, clock(), users=2) for _ in range(3)] == [2, 1, 0]
    messages = repo.due_outbox_fair(clock(), per_chat=5)
    assert sorted(i.user_id for i in messages) == [USER, USER + 1, USER + 2]
    assert all(i.payload["alerts"] == 2 for i in messages)       # a user's rows never split


def test_changing_quiet_hours_moves_what_is_held(repo, clock):
    repo.set_quiet(USER, "23:00-07:00 hold")
    commit(repo, clock, repo.get_user(USER), [alert_row()])
    assert repo.reschedule_held(USER, clock()) == 1          # /quiet off: out now
    assert release_held(repo, clock()) == 1


def test_forget_deletes_held_rows_and_settings(repo, clock):
    repo.set_quiet(USER, "23:00-07:00 all")
    commit(repo, clock, repo.get_user(USER), [alert_row()])
    repo.delete_user(USER)
    assert list(repo.db.query("SELECT * FROM alerts")) == []
    assert repo.get_user(USER) is None


def test_a_quiet_change_during_a_poll_wins(repo, clock):
    """The poll read the user before /quiet: its result is dropped (version), not delivered
    under the old setting."""
    before = repo.get_user(USER)
    repo.set_quiet(USER, "23:00-07:00 all")
    rows = [alert_row()]
    apply_quiet(before, rows, clock())
    assert not repo.commit_poll(USER, PollWrite(alerts=rows), before.version)
    assert statuses(repo) == []


def test_summary_of_only_notices(repo, clock):
    commit(repo, clock, user_with(repo, quiet="23:00-07:00 hold"),
           [{"kind": "notice", "payload": {"notice": "key_rejected"}}])
    items = repo.due_held(clock() + 86400)
    payload = held_summary(items, "23:00-07:00 hold", clock())
    assert payload["alerts"] == 0 and payload["coins"] == []
    assert payload["notices"] == [{"notice": "key_rejected"}]


# --- the digest's clock -------------------------------------------------------------------

def test_digest_step_sends_once_then_waits_and_skips_when_too_late(repo, clock):
    switched_on = at(BERLIN, 2026, 1, 14, 20, 0)
    user = user_with(repo, timezone="Europe/Berlin", digest_at="08:00", digest_since=switched_on)
    eight = at(BERLIN, 2026, 1, 15, 8, 0)
    assert digest_step(user, eight - 1).due == Due.WAIT
    step = digest_step(user, eight)
    assert step.due == Due.SEND and step.moment == eight
    assert step.next_at == at(BERLIN, 2026, 1, 16, 8, 0)
    sent = replace(user, digest_sent_at=eight + 5)
    assert digest_step(sent, eight + 3600).due == Due.WAIT
    assert digest_step(user, eight + 6 * 3600 + 1).due == Due.SKIP
    assert digest_step(replace(user, digest_at=None), eight).next_at is None


def test_digest_switched_on_after_its_time_waits_for_tomorrow(repo):
    user = user_with(repo, digest_at="08:00", digest_since=at(timezone.utc, 2026, 1, 15, 10, 0))
    step = digest_step(user, at(timezone.utc, 2026, 1, 15, 10, 0, 1))
    assert step.due == Due.WAIT and step.next_at == at(timezone.utc, 2026, 1, 16, 8, 0)


def test_commit_digest_is_a_compare_and_set(repo, clock):
    repo.set_digest(USER, "08:00", clock() + 60)
    read = repo.get_user(USER)
    repo.set_digest(USER, "09:00", clock() + 3600)             # changed during the fetch
    assert not repo.commit_digest(read, {"notice": "digest"}, next_at=clock() + 86400)
    assert list(repo.db.query("SELECT * FROM alerts")) == []
    fresh = repo.get_user(USER)
    assert repo.commit_digest(fresh, {"notice": "digest"}, next_at=clock() + 86400, silent=True)
    row = next(repo.db.query("SELECT kind, silent, payload FROM alerts"))
    assert (row["kind"], row["silent"], json.loads(row["payload"])) == (
        "notice", 1, {"notice": "digest"})
    assert repo.get_user(USER).digest_sent_at == clock()
