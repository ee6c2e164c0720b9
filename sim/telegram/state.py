"""The simulated Telegram: chats, messages, updates, flood control and the Bot API methods.

Everything here is synchronous and free of I/O; ``server.py`` puts HTTP and long polling in
front of it. A method either returns its ``result`` or raises :class:`ApiError`, which the
server turns into Telegram's error body::

    400 Bad Request   -> telegram.error.BadRequest
    403 Forbidden     -> telegram.error.Forbidden
    429 + retry_after -> telegram.error.RetryAfter
    5xx               -> telegram.error.NetworkError

Message ids are per chat and shared by the user's and the bot's messages, as in private chats.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from .html import HtmlError, parse_html, utf16_len

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

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
# Methods that post a new message and therefore count against flood limits.
FLOOD_METHODS = frozenset({"sendMessage", "sendPhoto"})
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
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API error: HTTP status ``code``, Telegram's ``description``, optional retry."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded with multipart/form-data (bytes kept out of the repr)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made. ``time`` is the arrival time on the simulator's clock."""

    method: str
    params: dict
    time: float
    ok: bool
    error_code: int | None = None
    description: str | None = None
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        """The numeric ``chat_id`` parameter, if the call had one."""
        try:
            return int(self.params.get("chat_id"))
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, as it stands now (after edits and deletion).

    ``html`` is the text or caption exactly as sent, ``text`` what the user reads.
    """

    message_id: int
    chat_id: int
    html: str
    text: str
    reply_markup: dict | None
    buttons: list[list[tuple[str, str | None]]]
    parse_mode: str | None
    edited: int = 0
    edit_date: int | None = None
    deleted: bool = False
    photo: bool = False
    sent_at: float = 0.0
    date: int = 0
    entities: tuple[dict, ...] = ()
    reply_to: int | None = None
    photo_source: str | None = None  # file_id, URL or "upload:<filename>"


@dataclass
class _Chat:
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


class _Bucket:
    """Token bucket: ``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.last = rate, burst, burst, now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 if one is)."""
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class FloodControl:
    """Telegram's send limits: one global bucket and one per chat; over either → 429."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.global_rate: float | None = None
        self.chat_rate: float | None = None
        self._global: _Bucket | None = None
        self._chats: dict[int, _Bucket] = {}

    def configure(self, global_per_second: float | None, per_chat_per_second: float | None) -> None:
        for rate in (global_per_second, per_chat_per_second):
            if rate is not None and rate <= 0:
                raise ValueError("flood limits must be positive (or None to disable)")
        now = self.clock()
        self.global_rate, self.chat_rate = global_per_second, per_chat_per_second
        self._global = (
            _Bucket(global_per_second, max(1.0, global_per_second), now)
            if global_per_second
            else None
        )
        self._chats = {}

    def acquire(self, chat_id: int) -> None:
        """Take a token from both buckets or raise a 429 naming whole seconds to wait."""
        now = self.clock()
        waits = [0.0]
        if self._global is not None:
            waits.append(self._global.wait(now))
        chat_bucket = None
        if self.chat_rate is not None:
            chat_bucket = self._chats.get(chat_id)
            if chat_bucket is None:
                chat_bucket = self._chats[chat_id] = _Bucket(self.chat_rate, 1.0, now)
            waits.append(chat_bucket.wait(now))
        wait = max(waits)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        if self._global is not None:
            self._global.tokens -= 1
        if chat_bucket is not None:
            chat_bucket.tokens -= 1


@dataclass(frozen=True)
class _Fault:
    code: int
    description: str
    retry_after: int | None
    deliver: bool  # run the method anyway: the classic "sent, but the reply was lost"

    def error(self) -> ApiError:
        return ApiError(self.code, self.description, self.retry_after)


_DEFAULT_FAULT_TEXT = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running",
    429: "Too Many Requests: retry after {retry}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _inline_buttons(markup: dict | None) -> list[list[tuple[str, str | None]]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [
            (
                b.get("text", ""),
                b.get("callback_data", b.get("url", b.get("switch_inline_query"))),
            )
            for b in row
        ]
        for row in markup["inline_keyboard"]
    ]


