"""Signals from sections only some plans carry (SPEC §7–§8).

Same contract as :mod:`core.signals.rules`: the engine calls a rule only when its sections
are present, and every comparison reads ``t[name]``.
"""

from __future__ import annotations

from typing import Mapping

from core.market import MarketSnapshot, WhaleMove
from core.signals.confidence import base_confidence
from core.signals.finding import Finding, Unavailable
from core.signals.fmt import price as fmt_price
from core.signals.fmt import short_address, signed, signed_usd, usd
from core.signals.model import Direction, Level

Thresholds = Mapping[str, float]

HIGH, MEDIUM, LOW = Level.HIGH, Level.MEDIUM, Level.LOW
BULLISH, BEARISH, NEUTRAL = Direction.BULLISH, Direction.BEARISH, Direction.NEUTRAL


def exchange_balance(snap: MarketSnapshot, t: Thresholds) -> Finding | Unavailable | None:
    """Coins on exchanges changed by ``>= balance_change`` % in a day → MEDIUM; onto
    exchanges (supply ready to sell) bearish, off exchanges bullish."""
    b = snap.balances
    pct = b.change_pct_1d
    if pct is None or pct != pct:
        return Unavailable("no exchange balances (no 1-day change)")
    threshold = t["balance_change"]
    if not abs(pct) >= threshold:
        return None
    coin = snap.coin
    change = b.change_1d
    if pct > 0:
        direction, verb = BEARISH, "rose"
        meaning = "coins moving onto exchanges are usually there to be sold"
    else:
        direction, verb = BULLISH, "fell"
        meaning = "coins leaving exchanges shrink the supply ready to be sold"
    n = len(b.exchanges)
    pct_text = signed(pct, 2)
    return Finding(
        "exchange_balance", MEDIUM, direction,
        f"Exchange balances {verb} {pct_text} % in 24h",
        f"{coin} held on exchanges {verb} {pct_text} % over the last 24 h "
        f"({format(change, '+,.0f').replace('-', '−')} {coin} to {b.total:,.0f} {coin} across "
        f"{n} exchange{'' if n == 1 else 's'}), at least the {threshold:g} % threshold: "
        f"{meaning}.",
        base_confidence(pct, threshold if pct > 0 else -threshold),
        {"change_pct_1d": pct, "change_1d": change, "threshold": threshold},
        b.time,
    )


def netflow(snap: MarketSnapshot, t: Thresholds) -> Finding | Unavailable | None:
    """Taker buy − sell volume of the last hour ``>= netflow_usd`` in size → MEDIUM, sign →
    direction."""
    n = snap.netflow
    flow = n.net_flow_usd.get("1h")
    if flow is None:
        return Unavailable("no netflow (no 1h window)")
    threshold = t["netflow_usd"]
    if not abs(flow) >= threshold or flow == 0:
        return None
    if flow > 0:
        direction, meaning = BULLISH, "buyers are lifting offers"
    else:
        direction, meaning = BEARISH, "sellers are hitting bids"
    return Finding(
        "netflow", MEDIUM, direction,
        f"Netflow {signed_usd(flow)} in 1h",
        f"Taker buy minus sell volume over the last 1h is {signed_usd(flow)}, at least the "
        f"{usd(threshold)} threshold: {meaning}.",
        base_confidence(flow, threshold if flow > 0 else -threshold),
        {"netflow_usd": flow, "threshold": threshold},
        n.time,
    )


