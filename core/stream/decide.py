"""Deciding from the stream: the same engine, alert decision and outbox rows as a poll.

A stream update becomes a :class:`~core.market.MarketSnapshot` that holds only the
liquidations section; every other section is missing as ``no data: live stream update`` —
deliberately not ``NOT_IN_PLAN`` — so the engine lists their signals as unevaluated and the
decision leaves their alert state as it is. The liquidation cascade then goes through
:func:`core.evaluation.decide_coin` against the user's stored alert states: the stream and the
polls share one state per (user, coin, signal), so whichever sees a cascade first alerts, the
other finds it active, and cooldowns and escalation run across both.

Pure: a :class:`~core.poller.PollContext` in, a :class:`~core.storage.repo.PollWrite` out.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from core.evaluation import calm_step, decide_coin
from core.market import (
    LIQUIDATIONS, SECTIONS, LiquidationSection, MarketSnapshot, Missing, MissingReason,
    PriceSection,
)
from core.plans import Plan
from core.poller import PollContext
from core.signals.model import Evaluation, Level
from core.storage.repo import PollWrite
from core.stream.fold import LiquidationView
from core.summary import summarize

SIGNAL = "liquidation_cascade"
SOURCE = "stream"                      # payload["source"] of an alert decided from the stream
LIVE_ONLY = Missing(MissingReason.NO_DATA, "live stream update")
_MISSING = {name: LIVE_ONLY for name in SECTIONS if name != LIQUIDATIONS}


def stream_snapshot(coin: str, plan: Plan, view: LiquidationView) -> MarketSnapshot:
    """The stream's view of one coin as a snapshot with its liquidations only."""
    at = datetime.fromtimestamp(view.at, timezone.utc)
    return MarketSnapshot(coin=coin, plan=plan, fetched_at=at,
                          liquidations=LiquidationSection("1h", view.long_usd, view.short_usd,
                                                          at),
                          missing=_MISSING)


def cascade_level(evaluation: Evaluation) -> Level | None:
    """The liquidation cascade's level in an evaluation (None: not firing or switched off)."""
    return next((s.level for s in evaluation.signals if s.id == SIGNAL), None)


def stream_write(ctx: PollContext, snapshot: MarketSnapshot, now: float,
                 price: PriceSection | None = None) -> PollWrite | None:
    """What this stream update changes for ``ctx``'s user: the cascade's alert state, an alert
    when it is new, escalated or due again, and the coin's calm state; None if nothing.

    ``price`` is the coin's price from the key's latest poll (seconds old): it is shown with the
    alert and is what the alert's outcome is measured from; it plays no part in the decision.

    The stream only raises: a state the update does not show firing is left to the polls to
    clear (a stream view is a lower bound of the hour's total, see ``core/stream/fold.py``)."""
    coin = snapshot.coin
    previous = {sid: st for (c, sid), st in ctx.states.items() if c == coin}
    muted = ctx.mutes.get(coin, 0.0) > now
    result = decide_coin(snapshot, ctx.prefs, previous, now, muted=muted)
    decision, evaluation = result.decision, result.evaluation
    changed = [(coin, sid, st) for sid, st in decision.states.items() if previous.get(sid) != st]
    if not decision.alert and not changed:
        return None
    write = PollWrite(states=changed)
    thresholds = ctx.prefs.thresholds(coin)
    alerted_high = decision.alert and decision.level == Level.HIGH
    active = any(s.level >= thresholds.min_level for s in evaluation.signals)
    calm, _ = calm_step(ctx.calm.get(coin), alerted_high=alerted_high, active=active, now=now,
                        quiet_for=thresholds.cooldown_minutes(Level.HIGH) * 60.0)
    if calm != ctx.calm.get(coin):
        write.coin_states[coin] = {"last_high_at": calm.last_high_at,
                                   "last_active_at": calm.last_active_at,
                                   "calm_notified": calm.notified}
    if decision.alert:
        summary = summarize(replace(snapshot, price=price) if price else snapshot)
        summary["missing"], summary["not_in_plan"] = {}, []     # a stream alert shows one figure
        write.alerts.append({
            "kind": "alert", "coin": coin, "level": int(decision.level),
            "data_time": snapshot.data_time.timestamp(),
            "payload": {
                "signals": [s.to_dict() for s in decision.signals],
                "triggers": dict(decision.triggers),
                "regime": None,
                "summary": summary,
                "unevaluated": {},
                "source": SOURCE,
            },
        })
        write.counters.update(alerts_decided=1, stream_alerts=1)
    return write
