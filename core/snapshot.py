"""Build market snapshots for one key's coins from the endpoints its plan allows.

One :meth:`SnapshotBuilder.build` call is one poll of one key. Within it a request is never
sent twice: requests are memoised by endpoint and parameters, so the all-coins funding list
(and Bitcoin dominance, and the Hyperliquid whale feed) is fetched once and shared by that
key's coins. Requests run with bounded concurrency and are paced by the key's rate limiter.
One failing endpoint leaves one section missing, with the reason; it never fails the
snapshot. A rejected key stops the poll early, since every further request would fail too.

Slow data (exchange balances, dominance) is kept per key for a while across polls to save
the key's budget; its section time says how old it is.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from core import market as m
from core.coinglass import paths
from core.coinglass.client import CoinGlassClient
from core.coinglass.errors import AuthError, CoinGlassError, PlanTooLow, RateLimited
from core.coinglass.ratelimit import HEADROOM, key_fingerprint
from core.market import Missing, MissingReason
from core.plans import INTERVAL_MINUTES, PLAN_INFO, Plan

log = logging.getLogger(__name__)

WATCH_EXCHANGE = "Binance"          # venue of the pair-level endpoints (L/S, price, walls)
WHALE_LOOKBACK = timedelta(hours=1)
SLOW_TTL_SECONDS = {paths.BITCOIN_DOMINANCE: 3600.0, paths.EXCHANGE_BALANCE_LIST: 900.0}

# The endpoint each section needs first; a user whose endpoint was refused has it "disabled".
SECTION_PATH: dict[str, str] = {
    m.FUNDING: paths.FUNDING_EXCHANGE_LIST, m.OPEN_INTEREST: paths.OI_EXCHANGE_LIST,
    m.LIQUIDATIONS: paths.LIQUIDATION_EXCHANGE_LIST, m.TAKER: paths.TAKER_EXCHANGE_LIST,
    m.GLOBAL_LS: paths.GLOBAL_LONG_SHORT_HISTORY, m.TOP_LS: paths.TOP_LONG_SHORT_ACCOUNT_HISTORY,
    m.PRICE: paths.PRICE_HISTORY, m.BALANCES: paths.EXCHANGE_BALANCE_LIST,
    m.DOMINANCE: paths.BITCOIN_DOMINANCE, m.NETFLOW: paths.COIN_NETFLOW,
    m.CVD: paths.AGGREGATED_CVD_HISTORY, m.WHALES: paths.HYPERLIQUID_WHALE_ALERT,
    m.WALLS: paths.LARGE_LIMIT_ORDER, m.LIQUIDATION_ORDERS: paths.LIQUIDATION_ORDER,
    m.CLUSTERS: paths.LIQUIDATION_AGGREGATED_MAP,
}


def regime_window(plan: Plan) -> str:
    """The OI × price window: 1h where history allows it, else the plan's 4h."""
    return "4h" if plan == Plan.HOBBYIST else "1h"


def ratio_interval(plan: Plan) -> str:
    """The freshest long/short candle the plan may ask for."""
    return {Plan.HOBBYIST: "4h", Plan.STARTUP: "30m"}.get(plan, "5m")


def pair_of(coin: str) -> str:
    return f"{coin}USDT"


def sections_for(plan: Plan) -> list[str]:
    return [s for s in m.SECTIONS if plan >= m.SECTION_MIN_PLAN[s]]


def requests_per_poll(plan: Plan, coins: int) -> int:
    """Requests one poll of ``coins`` coins costs at most (shared calls counted once)."""
    shared = {paths.FUNDING_EXCHANGE_LIST, paths.BITCOIN_DOMINANCE, paths.HYPERLIQUID_WHALE_ALERT}
    sections = sections_for(plan)
    per_coin = sum(1 for s in sections if SECTION_PATH[s] not in shared)
    return sum(1 for s in sections if SECTION_PATH[s] in shared) + per_coin * coins


