"""Position guard (SPEC §16): advice for a position the user declares, from CoinGlass data.

The bot never touches an exchange. The user declares a :class:`Position`; on every poll of its
coin the caller hands :func:`guard` the position, the :class:`GuardState` it stored last time,
the coin's :class:`~core.market.MarketSnapshot` and the user's thresholds, and stores the
returned state (compare-and-set, like alert states). Pure: no I/O, no clock, no Telegram.

Phases
    ``OPEN`` until price has moved ``lock_at`` % in the position's favour (measured at the best
    price since the position was declared, so a lock is never undone); then ``LOCKED``: the
    suggested stop goes to break-even and trails ``trail`` % behind the best price, never below
    break-even and never loosening. ``EXIT`` while an exit condition holds: the OI × price
    regime has turned against the position, or price is through the user's stop or the trailed
    stop. When it stops holding the phase returns to LOCKED (a trailed stop exists) or OPEN.

Advice kinds, in the order a result lists them (:data:`KINDS`; levels in :data:`KIND_LEVEL`):

=====================  ======  =========  ====================================================
kind                   level   fires      when
=====================  ======  =========  ====================================================
``stop_hit``           HIGH    condition  price at/through the user's stop, or (LOCKED) the
                                          trailed stop; the other kinds are then left out
``tp_hit``             MEDIUM  condition  price at/through the user's take-profit; ditto
``early_exit``         HIGH    condition  regime against the position (long: LONG_LIQUIDATION,
                                          CONFIRM_BEAR; short: SHORT_SQUEEZE, CONFIRM_BULL);
                                          MEDIUM when the 1h and 4h OI changes disagree
``stop_near_cluster``  MEDIUM  condition  the stop sits near a liquidation cluster
                                          (Professional) or order-book wall (Standard+) on
                                          the stop's side of price: a sweep would take it
``tp_before_cluster``  MEDIUM  condition  the take-profit sits just beyond a liquidation
                                          cluster on the other side of price
``locked``             MEDIUM  event      the position locked, or the trailed stop moved by a
                                          step (below), and it is tighter than the user's stop
``whale_tighten``      MEDIUM  condition  LOCKED, and Hyperliquid whales (Startup+) opened
                                          positions against it of at least ``whale_usd``:
                                          the trail is halved
``funding_against``    MEDIUM  condition  a long while average funding is above
                                          ``funding_high``; a short while below
                                          ``funding_low``
=====================  ======  =========  ====================================================

"condition" advice is returned on every evaluation while it holds, like a signal: feed it to
:func:`core.alerts.decide` (keyed e.g. ``guard:<kind>``) and the usual edge trigger and
cooldowns decide when it is sent. "event" advice is returned only on the evaluation where the
event happens, so each new trailed stop is new to ``decide``.

Rules the spec leaves open (module constants, so the docs and tests can name them):

* **Sweep band.** A long's stop is exposed to a cluster/wall at price ``L`` (below price) when
  ``L × (1 − BEYOND_PCT %) < stop ≤ L × (1 + SWEEP_BAND_PCT %)``: up to 1.5 % above the level,
  or less than 0.5 % beyond it. Mirrored for a short. The suggestion is ``BEYOND_PCT`` (0.5 %)
  beyond the level, rounded outward (away from price) to a round tick — the largest 1, 2 or
  5 × 10ⁿ not above ``TICK_PCT`` (0.25 %) of the level — so a cluster at 3,080 gives "below
  3,060". Levels are walked from price outward, so the suggestion also clears any further level
  it would land near. Cluster size ≥ ``cluster_usd``, wall size ≥ ``wall_usd`` (the user's).
* **Take-profit band.** A long's take-profit is "just beyond" a short-liquidation cluster at
  ``L`` (above price) when ``L < tp ≤ L × (1 + SWEEP_BAND_PCT %)``; the suggestion is 0.5 %
  before ``L``, rounded toward price. Only liquidation clusters are used (walls are pulled and
  re-placed too easily to move a target for). No suggestion if it would not lie beyond price.
* **Trailing step.** The trailed stop moves (and ``locked`` advice is given) only when the new
  trailed level is better than the stored one by at least ``TRAIL_STEP`` × the trail in force
  (% of the best price): 0.5 % with the default 1 % trail, so a steady climb gives one piece of
  advice per half-percent, not one per poll. ``GuardState.trailed_stop`` is the level last
  suggested.
* Missing sections give no advice from them; sections the user's plan cannot see are named once
  in ``GuardResult.unavailable`` ("liquidation clusters need Professional"), and only when the
  position could use them (clusters: a stop or take-profit is set; walls: a stop is set).

Every ``detail`` names the figures, the user's own levels and the data and plan it came from;
the bot adds :data:`DISCLAIMER` once per message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Iterable

from core.market import (
    CLUSTERS, FUNDING, OPEN_INTEREST, PRICE, SECTION_MIN_PLAN, SECTION_TITLES, WALLS, WHALES,
    MarketSnapshot, MissingReason, WhaleMove,
)
from core.plans import Plan
from core.signals.finding import Unavailable
from core.signals.fmt import price as fmt_price
from core.signals.fmt import signed, usd
from core.signals.model import Evaluation, Level, Regime, RegimeReading
from core.signals.regime import oi_conflict, read_regime
from core.thresholds import ThresholdSet

LONG = "long"
SHORT = "short"
SIDES = (LONG, SHORT)

SWEEP_BAND_PCT = 1.5      # a stop this near a cluster/wall, or a tp this far beyond one, is exposed
BEYOND_PCT = 0.5          # a suggested level sits this far beyond (stop) / before (tp) the level
TICK_PCT = 0.25           # suggestions are rounded to a round tick of at most this % of the level
TRAIL_STEP = 0.5          # the trailed stop moves in steps of this fraction of the trail in force

DISCLAIMER = "Not financial advice."


class Phase(str, Enum):
    OPEN = "OPEN"
    LOCKED = "LOCKED"
    EXIT = "EXIT"


STOP_HIT = "stop_hit"
TP_HIT = "tp_hit"
EARLY_EXIT = "early_exit"
STOP_NEAR_CLUSTER = "stop_near_cluster"
TP_BEFORE_CLUSTER = "tp_before_cluster"
LOCKED = "locked"
WHALE_TIGHTEN = "whale_tighten"
FUNDING_AGAINST = "funding_against"

KINDS: tuple[str, ...] = (STOP_HIT, TP_HIT, EARLY_EXIT, STOP_NEAR_CLUSTER, TP_BEFORE_CLUSTER,
                          LOCKED, WHALE_TIGHTEN, FUNDING_AGAINST)
KIND_LEVEL: dict[str, Level] = {
    STOP_HIT: Level.HIGH, TP_HIT: Level.MEDIUM, EARLY_EXIT: Level.HIGH,
    STOP_NEAR_CLUSTER: Level.MEDIUM, TP_BEFORE_CLUSTER: Level.MEDIUM, LOCKED: Level.MEDIUM,
    WHALE_TIGHTEN: Level.MEDIUM, FUNDING_AGAINST: Level.MEDIUM,
}
EVENT_KINDS: frozenset[str] = frozenset({LOCKED})

# Regimes that turn against each side, with what they mean for it.
_AGAINST: dict[str, dict[Regime, str]] = {
    LONG: {Regime.LONG_LIQUIDATION: "longs are being closed out into a falling price",
           Regime.CONFIRM_BEAR: "shorts are adding into a falling price"},
    SHORT: {Regime.SHORT_SQUEEZE: "shorts are being squeezed into a rising price",
            Regime.CONFIRM_BULL: "new longs are pushing price up"},
}
# The side of price a position's stop lies on, as cluster and wall sides name it.
_STOP_CLUSTER_SIDE = {LONG: "long", SHORT: "short"}
_STOP_WALL_SIDE = {LONG: "bid", SHORT: "ask"}
_TP_CLUSTER_SIDE = {LONG: "short", SHORT: "long"}
_PLAN_GAP = (MissingReason.NOT_IN_PLAN, MissingReason.REFUSED, MissingReason.DISABLED)


@dataclass(frozen=True)
class Position:
    """A position the user declared: ``side`` is ``"long"`` or ``"short"``; prices in USD."""

    coin: str
    side: str
    entry: float
    stop: float | None
    take_profit: float | None
    opened_at: datetime


@dataclass(frozen=True)
class GuardState:
    """What the guard remembers between polls of one position."""

    phase: Phase
    best_price: float                 # best price in the position's favour since declared
    trailed_stop: float | None = None  # the stop last suggested once LOCKED; None while OPEN

    @classmethod
    def start(cls, position: Position) -> GuardState:
        """The state of a freshly declared position: OPEN, best price = entry."""
        return cls(Phase.OPEN, position.entry, None)


@dataclass(frozen=True)
class Advice:
    kind: str                          # one of KINDS
    level: Level
    headline: str                      # the first line: "ETH long: consider …"
    detail: str                        # figures, the user's levels, data and plan
    suggested_level: float | None      # a price to move the stop or take-profit to
    data_sources: tuple[str, ...]      # snapshot section names (core.market) it read


@dataclass(frozen=True)
class GuardResult:
    state: GuardState
    advice: tuple[Advice, ...]
    unavailable: tuple[str, ...]       # what the plan cannot see, once each


# --- small public helpers ------------------------------------------------------------------

def pnl_pct(position: Position, price: float) -> float:
    """Unleveraged P&L of ``position`` at ``price``, in % of the entry (short: entry − price)."""
    if position.side == SHORT:
        return (1.0 - price / position.entry) * 100.0
    return (price / position.entry - 1.0) * 100.0


def _positive(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def validate_position(side: str, entry: float, stop: float | None,
                      tp: float | None) -> str | None:
    """Why a declared position cannot be accepted (one line), or None when it can."""
    side = side.strip().lower() if isinstance(side, str) else ""
    if side not in SIDES:
        return "the side must be long or short"
    if not _positive(entry):
        return "the entry must be a positive price"
    if stop is not None and not _positive(stop):
        return "the stop must be a positive price"
    if tp is not None and not _positive(tp):
        return "the take-profit must be a positive price"
    if side == LONG:
        if stop is not None and not stop < entry:
            return f"a long's stop must be below the entry ({_px(entry)})"
        if tp is not None and not tp > entry:
            return f"a long's take-profit must be above the entry ({_px(entry)})"
    else:
        if stop is not None and not stop > entry:
            return f"a short's stop must be above the entry ({_px(entry)})"
        if tp is not None and not tp < entry:
            return f"a short's take-profit must be below the entry ({_px(entry)})"
    return None


def _who(pos: Position) -> str:
    """The start of every headline: ``ETH long``."""
    return f"{pos.coin} {pos.side}"


def _px(x: float) -> str:
    """A price level as traders write it: ``3,060``, ``3,150.72``, ``94,400``, ``0.5321``."""
    text = fmt_price(x)[1:]
    return text[:-3] if text.endswith(".00") else text


def level_text(x: float) -> str:
    """A price level as the guard writes it (``3,060``, ``3,150.72``), for the bot's texts."""
    return _px(x)


