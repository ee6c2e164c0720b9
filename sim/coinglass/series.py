"""Time series the simulated market is made of: a smooth deterministic baseline plus scripted steps.

Every endpoint reads the same series, so snapshots and histories agree by construction: a
step scripted at time ``s`` is seen by every query for ``t >= s`` and by none before it.
Rates (volumes, liquidations) are integrated in closed form, so a window of any length costs
the same and sums over adjacent candles equal the sum over their union.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import Sequence

TAU = 2.0 * math.pi

# One wave term: (amplitude, angular frequency in rad/s, phase).
Term = tuple[float, float, float]


def term(amplitude: float, period_s: float, phase_unit: float) -> Term:
    return (amplitude, TAU / period_s, phase_unit * TAU)


def wave(terms: Sequence[Term], t: float) -> float:
    return sum(a * math.sin(w * t + p) for a, w, p in terms)


def _int_sin(w: float, p: float, x: float, y: float) -> float:
    return (math.cos(w * x + p) - math.cos(w * y + p)) / w


def _int_cos(w: float, p: float, x: float, y: float) -> float:
    if abs(w) < 1e-15:
        return math.cos(p) * (y - x)
    return (math.sin(w * y + p) - math.sin(w * x + p)) / w


def wave_integral(terms: Sequence[Term], x: float, y: float) -> float:
    return sum(a * _int_sin(w, p, x, y) for a, w, p in terms)


def product_integral(va: Sequence[Term], level: float, vb: Sequence[Term], x: float,
                     y: float) -> float:
    """∫ (1 + Σva) · (level + Σvb) dt over [x, y], exactly."""
    total = level * ((y - x) + wave_integral(va, x, y)) + wave_integral(vb, x, y)
    for a1, w1, p1 in va:
        for a2, w2, p2 in vb:
            # sin A · sin B = ½ [cos(A − B) − cos(A + B)]
            total += 0.5 * a1 * a2 * (_int_cos(w1 - w2, p1 - p2, x, y)
                                      - _int_cos(w1 + w2, p1 + p2, x, y))
    return total


class Series:
    """A value over time: ``level·(1 + wave)`` times scripted factors (``relative``), or
    ``level + wave`` plus scripted offsets.

    A step holds the cumulative factor/offset in force from its time on; ``before=True``
    reads the value just before any step at exactly ``t`` (the close of a candle ending at t).
    """

    __slots__ = ("level", "terms", "relative", "_times", "_marks")

    def __init__(self, level: float, terms: Sequence[Term] = (), *, relative: bool = True):
        self.level = level
        self.terms = tuple(terms)
        self.relative = relative
        self._times: list[float] = []
        self._marks: list[float] = []

    @property
    def _neutral(self) -> float:
        return 1.0 if self.relative else 0.0

    def base(self, t: float) -> float:
        w = wave(self.terms, t)
        return self.level * (1.0 + w) if self.relative else self.level + w

    def mark(self, t: float, before: bool = False) -> float:
        times = self._times
        if not times:
            return self._neutral
        i = bisect_left(times, t) if before else bisect_right(times, t)
        return self._marks[i - 1] if i else self._neutral

    def at(self, t: float, before: bool = False) -> float:
        m = self.mark(t, before)
        w = wave(self.terms, t)
        if self.relative:
            return self.level * (1.0 + w) * m
        return self.level + w + m

    def set(self, t: float, value: float) -> None:
        """From ``t`` on, the series passes through ``value`` at ``t``."""
        current = self.at(t)
        if self.relative:
            if current <= 0:
                raise ValueError("a relative series cannot be set from zero")
            self._push(t, self.mark(t) * value / current)
        else:
            self._push(t, self.mark(t) + value - current)

    def scale(self, t: float, factor: float) -> None:
        """From ``t`` on, multiply a relative series by ``factor``."""
        if not self.relative:
            raise ValueError("only a relative series can be scaled")
        self._push(t, self.mark(t) * factor)

    def shift(self, start: float, end: float | None, amount: float) -> None:
        """Over [start, end) (``end=None``: for ever) multiply a relative series by ``amount``
        or add ``amount`` to an additive one, on top of any steps already there: what a
        scripted episode in the past does to everything after it."""
        if self.relative and amount <= 0:
            raise ValueError("a relative series can only be scaled by a positive factor")
        self._break(start)
        if end is not None:
            if end <= start:
                raise ValueError("the window must end after it starts")
            self._break(end)
        lo = bisect_left(self._times, start)
        hi = len(self._times) if end is None else bisect_left(self._times, end)
        for i in range(lo, hi):
            self._marks[i] = self._marks[i] * amount if self.relative else self._marks[i] + amount

    def _break(self, t: float) -> None:
        """A step at ``t`` that changes nothing, so later edits can start there."""
        i = bisect_left(self._times, t)
        if i == len(self._times) or self._times[i] != t:
            mark = self.mark(t)
            self._times.insert(i, t)
            self._marks.insert(i, mark)

    def _push(self, t: float, mark: float) -> None:
        i = bisect_left(self._times, t)
        if i < len(self._times) and self._times[i] == t:
            self._marks[i] = mark
            return
        self._times.insert(i, t)
        self._marks.insert(i, mark)

    def step_times(self, x: float, y: float) -> list[float]:
        """Times of scripted steps inside (x, y)."""
        return self._times[bisect_right(self._times, x):bisect_left(self._times, y)]

    def segments(self, x: float, y: float) -> list[tuple[float, float, float]]:
        """[x, y) cut at step times into (start, end, mark in force) pieces."""
        cuts = [x, *self.step_times(x, y), y]
        return [(a, b, self.mark(a)) for a, b in zip(cuts, cuts[1:]) if b > a]


class Events:
    """Discrete amounts at points in time (a liquidation, a block trade)."""

    __slots__ = ("_times", "_amounts")

    def __init__(self) -> None:
        self._times: list[float] = []
        self._amounts: list[float] = []

    def add(self, t: float, amount: float) -> None:
        i = bisect_right(self._times, t)
        self._times.insert(i, t)
        self._amounts.insert(i, amount)

    def total(self, x: float, y: float | None, now: float) -> float:
        """Sum over [x, y); ``y=None`` or past ``now`` means through now, inclusive."""
        hi = (bisect_right(self._times, now) if y is None or y > now
              else bisect_left(self._times, y))
        lo = bisect_left(self._times, x)
        return sum(self._amounts[lo:hi]) if hi > lo else 0.0

    def items(self) -> list[tuple[float, float]]:
        return list(zip(self._times, self._amounts))


class Flow:
    """A rate in units per second (a relative Series) plus discrete events; integrates exactly."""

    __slots__ = ("rate", "events")

    def __init__(self, per_second: float, terms: Sequence[Term] = ()):
        self.rate = Series(per_second, terms, relative=True)
        self.events = Events()

    def total(self, x: float, y: float | None, now: float) -> float:
        """Integral over [x, y) plus events; ``y=None`` means through now, inclusive."""
        return self.rate_total(x, y, now) + self.events.total(x, y, now)

    def rate_total(self, x: float, y: float | None, now: float) -> float:
        """The integral of the rate alone over [x, y)."""
        end = now if y is None else min(y, now)
        amount = 0.0
        if end > x:
            level, terms = self.rate.level, self.rate.terms
            for a, b, m in self.rate.segments(x, end):
                amount += m * level * ((b - a) + wave_integral(terms, a, b))
        return amount


class TakerFlow:
    """Taker volume (USD per second) with a buy share in percent, plus block trades.

    ``totals`` integrates buy and sell volume exactly, cutting at the steps of both series.
    """

    __slots__ = ("volume", "share", "buys", "sells")

    def __init__(self, per_second: float, volume_terms: Sequence[Term], share_pct: float,
                 share_terms: Sequence[Term]):
        self.volume = Series(per_second, volume_terms, relative=True)
        self.share = Series(share_pct, share_terms, relative=False)
        self.buys = Events()
        self.sells = Events()

    def totals(self, x: float, y: float | None, now: float) -> tuple[float, float]:
        """(buy, sell) over [x, y); ``y=None`` means through now, inclusive."""
        end = now if y is None else min(y, now)
        buy = volume = 0.0
        if end > x:
            v, s = self.volume, self.share
            cuts = sorted({x, end, *v.step_times(x, end), *s.step_times(x, end)})
            for a, b in zip(cuts, cuts[1:]):
                scale = v.mark(a) * v.level
                volume += scale * ((b - a) + wave_integral(v.terms, a, b))
                buy += scale * product_integral(v.terms, s.level + s.mark(a), s.terms, a, b) / 100
        return (buy + self.buys.total(x, y, now),
                volume - buy + self.sells.total(x, y, now))
