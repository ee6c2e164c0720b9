"""The SQLite database: one connection, WAL, schema by sqlite-utils ``Migrations``.

Times are stored as Unix seconds (REAL). Every table that holds a user's data has a
``user_id`` column, and ``Repository.delete_user`` removes them all in one transaction.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("perpwatch")


@migrations()
def m001_initial(db: Database) -> None:
    db["users"].create({
        "id": int,                      # Telegram user id (= private chat id)
        "created_at": float,
        "active": int,                  # 0 once the user blocked the bot
        "paused": int,
        "paused_until": float,          # NULL with paused=1: until /resume
        "interval_seconds": int,        # NULL: POLL_INTERVAL_SECONDS
        "plan": str,                    # detected plan name
        "plan_override": str,           # /plan NAME
        "plan_limit": int,              # requests per minute (API-KEY-MAX-LIMIT)
        "plan_expires_at": float,
        "key_state": str,               # none | valid | rejected
        "key_state_at": float,
        "disabled_endpoints": str,      # JSON list of paths CoinGlass refused
        "notices": str,                 # JSON list of one-time notices already sent
        "last_poll_at": float,
        "next_poll_at": float,
        "last_error": str,
        "last_error_at": float,
    }, pk="id", not_null={"created_at", "active", "paused", "key_state"},
        defaults={"active": 1, "paused": 0, "key_state": "none", "disabled_endpoints": "[]",
                  "notices": "[]"})
    db["api_keys"].create({"user_id": int, "ciphertext": str, "created_at": float},
                          pk="user_id", foreign_keys=[("user_id", "users", "id")])
    db["subscriptions"].create({"user_id": int, "coin": str, "created_at": float},
                               pk=("user_id", "coin"), foreign_keys=[("user_id", "users", "id")])
    db["thresholds"].create({"user_id": int, "coin": str, "name": str, "value": float},
                            pk=("user_id", "coin", "name"),
                            foreign_keys=[("user_id", "users", "id")])
    db["disabled_signals"].create({"user_id": int, "signal_id": str},
                                  pk=("user_id", "signal_id"),
                                  foreign_keys=[("user_id", "users", "id")])
    db["alert_state"].create({
        "user_id": int, "coin": str, "signal_id": str,
        "level": int,                   # level at the last evaluation
        "active": int,                  # fired at the last evaluation
        "last_alert_at": float,         # when it was last part of an alert
        "last_alert_level": int,
        "updated_at": float,
    }, pk=("user_id", "coin", "signal_id"), foreign_keys=[("user_id", "users", "id")])
    # The outbox and the alert history in one table: a row is written in the poll's
    # transaction and marked sent when Telegram accepts it.
    db["alerts"].create({
        "id": int, "user_id": int, "coin": str,
        "kind": str,                    # alert | notice
        "level": int,
        "payload": str,                 # JSON the bot renders at send time
        "created_at": float,            # when the poll decided it
        "data_time": float,
        "status": str,                  # pending | sent | failed
        "attempts": int,
        "next_attempt_at": float,
        "sent_at": float,
        "message_id": int,
        "last_error": str,
    }, pk="id", not_null={"user_id", "kind", "payload", "created_at", "status"},
        defaults={"status": "pending", "attempts": 0},
        foreign_keys=[("user_id", "users", "id")])
    db["alerts"].create_index(["status", "next_attempt_at"])
    db["alerts"].create_index(["user_id", "created_at"])
    db["counters"].create({"bucket": int, "name": str, "value": int}, pk=("bucket", "name"))
    db["users"].create_index(["next_poll_at"])


# Whether a user needs the scheduler, as one column it can range-scan: NULL when the user
# cannot be polled (blocked, no valid key, nothing to watch, paused until /resume), else the
# moment their next poll is due (a timed pause ends first). Kept by Repository after every
# change. Something to watch: a subscribed coin, a rule still waiting (m004: a rule's
# coin is polled even when not subscribed; a ``once`` rule that fired is done), or a
# declared position (m007: its coin is polled even when not subscribed).
DUE_SQL = """
UPDATE users SET due_at = CASE
  WHEN active = 1 AND key_state = 'valid'
   AND (EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = users.id)
        OR EXISTS (SELECT 1 FROM rules r WHERE r.user_id = users.id AND r.state = 'waiting')
        OR EXISTS (SELECT 1 FROM positions p WHERE p.user_id = users.id))
   AND NOT (paused = 1 AND paused_until IS NULL)
  THEN MAX(COALESCE(next_poll_at, 0),
           CASE WHEN paused = 1 THEN COALESCE(paused_until, 0) ELSE 0 END)
  ELSE NULL END
