"""Poll-cycle benchmark: 1,000 users × 3 coins, each user with their own Hobbyist key.

    python -m bench.poll_cycle [--users 1000]

The CoinGlass simulator runs in its own process on loopback. One cycle polls every user once
through the production scheduler and poller (snapshots, signals, alert decisions, SQLite
commits). The naive baseline then polls the same number of users (with their own fresh keys,
so neither run borrows the other's budget) one request at a time, as the reference monitor
does. Prints wall time, bot CPU per user·coin, requests per user·coin, CoinGlass 429s and
peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.harness import CoinGlassProcess, add_subscribers, peak_rss_mb, temp_repository
from core.coinglass.client import CoinGlassClient, make_http_client
from core.plans import Plan
from core.poller import Poller, PollScheduler
from core.snapshot import SnapshotBuilder

COINS = ["BTC", "ETH", "SOL"]


async def measure(users: int) -> dict:
    with CoinGlassProcess() as sim:
        cycle_keys = [f"bench-cycle-{i:05d}-0000000000" for i in range(users)]
        naive_keys = [f"bench-naive-{i:05d}-0000000000" for i in range(users)]
        await sim.add_keys(cycle_keys + naive_keys, "hobbyist")
        repo, folder = temp_repository()
        http = make_http_client(max_connections=200)
        try:
            client = CoinGlassClient(http, sim.base_url)
            # --- perpwatch: the production scheduler over every due user ----------------------
            add_subscribers(repo, 1, cycle_keys, COINS, Plan.HOBBYIST)
            poller = Poller(repo, SnapshotBuilder(client), default_interval=300)
            scheduler = PollScheduler(repo, poller, max_concurrent=200)
            await sim.reset_counters()
            cpu, wall = time.process_time(), time.perf_counter()
            outcomes = await scheduler.run_all_due()
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            rss = peak_rss_mb()
            stats = await sim.stats()
            cycle_keys_set = set(cycle_keys)
            per_key = [v for k, v in stats["keys"].items() if k in cycle_keys_set]
            requests = sum(v["requests"] for v in per_key)
            figures = {
                "users": users, "coins_per_user": len(COINS),
                "cycle_wall_s": round(wall, 2),
                "bot_cpu_ms_per_user_coin": round(cpu * 1000 / (users * len(COINS)), 3),
                "requests_per_user_coin": round(requests / (users * len(COINS)), 2),
                "coinglass_429": sum(v["count_429"] for v in per_key),
                "max_requests_one_key_any_minute": max(v["max_in_any_minute"] for v in per_key),
                "polls_completed": sum(1 for o in outcomes if o is not None),
                "peak_rss_mb": round(rss, 1),
            }
            # --- naive baseline: one request at a time, user after user -----------------------
            naive = SnapshotBuilder(CoinGlassClient(http, sim.base_url), concurrency_per_key=1)
            wall_naive = time.perf_counter()
            for key in naive_keys:
                await naive.build(key, Plan.HOBBYIST, COINS)
            wall_naive = time.perf_counter() - wall_naive
            figures["naive_wall_s"] = round(wall_naive, 2)
            figures["speedup_vs_naive"] = round(wall_naive / wall, 1)
            return figures
        finally:
            await http.aclose()
            repo.close()
            folder.cleanup()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.poll_cycle")
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.users))
    print("poll cycle: {users} users × {coins_per_user} coins, each with its own Hobbyist key"
          .format(**figures))
    print(f"  cycle wall time        {figures['cycle_wall_s']:8.2f} s "
          f"({figures['polls_completed']} polls completed)")
    print(f"  bot CPU                {figures['bot_cpu_ms_per_user_coin']:8.3f} ms per user·coin")
    print(f"  requests               {figures['requests_per_user_coin']:8.2f} per user·coin")
    print(f"  CoinGlass 429s         {figures['coinglass_429']:8d}   (target 0); busiest key "
          f"{figures['max_requests_one_key_any_minute']} requests in a minute (limit 30)")
    print(f"  peak RSS               {figures['peak_rss_mb']:8.1f} MB (target ≤ 250)")
    print(f"  naive baseline         {figures['naive_wall_s']:8.2f} s, one request at a time "
          f"→ perpwatch is {figures['speedup_vs_naive']}× faster")
    return figures


if __name__ == "__main__":
    main()