def required_interval(plan: Plan, per_minute: int, coins: int) -> int:
    """The shortest poll interval (s) at which ``coins`` coins stay within the key's budget."""
    if coins <= 0:
        return 1
    usable = max(1, math.floor(per_minute * HEADROOM))
    return max(1, math.ceil(60 * requests_per_poll(plan, coins) / usable))


class _NoData(Exception):
    """The endpoint answered, but with nothing for this coin."""


@dataclass
class SnapshotBatch:
    """The result of one poll of one key."""

    snapshots: dict[str, m.MarketSnapshot]
    refused: set[str] = field(default_factory=set)      # paths that answered "Upgrade plan"
    auth_error: AuthError | None = None
    rate_limited: bool = False
    requests: int = 0                                   # requests actually sent
    answered: int = 0                                   # ...of which CoinGlass answered with data
    errors: list[str] = field(default_factory=list)     # distinct failure descriptions

    @property
    def all_failed(self) -> bool:
        """Nothing sent in this poll was answered (CoinGlass down or unreachable)."""
        return self.requests > 0 and self.answered == 0


class _Poll:
    """Memo, concurrency bound and outcome of one build."""

    def __init__(self, builder: SnapshotBuilder, api_key: str, plan: Plan, per_minute: int,
                 concurrency: int, coins: list[str]):
        self.builder = builder
        self.api_key = api_key
        self.coins = frozenset(c.upper() for c in coins)
        self.plan = plan
        self.per_minute = per_minute
        self.semaphore = asyncio.Semaphore(concurrency)
        self.memo: dict[tuple, asyncio.Future] = {}
        self.batch = SnapshotBatch(snapshots={})

    def fetch(self, path: str, args: tuple, call: Callable[[], Awaitable[Any]]) -> asyncio.Future:
        """The (shared) future of one request; sent at most once per poll."""
        memo_key = (path, args)
        future = self.memo.get(memo_key)
        if future is None:
            future = asyncio.ensure_future(self._run(path, memo_key, call))
            self.memo[memo_key] = future
        return future

    async def _run(self, path: str, memo_key: tuple, call: Callable[[], Awaitable[Any]]) -> Any:
        cache = self.builder._slow_cache
        ttl = SLOW_TTL_SECONDS.get(path)
        cache_key = (key_fingerprint(self.api_key), memo_key)
        if ttl is not None and (hit := cache.get(cache_key)) and hit[0] > time.monotonic():
            return hit[1]
        if self.batch.auth_error is not None:
            raise self.batch.auth_error
        async with self.semaphore:
            if self.batch.auth_error is not None:
                raise self.batch.auth_error
            self.batch.requests += 1
            try:
                result = await call()
            except AuthError as exc:
                self.batch.auth_error = exc
                raise
            except PlanTooLow:
                self.batch.refused.add(path)
                raise
            except RateLimited:
                self.batch.rate_limited = True
                raise
            self.batch.answered += 1
        if ttl is not None:
            cache[cache_key] = (time.monotonic() + ttl, result)
        return result


