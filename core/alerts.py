"""Edge-triggered alerting (SPEC §5): when does a firing signal deserve a message?

A signal at or above the user's minimum level triggers when it is

- **new**: not active at the previous evaluation (or never seen),
- **escalated**: active before, now at a higher level than when it was last alerted,
- **due again**: still active and its level's cooldown has passed since it was last alerted.

If anything triggers, one message for the coin carries every active signal at or above the
minimum level (the triggering ones first), and all of them restart their cooldown. Signals
below the minimum level are still tracked, so a LOW that turns MEDIUM counts as escalated.
Pure: the caller loads and stores :class:`AlertState`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from core.signals.model import Level, Signal

@dataclass(frozen=True)
class AlertState:
    """What the last evaluation of one (user, coin, signal) left behind."""

    signal_id: str
    level: int
    active: bool
    last_alert_at: float | None
    last_alert_level: int | None


NEW = "new"
ESCALATED = "escalated"
REMINDER = "still active"


@dataclass(frozen=True)
class Decision:
    signals: tuple[Signal, ...]              # the message's signals; empty = no message
    triggers: Mapping[str, str] = field(default_factory=dict)   # signal id -> NEW/ESCALATED/REMINDER
    states: Mapping[str, AlertState] = field(default_factory=dict)  # new state of every active signal

    @property
    def alert(self) -> bool:
        return bool(self.signals)

    @property
    def level(self) -> Level | None:
        return max((s.level for s in self.signals), default=None)


def decide(
    signals: Iterable[Signal],
    previous: Mapping[str, AlertState],
    *,
    min_level: Level,
    cooldown_seconds: Callable[[Level], float],
    now: float,
) -> Decision:
    signals = list(signals)
    triggers: dict[str, str] = {}
    eligible = [s for s in signals if s.level >= min_level]
    for signal in eligible:
        before = previous.get(signal.id)
        if before is None or not before.active:
            triggers[signal.id] = NEW
        elif before.last_alert_at is None or signal.level > (before.last_alert_level or 0):
            triggers[signal.id] = ESCALATED if before.last_alert_at is not None else NEW
        elif now - before.last_alert_at >= cooldown_seconds(signal.level):
            triggers[signal.id] = REMINDER

    included = (
        sorted(eligible, key=lambda s: (s.id not in triggers, -s.level, s.id)) if triggers else []
    )
    included_ids = {s.id for s in included}
    states = {}
    for signal in signals:
        before = previous.get(signal.id)
        alerted = signal.id in included_ids
        states[signal.id] = AlertState(
            signal_id=signal.id, level=int(signal.level), active=True,
            last_alert_at=now if alerted else (before.last_alert_at if before else None),
            last_alert_level=int(signal.level) if alerted else (
                before.last_alert_level if before else None),
        )
    return Decision(tuple(included), triggers, states)
