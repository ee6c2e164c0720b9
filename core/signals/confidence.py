"""Signal confidence: a base from how far past its threshold a value is, times modifiers.

Base confidence (every signal, every level)::

    span   = |trigger − neutral|               how far the threshold sits from a calm market
    excess = |value − neutral| − span          how far past the threshold the value is
    base   = 0.4 + 0.5 × clamp(excess / span, 0, 1)

``trigger`` is the threshold that produced the signal's level (e.g. ``0.6 × funding_high``
for a MEDIUM funding signal, ``funding_high`` for a HIGH one) and ``neutral`` is the calm value
of the measure (0 for changes, flows and funding; 50 for long/short and taker shares). So a
value exactly at its threshold has base 0.4, and base reaches 0.9 when the value is as far
past the threshold as the threshold is from calm (funding 0.20 % against 0.10 %, longs 80 %
against 65 %). Confidence = clamp(base × Π modifier factors, 0, 1), rounded to 3 decimals.
"""

from __future__ import annotations

from typing import Iterable

from core.signals.model import Modifier

BASE_MIN = 0.4
BASE_MAX = 0.9
_BASE_RANGE = BASE_MAX - BASE_MIN


def base_confidence(value: float, trigger: float, neutral: float = 0.0) -> float:
    """0.4 at ``trigger``, rising linearly to 0.9 one threshold-span further from ``neutral``."""
    span = abs(trigger - neutral)
    excess = abs(value - neutral) - span
    if span > 0:
        ratio = excess / span
    else:
        ratio = 1.0 if excess > 0 else 0.0
    if not ratio > 0:          # also catches NaN
        return BASE_MIN
    if ratio >= 1:
        return BASE_MAX
    return BASE_MIN + _BASE_RANGE * ratio


def apply(base: float, modifiers: Iterable[Modifier]) -> float:
    """``base`` times every modifier's factor, clamped to [0, 1]."""
    c = base
    for m in modifiers:
        c *= m.factor
    if not c > 0:              # also catches NaN
        return 0.0
    return 1.0 if c >= 1 else round(c, 3)
