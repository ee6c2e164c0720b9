"""The alert_outcomes table: written once, only for alerts that exist, deleted with the user."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.outcomes import OutcomeRow, OutcomeStore, alert_facts
from core.storage.repo import PollWrite, Repository
from core.signals.model import Direction


@pytest.fixture
def repo(tmp_path):
    repository = Repository(open_database(tmp_path / "p.db"),
                            KeyVault(Fernet.generate_key().decode()), clock=lambda: 5000.0)
    for uid in (1, 2):
        repository.ensure_user(uid)
    yield repository
    repository.close()


def add_alert(repo, user: int, coin: str = "ETH", sent: bool = True) -> int:
    payload = {"signals": [{"id": "liquidation_cascade", "direction": "bearish"},
                           {"id": "oi_surge", "direction": "neutral"}],
               "triggers": {"liquidation_cascade": "new"},
               "summary": {"price": {"price": 100.0}}}
    repo.commit_poll(user, PollWrite(alerts=[{"kind": "alert", "coin": coin, "level": 3,
                                              "data_time": 4000.0, "payload": payload}]))
    alert_id = next(repo.db.query("SELECT MAX(id) AS id FROM alerts"))["id"]
    if sent:
        repo.mark_sent(alert_id, 9)
    return alert_id


def row(alert_id: int, user: int, horizon: int = 3600, price: float = 98.0) -> OutcomeRow:
    return OutcomeRow(alert_id, horizon, user, "ETH", 100.0, price, 7600.0, price - 100.0,
                      -2.0, 0.5, "poll", 7600.0)


def test_written_once(repo):
    store = OutcomeStore(repo.db)
    a = add_alert(repo, 1)
    assert store.record(row(a, 1)) is True
    assert store.record(row(a, 1, price=50.0)) is False
    assert store.outcomes(1, [a])[a][3600].price == 98.0


def test_nothing_for_an_alert_that_is_gone_or_someone_elses(repo):
    store = OutcomeStore(repo.db)
    a = add_alert(repo, 1)
    assert store.record(row(a, 2)) is False               # not user 2's alert
    assert store.record(row(a + 100, 1)) is False         # no such alert
    assert repo.db["alert_outcomes"].count == 0


def test_forget_deletes_the_outcomes(repo):
    store = OutcomeStore(repo.db)
    mine, theirs = add_alert(repo, 1), add_alert(repo, 2)
    store.record(row(mine, 1))
    store.record(row(theirs, 2))
    repo.delete_user(1)
    assert repo.db["alert_outcomes"].count_where("user_id = ?", [1]) == 0
    assert store.outcomes(2, [theirs])[theirs][3600].price == 98.0


def test_prune_drops_outcomes_of_pruned_alerts(repo):
    store = OutcomeStore(repo.db)
    a, b = add_alert(repo, 1), add_alert(repo, 1)
    store.record(row(a, 1))
    store.record(row(b, 1))
    repo.db.execute("DELETE FROM alerts WHERE id = ?", [a])   # as the 30-day prune does
    assert store.prune(0.0) == 1
    assert store.outcomes(1, [a, b]) == {b: {3600: store.outcomes(1, [b])[b][3600]}}


def test_records_are_per_triggering_signal_of_delivered_alerts(repo):
    store = OutcomeStore(repo.db)
    a = add_alert(repo, 1)
    add_alert(repo, 1, sent=False)                         # still pending: not in the record
    add_alert(repo, 1, coin="BTC")
    store.record(row(a, 1))
    records = store.records(1, 0.0, coin="ETH")
    assert [(r.signal_id, r.direction) for r in records] == [
        ("liquidation_cascade", Direction.BEARISH)]
    assert records[0].outcomes[3600].verdict is True and records[0].time == 4000.0
    assert len(store.records(1, 0.0)) == 2 and store.records(1, 4001.0) == []


def test_alert_facts_read_what_the_payload_has():
    facts = alert_facts({"id": 3, "user_id": 1, "coin": "SOL", "data_time": None,
                         "created_at": 12.0, "payload": '{"signals": [{"id": "x"}]}'})
    assert facts.price is None and facts.time == 12.0
    assert facts.directions == {"x": Direction.NEUTRAL} and facts.triggers == ("x",)
