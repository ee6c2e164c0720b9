"""The composition root: ``build_application`` wires settings, services and handlers.

Production (``python -m bot``), the tests and the demo all run the Application built here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

import httpx
from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot import __version__, hours_texts, jobs, keyboards, outcomes, texts
from bot.errors import on_error
from bot.handlers import (
    admin, alerts, apikey, chart, fallback, forget, hours, positions, rules,
    settings as settings_menu, snapshot, start, stats, status, subscribe, test_alert, thresholds,
)
from bot.outcome_texts import outcome_line
from bot.pacing import TelegramPacer
from bot.sender import OutboxSender
from bot.services import SERVICES_KEY, Services
from bot.updates import PerChatUpdateProcessor
from core.coinglass.client import CoinGlassClient, make_http_client
from core.coins import SupportedCoins
from core.config import Settings
from core.digest import DigestFetcher, DigestScheduler
from core.poller import Poller, PollScheduler
from core.snapshot import SnapshotBuilder
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import Repository
from core.stream.manager import StreamManager

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 3.0


def _file_url(base_url: str) -> str:
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


def build_application(
    settings: Settings,
    *,
    http_client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    max_concurrent_polls: int = 200,
) -> Application:
    """The bot as production runs it. ``http_client`` (for CoinGlass) may be injected."""

    async def post_init(app: Application) -> None:
        vault = KeyVault.from_settings(settings.secret_key, settings.key_file)
        repo = Repository(open_database(settings.database_path), vault, clock=clock)
        http = http_client or make_http_client()
        client = CoinGlassClient(http, settings.coinglass_base_url)
        builder = SnapshotBuilder(client)
        poller = Poller(repo, builder, default_interval=settings.poll_interval_seconds,
                        clock=clock)
        svc = Services(
            settings=settings, repo=repo, http=http, coinglass=client, builder=builder,
            coins=SupportedCoins(client), poller=poller,
            scheduler=PollScheduler(repo, poller, max_concurrent=max_concurrent_polls,
                                    clock=clock),
            sender=OutboxSender(repo, markup=_alert_markup, clock=clock), clock=clock,
            started_at=clock(),
            owns_http=http_client is None,
        )
        app.bot_data[SERVICES_KEY] = svc

        def deliver_now(outcome) -> None:
            # A poll that queued something: the outbox worker sends it now.
            if outcome.queued:
                svc.sender.wake()

        svc.scheduler.on_done = deliver_now
        svc.stream = StreamManager(settings.coinglass_ws_url, repo, poller, svc.scheduler,
                                   on_queued=svc.sender.wake, clock=clock)
        if svc.stream.enabled:
            poller.on_built = svc.stream.merge_polled
            stream = svc.stream
            svc.stream_state = lambda: _stream_summary(stream.health())
        svc.digests = DigestScheduler(repo, DigestFetcher(builder), clock=clock,
                                      default_interval=settings.poll_interval_seconds)
        svc.digests.on_queued = svc.sender.wake
        outs = outcomes.install(app)        # alert outcomes and threshold previews
        svc.digests.outcome_text = lambda item: outcome_line(
            item, outs.store.outcomes(item.user_id, [item.id]).get(item.id, {}), outs.horizons,
            clock())
        if released := repo.release_unrenderable():
            log.info("%d messages held for a render error are back in the outbox", released)
        await _publish_commands(app, settings)
        svc.scheduler.stagger()
        jobs.schedule(app.job_queue)
        svc.sender.start(app.bot)
        svc.stream.start()
        counts = repo.overview()
        interval = (f"{settings.poll_interval_seconds} s" if settings.poll_interval_seconds
                    else "auto")
        log.info("perpwatch %s started: database %s, %d users (%d polling), %d alerts pending, "
                 "default interval %s", __version__, settings.database_path, counts["users"],
                 counts["subscribers"], counts["pending_alerts"], interval)

    async def post_stop(app: Application) -> None:
        svc: Services | None = app.bot_data.get(SERVICES_KEY)
        if svc is not None:
            # Running polls finish (their results are committed atomically) or are abandoned;
            # sends already granted finish, the rest of the outbox waits for the next start.
            # The live stream stops deciding at once and closes its sockets meanwhile.
            await asyncio.gather(svc.scheduler.shutdown(SHUTDOWN_GRACE_SECONDS),
                                 svc.stream.stop())
            if svc.digests is not None:
                await svc.digests.shutdown(SHUTDOWN_GRACE_SECONDS)
            await outcomes.stop(app)
            await svc.sender.stop(SHUTDOWN_GRACE_SECONDS)

    async def post_shutdown(app: Application) -> None:
        svc: Services | None = app.bot_data.pop(SERVICES_KEY, None)
        if svc is None:
            return
        if svc.owns_http:
            await svc.http.aclose()
        svc.repo.close()
        log.info("perpwatch stopped; database closed")

    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token or "0:demo")
        .base_url(settings.telegram_api_base_url)
        .base_file_url(_file_url(settings.telegram_api_base_url))
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(TelegramPacer())      # every send paced: bot/pacing.py
        # Chats in parallel (one slow /setkey check must not hold up other users), each chat's
        # updates in order (conversations need it: bot/updates.py).
        .concurrent_updates(PerChatUpdateProcessor(256))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    # Group 0: the /setkey conversation alone; its steps stop further processing, so the
    # message holding a key reaches nothing else.
    app.add_handler(apikey.conversation(), group=0)
    # Then the guard's side-and-entry conversation: after /setkey's, so a key is never read
    # as a price; its steps stop further processing too.
    app.add_handler(positions.conversation(), group=0)
    # Group 1: the commands and buttons, then the fallbacks (which must come last).
    for module in (start, apikey, subscribe, thresholds, settings_menu, snapshot, chart, status,
                   stats, alerts, rules, test_alert, hours, positions, forget, admin,
                   fallback):
        for handler in module.handlers():
            app.add_handler(handler, group=1)
    app.add_error_handler(on_error)
    return app


def _stream_summary(health: dict) -> str:
    """The stream in a word or two for /healthz (details stay in the manager's counts)."""
    if not health.get("keys"):
        return "idle"
    return (f"{health['connected']} of {health['keys']} keys connected"
            + (f", {health['retrying']} retrying" if health.get("retrying") else ""))


def _alert_markup(item):
    """The buttons under an alert (Details, Chart, Settings, Guard, Mute; a rule's alert:
    Chart, Settings, Delete rule for repeat rules, Mute; the guard's advice: Chart, Positions,
    Closed); the message that ends quiet hours opens each alert it holds; other notices have
    none."""
    if item.kind == "alert" and item.payload.get("guard"):
        return keyboards.advice_buttons(item.coin or "")
    if item.kind == "alert" and (rule := item.payload.get("rule")):
        repeat = not item.payload.get("done")
        return keyboards.rule_alert_buttons(item.coin or "", rule["id"] if repeat else None,
                                            rule.get("number"))
    if item.kind == "alert":
        return keyboards.alert_buttons(item.id, item.coin or "")
    return hours_texts.markup(item)


async def _publish_commands(app: Application, settings: Settings) -> None:
    """The command menu; a Bot API that refuses it must not stop the bot from starting."""
    commands = [BotCommand(name, about) for name, about in texts.COMMANDS]
    try:
        await app.bot.set_my_commands(commands)
    except TelegramError as exc:
        log.warning("could not publish the command menu: %s", exc)
        return
    admin_commands = commands + [BotCommand(*texts.ADMIN_COMMAND)]
    for admin_id in settings.admin_user_ids:
        try:
            await app.bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(admin_id))
        except TelegramError:
            log.info("admin %s has not opened a chat with the bot yet", admin_id)


@asynccontextmanager
async def running(app: Application, *, poll_timeout: float = 10.0) -> AsyncIterator[Application]:
    """Run ``app`` inside an existing event loop, with the same lifecycle as ``run_polling``
    (initialize, post_init, polling, start … stop, post_stop, shutdown, post_shutdown).
    The demo and the end-to-end tests use this; production uses ``run_polling``."""
    await app.initialize()
    try:
        await app.post_init(app)
        await app.updater.start_polling(poll_interval=0.0, timeout=int(poll_timeout),
                                        allowed_updates=["message", "callback_query",
                                                         "my_chat_member"])
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
                await app.post_stop(app)
    finally:
        await app.shutdown()
        await app.post_shutdown(app)
