"""The "all clear" (SPEC §12): one short line when a coin that alerted HIGH has had no signal
at the user's level for one HIGH cooldown — once per HIGH episode."""

from __future__ import annotations

from core.evaluation import Calm, calm_step

QUIET = 1800.0           # the default HIGH cooldown, 30 min


def run(steps):
    """Feed (seconds, alerted_high, active) steps; return the times an all clear was due."""
    calm, due_at = None, []
    for at, alerted_high, active in steps:
        calm, due = calm_step(calm, alerted_high=alerted_high, active=active, now=at,
                              quiet_for=QUIET)
        if due:
            due_at.append(at)
    return due_at


def test_all_clear_once_a_high_coin_has_been_quiet_for_a_cooldown():
    steps = [(0, True, True), (600, False, True), (1200, False, False),
             (1800, False, False), (2399, False, False), (2400, False, False),
             (4000, False, False)]
    assert run(steps) == [2400]                 # 30 min after the last signal, and only once


def test_no_all_clear_without_a_high_alert_or_while_signals_fire():
    assert run([(0, False, True), (5000, False, False)]) == []
    assert run([(0, True, True)] + [(t, False, True) for t in range(600, 9000, 600)]) == []


def test_a_new_high_alert_starts_a_new_episode():
    steps = [(0, True, True), (1800, False, False), (1900, True, True), (3700, False, False)]
    assert run(steps) == [1800, 3700]


def test_the_state_is_plain_data_that_survives_a_restart():
    calm, _ = calm_step(None, alerted_high=True, active=True, now=10.0, quiet_for=QUIET)
    assert calm == Calm(last_high_at=10.0, last_active_at=10.0, notified=False)
