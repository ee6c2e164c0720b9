"""One user's view of one coin: their thresholds and switches applied to a snapshot.

The poller and ``/snapshot`` both call :func:`evaluate_coin`, so a snapshot always shows what
an alert would be built from; :func:`decide_coin` adds the edge-triggered alert decision.
Pure: domain types in, domain types out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from core.alerts import AlertState, Decision, decide
from core.market import MarketSnapshot
from core.signals.catalog import SIGNAL_INFO
from core.signals.engine import evaluate
from core.signals.model import Evaluation
from core.thresholds import ThresholdSet


@dataclass(frozen=True)
class Prefs:
    """A user's thresholds (user-wide and per coin) and the signals they switched off."""

    user_wide: Mapping[str, float] = field(default_factory=dict)
    per_coin: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()

    def thresholds(self, coin: str) -> ThresholdSet:
        return ThresholdSet.resolve(self.user_wide, self.per_coin.get(coin))

    @property
    def enabled(self) -> set[str]:
        return set(SIGNAL_INFO) - self.disabled


def evaluate_coin(snapshot: MarketSnapshot, prefs: Prefs) -> Evaluation:
    """Every signal firing for this coin with this user's thresholds (cooldowns ignored)."""
    return evaluate(snapshot, prefs.thresholds(snapshot.coin), enabled=prefs.enabled)


@dataclass(frozen=True)
class CoinDecision:
    evaluation: Evaluation
    decision: Decision
    keep_active: tuple[str, ...]     # signal ids whose state stays as it is


def decide_coin(snapshot: MarketSnapshot, prefs: Prefs,
                previous: Mapping[str, AlertState], now: float,
                muted: bool = False) -> CoinDecision:
    """The evaluation and the alert decision for one coin against its previous states.

    A muted coin is still evaluated, so its signals' state stays true, but nothing alerts and
    no cooldown restarts: what is still firing when the mute ends is due again then."""
    thresholds = prefs.thresholds(snapshot.coin)
    evaluation = evaluate(snapshot, thresholds, enabled=prefs.enabled)
    decision = decide(
        evaluation.signals, previous, min_level=thresholds.min_level,
        cooldown_seconds=lambda level: thresholds.cooldown_minutes(level) * 60.0, now=now,
    )
    if muted:
        states = {sid: AlertState(sid, st.level, True,
                                  previous[sid].last_alert_at if sid in previous else None,
                                  previous[sid].last_alert_level if sid in previous else None)
                  for sid, st in decision.states.items()}
        decision = Decision((), {}, states)
    # Signals that could not be evaluated (data missing) keep their state, so an outage does
    # not make a still-active signal look new when the data returns.
    keep = tuple(s.id for s in evaluation.signals) + tuple(evaluation.unevaluated)
    return CoinDecision(evaluation, decision, keep)


@dataclass(frozen=True)
class Calm:
    """Whether a coin that alerted HIGH has calmed down (the optional "all clear")."""

    last_high_at: float | None = None
    last_active_at: float | None = None
    notified: bool = False


def calm_step(previous: Calm | None, *, alerted_high: bool, active: bool, now: float,
              quiet_for: float) -> tuple[Calm, bool]:
    """The coin's new calm state, and whether an "all clear" is due now: it alerted HIGH,
    and no signal at the user's minimum level has fired for ``quiet_for`` seconds since."""
    calm = previous or Calm()
    last_active = now if active else calm.last_active_at
    last_high, notified = calm.last_high_at, calm.notified
    if alerted_high:
        last_high, notified = now, False
    due = (not active and last_high is not None and not notified
           and last_active is not None and now - last_active >= quiet_for)
    return Calm(last_high, last_active, notified or due), due
