"""The six core signals of the reference monitor, on every plan (SPEC §6, §8).

Each rule takes a snapshot whose sections it needs are present (the engine checks) and the
threshold values, and returns a :class:`Finding`, ``None`` (nothing to say), or an
:class:`Unavailable` when the section lacks the value the rule reads. "Above" is strict ``>``,
"below" strict ``<``; the divergence gap uses ``>=``. No threshold is written here: every
comparison reads ``t[name]``.
"""

from __future__ import annotations

from typing import Mapping

from core.market import MarketSnapshot
from core.signals.confidence import base_confidence
from core.signals.finding import Finding, Unavailable
from core.signals.fmt import signed, usd
from core.signals.model import Direction, Level

Thresholds = Mapping[str, float]

HIGH, MEDIUM = Level.HIGH, Level.MEDIUM
BULLISH, BEARISH, NEUTRAL = Direction.BULLISH, Direction.BEARISH, Direction.NEUTRAL


def _venues(n: int) -> str:
    return "1 venue reports funding" if n == 1 else f"{n} venues report funding"


def funding_extreme(snap: MarketSnapshot, t: Thresholds) -> Finding | None:
    """Average 8 h funding above ``funding_high`` → HIGH bearish; below ``funding_low`` →
    HIGH bullish; otherwise ``|avg| > 0.6 × funding_high`` → MEDIUM, direction by sign."""
    f = snap.funding
    avg = f.average_8h_pct
    high = t["funding_high"]
    low = t["funding_low"]
    if avg > high:
        level, direction, trigger = HIGH, BEARISH, high
        name, where = "Funding extreme", f"above the {high:g} % threshold"
    elif avg < low:
        level, direction, trigger = HIGH, BULLISH, low
        name, where = "Funding extreme", f"below the {low:g} % threshold"
    else:
        medium = 0.6 * high
        if avg > medium:
            level, direction, trigger = MEDIUM, BEARISH, medium
        elif avg < -medium:
            level, direction, trigger = MEDIUM, BULLISH, -medium
        else:
            return None
        name = "Funding elevated"
        where = f"beyond ±{medium:g} % (0.6 × the {high:g} % threshold)"
    if direction is BEARISH:
        meaning = ("Longs are paying shorts to hold their positions: longs are crowded, and "
                   "funding this far from normal tends to mean-revert")
    else:
        meaning = ("Shorts are paying longs to hold their positions: shorts are crowded, "
                   "which is fuel for a squeeze")
    value = f"{signed(avg, 4)} %/8h"
    return Finding(
        "funding_extreme", level, direction,
        f"{name}: {value}",
        f"Current funding averages {value} ({f.average_method}; {_venues(len(f.venues))}, "
        f"each rate normalised to 8 h), {where}. {meaning}.",
        base_confidence(avg, trigger),
        {"funding_8h_pct": avg, "threshold": trigger, "venues": float(len(f.venues))},
        f.time,
    )


def oi_surge(snap: MarketSnapshot, t: Thresholds) -> Finding | Unavailable | None:
    """``|OI change over 1h| > oi_change`` → HIGH; ``> 0.5 × oi_change`` → MEDIUM; neutral."""
    oi = snap.open_interest
    change = oi.change("1h")
    if change is None:
        return Unavailable("no open interest (no 1h change)")
    threshold = t["oi_change"]
    size = abs(change)
    if size > threshold:
        level, trigger, where = HIGH, threshold, f"beyond the {threshold:g} % threshold"
    elif size > 0.5 * threshold:
        level, trigger = MEDIUM, 0.5 * threshold
        where = f"beyond {trigger:g} % (half the {threshold:g} % threshold)"
    else:
        return None
    if change > 0:
        noun, verb = "surge", "surged"
        meaning = "new leveraged positions are entering, and a large move often follows"
    else:
        noun, verb = "drop", "dropped"
        meaning = "positions are being closed (deleveraging)"
    change_text = signed(change)
    return Finding(
        "oi_surge", level, NEUTRAL,
        f"OI {noun}: {change_text} % in 1h",
        f"Open interest {verb} {change_text} % over the last 1h to {usd(oi.total_usd)} "
        f"in total, {where}. OI alone is not directional: {meaning}.",
        base_confidence(size, trigger),
        {"oi_change_pct": change, "threshold": trigger, "oi_usd": oi.total_usd},
        oi.time,
    )