def btc_dominance(snap: MarketSnapshot, t: Thresholds) -> Finding | Unavailable | None:
    """BTC dominance moved ``>= dominance_change`` points in 24 h → MEDIUM, ``>=`` half → LOW.
    Rising is bearish for other coins, falling bullish; for BTC itself neutral."""
    d = snap.dominance
    change = d.change_24h_pts
    if change is None:
        return Unavailable("no BTC dominance (no 24h change)")
    threshold = t["dominance_change"]
    size = abs(change)
    if size >= threshold:
        level, trigger, where = MEDIUM, threshold, f"at least the {threshold:g}-point threshold"
    elif size >= 0.5 * threshold:
        level, trigger = LOW, 0.5 * threshold
        where = f"at least {trigger:g} points (half the {threshold:g}-point threshold)"
    else:
        return None
    if change == 0:
        return None
    coin = snap.coin
    up = change > 0
    if coin.upper() == "BTC":
        direction, meaning = NEUTRAL, "for BTC itself this is context, not a direction"
    elif up:
        direction = BEARISH
        meaning = f"money is rotating into Bitcoin, which tends to weigh on {coin}"
    else:
        direction = BULLISH
        meaning = f"money is rotating out of Bitcoin, which tends to favour {coin}"
    verb = "rose" if up else "fell"
    change_text = signed(change, 2)
    return Finding(
        "btc_dominance", level, direction,
        f"BTC dominance {'up' if up else 'down'} {change_text} pts in 24h",
        f"Bitcoin dominance {verb} {change_text} points over the last 24 h to "
        f"{d.dominance_pct:.2f} %, {where}: {meaning}.",
        base_confidence(size, trigger),
        {"change_24h_pts": change, "dominance_pct": d.dominance_pct, "threshold": trigger},
        d.time,
    )


# (side, action) → direction: opening a long or closing a short adds buying, and so on.
_WHALE_DIRECTION = {
    ("long", "open"): BULLISH, ("short", "close"): BULLISH,
    ("short", "open"): BEARISH, ("long", "close"): BEARISH,
}
_WHALE_VERB = {"open": "opened", "close": "closed"}


def _whale_move(m: WhaleMove, coin: str) -> str:
    text = (f"{short_address(m.address)} {_WHALE_VERB.get(m.action, m.action)} a "
            f"{usd(m.value_usd)} {coin} {m.side}")
    if m.entry_price is not None:
        text += f" at {fmt_price(m.entry_price)}"
    if m.liquidation_price is not None:
        text += f" (liq. {fmt_price(m.liquidation_price)})"
    return text


def whale_position(snap: MarketSnapshot, t: Thresholds) -> Finding | None:
    """Hyperliquid moves of ``>= whale_usd`` → one MEDIUM signal led by the largest; the
    direction is the side with more qualifying USD (open long / close short = bullish)."""
    w = snap.whales
    threshold = t["whale_usd"]
    qualifying = [m for m in w.moves if m.value_usd >= threshold]
    if not qualifying:
        return None
    bull = bear = 0.0
    for m in qualifying:
        d = _WHALE_DIRECTION.get((m.side, m.action))
        if d is BULLISH:
            bull += m.value_usd
        elif d is BEARISH:
            bear += m.value_usd
    direction = BULLISH if bull > bear else BEARISH if bear > bull else NEUTRAL
    largest = max(qualifying, key=lambda m: m.value_usd)
    coin = snap.coin
    text = f"On Hyperliquid, {_whale_move(largest, coin)}"
    others = len(qualifying) - 1
    if others:
        text += (f"; {others} more move{'' if others == 1 else 's'} of at least {usd(threshold)} "
                 f"among the latest whale alerts (in all {usd(bull)} bullish, {usd(bear)} "
                 f"bearish)")
    else:
        text += f", at least the {usd(threshold)} threshold"
    text += (". Opening longs or closing shorts is buying; opening shorts or closing longs is "
             "selling.")
    return Finding(
        "whale_position", MEDIUM, direction,
        f"Whale {_WHALE_VERB.get(largest.action, largest.action)} a {usd(largest.value_usd)} "
        f"{largest.side}",
        text,
        base_confidence(largest.value_usd, threshold),
        {"value_usd": largest.value_usd, "threshold": threshold, "moves": float(len(qualifying)),
         "bullish_usd": bull, "bearish_usd": bear},
        w.time,
    )


