"""The one way messages leave the bot: HTML, split at 4,096 characters, flood limits respected.

:func:`send_html` is used by every handler reply. :class:`OutboxSender` drains the SQLite
outbox of alerts and notices that polls decided:

- overall pace: PTB's ``AIORateLimiter`` (about 30 messages/s, shared with handler replies);
- per chat: at most one outbox message per second;
- ``RetryAfter``: the message waits ``retry_after`` and is never dropped;
- ``Forbidden`` (the user blocked the bot): the user is marked inactive, their messages wait;
- network errors: retried with exponential back-off;
- a row is marked sent right after Telegram accepts it, so a restart re-sends only what
  Telegram never confirmed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import texts
from bot.format import split_html
from core.storage.repo import OutboxItem, Repository

log = logging.getLogger(__name__)

PER_CHAT_SECONDS = 1.0
ALERT_EXPIRY_SECONDS = 6 * 3600      # an alert this old is history, not news: not sent
MAX_BACKOFF_SECONDS = 300.0


async def send_html(bot: Bot, chat_id: int, text: str, *, reply_markup=None,
                    retries: int | None = 2) -> Message:
    """Send ``text`` (HTML) to ``chat_id``, in several messages if it is too long.

    ``retries`` is how often the rate limiter retries after a RetryAfter (None: never, so the
    caller handles it). The markup goes on the last part.
    """
    parts = split_html(text)
    kwargs = {"rate_limit_args": retries} if retries else {}
    message = None
    for index, part in enumerate(parts):
        message = await bot.send_message(
            chat_id, part, reply_markup=reply_markup if index == len(parts) - 1 else None,
            **kwargs,
        )
    return message


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait. PTB keeps a timedelta in ``_retry_after`` (its own rate limiter reads
    it too); the public ``retry_after`` warns about an int/timedelta migration."""
    value = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


class OutboxSender:
    def __init__(self, repo: Repository,
                 render: Callable[[OutboxItem, float], str] = texts.render_outbox, *,
                 clock: Callable[[], float] = time.time, concurrency: int = 16):
        self.repo = repo
        self.render = render
        self.clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self._ready_at: dict[int, float] = {}       # chat -> earliest next send
        self._draining = asyncio.Lock()

    async def drain(self, bot: Bot, *, deadline: float | None = None) -> int:
        """Send every due message; returns how many Telegram accepted."""
        if self._draining.locked():
            return 0
        async with self._draining:
            sent = 0
            while deadline is None or self.clock() < deadline:
                now = self.clock()
                due = self.repo.due_outbox(now, limit=500)
                if not due:
                    break
                batch, chats = [], set()
                for item in due:
                    if item.user_id in chats or self._ready_at.get(item.user_id, 0.0) > now:
                        continue
                    chats.add(item.user_id)
                    batch.append(item)
                if not batch:
                    wait = min(self._ready_at.get(i.user_id, now) for i in due) - now
                    await asyncio.sleep(min(max(wait, 0.01), PER_CHAT_SECONDS))
                    continue
                results = await asyncio.gather(*(self._send(bot, item) for item in batch))
                sent += sum(results)
            self._forget_idle_chats()
            return sent

    def _forget_idle_chats(self) -> None:
        now = self.clock()
        for chat in [c for c, t in self._ready_at.items() if t < now - 60]:
            del self._ready_at[chat]

    async def _send(self, bot: Bot, item: OutboxItem) -> bool:
        async with self._slots:
            now = self.clock()
            if item.kind == "alert" and now - item.created_at > ALERT_EXPIRY_SECONDS:
                self.repo.mark_failed(item.id, "expired before it could be delivered")
                return False
            try:
                text = self.render(item, now)
            except Exception:
                # A bug in rendering, not in the alert: keep the row for the next deploy.
                log.exception("could not render outbox message %s; kept for a retry", item.id)
                self.repo.hold_unrenderable(item.id, "could not be rendered")
                self.repo.count("render_errors")
                return False
            self._ready_at[item.user_id] = now + PER_CHAT_SECONDS
            try:
                message = await send_html(bot, item.user_id, text, retries=None)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                self._ready_at[item.user_id] = self.clock() + wait
                self.repo.retry_later(item.id, self.clock() + wait, "Telegram flood control",
                                      count_attempt=False)
                self.repo.count("send_retry_after")
                return False
            except Forbidden:
                log.info("user %s blocked the bot: marked inactive", item.user_id)
                self.repo.set_active(item.user_id, False)
                self.repo.retry_later(item.id, self.clock(), "user blocked the bot",
                                      count_attempt=False)
                self.repo.count("blocked")
                return False
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    self.repo.set_active(item.user_id, False)
                log.error("Telegram refused outbox message %s: %s", item.id, exc.message)
                self.repo.mark_failed(item.id, exc.message)
                self.repo.count("send_errors")
                return False
            except (TimedOut, NetworkError) as exc:
                backoff = min(MAX_BACKOFF_SECONDS, 2.0 ** min(item.attempts, 8))
                self.repo.retry_later(item.id, self.clock() + backoff, f"network: {exc}")
                self.repo.count("send_errors")
                return False
            except Exception:
                log.exception("could not send outbox message %s", item.id)
                self.repo.mark_failed(item.id, "internal error")
                self.repo.count("send_errors")
                return False
            self.repo.mark_sent(item.id, message.message_id if message else None)
            if item.kind == "alert":
                self.repo.count("alerts_sent")
            return True
