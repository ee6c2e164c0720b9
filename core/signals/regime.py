"""The OI × price regime, its confidence modifiers, and the 1h/4h OI conflict penalty.

Open interest and price are compared over the same window (the price section's window,
``"1h"`` or ``"4h"`` depending on the plan):

* OI up, price up → CONFIRM_BULL; OI up, price down → CONFIRM_BEAR;
* OI down, price down → LONG_LIQUIDATION; OI down, price up → SHORT_SQUEEZE;
* NEUTRAL when ``|OI| < regime_oi_min`` or ``|price| < regime_price_min`` (a change exactly at
  the dead-band value is called), or when either change is exactly zero (no sign to read).

:data:`REGIME_TABLE` is the single source of the modifiers; the docs and the bot render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from core.market import MarketSnapshot, OpenInterestSection
from core.signals.confidence import base_confidence
from core.signals.finding import Finding, Unavailable
from core.signals.fmt import signed
from core.signals.model import Direction, Level, Modifier, Regime, RegimeReading

REGIME_SIGNAL = "oi_price_regime"
OI_CONFLICT_FACTOR = 0.96


@dataclass(frozen=True)
class RegimeEffect:
    """One row of the regime table: when a regime holds and what it does to confidence."""

    regime: Regime
    oi_move: str                 # "up", "down", or "small" for the dead band
    price_move: str
    favours: Direction           # the direction of signals it boosts
    agree_factor: float          # × on signals pointing ``favours``
    oppose_factor: float         # × on signals pointing the other way
    meaning: str


REGIME_TABLE: tuple[RegimeEffect, ...] = (
    RegimeEffect(Regime.CONFIRM_BULL, "up", "up", Direction.BULLISH, 1.15, 0.88,
                 "new money entering longs: genuine bullish momentum"),
    RegimeEffect(Regime.CONFIRM_BEAR, "up", "down", Direction.BEARISH, 1.15, 0.88,
                 "shorts adding aggressively: genuine bearish pressure"),
    RegimeEffect(Regime.LONG_LIQUIDATION, "down", "down", Direction.BEARISH, 1.10, 0.92,
                 "longs being wiped out: cascade potential"),
    RegimeEffect(Regime.SHORT_SQUEEZE, "down", "up", Direction.BULLISH, 1.10, 0.92,
                 "shorts covering: squeeze potential"),
    RegimeEffect(Regime.NEUTRAL, "small", "small", Direction.NEUTRAL, 1.0, 1.0,
                 "changes inside the dead band: no modifier"),
)
REGIME_EFFECTS: dict[Regime, RegimeEffect] = {e.regime: e for e in REGIME_TABLE}

# Every factor the engine can apply: regime factors (NEUTRAL applies none) and the conflict.
MODIFIER_FACTORS: frozenset[float] = frozenset(
    f for e in REGIME_TABLE if e.regime is not Regime.NEUTRAL
    for f in (e.agree_factor, e.oppose_factor)
) | {OI_CONFLICT_FACTOR}

_CALLED = {
    (True, True): Regime.CONFIRM_BULL,
    (True, False): Regime.CONFIRM_BEAR,
    (False, False): Regime.LONG_LIQUIDATION,
    (False, True): Regime.SHORT_SQUEEZE,
}


def classify(oi_pct: float, price_pct: float, oi_min: float, price_min: float) -> Regime:
    """The regime of an OI change and a price change (both in %) over the same window."""
    # Written as "called" so a NaN falls into NEUTRAL rather than a quadrant.
    called = (abs(oi_pct) >= oi_min and abs(price_pct) >= price_min
              and oi_pct != 0 and price_pct != 0)
    if not called:
        return Regime.NEUTRAL
    return _CALLED[(oi_pct > 0, price_pct > 0)]


def read_regime(snap: MarketSnapshot, t: Mapping[str, float]) -> RegimeReading | Unavailable:
    """The regime of a snapshot whose ``open_interest`` and ``price`` sections are present."""
    window = snap.price.window
    oi_pct = snap.open_interest.change(window)
    if oi_pct is None:
        return Unavailable(f"no open interest (no {window} change)")
    price_pct = snap.price.change_pct
    if price_pct is None:
        return Unavailable(f"no price (no {window} change)")
    regime = classify(oi_pct, price_pct, t["regime_oi_min"], t["regime_price_min"])
    effect = REGIME_EFFECTS[regime]
    return RegimeReading(regime, window, oi_pct, price_pct,
                         effect.agree_factor, effect.oppose_factor)


def regime_reason(reading: RegimeReading) -> str:
    """``CONFIRM_BULL (OI +3.2 %, price +1.1 % over 1h)``."""
    return (f"{reading.regime.value} (OI {signed(reading.oi_change_pct)} %, "
            f"price {signed(reading.price_change_pct)} % over {reading.window})")


def regime_modifiers(
    reading: RegimeReading | None,
) -> tuple[Direction, Modifier | None, Modifier | None]:
    """(favoured direction, modifier for agreeing signals, modifier for opposing signals)."""
    if reading is None or reading.regime is Regime.NEUTRAL:
        return Direction.NEUTRAL, None, None
    reason = regime_reason(reading)
    return (REGIME_EFFECTS[reading.regime].favours,
            Modifier(reading.agree_factor, reason), Modifier(reading.oppose_factor, reason))


def oi_conflict(oi: OpenInterestSection | None) -> Modifier | None:
    """×0.96 when the 1h and 4h OI changes have strictly opposite signs (zero has none)."""
    if oi is None:
        return None
    h1 = oi.change("1h")
    h4 = oi.change("4h")
    if h1 is None or h4 is None:
        return None
    if (h1 > 0 and h4 < 0) or (h1 < 0 and h4 > 0):
        return Modifier(OI_CONFLICT_FACTOR,
                        f"1h/4h OI conflict ({signed(h1)} % vs {signed(h4)} %)")
    return None


_REGIME_SIGNAL_WORDS = {
    Regime.LONG_LIQUIDATION: (
        "Long liquidation", "fell", Direction.BEARISH,
        "longs are being closed out or liquidated into falling prices, which can cascade",
    ),
    Regime.SHORT_SQUEEZE: (
        "Short squeeze", "rose", Direction.BULLISH,
        "shorts are covering into rising prices, and forced buy-backs can feed the move",
    ),
}


def regime_signal(snap: MarketSnapshot, t: Mapping[str, float],
                  reading: RegimeReading) -> Finding | None:
    """MEDIUM ``oi_price_regime`` when OI drops by ≥ 0.5 × ``oi_change`` into a
    LONG_LIQUIDATION or SHORT_SQUEEZE regime."""
    words = _REGIME_SIGNAL_WORDS.get(reading.regime)
    if words is None:
        return None
    trigger = -0.5 * t["oi_change"]
    oi_pct = reading.oi_change_pct
    if not oi_pct <= trigger:
        return None
    name, price_verb, direction, meaning = words
    price_pct = reading.price_change_pct
    window = reading.window
    oi_text = signed(oi_pct)
    price_text = signed(price_pct)
    return Finding(
        REGIME_SIGNAL, Level.MEDIUM, direction,
        f"{name}: OI {oi_text} %, price {price_text} % ({window})",
        f"Open interest fell {oi_text} % while price {price_verb} {price_text} % over the "
        f"last {window} ({reading.regime.value}): {meaning}. "
        f"The OI drop is at least {-trigger:g} % (half the {t['oi_change']:g} % OI threshold).",
        base_confidence(oi_pct, trigger),
        {"oi_change_pct": oi_pct, "price_change_pct": price_pct, "threshold": trigger},
        snap.open_interest.time,
    )


def regime_table_markdown() -> str:
    """The regime table as Markdown, for ``docs/signals.md`` and the README."""
    rows = [
        "| regime | OI | price | favours | agreeing signals | opposing signals | reading |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in REGIME_TABLE:
        if e.regime is Regime.NEUTRAL:
            rows.append(f"| {e.regime.value} | \\|OI\\| < `regime_oi_min` | or \\|price\\| < "
                        f"`regime_price_min` | — | none | none | {e.meaning} |")
        else:
            rows.append(
                f"| {e.regime.value} | {e.oi_move} | {e.price_move} | {e.favours.value} "
                f"| ×{e.agree_factor:.2f} | ×{e.oppose_factor:.2f} | {e.meaning} |"
            )
    return "\n".join(rows)
