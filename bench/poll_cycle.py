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


def _key_totals(stats: dict, keys: set[str]) -> tuple[int, int, int, int]:
    """(requests, bytes, 429s, busiest minute) over ``keys``."""
    per_key = [v for k, v in stats["keys"].items() if k in keys]
    return (sum(v["requests"] for v in per_key), sum(v.get("bytes", 0) for v in per_key),
            sum(v["count_429"] for v in per_key),
            max((v["max_in_any_minute"] for v in per_key), default=0))


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
            poller = Poller(repo, SnapshotBuilder(client), default_interval=None)
            scheduler = PollScheduler(repo, poller, max_concurrent=200, batch=users)
            budget = poller.budget(repo.get_user(1), len(COINS))
            keys = set(cycle_keys)
            figures = {"users": users, "coins_per_user": len(COINS),
                       "interval_s": budget.interval, "funding_source": budget.funding}
            # Cycle 1 is a first poll (everything is due); cycle 2 runs one interval later on
            # the poller's clock, as steady polling does (only what is stale is fetched).
            for name in ("first", "steady"):
                await sim.reset_counters()
                if name == "steady":
                    repo.db.execute("UPDATE users SET next_poll_at = 0, due_at = 0")
                cpu, wall = time.process_time(), time.perf_counter()
                outcomes = await scheduler.run_all_due()
                wall = time.perf_counter() - wall
                cpu = time.process_time() - cpu
                requests, body_bytes, c429, busiest = _key_totals(await sim.stats(), keys)
                figures[f"{name}_wall_s"] = round(wall, 2)
                figures[f"{name}_polls"] = sum(1 for o in outcomes if o is not None)
                figures[f"{name}_cpu_ms_per_user_coin"] = round(
                    cpu * 1000 / (users * len(COINS)), 3)
                figures[f"{name}_requests_per_user_coin"] = round(
                    requests / (users * len(COINS)), 2)
                figures[f"{name}_kb_per_user"] = round(body_bytes / users / 1024, 1)
                figures[f"{name}_429"] = c429
            figures["requests_per_user_coin_minute"] = round(
                budget.requests_per_minute / len(COINS), 2)
            figures["coinglass_429"] = figures["first_429"] + figures["steady_429"]
            figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
            # Bytes a minute: the steady poll's figures every interval; the rest (slow sources)
            # averaged over the funding source's period, which dominates them by size.
            from core import freshness as fr
            period = fr.fetch_period(fr.SOURCES[budget.funding], budget.interval)
            slow_kb = max(0.0, figures["first_kb_per_user"] - figures["steady_kb_per_user"])
            figures["kb_per_user_minute"] = round(
                figures["steady_kb_per_user"] * 60 / budget.interval + slow_kb * 60 / period, 1)
            # --- naive baseline: blocking, one request at a time, user after user -------------
            wall_naive, naive_requests = await asyncio.to_thread(naive_cycle, sim.base_url,
                                                                 naive_keys)
            figures["naive_wall_s"] = round(wall_naive, 2)
            figures["naive_requests_per_user_coin"] = round(
                naive_requests / (users * len(COINS)), 2)
            figures["speedup_vs_naive"] = round(wall_naive / figures["first_wall_s"], 1)
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
    f = figures
    print(f"poll cycle: {f['users']} users × {f['coins_per_user']} coins, each with its own "
          f"Hobbyist key (auto interval {f['interval_s']} s, funding from {f['funding_source']}), "
          f"{f['latency_ms']:g} ms simulated latency, CoinGlass's all-coins lists at real size")
    for name, what in (("first", "first poll (everything due)"),
                       ("steady", "steady poll (only what is stale)")):
        print(f"  {what}")
        print(f"    wall time            {f[name + '_wall_s']:8.2f} s ({f[name + '_polls']} polls)")
        print(f"    bot CPU              {f[name + '_cpu_ms_per_user_coin']:8.3f} ms per user·coin")
        print(f"    requests             {f[name + '_requests_per_user_coin']:8.2f} per user·coin")
        print(f"    downloaded           {f[name + '_kb_per_user']:8.1f} KB per user")
    print(f"  steady cost            {f['requests_per_user_coin_minute']:8.2f} requests per "
          f"user·coin·minute; {f['kb_per_user_minute']} KB per user·minute")
    print(f"  CoinGlass 429s         {f['coinglass_429']:8d}   (target 0)")
    print(f"  peak RSS               {f['peak_rss_mb']:8.1f} MB (target ≤ 250)")
    print(f"  naive baseline         {f['naive_wall_s']:8.2f} s, blocking, one request at a "
          f"time ({f['naive_requests_per_user_coin']} requests per user·coin) → perpwatch's "
          f"first poll is {f['speedup_vs_naive']}× faster")
    return figures


if __name__ == "__main__":
    main()
