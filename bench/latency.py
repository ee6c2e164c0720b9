"""Alert latency: from the moment a cascade happens to the alert in Telegram (SPEC §10).

    python -m bench.latency [--users 200] [--plan hobbyist|startup|standard] [--warmup 60]

The production bot (``build_application`` with its JobQueue, poller, outbox and pacer) runs
against a CoinGlass simulator in its own process refreshing at CoinGlass's documented paces
(10 s for the liquidation and OI lists) and a Telegram simulator enforcing Telegram's windows
strictly. Every user has their own key of the plan, 3 coins and the ``auto`` interval. After
a calm warm-up, a BTC liquidation cascade happens at a random moment; the benchmark records
when each user's alert reached Telegram.

Printed: event → alert (median, p95, max) beside the floor it is compared with (CoinGlass's
refresh plus half the interval, on average), the interval the budget gave, requests per
user·coin·minute and CoinGlass 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from bench.harness import CoinGlassProcess, peak_rss_mb
from bot.app import build_application, running
from bot.logs import setup_logging
from bot.services import SERVICES_KEY
from core.budget import plan_budget
from core.config import load_settings
from core.plans import Plan
from sim.telegram import TelegramSim

COINS = ["BTC", "ETH", "SOL"]
FIRST_USER = 7_000_000
TARGETS = {Plan.HOBBYIST: (20.0, 40.0), Plan.STARTUP: (12.0, 25.0), Plan.STANDARD: (12.0, 25.0)}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def measure(users: int, plan: Plan, warmup: float, folder: Path, seed: int) -> dict:
    rng = random.Random(seed)
    tg = TelegramSim()
    await tg.start()
    with CoinGlassProcess() as cg:
        keys = [f"latency-{plan.name.lower()}-{i:05d}-000000" for i in range(users)]
        await cg.add_keys(keys, plan.name.lower())
        settings = load_settings({
            "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url,
            "COINGLASS_BASE_URL": cg.base_url, "DATABASE_PATH": str(folder / "latency.db"),
            "PERPWATCH_SECRET_KEY": Fernet.generate_key().decode(),
            "POLL_INTERVAL_SECONDS": "auto", "COINGLASS_WS_URL": "off",
        }, env_file=None)
        app = build_application(settings)
        arrived: dict[int, float] = {}
        ids = list(range(FIRST_USER, FIRST_USER + users))

        def on_message(message) -> None:
            first = message.text.split("\n", 1)[0]
            if message.chat_id in arrived or " BTC " not in first + " ":
                return
            if any((d or "").startswith("al:") for row in message.buttons for _, d in row):
                arrived[message.chat_id] = time.time()

        async with running(app):
            svc = app.bot_data[SERVICES_KEY]
            for user, key in zip(ids, keys):
                tg.user_sends(user, "/start")          # the chat exists
                svc.repo.ensure_user(user)
                svc.repo.store_key(user, key, plan, plan.info.per_minute, None)
                svc.repo.add_coins(user, COINS)
            svc.scheduler.stagger()                    # as after a start: spread over the interval
            await asyncio.sleep(warmup)                # calm market, steady polling
            await cg.reset_counters()
            await asyncio.sleep(rng.uniform(0, 10))    # a random moment
            stop = tg.add_listener(on_message)
            async with httpx.AsyncClient(base_url=cg.base_url) as http:
                event = time.time()
                await http.post("/_sim/scenario/cascade/BTC", json={})
            deadline = event + 120
            while len(arrived) < users and time.time() < deadline:
                await asyncio.sleep(0.2)
            stop()
            elapsed = time.time() - event
            stats = await cg.stats()
            budget = plan_budget(plan, len(COINS))
        await tg.stop()
    delays = [arrived[u] - event for u in ids if u in arrived]
    requests = sum(v["requests"] for k, v in stats["keys"].items() if k in set(keys))
    figures = {
        "plan": plan.title, "users": users, "coins_per_user": len(COINS),
        "interval_s": budget.interval, "alerted": len(delays),
        "median_s": round(statistics.median(delays), 1) if delays else None,
        "p95_s": round(percentile(delays, 0.95), 1) if delays else None,
        "max_s": round(max(delays), 1) if delays else None,
        "floor_s": round(5.0 + budget.interval / 2, 1),
        "requests_per_user_coin_minute": round(requests / users / len(COINS) / (elapsed / 60), 2),
        "coinglass_429": stats["count_429"], "telegram_429": tg.count_429(),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    figures["target_median_s"], figures["target_max_s"] = TARGETS.get(plan, (12.0, 25.0))
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.latency")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--plan", default="hobbyist",
                        choices=["hobbyist", "startup", "standard", "professional"])
    parser.add_argument("--warmup", type=float, default=60.0,
                        help="seconds of calm polling before the cascade")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    setup_logging("WARNING")
    plan = Plan.parse(args.plan)
    with tempfile.TemporaryDirectory(prefix="perpwatch-latency-") as folder:
        f = asyncio.run(measure(args.users, plan, args.warmup, Path(folder), args.seed))
    print(f"alert latency: {f['users']} users × {f['coins_per_user']} coins on their own "
          f"{f['plan']} keys, auto interval {f['interval_s']} s, CoinGlass paces as documented")
    print(f"  alerted                {f['alerted']:8d} of {f['users']}")
    print(f"  event → alert median   {f['median_s']:8} s (target ≤ {f['target_median_s']:g})")
    print(f"  event → alert p95      {f['p95_s']:8} s")
    print(f"  event → alert max      {f['max_s']:8} s (target ≤ {f['target_max_s']:g})")
    print(f"  floor (avg)            {f['floor_s']:8} s (CoinGlass's 10 s refresh / 2 + "
          f"interval / 2)")
    print(f"  requests               {f['requests_per_user_coin_minute']:8} per user·coin·minute")
    print(f"  CoinGlass 429s         {f['coinglass_429']:8d}   (target 0); Telegram 429s "
          f"{f['telegram_429']}")
    print(f"  peak RSS               {f['peak_rss_mb']:8.1f} MB")
    return f


if __name__ == "__main__":
    main()
