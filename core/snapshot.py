"""Build market snapshots for one key's coins, fetching only what is stale.

One :meth:`SnapshotBuilder.build` call is one poll of one key. The requests it may make are
the user's :class:`~core.freshness.Source` list (their budget's): fast sources every poll,
slow ones when their pace has passed; a slow value is kept per key with its time and used
until it is ``max_age`` old, after which the section is missing rather than stale.

Within a poll a request is never sent twice. Requests run with bounded concurrency and are
paced by the key's rate limiter. One failing source leaves its sections missing, with the
reason; a rejected key stops the poll early, since every further request would fail too.

Standard+ keys read price, open interest and liquidations of all their coins from one
``coins-markets`` request. Lower plans read them per coin, and their live price is the open
interest's own valuation (the "All" row's USD ÷ coin quantity, see ``_live_price``), anchored to
Binance's candle at the slow ``price_ref`` pace, so price costs no request of its own.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from core import freshness as fr
from core import market as m
from core.budget import Budget
from core.coinglass import venues as venue_table
from core.coinglass.client import CoinGlassClient
from core.coinglass.errors import AuthError, CoinGlassError, PlanTooLow, RateLimited
from core.coinglass.models import Candle, CoinMarket, OpenInterestList, PairMarket
from core.coinglass.ratelimit import key_fingerprint
from core.market import Missing, MissingReason
from core.plans import INTERVAL_MINUTES, Plan

log = logging.getLogger(__name__)

WATCH_EXCHANGE = "Binance"          # venue of the pair-level endpoints (L/S, price, walls)
WHALE_LOOKBACK = timedelta(hours=1)
MARKETS_PER_PAGE = 200              # coins-markets page: the majors of any watch list
MARKETS_MARGIN = 5                  # rows beyond the lowest-ranked coin, as ranks shift
CALIBRATION_LIMIT = 0.02            # OI valuation more than 2 % off Binance: not trusted
KEEP_IDLE_SECONDS = 2 * 3600.0      # forget a key's kept values after this long unused
# Slow sources due in the same poll, most needed first (the regime needs the price anchor).
PRIORITY = ("price_ref", "funding_list", "funding_pairs", "global_ls", "top_ls", "taker",
            "oi_weights", "netflow", "whales", "walls", "cvd", "clusters", "balances",
            "dominance")


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


def sections_of_path(path: str) -> set[str]:
    """The snapshot sections a CoinGlass path feeds (to name what a refusal stops)."""
    return {s for src in fr.SOURCES.values() if src.path == path for s in src.sections}


class _NoData(Exception):
    """The endpoint answered, but with nothing for this coin."""


@dataclass(frozen=True)
class Kept:
    """A fetched value and when (Unix seconds) it was fetched."""

    at: float
    value: Any
    extra: Any = None


@dataclass
class _KeyMemory:
    values: dict[tuple[str, str | None], Kept] = field(default_factory=dict)
    markets_missing: set[str] = field(default_factory=set)   # coins not on the markets page
    markets_rank: dict[str, int] = field(default_factory=dict)  # where each coin was on it
    last_used: float = 0.0


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
    """The fetches of one build: memo, concurrency bound and outcome."""

    def __init__(self, api_key: str, budget: Budget, coins: list[str], memory: _KeyMemory,
                 concurrency: int, now: float):
        self.api_key = api_key
        self.budget = budget
        self.plan = budget.plan
        self.coins = coins
        self.memory = memory
        self.now = now
        self.semaphore = asyncio.Semaphore(concurrency)
        self.results: dict[tuple[str, str | None], Any] = {}   # value or exception
        self.batch = SnapshotBatch(snapshots={})

    async def run(self, name: str, coin: str | None, call: Callable[[], Awaitable[Any]]) -> None:
        source = fr.SOURCES[name]
        try:
            if self.batch.auth_error is not None:
                raise self.batch.auth_error
            async with self.semaphore:
                if self.batch.auth_error is not None:
                    raise self.batch.auth_error
                self.batch.requests += 1
                try:
                    value = await call()
                except AuthError as exc:
                    self.batch.auth_error = exc
                    raise
                except PlanTooLow:
                    self.batch.refused.add(source.path)
                    raise
                except RateLimited:
                    self.batch.rate_limited = True
                    raise
                except CoinGlassError as exc:
                    if str(exc) not in self.batch.errors:
                        self.batch.errors.append(str(exc))
                    raise
                self.batch.answered += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:          # kept as the section's reason; never fails the poll
            self.results[(name, coin)] = exc
            return
        self.results[(name, coin)] = value

    def value(self, name: str, coin: str | None) -> Kept | BaseException | None:
        """The kept value (this poll's answers are kept before assembly) while it is young
        enough to use, else this poll's failure."""
        kept = self.memory.values.get((name, coin))
        if kept is not None and self.now - kept.at <= fr.SOURCES[name].max_age:
            return kept
        return self.results.get((name, coin))


class SnapshotBuilder:
    def __init__(self, client: CoinGlassClient, *, concurrency_per_key: int = 6,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.client = client
        self.concurrency_per_key = concurrency_per_key
        self.clock = clock
        self._memory: dict[str, _KeyMemory] = {}

    def _now(self) -> float:
        return self.clock().timestamp()

    def forget_key(self, api_key: str) -> None:
        """Drop kept data of a key (after /forget or a new key)."""
        self._memory.pop(key_fingerprint(api_key), None)

    def sweep(self) -> int:
        """Drop the kept values of keys unused for a while; returns how many keys."""
        now = self._now()
        idle = [fp for fp, mem in self._memory.items() if now - mem.last_used > KEEP_IDLE_SECONDS]
        for fp in idle:
            del self._memory[fp]
        return len(idle)

    def __len__(self) -> int:
        return len(self._memory)

    def kept(self, api_key: str, source: str, coin: str | None, max_age: float) -> Any | None:
        """What this key's polls last fetched from ``source`` (for ``coin``; None for a
        key-wide source) if at most ``max_age`` seconds old, else None. Read-only: the daily
        digest reuses figures the polls already paid for."""
        memory = self._memory.get(key_fingerprint(api_key))
        kept = memory.values.get((source, coin)) if memory is not None else None
        if kept is None or self._now() - kept.at > max_age:
            return None
        return kept.value

    # --- what a poll fetches ----------------------------------------------------------------

    def _wanted(self, budget: Budget, coins: list[str],
                memory: _KeyMemory) -> list[tuple[str, str | None]]:
        """(source, coin) pairs stale now; coin None for key-wide sources."""
        now = self._now()
        wanted: list[tuple[str, str | None]] = []
        names = [s.name for s in budget.sources]
        if "markets" in names and memory.markets_missing:
            names += ["oi", "liquidations", "price_ref"]     # coins the markets page lacks
        for name in names:
            source = fr.SOURCES[name]
            if source.scope == fr.KEY_WIDE:
                kept = memory.values.get((name, None))
                age = None if kept is None else now - kept.at
                if name == fr.FUNDING_LIST and kept is not None and \
                        not set(coins) <= set(kept.extra or ()):
                    age = None            # a coin added since: the list must be read again
                if fr.stale(source, age, budget.interval):
                    wanted.append((name, None))
                continue
            for coin in coins:
                if name in ("oi", "liquidations", "price_ref") and "markets" in names \
                        and coin not in memory.markets_missing:
                    continue
                kept = memory.values.get((name, coin))
                age = None if kept is None else now - kept.at
                if fr.stale(source, age, budget.interval):
                    wanted.append((name, coin))
        return wanted

    def planned_requests(self, api_key: str, budget: Budget, coins: list[str]) -> int:
        """How many requests a poll of these coins must send now (its fast sources; the
        slow ones due go only where the poll has room)."""
        memory = self._memory.get(key_fingerprint(api_key)) or _KeyMemory()
        return sum(1 for name, _ in self._wanted(budget, coins, memory)
                   if fr.SOURCES[name].fast)

    def _choose(self, api_key: str, budget: Budget, wanted: list[tuple[str, str | None]],
                memory: _KeyMemory, complete: bool) -> list[tuple[str, str | None]]:
        """Every fast source, then the slow ones due, most needed first, within the poll's
        share of the key's window and the room the window has now."""
        fast = [w for w in wanted if fr.SOURCES[w[0]].fast]
        slow = sorted((w for w in wanted if not fr.SOURCES[w[0]].fast),
                      key=lambda w: (w[0] not in PRIORITY, PRIORITY.index(w[0])
                                     if w[0] in PRIORITY else 0,
                                     (memory.values.get(w) or Kept(0.0, None)).at))
        if complete:
            return fast + slow
        limiter = self.client.limiters.peek(api_key)
        room = limiter.room() if limiter is not None else budget.usable_per_minute
        allowed = max(0, min(budget.per_poll, room) - len(fast))
        return fast + slow[:allowed]

    async def build(self, api_key: str, budget: Budget, coins: list[str], *,
                    complete: bool = False) -> SnapshotBatch:
        """Snapshots of ``coins`` with ``api_key``; never raises CoinGlassError. ``complete``
        (``/snapshot``) fetches every stale source at once rather than the poll's share."""
        memory = self._memory.setdefault(key_fingerprint(api_key), _KeyMemory())
        now = self._now()
        memory.last_used = now
        poll = _Poll(api_key, budget, coins, memory, self.concurrency_per_key, now)
        missing_before = set(memory.markets_missing)
        wanted = self._wanted(budget, coins, memory)
        await self._fetch(poll, self._choose(api_key, budget, wanted, memory, complete))
        self._keep(poll)
        if memory.markets_missing - missing_before and poll.batch.auth_error is None:
            # Coins the markets page lacks: their per-coin figures, in this same poll.
            extra = [(name, coin) for name, coin in self._wanted(budget, coins, memory)
                     if coin in memory.markets_missing - missing_before
                     and name in ("oi", "liquidations", "price_ref")]
            await self._fetch(poll, extra)
            self._keep(poll)
        poll.batch.snapshots = {coin: self._assemble(poll, coin) for coin in coins}
        return poll.batch

    def last_known(self, api_key: str, budget: Budget, coin: str) -> m.MarketSnapshot | None:
        """The coin as the key's last poll saw it, from kept values only (no request); None
        when nothing is kept. Each section keeps its own time, so the figures are honest
        about their age (the test alert, the reply to /alert and /position's live P&L show
        them)."""
        memory = self._memory.get(key_fingerprint(api_key))
        if memory is None or not memory.values:
            return None
        newest = max(kept.at for kept in memory.values.values())
        poll = _Poll(api_key, budget, [coin], memory, 1, newest)
        snapshot = self._assemble(poll, coin)
        return snapshot if snapshot.present() else None

    async def _fetch(self, poll: _Poll, wanted: list[tuple[str, str | None]]) -> None:
        tasks = [asyncio.ensure_future(poll.run(name, coin, self._call(poll, name, coin)))
                 for name, coin in wanted]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()

    def _keep(self, poll: _Poll) -> None:
        """Store this poll's answers for the polls to come."""
        for (name, coin), value in poll.results.items():
            if isinstance(value, BaseException):
                continue
            extra = None
            if name == fr.FUNDING_LIST:
                extra = tuple(poll.coins)
                for venues in value.values():
                    venue_table.learn(venues)
            elif name == "price_ref":
                oi = poll.results.get(("oi", coin))
                live = _live_price(oi) if isinstance(oi, OpenInterestList) else None
                extra = value[-1].close / live if value and live else None
            elif name == "markets":
                found = {row.symbol for row in value}
                poll.memory.markets_missing = {c for c in poll.coins if c not in found}
                poll.memory.markets_rank = {row.symbol: i for i, row in enumerate(value)}
                value = {row.symbol: row for row in value if row.symbol in set(poll.coins)}
            poll.memory.values[(name, coin)] = Kept(poll.now, _compact(name, value, poll),
                                                    extra)

    def _call(self, poll: _Poll, name: str, coin: str | None) -> Callable[[], Awaitable[Any]]:
        c, key, per_minute = self.client, poll.api_key, poll.budget.per_minute
        plan = poll.plan
        kw = {"per_minute": per_minute}
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "oi": lambda: c.open_interest(key, coin, **kw),
            "oi_weights": lambda: c.open_interest(key, coin, **kw),
            "liquidations": lambda: c.liquidations(key, coin, "1h", **kw),
            "taker": lambda: c.taker_volume(key, coin, "1h", **kw),
            "markets": lambda: c.coins_markets(key, per_page=_markets_page(poll), **kw),
            "price_ref": lambda: c.price_history(key, pair_of(coin), regime_window(plan), 3,
                                                 exchange=WATCH_EXCHANGE, **kw),
            "funding_list": lambda: c.funding_rates(key, frozenset(poll.coins), **kw),
            "funding_pairs": lambda: c.pairs_markets(key, coin, **kw),
            "global_ls": lambda: c.global_long_short(key, pair_of(coin), ratio_interval(plan), 1,
                                                     exchange=WATCH_EXCHANGE, **kw),
            "top_ls": lambda: c.top_long_short_accounts(key, pair_of(coin), ratio_interval(plan),
                                                        1, exchange=WATCH_EXCHANGE, **kw),
            "balances": lambda: c.exchange_balances(key, coin, **kw),
            "dominance": lambda: c.bitcoin_dominance(key, **kw),
            "netflow": lambda: c.coin_netflow(key, coin, **kw),
            "cvd": lambda: c.aggregated_cvd(key, coin, "1h", 2, **kw),
            "whales": lambda: c.whale_alerts(key, **kw),
            "walls": lambda: c.large_limit_orders(key, pair_of(coin), exchange=WATCH_EXCHANGE,
                                                  **kw),
            "liquidation_orders": lambda: c.liquidation_orders(key, coin, exchange=WATCH_EXCHANGE,
                                                               **kw),
            "clusters": lambda: c.liquidation_map(key, coin, "1d", **kw),
        }
        return calls[name]

    # --- assembling a coin's snapshot -------------------------------------------------------

    def _assemble(self, poll: _Poll, coin: str) -> m.MarketSnapshot:
        wanted = set(sections_for(poll.plan))
        missing: dict[str, Missing] = {
            s: Missing(MissingReason.NOT_IN_PLAN, f"{m.SECTION_MIN_PLAN[s].title}+")
            for s in m.SECTIONS if s not in wanted
        }
        values: dict[str, Any] = {}
        for section in m.SECTIONS:
            if section not in wanted:
                continue
            try:
                values[section] = getattr(self, f"_{section}")(poll, coin)
            except _Disabled:
                missing[section] = Missing(MissingReason.DISABLED, "refused by CoinGlass earlier")
            except BaseException as exc:       # noqa: BLE001 - every failure becomes a reason
                if isinstance(exc, asyncio.CancelledError):
                    raise
                missing[section] = self._missing(exc, poll)
        return m.MarketSnapshot(coin=coin, plan=poll.plan, fetched_at=self.clock(),
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
        log.error("unexpected failure building a snapshot section", exc_info=exc)
        return Missing(MissingReason.ERROR, "internal error")

    @staticmethod
    def _get(poll: _Poll, name: str, coin: str | None) -> Kept:
        """The usable value of a source, or raise why there is none."""
        if name not in {s.name for s in poll.budget.sources} and not (
                name in ("oi", "liquidations", "price_ref") and coin in poll.memory.markets_missing):
            raise _Disabled(name)
        got = poll.value(name, coin)
        if isinstance(got, Kept):
            return got
        if isinstance(got, BaseException):
            raise got
        raise _NoData("not fetched yet")

    @staticmethod
    def _time(kept: Kept) -> datetime:
        return datetime.fromtimestamp(kept.at, timezone.utc)

    def _market_row(self, poll: _Poll, coin: str) -> tuple[CoinMarket, Kept] | None:
        """The coin's coins-markets row, when the plan reads from it and the page had it."""
        if not fr.uses_markets(poll.plan) or coin in poll.memory.markets_missing:
            return None
        kept = self._get(poll, "markets", None)
        row = kept.value.get(coin)
        if row is None:
            raise _NoData(f"{coin} is not on CoinGlass's markets page")
        return row, kept

    def _open_interest(self, poll: _Poll, coin: str) -> m.OpenInterestSection:
        if (market := self._market_row(poll, coin)) is not None:
            row, kept = market
            if row.open_interest_usd is None:
                raise _NoData(f"no open interest for {coin}")
            weights = poll.value("oi_weights", coin)
            by_exchange = _by_exchange(weights.value) if isinstance(weights, Kept) else ()
            return m.OpenInterestSection(row.open_interest_usd, dict(row.oi_change_pct),
                                         by_exchange, self._time(kept))
        kept = self._get(poll, "oi", coin)
        oi: OpenInterestList = kept.value
        if oi.total is None:
            raise _NoData(f"no open interest for {coin}")
        return m.OpenInterestSection(oi.total.usd, dict(oi.total.change_pct), _by_exchange(oi),
                                     self._time(kept))

    def _price(self, poll: _Poll, coin: str) -> m.PriceSection:
        if (market := self._market_row(poll, coin)) is not None:
            row, kept = market
            return m.PriceSection(row.price, "1h", row.price_change_pct.get("1h"),
                                  self._time(kept))
        ref = self._get(poll, "price_ref", coin)
        candles: list[Candle] = ref.value
        if not candles:
            raise _NoData(f"no price for {pair_of(coin)}")
        price, at = candles[-1].close, ref.at
        oi = poll.value("oi", coin)
        live = _live_price(oi.value) if isinstance(oi, Kept) else None
        if live is not None and ref.extra and abs(ref.extra - 1.0) <= CALIBRATION_LIMIT:
            price, at = live * ref.extra, oi.at
        window = regime_window(poll.plan)
        return m.PriceSection(price, window, _change(candles, window, price, at),
                              datetime.fromtimestamp(at, timezone.utc))

    def _liquidations(self, poll: _Poll, coin: str) -> m.LiquidationSection:
        if (market := self._market_row(poll, coin)) is not None:
            row, kept = market
            long_usd = row.long_liquidation_usd.get("1h")
            short_usd = row.short_liquidation_usd.get("1h")
            if long_usd is None or short_usd is None:
                raise _NoData(f"no liquidation data for {coin}")
            return m.LiquidationSection("1h", long_usd, short_usd, self._time(kept))
        kept = self._get(poll, "liquidations", coin)
        liq = kept.value
        if liq.total is not None:
            long_usd, short_usd = liq.total.long_usd, liq.total.short_usd
        elif liq.exchanges:
            long_usd = sum(r.long_usd for r in liq.exchanges)
            short_usd = sum(r.short_usd for r in liq.exchanges)
        else:
            raise _NoData(f"no liquidation data for {coin}")
        return m.LiquidationSection("1h", long_usd, short_usd, self._time(kept))

    def _funding(self, poll: _Poll, coin: str) -> m.FundingSection:
        weights: dict[str, float] = {}
        if poll.budget.funding == fr.FUNDING_PAIRS:
            kept = self._get(poll, fr.FUNDING_PAIRS, coin)
            venues, weights = _pair_venues(kept.value)
        else:
            kept = self._get(poll, fr.FUNDING_LIST, None)
            venues = list(kept.value.get(coin.upper()) or [])
            source = poll.value("oi_weights" if fr.uses_markets(poll.plan) else "oi", coin)
            if isinstance(source, Kept) and source.value.exchanges:
                weights = {r.exchange.lower(): r.stablecoin_margin_usd or 0.0
                           for r in source.value.exchanges}
        if not venues:
            raise _NoData(f"no funding rates for {coin}")
        stable = [v for v in venues if v.margin == "stablecoin"] or venues
        mean = sum(v.rate_8h_pct for v in stable) / len(stable)
        kind = "stablecoin-margined" if stable[0].margin == "stablecoin" else "coin-margined"
        used = [(v, weights.get(v.exchange.lower(), 0.0)) for v in stable]
        used = [(v, w) for v, w in used if w > 0]
        total = sum(w for _, w in used)
        if total > 0:
            average = sum(v.rate_8h_pct * w for v, w in used) / total
            method = f"OI-weighted mean of {len(used)} {kind} venues"
        else:
            average, method = mean, f"mean of {len(stable)} {kind} venues"
        return m.FundingSection(venues=tuple(venues), average_8h_pct=average,
                                average_method=method, mean_8h_pct=mean, time=self._time(kept))

    def _taker(self, poll: _Poll, coin: str) -> m.TakerSection:
        kept = self._get(poll, "taker", coin)
        if kept.value is None:
            raise _NoData(f"no taker volume for {coin}")
        return m.TakerSection("1h", kept.value.buy_usd, kept.value.sell_usd, self._time(kept))

    def _ratio(self, poll: _Poll, coin: str, name: str) -> m.AccountRatio:
        kept = self._get(poll, name, coin)
        if not kept.value:
            raise _NoData(f"no long/short ratio for {pair_of(coin)}")
        last = kept.value[-1]
        return m.AccountRatio(last.long_pct, last.short_pct, WATCH_EXCHANGE, pair_of(coin),
                              ratio_interval(poll.plan), last.time)

    def _global_ls(self, poll: _Poll, coin: str) -> m.AccountRatio:
        return self._ratio(poll, coin, "global_ls")

    def _top_ls(self, poll: _Poll, coin: str) -> m.AccountRatio:
        return self._ratio(poll, coin, "top_ls")

    def _balances(self, poll: _Poll, coin: str) -> m.BalanceSection:
        kept = self._get(poll, "balances", coin)
        if not kept.value:
            raise _NoData(f"no exchange balances for {coin}")
        return m.BalanceSection(tuple(kept.value), self._time(kept))

    def _dominance(self, poll: _Poll, coin: str) -> m.DominanceSection:
        points = self._get(poll, "dominance", None).value
        if not points:
            raise _NoData("no Bitcoin dominance data")
        last = points[-1]

        def change(days: int) -> float | None:
            earlier = [p for p in points if p.time <= last.time - timedelta(days=days)]
            return last.dominance_pct - earlier[-1].dominance_pct if earlier else None

        return m.DominanceSection(last.dominance_pct, change(1), change(7), last.time)

    def _netflow(self, poll: _Poll, coin: str) -> m.NetflowSection:
        kept = self._get(poll, "netflow", coin)
        if kept.value is None:
            raise _NoData(f"no netflow for {coin}")
        return m.NetflowSection(dict(kept.value.net_flow_usd), self._time(kept))

    def _cvd(self, poll: _Poll, coin: str) -> m.CvdSection:
        points = self._get(poll, "cvd", coin).value
        if not points:
            raise _NoData(f"no CVD for {coin}")
        last = points[-1]
        return m.CvdSection("1h", last.cumulative, last.buy - last.sell, last.time)

    def _whales(self, poll: _Poll, coin: str) -> m.WhaleSection:
        kept = self._get(poll, "whales", None)
        since = self.clock() - WHALE_LOOKBACK
        moves = tuple(
            m.WhaleMove(address=a.address, side="long" if a.position_size >= 0 else "short",
                        action=a.action, size=abs(a.position_size), value_usd=a.value_usd,
                        entry_price=a.entry_price, liquidation_price=a.liquidation_price,
                        time=a.time)
            for a in kept.value if a.symbol == coin.upper() and a.time >= since
        )
        return m.WhaleSection(moves, self._time(kept))

    def _walls(self, poll: _Poll, coin: str) -> m.WallSection:
        kept = self._get(poll, "walls", coin)
        walls = sorted((m.Wall(o.side, o.price, o.usd, o.exchange, o.pair)
                        for o in kept.value if o.open), key=lambda w: w.usd, reverse=True)
        return m.WallSection(tuple(walls[:20]), self._time(kept))

    def _liquidation_orders(self, poll: _Poll, coin: str) -> m.LiquidationOrdersSection:
        kept = self._get(poll, "liquidation_orders", coin)
        since = self.clock() - timedelta(hours=1)
        recent = [o for o in kept.value if o.time >= since]
        return m.LiquidationOrdersSection(
            count=len(recent), long_usd=sum(o.usd for o in recent if o.side == "long"),
            short_usd=sum(o.usd for o in recent if o.side == "short"),
            largest_usd=max((o.usd for o in recent), default=0.0), time=self._time(kept),
        )

    def _clusters(self, poll: _Poll, coin: str) -> m.ClusterSection:
        kept = self._get(poll, "clusters", coin)
        try:
            price = self._price(poll, coin).price
        except Exception:
            raise _NoData(f"no price to place the liquidation map of {coin}") from None
        clusters = tuple(
            m.LiquidationCluster(level.price, level.usd, "long" if level.price < price else "short")
            for level in kept.value if level.usd > 0
        )
        return m.ClusterSection(clusters, "1d", self._time(kept))


class _Disabled(Exception):
    """The source was dropped from the user's set after CoinGlass refused it."""


def _markets_page(poll: _Poll) -> int:
    """How many coins to ask coins-markets for: as few as hold the user's coins (the list is
    sorted by size, so the majors are on top: 10 rows are ≈15 KB, 200 rows ≈300 KB), and the
    whole page while a coin has not been placed yet."""
    ranks = poll.memory.markets_rank
    if not all(c in ranks for c in poll.coins):
        return MARKETS_PER_PAGE
    needed = max(ranks[c] for c in poll.coins) + 1 + MARKETS_MARGIN
    return min(MARKETS_PER_PAGE, max(10, -(-needed // 10) * 10))


def _compact(name: str, value: Any, poll: _Poll) -> Any:
    """Only what a section reads, so what a key keeps between polls stays small (a whole
    dominance history, or every coin's whale alerts, is kept as a few items)."""
    if name == "dominance" and value:
        last = value[-1]
        wanted = [last.time - timedelta(days=d) for d in (7, 1)]
        earlier = [max((p for p in value if p.time <= t), key=lambda p: p.time, default=None)
                   for t in wanted]
        return [p for p in earlier if p is not None] + [last]
    if name == "whales" and value:
        coins = {c.upper() for c in poll.coins}
        since = datetime.fromtimestamp(poll.now, timezone.utc) - WHALE_LOOKBACK
        return [a for a in value if a.symbol in coins and a.time >= since]
    if name == "liquidation_orders" and value:
        since = datetime.fromtimestamp(poll.now, timezone.utc) - timedelta(hours=1)
        return [o for o in value if o.time >= since]
    if name == "walls" and value:
        return sorted((o for o in value if o.open), key=lambda o: o.usd, reverse=True)[:20]
    return value


def _by_exchange(oi: OpenInterestList) -> tuple[m.ExchangeOpenInterest, ...]:
    return tuple(m.ExchangeOpenInterest(r.exchange, r.usd, r.stablecoin_margin_usd)
                 for r in oi.exchanges)


def _live_price(oi: OpenInterestList) -> float | None:
    """The price CoinGlass values the open interest at: the All row's USD ÷ coins.

    In the recorded capture (BTC, 2025-11-14) this gave 96,523 beside Binance's 96,460–96,513:
    a venue-weighted price, which ``price_ref`` anchors to Binance (the candle's close ÷ this
    value, refreshed every few minutes), so the bot's price is Binance's without a request."""
    total = oi.total
    if total is None or not total.quantity or total.quantity <= 0:
        return None
    return total.usd / total.quantity


def _change(candles: list[Candle], window: str, price: float, at: float) -> float | None:
    """Price change over ``window``: against the candle close nearest to ``at − window``."""
    step = timedelta(minutes=INTERVAL_MINUTES[window])
    target = datetime.fromtimestamp(at, timezone.utc) - step
    current = candles[-1]
    references = [(c.time + step, c.close) for c in candles[:-1]]
    references.append((current.time, current.open))
    _, reference = min(references, key=lambda r: abs((r[0] - target).total_seconds()))
    return (price / reference - 1.0) * 100.0 if reference else None


def _pair_venues(pairs: list[PairMarket]) -> tuple[list[m.FundingVenue], dict[str, float]]:
    """Stablecoin-margined perpetuals of one coin (USDT/USDC quotes: unambiguous), one per
    venue (the largest by OI), with the funding interval from the venue table, and their OI
    as the weights of the average."""
    best: dict[str, PairMarket] = {}
    for pair in pairs:
        quote = (pair.symbol or "").rsplit("/", 1)[-1].upper()
        if pair.funding_rate_pct is None or quote not in ("USDT", "USDC"):
            continue
        known = best.get(pair.exchange)
        if known is None or (pair.open_interest_usd or 0) > (known.open_interest_usd or 0):
            best[pair.exchange] = pair
    venues = [m.FundingVenue(exchange=p.exchange, margin="stablecoin", rate_pct=p.funding_rate_pct,
                             interval_hours=venue_table.interval_hours(p.exchange))
              for p in best.values()]
    weights = {p.exchange.lower(): p.open_interest_usd or 0.0 for p in best.values()}
    return venues, weights
