"""The out-of-process control API under ``/_sim/`` (JSON in, JSON out).

These requests are neither logged nor rate limited. A bad body answers HTTP 400 with
``{"error": "..."}``.

    POST   /_sim/keys                 {"key", "plan", "expired"?, "max_limit"?}
    DELETE /_sim/keys/{key}
    POST   /_sim/market/{coin}        keyword arguments of Market.set
    POST   /_sim/move/{coin}          {"price_pct"?, "oi_pct"?}
    POST   /_sim/liquidate/{coin}     {"long_usd"?, "short_usd"?}
    POST   /_sim/whale/{coin}         keyword arguments of Market.add_whale
    POST   /_sim/wall/{coin}          keyword arguments of Market.add_wall
    POST   /_sim/cluster/{coin}       keyword arguments of Market.add_cluster
    POST   /_sim/scenario/{name}/{coin}
    POST   /_sim/history/{coin}       keyword arguments of Market.script_history
    POST   /_sim/liquidations/{coin}  {"side", "usd_total", "orders"?, "exchange"?}
                                      → {"orders": [{time, coin, exchange, side, usd, price}]}
    POST   /_sim/ws/raw               {"text", "key"?} → {"sent": n}
    POST   /_sim/ws/drop              {"key"?, "code"?} → {"dropped": n}
    GET    /_sim/ws                   → {"connections", "pings", "orders_sent", "by_key"}
    GET    /_sim/refresh?path=P       → {"pace", "refreshed_at"} (market time, seconds)
    POST   /_sim/faults               {"kind", "path"?, "key"?, "times"?, "seconds"?}
    DELETE /_sim/faults
    POST   /_sim/reset-counters
    GET    /_sim/stats
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from aiohttp import web

if TYPE_CHECKING:
    from sim.coinglass.server import CoinGlassSim

Route = Callable[[web.Request], Awaitable[web.Response]]


def _guarded(action: Callable[[web.Request, dict], Awaitable[Any] | Any]) -> Route:
    async def handler(request: web.Request) -> web.Response:
        try:
            body = await request.json() if request.can_read_body else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            result = action(request, body)
        except (ValueError, TypeError, KeyError, json.JSONDecodeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(result if result is not None else {"ok": True})
    return handler


def stats(sim: CoinGlassSim) -> dict:
    return {
        "requests": len(sim.requests),
        "count_429": sim.count_429(),
        "bodies_built": sim.bodies_built,
        "ws": sim.stream.stats(),
        "keys": {key: {"plan": state.plan.name, "limit": state.limit,
                       "expired": state.expired, "requests": state.requests,
                       "count_429": state.rejected_429,
                       "max_in_any_minute": state.max_in_minute,
                       "bytes": state.bytes_sent}
                 for key, state in sim.keys.items()},
    }


def control_routes(sim: CoinGlassSim) -> list[web.RouteDef]:
    market = sim.market

    def coin(request: web.Request) -> str:
        return request.match_info["coin"]

    def add_key(request: web.Request, body: dict) -> None:
        sim.add_key(body["key"], body["plan"], expired=bool(body.get("expired", False)),
                    max_limit=body.get("max_limit"))

    def push(request: web.Request, body: dict) -> dict:
        orders = sim.push_liquidations(coin(request), body["side"], float(body["usd_total"]),
                                       orders=int(body.get("orders", 1)),
                                       exchange=body.get("exchange"))
        return {"orders": [asdict(o) for o in orders]}

    def drop(request: web.Request, body: dict) -> dict:
        return {"dropped": sim.drop_connections(body.get("key"), body.get("code"))}

    def refresh(request: web.Request, body: dict) -> dict:
        path = request.query["path"]
        return {"pace": sim.pace(path), "refreshed_at": sim.refreshed_at(path)}

    def add_fault(request: web.Request, body: dict) -> None:
        sim.inject_fault(body["kind"], path=body.get("path"), key=body.get("key"),
                         times=body.get("times"), seconds=float(body.get("seconds", 0.0)))

    return [
        web.post("/_sim/keys", _guarded(add_key)),
        web.delete("/_sim/keys/{key}",
                   _guarded(lambda r, b: sim.remove_key(r.match_info["key"]))),
        web.post("/_sim/market/{coin}", _guarded(lambda r, b: market.set(coin(r), **b))),
        web.post("/_sim/move/{coin}", _guarded(lambda r, b: market.move(coin(r), **b))),
        web.post("/_sim/liquidate/{coin}",
                 _guarded(lambda r, b: market.liquidate(coin(r), **b))),
        web.post("/_sim/whale/{coin}", _guarded(lambda r, b: market.add_whale(coin(r), **b))),
        web.post("/_sim/wall/{coin}", _guarded(lambda r, b: market.add_wall(coin(r), **b))),
        web.post("/_sim/cluster/{coin}",
                 _guarded(lambda r, b: market.add_cluster(coin(r), **b))),
        web.post("/_sim/scenario/{name}/{coin}",
                 _guarded(lambda r, b: market.scenario(r.match_info["name"], coin(r)))),
        web.post("/_sim/history/{coin}",
                 _guarded(lambda r, b: market.script_history(coin(r), **b))),
        web.post("/_sim/liquidations/{coin}", _guarded(push)),
        web.post("/_sim/ws/raw",
                 _guarded(lambda r, b: {"sent": sim.push_raw(b["text"], b.get("key"))})),
        web.post("/_sim/ws/drop", _guarded(drop)),
        web.get("/_sim/ws", _guarded(lambda r, b: sim.stream.stats())),
        web.get("/_sim/refresh", _guarded(refresh)),
        web.post("/_sim/faults", _guarded(add_fault)),
        web.delete("/_sim/faults", _guarded(lambda r, b: sim.clear_faults())),
        web.post("/_sim/reset-counters", _guarded(lambda r, b: sim.reset_counters())),
        web.get("/_sim/stats", _guarded(lambda r, b: stats(sim))),
    ]
