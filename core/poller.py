"""Polling: evaluate each due subscriber with their own key, and queue what should be said.

:class:`Poller` runs one user's poll: snapshots of their coins from the endpoints their plan
allows, the signal engine with their thresholds, the alert decision, and one transaction
that stores the new alert state together with the outbox rows (so a crash can neither lose a
decided alert nor repeat one). :class:`PollScheduler` is driven by the bot's JobQueue: each
tick it starts the due users' polls as independent tasks, bounded in number, each with its
own deadline, so a slow or failing key never holds up the others.

Nothing here talks to Telegram; notices and alerts go to the outbox as data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable

from core.alerts import decide
from core.coinglass.errors import NoActivePlan
from core.market import SECTION_TITLES
from core.plans import HISTORY_ENDPOINTS, PLAN_INFO, Plan, min_plan_for, plan_for_limit
from core.signals.catalog import SIGNAL_INFO
from core.signals.engine import evaluate
from core.snapshot import SECTION_PATH, SnapshotBuilder, required_interval
from core.storage.crypto import KeyUnreadable
from core.storage.repo import PollWrite, Repository, User
from core.summary import summarize
from core.thresholds import ThresholdSet

log = logging.getLogger(__name__)

# One-time notices (the outbox "notice" kind); the bot renders each.
NOTICE_KEY_REJECTED = "key_rejected"
NOTICE_PLAN_LAPSED = "plan_lapsed"
NOTICE_KEY_UNREADABLE = "key_unreadable"
NOTICE_ENDPOINTS_REFUSED = "endpoints_refused"
NOTICE_PLAN_CHANGED = "plan_changed"


@dataclass
class PollOutcome:
    user_id: int
    alerts: int = 0               # alert messages queued
    queued: int = 0               # outbox rows queued (alerts and notices)
    requests: int = 0
    error: str | None = None
    key_rejected: bool = False


def effective_interval(user: User, default_seconds: int, coins: int) -> int:
    """The user's interval, raised when their plan's budget cannot cover their coins."""
    plan = user.effective_plan or Plan.HOBBYIST
    per_minute = user.plan_limit or PLAN_INFO[plan].per_minute
    return max(user.interval_seconds or default_seconds, required_interval(plan, per_minute, coins))


class Poller:
    def __init__(self, repo: Repository, builder: SnapshotBuilder, *,
                 default_interval: int, clock: Callable[[], float] = time.time):
        self.repo = repo
        self.builder = builder
        self.default_interval = default_interval
        self.clock = clock

    async def poll_user(self, user: User) -> PollOutcome:
        """One poll of one user; never raises for CoinGlass or key problems."""
        outcome = PollOutcome(user.id)
        now = self.clock()
        coins = self.repo.coins(user.id)
        interval = effective_interval(user, self.default_interval, len(coins))
        # Keep the user's phase in the interval; after a late poll, start a new phase from now.
        next_at = (user.next_poll_at or now) + interval
        if next_at <= now:
            next_at = now + interval
        write = PollWrite(user_changes={"last_poll_at": now, "next_poll_at": next_at})
        try:
            api_key = self.repo.api_key(user.id)
        except KeyUnreadable:
            self._key_failed(user, write, NOTICE_KEY_UNREADABLE,
                             "stored key unreadable (the secret key changed)", outcome)
            self.repo.commit_poll(user.id, write)
            return outcome
        if not api_key or not coins:
            self.repo.commit_poll(user.id, write)
            return outcome

        plan = user.effective_plan or Plan.HOBBYIST
        batch = await self.builder.build(
            api_key, plan, coins, disabled=user.disabled_endpoints,
            per_minute=user.plan_limit or PLAN_INFO[plan].per_minute,
        )
        outcome.requests = batch.requests
        self.repo.count("polls")
        self.repo.count("coinglass_requests", batch.requests)

        # "Upgrade plan" from a snapshot endpoint that every plan has means no plan at all
        # (history endpoints can refuse an interval on a plan that is otherwise fine).
        lapsed = any(min_plan_for(path) == Plan.HOBBYIST and path not in HISTORY_ENDPOINTS
                     for path in batch.refused)
        if batch.auth_error is not None or lapsed:
            if lapsed or isinstance(batch.auth_error, NoActivePlan):
                notice, reason = NOTICE_PLAN_LAPSED, "the CoinGlass subscription is not active"
            else:
                notice, reason = NOTICE_KEY_REJECTED, str(batch.auth_error)
            self._key_failed(user, write, notice, reason, outcome)
            self.repo.commit_poll(user.id, write)
            return outcome

        self._note_plan_change(user, api_key, batch.answered, write)
        self._note_refusals(user, batch.refused, write)
        if batch.errors:
            outcome.error = batch.errors[0]
            self.repo.count("poll_errors")
            if batch.all_failed:
                error = f"CoinGlass unreachable ({batch.errors[0]})"
            else:
                error = f"CoinGlass failed {len(batch.errors)} request(s): {batch.errors[0]}"
            write.user_changes.update(last_error=error, last_error_at=now)
        elif batch.rate_limited:
            write.user_changes.update(last_error="CoinGlass rate limit: backing off",
                                      last_error_at=now)

        self._decide(user.id, batch.snapshots, write, now)
        outcome.alerts = sum(1 for row in write.alerts if row["kind"] == "alert")
        outcome.queued = len(write.alerts)
        self.repo.commit_poll(user.id, write)
        if outcome.alerts:
            self.repo.count("alerts_decided", outcome.alerts)
        return outcome

    def _decide(self, user_id: int, snapshots: dict, write: PollWrite, now: float) -> None:
        """Evaluate each coin with the user's thresholds; queue an alert where one is due."""
        user_wide, per_coin = self.repo.thresholds(user_id)
        enabled = set(SIGNAL_INFO) - self.repo.disabled_signals(user_id)
        previous = self.repo.alert_states(user_id)
        for coin, snapshot in snapshots.items():
            if not snapshot.present():
                continue          # nothing known: keep the state as it was, decide nothing
            thresholds = ThresholdSet.resolve(user_wide, per_coin.get(coin))
            evaluation = evaluate(snapshot, thresholds, enabled=enabled)
            decision = decide(
                evaluation.signals,
                {sid: st for (c, sid), st in previous.items() if c == coin},
                min_level=thresholds.min_level,
                cooldown_seconds=lambda level, t=thresholds: t.cooldown_minutes(level) * 60.0,
                now=now,
            )
            # Signals that could not be evaluated (data missing) keep their state, so an
            # outage does not make a still-active signal look new when the data returns.
            keep = [s.id for s in evaluation.signals] + list(evaluation.unevaluated)
            write.cleared.append((coin, keep))
            write.states.extend((coin, sid, state) for sid, state in decision.states.items())
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

    def _key_failed(self, user: User, write: PollWrite, notice: str, reason: str,
                    outcome: PollOutcome) -> None:
        """Stop polling this user until /setkey; tell them once."""
        outcome.key_rejected = True
        outcome.error = reason
        now = self.clock()
        write.user_changes.update(key_state="rejected", key_state_at=now,
                                  last_error=reason, last_error_at=now)
        if notice not in user.notices:
            write.user_changes["notices"] = user.notices | {notice}
            write.alerts.append({"kind": "notice", "payload": {"notice": notice}})
            outcome.queued += 1
        self.repo.count("keys_rejected")

    def _note_plan_change(self, user: User, api_key: str, answered: int,
                          write: PollWrite) -> None:
        """CoinGlass's API-KEY-MAX-LIMIT moved: the user changed plan. Follow it (unless they
        set one with /plan) and say so; a bigger plan may answer what was refused before."""
        limiter = self.builder.client.limiters.peek(api_key)
        if not answered or limiter is None or not user.plan_limit:
            return
        limit = limiter.per_minute
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
        write.user_changes["disabled_endpoints"] = user.disabled_endpoints | set(new)
        sections = sorted({SECTION_TITLES[s] for s, path in SECTION_PATH.items() if path in new})
        write.alerts.append({"kind": "notice", "payload": {
            "notice": NOTICE_ENDPOINTS_REFUSED, "sections": sections,
            "plans": sorted({min_plan_for(p).title for p in new}),
        }})