def liquidation_cascade(snap: MarketSnapshot, t: Thresholds) -> Finding | None:
    """Long side above ``liquidation_usd`` → HIGH bearish; else short side above → HIGH
    bullish; else total above 0.5 × → MEDIUM, direction by the larger side."""
    liq = snap.liquidations
    long_usd, short_usd = liq.long_usd, liq.short_usd
    threshold = t["liquidation_usd"]
    window = liq.window
    values = {"long_usd": long_usd, "short_usd": short_usd}
    if long_usd > threshold:
        values["threshold"] = threshold
        return Finding(
            "liquidation_cascade", HIGH, BEARISH,
            f"Long liquidation cascade: {usd(long_usd)} in {window}",
            f"{usd(long_usd)} of long positions were liquidated in the last {window} "
            f"(shorts: {usd(short_usd)}), above the {usd(threshold)} threshold. Forced selling "
            f"can push price into the next longs' liquidation levels.",
            base_confidence(long_usd, threshold), values, liq.time,
        )
    if short_usd > threshold:
        values["threshold"] = threshold
        return Finding(
            "liquidation_cascade", HIGH, BULLISH,
            f"Short squeeze: {usd(short_usd)} of shorts liquidated in {window}",
            f"{usd(short_usd)} of short positions were liquidated in the last {window} "
            f"(longs: {usd(long_usd)}), above the {usd(threshold)} threshold. Forced buy-backs "
            f"add upward pressure while the squeeze runs.",
            base_confidence(short_usd, threshold), values, liq.time,
        )
    total = long_usd + short_usd
    trigger = 0.5 * threshold
    if not total > trigger:
        return None
    if long_usd > short_usd:
        direction, lean = BEARISH, "mostly longs"
    elif short_usd > long_usd:
        direction, lean = BULLISH, "mostly shorts"
    else:
        direction, lean = NEUTRAL, "evenly split"
    values["threshold"] = trigger
    return Finding(
        "liquidation_cascade", MEDIUM, direction,
        f"Liquidations elevated: {usd(total)} in {window}",
        f"{usd(total)} of positions were liquidated in the last {window} ({lean}: longs "
        f"{usd(long_usd)}, shorts {usd(short_usd)}), above {usd(trigger)} (half the "
        f"{usd(threshold)} threshold). Volatility is elevated.",
        base_confidence(total, trigger), values, liq.time,
    )


def ls_extreme(snap: MarketSnapshot, t: Thresholds) -> Finding | None:
    """Retail long share above ``long_ratio_high`` → HIGH bearish (contrarian); else short
    share above ``short_ratio_high`` → MEDIUM bullish."""
    g = snap.global_ls
    where = f"{g.exchange} {g.pair}, latest {g.interval} candle"
    high = t["long_ratio_high"]
    if g.long_pct > high:
        return Finding(
            "ls_extreme", HIGH, BEARISH,
            f"Retail crowded long: {g.long_pct:.1f} % of accounts",
            f"{g.long_pct:.1f} % of accounts are long ({where}), above the {high:g} % "
            f"threshold. Read contrarian: when the crowd is this one-sided, moves against it "
            f"are common. Adding long leverage here is risky.",
            base_confidence(g.long_pct, high, 50.0),
            {"long_pct": g.long_pct, "short_pct": g.short_pct, "threshold": high},
            g.time,
        )
    short_high = t["short_ratio_high"]
    if g.short_pct > short_high:
        return Finding(
            "ls_extreme", MEDIUM, BULLISH,
            f"Retail heavily short: {g.short_pct:.1f} % of accounts",
            f"{g.short_pct:.1f} % of accounts are short ({where}), above the {short_high:g} % "
            f"threshold. Read contrarian: crowded shorts often precede a short squeeze.",
            base_confidence(g.short_pct, short_high, 50.0),
            {"long_pct": g.long_pct, "short_pct": g.short_pct, "threshold": short_high},
            g.time,
        )
    return None


def smart_money_divergence(snap: MarketSnapshot, t: Thresholds) -> Finding | None:
    """Top-trader long share minus retail long share ``>= divergence_gap`` in size → HIGH;
    top traders more long → bullish, less long → bearish. Long share against long share."""
    g, top = snap.global_ls, snap.top_ls
    gap = top.long_pct - g.long_pct
    threshold = t["divergence_gap"]
    if not abs(gap) >= threshold or gap == 0:
        return None
    if gap > 0:
        direction, more = BULLISH, "more"
        meaning = "large accounts are buying what retail sells: potential accumulation"
    else:
        direction, more = BEARISH, "less"
        meaning = "large accounts are fading retail longs: potential distribution"
    return Finding(
        "smart_money_divergence", HIGH, direction,
        f"Smart-money divergence: top traders {top.long_pct:.1f} % vs retail "
        f"{g.long_pct:.1f} % long",
        f"Top traders {top.long_pct:.1f} % long vs retail {g.long_pct:.1f} % long "
        f"({top.exchange} {top.pair}, latest {top.interval} candle): top traders are "
        f"{abs(gap):.1f} points {more} long than retail, at least the {threshold:g}-point "
        f"threshold; {meaning}.",
        base_confidence(abs(gap), threshold),
        {"top_long_pct": top.long_pct, "global_long_pct": g.long_pct, "gap_pts": gap,
         "threshold": threshold},
        min(g.time, top.time),       # as old as its older half
    )


def taker_bias(snap: MarketSnapshot, t: Thresholds) -> Finding | Unavailable | None:
    """Taker buy share above ``taker_bias`` → MEDIUM bullish; below ``100 − taker_bias`` →
    MEDIUM bearish."""
    tk = snap.taker
    share = tk.buy_share_pct
    if share is None or share != share:
        return Unavailable(f"no taker flow (no volume in the last {tk.window})")
    threshold = t["taker_bias"]
    low = 100.0 - threshold
    if share > threshold:
        direction, trigger, side, pct = BULLISH, threshold, "buys", share
        meaning = "aggressive buying pressure"
    elif share < low:
        direction, trigger, side, pct = BEARISH, low, "sells", 100.0 - share
        meaning = "aggressive selling pressure"
    else:
        return None
    return Finding(
        "taker_bias", MEDIUM, direction,
        f"Taker {side}: {pct:.1f} % of market orders",
        f"Market orders over the last {tk.window} were {pct:.1f} % {side} (buy "
        f"{usd(tk.buy_usd)}, sell {usd(tk.sell_usd)}), beyond the {threshold:g} % threshold: "
        f"{meaning}.",
        base_confidence(share, trigger, 50.0),
        {"buy_share_pct": share, "threshold": trigger},
        tk.time,
    )
