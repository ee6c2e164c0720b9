"""Deciding from the stream: one shared alert state with the polls, raised never cleared."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from core.alerts import AlertState
from core.plans import Plan
from core.poller import Poller
from core.signals.model import Level
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import PollWrite, Repository
from core.stream.decide import SOURCE, stream_snapshot, stream_write
from core.stream.fold import LiquidationView

NOW = 1_800_000_000.0
USER = 7


@pytest.fixture
def repo(tmp_path) -> Repository:
    repo = Repository(open_database(tmp_path / "d.db"), KeyVault(Fernet.generate_key().decode()),
                      clock=lambda: NOW)
    repo.ensure_user(USER)
    repo.store_key(USER, "standard-key-000000000001", Plan.STANDARD, 300, None)
    repo.add_coins(USER, ["BTC", "ETH"])
    return repo


def decide(repo: Repository, long_usd: float, short_usd: float = 0.0, coin: str = "BTC",
           now: float = NOW) -> PollWrite | None:
    ctx = Poller(repo, None, default_interval=300).context(USER)
    view = LiquidationView(long_usd, short_usd, now, True)
    return stream_write(ctx, stream_snapshot(coin, Plan.STANDARD, view), now)


def commit(repo: Repository, write: PollWrite) -> None:
    assert repo.commit_poll(USER, write, repo.get_user(USER).version)


def test_a_crossing_alerts_once_from_the_stream(repo):
    write = decide(repo, 60e6, 2e6)
    assert [a["kind"] for a in write.alerts] == ["alert"] and write.cleared == []
    alert = write.alerts[0]
    payload = alert["payload"]
    assert alert["level"] == Level.HIGH and payload["source"] == SOURCE
    assert payload["triggers"] == {"liquidation_cascade": "new"}
    assert payload["summary"]["liquidations"]["long_usd"] == 60e6
    assert payload["summary"]["missing"] == {} and payload["unevaluated"] == {}
    assert write.coin_states["BTC"]["last_high_at"] == NOW
    assert write.counters == {"alerts_decided": 1, "stream_alerts": 1}
    commit(repo, write)
    assert decide(repo, 61e6, 2e6, now=NOW + 1) is None       # the same cascade, later
    assert decide(repo, 61e6, 2e6, coin="ETH", now=NOW + 1).alerts   # another coin is its own


def test_the_polled_price_rides_along_but_decides_nothing(repo):
    from datetime import datetime, timezone

    from core.market import PriceSection
    ctx = Poller(repo, None, default_interval=300).context(USER)
    view = LiquidationView(60e6, 2e6, NOW, True)
    price = PriceSection(97_000.0, "1h", -3.2, datetime.fromtimestamp(NOW - 8, timezone.utc))
    with_price = stream_write(ctx, stream_snapshot("BTC", Plan.STANDARD, view), NOW, price)
    without = stream_write(ctx, stream_snapshot("BTC", Plan.STANDARD, view), NOW)
    assert with_price.alerts[0]["payload"]["summary"]["price"] == {
        "price": 97_000.0, "change_pct": -3.2, "window": "1h"}
    assert "price" not in without.alerts[0]["payload"]["summary"]
    assert with_price.states == without.states
    assert with_price.alerts[0]["data_time"] == without.alerts[0]["data_time"] == NOW


def test_other_signals_keep_their_state(repo):
    commit(repo, PollWrite(states=[("BTC", "funding_extreme", AlertState(
        "funding_extreme", 3, True, NOW - 60, 3))]))
    commit(repo, decide(repo, 60e6))
    states = repo.alert_states(USER)
    assert states[("BTC", "funding_extreme")] == AlertState("funding_extreme", 3, True,
                                                            NOW - 60, 3)
    assert states[("BTC", "liquidation_cascade")].active


def test_the_stream_never_clears_a_cascade_the_polls_keep(repo):
    commit(repo, decide(repo, 60e6))
    assert decide(repo, 1e6, now=NOW + 5) is None               # a lower bound, not a calm
    assert repo.alert_states(USER)[("BTC", "liquidation_cascade")].active


def test_escalation_from_medium_to_high_and_cooldown_across_sources(repo):
    medium = decide(repo, 20e6, 10e6)                           # 30M > 25M
    assert medium.alerts[0]["level"] == Level.MEDIUM
    commit(repo, medium)
    high = decide(repo, 55e6, 10e6, now=NOW + 10)
    assert high.alerts[0]["payload"]["triggers"] == {"liquidation_cascade": "escalated"}
    commit(repo, high)
    # A poll an hour later found it still active and alerted the reminder: the stream is quiet.
    assert decide(repo, 56e6, 10e6, now=NOW + 20) is None


def test_a_muted_coin_records_the_state_without_alerting(repo):
    repo.mute(USER, "BTC", NOW + 3600)
    write = decide(repo, 60e6)
    assert write.alerts == [] and write.states[0][2].active
    assert write.states[0][2].last_alert_at is None


def test_a_switched_off_signal_decides_nothing(repo):
    repo.set_signal_enabled(USER, "liquidation_cascade", False)
    assert decide(repo, 600e6) is None


def test_the_users_threshold_applies(repo):
    repo.set_threshold(USER, "liquidation_usd", 100e6)
    assert decide(repo, 60e6).alerts[0]["level"] == Level.MEDIUM   # 60M > 50M (half of it)
    repo.set_threshold(USER, "liquidation_usd", 200e6, coin="ETH")
    assert decide(repo, 90e6, coin="ETH") is None
