"""Webhook delivery: updates POSTed in order with the secret header, retried until accepted."""

from __future__ import annotations

import socket
from collections import deque

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from sim.telegram import TelegramSim

TOKEN = "123456:TEST-TOKEN"
USER = 4242
SECRET = "s3cret-Token_1"


class Receiver:
    """The bot's webhook endpoint: records every POST, answers the statuses queued (else 200)."""

    def __init__(self) -> None:
        self.log: list[tuple[dict, dict, int]] = []  # (headers, update, status answered)
        self.statuses: deque[int] = deque()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def requests(self) -> list[tuple[dict, dict]]:
        return [(headers, update) for headers, update, _ in self.log]

    def accepted(self) -> list[dict]:
        return [update for _, update, status in self.log if status < 300]

    async def _hook(self, request: web.Request) -> web.Response:
        status = self.statuses.popleft() if self.statuses else 200
        self.log.append((dict(request.headers), await request.json(), status))
        return web.Response(status=status)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def texts(updates: list[dict]) -> list[str]:
    return [u["message"]["text"] for u in updates]


@pytest.fixture
async def tg():
    async with TelegramSim(token=TOKEN, webhook_backoff=(0.02, 0.2)) as sim:
        yield sim


@pytest.fixture
async def bot(tg):
    async with Bot(TOKEN, base_url=tg.base_url) as bot:
        yield bot


@pytest.fixture
async def receiver():
    hook = Receiver()
    await hook.start()
    yield hook
    await hook.stop()


async def test_updates_are_posted_with_the_secret_header(tg, bot, receiver):
    assert await bot.set_webhook(
        receiver.url, secret_token=SECRET, allowed_updates=["message"], max_connections=5
    )
    tg.user_sends(USER, "/start")
    await tg.wait_until(lambda: receiver.accepted() and tg.pending_update_count == 0, timeout=5)
    ((headers, update),) = receiver.requests
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == SECRET
    assert headers["Content-Type"].startswith("application/json")
    assert update["message"]["text"] == "/start" and update["update_id"] > 0
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.max_connections) == (receiver.url, 0, 5)
    assert info.allowed_updates == ("message",) and info.last_error_date is None


async def test_no_header_without_a_secret_token(tg, bot, receiver):
    await bot.set_webhook(receiver.url)
    tg.user_sends(USER, "hi")
    await tg.wait_until(lambda: receiver.accepted(), timeout=5)
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.requests[0][0]


async def test_a_500_answer_is_recorded_and_the_update_retried(tg, bot, receiver):
    receiver.statuses.extend([500, 500])
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    sent = tg.user_sends(USER, "/start")
    # The receiver has answered before the simulator reads that answer and records the attempt.
    await tg.wait_until(lambda: receiver.accepted() and len(tg.webhook_attempts) == 3, timeout=5)
    assert [u["message"]["message_id"] for _, u in receiver.requests] == [sent["message_id"]] * 3
    assert [a.status for a in tg.webhook_attempts] == [500, 500, 200]
    gap = tg.webhook_attempts[2].time - tg.webhook_attempts[1].time
    assert gap >= 0.03  # the back-off doubled from 0.02 s
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None and info.pending_update_count == 0


async def test_order_is_kept_while_an_update_is_being_retried(tg, bot, receiver):
    receiver.statuses.extend([503, 500, 502])
    await bot.set_webhook(receiver.url)
    for word in ("one", "two", "three", "four"):
        tg.user_sends(USER, word)
    await tg.wait_until(lambda: len(receiver.accepted()) == 4 and tg.pending_update_count == 0,
                        timeout=5)
    assert texts([u for _, u in receiver.requests]) == ["one"] * 4 + ["two", "three", "four"]
    ids = [u["update_id"] for u in receiver.accepted()]
    assert ids == sorted(ids) and tg.pending_update_count == 0


async def test_an_unreachable_webhook_is_retried_until_it_answers(tg, bot):
    port = free_port()
    receiver = Receiver()
    await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
    tg.user_sends(USER, "anyone there?")
    await tg.wait_until(lambda: len(tg.webhook_attempts) >= 2, timeout=5)
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Connection refused" and info.pending_update_count == 1
    await receiver.start(port)
    try:
        await tg.wait_until(lambda: receiver.accepted() and tg.pending_update_count == 0,
                            timeout=5)
    finally:
        await receiver.stop()
    assert texts(receiver.accepted()) == ["anyone there?"] and tg.pending_update_count == 0


async def test_get_updates_conflicts_while_a_webhook_is_set(tg, bot, receiver):
    receiver.statuses.extend([500] * 1000)  # keep the update pending
    await bot.set_webhook(receiver.url)
    tg.user_sends(USER, "pending")
    with pytest.raises(Conflict, match="(?i)can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    assert tg.calls[-1].error_code == 409
    assert tg.calls[-1].description == (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first"
    )


async def test_delete_webhook_returns_to_get_updates(tg, bot, receiver):
    receiver.statuses.extend([500] * 1000)
    await bot.set_webhook(receiver.url)
    tg.user_sends(USER, "kept")
    await tg.wait_until(lambda: tg.webhook_attempts, timeout=5)
    assert await bot.delete_webhook()
    assert tg.webhook is None and (await bot.get_webhook_info()).url == ""
    attempts = len(tg.webhook_attempts)
    (update,) = await bot.get_updates()
    assert update.message.text == "kept"
    assert len(tg.webhook_attempts) <= attempts + 1  # at most the POST already in flight

    await bot.set_webhook(receiver.url)
    tg.user_sends(USER, "dropped")
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(offset=update.update_id + 1) == ()


@pytest.mark.parametrize(
    ("url", "secret", "reason"),
    [
        ("http://bot.example.com/hook", None, "An HTTPS URL must be provided for webhook"),
        ("https://bot.example.com:8080/hook", None, "ports 80, 88, 443 or 8443"),
        ("https://bot.example.com/hook", "has:colon", "secret token contains unallowed characters"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(tg, bot, url, secret, reason):
    with pytest.raises(BadRequest, match=f"(?i){reason}"):
        await bot.set_webhook(url, secret_token=secret)
    assert tg.webhook is None