class PollScheduler:
    """Starts due polls; called every second or so by the JobQueue."""

    def __init__(self, repo: Repository, poller: Poller, *, max_concurrent: int = 200,
                 poll_timeout: Callable[[int], float] | None = None,
                 clock: Callable[[], float] = time.time):
        self.repo = repo
        self.poller = poller
        self.clock = clock
        self._slots = asyncio.Semaphore(max_concurrent)
        self._running: dict[int, asyncio.Task] = {}
        self._timeout = poll_timeout or (lambda interval: max(30.0, float(interval)))
        self.on_done: Callable[[PollOutcome], None] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def stagger(self) -> None:
        """Spread overdue users over their interval (after downtime), instead of all at once."""
        now = self.clock()
        with self.repo.db.atomic():
            for user in self.repo.due_users(now, limit=100_000):
                if user.next_poll_at is None:
                    continue      # never polled: due now
                interval = user.interval_seconds or self.poller.default_interval
                offset = (user.id * 2654435761 % 2**32) / 2**32 * interval
                self.repo.update_user(user.id, next_poll_at=now + offset)

    def tick(self) -> int:
        """Start the polls that are due and not already running; returns how many started."""
        started = 0
        for user in self.repo.due_users(self.clock()):
            if user.id in self._running:
                continue
            task = asyncio.create_task(self._run(user), name=f"poll-{user.id}")
            self._running[user.id] = task
            started += 1
        return started

    async def _run(self, user: User) -> PollOutcome | None:
        try:
            async with self._slots:
                interval = user.interval_seconds or self.poller.default_interval
                try:
                    async with asyncio.timeout(self._timeout(interval)):
                        outcome = await self.poller.poll_user(user)
                except TimeoutError:
                    log.warning("poll of user %s exceeded its deadline", user.id)
                    self.repo.update_user(user.id, next_poll_at=self.clock() + interval,
                                          last_error="poll took too long (CoinGlass slow)",
                                          last_error_at=self.clock())
                    return None
            if self.on_done:
                self.on_done(outcome)
            return outcome
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug must not stop everyone's polling: log it, retry this user later.
            log.exception("poll of user %s failed", user.id)
            self.repo.update_user(user.id, next_poll_at=self.clock() + 60.0,
                                  last_error="internal error during poll",
                                  last_error_at=self.clock())
            return None
        finally:
            self._running.pop(user.id, None)

    async def run_all_due(self) -> list[PollOutcome | None]:
        """Start and await every due poll (benchmarks and tests)."""
        self.tick()
        return await asyncio.gather(*list(self._running.values()))

    async def shutdown(self, grace: float = 3.0) -> None:
        """Let running polls finish within ``grace`` seconds, then cancel the rest."""
        tasks = list(self._running.values())
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
