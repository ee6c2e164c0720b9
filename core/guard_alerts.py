"""A declared position's advice in the poll (SPEC §16), through the usual alert decision.

:func:`decide_guard` runs :func:`core.position_guard.guard` on the poll's snapshot and signal
evaluation of the position's coin, and hands the advice to :func:`core.alerts.decide` under
signal ids ``guard:<kind>`` (:func:`signal_id`). So advice is edge-triggered and repeats only
after the user's cooldown for its level, exactly like a signal, and its states live in
``alert_state`` beside the coin's signals. It returns the guard state to store, the advice's
alert states and at most one outbox row (kind ``alert``, ``payload["guard"]``) per position
and poll. Pure: no I/O, no clock.

Rules the spec leaves open:

* Advice alerts whatever the user's minimum level (``min_level`` tunes market signals): the
  user asked for the guard by declaring the position.
* "Event" advice (:data:`core.position_guard.EVENT_KINDS`: the position locked, the trailed
  stop moved) is new each time it happens, never held back by a cooldown; the guard's trailing
  step already limits it to one message per half-trail move.
* A muted coin's advice is tracked but not sent, like its signals: what still holds when the
  mute ends is due then.
* While the snapshot has no price the stored advice states stay as they were, so an outage
  does not make advice that still holds look new when the price comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from core.alerts import AlertState, decide
from core.market import MarketSnapshot
from core.position_guard import (
    EVENT_KINDS, KINDS, Advice, GuardResult, GuardState, Position, guard, pnl_pct,
)
from core.signals.model import Evaluation, Level
from core.summary import summarize
from core.thresholds import ThresholdSet

PREFIX = "guard:"


def signal_id(kind: str) -> str:
    """The ``alert_state`` id of an advice kind: ``guard:stop_near_cluster``."""
    return PREFIX + kind


def is_guard_id(sid: str) -> bool:
    return sid.startswith(PREFIX)


@dataclass(frozen=True)
class Guarded:
    """A stored position and the guard state stored with it."""

    position: Position
    state: GuardState


@dataclass(frozen=True)
class _Keyed:
    """Advice as :func:`core.alerts.decide` reads a signal: an id and a level."""

    id: str
    level: Level
    advice: Advice


@dataclass(frozen=True)
class GuardStep:
    state: GuardState                                   # to store with the position
    alert_states: Mapping[str, AlertState] = field(default_factory=dict)   # advice active now
    keep: tuple[str, ...] = ()                          # guard ids whose stored state stays
    alert: dict[str, Any] | None = None                 # the outbox row, when advice is due


def decide_guard(guarded: Guarded, snapshot: MarketSnapshot, thresholds: ThresholdSet,
                 previous: Mapping[str, AlertState], now: float, *,
                 evaluation: Evaluation | None = None, muted: bool = False) -> GuardStep:
    """One poll of one position: its new state, the advice states, and the message if due.

    ``previous``: the coin's stored alert states by signal id (guard ids are picked out).
    ``evaluation``: the signal engine's result for the same snapshot, when the poll has it.
    """
    result = guard(guarded.position, guarded.state, snapshot, thresholds, evaluation=evaluation)
    keyed = [_Keyed(signal_id(a.kind), a.level, a) for a in result.advice]
    before = {sid: st for sid, st in previous.items()
              if is_guard_id(sid) and sid[len(PREFIX):] not in EVENT_KINDS}
    decision = decide(keyed, before, min_level=Level.LOW,
                      cooldown_seconds=lambda level: thresholds.cooldown_minutes(level) * 60.0,
                      now=now)
    states = dict(decision.states)
    if muted:
        states = {sid: AlertState(sid, st.level, True,
                                  before[sid].last_alert_at if sid in before else None,
                                  before[sid].last_alert_level if sid in before else None)
                  for sid, st in states.items()}
    keep = tuple(states)
    if snapshot.price is None:
        keep += tuple(sid for sid, st in previous.items()
                      if is_guard_id(sid) and st.active and sid not in states)
    alert = None
    if decision.alert and not muted:
        alert = _row(guarded.position, result, snapshot, list(decision.signals),
                     dict(decision.triggers))
    return GuardStep(result.state, states, keep, alert)


def _row(position: Position, result: GuardResult, snapshot: MarketSnapshot,
         included: list[_Keyed], triggers: dict[str, str]) -> dict[str, Any]:
    """The outbox row: the advice that triggered first (most urgent first), then the rest
    that still holds; everything the message shows, as plain data."""
    included.sort(key=lambda k: (k.id not in triggers, -k.level, KINDS.index(k.advice.kind)))
    price = snapshot.price.price if snapshot.price is not None else None
    state = result.state
    return {
        "kind": "alert", "coin": position.coin,
        "level": int(max(k.level for k in included)),
        "data_time": snapshot.data_time.timestamp(),
        "payload": {
            "guard": {
                "coin": position.coin, "side": position.side, "entry": position.entry,
                "stop": position.stop, "take_profit": position.take_profit,
                "opened_at": position.opened_at.timestamp(),
                "phase": state.phase.value, "best_price": state.best_price,
                "trailed_stop": state.trailed_stop,
                "price": price,
                "pnl_pct": pnl_pct(position, price) if price else None,
                "plan": snapshot.plan.title,
                "advice": [advice_dict(k.advice, triggers.get(k.id)) for k in included],
                "unavailable": list(result.unavailable),
            },
            "triggers": triggers,
            "summary": summarize(snapshot),
        },
    }


def advice_dict(advice: Advice, trigger: str | None = None) -> dict[str, Any]:
    return {"kind": advice.kind, "level": int(advice.level), "headline": advice.headline,
            "detail": advice.detail, "suggested_level": advice.suggested_level,
            "data_sources": list(advice.data_sources), "trigger": trigger}
