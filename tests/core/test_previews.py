"""Threshold previews against the CoinGlass simulator: its history carries scripted episodes, so
the crossings, and so the counts, are known."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import httpx
import pytest
from cryptography.fernet import Fernet

from core.coinglass import paths as p
from core.coinglass.client import CoinGlassClient
from core.evaluation import Prefs
from core.headroom import Headroom
from core.plans import Plan
from core.previews import (
    KEY_REFUSED, NO_COINS, NO_KEY, SIGNALS_OFF, PreviewAsk, PreviewService,
)
from core.replay import FOUR_HOUR_NOTE, REPLAYABLE
from core.replay_history import MAX_REQUESTS_PER_COIN
from core.snapshot import SnapshotBuilder
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import Repository
from sim.coinglass import CoinGlassSim
from tests.sim.test_coinglass_sim import START, FakeClock

NOW = START + 30 * 60
HOUR, DAY = 3600.0, 86400.0
USER = 9
KEYS = {"standard": "standard-key-00000000000000001", "hobbyist": "hobby-key-000000000000000001"}
HISTORY_PATHS = (p.PRICE_HISTORY, p.OI_AGGREGATED_HISTORY, p.FUNDING_OI_WEIGHT_HISTORY,
                 p.LIQUIDATION_AGGREGATED_HISTORY, p.GLOBAL_LONG_SHORT_HISTORY,
                 p.TOP_LONG_SHORT_ACCOUNT_HISTORY, p.TAKER_AGGREGATED_HISTORY)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def sim(clock) -> AsyncIterator[CoinGlassSim]:
    simulator = CoinGlassSim(clock=clock, refresh_scale=0, ws_background=False)
    for plan, key in KEYS.items():
        simulator.add_key(key, plan)
    # Three long-liquidation episodes in the past week, each inside one hour, calm between:
    # 20M, 60M and 100M (the calm market liquidates about 1M an hour).
    for days_ago, usd in ((5, 20e6), (3, 60e6), (1, 100e6)):
        simulator.market.script_history("ETH", NOW - days_ago * DAY - 10 * 60,
                                        liquidation_long_usd=usd)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim) -> AsyncIterator[CoinGlassClient]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield CoinGlassClient(http, sim.base_url)


@pytest.fixture
def repo(tmp_path, clock):
    repository = Repository(open_database(tmp_path / "p.db"),
                            KeyVault(Fernet.generate_key().decode()), clock=clock)
    repository.ensure_user(USER)
    yield repository
    repository.close()


def onboard(repo, plan: str = "standard", coins=("ETH",)) -> None:
    repo.store_key(USER, KEYS[plan], Plan[plan.upper()], {"standard": 300, "hobbyist": 30}[plan],
                   None)
    repo.add_coins(USER, list(coins))
    repo.pause(USER, None)          # not polled here: the key's room is the previews' own


@pytest.fixture
def service(repo, client, clock) -> PreviewService:
    return PreviewService(repo, Headroom(SnapshotBuilder(client), clock=clock),
                          default_interval=None, clock=clock)


def ask(name: str, old: float | None, new: float, *, coin: str | None = None,
        disabled=frozenset()) -> PreviewAsk:
    before = {} if old is None else {name: old}
    if coin:
        return PreviewAsk(USER, (name,), Prefs(per_coin={coin: before}, disabled=disabled),
                          Prefs(per_coin={coin: {name: new}}, disabled=disabled), coin=coin)
    return PreviewAsk(USER, (name,), Prefs(before, disabled=disabled),
                      Prefs({name: new}, disabled=disabled))


def history_requests(sim, key: str) -> int:
    return sum(sim.request_count(key, path) for path in HISTORY_PATHS)


@pytest.mark.parametrize("new,expected_new", [(30e6, 3), (150e6, 1), (50e6, 2)])
async def test_counts_match_the_known_crossings(service, repo, sim, new, expected_new):
    # At 50M: 60M and 100M are HIGH, the 20M total stays under the 25M MEDIUM line (2).
    # At 30M the 20M total passes 15M (3); at 150M only 100M passes the 75M MEDIUM line (1).
    onboard(repo)
    plan = service.prepare(ask("liquidation_usd", None, new))
    assert plan.reason is None and plan.resolution == "1h"
    assert plan.series == ("liquidations",) and plan.requests == 1 and not plan.short
    result = await service.run(plan)
    assert result.error is None and result.requests == 1
    assert (result.preview.new_count, result.preview.old_count) == (expected_new, 2)
    assert result.preview.by_coin == {"ETH": (expected_new, 2)}
    assert result.preview.gaps == 0


async def test_the_second_preview_is_served_from_the_cache(service, repo, sim):
    onboard(repo, coins=("ETH", "BTC"))
    first = await service.run(service.prepare(ask("liquidation_usd", None, 30e6)))
    assert first.requests == 2 and history_requests(sim, KEYS["standard"]) == 2
    plan = service.prepare(ask("liquidation_usd", 30e6, 150e6))
    assert plan.requests == 0
    second = await service.run(plan)
    assert second.requests == 0 and history_requests(sim, KEYS["standard"]) == 2
    assert second.preview.by_coin["ETH"] == (1, 3)


async def test_a_per_coin_override_previews_that_coin(service, repo, sim):
    onboard(repo, coins=("ETH", "BTC"))
    result = await service.run(service.prepare(ask("liquidation_usd", None, 30e6, coin="ETH")))
    assert result.preview.coins == ("ETH",) and result.requests == 1


async def test_hobbyist_replays_four_hour_candles_and_says_so(service, repo, sim):
    onboard(repo, "hobbyist")
    plan = service.prepare(ask("liquidation_usd", 100e6, 200e6))
    assert plan.resolution == "4h" and plan.plan is Plan.HOBBYIST
    result = await service.run(plan)
    assert result.preview.resolution == "4h" and result.preview.note == FOUR_HOUR_NOTE
    asked = [r.params.get("interval") for r in sim.requests if r.path in HISTORY_PATHS]
    assert asked == ["4h"]
    # Each episode lands in one 4 h candle, with four hours of calm liquidations (~4M) on top.
    # At 100M: the 100M and 60M totals pass the 50M MEDIUM line; at 200M only 100M passes 100M.
    assert (result.preview.new_count, result.preview.old_count) == (1, 2)


async def test_every_signal_stays_within_six_requests_per_coin(service, repo, sim):
    onboard(repo, coins=("ETH", "SOL"))
    plan = service.prepare(ask("min_level", None, 1.0))
    assert plan.dropped == ("smart_money_divergence",)
    assert len(plan.series) == MAX_REQUESTS_PER_COIN and plan.requests == 12
    result = await service.run(plan)
    assert result.requests == 12 and history_requests(sim, KEYS["standard"]) == 12
    # The missing series costs one request per coin the next time; after that nothing is left
    # out, and nothing is fetched twice.
    await service.run(service.prepare(ask("divergence_gap", None, 8.0)))
    assert history_requests(sim, KEYS["standard"]) == 14
    again = service.prepare(ask("min_level", None, 3.0))
    assert again.dropped == () and set(again.signals) == set(REPLAYABLE) and again.requests == 0


async def test_previews_at_once_share_their_requests(service, repo, sim):
    onboard(repo, coins=("ETH", "BTC"))
    plans = [service.prepare(ask("liquidation_usd", None, v)) for v in (30e6, 40e6, 150e6)]
    results = await asyncio.gather(*(service.run(plan) for plan in plans))
    assert [r.preview.by_coin["ETH"][0] for r in results] == [3, 3, 1]
    assert history_requests(sim, KEYS["standard"]) == 2


async def test_a_key_without_room_waits_then_runs(service, repo, sim, client):
    onboard(repo)
    limiter = client.limiters.for_key(KEYS["standard"], 300)
    limiter.rate_limited(1.5)                              # CoinGlass said "too many", briefly
    plan = service.prepare(ask("liquidation_usd", None, 30e6))
    assert plan.short
    task = service.start(plan)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while limiter.blocked_for > 0:                         # nothing goes while the key rests
        assert not task.done() and history_requests(sim, KEYS["standard"]) == 0
        assert loop.time() < deadline
        await asyncio.sleep(0.01)
    result = await asyncio.wait_for(task, 10)
    assert result.preview.new_count == 3 and history_requests(sim, KEYS["standard"]) == 1


async def test_coinglass_down_is_an_error_not_a_crash(service, repo, sim):
    onboard(repo)
    sim.inject_fault("http_500", path=p.LIQUIDATION_AGGREGATED_HISTORY)
    result = await service.run(service.prepare(ask("liquidation_usd", None, 30e6)))
    assert result.preview is None and "did not answer" in result.error
    sim.clear_faults()
    assert (await service.run(service.prepare(ask("liquidation_usd", None, 30e6)))).preview


@pytest.mark.parametrize("name,says", [
    ("wall_usd", "no history to replay"), ("lock_at", "position-guard"),
    ("netflow_usd", "no history to replay"),
])
async def test_live_only_thresholds_say_why(service, repo, sim, name, says):
    onboard(repo)
    plan = service.prepare(ask(name, None, 1.0))
    assert says in plan.reason and plan.requests == 0
    assert history_requests(sim, KEYS["standard"]) == 0


async def test_reasons_without_a_preview(service, repo, sim):
    assert service.prepare(ask("oi_change", None, 3.0)).reason == NO_KEY
    repo.store_key(USER, KEYS["standard"], Plan.STANDARD, 300, None)
    assert service.prepare(ask("oi_change", None, 3.0)).reason == NO_COINS
    repo.add_coins(USER, ["ETH"])
    off = ask("taker_bias", None, 70.0, disabled=frozenset({"taker_bias"}))
    assert service.prepare(off).reason == SIGNALS_OFF
    repo.reject_key(USER, "revoked")
    assert service.prepare(ask("oi_change", None, 3.0)).reason == KEY_REFUSED
    assert history_requests(sim, KEYS["standard"]) == 0
