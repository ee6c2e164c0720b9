"""The daily digest (SPEC §14): once a day at the user's local time, one message with each
coin's day and the alerts of the last 24 h.

**What it costs the key.** Per coin the digest shows the price and its 24 h change, funding
per 8 h, open interest and its 24 h change, and 24 h long/short liquidations. It reads them
from what the user's polls already fetched when that is at most ``KEPT_MAX_AGE`` old, and asks
CoinGlass only for the rest:

- Standard and above: the ``coins-markets`` row of each coin carries every figure; the polls
  read that page every poll, so the digest usually costs **0 requests** (1 when the kept page
  is old, + 2 per coin the page lacks);
- Hobbyist and Startup: ``pairs-markets`` per coin (the price and 24 h change of the Binance
  USDT perpetual, OI-weighted funding of the stablecoin-margined venues normalised to 8 h —
  the snapshot's own method — and the venues' 24 h liquidations summed) and the open-interest
  list's "All" row (OI and 24 h change, which every poll fetches). Usually **1 request per
  coin**, at most 2.

So a digest costs at most ``1 + 2 × coins`` requests, once a day. Every request goes through
the key's limiter like a poll's (90 % of the plan's limit per minute, one back-off per 429
burst), so the key's limit is never exceeded; polls that fall in the same minute wait for room
(the scheduler's pacing), none is dropped.

**Exactly once.** :class:`DigestScheduler` looks at users whose ``digest_next_at`` has come
(an indexed range scan, so ticking every second costs nothing when nobody is due) and asks
:func:`core.hours.digest_step`: *send*, *skip* (the moment passed more than 6 h ago: after a
long downtime the digest is not sent late) or *wait* (already sent). A digest is queued in the
outbox and recorded sent in one transaction, and only if the user's digest setting and
timezone are still those it was made for. A restart before that transaction makes it again; a
restart after it finds it in the outbox. Fetches run as tasks, one per user at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from core import freshness as fr
from core.budget import Budget, budget_for
from core.coinglass import paths
from core.coinglass.errors import AuthError, CoinGlassError, PlanTooLow
from core.coinglass.models import CoinMarket, OpenInterestList, PairMarket
from core.hours import NOTICE_DIGEST, digest_step, next_digest, quiet_of
from core.quiet import Due, is_quiet
from core.snapshot import MARKETS_PER_PAGE, SnapshotBuilder, _pair_venues
from core.storage.crypto import KeyUnreadable
from core.storage.repo import OutboxItem, Repository
from core.timezones import tz_of
from core.users import User

log = logging.getLogger(__name__)

KEPT_MAX_AGE = 300.0                  # a poll's figure this young is good enough for a digest
DAY = 86400.0
ALERTS_SHOWN = 30                     # alerts of the last 24 h kept in the digest's payload
RETRY_SECONDS = 120.0                 # CoinGlass gave nothing: try again this much later...
GIVE_UP_AFTER = 1800.0                # ...until this long after the digest's time, then send
WATCH_EXCHANGE = "Binance"            # the price shown: Binance's USDT perpetual (as alerts)

# payload["note"]: why the digest has no market figures
NOTE_NO_COINS = "no_coins"
NOTE_NO_KEY = "no_key"
NOTE_KEY_REJECTED = "key_rejected"
NOTE_UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class CoinDay:
    """One coin's day as the digest shows it; None where CoinGlass gave nothing."""

    coin: str
    price: float | None = None
    price_change_24h: float | None = None
    funding_8h: float | None = None
    oi_usd: float | None = None
    oi_change_24h: float | None = None
    liq_long_24h: float | None = None
    liq_short_24h: float | None = None
    missing: str | None = None        # why some figures are absent

    @property
    def empty(self) -> bool:
        return self.price is None and self.oi_usd is None and self.liq_long_24h is None


@dataclass
class DigestFigures:
    coins: list[CoinDay] = field(default_factory=list)
    requests: int = 0
    auth_error: AuthError | None = None

    @property
    def all_failed(self) -> bool:
        return bool(self.coins) and all(c.empty for c in self.coins)


def alert_outcome(item: OutboxItem) -> Any | None:
    """What the market did after the alert (``▼ −2.4 % after 4h ✓``) when the payload carries
    it; the scheduler's ``outcome_text`` (the outcomes store, wired by the bot) comes first."""
    return item.payload.get("outcome")


def _from_market(coin: str, row: CoinMarket) -> CoinDay:
    return CoinDay(coin, price=row.price, price_change_24h=row.price_change_pct.get("24h"),
                   funding_8h=row.avg_funding_by_oi, oi_usd=row.open_interest_usd,
                   oi_change_24h=row.oi_change_pct.get("24h"),
                   liq_long_24h=row.long_liquidation_usd.get("24h"),
                   liq_short_24h=row.short_liquidation_usd.get("24h"))