"""

# DUE_SQL as m002 and m004 knew it: a fresh database runs them before later migrations
# create the tables today's DUE_SQL reads (``rules`` in m004, ``positions`` in m007),
# so each keeps its own text.
_DUE_SQL_M002 = """
UPDATE users SET due_at = CASE
  WHEN active = 1 AND key_state = 'valid'
   AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = users.id)
   AND NOT (paused = 1 AND paused_until IS NULL)
  THEN MAX(COALESCE(next_poll_at, 0),
           CASE WHEN paused = 1 THEN COALESCE(paused_until, 0) ELSE 0 END)
  ELSE NULL END
"""

_DUE_SQL_M004 = """
UPDATE users SET due_at = CASE
  WHEN active = 1 AND key_state = 'valid'
   AND (EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = users.id)
        OR EXISTS (SELECT 1 FROM rules r WHERE r.user_id = users.id AND r.state = 'waiting'))
   AND NOT (paused = 1 AND paused_until IS NULL)
  THEN MAX(COALESCE(next_poll_at, 0),
           CASE WHEN paused = 1 THEN COALESCE(paused_until, 0) ELSE 0 END)
  ELSE NULL END
"""


@migrations()
def m002_versions_and_due(db: Database) -> None:
    """A version per user for the poll's compare-and-set, ``due_at`` for a range-scanned
    scheduler, and no stored intervals: every stored value was a copy derived from the plan
    (SPEC §10 derives it at each use); ``interval_seconds`` now holds only a user's choice."""
    db["users"].add_column("version", int, not_null_default=0)
    db["users"].add_column("due_at", float)
    db.execute("UPDATE users SET interval_seconds = NULL")
    db.execute(_DUE_SQL_M002)
    db["users"].create_index(["due_at"])
    db["alerts"].create_index(["status", "user_id", "id"])


@migrations()
def m003_mutes_and_calm(db: Database) -> None:
    """Per-coin mutes (the alert's Mute button, /mute), the "all clear" state of each coin,
    and outbox rows that go out without sound."""
    db["coin_mutes"].create({"user_id": int, "coin": str, "until": float},
                            pk=("user_id", "coin"), foreign_keys=[("user_id", "users", "id")])
    db["coin_state"].create({
        "user_id": int, "coin": str,
        "last_high_at": float,          # when the coin last alerted HIGH
        "last_active_at": float,        # when a signal at the user's level last fired
        "calm_notified": int,           # the "all clear" for that HIGH was sent
    }, pk=("user_id", "coin"), foreign_keys=[("user_id", "users", "id")])
    db["users"].add_column("all_clear", int, not_null_default=1)
    db["users"].add_column("timezone", str)           # IANA name or UTC±HH:MM; NULL = UTC
    db["users"].add_column("last_delivery_at", float)  # round-robin order of the outbox
    db["alerts"].add_column("silent", int, not_null_default=0)


