"""The test alert of ``/settings`` (SPEC §17): a sample alert row, marked as a test.

It goes through the outbox like any alert, so the user sees what alerts look like, with
working buttons, and that notifications reach their phone. Its figures are real when the
user's last poll left some (:meth:`core.snapshot.SnapshotBuilder.last_known`), else made
up and said to be. Pure: a snapshot (or None) in, an outbox row out.
"""

from __future__ import annotations

from typing import Any

from core.market import MarketSnapshot
from core.signals.model import Level
from core.summary import summarize

REAL = "real"
MADE_UP = "made up"
FALLBACK_COIN = "BTC"


def pick_coin(subscribed: list[str], polled: list[str]) -> str:
    """One of the user's coins: the first subscribed, else the first a rule watches."""
    return (subscribed or polled or [FALLBACK_COIN])[0]


def made_up_summary(coin: str, now: float) -> dict[str, Any]:
    """Round, plainly invented figures in the shape :func:`core.summary.summarize` gives."""
    return {
        "coin": coin, "plan": "hobbyist", "fetched_at": now, "data_time": now,
        "price": {"price": 1000.0, "change_pct": -5.0, "window": "1h"},
        "funding": {"average_8h_pct": 0.1, "method": "made-up sample", "max": None,
                    "min": None},
        "open_interest": {"usd": 1e9, "change_1h": -5.0, "change_4h": -5.0,
                          "change_24h": None},
        "liquidations": {"window": "1h", "long_usd": 50e6, "short_usd": 5e6},
        "missing": {}, "not_in_plan": [],
    }


def sample_alert_row(coin: str, snapshot: MarketSnapshot | None, now: float) -> dict[str, Any]:
    """The outbox row (``Repository.enqueue`` arguments) of a test alert for ``coin``."""
    real = snapshot is not None and bool(snapshot.present())
    summary = summarize(snapshot) if real else made_up_summary(coin, now)
    return {
        "kind": "alert", "coin": coin, "level": int(Level.MEDIUM),
        "data_time": summary.get("data_time") if real else None,
        "payload": {"test": True, "figures": REAL if real else MADE_UP, "signals": [],
                    "triggers": {}, "regime": None, "summary": summary, "unevaluated": {}},
    }
