"""The signal engine's output: signals, their levels, directions and confidence modifiers.

Everything here is plain data that survives a JSON round trip (``to_dict``/``from_dict``),
because decided alerts wait in the SQLite outbox until Telegram accepts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum, IntEnum
from typing import Any, Mapping


class Level(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @classmethod
    def parse(cls, text: str) -> Level | None:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            return None


class Direction(str, Enum):
    BULLISH = "bullish"
    BEARISH = "bearish"
    NEUTRAL = "neutral"


class Regime(str, Enum):
    CONFIRM_BULL = "CONFIRM_BULL"
    CONFIRM_BEAR = "CONFIRM_BEAR"
    LONG_LIQUIDATION = "LONG_LIQUIDATION"
    SHORT_SQUEEZE = "SHORT_SQUEEZE"
    NEUTRAL = "NEUTRAL"


@dataclass(frozen=True)
class Modifier:
    """One factor applied to a signal's confidence, with the reason shown to the user."""

    factor: float
    reason: str

    def describe(self) -> str:
        return f"×{self.factor:.2f} {self.reason}"


@dataclass(frozen=True)
class Signal:
    id: str
    coin: str
    level: Level
    direction: Direction
    title: str
    text: str                              # one paragraph with the numbers that triggered it
    confidence: float                      # in [0, 1], after modifiers
    values: Mapping[str, float] = field(default_factory=dict)
    modifiers: tuple[Modifier, ...] = ()
    data_time: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "coin": self.coin, "level": self.level.name,
            "direction": self.direction.value, "title": self.title, "text": self.text,
            "confidence": self.confidence, "values": dict(self.values),
            "modifiers": [[m.factor, m.reason] for m in self.modifiers],
            "data_time": self.data_time.timestamp() if self.data_time else None,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Signal:
        return cls(
            id=d["id"], coin=d["coin"], level=Level[d["level"]],
            direction=Direction(d["direction"]), title=d["title"], text=d["text"],
            confidence=float(d["confidence"]), values=dict(d.get("values") or {}),
            modifiers=tuple(Modifier(float(f), str(r)) for f, r in d.get("modifiers") or ()),
            data_time=(datetime.fromtimestamp(d["data_time"], timezone.utc)
                       if d.get("data_time") is not None else None),
        )


@dataclass(frozen=True)
class RegimeReading:
    """The OI × price regime over one window, and what it does to other signals' confidence."""

    regime: Regime
    window: str
    oi_change_pct: float
    price_change_pct: float
    agree_factor: float                    # applied to signals pointing the regime's way
    oppose_factor: float                   # applied to signals pointing against it

    def to_dict(self) -> dict[str, Any]:
        return {
            "regime": self.regime.value, "window": self.window,
            "oi_change_pct": self.oi_change_pct, "price_change_pct": self.price_change_pct,
            "agree_factor": self.agree_factor, "oppose_factor": self.oppose_factor,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RegimeReading:
        return cls(
            regime=Regime(d["regime"]), window=d["window"],
            oi_change_pct=float(d["oi_change_pct"]), price_change_pct=float(d["price_change_pct"]),
            agree_factor=float(d["agree_factor"]), oppose_factor=float(d["oppose_factor"]),
        )


@dataclass(frozen=True)
class Evaluation:
    """Everything the engine concluded about one coin's snapshot."""

    coin: str
    signals: tuple[Signal, ...]
    regime: RegimeReading | None
    # Signals that could not be evaluated, with why: signal id -> "no funding data (timeout)".
    unevaluated: Mapping[str, str] = field(default_factory=dict)

    @property
    def top_level(self) -> Level | None:
        return max((s.level for s in self.signals), default=None)
