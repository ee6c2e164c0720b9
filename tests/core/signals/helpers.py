"""Assertions shared by the signal tests."""

from __future__ import annotations

from core.signals.model import Evaluation, Signal


def fired(ev: Evaluation, signal_id: str) -> tuple[str, str] | None:
    """(level name, direction value) of ``signal_id`` in ``ev``, or None if it did not fire."""
    found = [s for s in ev.signals if s.id == signal_id]
    assert len(found) <= 1, f"{signal_id} fired twice"
    return (found[0].level.name, found[0].direction.value) if found else None


def the(ev: Evaluation, signal_id: str) -> Signal:
    (signal,) = [s for s in ev.signals if s.id == signal_id]
    return signal


def triples(ev: Evaluation) -> set[tuple[str, str, str]]:
    return {(s.id, s.level.name, s.direction.value) for s in ev.signals}