def round_tick(level: float, outward_down: bool) -> float:
    """``level`` rounded down (``True``) or up to the largest 1/2/5 × 10ⁿ tick that is at most
    ``TICK_PCT`` % of it: 3,064.6 → 3,060 (tick 5); 94,525 → 94,400 (tick 200)."""
    limit = abs(level) * TICK_PCT / 100.0
    if not limit > 0:
        return level
    exponent = math.floor(math.log10(limit))
    base = 10.0 ** exponent
    tick = next(m * base for m in (5, 2, 1) if m * base <= limit * (1 + 1e-9))
    q = level / tick
    n = math.floor(q + 1e-9) if outward_down else math.ceil(q - 1e-9)
    return round(n * tick, max(0, -exponent) + 1)


# --- levels near the stop and the take-profit ----------------------------------------------

@dataclass(frozen=True)
class _Level:
    price: float
    usd: float
    label: str            # "$120.0M of long liquidations at 3,080"
    section: str          # CLUSTERS or WALLS


def _cluster_levels(snap: MarketSnapshot, side: str, usd_min: float) -> list[_Level]:
    if snap.clusters is None:
        return []
    return [_Level(c.price, c.usd, f"{usd(c.usd)} of {c.side} liquidations at {_px(c.price)}",
                   CLUSTERS)
            for c in snap.clusters.clusters if c.side == side and c.usd >= usd_min]


