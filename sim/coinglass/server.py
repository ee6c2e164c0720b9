"""The CoinGlass v4 simulator: an aiohttp server on 127.0.0.1 answering like the real API.

A request passes, in order: the key's sliding-minute rate limit (HTTP 429, or a 200 body in
``rate_limit_mode="body"``), injected faults, path lookup (unknown path → real HTTP 404 with a
non-envelope body), key check (missing → ``401 API key missing.``, unknown → ``400 Invalid
API key provided``), plan check (expired key, endpoint or interval above the plan → ``401
Upgrade plan``), required parameters (``400 Required String parameter 'x' is not present``)
and finally the endpoint, which reads the :class:`~sim.coinglass.market.Market`. Errors other
than 404/429/faults come back as HTTP 200 with a non-"0" ``code``, as recorded.

Success bodies are cached per (path, parameters, market second, market version), the way
CoinGlass caches its snapshots for seconds; rate-limit headers are computed per request.
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
from sim.coinglass import feeds, histories, snapshots
from sim.coinglass.faults import Fault, FaultBook, envelope, not_found_body, response_for
from sim.coinglass.keys import KeyState, default_limit, parse_plan
from sim.coinglass.market import DAY, Market
from sim.coinglass.query import Endpoint, NoData, ParamError, Query, missing

ENDPOINTS: dict[str, Endpoint] = {
    e.path: e for e in (*snapshots.ENDPOINTS, *histories.ENDPOINTS, *feeds.ENDPOINTS)}
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


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


class CoinGlassSim:
    """A local CoinGlass v4 with scriptable market, keys, rate limits and faults."""

    def __init__(self, market: Market | None = None, clock: Callable[[], float] = time.time,
                 rate_limit_mode: str = "http"):
        if rate_limit_mode not in ("http", "body"):
            raise ValueError("rate_limit_mode must be 'http' or 'body'")
        self.market = market if market is not None else Market(clock=clock)
        self.rate_limit_mode = rate_limit_mode
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0          # requests received and not yet answered
        self._clock = clock
        self._keys: dict[str, KeyState] = {}
        self._faults = FaultBook()
        self._cache: dict[tuple, bytes] = {}
        self._cache_epoch: tuple[int, int] | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from sim.coinglass.control import control_routes

        app = web.Application()
        app.add_routes(control_routes(self))
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host or bound_host}:{bound_port}"

    async def stop(self) -> None:
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
        """Forget the request log and statistics; rate-limit windows keep running."""
        self.requests.clear()
        for state in self._keys.values():
            state.reset_stats()

    # -- faults --------------------------------------------------------------------------

    def inject_fault(self, kind: str, *, path: str | None = None, key: str | None = None,
                     times: int | None = None, seconds: float = 0.0) -> None:
        self._faults.add(Fault(kind, path, key, times, seconds))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- request handling --------------------------------------------------------------------

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
            if fault.kind not in ("latency", "timeout"):
                status, body, content_type, code = response_for(fault.kind, path)
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
        return self._data(endpoint, params)

    def _data(self, endpoint: Endpoint, params: dict[str, str]) -> _Answer:
        market = self.market
        now = market.now()
        epoch = (int(now), market.version)
        if epoch != self._cache_epoch:
            self._cache.clear()
            self._cache_epoch = epoch
        cache_key = (endpoint.path, tuple(sorted(params.items())))
        body = self._cache.get(cache_key)
        if body is None:
            try:
                data = endpoint.handler(Query(market, params, now))
            except NoData:
                data = endpoint.empty()
            except ParamError as error:
                return self._bad(str(error))
            body = _dumps({"code": "0", "msg": "success", "data": data, **(endpoint.extra or {})})
            self._cache[cache_key] = body
        return _Answer(200, body, "0")

    @staticmethod
    def _ok(data: Any) -> _Answer:
        return _Answer(200, _dumps({"code": "0", "msg": "success", "data": data}), "0")

    @staticmethod
    def _bad(msg: str) -> _Answer:
        return _Answer(200, envelope("400", msg), "400")