def _watch_pair(coin: str, pairs: list[PairMarket]) -> PairMarket | None:
    """Binance's USDT perpetual (the price alerts show), else the largest stablecoin pair."""
    for pair in pairs:
        if pair.exchange.lower() == WATCH_EXCHANGE.lower() and \
                pair.instrument_id.upper() == f"{coin}USDT":
            return pair
    stable = [p for p in pairs if (p.symbol or "").upper().endswith(("/USDT", "/USDC"))]
    return max(stable or pairs, key=lambda p: p.open_interest_usd or 0.0, default=None)


def _funding(pairs: list[PairMarket]) -> float | None:
    """OI-weighted funding per 8 h of the stablecoin-margined venues (the snapshot's method)."""
    venues, weights = _pair_venues(pairs)
    if not venues:
        return None
    used = [(v.rate_8h_pct, weights.get(v.exchange.lower(), 0.0)) for v in venues]
    total = sum(w for _, w in used)
    if total > 0:
        return sum(rate * w for rate, w in used) / total
    return sum(rate for rate, _ in used) / len(used)


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _from_pairs(coin: str, pairs: list[PairMarket] | None,
                oi: OpenInterestList | None, missing: list[str]) -> CoinDay:
    watch = _watch_pair(coin, pairs) if pairs else None
    total = oi.total if oi is not None else None
    return CoinDay(
        coin,
        price=watch.price if watch else None,
        price_change_24h=watch.price_change_pct_24h if watch else None,
        funding_8h=_funding(pairs) if pairs else None,
        oi_usd=total.usd if total else None,
        oi_change_24h=total.change_pct.get("24h") if total else None,
        # CoinGlass lists a coin's pairs on every venue: their 24 h sums are the coin's.
        liq_long_24h=_sum([p.long_liquidation_usd_24h for p in pairs]) if pairs else None,
        liq_short_24h=_sum([p.short_liquidation_usd_24h for p in pairs]) if pairs else None,
        missing="; ".join(dict.fromkeys(missing)) or None)


class DigestFetcher:
    """The digest's figures for one key's coins, reusing what the polls fetched."""

    def __init__(self, builder: SnapshotBuilder, *, concurrency: int = 4):
        self.builder = builder
        self.client = builder.client
        self.concurrency = concurrency

    def planned_requests(self, api_key: str, budget: Budget, coins: list[str]) -> int:
        """The most requests :meth:`figures` would send now (what is not kept)."""
        rest = list(coins)
        if fr.uses_markets(budget.plan):
            markets = self.builder.kept(api_key, "markets", None, KEPT_MAX_AGE) or {}
            rest = [c for c in coins if c not in markets]
            if not rest:
                return 0
            extra = 1
        else:
            extra = 0
        return extra + sum(
            (self.builder.kept(api_key, "funding_pairs", c, KEPT_MAX_AGE) is None)
            + (self.builder.kept(api_key, "oi", c, KEPT_MAX_AGE) is None) for c in rest)

    async def figures(self, api_key: str, budget: Budget, coins: list[str],
                      disabled: frozenset[str] = frozenset()) -> DigestFigures:
        result = DigestFigures()
        kw = {"per_minute": budget.per_minute}
        days: dict[str, CoinDay] = {}
        rest = list(coins)
        if fr.uses_markets(budget.plan) and paths.COINS_MARKETS not in disabled:
            markets = self.builder.kept(api_key, "markets", None, KEPT_MAX_AGE) or {}
            if any(c not in markets for c in coins):
                try:
                    result.requests += 1
                    page = await self.client.coins_markets(api_key, per_page=MARKETS_PER_PAGE,
                                                           **kw)
                    markets = {row.symbol: row for row in page}
                except AuthError as exc:
                    result.auth_error = exc
                    return result
                except (PlanTooLow, CoinGlassError) as exc:
                    log.info("digest: coins-markets failed (%s); per coin instead", exc)
            for coin in coins:
                if coin in markets:
                    days[coin] = _from_market(coin, markets[coin])
            rest = [c for c in coins if c not in days]
        if rest:
            gate = asyncio.Semaphore(self.concurrency)

            async def one(coin: str) -> None:
                async with gate:
                    days[coin] = await self._per_coin(api_key, coin, kw, disabled, result)

            await asyncio.gather(*(one(c) for c in rest))
        result.coins = [days.get(c, CoinDay(c, missing="no data")) for c in coins]
        return result

    async def _per_coin(self, api_key: str, coin: str, kw: dict, disabled: frozenset[str],
                        result: DigestFigures) -> CoinDay:
        missing: list[str] = []

        async def fetch(source: str, path: str, call) -> Any:
            if (value := self.builder.kept(api_key, source, coin, KEPT_MAX_AGE)) is not None:
                return value
            if path in disabled or result.auth_error is not None:
                return None
            result.requests += 1
            try:
                return await call()
            except AuthError as exc:
                result.auth_error = exc
            except CoinGlassError as exc:
                missing.append(str(exc))
            return None

        pairs = await fetch("funding_pairs", paths.PAIRS_MARKETS,
                            lambda: self.client.pairs_markets(api_key, coin, **kw))
        oi = await fetch("oi", paths.OI_EXCHANGE_LIST,
                         lambda: self.client.open_interest(api_key, coin, **kw))
        return _from_pairs(coin, pairs, oi, missing)


