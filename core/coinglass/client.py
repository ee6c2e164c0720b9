"""Async CoinGlass v4 client: one short method per endpoint, the API key passed per call.

Every user brings their own key, so the key is an argument of each call rather than client
state. It travels only in the ``CG-API-KEY`` header; it is never logged, never part of an
exception message, and the client's repr does not hold it. Failures raise the tree in
:mod:`core.coinglass.errors`, chained ``from`` the httpx exception where there is one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

import httpx

from core.coinglass import parse, paths
from core.coinglass.errors import (
    BadParameters, CoinGlassError, EndpointNotFound, InvalidKey, MalformedResponse, MissingKey,
    PlanTooLow, RateLimited, Timeout, TransportError, UpstreamError,
)
from core.coinglass.models import (
    Candle, CoinMarket, CvdPoint, DominancePoint, ExchangeBalance, FundingVenue, LargeOrder, LiquidationList,
    LiquidationOrder, LiquidationPoint, MapLevel, Netflow, OpenInterestList, PairMarket,
    RateHeaders, RatioPoint, Subscription, TakerList, TakerPoint, WhaleAlert,
)
from core.coinglass.ratelimit import LimiterRegistry
from core.coinglass.transport import AiohttpTransport
from core.config import DEFAULT_COINGLASS_BASE_URL

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
DEFAULT_EXCHANGES = ("Binance", "OKX", "Bybit")
# Requests wait for a connection on our own gate rather than queueing inside the HTTP pool.
# Enough to keep throughput up when every request spends a network round trip in flight
# (64 × 1 / 150 ms ≈ 400 requests/s), few enough to stay a polite client (BENCHMARKS.md).
MAX_IN_FLIGHT = 64


def make_http_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT,
                     max_connections: int = MAX_IN_FLIGHT) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` production uses: explicit timeouts, a bounded keep-alive
    pool, and the aiohttp transport (see ``core/coinglass/transport.py``)."""
    return httpx.AsyncClient(
        timeout=timeout,
        transport=AiohttpTransport(max_connections=max_connections),
        headers={"accept": "application/json", "user-agent": "perpwatch"},
    )


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def _retry_after(headers: httpx.Headers) -> float | None:
    try:
        return float(headers["retry-after"])
    except (KeyError, ValueError):
        return None


def classify(code: str, msg: str, endpoint: str) -> CoinGlassError:
    """The error a non-"0" body ``code``/``msg`` means; classified by message first (§2.3)."""
    m = msg.lower()
    if "upgrade plan" in m:
        return PlanTooLow(f"{endpoint}: not available on this CoinGlass plan", endpoint=endpoint)
    if "api key missing" in m:
        return MissingKey(f"{endpoint}: no API key was sent", endpoint=endpoint)
    if "invalid api key" in m or "api key invalid" in m:
        return InvalidKey(f"{endpoint}: CoinGlass rejected the API key", endpoint=endpoint)
    if code == "429" or "too many" in m or "rate limit" in m:
        return RateLimited(f"{endpoint}: rate limited by CoinGlass", endpoint=endpoint)
    if code in ("400", "422") or "parameter" in m:
        # The message names a parameter (Spring-style text); it carries no secret.
        detail = msg[:120] if msg else f"code {code}"
        return BadParameters(f"{endpoint}: bad parameters ({detail})", endpoint=endpoint)
    if code == "401":
        return InvalidKey(f"{endpoint}: CoinGlass refused the API key", endpoint=endpoint)
    return UpstreamError(f"{endpoint}: CoinGlass error code {code[:12]}", endpoint=endpoint)


class CoinGlassClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str = DEFAULT_COINGLASS_BASE_URL,
        *,
        limiters: LimiterRegistry | None = None,
        timeout: httpx.Timeout | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ):
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._gate = asyncio.Semaphore(max_in_flight)
        self.limiters = limiters if limiters is not None else LimiterRegistry()

    def __repr__(self) -> str:
        return f"CoinGlassClient(base_url={self._base_url!r})"

    # --- transport --------------------------------------------------------------------------

    async def get(self, api_key: str, path: str, params: Mapping[str, Any] | None = None,
                  *, per_minute: int | None = None) -> tuple[Any, RateHeaders]:
        """GET ``path`` with the key; returns ``(data, rate headers)`` or raises CoinGlassError.

        ``per_minute`` is the key's plan limit, used to pace the key when first seen.
        """
        limiter = self.limiters.for_key(api_key, per_minute)
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        async with limiter.slot() as stamp, self._gate:
            stamp.sent()            # the request leaves now, not when its slot was granted
            try:
                kwargs = {"timeout": self._timeout} if self._timeout is not None else {}
                response = await self._http.get(
                    self._base_url + path, params=query,
                    headers={"CG-API-KEY": api_key}, **kwargs,
                )
            except httpx.TimeoutException as exc:
                raise Timeout(f"{path}: CoinGlass did not answer in time", endpoint=path) from exc
            except httpx.HTTPError as exc:
                raise TransportError(f"{path}: cannot reach CoinGlass ({type(exc).__name__})",
                                     endpoint=path) from exc
            # Inside the slot: requests held back for this one's answer see its count.
            headers = RateHeaders(_header_int(response.headers, "API-KEY-MAX-LIMIT"),
                                  _header_int(response.headers, "API-KEY-USE-LIMIT"))
            limiter.observe(headers.max_limit, headers.used)
        try:
            data = self._unwrap(response, path)
        except RateLimited as exc:
            exc.retry_after = exc.retry_after or _retry_after(response.headers)
            episodes = limiter.episodes
            delay = limiter.rate_limited(exc.retry_after, stamp)
            if limiter.episodes != episodes or stamp.probe:
                log.warning("CoinGlass rate limit on %s: key rests %.0f s", path, delay)
            raise
        limiter.succeeded(stamp)
        return data, headers

    def _unwrap(self, response: httpx.Response, path: str) -> Any:
        status = response.status_code
        if status == 404:
            raise EndpointNotFound(f"{path}: HTTP 404 (no such endpoint)", endpoint=path)
        if status == 429:
            raise RateLimited(f"{path}: HTTP 429 from CoinGlass", endpoint=path,
                              retry_after=_retry_after(response.headers))
        if status >= 500:
            raise UpstreamError(f"{path}: HTTP {status} from CoinGlass", endpoint=path)
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
            if status != 200:
                raise UpstreamError(f"{path}: HTTP {status} from CoinGlass", endpoint=path) from exc
            raise MalformedResponse(f"{path}: CoinGlass sent a body that is not JSON",
                                    endpoint=path) from exc
        if not isinstance(body, dict) or "code" not in body:
            if status != 200:
                raise UpstreamError(f"{path}: HTTP {status} from CoinGlass", endpoint=path)
            raise MalformedResponse(f"{path}: CoinGlass sent no response envelope", endpoint=path)
        code = str(body.get("code")).strip()
        if code == "0" and status == 200:
            return body.get("data")
        if code == "0":
            raise UpstreamError(f"{path}: HTTP {status} from CoinGlass", endpoint=path)
        msg = body.get("msg")
        raise classify(code, msg if isinstance(msg, str) else "", path)

    async def _data(self, api_key: str, path: str, params: Mapping[str, Any] | None = None,
                    per_minute: int | None = None) -> Any:
        data, _ = await self.get(api_key, path, params, per_minute=per_minute)
        return data

    # --- account and reference data ---------------------------------------------------------

    async def subscription(self, api_key: str) -> Subscription:
        data, headers = await self.get(api_key, paths.SUBSCRIPTION)
        sub = parse.subscription(data, paths.SUBSCRIPTION)
        return Subscription(sub.level, sub.plan, sub.expires_at, sub.expired, headers)

    async def supported_coins(self, api_key: str, *, per_minute: int | None = None) -> list[str]:
        return parse.symbols(await self._data(api_key, paths.SUPPORTED_COINS, None, per_minute),
                             paths.SUPPORTED_COINS)

    # --- snapshot endpoints (every plan) ----------------------------------------------------

    async def funding_rates(self, api_key: str, coins: frozenset[str] | None = None, *,
                            per_minute: int | None = None) -> dict[str, list[FundingVenue]]:
        """Funding per venue of ``coins`` (all when None): one call covers every coin (§8.1)."""
        data = await self._data(api_key, paths.FUNDING_EXCHANGE_LIST, None, per_minute)
        return parse.funding_exchange_list(data, paths.FUNDING_EXCHANGE_LIST, coins)

    async def open_interest(self, api_key: str, coin: str, *,
                            per_minute: int | None = None) -> OpenInterestList:
        data = await self._data(api_key, paths.OI_EXCHANGE_LIST, {"symbol": coin}, per_minute)
        return parse.open_interest_exchange_list(data, paths.OI_EXCHANGE_LIST)

    async def liquidations(self, api_key: str, coin: str, range_: str = "1h", *,
                           per_minute: int | None = None) -> LiquidationList:
        data = await self._data(api_key, paths.LIQUIDATION_EXCHANGE_LIST,
                                {"symbol": coin, "range": range_}, per_minute)
        return parse.liquidation_exchange_list(data, paths.LIQUIDATION_EXCHANGE_LIST)

    async def taker_volume(self, api_key: str, coin: str, range_: str = "1h", *,
                           per_minute: int | None = None) -> TakerList | None:
        data = await self._data(api_key, paths.TAKER_EXCHANGE_LIST,
                                {"symbol": coin, "range": range_}, per_minute)
        return parse.taker_exchange_list(data, paths.TAKER_EXCHANGE_LIST)

    async def pairs_markets(self, api_key: str, coin: str, *,
                            per_minute: int | None = None) -> list[PairMarket]:
        data = await self._data(api_key, paths.PAIRS_MARKETS, {"symbol": coin}, per_minute)
        return parse.pairs_markets(data, paths.PAIRS_MARKETS)

    async def coins_markets(self, api_key: str, *, per_page: int = 200, page: int = 1,
                            per_minute: int | None = None) -> list[CoinMarket]:
        """Price, OI, funding and liquidations of every coin on one page (Standard+)."""
        data = await self._data(api_key, paths.COINS_MARKETS,
                                {"per_page": per_page, "page": page}, per_minute)
        return parse.coins_markets(data, paths.COINS_MARKETS)

    async def exchange_balances(self, api_key: str, coin: str, *,
                                per_minute: int | None = None) -> list[ExchangeBalance]:
        data = await self._data(api_key, paths.EXCHANGE_BALANCE_LIST, {"symbol": coin}, per_minute)
        return parse.exchange_balances(data, paths.EXCHANGE_BALANCE_LIST)

    # --- history endpoints (interval limited by plan) ---------------------------------------

    async def price_history(self, api_key: str, pair: str, interval: str, limit: int, *,
                            exchange: str = "Binance", per_minute: int | None = None) -> list[Candle]:
        data = await self._data(api_key, paths.PRICE_HISTORY, {
            "exchange": exchange, "symbol": pair, "interval": interval, "limit": limit,
        }, per_minute)
        return parse.candles(data, paths.PRICE_HISTORY)

    async def open_interest_history(self, api_key: str, coin: str, interval: str, limit: int, *,
                                    per_minute: int | None = None) -> list[Candle]:
        data = await self._data(api_key, paths.OI_AGGREGATED_HISTORY, {
            "symbol": coin, "interval": interval, "limit": limit,
        }, per_minute)
        return parse.candles(data, paths.OI_AGGREGATED_HISTORY)

    async def _ratio(self, api_key: str, path: str, prefix: str, pair: str, interval: str,
                     limit: int, exchange: str, per_minute: int | None) -> list[RatioPoint]:
        data = await self._data(api_key, path, {
            "exchange": exchange, "symbol": pair, "interval": interval, "limit": limit,
        }, per_minute)
        return parse.ratio_points(data, path, prefix)

    async def global_long_short(self, api_key: str, pair: str, interval: str, limit: int = 1, *,
                                exchange: str = "Binance",
                                per_minute: int | None = None) -> list[RatioPoint]:
        return await self._ratio(api_key, paths.GLOBAL_LONG_SHORT_HISTORY, "global_account",
                                 pair, interval, limit, exchange, per_minute)

    async def top_long_short_accounts(self, api_key: str, pair: str, interval: str,
                                      limit: int = 1, *, exchange: str = "Binance",
                                      per_minute: int | None = None) -> list[RatioPoint]:
        return await self._ratio(api_key, paths.TOP_LONG_SHORT_ACCOUNT_HISTORY, "top_account",
                                 pair, interval, limit, exchange, per_minute)

    async def top_long_short_positions(self, api_key: str, pair: str, interval: str,
                                       limit: int = 1, *, exchange: str = "Binance",
                                       per_minute: int | None = None) -> list[RatioPoint]:
        return await self._ratio(api_key, paths.TOP_LONG_SHORT_POSITION_HISTORY, "top_position",
                                 pair, interval, limit, exchange, per_minute)

    async def liquidation_history(self, api_key: str, coin: str, interval: str, limit: int, *,
                                  exchanges: tuple[str, ...] = DEFAULT_EXCHANGES,
                                  per_minute: int | None = None) -> list[LiquidationPoint]:
        data = await self._data(api_key, paths.LIQUIDATION_AGGREGATED_HISTORY, {
            "exchange_list": ",".join(exchanges), "symbol": coin, "interval": interval,
            "limit": limit,
        }, per_minute)
        return parse.liquidation_points(data, paths.LIQUIDATION_AGGREGATED_HISTORY)

    async def taker_history(self, api_key: str, coin: str, interval: str, limit: int, *,
                            exchanges: tuple[str, ...] = DEFAULT_EXCHANGES,
                            per_minute: int | None = None) -> list[TakerPoint]:
        data = await self._data(api_key, paths.TAKER_AGGREGATED_HISTORY, {
            "exchange_list": ",".join(exchanges), "symbol": coin, "interval": interval,
            "limit": limit,
        }, per_minute)
        return parse.taker_points(data, paths.TAKER_AGGREGATED_HISTORY)

    # --- Startup and above ------------------------------------------------------------------

    async def bitcoin_dominance(self, api_key: str, *,
                                per_minute: int | None = None) -> list[DominancePoint]:
        data = await self._data(api_key, paths.BITCOIN_DOMINANCE, None, per_minute)
        return parse.dominance_points(data, paths.BITCOIN_DOMINANCE)

    async def coin_netflow(self, api_key: str, coin: str, *,
                           exchanges: tuple[str, ...] = DEFAULT_EXCHANGES,
                           per_minute: int | None = None) -> Netflow | None:
        data = await self._data(api_key, paths.COIN_NETFLOW, {
            "symbol": coin, "exchange_list": ",".join(exchanges),
        }, per_minute)
        return parse.netflow(data, paths.COIN_NETFLOW)

    async def aggregated_cvd(self, api_key: str, coin: str, interval: str, limit: int, *,
                             exchanges: tuple[str, ...] = DEFAULT_EXCHANGES,
                             per_minute: int | None = None) -> list[CvdPoint]:
        data = await self._data(api_key, paths.AGGREGATED_CVD_HISTORY, {
            "exchange_list": ",".join(exchanges), "symbol": coin, "interval": interval,
            "limit": limit,
        }, per_minute)
        return parse.cvd_points(data, paths.AGGREGATED_CVD_HISTORY)

    async def cvd_history(self, api_key: str, pair: str, interval: str, limit: int, *,
                          exchange: str = "Binance",
                          per_minute: int | None = None) -> list[CvdPoint]:
        data = await self._data(api_key, paths.CVD_HISTORY, {
            "exchange": exchange, "symbol": pair, "interval": interval, "limit": limit,
        }, per_minute)
        return parse.cvd_points(data, paths.CVD_HISTORY)

    async def whale_alerts(self, api_key: str, *,
                           per_minute: int | None = None) -> list[WhaleAlert]:
        data = await self._data(api_key, paths.HYPERLIQUID_WHALE_ALERT, None, per_minute)
        return parse.whale_alerts(data, paths.HYPERLIQUID_WHALE_ALERT)

    # --- Standard and above -----------------------------------------------------------------

    async def large_limit_orders(self, api_key: str, pair: str, *, exchange: str = "Binance",
                                 per_minute: int | None = None) -> list[LargeOrder]:
        data = await self._data(api_key, paths.LARGE_LIMIT_ORDER,
                                {"exchange": exchange, "symbol": pair}, per_minute)
        return parse.large_orders(data, paths.LARGE_LIMIT_ORDER)

    async def liquidation_orders(self, api_key: str, coin: str, *, exchange: str = "Binance",
                                 min_usd: float = 100_000, since: datetime | None = None,
                                 per_minute: int | None = None) -> list[LiquidationOrder]:
        since = since or datetime.now(timezone.utc) - timedelta(hours=1)
        data = await self._data(api_key, paths.LIQUIDATION_ORDER, {
            "exchange": exchange, "symbol": coin, "min_liquidation_amount": int(min_usd),
            "start_time": int(since.timestamp() * 1000),
        }, per_minute)
        return parse.liquidation_orders(data, paths.LIQUIDATION_ORDER)

    # --- Professional and above -------------------------------------------------------------

    async def liquidation_map(self, api_key: str, coin: str, range_: str = "1d", *,
                              per_minute: int | None = None) -> list[MapLevel]:
        data = await self._data(api_key, paths.LIQUIDATION_AGGREGATED_MAP,
                                {"symbol": coin, "range": range_}, per_minute)
        return parse.liquidation_map(data, paths.LIQUIDATION_AGGREGATED_MAP)

    # --- charts (appended for core/charts) --------------------------------------------------

    async def funding_oi_weight_history(self, api_key: str, coin: str, interval: str,
                                        limit: int, *,
                                        per_minute: int | None = None) -> list[Candle]:
        """OI-weighted funding OHLC of ``coin`` (percent; numbers or strings, §8.1)."""
        data = await self._data(api_key, paths.FUNDING_OI_WEIGHT_HISTORY, {
            "symbol": coin, "interval": interval, "limit": limit,
        }, per_minute)
        return parse.candles(data, paths.FUNDING_OI_WEIGHT_HISTORY)
