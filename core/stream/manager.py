"""Which keys stream, and what their streams decide: one connection per Standard+ key.

Lifecycle. Every :data:`RECONCILE_SECONDS` the manager reads the users the scheduler polls
(active, a valid key, coins) and keeps those who are not paused and whose plan —
from :func:`core.budget.budget_for`, like everything plan-derived — is Standard or above.
They are grouped by key: each key with at least one such user has one
:class:`~core.stream.client.StreamClient` and one :class:`~core.stream.fold.KeyFold` over the
union of its users' coins. A key whose last such user pauses, forgets, unsubscribes, loses
their key or drops below Standard is closed at the next reconcile. A key CoinGlass refuses
(plan or key) is not retried for :data:`REFUSED_RETRY_SECONDS`, or until one of its users
changes something; polling goes on meanwhile and nobody is told — the stream only ever adds
speed.

Polls and the stream. :meth:`merge_polled` is the poller's hook between fetching and
deciding: it anchors the fold on the polled 1 h figures and hands the poll the fold's view
when the stream has seen more than the REST figure holds, so a poll never reads an older
market than the stream just alerted on (it would clear the cascade's state, and the next
order would alert it again as new).

Deciding. Each folded batch re-evaluates the touched coins for their users, from
thresholds kept in memory (refreshed every :data:`PREFS_TTL_SECONDS`): only a cascade whose
level rises to the user's minimum level or above leads to a decision, which reads the user's
stored state afresh and goes through :func:`core.stream.decide.stream_write` and
``Repository.commit_poll`` (the same compare-and-set as a poll).

Why a stream decision and a poll cannot both alert one crossing. A stream decision reads the
user's state and commits it with no ``await`` in between, so nothing interleaves with it on the
event loop. The only overlap is a poll that read its context before and commits after. So a
decision first waits for the user's poll in flight to commit (at most
:data:`POLL_WAIT_SECONDS`; polls of Standard keys take well under a second) and then reads the
state that poll left — if the poll saw the cascade, the stream finds it active and stays
silent. If the poll is still running after the wait (CoinGlass slow), the decision goes ahead
and, when it wrote anything, bumps the user's version: the late poll's commit is refused by
the compare-and-set and the user is polled again at once, from the new state. Waiting first
keeps the usual case free of discarded polls; the bump bounds the alert's delay.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Callable

import aiohttp

from core.hours import apply_quiet
from core.coinglass.ratelimit import key_fingerprint
from core.evaluation import Prefs, evaluate_coin
from core.market import LiquidationSection, PriceSection
from core.plans import Plan
from core.poller import Poller, PollContext, PollScheduler
from core.signals.model import Level
from core.snapshot import SnapshotBatch
from core.storage.crypto import KeyUnreadable
from core.storage.repo import Repository
from core.stream.client import LinkState, LinkStatus, StreamClient, backoff_delay
from core.stream.decide import cascade_level, stream_snapshot, stream_write
from core.stream.fold import MAX_ANCHOR_AGE, Anchor, KeyFold
from core.stream.frames import FrameCache, Order
from core.stream.status import IDLE, NEEDS_PLAN, OFF, STARTING, StreamStatus
from core.thresholds import ThresholdSet
from core.users import User

log = logging.getLogger(__name__)

STREAM_PLAN = Plan.STANDARD          # "Required Account Level: Standard Edition and Above"
RECONCILE_SECONDS = 2.0
PREFS_TTL_SECONDS = 10.0
POLL_WAIT_SECONDS = 1.5
REFUSED_RETRY_SECONDS = 3600.0
PRICE_FRESH_SECONDS = 60.0           # a polled price older than this is not shown with a stream alert


# --- membership ---------------------------------------------------------------------------------

@dataclass
class _Member:
    user_id: int
    version: int
    plan: Plan
    coins: frozenset[str]
    prefs: Prefs
    prefs_at: float
    thresholds: dict[str, ThresholdSet] = field(default_factory=dict)
    seen: dict[str, Level | None] = field(default_factory=dict)    # coin -> last level seen

    def min_level(self, coin: str) -> Level:
        t = self.thresholds.get(coin)
        if t is None:
            t = self.thresholds[coin] = self.prefs.thresholds(coin)
        return t.min_level


@dataclass
class _Group:
    """One key: its users here, its fold, its connection."""

    fingerprint: str
    api_key: str
    members: dict[int, _Member]
    fold: KeyFold
    client: StreamClient | None = None
    refused_until: float = 0.0
    refused_signature: tuple = ()

    @property
    def signature(self) -> tuple:
        return tuple(sorted((m.user_id, m.version, m.plan) for m in self.members.values()))

    @property
    def coins(self) -> frozenset[str]:
        return frozenset().union(*(m.coins for m in self.members.values()))


@dataclass
class _Known:
    """A user's coins and key as of their version (re-read only when it changes)."""

    version: int
    coins: frozenset[str]
    api_key: str | None = None
    key_read: bool = False


