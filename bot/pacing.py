"""Every message the bot sends, paced the way Telegram asks, without bursts (SPEC §12).

:class:`TelegramPacer` is python-telegram-bot's rate limiter for the whole bot, so replies,
alerts, notices and every part of a split message pass through it:

- at most ``per_second`` sends (30) in any 1-second window, bot-wide;
- a private chat: one send per ``private_gap`` (1 s), and never while one is in flight;
- a group (negative chat id): at most ``group_per_minute`` (20) in any 60-second window;
- a ``RetryAfter`` from Telegram pauses *every* send for its duration (we cannot tell a chat's
  flood wait from the bot's, so the cautious reading wins); a command reply then tries again,
  an outbox message goes back to the outbox.

Waiting sends are granted in priority order (:data:`REPLY` first, then notices, then alerts
HIGH → LOW), first come first served within a priority, skipping a chat whose window is still
closed so that one busy chat never holds up the others.

A send counts from when it is granted until its answer arrives (then from the answer's time):
Telegram counts a message when it receives it, which lies in between, so our windows can
never run ahead of Telegram's.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import time
from collections import deque
from typing import Any, Callable, Coroutine

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

# Priorities (lower goes first); the outbox passes them as ``rate_limit_args``.
REPLY = 0
NOTICE = 1
ALERT_HIGH, ALERT_MEDIUM, ALERT_LOW = 2, 3, 4

SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup",
                   "copyMessage", "forwardMessage", "sendAnimation", "sendVideo", "sendAudio",
                   "sendVoice", "sendSticker", "sendLocation", "sendPoll", "sendDice"})
REPLY_RETRIES = 3


def alert_priority(level: int | None) -> int:
    return {3: ALERT_HIGH, 2: ALERT_MEDIUM}.get(level or 0, ALERT_LOW)


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait. PTB keeps a timedelta in ``_retry_after``; the public ``retry_after``
    warns about an int/timedelta migration."""
    value = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


class _Stamp:
    __slots__ = ("at", "done")

    def __init__(self, at: float):
        self.at = at
        self.done = False


class _Waiter:
    __slots__ = ("priority", "seq", "chat", "future")

    def __init__(self, priority: int, seq: int, chat: int | None, future: asyncio.Future):
        self.priority, self.seq, self.chat, self.future = priority, seq, chat, future

    def __lt__(self, other: _Waiter) -> bool:
        return (self.priority, self.seq) < (other.priority, other.seq)