def _wall_levels(snap: MarketSnapshot, side: str, usd_min: float) -> list[_Level]:
    if snap.walls is None:
        return []
    return [_Level(w.price, w.usd,
                   f"a {usd(w.usd)} {w.side} wall at {_px(w.price)} ({w.exchange} {w.pair})", WALLS)
            for w in snap.walls.walls if w.side == side and w.usd >= usd_min]


def _stop_exposure(side: str, stop: float, price: float,
                   levels: Iterable[_Level]) -> tuple[list[_Level], float]:
    """The levels that expose ``stop`` to a sweep, and a stop that clears them all."""
    band, beyond = SWEEP_BAND_PCT / 100.0, BEYOND_PCT / 100.0
    hits: list[_Level] = []
    current = stop
    if side == LONG:
        for lv in sorted((x for x in levels if x.price < price), key=lambda x: -x.price):
            if lv.price * (1 - beyond) < current <= lv.price * (1 + band):
                hits.append(lv)
                current = round_tick(lv.price * (1 - beyond), True)
    else:
        for lv in sorted((x for x in levels if x.price > price), key=lambda x: x.price):
            if lv.price * (1 - band) <= current < lv.price * (1 + beyond):
                hits.append(lv)
                current = round_tick(lv.price * (1 + beyond), False)
    return hits, current


