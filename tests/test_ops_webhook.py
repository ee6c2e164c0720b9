"""Webhook mode: Telegram (the simulator) posts updates with the secret header; anything else
posting to the endpoint is refused and changes nothing."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from bot.serve import EXIT_CONFIG, Runner
from tests.e2e.conftest import USER, bot_settings, cg, tg  # noqa: F401  (fixtures)
from tests.ops_support import eventually_health, free_port, serving

HOOK = "/telegram-hook"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def webhook_settings(tmp_path, tg, cg, port):  # noqa: F811
    return bot_settings(tg, cg, tmp_path / "perpwatch.db", PORT=str(port),
                        WEBHOOK_URL=f"http://127.0.0.1:{port}{HOOK}")


def update(update_id: int, user: int, text: str) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 1_700_000_000, "text": text,
        "from": {"id": user, "is_bot": False, "first_name": "Mallory"},
        "chat": {"id": user, "type": "private", "first_name": "Mallory"},
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}}


async def test_updates_arrive_by_webhook_with_the_secret_and_are_answered(
        webhook_settings, tg, port):  # noqa: F811
    async with serving(webhook_settings) as runner:
        assert tg.webhook is not None and tg.webhook.url == f"http://127.0.0.1:{port}{HOOK}"
        secret = tg.webhook.secret_token
        assert secret == runner.webhook.secret_token and len(secret) >= 32
        assert not tg.calls_to("getUpdates")              # no polling in webhook mode
        (call,) = tg.calls_to("setWebhook")
        assert call.params.get("drop_pending_updates") in (None, False, "false", "False")

        tg.user_sends(USER, "/start")
        reply = await tg.wait_for_message(USER, "Welcome", timeout=15)
        assert reply.text
        assert [a.status for a in tg.webhook_attempts] == [200]

        health = await eventually_health(port, 200)
        assert health["mode"] == "webhook" and health["database"] == "ok"


async def test_a_new_secret_on_every_start(webhook_settings, tg):  # noqa: F811
    secrets = []
    for _ in range(2):
        async with serving(webhook_settings):
            secrets.append(tg.webhook.secret_token)
    assert secrets[0] != secrets[1]


@pytest.mark.parametrize("headers, body, status", [
    ({}, None, 403),                                               # no secret
    ({"X-Telegram-Bot-Api-Secret-Token": "guessed"}, None, 403),   # wrong secret
    ({"X-Telegram-Bot-Api-Secret-Token": "ü".encode() * 40}, None, 403),  # not even ASCII
    ("right", "not json at all", 400),
    ("right", json.dumps({"no": "update"}), 400),
])
async def test_forged_or_broken_requests_are_refused_and_change_nothing(
        webhook_settings, tg, port, headers, body, status):  # noqa: F811
    intruder = 666
    async with serving(webhook_settings) as runner:
        if headers == "right":
            headers = {"X-Telegram-Bot-Api-Secret-Token": runner.webhook.secret_token}
        content = body if body is not None else json.dumps(update(99, intruder, "/start"))
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"http://127.0.0.1:{port}{HOOK}", content=content,
                                       headers={"Content-Type": "application/json", **headers})
        assert answer.status_code == status
        # The real user is still served, and nothing of the intruder's reached the bot.
        tg.user_sends(USER, "/start")
        await tg.wait_for_message(USER, "Welcome", timeout=15)
        svc = runner.app.bot_data["services"]
        assert svc.repo.get_user(intruder) is None
        assert tg.messages(intruder) == []
        assert runner.web.refused == 1


async def test_the_right_secret_but_not_json_is_refused(webhook_settings, port):
    async with serving(webhook_settings) as runner:
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"http://127.0.0.1:{port}{HOOK}", data={"update_id": "1"},
                headers={"X-Telegram-Bot-Api-Secret-Token": runner.webhook.secret_token})
        assert answer.status_code == 403


async def test_a_webhook_url_telegram_refuses_stops_with_one_line(
        tmp_path, tg, cg, caplog):  # noqa: F811
    settings = bot_settings(tg, cg, tmp_path / "perpwatch.db", PORT=str(free_port()),
                            WEBHOOK_URL="https://bot.example.com:8080/hook")
    caplog.set_level(logging.INFO)
    code = await asyncio.wait_for(Runner(settings, host="127.0.0.1").run(), 30)
    assert code == EXIT_CONFIG
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].exc_info is None
    line = errors[0].getMessage()
    assert "WEBHOOK_URL" in line and "ports 80, 88, 443 or 8443" in line and "\n" not in line
