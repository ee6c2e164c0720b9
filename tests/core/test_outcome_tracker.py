"""Alert outcomes recorded at each horizon, with an injected clock: from the polls' prices, from
one price request to the CoinGlass simulator, across a restart, and once only."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import AsyncIterator

import httpx
import pytest
from cryptography.fernet import Fernet

from core.coinglass import paths as p
from core.coinglass.client import CoinGlassClient
from core.headroom import Headroom
from core.market import MarketSnapshot, PriceSection
from core.outcome_tracker import STALE_SECONDS, OutcomeTracker
from core.outcomes import stats
from core.plans import Plan
from core.signals.model import Direction
from core.snapshot import SnapshotBuilder
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.outcomes import OutcomeStore
from core.storage.repo import PollWrite, Repository
from sim.coinglass import CoinGlassSim
from tests.sim.test_coinglass_sim import FakeClock
from tests.waiting import wait_until

T0 = 1_790_000_000.0
H = (3600, 14400, 86400)
USER = 7
KEY = "pro-key-000000000000000000001"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def sim(clock) -> AsyncIterator[CoinGlassSim]:
    simulator = CoinGlassSim(clock=clock, refresh_scale=0, ws_background=False)
    simulator.add_key(KEY, "professional")
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def client(sim) -> AsyncIterator[CoinGlassClient]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield CoinGlassClient(http, sim.base_url)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "perpwatch.db"


@pytest.fixture
def vault():
    return KeyVault(Fernet.generate_key().decode())


@pytest.fixture
def repo(db_path, vault, clock):
    repository = Repository(open_database(db_path), vault, clock=clock)
    repository.ensure_user(USER)
    repository.store_key(USER, KEY, Plan.PROFESSIONAL, 1200, None)
    repository.add_coins(USER, ["ETH"])
    yield repository
    repository.close()


def tracker_for(repo, client, clock, horizons=H) -> OutcomeTracker:
    headroom = Headroom(SnapshotBuilder(client), clock=clock)
    tracker = OutcomeTracker(repo, OutcomeStore(repo.db), headroom, horizons,
                             default_interval=None, clock=clock)
    tracker.start()
    return tracker


def signal(sid: str, direction: str, level: str = "HIGH") -> dict:
    return {"id": sid, "coin": "ETH", "level": level, "direction": direction, "title": sid,
            "text": "", "confidence": 0.8, "values": {}, "modifiers": [], "data_time": T0}


def alert(repo, *, price: float | None = 100.0, at: float = T0, user: int = USER,
          signals=(("liquidation_cascade", "bearish"),), coin: str = "ETH") -> int:
    summary = {"coin": coin}
    if price is not None:
        summary["price"] = {"price": price, "change_pct": None, "window": "1h"}
    payload = {"signals": [signal(s, d) for s, d in signals],
               "triggers": {s: "new" for s, _ in signals}, "regime": None,
               "summary": summary, "unevaluated": {}}
    repo.commit_poll(user, PollWrite(alerts=[{"kind": "alert", "coin": coin, "level": 3,
                                              "data_time": at, "payload": payload}]))
    alert_id = next(repo.db.query("SELECT MAX(id) AS id FROM alerts"))["id"]
    repo.mark_sent(alert_id, 1)
    return alert_id


def polled(price: float, at: float, coin: str = "ETH") -> dict[str, MarketSnapshot]:
    t = datetime.fromtimestamp(at, timezone.utc)
    return {coin: MarketSnapshot(coin, Plan.PROFESSIONAL, t,
                                 price=PriceSection(price, "1h", None, t))}


def rows(repo, alert_id: int | None = None) -> dict[int, dict]:
    query = "SELECT * FROM alert_outcomes" + (" WHERE alert_id = ?" if alert_id else "")
    return {r["horizon"]: r for r in repo.db.query(query, [alert_id] if alert_id else [])}


async def at(clock, tracker, t: float, price: float | None = None) -> None:
    """Move the clock to ``t``; a poll there sees ``price``; then the job ticks."""
    clock.now = t
    if price is not None:
        tracker.observe(polled(price, t))
    await tracker.tick()
    await tracker.drain()


async def test_a_row_at_each_horizon_from_the_polls_prices(repo, client, clock, sim):
    tracker = tracker_for(repo, client, clock)
    alert_id = alert(repo)
    await at(clock, tracker, T0 + 60, 100.5)
    assert rows(repo) == {} and tracker.pending == 1
    await at(clock, tracker, T0 + 3600 - 60, 99.0)      # 60 s before the 1h mark
    assert rows(repo) == {}                              # a nearer price may still come
    await at(clock, tracker, T0 + 3600 + 120, 98.0)      # 120 s after: farther than 99.0
    one = rows(repo)[3600]
    assert (one["price"], one["price_at"], one["source"]) == (99.0, T0 + 3540, "poll")
    assert one["move_pct"] == pytest.approx(-1.0)
    await at(clock, tracker, T0 + 14400 + 30, 97.0)
    await at(clock, tracker, T0 + 86400 - 5, 103.0)
    assert 86400 not in rows(repo)
    await at(clock, tracker, T0 + 86400 + 400, 104.0)    # after the mark: 103.0 was nearer
    got = rows(repo)
    assert sorted(got) == [3600, 14400, 86400]
    assert [got[h]["price"] for h in H] == [99.0, 97.0, 103.0]
    # The range the polls saw between the alert and the mark (104.0 came after it).
    assert got[86400]["low_pct"] == pytest.approx(-3.0)
    assert got[86400]["high_pct"] == pytest.approx(3.0)
    assert (got[3600]["low_pct"], got[3600]["high_pct"]) == (pytest.approx(-1.0),
                                                             pytest.approx(0.5))
    assert tracker.pending == 0
    # Computed once: later prices change nothing, and no request was ever needed.
    await at(clock, tracker, T0 + 86400 + 10, 150.0)
    assert rows(repo)[86400]["price"] == 103.0
    assert sim.request_count(KEY) == 0 and tracker.stats.from_polls == 3


async def test_verdicts_for_bullish_bearish_and_neutral(repo, client, clock):
    tracker = tracker_for(repo, client, clock, horizons=(3600, 14400))
    alert(repo, signals=(("taker_bias", "bullish"), ("liquidation_cascade", "bearish"),
                         ("oi_surge", "neutral")))
    await at(clock, tracker, T0 + 3600, 98.0)             # price fell 2 %
    await at(clock, tracker, T0 + 14400, 100.05)          # back to +0.05 %: flat
    records = {r.signal_id: r for r in OutcomeStore(repo.db).records(USER, T0 - 1)}
    assert records["liquidation_cascade"].outcomes[3600].verdict is True
    assert records["taker_bias"].outcomes[3600].verdict is False
    assert records["oi_surge"].outcomes[3600].verdict is None      # no direction: no verdict
    assert records["oi_surge"].outcomes[3600].move_pct == pytest.approx(-2.0)
    assert all(r.outcomes[14400].verdict is None for r in records.values())   # flat: no call
    by_signal = {s.signal_id: s for s in stats(records.values(), T0 - 1)}
    assert by_signal["liquidation_cascade"].agree_1h == 1.0
    assert by_signal["taker_bias"].agree_1h == 0.0
    assert by_signal["oi_surge"].agree_1h is None
    assert records["liquidation_cascade"].direction is Direction.BEARISH


async def test_a_restart_between_alert_and_horizon_loses_nothing(repo, client, clock, db_path,
                                                                 vault):
    first = tracker_for(repo, client, clock, horizons=(3600, 14400))
    alert_id = alert(repo)
    await at(clock, first, T0 + 1800, 104.0)
    await at(clock, first, T0 + 3600, 99.0)
    assert sorted(rows(repo)) == [3600]
    await first.stop()
    repo.close()
    # A new process: same database, nothing in memory.
    again = Repository(open_database(db_path), vault, clock=clock)
    second = tracker_for(again, client, clock, horizons=(3600, 14400))
    assert second.pending == 1
    await at(clock, second, T0 + 14400 + 2, 95.0)
    got = rows(again, alert_id)
    assert sorted(got) == [3600, 14400] and got[14400]["price"] == 95.0
    assert got[14400]["high_pct"] == pytest.approx(4.0)     # the range kept across the restart
    assert got[3600]["price"] == 99.0                        # written once, not again
    again.close()


async def test_no_poll_near_the_horizon_means_one_price_request(repo, client, clock, sim):
    repo.pause(USER, None)                                   # not polled: nothing comes by
    tracker = tracker_for(repo, client, clock, horizons=(3600, 14400))
    alert_id = alert(repo, price=sim.market.price("ETH"))
    await at(clock, tracker, T0 + 3600)
    got = rows(repo, alert_id)
    assert got[3600]["source"] == "request"
    assert got[3600]["price"] == pytest.approx(sim.market.price("ETH"), rel=1e-6)
    assert abs(got[3600]["price_at"] - (T0 + 3600)) <= 1.0
    assert sim.request_count(KEY, p.PRICE_HISTORY) == 1
    sim.market.move("ETH", price_pct=-3)
    clock.now = T0 + 14400
    then, now = rows(repo, alert_id)[3600]["price_then"], sim.market.price("ETH")
    await at(clock, tracker, T0 + 14400)
    assert rows(repo, alert_id)[14400]["move_pct"] == pytest.approx((now / then - 1) * 100,
                                                                    abs=0.001)
    assert rows(repo, alert_id)[14400]["move_pct"] < -2.5
    assert sim.request_count(KEY) == 2                        # one per horizon, nothing else


async def test_a_poll_due_in_time_is_waited_for_instead_of_a_request(repo, client, clock, sim):
    tracker = tracker_for(repo, client, clock, horizons=(3600,))
    repo.commit_poll(USER, PollWrite(user_changes={"next_poll_at": T0 + 3600 + 20}))
    alert(repo)
    await at(clock, tracker, T0 + 3600 + 5)                  # tolerance 180 s: wait for the poll
    assert rows(repo) == {} and sim.request_count(KEY) == 0
    await at(clock, tracker, T0 + 3600 + 21, 101.0)
    assert rows(repo)[3600]["source"] == "poll" and sim.request_count(KEY) == 0


async def test_history_reaches_back_after_downtime(repo, client, clock, sim):
    """Down over the horizon: a Professional key's 1-minute candles still hold the price."""
    repo.pause(USER, None)
    tracker = tracker_for(repo, client, clock, horizons=(3600,))
    alert(repo, price=100.0)
    minute_end = round((T0 + 3600) / 60) * 60                # the nearest candle's close
    clock.now = T0 + 3600 + 1500                             # 25 min late
    expected = sim.market.price("ETH", minute_end, before=True)
    await at(clock, tracker, clock.now)
    got = rows(repo)[3600]
    assert got["source"] == "request" and got["price"] == pytest.approx(expected, abs=0.01)
    assert got["price_at"] == minute_end