def _tp_exposure(side: str, tp: float, price: float,
                 levels: Iterable[_Level]) -> tuple[list[_Level], float]:
    """The clusters a take-profit lies just beyond, and a take-profit before them all."""
    band, before = SWEEP_BAND_PCT / 100.0, BEYOND_PCT / 100.0
    hits: list[_Level] = []
    current = tp
    if side == LONG:
        for lv in sorted((x for x in levels if price < x.price < tp), key=lambda x: -x.price):
            if lv.price < current <= lv.price * (1 + band):
                hits.append(lv)
                current = round_tick(lv.price * (1 - before), True)
    else:
        for lv in sorted((x for x in levels if tp < x.price < price), key=lambda x: x.price):
            if lv.price * (1 - band) <= current < lv.price:
                hits.append(lv)
                current = round_tick(lv.price * (1 + before), False)
    return hits, current


def _source_words(snap: MarketSnapshot, sections: Iterable[str]) -> str:
    """``liquidation map (1d range) and order-book walls, on your Professional plan``."""
    words = []
    for name in sections:
        if name == CLUSTERS:
            words.append(f"CoinGlass liquidation map ({snap.clusters.range} range)")
        elif name == WALLS:
            words.append("CoinGlass large limit orders")
        elif name == WHALES:
            words.append("Hyperliquid whale alerts")
        else:
            words.append(("CoinGlass " if not words else "") + SECTION_TITLES[name])
    joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"Data: {joined}, on your {snap.plan.title} plan."


def _distance(a: float, b: float) -> str:
    return _px(abs(a - b))


