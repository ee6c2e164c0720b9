"""Start-up failures an operator meets: a wrong token, a second instance, Telegram unreachable."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from telegram import Bot
from telegram.error import Conflict, InvalidToken, NetworkError

from sim.telegram import TelegramSim

TOKEN = "123456:TEST-TOKEN"
ROOT = Path(__file__).resolve().parents[2]
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def eventually(check, timeout: float = 10.0):
    """Poll an async ``check`` until it returns truthy; its last exception on the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            result = await check()
            if result:
                return result
        except (httpx.HTTPError, NetworkError):
            if loop.time() > deadline:
                raise
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


@pytest.fixture
async def tg():
    async with TelegramSim(token=TOKEN) as sim:
        yield sim


@pytest.mark.parametrize(
    "method", ["getMe", "getUpdates", "sendMessage", "setWebhook", "deleteWebhook", "noSuchMethod"]
)
async def test_any_other_token_is_unauthorized_on_every_method(tg, method):
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{tg.base_url}123456:WRONG/{method}", data={"chat_id": "1"})
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_ptb_reports_a_wrong_token_as_invalid_on_start_up(tg):
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("123456:WRONG", base_url=tg.base_url):  # initialize() calls getMe
            pass
    assert [(c.method, c.error_code) for c in tg.calls] == [("getMe", 401)]


async def test_another_instance_polling_conflicts_until_it_stops(tg):
    async with Bot(TOKEN, base_url=tg.base_url) as bot:
        parked = asyncio.create_task(bot.get_updates(timeout=5))
        await tg.wait_until(lambda: tg.is_polling, timeout=2)
        tg.simulate_conflict(True)
        with pytest.raises(Conflict, match="(?i)terminated by other getUpdates request"):
            await asyncio.wait_for(parked, 2)  # the parked poll ends at once
        with pytest.raises(Conflict):
            await bot.get_updates()
        assert [c.description for c in tg.calls_to("getUpdates")] == [CONFLICT, CONFLICT]
        assert await bot.get_me()  # other methods still work
        tg.simulate_conflict(False)
        tg.user_sends(1, "/start")
        assert [u.message.text for u in await bot.get_updates()] == ["/start"]


async def test_telegram_unreachable_then_reachable_on_a_fixed_port():
    port = free_port()
    tg = TelegramSim(token=TOKEN, port=port)
    assert tg.base_url == f"http://127.0.0.1:{port}/bot"  # known before the server starts
    bot = Bot(TOKEN, base_url=tg.base_url)
    with pytest.raises(NetworkError):
        await bot.initialize()  # the bot starts first: nothing listens yet
    await tg.start()
    try:
        await bot.initialize()
        assert bot.username == "perpwatch_test_bot"
        await tg.stop()  # Telegram goes away and comes back on the same port
        with pytest.raises(NetworkError):
            await bot.get_me()
        await tg.start()
        assert await bot.get_me()
    finally:
        await bot.shutdown()
        await tg.stop()


async def test_python_m_sim_telegram_serves_a_fixed_port_and_types_user_lines():
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sim.telegram", "--port", str(port), "--user-id", "77",
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        base_url = f"http://127.0.0.1:{port}/bot"
        async with httpx.AsyncClient() as client:
            await eventually(lambda: client.post(f"{base_url}{TOKEN}/getMe"))
        async with Bot(TOKEN, base_url=base_url) as bot:
            proc.stdin.write(b"/start\n")
            await proc.stdin.drain()
            updates = await eventually(lambda: bot.get_updates(timeout=1))
            assert updates[0].message.text == "/start" and updates[0].message.chat.id == 77
            await bot.send_message(77, "<b>hi</b>", parse_mode="HTML")
            assert "] hi" in (await asyncio.wait_for(_read_until(proc, b"] hi"), 10))
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0


async def _read_until(proc, marker: bytes) -> str:
    seen = b""
    while marker not in seen:
        line = await proc.stdout.readline()
        if not line:
            break
        seen += line
    return seen.decode()