async def test_nothing_within_reach_is_recorded_missed_once(repo, client, clock, sim):
    repo.reject_key(USER, "revoked")                         # no key to ask with
    tracker = tracker_for(repo, client, clock, horizons=(3600,))
    alert(repo)
    await at(clock, tracker, T0 + 3600 + 100)
    assert rows(repo) == {}                                  # still inside the tolerance
    await at(clock, tracker, T0 + 3600 + 181)
    assert rows(repo)[3600]["source"] == "missed" and rows(repo)[3600]["price"] is None
    assert sim.request_count(KEY) == 0 and tracker.pending == 0
    assert OutcomeStore(repo.db).records(USER, 0)[0].outcomes == {}


async def test_a_key_without_room_waits_then_gives_up(repo, client, clock, sim):
    repo.pause(USER, None)
    tracker = tracker_for(repo, client, clock, horizons=(3600,))
    limiter = client.limiters.for_key(KEY, 1200)
    limiter.rate_limited(10_000)                             # CoinGlass said "too many"
    alert(repo)
    await at(clock, tracker, T0 + 3600 + 200)
    assert rows(repo) == {} and sim.request_count(KEY) == 0
    await at(clock, tracker, T0 + 3600 + STALE_SECONDS)
    assert rows(repo)[3600]["source"] == "missed"


