"""What the user's own rules add to a poll: deciding them, reading them, committing them.

    .venv/bin/python -m bench.rules [--users 200] [--rules 50] [--polls 20]

Every user holds ``--rules`` rules (the cap is 50) on 3 coins, half of them on a coin they
do not subscribe. Each simulated poll of each user reads the poll's context from SQLite (the
rules with it), decides the rules on the poll's snapshots (``core/rule_alerts.py``; prices
drift so some rules cross) and commits the rule updates and outbox rows in the poll's one
transaction. The same work without rules is measured alongside, so the difference is what
rules cost. Pure CPU and SQLite on one core; no network.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from cryptography.fernet import Fernet

from core.evaluation import Prefs
from core.market import FundingSection, FundingVenue, MarketSnapshot, PriceSection
from core.plans import Plan
from core.rule_alerts import decide_rules
from core.signals.model import Level
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import PollWrite, Repository
from core.user_rules import Mode, Op, RuleSpec

COINS = {"BTC": 95_000.0, "ETH": 3_200.0, "SOL": 180.0, "AVAX": 30.0}


def _setup(repo: Repository, users: int, rules: int, rng: random.Random) -> None:
    for uid in range(1, users + 1):
        repo.ensure_user(uid)
        repo.store_key(uid, f"bench-key-{uid:06d}", Plan.STARTUP, 80, None)
        repo.add_coins(uid, ["BTC", "ETH"])
        for i in range(rules):
            coin = ("BTC", "ETH", "SOL")[i % 3]
            if i % 4 == 3:
                spec = RuleSpec(coin, "funding", Op.LT, -0.03, Mode.REPEAT)
            else:
                level = COINS[coin] * rng.uniform(0.97, 1.03)
                spec = RuleSpec(coin, "price", rng.choice((Op.GT, Op.LT, Op.CROSSES)),
                                round(level, 2), rng.choice((Mode.ONCE, Mode.REPEAT)))
            repo.add_rule(uid, spec)


def _snapshot(coin: str, rng: random.Random) -> MarketSnapshot:
    """Price and funding as a poll would see them (the figures these rules read)."""
    t = datetime.now(timezone.utc)
    rate = rng.gauss(0.0, 0.03)
    venues = (FundingVenue("Binance", "stablecoin", rate, 8.0),)
    return MarketSnapshot(coin, Plan.STARTUP, t, missing={},
                          price=PriceSection(COINS[coin] * rng.uniform(0.96, 1.04), "1h", 0.5, t),
                          funding=FundingSection(venues, rate, "bench", rate, t))


def _poll(repo: Repository, uid: int, now: float, rng: random.Random,
          with_rules: bool) -> tuple[float, float, float, int]:
    """One poll's rule work: (read s, decide s, commit s, alerts)."""
    t0 = time.perf_counter()
    rules = tuple(repo.rules(uid)) if with_rules else ()
    coins = repo.polled_coins(uid, rules) if with_rules else repo.coins(uid)
    prefs = Prefs()
    t1 = time.perf_counter()
    snapshots = {c: _snapshot(c, rng) for c in coins}
    t2 = time.perf_counter()
    step = decide_rules(rules, snapshots, now, mutes={},
                        cooldown_seconds=lambda coin: prefs.thresholds(coin)
                        .cooldown_minutes(Level.MEDIUM) * 60.0) if rules else None
    t3 = time.perf_counter()
    write = PollWrite(user_changes={"last_poll_at": now})
    if step is not None:
        write.rule_updates.update(step.updates)
        write.alerts.extend(step.alerts)
    repo.commit_poll(uid, write)
    t4 = time.perf_counter()
    return t1 - t0, t3 - t2, t4 - t3, len(write.alerts)


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:.2f} ms (p95 {sorted(values)[int(len(values) * 0.95)] * 1e3:.2f})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repository(open_database(Path(tmp) / "bench.db"),
                          KeyVault(Fernet.generate_key().decode()))
        started = time.perf_counter()
        _setup(repo, args.users, args.rules, rng)
        setup_s = time.perf_counter() - started
        results = {True: ([], [], [], []), False: ([], [], [], [])}
        now = time.time()
        for n in range(args.polls):
            for uid in range(1, args.users + 1):
                for with_rules in (True, False):
                    for bucket, value in zip(results[with_rules],
                                             _poll(repo, uid, now + n * 60, rng, with_rules)):
                        bucket.append(value)
        repo.close()
    polls = args.users * args.polls
    read, decide, commit, alerts = results[True]
    base_read, _, base_commit, _ = results[False]
    print(f"rules: {args.users} users × {args.rules} rules, {args.polls} polls each "
          f"({polls} polls), set-up {setup_s:.1f} s")
    print(f"  read context rules+coins : {_ms(read)}   without rules: {_ms(base_read)}")
    print(f"  decide {args.rules} rules         : {_ms(decide)}")
    print(f"  commit (rules + outbox)  : {_ms(commit)}   without rules: {_ms(base_commit)}")
    extra = (statistics.median(read) + statistics.median(decide) + statistics.median(commit)
             - statistics.median(base_read) - statistics.median(base_commit))
    print(f"  rules add per poll       : {extra * 1e3:.2f} ms (median); "
          f"{sum(alerts)} rule alerts queued in {polls} polls")


if __name__ == "__main__":
    main()
