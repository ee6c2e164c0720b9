"""Position-guard cost in the poll: one position's guard and alert decision, on one core.

    .venv/bin/python -m bench.guard [--n 50000] [--pool 2000] [--seed 7]

The same varied snapshots as ``bench.signals`` (calm and stressed markets, every plan, some
sections missing), each with a declared position near its price (long or short, with or
without stop and take-profit, some already LOCKED): ``core.guard_alerts.decide_guard`` runs
the guard, the alert decision and builds the outbox row when advice is due, as the poll does
once per position. Prints the time per position beside the signal engine's per coin.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import datetime, timezone

from bench.signals import _snapshot
from core.guard_alerts import Guarded, decide_guard
from core.position_guard import GuardState, Phase, Position
from core.signals.engine import evaluate
from core.thresholds import ThresholdSet

OPENED = datetime(2026, 5, 11, 6, 0, tzinfo=timezone.utc)
NOW = 1_800_000_000.0


def _position(rng: random.Random, price: float, coin: str) -> Guarded:
    side = rng.choice(("long", "short"))
    sign = 1 if side == "long" else -1
    entry = price * (1 - sign * rng.uniform(-0.02, 0.02))
    stop = entry * (1 - sign * rng.uniform(0.005, 0.04)) if rng.random() < 0.7 else None
    tp = entry * (1 + sign * rng.uniform(0.01, 0.08)) if rng.random() < 0.5 else None
    position = Position(coin, side, entry, stop, tp, OPENED)
    if rng.random() < 0.3:          # some already locked, trailing
        best = entry * (1 + sign * 0.03)
        return Guarded(position, GuardState(Phase.LOCKED, best, best * (1 - sign * 0.01)))
    return Guarded(position, GuardState.start(position))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="guard decisions to time")
    parser.add_argument("--pool", type=int, default=2_000, help="distinct snapshots")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    th = ThresholdSet.resolve({})
    pool = []
    for _ in range(args.pool):
        snap = _snapshot(rng)
        price = snap.price.price if snap.price is not None else 100.0
        pool.append((snap, _position(rng, price, snap.coin), evaluate(snap, th)))
    jobs = [pool[i % len(pool)] for i in range(args.n)]

    for snap, guarded, evaluation in jobs[:1000]:      # warm up
        decide_guard(guarded, snap, th, {}, NOW, evaluation=evaluation)
    kinds: Counter[str] = Counter()
    rows = 0
    start = time.perf_counter()
    for snap, guarded, evaluation in jobs:
        step = decide_guard(guarded, snap, th, {}, NOW, evaluation=evaluation)
        rows += step.alert is not None
    elapsed = time.perf_counter() - start
    for snap, guarded, evaluation in pool:
        step = decide_guard(guarded, snap, th, {}, NOW, evaluation=evaluation)
        kinds.update(sid.split(":", 1)[1] for sid in step.alert_states)

    start = time.perf_counter()
    for snap, _, _ in jobs:
        evaluate(snap, th)
    engine = time.perf_counter() - start

    print(f"position guard: {args.n:,} decisions over {len(pool):,} snapshots and positions "
          f"in {elapsed:.3f} s")
    print(f"  {elapsed / args.n * 1e6:.1f} µs per position per poll (guard, alert decision and "
          f"the outbox row when due; {rows / args.n:.0%} produced one)")
    print(f"  the signal engine on the same snapshots: {engine / args.n * 1e6:.1f} µs per coin")
    print("  advice over one pass of the pool: "
          + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    print(f"  Python {sys.version.split()[0]}, one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