# -- parameter coercion: form fields arrive as strings, JSON bodies as typed values ------------


def _get_json(params: dict, name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None
    return value


def _get_int(params: dict, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise bad_request(f"wrong parameter {name}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"wrong parameter {name}") from None


def _get_bool(params: dict, name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _get_str(params: dict, name: str) -> str | None:
    value = params.get(name)
    return None if value is None else str(value)


class TelegramState:
    """In-memory Telegram as one bot sees it. ``on_change`` fires after every mutation."""

    def __init__(
        self,
        *,
        bot_id: int,
        bot_username: str,
        bot_name: str,
        clock: Callable[[], float],
        privacy_mode: bool = True,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.clock = clock
        self.privacy_mode = privacy_mode
        self.on_change = on_change
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._last_update_id = 100_000  # survives reset() so a running poller's offset stays valid
        self._listeners: list[Callable[[BotMessage], None]] = []
        method_names = [name.removeprefix("m_") for name in dir(self) if name.startswith("m_")]
        self._methods: dict[str, Callable[[dict], Any]] = {
            name.lower(): getattr(self, "m_" + name) for name in method_names
        }
        self._canonical = {name.lower(): name for name in method_names}
        self._canonical["getupdates"] = "getUpdates"  # served by the HTTP layer (long polling)
        self.reset()

    def reset(self) -> None:
        """Forget everything the bot and its users did; keep the bot's identity."""
        self.chats: dict[int, _Chat] = {}
        self.users: dict[int, dict] = {}
        self.updates: deque[dict] = deque()
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.webhook_url = ""
        self.calls: list[ApiCall] = []
        self.bot_messages: list[tuple[int, int]] = []  # (chat_id, message_id) in send order
        self.callback_queries: dict[str, dict] = {}
        self.callback_answer_log: dict[str, list[dict]] = {}
        self.command_sets: dict[tuple[str, str], list[dict]] = {}
        self.commands: list[dict] = []
        self.flood = FloodControl(self.clock)
        self.faults: dict[str, deque[_Fault]] = {}
        self._sent: Counter[tuple[str, int | None]] = Counter()
        self._file_counter = 0
        self._query_counter = 0
        self.on_change()

    # -- methods table ---------------------------------------------------------------------

    def canonical(self, method: str) -> str:
        """``sendmessage`` → ``sendMessage``; unknown methods raise 404 like Telegram."""
        name = self._canonical.get(method.lower())
        if name is None:
            raise ApiError(404, "Not Found")
        return name

    def execute(self, method: str, params: dict) -> Any:
        """Run a (canonical) method other than getUpdates."""
        fault = self.take_fault(method)
        if fault is not None and not fault.deliver:
            raise fault.error()
        result = self._methods[method.lower()](params)
        if fault is not None:
            raise fault.error()  # done, but the bot is told it failed
        return result

    def take_fault(self, method: str) -> _Fault | None:
        queue = self.faults.get(method)
        return queue.popleft() if queue else None

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        times: int = 1,
        deliver: bool = False,
    ) -> None:
        name = self.canonical(method)
        if description is None:
            description = _DEFAULT_FAULT_TEXT.get(error_code, f"Error {error_code}")
            description = description.format(retry=retry_after)
        fault = _Fault(
            error_code, description, retry_after if error_code == 429 else None, deliver
        )
        self.faults.setdefault(name, deque()).extend([fault] * times)

    def record(self, call: ApiCall) -> None:
        self.calls.append(call)
        self.on_change()

    def sent_count(self, chat_id: int | None = None, method: str = "sendMessage") -> int:
        """Messages ``method`` delivered (for other methods: successful calls)."""
        if method not in FLOOD_METHODS:
            return sum(
                1
                for c in self.calls
                if c.ok and c.method == method and (chat_id is None or c.chat_id == chat_id)
            )
        return self._sent[(method, chat_id)]

    # -- what users do ---------------------------------------------------------------------

    def user_sends(
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
        self.users[user_id] = user
        chat = self._chat_for_user(user, chat_id, chat_type)
        if chat.blocked and chat.type == "private":
            # A user can only write after unblocking ("Restart" in the app).
            self.user_unblocks_bot(user_id)
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
            replied = self._any_message(chat, reply_to)
            if replied is None:
                raise ValueError(f"chat {chat.id} has no message {reply_to} to reply to")
            message["reply_to_message"] = replied
        chat.user_messages[message["message_id"]] = message
        if self._delivered_in_group(chat, text, reply_to):
            self._enqueue("message", message)
        else:
            self.on_change()
        return message

    def user_presses(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> str:
        chat = self.chats.get(user_id if chat_id is None else chat_id)
        msg = chat.bot_messages.get(message_id) if chat else None
        if msg is None or msg.deleted:
            raise ValueError(f"chat {chat_id or user_id} has no bot message {message_id}")
        if not any(value == data for row in msg.buttons for _, value in row):
            raise ValueError(
                f"message {message_id} has no button with callback_data {data!r}; "
                f"its buttons: {msg.buttons}"
            )
        user = self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Test"}
        self._query_counter += 1
        query_id = f"{user_id}{self._query_counter:06d}"
        query = {
            "id": query_id,
            "from": user,
            "message": self._message_dict(msg),
            "chat_instance": str(abs(chat.id) * 7919 % 10**12),
            "data": data,
        }
        self.callback_queries[query_id] = query
        self.callback_answer_log[query_id] = []
        self._enqueue("callback_query", query)
        return query_id

    def user_blocks_bot(self, user_id: int, *, notify: bool = True) -> None:
        self._set_blocked(user_id, True, notify)

    def user_unblocks_bot(self, user_id: int, *, notify: bool = True) -> None:
        self._set_blocked(user_id, False, notify)

    def _set_blocked(self, chat_id: int, blocked: bool, notify: bool = True) -> None:
        """Block or unblock; ``notify=False`` skips the my_chat_member update (one the bot
        never got, e.g. because it asked for other update types), leaving only the 403."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"chat {chat_id} never talked to the bot")
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        if not notify:
            return
        bot_member = {"user": self.bot_user, "status": "member"}
        banned = {"user": self.bot_user, "status": "kicked", "until_date": 0}
        self._enqueue(
            "my_chat_member",
            {
                "chat": chat.as_dict(),
                "from": chat.user or self.users.get(chat_id) or self.bot_user,
                "date": int(self.clock()),
                "old_chat_member": bot_member if blocked else banned,
                "new_chat_member": banned if blocked else bot_member,
            },
        )

    def _chat_for_user(self, user: dict, chat_id: int | None, chat_type: str) -> _Chat:
        if chat_type == "private":
            if chat_id not in (None, user["id"]):
                raise ValueError("a private chat's id is the user's id")
            chat_id = user["id"]
        elif chat_id is None:
            raise ValueError(f"a {chat_type} chat needs an explicit (negative) chat_id")
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = _Chat(
                chat_id, chat_type, user if chat_type == "private" else None
            )
        elif chat.type == "private":
            chat.user = user
        return chat

    def _delivered_in_group(self, chat: _Chat, text: str, reply_to: int | None) -> bool:
        """Privacy mode: in groups bots see only commands, replies to them and mentions."""
        if chat.type == "private" or not self.privacy_mode:
            return True
        return (
            text.startswith("/")
            or f"@{self.bot_user['username']}".lower() in text.lower()
            or (reply_to is not None and reply_to in chat.bot_messages)
        )

    def _enqueue(self, kind: str, payload: dict) -> None:
        if kind in self.allowed_updates:
            self._last_update_id += 1
            self.updates.append({"update_id": self._last_update_id, kind: payload})
        self.on_change()

    # -- what the bot did ------------------------------------------------------------------

    def messages(
        self, chat_id: int | None = None, *, include_deleted: bool = False
    ) -> list[BotMessage]:
        if chat_id is not None:
            chat = self.chats.get(chat_id)
            found = list(chat.bot_messages.values()) if chat else []
        else:
            found = [self.chats[c].bot_messages[m] for c, m in self.bot_messages]
        return [m for m in found if include_deleted or not m.deleted]

    def message(self, chat_id: int, message_id: int) -> BotMessage | None:
        chat = self.chats.get(chat_id)
        return chat.bot_messages.get(message_id) if chat else None

    def user_message_deleted(self, chat_id: int, message_id: int) -> bool:
        chat = self.chats.get(chat_id)
        return bool(chat) and message_id in chat.deleted_user_messages

    def add_listener(self, listener: Callable[[BotMessage], None]) -> Callable[[], None]:
        """Call ``listener(message)`` whenever the bot sends, edits or deletes a message."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _store(self, msg: BotMessage) -> None:
        chat = self.chats[msg.chat_id]
        if msg.message_id not in chat.bot_messages:
            self.bot_messages.append((msg.chat_id, msg.message_id))
        chat.bot_messages[msg.message_id] = msg
        for listener in list(self._listeners):
            try:
                listener(msg)
            except Exception:  # a broken listener must not break the bot under test
                log.exception("TelegramSim message listener failed")
        self.on_change()

    # -- updates (the long-poll loop lives in the server) ----------------------------------

    def take_updates(self, offset: int | None, limit: int) -> list[dict]:
        """Confirm updates before ``offset`` and return up to ``limit`` pending ones."""
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if offset is not None:
            if offset < 0:
                while len(self.updates) > -offset:
                    self.updates.popleft()
            else:
                while self.updates and self.updates[0]["update_id"] < offset:
                    self.updates.popleft()
        return [self.updates[i] for i in range(min(limit, len(self.updates)))]

    def set_allowed_updates(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            value = json.loads(value)
        self.allowed_updates = frozenset(value) if value else DEFAULT_UPDATE_TYPES

    # -- helpers for methods ---------------------------------------------------------------

    def _chat(self, params: dict, *, writable: bool = True) -> _Chat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat = self.chats.get(int(raw))
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

    def _formatted(self, params: dict, field_name: str) -> tuple[str, str, list[dict], str | None]:
        """Return (as sent, plain text, entities, parse_mode) for text or caption."""
        raw = _get_str(params, field_name) or ""
        parse_mode = _get_str(params, "parse_mode") or None
        if parse_mode is None:
            entities = _get_json(params, f"{'caption_' if field_name == 'caption' else ''}entities")
            return raw, raw, list(entities or []), None
        mode = parse_mode.lower()
        if mode == "html":
            try:
                plain, entities = parse_html(raw)
            except HtmlError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
            return raw, plain, entities, parse_mode
        if mode in ("markdown", "markdownv2"):
            return raw, raw, [], parse_mode  # not parsed: this project sends HTML only
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")

    def _text(self, params: dict) -> tuple[str, str, list[dict], str | None]:
        raw, plain, entities, mode = self._formatted(params, "text")
        if not plain.strip():
            raise bad_request("message text is empty")
        if len(plain) > MAX_TEXT:  # code points, as measured against the real API
            raise bad_request("message is too long")
        return raw, plain, entities, mode

    def _caption(self, params: dict) -> tuple[str, str, list[dict], str | None]:
        raw, plain, entities, mode = self._formatted(params, "caption")
        if len(plain) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return raw, plain, entities, mode

    def _markup(self, params: dict) -> dict | None:
        markup = _get_json(params, "reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'can\'t parse inline keyboard button: field "inline_keyboard" must be an '
                    "Array of Arrays"
                )
            for row in rows:
                for button in row:
                    _check_inline_button(button)
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request("can't parse reply keyboard markup JSON object")
        elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup

    def _reply_to(self, params: dict, chat: _Chat) -> int | None:
        reply = _get_json(params, "reply_parameters") or {}
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        if message_id is None:
            message_id = _get_int(params, "reply_to_message_id")
        if message_id is None:
            return None
        if self._any_message(chat, int(message_id)) is None:
            allow = reply.get("allow_sending_without_reply") or _get_bool(
                params, "allow_sending_without_reply"
            )
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return int(message_id)

    def _any_message(self, chat: _Chat, message_id: int) -> dict | None:
        bot_msg = chat.bot_messages.get(message_id)
        if bot_msg is not None and not bot_msg.deleted:
            return self._message_dict(bot_msg)
        if message_id in chat.deleted_user_messages:
            return None
        return chat.user_messages.get(message_id)

    def _message_dict(self, msg: BotMessage, *, with_reply: bool = True) -> dict:
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
            data["photo"] = [
                {
                    "file_id": msg.photo_source or "",
                    "file_unique_id": f"u{msg.chat_id}_{msg.message_id}",
                    "width": 640,
                    "height": 480,
                }
            ]
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
        if with_reply and msg.reply_to is not None:
            replied = self._any_message(chat, msg.reply_to)
            if replied is not None:
                replied = {k: v for k, v in replied.items() if k != "reply_to_message"}
                data["reply_to_message"] = replied
        return data

    def _editable(self, params: dict, *, deleting: bool = False) -> tuple[_Chat, BotMessage]:
        verb = "delete" if deleting else "edit"
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the simulator")
        chat = self._chat(params, writable=not deleting)
        message_id = _get_int(params, "message_id")
        msg = chat.bot_messages.get(message_id) if message_id is not None else None
        if msg is None or msg.deleted:
            if not deleting and message_id in chat.user_messages:
                raise bad_request("message can't be edited")
            raise bad_request(f"message to {verb} not found")
        return chat, msg

    def _new_message(self, chat: _Chat, **fields: Any) -> BotMessage:
        now = self.clock()
        return BotMessage(
            message_id=chat.next_message_id(),
            chat_id=chat.id,
            sent_at=now,
            date=int(now),
            **fields,
        )

    # -- Bot API methods (m_<name>) ---------------------------------------------------------

    def m_getMe(self, params: dict) -> dict:
        return self.bot_user

    def m_logOut(self, params: dict) -> bool:
        return True

    def m_close(self, params: dict) -> bool:
        return True

    def m_deleteWebhook(self, params: dict) -> bool:
        self.webhook_url = ""
        if _get_bool(params, "drop_pending_updates"):
            self.updates.clear()
        return True

    def m_setWebhook(self, params: dict) -> bool:
        url = _get_str(params, "url") or ""
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if _get_bool(params, "drop_pending_updates"):
            self.updates.clear()
        self.set_allowed_updates(_get_json(params, "allowed_updates"))
        return True

    def m_getWebhookInfo(self, params: dict) -> dict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }

    def m_sendMessage(self, params: dict) -> dict:
        chat = self._chat(params)
        return self._send("sendMessage", chat, params, self._text(params))

    def _send(self, method: str, chat, params: dict, content: tuple, **extra) -> dict:
        """Deliver a new bot message (text or photo caption) under flood control."""
        raw, plain, entities, mode = content
        markup = self._markup(params)
        reply_to = self._reply_to(params, chat)
        self.flood.acquire(chat.id)
        msg = self._new_message(
            chat,
            html=raw,
            text=plain,
            reply_markup=markup,
            buttons=_inline_buttons(markup),
            parse_mode=mode,
            entities=tuple(entities),
            reply_to=reply_to,
            **extra,
        )
        self._store(msg)
        self._count_sent(method, chat.id)
        return self._message_dict(msg)

    def _count_sent(self, method: str, chat_id: int) -> None:
        self._sent[(method, chat_id)] += 1
        self._sent[(method, None)] += 1

    def m_sendPhoto(self, params: dict) -> dict:
        chat = self._chat(params)
        photo = params.get("photo")
        if isinstance(photo, Upload):
            self._file_counter += 1
            source = f"AgACAgSim{self._file_counter:08d}"
        elif isinstance(photo, str) and (
            photo.startswith(("http://", "https://")) or photo.startswith("AgACAgSim")
        ):
            source = photo
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return self._send("sendPhoto", chat, params, self._caption(params),
                          photo=True, photo_source=source)

    def m_editMessageText(self, params: dict) -> dict:
        chat, msg = self._editable(params)
        if msg.photo:
            raise bad_request("there is no text in the message to edit")
        return self._edit_content(msg, params, self._text(params))

    def m_editMessageCaption(self, params: dict) -> dict:
        chat, msg = self._editable(params)
        if not msg.photo:
            raise bad_request("there is no caption in the message to edit")
        return self._edit_content(msg, params, self._caption(params))

    def _edit_content(self, msg: BotMessage, params: dict, content: tuple) -> dict:
        """Replace a message's text (or caption) and markup, refusing a no-op like Telegram."""
        raw, plain, entities, mode = content
        markup = self._markup(params)
        if plain == msg.text and tuple(entities) == msg.entities and markup == msg.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        return self._edit(
            msg,
            html=raw,
            text=plain,
            entities=tuple(entities),
            parse_mode=mode,
            reply_markup=markup,
            buttons=_inline_buttons(markup),
        )

    def m_editMessageReplyMarkup(self, params: dict) -> dict:
        chat, msg = self._editable(params)
        markup = self._markup(params)
        if markup == msg.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        return self._edit(msg, reply_markup=markup, buttons=_inline_buttons(markup))

    def _edit(self, msg: BotMessage, **changes: Any) -> dict:
        edited = replace(msg, edited=msg.edited + 1, edit_date=int(self.clock()), **changes)
        self._store(edited)
        return self._message_dict(edited)

    def m_deleteMessage(self, params: dict) -> bool:
        chat = self._chat(params, writable=False)
        message_id = _get_int(params, "message_id")
        self._delete(chat, message_id)
        return True

    def m_deleteMessages(self, params: dict) -> bool:
        chat = self._chat(params, writable=False)
        ids = _get_json(params, "message_ids") or []
        found = [i for i in ids if self._deletable(chat, int(i))]
        if not found:
            raise bad_request("message to delete not found")
        for message_id in found:
            self._delete(chat, int(message_id))
        return True

    def _deletable(self, chat: _Chat, message_id: int) -> bool:
        bot_msg = chat.bot_messages.get(message_id)
        if bot_msg is not None:
            return not bot_msg.deleted
        return message_id in chat.user_messages and message_id not in chat.deleted_user_messages

    def _delete(self, chat: _Chat, message_id: int | None) -> None:
        if message_id is None or not self._deletable(chat, message_id):
            raise bad_request("message to delete not found")
        bot_msg = chat.bot_messages.get(message_id)
        if bot_msg is not None:
            self._store(replace(bot_msg, deleted=True))
        else:
            chat.deleted_user_messages.add(message_id)
            self.on_change()

    def m_answerCallbackQuery(self, params: dict) -> bool:
        query_id = _get_str(params, "callback_query_id")
        if query_id not in self.callback_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = _get_str(params, "text") or ""
        if len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answer_log[query_id].append(dict(params))
        return True

    def m_sendChatAction(self, params: dict) -> bool:
        self._chat(params)
        if _get_str(params, "action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def m_setMyCommands(self, params: dict) -> bool:
        commands = _get_json(params, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 256:
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
        chat = self._chat(params, writable=False)
        info = chat.as_dict()
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


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    elif "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    elif not any(
        key in button
        for key in (
            "switch_inline_query",
            "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat",
            "web_app",
            "login_url",
            "callback_game",
            "pay",
            "copy_text",
        )
    ):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )


def _scope_key(params: dict) -> tuple[str, str]:
    scope = _get_json(params, "scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), _get_str(params, "language_code") or ""
