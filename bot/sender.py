"""The one way messages leave the bot: HTML, split at 4,096 characters, paced (bot/pacing.py).

:func:`send_html` is used by every handler reply (priority ``REPLY``: replies go before queued
alerts). :class:`OutboxSender` delivers the SQLite outbox of alerts and notices that polls
decided, as a worker woken when a poll queues something:

- fair: each round takes every chat's next one or two messages (HIGH first, then oldest), so
  a user with 30 queued alerts delays nobody else's first one;
- bounded: a round covers about a second of Telegram's capacity, and stopping waits only for
  the sends already granted; the rest stays in the outbox for the next start;
- ``RetryAfter``: the pacer pauses every send; the message waits and is never dropped;
- ``Forbidden`` (the user blocked the bot): the user is marked inactive, their messages wait;
- network errors: retried with exponential back-off;
- a message that cannot be rendered (a bug) is kept for the next deploy, not marked failed;
- a row is marked sent right after Telegram accepts it, so a restart re-sends only what
  Telegram never confirmed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import texts
from bot.format import split_html
from bot.pacing import NOTICE, REPLY, alert_priority, retry_after_seconds
from core.storage.repo import OutboxItem, Repository

log = logging.getLogger(__name__)

ALERT_EXPIRY_SECONDS = 6 * 3600      # an alert this old is history, not news: not sent
MAX_BACKOFF_SECONDS = 300.0
PER_CHAT_PER_ROUND = 2               # messages of one chat in one round
ROUND_SIZE = 40                      # about 1.3 s of Telegram's 30 messages/s
IDLE_WAKE_SECONDS = 1.0              # look at the outbox at least this often

__all__ = ["OutboxSender", "retry_after_seconds", "send_html"]


async def send_html(bot: Bot, chat_id: int, text: str, *, reply_markup=None,
                    priority: int = REPLY, disable_notification: bool | None = None) -> Message:
    """Send ``text`` (HTML) to ``chat_id``, in several messages if it is too long; every part
    is paced. The markup goes on the last part."""
    parts = split_html(text)
    message = None
    for index, part in enumerate(parts):
        message = await bot.send_message(
            chat_id, part, reply_markup=reply_markup if index == len(parts) - 1 else None,
            rate_limit_args=priority, disable_notification=disable_notification,
        )
    return message


Render = Callable[[OutboxItem, float], str]
Markup = Callable[[OutboxItem], InlineKeyboardMarkup | None]


class OutboxSender:
    def __init__(self, repo: Repository, render: Render = texts.render_outbox,
                 markup: Markup = lambda item: None, *,
                 clock: Callable[[], float] = time.time):
        self.repo = repo
        self.render = render
        self.markup = markup
        self.clock = clock
        self._wake = asyncio.Event()
        self._worker: asyncio.Task | None = None
        self._in_flight: set[asyncio.Task] = set()
        self._stopping = False
        self.rounds = 0

    # --- the worker -------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was queued: deliver now rather than at the next look."""
        self._wake.set()

    def start(self, bot: Bot) -> None:
        if self._worker is None or self._worker.done():
            self._stopping = False
            self._worker = asyncio.create_task(self._run(bot), name="outbox")

    async def _run(self, bot: Bot) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), IDLE_WAKE_SECONDS)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                while not self._stopping and await self.send_round(bot):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox round failed; retrying shortly")

    async def stop(self, grace: float = 3.0) -> None:
        """Stop taking new messages; let granted sends finish within ``grace`` seconds. What
        was not sent stays in the outbox for the next start."""
        self._stopping = True
        self._wake.set()
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=grace)
        for task in list(self._in_flight):
            task.cancel()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    # --- rounds -----------------------------------------------------------------------------

    async def send_round(self, bot: Bot) -> int:
        """One fair round: each chat's next messages, submitted together to the pacer;
        returns how many rows it took (0: nothing was due)."""
        items = self.repo.due_outbox_fair(self.clock(), per_chat=PER_CHAT_PER_ROUND,
                                          limit=ROUND_SIZE)
        if not items:
            return 0
        self.rounds += 1
        tasks = []
        for item in items:
            task = asyncio.create_task(self._send(bot, item), name=f"send-{item.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            tasks.append(task)
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(items)

    async def drain(self, bot: Bot, *, deadline: float | None = None) -> int:
        """Rounds until the outbox has nothing due (or ``deadline``); returns rows taken."""
        taken = 0
        while deadline is None or self.clock() < deadline:
            n = await self.send_round(bot)
            if not n:
                break
            taken += n
        return taken

    async def _send(self, bot: Bot, item: OutboxItem) -> bool:
        now = self.clock()
        if item.kind == "alert" and now - item.created_at > ALERT_EXPIRY_SECONDS:
            self.repo.mark_failed(item.id, "expired before it could be delivered")
            return False
        try:
            text = self.render(item, now)
            markup = self.markup(item)
        except Exception:
            # A bug in rendering, not in the alert: keep the row for the next deploy.
            log.exception("could not render outbox message %s; kept for a retry", item.id)
            self.repo.hold_unrenderable(item.id, "could not be rendered")
            self.repo.count("render_errors")
            return False
        priority = alert_priority(item.level) if item.kind == "alert" else NOTICE
        try:
            message = await send_html(bot, item.user_id, text, reply_markup=markup,
                                      priority=priority,
                                      disable_notification=item.silent or None)
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
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
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not send outbox message %s", item.id)
            self.repo.mark_failed(item.id, "internal error")
            self.repo.count("send_errors")
            return False
        self.repo.mark_sent(item.id, message.message_id if message else None)
        if item.kind == "alert":
            self.repo.count("alerts_sent")
        return True