def _stop_advice(pos: Position, snap: MarketSnapshot, t: ThresholdSet,
                 price: float) -> Advice | None:
    levels = (_cluster_levels(snap, _STOP_CLUSTER_SIDE[pos.side], t["cluster_usd"])
              + _wall_levels(snap, _STOP_WALL_SIDE[pos.side], t["wall_usd"]))
    hits, suggested = _stop_exposure(pos.side, pos.stop, price, levels)
    if not hits:
        return None
    beyond = "below" if pos.side == LONG else "above"
    lead = max(hits, key=lambda x: x.usd)
    where = "below" if lead.price < pos.stop else "above"
    detail = (f"{lead.label}, {_distance(lead.price, pos.stop)} {where} your stop at "
              f"{_px(pos.stop)} — a sweep would take it.")
    others = [h.label for h in hits if h is not lead]
    if others:
        detail += f" Also near it: {'; '.join(others)}."
    detail += (f" Suggested: {beyond} {_px(suggested)}, {BEYOND_PCT:g} % {beyond} the "
               f"{'farthest level' if others else 'level'}, rounded. Price {_px(price)}, entry "
               f"{_px(pos.entry)}. ")
    sections = tuple(dict.fromkeys(h.section for h in hits))
    detail += _source_words(snap, sections)
    return Advice(STOP_NEAR_CLUSTER, KIND_LEVEL[STOP_NEAR_CLUSTER],
                  f"{_who(pos)}: consider moving your stop {beyond} {_px(suggested)}", detail,
                  suggested, sections + (PRICE,))


def _tp_advice(pos: Position, snap: MarketSnapshot, t: ThresholdSet,
               price: float) -> Advice | None:
    levels = _cluster_levels(snap, _TP_CLUSTER_SIDE[pos.side], t["cluster_usd"])
    hits, suggested = _tp_exposure(pos.side, pos.take_profit, price, levels)
    if not hits:
        return None
    lead = max(hits, key=lambda x: x.usd)
    detail = (f"{lead.label}, {_distance(lead.price, pos.take_profit)} before your take-profit "
              f"at {_px(pos.take_profit)}: price often turns at such a pool before it gets "
              f"beyond it.")
    others = [h.label for h in hits if h is not lead]
    if others:
        detail += f" Also in the way: {'; '.join(others)}."
    ahead = suggested > price if pos.side == LONG else suggested < price
    if ahead:
        headline = f"{_who(pos)}: consider moving your take-profit to {_px(suggested)}"
        detail += (f" Suggested: {_px(suggested)}, {BEYOND_PCT:g} % before the "
                   f"{'nearest level' if others else 'level'}, rounded "
                   f"(P&L there {signed(pnl_pct(pos, suggested))} %).")
        level: float | None = suggested
    else:
        headline = (f"{_who(pos)}: your take-profit {_px(pos.take_profit)} lies just beyond "
                    f"{usd(lead.usd)} of liquidations")
        detail += " The cluster is too close to price to place a take-profit before it."
        level = None
    detail += f" Price {_px(price)}, entry {_px(pos.entry)}. " + _source_words(snap, (CLUSTERS,))
    return Advice(TP_BEFORE_CLUSTER, KIND_LEVEL[TP_BEFORE_CLUSTER], headline, detail, level,
                  (CLUSTERS, PRICE))


# --- trailing --------------------------------------------------------------------------------

def _whales_against(pos: Position, snap: MarketSnapshot, t: ThresholdSet) -> list[WhaleMove]:
    if snap.whales is None:
        return []
    against = SHORT if pos.side == LONG else LONG
    return [m for m in snap.whales.moves
            if m.side == against and m.action == "open" and m.value_usd >= t["whale_usd"]]


def _better(side: str, a: float, b: float) -> bool:
    """Whether stop ``a`` is tighter (closer to price in the position's favour) than ``b``."""
    return a > b if side == LONG else a < b


def _trail_candidate(pos: Position, best: float, trail_pct: float) -> float:
    if pos.side == LONG:
        return max(pos.entry, best * (1 - trail_pct / 100.0))
    return min(pos.entry, best * (1 + trail_pct / 100.0))


