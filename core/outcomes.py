"""Alert outcomes and the user's track record (SPEC §14). Pure: no I/O, no clock.

For every alert the bot keeps the price at the alert's data time and, at each horizon of
``OUTCOME_HORIZONS`` after it, the price then; :func:`measure` says whether the move agreed
with the signal's direction. The caller finds a price for a due horizon with
:func:`nearest_price` among the prices its polls fetched anyway, and asks CoinGlass for one only
when none is close enough.

Decisions the spec leaves open:

* **Dead band.** A move smaller than ``FLAT_PCT`` (0.1 %) either way is *flat*: no verdict
  (``None``), shown as flat. In :func:`stats` a flat outcome of a directional alert still counts
  in the denominator of the agreement share — a call that did not move did not come true — so a
  signal cannot look good by being followed by nothing. A move of exactly 0.1 % is called.
* **Neutral alerts** (e.g. an OI surge) get no verdict and are left out of agreement shares.
* **Tolerance.** A polled price stands in for the price at ``alert time + horizon`` when it is
  within :func:`tolerance_for` the horizon: 5 % of it, at least 1 s and at most 10 min (1h →
  3 min, 4h and 24h → 10 min, 5s → 1 s). Nearest wins; on a tie the later price.
* **Moves in stats** are signed in the alert's direction (+2.0 = price moved 2 % the way the
  signal said; bearish alerts flip the sign); for neutral alerts, the size of the move. They are
  read at one horizon, the longest asked for (4h by default).
* Fewer than ``MIN_ALERTS`` (5) alerts of a signal: its figures are still given, flagged
  ``enough=False`` with the note "not enough alerts yet".
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from core.signals.model import Direction

FLAT_PCT = 0.1
TOLERANCE_SHARE = 0.05
TOLERANCE_MIN_SECONDS = 1.0
TOLERANCE_MAX_SECONDS = 600.0
MIN_ALERTS = 5
NOT_ENOUGH = "not enough alerts yet"
STATS_HORIZONS: tuple[int, ...] = (3600, 14400)      # agreement shares at 1h and 4h

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_HORIZON = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")


@dataclass(frozen=True)
class Outcome:
    move_pct: float              # price change from the alert's price, in % (9 decimals)
    verdict: bool | None         # agreed with the direction; None: neutral alert or flat move

    @property
    def flat(self) -> bool:
        return abs(self.move_pct) < FLAT_PCT


def measure(direction: Direction | str, price_then: float, price_at_horizon: float) -> Outcome:
    """The move from ``price_then`` to ``price_at_horizon`` and whether it agreed with
    ``direction`` (bullish: price rose; bearish: price fell)."""
    if not price_then > 0 or not price_at_horizon > 0:
        raise ValueError("prices must be positive")
    direction = Direction(direction)
    # Rounded so the dead band's edge does not depend on float noise (0.1 % is 0.1 %).
    move = round((price_at_horizon / price_then - 1.0) * 100.0, 9)
    if direction is Direction.NEUTRAL or abs(move) < FLAT_PCT:
        return Outcome(move, None)
    return Outcome(move, (move > 0) == (direction is Direction.BULLISH))


def parse_horizons(text: str) -> tuple[int, ...]:
    """``"1h,4h,24h"`` → ``(3600, 14400, 86400)``; ``"5s, 10s"`` → ``(5, 10)``.

    Units s, m, h, d; commas or spaces between; sorted, duplicates dropped. Raises ValueError
    naming the bad part."""
    parts = [p for p in re.split(r"[,\s]+", text.strip().lower()) if p]
    if not parts:
        raise ValueError("no horizons given; expected e.g. 1h,4h,24h")
    seconds = set()
    for part in parts:
        match = _HORIZON.fullmatch(part)
        if match is None:
            raise ValueError(f"{part!r} is not a horizon like 5s, 30m, 1h or 24h")
        value = round(float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
        if value <= 0:
            raise ValueError(f"{part!r} is not a positive horizon")
        seconds.add(value)
    return tuple(sorted(seconds))


def horizon_label(seconds: int) -> str:
    """``3600`` → ``"1h"``, ``86400`` → ``"24h"``, ``1800`` → ``"30m"``, ``5`` → ``"5s"``."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def due_horizons(alert_time: float, horizons: Iterable[int], measured: Iterable[int],
                 now: float) -> list[int]:
    """The horizons whose time has come (``alert_time + h <= now``) and that have no outcome
    yet, in ascending order."""
    done = set(measured)
    return sorted(h for h in set(horizons) if h not in done and alert_time + h <= now)


