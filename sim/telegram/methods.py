"""The Bot API methods the simulator serves, one ``m_<name>`` per method.

Each takes the decoded parameters and returns the ``result`` or raises :class:`ApiError`.
``getUpdates`` is not here: it long-polls, so the HTTP layer serves it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable
from urllib.parse import urlsplit

from . import formatting
from .errors import ApiError, bad_request
from .flood import SEND_METHODS, FloodControl
from .formatting import Formatted
from .images import inspect_photo
from .markup import inline_buttons, reply_markup
from .models import BotMessage, Upload
from .params import get_bool, get_int, get_json, get_str
from .store import Chat, MessageStore
from .updates import UpdateQueue, Webhook

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_FILE_ID_PREFIX = "AgACAgSim"


@dataclass(frozen=True)
class _Photo:
    """A photo Telegram holds, reusable by its file_id."""

    file_id: str
    data: bytes | None
    width: int | None
    height: int | None


class BotApi:
    """Bot API methods over the shared chats, updates and flood control."""

    def __init__(
        self,
        store: MessageStore,
        updates: UpdateQueue,
        flood: FloodControl,
        clock: Callable[[], float],
    ) -> None:
        self.store, self.updates, self.flood, self.clock = store, updates, flood, clock
        names = [name.removeprefix("m_") for name in dir(self) if name.startswith("m_")]
        self.methods: dict[str, Callable[[dict], Any]] = {
            name: getattr(self, "m_" + name) for name in names
        }
        self.reset()

    def reset(self) -> None:
        self.command_sets: dict[tuple[str, str], list[dict]] = {}
        self.commands: list[dict] = []
        self.sent: Counter[tuple[str, int | None]] = Counter()
        self.files: dict[str, _Photo] = {}

    # -- the bot itself --------------------------------------------------------------------

    def m_getMe(self, params: dict) -> dict:
        return self.store.bot_user

    def m_logOut(self, params: dict) -> bool:
        return True

    def m_close(self, params: dict) -> bool:
        return True

    # -- webhook ---------------------------------------------------------------------------

    def m_setWebhook(self, params: dict) -> bool:
        url = get_str(params, "url") or ""
        if not url:
            return self.m_deleteWebhook(params)
        _check_webhook_url(url)
        secret = get_str(params, "secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = get_json(params, "allowed_updates")
        max_connections = min(max(get_int(params, "max_connections", 40), 1), 100)
        if get_bool(params, "drop_pending_updates"):
            self.updates.drop_pending()
        self.updates.set_allowed(allowed)
        self.updates.set_webhook(
            Webhook(url, secret, max_connections, tuple(allowed) if allowed else None)
        )
        return True

    def m_deleteWebhook(self, params: dict) -> bool:
        if get_bool(params, "drop_pending_updates"):
            self.updates.drop_pending()
        self.updates.set_webhook(None)
        return True

    def m_getWebhookInfo(self, params: dict) -> dict:
        webhook = self.updates.webhook
        info: dict[str, Any] = {
            "url": webhook.url if webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.updates.last_error_date is not None:
            info["last_error_date"] = self.updates.last_error_date
            info["last_error_message"] = self.updates.last_error_message
        if webhook is not None:
            info["max_connections"] = webhook.max_connections
            if webhook.allowed_updates:
                info["allowed_updates"] = list(webhook.allowed_updates)
        return info

    # -- sending ---------------------------------------------------------------------------

    def m_sendMessage(self, params: dict) -> dict:
        chat = self._chat(params)
        return self._send("sendMessage", chat, params, formatting.text(params))

    def m_sendPhoto(self, params: dict) -> dict:
        chat = self._chat(params)
        photo = self._photo(params)
        return self._send(
            "sendPhoto",
            chat,
            params,
            formatting.caption(params),
            photo=True,
            photo_source=photo.file_id,
            photo_data=photo.data,
            photo_size=None if photo.data is None else len(photo.data),
            photo_width=photo.width,
            photo_height=photo.height,
        )

    def _photo(self, params: dict) -> _Photo:
        """The uploaded photo (checked and kept), or the one a file_id or URL names."""
        photo = params.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):
            photo = params.get(photo.removeprefix("attach://"))
        if isinstance(photo, Upload):
            info = inspect_photo(photo.data)
            file_id = f"{_FILE_ID_PREFIX}{len(self.files) + 1:08d}"
            kept = self.files[file_id] = _Photo(file_id, photo.data, info.width, info.height)
            return kept
        if isinstance(photo, str) and photo in self.files:
            return self.files[photo]
        if isinstance(photo, str) and urlsplit(photo).scheme in ("http", "https"):
            return _Photo(photo, None, None, None)  # Telegram would fetch it; we do not
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _send(
        self, method: str, chat: Chat, params: dict, content: Formatted, **extra: Any
    ) -> dict:
        """Deliver a new bot message under flood control; only validated sends count."""
        markup = reply_markup(params)
        reply_to = self._reply_to(params, chat)
        if method in SEND_METHODS:
            self.flood.admit(chat.id, chat.type)
        msg = self.store.new_message(
            chat,
            html=content.raw,
            text=content.plain,
            reply_markup=markup,
            buttons=inline_buttons(markup),
            parse_mode=content.parse_mode,
            entities=tuple(content.entities),
            reply_to=reply_to,
            **extra,
        )
        self.store.store(msg)
        self.sent[(method, chat.id)] += 1
        self.sent[(method, None)] += 1
        return self.store.message_dict(msg)

    # -- editing and deleting --------------------------------------------------------------

    def m_editMessageText(self, params: dict) -> dict:
        msg = self._editable(params)
        if msg.photo:
            raise bad_request("there is no text in the message to edit")
        return self._edit_content(msg, params, formatting.text(params))

    def m_editMessageCaption(self, params: dict) -> dict:
        msg = self._editable(params)
        if not msg.photo:
            raise bad_request("there is no caption in the message to edit")
        return self._edit_content(msg, params, formatting.caption(params))

    def m_editMessageReplyMarkup(self, params: dict) -> dict:
        msg = self._editable(params)
        markup = reply_markup(params)
        if markup == msg.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        return self._edit(msg, reply_markup=markup, buttons=inline_buttons(markup))

    def _edit_content(self, msg: BotMessage, params: dict, content: Formatted) -> dict:
        """Replace a message's text (or caption) and markup, refusing a no-op like Telegram."""
        markup = reply_markup(params)
        entities = tuple(content.entities)
        if content.plain == msg.text and entities == msg.entities and markup == msg.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        return self._edit(
            msg,
            html=content.raw,
            text=content.plain,
            entities=entities,
            parse_mode=content.parse_mode,
            reply_markup=markup,
            buttons=inline_buttons(markup),
        )

    def _edit(self, msg: BotMessage, **changes: Any) -> dict:
        edited = replace(msg, edited=msg.edited + 1, edit_date=int(self.clock()), **changes)
        self.store.store(edited)
        return self.store.message_dict(edited)

    def _editable(self, params: dict) -> BotMessage:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the simulator")
        chat = self._chat(params)
        message_id = get_int(params, "message_id")
        msg = chat.bot_messages.get(message_id) if message_id is not None else None
        if msg is None or msg.deleted:
            if message_id in chat.user_messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return msg

    def m_deleteMessage(self, params: dict) -> bool:
        chat = self._chat(params, writable=False)
        self._delete(chat, get_int(params, "message_id"))
        return True

    def m_deleteMessages(self, params: dict) -> bool:
        chat = self._chat(params, writable=False)
        ids = get_json(params, "message_ids") or []
        found = [int(i) for i in ids if self._deletable(chat, int(i))]
        if not found:
            raise bad_request("message to delete not found")
        for message_id in found:
            self._delete(chat, message_id)
        return True

    def _deletable(self, chat: Chat, message_id: int) -> bool:
        bot_msg = chat.bot_messages.get(message_id)
        if bot_msg is not None:
            return not bot_msg.deleted
        return message_id in chat.user_messages and message_id not in chat.deleted_user_messages

    def _delete(self, chat: Chat, message_id: int | None) -> None:
        if message_id is None or not self._deletable(chat, message_id):
            raise bad_request("message to delete not found")
        bot_msg = chat.bot_messages.get(message_id)
        if bot_msg is not None:
            self.store.store(replace(bot_msg, deleted=True))
        else:
            chat.deleted_user_messages.add(message_id)
            self.store.on_change()

    # -- buttons, chat actions, commands, chats --------------------------------------------

    def m_answerCallbackQuery(self, params: dict) -> bool:
        query_id = get_str(params, "callback_query_id")
        if query_id not in self.store.callback_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(get_str(params, "text") or "") > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.store.callback_answers[query_id].append(dict(params))
        return True

    def m_sendChatAction(self, params: dict) -> bool:
        self._chat(params)
        if get_str(params, "action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def m_setMyCommands(self, params: dict) -> bool:
        commands = get_json(params, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned = [{"command": c["command"], "description": c["description"]} for c in commands]
        self.command_sets[_scope_key(params)] = cleaned
        self.commands = cleaned
        return True

    def m_getMyCommands(self, params: dict) -> list[dict]:
        return self.command_sets.get(_scope_key(params), [])

    def m_deleteMyCommands(self, params: dict) -> bool:
        self.command_sets.pop(_scope_key(params), None)
        self.commands = []
        return True

    def m_getChat(self, params: dict) -> dict:
        info = self._chat(params, writable=False).as_dict()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        )
        return info

    # -- shared checks ---------------------------------------------------------------------

    def _chat(self, params: dict, *, writable: bool = True) -> Chat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat = self.store.chats.get(int(raw))
        except (TypeError, ValueError):
            chat = None  # "@channelusername": this bot knows no public channels
        if chat is None:
            raise bad_request("chat not found")
        if writable and chat.blocked:
            raise ApiError(
                403,
                "Forbidden: bot was blocked by the user"
                if chat.type == "private"
                else "Forbidden: bot was kicked from the group chat",
            )
        return chat

    def _reply_to(self, params: dict, chat: Chat) -> int | None:
        reply = get_json(params, "reply_parameters") or {}
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        if message_id is None:
            message_id = get_int(params, "reply_to_message_id")
        if message_id is None:
            return None
        if self.store.any_message(chat, int(message_id)) is None:
            allow = reply.get("allow_sending_without_reply") or get_bool(
                params, "allow_sending_without_reply"
            )
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return int(message_id)


def _check_webhook_url(url: str) -> None:
    """HTTPS on Telegram's ports; plain HTTP only to loopback, so tests need no certificate."""
    parts = urlsplit(url)
    if parts.hostname in _LOOPBACK and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https" or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in _WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def _scope_key(params: dict) -> tuple[str, str]:
    scope = get_json(params, "scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), get_str(params, "language_code") or ""