def _locked_advice(pos: Position, snap: MarketSnapshot, t: ThresholdSet, best: float,
                   trailed: float, first: bool, trail_pct: float, tightened: bool) -> Advice:
    side = pos.side
    gain = pnl_pct(pos, best)
    if trailed == pos.entry:
        headline = f"{_who(pos)}: consider moving your stop to break-even ({_px(trailed)})"
    else:
        verb = "raising" if side == LONG else "lowering"
        headline = f"{_who(pos)}: consider {verb} your stop to {_px(trailed)}"
    behind = "below" if side == LONG else "above"
    start = ("The position is now LOCKED" if first else "The trailed stop moved")
    detail = (f"{start}: the best price since you declared it is {_px(best)}, "
              f"{signed(gain)} % from your entry {_px(pos.entry)} (your lock_at: "
              f"{t['lock_at']:g} %). The stop trails {trail_pct:g} % {behind} the best price"
              f"{' (your trail halved: whales are against you)' if tightened else ''}, never "
              f"past break-even: {_px(trailed)}. Your stop: "
              f"{_px(pos.stop) if pos.stop is not None else 'none set'}. It moves again once the "
              f"best price {'rises' if side == LONG else 'falls'} a further "
              f"{TRAIL_STEP * trail_pct:g} %. ")
    sources = (PRICE, WHALES) if tightened else (PRICE,)
    detail += _source_words(snap, sources)
    return Advice(LOCKED, KIND_LEVEL[LOCKED], headline, detail, trailed, sources)


def _whale_advice(pos: Position, snap: MarketSnapshot, t: ThresholdSet, moves: list[WhaleMove],
                  best: float, trailed: float) -> Advice:
    against = SHORT if pos.side == LONG else LONG
    total = sum(m.value_usd for m in moves)
    largest = max(moves, key=lambda m: m.value_usd)
    n = len(moves)
    half = t["trail"] / 2.0
    detail = (f"On Hyperliquid, {n} {against} position{'' if n == 1 else 's'} of at least your "
              f"whale_usd {usd(t['whale_usd'])} {'was' if n == 1 else 'were'} opened against "
              f"your {pos.side} in the last hour ({usd(total)} in all; largest "
              f"{usd(largest.value_usd)}"
              f"{' at ' + _px(largest.entry_price) if largest.entry_price else ''}). The trail "
              f"halves from {t['trail']:g} % to {half:g} % of the best price {_px(best)}: stop "
              f"{_px(trailed)}. " + _source_words(snap, (WHALES,)))
    return Advice(WHALE_TIGHTEN, KIND_LEVEL[WHALE_TIGHTEN],
                  f"{_who(pos)}: consider a tighter trail ({half:g} %) — whales opened "
                  f"{usd(total)} of {against}s against it", detail, trailed, (WHALES, PRICE))


# --- exit, funding, hits ---------------------------------------------------------------------

def _regime(snap: MarketSnapshot, t: ThresholdSet,
            evaluation: Evaluation | None) -> RegimeReading | None:
    if evaluation is not None:
        return evaluation.regime
    if snap.open_interest is None or snap.price is None:
        return None
    reading = read_regime(snap, t.values)
    return None if isinstance(reading, Unavailable) else reading


def _exit_advice(pos: Position, snap: MarketSnapshot, t: ThresholdSet,
                 reading: RegimeReading, price: float) -> Advice | None:
    meaning = _AGAINST[pos.side].get(reading.regime)
    if meaning is None:
        return None
    conflict = oi_conflict(snap.open_interest)
    h1 = snap.open_interest.change("1h") if snap.open_interest else None
    h4 = snap.open_interest.change("4h") if snap.open_interest else None
    if conflict is not None:
        note = (f"1h and 4h OI disagree ({signed(h1)} % vs {signed(h4)} %): possibly a "
                f"transition, so this is MEDIUM.")
        level = Level.MEDIUM
    elif h1 is not None and h4 is not None:
        note = f"1h and 4h OI agree ({signed(h1)} %, {signed(h4)} %)."
        level = KIND_LEVEL[EARLY_EXIT]
    else:
        note = "No 1h/4h OI pair to compare."
        level = KIND_LEVEL[EARLY_EXIT]
    detail = (f"Open interest {signed(reading.oi_change_pct)} % and price "
              f"{signed(reading.price_change_pct)} % over the last {reading.window}: "
              f"{reading.regime.value} — {meaning}, against your {pos.side}. {note} P&L now "
              f"{signed(pnl_pct(pos, price))} % (entry {_px(pos.entry)}, price {_px(price)}); "
              f"regime dead bands: OI {t['regime_oi_min']:g} %, price {t['regime_price_min']:g} "
              f"%. " + _source_words(snap, (OPEN_INTEREST, PRICE)))
    return Advice(EARLY_EXIT, level,
                  f"{_who(pos)}: consider an early exit — {meaning}", detail,
                  None, (OPEN_INTEREST, PRICE))


