"""HTTP front of the simulated Telegram, and the :class:`TelegramSim` API tests drive it with.

python-telegram-bot posts ``/bot<TOKEN>/<method>`` with form fields (objects JSON-encoded) or
multipart/form-data when uploading; JSON bodies and query strings work too. Responses are
``{"ok": true, "result": ...}`` or Telegram's error body with a matching HTTP status, so PTB
raises the same exceptions it would against api.telegram.org.

``getUpdates`` is real long polling: it parks until an update arrives or ``timeout`` passes,
and a newer ``getUpdates`` ends a parked one with 409 Conflict, as Telegram does.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import threading
import time
from functools import partial
from typing import Any, Awaitable, Callable, TypeVar

from aiohttp import web

from .state import ApiCall, ApiError, BotMessage, TelegramState, Upload

log = logging.getLogger(__name__)

T = TypeVar("T")

# Form fields PTB sends as raw strings; every other field is JSON-encoded by PTB and decoded here.
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "photo",
        "action",
        "language_code",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "description",
        "short_description",
        "name",
    }
)
_dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


class _Changes:
    """Wakes every waiter after a change; capture ``event`` before checking to miss nothing."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def notify(self) -> None:
        event, self.event = self.event, asyncio.Event()
        event.set()


class TelegramSim:
    """A Telegram Bot API server on 127.0.0.1 for one bot token, plus the users who talk to it."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        clock: Callable[[], float] = time.time,
        bot_username: str = "perpwatch_test_bot",
        bot_name: str = "perpwatch",
        privacy_mode: bool = True,
    ) -> None:
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.token = token
        self.clock = clock
        self._changes = _Changes()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = False
        self._poller: object | None = None  # the getUpdates request currently parked
        self.state = TelegramState(
            bot_id=bot_id,
            bot_username=bot_username,
            bot_name=bot_name,
            clock=clock,
            privacy_mode=privacy_mode,
            on_change=self._notify,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._changes = _Changes()
        self._closing = False
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._host = host
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release parked long polls and close the server."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("TelegramSim is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Value for TELEGRAM_API_BASE_URL / ``ApplicationBuilder().base_url``."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def is_polling(self) -> bool:
        """Whether a getUpdates long poll is parked right now (the bot is listening)."""
        return self._poller is not None

    def _notify(self) -> None:
        if (
            self._loop is not None
            and self._loop_thread != threading.get_ident()
            and self._loop.is_running()
        ):
            self._loop.call_soon_threadsafe(self._changes.notify)
        else:
            self._changes.notify()

    # -- HTTP ------------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error_response(ApiError(404, "Not Found"))

    async def _handle(self, request: web.Request) -> web.Response:
        arrival = self.clock()
        method = request.match_info["method"]
        params: dict = {}
        name = method
        try:
            params = await _read_params(request)
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            name = self.state.canonical(method)
            if name == "getUpdates":
                result = await self._get_updates(request, params)
                if result is None:  # the client hung up while parked: nobody to answer
                    return web.Response(status=499)
            else:
                result = self.state.execute(name, params)
        except ApiError as exc:
            self.state.record(ApiCall(name, params, arrival, False, exc.code, exc.description))
            return _error_response(exc)
        except Exception as exc:  # a simulator bug: answer like Telegram's 500, loudly
            log.exception("TelegramSim failed on %s", name)
            error = ApiError(500, f"Internal Server Error: simulator failed: {exc!r}")
            self.state.record(ApiCall(name, params, arrival, False, 500, error.description))
            return _error_response(error)
        self.state.record(ApiCall(name, params, arrival, True, result=result))
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    async def _get_updates(self, request: web.Request, params: dict) -> list[dict] | None:
        fault = self.state.take_fault("getUpdates")
        if fault is not None:
            raise fault.error()
        offset = _int_param(params, "offset")
        limit = min(max(_int_param(params, "limit") or 100, 1), 100)
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: wrong parameter timeout") from None
        self.state.set_allowed_updates(params.get("allowed_updates"))
        updates = self.state.take_updates(offset, limit)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if updates or timeout <= 0 or self._closing:
            self._poller = None  # a newer getUpdates supersedes a parked one
            self._notify()
            return updates
        me = self._poller = object()
        self._notify()  # ends an older parked getUpdates with 409
        try:
            while True:
                event = self._changes.event
                if self._poller is not me:
                    if request.transport is None or request.transport.is_closing():
                        return None  # abandoned (PTB cancels its poll on shutdown)
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running",
                    )
                # offset was applied above; later rounds only look for new updates
                updates = self.state.take_updates(None, limit)
                remaining = deadline - loop.time()
                if updates or remaining <= 0 or self._closing:
                    return updates
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    pass
        finally:
            if self._poller is me:
                self._poller = None

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
        """The user writes ``text``; returns the Message dict the bot will receive.

        In groups privacy mode applies: only commands, mentions and replies to the bot reach it.
        Writing in a private chat that blocked the bot unblocks it first, as the app does.
        """
        return self.state.user_sends(
            user_id,
            text,
            chat_id=chat_id,
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            reply_to=reply_to,
        )

    def user_presses(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> str:
        """The user taps the inline button with ``data``; returns the callback query id."""
        return self.state.user_presses(user_id, message_id, data, chat_id=chat_id)

    def user_blocks_bot(self, user_id: int, *, notify: bool = True) -> None:
        """Later sends to the user answer 403; ``notify`` also sends my_chat_member (kicked)."""
        self.state.user_blocks_bot(user_id, notify=notify)
        self._notify()

    def user_unblocks_bot(self, user_id: int, *, notify: bool = True) -> None:
        self.state.user_unblocks_bot(user_id, notify=notify)
        self._notify()

    # -- what the bot did ------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        return self.state.calls

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.state.calls if c.method == method]

    def messages(
        self, chat_id: int | None = None, *, include_deleted: bool = False
    ) -> list[BotMessage]:
        return self.state.messages(chat_id, include_deleted=include_deleted)

    def message(self, chat_id: int, message_id: int) -> BotMessage | None:
        return self.state.message(chat_id, message_id)

    def user_message_deleted(self, chat_id: int, message_id: int) -> bool:
        return self.state.user_message_deleted(chat_id, message_id)

    def callback_answers(self, callback_query_id: str) -> list[dict]:
        return list(self.state.callback_answer_log.get(callback_query_id, []))

    @property
    def commands(self) -> list[dict]:
        return self.state.commands

    def sent_count(self, chat_id: int | None = None, method: str = "sendMessage") -> int:
        return self.state.sent_count(chat_id, method)

    def add_listener(self, listener: Callable[[BotMessage], None]) -> Callable[[], None]:
        """Call ``listener(message)`` on every send, edit and delete; returns an unsubscribe."""
        return self.state.add_listener(listener)

    # -- flood control and faults ----------------------------------------------------------

    def set_flood_limits(
        self,
        global_per_second: float | None = None,
        per_chat_per_second: float | None = None,
    ) -> None:
        self.state.flood.configure(global_per_second, per_chat_per_second)

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
        """Answer the next ``times`` calls of ``method`` with this error instead of running them.

        400 → BadRequest, 403 → Forbidden, 429 → RetryAfter(retry_after), 5xx → NetworkError,
        409 → Conflict, 401/404 → InvalidToken.
        With ``deliver=True`` the call still takes effect (the message is sent) and only the
        answer is an error, which is how duplicates happen in production.
        """
        self.state.fail_next(
            method,
            error_code=error_code,
            retry_after=retry_after,
            description=description,
            times=times,
            deliver=deliver,
        )

    def clear_faults(self) -> None:
        """Drop every error queued with :meth:`fail_next` (flood limits stay as set)."""
        self.state.faults.clear()

    def reset(self) -> None:
        self.state.reset()

    # -- waiting ---------------------------------------------------------------------------

    async def _wait(
        self, check: Callable[[], T | None], timeout: float, poll: float | None = None
    ) -> T | None:
        """Re-run ``check`` after every change (and every ``poll`` s) until truthy or timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changes.event
            found = check()
            if inspect.isawaitable(found):
                found = await found
            if found:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(event.wait(), min(remaining, poll or remaining))
            except TimeoutError:
                pass

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str | None = None,
        *,
        predicate: Callable[[BotMessage], bool] | None = None,
        timeout: float = 10.0,
        after: int = 0,
    ) -> BotMessage:
        """First live bot message in ``chat_id`` with id > ``after`` that matches.

        ``contains`` is looked for in the plain text and in the HTML as sent.
        """

        def check() -> BotMessage | None:
            for msg in self.state.messages(chat_id):
                if msg.message_id <= after:
                    continue
                if contains is not None and contains not in msg.text and contains not in msg.html:
                    continue
                if predicate is not None and not predicate(msg):
                    continue
                return msg
            return None

        found = await self._wait(check, timeout)
        if found is None:
            wanted = f"containing {contains!r}" if contains is not None else "matching"
            raise TimeoutError(
                f"no bot message {wanted} in chat {chat_id} (id > {after}) within {timeout}s\n"
                + self.describe_chat(chat_id)
            )
        return found

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> ApiCall:
        """First recorded call of ``method`` matching ``predicate``, from ``calls[since:]``."""

        def check() -> ApiCall | None:
            calls = self.state.calls
            for i in range(since, len(calls)):
                call = calls[i]
                if call.method == method and (predicate is None or predicate(call)):
                    return call
            return None

        found = await self._wait(check, timeout)
        if found is None:
            seen = [c for c in self.state.calls[since:] if c.method == method]
            raise TimeoutError(
                f"no matching {method} call within {timeout}s; {len(seen)} {method} calls seen: "
                + "; ".join(_describe_call(c) for c in seen[-5:])
            )
        return found

    async def wait_until(
        self,
        predicate: Callable[[], bool | Awaitable[bool]],
        timeout: float = 10.0,
    ) -> None:
        """Wait until ``predicate()`` holds; re-checked on every change and every 20 ms."""
        if not await self._wait(predicate, timeout, poll=0.02):
            raise TimeoutError(
                f"condition {getattr(predicate, '__name__', predicate)!r} not met within "
                f"{timeout}s; last calls: "
                + "; ".join(_describe_call(c) for c in self.state.calls[-5:])
            )

    def describe_chat(self, chat_id: int) -> str:
        """A short dump of a chat for failure messages."""
        chat = self.state.chats.get(chat_id)
        if chat is None:
            return f"chat {chat_id} never talked to the bot"
        lines = [f"chat {chat_id} ({chat.type}{', blocked' if chat.blocked else ''}) holds:"]
        for msg in self.state.messages(chat_id, include_deleted=True)[-10:]:
            flags = "".join(
                f" [{f}]" for f, on in (("deleted", msg.deleted), ("photo", msg.photo)) if on
            )
            edited = f" [edited x{msg.edited}]" if msg.edited else ""
            lines.append(f"  #{msg.message_id}{flags}{edited}: {msg.text[:120]!r}")
        if len(lines) == 1:
            lines.append("  no bot messages")
        failures = [c for c in self.state.calls if not c.ok and c.chat_id == chat_id][-5:]
        lines += [f"  failed: {_describe_call(c)}" for c in failures]
        return "\n".join(lines)


async def _read_params(request: web.Request) -> dict:
    """Decode query string plus JSON, urlencoded or multipart body into typed params."""
    params: dict[str, Any] = {k: _decode_field(k, v) for k, v in request.query.items()}
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON body") from None
        if isinstance(body, dict):
            params.update(body)
        return params
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = Upload(value.filename, value.content_type, value.file.read())
        else:
            params[key] = _decode_field(key, value)
    return params


def _decode_field(name: str, value: str) -> Any:
    if name in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. "@channelname"


def _int_param(params: dict, name: str) -> int | None:
    value = params.get(name)
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: wrong parameter {name}") from None


def _error_response(exc: ApiError) -> web.Response:
    return web.json_response(exc.body(), status=exc.code, dumps=_dumps)


def _describe_call(call: ApiCall) -> str:
    outcome = "ok" if call.ok else f"{call.error_code} {call.description}"
    text = call.params.get("text") or call.params.get("caption")
    shown = f" {str(text)[:60]!r}" if text else ""
    return f"{call.method}(chat {call.params.get('chat_id')}){shown} -> {outcome}"