class TelegramPacer(BaseRateLimiter[int]):
    def __init__(self, *, per_second: int = 30, private_gap: float = 1.0,
                 group_per_minute: int = 20, clock: Callable[[], float] = time.monotonic,
                 margin: float = 0.02):
        self.per_second = per_second
        self.private_gap = private_gap + margin
        self.group_per_minute = group_per_minute
        self.window = 1.0 + margin
        self.group_window = 60.0 + margin
        self.clock = clock
        self._sent: deque[_Stamp] = deque()          # bot-wide, last window
        self._chats: dict[int, deque[_Stamp]] = {}
        self._waiting: list[_Waiter] = []           # sorted by (priority, seq)
        self._seq = itertools.count()
        self._paused_until = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.retry_afters = 0                        # RetryAfter answers seen

    # --- lifecycle --------------------------------------------------------------------------

    async def initialize(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._dispatch(), name="telegram-pacer")

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for waiter in self._waiting:
            if not waiter.future.done():
                waiter.future.cancel()
        self._waiting.clear()

    # --- what callers see -------------------------------------------------------------------

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    @property
    def queued(self) -> int:
        return len(self._waiting)

    def pause(self, seconds: float) -> None:
        """Telegram asked us to wait: nothing goes out until then."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)
        self._wake.set()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if endpoint not in SENDS:
            if self._paused_until > self.clock():
                await asyncio.sleep(self.paused_for)
            return await callback(*args, **kwargs)
        priority = REPLY if rate_limit_args is None else int(rate_limit_args)
        chat = _chat_id(data.get("chat_id"))
        attempts = 0
        while True:
            stamp = await self._acquire(chat, priority)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.retry_afters += 1
                wait = retry_after_seconds(exc)
                log.warning("Telegram flood control: all sends wait %.0f s", wait)
                self.pause(wait)
                if priority != REPLY or attempts >= REPLY_RETRIES:
                    raise
                attempts += 1
            finally:
                stamp.at = max(stamp.at, self.clock())
                stamp.done = True
                self._wake.set()

    # --- granting ---------------------------------------------------------------------------

    async def _acquire(self, chat: int | None, priority: int) -> _Stamp:
        if self._task is None or self._task.done():
            await self.initialize()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        bisect.insort(self._waiting, _Waiter(priority, next(self._seq), chat, future))
        self._wake.set()
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                stamp = future.result()          # granted as we were cancelled: give it back
                stamp.done = True
            raise

    def _prune(self, now: float) -> None:
        while self._sent and self._sent[0].done and self._sent[0].at <= now - self.window:
            self._sent.popleft()

    def _chat_ready_at(self, chat: int | None, now: float) -> float | None:
        """When ``chat`` may receive its next send (None: not before a send completes)."""
        if chat is None:
            return now
        stamps = self._chats.get(chat)
        if not stamps:
            return now
        if any(not s.done for s in stamps):
            return None
        if chat > 0:
            return stamps[-1].at + self.private_gap
        horizon = now - self.group_window
        while stamps and stamps[0].at <= horizon:
            stamps.popleft()
        if len(stamps) < self.group_per_minute:
            return now
        return stamps[0].at + self.group_window

    def _global_room(self, now: float) -> tuple[int, float | None]:
        """(sends that may go now, when the next slot frees if none may)."""
        self._prune(now)
        live = [s for s in self._sent if not s.done or s.at > now - self.window]
        room = self.per_second - len(live)
        if room > 0:
            return room, None
        done = sorted(s.at for s in live if s.done)
        needed = 1 - room
        if len(done) < needed:
            return 0, None                    # wait for an answer to arrive (it wakes us)
        return 0, done[needed - 1] + self.window

    def _grant(self, waiter: _Waiter, now: float) -> None:
        stamp = _Stamp(now)
        self._sent.append(stamp)
        if waiter.chat is not None:
            self._chats.setdefault(waiter.chat, deque()).append(stamp)
        waiter.future.set_result(stamp)

    def _forget_quiet_chats(self, now: float) -> None:
        if len(self._chats) < 1024:
            return
        for chat in [c for c, s in self._chats.items()
                     if all(x.done and x.at < now - self.group_window for x in s)]:
            del self._chats[chat]

    async def _dispatch(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock()
            wake_at = None
            if self._paused_until > now:
                wake_at = self._paused_until
            elif self._waiting:
                wake_at = self._grant_ready(now)
            timeout = None if wake_at is None else max(0.001, wake_at - self.clock())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def _grant_ready(self, now: float) -> float | None:
        """Grant every waiter that may go now; returns when to look again."""
        room, global_at = self._global_room(now)
        next_at: float | None = global_at
        keep: list[_Waiter] = []
        busy: set[int | None] = set()
        for index, waiter in enumerate(self._waiting):
            if waiter.future.done():
                continue                          # cancelled while waiting
            if room <= 0:
                keep.extend(w for w in self._waiting[index:] if not w.future.done())
                if next_at is None:
                    _, next_at = self._global_room(now)
                break
            ready = None if waiter.chat in busy else self._chat_ready_at(waiter.chat, now)
            if ready is not None and ready <= now:
                self._grant(waiter, now)
                room -= 1
                if waiter.chat is not None:
                    busy.add(waiter.chat)
                continue
            keep.append(waiter)
            if ready is not None:
                next_at = ready if next_at is None else min(next_at, ready)
        self._waiting = keep
        self._forget_quiet_chats(now)
        return next_at


def _chat_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None        # "@channelname" or nothing: paced bot-wide only
