"""What a rule hands the engine: a signal before its confidence modifiers are applied."""

from __future__ import annotations

from datetime import datetime
from typing import Mapping

from core.signals.model import Direction, Level


class Finding:
    """A rule's conclusion: everything of a :class:`Signal` except coin and modifiers.

    ``base`` is the confidence before modifiers (see :mod:`core.signals.confidence`).
    A plain slotted class rather than a dataclass: the engine builds thousands per second.
    """

    __slots__ = ("id", "level", "direction", "title", "text", "base", "values", "data_time")

    def __init__(
        self,
        id: str,
        level: Level,
        direction: Direction,
        title: str,
        text: str,
        base: float,
        values: Mapping[str, float],
        data_time: datetime,
    ) -> None:
        self.id = id
        self.level = level
        self.direction = direction
        self.title = title
        self.text = text
        self.base = base
        self.values = values
        self.data_time = data_time

    def __repr__(self) -> str:
        return (f"Finding({self.id}, {self.level.name}, {self.direction.value}, "
                f"base={self.base:.3f})")


class Unavailable(str):
    """A rule's answer when its section is present but lacks the value it needs.

    The text is what ``Evaluation.unevaluated`` shows, e.g. ``"no open interest (no 1h change)"``.
    """

    __slots__ = ()
