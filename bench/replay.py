"""Threshold-preview replay: CPU per preview once the history is in memory.

    .venv/bin/python -m bench.replay [--coins 5] [--days 7] [--repeat 15] [--seed 7]

Builds synthetic CoinGlass-like histories (random-walk price and OI, funding drifting around
0.01 %, long/short shares around 50 %, liquidation and taker volumes with occasional spikes,
a few gaps) for ``--coins`` coins over ``--days`` days, at 1h and at 4h resolution. Each timed
run starts from fresh :class:`CoinHistory` objects, so building the per-candle snapshots is
included. Figures are CPU time (``time.process_time``), median of ``--repeat`` runs.

Target (SPEC §14, the lead's brief): 7 days × 5 coins × 3 threshold sets at 1h resolution
≤ 200 ms CPU in total.

Then, against the CoinGlass simulator (in process, over HTTP), the preview service as the bot
runs it (``core.previews``) on a Standard key (1h) and a Hobbyist key (4h) watching the same
coins: CoinGlass requests and wall time per preview, cold and with the history cached, and
the CPU of a cached preview (history in memory, replay of old and new values).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from typing import Callable

from core.replay import REPLAYABLE, CoinHistory, count_alerts, preview
from core.thresholds import PRESETS, ThresholdSet

T0 = 1_778_486_400.0          # 2026-05-11 08:00 UTC
PRICES = {"BTC": 95_000.0, "ETH": 3_200.0, "SOL": 180.0, "DOGE": 0.21, "XRP": 2.4,
          "BNB": 650.0, "ADA": 0.8, "AVAX": 35.0}


def history(coin: str, resolution: str, days: int, rng: random.Random) -> CoinHistory:
    step = 3600 if resolution == "1h" else 14400
    n = days * 86400 // step + 1              # +1: the first candle has no change to read
    scale = step / 3600
    price, oi = PRICES[coin], PRICES[coin] * 1e5
    series: dict[str, list] = {k: [] for k in (
        "price", "open_interest_usd", "funding_8h_pct", "liq_long_usd", "liq_short_usd",
        "global_long_pct", "top_long_pct", "taker_buy_usd", "taker_sell_usd")}
    long_pct = 50.0
    for _ in range(n):
        stress = rng.random() < 0.08
        price *= 1 + rng.gauss(0, (0.012 if stress else 0.004) * scale ** 0.5)
        oi *= 1 + rng.gauss(0, (0.04 if stress else 0.01) * scale ** 0.5)
        long_pct = min(80.0, max(20.0, long_pct + rng.gauss(0, 2)))
        volume = 2e8 * scale
        values = {
            "price": price, "open_interest_usd": oi,
            "funding_8h_pct": rng.gauss(0.01, 0.06 if stress else 0.02),
            "liq_long_usd": abs(rng.gauss(0, (4e7 if stress else 3e6) * scale)),
            "liq_short_usd": abs(rng.gauss(0, (4e7 if stress else 3e6) * scale)),
            "global_long_pct": long_pct, "top_long_pct": long_pct + rng.gauss(0, 6),
            "taker_buy_usd": volume * rng.uniform(0.3, 0.7),
            "taker_sell_usd": volume * rng.uniform(0.3, 0.7),
        }
        for name, value in values.items():
            series[name].append(None if rng.random() < 0.01 else value)
    return CoinHistory(coin, resolution, tuple(T0 + i * step for i in range(n)),
                       **{k: tuple(v) for k, v in series.items()})


def cpu_ms(run: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        samples.append((time.process_time() - start) * 1000.0)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coins", type=int, default=5)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    coins = list(PRICES)[:args.coins]
    sets = [ThresholdSet.resolve(PRESETS[name]) for name in ("conservative", "balanced",
                                                             "aggressive")]
    balanced, aggressive = sets[1], sets[2]
    print(f"Replay: {args.coins} coins × {args.days} days, CPU ms (median of {args.repeat})")
    print(f"{'resolution':<11}{'candles':>8}{'3 sets, all signals':>22}"
          f"{'preview liquidation_usd':>26}{'preview min_level':>20}")
    samples = []
    for resolution in ("1h", "4h"):
        rng = random.Random(args.seed)
        blueprint = [history(c, resolution, args.days, rng) for c in coins]

        def fresh() -> list[CoinHistory]:
            # New objects: the per-candle snapshots are rebuilt inside the timed run.
            return [CoinHistory(**{f: getattr(h, f) for f in h.__dataclass_fields__})
                    for h in blueprint]

        def three_sets() -> None:
            for h in fresh():
                for t in sets:
                    count_alerts(h, t, REPLAYABLE)

        def preview_liq() -> None:
            preview(fresh(), balanced, aggressive, "liquidation_usd")

        def preview_all() -> None:
            preview(fresh(), balanced, aggressive, "min_level")

        print(f"{resolution:<11}{len(blueprint[0].times):>8}"
              f"{cpu_ms(three_sets, args.repeat):>22.1f}"
              f"{cpu_ms(preview_liq, args.repeat):>26.1f}"
              f"{cpu_ms(preview_all, args.repeat):>20.1f}")
        result = preview(fresh(), balanced, aggressive, "liquidation_usd")
        samples.append(f"  {resolution}: liquidation_usd 50M → 20M on {', '.join(result.coins)}: "
                       f"{result.old_count} → {result.new_count} alerts")
    print("Sample previews (synthetic market):")
    print("\n".join(samples))
    print("Target: 3 sets at 1h ≤ 200 ms.")
    print()
    asyncio.run(service_figures(coins, args.repeat))


# The previews a user makes, in the order they make them (what is cached depends on it); each
# group starts with an empty cache.
SEQUENCES = (
    (("liquidation_usd 30M", ("liquidation_usd",), {"liquidation_usd": 30e6}),
     ("liquidation_usd 20M (cached)", ("liquidation_usd",), {"liquidation_usd": 20e6})),
    (("min_level LOW", ("min_level",), {"min_level": 1.0}),
     ("min_level HIGH (+ the 7th)", ("min_level",), {"min_level": 3.0}),
     ("divergence_gap 8", ("divergence_gap",), {"divergence_gap": 8.0}),
     ("preset aggressive (cached)", None, "aggressive")),
)


def script_week(market, coins: list[str]) -> None:
    """Known episodes in the past week, so the counts are not all zero."""
    now = market.now()
    day, hour = 86400.0, 3600.0
    for i, coin in enumerate(coins):
        funding_at = now - 5 * day + i * hour
        market.script_history(coin, funding_at, until=funding_at + 8 * hour, funding_pct=0.15)
        market.script_history(coin, now - 4 * day - i * hour, liquidation_short_usd=40e6)
        oi_at = now - 3 * day + i * hour
        market.script_history(coin, oi_at, until=oi_at + 2 * hour, oi_change_pct=6.0,
                              price_pct=-2.0)
        market.script_history(coin, now - 2 * day - i * hour, liquidation_long_usd=80e6)
        market.script_history(coin, now - day, until=now - day + 6 * hour, long_pct=70.0,
                              top_long_pct=55.0)


async def service_figures(coins: list[str], repeat: int) -> None:
    """Requests and time per preview through the preview service, against the simulator."""
    import httpx
    from cryptography.fernet import Fernet

    from core.coinglass.client import CoinGlassClient
    from core.evaluation import Prefs
    from core.headroom import Headroom
    from core.plans import PLAN_INFO, Plan
    from core.previews import PreviewAsk, PreviewService
    from core.snapshot import SnapshotBuilder
    from core.storage.crypto import KeyVault
    from core.storage.db import open_database
    from core.storage.repo import Repository
    from core.thresholds import PRESETS
    from sim.coinglass import CoinGlassSim

    def ask_for(names, values) -> PreviewAsk:
        if names is None:
            return PreviewAsk(1, tuple(PRESETS[values]), Prefs({}),
                              Prefs(dict(PRESETS[values])), preset=values)
        return PreviewAsk(1, names, Prefs({}), Prefs(values))

    sim = CoinGlassSim(refresh_scale=0, ws_background=False)
    plans = {Plan.STANDARD: "standard-bench-key-00000000001",
             Plan.HOBBYIST: "hobbyist-bench-key-00000000002"}
    for plan, key in plans.items():
        sim.add_key(key, plan.name.lower())
    script_week(sim.market, coins)
    await sim.start()
    try:
        async with httpx.AsyncClient(timeout=15.0) as http:
            client = CoinGlassClient(http, sim.base_url)
            for plan, key in plans.items():
                repo = Repository(open_database(":memory:"),
                                  KeyVault(Fernet.generate_key().decode()))
                repo.ensure_user(1)
                repo.store_key(1, key, plan, PLAN_INFO[plan].per_minute, None)
                repo.add_coins(1, coins)
                repo.pause(1, None)      # not polled: the key's room is the previews' own
                print(f"Preview service, {plan.title} key ({len(coins)} coins, "
                      f"{'4h' if plan == Plan.HOBBYIST else '1h'} candles, "
                      f"{PLAN_INFO[plan].per_minute} requests/min):")
                print(f"  {'preview':<30}{'requests':>9}{'per coin':>9}{'wall ms':>9}"
                      f"{'alerts new/old':>16}  left out")
                for sequence in SEQUENCES:
                    service = PreviewService(repo, Headroom(SnapshotBuilder(client)),
                                             default_interval=None)
                    for label, names, values in sequence:
                        before = sim.request_count(key)
                        start = time.perf_counter()
                        result = await service.run(service.prepare(ask_for(names, values)))
                        wall = (time.perf_counter() - start) * 1000
                        made = sim.request_count(key) - before
                        p = result.preview
                        counts = f"{p.new_count}/{p.old_count}" if p else result.error
                        print(f"  {label:<30}{made:>9}{made / len(coins):>9.1f}{wall:>9.0f}"
                              f"{counts:>16}  {', '.join(result.plan.dropped) or '—'}")
                # CPU of a cached preview: the replay alone (every series is cached now).
                everything = service.prepare(ask_for(("min_level",), {"min_level": 1.0}))
                data = {c: {s: service.loader.cached(key, c, everything.resolution, s)
                            for s in everything.series} for c in coins}
                ms = cpu_ms(lambda: service.replay(everything, data), repeat)
                print(f"  a cached preview of every signal (old + new values), CPU: {ms:.1f} ms")
                repo.close()
    finally:
        await sim.stop()

if __name__ == "__main__":
    main()
