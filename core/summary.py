"""A snapshot reduced to the plain numbers a message shows, as JSON-ready data.

Alerts wait in the outbox as JSON and are rendered when sent; ``/snapshot`` renders the same
summary, so both show a market the same way.
"""

from __future__ import annotations

from typing import Any

from core import market as m
from core.market import MarketSnapshot, MissingReason


def _ts(value) -> float | None:
    return value.timestamp() if value is not None else None


def summarize(snap: MarketSnapshot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "coin": snap.coin, "plan": snap.plan.name.lower(),
        "fetched_at": _ts(snap.fetched_at), "data_time": _ts(snap.data_time),
    }
    if snap.price:
        out["price"] = {"price": snap.price.price, "change_pct": snap.price.change_pct,
                        "window": snap.price.window}
    if snap.funding:
        top = snap.funding.max_venue
        low = snap.funding.min_venue
        out["funding"] = {
            "average_8h_pct": snap.funding.average_8h_pct, "method": snap.funding.average_method,
            "max": [top.exchange, top.rate_8h_pct] if top else None,
            "min": [low.exchange, low.rate_8h_pct] if low else None,
        }
    if snap.open_interest:
        out["open_interest"] = {"usd": snap.open_interest.total_usd,
                                "change_1h": snap.open_interest.change("1h"),
                                "change_4h": snap.open_interest.change("4h"),
                                "change_24h": snap.open_interest.change("24h")}
    if snap.liquidations:
        out["liquidations"] = {"window": snap.liquidations.window,
                               "long_usd": snap.liquidations.long_usd,
                               "short_usd": snap.liquidations.short_usd}
    for name in (m.GLOBAL_LS, m.TOP_LS):
        ratio = snap.section(name)
        if ratio:
            out[name] = {"long_pct": ratio.long_pct, "short_pct": ratio.short_pct,
                         "exchange": ratio.exchange, "interval": ratio.interval}
    if snap.taker:
        out["taker"] = {"window": snap.taker.window, "buy_share_pct": snap.taker.buy_share_pct,
                        "buy_usd": snap.taker.buy_usd, "sell_usd": snap.taker.sell_usd}
    if snap.balances:
        out["balances"] = {"total": snap.balances.total, "change_1d": snap.balances.change_1d,
                           "change_pct_1d": snap.balances.change_pct_1d,
                           "exchanges": len(snap.balances.exchanges)}
    if snap.dominance:
        out["dominance"] = {"pct": snap.dominance.dominance_pct,
                            "change_24h": snap.dominance.change_24h_pts}
    if snap.netflow:
        out["netflow"] = {w: snap.netflow.net_flow_usd.get(w) for w in ("1h", "4h", "24h")
                          if snap.netflow.net_flow_usd.get(w) is not None}
    if snap.cvd:
        out["cvd"] = {"interval": snap.cvd.interval, "last_delta": snap.cvd.last_delta}
    if snap.whales:
        biggest = max(snap.whales.moves, key=lambda w: w.value_usd, default=None)
        out["whales"] = {"moves": len(snap.whales.moves),
                         "biggest": [biggest.action, biggest.side, biggest.value_usd]
                         if biggest else None}
    if snap.walls:
        out["walls"] = [[w.side, w.price, w.usd] for w in snap.walls.walls[:3]]
    if snap.liquidation_orders:
        lo = snap.liquidation_orders
        out["liquidation_orders"] = {"count": lo.count, "long_usd": lo.long_usd,
                                     "short_usd": lo.short_usd, "largest_usd": lo.largest_usd}
    if snap.clusters and snap.price:
        price = snap.price.price
        nearest = sorted(snap.clusters.clusters, key=lambda c: abs(c.price - price))[:2]
        out["clusters"] = [[c.side, c.price, c.usd] for c in nearest]
    out["missing"] = {
        name: missing.describe() for name, missing in snap.missing.items()
        if missing.reason != MissingReason.NOT_IN_PLAN
    }
    out["not_in_plan"] = sorted(
        name for name, missing in snap.missing.items()
        if missing.reason == MissingReason.NOT_IN_PLAN
    )
    return out
