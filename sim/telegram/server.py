"""HTTP front of the simulated Telegram, and the :class:`TelegramSim` API tests drive it with.

``getUpdates`` is real long polling: it parks until an update arrives or ``timeout`` passes,
and a newer ``getUpdates`` ends a parked one with 409 Conflict, as Telegram does. With a
webhook set, updates are pushed instead (``webhook.py``) and ``getUpdates`` answers 409.

Start-up failures an operator meets can be staged: a wrong token answers 401 on every method,
:meth:`TelegramSim.simulate_conflict` plays another instance polling the same token, and a
fixed ``port`` lets a test start the bot before Telegram is reachable.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Awaitable, Callable

from aiohttp import web

from .errors import CONFLICT_OTHER_POLL, UNAUTHORIZED, ApiError
from .flood import FloodLimits
from .models import ApiCall, BotMessage
from .state import TelegramState
from .updates import Webhook
from .waiting import Changes, wait_for
from .webhook import WebhookAttempt, WebhookPusher
from .wire import describe_call, error_response, int_param, ok_response, read_params

log = logging.getLogger(__name__)


class TelegramSim:
    """A Telegram Bot API server on 127.0.0.1 for one bot token, plus the users who talk to it.

    ``flood`` defaults to Telegram's published limits (see ``flood.py``); ``None`` admits every
    send. ``port`` fixes the port (0: any free one); with a fixed port ``base_url`` is known
    before :meth:`start`. ``webhook_backoff`` is the first and the longest pause between
    webhook delivery attempts, in seconds.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        clock: Callable[[], float] = time.time,
        flood: FloodLimits | None = FloodLimits.telegram(),
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "perpwatch_test_bot",
        bot_name: str = "perpwatch",
        privacy_mode: bool = True,
        webhook_backoff: tuple[float, float] = (0.05, 2.0),
    ) -> None:
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.token = token
        self.clock = clock
        self._host, self._fixed_port = host, port
        self._changes = Changes()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = False
        self._conflict = False
        self._poller: object | None = None  # the getUpdates request currently parked
        self.state = TelegramState(
            bot_id=bot_id,
            bot_username=bot_username,
            bot_name=bot_name,
            clock=clock,
            flood=flood,
            privacy_mode=privacy_mode,
            on_change=self._notify,
        )
        first_retry, max_retry = webhook_backoff
        self._webhook = WebhookPusher(
            self.state.updates,
            clock,
            lambda: self._changes.event,
            first_retry=first_retry,
            max_retry=max_retry,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        """Listen on ``host:port`` (defaults: the constructor's) and start webhook delivery."""
        self._host = host or self._host
        port = self._fixed_port if port is None else port
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._changes = Changes()
        self._closing = False
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self._port = self._runner.addresses[0][1]
        await self._webhook.start()

    async def stop(self) -> None:
        """Release parked long polls, stop webhook delivery and close the server."""
        self._closing = True
        self._notify()
        await self._webhook.stop()
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
        port = self._port or self._fixed_port
        if not port:
            raise RuntimeError("TelegramSim is not started and has no fixed port")
        return port

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
        return error_response(ApiError(404, "Not Found"))

    async def _handle(self, request: web.Request) -> web.Response:
        arrival = self.clock()
        method = request.match_info["method"]
        params: dict = {}
        name = method
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, UNAUTHORIZED)
            params = await read_params(request)
            name = self.state.canonical(method)
            if name == "getUpdates":
                result = await self._get_updates(request, params)
                if result is None:  # the client hung up while parked: nobody to answer
                    return web.Response(status=499)
            else:
                result = self.state.execute(name, params)
        except ApiError as exc:
            self.state.record(ApiCall(name, params, arrival, False, exc.code, exc.description))
            return error_response(exc)
        except ConnectionResetError:  # the client hung up mid-request: nobody to answer
            return web.Response(status=499)
        except Exception as exc:  # a simulator bug: answer like Telegram's 500, loudly
            log.exception("TelegramSim failed on %s", name)
            error = ApiError(500, f"Internal Server Error: simulator failed: {exc!r}")
            self.state.record(ApiCall(name, params, arrival, False, 500, error.description))
            return error_response(error)
        self.state.record(ApiCall(name, params, arrival, True, result=result))
        return ok_response(result)

    async def _get_updates(self, request: web.Request, params: dict) -> list[dict] | None:
        fault = self.state.take_fault("getUpdates")
        if fault is not None:
            raise fault.error()
        if self._conflict:
            raise ApiError(409, CONFLICT_OTHER_POLL)
        updates_queue = self.state.updates
        offset = int_param(params, "offset")
        limit = min(max(int_param(params, "limit") or 100, 1), 100)
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: wrong parameter timeout") from None
        updates = updates_queue.take(offset, limit)
        updates_queue.set_allowed(params.get("allowed_updates"))
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
                if self._poller is not me or self._conflict:
                    if request.transport is None or request.transport.is_closing():
                        return None  # abandoned (PTB cancels its poll on shutdown)
                    raise ApiError(409, CONFLICT_OTHER_POLL)
                # offset was applied above; later rounds only look for new updates
                updates = updates_queue.take(None, limit)
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
        return self.state.users.sends(
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
        return self.state.users.presses(user_id, message_id, data, chat_id=chat_id)

    def user_blocks_bot(self, user_id: int, *, notify: bool = True) -> None:
        """Later sends to the user answer 403; ``notify`` also sends my_chat_member (kicked)."""
        self.state.users.blocks(user_id, notify=notify)
        self._notify()

    def user_unblocks_bot(self, user_id: int, *, notify: bool = True) -> None:
        self.state.users.unblocks(user_id, notify=notify)
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
        return self.state.store.messages(chat_id, include_deleted=include_deleted)

    def message(self, chat_id: int, message_id: int) -> BotMessage | None:
        return self.state.store.message(chat_id, message_id)

    def user_message_deleted(self, chat_id: int, message_id: int) -> bool:
        return self.state.store.user_message_deleted(chat_id, message_id)

    def callback_answers(self, callback_query_id: str) -> list[dict]:
        return list(self.state.store.callback_answers.get(callback_query_id, []))

    @property
    def commands(self) -> list[dict]:
        return self.state.api.commands

    def sent_count(self, chat_id: int | None = None, method: str = "sendMessage") -> int:
        return self.state.sent_count(chat_id, method)

    def add_listener(self, listener: Callable[[BotMessage], None]) -> Callable[[], None]:
        """Call ``listener(message)`` on every send, edit and delete; returns an unsubscribe."""
        return self.state.store.add_listener(listener)

    # -- flood control ---------------------------------------------------------------------

    @property
    def flood_limits(self) -> FloodLimits | None:
        return self.state.flood.limits

    def set_flood(self, limits: FloodLimits | None) -> None:
        """Enforce ``limits`` from now on (``None``: off); sends already made still count."""
        self.state.flood.configure(limits)

    def count_429(self, chat_id: int | None = None) -> int:
        """429 answers given so far (flood control and injected ones), optionally in one chat."""
        return self.state.count_errors(429, chat_id)

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """Clock times of accepted sends, oldest first: every chat's, or one chat's."""
        return self.state.flood.send_times(chat_id)

    def max_sends_in_window(self, seconds: float, chat_id: int | None = None) -> int:
        """The most accepted sends in any window of ``seconds`` (bot-wide, or in one chat)."""
        return self.state.flood.max_in_window(seconds, chat_id)

    # -- faults ----------------------------------------------------------------------------

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

    def simulate_conflict(self, on: bool = True) -> None:
        """Play another instance polling this token: getUpdates answers 409 until switched off."""
        self._conflict = on
        self._notify()  # ends a parked getUpdates with the 409 at once

    def reset(self) -> None:
        """Forget chats, messages, calls, webhook and faults; keep identity and flood limits."""
        self.state.reset()

    # -- webhook ---------------------------------------------------------------------------

    @property
    def webhook(self) -> Webhook | None:
        """What setWebhook configured, or ``None`` while the bot uses getUpdates."""
        return self.state.updates.webhook

    @property
    def webhook_attempts(self) -> list[WebhookAttempt]:
        """Every webhook POST so far, in order, with the answer or error it met."""
        return list(self._webhook.attempts)

    @property
    def pending_update_count(self) -> int:
        return len(self.state.updates)

    # -- waiting ---------------------------------------------------------------------------

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
            for msg in self.messages(chat_id):
                if msg.message_id <= after:
                    continue
                if contains is not None and contains not in msg.text and contains not in msg.html:
                    continue
                if predicate is not None and not predicate(msg):
                    continue
                return msg
            return None

        found = await wait_for(self._changes, check, timeout)
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

        found = await wait_for(self._changes, check, timeout)
        if found is None:
            seen = [c for c in self.state.calls[since:] if c.method == method]
            raise TimeoutError(
                f"no matching {method} call within {timeout}s; {len(seen)} {method} calls seen: "
                + "; ".join(describe_call(c) for c in seen[-5:])
            )
        return found

    async def wait_until(
        self,
        predicate: Callable[[], bool | Awaitable[bool]],
        timeout: float = 10.0,
    ) -> None:
        """Wait until ``predicate()`` holds; re-checked on every change and every 20 ms."""
        if not await wait_for(self._changes, predicate, timeout, poll=0.02):
            raise TimeoutError(
                f"condition {getattr(predicate, '__name__', predicate)!r} not met within "
                f"{timeout}s; last calls: "
                + "; ".join(describe_call(c) for c in self.state.calls[-5:])
            )

    def describe_chat(self, chat_id: int) -> str:
        """A short dump of a chat for failure messages."""
        chat = self.state.store.chats.get(chat_id)
        if chat is None:
            return f"chat {chat_id} never talked to the bot"
        lines = [f"chat {chat_id} ({chat.type}{', blocked' if chat.blocked else ''}) holds:"]
        for msg in self.messages(chat_id, include_deleted=True)[-10:]:
            flags = "".join(
                f" [{f}]" for f, on in (("deleted", msg.deleted), ("photo", msg.photo)) if on
            )
            edited = f" [edited x{msg.edited}]" if msg.edited else ""
            lines.append(f"  #{msg.message_id}{flags}{edited}: {msg.text[:120]!r}")
        if len(lines) == 1:
            lines.append("  no bot messages")
        failures = [c for c in self.state.calls if not c.ok and c.chat_id == chat_id][-5:]
        lines += [f"  failed: {describe_call(c)}" for c in failures]
        return "\n".join(lines)
