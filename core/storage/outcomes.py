"""Alert outcomes in SQLite (table ``alert_outcomes``, migration ``m006_outcomes``).

One row per (alert, horizon), inserted once and never updated: a second measurement of the
same horizon (a poll and a price request racing, a restart) is ignored by the primary key.
A row is only written while its alert still exists, so an outcome that arrives after
``/forget`` (or after the alert was pruned) leaves nothing behind.

What the alert said (its price at the data time, its signals and their directions) stays in
the alert's payload; :func:`alert_facts` reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

from sqlite_utils import Database

from core.outcomes import AlertRecord, measure
from core.signals.model import Direction

SOURCE_POLL = "poll"            # a price the bot's own polling fetched anyway
SOURCE_REQUEST = "request"      # one price request made for the outcome
SOURCE_MISSED = "missed"        # no price close enough to the horizon could be had


@dataclass(frozen=True)
class OutcomeRow:
    alert_id: int
    horizon: int
    user_id: int
    coin: str
    price_then: float
    price: float | None                  # None: missed
    price_at: float | None
    move_pct: float | None
    low_pct: float | None                # lowest price seen since the alert, % from price_then
    high_pct: float | None
    source: str
    measured_at: float

    @property
    def missed(self) -> bool:
        return self.price is None


@dataclass(frozen=True)
class AlertFacts:
    """What an alert said, from its payload."""

    alert_id: int
    user_id: int
    coin: str
    time: float                          # its data time
    price: float | None                  # the price at that time (None: the snapshot had none)
    directions: Mapping[str, Direction]  # signal id → direction, every signal in the alert
    triggers: tuple[str, ...]            # the signals that made it an alert


def alert_facts(row: Mapping[str, Any]) -> AlertFacts:
    """Read an ``alerts`` row (id, user_id, coin, data_time, created_at, payload)."""
    payload = row["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload)
    price = ((payload.get("summary") or {}).get("price") or {}).get("price")
    directions = {}
    for signal in payload.get("signals") or []:
        try:
            directions[signal["id"]] = Direction(signal.get("direction", "neutral"))
        except (KeyError, ValueError):
            continue
    triggers = tuple(s for s in (payload.get("triggers") or {}) if s in directions)
    return AlertFacts(
        row["id"], row["user_id"], row["coin"] or "",
        row["data_time"] if row.get("data_time") is not None else row["created_at"],
        float(price) if isinstance(price, (int, float)) and price > 0 else None,
        directions, triggers or tuple(directions))


_ALERT_COLUMNS = "id, user_id, coin, data_time, created_at, payload"


class OutcomeStore:
    def __init__(self, db: Database):
        self.db = db

    # --- writing --------------------------------------------------------------------------

    def record(self, row: OutcomeRow) -> bool:
        """Insert one outcome if its alert still exists and the horizon has none yet;
        returns whether it was written."""
        cursor = self.db.execute(
            """INSERT OR IGNORE INTO alert_outcomes (alert_id, horizon, user_id, coin,
                   price_then, price, price_at, move_pct, low_pct, high_pct, source,
                   measured_at)
               SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
               WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ? AND user_id = ?)""",
            [row.alert_id, row.horizon, row.user_id, row.coin, row.price_then, row.price,
             row.price_at, row.move_pct, row.low_pct, row.high_pct, row.source,
             row.measured_at, row.alert_id, row.user_id])
        return cursor.rowcount > 0

    def prune(self, measured_before: float) -> int:
        """Drop outcomes whose alert is gone or that are older than the alert history."""
        with self.db.atomic():
            old = self.db.execute("DELETE FROM alert_outcomes WHERE measured_at < ?",
                                  [measured_before]).rowcount
            orphans = self.db.execute(
                "DELETE FROM alert_outcomes WHERE alert_id NOT IN (SELECT id FROM alerts)"
            ).rowcount
        return old + orphans

    # --- the tracker's reads --------------------------------------------------------------

    def alerts_after(self, alert_id: int, limit: int = 500) -> list[AlertFacts]:
        """Alerts decided after ``alert_id`` (the rowid order), oldest first."""
        rows = self.db.query(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id > ? AND kind = 'alert' "
            "ORDER BY id LIMIT ?", [alert_id, limit])
        return [alert_facts(r) for r in rows]

    def alerts_since(self, data_time: float) -> Iterator[AlertFacts]:
        """Alerts whose data time is at or after ``data_time`` (the tracker's start)."""
        rows = self.db.query(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE kind = 'alert' AND "
            "COALESCE(data_time, created_at) >= ? ORDER BY id", [data_time])
        return (alert_facts(r) for r in rows)

    def last_alert_id(self) -> int:
        return next(self.db.query("SELECT COALESCE(MAX(id), 0) AS n FROM alerts"))["n"]

    def measured(self, alert_ids: Iterable[int]) -> dict[int, dict[int, OutcomeRow]]:
        """alert id → horizon → outcome (any user: the tracker's start)."""
        found: dict[int, dict[int, OutcomeRow]] = {}
        ids = list(alert_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.db.query(
                    f"SELECT * FROM alert_outcomes WHERE alert_id IN ({marks})", chunk):
                found.setdefault(r["alert_id"], {})[r["horizon"]] = _row(r)
        return found

    # --- what users see -------------------------------------------------------------------

    def outcomes(self, user_id: int, alert_ids: Iterable[int]) -> dict[int, dict[int, OutcomeRow]]:
        """alert id → horizon → outcome, for this user's alerts among ``alert_ids``."""
        ids = list(alert_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.query(
            f"SELECT * FROM alert_outcomes WHERE user_id = ? AND alert_id IN ({marks})",
            [user_id, *ids])
        found: dict[int, dict[int, OutcomeRow]] = {}
        for r in rows:
            found.setdefault(r["alert_id"], {})[r["horizon"]] = _row(r)
        return found

    def records(self, user_id: int, since: float, coin: str | None = None) -> list[AlertRecord]:
        """The user's delivered alerts since ``since``, one record per signal that triggered
        one, with the outcomes measured so far (missed horizons left out)."""
        query = (f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE user_id = ? AND kind = 'alert' "
                 "AND status = 'sent' AND COALESCE(data_time, created_at) >= ?")
        params: list[Any] = [user_id, since]
        if coin is not None:
            query += " AND coin = ?"
            params.append(coin)
        facts = [alert_facts(r) for r in self.db.query(query, params)]
        measured = self.outcomes(user_id, [f.alert_id for f in facts])
        records = []
        for f in facts:
            rows = measured.get(f.alert_id, {})
            for signal_id in f.triggers:
                direction = f.directions[signal_id]
                outcomes = {h: measure(direction, r.price_then, r.price)
                            for h, r in rows.items() if not r.missed}
                records.append(AlertRecord(signal_id, f.coin, direction, f.time, outcomes))
        return records


def _row(r: Mapping[str, Any]) -> OutcomeRow:
    return OutcomeRow(r["alert_id"], r["horizon"], r["user_id"], r["coin"], r["price_then"],
                      r["price"], r["price_at"], r["move_pct"], r["low_pct"], r["high_pct"],
                      r["source"], r["measured_at"])
