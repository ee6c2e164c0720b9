"""Scheduler and storage at 10,000 users, CoinGlass answered from memory.

    python -m bench.scheduler [--users 10000] [--seconds 30] [--old-alerts 600000]

The production ``PollScheduler`` and ``Poller`` run on the event loop over a real SQLite file
with 10,000 users × 3 coins; the snapshot builder is replaced by one that answers from memory
(so only the bot's own work is measured: the due query, reading each user's context, the
signal engine, alert decisions and the commit). A probe task measures the event loop's
longest stall. Then a housekeeping prune runs over ``--old-alerts`` delivered alert rows.

Targets (issue 9): no stall over 50 ms; SQLite ≤ 1 ms per poll of 3 coins.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import datetime, timezone
from functools import wraps

from bench.harness import peak_rss_mb, temp_repository
from bot.logs import setup_logging
from core import market as m
from core.coinglass.ratelimit import LimiterRegistry
from core.plans import Plan
from core.poller import Poller, PollScheduler
from core.snapshot import SnapshotBatch

COINS = ["BTC", "ETH", "SOL"]
SQL_METHODS = ("get_user", "coins", "api_key", "prefs", "alert_states", "mutes", "coin_states",
               "commit_poll", "due_users", "defer")


class MemoryBuilder:
    """Answers every poll with the same calm-but-alerting market, instantly."""

    def __init__(self) -> None:
        self.client = type("Client", (), {"limiters": LimiterRegistry()})()
        self.polls = 0

    def planned_requests(self, api_key, budget, coins) -> int:
        return 0

    async def build(self, api_key, budget, coins, complete: bool = False) -> SnapshotBatch:
        self.polls += 1
        now = datetime.now(timezone.utc)
        snaps = {c: m.MarketSnapshot(
            coin=c, plan=Plan.HOBBYIST, fetched_at=now,
            liquidations=m.LiquidationSection("1h", 60e6 if self.polls % 7 == 0 else 5e6,
                                              2e6, now),
            open_interest=m.OpenInterestSection(3e10, {"1h": 1.2, "4h": 2.0}, (), now),
            price=m.PriceSection(3000.0, "4h", 0.8, now),
            taker=m.TakerSection("1h", 1e9, 1.1e9, now)) for c in coins}
        return SnapshotBatch(snapshots=snaps, requests=len(coins) * 3,
                             answered=len(coins) * 3)


def timed(repo, spent: dict[str, list[float]]) -> None:
    """Wrap the repository's per-poll methods to measure the time spent in SQLite."""
    for name in SQL_METHODS:
        method = getattr(repo, name)

        @wraps(method)
        def wrapper(*args, __method=method, __name=name, **kwargs):
            started = time.perf_counter()
            try:
                return __method(*args, **kwargs)
            finally:
                spent.setdefault(__name, []).append(time.perf_counter() - started)

        setattr(repo, name, wrapper)


