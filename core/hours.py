"""Your hours (SPEC §14): quiet hours applied to what a poll queues, held messages released as
one, and the digest's clock — all in the user's timezone.

The user's choices are stored as the text they read back (``users.quiet`` = ``"23:00-07:00
hold"``, ``users.digest_at`` = ``"08:00"``, ``users.timezone``); this module turns them into
decisions with the pure rules of :mod:`core.quiet`:

- :func:`apply_quiet` runs on the rows a poll is about to commit (one transaction with the
  poll): ``silent`` marks a row to go without sound; ``hold`` keeps a row below HIGH in the
  outbox with the status ``held`` until the quiet hours end (``next_attempt_at``); ``all``
  holds everything. Quiet is judged at commit time, so a poll that started before the window
  opened still holds what it queues inside it.
- :func:`release_held` (run every second by the bot) turns a user's held rows whose time has
  come into ONE outbox message, in one transaction (:meth:`Repository.group_held`); the rows are
  marked sent together with that message. A restart at any point loses nothing and sends
  nothing twice: before the transaction the rows are held, after it one message is pending.
- :func:`digest_step` says what the digest job does for a user now (send, skip, wait) and when
  to look next.

Nothing here talks to Telegram: the summaries are JSON payloads the bot renders.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time
from typing import Any, Sequence

from core.quiet import (
    ClockError, Delivery, Due, QuietError, QuietHours, delivery, digest_due,
    last_digest_moment, next_digest_at, parse_clock, parse_quiet, quiet_ends_at,
)
from core.signals.model import Level
from core.storage.repo import OutboxItem, Repository
from core.timezones import tz_of
from core.users import User

log = logging.getLogger(__name__)

HELD = Repository.HELD
NOTICE_HELD = "held"                  # payload["notice"] of the one message after quiet hours
NOTICE_DIGEST = "digest"              # payload["notice"] of the daily digest
SHOWN_PER_COIN = 8                    # alerts of one coin kept in detail in the held message


def quiet_of(user: User) -> QuietHours | None:
    """The user's quiet hours (None: off, or a stored value no longer readable)."""
    if not user.quiet:
        return None
    try:
        return parse_quiet(user.quiet)
    except QuietError:
        log.warning("user %s has unreadable quiet hours %r; treated as off", user.id, user.quiet)
        return None


def digest_time_of(user: User) -> time | None:
    """The user's digest time (None: off, or a stored value no longer readable)."""
    if not user.digest_at:
        return None
    try:
        return parse_clock(user.digest_at)
    except ClockError:
        log.warning("user %s has an unreadable digest time %r", user.id, user.digest_at)
        return None


# --- quiet hours on what a poll queues ---------------------------------------------------

def _level(row: dict[str, Any]) -> Level:
    """An alert's level; notices count as below HIGH (they can wait, like a MEDIUM alert)."""
    if row.get("kind") == "alert" and row.get("level"):
        return Level(int(row["level"]))
    return Level.LOW


def apply_quiet(user: User, rows: list[dict[str, Any]], now: float) -> int:
    """Mark the outbox rows a poll queues for the user's quiet hours; returns how many wait.

    A held row gets ``status`` ``held`` and ``not_before`` the end of the quiet hours; a
    silent one ``silent`` 1; the rest are left as they are.
    """
    quiet = quiet_of(user)
    if quiet is None or not rows:
        return 0
    tz = tz_of(user.timezone)
    held = 0
    ends: float | None = None
    for row in rows:
        how = delivery(quiet, tz, now, _level(row))
        if how == Delivery.SILENT:
            row["silent"] = 1
        elif how == Delivery.HOLD:
            ends = ends if ends is not None else quiet_ends_at(quiet, tz, now)
            row["status"] = HELD
            row["not_before"] = ends
            held += 1
    return held


def held_until(user: User, now: float) -> float:
    """When rows held for ``user`` go out under their current settings: the end of the quiet
    hours if it is quiet now, else now (the setting was switched off or moved)."""
    quiet = quiet_of(user)
    tz = tz_of(user.timezone)
    if quiet is not None and delivery(quiet, tz, now, Level.LOW) == Delivery.HOLD:
        return quiet_ends_at(quiet, tz, now)
    return now


