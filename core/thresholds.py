"""User thresholds: names, units, defaults, valid ranges, presets and per-coin resolution.

The names are the contract of ``/set NAME VALUE`` (SPEC §6). Values are floats except
``min_level``, which is stored as the number of a :class:`Level`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from core.numbers import Ambiguous, NumberError, parse_number, plain
from core.plans import Plan
from core.signals.model import Level


@dataclass(frozen=True)
class ThresholdSpec:
    name: str
    unit: str
    default: float
    minimum: float
    maximum: float
    step: float                  # one press of a +/- button; a factor when ``scale == "log"``
    signal: str                  # signal id it tunes ("" for general settings)
    about: str
    min_plan: Plan = Plan.HOBBYIST
    scale: str = "linear"        # "linear" (add step) or "log" (multiply by step)
    label: str = ""              # what a trader calls it (the name stays the /set argument)

    @property
    def title(self) -> str:
        return self.label or self.name

    def stepped(self, value: float, direction: int) -> float:
        """``value`` moved one button press up (+1) or down (-1), kept inside the range."""
        if self.scale == "log":
            new = value * self.step if direction > 0 else value / self.step
            new = _round_significant(new)
        else:
            new = round(value + direction * self.step, 6)
        return min(self.maximum, max(self.minimum, new))


def _round_significant(x: float, digits: int = 2) -> float:
    if x == 0:
        return 0.0
    exponent = math.floor(math.log10(abs(x))) - digits + 1
    return round(round(x / 10**exponent) * 10**exponent, 6)


MIN_LEVEL = "min_level"

_SPECS: tuple[ThresholdSpec, ...] = (
    ThresholdSpec("funding_high", "% per 8 h", 0.10, 0.005, 5.0, 0.01, "funding_extreme",
                  "average funding above → HIGH; above 0.6 × → MEDIUM", label="Funding too high"),
    ThresholdSpec("funding_low", "% per 8 h", -0.05, -5.0, -0.005, 0.01, "funding_extreme",
                  "average funding below → HIGH", label="Funding too low"),
    ThresholdSpec("oi_change", "% per 1 h", 5.0, 0.1, 100.0, 0.5, "oi_surge",
                  "abs OI change above → HIGH; above 0.5 × → MEDIUM", label="Open interest move in 1 h"),
    ThresholdSpec("liquidation_usd", "USD per 1 h", 50_000_000, 10_000, 1e11, 1.5,
                  "liquidation_cascade",
                  "long or short side above → HIGH; total above 0.5 × → MEDIUM", scale="log", label="Liquidations of one side in 1 h"),
    ThresholdSpec("long_ratio_high", "% of accounts", 65.0, 50.5, 99.0, 1.0, "ls_extreme",
                  "global long share above → HIGH", label="Crowded long: accounts long"),
    ThresholdSpec("short_ratio_high", "% of accounts", 60.0, 50.5, 99.0, 1.0, "ls_extreme",
                  "global short share above → MEDIUM", label="Crowded short: accounts short"),
    ThresholdSpec("divergence_gap", "points", 10.0, 1.0, 50.0, 1.0, "smart_money_divergence",
                  "top-trader vs global long share gap ≥ → HIGH", label="Top traders vs retail gap"),
    ThresholdSpec("taker_bias", "% of taker volume", 65.0, 50.5, 99.0, 1.0, "taker_bias",
                  "buy share above, or below 100 − value → MEDIUM", label="One-sided market orders"),
    ThresholdSpec(MIN_LEVEL, "LOW/MEDIUM/HIGH", float(Level.MEDIUM), float(Level.LOW),
                  float(Level.HIGH), 1.0, "", "lowest level that alerts", label="Alert me from level"),
    ThresholdSpec("regime_oi_min", "% OI change", 1.0, 0.0, 50.0, 0.25, "oi_price_regime",
                  "OI × price regime: smaller OI changes count as NEUTRAL", label="Regime: smallest OI move that counts"),
    ThresholdSpec("regime_price_min", "% price change", 0.5, 0.0, 50.0, 0.25, "oi_price_regime",
                  "OI × price regime: smaller price changes count as NEUTRAL", label="Regime: smallest price move that counts"),
    ThresholdSpec("balance_change", "% per 1 d", 1.5, 0.1, 50.0, 0.25, "exchange_balance",
                  "coins on exchanges up or down by more than this in a day → MEDIUM", label="Exchange balances move in a day"),
    ThresholdSpec("netflow_usd", "USD per 1 h", 100_000_000, 100_000, 1e11, 1.5, "netflow",
                  "abs taker netflow of the last hour above → MEDIUM", Plan.STARTUP, "log", label="Netflow in 1 h"),
    ThresholdSpec("dominance_change", "points per 24 h", 1.0, 0.05, 20.0, 0.25, "btc_dominance",
                  "BTC dominance moved more than this → MEDIUM; half of it → LOW", Plan.STARTUP, label="BTC dominance move in 24 h"),
    ThresholdSpec("whale_usd", "USD", 3_000_000, 100_000, 1e10, 1.5, "whale_position",
                  "Hyperliquid position opened or closed at least this big → MEDIUM",
                  Plan.STARTUP, "log", label="Whale position size"),
    ThresholdSpec("wall_usd", "USD", 5_000_000, 50_000, 1e10, 1.5, "orderbook_wall",
                  "limit order at least this big → LOW; twice as big → MEDIUM",
                  Plan.STANDARD, "log", label="Order-book wall size"),
    ThresholdSpec("wall_distance", "% from price", 1.0, 0.05, 20.0, 0.25, "orderbook_wall",
                  "how close to price a wall must be", Plan.STANDARD, label="Wall distance from price"),
    ThresholdSpec("cluster_usd", "USD", 100_000_000, 100_000, 1e11, 1.5, "liquidation_cluster",
                  "liquidation cluster at least this big → MEDIUM; within half the distance → HIGH",
                  Plan.PROFESSIONAL, "log", label="Liquidation cluster size"),
    ThresholdSpec("cluster_distance", "% from price", 2.0, 0.05, 20.0, 0.25, "liquidation_cluster",
                  "how close to price a cluster must be", Plan.PROFESSIONAL, label="Cluster distance from price"),
    # Position guard (SPEC §16): not signals, so no signal id; every plan.
    ThresholdSpec("lock_at", "% in your favour", 1.5, 0.1, 50.0, 0.25, "",
                  "position guard: a move this far in your favour locks the position "
                  "(stop to break-even, then trailing)", label="Position guard: lock after"),
    ThresholdSpec("trail", "% from the best price", 1.0, 0.1, 20.0, 0.25, "",
                  "position guard: once locked, the suggested stop trails this far behind "
                  "the best price", label="Position guard: trail by"),
    ThresholdSpec("cooldown_high", "minutes", 30, 1, 1440, 5, "",
                  "minutes before a still-active HIGH signal alerts again", label="Repeat a HIGH signal after"),
    ThresholdSpec("cooldown_medium", "minutes", 60, 1, 1440, 5, "",
                  "minutes before a still-active MEDIUM signal alerts again", label="Repeat a MEDIUM signal after"),
    ThresholdSpec("cooldown_low", "minutes", 360, 1, 10080, 30, "",
                  "minutes before a still-active LOW signal alerts again", label="Repeat a LOW signal after"),
)

SPECS: dict[str, ThresholdSpec] = {s.name: s for s in _SPECS}
DEFAULTS: dict[str, float] = {s.name: s.default for s in _SPECS}

# Presets move the sensitivity of the core signals; "balanced" is the SPEC defaults.
PRESETS: dict[str, dict[str, float]] = {
    "conservative": {
        "funding_high": 0.15, "funding_low": -0.08, "oi_change": 8.0,
        "liquidation_usd": 100_000_000, "long_ratio_high": 70.0, "short_ratio_high": 65.0,
        "divergence_gap": 15.0, "taker_bias": 70.0,
    },
    "balanced": {name: DEFAULTS[name] for name in (
        "funding_high", "funding_low", "oi_change", "liquidation_usd", "long_ratio_high",
        "short_ratio_high", "divergence_gap", "taker_bias")},
    "aggressive": {
        "funding_high": 0.06, "funding_low": -0.03, "oi_change": 3.0,
        "liquidation_usd": 20_000_000, "long_ratio_high": 60.0, "short_ratio_high": 55.0,
        "divergence_gap": 7.0, "taker_bias": 60.0,
    },
}


class ThresholdError(ValueError):
    """A threshold name or value a user gave that cannot be used; the message says why."""


class AmbiguousValue(ThresholdError):
    """A value that reads two ways (``1,500``: 1.5 or 1500): ask the user, do not guess.

    ``readings`` are both readings; ``choices`` those inside the threshold's range (one or
    two; a text whose readings are both out of range is a plain range error instead).
    """

    def __init__(self, name: str, text: str, readings: tuple[float, float],
                 choices: tuple[float, ...]):
        forms = [_unambiguous(name, r) for r in readings]
        if len(choices) == len(readings):
            message = (f"{name}: {text} could be {forms[0]} or {forms[1]}; "
                       f"send {forms[0]} or {forms[1]} to say which")
        else:
            only = _unambiguous(name, choices[0])
            message = (f"{name}: {text} could be {forms[0]} or {forms[1]}; only {only} is "
                       f"{_valid_range(SPECS[name])}, send {only} if that is what you meant")
        super().__init__(message)
        self.name = name
        self.text = text
        self.readings = readings
        self.choices = choices


def _unambiguous(name: str, value: float) -> str:
    """``value`` as the user would write it, in a form that cannot be read two ways."""
    text = format_value(name, value)
    try:
        clear = not isinstance(parse_number(text, suffixes=True), Ambiguous)
    except NumberError:
        clear = False
    return text if clear else plain(value)


def _valid_range(spec: ThresholdSpec) -> str:
    return (f"between {format_value(spec.name, spec.minimum)} and "
            f"{format_value(spec.name, spec.maximum)} ({spec.unit})")


def parse_value(name: str, text: str) -> float:
    """Validate ``text`` as a value for threshold ``name``; raise ThresholdError if it is not.

    Numbers are read by :func:`core.numbers.parse_number`: decimal comma or point, thousands
    grouping, ``k``/``M``/``B`` for USD amounts, ``%`` for percentages and points. A value
    that reads two ways raises :class:`AmbiguousValue` with both readings.
    """
    spec = SPECS.get(name)
    if spec is None:
        raise ThresholdError(f"unknown threshold {name!r}")
    if name == MIN_LEVEL:
        level = Level.parse(text)
        if level is None:
            raise ThresholdError("min_level must be LOW, MEDIUM or HIGH")
        return float(level)
    valid = _valid_range(spec)
    try:
        value = parse_number(text, suffixes=spec.unit.startswith("USD"),
                             percent="%" in spec.unit or spec.unit == "points")
    except NumberError as exc:
        raise ThresholdError(f"{name} needs a number {valid}; {exc.reason}") from None

    def in_range(v: float) -> bool:
        return spec.minimum <= v <= spec.maximum

    if isinstance(value, Ambiguous):
        choices = tuple(v for v in value.readings if in_range(v))
        if not choices:
            raise ThresholdError(f"{name} must be {valid}")
        raise AmbiguousValue(name, text.strip(), value.readings, choices)
    if not in_range(value):
        raise ThresholdError(f"{name} must be {valid}")
    return value


DISPLAY_UNITS = {
    "% per 8 h": "%/8h", "% per 1 h": "%", "USD per 1 h": "", "% of accounts": "%",
    "points": "points", "% of taker volume": "%", "LOW/MEDIUM/HIGH": "", "% OI change": "%",
    "% price change": "%", "% per 1 d": "%", "points per 24 h": "points", "USD": "",
    "% from price": "% from price", "% in your favour": "%", "% from the best price": "%",
    "minutes": "min",
}


def display_value(name: str, value: float) -> str:
    """A value with its unit as a trader reads it: ``$50M``, ``5 %``, ``0.1 %/8h``,
    ``MEDIUM``, ``30 min``, ``1 point``."""
    spec = SPECS[name]
    text = format_value(name, value)
    if spec.unit.startswith("USD"):
        return f"${text}"
    unit = DISPLAY_UNITS.get(spec.unit, spec.unit)
    if unit == "points" and abs(value) == 1:
        unit = "point"
    if not unit:
        return text
    return f"{text} {unit}"


def format_value(name: str, value: float) -> str:
    """A threshold value as users write it: ``0.1``, ``65``, ``50M``, ``MEDIUM``."""
    if name == MIN_LEVEL:
        return Level(int(value)).name
    spec = SPECS[name]
    if spec.scale == "log" and abs(value) >= 1_000:
        for suffix, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
            if abs(value) >= size:
                return f"{value / size:g}{suffix}"
    return f"{value:g}"


@dataclass(frozen=True)
class ThresholdSet:
    """The thresholds in force for one coin of one user: defaults ← user ← per-coin override."""

    values: Mapping[str, float]
    overridden: frozenset[str] = frozenset()   # names set by a per-coin override

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    @property
    def min_level(self) -> Level:
        return Level(int(self.values[MIN_LEVEL]))

    def cooldown_minutes(self, level: Level) -> float:
        return self.values[f"cooldown_{level.name.lower()}"]

    @classmethod
    def defaults(cls) -> ThresholdSet:
        return cls(dict(DEFAULTS))

    @classmethod
    def resolve(
        cls,
        user: Mapping[str, float] | None = None,
        coin: Mapping[str, float] | None = None,
    ) -> ThresholdSet:
        values = dict(DEFAULTS)
        values.update({k: v for k, v in (user or {}).items() if k in SPECS})
        coin = {k: v for k, v in (coin or {}).items() if k in SPECS}
        values.update(coin)
        return cls(values, frozenset(coin))


def visible_specs(plan: Plan) -> Iterable[ThresholdSpec]:
    """The thresholds a user of ``plan`` can use (higher-plan signals' thresholds hidden)."""
    return (s for s in _SPECS if s.min_plan <= plan)