def _funding_advice(pos: Position, snap: MarketSnapshot, t: ThresholdSet) -> Advice | None:
    f = snap.funding
    if f is None:
        return None
    avg = f.average_8h_pct
    if pos.side == LONG and avg > t["funding_high"]:
        limit, name, payer, payee = t["funding_high"], "funding_high", "longs", "shorts"
        where = "above"
    elif pos.side == SHORT and avg < t["funding_low"]:
        limit, name, payer, payee = t["funding_low"], "funding_low", "shorts", "longs"
        where = "below"
    else:
        return None
    detail = (f"Average funding is {signed(avg, 4)} % per 8 h ({f.average_method}), {where} "
              f"your {name} of {limit:g} %: {payer} pay {payee} about {abs(avg) * 3:.2f} % of "
              f"the position a day, and crowded {payer} tend to unwind. "
              + _source_words(snap, (FUNDING,)))
    return Advice(FUNDING_AGAINST, KIND_LEVEL[FUNDING_AGAINST],
                  f"{_who(pos)}: consider the cost of holding — you pay {signed(abs(avg), 3)} % "
                  f"funding per 8 h",
                  detail, None, (FUNDING,))


def _hit_advice(pos: Position, snap: MarketSnapshot, price: float,
                trailed: float | None) -> Advice | None:
    long = pos.side == LONG
    beyond = (lambda level: price <= level) if long else (lambda level: price >= level)
    pnl = signed(pnl_pct(pos, price))
    if pos.stop is not None and beyond(pos.stop):
        return Advice(STOP_HIT, KIND_LEVEL[STOP_HIT],
                      f"{_who(pos)}: price reached your stop {_px(pos.stop)} — consider closing",
                      f"Price {_px(price)} is at or through your stop at {_px(pos.stop)} (entry "
                      f"{_px(pos.entry)}, P&L {pnl} %). " + _source_words(snap, (PRICE,)),
                      pos.stop, (PRICE,))
    if trailed is not None and beyond(trailed) and (
            pos.stop is None or _better(pos.side, trailed, pos.stop)):
        return Advice(STOP_HIT, KIND_LEVEL[STOP_HIT],
                      f"{_who(pos)}: price {'fell' if long else 'rose'} through the trailed stop "
                      f"{_px(trailed)} — consider closing",
                      f"Price {_px(price)} is at or through the trailed stop {_px(trailed)} "
                      f"suggested while LOCKED (entry {_px(pos.entry)}, P&L {pnl} %; your own "
                      f"stop: {_px(pos.stop) if pos.stop is not None else 'none set'}): the trail "
                      f"says exit. " + _source_words(snap, (PRICE,)), trailed, (PRICE,))
    if pos.take_profit is not None and (price >= pos.take_profit if long
                                        else price <= pos.take_profit):
        return Advice(TP_HIT, KIND_LEVEL[TP_HIT],
                      f"{_who(pos)}: price reached your take-profit {_px(pos.take_profit)} — "
                      f"consider taking profit",
                      f"Price {_px(price)} is at or through your take-profit at "
                      f"{_px(pos.take_profit)} (entry {_px(pos.entry)}, P&L {pnl} %). "
                      + _source_words(snap, (PRICE,)), pos.take_profit, (PRICE,))
    return None


def _wanted_sections(pos: Position) -> list[str]:
    """The plan-gated sections this position's advice could use."""
    wanted = []
    if pos.stop is not None or pos.take_profit is not None:
        wanted.append(CLUSTERS)
    if pos.stop is not None:
        wanted.append(WALLS)
    wanted.append(WHALES)
    return wanted


