"""Pending updates and how the bot receives them: getUpdates, or a webhook.

Updates wait in one queue whichever way they leave. ``getUpdates`` confirms them with its
``offset``; webhook delivery (``webhook.py``) confirms each one when the bot's server accepted
it. While a webhook is set, ``getUpdates`` answers 409 as Telegram does.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from .errors import CONFLICT_WEBHOOK, ApiError

# Update types delivered when allowed_updates is empty or never set (Telegram's default).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


@dataclass(frozen=True)
class Webhook:
    """What setWebhook configured."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: tuple[str, ...] | None = None


class UpdateQueue:
    """Updates not yet confirmed by the bot, oldest first."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.on_change = on_change
        self._last_update_id = 100_000  # survives reset() so a running poller's offset stays valid
        self.reset()

    def reset(self) -> None:
        self.pending: deque[dict] = deque()
        self.allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.webhook: Webhook | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None

    def __len__(self) -> int:
        return len(self.pending)

    def enqueue(self, kind: str, payload: dict) -> None:
        """Queue an update of ``kind`` unless the bot asked for other kinds only."""
        if kind in self.allowed:
            self._last_update_id += 1
            self.pending.append({"update_id": self._last_update_id, kind: payload})
        self.on_change()

    def take(self, offset: int | None, limit: int) -> list[dict]:
        """getUpdates: confirm updates before ``offset``, return up to ``limit`` pending ones."""
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        if offset is not None:
            if offset < 0:
                while len(self.pending) > -offset:
                    self.pending.popleft()
            else:
                while self.pending and self.pending[0]["update_id"] < offset:
                    self.pending.popleft()
        return [self.pending[i] for i in range(min(limit, len(self.pending)))]

    def first(self) -> dict | None:
        return self.pending[0] if self.pending else None

    def confirm(self, update_id: int) -> None:
        """A webhook delivery succeeded: forget that update."""
        if self.pending and self.pending[0]["update_id"] == update_id:
            self.pending.popleft()
            self.on_change()

    def drop_pending(self) -> None:
        self.pending.clear()
        self.on_change()

    def set_allowed(self, value: Any) -> None:
        """Apply ``allowed_updates`` if given; an empty list means Telegram's default."""
        if value is None:
            return
        if isinstance(value, str):
            value = json.loads(value)
        self.allowed = frozenset(value) if value else DEFAULT_UPDATE_TYPES

    def set_webhook(self, webhook: Webhook | None) -> None:
        self.webhook = webhook
        self.last_error_date = self.last_error_message = None
        self.on_change()

    def delivery_failed(self, date: int, message: str) -> None:
        self.last_error_date, self.last_error_message = date, message
        self.on_change()