# --- the one message after quiet hours ----------------------------------------------------

def _price(item: OutboxItem) -> float | None:
    price = (item.payload.get("summary") or {}).get("price") or {}
    return price.get("price")


def held_summary(items: Sequence[OutboxItem], quiet_text: str | None,
                 now: float) -> dict[str, Any]:
    """The payload of the message that replaces a user's held rows.

    Alerts are grouped per coin: the coin whose newest alert ranks highest first; within a
    coin the newest first, each with its signals (for the headline) and price; and for the
    coin, what happened since its first held alert (the price then and at the newest one).
    Held notices (an "all clear", a key problem) follow as they were.
    """
    alerts = [i for i in items if i.kind == "alert"]
    coins: dict[str, list[OutboxItem]] = {}
    for item in sorted(alerts, key=lambda i: (i.created_at, i.id), reverse=True):
        coins.setdefault(item.coin or "", []).append(item)
    groups = []
    for coin, rows in coins.items():
        first, newest = rows[-1], rows[0]
        groups.append({
            "coin": coin, "count": len(rows),
            "levels": {str(lv): sum(1 for r in rows if r.level == lv)
                       for lv in sorted({r.level or 0 for r in rows}, reverse=True)},
            "first_at": first.created_at, "first_price": _price(first),
            "newest_at": newest.created_at, "newest_price": _price(newest),
            "alerts": [{"id": r.id, "coin": coin, "level": r.level, "created_at": r.created_at,
                        "data_time": r.data_time, "price": _price(r),
                        "signals": r.payload.get("signals", []),
                        "triggers": r.payload.get("triggers", {})}
                       for r in rows[:SHOWN_PER_COIN]],
        })
    groups.sort(key=lambda g: (max(a["level"] or 0 for a in g["alerts"]), g["newest_at"]),
                reverse=True)
    return {
        "notice": NOTICE_HELD, "quiet": quiet_text, "released_at": now,
        "since": min((i.created_at for i in items), default=now),
        "alerts": len(alerts), "coins": groups,
        "notices": [i.payload for i in sorted(items, key=lambda i: i.created_at)
                    if i.kind != "alert"],
    }


def held_ids(payload: dict[str, Any]) -> list[int]:
    """The alerts a held-message payload shows in detail, in the order shown."""
    return [a["id"] for group in payload.get("coins", []) for a in group["alerts"]]


def release_held(repo: Repository, now: float, users: int = 50) -> int:
    """Up to ``users`` users whose quiet hours are over get their held rows as one message;
    returns how many messages were queued (callers loop, yielding between calls)."""
    by_user: dict[int, list[OutboxItem]] = {}
    for item in repo.due_held(now, users):
        by_user.setdefault(item.user_id, []).append(item)
    for user_id, items in by_user.items():
        user = repo.get_user(user_id)
        payload = held_summary(items, user.quiet if user else None, now)
        level = max((i.level or 0 for i in items if i.kind == "alert"), default=0) or None
        repo.group_held(user_id, [i.id for i in items], payload, level)
    return len(by_user)


# --- the digest's clock -------------------------------------------------------------------

@dataclass(frozen=True)
class DigestStep:
    due: Due                          # SEND now, SKIP (missed by too much), WAIT (sent)
    moment: float | None              # the digest moment this is about
    next_at: float | None             # when to look again (None: the digest is off)


def digest_step(user: User, now: float) -> DigestStep:
    """What the digest job does for ``user`` at ``now``, and when it looks again."""
    at = digest_time_of(user)
    if at is None:
        return DigestStep(Due.WAIT, None, None)
    tz = tz_of(user.timezone)
    last = max((t for t in (user.digest_sent_at, user.digest_since) if t is not None),
               default=None)
    due = digest_due(at, tz, last, now)
    return DigestStep(due, last_digest_moment(at, tz, now), next_digest_at(at, tz, now))


def next_digest(user: User, now: float) -> float | None:
    """The next digest moment of ``user`` after ``now`` (None: off)."""
    at = digest_time_of(user)
    return next_digest_at(at, tz_of(user.timezone), now) if at is not None else None