@migrations()
def m004_rules(db: Database) -> None:
    """The user's own rules (SPEC §17, ``/alert``): one row per rule, numbered per user.

    ``state`` is ``waiting`` until a ``once`` rule fires, then ``fired`` (done); a ``repeat``
    rule stays ``waiting`` and ``fired_at`` is its last firing (its cooldown). ``last_value``
    is the figure at the last evaluation, which crossings compare with. Rows change in the
    poll's transaction, with the outbox row of the alert they fire."""
    db["rules"].create({
        "id": int, "user_id": int,
        "number": int,                  # #N as the user sees it; never reused while listed
        "coin": str, "metric": str, "op": str, "value": float,
        "mode": str,                    # once | repeat
        "state": str,                   # waiting | fired
        "fired_at": float,
        "last_value": float,
        "created_at": float,
    }, pk="id", not_null={"user_id", "number", "coin", "metric", "op", "value", "mode", "state",
                          "created_at"},
        defaults={"state": "waiting"}, foreign_keys=[("user_id", "users", "id")])
    db["rules"].create_index(["user_id", "number"], unique=True)
    db.execute(_DUE_SQL_M004)


@migrations()
def m005_hours(db: Database) -> None:
    """Your hours (SPEC §14): quiet hours and the daily digest, and outbox rows that wait for
    the quiet hours to end (status ``held``, due at ``next_attempt_at``) and then go out as one
    message (``group_id``: the outbox row of that message)."""
    db["users"].add_column("quiet", str)               # "23:00-07:00 hold"; NULL = off
    db["users"].add_column("digest_at", str)           # local "08:00"; NULL = off
    db["users"].add_column("digest_since", float)      # when it was switched on or moved
    db["users"].add_column("digest_sent_at", float)    # when the last digest was queued
    db["users"].add_column("digest_next_at", float)    # when to look again (range-scanned)
    db["users"].create_index(["digest_next_at"])
    db["alerts"].add_column("group_id", int)
    db["alerts"].create_index(["group_id"])


@migrations()
def m006_outcomes(db: Database) -> None:
    """What happened after each alert (SPEC §14): the price at each of OUTCOME_HORIZONS, one
    row per (alert, horizon), written once. The alert's own price and its signals' directions
    stay in its payload. No foreign key to ``alerts``: pruning old alerts must not be blocked
    by their outcomes (the outcome job drops those rows itself)."""
    db["alert_outcomes"].create({
        "alert_id": int, "horizon": int,            # seconds after the alert's data time
        "user_id": int, "coin": str,
        "price_then": float,                        # the alert's price at its data time
        "price": float,                             # at the horizon; NULL when it was missed
        "price_at": float,                          # when that price was true
        "move_pct": float,
        "low_pct": float, "high_pct": float,        # the range seen since the alert, in %
        "source": str,                              # poll | request | missed
        "measured_at": float,
    }, pk=("alert_id", "horizon"), not_null={"user_id", "source", "measured_at"},
        foreign_keys=[("user_id", "users", "id")])
    db["alert_outcomes"].create_index(["user_id", "alert_id"])


@migrations()
def m007_positions(db: Database) -> None:
    """Positions the user declared for the guard (SPEC §16, ``/position``): one per user and
    coin, with the guard's state. The advice's edge-trigger states live in ``alert_state``
    under ids ``guard:<kind>`` (core/guard_alerts.py). The guard state changes only in the
    poll's transaction, and only for the position the poll read (``opened_at``)."""
    db["positions"].create({
        "user_id": int, "coin": str,
        "side": str,                    # long | short
        "entry": float, "stop": float, "take_profit": float,     # USD; stop/tp may be NULL
        "opened_at": float,             # when declared: the position's identity
        "phase": str,                   # OPEN | LOCKED | EXIT
        "best_price": float,            # best price in the position's favour since declared
        "trailed_stop": float,          # the stop last suggested once LOCKED
        "updated_at": float,
    }, pk=("user_id", "coin"), not_null={"side", "entry", "opened_at", "phase", "best_price"},
        foreign_keys=[("user_id", "users", "id")])
    db.execute(DUE_SQL)


def open_database(path: Path | str) -> Database:
    """Open (creating if needed) and migrate the database at ``path``; ``:memory:`` works."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=10.0)
    db = Database(conn)
    if str(path) != ":memory:":
        db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")    # durable across a crash of the process
    migrations.apply(db)
    return db