def digest_payload(user: User, now: float, figures: DigestFigures | None, note: str | None,
                   alerts: list[OutboxItem], plan: str | None,
                   outcome_text: Callable[[OutboxItem], str | None] | None = None
                   ) -> dict[str, Any]:
    """What the digest message shows, as JSON the bot renders when it sends it."""
    outcome = outcome_text or alert_outcome
    return {
        "notice": NOTICE_DIGEST, "at": user.digest_at, "made_at": now, "plan": plan,
        "note": note, "requests": figures.requests if figures else 0,
        "coins": [asdict(c) for c in figures.coins] if figures else [],
        "alerts_total": len(alerts),
        "alerts": [{"id": a.id, "coin": a.coin, "level": a.level, "created_at": a.created_at,
                    "signals": a.payload.get("signals", []),
                    "triggers": a.payload.get("triggers", {}), "status": a.status,
                    "outcome": outcome(a)}
                   for a in alerts[:ALERTS_SHOWN]],
    }


class DigestScheduler:
    """Starts the digests that are due; the bot's JobQueue calls :meth:`tick` every second."""

    def __init__(self, repo: Repository, fetcher: DigestFetcher, *,
                 default_interval: int | None, clock: Callable[[], float] = time.time,
                 max_concurrent: int = 50, batch: int = 200):
        self.repo = repo
        self.batch = batch
        self.fetcher = fetcher
        self.default_interval = default_interval
        self.clock = clock
        self._slots = asyncio.Semaphore(max_concurrent)
        self._running: dict[int, asyncio.Task] = {}
        self.on_queued: Callable[[], None] | None = None     # wake the outbox
        # An alert's outcome so far, as the user reads it (the outcomes store; bot wiring).
        self.outcome_text: Callable[[OutboxItem], str | None] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def tick(self) -> int:
        """Start each due digest (one task per user at a time); returns how many started.
        At most ``batch`` users a tick (about 35 ms of work, bench.hours): when thousands are
        due at the same minute, the rest are started over the next seconds."""
        now = self.clock()
        started = 0
        for user in self.repo.digest_due_users(now, limit=self.batch):
            if user.id in self._running:
                continue
            step = digest_step(user, now)
            if step.due == Due.SEND:
                self._running[user.id] = asyncio.create_task(self._run(user, step.moment),
                                                             name=f"digest-{user.id}")
                started += 1
                continue
            if step.due == Due.SKIP:
                log.info("digest of user %s skipped: its time passed more than 6 h ago",
                         user.id)
                self.repo.count("digests_skipped")
            self.repo.set_digest_next(user.id, step.next_at)
        return started

    async def _run(self, user: User, moment: float | None) -> bool:
        try:
            async with self._slots:
                return await self._make(user, moment)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug must not stop everyone's digests: this one is looked at again later.
            log.exception("digest of user %s failed", user.id)
            self._later(user, self.clock() + RETRY_SECONDS)
            return False
        finally:
            self._running.pop(user.id, None)

    def _later(self, user: User, at: float) -> None:
        """Look at this user's digest again at ``at`` — unless they changed it meanwhile."""
        self.repo.set_digest_next(user.id, at, expect=user)

    async def _make(self, user: User, moment: float | None) -> bool:
        coins = self.repo.coins(user.id)
        try:
            key = self.repo.api_key(user.id)
        except KeyUnreadable:
            key = None
        figures, note, plan = None, None, None
        if not coins:
            note = NOTE_NO_COINS
        elif user.key_state != "valid" or not key:
            note = NOTE_NO_KEY if user.key_state != "rejected" else NOTE_KEY_REJECTED
        else:
            budget = budget_for(user, len(coins), self.default_interval)
            plan = budget.plan.title
            figures = await self.fetcher.figures(key, budget, coins, user.disabled_endpoints)
            self.repo.count("coinglass_requests", figures.requests)
            if figures.auth_error is not None:
                note, figures = NOTE_KEY_REJECTED, None
            elif figures.all_failed:
                now = self.clock()
                if moment is not None and now - moment < GIVE_UP_AFTER:
                    self._later(user, now + RETRY_SECONDS)
                    return False
                note, figures.coins = NOTE_UNAVAILABLE, []      # said once, not per coin
        now = self.clock()
        alerts = self.repo.alerts_since(user.id, now - DAY)
        payload = digest_payload(user, now, figures, note, alerts, plan, self.outcome_text)
        silent = is_quiet(quiet_of(user), tz_of(user.timezone), now)
        if not self.repo.commit_digest(user, payload, next_at=next_digest(user, now),
                                       silent=silent):
            log.info("digest of user %s dropped: the setting changed meanwhile", user.id)
            return False
        self.repo.count("digests_sent")
        if self.on_queued:
            self.on_queued()
        return True

    async def run_all_due(self) -> list[bool]:
        """Start and await every due digest (tests)."""
        self.tick()
        return await asyncio.gather(*list(self._running.values()))

    async def shutdown(self, grace: float = 3.0) -> None:
        """Let running digests finish within ``grace`` seconds, then cancel the rest (a
        cancelled one is made again after the restart: nothing was recorded)."""
        tasks = list(self._running.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
