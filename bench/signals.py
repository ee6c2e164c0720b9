"""Signal-engine throughput: evaluations per second on one core.

    .venv/bin/python -m bench.signals [--n 100000] [--pool 2000] [--seed 7]

Builds a varied pool of snapshots (calm and stressed markets, every plan, some sections
missing or refused, a few values the rules cannot use) and evaluates ``n`` of them in turn
with three threshold sets. Prints the figures; the target is ≥ 20,000 evaluations/s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from core.market import (
    SECTION_MIN_PLAN, AccountRatio, BalanceSection, ClusterSection, DominanceSection,
    ExchangeBalance, ExchangeOpenInterest, FundingSection, FundingVenue, LiquidationCluster,
    LiquidationSection, MarketSnapshot, Missing, MissingReason, NetflowSection,
    OpenInterestSection, PriceSection, TakerSection, Wall, WallSection, WhaleMove, WhaleSection,
)
from core.plans import Plan
from core.signals.engine import evaluate
from core.thresholds import PRESETS, ThresholdSet

T0 = datetime(2026, 5, 11, 8, 0, tzinfo=timezone.utc)
COINS = {"BTC": 95_000.0, "ETH": 3_200.0, "SOL": 180.0, "DOGE": 0.21, "PEPE": 0.0000123}


def _snapshot(rng: random.Random) -> MarketSnapshot:
    coin = rng.choice(list(COINS))
    last = COINS[coin] * rng.uniform(0.9, 1.1)
    plan = rng.choice(list(Plan))
    # Most polls see a quiet market; about one in three a stressed one.
    stress = rng.uniform(0, 0.3) if rng.random() < 0.7 else rng.uniform(0.3, 1.0)
    g = rng.gauss
    t = T0 - timedelta(seconds=rng.randint(0, 600))
    window = "1h" if plan >= Plan.STARTUP else "4h"
    n_venues = rng.randint(1, 12)
    avg = g(0.01, 0.12 * stress)
    sections: dict[str, object] = {
        "funding": FundingSection(
            tuple(FundingVenue(f"EX{i}", "stablecoin", avg + g(0, 0.01), rng.choice((1, 4, 8)))
                  for i in range(n_venues)),
            avg, f"OI-weighted mean of {n_venues} USDT-margined venues", avg, t),
        "open_interest": OpenInterestSection(
            rng.uniform(1e8, 4e10),
            {"1h": g(0, 6 * stress), "4h": g(0, 8 * stress), "24h": g(0, 12 * stress)},
            (ExchangeOpenInterest("Binance", 1e9),), t),
        "liquidations": LiquidationSection("1h", abs(g(0, 8e7 * stress)),
                                           abs(g(0, 8e7 * stress)), t),
        "taker": TakerSection("1h", (buy := rng.uniform(1e7, 1e9)),
                              buy * rng.uniform(1 - 0.6 * stress, 1 + 1.2 * stress), t),
        "global_ls": AccountRatio((gl := 50 + g(0, 3 + 12 * stress)), 100 - gl, "Binance",
                                  f"{coin}USDT", "1h", t),
        "top_ls": AccountRatio((tl := gl + g(0, 2 + 10 * stress)), 100 - tl, "Binance",
                               f"{coin}USDT", "1h", t),
        "price": PriceSection(last, window, g(0, 3 * stress), t),
        "balances": BalanceSection(
            tuple(ExchangeBalance(f"EX{i}", (b := rng.uniform(1e3, 1e6)), b * g(0, 0.02 * stress),
                                  None) for i in range(rng.randint(1, 6))), t),
        "dominance": DominanceSection(rng.uniform(40, 65), g(0, stress), None, t),
        "netflow": NetflowSection({"1h": g(0, 2e8 * stress), "24h": g(0, 5e8)}, t),
        "whales": WhaleSection(tuple(
            WhaleMove(f"0x{rng.getrandbits(160):040x}", rng.choice(("long", "short")),
                      rng.choice(("open", "close")), 1.0, rng.uniform(1e6, 3e7), last,
                      last * rng.uniform(0.3, 1.7), t)
            for _ in range(rng.randint(0, 4))), t),
        "walls": WallSection(tuple(
            Wall((side := rng.choice(("bid", "ask"))),
                 last * (1 + (-1 if side == "bid" else 1) * rng.uniform(0, 0.03)),
                 rng.uniform(1e6, 2e7), "Binance", f"{coin}USDT")
            for _ in range(rng.randint(0, 5))), t),
        "clusters": ClusterSection(tuple(
            LiquidationCluster(last * (1 + (-1 if s == "long" else 1) * rng.uniform(0, 0.05)),
                               rng.uniform(1e7, 4e8), s)
            for s in (rng.choice(("long", "short")) for _ in range(rng.randint(0, 6)))), "1d", t),
    }
    missing: dict[str, Missing] = {}
    for name in list(sections):
        if plan < SECTION_MIN_PLAN[name]:
            missing[name] = Missing(MissingReason.NOT_IN_PLAN)
        elif rng.random() < 0.04:
            missing[name] = Missing(rng.choice([r for r in MissingReason
                                                if r is not MissingReason.NOT_IN_PLAN]), "bench")
        else:
            continue
        del sections[name]
    return MarketSnapshot(coin, plan, T0, missing=missing, **sections)


def _time(jobs: list[tuple[MarketSnapshot, ThresholdSet]]) -> tuple[float, int]:
    produced = 0
    start = time.perf_counter()
    for s, th in jobs:
        produced += len(evaluate(s, th).signals)
    return time.perf_counter() - start, produced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="evaluations to time")
    parser.add_argument("--pool", type=int, default=2_000, help="distinct snapshots")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    pool = [_snapshot(rng) for _ in range(args.pool)]
    sets = [ThresholdSet.resolve(PRESETS[name]) for name in ("conservative", "balanced",
                                                             "aggressive")]
    jobs = [(pool[i % len(pool)], sets[i % len(sets)]) for i in range(args.n)]

    for s, th in jobs[:1000]:       # warm up
        evaluate(s, th)
    elapsed, produced = _time(jobs)
    levels: Counter[str] = Counter()
    busy = []                       # the worst case: snapshots that fire three signals or more
    for s, th in jobs[: len(pool) * 3]:
        signals = evaluate(s, th).signals
        levels.update(sig.level.name for sig in signals)
        if len(signals) >= 3:
            busy.append((s, th))
    busy_jobs = [busy[i % len(busy)] for i in range(args.n)] if busy else []
    busy_elapsed, busy_produced = _time(busy_jobs) if busy else (0.0, 0)

    print(f"signal engine: {args.n:,} evaluations of {len(pool):,} snapshots "
          f"× 3 threshold presets in {elapsed:.3f} s")
    print(f"  {args.n / elapsed:,.0f} evaluations/s, {elapsed / args.n * 1e6:.1f} µs/evaluation "
          f"(target ≥ 20,000/s); {produced / args.n:.2f} signals/evaluation")
    print("  levels over one pass of the pool: "
          + ", ".join(f"{k} {v}" for k, v in sorted(levels.items())))
    if busy:
        print(f"  busy markets only (≥ 3 signals, {len(busy):,} of the pass): "
              f"{args.n / busy_elapsed:,.0f} evaluations/s, "
              f"{busy_elapsed / args.n * 1e6:.1f} µs/evaluation; "
              f"{busy_produced / args.n:.2f} signals/evaluation")
    print(f"  Python {sys.version.split()[0]}, one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