class StreamManager:
    """The live stream of every Standard+ key, folded and decided. ``url`` None: off."""

    def __init__(self, url: str | None, repo: Repository, poller: Poller,
                 scheduler: PollScheduler | None = None, *,
                 on_queued: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.time,
                 reconcile_every: float = RECONCILE_SECONDS,
                 client_options: dict | None = None):
        self.url = url
        self.repo = repo
        self.poller = poller
        self.scheduler = scheduler
        self.on_queued = on_queued
        self.clock = clock
        self.reconcile_every = reconcile_every
        self.client_options = client_options or {}
        self.frames = FrameCache()
        self.stream_alerts = 0
        self.decisions = 0
        self.reconciles = 0
        self.reconciled_at: float | None = None
        self._groups: dict[str, _Group] = {}
        self._member_of: dict[int, str] = {}          # user id -> key fingerprint
        self._known: dict[int, _Known] = {}
        self._early_anchors: dict[str, dict[str, Anchor]] = {}    # key -> coin -> anchor
        # key -> coin -> the price its latest poll read, shown with a stream alert
        self._prices: dict[str, dict[str, PriceSection]] = {}
        self._pending: set[tuple[int, str]] = set()   # (user, coin) decisions queued
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task] = set()
        self._session: aiohttp.ClientSession | None = None
        self._loop_task: asyncio.Task | None = None
        self._last_order_at: float | None = None

    @property
    def enabled(self) -> bool:
        return self.url is not None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Open connections as users need them, from now until :meth:`stop`."""
        if not self.enabled or self._loop_task is not None:
            return
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10.0))
        self._loop_task = asyncio.get_running_loop().create_task(self._run(),
                                                                 name="stream-reconcile")

    async def stop(self, grace: float = 2.0) -> None:
        """Close every socket and end the manager, within about ``grace`` seconds. Nothing
        new starts from the moment this is called (no reconcile, no decision)."""
        task, self._loop_task = self._loop_task, None
        waiting = [task] if task is not None else []
        for pending in waiting + list(self._tasks):
            pending.cancel()
        clients = [g.client for g in self._groups.values() if g.client is not None]
        await asyncio.gather(*(c.stop(grace) for c in clients), *waiting, *self._tasks,
                             return_exceptions=True)
        self._groups.clear()
        self._member_of.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live stream: reconciling connections failed")
            await asyncio.sleep(self.reconcile_every)

    # --- who streams ---------------------------------------------------------------------------

    def _eligible(self, now: float) -> dict[str, _Group]:
        """Standard+ users who are polled and not paused, grouped by key."""
        groups: dict[str, _Group] = {}
        seen: set[int] = set()
        for user in self.repo.due_users(math.inf, limit=10**9):
            seen.add(user.id)
            if user.is_paused(now):
                continue
            known = self._known.get(user.id)
            if known is None or known.version != user.version:
                known = _Known(user.version, frozenset(self.repo.coins(user.id)))
                self._known[user.id] = known
            if not known.coins:
                continue
            plan = self.poller.budget(user, len(known.coins)).plan
            if plan < STREAM_PLAN:
                continue
            if not known.key_read:        # decrypted only for users who stream
                try:
                    known.api_key = self.repo.api_key(user.id)
                except KeyUnreadable:
                    known.api_key = None
                known.key_read = True
            if not known.api_key:
                continue
            fingerprint = key_fingerprint(known.api_key)
            group = groups.get(fingerprint)
            if group is None:
                group = groups[fingerprint] = _Group(fingerprint, known.api_key, {}, KeyFold())
            group.members[user.id] = self._member(user, plan, known, now)
        for gone in set(self._known) - seen:
            del self._known[gone]
        return groups

    def _member(self, user: User, plan: Plan, known: _Known, now: float) -> _Member:
        old = self._groups.get(self._member_of.get(user.id, ""))
        member = old.members.get(user.id) if old is not None else None
        if member is None or member.version != user.version \
                or now - member.prefs_at >= PREFS_TTL_SECONDS:
            seen = member.seen if member is not None else {}
            member = _Member(user.id, user.version, plan, known.coins,
                             self.repo.prefs(user.id), now, seen=seen)
        member.plan = plan
        return member

    async def reconcile(self) -> None:
        """Open, keep and close connections to match the users who need them now."""
        now = self.clock()
        self.reconciles += 1
        self.reconciled_at = now
        wanted = self._eligible(now)
        closing = [g for fp, g in self._groups.items() if fp not in wanted]
        for fingerprint, fresh in wanted.items():
            group = self._groups.get(fingerprint)
            if group is None:
                group = self._groups[fingerprint] = fresh
            else:
                group.members = fresh.members
            group.fold.set_watch(group.coins)
            for coin, a in self._early_anchors.pop(fingerprint, {}).items():
                group.fold.anchor(coin, a.long_usd, a.short_usd, a.at)
            group.fold.prune(now)
            self._keep_connected(group, now)
        for group in closing:
            del self._groups[group.fingerprint]
        self._early_anchors = {fp: kept for fp, coins in self._early_anchors.items()
                               if (kept := {c: a for c, a in coins.items()
                                            if now - a.at <= MAX_ANCHOR_AGE})}
        self._prices = {fp: kept for fp, coins in self._prices.items()
                        if (kept := {c: p for c, p in coins.items()
                                     if now - p.time.timestamp() <= PRICE_FRESH_SECONDS})}
        self._member_of = {uid: fp for fp, g in self._groups.items() for uid in g.members}
        if closing:
            await asyncio.gather(*(g.client.stop() for g in closing if g.client is not None),
                                 return_exceptions=True)
            for group in closing:
                log.info("live stream of key %s closed: no Standard+ user needs it",
                         group.fingerprint)

    def _keep_connected(self, group: _Group, now: float) -> None:
        client = group.client
        if client is not None and client.running:
            return
        if client is not None and client.status.state in (LinkState.REFUSED,
                                                          LinkState.KEY_REFUSED):
            if group.refused_until == 0.0:
                group.refused_until = now + REFUSED_RETRY_SECONDS
                group.refused_signature = group.signature
                return
            if now < group.refused_until and group.signature == group.refused_signature:
                return
        group.refused_until = 0.0
        group.client = StreamClient(
            self._session, self.url, group.api_key,
            lambda orders, fp=group.fingerprint: self._on_orders(fp, orders),
            frames=self.frames, clock=self.clock,
            **{"backoff": backoff_delay, **self.client_options})
        group.client.start()

    # --- the poller's hook ------------------------------------------------------------------------

    def merge_polled(self, api_key: str, batch: SnapshotBatch) -> SnapshotBatch:
        """Anchor the key's fold on this poll's liquidation figures, and let the poll read the
        fold's view where the stream has seen more (see the module docstring)."""
        fingerprint = key_fingerprint(api_key)
        prices = {coin: snapshot.price for coin, snapshot in batch.snapshots.items()
                  if snapshot.price is not None and snapshot.plan >= STREAM_PLAN}
        if prices:
            self._prices.setdefault(fingerprint, {}).update(prices)
        group = self._groups.get(fingerprint)
        if group is None:
            self._remember_anchors(fingerprint, batch)
            return batch
        try:
            self._merge(group, batch)
        except Exception:                  # the poll goes on with its own figures
            log.exception("live stream: merging a poll's liquidations failed")
        return batch

    def _remember_anchors(self, fingerprint: str, batch: SnapshotBatch) -> None:
        """A Standard+ key polled before its connection opens (a user who just subscribed):
        its figures anchor the fold the connection will start with."""
        for coin, snapshot in batch.snapshots.items():
            liq = snapshot.liquidations
            if liq is not None and snapshot.plan >= STREAM_PLAN:
                self._early_anchors.setdefault(fingerprint, {})[coin] = Anchor(
                    liq.time.timestamp(), liq.long_usd, liq.short_usd)

    def _merge(self, group: _Group, batch: SnapshotBatch) -> None:
        now = self.clock()
        for coin, snapshot in list(batch.snapshots.items()):
            liq = snapshot.liquidations
            if liq is None or coin not in group.fold.watch:
                continue
            group.fold.anchor(coin, liq.long_usd, liq.short_usd, liq.time.timestamp())
            view = group.fold.view(coin, now)
            if view is None or (view.long_usd <= liq.long_usd and view.short_usd <= liq.short_usd):
                continue
            merged = LiquidationSection(liq.window, max(liq.long_usd, view.long_usd),
                                        max(liq.short_usd, view.short_usd),
                                        datetime.fromtimestamp(now, timezone.utc))
            batch.snapshots[coin] = replace(snapshot, liquidations=merged)

    # --- folding and deciding ---------------------------------------------------------------------

    def _on_orders(self, fingerprint: str, orders: tuple[Order, ...]) -> None:
        group = self._groups.get(fingerprint)
        if group is None:
            return
        now = self.clock()
        touched = group.fold.add(orders, now)
        if touched:
            self._last_order_at = now
        for coin in touched:
            self._evaluate(group, coin, now)

    def _evaluate(self, group: _Group, coin: str, now: float) -> None:
        """Start a decision for each user of this key whose cascade level just rose to their
        minimum level or above; everyone else only records the level seen."""
        view = group.fold.view(coin, now)
        if view is None:
            return
        for member in group.members.values():
            if coin not in member.coins:
                continue
            level = cascade_level(evaluate_coin(stream_snapshot(coin, member.plan, view),
                                                member.prefs))
            before = member.seen.get(coin)
            member.seen[coin] = level
            if level is None or level < member.min_level(coin):
                continue
            if before is not None and level <= before:
                continue
            self._spawn_decision(group.fingerprint, member.user_id, coin)

    def _spawn_decision(self, fingerprint: str, user_id: int, coin: str) -> None:
        if (user_id, coin) in self._pending:
            return                     # the queued decision reads the newest view when it runs
        self._pending.add((user_id, coin))
        task = asyncio.get_running_loop().create_task(self._decide(fingerprint, user_id, coin),
                                                      name=f"stream-decide-{user_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _decide(self, fingerprint: str, user_id: int, coin: str) -> None:
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        try:
            async with lock:
                poll_still_running = await self._wait_for_poll(user_id)
                self._pending.discard((user_id, coin))
                self._decide_now(fingerprint, user_id, coin, poll_still_running)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live stream: deciding for user %s failed", user_id)
        finally:
            self._pending.discard((user_id, coin))

    async def _wait_for_poll(self, user_id: int) -> bool:
        """Wait for the user's poll in flight to commit; True if one still runs after
        :data:`POLL_WAIT_SECONDS`."""
        if self.scheduler is None:
            return False
        deadline = time.monotonic() + POLL_WAIT_SECONDS
        while (task := self.scheduler.running(user_id)) is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            await asyncio.wait({task}, timeout=remaining)
        return False

    def _decide_now(self, fingerprint: str, user_id: int, coin: str,
                    poll_still_running: bool) -> None:
        """Read, decide and commit with no await in between (see the module docstring)."""
        group = self._groups.get(fingerprint)
        if group is None or user_id not in group.members:
            return
        now = self.clock()
        view = group.fold.view(coin, now)
        ctx = self.poller.context(user_id)
        if view is None or ctx is None or not self._still_streams(ctx, group, coin, now):
            return
        price = self._prices.get(fingerprint, {}).get(coin)
        if price is not None and now - price.time.timestamp() > PRICE_FRESH_SECONDS:
            price = None
        write = stream_write(ctx, stream_snapshot(coin, ctx.budget.plan, view), now, price)
        self.decisions += 1
        if write is None:
            return
        apply_quiet(ctx.user, write.alerts, now)      # quiet hours, as for a poll's rows
        if not self.repo.commit_poll(user_id, write, ctx.user.version):
            return
        if poll_still_running:
            self.repo.update_user(user_id)   # that poll read the state before this commit
        if write.alerts:
            self.stream_alerts += 1
            log.info("live stream alert for user %s on %s", user_id, coin)
            if self.on_queued is not None:
                self.on_queued()

    @staticmethod
    def _still_streams(ctx: PollContext, group: _Group, coin: str, now: float) -> bool:
        user = ctx.user
        return (user.active and user.key_state == "valid" and not user.is_paused(now)
                and coin in ctx.coins and ctx.api_key is not None
                and key_fingerprint(ctx.api_key) == group.fingerprint
                and ctx.budget.plan >= STREAM_PLAN)

    # --- what others read ------------------------------------------------------------------------

    def status_for(self, user: User, coins: list[str]) -> StreamStatus:
        """The user's live stream for ``/status``: its connection, or why there is none."""
        if not self.enabled:
            return StreamStatus(OFF)
        group = self._groups.get(self._member_of.get(user.id, ""))
        if group is not None and group.client is not None:
            s: LinkStatus = group.client.status
            retry_at = s.retry_at
            if s.state in (LinkState.REFUSED, LinkState.KEY_REFUSED):
                retry_at = group.refused_until or None
            return StreamStatus(s.state.value, s.since, s.failures, retry_at, s.reason)
        now = self.clock()
        if self.poller.budget(user, len(coins)).plan < STREAM_PLAN:
            return StreamStatus(NEEDS_PLAN)
        if user.key_state != "valid":
            return StreamStatus(IDLE, reason="no valid key")
        if not coins:
            return StreamStatus(IDLE, reason="no coins")
        if user.is_paused(now):
            return StreamStatus(IDLE, reason="alerts paused")
        if not user.active:
            return StreamStatus(IDLE, reason="inactive")
        return StreamStatus(STARTING)

    def health(self) -> dict:
        """A small summary for ``/healthz``: counts only, no keys."""
        states = [g.client.status.state for g in self._groups.values() if g.client is not None]
        now = self.clock()
        return {
            "enabled": self.enabled,
            "keys": len(self._groups),
            "connected": sum(1 for s in states if s == LinkState.CONNECTED),
            "connecting": sum(1 for s in states if s == LinkState.CONNECTING),
            "retrying": sum(1 for s in states if s == LinkState.RETRYING),
            "refused": sum(1 for s in states if s in (LinkState.REFUSED, LinkState.KEY_REFUSED)),
            "orders_folded": sum(g.fold.folded for g in self._groups.values()),
            "last_order_age_s": (round(now - self._last_order_at, 1)
                                 if self._last_order_at is not None else None),
            "stream_alerts": self.stream_alerts,
            "last_reconcile_age_s": (round(now - self.reconciled_at, 1)
                                     if self.reconciled_at is not None else None),
        }
