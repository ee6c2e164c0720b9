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
    POST   /_sim/faults               {"kind", "path"?, "key"?, "times"?, "seconds"?}
    DELETE /_sim/faults
    POST   /_sim/reset-counters
    GET    /_sim/stats
"""

from __future__ import annotations

import json
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
        "keys": {key: {"plan": state.plan.name, "limit": state.limit,
                       "expired": state.expired, "requests": state.requests,
                       "count_429": state.rejected_429,
                       "max_in_any_minute": state.max_in_minute}
                 for key, state in sim.keys.items()},
    }


def control_routes(sim: CoinGlassSim) -> list[web.RouteDef]:
    market = sim.market

    def coin(request: web.Request) -> str:
        return request.match_info["coin"]

    def add_key(request: web.Request, body: dict) -> None:
        sim.add_key(body["key"], body["plan"], expired=bool(body.get("expired", False)),
                    max_limit=body.get("max_limit"))

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
        web.post("/_sim/faults", _guarded(add_fault)),
        web.delete("/_sim/faults", _guarded(lambda r, b: sim.clear_faults())),
        web.post("/_sim/reset-counters", _guarded(lambda r, b: sim.reset_counters())),
        web.get("/_sim/stats", _guarded(lambda r, b: stats(sim))),
    ]