async def test_poll_and_request_racing_for_one_horizon_write_one_row(repo, client, clock, sim):
    repo.pause(USER, None)
    tracker = tracker_for(repo, client, clock, horizons=(3600,))
    alert_id = alert(repo)
    sim.inject_fault("latency", key=KEY, seconds=1.0)
    clock.now = T0 + 3600
    await tracker.tick()                                     # the request is now in flight
    await wait_until(lambda: sim.in_flight == 1)
    tracker.observe(polled(98.0, T0 + 3600 + 0.5))           # ...and a poll brings a price
    await tracker.drain()
    got = rows(repo, alert_id)
    assert list(got) == [3600] and got[3600]["price"] == 98.0 and got[3600]["source"] == "poll"
    assert tracker.stats.from_requests == 0


async def test_forget_while_a_request_is_in_flight_leaves_nothing(repo, client, clock, sim):
    repo.pause(USER, None)
    tracker = tracker_for(repo, client, clock, horizons=(3600, 14400))
    alert(repo)
    sim.inject_fault("latency", key=KEY, seconds=1.0)
    clock.now = T0 + 3600
    await tracker.tick()
    await wait_until(lambda: sim.in_flight == 1)
    repo.delete_user(USER)                                   # /forget, mid-request
    await tracker.drain()
    await at(clock, tracker, T0 + 14400, 90.0)
    assert rows(repo) == {} and tracker.pending == 0


async def test_an_alert_without_a_price_has_no_outcome(repo, client, clock, sim):
    tracker = tracker_for(repo, client, clock)
    alert(repo, price=None)
    await at(clock, tracker, T0 + 1)
    assert tracker.pending == 0
    await at(clock, tracker, T0 + 3600, 99.0)
    assert rows(repo) == {}


async def test_other_users_polls_of_the_coin_serve_too(repo, client, clock, sim):
    """A price is the market's: any poll of the coin stands in, whoever's it was."""
    repo.pause(USER, None)
    tracker = tracker_for(repo, client, clock, horizons=(3600,))
    alert(repo)
    await at(clock, tracker, T0 + 3600 + 1, 97.5)            # e.g. another user's poll of ETH
    assert rows(repo)[3600]["price"] == 97.5 and sim.request_count(KEY) == 0


async def test_coinglass_failing_costs_three_requests_then_missed(repo, client, clock, sim):
    repo.pause(USER, None)
    tracker = tracker_for(repo, client, clock, horizons=(3600,))
    alert(repo)
    sim.inject_fault("http_500", path=p.PRICE_HISTORY)
    for step in range(10):
        await at(clock, tracker, T0 + 3600 + step * 31)       # past every retry's wait
    assert sim.request_count(KEY, p.PRICE_HISTORY) == 3
    assert rows(repo)[3600]["source"] == "missed" and tracker.pending == 0
