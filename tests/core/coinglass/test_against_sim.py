"""The client, plan detection, the limiter and the snapshot builder over real HTTP,
against the CoinGlass simulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import AsyncIterator

import pytest

from core import market as m
from core.coinglass import paths
from core.coinglass.client import CoinGlassClient, make_http_client
from core.coinglass.detect import detect_plan
from core.coinglass.errors import (
    InvalidKey, MalformedResponse, NoActivePlan, PlanTooLow, RateLimited, UpstreamError,
)
from core.coins import SupportedCoins
from core.market import MissingReason
from core.plans import Plan
from core import freshness as fr
from core.budget import plan_budget
from core.snapshot import SnapshotBuilder, sections_for
from sim.coinglass import CoinGlassSim

KEYS = {plan: f"{plan.name.lower()}-key-0000000000000" for plan in Plan}


@pytest.fixture
async def sim() -> AsyncIterator[CoinGlassSim]:
    server = CoinGlassSim(refresh_scale=0)      # live data: these tests read right after a change
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


@pytest.mark.parametrize("plan", list(Plan))
async def test_plan_detection_for_each_plan(client, plan):
    detection = await detect_plan(client, KEYS[plan])
    assert detection.plan == plan
    assert detection.per_minute == {Plan.HOBBYIST: 30, Plan.STARTUP: 80, Plan.STANDARD: 300,
                                    Plan.PROFESSIONAL: 1200}.get(plan, detection.per_minute)
    assert detection.source == "subscription"


async def test_detection_probes_when_the_subscription_endpoint_fails(sim, client):
    sim.inject_fault("http_404", path=paths.SUBSCRIPTION)
    detection = await detect_plan(client, KEYS[Plan.STANDARD])
    assert detection.plan == Plan.STANDARD            # read from API-KEY-MAX-LIMIT of a probe
    assert detection.source == "limit header"


async def test_detection_refuses_bad_and_lapsed_keys(sim, client):
    with pytest.raises(InvalidKey):
        await detect_plan(client, "no-such-key-000000000000")
    sim.add_key("lapsed-key-00000000000000", "startup", expired=True)
    with pytest.raises(NoActivePlan):
        await detect_plan(client, "lapsed-key-00000000000000")


async def test_gated_endpoints_are_refused_and_reported(client):
    with pytest.raises(PlanTooLow):
        await client.bitcoin_dominance(KEYS[Plan.HOBBYIST])
    with pytest.raises(PlanTooLow):            # a history interval below the plan's minimum
        await client.price_history(KEYS[Plan.HOBBYIST], "BTCUSDT", "1h", 2)
    assert await client.price_history(KEYS[Plan.HOBBYIST], "BTCUSDT", "4h", 2)


async def test_a_burst_on_one_hobbyist_key_stays_under_30_a_minute(sim, client):
    """80 requests at once: the limiter lets 27 through, then waits for the window."""
    key = KEYS[Plan.HOBBYIST]
    client.limiters.for_key(key, 30)
    window = [0]

    async def one():
        await client.supported_coins(key)
        window[0] += 1

    tasks = [asyncio.create_task(one()) for _ in range(80)]
    await asyncio.sleep(3)
    assert window[0] == 27                              # 90 % of 30, then it waits
    assert sim.max_in_any_minute(key) <= 30
    assert sim.count_429(key) == 0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_after_a_429_the_key_backs_off(sim, client):
    key = KEYS[Plan.STARTUP]
    sim.inject_fault("http_429", key=key, times=1)
    with pytest.raises(RateLimited):
        await client.supported_coins(key)
    limiter = client.limiters.peek(key)
    assert 25 < limiter.blocked_for <= 30
    before = sim.request_count(key)
    task = asyncio.create_task(client.supported_coins(key))
    await asyncio.sleep(0.5)
    assert not task.done() and sim.request_count(key) == before     # nothing sent meanwhile
    task.cancel()


@pytest.mark.parametrize("fault,error", [("http_503", UpstreamError), ("body_500", UpstreamError),
                                         ("malformed_json", MalformedResponse)])
async def test_recovery_after_injected_faults(sim, client, fault, error):
    key = KEYS[Plan.STANDARD]
    sim.inject_fault(fault, times=1)
    with pytest.raises(error):
        await client.open_interest(key, "BTC")
    oi = await client.open_interest(key, "BTC")                      # the next one works
    assert oi.total is not None and oi.total.usd > 0


async def test_timeout_is_reported_and_the_client_recovers(sim):
    import httpx
    http = make_http_client(timeout=httpx.Timeout(0.5, connect=0.5))
    client = CoinGlassClient(http, sim.base_url)
    sim.inject_fault("timeout", seconds=2, times=1)
    from core.coinglass.errors import Timeout
    with pytest.raises(Timeout):
        await client.funding_rates(KEYS[Plan.HOBBYIST])
    assert await client.funding_rates(KEYS[Plan.HOBBYIST])
    await http.aclose()


# --- snapshots ------------------------------------------------------------------------------

@pytest.mark.parametrize("plan", list(Plan))
async def test_snapshot_holds_what_the_plan_allows(sim, client, plan):
    budget = plan_budget(plan, 2)
    batch = await SnapshotBuilder(client).build(KEYS[plan], budget, ["BTC", "ETH"], complete=True)
    assert batch.auth_error is None and not batch.refused and not batch.errors
    for snap in batch.snapshots.values():
        assert set(snap.present()) == set(sections_for(plan))
        for section in set(m.SECTIONS) - set(sections_for(plan)):
            assert snap.missing[section].reason == MissingReason.NOT_IN_PLAN
    # The first poll fetches every source once: per-coin ones per coin, key-wide ones once.
    expected = sum(2 if s.scope == "coin" else 1 for s in budget.sources)
    assert batch.requests == expected == sim.request_count(KEYS[plan])


async def test_the_funding_list_is_fetched_once_per_poll_and_key(sim, client):
    key = KEYS[Plan.HOBBYIST]
    budget = dataclasses.replace(plan_budget(Plan.HOBBYIST, 3), funding="funding_list")
    budget = dataclasses.replace(budget, sources=tuple(
        fr.SOURCES["funding_list"] if s.name == "funding_pairs" else s for s in budget.sources))
    batch = await SnapshotBuilder(client).build(key, budget, ["BTC", "ETH", "SOL"], complete=True)
    assert sim.request_count(key, paths.FUNDING_EXCHANGE_LIST) == 1
    assert all(s.funding is not None for s in batch.snapshots.values())
    sent = [(r.path, tuple(sorted(r.params.items()))) for r in sim.requests if r.key == key]
    assert len(sent) == len(set(sent))                  # no request twice in one poll


async def test_hobbyist_history_uses_4h(sim, client):
    key = KEYS[Plan.HOBBYIST]
    batch = await SnapshotBuilder(client).build(key, plan_budget(Plan.HOBBYIST, 1), ["ETH"],
                                                complete=True)
    intervals = {r.params.get("interval") for r in sim.requests
                 if r.key == key and "interval" in r.params}
    assert intervals == {"4h"}
    snap = batch.snapshots["ETH"]
    assert snap.price.window == "4h" and snap.global_ls.interval == "4h"
    assert snap.open_interest.change("1h") is not None        # 1h from the snapshot endpoint


async def test_one_failing_endpoint_leaves_one_section_missing(sim, client):
    key = KEYS[Plan.STARTUP]
    sim.inject_fault("http_503", path=paths.TAKER_EXCHANGE_LIST)
    batch = await SnapshotBuilder(client).build(key, plan_budget(Plan.STARTUP, 1), ["BTC"])
    snap = batch.snapshots["BTC"]
    assert snap.taker is None and snap.missing["taker"].reason == MissingReason.ERROR
    assert snap.funding and snap.open_interest and snap.liquidations and snap.netflow
    assert batch.errors and "503" in batch.errors[0]


async def test_refused_endpoint_is_reported_and_can_be_disabled(sim, client):
    key = KEYS[Plan.HOBBYIST]
    builder = SnapshotBuilder(client)
    budget = plan_budget(Plan.PROFESSIONAL, 1, per_minute=30)           # claims too much
    batch = await builder.build(key, budget, ["BTC"], complete=True)
    assert paths.LIQUIDATION_AGGREGATED_MAP in batch.refused
    assert batch.snapshots["BTC"].missing["clusters"].reason == MissingReason.REFUSED
    assert batch.snapshots["BTC"].funding is not None
    again = await builder.build(key, plan_budget(Plan.PROFESSIONAL, 1, per_minute=30,
                                                 disabled=frozenset(batch.refused)), ["BTC"],
                                complete=True)
    assert not again.refused
    assert again.snapshots["BTC"].missing["clusters"].reason == MissingReason.DISABLED


async def test_invalid_key_stops_the_poll_early(sim, client):
    budget = plan_budget(Plan.HOBBYIST, 2)
    batch = await SnapshotBuilder(client).build("nobody-0000000000000000", budget, ["BTC", "ETH"])
    assert isinstance(batch.auth_error, InvalidKey)
    assert batch.requests < sum(2 if s.scope == "coin" else 1 for s in budget.sources)
    assert batch.all_failed


async def test_snapshot_agrees_with_the_market(sim, client):
    key = KEYS[Plan.STARTUP]
    sim.market.move("SOL", price_pct=-6.0, oi_pct=-9.0)
    sim.market.liquidate("SOL", long_usd=80e6)
    snap = (await SnapshotBuilder(client).build(key, plan_budget(Plan.STARTUP, 1),
                                                ["SOL"])).snapshots["SOL"]
    assert snap.open_interest.change("1h") == pytest.approx(-9.0, abs=0.3)
    assert snap.price.change_pct == pytest.approx(-6.0, abs=0.5) and snap.price.window == "1h"
    assert snap.liquidations.long_usd >= 80e6


async def test_supported_coins_are_cached(sim, client):
    coins = SupportedCoins(client)
    key = KEYS[Plan.HOBBYIST]
    first = await coins.get(key)
    assert "BTC" in first and "42" in first
    await coins.get(key)
    assert sim.request_count(key, paths.SUPPORTED_COINS) == 1
    sim.inject_fault("http_503")
    stale = SupportedCoins(client, ttl_seconds=0)
    assert await stale.get(key) is None                       # never fetched, CoinGlass down
