"""End-to-end harness: both simulators on 127.0.0.1 and the production Application between them.

The bot is configured only through the documented environment variables, exactly as
``python -m bot`` would be, and runs with the same lifecycle as ``run_polling``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

import pytest
from cryptography.fernet import Fernet

from bot.app import build_application, running
from bot.services import SERVICES_KEY, Services
from core.config import Settings, load_settings
from sim.coinglass import CoinGlassSim
from sim.telegram import BotMessage, TelegramSim

USER = 424242
KEYS = {
    "hobbyist": "hobbyist-key-0000000000000001",
    "startup": "startup-key-00000000000000002",
    "standard": "standard-key-0000000000000003",
    "professional": "professional-key-000000000004",
    "enterprise": "enterprise-key-00000000000005",
}
BAD_KEY = "not-a-real-key-0000000000000009"


@dataclass
class Harness:
    tg: TelegramSim
    cg: CoinGlassSim
    settings: Settings
    app: object

    @property
    def services(self) -> Services:
        return self.app.bot_data[SERVICES_KEY]

    def last_id(self, chat_id: int = USER) -> int:
        messages = self.tg.messages(chat_id, include_deleted=True)
        return max((m.message_id for m in messages), default=0)

    async def say(self, text: str, *, user: int = USER, contains: str | None = None,
                  timeout: float = 10.0, **kwargs) -> BotMessage:
        """Send ``text`` as the user and return the bot's next message in that chat."""
        chat = kwargs.get("chat_id", user)
        after = self.last_id(chat)
        self.tg.user_sends(user, text, **kwargs)
        return await self.tg.wait_for_message(chat, contains, timeout=timeout, after=after)

    async def press(self, message: BotMessage, data: str, *, user: int = USER) -> None:
        self.tg.user_presses(user, message.message_id, data)


def bot_settings(tg: TelegramSim, cg: CoinGlassSim, db: Path, **extra: str) -> Settings:
    env = {
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE_URL": tg.base_url,
        "COINGLASS_BASE_URL": cg.base_url,
        "DATABASE_PATH": str(db),
        "PERPWATCH_SECRET_KEY": Fernet.generate_key().decode(),
        "POLL_INTERVAL_SECONDS": "1",
        # The live stream is tested on purpose (tests/e2e/test_stream.py: cg.ws_url); off
        # elsewhere, so those tests' alerts come from their polls alone.
        "COINGLASS_WS_URL": "off",
        **extra,
    }
    return load_settings(env, env_file=None)


@contextlib.asynccontextmanager
async def run_bot(settings: Settings) -> AsyncIterator[object]:
    app = build_application(settings)
    async with running(app, poll_timeout=1):
        yield app


@pytest.fixture
async def cg() -> AsyncIterator[CoinGlassSim]:
    # CoinGlass's refresh paces, compressed tenfold like the 1-second polls of these tests.
    sim = CoinGlassSim(refresh_scale=0.1)
    for plan, key in KEYS.items():
        sim.add_key(key, plan)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def tg() -> AsyncIterator[TelegramSim]:
    # Telegram's windows, strictly: every send of the bot is paced (bot/pacing.py).
    sim = TelegramSim()
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def settings(tmp_path, tg, cg) -> Settings:
    return bot_settings(tg, cg, tmp_path / "perpwatch.db", ADMIN_USER_IDS="777")


@pytest.fixture
async def harness(settings, tg, cg) -> AsyncIterator[Harness]:
    async with run_bot(settings) as app:
        yield Harness(tg, cg, settings, app)