async def measure(users: int, seconds: float, old_alerts: int) -> dict:
    repo, folder = temp_repository()
    try:
        now = time.time()
        with repo.db.atomic():
            for uid in range(1, users + 1):
                repo.db["users"].insert({"id": uid, "created_at": now, "active": 1, "paused": 0,
                                         "key_state": "valid", "plan": "hobbyist",
                                         "plan_limit": 30, "next_poll_at": now + uid % 300})
                repo.db["api_keys"].insert({"user_id": uid, "created_at": now,
                                            "ciphertext": repo.vault.encrypt(f"key-{uid:08d}")})
                for coin in COINS:
                    repo.db["subscriptions"].insert({"user_id": uid, "coin": coin,
                                                     "created_at": now})
            from core.storage.db import DUE_SQL
            repo.db.execute(DUE_SQL)
        builder = MemoryBuilder()
        poller = Poller(repo, builder, default_interval=300)
        scheduler = PollScheduler(repo, poller, max_concurrent=200)
        spent: dict[str, list[float]] = {}
        timed(repo, spent)
        stalls: list[float] = []
        running = True

        async def probe() -> None:
            while running:
                started = time.perf_counter()
                await asyncio.sleep(0.01)
                stalls.append(time.perf_counter() - started - 0.01)

        probe_task = asyncio.create_task(probe())
        ticks: list[float] = []
        end = time.time() + seconds
        while time.time() < end:
            started = time.perf_counter()
            await scheduler.tick()
            ticks.append(time.perf_counter() - started)
            await asyncio.sleep(0.5)
        await scheduler.shutdown(5.0)
        running = False
        await probe_task
        polls = len(spent.get("commit_poll", []))
        per_poll = [sum(spent.get(n, [0.0])[i] if i < len(spent.get(n, [])) else 0.0
                        for n in ("get_user", "coins", "api_key", "prefs", "alert_states",
                                  "mutes", "coin_states", "commit_poll"))
                    for i in range(polls)]
        figures = {
            "users": users, "coins_per_user": len(COINS), "seconds": seconds, "polls": polls,
            "polls_per_second": round(polls / seconds, 1),
            "sqlite_ms_per_poll_median": round(statistics.median(per_poll) * 1000, 3),
            "sqlite_ms_per_poll_p95": round(sorted(per_poll)[int(0.95 * (polls - 1))] * 1000, 3),
            "commit_ms_median": round(statistics.median(spent["commit_poll"]) * 1000, 3),
            "due_query_ms_median": round(statistics.median(spent["due_users"]) * 1000, 3),
            "tick_ms_max": round(max(ticks) * 1000, 1),
            "longest_stall_ms": round(max(stalls) * 1000, 1),
        }
        # Housekeeping over a large history: prune steps never hold the loop long.
        with repo.db.atomic():
            repo.db.conn.executemany(
                "INSERT INTO alerts (user_id, coin, kind, level, payload, created_at, status, "
                "attempts, next_attempt_at) VALUES (?, 'BTC', 'alert', 2, '{}', ?, 'sent', 1, 0)",
                [((i % users) + 1, now - 40 * 86400) for i in range(old_alerts)])
        steps = []
        while True:
            started = time.perf_counter()
            removed = repo.prune(alerts_older_than=now - 30 * 86400,
                                 counters_older_than=now - 8 * 86400)
            steps.append(time.perf_counter() - started)
            if not removed:
                break
            await asyncio.sleep(0)
        figures["old_alerts"] = old_alerts
        figures["prune_step_ms_max"] = round(max(steps) * 1000, 1)
        figures["prune_total_s"] = round(sum(steps), 2)
        figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
        return figures
    finally:
        repo.close()
        folder.cleanup()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.scheduler")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--old-alerts", type=int, default=600_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    setup_logging("WARNING")
    f = asyncio.run(measure(args.users, args.seconds, args.old_alerts))
    if args.json:
        print(json.dumps(f, indent=2))
        return f
    print(f"scheduler and storage: {f['users']} users × {f['coins_per_user']} coins, "
          f"CoinGlass from memory, {f['seconds']:g} s")
    print(f"  polls                  {f['polls']:8d} ({f['polls_per_second']} per second)")
    print(f"  SQLite per poll        {f['sqlite_ms_per_poll_median']:8.3f} ms median, "
          f"{f['sqlite_ms_per_poll_p95']} ms p95 (target ≤ 1 ms)")
    print(f"    of which the commit  {f['commit_ms_median']:8.3f} ms median")
    print(f"  due query per tick     {f['due_query_ms_median']:8.3f} ms median")
    print(f"  longest loop stall     {f['longest_stall_ms']:8.1f} ms (target ≤ 50)")
    print(f"  prune of {f['old_alerts']} rows   {f['prune_total_s']:6.2f} s in steps of at most "
          f"{f['prune_step_ms_max']} ms")
    print(f"  peak RSS               {f['peak_rss_mb']:8.1f} MB")
    return f


if __name__ == "__main__":
    main()
