"""Chats and the messages in them, as Telegram stores them for one bot.

Message ids are per chat and shared by the user's and the bot's messages, as in private chats.
Bot messages are kept after deletion (flagged) so tests can see what was removed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from .models import BotMessage

log = logging.getLogger(__name__)

# The size reported for a photo sent by URL, which the simulator does not fetch.
URL_PHOTO_SIZE = (640, 480)


@dataclass
class Chat:
    id: int
    type: str
    user: dict | None  # the other party of a private chat
    title: str | None = None
    last_message_id: int = 0
    blocked: bool = False
    bot_messages: dict[int, BotMessage] = field(default_factory=dict)
    user_messages: dict[int, dict] = field(default_factory=dict)
    deleted_user_messages: set[int] = field(default_factory=set)

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def as_dict(self) -> dict:
        if self.type == "private":
            chat = {"id": self.id, "type": "private", "first_name": self.user["first_name"]}
            if self.user.get("username"):
                chat["username"] = self.user["username"]
            return chat
        return {"id": self.id, "type": self.type, "title": self.title or f"Group {self.id}"}


class MessageStore:
    """Chats, users, bot messages in send order, and listeners told of every change."""

    def __init__(
        self, bot_user: dict, clock: Callable[[], float], on_change: Callable[[], None]
    ) -> None:
        self.bot_user = bot_user
        self.clock = clock
        self.on_change = on_change
        self._listeners: list[Callable[[BotMessage], None]] = []
        self.reset()

    def reset(self) -> None:
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, dict] = {}
        self.order: list[tuple[int, int]] = []  # (chat_id, message_id) in send order
        self.callback_queries: dict[str, dict] = {}
        self.callback_answers: dict[str, list[dict]] = {}

    # -- reading ---------------------------------------------------------------------------

    def messages(
        self, chat_id: int | None = None, *, include_deleted: bool = False
    ) -> list[BotMessage]:
        if chat_id is not None:
            chat = self.chats.get(chat_id)
            found = list(chat.bot_messages.values()) if chat else []
        else:
            found = [self.chats[c].bot_messages[m] for c, m in self.order]
        return [m for m in found if include_deleted or not m.deleted]

    def message(self, chat_id: int, message_id: int) -> BotMessage | None:
        chat = self.chats.get(chat_id)
        return chat.bot_messages.get(message_id) if chat else None

    def user_message_deleted(self, chat_id: int, message_id: int) -> bool:
        chat = self.chats.get(chat_id)
        return bool(chat) and message_id in chat.deleted_user_messages

    def any_message(self, chat: Chat, message_id: int) -> dict | None:
        """The live message ``message_id`` of either party as a Message dict."""
        bot_msg = chat.bot_messages.get(message_id)
        if bot_msg is not None and not bot_msg.deleted:
            return self.message_dict(bot_msg)
        if message_id in chat.deleted_user_messages:
            return None
        return chat.user_messages.get(message_id)

    def message_dict(self, msg: BotMessage) -> dict:
        """A bot message as the Bot API returns it."""
        chat = self.chats[msg.chat_id]
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_user,
            "chat": chat.as_dict(),
            "date": msg.date,
        }
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        if msg.photo:
            width, height = (msg.photo_width, msg.photo_height)
            if width is None or height is None:
                width, height = URL_PHOTO_SIZE
            size = {
                "file_id": msg.photo_source or "",
                "file_unique_id": f"u{msg.chat_id}_{msg.message_id}",
                "width": width,
                "height": height,
            }
            if msg.photo_size is not None:
                size["file_size"] = msg.photo_size
            data["photo"] = [size]
            if msg.text:
                data["caption"] = msg.text
                if msg.entities:
                    data["caption_entities"] = list(msg.entities)
        else:
            data["text"] = msg.text
            if msg.entities:
                data["entities"] = list(msg.entities)
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        if msg.reply_to is not None:
            replied = self.any_message(chat, msg.reply_to)
            if replied is not None:
                replied = {k: v for k, v in replied.items() if k != "reply_to_message"}
                data["reply_to_message"] = replied
        return data

    # -- writing ---------------------------------------------------------------------------

    def new_message(self, chat: Chat, **fields: Any) -> BotMessage:
        now = self.clock()
        return BotMessage(
            message_id=chat.next_message_id(), chat_id=chat.id, sent_at=now, date=int(now), **fields
        )

    def store(self, msg: BotMessage) -> None:
        """Keep a new or changed bot message and tell the listeners."""
        chat = self.chats[msg.chat_id]
        if msg.message_id not in chat.bot_messages:
            self.order.append((msg.chat_id, msg.message_id))
        chat.bot_messages[msg.message_id] = msg
        for listener in list(self._listeners):
            try:
                listener(msg)
            except Exception:  # a broken listener must not break the bot under test
                log.exception("TelegramSim message listener failed")
        self.on_change()

    def add_listener(self, listener: Callable[[BotMessage], None]) -> Callable[[], None]:
        """Call ``listener(message)`` whenever the bot sends, edits or deletes a message."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)
