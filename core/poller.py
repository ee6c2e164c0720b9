"""Polling: evaluate each due subscriber with their own key, and queue what should be said.

:class:`Poller` runs one user's poll. It reads what it needs once, into a
:class:`PollContext` (the user row with its version, coins, key, preferences and alert
states), does its work, and commits with a compare-and-set on that version: a user who
changed their key, coins, pause or plan meanwhile keeps their change, and the poll's result is
dropped (the user is polled again at once). A poll for a forgotten user ends quietly.

:class:`PollScheduler` is driven by the bot's JobQueue: each tick it starts the due users'
polls whose key has room for what the poll must fetch, as independent tasks, bounded in
number; a user whose key is still busy waits in the database until it has room, so no poll is
cut off for waiting on the limiter.

Nothing here talks to Telegram; notices and alerts go to the outbox as data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from core.alerts import AlertState
from core.budget import Budget, budget_for
from core.coinglass.errors import NoActivePlan
from core.evaluation import Calm, Prefs, calm_step, decide_coin
from core.hours import apply_quiet
from core.guard_alerts import Guarded, decide_guard
from core.market import SECTION_TITLES
from core.plans import HISTORY_ENDPOINTS, Plan, min_plan_for, plan_for_limit
from core.rule_alerts import Rule, decide_rules
from core.signals.model import Level
from core.snapshot import SnapshotBatch, SnapshotBuilder, sections_of_path
from core.storage.crypto import KeyUnreadable
from core.storage.repo import PollWrite, Repository
from core.summary import summarize
from core.users import User

log = logging.getLogger(__name__)

# One-time notices (the outbox "notice" kind); the bot renders each.
NOTICE_KEY_REJECTED = "key_rejected"
NOTICE_PLAN_LAPSED = "plan_lapsed"
NOTICE_KEY_UNREADABLE = "key_unreadable"
NOTICE_ENDPOINTS_REFUSED = "endpoints_refused"
NOTICE_PLAN_CHANGED = "plan_changed"
NOTICE_ALL_CLEAR = "all_clear"

RETRY_AFTER_BUG_SECONDS = 60.0
YIELD_EVERY = 8                  # due users a tick reads before letting other work run


@dataclass
class PollOutcome:
    user_id: int
    alerts: int = 0               # alert messages queued
    queued: int = 0               # outbox rows queued (alerts and notices)
    requests: int = 0
    error: str | None = None
    key_rejected: bool = False
    applied: bool = True          # False: the user changed meanwhile, the result was dropped


@dataclass(frozen=True)
class PollContext:
    """Everything one poll reads, read once when it starts."""

    user: User
    coins: tuple[str, ...]
    api_key: str | None
    key_unreadable: bool
    budget: Budget
    prefs: Prefs
    states: Mapping[tuple[str, str], AlertState]
    mutes: Mapping[str, float] = field(default_factory=dict)      # coin -> muted until
    calm: Mapping[str, Calm] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()                                  # the user's own (/alert)
    # Coins polled only for a rule or a position (not subscribed): no signals there.
    rule_only: frozenset[str] = frozenset()
    positions: Mapping[str, Guarded] = field(default_factory=dict)   # coin -> /position


class Poller:
    # Handed every poll's snapshots (coin -> MarketSnapshot) once built; must not raise.
    on_snapshots: Callable[[Mapping], None] | None = None

    def __init__(self, repo: Repository, builder: SnapshotBuilder, *,
                 default_interval: int | None, clock: Callable[[], float] = time.time):
        self.repo = repo
        self.builder = builder
        self.default_interval = default_interval     # POLL_INTERVAL_SECONDS (None: auto)
        self.clock = clock
        # Between fetching and deciding: the live stream anchors on the polled liquidations
        # and may hand back what it has seen since (core/stream/manager.py: merge_polled).
        self.on_built: Callable[[str, SnapshotBatch], SnapshotBatch] | None = None

    def budget(self, user: User, coins: int) -> Budget:
        return budget_for(user, coins, self.default_interval)

    def context(self, user_id: int) -> PollContext | None:
        """Read the user's state for a poll; None if they are gone."""
        user = self.repo.get_user(user_id)
        if user is None:
            return None
        rules = tuple(self.repo.rules(user_id))
        coins = tuple(self.repo.polled_coins(user_id, rules))
        try:
            api_key, unreadable = self.repo.api_key(user_id), False
        except KeyUnreadable:
            api_key, unreadable = None, True
        calm = {coin: Calm(r["last_high_at"], r["last_active_at"], bool(r["calm_notified"]))
                for coin, r in self.repo.coin_states(user_id).items()}
        return PollContext(user, coins, api_key, unreadable, self.budget(user, len(coins)),
                           self.repo.prefs(user_id), self.repo.alert_states(user_id),
                           self.repo.mutes(user_id), calm, rules,
                           frozenset(coins) - set(self.repo.coins(user_id)),
                           self.repo.positions(user_id))

    def pacing_wait(self, ctx: PollContext) -> float:
        """Seconds until the key's window has room for what this poll must fetch."""
        if not ctx.api_key or not ctx.coins:
            return 0.0
        limiter = self.builder.client.limiters.peek(ctx.api_key)
        if limiter is None:
            return 0.0
        needed = self.builder.planned_requests(ctx.api_key, ctx.budget, list(ctx.coins))
        return limiter.ready_in(needed)

    async def poll_user(self, user: User | int) -> PollOutcome:
        """One poll of one user; never raises for CoinGlass or key problems."""
        user_id = user if isinstance(user, int) else user.id
        ctx = self.context(user_id)
        if ctx is None:
            return PollOutcome(user_id, applied=False)
        return await self.poll(ctx)

    async def poll(self, ctx: PollContext) -> PollOutcome:
        user = ctx.user
        outcome = PollOutcome(user.id)
        now = self.clock()
        interval = ctx.budget.interval
        # Keep the user's phase in the interval; after a late poll, start a new phase from now.
        next_at = (user.next_poll_at or now) + interval
        if next_at <= now:
            next_at = now + interval
        write = PollWrite(user_changes={"last_poll_at": now, "next_poll_at": next_at})
        if ctx.key_unreadable:
            self._key_failed(user, write, NOTICE_KEY_UNREADABLE,
                             "stored key unreadable (the secret key changed)", outcome)
            return self._commit(ctx, write, outcome)
        if not ctx.api_key or not ctx.coins:
            return self._commit(ctx, write, outcome)

        batch = await self.builder.build(ctx.api_key, ctx.budget, list(ctx.coins))
        if self.on_built is not None:
            batch = self.on_built(ctx.api_key, batch)
        outcome.requests = batch.requests
        write.counters.update(polls=1, coinglass_requests=batch.requests)
        if self.on_snapshots is not None:
            self.on_snapshots(batch.snapshots)      # outcome prices from a poll made anyway

        # "Upgrade plan" from a snapshot endpoint that every plan has means no plan at all
        # (history endpoints can refuse an interval on a plan that is otherwise fine).
        lapsed = any(min_plan_for(path) == Plan.HOBBYIST and path not in HISTORY_ENDPOINTS
                     for path in batch.refused)
        if not lapsed and batch.auth_error is None and self._refused_within_plan(user, batch):
            # The detected plan should answer these: ask CoinGlass what the key has now
            # (one request) rather than drop the endpoints or wait for a cheaper one to fail.
            lapsed = await self._recheck_plan(ctx, batch, write)
        if batch.auth_error is not None or lapsed:
            if lapsed or isinstance(batch.auth_error, NoActivePlan):
                notice, reason = NOTICE_PLAN_LAPSED, "the CoinGlass subscription is not active"
            else:
                notice, reason = NOTICE_KEY_REJECTED, str(batch.auth_error)
            self._key_failed(user, write, notice, reason, outcome)
            return self._commit(ctx, write, outcome)

        if "plan" not in write.user_changes:
            self._note_plan_change(user, ctx.api_key, batch.answered, write)
        self._note_refusals(user, batch.refused, write)
        self._note_errors(batch, write, outcome, now)
        self._decide(ctx, batch, write, now)
        outcome.alerts = sum(1 for row in write.alerts if row["kind"] == "alert")
        outcome.queued = len(write.alerts)
        if outcome.alerts:
            write.counters["alerts_decided"] = outcome.alerts
        return self._commit(ctx, write, outcome)

    def _commit(self, ctx: PollContext, write: PollWrite, outcome: PollOutcome) -> PollOutcome:
        apply_quiet(ctx.user, write.alerts, self.clock())     # quiet hours: hold or silence
        outcome.applied = self.repo.commit_poll(ctx.user.id, write, ctx.user.version)
        if not outcome.applied:
            outcome.alerts = outcome.queued = 0
            log.info("poll of user %s dropped: the user changed meanwhile", ctx.user.id)
        return outcome

    @staticmethod
    def _note_errors(batch: SnapshotBatch, write: PollWrite, outcome: PollOutcome,
                     now: float) -> None:
        if batch.errors:
            outcome.error = batch.errors[0]
            write.counters["poll_errors"] = 1
            if batch.all_failed:
                error = f"CoinGlass unreachable ({batch.errors[0]})"
            else:
                error = f"CoinGlass failed {len(batch.errors)} request(s): {batch.errors[0]}"
            write.user_changes.update(last_error=error, last_error_at=now)
        elif batch.rate_limited:
            write.user_changes.update(last_error="CoinGlass rate limit: backing off",
                                      last_error_at=now)

    def _decide(self, ctx: PollContext, batch: SnapshotBatch, write: PollWrite,
                now: float) -> None:
        """Evaluate each coin with the user's thresholds; queue an alert where one is due."""
        evaluations = {}
        for coin, snapshot in batch.snapshots.items():
            if not snapshot.present() or coin in ctx.rule_only:
                continue          # nothing known (keep the state as it was), or no signals
            previous = {sid: st for (c, sid), st in ctx.states.items() if c == coin}
            muted = ctx.mutes.get(coin, 0.0) > now
            result = decide_coin(snapshot, ctx.prefs, previous, now, muted=muted)
            decision, evaluation = result.decision, result.evaluation
            evaluations[coin] = evaluation
            write.cleared.append((coin, list(result.keep_active)))
            write.states.extend((coin, sid, state) for sid, state in decision.states.items())
            self._note_calm(ctx, coin, result, write, now)
            if decision.alert:
                write.alerts.append({
                    "kind": "alert", "coin": coin, "level": int(decision.level),
                    "data_time": snapshot.data_time.timestamp(),
                    "payload": {
                        "signals": [s.to_dict() for s in decision.signals],
                        "triggers": dict(decision.triggers),
                        "regime": evaluation.regime.to_dict() if evaluation.regime else None,
                        "summary": summarize(snapshot),
                        "unevaluated": dict(evaluation.unevaluated),
                    },
                })
        self._decide_rules(ctx, batch, write, now)
        self._guard_positions(ctx, batch, evaluations, write, now)

    @staticmethod
    def _decide_rules(ctx: PollContext, batch: SnapshotBatch, write: PollWrite,
                      now: float) -> None:
        """The user's own rules on the same snapshots (core/rule_alerts.py); a rule's fired
        state commits with its outbox row."""
        if not ctx.rules:
            return
        step = decide_rules(ctx.rules, batch.snapshots, now, mutes=ctx.mutes,
                            cooldown_seconds=lambda coin: ctx.prefs.thresholds(coin)
                            .cooldown_minutes(Level.MEDIUM) * 60.0)
        write.rule_updates.update(step.updates)
        write.alerts.extend(step.alerts)

    @staticmethod
    def _guard_positions(ctx: PollContext, batch: SnapshotBatch, evaluations: Mapping,
                         write: PollWrite, now: float) -> None:
        """The position guard (core/guard_alerts.py) on the same snapshots and evaluations:
        its advice goes through the alert decision and the outbox like a signal, and the
        guard state commits in the poll's transaction, for the position the poll read."""
        for coin, guarded in ctx.positions.items():
            snapshot = batch.snapshots.get(coin)
            if snapshot is None or not snapshot.present():
                continue          # nothing known: the position keeps its state
            previous = {sid: st for (c, sid), st in ctx.states.items() if c == coin}
            step = decide_guard(guarded, snapshot, ctx.prefs.thresholds(coin), previous, now,
                                evaluation=evaluations.get(coin),
                                muted=ctx.mutes.get(coin, 0.0) > now)
            write.guards[coin] = (guarded.position.opened_at.timestamp(), step.state)
            write.states.extend((coin, sid, st) for sid, st in step.alert_states.items())
            # The signals' clear-out of this coin must spare the advice that still holds.
            kept = next((ids for c, ids in write.cleared if c == coin), None)
            if kept is None:
                write.cleared.append((coin, list(step.keep)))
            else:
                kept.extend(step.keep)
            if step.alert is not None:
                write.alerts.append(step.alert)

    @staticmethod
    def _note_calm(ctx: PollContext, coin: str, result, write: PollWrite, now: float) -> None:
        """Track when the coin last alerted HIGH and last fired; one "all clear" when a HIGH
        coin has been quiet for a HIGH cooldown (a setting, on by default)."""
        thresholds = ctx.prefs.thresholds(coin)
        active = any(s.level >= thresholds.min_level for s in result.evaluation.signals)
        alerted_high = result.decision.alert and result.decision.level == Level.HIGH
        quiet_for = thresholds.cooldown_minutes(Level.HIGH) * 60.0
        calm, due = calm_step(ctx.calm.get(coin), alerted_high=alerted_high, active=active,
                              now=now, quiet_for=quiet_for)
        if calm != ctx.calm.get(coin):
            write.coin_states[coin] = {"last_high_at": calm.last_high_at,
                                       "last_active_at": calm.last_active_at,
                                       "calm_notified": calm.notified}
        if due and ctx.user.all_clear and ctx.mutes.get(coin, 0.0) <= now:
            write.alerts.append({"kind": "notice", "coin": coin, "payload": {
                "notice": NOTICE_ALL_CLEAR, "coin": coin, "last_high_at": calm.last_high_at,
                "quiet_minutes": quiet_for / 60.0}})

    def _key_failed(self, user: User, write: PollWrite, notice: str, reason: str,
                    outcome: PollOutcome) -> None:
        """Stop polling this user until /setkey; tell them once."""
        outcome.key_rejected = True
        outcome.error = reason
        now = self.clock()
        write.user_changes.update(key_state="rejected", key_state_at=now,
                                  last_error=reason, last_error_at=now)
        if notice not in user.notices:
            write.notices_added.add(notice)
            write.alerts.append({"kind": "notice", "payload": {"notice": notice}})
            outcome.queued += 1
        write.counters["keys_rejected"] = 1

    @staticmethod
    def _refused_within_plan(user: User, batch: SnapshotBatch) -> bool:
        """"Upgrade plan" from an endpoint the detected plan includes (not one the user only
        claimed with /plan): the subscription lapsed or shrank."""
        return (user.plan_override is None and user.plan is not None
                and any(min_plan_for(path) <= user.plan and path not in HISTORY_ENDPOINTS
                        for path in batch.refused))

    async def _recheck_plan(self, ctx: PollContext, batch: SnapshotBatch,
                            write: PollWrite) -> bool:
        """Detect the key's plan again; returns True when the subscription is gone. A smaller
        plan is followed (and said once); its refusals are then not the user's to drop."""
        from core.coinglass.detect import detect_plan
        from core.coinglass.errors import AuthError, CoinGlassError
        try:
            detection = await detect_plan(self.builder.client, ctx.api_key)
        except NoActivePlan:
            return True
        except AuthError as exc:
            batch.auth_error = exc
            return False
        except CoinGlassError:
            return False                 # cannot tell now: the next poll asks again
        user = ctx.user
        if detection.plan < user.plan:
            write.user_changes.update(plan=detection.plan, plan_limit=detection.per_minute)
            write.alerts.append({"kind": "notice", "payload": {
                "notice": NOTICE_PLAN_CHANGED, "plan": detection.plan.title,
                "per_minute": detection.per_minute, "overridden": False}})
            batch.refused.clear()
        return False

    def _note_plan_change(self, user: User, api_key: str, answered: int,
                          write: PollWrite) -> None:
        """CoinGlass's API-KEY-MAX-LIMIT moved: the user changed plan. Follow it (unless they
        set one with /plan) and say so; a bigger plan may answer what was refused before. The
        header counts even on a 429: a smaller plan shows first as "too many requests"."""
        limiter = self.builder.client.limiters.peek(api_key)
        if limiter is None or not user.plan_limit or not limiter.header_limit:
            return
        limit = limiter.header_limit
        if limit == user.plan_limit:
            return
        plan = plan_for_limit(limit)
        write.user_changes.update(plan=plan, plan_limit=limit)
        if user.plan is not None and plan > user.plan:
            write.user_changes["disabled_endpoints"] = set()
        write.alerts.append({"kind": "notice", "payload": {
            "notice": NOTICE_PLAN_CHANGED, "plan": plan.title, "per_minute": limit,
            "overridden": user.plan_override is not None}})

    def _note_refusals(self, user: User, refused: set[str], write: PollWrite) -> None:
        """Drop refused endpoints from the user's set and tell them once which data stops."""
        new = sorted(set(refused) - user.disabled_endpoints)
        if not new:
            return
        write.disabled_added |= set(new)
        sections = sorted({SECTION_TITLES[s] for path in new for s in sections_of_path(path)})
        write.alerts.append({"kind": "notice", "payload": {
            "notice": NOTICE_ENDPOINTS_REFUSED, "sections": sections,
            "plans": sorted({min_plan_for(p).title for p in new}),
        }})