def orderbook_wall(snap: MarketSnapshot, t: Thresholds) -> Finding | Unavailable | None:
    """A limit order ``>= wall_usd`` within ``wall_distance`` % of price → LOW, ``>= 2 ×
    wall_usd`` → MEDIUM. Bids (support) bullish, asks (resistance) bearish; with walls on both
    sides the side with more USD leads."""
    p = snap.price.price
    if not p > 0:
        return Unavailable("no price (not a positive number)")
    threshold = t["wall_usd"]
    max_distance = t["wall_distance"]
    near = []
    bid_usd = ask_usd = 0.0
    for wall in snap.walls.walls:
        if wall.usd >= threshold and wall.side in ("bid", "ask"):
            distance = abs(wall.price - p) / p * 100.0
            if distance <= max_distance:
                near.append((wall, distance))
                if wall.side == "bid":
                    bid_usd += wall.usd
                else:
                    ask_usd += wall.usd
    if not near:
        return None
    if bid_usd > ask_usd:
        direction, lead = BULLISH, "bid"
    elif ask_usd > bid_usd:
        direction, lead = BEARISH, "ask"
    else:
        direction, lead = NEUTRAL, None
    wall, distance = max((n for n in near if lead is None or n[0].side == lead),
                         key=lambda n: n[0].usd)
    level, trigger = (MEDIUM, 2.0 * threshold) if wall.usd >= 2.0 * threshold else (LOW, threshold)
    where = "below" if wall.price < p else "above"
    role = "support" if wall.side == "bid" else "resistance"
    text = (f"A {usd(wall.usd)} {wall.side} wall at {fmt_price(wall.price)} ({wall.exchange} "
            f"{wall.pair}) sits {distance:.2f} % {where} price ({fmt_price(p)}): {role}. ")
    if len(near) > 1:
        text += (f"Walls of at least {usd(threshold)} within {max_distance:g} % of price: bids "
                 f"{usd(bid_usd)}, asks {usd(ask_usd)}.")
    else:
        text += f"Threshold: {usd(threshold)} within {max_distance:g} % of price."
    return Finding(
        "orderbook_wall", level, direction,
        f"{usd(wall.usd)} {wall.side} wall {distance:.1f} % {where} price",
        text,
        base_confidence(wall.usd, trigger),
        {"wall_usd": wall.usd, "wall_price": wall.price, "distance_pct": distance,
         "bid_usd": bid_usd, "ask_usd": ask_usd, "threshold": trigger},
        snap.walls.time,
    )


_CLUSTER_DIRECTION = {"long": BEARISH, "short": BULLISH}


def liquidation_cluster(snap: MarketSnapshot, t: Thresholds) -> Finding | Unavailable | None:
    """A liquidation cluster ``>= cluster_usd`` within ``cluster_distance`` % of price →
    MEDIUM, within half that distance → HIGH. Long clusters (below) pull price down
    (bearish); short clusters (above) pull it up (bullish). The closest-level, largest leads."""
    p = snap.price.price
    if not p > 0:
        return Unavailable("no price (not a positive number)")
    threshold = t["cluster_usd"]
    max_distance = t["cluster_distance"]
    half = 0.5 * max_distance
    best = None
    best_key = None
    count = 0
    for c in snap.clusters.clusters:
        if c.usd >= threshold:
            distance = abs(c.price - p) / p * 100.0
            if distance <= max_distance:
                count += 1
                key = (distance <= half, c.usd)
                if best_key is None or key > best_key:
                    best, best_key = (c, distance), key
    if best is None:
        return None
    c, distance = best
    level = HIGH if best_key[0] else MEDIUM
    direction = _CLUSTER_DIRECTION.get(c.side, NEUTRAL)
    if direction is BEARISH:
        meaning = "price tends to be drawn to large liquidation pools; a sweep would force selling"
    elif direction is BULLISH:
        meaning = "price tends to be drawn to large liquidation pools; a sweep would force buying"
    else:
        meaning = "price tends to be drawn to large liquidation pools"
    where = f"within {half:g} %" if level is HIGH else f"within {max_distance:g} %"
    text = (f"Price is {distance:.1f} % from {usd(c.usd)} of {c.side} liquidations at "
            f"{fmt_price(c.price)} (price {fmt_price(p)}; liquidation map, {snap.clusters.range} "
            f"range), {where} and at least the {usd(threshold)} threshold: {meaning}.")
    if count > 1:
        text += f" {count - 1} more cluster{'' if count == 2 else 's'} qualify."
    return Finding(
        "liquidation_cluster", level, direction,
        f"Liquidation cluster: {usd(c.usd)} of {c.side}s {distance:.1f} % away",
        text,
        base_confidence(c.usd, threshold),
        {"cluster_usd": c.usd, "cluster_price": c.price, "distance_pct": distance,
         "threshold": threshold, "max_distance_pct": max_distance},
        snap.clusters.time,
    )