def tolerance_for(horizon: float) -> float:
    """How far (s) a polled price may be from the horizon's moment and still stand in for it."""
    return min(TOLERANCE_MAX_SECONDS, max(TOLERANCE_MIN_SECONDS, TOLERANCE_SHARE * horizon))


def nearest_price(points: Iterable[tuple[float, float]], target_ts: float,
                  tolerance: float) -> tuple[float, float] | None:
    """The ``(ts, price)`` point nearest to ``target_ts`` within ``tolerance`` seconds (a tie
    goes to the later point), or None. Points with a non-positive price are skipped."""
    best: tuple[float, float] | None = None
    best_gap = 0.0
    for ts, price in points:
        if not price > 0:
            continue
        gap = abs(ts - target_ts)
        if gap > tolerance:
            continue
        if best is None or gap < best_gap or (gap == best_gap and ts > best[0]):
            best, best_gap = (ts, price), gap
    return best


@dataclass(frozen=True)
class AlertRecord:
    """One signal of one sent alert, with the outcomes measured so far (horizon s → Outcome)."""

    signal_id: str
    coin: str
    direction: Direction
    time: float                                  # the alert's data time (epoch s)
    outcomes: Mapping[int, Outcome] = field(default_factory=dict)


@dataclass(frozen=True)
class SignalStats:
    signal_id: str
    count: int                                   # alerts since ``since``
    agree_share: Mapping[int, float | None]      # horizon → share agreeing (None: nothing measured)
    measured: Mapping[int, int]                  # horizon → directional alerts measured there
    move_horizon: int                            # the horizon the moves below are read at
    median_move_pct: float | None                # in the signal's direction (see module doc)
    best_move_pct: float | None
    worst_move_pct: float | None
    enough: bool                                 # at least MIN_ALERTS alerts
    note: str | None = None                      # "not enough alerts yet"

    @property
    def agree_1h(self) -> float | None:
        return self.agree_share.get(3600)

    @property
    def agree_4h(self) -> float | None:
        return self.agree_share.get(14400)


def directed_move(direction: Direction, move_pct: float) -> float:
    """``move_pct`` signed in ``direction``: bearish flips it, neutral takes its size."""
    if direction is Direction.BEARISH:
        return -move_pct
    if direction is Direction.NEUTRAL:
        return abs(move_pct)
    return move_pct


def stats(
    records: Iterable[AlertRecord],
    since: float,
    *,
    horizons: Sequence[int] = STATS_HORIZONS,
    move_horizon: int | None = None,
    coin: str | None = None,
) -> list[SignalStats]:
    """Per signal, over the records at or after ``since`` (and of ``coin`` if given): how many,
    the share agreeing at each of ``horizons``, and the median, best and worst move at
    ``move_horizon`` (default: the longest of ``horizons``). Most frequent signal first."""
    move_at = move_horizon if move_horizon is not None else max(horizons)
    by_signal: dict[str, list[AlertRecord]] = {}
    for r in records:
        if r.time >= since and (coin is None or r.coin == coin):
            by_signal.setdefault(r.signal_id, []).append(r)
    result = []
    for signal_id, group in by_signal.items():
        shares: dict[int, float | None] = {}
        measured: dict[int, int] = {}
        for h in horizons:
            outcomes = [r.outcomes[h] for r in group
                        if h in r.outcomes and r.direction is not Direction.NEUTRAL]
            measured[h] = len(outcomes)
            shares[h] = (sum(1 for o in outcomes if o.verdict) / len(outcomes)
                         if outcomes else None)
        moves = [directed_move(r.direction, r.outcomes[move_at].move_pct)
                 for r in group if move_at in r.outcomes]
        enough = len(group) >= MIN_ALERTS
        result.append(SignalStats(
            signal_id, len(group), shares, measured, move_at,
            statistics.median(moves) if moves else None,
            max(moves) if moves else None, min(moves) if moves else None,
            enough, None if enough else NOT_ENOUGH,
        ))
    result.sort(key=lambda s: (-s.count, s.signal_id))
    return result
