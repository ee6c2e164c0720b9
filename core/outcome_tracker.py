"""Recording what happened after each alert: the price at each of ``OUTCOME_HORIZONS`` (SPEC §14).

Where the price at a horizon comes from, cheapest first:

1. **A poll the bot makes anyway.** :meth:`OutcomeTracker.observe` is the poller's hook: every
   poll hands over its snapshots and their prices are kept a short while per coin (from any
   user's poll: a coin's price is the market's, not the user's). A kept price stands in for
   the price at ``alert time + horizon`` when it lies within ``tolerance_for(horizon)``
   (``core.outcomes``: 5 % of the horizon, 1 s to 10 min); the nearest one wins.
2. **One price request** with the alert owner's key (price history at the plan's finest
   interval: the running candle's close is the price now, closed candles reach back), only
   when the key can spare it beside its polling (``core.headroom``), and only when no poll of
   that user is due before the horizon's tolerance runs out.
3. Neither within reach: the horizon is recorded as **missed**, so it is never tried again.

Each horizon is written once (``core.storage.outcomes``). What is still to measure is kept in
memory and rebuilt from the database at start, so a restart between an alert and its horizon
loses nothing; new alerts are picked up by id on every :meth:`tick` (the JobQueue's).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from core.budget import Budget, budget_for
from core.charts.data import PRICE_EXCHANGE, pair_of
from core.coinglass.errors import AuthError, CoinGlassError
from core.headroom import Headroom
from core.market import MarketSnapshot
from core.outcomes import measure, nearest_price, tolerance_for
from core.plans import INTERVAL_MINUTES, PLAN_INFO
from core.signals.model import Direction
from core.storage.crypto import KeyUnreadable
from core.storage.outcomes import (
    SOURCE_MISSED, SOURCE_POLL, SOURCE_REQUEST, AlertFacts, OutcomeRow, OutcomeStore,
)
from core.storage.repo import Repository
from core.users import User

log = logging.getLogger(__name__)

KEEP_POINTS_SECONDS = 1200.0      # twice the widest tolerance: older polled prices are dropped
MIN_POINT_GAP_SECONDS = 1.0       # many users polling one coin: one price a second is plenty
STALE_SECONDS = 3600.0            # a horizon no price reached this long after it: missed
MAX_REQUEST_FAILURES = 3          # price requests CoinGlass failed for one alert: missed
MAX_CANDLES = 1000                # CoinGlass's largest page
PRUNE_EVERY_SECONDS = 3600.0
KEEP_OUTCOMES_SECONDS = 31 * 86400.0   # a day beyond the alert history's 30


class _CoinPrices:
    """What polls brought for one coin: recent prices, to stand in at a horizon, and the lowest
    and highest price per bar of ``bar_seconds``, for the range since an alert. Kept only for
    coins with an alert waiting, so memory follows the alerts, not the market."""

    def __init__(self, bar_seconds: float, keep_seconds: float, min_gap: float):
        self.bar_seconds = bar_seconds
        self.min_gap = min_gap
        self.keep_bars = int(keep_seconds // bar_seconds) + 2
        self.points: deque[tuple[float, float]] = deque()
        self.bars: deque[list] = deque()              # [bar index, low, high], ascending

    def add(self, ts: float, price: float) -> bool:
        """Keep a price; False if it came too soon after the last one to be kept as a point."""
        bar = int(ts // self.bar_seconds)
        for entry in reversed(self.bars):               # polls arrive a little out of order
            if entry[0] == bar:
                entry[1], entry[2] = min(entry[1], price), max(entry[2], price)
                break
            if entry[0] < bar:
                self.bars.append([bar, price, price])
                break
        else:
            if not self.bars:
                self.bars.append([bar, price, price])
        while self.bars and self.bars[0][0] < self.bars[-1][0] - self.keep_bars:
            self.bars.popleft()
        if self.points and ts < self.points[-1][0] + self.min_gap:
            return False
        self.points.append((ts, price))
        while self.points[0][0] < ts - KEEP_POINTS_SECONDS:
            self.points.popleft()
        return True

    def range(self, start: float, end: float) -> tuple[float, float] | None:
        """Lowest and highest price in the bars after ``start``'s up to ``end``'s."""
        first, last = int(start // self.bar_seconds), int(end // self.bar_seconds)
        inside = [(lo, hi) for bar, lo, hi in self.bars if first < bar <= last]
        if not inside:
            return None
        return min(lo for lo, _ in inside), max(hi for _, hi in inside)


@dataclass
class _Pending:
    """One alert whose horizons are not all measured yet."""

    facts: AlertFacts
    horizons: list[int]                   # still to measure, ascending
    low: float                            # lowest and highest price known before this run
    high: float                           # (the alert's, and the ranges already recorded)
    retry_at: float = 0.0                 # after a failed price request
    failures: int = 0                     # price requests that failed

    @property
    def price(self) -> float:
        return self.facts.price or 0.0

    def target(self, horizon: int) -> float:
        return self.facts.time + horizon

    def next_target(self) -> float:
        return self.facts.time + self.horizons[0]


@dataclass
class TrackerStats:
    """What the tracker did since it started (tests and /admin-style checks read it)."""

    from_polls: int = 0
    from_requests: int = 0
    missed: int = 0
    requests: int = 0
    request_errors: int = 0
    points: int = field(default=0)


class OutcomeTracker:
    def __init__(self, repo: Repository, store: OutcomeStore, headroom: Headroom,
                 horizons: Sequence[int], *, default_interval: int | None,
                 clock: Callable[[], float] = time.time):
        if not horizons:
            raise ValueError("at least one horizon")
        self.repo = repo
        self.store = store
        self.headroom = headroom
        self.client = headroom.builder.client
        self.horizons = tuple(sorted(set(int(h) for h in horizons)))
        self.default_interval = default_interval
        self.clock = clock
        self.stats = TrackerStats()
        self._pending: dict[int, _Pending] = {}
        self._by_coin: dict[str, set[int]] = {}
        self._due: list[tuple[float, int]] = []          # (next target, alert id), a heap
        self._prices: dict[str, _CoinPrices] = {}
        # Ranges to the minute (to the second for horizons of seconds, as in tests).
        self._bar_seconds = min(60.0, max(1.0, self.horizons[0] / 60))
        self._cursor = 0                                 # the last alert id looked at
        self._requests: dict[tuple[int, str], asyncio.Task] = {}
        self._pruned_at = 0.0
        self._started = False

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def tick_seconds(self) -> float:
        """How often :meth:`tick` should run: often enough for the shortest tolerance."""
        return min(5.0, max(0.25, tolerance_for(self.horizons[0]) / 2))

    def start(self) -> None:
        """Rebuild what is still to measure from the database (after a restart too)."""
        now = self.clock()
        self._cursor = self.store.last_alert_id()
        since = now - self.horizons[-1] - STALE_SECONDS
        alerts = [f for f in self.store.alerts_since(since) if f.alert_id <= self._cursor]
        measured = self.store.measured([f.alert_id for f in alerts])
        for facts in alerts:
            self._add(facts, measured.get(facts.alert_id, {}))
        self._started = True
        log.info("outcomes: %d alerts with horizons still to measure (%s)", len(self._pending),
                 ", ".join(str(h) for h in self.horizons))

    async def stop(self) -> None:
        tasks = list(self._requests.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Wait for the price requests in flight (tests)."""
        while self._requests:
            await asyncio.gather(*list(self._requests.values()), return_exceptions=True)

    @property
    def pending(self) -> int:
        return len(self._pending)

    # --- the poller's hook ----------------------------------------------------------------

    def observe(self, snapshots: Mapping[str, MarketSnapshot]) -> None:
        """Keep the prices a poll fetched anyway, and settle what they reach. Never raises:
        it runs inside a poll."""
        try:
            now = self.clock()
            self._pick_up()                  # an alert decided since the last tick waits too
            for coin, snap in snapshots.items():
                if snap.price is not None:
                    self._keep(coin, snap.price.time.timestamp(), snap.price.price)
            self._settle_from_points(now, set(snapshots))
        except Exception:
            log.exception("outcomes: could not read a poll's prices")

    def _keep(self, coin: str, ts: float, price: float) -> None:
        if coin not in self._by_coin or not price > 0 or not math.isfinite(price):
            return                                    # nobody waits on this coin's price
        prices = self._prices.get(coin)
        if prices is None:
            keep = self.horizons[-1] + tolerance_for(self.horizons[-1])
            # Thinned to a quarter of the smallest tolerance (one a second for real horizons).
            gap = min(MIN_POINT_GAP_SECONDS, tolerance_for(self.horizons[0]) / 4)
            prices = self._prices[coin] = _CoinPrices(self._bar_seconds, keep, gap)
        if prices.add(ts, price):
            self.stats.points += 1

    def _points(self, coin: str) -> Sequence[tuple[float, float]]:
        prices = self._prices.get(coin)
        return prices.points if prices is not None else ()

    # --- the job --------------------------------------------------------------------------

    async def tick(self) -> int:
        """Pick up new alerts, settle what polled prices reach, and ask for the rest; returns
        how many outcomes were written now (requests finish later, in their own tasks)."""
        now = self.clock()
        self._pick_up()
        written = self._settle_from_points(now, None)
        self._request_what_polls_will_not_bring(now)
        if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            self.store.prune(now - KEEP_OUTCOMES_SECONDS)
            for coin in [c for c in self._prices if c not in self._by_coin]:
                del self._prices[coin]
        return written

    # --- the pending set ---

    def _pick_up(self) -> None:
        """New alerts since the last look (by id: one indexed query)."""
        if not self._started:
            self.start()
        for facts in self.store.alerts_after(self._cursor):
            self._cursor = max(self._cursor, facts.alert_id)
            self._add(facts, {})

    def _add(self, facts: AlertFacts, measured: Mapping[int, OutcomeRow]) -> None:
        if facts.price is None or facts.alert_id in self._pending:
            return                                     # no price then: nothing to compare
        left = [h for h in self.horizons if h not in measured]
        if not left:
            return
        low = min([facts.price] + [facts.price * (1 + r.low_pct / 100) for r in
                                   measured.values() if r.low_pct is not None])
        high = max([facts.price] + [facts.price * (1 + r.high_pct / 100) for r in
                                    measured.values() if r.high_pct is not None])
        item = _Pending(facts, left, low, high)
        self._pending[facts.alert_id] = item
        self._by_coin.setdefault(facts.coin, set()).add(facts.alert_id)
        heapq.heappush(self._due, (item.next_target(), facts.alert_id))

    def _drop(self, alert_id: int) -> None:
        item = self._pending.pop(alert_id, None)
        if item is not None:
            ids = self._by_coin.get(item.facts.coin)
            if ids is not None:
                ids.discard(alert_id)
                if not ids:
                    del self._by_coin[item.facts.coin]

    def _due_items(self, now: float) -> list[_Pending]:
        """Pending alerts with at least one horizon whose time has come."""
        due, seen = [], set()
        while self._due and self._due[0][0] <= now:
            _, alert_id = heapq.heappop(self._due)
            item = self._pending.get(alert_id)
            if item is not None and alert_id not in seen:
                seen.add(alert_id)
                due.append(item)
        for item in due:        # back on the heap until every horizon is settled
            heapq.heappush(self._due, (item.next_target(), item.facts.alert_id))
        return due

    # --- settling -------------------------------------------------------------------------

    def _settle(self, item: _Pending, horizon: int, point: tuple[float, float] | None,
                source: str, now: float) -> bool:
        """Write one horizon (``point`` None: missed) and forget it; False if it was settled
        already or its alert is gone."""
        if horizon not in item.horizons:
            return False
        then = item.price
        if point is None:
            row = OutcomeRow(item.facts.alert_id, horizon, item.facts.user_id, item.facts.coin,
                             then, None, None, None, None, None, SOURCE_MISSED, now)
        else:
            ts, price = point
            seen = self._prices.get(item.facts.coin)
            window = seen.range(item.facts.time, item.target(horizon)) if seen else None
            low, high = min(item.low, price), max(item.high, price)
            if window is not None:
                low, high = min(low, window[0]), max(high, window[1])
            row = OutcomeRow(
                item.facts.alert_id, horizon, item.facts.user_id, item.facts.coin, then, price,
                ts, measure(Direction.NEUTRAL, then, price).move_pct,
                round((low / then - 1) * 100, 9), round((high / then - 1) * 100, 9), source, now)
        written = self.store.record(row)
        item.horizons.remove(horizon)
        if not item.horizons or not written and not self._alert_exists(item):
            self._drop(item.facts.alert_id)
        if written:
            if point is None:
                self.stats.missed += 1
            elif source == SOURCE_POLL:
                self.stats.from_polls += 1
            else:
                self.stats.from_requests += 1
        return written

    def _alert_exists(self, item: _Pending) -> bool:
        return self.repo.outbox_item(item.facts.user_id, item.facts.alert_id) is not None

    def _settle_from_points(self, now: float, coins: set[str] | None) -> int:
        written = 0
        for item in self._due_items(now):
            if coins is not None and item.facts.coin not in coins:
                continue
            points = self._points(item.facts.coin)
            latest = points[-1][0] if points else None
            for horizon in [h for h in item.horizons if item.target(h) <= now]:
                target, tol = item.target(horizon), tolerance_for(horizon)
                point = nearest_price(points, target, tol)
                # Final once a nearer price can no longer come: one kept after the target is
                # nearer than any later one, and past the tolerance nothing else counts.
                if point is not None and (latest >= target or now >= target + tol):
                    written += self._settle(item, horizon, point, SOURCE_POLL, now)
        return written

    # --- price requests -------------------------------------------------------------------

    def _request_what_polls_will_not_bring(self, now: float) -> None:
        groups: dict[tuple[int, str], list[_Pending]] = {}
        for item in self._due_items(now):
            if item.retry_at <= now:
                groups.setdefault((item.facts.user_id, item.facts.coin), []).append(item)
        for (user_id, coin), items in groups.items():
            if (user_id, coin) in self._requests:
                continue
            user = self.repo.get_user(user_id)
            if user is None:
                for item in items:
                    self._drop(item.facts.alert_id)
                continue
            due = [(item, h) for item in items for h in item.horizons if item.target(h) <= now]
            if not due:
                continue
            if all(self._poll_will_bring(user, item.target(h), tolerance_for(h), now)
                   for item, h in due):
                continue
            key = self._usable_key(user)
            if key is None:
                # No key to ask with (rejected, unreadable): what polls did not reach is lost.
                self._miss(due, now, lambda h: tolerance_for(h))
                continue
            coins = self.repo.coins(user_id)
            budget = budget_for(user, len(coins), self.default_interval)
            if self.headroom.spare(key, user, coins, budget) < 1:
                # Polling needs the key's room now; try again at the next tick, for a while.
                self._miss(due, now, lambda h: max(tolerance_for(h), STALE_SECONDS))
                continue
            task = asyncio.create_task(self._request(user_id, coin, key, budget, due),
                                       name=f"outcome-price-{user_id}-{coin}")
            self._requests[(user_id, coin)] = task
            task.add_done_callback(lambda _, k=(user_id, coin): self._requests.pop(k, None))

    def _poll_will_bring(self, user: User, target: float, tol: float, now: float) -> bool:
        """Whether this user's own next poll comes in time to stand in for the price."""
        if now >= target + tol / 2:
            return False
        polled = user.active and user.key_state == "valid" and not user.is_paused(now)
        return bool(polled and user.next_poll_at is not None
                    and user.next_poll_at <= target + tol / 2)

    def _usable_key(self, user: User) -> str | None:
        if user.key_state != "valid":
            return None
        try:
            return self.repo.api_key(user.id)
        except KeyUnreadable:
            return None

    def _miss(self, due: list[tuple[_Pending, int]], now: float,
              wait: Callable[[int], float]) -> None:
        """Record as missed the horizons that have waited ``wait(horizon)`` for a price."""
        for item, horizon in due:
            if now >= item.target(horizon) + wait(horizon):
                self._settle(item, horizon, None, SOURCE_MISSED, now)

    async def _request(self, user_id: int, coin: str, api_key: str, budget: Budget,
                       due: list[tuple[_Pending, int]]) -> None:
        """One price-history request covering every due horizon of this user's coin."""
        interval = PLAN_INFO[budget.plan].min_interval
        step = INTERVAL_MINUTES[interval] * 60.0
        start = min(item.target(h) - tolerance_for(h) for item, h in due)
        now = self.clock()
        limit = max(2, min(MAX_CANDLES, math.ceil((now - start) / step) + 2))
        self.stats.requests += 1
        try:
            candles = await self.client.price_history(
                api_key, pair_of(coin), interval, limit, exchange=PRICE_EXCHANGE,
                per_minute=budget.per_minute)
        except (AuthError, CoinGlassError) as exc:
            self.stats.request_errors += 1
            log.info("outcomes: price request for %s failed: %s", coin, type(exc).__name__)
            failed_at = self.clock()
            for item, horizon in due:
                item.failures += 1
                if item.failures >= MAX_REQUEST_FAILURES or isinstance(exc, AuthError):
                    self._settle(item, horizon, None, SOURCE_MISSED, failed_at)
                else:       # soon enough to still land inside the tolerance, if it can
                    item.retry_at = failed_at + max(1.0, min(30.0, tolerance_for(horizon) / 4))
            return
        fetched = self.clock()
        kept = list(self._points(coin))                  # what polls brought meanwhile
        # A candle's close is the price at its end; the running candle's is the price now.
        points = sorted((min(c.time.timestamp() + step, fetched), c.close) for c in candles
                        if c.close and c.close > 0)
        for ts, price in points:
            if ts >= fetched - KEEP_POINTS_SECONDS:
                self._keep(coin, ts, price)
        for item, horizon in due:
            if item.facts.alert_id not in self._pending or horizon not in item.horizons:
                continue                                 # a poll settled it meanwhile
            target, tol = item.target(horizon), tolerance_for(horizon)
            point = nearest_price(points, target, tol)
            polled = nearest_price(kept, target, tol)
            if polled is not None and (point is None or
                                       abs(polled[0] - target) < abs(point[0] - target)):
                self._settle(item, horizon, polled, SOURCE_POLL, fetched)
            elif point is not None:
                self._settle(item, horizon, point, SOURCE_REQUEST, fetched)
            elif fetched >= target + tol:
                self._settle(item, horizon, None, SOURCE_MISSED, fetched)
            else:
                item.retry_at = fetched + max(0.5, tol / 4)
