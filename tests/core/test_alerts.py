"""Edge-triggered alert decisions (SPEC §5)."""

from __future__ import annotations

from core.alerts import ESCALATED, NEW, REMINDER, decide
from core.signals.model import Direction, Level, Signal
from core.storage.repo import AlertState

COOLDOWN = {Level.HIGH: 1800.0, Level.MEDIUM: 3600.0, Level.LOW: 21600.0}


def sig(sid: str, level: Level) -> Signal:
    return Signal(id=sid, coin="ETH", level=level, direction=Direction.NEUTRAL, title=sid,
                  text="", confidence=0.5)


def run(signals, previous, now=10_000.0, min_level=Level.MEDIUM):
    return decide(signals, previous, min_level=min_level,
                  cooldown_seconds=COOLDOWN.__getitem__, now=now)


def state(sid, level, active=True, last_alert_at=None, last_alert_level=None):
    return AlertState(sid, int(level), active, last_alert_at, last_alert_level)


def test_new_signal_alerts():
    d = run([sig("oi_surge", Level.HIGH)], {})
    assert d.alert and d.triggers == {"oi_surge": NEW} and d.level == Level.HIGH
    assert d.states["oi_surge"].last_alert_at == 10_000.0


def test_below_min_level_is_tracked_but_silent():
    d = run([sig("taker_bias", Level.LOW)], {})
    assert not d.alert
    assert d.states["taker_bias"].active and d.states["taker_bias"].last_alert_at is None


def test_still_active_inside_cooldown_is_silent():
    prev = {"oi_surge": state("oi_surge", Level.HIGH, True, 10_000.0 - 1799, 3)}
    assert not run([sig("oi_surge", Level.HIGH)], prev).alert


def test_cooldown_passed_alerts_again():
    prev = {"oi_surge": state("oi_surge", Level.HIGH, True, 10_000.0 - 1800, 3)}
    d = run([sig("oi_surge", Level.HIGH)], prev)
    assert d.triggers == {"oi_surge": REMINDER}


def test_escalation_alerts_inside_cooldown():
    prev = {"oi_surge": state("oi_surge", Level.MEDIUM, True, 9_990.0, 2)}
    d = run([sig("oi_surge", Level.HIGH)], prev)
    assert d.triggers == {"oi_surge": ESCALATED}


def test_de_escalation_does_not_alert():
    prev = {"oi_surge": state("oi_surge", Level.HIGH, True, 9_990.0, 3)}
    assert not run([sig("oi_surge", Level.MEDIUM)], prev).alert


def test_inactive_then_active_again_is_new():
    prev = {"oi_surge": state("oi_surge", Level.HIGH, False, 9_990.0, 3)}
    assert run([sig("oi_surge", Level.HIGH)], prev).triggers == {"oi_surge": NEW}


def test_one_message_groups_active_signals_triggering_first():
    prev = {"funding_extreme": state("funding_extreme", Level.HIGH, True, 9_990.0, 3)}
    d = run([sig("funding_extreme", Level.HIGH), sig("oi_surge", Level.MEDIUM)], prev)
    assert [s.id for s in d.signals] == ["oi_surge", "funding_extreme"]
    assert d.states["funding_extreme"].last_alert_at == 10_000.0      # shown again: cooldown restarts


def test_low_becoming_medium_alerts():
    prev = {"taker_bias": state("taker_bias", Level.LOW, True, None, None)}
    assert run([sig("taker_bias", Level.MEDIUM)], prev).alert
