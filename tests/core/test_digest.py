"""The daily digest's figures and scheduling over real HTTP against the CoinGlass simulator,
with a real SQLite repository and an injected wall clock (no sleeps)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import AsyncIterator

import pytest
from cryptography.fernet import Fernet

from core.budget import plan_budget
from core.coinglass import paths
from core.coinglass.client import CoinGlassClient, make_http_client
from core.digest import DigestFetcher, DigestScheduler, GIVE_UP_AFTER, RETRY_SECONDS
from core.plans import Plan
from core.snapshot import SnapshotBuilder
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import PollWrite, Repository
from sim.coinglass import CoinGlassSim

KEYS = {plan: f"{plan.name.lower()}-key-0000000000000" for plan in Plan}
USER = 11
COINS = ["BTC", "ETH", "SOL"]


def utc(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def sim() -> AsyncIterator[CoinGlassSim]:
    server = CoinGlassSim(refresh_scale=0)
    for plan, key in KEYS.items():
        server.add_key(key, plan.name.lower())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(sim) -> AsyncIterator[CoinGlassClient]:
    http = make_http_client()
    yield CoinGlassClient(http, sim.base_url)
    await http.aclose()


# --- figures ------------------------------------------------------------------------------

async def test_standard_reads_every_figure_from_one_markets_page(sim, client):
    key = KEYS[Plan.STANDARD]
    fetcher = DigestFetcher(SnapshotBuilder(client))
    before = sim.request_count(key)
    figures = await fetcher.figures(key, plan_budget(Plan.STANDARD, 3), COINS)
    assert figures.requests == 1 and sim.request_count(key) - before == 1
    assert [d.coin for d in figures.coins] == COINS
    eth = figures.coins[1]
    oi = await client.open_interest(key, "ETH")
    assert eth.oi_usd == pytest.approx(oi.total.usd, rel=1e-3)
    assert eth.oi_change_24h == pytest.approx(oi.total.change_pct["24h"], abs=0.05)
    for day in figures.coins:
        assert None not in (day.price, day.price_change_24h, day.funding_8h, day.oi_usd,
                            day.oi_change_24h, day.liq_long_24h, day.liq_short_24h), day


async def test_standard_costs_nothing_right_after_a_poll(sim, client):
    key = KEYS[Plan.STANDARD]
    builder = SnapshotBuilder(client)
    budget = plan_budget(Plan.STANDARD, 3)
    await builder.build(key, budget, COINS)                     # the poll reads the page
    fetcher = DigestFetcher(builder)
    assert fetcher.planned_requests(key, budget, COINS) == 0
    before = sim.request_count(key)
    figures = await fetcher.figures(key, budget, COINS)
    assert figures.requests == 0 and sim.request_count(key) == before
    assert all(d.liq_long_24h is not None for d in figures.coins)


async def test_hobbyist_costs_at_most_two_requests_a_coin(sim, client):
    key = KEYS[Plan.HOBBYIST]
    budget = plan_budget(Plan.HOBBYIST, 3)
    fetcher = DigestFetcher(SnapshotBuilder(client))
    assert fetcher.planned_requests(key, budget, COINS) == 6
    before = sim.request_count(key)
    figures = await fetcher.figures(key, budget, COINS)
    assert figures.requests == 6 == sim.request_count(key) - before
    assert sim.count_429(key) == 0
    sol = figures.coins[2]
    oi = await client.open_interest(key, "SOL")
    assert sol.oi_usd == pytest.approx(oi.total.usd, rel=1e-3)
    binance = next(p for p in await client.pairs_markets(key, "SOL")
                   if p.exchange == "Binance")
    assert sol.price == pytest.approx(binance.price, rel=1e-3)
    assert sol.price_change_24h == pytest.approx(binance.price_change_pct_24h, abs=0.05)
    assert sol.funding_8h is not None and sol.liq_long_24h is not None


async def test_hobbyist_reuses_the_polls_open_interest(sim, client):
    key = KEYS[Plan.HOBBYIST]
    budget = plan_budget(Plan.HOBBYIST, 3)
    builder = SnapshotBuilder(client)
    await builder.build(key, budget, COINS, complete=True)
    figures = await DigestFetcher(builder).figures(key, budget, COINS)
    # Open interest (fetched every poll) is kept; funding pairs too when the budget uses them.
    assert figures.requests <= 3
    assert sim.request_count(key, paths.OI_EXCHANGE_LIST) == 3      # the poll's, none more


async def test_a_refused_or_failing_source_leaves_figures_missing_not_zero(sim, client):
    key = KEYS[Plan.HOBBYIST]
    sim.inject_fault("http_500", path=paths.PAIRS_MARKETS, key=key)
    figures = await DigestFetcher(SnapshotBuilder(client)).figures(
        key, plan_budget(Plan.HOBBYIST, 1), ["ETH"])
    (eth,) = figures.coins
    assert eth.price is None and eth.funding_8h is None and eth.liq_long_24h is None
    assert eth.oi_usd is not None and eth.missing


# --- scheduling ---------------------------------------------------------------------------

@pytest.fixture
def clock():
    return Clock(utc(2026, 1, 15, 7, 0))


def make_repo(path, clock) -> Repository:
    return Repository(open_database(path), KeyVault(SECRET), clock=clock)


SECRET = Fernet.generate_key().decode()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "digest.db"


@pytest.fixture
def repo(db_path, clock, sim):
    repo = make_repo(db_path, clock)
    repo.ensure_user(USER)
    repo.store_key(USER, KEYS[Plan.STANDARD], Plan.STANDARD, 300, None)
    repo.add_coins(USER, ["BTC", "ETH"])
    yield repo
    repo.close()


def scheduler(repo, client, clock) -> DigestScheduler:
    return DigestScheduler(repo, DigestFetcher(SnapshotBuilder(client)), default_interval=None,
                           clock=clock)


def digests(repo) -> list[dict]:
    return [json.loads(r["payload"]) for r in repo.db.query(
        "SELECT payload FROM alerts WHERE kind = 'notice' ORDER BY id")]


def switch_on(repo, clock, at="08:00") -> None:
    from core.hours import next_digest
    from dataclasses import replace
    user = replace(repo.get_user(USER), digest_at=at)
    repo.set_digest(USER, at, next_digest(user, clock()))


async def test_sent_once_at_its_time_and_once_across_a_restart(repo, client, clock, db_path):
    switch_on(repo, clock)
    jobs = scheduler(repo, client, clock)
    clock.now = utc(2026, 1, 15, 7, 59, 59)
    assert await jobs.run_all_due() == [] and digests(repo) == []
    clock.now = utc(2026, 1, 15, 8, 0, 1)
    assert await jobs.run_all_due() == [True]
    assert await jobs.run_all_due() == []
    (digest,) = digests(repo)
    assert digest["notice"] == "digest" and [c["coin"] for c in digest["coins"]] == ["BTC", "ETH"]
    assert digest["requests"] <= 1
    # A new process the same morning: nothing again.
    again = scheduler(make_repo(db_path, clock), client, clock)
    clock.now = utc(2026, 1, 15, 9, 30)
    assert await again.run_all_due() == [] and len(digests(repo)) == 1
    # The next day: one more.
    clock.now = utc(2026, 1, 16, 8, 0, 0)
    assert await again.run_all_due() == [True]
    assert len(digests(repo)) == 2
    again.repo.close()


async def test_a_digest_missed_by_more_than_six_hours_is_skipped(repo, client, clock):
    switch_on(repo, clock)
    clock.now = utc(2026, 1, 15, 14, 0, 1)                       # the bot was down since 07:00
    jobs = scheduler(repo, client, clock)
    assert await jobs.run_all_due() == [] and digests(repo) == []
    nxt = next(repo.db.query("SELECT digest_next_at FROM users WHERE id = ?", [USER]))
    assert nxt["digest_next_at"] == utc(2026, 1, 16, 8, 0)
    clock.now = utc(2026, 1, 15, 20, 0)
    assert await jobs.run_all_due() == []                         # not due again that day
    clock.now = utc(2026, 1, 16, 8, 0, 30)
    assert await jobs.run_all_due() == [True] and len(digests(repo)) == 1


async def test_late_within_six_hours_is_still_sent(repo, client, clock):
    switch_on(repo, clock)
    clock.now = utc(2026, 1, 15, 13, 59)
    assert await scheduler(repo, client, clock).run_all_due() == [True]


async def test_switching_it_off_during_the_fetch_wins(repo, client, clock, sim):
    switch_on(repo, clock)
    clock.now = utc(2026, 1, 15, 8, 0, 5)
    sim.inject_fault("latency", key=KEYS[Plan.STANDARD], seconds=1.0)
    jobs = scheduler(repo, client, clock)
    run = asyncio.ensure_future(jobs.run_all_due())
    deadline = asyncio.get_running_loop().time() + 5
    while sim.in_flight == 0:                                     # the fetch is in CoinGlass
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    assert jobs.tick() == 0                                       # one digest per user at a time
    repo.set_digest(USER, None, None)                             # /digest off meanwhile
    assert await run == [False]
    assert digests(repo) == []
    assert repo.get_user(USER).digest_sent_at is None


async def test_coinglass_down_retries_then_sends_without_figures(repo, client, clock, sim):
    switch_on(repo, clock)
    sim.inject_fault("http_503", key=KEYS[Plan.STANDARD])
    jobs = scheduler(repo, client, clock)
    clock.now = utc(2026, 1, 15, 8, 0, 0)
    assert await jobs.run_all_due() == [False] and digests(repo) == []
    nxt = next(repo.db.query("SELECT digest_next_at FROM users WHERE id = ?", [USER]))
    assert nxt["digest_next_at"] == clock() + RETRY_SECONDS
    clock.now = utc(2026, 1, 15, 8, 0, 0) + GIVE_UP_AFTER + 1
    assert await jobs.run_all_due() == [True]
    (digest,) = digests(repo)
    assert digest["note"] == "unavailable" and digest["coins"] == []


async def test_without_a_key_the_digest_costs_nothing_and_says_why(repo, client, clock, sim):
    repo.db.execute("DELETE FROM api_keys WHERE user_id = ?", [USER])
    repo.update_user(USER, key_state="none")
    switch_on(repo, clock)
    before = sim.request_count()
    clock.now = utc(2026, 1, 15, 8, 0, 0)
    assert await scheduler(repo, client, clock).run_all_due() == [True]
    assert sim.request_count() == before
    assert digests(repo)[0]["note"] == "no_key"


async def test_the_alerts_of_the_last_day_are_listed_newest_first(repo, client, clock):
    switch_on(repo, clock)
    for hours_ago, coin in ((30, "BTC"), (20, "ETH"), (2, "BTC")):
        clock.now = utc(2026, 1, 15, 8, 0) - hours_ago * 3600
        repo.commit_poll(USER, PollWrite(alerts=[{"kind": "alert", "coin": coin, "level": 2,
                                                  "payload": {"signals": []}}]))
    clock.now = utc(2026, 1, 15, 8, 0, 0)
    await scheduler(repo, client, clock).run_all_due()
    (digest,) = digests(repo)
    assert [a["coin"] for a in digest["alerts"]] == ["BTC", "ETH"]
    assert digest["alerts_total"] == 2
    assert all(a["outcome"] is None for a in digest["alerts"])   # the outcomes hook, empty


async def test_the_digest_is_silent_inside_quiet_hours(repo, client, clock):
    repo.set_quiet(USER, "07:00-09:00 hold")
    switch_on(repo, clock)
    clock.now = utc(2026, 1, 15, 8, 0, 0)
    await scheduler(repo, client, clock).run_all_due()
    row = next(repo.db.query("SELECT silent, status FROM alerts WHERE kind = 'notice'"))
    assert row == {"silent": 1, "status": "pending"}               # never held: it was asked for