class PollScheduler:
    """Starts due polls; called every half second or so by the JobQueue."""

    def __init__(self, repo: Repository, poller: Poller, *, max_concurrent: int = 200,
                 clock: Callable[[], float] = time.time, batch: int = 500,
                 deadline: Callable[[PollContext], float] | None = None):
        self.repo = repo
        self.poller = poller
        self.clock = clock
        self.batch = batch
        self._deadline = deadline or (lambda ctx: ctx.budget.poll_deadline())
        self._slots = asyncio.Semaphore(max_concurrent)
        self._running: dict[int, asyncio.Task] = {}
        self._started: list[asyncio.Task] | None = None      # collected by run_all_due
        self.on_done: Callable[[PollOutcome], None] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def running(self, user_id: int) -> asyncio.Task | None:
        """The user's poll in flight (its context read, its commit not yet made), if any."""
        return self._running.get(user_id)

    def stagger(self) -> None:
        """Spread overdue users over their interval (after downtime), instead of all at once."""
        now = self.clock()
        moves = []
        for user in self.repo.due_users(now, limit=1_000_000):
            if user.next_poll_at is None:
                continue      # never polled: due now
            interval = self.poller.budget(user, len(self.repo.polled_coins(user.id))).interval
            offset = (user.id * 2654435761 % 2**32) / 2**32 * interval
            moves.append((user.id, now + offset))
        self.repo.defer(moves)

    async def tick(self) -> int:
        """Start the due polls whose key has room; returns how many started. Yields to the
        event loop every few users, so a tick with many due users never stalls it."""
        now = self.clock()
        started = 0
        later: list[tuple[int, float]] = []
        for index, user in enumerate(self.repo.due_users(now, limit=self.batch)):
            if index and index % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if user.id in self._running:
                continue
            ctx = self.poller.context(user.id)
            if ctx is None:
                continue
            wait = self.poller.pacing_wait(ctx)
            if wait > 0.05:
                later.append((user.id, now + wait))
                continue
            task = asyncio.create_task(self._run(ctx), name=f"poll-{user.id}")
            self._running[user.id] = task
            if self._started is not None:
                self._started.append(task)
            started += 1
        if later:
            self.repo.defer(later)
        return started

    async def _run(self, ctx: PollContext) -> PollOutcome | None:
        user_id = ctx.user.id
        try:
            async with self._slots:
                try:
                    async with asyncio.timeout(self._deadline(ctx)):
                        outcome = await self.poller.poll(ctx)
                except TimeoutError:
                    # Only a CoinGlass that hangs past every request timeout gets here.
                    log.warning("poll of user %s exceeded its deadline", user_id)
                    self.repo.commit_poll(user_id, PollWrite(user_changes={
                        "next_poll_at": self.clock() + ctx.budget.interval,
                        "last_error": "poll took too long (CoinGlass slow)",
                        "last_error_at": self.clock()}), ctx.user.version)
                    return None
            if self.on_done:
                self.on_done(outcome)
            return outcome
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug must not stop everyone's polling: log it, retry this user later.
            log.exception("poll of user %s failed", user_id)
            self.repo.commit_poll(user_id, PollWrite(user_changes={
                "next_poll_at": self.clock() + RETRY_AFTER_BUG_SECONDS,
                "last_error": "internal error during poll", "last_error_at": self.clock()}))
            return None
        finally:
            self._running.pop(user_id, None)

    async def run_all_due(self) -> list[PollOutcome | None]:
        """Start and await every due poll (benchmarks and tests)."""
        self._started = []
        await self.tick()
        started, self._started = self._started, None
        return await asyncio.gather(*started)

    async def shutdown(self, grace: float = 3.0) -> None:
        """Let running polls finish within ``grace`` seconds, then cancel the rest."""
        tasks = list(self._running.values())
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