def plan_gaps(position: Position, plan: Plan,
              refused: Iterable[str] = ()) -> tuple[str, ...]:
    """What ``plan`` cannot see for ``position``, before any snapshot: the lines
    :attr:`GuardResult.unavailable` would hold (``refused``: sections CoinGlass refused)."""
    refused = set(refused)
    return tuple(_gap_line(name) for name in _wanted_sections(position)
                 if plan < SECTION_MIN_PLAN[name] or name in refused)


def _gap_line(name: str) -> str:
    return f"{SECTION_TITLES[name]} need {SECTION_MIN_PLAN[name].title}"


def _unavailable(pos: Position, snap: MarketSnapshot) -> tuple[str, ...]:
    lines = []
    for name in _wanted_sections(pos):
        if getattr(snap, name) is not None:
            continue
        missing = snap.missing.get(name)
        if snap.plan < SECTION_MIN_PLAN[name] or (missing is not None
                                                  and missing.reason in _PLAN_GAP):
            lines.append(_gap_line(name))
    return tuple(lines)


# --- the guard -------------------------------------------------------------------------------

def guard(
    position: Position,
    state: GuardState,
    snapshot: MarketSnapshot,
    thresholds: ThresholdSet,
    *,
    evaluation: Evaluation | None = None,
) -> GuardResult:
    """One evaluation of ``position``: the new state and the advice that holds now.

    ``evaluation`` is the signal engine's result for the same snapshot and thresholds when the
    caller has it (the poller does): its regime reading is used as is, so the guard and the
    alert name the same regime. Without it the regime is read with the engine's own
    :func:`core.signals.regime.read_regime`.
    """
    pos, snap, t = position, snapshot, thresholds
    unavailable = _unavailable(pos, snap)
    price = snap.price.price if snap.price is not None else None
    if price is None or not price > 0:
        funding = _funding_advice(pos, snap, t)
        return GuardResult(state, (funding,) if funding else (), unavailable)

    long = pos.side == LONG
    best = max(state.best_price, price) if long else min(state.best_price, price)
    locked = state.trailed_stop is not None or pnl_pct(pos, best) >= t["lock_at"] - 1e-9
    whales = _whales_against(pos, snap, t) if locked else []
    trail_pct = t["trail"] / 2.0 if whales else t["trail"]

    trailed = state.trailed_stop
    moved = False
    if locked:
        candidate = _trail_candidate(pos, best, trail_pct)
        if trailed is None:
            trailed, moved = candidate, True
        elif _better(pos.side, candidate, trailed) and (
                abs(candidate - trailed) >= best * TRAIL_STEP * trail_pct / 100.0 * (1 - 1e-9)):
            trailed, moved = candidate, True

    hit = _hit_advice(pos, snap, price, trailed)
    reading = _regime(snap, t, evaluation)
    exit_advice = _exit_advice(pos, snap, t, reading, price) if reading is not None else None
    exiting = exit_advice is not None or (hit is not None and hit.kind == STOP_HIT)
    phase = Phase.EXIT if exiting else Phase.LOCKED if trailed is not None else Phase.OPEN
    new_state = GuardState(phase, best, trailed)
    if hit is not None:
        return GuardResult(new_state, (hit,), unavailable)

    advice: list[Advice] = []
    if exit_advice is not None:
        advice.append(exit_advice)
    if pos.stop is not None and (a := _stop_advice(pos, snap, t, price)) is not None:
        advice.append(a)
    if pos.take_profit is not None and (a := _tp_advice(pos, snap, t, price)) is not None:
        advice.append(a)
    if moved and (pos.stop is None or _better(pos.side, trailed, pos.stop)):
        advice.append(_locked_advice(pos, snap, t, best, trailed, state.trailed_stop is None,
                                     trail_pct, bool(whales)))
    if whales:
        advice.append(_whale_advice(pos, snap, t, whales, best, trailed))
    if (a := _funding_advice(pos, snap, t)) is not None:
        advice.append(a)
    return GuardResult(new_state, tuple(advice), unavailable)
