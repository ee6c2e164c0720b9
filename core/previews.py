"""Threshold preview (SPEC §14): how many alerts a change would have given over the last 7 days.

:meth:`PreviewService.prepare` reads the user once (coins, key, plan, enabled signals) and says
what the preview needs: the signals the changed thresholds tune (``core.replay.replay_support``),
the history series those signals read (``core.replay_history``), how many requests are not
cached yet, and whether the key can spare them now beside its polling (``core.headroom``).
:meth:`PreviewService.run` spends those requests only as the key can spare them (waiting, up to
``MAX_WAIT_SECONDS``, while polling needs the room), then replays every coin with the old and
the new thresholds through the same signal engine and alert decision as live polling. The
replay itself is CPU work and runs in a thread so the event loop keeps answering.

At most ``MAX_REQUESTS_PER_COIN`` (6) requests per coin: a change that tunes every signal
(``min_level``, a cooldown, a preset) would read all seven series, so the least needed signal
whose series is not cached yet (smart-money divergence first) is left out and named.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from core.budget import budget_for
from core.coinglass.errors import AuthError, CoinGlassError, PlanTooLow
from core.evaluation import Prefs
from core.headroom import Headroom
from core.plans import Plan
from core.replay import (
    FOUR_HOUR_NOTE, Preview, count_alerts, replay_support, resolution_for,
)
from core.replay_history import (
    MAX_REQUESTS_PER_COIN, HistoryLoader, SeriesData, assemble, series_for,
)
from core.storage.crypto import KeyUnreadable
from core.storage.repo import Repository

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 180.0          # how long a preview waits for the key's room before giving up
WAIT_STEP_SECONDS = 0.5
# Left out first when a preview would need more than the cap: its series serves it alone.
DROP_ORDER = ("smart_money_divergence", "taker_bias", "funding_extreme", "ls_extreme",
              "oi_price_regime", "oi_surge", "liquidation_cascade")

NO_KEY = "it needs your CoinGlass key: /setkey"
KEY_REFUSED = "CoinGlass refused your key: /setkey"
NO_COINS = "subscribe to a coin first (/subscribe ETH) and it will count their alerts"
SIGNALS_OFF = "the signals this threshold tunes are off in your settings"
BUSY = "your key's requests stayed busy with polling; try again in a few minutes"
UNREACHABLE = "CoinGlass did not answer; try again in a minute"
NOT_IN_PLAN = "CoinGlass does not give your plan this history"


@dataclass(frozen=True)
class PreviewAsk:
    """One change to preview: the user's preferences before and after it."""

    user_id: int
    names: tuple[str, ...]               # the thresholds that changed
    old: Prefs
    new: Prefs
    coin: str | None = None              # a per-coin override: only that coin
    preset: str | None = None            # the change is this preset


@dataclass(frozen=True)
class PreviewPlan:
    ask: PreviewAsk
    coins: tuple[str, ...] = ()
    plan: Plan | None = None
    resolution: str | None = None
    signals: tuple[str, ...] = ()        # the signals replayed
    dropped: tuple[str, ...] = ()        # left out to stay within the request cap
    series: tuple[str, ...] = ()
    requests: int = 0                    # not cached yet: what the preview will cost
    short: bool = False                  # the key cannot spare them right now
    reason: str | None = None            # why there is no preview at all
    api_key: str | None = field(default=None, repr=False)
    per_minute: int | None = None


@dataclass(frozen=True)
class PreviewResult:
    plan: PreviewPlan
    preview: Preview | None = None
    error: str | None = None             # why the replay could not run
    requests: int = 0                    # requests this preview made
    failed: tuple[str, ...] = ()         # series CoinGlass did not deliver (counted as gaps)


