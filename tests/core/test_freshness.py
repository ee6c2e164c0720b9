"""Freshness: each source fetched at its pace, slow values kept with their time and never used
past their age, and the budget counting exactly what the builder fetches."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

import pytest

from core import freshness as fr
from core.budget import plan_budget
from core.coinglass import paths
from core.coinglass.client import CoinGlassClient, make_http_client
from core.coinglass.ratelimit import LimiterRegistry
from core.market import MissingReason
from core.plans import Plan
from core.snapshot import SnapshotBuilder
from sim.coinglass import CoinGlassSim

KEY = "hobbyist-fresh-key-000000001"
ROOMY = "professional-fresh-key-000004"   # a Hobbyist budget on a key the simulator never limits
STANDARD = "standard-fresh-key-000000002"
STARTUP = "startup-fresh-key-0000000003"


@pytest.fixture
async def sim() -> AsyncIterator[CoinGlassSim]:
    server = CoinGlassSim(refresh_scale=0)       # CoinGlass live: our own paces under test
    server.add_key(KEY, "hobbyist")
    server.add_key(STANDARD, "standard")
    server.add_key(STARTUP, "startup")
    server.add_key(ROOMY, "professional")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(sim) -> AsyncIterator[CoinGlassClient]:
    http = make_http_client()
    yield CoinGlassClient(http, sim.base_url)
    await http.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fetched(sim: CoinGlassSim, key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in sim.requests:
        if request.key == key:
            counts[request.path] = counts.get(request.path, 0) + 1
    return counts


async def test_fast_sources_every_poll_slow_ones_at_their_pace(sim):
    clock = Clock()
    http = make_http_client()                 # the key's window runs on the test's clock too
    client = CoinGlassClient(http, sim.base_url,
                             limiters=LimiterRegistry(clock=lambda: clock.now.timestamp()))
    builder = SnapshotBuilder(client, clock=clock)
    budget = plan_budget(Plan.HOBBYIST, 3)             # auto: 20 s on Hobbyist
    assert budget.interval == 20
    # Here the key's window must not hold slow sources back: every poll may take them all.
    budget = dataclasses.replace(budget, per_minute=1200)
    coins = ["BTC", "ETH", "SOL"]
    for _ in range(4):                                 # four polls: at 0, 20, 40 and 60 s
        batch = await builder.build(ROOMY, budget, coins)
        assert not batch.errors
        clock.advance(budget.interval)
    counts = fetched(sim, ROOMY)
    for path in (paths.OI_EXCHANGE_LIST, paths.LIQUIDATION_EXCHANGE_LIST):
        assert counts[path] == 4 * 3                   # fast: every poll, every coin
    assert counts[paths.TAKER_EXCHANGE_LIST] == 2 * 3  # 60 s pace: at 0 s and at 60 s
    assert counts[paths.PAIRS_MARKETS] == 2 * 3        # funding, per coin, 60 s pace
    for path in (paths.GLOBAL_LONG_SHORT_HISTORY, paths.TOP_LONG_SHORT_ACCOUNT_HISTORY,
                 paths.PRICE_HISTORY, paths.EXCHANGE_BALANCE_LIST):
        assert counts[path] == 3                       # slow: once per coin in 60 s
    await http.aclose()


async def test_the_key_window_is_shared_by_polls_and_slow_sources_fill_the_room(sim, client):
    clock = Clock()
    builder = SnapshotBuilder(client, clock=clock)
    budget = plan_budget(Plan.HOBBYIST, 3)             # 20 s: three polls per 60 s window
    assert budget.fast_per_poll == 6 and budget.per_poll == 9
    batch = await builder.build(KEY, budget, ["BTC", "ETH", "SOL"])
    assert batch.requests == 9                         # 6 fast + 3 of the slow ones due
    snap = batch.snapshots["BTC"]
    assert snap.liquidations and snap.open_interest and snap.price     # price anchor first
    assert snap.missing["balances"].detail == "not fetched yet"        # a later poll's turn
    assert budget.window_requests <= budget.usable_per_minute


async def test_a_kept_slow_value_is_used_with_its_own_time(sim, client):
    clock = Clock()
    builder = SnapshotBuilder(client, clock=clock)
    budget = plan_budget(Plan.HOBBYIST, 1)
    first = (await builder.build(KEY, budget, ["ETH"], complete=True)).snapshots["ETH"]
    clock.advance(30)
    second = (await builder.build(KEY, budget, ["ETH"])).snapshots["ETH"]
    assert second.global_ls is not None and second.balances is not None
    assert second.balances.time == first.balances.time          # kept, not refetched
    assert second.liquidations.time == clock.now                 # fast: fresh


async def test_a_slow_value_past_its_age_is_missing_not_stale(sim, client):
    clock = Clock()
    builder = SnapshotBuilder(client, clock=clock)
    budget = plan_budget(Plan.HOBBYIST, 1)
    await builder.build(KEY, budget, ["ETH"], complete=True)
    sim.inject_fault("http_503", path=paths.EXCHANGE_BALANCE_LIST)
    clock.advance(fr.SOURCES["balances"].pace)          # due again, and CoinGlass fails
    snap = (await builder.build(KEY, budget, ["ETH"], complete=True)).snapshots["ETH"]
    assert snap.balances is not None                    # one failed refresh: still usable
    clock.advance(fr.SOURCES["balances"].pace + 1)      # past 2 × pace
    snap = (await builder.build(KEY, budget, ["ETH"], complete=True)).snapshots["ETH"]
    assert snap.balances is None
    assert snap.missing["balances"].reason == MissingReason.ERROR


async def test_standard_reads_every_coin_from_one_coins_markets_request(sim, client):
    builder = SnapshotBuilder(client)
    budget = plan_budget(Plan.STANDARD, 3)
    batch = await builder.build(STANDARD, budget, ["BTC", "ETH", "SOL"])
    counts = fetched(sim, STANDARD)
    assert counts[paths.COINS_MARKETS] == 1
    assert paths.LIQUIDATION_EXCHANGE_LIST not in counts
    for snap in batch.snapshots.values():
        assert snap.price and snap.open_interest and snap.liquidations
        assert snap.price.window == "1h" and snap.open_interest.change("1h") is not None


@pytest.mark.parametrize("plan,key", [(Plan.HOBBYIST, KEY), (Plan.STARTUP, STARTUP)])
async def test_hobbyist_and_startup_never_ask_for_coins_markets(sim, client, plan, key):
    builder = SnapshotBuilder(client)
    batch = await builder.build(key, plan_budget(plan, 2), ["BTC", "ETH"], complete=True)
    assert not batch.refused
    assert paths.COINS_MARKETS not in fetched(sim, key)
    assert all(s.price and s.liquidations for s in batch.snapshots.values())


async def test_the_live_price_follows_the_market_between_candle_reads(sim, client):
    clock = Clock()
    builder = SnapshotBuilder(client, clock=clock)
    budget = plan_budget(Plan.STARTUP, 1)
    before = (await builder.build(STARTUP, budget, ["SOL"])).snapshots["SOL"].price
    sim.market.move("SOL", price_pct=-6.0, oi_pct=-9.0)
    clock.advance(10)
    after = (await builder.build(STARTUP, budget, ["SOL"])).snapshots["SOL"].price
    assert fetched(sim, STARTUP)[paths.PRICE_HISTORY] == 1           # no new candle read
    assert after.price == pytest.approx(before.price * 0.94, rel=0.01)
    assert after.change_pct == pytest.approx(before.change_pct - 6.0, abs=1.0)


def test_one_funding_source_per_user_chosen_by_cost():
    # One coin: a few KB per request instead of the ≈2.4 MB list, for the same budget.
    assert plan_budget(Plan.HOBBYIST, 1).funding == fr.FUNDING_PAIRS
    # Ten Hobbyist coins: per-coin requests would lengthen the interval, so the list.
    assert plan_budget(Plan.HOBBYIST, 10).funding == fr.FUNDING_LIST
    # A big budget takes the small answers.
    assert plan_budget(Plan.PROFESSIONAL, 10).funding == fr.FUNDING_PAIRS


async def test_coins_markets_asks_for_no_more_rows_than_the_users_coins_need(sim, client):
    builder = SnapshotBuilder(client)
    budget = plan_budget(Plan.STANDARD, 2)
    for _ in range(2):
        batch = await builder.build(STANDARD, budget, ["BTC", "ETH"])
        assert all(s.price and s.liquidations for s in batch.snapshots.values())
    pages = [int(r.params["per_page"]) for r in sim.requests
             if r.key == STANDARD and r.path == paths.COINS_MARKETS]
    assert pages[0] == 200 and pages[1] <= 20          # the majors sit at the top
