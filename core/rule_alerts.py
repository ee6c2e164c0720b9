"""The user's own rules in the poll (SPEC §17): which fire on this snapshot, and what changes.

:func:`decide_rules` is pure: the rules as stored, the poll's snapshots, the time, the user's
mutes and cooldown in; the rule rows' new fields and the outbox rows of the alerts out. The
poller commits both in its one transaction, so a ``once`` rule's fired state and its alert
are written together or not at all: it never fires twice, even across a crash.

Decisions the spec leaves open, made here:

- **Level and cooldown.** A rule's alert is MEDIUM (its place in the send queue); a
  ``repeat`` rule fires on each new crossing, but not again within the user's MEDIUM
  cooldown for that coin (``cooldown_medium``, 60 min by default) after it last fired: a
  figure that flaps around the level gives one alert per cooldown, not one per poll. A
  crossing inside the cooldown is passed over (the rule still records the value, so only a
  later crossing fires). The user's ``min_level`` does not silence rules: they asked for it.
- **Mutes and pauses.** While a coin is muted its rules are not evaluated and keep the
  value from before the mute; a paused user is not polled at all. When the mute or pause
  ends, the first poll compares with that value: a level crossed meanwhile and still
  crossed fires then (like a signal that started during a pause); a round trip does not.
- **Missing figures.** A figure the snapshot lacks never fires and leaves ``last_value`` as
  it was, so an outage does not look like a crossing when the data returns.
- A new ``repeat`` comparison that already holds at its first evaluation fires (the user
  learns it is already past the level); ``crosses`` waits for a first value to compare with.
- A rule's alert is an ordinary outbox alert row (MEDIUM): whatever holds MEDIUM alerts back
  (quiet hours) holds it too, and delivery, retries and restarts treat it the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from core.market import MarketSnapshot
from core.signals.model import Level
from core.summary import summarize
from core.user_rules import Mode, RuleSpec, evaluate_rule

WAITING = "waiting"
FIRED = "fired"
RULE_LEVEL = Level.MEDIUM


@dataclass(frozen=True)
class Rule:
    """A stored rule: its spec, its number as the user sees it (#3), and its state."""

    id: int
    number: int
    spec: RuleSpec
    state: str = WAITING
    fired_at: float | None = None       # once: when it fired; repeat: its last firing
    last_value: float | None = None     # the figure at its last evaluation
    created_at: float = 0.0

    @property
    def done(self) -> bool:
        """A ``once`` rule that fired: kept in the list, no longer watched."""
        return self.state == FIRED

    @property
    def coin(self) -> str:
        return self.spec.coin


@dataclass(frozen=True)
class RuleStep:
    """What one poll changes: rule id → changed fields, and the outbox rows to queue."""

    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)


def watched_coins(rules: Iterable[Rule]) -> list[str]:
    """The coins of the rules still watched, in rule order."""
    coins: list[str] = []
    for rule in rules:
        if not rule.done and rule.coin not in coins:
            coins.append(rule.coin)
    return coins


def decide_rules(rules: Iterable[Rule], snapshots: Mapping[str, MarketSnapshot], now: float, *,
                 mutes: Mapping[str, float] | None = None,
                 cooldown_seconds: Callable[[str], float] = lambda coin: 3600.0) -> RuleStep:
    """Evaluate every waiting rule on its coin's snapshot (see the module docstring).

    ``mutes``: coin → muted until; ``cooldown_seconds(coin)``: the user's MEDIUM cooldown.
    """
    mutes = mutes or {}
    step = RuleStep()
    for rule in rules:
        snapshot = snapshots.get(rule.coin)
        if rule.done or snapshot is None or mutes.get(rule.coin, 0.0) > now:
            continue
        current = rule.spec.read(snapshot)
        if current is None or not math.isfinite(current):
            continue
        fires = evaluate_rule(rule.spec, rule.last_value, current)
        if (fires and rule.spec.mode == Mode.REPEAT and rule.fired_at is not None
                and now - rule.fired_at < cooldown_seconds(rule.coin)):
            fires = False
        changes: dict[str, Any] = {}
        if current != rule.last_value:
            changes["last_value"] = current
        if fires:
            changes["fired_at"] = now
            if rule.spec.mode == Mode.ONCE:
                changes["state"] = FIRED
            step.alerts.append(alert_row(rule, current, snapshot, now, cooldown_seconds(rule.coin)))
        if changes:
            step.updates[rule.id] = changes
    return step


def alert_row(rule: Rule, value: float, snapshot: MarketSnapshot, now: float,
              cooldown: float) -> dict[str, Any]:
    """The outbox row of a rule that fired: everything the message shows, as JSON."""
    section = snapshot.section(rule.spec.info.section)
    data_time = section.time if section is not None else snapshot.data_time
    return {
        "kind": "alert", "coin": rule.coin, "level": int(RULE_LEVEL),
        "data_time": data_time.timestamp(),
        "payload": {
            "rule": {"id": rule.id, "number": rule.number, **rule.spec.to_dict()},
            "value": value, "previous": rule.last_value,
            "done": rule.spec.mode == Mode.ONCE,
            "cooldown_minutes": cooldown / 60.0,
            "fired_at": now,
            "summary": summarize(snapshot),
        },
    }
