"""Your hours at scale: what the every-second "hours" job costs.

    python -m bench.hours [--users 10000]

A database of ``--users`` users, every one with quiet hours (23:00-07:00 hold, spread over
twelve timezones) and a daily digest (spread over the day's hours). Measured with the
production repository and ``core.hours``/``core.digest`` code, no Telegram:

- the job's tick when nothing is due (the common case, every second);
- the morning release: 1,000 users' quiet hours end together, 5 held alerts each, turned into
  one message per user;
- a digest tick that finds 1,000 users due at once (their decision, not the CoinGlass fetch);
- the quiet-hours decision on a poll's rows (``apply_quiet``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from core.digest import DigestScheduler
from core.hours import apply_quiet, release_held
from core.signals.model import Direction, Level, Signal
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import PollWrite, Repository

ZONES = ("UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Chicago",
         "America/Los_Angeles", "Asia/Tokyo", "Asia/Singapore", "Asia/Kolkata",
         "Australia/Sydney", "Europe/Moscow", "UTC+03:00")
START = 1_800_000_000.0


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class NoFetch:
    """The digest's CoinGlass fetch is not what this measures: users here have no key."""


def alert_row(coin: str) -> dict:
    signal = Signal(id="oi_surge", coin=coin, level=Level.MEDIUM, direction=Direction.BULLISH,
                    title="OI surge", text="open interest up 3.5 % in 1h", confidence=0.7,
                    values={"oi_change_pct": 3.5, "threshold": 5.0})
    return {"kind": "alert", "coin": coin, "level": int(Level.MEDIUM), "data_time": START,
            "payload": {"signals": [signal.to_dict()], "triggers": {"oi_surge": "new"},
                        "summary": {"coin": coin, "price": {"price": 100.0, "change_pct": 1.0,
                                                            "window": "1h"}}}}


def timed(fn, repeat: int = 1) -> float:
    """Median milliseconds of ``fn()``."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(users: int, folder: Path) -> dict[str, float]:
    clock = Clock(START)
    repo = Repository(open_database(folder / "hours.db"), KeyVault(Fernet.generate_key().decode()),
                      clock=clock)
    with repo.db.atomic():
        for uid in range(1, users + 1):
            repo.db["users"].insert({
                "id": uid, "created_at": START, "active": 1, "paused": 0, "key_state": "none",
                "timezone": ZONES[uid % len(ZONES)], "quiet": "23:00-07:00 hold",
                "digest_at": f"{uid % 24:02d}:00", "digest_since": START - 86400,
                "digest_next_at": START + 3600 + uid % 86400})
    scheduler = DigestScheduler(repo, NoFetch(), default_interval=None, clock=clock)
    figures: dict[str, float] = {}

    def idle_tick() -> None:
        release_held(repo, clock())
        scheduler.tick()

    figures["idle tick (ms)"] = timed(idle_tick, repeat=50)

    # 1,000 users with 5 held alerts each, their quiet hours ending at the same moment.
    held_users = range(1, 1001)
    for uid in held_users:
        user = repo.get_user(uid)
        rows = [alert_row(coin) for coin in ("BTC", "ETH", "SOL", "BTC", "ETH")]
        clock.now = START + 600
        apply_quiet(user, rows, clock())
        for row in rows:
            row["status"], row["not_before"] = "held", START + 7200
        repo.commit_poll(uid, PollWrite(alerts=rows))
    clock.now = START + 7200
    batches = []

    def release_all() -> None:
        while True:
            started = time.perf_counter()
            if not release_held(repo, clock()):
                break
            batches.append((time.perf_counter() - started) * 1000)

    figures["release of 1,000 users × 5 held (ms)"] = timed(release_all)
    figures["longest batch of 50 users (ms)"] = max(batches)
    figures["messages queued by the release"] = repo.db.execute(
        "SELECT COUNT(*) FROM alerts WHERE kind = 'notice'").fetchone()[0]

    # 1,000 users due for their digest at once: the decisions (skip/wait/send) in one tick.
    repo.db.execute("UPDATE users SET digest_next_at = CASE WHEN id <= 1000 THEN ? ELSE ? END",
                    [START, START + 2 * 86400])
    repo.db.execute("UPDATE users SET digest_sent_at = ? WHERE id <= 1000", [START + 7200])
    figures["digest tick, 1,000 due (200 a tick) (ms)"] = timed(scheduler.tick)

    user = repo.get_user(1)
    rows = [alert_row("BTC") for _ in range(3)]
    clock.now = START
    figures["apply_quiet on a poll's 3 rows (µs)"] = timed(
        lambda: apply_quiet(user, [dict(r) for r in rows], clock()), repeat=200) * 1000
    repo.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hours")
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(_run(args.users, Path(folder)))
    print(f"Your hours, {args.users:,} users with quiet hours and a digest")
    for name, value in figures.items():
        print(f"  {name:<42} {value:,.2f}")


async def _run(users: int, folder: Path) -> dict[str, float]:
    return measure(users, folder)            # tick() creates tasks: it needs a running loop


if __name__ == "__main__":
    main()
