"""Poll-cycle benchmark: 1,000 users × 3 coins, each user with their own Hobbyist key.

    python -m bench.poll_cycle [--users 1000] [--latency-ms 0]

The CoinGlass simulator runs in its own process on loopback. One cycle polls every user once
through the production scheduler and poller (snapshots, signals, alert decisions, SQLite
commits). The naive baseline then polls the same number of users (with their own fresh keys,
so neither run borrows the other's budget) the way the reference monitor does: blocking
calls, one request at a time, every endpoint per coin (the all-coins funding list included).
``--latency-ms`` makes the simulator answer every request that much later, as a real network
would. Prints wall time, bot CPU per user·coin, requests per user·coin, CoinGlass 429s and
peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.harness import CoinGlassProcess, add_subscribers, peak_rss_mb, temp_repository
from bot.logs import setup_logging
from core.coinglass import paths
from core.coinglass.client import CoinGlassClient, make_http_client
from core.plans import Plan
from core.poller import Poller, PollScheduler
from core.snapshot import SnapshotBuilder

COINS = ["BTC", "ETH", "SOL"]


def naive_cycle(base_url: str, keys: list[str]) -> tuple[float, int]:
    """The reference monitor's loop: for each coin, each endpoint in turn, blocking."""
    requests = 0
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=15.0) as http:
        for key in keys:
            headers = {"CG-API-KEY": key}
            for coin in COINS:
                pair = f"{coin}USDT"
                for path, params in (
                    (paths.FUNDING_EXCHANGE_LIST, {}),
                    (paths.OI_EXCHANGE_LIST, {"symbol": coin}),
                    (paths.LIQUIDATION_EXCHANGE_LIST, {"symbol": coin, "range": "1h"}),
                    (paths.TAKER_EXCHANGE_LIST, {"symbol": coin, "range": "1h"}),
                    (paths.GLOBAL_LONG_SHORT_HISTORY,
                     {"exchange": "Binance", "symbol": pair, "interval": "4h", "limit": 1}),
                    (paths.TOP_LONG_SHORT_ACCOUNT_HISTORY,
                     {"exchange": "Binance", "symbol": pair, "interval": "4h", "limit": 1}),
                    (paths.PRICE_HISTORY,
                     {"exchange": "Binance", "symbol": pair, "interval": "4h", "limit": 3}),
                ):
                    http.get(path, params=params, headers=headers).json()
                    requests += 1
    return time.perf_counter() - started, requests


async def measure(users: int, latency_ms: float = 0.0) -> dict:
    with CoinGlassProcess() as sim:
        if latency_ms:
            await sim.inject_latency(latency_ms / 1000.0)
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
            # --- naive baseline: blocking, one request at a time, user after user -------------
            wall_naive, naive_requests = await asyncio.to_thread(naive_cycle, sim.base_url,
                                                                 naive_keys)
            figures["naive_wall_s"] = round(wall_naive, 2)
            figures["naive_requests_per_user_coin"] = round(
                naive_requests / (users * len(COINS)), 2)
            figures["speedup_vs_naive"] = round(wall_naive / wall, 1)
            return figures
        finally:
            await http.aclose()
            repo.close()
            folder.cleanup()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.poll_cycle")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="simulated network latency of every CoinGlass request")
    args = parser.parse_args(argv)
    setup_logging("WARNING")
    figures = asyncio.run(measure(args.users, args.latency_ms))
    figures["latency_ms"] = args.latency_ms
    print("poll cycle: {users} users × {coins_per_user} coins, each with its own Hobbyist key, "
          "{latency_ms:g} ms simulated latency".format(**figures))
    print(f"  cycle wall time        {figures['cycle_wall_s']:8.2f} s "
          f"({figures['polls_completed']} polls completed)")
    print(f"  bot CPU                {figures['bot_cpu_ms_per_user_coin']:8.3f} ms per user·coin")
    print(f"  requests               {figures['requests_per_user_coin']:8.2f} per user·coin")
    print(f"  CoinGlass 429s         {figures['coinglass_429']:8d}   (target 0); busiest key "
          f"{figures['max_requests_one_key_any_minute']} requests in a minute (limit 30)")
    print(f"  peak RSS               {figures['peak_rss_mb']:8.1f} MB (target ≤ 250)")
    print(f"  naive baseline         {figures['naive_wall_s']:8.2f} s, blocking, one request at a "
          f"time ({figures['naive_requests_per_user_coin']} requests per user·coin) → perpwatch "
          f"is {figures['speedup_vs_naive']}× faster")
    return figures


if __name__ == "__main__":
    main()
