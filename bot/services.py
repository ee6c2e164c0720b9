"""The services handlers and jobs use, opened once and reached through ``services(context)``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import httpx
from telegram.ext import ContextTypes

from core.coinglass.client import CoinGlassClient
from core.coins import SupportedCoins
from core.config import Settings
from core.poller import Poller, PollScheduler
from core.snapshot import SnapshotBuilder
from core.storage.repo import Repository
from core.stream.manager import StreamManager

if TYPE_CHECKING:
    from bot.sender import OutboxSender
    from core.digest import DigestScheduler

SERVICES_KEY = "services"


def stream_off() -> str:
    return "off"


@dataclass
class Services:
    settings: Settings
    repo: Repository
    http: httpx.AsyncClient
    coinglass: CoinGlassClient
    builder: SnapshotBuilder
    coins: SupportedCoins
    poller: Poller
    scheduler: PollScheduler
    sender: OutboxSender
    clock: Callable[[], float] = time.time
    started_at: float = field(default_factory=time.time)
    owns_http: bool = True          # close the http client on shutdown (False when injected)
    stream_state: Callable[[], str] = stream_off    # the WebSocket stream's state, for /healthz
    stream: StreamManager | None = None     # live liquidations (SPEC §11); None before post_init
    digests: DigestScheduler | None = None          # the daily digests (core/digest.py)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_user_ids


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The one typed accessor over ``bot_data``."""
    return context.application.bot_data[SERVICES_KEY]
