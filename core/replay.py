"""Threshold preview (SPEC §14): how many alerts a threshold would have given, from history.

A :class:`CoinHistory` holds one coin's CoinGlass history at one resolution (the plan's: 1h
candles on Startup+, 4h on Hobbyist), as aligned series. :func:`count_alerts` turns each candle
into a :class:`~core.market.MarketSnapshot`, runs the same signal engine as live polling
(:func:`core.signals.engine.evaluate`) and the same edge-triggered decision
(:func:`core.alerts.decide`: new / escalated / cooldown passed, cooldowns per level, the user's
minimum level), and counts the messages it would have sent. :func:`preview` does that for the
old and the new value of one threshold on every coin. Pure: no I/O, no clock.

How a candle becomes a snapshot
    Candle ``i`` is decided at its close (``times[i] + resolution``). Liquidations and taker
    buy/sell are the candle's sums; funding, OI, price and the long/short shares are its
    closes. The "1h" OI change and the price change are from the previous candle's close, so at
    1h resolution they are exactly the live 1h figures (the 4h OI change, used for the 1h/4h
    conflict modifier, is from four candles back). **At 4h resolution every figure is per 4 h**
    — liquidations and taker flow summed over 4 h, OI and price changed over 4 h — and is
    compared with thresholds meant per 1 h, so counts run higher than live; the result carries
    a note saying so.

Gaps
    ``None`` in a series is a gap: the sections it feeds are missing for that candle (and a
    change needs both candles). As in live polling, a signal that cannot be evaluated keeps its
    alert state, so data returning after a gap does not make a still-active signal new.

Window and warm-up
    Only candles decided within ``window`` (7 days) of the last candle's close are counted;
    earlier candles in the history still run, to warm the alert state up.

Which thresholds can be replayed is :data:`THRESHOLD_SIGNALS` (threshold → signals replayed)
and :data:`NO_REPLAY` (threshold → why not); every threshold is in exactly one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Collection, Iterable, Mapping, Sequence

from core.alerts import decide
from core.market import (
    FUNDING, GLOBAL_LS, LIQUIDATIONS, OPEN_INTEREST, PRICE, TAKER, TOP_LS, AccountRatio,
    FundingSection, LiquidationSection, MarketSnapshot, Missing, MissingReason,
    OpenInterestSection, PriceSection, TakerSection,
)
from core.plans import Plan
from core.signals.engine import evaluate
from core.signals.model import Level
from core.storage.repo import AlertState
from core.thresholds import ThresholdSet

RESOLUTION_SECONDS: dict[str, int] = {"1h": 3600, "4h": 14400}
DEFAULT_WINDOW = timedelta(days=7)

# The signals whose inputs CoinGlass keeps as history (SPEC §14).
REPLAYABLE: tuple[str, ...] = (
    "funding_extreme", "oi_surge", "liquidation_cascade", "ls_extreme",
    "smart_money_divergence", "taker_bias", "oi_price_regime",
)

# threshold → the signals its value changes. Settings that shape every alert replay them all.
THRESHOLD_SIGNALS: dict[str, tuple[str, ...]] = {
    "funding_high": ("funding_extreme",),
    "funding_low": ("funding_extreme",),
    "oi_change": ("oi_surge", "oi_price_regime"),   # the regime signal fires at 0.5 × oi_change
    "regime_oi_min": ("oi_price_regime",),
    "regime_price_min": ("oi_price_regime",),
    "liquidation_usd": ("liquidation_cascade",),
    "long_ratio_high": ("ls_extreme",),
    "short_ratio_high": ("ls_extreme",),
    "divergence_gap": ("smart_money_divergence",),
    "taker_bias": ("taker_bias",),
    "min_level": REPLAYABLE,
    "cooldown_high": REPLAYABLE,
    "cooldown_medium": REPLAYABLE,
    "cooldown_low": REPLAYABLE,
}

_LIVE_ONLY = "no history to replay: "
NO_REPLAY: dict[str, str] = {
    "balance_change": _LIVE_ONLY + "exchange balances are read as a daily snapshot",
    "netflow_usd": _LIVE_ONLY + "netflow is read live, not from history",
    "dominance_change": _LIVE_ONLY + "BTC dominance is only kept day by day",
    "whale_usd": _LIVE_ONLY + "Hyperliquid whale alerts are a live feed",
    "wall_usd": _LIVE_ONLY + "order-book walls are a live view of the book",
    "wall_distance": _LIVE_ONLY + "order-book walls are a live view of the book",
    "cluster_usd": _LIVE_ONLY + "the liquidation map is a live view",
    "cluster_distance": _LIVE_ONLY + "the liquidation map is a live view",
    "lock_at": "a position-guard setting: it shapes advice on your position, not alerts",
    "trail": "a position-guard setting: it shapes advice on your position, not alerts",
}

FOUR_HOUR_NOTE = ("replayed from 4h candles (your plan's history): liquidations and taker flow "
                  "are per 4 h and OI and price changes over 4 h, against thresholds meant per "
                  "1 h, so the counts run higher than live alerts would")

_GAP = Missing(MissingReason.NO_DATA, "gap in history")
_UTC = timezone.utc
_REPLAYABLE = frozenset(REPLAYABLE)

Series = tuple[float | None, ...]


@dataclass(frozen=True)
class CoinHistory:
    """One coin's history at one resolution, as series aligned with ``times``.

    ``times`` are candle open times (epoch seconds), ascending and exactly one resolution apart:
    a candle CoinGlass did not return is a ``None`` in the series, not a missing time. An
    empty series means "not fetched" (every candle a gap). Units: USD for OI, liquidations and
    taker volume; funding in % per 8 h (OI-weighted, normalised to 8 h); long shares in %.
    """

    coin: str
    resolution: str                              # "1h" or "4h"
    times: tuple[float, ...]
    price: Series = ()                           # close
    open_interest_usd: Series = ()               # aggregated OI, close
    funding_8h_pct: Series = ()                  # OI-weighted funding, close
    liq_long_usd: Series = ()                    # long liquidations in the candle
    liq_short_usd: Series = ()
    global_long_pct: Series = ()                 # retail accounts long, %
    top_long_pct: Series = ()                    # top-trader accounts long, %
    taker_buy_usd: Series = ()                   # taker buy volume in the candle
    taker_sell_usd: Series = ()
    ratio_venue: str = "Binance"                 # where the long/short shares come from

    def __post_init__(self) -> None:
        step = RESOLUTION_SECONDS.get(self.resolution)
        if step is None:
            raise ValueError(f"resolution must be 1h or 4h, not {self.resolution!r}")
        n = len(self.times)
        for name in _SERIES:
            length = len(getattr(self, name))
            if length not in (0, n):
                raise ValueError(f"{name} has {length} values for {n} candles")
        for a, b in zip(self.times, self.times[1:]):
            if b - a != step:
                raise ValueError(f"candles must be {self.resolution} apart: {a} then {b}")

    @property
    def step_seconds(self) -> int:
        return RESOLUTION_SECONDS[self.resolution]

    @cached_property
    def steps(self) -> tuple[tuple[float, MarketSnapshot], ...]:
        """(decision time, snapshot) per candle; built once and shared by every count."""
        return _build_steps(self)


_SERIES = ("price", "open_interest_usd", "funding_8h_pct", "liq_long_usd", "liq_short_usd",
           "global_long_pct", "top_long_pct", "taker_buy_usd", "taker_sell_usd")


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or not before > 0:
        return None
    return (now / before - 1.0) * 100.0


def _build_steps(h: CoinHistory) -> tuple[tuple[float, MarketSnapshot], ...]:
    n = len(h.times)
    gaps = (None,) * n

    def series(name: str) -> Series:
        return getattr(h, name) or gaps

    px, oi, fund = series("price"), series("open_interest_usd"), series("funding_8h_pct")
    liq_l, liq_s = series("liq_long_usd"), series("liq_short_usd")
    g_long, t_long = series("global_long_pct"), series("top_long_pct")
    buy, sell = series("taker_buy_usd"), series("taker_sell_usd")
    res, step = h.resolution, h.step_seconds
    hourly = res == "1h"
    pair = f"{h.coin}USDT"
    venue = h.ratio_venue
    method = "OI-weighted funding history"
    out = []
    for i in range(n):
        now = h.times[i] + step
        t = datetime.fromtimestamp(now, _UTC)
        sections: dict[str, object] = {}
        missing: dict[str, Missing] = {}

        f = fund[i]
        if f is None:
            missing[FUNDING] = _GAP
        else:
            sections[FUNDING] = FundingSection((), f, method, f, t)

        o = oi[i]
        if o is None:
            missing[OPEN_INTEREST] = _GAP
        else:
            changes = {}
            c1 = _change(o, oi[i - 1]) if i >= 1 else None
            if c1 is not None:
                changes["1h"] = c1
                if not hourly:
                    changes["4h"] = c1            # one 4h candle: the same figure, per 4 h
            if hourly and i >= 4 and (c4 := _change(o, oi[i - 4])) is not None:
                changes["4h"] = c4
            sections[OPEN_INTEREST] = OpenInterestSection(o, changes, (), t)

        lo, sh = liq_l[i], liq_s[i]
        if lo is None or sh is None:
            missing[LIQUIDATIONS] = _GAP
        else:
            sections[LIQUIDATIONS] = LiquidationSection(res, lo, sh, t)

        b, s = buy[i], sell[i]
        if b is None or s is None:
            missing[TAKER] = _GAP
        else:
            sections[TAKER] = TakerSection(res, b, s, t)

        g = g_long[i]
        if g is None:
            missing[GLOBAL_LS] = _GAP
        else:
            sections[GLOBAL_LS] = AccountRatio(g, 100.0 - g, venue, pair, res, t)
        tl = t_long[i]
        if tl is None:
            missing[TOP_LS] = _GAP
        else:
            sections[TOP_LS] = AccountRatio(tl, 100.0 - tl, venue, pair, res, t)

        p = px[i]
        if p is None:
            missing[PRICE] = _GAP
        else:
            sections[PRICE] = PriceSection(p, res, _change(p, px[i - 1]) if i >= 1 else None, t)

        out.append((now, MarketSnapshot(h.coin, Plan.HOBBYIST, t, missing=missing, **sections)))
    return tuple(out)


@dataclass(frozen=True)
class ReplayCount:
    alerts: int                                  # messages that would have been sent
    by_signal: Mapping[str, int]                 # signal id → times it triggered one
    resolution: str
    first_ts: float | None                       # decision time of the first counted candle
    last_ts: float | None                        # ...and of the last (None: nothing counted)
    steps: int = 0                               # candles counted
    gaps: int = 0                                # ...of which a signal could not be evaluated


@dataclass(frozen=True)
class Preview:
    new_count: int
    old_count: int
    coins: tuple[str, ...]                       # the coins replayed, in the order given
    resolution: str | None
    unsupported_reason: str | None = None        # why nothing was replayed
    by_coin: Mapping[str, tuple[int, int]] = field(default_factory=dict)   # coin → (new, old)
    signal_ids: tuple[str, ...] = ()             # the signals replayed
    note: str | None = None                      # e.g. the 4h-resolution caveat
    gaps: int = 0                                # candles with a gap, over all coins


def resolution_for(plan: Plan) -> str:
    """The history resolution a plan can replay at: 4h on Hobbyist, 1h above."""
    return "4h" if plan == Plan.HOBBYIST else "1h"


def replay_support(threshold_name: str) -> tuple[tuple[str, ...], str | None]:
    """(signals a threshold's preview replays, None) or ((), why it cannot be previewed)."""
    signals = THRESHOLD_SIGNALS.get(threshold_name)
    if signals is not None:
        return signals, None
    return (), NO_REPLAY.get(threshold_name, f"unknown threshold {threshold_name!r}")


def count_alerts(
    history: CoinHistory,
    thresholds: ThresholdSet,
    signal_ids: Iterable[str],
    window: timedelta = DEFAULT_WINDOW,
) -> ReplayCount:
    """The alerts ``signal_ids`` would have sent on ``history`` under ``thresholds``.

    Raises ValueError for a signal that cannot be replayed (not in :data:`REPLAYABLE`).
    """
    enabled = frozenset(signal_ids)
    unknown = enabled - _REPLAYABLE
    if unknown:
        raise ValueError(f"cannot replay {', '.join(sorted(unknown))}: no history")
    steps = history.steps
    if not steps or not enabled:
        return ReplayCount(0, {}, history.resolution, None, None)
    start = steps[-1][0] - window.total_seconds()
    min_level = thresholds.min_level
    cooldowns = {level: thresholds.cooldown_minutes(level) * 60.0 for level in Level}
    cooldown_seconds = cooldowns.__getitem__

    states: dict[str, AlertState] = {}
    alerts = counted = gaps = 0
    by_signal: dict[str, int] = {}
    first_ts = None
    for now, snap in steps:
        counting = now > start
        ev = evaluate(snap, thresholds, enabled=enabled)
        unevaluated = ev.unevaluated
        if counting:
            counted += 1
            if first_ts is None:
                first_ts = now
            if unevaluated:
                gaps += 1
        if ev.signals:
            decision = decide(ev.signals, states, min_level=min_level,
                              cooldown_seconds=cooldown_seconds, now=now)
            new_states = dict(decision.states)
            if counting and decision.signals:
                alerts += 1
                for sid in decision.triggers:
                    by_signal[sid] = by_signal.get(sid, 0) + 1
        else:
            new_states = {}
        # Like the poller: signals no longer firing go inactive (keeping when they last
        # alerted); those that could not be evaluated keep their state as it was.
        for sid, state in states.items():
            if sid not in new_states:
                if sid in unevaluated or not state.active:
                    new_states[sid] = state
                else:
                    new_states[sid] = replace(state, active=False)
        states = new_states
    return ReplayCount(alerts, by_signal, history.resolution, first_ts,
                       steps[-1][0] if counted else None, counted, gaps)


def preview(
    histories: Sequence[CoinHistory],
    old: ThresholdSet,
    new: ThresholdSet,
    threshold_name: str,
    *,
    enabled: Collection[str] | None = None,
    window: timedelta = DEFAULT_WINDOW,
) -> Preview:
    """Alerts over ``window`` on every coin of ``histories`` with the ``new`` thresholds and
    with the ``old``, counting the signals ``threshold_name`` affects (and the user has on,
    when ``enabled`` is given). Never raises for a threshold that cannot be replayed: the
    reason is in ``unsupported_reason``."""
    coins = tuple(h.coin for h in histories)
    resolutions = {h.resolution for h in histories}
    if len(resolutions) > 1:
        raise ValueError("histories of one preview must share a resolution")
    resolution = next(iter(resolutions), None)
    signals, reason = replay_support(threshold_name)
    if reason is None and enabled is not None:
        signals = tuple(s for s in signals if s in enabled)
        if not signals:
            reason = "the signals this threshold tunes are off in your settings"
    if reason is None and not histories:
        reason = "no history for your coins"
    if reason is not None:
        return Preview(0, 0, coins, resolution, reason)
    by_coin = {}
    new_total = old_total = gaps = 0
    for h in histories:
        n = count_alerts(h, new, signals, window)
        o = count_alerts(h, old, signals, window)
        by_coin[h.coin] = (n.alerts, o.alerts)
        new_total += n.alerts
        old_total += o.alerts
        gaps += n.gaps
    note = FOUR_HOUR_NOTE if resolution == "4h" else None
    return Preview(new_total, old_total, coins, resolution, None, by_coin, signals, note, gaps)