class PreviewService:
    def __init__(self, repo: Repository, headroom: Headroom, *, default_interval: int | None,
                 loader: HistoryLoader | None = None, clock: Callable[[], float] = time.time):
        self.repo = repo
        self.headroom = headroom
        self.default_interval = default_interval
        self.loader = loader or HistoryLoader(headroom.builder.client, clock=clock)
        self.clock = clock
        self._tasks: set[asyncio.Task] = set()

    # --- what a preview needs ---------------------------------------------------------------

    def prepare(self, ask: PreviewAsk) -> PreviewPlan:
        user = self.repo.get_user(ask.user_id)
        signals, reason = self._signals(ask)
        if reason is not None or user is None:
            return PreviewPlan(ask, reason=reason or NO_KEY)
        if user.key_state == "rejected":
            return PreviewPlan(ask, reason=KEY_REFUSED)
        try:
            api_key = self.repo.api_key(ask.user_id)
        except KeyUnreadable:
            api_key = None
        if not api_key or user.key_state != "valid":
            return PreviewPlan(ask, reason=NO_KEY)
        all_coins = self.repo.coins(ask.user_id)
        coins = (ask.coin,) if ask.coin else tuple(all_coins)
        if not coins:
            return PreviewPlan(ask, reason=NO_COINS)
        budget = budget_for(user, len(all_coins), self.default_interval)
        resolution = resolution_for(budget.plan)
        signals, dropped = self._within_cap(api_key, coins, resolution, signals)
        series = series_for(signals)
        requests = sum(1 for coin in coins for s in series
                       if self.loader.cached(api_key, coin, resolution, s) is None)
        short = requests > 0 and self.headroom.spare(api_key, user, all_coins, budget) < requests
        return PreviewPlan(ask, coins, budget.plan, resolution, signals, dropped, series,
                           requests, short, None, api_key, budget.per_minute)

    @staticmethod
    def _signals(ask: PreviewAsk) -> tuple[tuple[str, ...], str | None]:
        signals: list[str] = []
        reason = None
        for name in ask.names:
            tuned, why = replay_support(name)
            signals += [s for s in tuned if s not in signals]
            reason = reason or why
        if not signals:
            return (), reason or "nothing to replay"
        enabled = ask.new.enabled
        signals = [s for s in signals if s in enabled]
        if not signals:
            return (), SIGNALS_OFF
        return tuple(signals), None

    def _within_cap(self, api_key: str, coins: tuple[str, ...], resolution: str,
                    signals: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Leave out signals until no coin needs more than the cap of new requests."""
        def worst(kept: tuple[str, ...]) -> int:
            series = series_for(kept)
            return max(sum(1 for s in series
                           if self.loader.cached(api_key, coin, resolution, s) is None)
                       for coin in coins)

        kept, dropped = signals, ()
        for candidate in DROP_ORDER:
            if worst(kept) <= MAX_REQUESTS_PER_COIN or len(kept) == 1:
                break
            if candidate in kept:
                kept = tuple(s for s in kept if s != candidate)
                dropped += (candidate,)
        return kept, dropped

    # --- running it --------------------------------------------------------------------------

    def start(self, plan: PreviewPlan) -> asyncio.Task:
        """Run the preview as a task of its own (a handler waits for it briefly, if at all)."""
        task = asyncio.create_task(self.run(plan), name=f"preview-{plan.ask.user_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, plan: PreviewPlan) -> PreviewResult:
        if plan.reason is not None:
            return PreviewResult(plan, error=plan.reason)
        data: dict[str, dict[str, SeriesData | None]] = {c: {} for c in plan.coins}
        needed = []
        for coin in plan.coins:
            for s in plan.series:
                cached = self.loader.cached(plan.api_key, coin, plan.resolution, s)
                if cached is None:
                    needed.append((coin, s))
                data[coin][s] = cached
        made, failed = 0, []
        deadline = self.clock() + MAX_WAIT_SECONDS
        while needed:
            room = self._room(plan)
            if room < 1:
                if self.clock() >= deadline:
                    return PreviewResult(plan, error=BUSY, requests=made)
                await asyncio.sleep(WAIT_STEP_SECONDS)
                continue
            batch, needed = needed[:room], needed[room:]
            results = await asyncio.gather(
                *(self.loader.load(plan.api_key, coin, plan.resolution, s,
                                   per_minute=plan.per_minute) for coin, s in batch),
                return_exceptions=True)
            made += len(batch)
            for (coin, s), result in zip(batch, results):
                if isinstance(result, AuthError):
                    return PreviewResult(plan, error=KEY_REFUSED, requests=made)
                if isinstance(result, PlanTooLow):
                    return PreviewResult(plan, error=NOT_IN_PLAN, requests=made)
                if isinstance(result, CoinGlassError):
                    failed.append(f"{coin} {s}")
                    result = None
                elif isinstance(result, BaseException):
                    raise result                    # a bug: let the caller's handler see it
                data[coin][s] = result
        if plan.series and failed and len(failed) == len(plan.coins) * len(plan.series):
            return PreviewResult(plan, error=UNREACHABLE, requests=made, failed=tuple(failed))
        preview = await asyncio.to_thread(self.replay, plan, data)
        return PreviewResult(plan, preview, requests=made, failed=tuple(failed))

    def _room(self, plan: PreviewPlan) -> int:
        user = self.repo.get_user(plan.ask.user_id)
        if user is None:
            return 0
        coins = self.repo.coins(plan.ask.user_id)
        budget = budget_for(user, len(coins), self.default_interval)
        return self.headroom.spare(plan.api_key, user, coins, budget)

    @staticmethod
    def replay(plan: PreviewPlan, data: Mapping[str, Mapping[str, SeriesData | None]]) -> Preview:
        """Old and new counts on every coin (pure CPU work)."""
        by_coin = {}
        new_total = old_total = gaps = 0
        for coin in plan.coins:
            history = assemble(coin, plan.resolution, data[coin])
            new = count_alerts(history, plan.ask.new.thresholds(coin), plan.signals)
            old = count_alerts(history, plan.ask.old.thresholds(coin), plan.signals)
            by_coin[coin] = (new.alerts, old.alerts)
            new_total += new.alerts
            old_total += old.alerts
            gaps += new.gaps
        note = FOUR_HOUR_NOTE if plan.resolution == "4h" else None
        return Preview(new_total, old_total, plan.coins, plan.resolution, None, by_coin,
                       plan.signals, note, gaps)

