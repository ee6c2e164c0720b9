"""The CoinGlass v4 simulator: an aiohttp server on 127.0.0.1 answering like the real API.

A request passes, in order: the key's sliding-minute rate limit (HTTP 429, or a 200 body in
``rate_limit_mode="body"``), injected faults, path lookup (unknown path → real HTTP 404 with a
non-envelope body), key check (missing → ``401 API key missing.``, unknown → ``400 Invalid
API key provided``), plan check (expired key, endpoint or interval above the plan → ``401
Upgrade plan``), required parameters (``400 Required String parameter 'x' is not present``)
and finally the endpoint, which reads the :class:`~sim.coinglass.market.Market`. Errors other
than 404/429/faults come back as HTTP 200 with a non-"0" ``code``, as recorded.

Each endpoint serves the market as of its last refresh (:mod:`sim.coinglass.paces`): the body
is computed once per (path, parameters, refresh boundary) from a view of the market at that
boundary, encoded once and served to every caller until the next boundary — unless the market
is edited at or before that boundary (``script_history``, ``time_shift``, a step at exactly the
boundary), which recomputes it. So a scenario shows on each endpoint at that endpoint's next
refresh, and serving a 2.4 MB all-coins body costs one encode per refresh. Rate-limit headers
are computed per request.

The WebSocket ``/ws-api`` shares the port (:mod:`sim.coinglass.stream`).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from aiohttp import web

from core.coinglass import paths as p
from core.plans import ENDPOINT_MIN_PLAN, HISTORY_ENDPOINTS, INTERVAL_MINUTES, Plan, \
    interval_allowed, min_plan_for
from sim.coinglass import coins_markets, feeds, histories, paces, snapshots
from sim.coinglass.faults import Fault, FaultBook, envelope, not_found_body, response_for
from sim.coinglass.keys import KeyState, default_limit, parse_plan
from sim.coinglass.market import DAY, LiquidationOrder, Market
from sim.coinglass.query import Endpoint, NoData, ParamError, Query, missing
from sim.coinglass.stream import Stream

ENDPOINTS: dict[str, Endpoint] = {
    e.path: e for e in (*snapshots.ENDPOINTS, *histories.ENDPOINTS, *feeds.ENDPOINTS,
                        *coins_markets.ENDPOINTS)}
KNOWN_PATHS = frozenset(ENDPOINT_MIN_PLAN) | frozenset(ENDPOINTS)

_JSON = "application/json"
_KEY_MISSING = envelope("401", "API key missing.")
_KEY_INVALID = envelope("400", "Invalid API key provided")
_UPGRADE = envelope("401", "Upgrade plan")
_TOO_MANY = envelope("429", "Too many requests")


@dataclass(frozen=True)
class RecordedRequest:
    time: float
    key: str | None
    path: str
    params: dict[str, str]
    http_status: int
    code: str | None


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    code: str | None
    content_type: str = _JSON


@dataclass(frozen=True)
class _Cached:
    boundary: float          # the refresh it was computed for (market time)
    version: int             # the market version it was computed at
    answer: _Answer


_MAX_CACHED = 20_000


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


class CoinGlassSim:
    """A local CoinGlass v4 with scriptable market, keys, rate limits, faults and a WebSocket.

    ``refresh_scale`` multiplies every endpoint's refresh pace (1.0 = CoinGlass's documented
    paces; 0.1 for tests that poll every second; 0 = every endpoint real time).
    ``ws_spelling`` is ``"docs"`` (``liquidationOrders``, ``baseAsset``/``exName``/``volUsd``)
    or ``"sdk"`` (``liquidation_orders``, ``base_asset``/``exchange``/``volume_usd``).
    ``ws_background`` streams the calm market's small forced orders of the scripted coins.
    """

    def __init__(self, market: Market | None = None, clock: Callable[[], float] = time.time,
                 rate_limit_mode: str = "http", *, refresh_scale: float = 1.0,
                 ws_spelling: str = "docs", ws_background: bool = True):
        if rate_limit_mode not in ("http", "body"):
            raise ValueError("rate_limit_mode must be 'http' or 'body'")
        if refresh_scale < 0:
            raise ValueError("refresh_scale must be >= 0")
        self.market = market if market is not None else Market(clock=clock)
        self.rate_limit_mode = rate_limit_mode
        self.refresh_scale = float(refresh_scale)
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0          # requests received and not yet answered
        self.bodies_built = 0       # success bodies computed (each serves until its refresh)
        self._clock = clock
        self._keys: dict[str, KeyState] = {}
        self._faults = FaultBook()
        self._cache: dict[tuple, _Cached] = {}
        self.stream = Stream(self, spelling=ws_spelling, background=ws_background)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from sim.coinglass.control import control_routes

        app = web.Application()
        app.add_routes(control_routes(self))
        app.router.add_get("/ws-api", self._handle_ws)
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host or bound_host}:{bound_port}"
        self.stream.start()

    async def stop(self) -> None:
        await self.stream.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> CoinGlassSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the simulator is not started")
        return self._base_url

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT/ws-api`` (add ``?cg-api-key=KEY``)."""
        return "ws" + self.base_url.removeprefix("http") + "/ws-api"

    # -- refresh paces -------------------------------------------------------------------

    def pace(self, path: str) -> float:
        """Seconds between refreshes of ``path`` at this simulator's scale (0: real time)."""
        return paces.pace(path, self.refresh_scale)

    def refreshed_at(self, path: str, now: float | None = None) -> float:
        """Market time (seconds) at which the value ``path`` serves at ``now`` (default: the
        market's now) was produced."""
        return paces.refreshed_at(path, self.market.now() if now is None else now,
                                  self.refresh_scale)

    # -- WebSocket control -------------------------------------------------------------------

    def push_liquidations(self, coin: str, side: str, usd_total: float, *, orders: int = 1,
                          exchange: str | None = None) -> list[LiquidationOrder]:
        """Liquidate ``usd_total`` of ``side`` (``long``/``short`` positions) on ``coin`` now,
        as ``orders`` forced orders: streamed at once to sockets subscribed to liquidation
        orders, and booked in the market, so the REST liquidation lists, order list,
        histories and coins-markets show the same orders at their next refresh. Returns them."""
        return self.market.push_liquidations(coin, side, usd_total, orders=orders,
                                             exchange=exchange)

    def push_raw(self, text: str, key: str | None = None) -> int:
        """Send ``text`` as one text frame to every open socket (of ``key``); how many."""
        return self.stream.push_raw(text, key)

    def drop_connections(self, key: str | None = None, code: int | None = None) -> int:
        """Drop every open socket (of ``key``): with ``code=None`` the TCP connection is cut
        without a close frame (the network trouble CoinGlass warns about), else a close frame
        with ``code`` is sent. Returns how many were dropped."""
        return self.stream.drop(key, code)

    def ws_connections(self, key: str | None = None) -> int:
        """Open sockets (of ``key``)."""
        return self.stream.connections(key)

    def ws_subscriptions(self, key: str) -> set[str]:
        """Channels (canonical names, e.g. ``liquidationOrders``) ``key``'s open sockets are
        subscribed to."""
        return self.stream.subscriptions(key)

    @property
    def ws_pings(self) -> list[tuple[float, str | None]]:
        """(wall time, key) of every ``ping`` frame received."""
        return self.stream.pings

    # -- keys ----------------------------------------------------------------------------

    def add_key(self, key: str, plan: Plan | str, *, expired: bool = False,
                max_limit: int | None = None) -> None:
        plan = parse_plan(plan)
        now = self._clock()
        expire = now - 3 * DAY if expired else now + 180 * DAY
        self._keys[key] = KeyState(key, plan, max_limit or default_limit(plan), expired,
                                   int(expire * 1000))

    def remove_key(self, key: str) -> None:
        self._keys.pop(key, None)

    def key_state(self, key: str) -> KeyState | None:
        return self._keys.get(key)

    @property
    def keys(self) -> Mapping[str, KeyState]:
        return self._keys

    # -- counters ------------------------------------------------------------------------

    def request_count(self, key: str | None = None, path: str | None = None) -> int:
        return sum(1 for r in self.requests
                   if (key is None or r.key == key) and (path is None or r.path == path))

    def max_in_any_minute(self, key: str) -> int:
        """Most requests of ``key`` accepted (not 429) within any sliding 60 s window."""
        state = self._keys.get(key)
        return state.max_in_minute if state else 0

    def count_429(self, key: str | None = None) -> int:
        return sum(1 for r in self.requests
                   if (key is None or r.key == key) and (r.http_status == 429 or r.code == "429"))

    def reset_counters(self) -> None:
        """Forget the request log and statistics (WebSocket pings included); rate-limit
        windows keep running."""
        self.requests.clear()
        self.bodies_built = 0
        self.stream.pings.clear()
        self.stream.received.clear()
        for state in self._keys.values():
            state.reset_stats()

    # -- faults --------------------------------------------------------------------------

    def inject_fault(self, kind: str, *, path: str | None = None, key: str | None = None,
                     times: int | None = None, seconds: float = 0.0) -> None:
        self._faults.add(Fault(kind, path, key, times, seconds))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- request handling --------------------------------------------------------------------

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        return await self.stream.handle(request)

    async def _handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        try:
            return await self._respond(request)
        finally:
            self.in_flight -= 1

    async def _respond(self, request: web.Request) -> web.Response:
        now = self._clock()
        path = request.path
        params = dict(request.query)
        key = request.headers.get("CG-API-KEY") or None
        state = self._keys.get(key) if key else None
        headers: dict[str, str] = {}
        if state is not None:
            if not state.admit(now):
                answer = self._rate_limited()
                headers = self._limit_headers(state, now)
                return self._finish(now, key, path, params, answer, headers)
            headers = self._limit_headers(state, now)
        fault = self._faults.take(path, key)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
                # The answer is made when the request is served: a key revoked (or a plan
                # changed) while the request waited counts, as at CoinGlass.
                state = self._keys.get(key) if key else None
            if fault.kind not in ("latency", "timeout"):
                status, body, content_type, code = response_for(fault.kind, path)
                if fault.kind in ("http_429", "rate_limit_body") and fault.seconds:
                    headers = {**headers, "Retry-After": str(int(fault.seconds))}
                return self._finish(now, key, path, params,
                                    _Answer(status, body, code, content_type), headers)
        answer = self._answer(path, params, key, state)
        return self._finish(now, key, path, params, answer, headers)

    def _rate_limited(self) -> _Answer:
        return _Answer(429 if self.rate_limit_mode == "http" else 200, _TOO_MANY, "429")

    @staticmethod
    def _limit_headers(state: KeyState, now: float) -> dict[str, str]:
        return {"API-KEY-MAX-LIMIT": str(state.limit), "API-KEY-USE-LIMIT": str(state.used(now))}

    def _finish(self, now: float, key: str | None, path: str, params: dict[str, str],
                answer: _Answer, headers: dict[str, str]) -> web.Response:
        self.requests.append(RecordedRequest(now, key, path, params, answer.status, answer.code))
        if key is not None and (state := self._keys.get(key)) is not None:
            state.bytes_sent += len(answer.body)
        return web.Response(body=answer.body, status=answer.status,
                            content_type=answer.content_type, headers=headers)

    def _answer(self, path: str, params: dict[str, str], key: str | None,
                state: KeyState | None) -> _Answer:
        if path not in KNOWN_PATHS:
            return _Answer(404, not_found_body(path), None)
        if key is None:
            return _Answer(200, _KEY_MISSING, "401")
        if state is None:
            return _Answer(200, _KEY_INVALID, "400")
        if path == p.SUBSCRIPTION:
            return self._ok({"level": state.plan.name, "expire_time": state.expire_time_ms,
                             "expired": state.expired})
        if state.expired or state.plan < min_plan_for(path):
            return _Answer(200, _UPGRADE, "401")
        endpoint = ENDPOINTS.get(path)
        for name in endpoint.required if endpoint else ():
            if not params.get(name):
                return self._bad(str(missing(name)))
        interval = params.get("interval")
        if path in HISTORY_ENDPOINTS and interval:
            if interval not in INTERVAL_MINUTES:
                return self._bad(f"Invalid parameter 'interval': {interval}")
            if not interval_allowed(state.plan, path, interval):
                return _Answer(200, _UPGRADE, "401")
        if endpoint is None:
            return self._ok([])
        return self._data(endpoint, params, state.plan)

    def _data(self, endpoint: Endpoint, params: dict[str, str], plan: Plan) -> _Answer:
        """The body as of the endpoint's last refresh, computed once per refresh."""
        market = self.market
        path = endpoint.path
        boundary = self.refreshed_at(path)
        history_plan = plan if path in HISTORY_ENDPOINTS else None
        cache_key = (path, history_plan, tuple(sorted(params.items())))
        cached = self._cache.get(cache_key)
        if (cached is not None and cached.boundary == boundary
                and not market.changed_since(cached.version, boundary)):
            return cached.answer
        version = market.version
        self.bodies_built += 1
        try:
            data = endpoint.handler(Query(market.at(boundary), params, boundary, plan))
        except NoData:
            data = endpoint.empty()
        except ParamError as error:
            return self._bad(str(error))
        answer = _Answer(200, _dumps({"code": "0", "msg": "success", "data": data,
                                      **(endpoint.extra or {})}), "0")
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[cache_key] = _Cached(boundary, version, answer)
        return answer

    @staticmethod
    def _ok(data: Any) -> _Answer:
        return _Answer(200, _dumps({"code": "0", "msg": "success", "data": data}), "0")

    @staticmethod
    def _bad(msg: str) -> _Answer:
        return _Answer(200, envelope("400", msg), "400")