class SnapshotBuilder:
    def __init__(self, client: CoinGlassClient, *, concurrency_per_key: int = 6,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.client = client
        self.concurrency_per_key = concurrency_per_key
        self.clock = clock
        self._slow_cache: dict[tuple, tuple[float, Any]] = {}

    def forget_key(self, api_key: str) -> None:
        """Drop cached data of a key (after /forget or a new key)."""
        fp = key_fingerprint(api_key)
        for cache_key in [k for k in self._slow_cache if k[0] == fp]:
            del self._slow_cache[cache_key]

    async def build(self, api_key: str, plan: Plan, coins: list[str], *,
                    disabled: frozenset[str] = frozenset(),
                    per_minute: int | None = None) -> SnapshotBatch:
        """Snapshots of ``coins`` with ``api_key``; never raises CoinGlassError."""
        poll = _Poll(self, api_key, plan, per_minute or PLAN_INFO[plan].per_minute,
                     self.concurrency_per_key, coins)
        try:
            results = await asyncio.gather(*(self._coin(poll, coin, disabled) for coin in coins))
        finally:
            for future in poll.memo.values():
                if not future.done():
                    future.cancel()
                elif not future.cancelled():
                    future.exception()      # mark retrieved: failures are in `missing`
        poll.batch.snapshots = dict(zip(coins, results))
        return poll.batch

    async def _coin(self, poll: _Poll, coin: str, disabled: frozenset[str]) -> m.MarketSnapshot:
        fetched_at = self.clock()
        wanted = sections_for(poll.plan)
        missing: dict[str, Missing] = {
            s: Missing(MissingReason.NOT_IN_PLAN, f"{m.SECTION_MIN_PLAN[s].title}+")
            for s in m.SECTIONS if s not in wanted
        }
        active = []
        for section in wanted:
            if SECTION_PATH[section] in disabled:
                missing[section] = Missing(MissingReason.DISABLED, "refused by CoinGlass earlier")
            else:
                active.append(section)
        outcomes = await asyncio.gather(
            *(self._section(poll, section, coin) for section in active), return_exceptions=True
        )
        values: dict[str, Any] = {}
        for section, outcome in zip(active, outcomes):
            if isinstance(outcome, BaseException):
                missing[section] = self._missing(outcome, poll)
            else:
                values[section] = outcome
        return m.MarketSnapshot(coin=coin, plan=poll.plan, fetched_at=fetched_at,
                                missing=missing, **values)

    @staticmethod
    def _missing(exc: BaseException, poll: _Poll) -> Missing:
        if isinstance(exc, _NoData):
            return Missing(MissingReason.NO_DATA, str(exc))
        if isinstance(exc, PlanTooLow):
            return Missing(MissingReason.REFUSED, "CoinGlass said: upgrade plan")
        if isinstance(exc, RateLimited):
            return Missing(MissingReason.RATE_LIMITED, "CoinGlass rate limit")
        if isinstance(exc, CoinGlassError):
            description = str(exc)
            if description not in poll.batch.errors:
                poll.batch.errors.append(description)
            return Missing(MissingReason.ERROR, description)
        if isinstance(exc, asyncio.CancelledError):
            raise exc
        log.exception("unexpected failure building a snapshot section", exc_info=exc)
        return Missing(MissingReason.ERROR, "internal error")

    # --- sections ---------------------------------------------------------------------------

    async def _section(self, poll: _Poll, section: str, coin: str) -> Any:
        return await getattr(self, f"_{section}")(poll, coin)

    def _get(self, poll: _Poll, method: str, path: str, *args: Any, **kwargs: Any) -> asyncio.Future:
        call = getattr(self.client, method)
        kwargs["per_minute"] = poll.per_minute
        memo_args = args + tuple(sorted(kwargs.items()))
        return poll.fetch(path, memo_args, lambda: call(poll.api_key, *args, **kwargs))

    async def _open_interest_list(self, poll: _Poll, coin: str):
        return await self._get(poll, "open_interest", paths.OI_EXCHANGE_LIST, coin)

    async def _candles(self, poll: _Poll, coin: str):
        window = regime_window(poll.plan)
        return window, await self._get(poll, "price_history", paths.PRICE_HISTORY,
                                       pair_of(coin), window, 3, exchange=WATCH_EXCHANGE)

    async def _funding(self, poll: _Poll, coin: str) -> m.FundingSection:
        rates = await self._get(poll, "funding_rates", paths.FUNDING_EXCHANGE_LIST, poll.coins)
        venues = rates.get(coin.upper()) or []
        if not venues:
            raise _NoData(f"no funding rates for {coin}")
        stable = [v for v in venues if v.margin == "stablecoin"] or venues
        weights: dict[str, float] = {}
        try:
            oi = await self._open_interest_list(poll, coin)
            weights = {r.exchange.lower(): r.stablecoin_margin_usd or 0.0 for r in oi.exchanges}
        except CoinGlassError:
            pass                      # fall back to the plain mean below
        mean = sum(v.rate_8h_pct for v in stable) / len(stable)
        weighted = [(v, weights.get(v.exchange.lower(), 0.0)) for v in stable]
        total_weight = sum(w for _, w in weighted if w > 0)
        kind = "stablecoin-margined" if stable[0].margin == "stablecoin" else "coin-margined"
        if total_weight > 0:
            used = [(v, w) for v, w in weighted if w > 0]
            average = sum(v.rate_8h_pct * w for v, w in used) / total_weight
            method = f"OI-weighted mean of {len(used)} {kind} venues"
        else:
            average, method = mean, f"mean of {len(stable)} {kind} venues"
        return m.FundingSection(venues=tuple(venues), average_8h_pct=average,
                                average_method=method, mean_8h_pct=mean, time=self.clock())

    async def _open_interest(self, poll: _Poll, coin: str) -> m.OpenInterestSection:
        oi = await self._open_interest_list(poll, coin)
        if oi.total is None:
            raise _NoData(f"no open interest for {coin}")
        return m.OpenInterestSection(
            total_usd=oi.total.usd, change_pct=dict(oi.total.change_pct),
            by_exchange=tuple(m.ExchangeOpenInterest(r.exchange, r.usd, r.stablecoin_margin_usd)
                              for r in oi.exchanges),
            time=self.clock(),
        )

    async def _liquidations(self, poll: _Poll, coin: str) -> m.LiquidationSection:
        liq = await self._get(poll, "liquidations", paths.LIQUIDATION_EXCHANGE_LIST, coin, "1h")
        if liq.total is not None:
            long_usd, short_usd = liq.total.long_usd, liq.total.short_usd
        elif liq.exchanges:
            long_usd = sum(r.long_usd for r in liq.exchanges)
            short_usd = sum(r.short_usd for r in liq.exchanges)
        else:
            raise _NoData(f"no liquidation data for {coin}")
        return m.LiquidationSection("1h", long_usd, short_usd, self.clock())

    async def _taker(self, poll: _Poll, coin: str) -> m.TakerSection:
        taker = await self._get(poll, "taker_volume", paths.TAKER_EXCHANGE_LIST, coin, "1h")
        if taker is None:
            raise _NoData(f"no taker volume for {coin}")
        return m.TakerSection("1h", taker.buy_usd, taker.sell_usd, self.clock())

    async def _ratio(self, poll: _Poll, coin: str, method: str, path: str) -> m.AccountRatio:
        interval = ratio_interval(poll.plan)
        points = await self._get(poll, method, path, pair_of(coin), interval, 1,
                                 exchange=WATCH_EXCHANGE)
        if not points:
            raise _NoData(f"no long/short ratio for {pair_of(coin)}")
        last = points[-1]
        return m.AccountRatio(last.long_pct, last.short_pct, WATCH_EXCHANGE, pair_of(coin),
                              interval, last.time)

    async def _global_ls(self, poll: _Poll, coin: str) -> m.AccountRatio:
        return await self._ratio(poll, coin, "global_long_short", paths.GLOBAL_LONG_SHORT_HISTORY)

    async def _top_ls(self, poll: _Poll, coin: str) -> m.AccountRatio:
        return await self._ratio(poll, coin, "top_long_short_accounts",
                                 paths.TOP_LONG_SHORT_ACCOUNT_HISTORY)

    async def _price(self, poll: _Poll, coin: str) -> m.PriceSection:
        window, candles = await self._candles(poll, coin)
        if not candles:
            raise _NoData(f"no price for {pair_of(coin)}")
        now = self.clock()
        current = candles[-1]
        # The change over `window`: compare with the candle close nearest to now − window.
        step = timedelta(minutes=INTERVAL_MINUTES[window])
        target = now - step
        references = [(c.time + step, c.close) for c in candles[:-1]]
        references.append((current.time, current.open))
        _, reference = min(references, key=lambda r: abs((r[0] - target).total_seconds()))
        change = (current.close / reference - 1.0) * 100.0 if reference else None
        return m.PriceSection(current.close, window, change, now)

    async def _balances(self, poll: _Poll, coin: str) -> m.BalanceSection:
        rows = await self._get(poll, "exchange_balances", paths.EXCHANGE_BALANCE_LIST, coin)
        if not rows:
            raise _NoData(f"no exchange balances for {coin}")
        return m.BalanceSection(tuple(rows), self.clock())

    async def _dominance(self, poll: _Poll, coin: str) -> m.DominanceSection:
        points = await self._get(poll, "bitcoin_dominance", paths.BITCOIN_DOMINANCE)
        if not points:
            raise _NoData("no Bitcoin dominance data")
        last = points[-1]

        def change(days: int) -> float | None:
            earlier = [p for p in points if p.time <= last.time - timedelta(days=days)]
            return last.dominance_pct - earlier[-1].dominance_pct if earlier else None

        return m.DominanceSection(last.dominance_pct, change(1), change(7), last.time)

    async def _netflow(self, poll: _Poll, coin: str) -> m.NetflowSection:
        flow = await self._get(poll, "coin_netflow", paths.COIN_NETFLOW, coin)
        if flow is None:
            raise _NoData(f"no netflow for {coin}")
        return m.NetflowSection(dict(flow.net_flow_usd), self.clock())

    async def _cvd(self, poll: _Poll, coin: str) -> m.CvdSection:
        points = await self._get(poll, "aggregated_cvd", paths.AGGREGATED_CVD_HISTORY,
                                 coin, "1h", 2)
        if not points:
            raise _NoData(f"no CVD for {coin}")
        last = points[-1]
        return m.CvdSection("1h", last.cumulative, last.buy - last.sell, last.time)

    async def _whales(self, poll: _Poll, coin: str) -> m.WhaleSection:
        alerts = await self._get(poll, "whale_alerts", paths.HYPERLIQUID_WHALE_ALERT)
        since = self.clock() - WHALE_LOOKBACK
        moves = tuple(
            m.WhaleMove(address=a.address, side="long" if a.position_size >= 0 else "short",
                        action=a.action, size=abs(a.position_size), value_usd=a.value_usd,
                        entry_price=a.entry_price, liquidation_price=a.liquidation_price,
                        time=a.time)
            for a in alerts if a.symbol == coin.upper() and a.time >= since
        )
        return m.WhaleSection(moves, self.clock())

    async def _walls(self, poll: _Poll, coin: str) -> m.WallSection:
        orders = await self._get(poll, "large_limit_orders", paths.LARGE_LIMIT_ORDER,
                                 pair_of(coin), exchange=WATCH_EXCHANGE)
        walls = sorted((m.Wall(o.side, o.price, o.usd, o.exchange, o.pair)
                        for o in orders if o.open), key=lambda w: w.usd, reverse=True)
        return m.WallSection(tuple(walls[:20]), self.clock())

    async def _liquidation_orders(self, poll: _Poll, coin: str) -> m.LiquidationOrdersSection:
        orders = await self._get(poll, "liquidation_orders", paths.LIQUIDATION_ORDER, coin,
                                 exchange=WATCH_EXCHANGE)
        since = self.clock() - timedelta(hours=1)
        recent = [o for o in orders if o.time >= since]
        return m.LiquidationOrdersSection(
            count=len(recent), long_usd=sum(o.usd for o in recent if o.side == "long"),
            short_usd=sum(o.usd for o in recent if o.side == "short"),
            largest_usd=max((o.usd for o in recent), default=0.0), time=self.clock(),
        )

    async def _clusters(self, poll: _Poll, coin: str) -> m.ClusterSection:
        levels = await self._get(poll, "liquidation_map", paths.LIQUIDATION_AGGREGATED_MAP,
                                 coin, "1d")
        _, candles = await self._candles(poll, coin)
        if not candles:
            raise _NoData(f"no price to place the liquidation map of {coin}")
        price = candles[-1].close
        clusters = tuple(
            m.LiquidationCluster(level.price, level.usd, "long" if level.price < price else "short")
            for level in levels if level.usd > 0
        )
        return m.ClusterSection(clusters, "1d", self.clock())
