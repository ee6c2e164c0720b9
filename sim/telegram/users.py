"""What the people talking to the bot do: write, tap buttons, block and unblock it."""

from __future__ import annotations

import re
from typing import Callable

from .html import utf16_len
from .store import Chat, MessageStore
from .updates import UpdateQueue

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


class Users:
    """Turns user actions into stored messages and queued updates."""

    def __init__(
        self,
        store: MessageStore,
        updates: UpdateQueue,
        clock: Callable[[], float],
        privacy_mode: bool,
    ) -> None:
        self.store, self.updates, self.clock = store, updates, clock
        self.privacy_mode = privacy_mode
        self._query_counter = 0

    @property
    def bot_user(self) -> dict:
        return self.store.bot_user

    def sends(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        reply_to: int | None = None,
    ) -> dict:
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        if username:
            user["username"] = username
        self.store.users[user_id] = user
        chat = self._chat_for_user(user, chat_id, chat_type)
        if chat.blocked and chat.type == "private":
            # A user can only write after unblocking ("Restart" in the app).
            self.unblocks(user_id)
        message = {
            "message_id": chat.next_message_id(),
            "from": user,
            "chat": chat.as_dict(),
            "date": int(self.clock()),
            "text": text,
        }
        command = _COMMAND.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}
            ]
        if reply_to is not None:
            replied = self.store.any_message(chat, reply_to)
            if replied is None:
                raise ValueError(f"chat {chat.id} has no message {reply_to} to reply to")
            message["reply_to_message"] = replied
        chat.user_messages[message["message_id"]] = message
        if self._delivered_in_group(chat, text, reply_to):
            self.updates.enqueue("message", message)
        else:
            self.store.on_change()
        return message

    def presses(self, user_id: int, message_id: int, data: str, *, chat_id: int | None) -> str:
        chat = self.store.chats.get(user_id if chat_id is None else chat_id)
        msg = chat.bot_messages.get(message_id) if chat else None
        if msg is None or msg.deleted:
            raise ValueError(f"chat {chat_id or user_id} has no bot message {message_id}")
        if not any(value == data for row in msg.buttons for _, value in row):
            raise ValueError(
                f"message {message_id} has no button with callback_data {data!r}; "
                f"its buttons: {msg.buttons}"
            )
        user = self.store.users.get(user_id) or {
            "id": user_id,
            "is_bot": False,
            "first_name": "Test",
        }
        self._query_counter += 1
        query_id = f"{user_id}{self._query_counter:06d}"
        query = {
            "id": query_id,
            "from": user,
            "message": self.store.message_dict(msg),
            "chat_instance": str(abs(chat.id) * 7919 % 10**12),
            "data": data,
        }
        self.store.callback_queries[query_id] = query
        self.store.callback_answers[query_id] = []
        self.updates.enqueue("callback_query", query)
        return query_id

    def blocks(self, user_id: int, *, notify: bool = True) -> None:
        self._set_blocked(user_id, True, notify)

    def unblocks(self, user_id: int, *, notify: bool = True) -> None:
        self._set_blocked(user_id, False, notify)

    def _set_blocked(self, chat_id: int, blocked: bool, notify: bool) -> None:
        """Block or unblock; ``notify=False`` skips the my_chat_member update (one the bot
        never got, e.g. because it asked for other update types), leaving only the 403."""
        chat = self.store.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"chat {chat_id} never talked to the bot")
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        if not notify:
            return
        bot_member = {"user": self.bot_user, "status": "member"}
        banned = {"user": self.bot_user, "status": "kicked", "until_date": 0}
        self.updates.enqueue(
            "my_chat_member",
            {
                "chat": chat.as_dict(),
                "from": chat.user or self.store.users.get(chat_id) or self.bot_user,
                "date": int(self.clock()),
                "old_chat_member": bot_member if blocked else banned,
                "new_chat_member": banned if blocked else bot_member,
            },
        )

    def _chat_for_user(self, user: dict, chat_id: int | None, chat_type: str) -> Chat:
        if chat_type == "private":
            if chat_id not in (None, user["id"]):
                raise ValueError("a private chat's id is the user's id")
            chat_id = user["id"]
        elif chat_id is None:
            raise ValueError(f"a {chat_type} chat needs an explicit (negative) chat_id")
        chat = self.store.chats.get(chat_id)
        if chat is None:
            chat = self.store.chats[chat_id] = Chat(
                chat_id, chat_type, user if chat_type == "private" else None
            )
        elif chat.type == "private":
            chat.user = user
        return chat

    def _delivered_in_group(self, chat: Chat, text: str, reply_to: int | None) -> bool:
        """Privacy mode: in groups bots see only commands, replies to them and mentions."""
        if chat.type == "private" or not self.privacy_mode:
            return True
        return (
            text.startswith("/")
            or f"@{self.bot_user['username']}".lower() in text.lower()
            or (reply_to is not None and reply_to in chat.bot_messages)
        )
