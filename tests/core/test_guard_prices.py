"""The price for /position's live P&L, against the CoinGlass simulator over HTTP: the last
poll's figure when fresh, else one request per coin (bounded); a failure leaves the coin out."""

from __future__ import annotations

import time
from typing import AsyncIterator

import pytest

from core import guard_prices as gp
from core.budget import plan_budget
from core.coinglass import paths
from core.coinglass.client import CoinGlassClient, make_http_client
from core.plans import Plan
from core.snapshot import SnapshotBuilder
from sim.coinglass import CoinGlassSim

KEY = "hobbyist-key-guard-prices-0001"


@pytest.fixture
async def sim() -> AsyncIterator[CoinGlassSim]:
    server = CoinGlassSim(refresh_scale=0)
    server.add_key(KEY, "hobbyist")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def builder(sim) -> AsyncIterator[SnapshotBuilder]:
    http = make_http_client()
    yield SnapshotBuilder(CoinGlassClient(http, sim.base_url))
    await http.aclose()


def price_requests(sim: CoinGlassSim) -> int:
    return sim.request_count(KEY, paths.PRICE_HISTORY)


async def test_without_a_poll_one_request_per_coin(sim, builder):
    budget = plan_budget(Plan.HOBBYIST, 2)
    found = await gp.current_prices(builder, KEY, budget, ["ETH", "SOL"], time.time())
    assert set(found) == {"ETH", "SOL"} and all(p.requested for p in found.values())
    assert abs(found["ETH"].price - sim.market.price("ETH")) / sim.market.price("ETH") < 0.01
    assert price_requests(sim) == 2


async def test_the_last_polls_price_is_used_while_fresh(sim, builder):
    budget = plan_budget(Plan.HOBBYIST, 1)
    await builder.build(KEY, budget, ["ETH"])
    before = sim.request_count(KEY)
    found = await gp.current_prices(builder, KEY, budget, ["ETH"], time.time())
    assert not found["ETH"].requested and sim.request_count(KEY) == before
    # much later, the kept figure is stale: asked again
    later = time.time() + gp.fresh_for(budget) + 1
    again = await gp.current_prices(builder, KEY, budget, ["ETH"], later)
    assert again["ETH"].requested and price_requests(sim) > 0


async def test_a_failing_coinglass_leaves_the_coin_out(sim, builder):
    sim.inject_fault("http_500", path=paths.PRICE_HISTORY)
    found = await gp.current_prices(builder, KEY, plan_budget(Plan.HOBBYIST, 1), ["ETH"],
                                    time.time())
    assert found == {}


async def test_requests_per_call_are_bounded(sim, builder):
    coins = ["BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "SUI"]
    found = await gp.current_prices(builder, KEY, plan_budget(Plan.HOBBYIST, 7), coins,
                                    time.time())
    assert price_requests(sim) == gp.MAX_REQUESTS and len(found) <= gp.MAX_REQUESTS
