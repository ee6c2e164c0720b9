"""The live stream as users read it: /status's line and the alert that came from the stream."""

from __future__ import annotations

import pytest

from bot import alert_texts, texts
from core.signals.model import Level
from core.stream.status import StreamStatus
from core.storage.repo import OutboxItem
from tests.bot.test_texts import NOW, plain, signal


@pytest.mark.parametrize("status, expected", [
    (StreamStatus("connected", since=NOW - 3600), "live stream: connected since "),
    (StreamStatus("connecting"), "live stream: connecting…"),
    (StreamStatus("starting"), "live stream: connecting…"),
    (StreamStatus("retrying", failures=3, retry_at=NOW + 40),
     "reconnecting (3 failed attempts, next "),
    (StreamStatus("refused"), "refused the liquidation stream for this key's plan — alerts "
                              "come from polling"),
    (StreamStatus("key_refused"), "refused this key on the stream"),
    (StreamStatus("needs_plan"), "live stream: off: it needs a Standard plan or above"),
    (StreamStatus("idle", reason="alerts paused"), "live stream: off: alerts paused"),
    (StreamStatus("off"), "live stream: off on this bot — alerts come from polling"),
])
def test_the_status_line_says_connected_since_or_why_not(status, expected):
    assert expected in plain(texts.stream_line(status, NOW))


def test_the_status_line_escapes_what_it_shows():
    assert "&lt;x&gt;" in texts.stream_line(StreamStatus("idle", reason="<x>"), NOW)


def stream_alert(source: str | None) -> OutboxItem:
    payload = {"signals": [signal().to_dict()], "triggers": {"liquidation_cascade": "new"},
               "regime": None, "unevaluated": {},
               "summary": {"coin": "ETH", "data_time": NOW - 2, "missing": {}, "not_in_plan": [],
                           "liquidations": {"window": "1h", "long_usd": 95.2e6,
                                            "short_usd": 4.3e6}}}
    if source:
        payload["source"] = source
    return OutboxItem(id=1, user_id=1, coin="ETH", kind="alert", level=3, payload=payload,
                      created_at=NOW - 1, attempts=0)


def test_an_alert_from_the_stream_says_so_on_its_second_line_and_in_its_details():
    brief = plain(alert_texts.alert_brief(stream_alert("stream"), NOW)).split("\n")
    assert brief[0].startswith("🔴 ETH ▼") and "live stream" in brief[1]
    details = plain(alert_texts.alert_details(stream_alert("stream"), NOW))
    assert "live stream" in details and "Liquidations 1h: $95.2M long / $4.3M short" in details
    assert "Missing" not in details                 # a stream alert shows its one figure


def test_a_polled_alert_does_not_mention_the_stream():
    assert "live stream" not in alert_texts.alert_brief(stream_alert(None), NOW)


def test_the_headline_is_what_triggered_not_a_cascade_already_announced():
    """The poll after a stream alert: the cascade is still active and rides along, but the
    message is about the open-interest surge that is new."""
    cascade = signal()
    surge = signal(sid="oi_surge", title="OI surge: −8.9 % in 1h", text="OI fell",
                   values={"oi_change_pct": -8.9}, level=Level.MEDIUM)
    item = stream_alert(None)
    item.payload["signals"] = [cascade.to_dict(), surge.to_dict()]
    item.payload["triggers"] = {"oi_surge": "new"}
    first = plain(alert_texts.alert_brief(item, NOW)).split("\n")[0]
    assert first.startswith("🟡 ETH") and "open interest" in first and "liquidated" not in first
