"""The repository: every read and write of perpwatch's data, as few-line methods.

Every method takes the ``user_id`` whose data it touches, so no call can reach another
user's rows. API keys enter and leave only through the :class:`KeyVault`: the table holds
ciphertext. Multi-row changes run in ``db.atomic()``.

The connection is used from the bot's event loop only; each call is a few indexed
statements on a local WAL database, well under a millisecond, so it runs inline.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from sqlite_utils import Database

from core.alerts import AlertState
from core.evaluation import Prefs
from core.guard_alerts import PREFIX as GUARD_PREFIX
from core.guard_alerts import Guarded
from core.plans import Plan
from core.rule_alerts import FIRED, WAITING, Rule, watched_coins
from core.position_guard import GuardState, Phase, Position
from core.storage.crypto import KeyVault
from core.storage.db import DUE_SQL
from core.user_rules import RuleSpec, ensure_room
from core.users import User

__all__ = ["ALL_COINS", "AlertState", "OutboxItem", "PollWrite", "Repository", "User"]

ALL_COINS = "*"                       # thresholds.coin for a user-wide value


def user_from_row(row: dict[str, Any]) -> User:
    def plan(name: str | None) -> Plan | None:
        return Plan.parse(name) if name else None

    return User(
        id=row["id"], created_at=row["created_at"], active=bool(row["active"]),
        paused=bool(row["paused"]), paused_until=row["paused_until"],
        interval_seconds=row["interval_seconds"], plan=plan(row["plan"]),
        plan_override=plan(row["plan_override"]), plan_limit=row["plan_limit"],
        plan_expires_at=row["plan_expires_at"], key_state=row["key_state"],
        key_state_at=row["key_state_at"],
        disabled_endpoints=frozenset(json.loads(row["disabled_endpoints"] or "[]")),
        notices=frozenset(json.loads(row["notices"] or "[]")),
        last_poll_at=row["last_poll_at"], next_poll_at=row["next_poll_at"],
        last_error=row["last_error"], last_error_at=row["last_error_at"],
        version=row.get("version") or 0, all_clear=bool(row.get("all_clear", 1)),
        timezone=row.get("timezone"), quiet=row.get("quiet"), digest_at=row.get("digest_at"),
        digest_since=row.get("digest_since"), digest_sent_at=row.get("digest_sent_at"),
    )


@dataclass(frozen=True)
class OutboxItem:
    id: int
    user_id: int
    coin: str | None
    kind: str
    level: int | None
    payload: dict[str, Any]
    created_at: float
    attempts: int
    status: str = "pending"
    sent_at: float | None = None
    silent: bool = False              # deliver without sound (quiet hours, "silent")
    message_id: int | None = None
    data_time: float | None = None
    timezone: str | None = None       # the user's, for the times the message shows


@dataclass
class PollWrite:
    """What one poll of one user changes, committed in one transaction.

    ``user_changes`` are fields the poll owns (its times, errors, key state, the plan
    CoinGlass reports). ``notices_added`` and ``disabled_added`` are merged into what the row
    holds at commit time, never written back from the poll's copy.
    """

    states: list[tuple[str, str, AlertState]] = field(default_factory=list)  # (coin, sid, state)
    cleared: list[tuple[str, list[str]]] = field(default_factory=list)       # (coin, active ids)
    alerts: list[dict[str, Any]] = field(default_factory=list)              # outbox rows
    user_changes: dict[str, Any] = field(default_factory=dict)
    notices_added: set[str] = field(default_factory=set)
    disabled_added: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)
    coin_states: dict[str, dict[str, Any]] = field(default_factory=dict)   # coin -> fields
    rule_updates: dict[int, dict[str, Any]] = field(default_factory=dict)  # rule id -> fields
    # coin -> (the position's opened_at as the poll read it, its new guard state)
    guards: dict[str, tuple[float, GuardState]] = field(default_factory=dict)


class Repository:
    def __init__(self, db: Database, vault: KeyVault, *, clock: Callable[[], float] = time.time):
        self.db = db
        self.vault = vault
        self.clock = clock

    def close(self) -> None:
        self.db.close()

    # --- users ------------------------------------------------------------------------------

    def get_user(self, user_id: int) -> User | None:
        rows = list(self.db["users"].rows_where("id = ?", [user_id]))
        return user_from_row(rows[0]) if rows else None

    def ensure_user(self, user_id: int) -> tuple[User, bool]:
        """The user, created if new; returns (user, created)."""
        user = self.get_user(user_id)
        if user is not None:
            return user, False
        self.db["users"].insert({"id": user_id, "created_at": self.clock(), "active": 1,
                                 "paused": 0, "key_state": "none"}, ignore=True)
        return self.get_user(user_id), True

    def welcome(self, user_id: int) -> tuple[User, bool]:
        """The user who just wrote to us, created if new and active again if they had blocked
        the bot (writing to us proves they can read us); returns (user, created)."""
        user, created = self.ensure_user(user_id)
        if not user.active:
            self.set_active(user_id, True)
            user = self.get_user(user_id)
        return user, created

    @staticmethod
    def _encode(changes: dict[str, Any]) -> dict[str, Any]:
        for name in ("disabled_endpoints", "notices"):
            if name in changes and not isinstance(changes[name], str):
                changes[name] = json.dumps(sorted(changes[name]))
        for name in ("plan", "plan_override"):
            if isinstance(changes.get(name), Plan):
                changes[name] = changes[name].name.lower()
        return changes

    def _sync_due(self, user_id: int) -> None:
        self.db.execute(DUE_SQL + " WHERE id = ?", [user_id])

    def update_user(self, user_id: int, **changes: Any) -> None:
        """A change the user made (or that must win over a running poll): bumps the version,
        so a poll that started before it drops its own result."""
        with self.db.atomic():
            if changes:
                self.db["users"].update(user_id, self._encode(changes))
            self.db.execute("UPDATE users SET version = version + 1 WHERE id = ?", [user_id])
            self._sync_due(user_id)

    def set_active(self, user_id: int, active: bool) -> None:
        self.update_user(user_id, active=int(active))

    def pause(self, user_id: int, until: float | None) -> None:
        self.update_user(user_id, paused=1, paused_until=until)

    def resume(self, user_id: int) -> None:
        """Unpause and poll at once. Alert state is kept: a signal already alerted before the
        pause is not new again (SPEC §5); one that started meanwhile finds no active state."""
        self.update_user(user_id, paused=0, paused_until=None, next_poll_at=self.clock())

    def set_plan_override(self, user_id: int, plan: Plan | None) -> None:
        """/plan NAME or /plan auto: the user says what their plan is; refusals start over."""
        self.update_user(user_id, plan_override=plan.name.lower() if plan else None,
                         disabled_endpoints=[])

    def set_interval(self, user_id: int, seconds: int | None) -> None:
        """The user's own interval: None follows the default, 0 is auto."""
        self.update_user(user_id, interval_seconds=seconds)

    def set_all_clear(self, user_id: int, on: bool) -> None:
        """A display preference the poll reads but does not own: no version bump."""
        self.db.execute("UPDATE users SET all_clear = ? WHERE id = ?", [int(on), user_id])

    def notice_once(self, user_id: int, notice: str) -> bool:
        """Record a one-time notice; False if it was already recorded."""
        with self.db.atomic():
            user = self.get_user(user_id)
            if user is None or notice in user.notices:
                return False
            self.db["users"].update(user_id, self._encode({"notices": user.notices | {notice}}))
        return True

    def delete_user(self, user_id: int) -> None:
        """Every row of this user, in every table."""
        with self.db.atomic():
            for table in ("alerts", "alert_state", "disabled_signals", "thresholds",
                          "subscriptions", "api_keys", "coin_mutes", "coin_state", "rules",
                          "alert_outcomes", "positions"):
                self.db.execute(f"DELETE FROM {table} WHERE user_id = ?", [user_id])
            self.db.execute("DELETE FROM users WHERE id = ?", [user_id])

    # --- keys -------------------------------------------------------------------------------

    def store_key(self, user_id: int, api_key: str, plan: Plan, per_minute: int,
                  expires_at: float | None) -> None:
        now = self.clock()
        with self.db.atomic():
            self.db["api_keys"].upsert({"user_id": user_id, "ciphertext": self.vault.encrypt(api_key),
                                        "created_at": now}, pk="user_id")
            self.update_user(user_id, plan=plan, plan_limit=per_minute, plan_expires_at=expires_at,
                             key_state="valid", key_state_at=now, disabled_endpoints=[],
                             notices=[], last_error=None, last_error_at=None, next_poll_at=now)

    def api_key(self, user_id: int) -> str | None:
        """The decrypted key; raises KeyUnreadable if the secret changed."""
        rows = list(self.db["api_keys"].rows_where("user_id = ?", [user_id]))
        return self.vault.decrypt(rows[0]["ciphertext"]) if rows else None

    def reject_key(self, user_id: int, reason: str) -> None:
        self.update_user(user_id, key_state="rejected", key_state_at=self.clock(),
                         last_error=reason, last_error_at=self.clock())

    # --- subscriptions ----------------------------------------------------------------------

    def coins(self, user_id: int) -> list[str]:
        return [r["coin"] for r in self.db["subscriptions"].rows_where(
            "user_id = ?", [user_id], order_by="rowid")]

    def add_coins(self, user_id: int, coins: Iterable[str]) -> list[str]:
        existing = set(self.coins(user_id))
        added = [c for c in coins if c not in existing]
        now = self.clock()
        with self.db.atomic():
            for coin in added:
                self.db["subscriptions"].insert({"user_id": user_id, "coin": coin,
                                                 "created_at": now})
            if added:
                self.update_user(user_id)
        return added

    def remove_coins(self, user_id: int, coins: Iterable[str] | None) -> list[str]:
        """Remove ``coins`` (all when None) with their overrides and alert state."""
        existing = self.coins(user_id)
        removed = existing if coins is None else [c for c in coins if c in existing]
        with self.db.atomic():
            for coin in removed:
                for table in ("subscriptions", "coin_mutes", "coin_state"):
                    self.db.execute(f"DELETE FROM {table} WHERE user_id = ? AND coin = ?",
                                    [user_id, coin])
                # The signals' states go with the subscription; the guard's advice states
                # (guard:<kind>) belong to a position on the coin, which stays.
                self.db.execute("DELETE FROM alert_state WHERE user_id = ? AND coin = ? AND "
                                "substr(signal_id, 1, ?) != ?",
                                [user_id, coin, len(GUARD_PREFIX), GUARD_PREFIX])
                self.db.execute("DELETE FROM thresholds WHERE user_id = ? AND coin = ?",
                                [user_id, coin])
            if removed:
                self.update_user(user_id)
        return removed

    def polled_coins(self, user_id: int, rules: Iterable[Rule] | None = None) -> list[str]:
        """The coins a poll of this user covers: subscriptions, then the coins of rules still
        waiting and of declared positions (watched even if not subscribed). The budget counts
        these. ``rules``: the user's rules when the caller has just read them."""
        coins = self.coins(user_id)
        rules = self.rules(user_id) if rules is None else rules
        extra = [c for c in watched_coins(rules) if c not in coins]
        extra += [c for c in self.position_only_coins(user_id) if c not in coins + extra]
        return coins + extra

    # --- rules (/alert) -----------------------------------------------------------------------

    @staticmethod
    def _rule(row: dict[str, Any]) -> Rule:
        return Rule(row["id"], row["number"], RuleSpec.from_dict(row), row["state"],
                    row["fired_at"], row["last_value"], row["created_at"])

    def rules(self, user_id: int) -> list[Rule]:
        """The user's rules by number (rules whose metric is no longer known are skipped)."""
        rules = []
        for row in self.db["rules"].rows_where("user_id = ?", [user_id], order_by="number"):
            try:
                rules.append(self._rule(row))
            except ValueError:
                continue
        return rules

    def add_rule(self, user_id: int, spec: RuleSpec) -> Rule:
        """Store a rule (at most ``MAX_RULES``: raises RuleError beyond). Bumps the version:
        the rule changes what the poll covers."""
        with self.db.atomic():
            row = next(self.db.query("SELECT COUNT(*) AS n, COALESCE(MAX(number), 0) AS top "
                                     "FROM rules WHERE user_id = ?", [user_id]))
            ensure_room(row["n"])
            rule_id = self.db["rules"].insert({
                "user_id": user_id, "number": row["top"] + 1, **spec.to_dict(),
                "state": WAITING, "created_at": self.clock()}).last_pk
            self.update_user(user_id)
        return self._rule(next(self.db["rules"].rows_where("id = ?", [rule_id])))

    def delete_rules(self, user_id: int, *, numbers: Iterable[int] | None = None,
                     ids: Iterable[int] | None = None, done: bool = False) -> list[int]:
        """Delete rules by number or id (all when neither; only fired ``once`` rules with
        ``done``); returns the numbers deleted. Bumps the version when any went."""
        numbers = None if numbers is None else set(numbers)
        ids = None if ids is None else set(ids)
        rows = self.db.query("SELECT id, number, state FROM rules WHERE user_id = ? "
                             "ORDER BY number", [user_id])    # rows, even unreadable ones
        gone = [r for r in rows
                if (numbers is None or r["number"] in numbers)
                and (ids is None or r["id"] in ids) and (not done or r["state"] == FIRED)]
        with self.db.atomic():
            for row in gone:
                self.db.execute("DELETE FROM rules WHERE id = ? AND user_id = ?",
                                [row["id"], user_id])
            if gone:
                self.update_user(user_id)
        return [r["number"] for r in gone]

    # --- thresholds and signal switches -----------------------------------------------------

    def thresholds(self, user_id: int) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """(user-wide values, per-coin overrides) as stored; defaults are not included."""
        user_wide: dict[str, float] = {}
        per_coin: dict[str, dict[str, float]] = {}
        for row in self.db["thresholds"].rows_where("user_id = ?", [user_id]):
            if row["coin"] == ALL_COINS:
                user_wide[row["name"]] = row["value"]
            else:
                per_coin.setdefault(row["coin"], {})[row["name"]] = row["value"]
        return user_wide, per_coin

    def set_threshold(self, user_id: int, name: str, value: float, coin: str | None = None) -> None:
        self.db["thresholds"].upsert({"user_id": user_id, "coin": coin or ALL_COINS, "name": name,
                                      "value": value}, pk=("user_id", "coin", "name"))

    def set_thresholds(self, user_id: int, values: dict[str, float]) -> None:
        with self.db.atomic():
            for name, value in values.items():
                self.set_threshold(user_id, name, value)

    def reset_threshold(self, user_id: int, name: str, coin: str | None = None) -> None:
        self.db.execute("DELETE FROM thresholds WHERE user_id = ? AND coin = ? AND name = ?",
                        [user_id, coin or ALL_COINS, name])

    def prefs(self, user_id: int) -> Prefs:
        user_wide, per_coin = self.thresholds(user_id)
        return Prefs(user_wide, per_coin, frozenset(self.disabled_signals(user_id)))

    def disabled_signals(self, user_id: int) -> set[str]:
        return {r["signal_id"] for r in self.db["disabled_signals"].rows_where(
            "user_id = ?", [user_id])}

    def set_signal_enabled(self, user_id: int, signal_id: str, enabled: bool) -> None:
        if enabled:
            self.db.execute("DELETE FROM disabled_signals WHERE user_id = ? AND signal_id = ?",
                            [user_id, signal_id])
        else:
            self.db["disabled_signals"].insert({"user_id": user_id, "signal_id": signal_id},
                                               ignore=True)

    # --- polling ----------------------------------------------------------------------------

    def due_users(self, now: float, limit: int = 1000) -> list[User]:
        """Users whose poll is due: a range scan of the ``due_at`` index (see ``DUE_SQL``)."""
        rows = self.db.query("SELECT * FROM users WHERE due_at <= ? ORDER BY due_at LIMIT ?",
                             [now, limit])
        return [user_from_row(r) for r in rows]

    def defer(self, moves: Iterable[tuple[int, float]]) -> None:
        """Move due times (the scheduler waits for a key's room) without touching versions."""
        with self.db.atomic():
            self.db.conn.executemany(
                "UPDATE users SET next_poll_at = ?, due_at = CASE WHEN due_at IS NULL THEN NULL "
                "ELSE MAX(due_at, ?) END WHERE id = ?",
                [(at, at, uid) for uid, at in moves])

    def alert_states(self, user_id: int) -> dict[tuple[str, str], AlertState]:
        return {
            (r["coin"], r["signal_id"]): AlertState(r["signal_id"], r["level"], bool(r["active"]),
                                                    r["last_alert_at"], r["last_alert_level"])
            for r in self.db["alert_state"].rows_where("user_id = ?", [user_id])
        }

    def commit_poll(self, user_id: int, write: PollWrite, version: int | None = None) -> bool:
        """A poll's result, atomically, if the user is still as the poll found them.

        ``version`` is the user's version when the poll started. If the user changed since
        (a new key, coins, a pause, a plan...), their change wins: the poll's alerts, states
        and fields are dropped and the user is polled again at once. A user who was forgotten
        meanwhile has no row: nothing is written. Returns whether the result was applied.
        """
        now = self.clock()
        with self.db.atomic():
            row = next(self.db.query(
                "SELECT version, notices, disabled_endpoints FROM users WHERE id = ?",
                [user_id]), None)
            if row is None:
                return False
            if version is not None and row["version"] != version:
                self.db.execute("UPDATE users SET next_poll_at = ? WHERE id = ?", [now, user_id])
                self._sync_due(user_id)
                return False
            for coin, active_ids in write.cleared:
                marks = ",".join("?" * len(active_ids))
                self.db.execute(
                    "UPDATE alert_state SET active = 0, updated_at = ? WHERE user_id = ? "
                    "AND coin = ? AND active = 1"
                    + (f" AND signal_id NOT IN ({marks})" if active_ids else ""),
                    [now, user_id, coin, *active_ids],
                )
            if write.states:
                self.db.conn.executemany(
                    """INSERT INTO alert_state (user_id, coin, signal_id, level, active,
                           last_alert_at, last_alert_level, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT(user_id, coin, signal_id) DO UPDATE SET
                           level = excluded.level, active = excluded.active,
                           last_alert_at = excluded.last_alert_at,
                           last_alert_level = excluded.last_alert_level,
                           updated_at = excluded.updated_at""",
                    [(user_id, coin, sid, st.level, int(st.active), st.last_alert_at,
                      st.last_alert_level, now) for coin, sid, st in write.states])
            if write.alerts:
                self.db.conn.executemany(
                    """INSERT INTO alerts (user_id, coin, kind, level, payload, created_at,
                           data_time, status, attempts, next_attempt_at, silent)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)""",
                    [(user_id, a.get("coin"), a["kind"], a.get("level"), json.dumps(a["payload"]),
                      now, a.get("data_time"), a.get("status", "pending"),
                      a.get("not_before", now), int(a.get("silent", 0)))
                     for a in write.alerts])
            if write.guards:
                # Only the position the poll read: a position closed or replaced meanwhile
                # (which also bumps the version) keeps its own state.
                self.db.conn.executemany(
                    "UPDATE positions SET phase = ?, best_price = ?, trailed_stop = ?, "
                    "updated_at = ? WHERE user_id = ? AND coin = ? AND opened_at = ?",
                    [(st.phase.value, st.best_price, st.trailed_stop, now, user_id, coin, opened)
                     for coin, (opened, st) in write.guards.items()])
            if write.coin_states:
                self.db.conn.executemany(
                    """INSERT INTO coin_state (user_id, coin, last_high_at, last_active_at,
                           calm_notified) VALUES (?, ?, ?, ?, ?)
                       ON CONFLICT(user_id, coin) DO UPDATE SET
                           last_high_at = excluded.last_high_at,
                           last_active_at = excluded.last_active_at,
                           calm_notified = excluded.calm_notified""",
                    [(user_id, coin, st.get("last_high_at"), st.get("last_active_at"),
                      int(st.get("calm_notified", 0))) for coin, st in write.coin_states.items()])
            for rule_id, fields in write.rule_updates.items():
                fields = {k: v for k, v in fields.items()
                          if k in ("last_value", "fired_at", "state")}
                if fields:
                    self.db.execute(
                        f"UPDATE rules SET {', '.join(f'{k} = ?' for k in fields)} "
                        "WHERE id = ? AND user_id = ?", [*fields.values(), rule_id, user_id])
            changes = dict(write.user_changes)
            if write.notices_added:
                changes["notices"] = set(json.loads(row["notices"] or "[]")) | write.notices_added
            if write.disabled_added:
                current = set(json.loads(row["disabled_endpoints"] or "[]"))
                base = set() if changes.get("disabled_endpoints") == set() else current
                changes["disabled_endpoints"] = base | write.disabled_added
            if changes:
                self.db["users"].update(user_id, self._encode(changes))
            self._sync_due(user_id)
            for name, n in write.counters.items():
                self._count(name, n)
        return True

    # --- positions (the guard, SPEC §16) -------------------------------------------------------

    @staticmethod
    def _guarded(row: dict[str, Any]) -> Guarded:
        position = Position(row["coin"], row["side"], row["entry"], row["stop"],
                            row["take_profit"],
                            datetime.fromtimestamp(row["opened_at"], timezone.utc))
        return Guarded(position, GuardState(Phase(row["phase"]), row["best_price"],
                                            row["trailed_stop"]))

    def positions(self, user_id: int) -> dict[str, Guarded]:
        """coin -> the declared position and its guard state, oldest first."""
        return {r["coin"]: self._guarded(r) for r in self.db["positions"].rows_where(
            "user_id = ?", [user_id], order_by="opened_at, rowid")}

    def position(self, user_id: int, coin: str) -> Guarded | None:
        rows = list(self.db["positions"].rows_where("user_id = ? AND coin = ?", [user_id, coin]))
        return self._guarded(rows[0]) if rows else None

    def save_position(self, user_id: int, position: Position) -> None:
        """Declare (or replace) the position on its coin, fresh: OPEN, best price = entry, no
        advice remembered. Bumps the version, so a running poll cannot write the old
        position's state onto the new one."""
        state = GuardState.start(position)
        with self.db.atomic():
            self._forget_guard_states(user_id, position.coin)
            self.db["positions"].upsert({
                "user_id": user_id, "coin": position.coin, "side": position.side,
                "entry": position.entry, "stop": position.stop,
                "take_profit": position.take_profit,
                "opened_at": position.opened_at.timestamp(), "phase": state.phase.value,
                "best_price": state.best_price, "trailed_stop": None,
                "updated_at": self.clock()}, pk=("user_id", "coin"))
            self.update_user(user_id)

    def close_position(self, user_id: int, coin: str) -> bool:
        """Forget the position on ``coin`` and its advice states; False if there was none."""
        with self.db.atomic():
            gone = self.db.execute("DELETE FROM positions WHERE user_id = ? AND coin = ?",
                                   [user_id, coin]).rowcount
            if gone:
                self._forget_guard_states(user_id, coin)
                self.update_user(user_id)
        return bool(gone)

    def _forget_guard_states(self, user_id: int, coin: str) -> None:
        self.db.execute("DELETE FROM alert_state WHERE user_id = ? AND coin = ? AND "
                        "substr(signal_id, 1, ?) = ?",
                        [user_id, coin, len(GUARD_PREFIX), GUARD_PREFIX])

    def position_only_coins(self, user_id: int) -> list[str]:
        """Coins polled only because the user holds a position there (not subscribed): the
        poll covers them and the budget counts them; they get the guard, not the signals."""
        return [r["coin"] for r in self.db.query(
            "SELECT coin FROM positions p WHERE user_id = ? AND NOT EXISTS (SELECT 1 FROM "
            "subscriptions s WHERE s.user_id = p.user_id AND s.coin = p.coin) "
            "ORDER BY opened_at, rowid", [user_id])]

    # --- outbox and history -----------------------------------------------------------------

    def enqueue(self, user_id: int, *, kind: str, payload: dict[str, Any], coin: str | None = None,
                level: int | None = None, data_time: float | None = None) -> int:
        now = self.clock()
        return self.db["alerts"].insert({
            "user_id": user_id, "coin": coin, "kind": kind, "level": level,
            "payload": json.dumps(payload), "created_at": now, "data_time": data_time,
            "status": "pending", "attempts": 0, "next_attempt_at": now,
        }).last_pk

    def due_outbox(self, now: float, limit: int = 200) -> list[OutboxItem]:
        rows = self.db.query(
            """SELECT a.* FROM alerts a JOIN users u ON u.id = a.user_id
               WHERE a.status = 'pending' AND a.next_attempt_at <= ? AND u.active = 1
               ORDER BY a.next_attempt_at, a.id LIMIT ?""",
            [now, limit],
        )
        return [self._item(r) for r in rows]

    def due_outbox_fair(self, now: float, *, per_chat: int = 2,
                        limit: int = 40) -> list[OutboxItem]:
        """Due rows, round-robin across chats: every chat's first message before anyone's
        second; among chats, HIGH first, then the chat served least recently, then oldest."""
        rows = self.db.query(
            """SELECT * FROM (
                 SELECT a.*, u.timezone AS user_timezone, u.last_delivery_at AS last_delivery,
                        ROW_NUMBER() OVER (
                   PARTITION BY a.user_id
                   ORDER BY (a.kind = 'alert'), COALESCE(a.level, 0) DESC, a.id) AS turn
                 FROM alerts a JOIN users u ON u.id = a.user_id
                 WHERE a.status = 'pending' AND a.next_attempt_at <= ? AND u.active = 1)
               WHERE turn <= ?
               ORDER BY turn, (kind = 'alert'), COALESCE(level, 0) DESC,
                        COALESCE(last_delivery, 0), id LIMIT ?""",
            [now, per_chat, limit])
        return [self._item(r) for r in rows]

    def outbox_item(self, user_id: int, alert_id: int) -> OutboxItem | None:
        rows = list(self.db.query("SELECT * FROM alerts WHERE id = ? AND user_id = ?",
                                  [alert_id, user_id]))
        return self._item(rows[0]) if rows else None

    def next_outbox_time(self) -> float | None:
        rows = list(self.db.query(
            """SELECT MIN(a.next_attempt_at) AS t FROM alerts a JOIN users u ON u.id = a.user_id
               WHERE a.status = 'pending' AND u.active = 1"""))
        return rows[0]["t"] if rows else None

    @staticmethod
    def _item(row: dict[str, Any]) -> OutboxItem:
        return OutboxItem(id=row["id"], user_id=row["user_id"], coin=row["coin"], kind=row["kind"],
                          level=row["level"], payload=json.loads(row["payload"]),
                          created_at=row["created_at"], attempts=row["attempts"],
                          status=row["status"], sent_at=row["sent_at"],
                          silent=bool(row.get("silent")), message_id=row.get("message_id"),
                          data_time=row.get("data_time"), timezone=row.get("user_timezone"))

    def mark_sent(self, alert_id: int, message_id: int | None) -> None:
        now = self.clock()
        with self.db.atomic():
            self.db.execute(
                "UPDATE alerts SET status = 'sent', sent_at = ?, message_id = ?, "
                "attempts = attempts + 1, last_error = NULL WHERE id = ?",
                [now, message_id, alert_id])
            # The rows this message carried (held through quiet hours) are sent with it.
            self.db.execute("UPDATE alerts SET status = 'sent', sent_at = ?, message_id = ? "
                            "WHERE group_id = ? AND status = 'grouped'", [now, message_id, alert_id])
            self.db.execute("UPDATE users SET last_delivery_at = ? WHERE id = "
                            "(SELECT user_id FROM alerts WHERE id = ?)", [now, alert_id])

    def retry_later(self, alert_id: int, at: float, error: str, count_attempt: bool = True) -> None:
        self.db.execute(
            "UPDATE alerts SET next_attempt_at = ?, last_error = ?, attempts = attempts + ? "
            "WHERE id = ?", [at, error[:200], int(count_attempt), alert_id])

    UNRENDERABLE = "unrenderable"
    RENDER_ATTEMPTS = 3

    def hold_unrenderable(self, alert_id: int, error: str) -> None:
        """The bot could not render this row (a bug): keep it, not pending, until a restart
        (a deploy may bring the fix) puts it back, at most ``RENDER_ATTEMPTS`` times."""
        self.db.execute("UPDATE alerts SET status = ?, last_error = ?, attempts = attempts + 1 "
                        "WHERE id = ?", [self.UNRENDERABLE, error[:200], alert_id])

    def release_unrenderable(self) -> int:
        """At start: rows held for a render bug go back to the outbox (bounded attempts)."""
        return self.db.execute(
            "UPDATE alerts SET status = 'pending', next_attempt_at = ? WHERE status = ? "
            "AND attempts < ?", [self.clock(), self.UNRENDERABLE, self.RENDER_ATTEMPTS]).rowcount

    def mark_failed(self, alert_id: int, error: str) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE alerts SET status = 'failed', last_error = ?, "
                            "attempts = attempts + 1 WHERE id = ?", [error[:200], alert_id])
            self.db.execute("UPDATE alerts SET status = 'failed', last_error = ? "
                            "WHERE group_id = ? AND status = 'grouped'", [error[:200], alert_id])

    # --- mutes and calm -----------------------------------------------------------------------

    def mute(self, user_id: int, coin: str, until: float) -> None:
        self.db["coin_mutes"].upsert({"user_id": user_id, "coin": coin, "until": until},
                                     pk=("user_id", "coin"))

    def unmute(self, user_id: int, coin: str | None = None) -> list[str]:
        """Lift the mute of ``coin`` (all when None); returns the coins unmuted."""
        now = self.clock()
        current = [c for c, until in self.mutes(user_id).items() if until > now]
        coins = current if coin is None else [c for c in current if c == coin]
        with self.db.atomic():
            for c in coins:
                self.db.execute("DELETE FROM coin_mutes WHERE user_id = ? AND coin = ?",
                                [user_id, c])
        return coins

    def mutes(self, user_id: int) -> dict[str, float]:
        """coin -> muted until (expired mutes included; callers compare with now)."""
        return {r["coin"]: r["until"] for r in self.db["coin_mutes"].rows_where(
            "user_id = ?", [user_id])}

    def coin_states(self, user_id: int) -> dict[str, dict]:
        return {r["coin"]: r for r in self.db["coin_state"].rows_where("user_id = ?", [user_id])}

    def recent_alerts(self, user_id: int, limit: int = 10) -> list[OutboxItem]:
        rows = self.db.query(
            "SELECT * FROM alerts WHERE user_id = ? AND kind = 'alert' "
            "ORDER BY created_at DESC, id DESC LIMIT ?", [user_id, limit])
        return [self._item(r) for r in rows]

    def pending_alerts(self, user_id: int) -> int:
        rows = list(self.db.query("SELECT COUNT(*) AS n FROM alerts WHERE user_id = ? AND "
                                  "kind = 'alert' AND status = 'pending'", [user_id]))
        return rows[0]["n"]

    def alerts_sent_since(self, user_id: int, since: float) -> int:
        rows = list(self.db.query(
            "SELECT COUNT(*) AS n FROM alerts WHERE user_id = ? AND kind = 'alert' "
            "AND status = 'sent' AND sent_at >= ?", [user_id, since]))
        return rows[0]["n"]

    def prune(self, *, alerts_older_than: float, counters_older_than: float,
              batch: int = 2000) -> int:
        """Drop up to ``batch`` delivered or failed alerts older than the given time, and old
        hourly counters; returns how many alerts went. Callers loop (yielding between steps)
        so that a large backlog never stalls the event loop."""
        with self.db.atomic():
            removed = self.db.execute(
                "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE status != 'pending' "
                "AND created_at < ? LIMIT ?)", [alerts_older_than, batch]).rowcount
            self.db.execute("DELETE FROM counters WHERE bucket < ?",
                            [int(counters_older_than // 3600)])
        return removed

    # --- your hours: timezone, quiet hours, digest (core/hours.py, core/digest.py) ----------

    HELD = "held"                     # waits for the quiet hours to end (next_attempt_at)
    GROUPED = "grouped"               # went into one message (group_id), sent with it

    def set_timezone(self, user_id: int, stored: str | None) -> None:
        """Quiet hours are read by the poll: a running poll's result is dropped (version)."""
        self.update_user(user_id, timezone=stored)

    def set_quiet(self, user_id: int, text: str | None) -> None:
        self.update_user(user_id, quiet=text)

    def reschedule_held(self, user_id: int, at: float) -> int:
        """Held rows of the user wait until ``at`` (quiet hours changed); returns how many."""
        return self.db.execute("UPDATE alerts SET next_attempt_at = ? WHERE user_id = ? AND "
                               "status = ?", [at, user_id, self.HELD]).rowcount

    def held(self, user_id: int) -> tuple[int, float | None]:
        """(rows held for the quiet hours, when they go out)."""
        row = next(self.db.query("SELECT COUNT(*) AS n, MIN(next_attempt_at) AS at FROM alerts "
                                 "WHERE user_id = ? AND status = ?", [user_id, self.HELD]))
        return row["n"], row["at"]

    def due_held(self, now: float, users: int = 50) -> list[OutboxItem]:
        """Every held row of up to ``users`` users whose quiet hours are over, by user,
        oldest first."""
        rows = self.db.query(
            "SELECT * FROM alerts WHERE status = ? AND user_id IN (SELECT DISTINCT user_id "
            "FROM alerts WHERE status = ? AND next_attempt_at <= ? LIMIT ?) "
            "ORDER BY user_id, created_at, id", [self.HELD, self.HELD, now, users])
        return [self._item(r) for r in rows]

    def group_held(self, user_id: int, ids: list[int], payload: dict[str, Any],
                   level: int | None) -> int:
        """One outbox message for the held rows ``ids``, atomically: the rows become part of
        it (``grouped``) and are marked sent with it (``mark_sent``). Returns its id."""
        now = self.clock()
        with self.db.atomic():
            group_id = self.db["alerts"].insert({
                "user_id": user_id, "coin": None, "kind": "notice", "level": level,
                "payload": json.dumps(payload), "created_at": now, "status": "pending",
                "attempts": 0, "next_attempt_at": now}).last_pk
            marks = ",".join("?" * len(ids))
            self.db.execute(f"UPDATE alerts SET status = ?, group_id = ? WHERE user_id = ? AND "
                            f"status = ? AND id IN ({marks})",
                            [self.GROUPED, group_id, user_id, self.HELD, *ids])
        return group_id

    def set_digest(self, user_id: int, at: str | None, next_at: float | None) -> None:
        """/digest HH:MM or off. Read by the digest job only (which compares it before it
        commits), so no version bump; switching on counts as "sent" now (no catch-up)."""
        now = self.clock()
        self.db.execute("UPDATE users SET digest_at = ?, digest_since = ?, digest_next_at = ? "
                        "WHERE id = ?", [at, now if at else None, next_at, user_id])

    def set_digest_next(self, user_id: int, next_at: float | None,
                        expect: User | None = None) -> None:
        """When the digest job looks at this user again; with ``expect``, only if their digest
        setting and timezone are still as read then (a job that awaited must not undo a
        change the user made meanwhile)."""
        if expect is None:
            self.db.execute("UPDATE users SET digest_next_at = ? WHERE id = ?", [next_at, user_id])
            return
        self.db.execute("UPDATE users SET digest_next_at = ? WHERE id = ? AND digest_at IS ? "
                        "AND digest_since IS ? AND timezone IS ?",
                        [next_at, user_id, expect.digest_at, expect.digest_since, expect.timezone])

    def digest_due_users(self, now: float, limit: int = 500) -> list[User]:
        rows = self.db.query("SELECT * FROM users WHERE digest_next_at <= ? AND active = 1 "
                             "ORDER BY digest_next_at LIMIT ?", [now, limit])
        return [user_from_row(r) for r in rows]

    def commit_digest(self, user: User, payload: dict[str, Any], *, next_at: float,
                      silent: bool = False) -> bool:
        """Queue the digest and record it sent, in one transaction, if the user's digest
        setting and timezone are still what ``user`` read (else nothing: False)."""
        now = self.clock()
        with self.db.atomic():
            changed = self.db.execute(
                "UPDATE users SET digest_sent_at = ?, digest_next_at = ? WHERE id = ? AND "
                "digest_at IS ? AND digest_since IS ? AND timezone IS ?",
                [now, next_at, user.id, user.digest_at, user.digest_since, user.timezone]).rowcount
            if changed != 1:
                return False
            self.db["alerts"].insert({
                "user_id": user.id, "coin": None, "kind": "notice", "level": None,
                "payload": json.dumps(payload), "created_at": now, "status": "pending",
                "attempts": 0, "next_attempt_at": now, "silent": int(silent)})
        return True

    def alerts_since(self, user_id: int, since: float, limit: int = 200) -> list[OutboxItem]:
        """The user's alerts decided since ``since`` (any delivery state), newest first."""
        rows = self.db.query(
            "SELECT * FROM alerts WHERE user_id = ? AND kind = 'alert' AND created_at >= ? "
            "AND status != 'failed' ORDER BY created_at DESC, id DESC LIMIT ?",
            [user_id, since, limit])
        return [self._item(r) for r in rows]

    # --- counters (admin) -------------------------------------------------------------------

    def count(self, name: str, n: int = 1) -> None:
        self._count(name, n)

    def _count(self, name: str, n: int) -> None:
        bucket = int(self.clock() // 3600)
        self.db.execute(
            "INSERT INTO counters (bucket, name, value) VALUES (?, ?, ?) "
            "ON CONFLICT(bucket, name) DO UPDATE SET value = value + excluded.value",
            [bucket, name, n])

    def counters_since(self, since: float) -> dict[str, int]:
        rows = self.db.query("SELECT name, SUM(value) AS total FROM counters WHERE bucket >= ? "
                             "GROUP BY name", [int(since // 3600)])
        return {r["name"]: r["total"] for r in rows}

    def last_poll_at(self) -> float | None:
        """When any user was last polled (/healthz)."""
        return next(self.db.query("SELECT MAX(last_poll_at) AS t FROM users"))["t"]

    def outbox_backlog(self, now: float) -> int:
        """Messages due and not yet sent to users who can receive them (/healthz)."""
        return next(self.db.query(
            "SELECT COUNT(*) AS n FROM alerts a JOIN users u ON u.id = a.user_id "
            "WHERE a.status = 'pending' AND a.next_attempt_at <= ? AND u.active = 1", [now]))["n"]

    def overview(self) -> dict[str, int]:
        """Counts for /admin and the start-up line."""
        row = next(self.db.query(
            "SELECT COUNT(*) AS users, SUM(active) AS active_users, "
            "SUM(due_at IS NOT NULL) AS subscribers FROM users"))
        pending = next(self.db.query("SELECT COUNT(*) AS n FROM alerts WHERE status = 'pending'"))
        held = next(self.db.query("SELECT COUNT(*) AS n FROM alerts WHERE status = ?",
                                  [self.UNRENDERABLE]))
        return {"users": row["users"] or 0, "active_users": row["active_users"] or 0,
                "subscribers": row["subscribers"] or 0, "pending_alerts": pending["n"],
                "unrenderable": held["n"]}
